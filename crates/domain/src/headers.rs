//! Header rows: which column holds which field. Headers match case-, space- and
//! punctuation-insensitively and through aliases, because admins bring sheets from other systems
//! ("E-mail address", "Login", "Enabled"). Every header problem is reported at once, with the
//! nearest known header when a typo is likely, so a file is fixed in one round trip.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::entity::{Entity, Field, FIELD_COUNT};
use crate::text::squash;

/// Every field an import of `entity` accepts, in template order.
pub fn import_fields(entity: Entity) -> &'static [Field] {
    use Field::*;
    match entity {
        Entity::Users => &[
            Username,
            Name,
            Password,
            Department,
            Email,
            Phone,
            Active,
            IgnoreMfa,
            Roles,
            Groups,
            Locale,
            Timezone,
            PasswordHash,
        ],
        Entity::Groups => &[GroupName, Description],
        Entity::Roles => &[RoleName, Description, Permissions],
        Entity::Departments => &[DepartmentName, Description],
    }
}

/// The columns an export of `entity` writes, in order. Never a secret column.
pub fn export_fields(entity: Entity) -> &'static [Field] {
    use Field::*;
    match entity {
        Entity::Users => &[
            Username, Name, Department, Email, Phone, Active, IgnoreMfa, Roles, Groups, Locale,
            Timezone, CreatedAt, UpdatedAt, LastLogin,
        ],
        Entity::Groups => &[GroupName, Description],
        Entity::Roles => &[RoleName, Description, Permissions],
        Entity::Departments => &[DepartmentName, Description],
    }
}

/// Squashed spellings (see [`squash`]) accepted for each field, per sheet; the canonical header
/// squashed is always the first alias of its field.
fn aliases(entity: Entity) -> &'static [(&'static str, Field)] {
    use Field::*;
    const TIMESTAMPS: [(&str, Field); 6] = [
        ("createdat", CreatedAt),
        ("created", CreatedAt),
        ("updatedat", UpdatedAt),
        ("updated", UpdatedAt),
        ("modifiedat", UpdatedAt),
        ("lastmodified", UpdatedAt),
    ];
    // The last column of an error workbook, on whichever sheet failed.
    const ERRORS: [(&str, Field); 3] =
        [("errors", Errors), ("error", Errors), ("problems", Errors)];
    const USERS: &[(&str, Field)] = &[
        ("username", Username),
        ("login", Username),
        ("loginname", Username),
        ("loginid", Username),
        ("userid", Username),
        ("uid", Username),
        ("user", Username),
        ("userlogin", Username),
        ("account", Username),
        ("accountname", Username),
        ("name", Name),
        ("displayname", Name),
        ("fullname", Name),
        ("realname", Name),
        ("password", Password),
        ("pwd", Password),
        ("passwd", Password),
        ("initialpassword", Password),
        ("passwordhash", PasswordHash),
        ("hash", PasswordHash),
        ("pwdhash", PasswordHash),
        ("hashedpassword", PasswordHash),
        ("department", Department),
        ("dept", Department),
        ("departmentname", Department),
        ("email", Email),
        ("emailaddress", Email),
        ("mail", Email),
        ("mailaddress", Email),
        ("phone", Phone),
        ("telephone", Phone),
        ("phonenumber", Phone),
        ("telephonenumber", Phone),
        ("tel", Phone),
        ("mobile", Phone),
        ("mobilephone", Phone),
        ("mobilenumber", Phone),
        ("active", Active),
        ("enabled", Active),
        ("isactive", Active),
        ("isenabled", Active),
        ("ignoremfa", IgnoreMfa),
        ("skipmfa", IgnoreMfa),
        ("mfaexempt", IgnoreMfa),
        ("bypassmfa", IgnoreMfa),
        ("ignore2fa", IgnoreMfa),
        ("skip2fa", IgnoreMfa),
        ("roles", Roles),
        ("role", Roles),
        ("usergroup", Groups),
        ("usergroups", Groups),
        ("groups", Groups),
        ("group", Groups),
        ("locale", Locale),
        ("language", Locale),
        ("lang", Locale),
        ("timezone", Timezone),
        ("tz", Timezone),
        ("createdat", CreatedAt),
        ("created", CreatedAt),
        ("updatedat", UpdatedAt),
        ("updated", UpdatedAt),
        ("modifiedat", UpdatedAt),
        ("lastmodified", UpdatedAt),
        ("lastlogin", LastLogin),
        ("lastloginat", LastLogin),
        ("lastsignin", LastLogin),
        ERRORS[0],
        ERRORS[1],
        ERRORS[2],
    ];
    const GROUPS: &[(&str, Field)] = &[
        ("group", GroupName),
        ("groupname", GroupName),
        ("name", GroupName),
        ("groups", GroupName),
        ("usergroup", GroupName),
        ("usergroupname", GroupName),
        ("description", Description),
        ("desc", Description),
        TIMESTAMPS[0],
        TIMESTAMPS[1],
        TIMESTAMPS[2],
        TIMESTAMPS[3],
        TIMESTAMPS[4],
        TIMESTAMPS[5],
        ERRORS[0],
        ERRORS[1],
        ERRORS[2],
    ];
    const ROLES: &[(&str, Field)] = &[
        ("role", RoleName),
        ("rolename", RoleName),
        ("name", RoleName),
        ("roles", RoleName),
        ("description", Description),
        ("desc", Description),
        ("permissions", Permissions),
        ("permission", Permissions),
        ("permissioncodes", Permissions),
        ("rights", Permissions),
        TIMESTAMPS[0],
        TIMESTAMPS[1],
        TIMESTAMPS[2],
        TIMESTAMPS[3],
        TIMESTAMPS[4],
        TIMESTAMPS[5],
        ERRORS[0],
        ERRORS[1],
        ERRORS[2],
    ];
    const DEPARTMENTS: &[(&str, Field)] = &[
        ("department", DepartmentName),
        ("departmentname", DepartmentName),
        ("name", DepartmentName),
        ("departments", DepartmentName),
        ("dept", DepartmentName),
        ("description", Description),
        ("desc", Description),
        TIMESTAMPS[0],
        TIMESTAMPS[1],
        TIMESTAMPS[2],
        TIMESTAMPS[3],
        TIMESTAMPS[4],
        TIMESTAMPS[5],
        ERRORS[0],
        ERRORS[1],
        ERRORS[2],
    ];
    match entity {
        Entity::Users => USERS,
        Entity::Groups => GROUPS,
        Entity::Roles => ROLES,
        Entity::Departments => DEPARTMENTS,
    }
}

fn lookup(entity: Entity, squashed: &str) -> Option<Field> {
    aliases(entity)
        .iter()
        .find(|(alias, _)| *alias == squashed)
        .map(|&(_, field)| field)
}

/// Lower-cased fragments that mark a column as holding a secret even when the header is not one
/// the users sheet knows: a misspelt `Pasword hash` is rejected by the import, but the archived
/// upload must still not keep its cells. Over-matching only blanks a cell in the archive.
const SECRET_FRAGMENTS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "passwort",
    "mot de passe",
    "hash",
    "secret",
];

/// Whether a column with this header may hold a password or a password hash, on any sheet: it maps
/// to `Password` or `Password hash` of the users sheet (aliases included), or its text contains one
/// of a few words for a secret. Used to blank such cells before an upload is archived.
pub fn is_secret_header(header: &str) -> bool {
    let squashed = squash(header);
    if lookup(Entity::Users, &squashed).is_some_and(Field::is_secret) {
        return true;
    }
    let lower = header.to_lowercase();
    SECRET_FRAGMENTS.iter().any(|fragment| {
        // "Mot_de_passe" and "motdepasse" are the same words as "mot de passe".
        lower.contains(fragment) || squashed.contains(&squash(fragment))
    })
}

/// Whether a header names the `Errors` column that error workbooks add (aliases included).
pub fn is_errors_header(header: &str) -> bool {
    lookup(Entity::Users, &squash(header)) == Some(Field::Errors)
}

/// Error path only: the field whose alias is nearest to an unknown header, if near enough to be
/// a typo ("Emial" → E-mail).
fn suggest(entity: Entity, squashed: &str) -> Option<Field> {
    if squashed.is_empty() {
        return None;
    }
    aliases(entity)
        .iter()
        .map(|&(alias, field)| {
            (
                strsim::normalized_damerau_levenshtein(squashed, alias),
                field,
            )
        })
        .filter(|(score, _)| *score >= 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, field)| field)
}

/// What is wrong with a header row. As data it is `{"code": "unknown", "suggestion": "email"}`
/// (codes and fields in snake case).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum HeaderErrorKind {
    /// No field of this sheet matches the header; the field it most likely misspells.
    Unknown { suggestion: Option<Field> },
    /// The column maps to a field an earlier column already supplies.
    Duplicate {
        field: Field,
        first_column: usize,
        first_header: String,
    },
    /// A blank header cell with named columns to its right: its data would be lost.
    Blank,
    /// The sheet's key column is absent.
    Missing { field: Field },
}

/// One problem of a header row. `column` is 0-based, `None` for a missing column; `header` is
/// the text as written (the canonical header for a missing column). As data the kind's code and
/// parameters sit beside `column` and `header` in one object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderError {
    #[serde(flatten)]
    pub kind: HeaderErrorKind,
    pub column: Option<usize>,
    pub header: String,
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            HeaderErrorKind::Unknown {
                suggestion: Some(field),
            } => {
                write!(
                    f,
                    "`{}`: unknown column; did you mean `{}`?",
                    self.header,
                    field.header()
                )
            }
            HeaderErrorKind::Unknown { suggestion: None } => {
                write!(f, "`{}`: unknown column", self.header)
            }
            HeaderErrorKind::Duplicate {
                field,
                first_header,
                ..
            } => write!(
                f,
                "`{}`: duplicate column; `{first_header}` already supplies {}",
                self.header,
                field.header()
            ),
            HeaderErrorKind::Blank => match self.column {
                Some(c) => write!(f, "column {} has no header", c + 1),
                None => f.write_str("a column has no header"),
            },
            HeaderErrorKind::Missing { field } => {
                write!(f, "`{}`: required column is missing", field.header())
            }
        }
    }
}

impl std::error::Error for HeaderError {}

/// Which file column holds which field, for one sheet.
#[derive(Clone, Debug)]
pub struct HeaderMap {
    entity: Entity,
    columns: [Option<usize>; FIELD_COUNT],
    fields: Vec<Option<Field>>,
    headers: Vec<String>,
}

impl HeaderMap {
    pub fn entity(&self) -> Entity {
        self.entity
    }

    /// 0-based file column of `field`, if the sheet has it.
    pub fn column(&self, field: Field) -> Option<usize> {
        self.columns[field as usize]
    }

    pub fn has(&self, field: Field) -> bool {
        self.column(field).is_some()
    }

    /// The field of a file column; `None` past the header or for an ignored trailing blank.
    pub fn field_at(&self, column: usize) -> Option<Field> {
        self.fields.get(column).copied().flatten()
    }

    /// Number of header cells, not counting trailing blank ones (spreadsheets often report a few
    /// empty formatted columns past the data).
    pub fn width(&self) -> usize {
        self.headers.len()
    }

    /// The header of a column as written in the file; "" past the header.
    pub fn header_text(&self, column: usize) -> &str {
        self.headers.get(column).map_or("", String::as_str)
    }

    /// The fields present, in file column order.
    pub fn fields(&self) -> impl Iterator<Item = (usize, Field)> + '_ {
        self.fields
            .iter()
            .enumerate()
            .filter_map(|(column, field)| field.map(|f| (column, f)))
    }
}

/// Maps a header row for `entity`, reporting every problem: unknown headers (with a suggestion),
/// duplicates, blank headers before the last named one, a missing key column.
pub fn map_headers(entity: Entity, headers: &[&str]) -> Result<HeaderMap, Vec<HeaderError>> {
    let width = headers
        .iter()
        .rposition(|h| !h.trim().is_empty())
        .map_or(0, |last| last + 1);
    let mut columns = [None; FIELD_COUNT];
    let mut fields = Vec::with_capacity(width);
    let mut errors = Vec::new();
    for (column, &header) in headers[..width].iter().enumerate() {
        let field = map_one(entity, column, header, &columns, headers);
        match field {
            Ok(f) => {
                columns[f as usize] = Some(column);
                fields.push(Some(f));
            }
            Err(e) => {
                errors.push(e);
                fields.push(None);
            }
        }
    }
    let key = Field::key_of(entity);
    if columns[key as usize].is_none() {
        errors.push(HeaderError {
            column: None,
            header: key.header().to_owned(),
            kind: HeaderErrorKind::Missing { field: key },
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let headers = headers[..width].iter().map(|h| (*h).to_owned()).collect();
    Ok(HeaderMap {
        entity,
        columns,
        fields,
        headers,
    })
}

fn map_one(
    entity: Entity,
    column: usize,
    header: &str,
    columns: &[Option<usize>; FIELD_COUNT],
    headers: &[&str],
) -> Result<Field, HeaderError> {
    let error = |kind| HeaderError {
        column: Some(column),
        header: header.trim().to_owned(),
        kind,
    };
    if header.trim().is_empty() {
        return Err(error(HeaderErrorKind::Blank));
    }
    let squashed = squash(header);
    let Some(field) = lookup(entity, &squashed) else {
        return Err(error(HeaderErrorKind::Unknown {
            suggestion: suggest(entity, &squashed),
        }));
    };
    if let Some(first_column) = columns[field as usize] {
        let first_header = headers[first_column].trim().to_owned();
        return Err(error(HeaderErrorKind::Duplicate {
            field,
            first_column,
            first_header,
        }));
    }
    Ok(field)
}

/// Squashed headers that only a users sheet has: a sheet with one of them is a users sheet even
/// if its Username column is missing (then `map_headers` says so, which is the useful error).
const USERS_ONLY: &[&str] = &[
    "username",
    "login",
    "loginname",
    "loginid",
    "userid",
    "uid",
    "user",
    "userlogin",
    "account",
    "accountname",
    "password",
    "passwordhash",
    "email",
    "emailaddress",
    "mail",
    "phone",
    "telephone",
    "phonenumber",
    "mobile",
    "active",
    "enabled",
    "isactive",
    "ignoremfa",
    "skipmfa",
    "mfaexempt",
    "locale",
    "timezone",
    "lastlogin",
    "displayname",
    "fullname",
];
const ROLES_HINT: &[&str] = &[
    "role",
    "rolename",
    "roles",
    "permissions",
    "permission",
    "permissioncodes",
];
const GROUPS_HINT: &[&str] = &[
    "group",
    "groupname",
    "groups",
    "usergroup",
    "usergroups",
    "usergroupname",
];
const DEPARTMENTS_HINT: &[&str] = &["department", "departmentname", "departments", "dept"];

/// Recognises the entity of a sheet: a sheet name naming an entity wins; otherwise the headers
/// decide (users: a Username-ish or other users-only header; roles: Role/Permissions; groups:
/// Group; departments: Department). `None` when nothing, or more than one kind, matches.
pub fn detect_entity(headers: &[&str], sheet_name: Option<&str>) -> Option<Entity> {
    recognise_entity(headers, sheet_name, &[]).ok()
}

/// Why the entity of a sheet could not be recognised.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unrecognised {
    /// The entities whose sheet the headers fit equally well (empty when they fit none), in
    /// dependency order; the names of the sheet and the file did not pick one of them.
    pub candidates: Vec<Entity>,
}

impl fmt::Display for Unrecognised {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.candidates.as_slice() {
            [] | [_] => f.write_str(
                "cannot tell whether this sheet holds users, groups, roles or departments from its name or headers",
            ),
            [init @ .., last] => {
                let init: Vec<&str> = init.iter().map(|e| e.as_str()).collect();
                write!(
                    f,
                    "cannot tell whether this sheet holds {} or {last}: its headers fit each, and neither the sheet's nor the file's name says which",
                    init.join(", ")
                )
            }
        }
    }
}

/// Recognises the entity of a sheet from its name, its headers and, when the headers fit several
/// entities, the words of `name_hints` (the file's name, say `import_groups.csv`).
///
/// In order: a sheet name that names an entity; a header only a users sheet has; a header that
/// names exactly one other entity (`Role`, `Group`, `Department`); the entities whose sheet every
/// header fits (`Name, Description` fits groups, roles and departments), narrowed by the name
/// hints. Headers that fit nothing are read once more as the typos they likely are (`Usernme`):
/// if the corrected headers point to one entity, that entity is returned, so that mapping the
/// headers reports the typo at its column with "did you mean `Username`?".
pub fn recognise_entity(
    headers: &[&str],
    sheet_name: Option<&str>,
    name_hints: &[&str],
) -> Result<Entity, Unrecognised> {
    if let Some(entity) = sheet_name.and_then(Entity::parse) {
        return Ok(entity);
    }
    let squashed: Vec<String> = headers.iter().map(|h| squash(h)).collect();
    let candidates = match candidates_from_headers(&squashed) {
        Candidates::One(entity) => return Ok(entity),
        Candidates::Several(entities) => entities,
        Candidates::None => {
            let corrected = corrected_headers(&squashed);
            match candidates_from_headers(&corrected) {
                Candidates::One(entity) => return Ok(entity),
                Candidates::Several(entities) => entities,
                Candidates::None => Vec::new(),
            }
        }
    };
    let hinted: Vec<Entity> = sheet_name
        .into_iter()
        .chain(name_hints.iter().copied())
        .flat_map(entities_named_in)
        .filter(|e| candidates.contains(e))
        .collect();
    match hinted.first() {
        Some(&first) if hinted.iter().all(|&e| e == first) => Ok(first),
        _ => Err(Unrecognised { candidates }),
    }
}

enum Candidates {
    None,
    One(Entity),
    Several(Vec<Entity>),
}

/// What squashed headers alone say: a users-only header, else the entities named by a hint
/// header, else the entities whose sheet every (non-blank) header fits.
fn candidates_from_headers(squashed: &[String]) -> Candidates {
    let has_any = |set: &[&str]| squashed.iter().any(|h| set.contains(&h.as_str()));
    if has_any(USERS_ONLY) {
        return Candidates::One(Entity::Users);
    }
    let hinted: Vec<Entity> = [
        (ROLES_HINT, Entity::Roles),
        (GROUPS_HINT, Entity::Groups),
        (DEPARTMENTS_HINT, Entity::Departments),
    ]
    .into_iter()
    .filter(|(hint, _)| has_any(hint))
    .map(|(_, entity)| entity)
    .collect();
    let fitting: Vec<Entity> = if hinted.is_empty() {
        Entity::ALL
            .into_iter()
            .filter(|&entity| fits(entity, squashed))
            .collect()
    } else {
        hinted
    };
    match fitting.as_slice() {
        [] => Candidates::None,
        [one] => Candidates::One(*one),
        _ => Candidates::Several(fitting),
    }
}

/// Every non-blank header is a column of `entity`'s sheet, and its key column is among them.
fn fits(entity: Entity, squashed: &[String]) -> bool {
    let named: Vec<&String> = squashed.iter().filter(|h| !h.is_empty()).collect();
    let key = Field::key_of(entity);
    !named.is_empty()
        && named.iter().all(|h| lookup(entity, h).is_some())
        && named.iter().any(|h| lookup(entity, h) == Some(key))
}

/// Each header that no sheet knows, replaced by the squashed canonical header it most likely
/// misspells (the best suggestion over every entity); known and unguessable headers unchanged.
fn corrected_headers(squashed: &[String]) -> Vec<String> {
    squashed
        .iter()
        .map(|h| {
            let known = Entity::ALL.iter().any(|&e| lookup(e, h).is_some());
            if known || h.is_empty() {
                return h.clone();
            }
            Entity::ALL
                .iter()
                .filter_map(|&e| suggest(e, h))
                .map(|field| squash(field.header()))
                .max_by(|a, b| {
                    strsim::normalized_damerau_levenshtein(h, a)
                        .total_cmp(&strsim::normalized_damerau_levenshtein(h, b))
                })
                .unwrap_or_else(|| h.clone())
        })
        .collect()
}

/// The entities a name mentions as a word: `import_groups`, `Departments 2026`, `roles-prod`.
fn entities_named_in(name: &str) -> Vec<Entity> {
    let mut found = Vec::new();
    for word in name.split(|c: char| !c.is_alphabetic()) {
        if let Some(entity) = Entity::parse(word) {
            if !found.contains(&entity) {
                found.push(entity);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: [&str; 12] = [
        "Username",
        "Name",
        "Password",
        "Department",
        "E-mail",
        "Phone",
        "Active",
        "Ignore MFA",
        "Roles",
        "User group",
        "Locale",
        "Timezone",
    ];

    #[test]
    fn template_headers_map_in_order() {
        let map = map_headers(Entity::Users, &TEMPLATE).unwrap();
        let expected = &import_fields(Entity::Users)[..12];
        for (i, &field) in expected.iter().enumerate() {
            assert_eq!(map.column(field), Some(i));
            assert_eq!(map.field_at(i), Some(field));
            assert_eq!(field.header(), TEMPLATE[i]);
        }
        assert_eq!(map.width(), 12);
        assert!(!map.has(Field::PasswordHash));
        assert_eq!(map.header_text(4), "E-mail");
    }

    #[test]
    fn canonical_headers_match_for_every_entity() {
        for entity in Entity::ALL {
            let headers: Vec<&str> = import_fields(entity).iter().map(|f| f.header()).collect();
            assert!(map_headers(entity, &headers).is_ok(), "{entity}");
            let headers: Vec<&str> = export_fields(entity).iter().map(|f| f.header()).collect();
            assert!(map_headers(entity, &headers).is_ok(), "{entity}");
            assert_eq!(detect_entity(&headers, None), Some(entity));
        }
    }

    #[test]
    fn aliases_and_spelling() {
        let headers = [
            "LOGIN",
            "Full name",
            "E mail",
            "e_mail address",
            "Telephone",
            "Enabled",
            "skip-MFA",
            "role",
            "Groups",
            "lang",
            "TZ",
            "Password_Hash",
            "Dept",
            "Last login",
        ];
        // "E mail" and "e_mail address" are one field: only the second is a duplicate.
        let errs = map_headers(Entity::Users, &headers).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].column, Some(3));
        let mut headers = headers.to_vec();
        headers.remove(3);
        let map = map_headers(Entity::Users, &headers).unwrap();
        assert_eq!(map.column(Field::Username), Some(0));
        assert_eq!(map.column(Field::Email), Some(2));
        assert_eq!(map.column(Field::Groups), Some(7));
        assert_eq!(map.column(Field::PasswordHash), Some(10));
        assert_eq!(map.column(Field::LastLogin), Some(12));
        for h in ["E-mail", "email", "E mail", "E_MAIL"] {
            let map = map_headers(Entity::Users, &["Username", h]).unwrap();
            assert_eq!(map.field_at(1), Some(Field::Email));
        }
    }

    #[test]
    fn sheet_specific_aliases() {
        let map = map_headers(Entity::Groups, &["Name", "Description"]).unwrap();
        assert_eq!(map.column(Field::GroupName), Some(0));
        let map = map_headers(Entity::Roles, &["Role name", "Permission codes"]).unwrap();
        assert_eq!(map.column(Field::Permissions), Some(1));
        let map = map_headers(Entity::Departments, &["Department", "Description"]).unwrap();
        assert_eq!(map.column(Field::DepartmentName), Some(0));
        // "Group" in a users sheet is the user's groups, not a key.
        let map = map_headers(Entity::Users, &["Username", "Group"]).unwrap();
        assert_eq!(map.field_at(1), Some(Field::Groups));
    }

    #[test]
    fn unknown_header_suggests_nearest() {
        let errs = map_headers(Entity::Users, &["Username", "Emial", "Frobnicate"]).unwrap_err();
        assert_eq!(errs.len(), 2);
        assert_eq!(errs[0].column, Some(1));
        assert_eq!(
            errs[0].kind,
            HeaderErrorKind::Unknown {
                suggestion: Some(Field::Email)
            }
        );
        assert_eq!(
            errs[0].to_string(),
            "`Emial`: unknown column; did you mean `E-mail`?"
        );
        assert_eq!(errs[1].kind, HeaderErrorKind::Unknown { suggestion: None });
        let errs = map_headers(Entity::Users, &["Usrname"]).unwrap_err();
        assert_eq!(
            errs[0].kind,
            HeaderErrorKind::Unknown {
                suggestion: Some(Field::Username)
            }
        );
    }

    #[test]
    fn duplicate_header() {
        let errs = map_headers(Entity::Users, &["Username", "Email", "E-mail"]).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].column, Some(2));
        assert!(matches!(
            errs[0].kind,
            HeaderErrorKind::Duplicate {
                field: Field::Email,
                first_column: 1,
                ..
            }
        ));
        assert_eq!(
            errs[0].to_string(),
            "`E-mail`: duplicate column; `Email` already supplies E-mail"
        );
    }

    #[test]
    fn missing_key_and_blank_headers() {
        let errs = map_headers(Entity::Users, &["Name", "", "E-mail", "", " "]).unwrap_err();
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert_eq!(errs[0].column, Some(1));
        assert_eq!(errs[0].kind, HeaderErrorKind::Blank);
        assert_eq!(errs[1].column, None);
        assert_eq!(
            errs[1].kind,
            HeaderErrorKind::Missing {
                field: Field::Username
            }
        );
        assert_eq!(
            errs[1].to_string(),
            "`Username`: required column is missing"
        );
        // Trailing blanks are ignored.
        let map = map_headers(Entity::Users, &["Username", "", ""]).unwrap();
        assert_eq!(map.width(), 1);
        assert!(map_headers(Entity::Roles, &["Description"]).is_err());
        assert!(map_headers(Entity::Users, &[]).is_err());
    }

    #[test]
    fn secret_headers() {
        for header in [
            "Password",
            "password_hash",
            "Password hash",
            "PWD",
            "passwd",
            "Initial password",
            "Hashed password",
            "Hash",
            "Passwort",
            "Mot de passe",
            "mot_de_passe",
            "Client secret",
            "Pasword hash",
            "NEW-PASSWORD",
        ] {
            assert!(is_secret_header(header), "{header}");
        }
        for header in ["Username", "E-mail", "Passage", "Description", "Errors", ""] {
            assert!(!is_secret_header(header), "{header}");
        }
    }

    #[test]
    fn errors_column_is_recognised_and_ignored_on_every_sheet() {
        for entity in Entity::ALL {
            let key = Field::key_of(entity).header();
            for errors in ["Errors", "error", "PROBLEMS"] {
                let map = map_headers(entity, &[key, errors]).unwrap();
                assert_eq!(map.field_at(1), Some(Field::Errors), "{entity} {errors}");
                assert!(Field::Errors.is_export_only());
            }
        }
        // A fixed error workbook imports as it is: the row parser never reads the Errors cell.
        let map = map_headers(Entity::Users, &["Username", "Errors"]).unwrap();
        assert!(crate::rows::parse_user_row(&map, &["bob", "[import 3, row 2] x"]).is_ok());
        let map = map_headers(Entity::Groups, &["Group", "Errors"]).unwrap();
        assert!(crate::rows::parse_group_row(&map, &["Sales", "[import 3, row 2] x"]).is_ok());
        assert!(is_errors_header(" errors "));
        assert!(!is_errors_header("Error code"));
        assert!(!export_fields(Entity::Users).contains(&Field::Errors));
        assert!(!import_fields(Entity::Users).contains(&Field::Errors));
    }

    #[test]
    fn detect() {
        assert_eq!(detect_entity(&["Name"], Some("Roles")), Some(Entity::Roles));
        assert_eq!(
            detect_entity(&TEMPLATE, Some("Sheet1")),
            Some(Entity::Users)
        );
        assert_eq!(detect_entity(&["Login", "Name"], None), Some(Entity::Users));
        assert_eq!(
            detect_entity(&["Name", "E-mail", "Roles"], None),
            Some(Entity::Users)
        );
        assert_eq!(
            detect_entity(&["Role", "Description", "Permissions"], None),
            Some(Entity::Roles)
        );
        assert_eq!(
            detect_entity(&["Group", "Description"], None),
            Some(Entity::Groups)
        );
        assert_eq!(
            detect_entity(&["Department", "Description"], None),
            Some(Entity::Departments)
        );
        assert_eq!(detect_entity(&["Name", "Description"], None), None);
        assert_eq!(
            recognise_entity(&["Name", "Description"], None, &["groups.csv"]),
            Ok(Entity::Groups)
        );
        assert_eq!(
            recognise_entity(
                &["Name", "Description"],
                Some("Sheet1"),
                &["Departments 2026.xlsx"]
            ),
            Ok(Entity::Departments)
        );
        assert_eq!(
            recognise_entity(&["Name", "Description"], None, &["export.csv"]),
            Err(Unrecognised {
                candidates: vec![Entity::Departments, Entity::Groups, Entity::Roles]
            })
        );
        // A name that mentions two of the candidates decides nothing.
        assert!(
            recognise_entity(&["Name", "Description"], None, &["groups_and_roles.csv"]).is_err()
        );
        // A typo of the only header that would tell is read as that header, so the mapping
        // reports it where it is.
        assert_eq!(
            recognise_entity(&["Usernme", "Name"], None, &[]),
            Ok(Entity::Users)
        );
        assert_eq!(
            recognise_entity(&["Departmnt", "Description"], None, &[]),
            Ok(Entity::Departments)
        );
        assert!(recognise_entity(&["Colour", "Size"], None, &["users.csv"]).is_err());
        // The hint never overrides headers that say something else.
        assert_eq!(
            recognise_entity(&["Role", "Permissions"], None, &["groups.csv"]),
            Ok(Entity::Roles)
        );
        assert_eq!(detect_entity(&["Group", "Department"], None), None);
        assert_eq!(detect_entity(&[], None), None);
    }
}
