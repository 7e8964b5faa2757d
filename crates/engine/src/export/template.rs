//! The template use case: an empty sheet an administrator fills in and imports. It carries the
//! headers the import reads, one sample row that imports cleanly into the store it was made from
//! and, imported unedited, only ever creates records (its names are free in that store),
//! and, in XLSX, a note on each header cell and dropdowns for the Yes/No columns and for the
//! departments, roles and groups that exist now. The workbook template holds the four sheets in
//! dependency order, with samples that refer to each other, so it imports as one plan.

use std::io::Write;

use crate::audit::{self, Target};
use crate::busy;
use crate::context::Context;
use crate::error::{Error, Invalid, Unavailable};
use muster_domain::{import_fields, Entity, EntityName, Field, Permission, ADMINISTRATOR_ROLE};
use muster_sheets::{
    column_letters, CellNote, CellStyle, Dropdown, DropdownChoices, DropdownStrictness, Format,
    StyledCell, StyledWorkbook, WriteError,
};
use muster_store::{Catalog, Store, StoreError};

/// What a template is for: one entity's sheet, or a workbook with all four sheets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TemplateKind {
    Entity(Entity),
    Workbook,
}

impl TemplateKind {
    /// `users`, `groups`, `roles`, `departments` or `workbook`.
    pub fn as_str(self) -> &'static str {
        match self {
            TemplateKind::Entity(entity) => entity.as_str(),
            TemplateKind::Workbook => "workbook",
        }
    }

    /// The name a template gets when none is asked for: `import_users.xlsx`, `import_workbook.xlsx`.
    pub fn default_file_name(self, format: Format) -> String {
        format!("import_{}.{}", self.as_str(), format.extension())
    }

    /// Whether this template can be written as `format`: XLSX always, CSV for one entity's
    /// sheet, ODS never. A caller checks it before creating the output.
    pub fn check_format(self, format: Format) -> Result<(), Error> {
        match (self, format) {
            (_, Format::Ods) => Err(Invalid::UnsupportedFormat(format).into()),
            (TemplateKind::Workbook, Format::Csv) => Err(Invalid::WorkbookNeedsXlsx.into()),
            _ => Ok(()),
        }
    }
}

impl std::fmt::Display for TemplateKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Writes the template of `kind` as `format` (XLSX or CSV) to `out`.
/// Writes an import template; needs `users.import` (a template is the start of an import, and
/// its dropdowns name the existing roles, groups and departments).
pub async fn write_template(
    store: &Store,
    ctx: &Context,
    kind: TemplateKind,
    format: Format,
    out: Box<dyn Write + Send>,
) -> Result<(), Error> {
    busy::naming_job(store, async move {
        // Refuse impossible requests before touching the store, so the message is the first
        // thing said.
        kind.check_format(format)?;
        let target = Target {
            kind: "template",
            id: None,
            name: "import template".to_owned(),
        };
        audit::require(store, ctx, Permission::UsersImport, "template", &target).await?;
        let mut conn = store.acquire().await?;
        let catalog = muster_store::load_catalog(&mut conn).await?;
        let user = free_sample_user(&mut conn).await?;
        let new = SampleNames::free_in(&catalog);
        let (refs, choices) = match kind {
            TemplateKind::Entity(_) => (
                SampleRefs::existing(&catalog, user, new),
                Choices::existing(&catalog),
            ),
            TemplateKind::Workbook => {
                let choices = Choices::existing(&catalog).with_workbook_samples(&new);
                (SampleRefs::workbook(user, new), choices)
            }
        };
        let sheets: Vec<SheetPlan> = match kind {
            TemplateKind::Entity(entity) => vec![SheetPlan::new(entity, &refs)],
            TemplateKind::Workbook => Entity::ALL
                .iter()
                .map(|&entity| SheetPlan::new(entity, &refs))
                .collect(),
        };
        let book = StyledWorkbook::new(format, out);
        write_book(book, format, &sheets, &choices)
            .map_err(|cause| Error::Unavailable(Unavailable::Template(cause)))
    })
    .await
}

/// Writes the planned sheets into `book` and finishes it.
fn write_book(
    mut book: StyledWorkbook,
    format: Format,
    sheets: &[SheetPlan],
    choices: &Choices,
) -> Result<(), WriteError> {
    for sheet in sheets {
        add_entity_sheet(&mut book, sheet, choices)?;
    }
    // Only a users sheet has dropdowns that need the lists, and only XLSX has dropdowns (and
    // room for a second sheet).
    if format == Format::Xlsx && sheets.iter().any(|s| s.entity == Entity::Users) {
        add_lists_sheet(&mut book, choices)?;
    }
    book.finish()
}

// ---------------------------------------------------------------------------------------------
// What the template says

/// The names the samples start from. A template imported unedited must never change existing
/// data (issue 7), so these read as samples and, where the store already has one, the template
/// takes the next free variant (`Sample group 2`, `sample.user2`).
const SAMPLE_DEPARTMENT: &str = "Sample department";
const SAMPLE_GROUP: &str = "Sample group";
const SAMPLE_ROLE: &str = "Sample role";
const SAMPLE_USERNAME: &str = "sample.user";

/// Rows (1-based, as a spreadsheet numbers them) that carry the dropdowns: the header is row 1.
const LAST_VALIDATED_ROW: u32 = 1000;

/// The hidden sheet that holds the dropdowns' lists, which may be longer than the 255 characters
/// a list literal can hold.
const LISTS_SHEET: &str = "Lists";

/// One column of a template sheet.
struct Column {
    field: Field,
    sample: String,
    note: String,
}

/// One sheet of a template: the entity it imports as and its columns in import order.
struct SheetPlan {
    entity: Entity,
    columns: Vec<Column>,
}

impl SheetPlan {
    fn new(entity: Entity, refs: &SampleRefs) -> SheetPlan {
        let columns = template_fields(entity)
            .map(|field| Column {
                field,
                sample: sample(entity, field, refs),
                note: note(entity, field),
            })
            .collect();
        SheetPlan { entity, columns }
    }
}

/// What the tests check a sheet against.
#[cfg(test)]
impl SheetPlan {
    fn headers(&self) -> Vec<&'static str> {
        self.columns.iter().map(|c| c.field.header()).collect()
    }

    fn samples(&self) -> Vec<&str> {
        self.columns.iter().map(|c| c.sample.as_str()).collect()
    }
}

/// The import's fields without `Password hash`: that column is for migrations from another
/// system, and an administrator filling in a template sets passwords, if at all, in plaintext.
fn template_fields(entity: Entity) -> impl Iterator<Item = Field> {
    import_fields(entity)
        .iter()
        .copied()
        .filter(|&field| field != Field::PasswordHash)
}

/// The sample user: a username and an e-mail that no user of the store has.
struct SampleUser {
    username: String,
    email: String,
}

/// The first of `sample.user`, `sample.user2`, … whose username and e-mail are both free.
async fn free_sample_user(conn: &mut muster_store::Connection) -> Result<SampleUser, StoreError> {
    for n in 1u32.. {
        let username = if n == 1 {
            SAMPLE_USERNAME.to_owned()
        } else {
            format!("{SAMPLE_USERNAME}{n}")
        };
        let email = format!("{username}@example.com");
        let taken = !muster_store::fetch_users(conn, &[username.as_str()])
            .await?
            .is_empty()
            || !muster_store::email_owners(conn, &[email.as_str()])
                .await?
                .is_empty();
        if !taken {
            return Ok(SampleUser { username, email });
        }
    }
    unreachable!("some sample username is free")
}

/// The names the catalog samples create: free in the store the template is made from.
struct SampleNames {
    department: String,
    group: String,
    role: String,
}

impl SampleNames {
    fn free_in(catalog: &Catalog) -> SampleNames {
        SampleNames {
            department: free_name(SAMPLE_DEPARTMENT, |key| {
                catalog.departments.contains_key(key)
            }),
            group: free_name(SAMPLE_GROUP, |key| catalog.groups.contains_key(key)),
            role: free_name(SAMPLE_ROLE, |key| catalog.roles.contains_key(key)),
        }
    }
}

/// `base`, or `base 2`, `base 3`… : the first whose name key `taken` does not hold.
fn free_name(base: &str, taken: impl Fn(&str) -> bool) -> String {
    let candidates =
        std::iter::once(base.to_owned()).chain((2u32..).map(|n| format!("{base} {n}")));
    let is_free = |name: &String| EntityName::parse(name).is_ok_and(|n| !taken(n.key()));
    candidates
        .into_iter()
        .find(is_free)
        .unwrap_or_else(|| base.to_owned())
}

/// What the samples name. The users sample refers to existing entries where it can (unknown
/// roles and groups are import errors): a role without privileged permissions (never the
/// administrator role, which a sample must not hand out), a group and a department, or a
/// blank cell; in a workbook it refers to what the workbook's own sheets create.
struct SampleRefs {
    user: SampleUser,
    /// The names the catalog sheets' samples create.
    new: SampleNames,
    department: String,
    role: String,
    group: String,
}

impl SampleRefs {
    fn existing(catalog: &Catalog, user: SampleUser, new: SampleNames) -> SampleRefs {
        let role = catalog
            .roles
            .values()
            .find(|r| {
                r.named.name_key != ADMINISTRATOR_ROLE
                    && crate::import::warnings::privileged(&r.permissions).is_empty()
            })
            .map(|r| r.named.name.clone());
        let group = catalog.groups.values().next().map(|g| g.name.clone());
        // A new department is created by the import, so the sample may name one that is not there.
        let department = catalog
            .departments
            .values()
            .next()
            .map_or_else(|| new.department.clone(), |d| d.name.clone());
        SampleRefs {
            user,
            department,
            role: role.unwrap_or_default(),
            group: group.unwrap_or_default(),
            new,
        }
    }

    fn workbook(user: SampleUser, new: SampleNames) -> SampleRefs {
        SampleRefs {
            user,
            department: new.department.clone(),
            role: new.role.clone(),
            group: new.group.clone(),
            new,
        }
    }
}

fn sample(entity: Entity, field: Field, refs: &SampleRefs) -> String {
    let text = match (entity, field) {
        (Entity::Users, Field::Username) => &refs.user.username,
        (Entity::Users, Field::Name) => "Sample User",
        (Entity::Users, Field::Department) => &refs.department,
        (Entity::Users, Field::Email) => &refs.user.email,
        (Entity::Users, Field::Phone) => "+44 20 7946 0958",
        (Entity::Users, Field::Active) => "Yes",
        (Entity::Users, Field::IgnoreMfa) => "No",
        (Entity::Users, Field::Roles) => &refs.role,
        (Entity::Users, Field::Groups) => &refs.group,
        (Entity::Users, Field::Locale) => "en-GB",
        (Entity::Users, Field::Timezone) => "Europe/London",
        (Entity::Groups, Field::GroupName) => &refs.new.group,
        (Entity::Groups, Field::Description) => "A sample group: replace this row with your own",
        (Entity::Departments, Field::DepartmentName) => &refs.new.department,
        (Entity::Departments, Field::Description) => {
            "A sample department: replace this row with your own"
        }
        (Entity::Roles, Field::RoleName) => &refs.new.role,
        (Entity::Roles, Field::Description) => {
            "A sample role that reads users and groups: replace this row with your own"
        }
        (Entity::Roles, Field::Permissions) => {
            return format!(
                "{}, {}",
                Permission::UsersRead.code(),
                Permission::GroupsRead.code()
            );
        }
        // The password stays blank: the sample user gets an invitation-only provisional secret.
        _ => "",
    };
    text.to_owned()
}

/// The note on a header cell: whether the column is required, what it holds, and what a blank
/// cell does (the import treats blanks differently per column, which surprises people).
fn note(entity: Entity, field: Field) -> String {
    let text = match (entity, field) {
        (Entity::Users, Field::Username) => {
            "Required. The login name: 1 to 64 letters, digits and . _ - @. Matched case-insensitively: \
             an existing username updates that user, a new one creates a user."
        }
        (Entity::Users, Field::Name) => "Required. The display name, e.g. Jane Doe.",
        (Entity::Users, Field::Password) => {
            "Optional. At least 12 characters, not the username and not a common password; hashed at \
             once and never shown again. A blank cell keeps the current password; a new user without \
             one gets an invitation-only provisional secret."
        }
        (Entity::Users, Field::Department) => {
            "Optional. One department name. Pick an existing one or type a new one: a department that \
             does not exist yet is created by the import. A blank cell clears it."
        }
        (Entity::Users, Field::Email) => {
            "Optional. An e-mail address such as jane.doe@example.com, unique among users \
             (case-insensitive). A blank cell clears it."
        }
        (Entity::Users, Field::Phone) => {
            "Optional. Kept as text exactly as written, e.g. +44 20 7946 0958. A blank cell clears it."
        }
        (Entity::Users, Field::Active) => {
            "Yes or No: whether the user can sign in. A blank cell keeps the current value; a new user \
             is active."
        }
        (Entity::Users, Field::IgnoreMfa) => {
            "Yes or No: exempts the user from multi-factor authentication. A blank cell keeps the \
             current value; a new user is not exempt."
        }
        (Entity::Users, Field::Roles) => {
            "Optional. Comma-separated role names, e.g. viewer, auditor. Every role must already exist \
             (the list shows them; type several separated by commas). A blank cell removes every role."
        }
        (Entity::Users, Field::Groups) => {
            "Optional. Comma-separated user group names. Groups must already exist unless the import \
             is told to create them (the list shows them; type several separated by commas). A blank \
             cell removes every group."
        }
        (Entity::Users, Field::Locale) => {
            "Optional. A BCP 47 language tag such as en-GB or pt-BR. A blank cell clears it."
        }
        (Entity::Users, Field::Timezone) => {
            "Optional. An IANA time zone such as Europe/Paris. A blank cell clears it."
        }
        (Entity::Groups, Field::GroupName) => {
            "Required. The group's name, matched case-insensitively: an existing group is updated, a \
             new one is created."
        }
        (Entity::Departments, Field::DepartmentName) => {
            "Required. The department's name, matched case-insensitively: an existing department is \
             updated, a new one is created."
        }
        (Entity::Roles, Field::RoleName) => {
            "Required. The role's name, matched case-insensitively: an existing role is updated, a new \
             one is created. The built-in administrator role cannot be changed by an import."
        }
        (Entity::Roles, Field::Permissions) => return permissions_note(),
        (_, Field::Description) => "Optional. Free text describing the entry. A blank cell clears it.",
        _ => "",
    };
    text.to_owned()
}

/// The permissions note lists the whole catalog, one code per line, so nobody has to look it up.
fn permissions_note() -> String {
    let mut text =
        String::from("Comma-separated permission codes, e.g. users.read, groups.read. The codes:");
    for permission in Permission::ALL {
        text.push_str(&format!(
            "\n{}: {}",
            permission.code(),
            permission.description()
        ));
    }
    text
}

/// The names the dropdowns offer, in key order.
struct Choices {
    departments: Vec<String>,
    roles: Vec<String>,
    groups: Vec<String>,
}

impl Choices {
    fn existing(catalog: &Catalog) -> Choices {
        Choices {
            departments: catalog
                .departments
                .values()
                .map(|d| d.name.clone())
                .collect(),
            roles: catalog
                .roles
                .values()
                .map(|r| r.named.name.clone())
                .collect(),
            groups: catalog.groups.values().map(|g| g.name.clone()).collect(),
        }
    }

    /// A workbook creates its own samples before its users sheet is imported, so they are
    /// valid choices there too.
    fn with_workbook_samples(mut self, new: &SampleNames) -> Choices {
        add_choice(&mut self.departments, &new.department);
        add_choice(&mut self.roles, &new.role);
        add_choice(&mut self.groups, &new.group);
        self
    }

    /// The lists in the column order of the `Lists` sheet, with the header each column carries.
    fn columns(&self) -> [(Field, &[String]); 3] {
        [
            (Field::Department, &self.departments),
            (Field::Roles, &self.roles),
            (Field::Groups, &self.groups),
        ]
    }

    /// `=Lists!$B$2:$B$4` for the list of `field`, or `None` when that list is empty (a dropdown
    /// over blank cells would only get in the way).
    fn range(&self, field: Field) -> Option<String> {
        let (column, (_, names)) = self
            .columns()
            .into_iter()
            .enumerate()
            .find(|(_, (f, _))| *f == field)?;
        if names.is_empty() {
            return None;
        }
        let letters = column_letters(column);
        Some(format!(
            "={LISTS_SHEET}!${letters}$2:${letters}${}",
            names.len() + 1
        ))
    }
}

/// Names compare caselessly, as the import matches them.
fn add_choice(names: &mut Vec<String>, name: &str) {
    if !names
        .iter()
        .any(|n| n.to_lowercase() == name.to_lowercase())
    {
        names.push(name.to_owned());
    }
}

// ---------------------------------------------------------------------------------------------
// Writing: XLSX gets everything below; CSV keeps the header and the sample row only.

fn add_entity_sheet(
    book: &mut StyledWorkbook,
    sheet: &SheetPlan,
    choices: &Choices,
) -> Result<(), WriteError> {
    book.add_sheet(sheet.entity.sheet_name())?;
    let headers: Vec<StyledCell<'_>> = sheet
        .columns
        .iter()
        .map(|column| {
            StyledCell::styled(column.field.header(), CellStyle::Bold)
                .with_note(header_note(&column.note))
        })
        .collect();
    book.write_row(&headers)?;
    // Text, never a number or formula, so the phone keeps its `+` and spaces.
    let samples: Vec<StyledCell<'_>> = sheet
        .columns
        .iter()
        .map(|column| StyledCell::plain(&column.sample))
        .collect();
    book.write_row(&samples)?;
    for (col, column) in sheet.columns.iter().enumerate() {
        book.set_column_width(col, column_width(column))?;
        if let Some(dropdown) = dropdown(column.field, choices) {
            book.add_dropdown(col, 1..=LAST_VALIDATED_ROW - 1, &dropdown)?;
        }
    }
    book.freeze_header()
}

/// Wide enough for the header and the sample, so the template reads without resizing.
fn column_width(column: &Column) -> f64 {
    let chars = column
        .field
        .header()
        .chars()
        .count()
        .max(column.sample.chars().count());
    // Column widths are a handful of characters; the conversion cannot lose anything.
    (chars.max(10) + 3) as f64
}

/// A note sized to its text: the default box is too small for a sentence.
fn header_note(text: &str) -> CellNote {
    const CHARS_PER_LINE: usize = 40;
    let lines: usize = text
        .lines()
        .map(|line| line.chars().count() / CHARS_PER_LINE + 1)
        .sum();
    let height = u32::try_from(lines * 15 + 12).unwrap_or(u32::MAX);
    CellNote::new(text).with_size(300, height)
}

/// The dropdown of a column, if it has one. Yes/No is strict. Department, Roles and User group
/// only warn or inform: a new department is created by the import, and a roles or groups cell
/// may name several entries separated by commas, which no list entry matches.
fn dropdown(field: Field, choices: &Choices) -> Option<Dropdown> {
    match field {
        Field::Active | Field::IgnoreMfa => Some(Dropdown {
            choices: DropdownChoices::Values(vec!["Yes".into(), "No".into()]),
            strictness: DropdownStrictness::Stop,
            error_title: "Yes or No".into(),
            error_message: format!("{} takes Yes or No.", field.header()),
        }),
        Field::Department | Field::Roles | Field::Groups => {
            let range = choices.range(field)?;
            let (strictness, message) = list_message(field);
            Some(Dropdown {
                choices: DropdownChoices::Cells(range),
                strictness,
                error_title: format!("Not a listed {}", noun(field)),
                error_message: message.to_owned(),
            })
        }
        _ => None,
    }
}

fn noun(field: Field) -> &'static str {
    match field {
        Field::Department => "department",
        Field::Roles => "role",
        _ => "group",
    }
}

fn list_message(field: Field) -> (DropdownStrictness, &'static str) {
    match field {
        Field::Department => (
            DropdownStrictness::Information,
            "This department does not exist yet; the import will create it.",
        ),
        Field::Roles => (
            DropdownStrictness::Warning,
            "Several roles may be separated by commas, but every role must already exist or the import \
             rejects the row. Keep this value?",
        ),
        _ => (
            DropdownStrictness::Warning,
            "Several groups may be separated by commas, but every group must already exist unless the \
             import is told to create groups. Keep this value?",
        ),
    }
}

/// The hidden sheet with one column per list, a header on top, which the dropdowns point at.
/// Rows are written in order; a shorter list leaves its cells empty (and so unwritten).
fn add_lists_sheet(book: &mut StyledWorkbook, choices: &Choices) -> Result<(), WriteError> {
    book.add_sheet(LISTS_SHEET)?;
    book.hide_sheet()?;
    let columns = choices.columns();
    let headers: Vec<StyledCell<'_>> = columns
        .iter()
        .map(|(field, _)| StyledCell::styled(field.header(), CellStyle::Bold))
        .collect();
    book.write_row(&headers)?;
    let longest = columns
        .iter()
        .map(|(_, names)| names.len())
        .max()
        .unwrap_or(0);
    for row in 0..longest {
        // A name picked from the dropdown must read back as it is stored: the styled writer
        // keeps a leading apostrophe.
        let cells: Vec<StyledCell<'_>> = columns
            .iter()
            .map(|(_, names)| StyledCell::plain(names.get(row).map_or("", String::as_str)))
            .collect();
        book.write_row(&cells)?;
    }
    for col in 0..columns.len() {
        book.set_column_width(col, 24.0)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::source::parse_record;
    use muster_domain::map_headers;

    fn catalog_with(roles: &[&str], groups: &[&str]) -> Catalog {
        let named = |name: &str| muster_store::NamedRecord {
            id: String::new(),
            name_key: name.to_lowercase(),
            name: name.to_owned(),
            description: String::new(),
            created_at: 0,
            updated_at: 0,
        };
        let mut catalog = Catalog::default();
        for role in roles {
            let record = muster_store::RoleRecord {
                named: named(role),
                permissions: Vec::new(),
            };
            catalog.roles.insert(role.to_lowercase(), record);
        }
        for group in groups {
            catalog.groups.insert(group.to_lowercase(), named(group));
        }
        catalog
    }

    fn user() -> SampleUser {
        SampleUser {
            username: SAMPLE_USERNAME.into(),
            email: "sample.user@example.com".into(),
        }
    }

    fn workbook_refs() -> SampleRefs {
        SampleRefs::workbook(user(), SampleNames::free_in(&Catalog::default()))
    }

    fn existing_refs(catalog: &Catalog) -> SampleRefs {
        SampleRefs::existing(catalog, user(), SampleNames::free_in(catalog))
    }

    #[test]
    fn headers_are_the_spec_ones() {
        let refs = workbook_refs();
        let users = SheetPlan::new(Entity::Users, &refs);
        assert_eq!(
            users.headers(),
            [
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
                "Timezone"
            ]
        );
        assert_eq!(
            SheetPlan::new(Entity::Groups, &refs).headers(),
            ["Group", "Description"]
        );
        assert_eq!(
            SheetPlan::new(Entity::Departments, &refs).headers(),
            ["Department", "Description"]
        );
        assert_eq!(
            SheetPlan::new(Entity::Roles, &refs).headers(),
            ["Role", "Description", "Permissions"]
        );
    }

    #[test]
    fn every_sample_row_parses() {
        for refs in [workbook_refs(), existing_refs(&Catalog::default())] {
            for entity in Entity::ALL {
                let sheet = SheetPlan::new(entity, &refs);
                let map = map_headers(entity, &sheet.headers()).expect("template headers map");
                assert!(
                    parse_record(entity, &map, &sheet.samples()).is_ok(),
                    "{entity}"
                );
                assert!(
                    sheet.columns.iter().all(|c| !c.note.is_empty()),
                    "{entity}: a column has no note"
                );
            }
        }
    }

    #[test]
    fn sample_refers_to_existing_non_administrator_entries() {
        let mut catalog = catalog_with(
            &["administrator", "Auditor", "boss", "zeta"],
            &["Ops", "Night"],
        );
        catalog.roles.get_mut("auditor").unwrap().permissions = vec!["users.write".into()];
        let refs = existing_refs(&catalog);
        assert_eq!(
            (refs.role.as_str(), refs.group.as_str()),
            ("boss", "Night"),
            "no privileged role either"
        );
        let refs = existing_refs(&catalog_with(&["administrator"], &[]));
        assert_eq!((refs.role.as_str(), refs.group.as_str()), ("", ""));
        assert_eq!(refs.department, SAMPLE_DEPARTMENT);
    }

    /// Issue 7, item 14: the catalog samples never name an entry the store has, so importing a
    /// template unedited creates and never updates.
    #[test]
    fn sample_names_are_free_in_the_store() {
        let mut catalog = catalog_with(&["Sample role", "SAMPLE ROLE 2"], &["sample group"]);
        catalog.departments.insert(
            "sales".into(),
            catalog_with(&[], &["Sales"]).groups["sales"].clone(),
        );
        let new = SampleNames::free_in(&catalog);
        assert_eq!(
            (
                new.role.as_str(),
                new.group.as_str(),
                new.department.as_str()
            ),
            ("Sample role 3", "Sample group 2", SAMPLE_DEPARTMENT)
        );
        let refs = existing_refs(&catalog);
        assert_eq!(
            refs.department, "Sales",
            "the users sample joins an existing department"
        );
    }

    #[test]
    fn list_ranges_skip_empty_lists() {
        let choices = Choices::existing(&catalog_with(&["administrator", "auditor"], &[]));
        assert_eq!(choices.range(Field::Department), None);
        assert_eq!(
            choices.range(Field::Roles).as_deref(),
            Some("=Lists!$B$2:$B$3")
        );
        assert_eq!(choices.range(Field::Groups), None);
        let choices = choices.with_workbook_samples(&SampleNames::free_in(&Catalog::default()));
        assert_eq!(
            choices.range(Field::Department).as_deref(),
            Some("=Lists!$A$2:$A$2")
        );
        assert_eq!(
            choices.range(Field::Roles).as_deref(),
            Some("=Lists!$B$2:$B$4")
        );
        assert_eq!(
            choices.range(Field::Groups).as_deref(),
            Some("=Lists!$C$2:$C$2")
        );
    }

    #[test]
    fn permissions_note_lists_the_catalog() {
        let text = note(Entity::Roles, Field::Permissions);
        assert!(
            Permission::ALL.iter().all(|p| text.contains(p.code())),
            "{text}"
        );
    }

    #[test]
    fn default_file_names() {
        assert_eq!(
            TemplateKind::Entity(Entity::Users).default_file_name(Format::Xlsx),
            "import_users.xlsx"
        );
        assert_eq!(
            TemplateKind::Workbook.default_file_name(Format::Xlsx),
            "import_workbook.xlsx"
        );
        assert_eq!(
            TemplateKind::Entity(Entity::Roles).default_file_name(Format::Csv),
            "import_roles.csv"
        );
    }
}
