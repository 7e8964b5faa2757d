//! Rows read in bulk arrive as one packed text value instead of one value per column. sqlx's
//! `Any` driver converts every column of every row (its metadata included) and SQLite copies each
//! value across threads; for a million users that per-column cost dominated a re-import. Packing
//! in SQL (`CAST(c AS TEXT)` joined by `concat_ws` with U+001F) works the same on both backends.
//!
//! A batch goes one step further: `string_agg(packed, ROW)` returns a thousand rows as one
//! value, because the SQLite driver hands rows over one at a time with a thread wake-up each.
//!
//! The separators are control characters that no stored user field can hold (the domain rejects
//! control characters in every field that reaches these queries).

/// Separates fields of a packed row.
pub(crate) const FIELD: char = '\u{1f}';
/// Separates the items of a list inside one field (memberships).
pub(crate) const ITEM: char = '\u{1e}';
/// Stands for NULL inside a packed row.
pub(crate) const NULL: char = '\u{1c}';
/// Separates packed rows when a whole batch is aggregated into one value.
pub(crate) const ROW: char = '\u{1d}';

/// `concat_ws('␟', coalesce(CAST(a AS TEXT), '␜'), …)`: one string built once (chained `||`
/// copies the growing string at every step). `concat_ws` skips NULL arguments on both backends,
/// and on SQLite also empty ones, so NULL is written as the marker `NULL` (U+001C) and no
/// argument is ever empty: no stored user field is an empty string (optional fields are NULL).
/// Were one ever empty, `unpack`'s callers would see too few fields and fail loudly.
pub(crate) fn pack(columns: &[&str]) -> String {
    let fields: Vec<String> = columns
        .iter()
        .map(|c| format!("coalesce(CAST({c} AS TEXT), '{NULL}')"))
        .collect();
    format!("concat_ws('{FIELD}', {})", fields.join(", "))
}

/// The packed rows of an aggregated batch (none for NULL, the aggregate of no rows).
pub(crate) fn rows(batch: Option<&str>) -> impl Iterator<Item = &str> {
    batch.into_iter().flat_map(|b| b.split(ROW))
}

/// The fields of a packed row, in order.
pub(crate) fn unpack(packed: &str) -> Vec<&str> {
    packed.split(FIELD).collect()
}

pub(crate) fn optional(field: &str) -> Option<String> {
    (!is_null(field)).then(|| field.to_owned())
}

pub(crate) fn is_null(field: &str) -> bool {
    field.len() == NULL.len_utf8() && field.starts_with(NULL)
}

/// A membership list, sorted: aggregates carry no ORDER BY (it costs a sorter per row).
pub(crate) fn list(field: &str) -> Vec<String> {
    let mut items: Vec<String> = if is_null(field) {
        Vec::new()
    } else {
        field.split(ITEM).map(str::to_owned).collect()
    };
    items.sort_unstable();
    items
}

pub(crate) fn number(field: &str) -> Result<i64, sqlx::Error> {
    field.parse().map_err(|_| {
        sqlx::Error::Decode(format!("not an integer in a packed row: {field:?}").into())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_columns_and_unpacks_fields() {
        assert_eq!(
            pack(&["a"]),
            "concat_ws('\u{1f}', coalesce(CAST(a AS TEXT), '\u{1c}'))"
        );
        assert_eq!(unpack("x\u{1f}\u{1c}\u{1f}3"), ["x", "\u{1c}", "3"]);
        assert_eq!(optional("\u{1c}"), None);
        assert_eq!(optional("a"), Some("a".to_owned()));
        assert_eq!(list("b\u{1e}a"), ["a", "b"]);
        assert!(list("\u{1c}").is_empty());
        assert_eq!(rows(Some("a\u{1d}b")).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(rows(None).count(), 0);
        assert_eq!(number("-5").ok(), Some(-5));
    }
}
