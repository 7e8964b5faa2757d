//! The directory as single-record use cases: what the console, the REST API and SCIM call to
//! read and change one user, group, role or department. Each takes the context's actor and
//! checks the permission catalog and the no-escalation rule (`access`) itself, applies the same
//! domain checks as an import row, refuses a stale `version` as a conflict, and writes its audit
//! entry in the same transaction as the change.

use muster_domain::Permission;
use muster_store::Store;
use serde::Serialize;

use crate::audit::{self, Target};
use crate::context::Context;
use crate::error::{Error, Refusal};

pub mod catalog;

/// A reference to another record, as views show it: its id and its current name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NameRef {
    pub id: String,
    pub name: String,
}

/// One page of a list, and the opaque cursor of the next page (None after the last).
#[derive(Clone, Debug, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// A change to a record read at `version`: a stale version is refused as a conflict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expected(pub i64);

pub mod users;

/// Refuses (and records the refusal) unless the actor holds a permission, as every use case does.
pub(crate) use crate::audit::require;

/// For a front-end about to show the form of a use case: refuses unless the actor holds the
/// permission that use case will need, recording the refusal under the use case's `action`
/// (`user.update`…) and target (`kind`, and the record's id when the form is about one), as the
/// use case itself would. So opening a form one may not submit is refused and audited alike.
pub async fn require_for_form(
    store: &Store,
    ctx: &Context,
    permission: Permission,
    action: &str,
    kind: &'static str,
    id: Option<&str>,
) -> Result<(), Error> {
    let target = Target {
        kind,
        id: id.map(str::to_owned),
        name: id.unwrap_or("*").to_owned(),
    };
    require(store, ctx, permission, action, &target).await
}

/// Records the refusal and gives back the error to return.
pub(crate) async fn refuse(
    store: &Store,
    ctx: &Context,
    action: &str,
    target: &Target,
    refusal: Refusal,
) -> Error {
    audit::refused(store, &ctx.actor, (ctx.now)(), action, target, refusal).await
}
