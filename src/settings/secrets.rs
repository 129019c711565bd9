//! Secrets: passwords and tokens read from files or variables when a run
//! needs them, never from the config text.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};

use super::{NotifySettings, Settings};

/// The shortest token the control endpoint accepts, in bytes.
pub const MIN_TOKEN: usize = 16;

impl Settings {
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
    /// Refused when shorter than [`MIN_TOKEN`] bytes: an empty or short
    /// token would open the console and the triggers to anyone who guesses.
    pub fn daemon_token(&self) -> anyhow::Result<String> {
        let token = secret(self.daemon.token_file.as_deref(), self.daemon.token_env.as_deref(), "[daemon]")?
            .context("the control endpoint needs a token: set [daemon] token_file or token_env")?;
        let from = match (&self.daemon.token_file, &self.daemon.token_env) {
            (Some(f), _) => format!("token_file {}", f.display()),
            (None, Some(v)) => format!("token_env ${v}"),
            (None, None) => "the token".into(),
        };
        if token.trim().len() < MIN_TOKEN {
            bail!(
                "[daemon] {from} holds a token of {} bytes; at least {MIN_TOKEN} are needed (make one with `head -c 32 /dev/urandom | base64`)",
                token.trim().len()
            );
        }
        Ok(token)
    }
}

impl NotifySettings {
    /// The token the mirror below wants, if it wants one.
    pub fn token(&self) -> anyhow::Result<Option<String>> {
        secret(self.token_file.as_deref(), self.token_env.as_deref(), "[[serve.notify]]")
    }
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
