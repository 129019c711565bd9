//! The daemon: every configured job on its schedule, triggers instead of
//! polling, a control endpoint, and a graceful shutdown.
//!
//! * `runner`: the resolved jobs as the core sees them, and the runner that runs them through `jobs::run`.
//! * `serve` (here): the daemon itself, with its shutdown as a parameter (as mini-redis does);
//!   `shutdown_signals`, the shutdown `oai-mirror run` passes.
//! * `console`: the control endpoint's HTML pages: jobs, runs, queues, conflicts side by side, resolved from the page.
//! * `control`: the HTTP control endpoint (trigger, status, metrics), behind a token, and
//!   `control::fetch_status`, its client for `oai-mirror status`.
//! * `core`: `Daemon`, the jobs, their schedules, triggers, locks, backoff, status and metrics.
//! * `sessions`: the console's sessions, expiring when idle or old, bounded in number.
//! * `wikis`: the jobs' wikis: sessions kept alive between runs, whether each answers, since when not.
pub mod console;
pub mod control;
pub mod core;
pub mod runner;
pub mod sessions;
pub mod wikis;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use checkpoints::Store;

use crate::connections::Connections;
use crate::settings::Settings;

/// Runs the daemon until `shutdown` completes: the jobs of the config,
/// each run with its own connection to the database at `db`, and the
/// control endpoint on `listener`. `shutdown` stops new work; runs in
/// progress get `[daemon] grace_secs` to end.
pub async fn serve(
    settings: Settings,
    db: PathBuf,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let token = settings.daemon_token()?;
    let jobs = crate::jobs::resolve_all(&settings)?;
    // Opened once here so that a database that cannot be opened or migrated
    // stops the start, not every run.
    let (opened, naming) = (db.clone(), settings.clone());
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let mut store = Store::open(&opened)?;
        // Served repositories keep the names they were first given.
        crate::serve::name_repositories(&naming, &mut store)
    })
    .await
    .context("opening the database panicked")??;
    let grace = Duration::from_secs(settings.daemon.grace_secs);
    let settings_serve = match &settings.serve {
        Some(serve) => {
            let addr = checked_address(&serve.listen, allow_remote_serve(serve), "the OAI-PMH server")?;
            Some((addr, crate::serve::Server::new(Arc::new(settings.clone()), db.clone(), format!("http://{addr}"))))
        }
        None => None,
    };
    let settings = Arc::new(settings);
    let conns = Arc::new(Connections::new(settings.clone()));
    let wikis = Arc::new(wikis::Wikis::new(&settings, &conns, &jobs)?);
    let specs = runner::specs(&jobs);
    let resolved = jobs.clone();
    let progress = runner::Progress::default();
    let runner = runner::runner(settings.clone(), conns, db.clone(), jobs, progress.clone());
    let daemon = core::Daemon::new(specs, runner, Arc::new(oai::SystemClock), core::Backoff::default());
    let token = Arc::new(token);
    let port = listener.local_addr().context("the control endpoint's address")?.port();
    let console = Arc::new(console::Console::new(daemon.clone(), db, token.clone(), port, &resolved, progress));
    for s in daemon.status() {
        tracing::info!(job = %s.job, schedule = ?s.schedule, timezone = ?s.timezone, next = ?s.next_run, "job");
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let mut server_stop = stop_rx.clone();
    let watching = tokio::spawn(wikis.clone().watch(daemon.clone(), stop_rx.clone()));
    // Clients of the control endpoint are bounded as the OAI-PMH server's are:
    // idle connections can neither pile up nor take the descriptors the
    // jobs need (a database, a lock, a harvest's sockets).
    let limits = crate::serve::guard::Limits {
        max_connections: settings.daemon.max_connections,
        per_ip: settings.daemon.max_connections_per_ip,
        idle: Duration::from_secs(settings.daemon.client_timeout_secs.max(1)),
        request: Duration::from_secs(settings.daemon.request_timeout_secs.max(1)),
    };
    let guarded = crate::serve::guard::GuardedListener::new(listener, limits);
    let server = crate::serve::guard::serve(guarded, control::router(daemon.clone(), wikis, token, console), async move {
        let _ = server_stop.wait_for(|s| *s).await;
    });
    let server = tokio::spawn(server);
    // With a [serve] table, the store is served over OAI-PMH beside the jobs.
    let provider = match settings_serve {
        Some((addr, provider)) => {
            let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("listening on {addr} to serve OAI-PMH"))?;
            tracing::info!(%addr, "serving the store over OAI-PMH at /oai/NAME");
            let mut stop = stop_rx.clone();
            Some(tokio::spawn(async move {
                provider
                    .run(listener, async move {
                        let _ = stop.wait_for(|s| *s).await;
                    })
                    .await
            }))
        }
        None => None,
    };
    daemon.run(stop_rx, grace).await;
    watching.abort();
    if let Some(p) = provider {
        p.await.context("the OAI-PMH server panicked")?.context("the OAI-PMH server failed")?;
    }
    server.await.context("the control endpoint panicked")?.context("the control endpoint failed")?;
    tracing::info!("stopped");
    Ok(())
}

/// The control endpoint's address; anything but loopback needs `allow_remote`.
pub fn listen_address(settings: &Settings, flag: Option<&str>, allow_remote: bool) -> anyhow::Result<SocketAddr> {
    checked_address(flag.unwrap_or(&settings.daemon.listen), allow_remote, "the control endpoint")
}

/// An address to listen on: loopback, unless the user allowed another.
pub fn checked_address(text: &str, allow_remote: bool, what: &str) -> anyhow::Result<SocketAddr> {
    let addr: SocketAddr = text.parse().with_context(|| format!("{text:?} is not an address such as 127.0.0.1:7878"))?;
    if !addr.ip().is_loopback() && !allow_remote {
        bail!("refusing to listen on {addr}, which is not a loopback address: pass --allow-remote to expose {what}");
    }
    Ok(addr)
}

/// A `[serve]` with a `public_url` is meant to be reached from elsewhere:
/// listening beyond loopback is what it asks for.
fn allow_remote_serve(serve: &crate::settings::ServeSettings) -> bool {
    serve.public_url.is_some()
}

/// Completes at the first SIGTERM or SIGINT; a second one exits at once
/// (nothing is lost: every step is committed where it happens).
pub async fn shutdown_signals() {
    async fn next() {
        #[cfg(unix)]
        {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut term) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = tokio::signal::ctrl_c() => {}
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "no SIGTERM handler; stopping on SIGINT only");
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
    next().await;
    tracing::info!("stopping (a second signal stops at once)");
    tokio::spawn(async {
        next().await;
        tracing::warn!("second signal: stopping now");
        std::process::exit(130);
    });
}
