//! Adding one department, group or role from the command line (and later the console). It is a
//! one-row import built in memory: the same parsing, the same checks (the administrator role is
//! protected, permission codes come from the catalog) and the same writes as a sheet.

use muster_domain::{map_headers, Entity, Field};
use muster_store::{Store, StoreError};

use crate::catalog_import::CatalogPlanner;
use crate::issue::Issue;
use crate::report::ImportReport;
use crate::source::{field_issues, parse_record};

pub struct CatalogEntry {
    pub entity: Entity,
    pub name: String,
    /// None leaves an existing description as it is.
    pub description: Option<String>,
    /// Roles only; empty leaves an existing role's permissions as they are.
    pub permissions: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddOutcome {
    Created,
    Updated,
    Unchanged,
}

#[derive(Debug, thiserror::Error)]
pub enum AddError {
    #[error("users are added by importing a sheet")]
    NotACatalogEntity,
    #[error("permissions belong to roles only")]
    PermissionsOnlyForRoles,
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<Issue>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub async fn add_catalog_entry(
    store: &Store,
    entry: &CatalogEntry,
    now: i64,
) -> Result<AddOutcome, AddError> {
    if entry.entity == Entity::Users {
        return Err(AddError::NotACatalogEntity);
    }
    let key_field = Field::key_of(entry.entity);
    if entry.entity != Entity::Roles && !entry.permissions.is_empty() {
        return Err(AddError::PermissionsOnlyForRoles);
    }
    let mut headers = vec![key_field.header()];
    let permissions = entry.permissions.join(", ");
    let mut cells = vec![entry.name.as_str()];
    if let Some(description) = &entry.description {
        headers.push(Field::Description.header());
        cells.push(description);
    }
    if !entry.permissions.is_empty() {
        headers.push(Field::Permissions.header());
        cells.push(&permissions);
    }
    let map = map_headers(entry.entity, &headers).map_err(|_| AddError::NotACatalogEntity)?;
    let mut report = ImportReport::new("command line".into());
    let record = parse_record(entry.entity, &map, &cells).map_err(|errors| {
        AddError::Invalid(field_issues("command line", 1, &map, errors, &[]).collect())
    })?;
    let mut tx = store.begin().await?;
    let catalog = muster_store::load_catalog(&mut tx).await?;
    let mut planner = CatalogPlanner::new("command line".into(), map, catalog, false, now);
    let writes = planner.plan(vec![(1, record, Vec::new())], &mut report);
    if report.has_failures() {
        return Err(AddError::Invalid(report.errors));
    }
    writes.prepare(store.backend()).execute(&mut tx).await?;
    tx.commit().await.map_err(StoreError::from)?;
    let c = report.counts;
    Ok(if c.created > 0 {
        AddOutcome::Created
    } else if c.updated > 0 {
        AddOutcome::Updated
    } else {
        AddOutcome::Unchanged
    })
}
