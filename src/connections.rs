//! The live connections of one process: the OAI-PMH clients' shared
//! politeness (`oai::Hosts`: requests in flight per host, a host's
//! `Retry-After` for all), and the wiki clients with their logins.
//!
//! Configuration is data, connections are state: [`Settings`] says what the
//! files and the environment say, and nothing in it is live. A command or
//! the daemon builds one `Connections` from the settings, once, and passes
//! it down; every run of the process then shares its hosts' limits, and
//! the daemon's runs keep each wiki's session instead of logging in again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};

use crate::mediawiki::Wiki;
use crate::settings::{Settings, read_password_file};
use crate::util::lock;

pub struct Connections {
    /// The settings the clients are made from (a copy: settings are data).
    settings: Arc<Settings>,
    /// Shared by every OAI-PMH client made here.
    hosts: oai::Hosts,
    /// The client of each `[wiki.NAME]`, made on first use and kept.
    wikis: Mutex<HashMap<String, Arc<Wiki>>>,
    /// Shared by every files pass: downloads per host, the bandwidth cap.
    downloads: crate::mirror::files::Downloads,
}

impl std::fmt::Debug for Connections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connections").field("hosts", &self.hosts).finish_non_exhaustive()
    }
}

impl Connections {
    pub fn new(settings: Arc<Settings>) -> Connections {
        let hosts = oai::Hosts::new(settings.harvest.max_requests);
        let f = &settings.files;
        let downloads = crate::mirror::files::Downloads::new(f.max_downloads, f.max_kib_per_sec.map(|k| k.saturating_mul(1024)));
        Connections { settings, hosts, wikis: Mutex::new(HashMap::new()), downloads }
    }

    /// The downloads of files of this process (their limits per host and cap).
    pub fn downloads(&self) -> &crate::mirror::files::Downloads {
        &self.downloads
    }

    /// The options of an OAI-PMH client of this process: the settings'
    /// (`Settings::client_options`), sharing this process's hosts.
    pub fn client_options(&self, strict: bool) -> oai::ClientOptions {
        oai::ClientOptions { hosts: Some(self.hosts.clone()), ..self.settings.client_options(strict) }
    }

    /// The client of `[wiki.NAME]`: the same one for every run of this
    /// process, so that its session (login, tokens) lives from run to run;
    /// a session the wiki forgot is logged into again by the client.
    pub fn wiki(&self, name: &str) -> anyhow::Result<Arc<Wiki>> {
        let mut clients = lock(&self.wikis);
        if let Some(client) = clients.get(name) {
            return Ok(client.clone());
        }
        let client = Arc::new(Wiki::new(self.settings.wiki_options(name)?)?);
        clients.insert(name.to_string(), client.clone());
        Ok(client)
    }

    /// The OAI client of `[wiki.NAME]`, if it has an `oai` URL.
    pub fn wiki_oai(&self, name: &str) -> anyhow::Result<Option<oai::Client>> {
        let w = self.settings.wiki.get(name).with_context(|| format!("no [wiki.{name}] in the config"))?;
        let Some(url) = &w.oai else { return Ok(None) };
        let mut options = self.client_options(false);
        if let Some(user) = &w.oai_user {
            let password = match (&w.oai_password_file, &w.oai_password_env) {
                (Some(f), _) => read_password_file(f).with_context(|| format!("[wiki.{name}] oai_password_file"))?,
                (None, Some(v)) => std::env::var(v).with_context(|| format!("[wiki.{name}] oai_password_env: ${v} is not set"))?,
                (None, None) => bail!("[wiki.{name}] has oai_user but no oai_password_file or oai_password_env"),
            };
            options.basic_auth = Some((user.clone(), password));
        }
        Ok(Some(oai::Client::new(url, options).with_context(|| format!("[wiki.{name}] oai"))?))
    }
}
