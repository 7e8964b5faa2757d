//! `muster serve`: the web console on the same store as the other commands. The store's
//! migrations ran when it was opened; this prints the address, then serves until Ctrl-C or
//! SIGTERM, finishing the requests under way.

use anyhow::Context as _;
use muster_server::{MfaPolicy, PublicUrl, ServerConfig};
use muster_store::Store;
use tokio::net::TcpListener;

use crate::args::{MfaArg, ServeArgs};
use crate::out::tell;
use crate::Outcome;

pub async fn run(store: &Store, args: ServeArgs) -> anyhow::Result<Outcome> {
    let public_url = args
        .public_url
        .as_deref()
        .map(PublicUrl::parse)
        .transpose()?;
    let mut config = ServerConfig::new(args.listen);
    config.mfa = match args.mfa {
        MfaArg::Required => MfaPolicy::Required,
        MfaArg::Optional => MfaPolicy::Optional,
    };
    config.public_url = public_url;
    config.smtp_url = args.smtp_url;
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let address = listener
        .local_addr()
        .context("while reading the listening address")?;
    tell!("muster is serving the console at http://{address}/");
    muster_server::serve_on(listener, config, store.clone(), shutdown_signal())
        .await
        .context("while serving")?;
    Ok(Outcome::Done)
}

/// Completes at Ctrl-C or SIGTERM (a service manager's stop).
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
