//! What every command that changes the store tells the engine about who runs it and how to
//! stop it: the actor recorded in the history (`cli:` and the operating-system account) and a
//! cancel flag that Ctrl-C sets.

use std::ffi::CStr;
use std::sync::OnceLock;

use anyhow::Context as _;
use muster_store::Store;
use std::sync::atomic::Ordering;

use muster_engine::{Actor, Context, Progress, Source};

use crate::out::tell;

/// The actor of this process's one command: the local operator unless `--as` named a user.
static ACTOR: OnceLock<Actor> = OnceLock::new();

/// Chooses who runs the command; called once, before the command runs.
pub async fn choose_actor(store: &Store, as_user: Option<&str>) -> anyhow::Result<()> {
    let actor = match as_user {
        None => Actor::operator(os_user(), Source::Cli),
        Some(username) => Actor::for_user(store, username, Source::Cli)
            .await
            .with_context(|| format!("cannot act as `{username}`"))?,
    };
    let _ = ACTOR.set(actor);
    Ok(())
}

/// Who runs the command (the operator when none was chosen, as in unit tests).
pub fn actor() -> Actor {
    ACTOR
        .get()
        .cloned()
        .unwrap_or_else(|| Actor::operator(os_user(), Source::Cli))
}

pub fn context(progress: Box<dyn Progress>) -> Context {
    let mut ctx = Context::system(progress);
    ctx.actor = actor();
    ctx
}

/// The account name of the process's real uid, or `uid:N` when the uid has no entry in the
/// password database (a container's arbitrary uid). `$USER` is not consulted: it is unset under
/// many containers and service managers, and anyone can set it to any name.
fn os_user() -> String {
    // SAFETY: getuid cannot fail and has no preconditions.
    let uid = unsafe { libc::getuid() };
    account_name(uid).unwrap_or_else(|| format!("uid:{uid}"))
}

fn account_name(uid: libc::uid_t) -> Option<String> {
    let mut buffer = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: an all-zero passwd (null pointers, zero ids) is a valid value to be overwritten.
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call and the buffer's length is passed with it;
    // on success getpwuid_r points `found` at `entry`, whose strings live in `buffer`.
    let status = unsafe {
        libc::getpwuid_r(
            uid,
            &mut entry,
            buffer.as_mut_ptr(),
            buffer.len(),
            &mut found,
        )
    };
    if status != 0 || found.is_null() || entry.pw_name.is_null() {
        return None;
    }
    // SAFETY: pw_name points at a NUL-terminated string inside `buffer`, which is still alive.
    let name = unsafe { CStr::from_ptr(entry.pw_name) }
        .to_string_lossy()
        .into_owned();
    (!name.is_empty()).then_some(name)
}

/// From now on, Ctrl-C asks the running use case to stop (it rolls back and records the
/// import as cancelled) instead of killing the process half-way.
pub fn cancel_on_ctrl_c(ctx: &Context) {
    let flag = ctx.cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            flag.store(true, Ordering::SeqCst);
            tell!("");
            tell!("cancelling: rolling back, nothing will be applied");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::account_name;

    #[test]
    fn root_has_a_name_and_an_unused_uid_has_none() {
        assert_eq!(account_name(0).as_deref(), Some("root"));
        assert_eq!(account_name(4_000_000_000), None);
    }
}
