//! The roles "permission matrix" sheet that XLSX/ODS exports add (permissions down, roles
//! across, `Yes` where a role holds a permission), read back as role records: each role column
//! becomes that role's whole permission set. The sheet is small by nature (one row per catalog
//! permission), so it is read whole.

use std::collections::BTreeSet;

use muster_domain::{parse_bool, EntityName, Patch, Permission, RoleRow, PERMISSION_MATRIX_SHEET};
use muster_sheets::{column_letters, ReadError, Row};

use crate::import::issue::{Issue, IssueKind, Position};
use crate::import::source::{Parsed, Record, WHOLE_ROW};

/// A sheet named "Permission matrix", or one whose first header is "Permission".
pub(crate) fn is_matrix(headers: &[&str], sheet: Option<&str>) -> bool {
    sheet.is_some_and(|s| s.trim().eq_ignore_ascii_case(PERMISSION_MATRIX_SHEET))
        || headers
            .first()
            .is_some_and(|h| h.trim().eq_ignore_ascii_case("permission"))
}

fn at(sheet: &str, row: u64, column: usize, kind: IssueKind) -> Issue {
    Issue {
        position: Position {
            sheet: sheet.to_owned(),
            row,
            column: Some(column_letters(column)),
        },
        kind,
    }
}

/// A role column as it is read: its name (or why its header or a cell is bad) and the
/// permissions marked Yes so far.
type RoleColumn = (Result<EntityName, Vec<Issue>>, BTreeSet<Permission>);

/// One role record per role column; a column whose cells do not all read as Yes/No fails as a
/// whole, and a row with an unknown permission code fails on its own.
#[allow(clippy::result_large_err)] // a file-level issue, once per import
pub(crate) fn read_matrix(
    sheet: &str,
    headers: &[&str],
    rows: impl Iterator<Item = Result<Row, ReadError>>,
) -> Result<Vec<Parsed>, Issue> {
    let mut roles: Vec<RoleColumn> = headers[1..]
        .iter()
        .enumerate()
        .map(|(i, header)| {
            let name = EntityName::parse(header).map_err(|e| {
                vec![at(
                    sheet,
                    1,
                    i + 1,
                    IssueKind::Field {
                        detail: muster_domain::FieldErrorKind::EntityName { detail: e },
                    },
                )]
            });
            (name, BTreeSet::new())
        })
        .collect();
    let mut failed_rows = Vec::new();
    for row in rows {
        let row = row.map_err(|e| {
            at(
                sheet,
                e.row.unwrap_or(0),
                0,
                IssueKind::Read { detail: e.kind },
            )
        })?;
        let code = row.cells.first().map(|c| c.as_str()).unwrap_or("");
        let permission = match Permission::parse(code) {
            Ok(p) => p,
            Err(_) => {
                let issue = at(
                    sheet,
                    row.number,
                    0,
                    IssueKind::UnknownPermission {
                        value: code.trim().to_owned(),
                    },
                );
                failed_rows.push(Parsed::failed(row.number, issue));
                continue;
            }
        };
        for (i, (name, granted)) in roles.iter_mut().enumerate() {
            let cell = row.cells.get(i + 1).map(|c| c.as_str()).unwrap_or("");
            match parse_bool(cell) {
                _ if cell.trim().is_empty() => {}
                Ok(true) => {
                    granted.insert(permission);
                }
                Ok(false) => {}
                Err(e) => {
                    let issue = at(
                        sheet,
                        row.number,
                        i + 1,
                        IssueKind::Field {
                            detail: muster_domain::FieldErrorKind::Bool { detail: e },
                        },
                    );
                    match name {
                        Ok(_) => *name = Err(vec![issue]),
                        Err(issues) => issues.push(issue),
                    }
                }
            }
        }
    }
    let records = roles.into_iter().map(|(name, permissions)| match name {
        Ok(name) => {
            let record = Record::Role(RoleRow {
                name,
                description: Patch::Keep,
                permissions: Patch::Set(permissions),
            });
            Parsed {
                row: 1,
                record: Some(record),
                issues: Vec::new(),
                secret: false,
            }
        }
        Err(issues) => Parsed {
            row: 1,
            record: None,
            issues: issues.into_iter().map(|i| (WHOLE_ROW, i)).collect(),
            secret: false,
        },
    });
    Ok(records.chain(failed_rows).collect())
}

#[cfg(test)]
mod tests {
    use muster_sheets::{Cell, Row};

    use super::*;

    fn row(number: u64, cells: &[&str]) -> Result<Row, ReadError> {
        let cells = cells
            .iter()
            .map(|c| {
                if c.is_empty() {
                    Cell::Empty
                } else {
                    Cell::Text((*c).to_owned())
                }
            })
            .collect();
        Ok(Row { number, cells })
    }

    #[test]
    fn recognises_the_sheet_by_name_or_first_header() {
        assert!(is_matrix(&["Role"], Some("Permission matrix")));
        assert!(is_matrix(&[" permission ", "editor"], None));
        assert!(!is_matrix(&["Role", "Permissions"], Some("Roles")));
    }

    #[test]
    fn each_role_column_becomes_its_whole_permission_set() {
        let rows = vec![
            row(2, &["users.read", "Yes", "yes"]),
            row(3, &["users.write", "Yes", ""]),
            row(4, &["users.fly", "Yes", ""]),
            row(5, &["roles.read", "No", "maybe"]),
        ];
        let parsed = read_matrix(
            "Permission matrix",
            &["Permission", "editor", "viewer"],
            rows.into_iter(),
        )
        .expect("readable");
        assert_eq!(
            parsed.len(),
            3,
            "two roles and the row with an unknown code"
        );
        match &parsed[0].record {
            Some(Record::Role(role)) => {
                assert_eq!(role.name.as_str(), "editor");
                let Patch::Set(permissions) = &role.permissions else {
                    panic!("permissions are set")
                };
                assert_eq!(
                    permissions.iter().map(|p| p.code()).collect::<Vec<_>>(),
                    ["users.read", "users.write"]
                );
            }
            _ => panic!("editor parses"),
        }
        assert!(
            parsed[1].record.is_none(),
            "`maybe` fails the viewer column"
        );
        let viewer = &parsed[1].issues;
        assert_eq!(viewer[0].1.position.row, 5);
        assert_eq!(viewer[0].1.position.column.as_deref(), Some("C"));
        assert!(parsed[2].record.is_none(), "an unknown code fails its row");
        assert_eq!(
            parsed[2].issues[0].1.kind.to_string(),
            "`users.fly` is not a permission code"
        );
    }
}
