//! Rows read in bulk arrive as one packed text value instead of one value per column. sqlx's
//! `Any` driver converts every column of every row (its metadata included) and SQLite copies each
//! value across threads; for a million users that per-column cost dominated a re-import. Packing
//! in SQL (`CAST(c AS TEXT)` joined with U+001F) works the same on both backends.
//!
//! A batch goes one step further: `string_agg(packed, ROW)` returns a thousand rows as one
//! value, because the SQLite driver hands rows over one at a time with a thread wake-up each.
//!
//! The separators are control characters that no stored user field can hold (the domain rejects
//! control characters in every field that reaches these queries). NULL and the empty string both
//! pack as empty: optional fields are never stored as empty strings, so empty reads back as None.

/// Separates fields of a packed row.
pub(crate) const FIELD: char = '\u{1f}';
/// Separates the items of a list inside one field (memberships).
pub(crate) const ITEM: char = '\u{1e}';
/// Separates packed rows when a whole batch is aggregated into one value.
pub(crate) const ROW: char = '\u{1d}';

/// `coalesce(CAST(a AS TEXT), '') || '␟' || coalesce(CAST(b AS TEXT), '') …`
pub(crate) fn pack(columns: &[&str]) -> String {
    columns
        .iter()
        .map(|c| format!("coalesce(CAST({c} AS TEXT), '')"))
        .collect::<Vec<_>>()
        .join(&format!(" || '{FIELD}' || "))
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
    (!field.is_empty()).then(|| field.to_owned())
}

/// A membership list, sorted: aggregates carry no ORDER BY (it costs a sorter per row).
pub(crate) fn list(field: &str) -> Vec<String> {
    let mut items: Vec<String> = if field.is_empty() { Vec::new() } else { field.split(ITEM).map(str::to_owned).collect() };
    items.sort_unstable();
    items
}

pub(crate) fn number(field: &str) -> Result<i64, sqlx::Error> {
    field.parse().map_err(|_| sqlx::Error::Decode(format!("not an integer in a packed row: {field:?}").into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_columns_and_unpacks_fields() {
        assert_eq!(pack(&["a", "b"]), "coalesce(CAST(a AS TEXT), '') || '\u{1f}' || coalesce(CAST(b AS TEXT), '')");
        assert_eq!(unpack("x\u{1f}\u{1f}3"), ["x", "", "3"]);
        assert_eq!(optional(""), None);
        assert_eq!(list("b\u{1e}a"), ["a", "b"]);
        assert_eq!(rows(Some("a\u{1d}b")).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(rows(None).count(), 0);
        assert_eq!(number("-5").ok(), Some(-5));
    }
}
