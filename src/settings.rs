//! The config file and the environment, as data: nothing here is live (the
//! connections made from it are `crate::connections`'). This file is the
//! schema and what follows from it (client options, the database path);
//! `load` reads the file and the environment (the only place that knows
//! the `config` crate) and finds every problem of a file; `secrets` reads
//! passwords and tokens from files or variables.
//!
//! Where things come from, first match wins:
//! * the config file: `--config PATH`, else `$OAI_MIRROR_CONFIG`, else
//!   `oai-mirror/config.toml` in the user's config directory if it exists;
//! * the database: `--db PATH`, else `$OAI_MIRROR_DB`, else `db` in the
//!   config file, else `oai-mirror/oai-mirror.sqlite` in the user's data
//!   directory;
//! * any key can be overridden from the environment:
//!   `OAI_MIRROR_SOURCE__ARXIV__SET=cs` sets `source.arxiv.set`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;

use crate::harvest::Window;
use crate::sync::plan::{ConflictPolicy, Target};

mod load;
mod secrets;

pub use load::{FileProblem, problems_in};
pub use secrets::{read_password_file, secret};

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The config file these settings were read from, if any.
    #[serde(skip)]
    pub path: Option<PathBuf>,
    /// The database file.
    pub db: Option<PathBuf>,
    /// Who runs this harvester; sent in the User-Agent so repository
    /// operators can reach a person (a URL or an address).
    pub contact: Option<String>,
    #[serde(default)]
    pub http: HttpSettings,
    /// `[harvest]`: how many sources at once, how many requests per host.
    #[serde(default)]
    pub harvest: HarvestSettings,
    /// `[source.NAME]` tables.
    #[serde(default)]
    pub source: BTreeMap<String, SourceSettings>,
    /// `[wiki.NAME]` tables.
    #[serde(default)]
    pub wiki: BTreeMap<String, WikiSettings>,
    /// `[sync.NAME]` tables.
    #[serde(default)]
    pub sync: BTreeMap<String, SyncSettings>,
    /// `[group.NAME]` tables.
    #[serde(default)]
    pub group: BTreeMap<String, GroupSettings>,
    #[serde(default)]
    pub daemon: DaemonSettings,
    /// `[files]`: where mirrored wikis' files go, and their limits.
    #[serde(default)]
    pub files: FilesSettings,
    /// `[serve]`: serving the store over OAI-PMH; `oai-mirror run` serves
    /// too when the table is there.
    pub serve: Option<ServeSettings>,
}

/// `oai-mirror serve`, and `[serve]` for the daemon.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServeSettings {
    /// Where to listen; loopback unless `--allow-remote`.
    pub listen: String,
    /// The URL prefix clients reach this server at, when it is behind a
    /// proxy (`https://mirror.example.org`); else `http://LISTEN`.
    pub public_url: Option<String>,
    /// Identify's adminEmail; else the `contact`'s address.
    pub admin_email: Vec<String>,
    /// The namespace of identifiers this repository gives to records whose
    /// own identifier is not in a URI scheme.
    pub repository_identifier: String,
    /// Mirrors below this one to tell at once when a run stored changes:
    /// another oai-mirror's `POST /trigger/JOB`.
    pub notify: Vec<NotifySettings>,
    /// Connections open at once; more wait in the kernel's queue.
    pub max_connections: usize,
    /// Connections open at once from one client address; more are closed.
    pub max_connections_per_ip: usize,
    /// A connection that neither sends nor takes a byte for this long is closed.
    pub client_timeout_secs: u64,
    /// A request's head must have arrived whole this long after its first byte.
    pub request_timeout_secs: u64,
}

/// One mirror to tell: its trigger URL and the token it wants.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifySettings {
    /// e.g. `http://mirror-2:7878/trigger/source.NAME`.
    pub url: String,
    /// Its control endpoint's token: a file's first line, or a variable.
    pub token_file: Option<PathBuf>,
    pub token_env: Option<String>,
}

/// `oai-mirror run`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DaemonSettings {
    /// The control endpoint; loopback unless `run --allow-remote`.
    pub listen: String,
    /// The control endpoint's token: a file's first line, or an environment variable.
    pub token_file: Option<PathBuf>,
    pub token_env: Option<String>,
    /// How long a stop waits for runs in progress, in seconds.
    pub grace_secs: u64,
    /// How often an idle wiki's session is checked (and kept alive), in seconds.
    pub check_wikis_secs: u64,
    /// Connections to the control endpoint at once; more wait in the kernel's queue.
    pub max_connections: usize,
    /// Control connections at once from one client address; more are closed.
    pub max_connections_per_ip: usize,
    /// A control connection that sends or takes no byte this long is closed, in seconds.
    pub client_timeout_secs: u64,
    /// A request's head must have arrived whole this long after its first byte, in seconds.
    pub request_timeout_secs: u64,
}

impl Default for DaemonSettings {
    fn default() -> Self {
        DaemonSettings {
            listen: "127.0.0.1:7878".into(),
            token_file: None,
            token_env: None,
            grace_secs: 60,
            check_wikis_secs: 300,
            max_connections: 64,
            max_connections_per_ip: 16,
            client_timeout_secs: 30,
            request_timeout_secs: 10,
        }
    }
}

/// A two-way sync between two `[wiki.*]` tables.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncSettings {
    pub wiki: String,
    /// The other wiki.
    pub with: Option<String>,
    /// Or a directory of page files edited offline, one file per page.
    pub checkout: Option<PathBuf>,
    /// Or a directory (a USB stick) where this site and the other one
    /// leave packages for each other: a wiki reached only by carried files.
    pub packages: Option<PathBuf>,
    /// `keep-both` or `markers`.
    #[serde(default = "default_policy", with = "PolicyName")]
    pub conflicts: ConflictPolicy,
    /// Whose text fills a conflicting region under keep-both: `wiki` or `with`.
    #[serde(default = "default_prefer", with = "SideName")]
    pub prefer: Target,
    /// Where conflict notices go: `page-talk` and/or `user-talk`.
    #[serde(default = "crate::sync::scope::default_notices")]
    pub notify: Vec<crate::sync::scope::Notice>,
    /// `both` (default), `pull` (the `wiki` is only read) or `push` (the
    /// other side is only read). A wiki without an account is only read
    /// whatever this says.
    #[serde(default)]
    pub direction: crate::sync::scope::Direction,
    /// `replay` (default): a change goes to the other wiki as the revisions
    /// that made it, each with its author; `squash`: as one edit.
    #[serde(default)]
    pub history: crate::sync::replay::History,
    /// When `oai-mirror run` runs it: cron, 5 fields (or 6 with seconds).
    pub schedule: Option<String>,
    /// The schedule's time zone (IANA name); UTC by default.
    pub timezone: Option<String>,
}

/// A group: three or more `[wiki.*]` tables keeping the pages of some
/// categories in step.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSettings {
    /// The member wikis; the first is the hub every change passes through.
    pub wikis: Vec<String>,
    /// A page belongs to the group when it is in one of these on any
    /// member; empty: every page the wikis mirror.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Only titles starting with one of these (namespace prefix included).
    #[serde(default)]
    pub prefixes: Vec<String>,
    /// Only titles matching one of these (`*`, `?`).
    #[serde(default)]
    pub patterns: Vec<String>,
    /// `keep-both` or `markers`.
    #[serde(default = "default_policy", with = "PolicyName")]
    pub conflicts: ConflictPolicy,
    /// Where conflict notices go: `page-talk` and/or `user-talk`.
    #[serde(default = "crate::sync::scope::default_notices")]
    pub notify: Vec<crate::sync::scope::Notice>,
    /// `replay` (default) or `squash`, as for a sync.
    #[serde(default)]
    pub history: crate::sync::replay::History,
    /// When `oai-mirror run` runs it: cron, 5 fields (or 6 with seconds).
    pub schedule: Option<String>,
    /// The schedule's time zone (IANA name); UTC by default.
    pub timezone: Option<String>,
}

fn default_policy() -> ConflictPolicy {
    ConflictPolicy::KeepBoth
}

fn default_prefer() -> Target {
    Target::Wiki
}

/// How the config names a conflict policy.
#[derive(Deserialize)]
#[serde(remote = "ConflictPolicy", rename_all = "kebab-case")]
enum PolicyName {
    KeepBoth,
    Markers,
}

/// How the config names a side of a sync.
#[derive(Deserialize)]
#[serde(remote = "Target", rename_all = "lowercase")]
enum SideName {
    Wiki,
    With,
}

/// A wiki. The password comes from a file or the environment, never from
/// the config text, and is never logged or stored.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WikiSettings {
    /// The action API, e.g. `https://example.org/w/api.php`.
    pub api: String,
    /// Special:OAIRepository, if the wiki has the OAI extension.
    pub oai: Option<String>,
    /// A bot password's login name, `User@app`.
    pub user: Option<String>,
    pub password_file: Option<PathBuf>,
    /// The name of an environment variable holding the password.
    pub password_env: Option<String>,
    /// Refused with a clear message: secrets do not belong in the config.
    password: Option<serde::de::IgnoredAny>,
    /// When `oai-mirror run` runs it: cron, 5 fields (or 6 with seconds).
    pub schedule: Option<String>,
    /// The schedule's time zone (IANA name); UTC by default.
    pub timezone: Option<String>,
    /// Which change feed `mirror` reads: `oai` (default when `oai` is set) or `api`.
    pub feed: Option<crate::mirror::pull::Feed>,
    /// `"full"`: every revision of every page, read after each pull through
    /// the API (a first pass reads the history there was before); `"current"`
    /// (the default): each page's current revision. `true`/`false` mean the same.
    #[serde(default, deserialize_with = "history_mode")]
    pub history: bool,
    /// Only these namespaces (ids); empty: all.
    #[serde(default)]
    pub namespaces: Vec<i64>,
    #[serde(default)]
    pub exclude_namespaces: Vec<i64>,
    /// Only titles starting with one of these (namespace prefix included).
    #[serde(default)]
    pub prefixes: Vec<String>,
    /// Only titles matching one of these (`*`, `?`).
    #[serde(default)]
    pub patterns: Vec<String>,
    /// Whether the files of its File: pages are mirrored (default true).
    #[serde(default = "yes")]
    pub files: bool,
    /// Also the files the selected pages use (`prop=images`), even where
    /// their File: pages are outside the selection (default false).
    #[serde(default)]
    pub used_files: bool,
    /// Whether `mirror` keeps each page's rendering as the wiki makes it
    /// (`action=parse`), for the reader (default true).
    #[serde(default = "yes")]
    pub render: bool,
    /// Files the wiki takes from a shared repository (Wikimedia Commons, a
    /// `ForeignAPIRepo`): `"record"` (default) keeps their names and
    /// hashes, `"copy"` downloads them too.
    #[serde(default)]
    pub foreign_files: ForeignFiles,
    /// HTTP Basic credentials for Special:OAIRepository, if it asks for them.
    pub oai_user: Option<String>,
    pub oai_password_file: Option<PathBuf>,
    pub oai_password_env: Option<String>,
}

/// `history = "full" | "current"`, or `true`/`false` as written before.
fn history_mode<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Mode {
        Flag(bool),
        Named(String),
    }
    match Mode::deserialize(d)? {
        Mode::Flag(full) => Ok(full),
        Mode::Named(name) => match name.as_str() {
            "full" => Ok(true),
            "current" => Ok(false),
            other => Err(serde::de::Error::custom(format!("history = {other:?}: use \"full\" (every revision) or \"current\""))),
        },
    }
}

impl WikiSettings {
    pub fn selection(&self) -> crate::mirror::pull::Selection {
        crate::mirror::pull::Selection {
            namespaces: self.namespaces.clone(),
            exclude_namespaces: self.exclude_namespaces.clone(),
            prefixes: self.prefixes.clone(),
            patterns: self.patterns.clone(),
            also: Default::default(),
        }
    }
}

fn yes() -> bool {
    true
}

/// `[wiki.NAME] foreign_files`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ForeignFiles {
    #[default]
    Record,
    Copy,
}

/// `[files]`: mirrored wikis' files.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FilesSettings {
    /// Where the files go; by default `DB.files` beside the database.
    pub dir: Option<PathBuf>,
    /// A file version larger than this is recorded, not downloaded.
    pub max_file_mb: u64,
    /// The most the files directory may hold in all; none by default.
    pub max_total_mb: Option<u64>,
    /// Downloads in flight to one host at once.
    pub max_downloads: usize,
    /// A bandwidth cap for downloads, KiB/s for the whole process; none by default.
    pub max_kib_per_sec: Option<u64>,
}

impl Default for FilesSettings {
    fn default() -> Self {
        FilesSettings { dir: None, max_file_mb: 100, max_total_mb: None, max_downloads: 2, max_kib_per_sec: None }
    }
}

/// `[harvest]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HarvestSettings {
    /// Sources harvested at once by `harvest` with no source named.
    pub jobs: usize,
    /// Requests in flight to one host at once, all sources on it together.
    pub max_requests: usize,
    /// Threads compressing metadata ahead of the writer, for the whole
    /// process; `None`: the cores but two, at most four (on two cores, one
    /// while several harvests run at once, else none).
    pub pack_threads: Option<usize>,
}

impl Default for HarvestSettings {
    fn default() -> Self {
        HarvestSettings { jobs: 4, max_requests: 1, pack_threads: None }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSettings {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// The most time waited between the attempts of one request, in seconds.
    pub max_total_wait_secs: u64,
    /// The first backoff in seconds; it doubles each retry.
    pub initial_backoff_secs: f64,
    /// Retry-After values above this many seconds are cut down to it.
    pub max_retry_after_secs: u64,
    /// Per attempt, body included.
    pub timeout_secs: u64,
    /// The most time one request may take in all, every attempt and wait included.
    pub deadline_secs: u64,
    /// The largest answer accepted, in MiB, as sent or decompressed (OAI-PMH
    /// and the MediaWiki API alike); a larger one is refused, not retried.
    pub max_body_mb: u64,
}

impl Default for HttpSettings {
    fn default() -> Self {
        let d = oai::RetryPolicy::default();
        HttpSettings {
            max_attempts: d.max_attempts,
            max_total_wait_secs: d.max_total_wait.as_secs(),
            initial_backoff_secs: d.initial_backoff.as_secs_f64(),
            max_retry_after_secs: d.max_retry_after.as_secs(),
            timeout_secs: 180,
            deadline_secs: d.deadline.as_secs(),
            max_body_mb: oai::client::MAX_BODY >> 20,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSettings {
    pub url: String,
    #[serde(default = "default_prefix")]
    pub prefix: String,
    pub set: Option<String>,
    pub window: Option<Window>,
    /// Harvest the range in this many slices at once (see `harvest --parallel`).
    pub parallel: Option<u32>,
    #[serde(default)]
    pub strict: bool,
    /// Whether the records' Dublin Core titles, creators, subjects and
    /// descriptions are indexed for the reader's search (default true).
    #[serde(default = "yes")]
    pub search: bool,
    /// HTTP Basic credentials for a repository that needs them: the user,
    /// and the password from a file (its first line) or a variable; never
    /// in the URL, where it would be shown wherever the URL is.
    pub user: Option<String>,
    pub password_file: Option<PathBuf>,
    pub password_env: Option<String>,
    /// When `oai-mirror run` harvests it: cron, 5 fields (or 6 with seconds).
    pub schedule: Option<String>,
    /// The schedule's time zone (IANA name); UTC by default.
    pub timezone: Option<String>,
}

fn default_prefix() -> String {
    "oai_dc".to_string()
}

impl Settings {
    /// The database path: the flag, else the environment or config file,
    /// else the user's data directory.
    pub fn db_path(&self, flag: Option<&Path>) -> anyhow::Result<PathBuf> {
        if let Some(p) = flag.map(Path::to_path_buf).or_else(|| self.db.clone()) {
            return Ok(p);
        }
        let dir = dirs::data_dir().context("no data directory for this user; pass --db PATH")?.join("oai-mirror");
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(dir.join("oai-mirror.sqlite"))
    }

    pub fn user_agent(&self) -> String {
        let base = format!("oai-mirror/{} (+https://crates.io/crates/oai-mirror", env!("CARGO_PKG_VERSION"));
        match &self.contact {
            Some(c) => format!("{base}; {c})"),
            None => format!("{base})"),
        }
    }

    /// The body limit in bytes, for both clients.
    pub fn max_body(&self) -> u64 {
        self.http.max_body_mb.max(1).saturating_mul(1 << 20)
    }

    pub fn retry_policy(&self) -> oai::RetryPolicy {
        oai::RetryPolicy {
            max_attempts: self.http.max_attempts.max(1),
            max_total_wait: Duration::from_secs(self.http.max_total_wait_secs),
            initial_backoff: Duration::from_secs_f64(self.http.initial_backoff_secs.max(0.0)),
            max_backoff: Duration::from_secs(300),
            max_retry_after: Duration::from_secs(self.http.max_retry_after_secs),
            deadline: Duration::from_secs(self.http.deadline_secs.max(1)),
        }
    }

    /// An OAI-PMH client's options as the settings give them, sharing no
    /// hosts' limits (`Connections::client_options` adds the process's).
    pub fn client_options(&self, strict: bool) -> oai::ClientOptions {
        oai::ClientOptions {
            user_agent: self.user_agent(),
            timeout: Duration::from_secs(self.http.timeout_secs),
            retry: self.retry_policy(),
            max_body: self.max_body(),
            strict,
            ..oai::ClientOptions::default()
        }
    }
}

#[cfg(test)]
mod tests;
