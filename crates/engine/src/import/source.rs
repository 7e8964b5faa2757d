//! The reading side of an import, on its own thread: it opens the file, picks the sheet,
//! recognises the entity from the sheet name or headers, maps the headers, and turns each row
//! into a checked domain record (or the row's problems). Rows travel to the planner in bounded
//! batches, so reading and validation overlap with database work and memory stays flat however
//! long the file is.

use std::path::PathBuf;

use muster_domain::{
    check_department_row, check_group_row, check_role_row, check_user_row, map_headers,
    recognise_entity, Checked, DepartmentRow, Entity, Field, FieldError, GroupRow, HeaderMap,
    RoleRow, Unrecognised, UserRow,
};
use muster_sheets::{column_letters, Cell, ReadOptions, Row, Workbook};
use tokio::sync::mpsc;

use crate::history::error_workbook::linked_import;
use crate::import::issue::{Issue, IssueKind, Position};
use crate::import::matrix;

/// Rows per batch: large enough to amortise a database round trip, small enough to stay cheap.
pub(crate) const BATCH_ROWS: usize = 2_000;

// Users are by far the common record; boxing them would add an allocation per row.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Record {
    User(UserRow),
    Group(GroupRow),
    Department(DepartmentRow),
    Role(RoleRow),
}

/// A problem of a row with the 0-based file column it is about ([`WHOLE_ROW`] for the row as a
/// whole), so that the planner can merge its own findings in and report them in column order.
pub(crate) type RowIssue = (usize, Issue);

/// The column of a problem about a row as a whole: listed after its cells' problems.
pub(crate) const WHOLE_ROW: usize = usize::MAX;

/// One data row: its number, its record as far as it parsed and every problem of its cells.
pub(crate) struct Parsed {
    pub row: u64,
    /// The record whenever its key parsed, with the fields that failed left alone
    /// (`muster_domain::Checked`): the planner still checks the rest, so a row reports every
    /// problem at once. `None` when there is nothing to check further.
    pub record: Option<Record>,
    /// The problems found while reading the row; the row fails if there is any.
    pub issues: Vec<RowIssue>,
    /// The row has a password or password hash cell that is not blank.
    pub secret: bool,
}

impl Parsed {
    /// A row that failed as a whole before any of its fields could be read.
    pub(crate) fn failed(row: u64, issue: Issue) -> Parsed {
        Parsed {
            row,
            record: None,
            issues: vec![(WHOLE_ROW, issue)],
            secret: false,
        }
    }
}

/// Sorts a row's problems into the order of its columns (stable: within one column, the
/// reader's findings come before the planner's) and drops the column numbers.
pub(crate) fn in_column_order(mut issues: Vec<RowIssue>) -> Vec<Issue> {
    issues.sort_by_key(|(column, _)| *column);
    issues.into_iter().map(|(_, issue)| issue).collect()
}

/// What is known once the header row is read, even if the headers turn out to be wrong.
pub(crate) struct Opened {
    pub sheet: String,
    pub entity: Option<Entity>,
    pub format: muster_sheets::Format,
    pub encoding: Option<&'static str>,
}

// Opened and Started come once per import; batches are the rest.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Event {
    Opened(Opened),
    /// The headers are good: batches follow.
    Started(HeaderMap),
    Batch(Vec<Parsed>),
    /// The file is a fixed error workbook of this earlier import (its `Errors` column says so).
    Linked(i64),
    /// The file cannot be read further (or at all); the issue says where and why.
    Fatal(Issue),
}

pub(crate) struct SourceRequest {
    pub path: PathBuf,
    pub display_name: String,
    pub entity: Option<Entity>,
    pub sheet: Option<String>,
    pub options: ReadOptions,
}

/// Starts the reader thread. Dropping the receiver stops it at the next batch.
pub(crate) fn spawn(request: SourceRequest) -> std::io::Result<mpsc::Receiver<Event>> {
    let (tx, rx) = mpsc::channel(4);
    std::thread::Builder::new()
        .name("muster-import-reader".into())
        .spawn(move || {
            if let Err(issue) = read_all(&request, &tx) {
                let _ = tx.blocking_send(Event::Fatal(issue));
            }
        })?;
    Ok(rx)
}

fn file_issue(sheet: &str, kind: IssueKind) -> Issue {
    Issue {
        position: Position {
            sheet: sheet.to_owned(),
            row: 0,
            column: None,
        },
        kind,
    }
}

/// A reader error as an issue. Once the header row is known, the column is named by its header,
/// like every other issue; before that, by its spreadsheet letter.
fn read_issue(sheet: &str, error: muster_sheets::ReadError, headers: &[&str]) -> Issue {
    let column = error
        .column
        .map(|c| match headers.get(c.saturating_sub(1)) {
            Some(header) if !header.trim().is_empty() => (*header).to_owned(),
            _ => column_letters(c.saturating_sub(1)),
        });
    let position = Position {
        sheet: error.sheet.clone().unwrap_or_else(|| sheet.to_owned()),
        row: error.row.unwrap_or(0),
        column,
    };
    Issue {
        position,
        kind: IssueKind::Read { detail: error.kind },
    }
}

// The error is a file-level issue, returned once per import: its size does not matter.
#[allow(clippy::result_large_err)]
fn read_all(request: &SourceRequest, tx: &mpsc::Sender<Event>) -> Result<(), Issue> {
    let name = &request.display_name;
    let mut workbook =
        Workbook::open(&request.path, &request.options).map_err(|e| read_issue(name, e, &[]))?;
    let sheets = choose_sheets(&workbook, request);
    if let [sheet] = sheets.as_slice() {
        return read_sheet(&mut workbook, sheet.clone(), request, true, tx);
    }
    // A workbook of several entity sheets is one import: each sheet is read in dependency
    // order, and a sheet that cannot be read does not stop the others from being checked.
    for sheet in sheets {
        if let Err(issue) = read_sheet(&mut workbook, sheet, request, false, tx) {
            if tx.blocking_send(Event::Fatal(issue)).is_err() {
                break;
            }
        }
    }
    Ok(())
}

/// Reads one sheet: its header, then its rows in batches. `alone` allows the permission-matrix
/// layout, which only a single-sheet roles import may use.
#[allow(clippy::result_large_err)] // a sheet-level issue, once per sheet
fn read_sheet(
    workbook: &mut Workbook,
    sheet: Option<String>,
    request: &SourceRequest,
    alone: bool,
    tx: &mpsc::Sender<Event>,
) -> Result<(), Issue> {
    let name = &request.display_name;
    let format = workbook.format();
    let encoding = workbook.encoding_name();
    let mut rows = workbook
        .rows(sheet.as_deref())
        .map_err(|e| read_issue(name, e, &[]))?;
    let sheet_label = sheet.clone().unwrap_or_else(|| name.clone());
    let header = match rows.next() {
        None => return Err(file_issue(&sheet_label, IssueKind::EmptyFile)),
        Some(Err(e)) => return Err(read_issue(&sheet_label, e, &[])),
        Some(Ok(row)) => row,
    };
    let headers: Vec<&str> = header.cells.iter().map(Cell::as_str).collect();
    if alone
        && matches!(request.entity, None | Some(Entity::Roles))
        && matrix::is_matrix(&headers, sheet.as_deref())
    {
        return send_matrix(&sheet_label, &headers, rows, format, tx);
    }
    // A CSV's "sheet name" is only its file name, which says less than its headers do: it only
    // decides between the entities the headers fit, as the file name does for a workbook.
    let named_sheet = if format == muster_sheets::Format::Csv {
        None
    } else {
        sheet.as_deref()
    };
    let recognised = match request.entity {
        Some(entity) => Ok(entity),
        None => recognise_entity(&headers, named_sheet, &[name.as_str()]),
    };
    let opened = Opened {
        sheet: sheet_label.clone(),
        entity: recognised.as_ref().ok().copied(),
        format,
        encoding,
    };
    if tx.blocking_send(Event::Opened(opened)).is_err() {
        return Ok(());
    }
    let entity = recognised
        .map_err(|why| file_issue(&sheet_label, IssueKind::UnknownEntity { detail: why }))?;
    let map =
        map_headers(entity, &headers).map_err(|errors| header_issues(&sheet_label, errors, tx))?;
    if tx.blocking_send(Event::Started(map.clone())).is_err() {
        return Ok(());
    }
    send_batches(&sheet_label, entity, &map, &headers, rows, tx)
}

/// Parses the data rows and sends them in batches; a header with no rows under it is an error.
#[allow(clippy::result_large_err)] // a file-level issue, once per import
fn send_batches(
    sheet: &str,
    entity: Entity,
    map: &HeaderMap,
    headers: &[&str],
    rows: muster_sheets::Rows<'_>,
    tx: &mpsc::Sender<Event>,
) -> Result<(), Issue> {
    let mut batch = Vec::with_capacity(BATCH_ROWS);
    let mut data_rows = 0u64;
    // A fixed error workbook says in its `Errors` column which import it came from.
    let mut errors_column = map.column(Field::Errors);
    for item in rows {
        data_rows += 1;
        match item {
            Ok(row) => {
                if let Some(previous) = errors_column
                    .and_then(|c| row.cells.get(c))
                    .and_then(|cell| linked_import(cell.as_str()))
                {
                    errors_column = None;
                    if tx.blocking_send(Event::Linked(previous)).is_err() {
                        return Ok(());
                    }
                }
                batch.push(parse_row(sheet, entity, map, &row));
            }
            Err(error) if error.is_fatal() => return Err(read_issue(sheet, error, headers)),
            Err(error) => {
                let row = error.row.unwrap_or(0);
                batch.push(Parsed::failed(row, read_issue(sheet, error, headers)));
            }
        }
        if batch.len() == BATCH_ROWS {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_ROWS));
            if tx.blocking_send(Event::Batch(full)).is_err() {
                return Ok(());
            }
        }
    }
    if data_rows == 0 {
        let position = Position {
            sheet: sheet.to_owned(),
            row: 2,
            column: None,
        };
        return Err(Issue {
            position,
            kind: IssueKind::HeaderOnly,
        });
    }
    if !batch.is_empty() {
        let _ = tx.blocking_send(Event::Batch(batch));
    }
    Ok(())
}

/// The permission matrix is planned as a roles sheet whose rows are its role columns; issues
/// about a role as a whole point at the matrix's header row.
#[allow(clippy::result_large_err)] // a file-level issue, once per import
fn send_matrix(
    sheet: &str,
    headers: &[&str],
    rows: muster_sheets::Rows<'_>,
    format: muster_sheets::Format,
    tx: &mpsc::Sender<Event>,
) -> Result<(), Issue> {
    let records = matrix::read_matrix(sheet, headers, rows)?;
    let map = map_headers(Entity::Roles, &["Role", "Permissions"]).map_err(|_| {
        file_issue(
            sheet,
            IssueKind::UnknownEntity {
                detail: Unrecognised::default(),
            },
        )
    })?;
    let opened = Opened {
        sheet: sheet.to_owned(),
        entity: Some(Entity::Roles),
        format,
        encoding: None,
    };
    if tx.blocking_send(Event::Opened(opened)).is_ok()
        && tx.blocking_send(Event::Started(map)).is_ok()
    {
        let _ = tx.blocking_send(Event::Batch(records));
    }
    Ok(())
}

/// Entities in the order a workbook's sheets are imported: what users refer to comes first.
const DEPENDENCY_ORDER: [Entity; 4] = [
    Entity::Departments,
    Entity::Groups,
    Entity::Roles,
    Entity::Users,
];

/// `--sheet` wins; otherwise the sheet named for the requested entity; otherwise every sheet
/// named for an entity (`Users`, `Groups`, `Roles`, `Departments`), in dependency order;
/// otherwise the first sheet.
fn choose_sheets(workbook: &Workbook, request: &SourceRequest) -> Vec<Option<String>> {
    if request.sheet.is_some() {
        return vec![request.sheet.clone()];
    }
    let names = workbook.sheet_names();
    let named_for = |entity: Entity| {
        names
            .iter()
            .find(|n| n.trim().eq_ignore_ascii_case(entity.sheet_name()))
            .cloned()
    };
    if let Some(entity) = request.entity {
        return vec![named_for(entity).or_else(|| names.first().cloned())];
    }
    let entity_sheets: Vec<Option<String>> = if workbook.format() == muster_sheets::Format::Csv {
        Vec::new()
    } else {
        DEPENDENCY_ORDER
            .into_iter()
            .filter_map(named_for)
            .map(Some)
            .collect()
    };
    if entity_sheets.is_empty() {
        vec![names.first().cloned()]
    } else {
        entity_sheets
    }
}

/// All header problems but the last are sent as their own events; the last one is returned as
/// the fatal issue, so the caller sees every bad header at once.
fn header_issues(
    sheet: &str,
    errors: Vec<muster_domain::HeaderError>,
    tx: &mpsc::Sender<Event>,
) -> Issue {
    let mut issues: Vec<Issue> = errors
        .into_iter()
        .map(|error| Issue {
            position: Position {
                sheet: sheet.to_owned(),
                row: 1,
                column: Some(error.header.clone()),
            },
            kind: IssueKind::Header { detail: error },
        })
        .collect();
    let last = issues.pop().unwrap_or_else(|| {
        file_issue(
            sheet,
            IssueKind::UnknownEntity {
                detail: Unrecognised::default(),
            },
        )
    });
    for issue in issues {
        let _ = tx.blocking_send(Event::Fatal(issue));
    }
    last
}

fn parse_row(sheet: &str, entity: Entity, map: &HeaderMap, row: &Row) -> Parsed {
    let mut issues = Vec::new();
    let mut error_columns = Vec::new();
    let mut cells: Vec<&str> = Vec::with_capacity(map.width());
    for (index, cell) in row.cells.iter().enumerate() {
        match cell {
            Cell::Error(code) if index < map.width() => {
                issues.push((
                    index,
                    cell_issue(
                        sheet,
                        row.number,
                        map,
                        index,
                        IssueKind::CellError {
                            value: code.clone(),
                        },
                    ),
                ));
                error_columns.push(index);
                cells.push("");
            }
            _ if index < map.width() => cells.push(cell.as_str()),
            // Spreadsheets report a few blank formatted columns past the last header, which the
            // header map ignores; a value typed there would be lost, so it fails the row instead.
            _ if !cell.is_empty() => {
                let position = Position {
                    sheet: sheet.to_owned(),
                    row: row.number,
                    column: Some(column_letters(index)),
                };
                issues.push((
                    index,
                    Issue {
                        position,
                        kind: IssueKind::CellWithoutHeader,
                    },
                ));
            }
            _ => {}
        }
    }
    cells.resize(map.width(), "");
    let checked = check_record(entity, map, &cells);
    // A cell that held a spreadsheet error was passed on as blank; its own issue says more than
    // "is required", so the domain's complaint about it is dropped.
    issues.extend(field_issues(
        sheet,
        row.number,
        map,
        checked.errors,
        &error_columns,
    ));
    let secret = [Field::Password, Field::PasswordHash]
        .into_iter()
        .filter_map(|field| map.column(field))
        .any(|column| !cells.get(column).is_none_or(|c| c.is_empty()));
    Parsed {
        row: row.number,
        record: checked.record,
        issues,
        secret,
    }
}

/// The domain's parser for the sheet's entity, all or nothing (the templates' tests check their
/// sample rows with it).
#[cfg(test)]
pub(crate) fn parse_record(
    entity: Entity,
    map: &HeaderMap,
    cells: &[&str],
) -> Result<Record, Vec<FieldError>> {
    check_record(entity, map, cells).into_result()
}

/// The domain's checks for the sheet's entity, keeping what parsed of a failed row.
fn check_record(entity: Entity, map: &HeaderMap, cells: &[&str]) -> Checked<Record> {
    match entity {
        Entity::Users => check_user_row(map, cells).map(Record::User),
        Entity::Groups => check_group_row(map, cells).map(Record::Group),
        Entity::Departments => check_department_row(map, cells).map(Record::Department),
        Entity::Roles => check_role_row(map, cells).map(Record::Role),
    }
}

/// The domain's field errors as issues, except those in `skip` (columns already reported).
pub(crate) fn field_issues<'a>(
    sheet: &'a str,
    row: u64,
    map: &'a HeaderMap,
    errors: Vec<FieldError>,
    skip: &'a [usize],
) -> impl Iterator<Item = RowIssue> + 'a {
    errors
        .into_iter()
        .filter(move |e| !skip.contains(&e.column))
        .map(move |e| {
            let issue = cell_issue(
                sheet,
                row,
                map,
                e.column,
                IssueKind::Field { detail: e.kind },
            );
            (e.column, issue)
        })
}

/// An issue on `field`'s column, with that column's number for ordering the row's issues; when
/// the sheet lacks the column, an issue about the whole row placed at `absent`.
pub(crate) fn field_issue(
    sheet: &str,
    row: u64,
    map: &HeaderMap,
    field: Field,
    kind: IssueKind,
    absent: Option<String>,
) -> RowIssue {
    match map.column(field) {
        Some(column) => (column, cell_issue(sheet, row, map, column, kind)),
        None => {
            let position = Position {
                sheet: sheet.to_owned(),
                row,
                column: absent,
            };
            (WHOLE_ROW, Issue { position, kind })
        }
    }
}

pub(crate) fn cell_issue(
    sheet: &str,
    row: u64,
    map: &HeaderMap,
    column: usize,
    kind: IssueKind,
) -> Issue {
    Issue {
        position: Position {
            sheet: sheet.to_owned(),
            row,
            column: Some(map.header_text(column).to_owned()),
        },
        kind,
    }
}
