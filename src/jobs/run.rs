//! One run of a job: a harvest, a mirror or a sync, from its resolved
//! [`Job`]. The command line and the daemon both run jobs through here, so
//! both do exactly the same.
//!
//! Each run is in a span named after its job (`job = "sync.NAME"`), so every
//! line logged under it, the clients' retries included, says whose it is.

use std::sync::{Arc, Mutex};

use anyhow::Context;
use checkpoints::Store;
use tracing::Instrument;

use crate::connections::Connections;
use crate::harvest::{self, HarvestRequest, Progress, Summary};
use crate::jobs::{HarvestJob, Job, MirrorJob, SyncJob, SyncPeer, Work};
use crate::mediawiki::Wiki;
use crate::mirror::pull::{self, PullSummary};
use crate::settings::Settings;
use crate::sync::peer::{Carried, Checkout, Peer, Side};
use crate::sync::plan::Target;
use crate::sync::report::Report;
use crate::sync::run;
use crate::sync::scope::SyncOptions;
use crate::util::lock;

/// What a run did, in the numbers the daemon keeps per job.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Records harvested, pages mirrored, pages synced.
    pub items: u64,
    pub pushes: u64,
    pub queue: u64,
    pub conflicts: u64,
    /// HTTP requests made, where the run counts them.
    pub requests: Option<u64>,
}

/// The part of a harvest the command line may choose; a scheduled run
/// takes the default, the checkpoint.
#[derive(Clone, Debug, Default)]
pub struct Range {
    pub from: Option<String>,
    pub until: Option<String>,
    pub full: bool,
}

/// The span a job's run logs in.
pub fn span(job: &Job) -> tracing::Span {
    tracing::info_span!("job", job = %job.id(), kind = job.kind().table())
}

/// Runs a job as the daemon does: a harvest from its checkpoint, a mirror
/// on its configured feed, a sync that writes.
pub async fn run(settings: &Settings, conns: &Connections, store: Arc<Mutex<Store>>, job: &Job) -> anyhow::Result<Outcome> {
    run_telling(settings, conns, store, job, Arc::new(harvest::Quiet)).await
}

/// [`run`], a harvest telling `progress` of each page it stores.
pub async fn run_telling(
    settings: &Settings,
    conns: &Connections,
    store: Arc<Mutex<Store>>,
    job: &Job,
    progress: Arc<dyn Progress>,
) -> anyhow::Result<Outcome> {
    let outcome = run_job(settings, conns, store, job, progress).await?;
    // A run that stored changes tells the mirrors below at once.
    if outcome.items > 0 {
        crate::serve::notify::notify_all(settings).instrument(span(job)).await;
    }
    Ok(outcome)
}

async fn run_job(settings: &Settings, conns: &Connections, store: Arc<Mutex<Store>>, job: &Job, progress: Arc<dyn Progress>) -> anyhow::Result<Outcome> {
    async {
        match &job.work {
            Work::Harvest(h) => {
                let s = harvest(settings, conns, store, &job.name, h, &Range::default(), progress).await?;
                Ok(Outcome { items: s.records, requests: Some(s.requests), ..Outcome::default() })
            }
            Work::Mirror(m) => {
                let s = mirror(conns, store, m).await?;
                Ok(Outcome { items: s.pages_seen, requests: Some(s.requests), ..Outcome::default() })
            }
            Work::Sync(s) => {
                let r = sync(settings, conns, store.clone(), &job.name, s, false).await?;
                // No one reads the report: its lines go to the log.
                for line in &r.lines {
                    tracing::info!("{line}");
                }
                if r.failed > 0 {
                    anyhow::bail!("{} write(s) did not go through (queued: {})", r.failed, r.queued);
                }
                Ok(Outcome {
                    items: r.pushes + r.moves + r.deletes + r.created + r.revived,
                    pushes: r.pushes,
                    queue: r.queued,
                    conflicts: r.open_conflicts,
                    requests: Some(r.requests),
                })
            }
        }
    }
    .instrument(span(job))
    .await
}

/// Harvests one source, incrementally unless `range` says otherwise.
pub async fn harvest(
    settings: &Settings,
    conns: &Connections,
    store: Arc<Mutex<Store>>,
    name: &str,
    job: &HarvestJob,
    range: &Range,
    progress: Arc<dyn Progress>,
) -> anyhow::Result<Summary> {
    let mut options = conns.client_options(job.strict);
    if let Some((user, file, env)) = &job.login {
        let password = crate::settings::secret(file.as_deref(), env.as_deref(), &format!("[source.{name}] password"))?
            .with_context(|| format!("[source.{name}] has a user but no password_file or password_env"))?;
        options.basic_auth = Some((user.clone(), password));
    }
    let client = oai::Client::new(&job.source.base_url, options)?;
    harvest::pack::configure(settings.harvest.pack_threads);
    let db = crate::util::lock(&store).path().map(std::path::Path::to_path_buf);
    let _held = db.as_deref().map(|db| RunLock::harvest(db, &job.source, name)).transpose()?;
    let request = HarvestRequest {
        source: job.source.clone(),
        from: range.from.clone(),
        until: range.until.clone(),
        full: range.full,
        window: job.window,
        parallel: job.parallel,
        search: job.search,
    };
    let described = crate::util::blocking(|| crate::util::lock(&store).origin_formats(&job.source.base_url).map(|f| !f.is_empty()))?;
    let summary = harvest::harvest(store.clone(), &client, &request, progress).await.with_context(|| format!("harvesting {name}"))?;
    // Its served name is given on the first harvest and kept from then on.
    let wanted = crate::serve::wanted_names(settings, &job.source.base_url);
    crate::util::blocking(|| crate::util::lock(&store).claim_served_name(&job.source.base_url, &wanted))?;
    // Serving declares each origin's formats and sets as the origin did:
    // asked on a repository's first harvest (two requests), and again on a
    // full one. Not getting them fails nothing: serving falls back to what
    // the records say.
    if (!described || range.full)
        && let Err(e) = harvest::describe_origin(&store, &client).await
    {
        tracing::warn!(error = %format!("{e:#}"), "the repository's formats and sets were not kept; serving falls back to what the records say");
    }
    Ok(summary)
}

/// Held while a job runs on a resource (a source's harvest, a sync), so
/// that a second run of it (in another process, or the daemon beside the
/// command line) is refused instead of taking over the first one's
/// position, and a `resolve` waits for it. An OS file lock beside the
/// database (`DB.locks/KIND-HASH`, named by the resource, so that taking it
/// creates nothing in the store): it goes when the process does, however
/// it ends, so no stale lock ever needs clearing.
pub struct RunLock {
    _file: std::fs::File,
}

fn source_key(source: &checkpoints::SourceKey) -> String {
    format!("{}\n{}\n{}", source.base_url, source.metadata_prefix, source.set_spec.as_deref().unwrap_or(""))
}

impl RunLock {
    fn path(db: &std::path::Path, kind: &str, key: &str) -> std::path::PathBuf {
        std::path::PathBuf::from(format!("{}.locks", db.display())).join(format!("{kind}-{}", &crate::util::md5_hex(key)[..16]))
    }

    /// Whether a harvest of `source` holds its lock now (in any process):
    /// a run the store says is in progress but whose lock nobody holds was
    /// interrupted, and the next harvest resumes it.
    pub fn held(db: &std::path::Path, source: &checkpoints::SourceKey) -> bool {
        let Ok(file) = std::fs::File::open(Self::path(db, "source", &source_key(source))) else { return false };
        matches!(file.try_lock_shared(), Err(std::fs::TryLockError::WouldBlock))
    }

    /// The lock of a harvest of `source`, on its URL, prefix and set.
    fn harvest(db: &std::path::Path, source: &checkpoints::SourceKey, name: &str) -> anyhow::Result<RunLock> {
        Self::try_take(db, "source", &source_key(source))?
            .map_err(|pid| anyhow::anyhow!("a harvest of {name} is already running (pid {pid}); let it finish, or stop it, before starting another"))
    }

    /// The lock of sync `name`, for its run: refused while another holds it.
    pub fn sync(db: &std::path::Path, name: &str) -> anyhow::Result<RunLock> {
        Self::try_take(db, "sync", name)?
            .map_err(|pid| anyhow::anyhow!("a run of sync {name} is already going (pid {pid}); let it finish, or stop it, before starting another"))
    }

    /// The lock of sync `name`, for settling a conflict: waits up to
    /// `patience` for a run that holds it to end.
    pub fn sync_when_free(db: &std::path::Path, name: &str, patience: std::time::Duration) -> anyhow::Result<RunLock> {
        let until = std::time::Instant::now() + patience;
        loop {
            match Self::try_take(db, "sync", name)? {
                Ok(lock) => return Ok(lock),
                Err(pid) if std::time::Instant::now() >= until => {
                    anyhow::bail!("sync {name} is running (pid {pid}); settle the conflict again when the run has ended")
                }
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(100)),
            }
        }
    }

    /// The lock, or who holds it (a pid, or "unknown").
    fn try_take(db: &std::path::Path, kind: &str, key: &str) -> anyhow::Result<Result<RunLock, String>> {
        use std::io::{Read, Seek, Write};
        let path = Self::path(db, kind, key);
        let dir = path.parent().expect("the lock is in a directory");
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("opening the lock {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {
                // Who holds it, for the message a second run prints.
                file.set_len(0)?;
                file.rewind()?;
                write!(file, "{}", std::process::id())?;
                Ok(Ok(RunLock { _file: file }))
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                Ok(Err(if pid.trim().is_empty() { "unknown".to_string() } else { pid.trim().to_string() }))
            }
            Err(std::fs::TryLockError::Error(e)) => Err(e).with_context(|| format!("locking {}", path.display())),
        }
    }
}

/// Pulls a wiki once into the mirror.
pub async fn mirror(conns: &Connections, store: Arc<Mutex<Store>>, job: &MirrorJob) -> anyhow::Result<PullSummary> {
    let name = &job.pull.wiki;
    let wiki = conns.wiki(name)?;
    let oai = conns.wiki_oai(name)?;
    let mut summary = pull::pull(store.clone(), &wiki, job.feed, oai.as_ref(), &job.pull).await.with_context(|| format!("mirroring [wiki.{name}]"))?;
    crate::mirror::uses::follow_after(&store, &wiki, &job.pull, &mut summary).await.with_context(|| format!("mirroring [wiki.{name}]"))?;
    if let Some(files) = &job.files {
        let before = wiki.requests();
        let done =
            crate::mirror::files::fill(&store, &wiki, name, files, conns.downloads()).await.with_context(|| format!("mirroring the files of [wiki.{name}]"))?;
        summary.wrote |= done.versions > 0 || done.downloaded > 0;
        summary.requests += wiki.requests() - before;
        summary.files = Some(done);
    }
    if job.render {
        let before = wiki.requests();
        let done = crate::mirror::render::render(&store, &wiki, name).await.with_context(|| format!("rendering the pages of [wiki.{name}]"))?;
        summary.wrote |= done.rendered > 0;
        summary.requests += wiki.requests() - before;
        summary.render = Some(done);
    }
    Ok(summary)
}

/// Runs a sync once.
/// A sync whose other side is a site reached only by packages: apply its
/// packages, sync, leave a package of this side's wiki.
async fn sync_by_packages(
    settings: &Settings,
    store: Arc<Mutex<Store>>,
    wiki: &Side<'_>,
    dir: &std::path::Path,
    job: &SyncJob,
    opts: &mut SyncOptions,
) -> anyhow::Result<Report> {
    let exchange = crate::sync::packages::Exchange {
        dir,
        sync: &opts.name,
        local: &job.wiki.pull.wiki,
        site: settings.wiki.get(&job.wiki.pull.wiki).map(|w| w.api.clone()),
        // A replaying sync carries every revision, which the other site replays.
        history: wiki.pull.history != pull::History::Current,
    };
    // Tar headers read, packages applied: off the async worker.
    let received = if opts.dry_run { Vec::new() } else { crate::util::blocking(|| exchange.receive(&store))? };
    // Both sites must settle a conflict alike: the text of the site whose
    // stream of packages sorts first fills the overlapping parts. Only the
    // other site announces it: it always meets the conflict (its wiki holds
    // its own text until it settles it), the first site may not (the other
    // one's settled text may reach it before the clashing edit does).
    let own = crate::util::blocking(|| exchange.own_stream(&mut lock(&store)))?;
    let other = lock(&store).package_import_state(&exchange.remote())?.map(|s| s.stream);
    let first = other.as_ref().is_none_or(|o| own < *o);
    opts.prefer = if first { Target::Wiki } else { Target::With };
    opts.announce = !first;
    let carried = Carried { wiki: exchange.remote(), dir: dir.to_path_buf() };
    let mut report = run::run(store.clone(), wiki, Peer::Carried(&carried), opts).await?;
    report.lines.splice(0..0, received);
    if !opts.dry_run {
        // The package carries the local wiki as it is now, this run's own
        // writes included.
        if report.pushes > 0 {
            crate::mirror::pull::pull(store.clone(), wiki.wiki, wiki.feed, wiki.oai, &wiki.pull).await.context("reading back this run's writes")?;
        }
        if let Some(line) = crate::util::blocking(|| exchange.send(&store))? {
            report.lines.push(line);
        }
    }
    Ok(report)
}

pub async fn sync(settings: &Settings, conns: &Connections, store: Arc<Mutex<Store>>, name: &str, job: &SyncJob, dry_run: bool) -> anyhow::Result<Report> {
    // One run of a sync at a time, in any process; `resolve` waits for it.
    let db = crate::util::lock(&store).path().map(std::path::Path::to_path_buf);
    let _held = db.as_deref().map(|db| RunLock::sync(db, name)).transpose()?;
    let mut opts = SyncOptions::pair(name, job.policy, job.prefer, job.notify.clone(), dry_run);
    opts.direction = job.direction;
    opts.history = job.history;
    // A replay reads the revisions a side made from its mirror: each side
    // keeps every revision from the sync's first run on.
    let replay = job.history == crate::sync::replay::History::Replay;
    let pull = |m: &MirrorJob| {
        let history = if replay && m.pull.history == pull::History::Current { pull::History::Onward } else { m.pull.history };
        pull::PullOptions { history, ..m.pull.clone() }
    };
    let client = |m: &MirrorJob| -> anyhow::Result<(Arc<Wiki>, Option<oai::Client>)> { Ok((conns.wiki(&m.pull.wiki)?, conns.wiki_oai(&m.pull.wiki)?)) };
    let (wiki_client, wiki_oai) = client(&job.wiki)?;
    fn files<'a>(m: &'a MirrorJob, conns: &'a Connections) -> Option<crate::sync::peer::SideFiles<'a>> {
        m.files.as_deref().map(|opts| crate::sync::peer::SideFiles { opts, downloads: conns.downloads() })
    }
    let wiki = Side { wiki: &wiki_client, oai: wiki_oai.as_ref(), feed: job.wiki.feed, pull: pull(&job.wiki), files: files(&job.wiki, conns) };
    let result = match &job.peer {
        SyncPeer::Checkout(dir) => {
            let selection = job.wiki.pull.selection.clone();
            // A new file's namespace is read from its title's prefix, in the wiki's own names.
            let site = if selection.names_namespaces() {
                Some(wiki_client.siteinfo().await.with_context(|| format!("reading the namespaces of [wiki.{}]", job.wiki.pull.wiki))?)
            } else {
                None
            };
            let checkout = Checkout::new(dir.clone(), name, selection, site);
            run::run(store, &wiki, Peer::Checkout(&checkout), &opts).await
        }
        SyncPeer::Wiki(other) => {
            let (with_client, with_oai) = client(other)?;
            let with = Side { wiki: &with_client, oai: with_oai.as_ref(), feed: other.feed, pull: pull(other), files: files(other, conns) };
            run::run(store, &wiki, Peer::Wiki(&with), &opts).await
        }
        SyncPeer::Packages(dir) => sync_by_packages(settings, store, &wiki, dir, job, &mut opts).await,
        SyncPeer::Group(members) => {
            let mut clients = Vec::new();
            for m in members {
                clients.push((client(m)?, m));
            }
            let spokes: Vec<(Side<'_>, Arc<Wiki>)> = clients
                .iter()
                .map(|((wiki, oai), m)| (Side { wiki, oai: oai.as_ref(), feed: m.feed, pull: pull(m), files: files(m, conns) }, wiki.clone()))
                .collect();
            let membership = job.membership.as_deref().cloned().unwrap_or_default();
            let report = crate::sync::group::run(store, &wiki, &spokes, &membership.categories, &membership.selection, &opts).await;
            return report.with_context(|| format!("syncing [group.{name}]"));
        }
    };
    result.with_context(|| format!("syncing [sync.{name}]"))
}
