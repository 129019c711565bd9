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

#[derive(Clone, Debug, Default, Deserialize)]
pub struct Settings {
    /// The database file.
    pub db: Option<PathBuf>,
    /// Who runs this harvester; sent in the User-Agent so repository
    /// operators can reach a person (a URL or an address).
    pub contact: Option<String>,
    #[serde(default)]
    pub http: HttpSettings,
    /// `[source.NAME]` tables.
    #[serde(default)]
    pub source: BTreeMap<String, SourceSettings>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct HttpSettings {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// The most time waited between the attempts of one request, in seconds.
    pub max_total_wait_secs: u64,
    /// The first backoff in seconds; it doubles each retry.
    pub initial_backoff_secs: f64,
    /// Retry-After values above this many seconds are cut down to it.
    pub max_retry_after_secs: u64,
    /// Per request, body included.
    pub timeout_secs: u64,
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
    #[serde(default)]
    pub strict: bool,
    /// Accepted for the daemon (a later release); not used by `harvest`.
    pub schedule: Option<String>,
}

fn default_prefix() -> String {
    "oai_dc".to_string()
}

impl Settings {
    /// Reads the config file (if any) and the environment.
    pub fn load(explicit: Option<&Path>) -> anyhow::Result<Settings> {
        let path = match explicit {
            Some(p) => Some(p.to_path_buf()),
            None => match std::env::var_os("OAI_MIRROR_CONFIG") {
                Some(p) => Some(PathBuf::from(p)),
                None => dirs::config_dir().map(|d| d.join("oai-mirror").join("config.toml")).filter(|p| p.exists()),
            },
        };
        let mut builder = config::Config::builder();
        if let Some(p) = &path {
            if !p.exists() {
                bail!("the config file {} does not exist", p.display());
            }
            builder = builder.add_source(config::File::from(p.as_path()).format(config::FileFormat::Toml));
        }
        // After the file, so that the environment overrides it. The prefix
        // separator stays "_" (OAI_MIRROR_DB), nesting uses "__".
        builder = builder.add_source(
            config::Environment::with_prefix("OAI_MIRROR").prefix_separator("_").separator("__").try_parsing(true),
        );
        let shown = path.as_ref().map_or("the environment".to_string(), |p| p.display().to_string());
        let built = builder.build().with_context(|| format!("reading {shown}"))?;
        built.try_deserialize().with_context(|| format!("in {shown}"))
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

    pub fn retry_policy(&self) -> oai::RetryPolicy {
        oai::RetryPolicy {
            max_attempts: self.http.max_attempts.max(1),
            max_total_wait: Duration::from_secs(self.http.max_total_wait_secs),
            initial_backoff: Duration::from_secs_f64(self.http.initial_backoff_secs.max(0.0)),
            max_backoff: Duration::from_secs(300),
            max_retry_after: Duration::from_secs(self.http.max_retry_after_secs),
        }
    }

    pub fn client_options(&self, strict: bool) -> oai::ClientOptions {
        oai::ClientOptions {
            user_agent: self.user_agent(),
            timeout: Duration::from_secs(self.http.timeout_secs),
            retry: self.retry_policy(),
            strict,
            ..oai::ClientOptions::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_come_from_the_file_with_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "db = \"x.sqlite\"\n[source.zenodo]\nurl = \"https://zenodo.org/oai2d\"\nset = \"user-x\"\nwindow = \"month\"\n[http]\nmax_attempts = 3\n").unwrap();
        let s = Settings::load(Some(&path)).unwrap();
        let z = &s.source["zenodo"];
        assert_eq!((z.url.as_str(), z.prefix.as_str(), z.set.as_deref(), z.window), ("https://zenodo.org/oai2d", "oai_dc", Some("user-x"), Some(Window::Month)));
        assert_eq!(s.http.max_attempts, 3);
        assert_eq!(s.http.timeout_secs, 180);
        assert_eq!(s.db_path(None).unwrap(), PathBuf::from("x.sqlite"));
        assert_eq!(s.db_path(Some(Path::new("y"))).unwrap(), PathBuf::from("y"));
    }

    #[test]
    fn unknown_keys_in_a_source_are_refused_with_the_file_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[source.a]\nurl = \"http://x\"\nprefx = \"marc\"\n").unwrap();
        let e = format!("{:#}", Settings::load(Some(&path)).unwrap_err());
        assert!(e.contains("prefx") && e.contains("c.toml"), "{e}");
    }

    #[test]
    fn a_missing_explicit_file_is_an_error() {
        assert!(Settings::load(Some(Path::new("/nonexistent/oai-mirror.toml"))).is_err());
    }
}
