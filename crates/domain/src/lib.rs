//! Checked domain types of muster and the parsing of one spreadsheet row into a checked record.
//! Raw cell text becomes a checked type exactly once, here ("parse, don't validate"): every later
//! layer — import engine, store, exports — works with `Username`, `Email`, `Permission`, … and
//! never re-checks text. No I/O, no database, no async.

pub mod contact;
pub mod entity;
pub mod headers;
pub mod locale;
pub mod names;
pub mod permissions;
pub mod rows;
mod similarity;
mod text;
pub mod values;

pub use contact::{Email, EmailError, Phone, PhoneError};
pub use entity::{Entity, Field};
pub use headers::{
    detect_entity, export_fields, import_fields, is_errors_header, is_secret_header, map_headers,
    recognise_entity, HeaderError, HeaderErrorKind, HeaderMap, Unrecognised,
};
pub use locale::{Locale, LocaleError, Timezone, TimezoneError};
pub use names::{
    parse_name_list, Description, DescriptionError, DisplayName, DisplayNameError, EntityName,
    EntityNameError, Username, UsernameError,
};
pub use permissions::{
    parse_permission_list, Permission, UnknownPermission, ADMINISTRATOR_ROLE,
    PERMISSION_MATRIX_SHEET,
};
pub use rows::{
    parse_department_row, parse_group_row, parse_role_row, parse_user_row, DepartmentRow,
    FieldError, FieldErrorKind, GroupRow, Patch, RoleRow, UserRow,
};
pub use similarity::{latin_lookalike, name_skeleton, near_duplicate};
pub use values::{parse_bool, BoolError, SecretText};
