//! `muster serve`: the web console on the same store as the other commands. The store's
//! migrations ran when it was opened; this creates the administrator on an empty store, chooses
//! where mail goes (`--smtp-url`, else `DATA_DIR/outbox/`), prints the address, then serves
//! until Ctrl-C or SIGTERM, finishing the requests under way.

use anyhow::Context as _;
use std::path::Path;

use muster_server::{link_base, MfaPolicy, PublicUrl, ServerConfig};
use muster_store::Store;
use tokio::net::TcpListener;

use crate::args::{MfaArg, ServeArgs};
use crate::out::tell;
use crate::Outcome;

pub async fn run(store: &Store, data_dir: &Path, args: ServeArgs) -> anyhow::Result<Outcome> {
    let public_url = args
        .public_url
        .as_deref()
        .map(PublicUrl::parse)
        .transpose()?;
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    // The bound address, not the requested one: with port 0 only it says where links lead.
    let address = listener
        .local_addr()
        .context("while reading the listening address")?;
    let delivery = muster_mail::delivery(
        args.smtp_url.as_deref(),
        &data_dir.join("outbox"),
        args.mail_from.as_deref(),
        &link_base(public_url.as_ref(), address),
    )
    .context("the mail settings are not usable")?;
    // After the settings are checked, so a command line that cannot serve creates nobody.
    bootstrap(store).await?;
    let mut config = ServerConfig::new(address, delivery.transport);
    config.mfa = match args.mfa {
        MfaArg::Required => MfaPolicy::Required,
        MfaArg::Optional => MfaPolicy::Optional,
    };
    config.public_url = public_url;
    let shutdown = shutdown_signal()?;
    tell!("muster is serving the console at http://{address}/");
    muster_server::serve_on(listener, config, store.clone(), shutdown)
        .await
        .context("while serving")?;
    Ok(Outcome::Done)
}

/// On a store where nobody holds the administrator role: creates `admin` and prints its one-time
/// password once (given by `MUSTER_BOOTSTRAP_PASSWORD`, or generated).
async fn bootstrap(store: &Store) -> anyhow::Result<()> {
    let given = std::env::var("MUSTER_BOOTSTRAP_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    let ctx = crate::session::context(Box::new(muster_engine::NoProgress));
    let created = muster_engine::account::bootstrap_admin(store, &ctx, given)
        .await
        .context("while creating the administrator")?;
    if let Some(password) = created {
        tell!(
            "created the administrator `{}`; its one-time password (change it at the first sign-in): {password}",
            muster_engine::account::BOOTSTRAP_USERNAME
        );
    }
    Ok(())
}

/// Completes at Ctrl-C or SIGTERM (a service manager's stop). The handlers are installed here,
/// before the address is printed, so a signal sent as soon as the address appears is caught.
#[cfg(unix)]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt()).context("while catching Ctrl-C")?;
    let mut terminate = signal(SignalKind::terminate()).context("while catching SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
