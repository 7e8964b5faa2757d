//! Planning and applying a groups, departments or roles sheet. These tables are small, so the
//! planner works against the catalog loaded whole at the start of the import: create or update by
//! name key, descriptions and permission sets authoritative when their column is present.

use std::collections::BTreeMap;

use muster_domain::{
    Description, Entity, EntityName, Field, HeaderMap, Patch, Permission, ADMINISTRATOR_ROLE,
};
use muster_store::{Backend, Catalog, NamedKind, NamedRecord, PreparedWrites, RoleRecord};

use crate::access::{permissions_escalation, Actor};
use crate::error::Refusal;
use crate::history::journal::Change;
use crate::ids::{IdMaker, Stamp};
use crate::import::issue::{Issue, IssueKind, Position};
use crate::import::report::ImportReport;
use crate::import::seen::FileKeys;
use crate::import::source::{field_issue, in_column_order, Record, RowIssue};
use crate::import::warnings::{near_duplicate_of, privileged, Warning, WarningKind};

pub(crate) struct CatalogPlanner {
    sheet: String,
    map: HeaderMap,
    create_only: bool,
    now: i64,
    /// Gives each record this sheet creates its id.
    ids: IdMaker,
    /// Who imports: every row that changes something is checked against their permissions.
    actor: Actor,
    catalog: Catalog,
    names: FileKeys,
}

/// One catalog row after parsing, whatever its entity.
struct CatalogRow {
    name: EntityName,
    description: Patch<Description>,
    permissions: Option<Patch<std::collections::BTreeSet<Permission>>>,
    entity: Entity,
}

#[derive(Default)]
pub(crate) struct CatalogWrites {
    departments: Vec<NamedRecord>,
    groups: Vec<NamedRecord>,
    roles: Vec<RoleRecord>,
}

impl CatalogPlanner {
    pub fn new(
        sheet: String,
        map: HeaderMap,
        catalog: Catalog,
        create_only: bool,
        stamp: Stamp,
    ) -> Self {
        let Stamp { now, ids, actor } = stamp;
        CatalogPlanner {
            sheet,
            map,
            create_only,
            now,
            ids,
            actor,
            catalog,
            names: FileKeys::default(),
        }
    }

    /// The catalog as this sheet leaves it, for the sheet after it.
    pub fn into_catalog(self) -> Catalog {
        self.catalog
    }

    /// Plans the rows; each comes with the problems its cells already had, and the planner's
    /// own checks run on what parsed, so a failed row reports all of its problems at once.
    pub fn plan(
        &mut self,
        rows: Vec<(u64, Record, Vec<RowIssue>)>,
        report: &mut ImportReport,
    ) -> CatalogWrites {
        let mut writes = CatalogWrites::default();
        for (row, record, cell_issues) in rows {
            let row_data = match record {
                Record::Department(d) => CatalogRow {
                    name: d.name,
                    description: d.description,
                    permissions: None,
                    entity: Entity::Departments,
                },
                Record::Group(g) => CatalogRow {
                    name: g.name,
                    description: g.description,
                    permissions: None,
                    entity: Entity::Groups,
                },
                Record::Role(r) => CatalogRow {
                    name: r.name,
                    description: r.description,
                    permissions: Some(r.permissions),
                    entity: Entity::Roles,
                },
                Record::User(_) => continue,
            };
            if let Err(issues) = self.plan_row(row, row_data, cell_issues, report, &mut writes) {
                report.fail_row(row, false, issues);
            }
        }
        writes
    }

    /// An issue on `field`'s column, with that column's number for ordering the row's issues.
    fn issue(&self, row: u64, field: Field, kind: IssueKind) -> RowIssue {
        field_issue(&self.sheet, row, &self.map, field, kind, None)
    }

    fn warning(&self, row: u64, field: Field, kind: WarningKind) -> Warning {
        let column = self
            .map
            .column(field)
            .map(|c| self.map.header_text(c).to_owned());
        Warning::new(
            Position {
                sheet: self.sheet.clone(),
                row,
                column,
            },
            kind,
        )
    }

    /// A new name that looks like an existing one of the same kind, and a role that gains a
    /// privileged permission.
    fn warn(
        &self,
        row: u64,
        data: &CatalogRow,
        existing: Option<&RoleRecord>,
        next: &RoleRecord,
        report: &mut ImportReport,
    ) {
        let key_field = Field::key_of(data.entity);
        if existing.is_none() {
            let names: Vec<&str> = match data.entity {
                Entity::Departments => self
                    .catalog
                    .departments
                    .values()
                    .map(|n| n.name.as_str())
                    .collect(),
                Entity::Groups => self
                    .catalog
                    .groups
                    .values()
                    .map(|n| n.name.as_str())
                    .collect(),
                _ => self
                    .catalog
                    .roles
                    .values()
                    .map(|r| r.named.name.as_str())
                    .collect(),
            };
            if let Some(similar) = near_duplicate_of(data.name.as_str(), names.into_iter()) {
                let kind = WarningKind::NearDuplicate {
                    entity: data.entity,
                    name: data.name.as_str().to_owned(),
                    existing: similar,
                };
                report.push_warning(self.warning(row, key_field, kind));
            }
        }
        let before = existing
            .map(|e| privileged(&e.permissions))
            .unwrap_or_default();
        let gained: Vec<Permission> = privileged(&next.permissions)
            .into_iter()
            .filter(|p| !before.contains(p))
            .collect();
        if !gained.is_empty() {
            let kind = WarningKind::PrivilegedPermissions {
                role: next.named.name.clone(),
                permissions: gained,
            };
            report.push_warning(self.warning(row, Field::Permissions, kind));
        }
    }

    fn plan_row(
        &mut self,
        row: u64,
        data: CatalogRow,
        cell_issues: Vec<RowIssue>,
        report: &mut ImportReport,
        writes: &mut CatalogWrites,
    ) -> Result<(), Vec<Issue>> {
        let key_field = Field::key_of(data.entity);
        let key = data.name.key().to_owned();
        let mut issues = cell_issues;
        if let Some(first_row) = self.names.first_seen(&key, row) {
            issues.push(self.issue(
                row,
                key_field,
                IssueKind::DuplicateKey {
                    key: data.name.as_str().to_owned(),
                    first_row,
                },
            ));
        }
        let existing = self.existing(data.entity, &key);
        if self.create_only && existing.is_some() {
            issues.push(self.issue(
                row,
                key_field,
                IssueKind::AlreadyExists {
                    name: data.name.as_str().to_owned(),
                },
            ));
        }
        let mut next = existing.clone().unwrap_or_else(|| RoleRecord {
            named: NamedRecord {
                id: self.ids.next_id(),
                name_key: key.clone(),
                name: data.name.as_str().to_owned(),
                description: String::new(),
                created_at: self.now,
                updated_at: self.now,
            },
            permissions: Vec::new(),
        });
        if let Patch::Set(description) = &data.description {
            next.named.description = description.as_str().to_owned();
        }
        if let Some(Patch::Set(permissions)) = &data.permissions {
            next.permissions = permissions.iter().map(|p| p.code().to_owned()).collect();
            next.permissions.sort();
        }
        if data.entity == Entity::Roles
            && key == ADMINISTRATOR_ROLE
            && existing.as_ref() != Some(&next)
        {
            issues.push(self.issue(row, Field::Permissions, IssueKind::BuiltinRole));
        }
        if existing.as_ref() != Some(&next) {
            for (field, refusal) in self.refusals(data.entity, existing.as_ref(), &next) {
                issues.push(self.issue(row, field, IssueKind::Forbidden { detail: refusal }));
            }
        }
        if !issues.is_empty() {
            return Err(in_column_order(issues));
        }
        match &existing {
            Some(old) if *old == next => {
                report.unchanged_row(row, &key);
                return Ok(());
            }
            Some(_) => report.counts.updated += 1,
            None => report.counts.created += 1,
        }
        next.named.updated_at = self.now;
        self.warn(row, &data, existing.as_ref(), &next, report);
        self.remember(data.entity, &next);
        let before = existing;
        match data.entity {
            Entity::Departments => {
                report.log.changes.push(Change::Department {
                    row,
                    before: before.map(|b| b.named),
                    after: next.named.clone(),
                });
                writes.departments.push(next.named);
            }
            Entity::Groups => {
                report.log.changes.push(Change::Group {
                    row,
                    before: before.map(|b| b.named),
                    after: next.named.clone(),
                });
                writes.groups.push(next.named);
            }
            _ => {
                report.log.changes.push(Change::Role {
                    row,
                    before,
                    after: next.clone(),
                });
                writes.roles.push(next);
            }
        }
        Ok(())
    }

    /// Why the actor may not write this entry (SPEC §5): the sheet's write permission, and for a
    /// role, any permission it gains that the actor lacks (creating or widening a role beyond
    /// one's own permissions; widening a role that users hold grants it to them too). Narrowing
    /// a role, or describing it, grants nothing: the directory's use cases judge the same way.
    fn refusals(
        &self,
        entity: Entity,
        existing: Option<&RoleRecord>,
        next: &RoleRecord,
    ) -> Vec<(Field, Refusal)> {
        let needed = match entity {
            Entity::Departments => Permission::DepartmentsWrite,
            Entity::Groups => Permission::GroupsWrite,
            _ => Permission::RolesWrite,
        };
        let mut refusals = Vec::new();
        if !self.actor.holds(needed) {
            refusals.push((
                Field::key_of(entity),
                Refusal::Lacks {
                    permission: needed,
                    actor: self.actor.name(),
                },
            ));
        }
        if entity == Entity::Roles {
            let gained: Vec<String> = next
                .permissions
                .iter()
                .filter(|p| existing.is_none_or(|e| !e.permissions.contains(p)))
                .cloned()
                .collect();
            if let Some(escalation) = permissions_escalation(&self.actor, &next.named.name, &gained)
            {
                refusals.push((Field::Permissions, Refusal::Escalation(escalation)));
            }
        }
        refusals
    }

    /// The current state of a catalog entry, as a role record (departments and groups simply
    /// have no permissions).
    fn existing(&self, entity: Entity, key: &str) -> Option<RoleRecord> {
        let named = |map: &BTreeMap<String, NamedRecord>| {
            map.get(key).map(|n| RoleRecord {
                named: n.clone(),
                permissions: Vec::new(),
            })
        };
        match entity {
            Entity::Departments => named(&self.catalog.departments),
            Entity::Groups => named(&self.catalog.groups),
            _ => self.catalog.roles.get(key).cloned(),
        }
    }

    fn remember(&mut self, entity: Entity, record: &RoleRecord) {
        let key = record.named.name_key.clone();
        match entity {
            Entity::Departments => {
                self.catalog.departments.insert(key, record.named.clone());
            }
            Entity::Groups => {
                self.catalog.groups.insert(key, record.named.clone());
            }
            _ => {
                self.catalog.roles.insert(key, record.clone());
            }
        }
    }
}

impl CatalogWrites {
    /// The writes of a stored plan's catalog entries.
    pub(crate) fn from_plan(
        departments: Vec<NamedRecord>,
        groups: Vec<NamedRecord>,
        roles: Vec<RoleRecord>,
    ) -> CatalogWrites {
        CatalogWrites {
            departments,
            groups,
            roles,
        }
    }

    pub fn prepare(self, backend: Backend) -> PreparedWrites {
        let mut prepared = PreparedWrites::new(backend);
        prepared.upsert_named(NamedKind::Department, &self.departments);
        prepared.upsert_named(NamedKind::Group, &self.groups);
        prepared.upsert_roles(&self.roles);
        prepared
    }
}

#[cfg(test)]
mod tests {
    use muster_domain::{check_role_row, map_headers, Entity};
    use muster_store::Catalog;

    use super::*;
    use crate::import::source::field_issues;

    fn plan_roles(lines: &[&[&str]], create_only: bool) -> (ImportReport, CatalogWrites) {
        let headers = ["Role", "Description", "Permissions"];
        let map = map_headers(Entity::Roles, &headers).expect("headers");
        let mut catalog = Catalog::default();
        let admin = NamedRecord {
            id: String::new(),
            name_key: "administrator".into(),
            name: "administrator".into(),
            description: "all".into(),
            created_at: 0,
            updated_at: 0,
        };
        catalog.roles.insert(
            "administrator".into(),
            RoleRecord {
                named: admin,
                permissions: vec!["users.read".into()],
            },
        );
        let rows = lines
            .iter()
            .enumerate()
            .map(|(i, cells)| {
                let row = i as u64 + 2;
                let checked = check_role_row(&map, cells);
                let issues = field_issues("roles", row, &map, checked.errors, &[]).collect();
                (
                    row,
                    Record::Role(checked.record.expect("the key parses")),
                    issues,
                )
            })
            .collect();
        let mut planner = CatalogPlanner::new(
            "roles".into(),
            map,
            catalog,
            create_only,
            crate::ids::Stamp {
                now: 7,
                ids: crate::ids::IdMaker::new(
                    7,
                    &crate::Context::system(Box::new(crate::NoProgress)).rng,
                ),
                actor: crate::Actor::operator("tester", crate::Source::Cli),
            },
        );
        let mut report = ImportReport::new("roles.csv".into());
        let writes = planner.plan(rows, &mut report);
        (report, writes)
    }

    #[test]
    fn creates_updates_and_leaves_unchanged_rows_alone() {
        let (report, writes) = plan_roles(
            &[
                &["viewer", "Reads", "users.read, roles.read"],
                &["administrator", "all", "users.read"],
            ],
            false,
        );
        assert_eq!(
            (
                report.counts.created,
                report.counts.unchanged,
                report.counts.failed
            ),
            (1, 1, 0)
        );
        assert_eq!(writes.roles.len(), 1);
        assert_eq!(writes.roles[0].permissions, ["roles.read", "users.read"]);
    }

    #[test]
    fn the_administrator_role_cannot_be_changed_and_names_are_unique_in_a_file() {
        let (report, writes) = plan_roles(
            &[
                &["Administrator", "all", ""],
                &["viewer", "", ""],
                &["VIEWER", "", ""],
            ],
            false,
        );
        assert_eq!((report.counts.created, report.counts.failed), (1, 2));
        assert!(matches!(report.errors[0].kind, IssueKind::BuiltinRole));
        assert!(matches!(
            report.errors[1].kind,
            IssueKind::DuplicateKey { first_row: 3, .. }
        ));
        assert_eq!(writes.roles.len(), 1);
    }

    #[test]
    fn create_only_refuses_existing_names() {
        let (report, _) = plan_roles(&[&["administrator", "all", "users.read"]], true);
        assert!(matches!(
            report.errors[0].kind,
            IssueKind::AlreadyExists { .. }
        ));
    }

    /// Item 12 of issue 7: a row whose cells failed still gets the planner's checks, so the
    /// administrator role's refusal and a repeated name are reported with the bad cell, in
    /// column order.
    #[test]
    fn a_row_with_a_bad_cell_reports_the_planners_problems_too() {
        let (report, writes) = plan_roles(
            &[
                &["viewer", "", ""],
                &["Viewer", "bad\u{1}", "users.read"],
                &["administrator", "x\u{1}", "roles.write"],
            ],
            false,
        );
        assert_eq!((report.counts.created, report.counts.failed), (1, 2));
        assert!(writes.roles.len() == 1);
        let messages: Vec<(u64, Option<&str>, String)> = report
            .errors
            .iter()
            .map(|e| {
                (
                    e.position.row,
                    e.position.column.as_deref(),
                    e.kind.to_string(),
                )
            })
            .collect();
        assert_eq!(messages.len(), 4, "{messages:?}");
        assert_eq!((messages[0].0, messages[0].1), (3, Some("Role")));
        assert!(messages[0].2.contains("appears again"), "{messages:?}");
        assert_eq!((messages[1].0, messages[1].1), (3, Some("Description")));
        assert_eq!((messages[2].0, messages[2].1), (4, Some("Description")));
        assert_eq!((messages[3].0, messages[3].1), (4, Some("Permissions")));
        assert!(matches!(report.errors[3].kind, IssueKind::BuiltinRole));
    }
}
