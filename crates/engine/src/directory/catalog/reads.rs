//! Reading departments, groups and roles: one by id or by name, and keyset pages in name-key
//! order whose cursor is opaque to callers.

use muster_domain::EntityName;
use muster_store::{EntryLookup, Store};

use super::views::{view_of, views, CatalogView};
use super::{CatalogQuery, MAX_PAGE};
use crate::audit::Target;
use crate::context::Context;
use crate::directory::require;
use crate::directory::Page;
use crate::error::Error;

// ---- cursors --------------------------------------------------------------------------------

/// The next page starts after this key; the cursor is the key in hex, opaque to callers.
fn encode_cursor(key: &str) -> String {
    key.bytes().map(|b| format!("{b:02x}")).collect()
}

fn decode_cursor(cursor: &str) -> Result<String, Error> {
    let bad = || Error::invalid("cursor", "not a cursor that this list gave");
    if !cursor.len().is_multiple_of(2) || !cursor.is_ascii() {
        return Err(bad());
    }
    let bytes = (0..cursor.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&cursor[i..i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| bad())?;
    String::from_utf8(bytes).map_err(|_| bad())
}

/// The search text folded as keys are (NFKC, lowercase), so it matches the key index.
fn needle(search: Option<&str>) -> Option<String> {
    let text = search?.trim();
    if text.is_empty() {
        return None;
    }
    Some(
        EntityName::parse(text)
            .map(|name| name.key().to_owned())
            .unwrap_or_else(|_| text.to_lowercase()),
    )
}

// ---- reads ----------------------------------------------------------------------------------

pub(super) async fn get<V: CatalogView>(
    store: &Store,
    ctx: &Context,
    id: &str,
) -> Result<V, Error> {
    let kind = V::KIND;
    let target = Target::new(kind.entity(), id, id);
    require(store, ctx, kind.read(), &kind.action("read"), &target).await?;
    let mut conn = store.acquire().await?;
    view_of(&mut conn, EntryLookup::Id(id), id).await
}

pub(super) async fn find<V: CatalogView>(
    store: &Store,
    ctx: &Context,
    name: &str,
) -> Result<V, Error> {
    let kind = V::KIND;
    let target = Target {
        kind: kind.entity(),
        id: None,
        name: name.to_owned(),
    };
    require(store, ctx, kind.read(), &kind.action("read"), &target).await?;
    let key = EntityName::parse(name).map_err(|_| kind.not_found(name))?;
    let mut conn = store.acquire().await?;
    view_of(&mut conn, EntryLookup::Key(key.key()), name).await
}

pub(super) async fn list<V: CatalogView>(
    store: &Store,
    ctx: &Context,
    query: &CatalogQuery,
) -> Result<Page<V>, Error> {
    let kind = V::KIND;
    let target = Target {
        kind: kind.entity(),
        id: None,
        name: query.search.clone().unwrap_or_default(),
    };
    require(store, ctx, kind.read(), &kind.action("list"), &target).await?;
    let after = query.cursor.as_deref().map(decode_cursor).transpose()?;
    let limit = query.limit.clamp(1, MAX_PAGE);
    let needle = needle(query.search.as_deref());
    let mut conn = store.acquire().await?;
    let rows = muster_store::catalog_entries_page(
        &mut conn,
        kind.table(),
        after.as_deref(),
        needle.as_deref(),
        limit,
    )
    .await?;
    let next = (rows.len() == limit)
        .then(|| rows.last().map(|r| encode_cursor(&r.named.name_key)))
        .flatten();
    Ok(Page {
        items: views(&mut conn, rows).await?,
        next,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_foreign_text_is_refused() {
        for key in ["sales", "ventes été", ""] {
            assert_eq!(decode_cursor(&encode_cursor(key)).unwrap(), key);
        }
        for bad in ["abc", "zz", "ff", "é1"] {
            assert!(
                matches!(decode_cursor(bad), Err(Error::Invalid(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_search_is_folded_like_keys() {
        assert_eq!(needle(Some("  SALES ")), Some("sales".to_owned()));
        assert_eq!(needle(Some("a,b")), Some("a,b".to_owned()));
        assert_eq!(needle(Some("  ")), None);
    }
}
