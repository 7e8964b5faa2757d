//! Adding one department, group or role from the command line (and later the console). It is a
//! one-row import built in memory: the same parsing, the same checks (the administrator role is
//! protected, permission codes come from the catalog) and the same writes as a sheet. Its
//! problems are told in terms of the command's arguments (the name, `--description`,
//! `--permission`), not of a sheet's rows and columns that the operator never saw.

use muster_domain::{map_headers, Entity, Field};
use muster_store::{Store, StoreError};

use crate::context::Context;
use crate::ids::IdMaker;
use crate::catalog_import::CatalogPlanner;
use crate::issue::{Issue, IssueKind};
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
    Invalid(Vec<ArgumentProblem>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One problem with one argument of `role|group|department add`.
#[derive(Debug)]
pub struct ArgumentProblem {
    /// `the name`, `--description` or `--permission`; None when the entry as a whole is refused.
    pub argument: Option<&'static str>,
    pub message: String,
}

impl std::fmt::Display for ArgumentProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.argument {
            Some(argument) => write!(f, "{argument}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// The one-row sheet's issue, told as a problem of the argument its column came from.
fn argument_problem(issue: Issue) -> ArgumentProblem {
    let column = issue.position.column.as_deref();
    let argument = if column == Some(Field::Description.header()) {
        "--description"
    } else if column == Some(Field::Permissions.header()) {
        "--permission"
    } else {
        "the name"
    };
    match issue.kind {
        IssueKind::BuiltinRole => ArgumentProblem {
            argument: None,
            message: "the built-in administrator role cannot be changed".to_owned(),
        },
        kind => ArgumentProblem {
            argument: Some(argument),
            message: kind.to_string(),
        },
    }
}

fn invalid(issues: impl IntoIterator<Item = Issue>) -> AddError {
    AddError::Invalid(issues.into_iter().map(argument_problem).collect())
}

pub async fn add_catalog_entry(
    store: &Store,
    entry: &CatalogEntry,
    ctx: &Context,
) -> Result<AddOutcome, AddError> {
    let now = (ctx.now)();
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
        invalid(field_issues("command line", 1, &map, errors, &[]).map(|(_, issue)| issue))
    })?;
    let mut tx = store.begin().await?;
    let catalog = muster_store::load_catalog(&mut tx).await?;
    let mut planner = CatalogPlanner::new(
        "command line".into(),
        map,
        catalog,
        false,
        now,
        IdMaker::new(now, &ctx.rng),
    );
    let writes = planner.plan(vec![(1, record, Vec::new())], &mut report);
    if report.has_failures() {
        return Err(invalid(report.errors));
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
