//! Jobs held by leases. An import, an apply of a stored preview or a revert runs under a lease on
//! its history record: a holder id (`host:pid:start:random`, opaque to everyone but the fast path
//! below) and an expiry, renewed by a heartbeat while the job runs. The heartbeat runs beside the
//! job on a connection of its own, since the job's transaction is busy with the job; if it finds
//! the lease taken over (someone took the job for dead), it stops the job through the context's
//! cancel flag, and the job rolls back: nothing of it is applied, as the record already says.
//!
//! Whether a holder is dead is decided by its lease, wherever it ran; on the holder's own host
//! the process start time is a faster answer (`holder_is_gone_here`): a process that is gone is
//! dead at once, without waiting for its lease to expire.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use muster_store::{Store, StoreError};
use rand_core::RngCore;

use crate::context::{Context, RngRef};

/// How long a lease lasts and how often the holder renews it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaseTimes {
    pub length: Duration,
    /// Must be well below `length`, so a renewal that waits a little still lands in time.
    pub heartbeat: Duration,
}

impl Default for LeaseTimes {
    fn default() -> LeaseTimes {
        LeaseTimes {
            length: Duration::from_secs(30),
            heartbeat: Duration::from_secs(10),
        }
    }
}

impl LeaseTimes {
    pub(crate) fn length_ms(&self) -> i64 {
        i64::try_from(self.length.as_millis()).unwrap_or(i64::MAX)
    }
}

/// A fresh holder id for one job of this process: host, pid and process start time (for the
/// fast path) and a random part, so two jobs of one process never share a lease.
pub(crate) fn new_holder(ctx: &Context) -> String {
    let random = {
        let mut rng = ctx
            .rng
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        RngRef(&mut **rng).next_u64()
    };
    let pid = std::process::id();
    format!(
        "{}:{pid}:{}:{random:016x}",
        hostname(),
        process_start(pid).unwrap_or_default()
    )
}

/// The lease a job started at `now` holds.
pub(crate) fn first_lease(holder: String, now: i64, ctx: &Context) -> muster_store::Lease {
    muster_store::Lease {
        holder,
        until: now.saturating_add(ctx.lease.length_ms()),
        heartbeat_at: now,
    }
}

pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "localhost".to_owned())
}

/// The start time of a process in clock ticks since boot (field 22 of /proc/PID/stat), which
/// tells a live process from a later one that reuses its pid.
fn process_start(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after its end.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19).map(str::to_owned)
}

/// Whether `holder` names a process of this host that is certainly gone. Holders of other
/// hosts, and holder ids of another shape, are left to their lease.
pub(crate) fn holder_is_gone_here(holder: &str) -> bool {
    let mut parts = holder.rsplitn(4, ':');
    let (Some(random), Some(start), Some(pid), Some(host)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    if host != hostname() || random.len() != 16 {
        return false;
    }
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    if pid == std::process::id() {
        return false;
    }
    process_start(pid).is_none_or(|now| now != start)
}

/// Runs `job` while a heartbeat renews the lease of record `id` held by `holder`. Returns the
/// job's output and whether the lease was lost meanwhile (the job was then stopped through the
/// cancel flag and must report that it lost its lease rather than that it was cancelled).
pub(crate) async fn hold<T>(
    store: &Store,
    id: i64,
    lease: &muster_store::Lease,
    ctx: &Context,
    job: impl Future<Output = T>,
) -> Result<(T, bool), StoreError> {
    let holder = lease.holder.as_str();
    let mut held_until = lease.until;
    let mut conn = store.acquire().await?;
    // The heartbeat may be dropped in the middle of a renewal when the job ends; a connection
    // left so is closed rather than handed to the next user of the pool.
    conn.close_on_drop();
    let lost = AtomicBool::new(false);
    let beat = async {
        loop {
            tokio::time::sleep(ctx.lease.heartbeat).await;
            let now = (ctx.now)();
            let until = now.saturating_add(ctx.lease.length_ms());
            let renewal = (held_until, until);
            match muster_store::renew_lease(&mut conn, id, holder, now, renewal).await {
                Ok(true) => held_until = until,
                Ok(false) => {
                    if taken_over(&mut conn, id, holder).await {
                        lost.store(true, Ordering::SeqCst);
                        ctx.cancel.store(true, Ordering::SeqCst);
                    }
                    return;
                }
                // On SQLite the job's own transaction holds the database's one write lock while
                // it writes, so a renewal can time out as busy; the process is alive (the fast
                // path says so to anyone on this host, the only place a SQLite file is shared,
                // and a recovery does not wait for a held database), and the next beat tries
                // again. Other errors are retried the same way: a lease that really lapses is
                // what tells the others.
                Err(_) => {}
            }
        }
    };
    tokio::pin!(job);
    tokio::pin!(beat);
    let out = tokio::select! {
        out = &mut job => out,
        () = &mut beat => job.await,
    };
    Ok((out, lost.load(Ordering::SeqCst)))
}

/// Whether a record whose lease its holder could not renew was taken over by someone else.
/// The other reason is the job's own end: its last write (its end, or an apply's claim) keeps
/// the holder and moves the record past `running`/`dry_run`, and a renewal waiting behind that
/// write on PostgreSQL finds it so once the job commits; that stops the heartbeat, not the job.
/// A record that cannot be read is taken as taken over, since only a live lease lets a job
/// commit anyway.
async fn taken_over(conn: &mut muster_store::Connection, id: i64, holder: &str) -> bool {
    match muster_store::import_record(conn, id).await {
        Ok(Some(record)) => record.lease.holder != holder,
        Ok(None) | Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_holder_of_this_process_or_another_host_is_not_gone() {
        let ctx = Context::system(Box::new(crate::NoProgress));
        let mine = new_holder(&ctx);
        assert!(!holder_is_gone_here(&mine));
        assert_ne!(mine, new_holder(&ctx), "each job has a holder of its own");
        assert!(!holder_is_gone_here(
            "elsewhere.example:1:1:0123456789abcdef"
        ));
        assert!(!holder_is_gone_here("an opaque id"));
    }

    #[test]
    fn a_holder_whose_process_ended_is_gone_at_once() {
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("spawn true");
        let pid = child.id();
        let start = process_start(pid).unwrap_or_default();
        child.wait().expect("wait");
        let holder = format!("{}:{pid}:{start}:0123456789abcdef", hostname());
        assert!(holder_is_gone_here(&holder));
    }

    fn new_job(holder: &str, now: i64, ctx: &Context) -> muster_store::NewImport {
        muster_store::NewImport {
            kind: muster_store::JobKind::Import,
            actor: "test".into(),
            lease: first_lease(holder.to_owned(), now, ctx),
            started_at: now,
            file_name: "f.csv".into(),
            file_size: 1,
            sha256: "00".repeat(32),
            format: None,
            options: muster_store::JobOptions::Import(Default::default()),
            fixes_id: None,
            revert_of: None,
        }
    }

    /// The heartbeat renews the lease while the job runs; when someone takes the job for dead,
    /// the next beat finds the lease gone and stops the job through the cancel flag.
    #[test]
    fn a_heartbeat_renews_and_a_lease_taken_over_stops_the_job() {
        let dir = tempfile::tempdir().expect("tempdir");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let url = muster_store::DatabaseUrl::sqlite_in(dir.path());
            let store = Store::open(&url).await.expect("store");
            let mut ctx = Context::system(Box::new(crate::NoProgress));
            ctx.lease = LeaseTimes {
                length: Duration::from_millis(400),
                heartbeat: Duration::from_millis(40),
            };
            let holder = new_holder(&ctx);
            let started = (ctx.now)();
            let id = crate::history::begin(&store, &new_job(&holder, started, &ctx))
                .await
                .expect("record");
            let job = async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                let mut conn = store.acquire().await.expect("connection");
                let seen = muster_store::import_record(&mut conn, id)
                    .await
                    .expect("read")
                    .expect("record")
                    .lease;
                assert!(seen.heartbeat_at > started, "renewed: {seen:?}");
                assert!(seen.until > started + 400, "extended: {seen:?}");
                let note = muster_store::JobSummary::note("taken for dead");
                let failed =
                    muster_store::fail_abandoned(&mut conn, id, &seen, "other", (ctx.now)(), &note)
                        .await
                        .expect("fail");
                assert!(failed);
                let deadline = std::time::Instant::now() + Duration::from_secs(10);
                while !ctx.cancel.load(Ordering::SeqCst) && std::time::Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                ctx.cancel.load(Ordering::SeqCst)
            };
            let lease = first_lease(holder.clone(), started, &ctx);
            let (stopped, lost) = hold(&store, id, &lease, &ctx, job).await.expect("hold");
            assert!(stopped && lost, "the job was stopped by its heartbeat");
        });
    }
}
