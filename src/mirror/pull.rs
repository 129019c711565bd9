//! One pull of a wiki: read its feed from the checkpoint on, turn what
//! changed into `Incoming` pages, plan each batch and apply it with the
//! feed's position in one transaction.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use checkpoints::{FeedState, PageRow, RevisionRow, Store};

use super::export::{self, ExportPage};
use super::plan::{self, Incoming};
use crate::mediawiki::{Change, PageRef, PageState, Wiki};
use crate::util::lock;

/// Which change feed a pull reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Feed {
    /// Special:OAIRepository, metadataPrefix `mediawiki`.
    Oai,
    /// The action API: recentchanges (log entries included).
    Api,
}

impl Feed {
    pub fn as_str(self) -> &'static str {
        match self {
            Feed::Oai => "oai",
            Feed::Api => "api",
        }
    }
}

/// Which pages are mirrored. Empty lists select everything.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Selection {
    /// Only these namespaces.
    pub namespaces: Vec<i64>,
    pub exclude_namespaces: Vec<i64>,
    /// Titles (with their namespace prefix) starting with one of these.
    pub prefixes: Vec<String>,
    /// Titles matching one of these patterns (`*` any run, `?` one character).
    pub patterns: Vec<String>,
    /// Titles selected whatever the rules say: the File: pages of the files
    /// the selected pages use, with `used_files = true` (read from the
    /// store when a pull starts; never in a config).
    #[serde(skip)]
    pub also: BTreeSet<String>,
}

impl Selection {
    /// Whether some namespaces are chosen or left out.
    pub fn names_namespaces(&self) -> bool {
        !self.namespaces.is_empty() || !self.exclude_namespaces.is_empty()
    }

    /// Whether a title could be selected, whatever its namespace (change
    /// feed entries for moves and deletions do not all carry one).
    pub fn may_include(&self, title: &str) -> bool {
        if self.prefixes.is_empty() && self.patterns.is_empty() || self.also.contains(title) {
            return true;
        }
        self.prefixes.iter().any(|p| title.starts_with(p.as_str())) || self.patterns.iter().any(|p| glob(p, title))
    }

    /// Whether pages of namespace `ns` may be selected.
    pub fn includes_namespace(&self, ns: i64) -> bool {
        (self.namespaces.is_empty() || self.namespaces.contains(&ns)) && !self.exclude_namespaces.contains(&ns)
    }

    pub fn includes(&self, ns: i64, title: &str) -> bool {
        self.also.contains(title) || self.includes_namespace(ns) && self.may_include(title)
    }
}

/// `*` matches any run of characters, `?` one character.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Which revisions of its pages a mirror keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum History {
    /// Each page's current revision, as the feed shows it.
    #[default]
    Current,
    /// Every revision each page had (`history = "full"`).
    Full,
    /// Every revision from the mirror's first pull with history on: the
    /// pages stored then start their history at their current revision,
    /// pages new since are read whole. What a replaying sync needs (the
    /// revisions after each pair's base), without reading a wiki's past.
    Onward,
}

/// How to pull one wiki.
#[derive(Clone, Debug)]
pub struct PullOptions {
    /// The `[wiki.NAME]` the pages are stored under.
    pub wiki: String,
    pub selection: Selection,
    /// Which revisions are kept: each page's current one, or also those
    /// before it, read after the feed by the history pass (`mirror::history`).
    pub history: History,
    /// Also the File: pages of the files the selected pages use
    /// (`used_files = true`, `mirror::uses`).
    pub used_files: bool,
}

/// What a pull did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct PullSummary {
    pub feed: &'static str,
    /// Requests to the feed (OAI) or the API.
    pub requests: u64,
    pub pages_seen: u64,
    #[serde(flatten)]
    pub counts: super::plan::Counts,
    pub batches: u64,
    /// Whether anything was written to the store.
    pub wrote: bool,
    /// What the history pass did, with full history.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<super::history::HistorySummary>,
    /// Pages whose revision was compared with the wiki's because its recent
    /// changes no longer reached back to the last pull.
    #[serde(skip_serializing_if = "is_zero")]
    pub compared: u64,
    /// What the files pass did, unless `files = false`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<super::files::FilesSummary>,
    /// What the render pass did, with `render = true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub render: Option<super::render::RenderSummary>,
}

/// Plans a batch against the store and applies it with `feed`'s new state.
/// When the pull has written nothing so far and this batch changes nothing
/// either (pages seen again at a feed's inclusive boundary), the feed state
/// is not written: an idle pull writes nothing, and the next one starts
/// from the same place.
///
/// Planning and the transaction run on a blocking thread: a batch is
/// hundreds of pages and a commit waits for the disk, which must not hold
/// up the async workers (the daemon's control endpoint among them).
pub(super) async fn apply(
    store: &Arc<Mutex<Store>>,
    wiki: &str,
    incoming: Vec<Incoming>,
    feed: Option<(&'static str, FeedState)>,
    summary: &mut PullSummary,
) -> anyhow::Result<()> {
    let (store, wiki, mut tally) = (store.clone(), wiki.to_string(), summary.clone());
    let span = tracing::Span::current();
    let tally = tokio::task::spawn_blocking(move || {
        span.in_scope(|| apply_batch(&store, &wiki, incoming, feed.as_ref().map(|(name, state)| (*name, state)), &mut tally))?;
        anyhow::Ok(tally)
    })
    .await
    .context("applying a batch panicked")??;
    *summary = tally;
    Ok(())
}

fn apply_batch(store: &Mutex<Store>, wiki: &str, incoming: Vec<Incoming>, feed: Option<(&str, &FeedState)>, summary: &mut PullSummary) -> anyhow::Result<()> {
    let (ids, titles) = plan::lookup_keys(&incoming);
    let mut s = lock(store);
    let (rows, occupants) = s.wiki_lookup(wiki, &ids, &titles)?;
    let known = plan::known_from(rows);
    let plan = plan::plan(&known, &occupants, incoming);
    for m in &plan.moves {
        tracing::info!(wiki, page = m.pageid, from = %m.from.1, to = %m.to.1, "move");
    }
    if plan.is_empty() && (feed.is_none() || !summary.wrote) {
        return Ok(());
    }
    s.apply_wiki_batch(wiki, &plan.ops, feed, chrono::Utc::now().timestamp()).with_context(|| format!("applying a batch of {} pages", ids.len()))?;
    summary.wrote = true;
    summary.batches += 1;
    summary.counts.add(&plan);
    Ok(())
}

/// What the wiki says of itself, as kept in the store.
pub fn wiki_site(site: &crate::mediawiki::SiteInfo) -> checkpoints::WikiSite {
    checkpoints::WikiSite {
        sitename: site.sitename.clone(),
        dbname: site.dbname.clone(),
        base: site.base.clone(),
        generator: site.generator.clone(),
        case: site.case.clone(),
        namespaces: site.namespaces.iter().map(|ns| checkpoints::SiteNamespace { id: ns.id, case: ns.case.clone(), name: ns.name.clone() }).collect(),
    }
}

/// Turns the API's view of pages into incoming states (pages out of the
/// selection leave the mirror as if deleted).
pub(super) fn incoming_from_states(states: Vec<PageState>, opts: &PullOptions, requested: &[u64]) -> Vec<(Incoming, Option<RevisionRow>)> {
    let mut out = Vec::new();
    let mut answered = BTreeSet::new();
    for st in states {
        let Some(id) = st.pageid else { continue };
        answered.insert(id);
        let row = st.revision.as_ref().and_then(super::history::row);
        if st.missing || st.invalid || !opts.selection.includes(st.ns, &st.title) || row.is_none() {
            out.push((Incoming::Deleted { pageid: id }, None));
            continue;
        }
        let rev = row.clone().expect("checked above");
        let redirect = st.redirect.then(|| redirect_target(&rev.text)).flatten();
        let page = PageRow { pageid: id, ns: st.ns, title: st.title, redirect, displaced: false, rev_id: rev.revid };
        out.push((Incoming::Present { page, revisions: vec![] }, row));
    }
    // Ids the API did not mention at all are gone.
    out.extend(requested.iter().filter(|id| !answered.contains(id)).map(|id| (Incoming::Deleted { pageid: *id }, None)));
    out
}

/// `#REDIRECT [[Target]]` → `Target`.
fn redirect_target(text: &str) -> Option<String> {
    let start = text.find("[[")? + 2;
    let end = start + text[start..].find("]]")?;
    let target = text[start..end].split('|').next()?.split('#').next()?.trim();
    (!target.is_empty()).then(|| target.to_string())
}

/// Pages of at most this many ids are planned and applied together.
const BATCH: usize = 50;

/// Pulls a wiki once through `feed`: the API, or OAI through `oai`.
#[tracing::instrument(name = "pull", skip_all, fields(wiki = %opts.wiki, feed = feed.as_str()))]
pub async fn pull(store: Arc<Mutex<Store>>, wiki: &Wiki, feed: Feed, oai: Option<&oai::Client>, opts: &PullOptions) -> anyhow::Result<PullSummary> {
    // The used files' pages are followed as selected ones.
    let with_used;
    let opts = if opts.used_files {
        let mut o = opts.clone();
        o.selection.also = lock(&store).used_file_titles(&opts.wiki)?;
        with_used = o;
        &with_used
    } else {
        opts
    };
    let mut summary = read_feed(&store, wiki, feed, oai, opts).await?;
    // The feed stores each page's current revision; with history the pass
    // after it reads what came before, a chunk at a time.
    if opts.history == History::Onward {
        lock(&store).start_history_here(&opts.wiki, chrono::Utc::now().timestamp())?;
    }
    if opts.history != History::Current {
        let before = wiki.requests();
        let history = super::history::fill(&store, wiki, &opts.wiki).await?;
        summary.wrote |= history.revisions > 0;
        summary.history = Some(history);
        summary.requests += wiki.requests() - before;
    }
    Ok(summary)
}

async fn read_feed(store: &Arc<Mutex<Store>>, wiki: &Wiki, feed: Feed, oai: Option<&oai::Client>, opts: &PullOptions) -> anyhow::Result<PullSummary> {
    match feed {
        Feed::Api => pull_api(store.clone(), wiki, opts).await,
        Feed::Oai => {
            let client = oai.with_context(|| format!("[wiki.{}] has no `oai` URL; use the api feed", opts.wiki))?;
            pull_oai(store.clone(), client, opts).await
        }
    }
}

/// How far back each API pull reads changes again (see `pull_api`).
const FEED_OVERLAP_SECS: i64 = 120;

/// A checkpoint's timestamp moved back by the overlap (unchanged if unreadable).
fn overlapped(timestamp: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(timestamp) {
        Ok(t) => (t.with_timezone(&chrono::Utc) - chrono::Duration::seconds(FEED_OVERLAP_SECS)).format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        Err(_) => timestamp.to_string(),
    }
}

/// Where an API pull goes on from (`wiki_feed.next_from` of the `api`
/// feed): the server's clock at the start of the last pull, and which of
/// the changes the next pull reads again (its overlap) were handled.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ApiCheckpoint {
    start: String,
    handled: Handled,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Handled {
    /// The rcids seen in the overlap: "START|seen:R1,R2".
    Seen(BTreeSet<u64>),
    /// Written before: "START|RCID", every rcid up to RCID taken as
    /// handled. Wrong where a slow edit's row, with a smaller rcid, became
    /// visible after a larger one (MySQL hands out ids at insert, rows show
    /// at commit); read once, then replaced.
    UpTo(u64),
}

impl ApiCheckpoint {
    fn parse(text: &str) -> ApiCheckpoint {
        let (start, handled) = text.split_once('|').unwrap_or((text, ""));
        let handled = match handled.strip_prefix("seen:") {
            Some(list) => Handled::Seen(list.split(',').filter_map(|r| r.parse().ok()).collect()),
            None => Handled::UpTo(handled.parse().unwrap_or(0)),
        };
        ApiCheckpoint { start: start.to_string(), handled }
    }

    /// The checkpoint after a pull that started at `start` and read these
    /// changes (rcid, timestamp): it keeps those the next pull reads again.
    fn after<'a>(start: &str, read: impl IntoIterator<Item = (u64, &'a str)>) -> ApiCheckpoint {
        let next_window = overlapped(start);
        let seen = read.into_iter().filter(|(_, at)| *at >= next_window.as_str()).map(|(rcid, _)| rcid).collect();
        ApiCheckpoint { start: start.to_string(), handled: Handled::Seen(seen) }
    }

    fn was_handled(&self, rcid: u64) -> bool {
        match &self.handled {
            Handled::Seen(seen) => seen.contains(&rcid),
            Handled::UpTo(max) => rcid <= *max,
        }
    }
}

impl std::fmt::Display for ApiCheckpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.handled {
            Handled::Seen(seen) => {
                let list: Vec<String> = seen.iter().map(u64::to_string).collect();
                write!(f, "{}|seen:{}", self.start, list.join(","))
            }
            Handled::UpTo(max) => write!(f, "{}|{max}", self.start),
        }
    }
}

/// Pulls a wiki through its action API.
pub async fn pull_api(store: Arc<Mutex<Store>>, wiki: &Wiki, opts: &PullOptions) -> anyhow::Result<PullSummary> {
    let mut summary = PullSummary { feed: "api", ..Default::default() };
    let before = wiki.requests();
    let state = lock(&store).wiki_feed(&opts.wiki, "api")?;
    // MediaWiki writes a change's recentchanges row after it answers the
    // edit, so a row can appear later than changes already read, with an
    // earlier timestamp. Each pull reads the last FEED_OVERLAP_SECS again,
    // and the checkpoint tells which of those rows were handled.
    let last = state.next_from.as_deref().map(ApiCheckpoint::parse);
    let since = last.as_ref().map(|c| overlapped(&c.start));
    let mut read: Vec<(u64, String)> = Vec::new();
    // What the wiki says of itself goes into packages and served records:
    // read on the first pull, and once where the store lacks it.
    let site = if since.is_none() || lock(&store).wiki_site(&opts.wiki)?.is_none() {
        let site = wiki.siteinfo().await?;
        lock(&store).save_wiki_site(&opts.wiki, &wiki_site(&site), chrono::Utc::now().timestamp())?;
        Some(site)
    } else {
        None
    };
    let (ids, start) = match &since {
        None => {
            // First pull: every page of the selected namespaces.
            let site = site.context("the site information was read")?;
            let start = site.server_time.clone().context("the wiki did not say its time")?;
            let mut ids = Vec::new();
            for ns in site.namespaces.iter().filter(|n| n.id >= 0 && opts.selection.includes_namespace(n.id)) {
                ids.extend(wiki.all_page_ids(ns.id).await?);
            }
            (ids, start)
        }
        // The wiki no longer lists changes as far back as the last pull
        // (a dump older than its recent changes, or a mirror left for
        // months): every page's revision is compared instead, and only the
        // pages whose revision differs are read. Never a change missed.
        Some(since) if lists_changes_since(wiki, since).await? == Some(false) => {
            let site = match site {
                Some(site) => site,
                None => wiki.siteinfo().await?,
            };
            let start = site.server_time.clone().context("the wiki did not say its time")?;
            tracing::warn!(since = %since, "the wiki's recent changes no longer reach back to the last pull: comparing every page's revision instead");
            let stored: std::collections::HashMap<u64, Option<u64>> =
                lock(&store).wiki_pages(&opts.wiki)?.into_iter().filter(|p| !p.deleted && !p.displaced).map(|p| (p.pageid, p.rev_id)).collect();
            let mut ids = BTreeSet::new();
            let mut listed = std::collections::HashSet::new();
            for ns in site.namespaces.iter().filter(|n| n.id >= 0 && opts.selection.includes_namespace(n.id)) {
                for (pageid, rev) in wiki.all_page_revisions(ns.id).await? {
                    listed.insert(pageid);
                    summary.compared += 1;
                    if stored.get(&pageid) != Some(&Some(rev)) {
                        ids.insert(pageid);
                    }
                }
            }
            // A page stored but no longer listed was deleted or left the selection.
            ids.extend(stored.keys().filter(|id| !listed.contains(id)));
            (ids.into_iter().collect(), start)
        }
        Some(since) => {
            let mut ids = BTreeSet::new();
            // Titles whose page may have no entry of its own: the redirect a
            // move leaves behind, a restored page.
            let mut titles = BTreeSet::new();
            // Titles whose page took imported revisions: they may be older
            // than its history as stored, which is then read again whole.
            let mut imported = BTreeSet::new();
            let mut cont = None;
            let mut guard = crate::mediawiki::client::Continuation::new(&opts.wiki, "rccontinue");
            let mut start = None;
            loop {
                let batch = wiki.changes(Some(since), cont.as_deref(), 500).await?;
                start = start.or(batch.server_time.clone());
                for (c, rcid) in batch.changes.into_iter().zip(batch.rcids) {
                    read.push((rcid, c.timestamp().to_string()));
                    if last.as_ref().is_some_and(|l| l.was_handled(rcid)) {
                        continue;
                    }
                    // Changes outside the selection cost no request. A move
                    // counts if either title is selected (into or out of it).
                    let sel = &opts.selection;
                    match c {
                        Change::Edit { pageid, ns, title, .. } if sel.includes(ns, &title) => {
                            ids.insert(pageid);
                        }
                        Change::Delete { pageid, title, .. } if sel.may_include(&title) => {
                            ids.insert(pageid);
                        }
                        Change::Move { pageid, from, to, redirect, .. } if sel.may_include(&from) || sel.may_include(&to) => {
                            ids.insert(pageid);
                            if redirect && sel.may_include(&from) {
                                titles.insert(from);
                            }
                        }
                        Change::Restore { pageid, title, .. } if sel.may_include(&title) => {
                            ids.insert(pageid);
                            titles.insert(title);
                        }
                        // An import's revisions show only as its log entry.
                        Change::OtherLog { logtype, title, .. } if logtype == "import" && sel.may_include(&title) => {
                            titles.insert(title.clone());
                            imported.insert(title);
                        }
                        // So does an upload's file page (new, or a new version).
                        Change::OtherLog { logtype, title, .. } if logtype == "upload" && sel.may_include(&title) => {
                            titles.insert(title);
                        }
                        _ => {}
                    }
                }
                match guard.next(batch.next.as_deref())? {
                    Some(n) => cont = Some(n),
                    None => break,
                }
            }
            let titles: Vec<String> = titles.into_iter().collect();
            let mut reread = Vec::new();
            for chunk in titles.chunks(BATCH) {
                let refs: Vec<PageRef<'_>> = chunk.iter().map(|t| PageRef::Title(t)).collect();
                for p in wiki.pages(&refs).await?.into_iter().filter(|p| !p.missing) {
                    let Some(id) = p.pageid else { continue };
                    if imported.contains(&p.title) {
                        reread.push(id);
                    }
                    ids.insert(id);
                }
            }
            if !reread.is_empty() {
                lock(&store).forget_history(&opts.wiki, &reread)?;
            }
            ids.remove(&0);
            (ids.into_iter().collect(), start.context("the wiki did not say its time")?)
        }
    };
    summary.pages_seen = ids.len() as u64;
    if ids.is_empty() {
        // Nothing changed: nothing is written, the checkpoint included.
        summary.requests = wiki.requests() - before;
        return Ok(summary);
    }
    let checkpoint = ApiCheckpoint::after(&start, read.iter().map(|(rcid, at)| (*rcid, at.as_str())));
    let chunks: Vec<&[u64]> = ids.chunks(BATCH).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        let refs: Vec<PageRef<'_>> = chunk.iter().map(|id| PageRef::Id(*id)).collect();
        let states = wiki.pages(&refs).await?;
        let mut incoming = Vec::new();
        for (inc, current) in incoming_from_states(states, opts, chunk) {
            match inc {
                Incoming::Present { page, .. } => incoming.push(Incoming::Present { page, revisions: current.into_iter().collect() }),
                deleted => incoming.push(deleted),
            }
        }
        // The checkpoint moves with the last batch only: a pull cut short
        // starts again from the old one, and upserts absorb the repeat.
        let last = i + 1 == chunks.len();
        let done = FeedState { next_from: Some(checkpoint.to_string()), token: None, run_start: None };
        apply(&store, &opts.wiki, incoming, last.then_some(("api", done)), &mut summary).await?;
    }
    summary.requests = wiki.requests() - before;
    Ok(summary)
}

/// Whether the wiki's recent changes still reach back to `since`: `None`
/// when it lists none at all (nothing changed since they began). Asked
/// only of a pull more than a day after the last (after a dump, or a long
/// pause): a wiki keeps its recent changes 90 days unless told otherwise,
/// and a mirror pulled often pays no request for it.
async fn lists_changes_since(wiki: &Wiki, since: &str) -> anyhow::Result<Option<bool>> {
    let recent = chrono::DateTime::parse_from_rfc3339(since).is_ok_and(|t| chrono::Utc::now().signed_duration_since(t) < chrono::TimeDelta::days(1));
    if recent {
        return Ok(Some(true));
    }
    Ok(wiki.oldest_change().await?.map(|oldest| oldest.as_str() <= since))
}

/// The page id at the end of an OAI identifier `oai:HOST:DB:ID`.
pub fn page_id_of(identifier: &str) -> Option<u64> {
    identifier.rsplit(':').next()?.parse().ok()
}

/// Pulls a wiki through Special:OAIRepository (metadataPrefix `mediawiki`).
pub async fn pull_oai(store: Arc<Mutex<Store>>, client: &oai::Client, opts: &PullOptions) -> anyhow::Result<PullSummary> {
    let mut summary = PullSummary { feed: "oai", ..Default::default() };
    let before = client.requests();
    let state = lock(&store).wiki_feed(&opts.wiki, "oai")?;
    let resuming = state.token.is_some();
    let mut args = match &state.token {
        Some(token) => oai::ListArgs::Resume { token: token.clone() },
        None => oai::ListArgs::Initial { metadata_prefix: "mediawiki".into(), set: None, from: state.next_from.clone(), until: None },
    };
    let mut guard = state.token.as_deref().map(oai::TokenGuard::resuming).unwrap_or_default();
    let mut run_start = state.run_start.clone();
    loop {
        let fetched = client.list_records(&args).await.context("reading the wiki's OAI-PMH feed")?;
        let page = fetched.value;
        let run_start = run_start.get_or_insert_with(|| page.response_date.clone()).clone();
        let origin = oai::Origin { url: client.base_url().to_string(), verb: oai::Verb::ListRecords, token: None };
        let next = guard.next(&page, &origin)?.map(str::to_string);
        summary.pages_seen += page.items.len() as u64;
        let mut incoming = Vec::new();
        for record in &page.items {
            let Some(id) = page_id_of(&record.header.identifier) else {
                tracing::warn!(identifier = %record.header.identifier, "not a wiki page identifier; skipped");
                continue;
            };
            if record.header.deleted {
                incoming.push(Incoming::Deleted { pageid: id });
                continue;
            }
            let xml = String::from_utf8_lossy(record.metadata.as_deref().unwrap_or_default()).into_owned();
            let pages = export::parse(&xml).map_err(|e| anyhow::anyhow!("record {}: {e}", record.header.identifier))?;
            for p in pages {
                incoming.push(match present_from_export(opts, p) {
                    Some(inc) => inc,
                    None => Incoming::Deleted { pageid: id },
                });
            }
        }
        let state = match &next {
            Some(token) => FeedState { next_from: state.next_from.clone(), token: Some(token.clone()), run_start: Some(run_start.clone()) },
            None => FeedState { next_from: Some(run_start.clone()), token: None, run_start: None },
        };
        // Nothing new (noRecordsMatch on the first request) writes nothing,
        // not even the checkpoint.
        let nothing_new = page.items.is_empty() && next.is_none() && !resuming && summary.batches == 0;
        if !nothing_new {
            apply(&store, &opts.wiki, incoming, Some(("oai", state.clone())), &mut summary).await?;
        }
        match next {
            Some(token) => args = oai::ListArgs::Resume { token },
            None => break,
        }
    }
    summary.requests = client.requests() - before;
    Ok(summary)
}

/// An exported page as an incoming state; `None` if it is outside the selection.
fn present_from_export(opts: &PullOptions, p: ExportPage) -> Option<Incoming> {
    opts.selection.includes(p.ns, &p.title).then(|| p.into_incoming())
}

#[cfg(test)]
mod tests;

fn is_zero(n: &u64) -> bool {
    *n == 0
}
