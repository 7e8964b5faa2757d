//! What every command that changes the store tells the engine about who runs it and how to
//! stop it: the actor recorded in the history (`cli:` and the operating-system user) and a
//! cancel flag that Ctrl-C sets.

use std::sync::atomic::Ordering;

use muster_engine::{Context, Progress};

pub fn context(progress: Box<dyn Progress>) -> Context {
    let mut ctx = Context::system(progress);
    ctx.actor = format!("cli:{}", os_user());
    ctx
}

fn os_user() -> String {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// From now on, Ctrl-C asks the running use case to stop (it rolls back and records the
/// import as cancelled) instead of killing the process half-way.
pub fn cancel_on_ctrl_c(ctx: &Context) {
    let flag = ctx.cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            flag.store(true, Ordering::SeqCst);
            eprintln!("\ncancelling: rolling back, nothing will be applied");
        }
    });
}
