//! Field-level differences between two images of a record, as `imports show` lists them. For a
//! new record "before" is empty. A password is never shown: only that it changed.

use muster_store::{NamedRecord, UserRecord};

use crate::history::FieldChange;

fn yes_no(flag: bool) -> String {
    if flag { "Yes" } else { "No" }.to_owned()
}

fn text(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

/// A column of the users sheet and how to read it off a record.
type UserColumn = (&'static str, fn(&UserRecord) -> String);

pub(crate) fn user_changes(before: Option<&UserRecord>, after: &UserRecord) -> Vec<FieldChange> {
    let fields: [UserColumn; 11] = [
        ("Username", |u| u.username.clone()),
        ("Name", |u| u.name.clone()),
        ("Department", |u| text(&u.department_key)),
        ("E-mail", |u| text(&u.email)),
        ("Phone", |u| text(&u.phone)),
        ("Active", |u| yes_no(u.active)),
        ("Ignore MFA", |u| yes_no(u.ignore_mfa)),
        ("Roles", |u| u.role_keys.join(", ")),
        ("User group", |u| u.group_keys.join(", ")),
        ("Locale", |u| text(&u.locale)),
        ("Timezone", |u| text(&u.timezone)),
    ];
    let mut changes: Vec<FieldChange> = fields
        .iter()
        .filter_map(|(field, get)| {
            let old = before.map(get).unwrap_or_default();
            let new = get(after);
            (old != new).then_some(FieldChange {
                field,
                before: old,
                after: new,
            })
        })
        .collect();
    if before.is_none_or(|b| b.password_hash != after.password_hash) {
        let describe = |hash: &str| {
            if hash.starts_with('!') {
                "none (invitation)"
            } else {
                "set"
            }
            .to_owned()
        };
        let old = before
            .map(|b| describe(&b.password_hash))
            .unwrap_or_default();
        changes.push(FieldChange {
            field: "Password",
            before: old,
            after: if before.is_some() {
                "changed".into()
            } else {
                describe(&after.password_hash)
            },
        });
    }
    changes
}

pub(crate) fn named_changes(
    before: Option<&NamedRecord>,
    after: &NamedRecord,
    permissions: Option<(Option<String>, String)>,
) -> Vec<FieldChange> {
    let mut changes = Vec::new();
    let mut push = |field, old: String, new: String| {
        if old != new {
            changes.push(FieldChange {
                field,
                before: old,
                after: new,
            });
        }
    };
    push(
        "Name",
        before.map(|b| b.name.clone()).unwrap_or_default(),
        after.name.clone(),
    );
    push(
        "Description",
        before.map(|b| b.description.clone()).unwrap_or_default(),
        after.description.clone(),
    );
    if let Some((old, new)) = permissions {
        push("Permissions", old.unwrap_or_default(), new);
    }
    changes
}
