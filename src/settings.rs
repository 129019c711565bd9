//! The config file and the environment. Only this module knows the
//! `config` crate.
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

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::harvest::Window;
use crate::sync::plan::{ConflictPolicy, Target};

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
    /// A connection that neither sends nor takes a byte for this long is closed.
    pub client_timeout_secs: u64,
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
}

impl Default for DaemonSettings {
    fn default() -> Self {
        DaemonSettings { listen: "127.0.0.1:7878".into(), token_file: None, token_env: None, grace_secs: 60, check_wikis_secs: 300 }
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
    /// Fetch every revision between pulls through the API (OAI sends only the current one).
    #[serde(default)]
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
    /// HTTP Basic credentials for Special:OAIRepository, if it asks for them.
    pub oai_user: Option<String>,
    pub oai_password_file: Option<PathBuf>,
    pub oai_password_env: Option<String>,
}

impl WikiSettings {
    pub fn selection(&self) -> crate::mirror::pull::Selection {
        crate::mirror::pull::Selection {
            namespaces: self.namespaces.clone(),
            exclude_namespaces: self.exclude_namespaces.clone(),
            prefixes: self.prefixes.clone(),
            patterns: self.patterns.clone(),
        }
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
    /// When `oai-mirror run` harvests it: cron, 5 fields (or 6 with seconds).
    pub schedule: Option<String>,
    /// The schedule's time zone (IANA name); UTC by default.
    pub timezone: Option<String>,
}

fn default_prefix() -> String {
    "oai_dc".to_string()
}

impl Settings {
    /// Where the config file is: the flag, else `$OAI_MIRROR_CONFIG`, else
    /// the user's config directory if it has one.
    pub fn config_path(explicit: Option<&Path>) -> Option<PathBuf> {
        match explicit {
            Some(p) => Some(p.to_path_buf()),
            None => match std::env::var_os("OAI_MIRROR_CONFIG") {
                Some(p) => Some(PathBuf::from(p)),
                None => dirs::config_dir().map(|d| d.join("oai-mirror").join("config.toml")).filter(|p| p.exists()),
            },
        }
    }

    /// Reads the config file (if any) and the environment. Every problem
    /// of the file is reported at once, each with its line.
    pub fn load(explicit: Option<&Path>) -> anyhow::Result<Settings> {
        Settings::load_with(explicit, std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))))
    }

    /// [`Settings::load`] with the environment given.
    pub fn load_with(explicit: Option<&Path>, env: impl IntoIterator<Item = (String, String)>) -> anyhow::Result<Settings> {
        let path = Settings::config_path(explicit);
        let mut builder = config::Config::builder();
        let mut text = String::new();
        if let Some(p) = &path {
            text = match std::fs::read_to_string(p) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!("the config file {} does not exist", p.display()),
                Err(e) => return Err(e).with_context(|| format!("reading the config file {}", p.display())),
            };
            let problems = problems_in(&text);
            if !problems.is_empty() {
                let list: Vec<String> = problems.iter().map(|x| x.located(p)).collect();
                bail!("{} problem(s) in the config file:\n  {}", problems.len(), list.join("\n  "));
            }
            builder = builder.add_source(config::File::from_str(&text, config::FileFormat::Toml));
        }
        // After the file, so that the environment overrides it.
        let overrides = env_overrides(&text, env)?;
        for (key, _, value) in &overrides {
            builder = builder.set_override(key.as_str(), value.as_str()).with_context(|| format!("the environment's {key}"))?;
        }
        let shown = match (&path, overrides.is_empty()) {
            (Some(p), true) => p.display().to_string(),
            (Some(p), false) => format!("{} with the environment's {}", p.display(), overrides.iter().map(|o| o.1.as_str()).collect::<Vec<_>>().join(", ")),
            (None, _) => format!("the environment's {}", overrides.iter().map(|o| o.1.as_str()).collect::<Vec<_>>().join(", ")),
        };
        let built = builder.build().with_context(|| format!("reading {shown}"))?;
        let mut settings: Settings = built.try_deserialize().with_context(|| format!("in {shown}"))?;
        settings.path = path.clone();
        if let Some(dir) = path.as_deref().and_then(Path::parent) {
            settings.anchor_paths(dir, |key| overrides.iter().any(|o| o.0 == key));
        }
        Ok(settings)
    }

    /// Relative paths written in the config file are taken from the file's
    /// directory, as whoever keeps files beside it expects, whatever
    /// directory the program starts in (a service starts in `/`). A path
    /// given in the environment (`from_env` says which keys, as paths:
    /// `sync.NAME.checkout`) is relative to the working directory, like one
    /// given on the command line.
    fn anchor_paths(&mut self, dir: &Path, from_env: impl Fn(&str) -> bool) {
        let anchor = |path: &mut Option<PathBuf>, key: String| {
            if let Some(p) = path.as_mut()
                && p.is_relative()
                && !from_env(&key)
            {
                *p = dir.join(&*p);
            }
        };
        anchor(&mut self.db, "db".into());
        anchor(&mut self.daemon.token_file, "daemon.token_file".into());
        for (name, wiki) in &mut self.wiki {
            anchor(&mut wiki.password_file, format!("wiki.{name}.password_file"));
            anchor(&mut wiki.oai_password_file, format!("wiki.{name}.oai_password_file"));
        }
        for (name, sync) in &mut self.sync {
            anchor(&mut sync.checkout, format!("sync.{name}.checkout"));
            anchor(&mut sync.packages, format!("sync.{name}.packages"));
        }
    }

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

    /// The client options of `[wiki.NAME]`, the password read from its file
    /// or variable.
    pub fn wiki_options(&self, name: &str) -> anyhow::Result<crate::mediawiki::WikiOptions> {
        let w = self.wiki.get(name).with_context(|| format!("no [wiki.{name}] in the config"))?;
        if w.password.is_some() {
            bail!("[wiki.{name}] has a password in the config text: put it in a file (password_file) or an environment variable (password_env)");
        }
        let password = match (&w.password_file, &w.password_env) {
            (Some(f), None) => Some(read_password_file(f).with_context(|| format!("[wiki.{name}] password_file"))?),
            (None, Some(var)) => Some(std::env::var(var).with_context(|| format!("[wiki.{name}] password_env: ${var} is not set"))?),
            (None, None) => None,
            (Some(_), Some(_)) => bail!("[wiki.{name}] has both password_file and password_env: keep one"),
        };
        let mut o = crate::mediawiki::WikiOptions::new(name, &w.api);
        o.user_agent = self.user_agent();
        o.max_body = self.max_body();
        // [http] is every client's: a wiki's requests retry as a repository's do.
        o.max_attempts = self.http.max_attempts.max(1);
        o.initial_backoff = Duration::from_secs_f64(self.http.initial_backoff_secs.max(0.0));
        o.timeout = Duration::from_secs(self.http.timeout_secs.max(1));
        o.login = match (&w.user, password) {
            (Some(u), Some(p)) => Some((u.clone(), crate::mediawiki::Secret::new(p))),
            (None, None) => None,
            (Some(_), None) => bail!("[wiki.{name}] has a user but no password_file or password_env"),
            (None, Some(_)) => bail!("[wiki.{name}] has a password but no user"),
        };
        Ok(o)
    }

    /// The control endpoint's token.
    pub fn daemon_token(&self) -> anyhow::Result<String> {
        secret(self.daemon.token_file.as_deref(), self.daemon.token_env.as_deref(), "[daemon]")?
            .context("the control endpoint needs a token: set [daemon] token_file or token_env")
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

impl NotifySettings {
    /// The token the mirror below wants, if it wants one.
    pub fn token(&self) -> anyhow::Result<Option<String>> {
        secret(self.token_file.as_deref(), self.token_env.as_deref(), "[[serve.notify]]")
    }
}

/// The top-level keys: an environment variable names one of these first.
const TOP_LEVEL: &[&str] = &["db", "contact", "http", "harvest", "source", "wiki", "sync", "group", "daemon", "serve"];
/// The tables whose second level is a NAME the user chose.
const NAMED_TABLES: &[&str] = &["source", "wiki", "sync", "group"];

/// The config keys the environment sets: `OAI_MIRROR_DB` is `db`,
/// `OAI_MIRROR_HTTP__MAX_ATTEMPTS` is `http.max_attempts`,
/// `OAI_MIRROR_SOURCE__ARXIV_CS__SET` is `source.arxiv-cs.set` when the file
/// has a `[source.arxiv-cs]` (an environment name cannot hold a `-`, so a
/// NAME matches whatever its case and with `_` for `-`). Variables of the
/// prefix that are no key (`OAI_MIRROR_CONFIG`, a token named in
/// `token_env`) are not config; one with `__` that names no table is an
/// error, not silently ignored. Returns (key, variable, value).
fn env_overrides(file_text: &str, env: impl IntoIterator<Item = (String, String)>) -> anyhow::Result<Vec<(String, String, String)>> {
    let file: toml::Table = file_text.parse().unwrap_or_default();
    let mut out = Vec::new();
    for (variable, value) in env {
        let Some(rest) = variable.strip_prefix("OAI_MIRROR_") else { continue };
        let parts: Vec<String> = rest.split("__").map(str::to_lowercase).collect();
        if !TOP_LEVEL.contains(&parts[0].as_str()) {
            if parts.len() > 1 {
                bail!("the environment variable {variable} names `{}`, which is no part of the config (its tables: {})", parts[0], TOP_LEVEL.join(", "));
            }
            continue;
        }
        let mut key = parts.clone();
        if NAMED_TABLES.contains(&parts[0].as_str())
            && let Some(given) = parts.get(1)
            && let Some(toml::Value::Table(names)) = file.get(&parts[0])
            && let Some(name) = names.keys().find(|n| n.to_lowercase().replace('-', "_") == given.replace('-', "_"))
        {
            key[1] = name.clone();
        }
        out.push((key.join("."), variable, value));
    }
    out.sort();
    Ok(out)
}

/// A problem of the config file, at its line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileProblem {
    pub line: Option<usize>,
    pub message: String,
}

impl FileProblem {
    /// `PATH:LINE: message`, as compilers write it.
    pub fn located(&self, path: &Path) -> String {
        match self.line {
            Some(l) => format!("{}:{l}: {}", path.display(), self.message),
            None => format!("{}: {}", path.display(), self.message),
        }
    }
}

/// Every problem of a config file's text, each with its line: TOML that
/// does not parse (one error: what follows it cannot be trusted), unknown
/// keys and tables at every level, values of the wrong type, missing keys.
/// The TOML deserializer stops at the first; each problem's lines are
/// blanked (its whole table, for a table header) and the text read again,
/// so one run reports them all.
pub fn problems_in(text: &str) -> Vec<FileProblem> {
    let line_at = |text: &str, offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    if let Err(e) = text.parse::<toml::Table>() {
        return vec![FileProblem { line: e.span().map(|s| line_at(text, s.start)), message: e.message().trim().to_string() }];
    }
    let mut text = text.to_string();
    let mut out = Vec::new();
    // Each round blanks at least one line, so this ends; the bound is a guard.
    for _ in 0..=text.lines().count() {
        let Err(e) = toml::from_str::<Settings>(&text) else { break };
        let Some(span) = e.span() else {
            out.push(FileProblem { line: None, message: e.message().trim().to_string() });
            break;
        };
        let (first, last) = (line_at(&text, span.start), line_at(&text, span.end.saturating_sub(1).max(span.start)));
        let lines: Vec<&str> = text.lines().collect();
        let header_line = |n: usize| lines.get(n - 1).is_some_and(|l| l.trim_start().starts_with('['));
        let table = (1..=first).rev().find(|&n| header_line(n)).map(|n| lines[n - 1].trim().trim_start_matches('[').trim_end_matches(']').to_string());
        let message = e.message().trim().to_string();
        let message = match table.filter(|_| !header_line(first)) {
            Some(t) => format!("[{t}] {message}"),
            None => message,
        };
        out.push(FileProblem { line: Some(first), message });
        // A table header's problem takes the table's lines with it, so
        // its keys are not read as the previous table's.
        let last = if header_line(first) { (first + 1..=lines.len()).find(|&n| header_line(n)).map_or(lines.len(), |n| n - 1) } else { last.max(first) };
        let blanked: String = text
            .split_inclusive('\n')
            .enumerate()
            .map(|(i, l)| if (first..=last).contains(&(i + 1)) { if l.ends_with('\n') { "\n".to_string() } else { String::new() } } else { l.to_string() })
            .collect();
        if blanked == text {
            break;
        }
        text = blanked;
    }
    out.sort_by_key(|p| p.line);
    out
}

/// A secret named in the config by a file (its first line) or an
/// environment variable; `None` when neither is given. `what` names the
/// table for the error.
pub fn secret(file: Option<&Path>, env: Option<&str>, what: &str) -> anyhow::Result<Option<String>> {
    match (file, env) {
        (Some(f), _) => read_password_file(f).with_context(|| format!("{what} token_file")).map(Some),
        (None, Some(v)) => std::env::var(v).map(Some).with_context(|| format!("{what} token_env: ${v} is not set")),
        (None, None) => Ok(None),
    }
}

/// A password file's first line, without its line ending.
pub fn read_password_file(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let line = text.lines().next().unwrap_or_default().to_string();
    if line.is_empty() {
        bail!("{} is empty", path.display());
    }
    Ok(line)
}

#[cfg(test)]
mod tests;
