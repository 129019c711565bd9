//! The config resolved into jobs, once, in one place.
//!
//! Every `[source.NAME]` is a harvest, every `[wiki.NAME]` a mirror and
//! every `[sync.NAME]` a sync. Resolving a table checks it (exactly one of
//! `with` and `checkout`, a sync naming a wiki that exists, a schedule that
//! parses) and fills in its defaults; what comes out is a [`Job`] that
//! [`run`] can run without looking at the settings for its shape
//! again. The CLI, the daemon and `config check` all resolve through here,
//! so each check exists once.
//!
//! Secrets are not read here: a password file is read when a run logs in,
//! so that a wiki whose secret is missing fails its own runs, not every job.

pub mod run;
pub mod schedule;

use std::fmt;
use std::path::PathBuf;

use checkpoints::SourceKey;

use crate::harvest::Window;
use crate::mirror::pull::{Feed, PullOptions};
use crate::settings::{Settings, WikiSettings};
use crate::sync::plan::{ConflictPolicy, Target};
use schedule::Schedule;

/// Which table a job comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// `[source.NAME]`: a harvest.
    Harvest,
    /// `[wiki.NAME]`: a mirror.
    Mirror,
    /// `[sync.NAME]`: a two-way sync.
    Sync,
    /// `[group.NAME]`: a group of wikis kept in step.
    Group,
}

impl Kind {
    /// The config table's name, which is also the first half of a job's id.
    pub fn table(self) -> &'static str {
        match self {
            Kind::Harvest => "source",
            Kind::Mirror => "wiki",
            Kind::Sync => "sync",
            Kind::Group => "group",
        }
    }
}

/// A configured job, resolved.
#[derive(Clone, Debug)]
pub struct Job {
    /// The NAME of its table.
    pub name: String,
    /// `None`: it runs only when triggered (or from the command line).
    pub schedule: Option<Schedule>,
    pub work: Work,
}

/// What a job does, with everything it needs from the config.
#[derive(Clone, Debug)]
pub enum Work {
    Harvest(HarvestJob),
    Mirror(MirrorJob),
    /// Boxed: a sync holds two wikis' options, far more than the others.
    Sync(Box<SyncJob>),
}

#[derive(Clone, Debug)]
pub struct HarvestJob {
    pub source: SourceKey,
    /// HTTP Basic credentials: the user, and where the password is read
    /// from when the harvest runs (a file, else a variable).
    pub login: Option<(String, Option<PathBuf>, Option<String>)>,
    pub window: Option<Window>,
    /// Slices of the range harvested at once (`--parallel N`).
    pub parallel: Option<u32>,
    pub strict: bool,
    /// Whether its records' DC fields are indexed for search (`search`).
    pub search: bool,
}

#[derive(Clone, Debug)]
pub struct MirrorJob {
    pub feed: Feed,
    /// `pull.wiki` is the `[wiki.NAME]`.
    pub pull: PullOptions,
    /// Its files, unless `files = false`.
    pub files: Option<Box<crate::mirror::files::FilesOptions>>,
    /// Whether its pages are rendered for the reader (`render`).
    pub render: bool,
}

#[derive(Clone, Debug)]
pub struct SyncJob {
    /// The `wiki` side.
    pub wiki: MirrorJob,
    /// The other side.
    pub peer: SyncPeer,
    pub policy: ConflictPolicy,
    pub prefer: Target,
    /// Where conflict notices go.
    pub notify: Vec<crate::sync::scope::Notice>,
    /// Which sides are written.
    pub direction: crate::sync::scope::Direction,
    /// How a change goes to the other side.
    pub history: crate::sync::replay::History,
    /// Which pages a group keeps in step; a pair keeps every page its wikis mirror.
    pub membership: Option<Box<Membership>>,
}

/// Which pages belong to a group: those in one of `categories` on any
/// member wiki (any page, if there are none), whose titles `selection` takes.
#[derive(Clone, Debug, Default)]
pub struct Membership {
    pub categories: Vec<String>,
    pub selection: crate::mirror::pull::Selection,
}

/// The other side of a sync.
#[derive(Clone, Debug)]
pub enum SyncPeer {
    /// Another `[wiki.*]`.
    Wiki(MirrorJob),
    /// A directory of page files.
    Checkout(PathBuf),
    /// A directory where the two sites leave packages for each other.
    Packages(PathBuf),
    /// The other members of a `[group.*]` (the `wiki` side is its hub).
    Group(Vec<MirrorJob>),
}

impl Job {
    pub fn kind(&self) -> Kind {
        match self.work {
            Work::Harvest(_) => Kind::Harvest,
            Work::Mirror(_) => Kind::Mirror,
            Work::Sync(ref s) if matches!(s.peer, SyncPeer::Group(_)) => Kind::Group,
            Work::Sync(_) => Kind::Sync,
        }
    }

    /// `source.NAME`, `wiki.NAME` or `sync.NAME`: how the daemon, its
    /// control endpoint and the logs name the job.
    pub fn id(&self) -> String {
        format!("{}.{}", self.kind().table(), self.name)
    }

    /// A sync's pairs as the store names them, each with the names of its
    /// two sides (`wiki`, `with`): one for a pair, one per spoke for a
    /// group; none for a harvest or a mirror.
    pub fn pairs(&self) -> Vec<(String, String, String)> {
        let Work::Sync(s) = &self.work else { return Vec::new() };
        let (name, hub) = (&self.name, &s.wiki.pull.wiki);
        match &s.peer {
            SyncPeer::Wiki(w) => vec![(name.clone(), hub.clone(), w.pull.wiki.clone())],
            SyncPeer::Checkout(dir) => vec![(name.clone(), hub.clone(), format!("checkout {}", dir.display()))],
            SyncPeer::Packages(dir) => vec![(name.clone(), hub.clone(), format!("the other site ({})", dir.display()))],
            SyncPeer::Group(spokes) => spokes.iter().map(|m| (crate::sync::group::pair_name(name, &m.pull.wiki), hub.clone(), m.pull.wiki.clone())).collect(),
        }
    }

    /// What the job touches: jobs sharing one never run at once.
    pub fn resources(&self) -> Vec<String> {
        match &self.work {
            Work::Harvest(h) => vec![format!("source:{}", h.source.base_url)],
            Work::Mirror(m) => vec![format!("wiki:{}", m.pull.wiki)],
            Work::Sync(s) => {
                let mut out = vec![format!("wiki:{}", s.wiki.pull.wiki)];
                match &s.peer {
                    SyncPeer::Wiki(w) => out.push(format!("wiki:{}", w.pull.wiki)),
                    // Two syncs of one directory never run at once either.
                    SyncPeer::Checkout(dir) => out.push(format!("checkout:{}", dir.display())),
                    SyncPeer::Packages(dir) => out.push(format!("packages:{}", dir.display())),
                    SyncPeer::Group(members) => out.extend(members.iter().map(|w| format!("wiki:{}", w.pull.wiki))),
                }
                out
            }
        }
    }
}

/// A table that does not resolve: where, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// `source.NAME`, `wiki.NAME` or `sync.NAME`.
    pub table: String,
    /// The key at fault, if one is.
    pub key: Option<&'static str>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.table, self.message)
    }
}

impl std::error::Error for Problem {}

/// Every job of the config, and every table that does not resolve.
pub fn resolve(settings: &Settings) -> (Vec<Job>, Vec<Problem>) {
    let mut jobs = Vec::new();
    let mut problems = Vec::new();
    let names = settings
        .source
        .keys()
        .map(|n| (Kind::Harvest, n))
        .chain(settings.wiki.keys().map(|n| (Kind::Mirror, n)))
        .chain(settings.sync.keys().map(|n| (Kind::Sync, n)))
        .chain(settings.group.keys().map(|n| (Kind::Group, n)));
    for (kind, name) in names {
        match one(settings, kind, name) {
            Ok(job) => jobs.push(job),
            Err(p) => problems.push(p),
        }
    }
    (jobs, problems)
}

/// Every job, or an error listing every table that does not resolve.
pub fn resolve_all(settings: &Settings) -> anyhow::Result<Vec<Job>> {
    let (jobs, problems) = resolve(settings);
    if problems.is_empty() {
        return Ok(jobs);
    }
    let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
    anyhow::bail!("{} problem(s) in the config (`oai-mirror config check` shows their lines):\n  {}", problems.len(), list.join("\n  "))
}

/// One table's job.
pub fn one(settings: &Settings, kind: Kind, name: &str) -> Result<Job, Problem> {
    let table = format!("{}.{name}", kind.table());
    let problem = |key: Option<&'static str>, message: String| Problem { table: table.clone(), key, message };
    let missing = || problem(None, not_configured(settings, kind, name));
    let (schedule, timezone, work) = match kind {
        Kind::Harvest => {
            let s = settings.source.get(name).ok_or_else(missing)?;
            web_url(&s.url, "a repository's base URL, such as https://export.arxiv.org/oai2").map_err(|m| problem(Some("url"), m))?;
            let login = match (&s.user, &s.password_file, &s.password_env) {
                (None, None, None) => None,
                (Some(user), Some(file), None) => Some((user.clone(), Some(file.clone()), None)),
                (Some(user), None, Some(env)) => Some((user.clone(), None, Some(env.clone()))),
                (Some(_), Some(_), Some(_)) => return Err(problem(Some("password_file"), "has both password_file and password_env: keep one".into())),
                (Some(_), None, None) => return Err(problem(Some("user"), "has a user but no password_file or password_env".into())),
                (None, _, _) => return Err(problem(Some("user"), "has a password but no user".into())),
            };
            let source = SourceKey { base_url: s.url.clone(), metadata_prefix: s.prefix.clone(), set_spec: s.set.clone() };
            (&s.schedule, &s.timezone, Work::Harvest(HarvestJob { source, login, window: s.window, parallel: s.parallel, strict: s.strict, search: s.search }))
        }
        Kind::Mirror => {
            let w = settings.wiki.get(name).ok_or_else(missing)?;
            web_url(&w.api, "the wiki's api.php, such as https://wiki.example.org/w/api.php").map_err(|m| problem(Some("api"), m))?;
            if let Some(oai) = &w.oai {
                web_url(oai, "the wiki's Special:OAIRepository").map_err(|m| problem(Some("oai"), m))?;
            }
            (&w.schedule, &w.timezone, Work::Mirror(mirror_job(name, w, &settings.files)))
        }
        Kind::Sync => {
            let s = settings.sync.get(name).ok_or_else(missing)?;
            let wiki_named = |w: &str| match settings.wiki.get(w) {
                Some(ws) => Ok(mirror_job(w, ws, &settings.files)),
                None => Err(problem(None, format!("names wiki {w:?}, which has no [wiki.{w}]"))),
            };
            let wiki = wiki_named(&s.wiki)?;
            let peer = match (&s.with, &s.checkout, &s.packages) {
                (Some(with), None, None) => SyncPeer::Wiki(wiki_named(with)?),
                (None, Some(dir), None) if dir.exists() && !dir.is_dir() => {
                    return Err(problem(Some("checkout"), format!("the checkout {} is not a directory", dir.display())));
                }
                (None, Some(dir), None) => SyncPeer::Checkout(dir.clone()),
                (None, None, Some(dir)) if dir.exists() && !dir.is_dir() => {
                    return Err(problem(Some("packages"), format!("{} is not a directory", dir.display())));
                }
                (None, None, Some(_)) if s.conflicts == ConflictPolicy::Markers => {
                    // Each site writes its own text of a conflict, and both
                    // must write the same: markers name the sides differently.
                    return Err(problem(Some("conflicts"), "a sync by packages settles conflicts with `keep-both` only".into()));
                }
                (None, None, Some(dir)) => SyncPeer::Packages(dir.clone()),
                _ => {
                    return Err(problem(
                        None,
                        "needs exactly one of `with` (another [wiki.*]), `checkout` (a directory of page files) and `packages` (a directory for packages)"
                            .into(),
                    ));
                }
            };
            // A direction that writes only to a wiki without an account would write nothing.
            let without_account = |w: &str| settings.wiki.get(w).is_some_and(|w| w.user.is_none());
            let written = match (s.direction, &s.with) {
                (crate::sync::scope::Direction::Push, _) => Some(&s.wiki),
                (crate::sync::scope::Direction::Pull, Some(with)) => Some(with),
                _ => None,
            };
            if let Some(w) = written.filter(|w| without_account(w)) {
                return Err(problem(Some("direction"), format!("writes only to [wiki.{w}], which has no account: give it `user` and `password_file`")));
            }
            (
                &s.schedule,
                &s.timezone,
                Work::Sync(Box::new(SyncJob {
                    wiki,
                    peer,
                    policy: s.conflicts,
                    prefer: s.prefer,
                    notify: s.notify.clone(),
                    direction: s.direction,
                    history: s.history,
                    membership: None,
                })),
            )
        }
        Kind::Group => {
            let g = settings.group.get(name).ok_or_else(missing)?;
            if settings.sync.contains_key(name) {
                // `sync NAME` and the control endpoint's names must say which.
                return Err(problem(None, format!("[sync.{name}] has the same name; a group and a sync need different names")));
            }
            let mut members = Vec::new();
            for w in &g.wikis {
                let Some(ws) = settings.wiki.get(w) else {
                    return Err(problem(Some("wikis"), format!("names wiki {w:?}, which has no [wiki.{w}]")));
                };
                if members.iter().any(|m: &MirrorJob| m.pull.wiki == *w) {
                    return Err(problem(Some("wikis"), format!("names wiki {w:?} twice")));
                }
                members.push(mirror_job(w, ws, &settings.files));
            }
            if members.len() < 3 {
                return Err(problem(
                    Some("wikis"),
                    format!("names {} wiki(s); a group has three or more (two wikis are a [sync.*] with `with`)", members.len()),
                ));
            }
            if let Some(bad) = g.categories.iter().find(|c| !c.starts_with("Category:")) {
                return Err(problem(Some("categories"), format!("{bad:?} is not a category: write it as \"Category:{bad}\"")));
            }
            let hub = members.remove(0);
            let membership = Membership {
                categories: g.categories.clone(),
                selection: crate::mirror::pull::Selection { prefixes: g.prefixes.clone(), patterns: g.patterns.clone(), ..Default::default() },
            };
            let job = SyncJob {
                wiki: hub,
                peer: SyncPeer::Group(members),
                policy: g.conflicts,
                // The hub's text: the one the group agreed on before the clash.
                prefer: Target::Wiki,
                notify: g.notify.clone(),
                direction: crate::sync::scope::Direction::Both,
                history: g.history,
                membership: Some(Box::new(membership)),
            };
            (&g.schedule, &g.timezone, Work::Sync(Box::new(job)))
        }
    };
    let schedule = match schedule {
        Some(expr) => Some(Schedule::parse(expr, timezone.as_deref()).map_err(|e| problem(Some(e.key()), format!("{}: {e}", e.key())))?),
        None => None,
    };
    Ok(Job { name: name.to_string(), schedule, work })
}

/// Why `name` is not a job of `kind`: which config file was read, the
/// names it has, and the nearest one if one is close.
pub fn not_configured(settings: &Settings, kind: Kind, name: &str) -> String {
    let names: Vec<&str> = match kind {
        Kind::Harvest => settings.source.keys().map(String::as_str).collect(),
        Kind::Mirror => settings.wiki.keys().map(String::as_str).collect(),
        Kind::Sync => settings.sync.keys().map(String::as_str).collect(),
        Kind::Group => settings.group.keys().map(String::as_str).collect(),
    };
    let table = kind.table();
    let file = match &settings.path {
        Some(path) => format!("is not in {}", path.display()),
        None => "is not configured: no config file was read (pass --config PATH, or set OAI_MIRROR_CONFIG)".to_string(),
    };
    let known = match names.as_slice() {
        [] if settings.path.is_some() => format!(", which has no [{table}.*] tables"),
        [] => String::new(),
        some => format!(" (its [{table}.*] tables: {})", some.join(", ")),
    };
    let nearest = match nearest(name, &names) {
        Some(n) => format!("; did you mean `{n}`?"),
        None => String::new(),
    };
    // `sync`, `conflicts`, `queue` and `resolve` take a group like a pair.
    let groups: Vec<&str> = settings.group.keys().map(String::as_str).collect();
    let also = match kind {
        Kind::Sync if !groups.is_empty() => format!("; nor is it a group (its [group.*] tables: {})", groups.join(", ")),
        _ => String::new(),
    };
    format!("{file}{known}{also}{nearest}")
}

/// The candidate closest to `name`, if it is close enough to be a slip.
pub fn nearest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let lower = name.to_lowercase();
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(&lower, &c.to_lowercase()), *c))
        .filter(|(distance, c)| *distance <= (c.chars().count() / 3).max(1) || c.to_lowercase().replace('-', "_") == lower.replace('-', "_"))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

/// A `[wiki.*]` as a mirror: its feed is `feed`, else OAI when it has an
/// `oai` URL, else the action API.
/// Whether `text` is a URL this program can ask: http or https. `what` says what it should be, for the message.
pub fn web_url(text: &str, what: &str) -> Result<(), String> {
    match url::Url::parse(text) {
        // Credentials go in `user` and `password_file`: in the URL they would
        // be shown wherever the URL is (logs, served records). The message
        // shows the URL without them.
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = (u.set_username(""), u.set_password(None));
            Err(format!("{u} is written with a user name or password in it: take them out, and give `user` and `password_file` (or `password_env`) instead"))
        }
        // The URL parser refuses an http(s) URL without a host.
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(()),
        Ok(u) => Err(format!("{text:?} is a {} URL; only http and https are allowed ({what})", u.scheme())),
        Err(e) => Err(format!("{text:?} is not a URL: {e} ({what})")),
    }
}

fn mirror_job(name: &str, w: &WikiSettings, f: &crate::settings::FilesSettings) -> MirrorJob {
    let feed = w.feed.unwrap_or(if w.oai.is_some() { Feed::Oai } else { Feed::Api });
    let history = if w.history { crate::mirror::pull::History::Full } else { crate::mirror::pull::History::Current };
    const MB: u64 = 1024 * 1024;
    let files = w.files.then(|| {
        Box::new(crate::mirror::files::FilesOptions {
            all_versions: w.history,
            copy_foreign: w.foreign_files == crate::settings::ForeignFiles::Copy,
            max_file_bytes: f.max_file_mb.saturating_mul(MB),
            max_total_bytes: f.max_total_mb.map(|m| m.saturating_mul(MB)),
            dir: f.dir.clone(),
        })
    });
    MirrorJob { feed, pull: PullOptions { wiki: name.to_string(), selection: w.selection(), history, used_files: w.used_files }, files, render: w.render }
}

#[cfg(test)]
mod tests;
