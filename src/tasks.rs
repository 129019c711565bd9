//! One run of each kind of job, from the settings: harvest a `[source.*]`,
//! mirror a `[wiki.*]`, sync a `[sync.*]`. Shared by the command line and
//! the daemon, so both do exactly the same.

use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use checkpoints::{SourceKey, Store};

use crate::harvest::{self, HarvestRequest, Progress, Summary};
use crate::mediawiki::Wiki;
use crate::mirror::pull::{self, Feed, PullOptions, PullSummary};
use crate::settings::Settings;
use crate::sync::peer::{Checkout, Peer, Side};
use crate::sync::run::{self, Report, SyncOptions};

/// Harvests `[source.NAME]` incrementally.
pub async fn harvest_source(settings: &Settings, store: Arc<Mutex<Store>>, name: &str, progress: Arc<dyn Progress>) -> anyhow::Result<Summary> {
    let s = settings.source.get(name).with_context(|| format!("no [source.{name}] in the config"))?;
    let client = oai::Client::new(&s.url, settings.client_options(s.strict))?;
    let request = HarvestRequest {
        source: SourceKey { base_url: s.url.clone(), metadata_prefix: s.prefix.clone(), set_spec: s.set.clone() },
        from: None,
        until: None,
        full: false,
        window: s.window,
    };
    harvest::harvest(store, &client, &request, progress).await.with_context(|| format!("harvesting [source.{name}]"))
}

/// The feed a wiki is pulled through: the one asked for, else its config's,
/// else OAI when it has an `oai` URL.
pub fn feed_of(settings: &Settings, name: &str, asked: Option<Feed>) -> anyhow::Result<Feed> {
    let w = settings.wiki.get(name).with_context(|| format!("no [wiki.{name}] in the config"))?;
    Ok(asked.or(w.feed).unwrap_or(if w.oai.is_some() { Feed::Oai } else { Feed::Api }))
}

/// Pulls `[wiki.NAME]` once into the mirror.
pub async fn mirror_wiki(settings: &Settings, store: Arc<Mutex<Store>>, name: &str, feed: Option<Feed>) -> anyhow::Result<PullSummary> {
    let w = settings.wiki.get(name).with_context(|| format!("no [wiki.{name}] in the config"))?;
    let feed = feed_of(settings, name, feed)?;
    let opts = PullOptions { wiki: name.to_string(), selection: w.selection(), history: w.history };
    let wiki = Wiki::new(settings.wiki_options(name)?)?;
    let oai = settings.wiki_oai_client(name)?;
    pull::pull(store, &wiki, feed, oai.as_ref(), &opts).await.with_context(|| format!("mirroring [wiki.{name}]"))
}

/// Runs `[sync.NAME]` once.
pub async fn sync_pair(settings: &Settings, store: Arc<Mutex<Store>>, name: &str, dry_run: bool) -> anyhow::Result<Report> {
    let s = settings.sync.get(name).with_context(|| format!("no [sync.{name}] in the config"))?;
    let opts = SyncOptions { name: name.to_string(), policy: s.conflicts, prefer: s.prefer, dry_run };
    let names: Vec<&str> = match (&s.with, &s.checkout) {
        (Some(with), None) => vec![s.wiki.as_str(), with.as_str()],
        (None, Some(_)) => vec![s.wiki.as_str()],
        _ => bail!("[sync.{name}] needs exactly one of `with` (another [wiki.*]) and `checkout` (a directory)"),
    };
    let mut clients = Vec::new();
    for n in names {
        let w = settings.wiki.get(n).with_context(|| format!("[sync.{name}] names wiki {n:?}, which has no [wiki.{n}]"))?;
        let wiki = Wiki::new(settings.wiki_options(n)?)?;
        clients.push((wiki, settings.wiki_oai_client(n)?, feed_of(settings, n, None)?, PullOptions { wiki: n.to_string(), selection: w.selection(), history: w.history }));
    }
    let side = |i: usize| Side { wiki: &clients[i].0, oai: clients[i].1.as_ref(), feed: clients[i].2, pull: clients[i].3.clone() };
    let wiki = side(0);
    let result = match &s.checkout {
        Some(dir) => {
            let selection = clients[0].3.selection.clone();
            // A new file's namespace is read from its title's prefix, in the wiki's own names.
            let site = if selection.names_namespaces() {
                Some(clients[0].0.siteinfo().await.with_context(|| format!("reading the namespaces of [wiki.{}]", s.wiki))?)
            } else {
                None
            };
            let checkout = Checkout::new(dir.clone(), name, selection, site);
            run::run(store, &wiki, Peer::Checkout(&checkout), &opts).await
        }
        None => run::run(store, &wiki, Peer::Wiki(&side(1)), &opts).await,
    };
    result.with_context(|| format!("syncing [sync.{name}]"))
}
