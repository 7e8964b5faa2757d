//! Helpers that build the SQL text both backends share: numbered `$N` placeholders for
//! multi-row `VALUES` lists and `IN (...)` lists. Batches are bounded by the callers so a
//! statement never exceeds SQLite's 32,766 or PostgreSQL's 65,535 parameters.

use std::fmt::Write;

/// `($1, $2, $3), ($4, $5, $6)` for `rows` rows of `columns` columns.
pub(crate) fn values_list(rows: usize, columns: usize) -> String {
    let mut sql = String::with_capacity(rows * columns * 5);
    let mut n = 1;
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            let _ = write!(sql, "${n}");
            n += 1;
        }
        sql.push(')');
    }
    sql
}

/// `$first, $first+1, …` for an `IN (...)` list of `count` items.
pub(crate) fn placeholders(first: usize, count: usize) -> String {
    let mut sql = String::with_capacity(count * 5);
    for i in 0..count {
        if i > 0 {
            sql.push_str(", ");
        }
        let _ = write!(sql, "${}", first + i);
    }
    sql
}

/// How many rows fit in one statement for a given column count.
pub(crate) fn rows_per_statement(columns: usize) -> usize {
    (30_000 / columns).clamp(1, 2_000)
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_placeholders_across_rows() {
        assert_eq!(super::values_list(2, 2), "($1, $2), ($3, $4)");
        assert_eq!(super::placeholders(3, 2), "$3, $4");
    }
}
