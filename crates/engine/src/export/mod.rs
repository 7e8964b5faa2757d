//! The export use case: users (streamed from the store, filtered), groups, roles and departments
//! written as CSV, XLSX or ODS with exactly the headers the import reads, so an export imported
//! unchanged is a no-op. Passwords and hashes are never exported. The roles export in XLSX/ODS
//! adds a permission matrix sheet for people to read. The workbook export writes all four entities
//! into one XLSX or ODS, which an import on another instance applies as one plan.

pub(crate) mod template;

use std::io::Write;

use std::collections::BTreeMap;

use muster_domain::{
    export_fields, Entity, EntityName, Field, Permission, PERMISSION_MATRIX_SHEET,
};
use muster_sheets::{Format, WorkbookWriter, WriteError};
use muster_store::{Catalog, Store, UserFilter, UserRecord};

use crate::audit::{self, Target};
use crate::busy;
use crate::context::Context;
use crate::error::{Error, Invalid, Missing, Unavailable};
use crate::timefmt::rfc3339_utc;

/// Filters by display name; they are matched by key, so case does not matter.
#[derive(Clone, Debug, Default)]
pub struct ExportFilter {
    pub department: Option<String>,
    pub group: Option<String>,
    pub role: Option<String>,
    pub active: Option<bool>,
    pub search: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExportSummary {
    pub rows: u64,
}

/// The export's output failed: the caller's to fix (a full disk, a closed pipe), and not now.
fn unwritable(cause: WriteError) -> Error {
    Error::Unavailable(Unavailable::Export(cause))
}

/// Exports one entity; needs `users.export` and the entity's read permission.
pub async fn export(
    store: &Store,
    ctx: &Context,
    entity: Entity,
    format: Format,
    filter: &ExportFilter,
    out: Box<dyn Write + Send>,
) -> Result<ExportSummary, Error> {
    busy::naming_job(store, async move {
        require_export(store, ctx, &[entity]).await?;
        let mut writer = muster_sheets::writer(format, out);
        let rows = match entity {
            Entity::Users => export_users(store, filter, writer.as_mut()).await?,
            _ => export_catalog(store, entity, format, filter, writer.as_mut()).await?,
        };
        writer.finish().map_err(unwritable)?;
        Ok(ExportSummary { rows })
    })
    .await
}

/// Writes every department, group, role (with the permission matrix) and user into one XLSX or
/// ODS workbook, one sheet per entity in dependency order: the file another instance imports as
/// one plan (pre-production to production), and that changes nothing when imported back here.
pub async fn export_workbook(
    store: &Store,
    ctx: &Context,
    format: Format,
    out: Box<dyn Write + Send>,
) -> Result<WorkbookSummary, Error> {
    busy::naming_job(store, async move {
        if format == Format::Csv {
            return Err(Invalid::WorkbookNeedsSheets.into());
        }
        let all = [
            Entity::Departments,
            Entity::Groups,
            Entity::Roles,
            Entity::Users,
        ];
        require_export(store, ctx, &all).await?;
        let mut writer = muster_sheets::writer(format, out);
        let all = ExportFilter::default();
        let mut summary = WorkbookSummary::default();
        for entity in [Entity::Departments, Entity::Groups, Entity::Roles] {
            let rows = export_catalog(store, entity, format, &all, writer.as_mut()).await?;
            summary.sheets.push((entity, rows));
        }
        let users = export_users(store, &all, writer.as_mut()).await?;
        summary.sheets.push((Entity::Users, users));
        writer.finish().map_err(unwritable)?;
        Ok(summary)
    })
    .await
}

/// An export needs `users.export`, and reading what it writes: `users.read`, `groups.read`…
async fn require_export(store: &Store, ctx: &Context, entities: &[Entity]) -> Result<(), Error> {
    let name = entities
        .iter()
        .map(|e| e.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let target = Target {
        kind: "export",
        id: None,
        name,
    };
    let reads = entities.iter().map(|entity| match entity {
        Entity::Users => Permission::UsersRead,
        Entity::Groups => Permission::GroupsRead,
        Entity::Roles => Permission::RolesRead,
        Entity::Departments => Permission::DepartmentsRead,
    });
    for permission in std::iter::once(Permission::UsersExport).chain(reads) {
        audit::require(store, ctx, permission, "export", &target).await?;
    }
    Ok(())
}

/// Rows written per entity sheet of a workbook export, in sheet order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkbookSummary {
    pub sheets: Vec<(Entity, u64)>,
}

fn headers(entity: Entity) -> Vec<&'static str> {
    export_fields(entity).iter().map(|f| f.header()).collect()
}

fn yes_no(value: bool) -> &'static str {
    if value {
        "Yes"
    } else {
        "No"
    }
}

async fn export_users(
    store: &Store,
    filter: &ExportFilter,
    writer: &mut (dyn WorkbookWriter + Send),
) -> Result<u64, Error> {
    let catalog = muster_store::load_catalog(&mut *store.acquire().await?).await?;
    let key_of = |entity: &'static str,
                  name: &Option<String>,
                  exists: &dyn Fn(&str) -> bool|
     -> Result<Option<String>, Error> {
        let Some(name) = name else { return Ok(None) };
        let key = EntityName::parse(name)
            .map(|n| n.key().to_owned())
            .unwrap_or_default();
        if exists(&key) {
            Ok(Some(key))
        } else {
            Err(Missing::Name {
                entity,
                name: name.clone(),
            }
            .into())
        }
    };
    let store_filter = UserFilter {
        department_key: key_of("department", &filter.department, &|k| {
            catalog.departments.contains_key(k)
        })?,
        group_key: key_of("group", &filter.group, &|k| catalog.groups.contains_key(k))?,
        role_key: key_of("role", &filter.role, &|k| catalog.roles.contains_key(k))?,
        active: filter.active,
        search: filter.search.clone(),
    };
    writer
        .start_sheet(Entity::Users.sheet_name(), &headers(Entity::Users))
        .map_err(unwritable)?;
    let mut conn = store.acquire().await?;
    let mut after: Option<String> = None;
    let mut count = 0;
    loop {
        let page =
            muster_store::users_page(&mut conn, &store_filter, after.as_deref(), EXPORT_PAGE)
                .await?;
        for user in &page.users {
            let cells = user_cells(user, &catalog);
            let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
            writer.write_row(&refs).map_err(unwritable)?;
        }
        count += page.users.len() as u64;
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    Ok(count)
}

/// Users per page of the export: one query each, one page in memory.
const EXPORT_PAGE: usize = 2_000;

/// Display names of a user's roles or groups, in key order.
fn names<T>(keys: &[String], map: &BTreeMap<String, T>, name: fn(&T) -> &str) -> String {
    keys.iter()
        .filter_map(|k| map.get(k).map(name))
        .collect::<Vec<_>>()
        .join(", ")
}

fn user_cells(user: &UserRecord, catalog: &Catalog) -> Vec<String> {
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    export_fields(Entity::Users)
        .iter()
        .map(|field| match field {
            Field::Username => user.username.clone(),
            Field::Name => user.name.clone(),
            Field::Department => user
                .department_key
                .as_ref()
                .and_then(|k| catalog.departments.get(k))
                .map(|d| d.name.clone())
                .unwrap_or_default(),
            Field::Email => text(&user.email),
            Field::Phone => text(&user.phone),
            Field::Active => yes_no(user.active).to_owned(),
            Field::IgnoreMfa => yes_no(user.ignore_mfa).to_owned(),
            Field::Roles => names(&user.role_keys, &catalog.roles, |r| r.named.name.as_str()),
            Field::Groups => names(&user.group_keys, &catalog.groups, |g| g.name.as_str()),
            Field::Locale => text(&user.locale),
            Field::Timezone => text(&user.timezone),
            Field::CreatedAt => rfc3339_utc(user.created_at),
            Field::UpdatedAt => rfc3339_utc(user.updated_at),
            Field::LastLogin => user.last_login_at.map(rfc3339_utc).unwrap_or_default(),
            _ => String::new(),
        })
        .collect()
}

async fn export_catalog(
    store: &Store,
    entity: Entity,
    format: Format,
    filter: &ExportFilter,
    writer: &mut (dyn WorkbookWriter + Send),
) -> Result<u64, Error> {
    if filter.department.is_some()
        || filter.group.is_some()
        || filter.role.is_some()
        || filter.active.is_some()
    {
        return Err(Invalid::FilterNotApplicable.into());
    }
    let catalog = muster_store::load_catalog(&mut *store.acquire().await?).await?;
    let search = filter.search.as_deref().map(str::to_lowercase);
    let wanted = |name: &str| {
        search
            .as_deref()
            .is_none_or(|s| name.to_lowercase().contains(s))
    };
    writer
        .start_sheet(entity.sheet_name(), &headers(entity))
        .map_err(unwritable)?;
    let mut count = 0;
    match entity {
        Entity::Departments | Entity::Groups => {
            let map = if entity == Entity::Departments {
                &catalog.departments
            } else {
                &catalog.groups
            };
            for record in map.values().filter(|r| wanted(&r.name)) {
                writer
                    .write_row(&[&record.name, &record.description])
                    .map_err(unwritable)?;
                count += 1;
            }
        }
        Entity::Roles => {
            let roles: Vec<_> = catalog
                .roles
                .values()
                .filter(|r| wanted(&r.named.name))
                .collect();
            for role in &roles {
                let permissions = role.permissions.join(", ");
                writer
                    .write_row(&[&role.named.name, &role.named.description, &permissions])
                    .map_err(unwritable)?;
                count += 1;
            }
            if format != Format::Csv {
                write_matrix(writer, &roles).map_err(unwritable)?;
            }
        }
        Entity::Users => {}
    }
    Ok(count)
}

/// Permissions down, roles across, `Yes` where the role holds the permission.
fn write_matrix(
    writer: &mut (dyn WorkbookWriter + Send),
    roles: &[&muster_store::RoleRecord],
) -> Result<(), WriteError> {
    let mut header = vec!["Permission"];
    header.extend(roles.iter().map(|r| r.named.name.as_str()));
    writer.start_sheet(PERMISSION_MATRIX_SHEET, &header)?;
    for permission in Permission::ALL {
        let mut cells = vec![permission.code()];
        cells.extend(roles.iter().map(|r| {
            if r.permissions.iter().any(|p| p == permission.code()) {
                "Yes"
            } else {
                ""
            }
        }));
        writer.write_row(&cells)?;
    }
    Ok(())
}
