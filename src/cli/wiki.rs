//! `wiki check`, `mirror`, `pages`, `show` and `history`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use checkpoints::Store;

use super::open;
use crate::connections::Connections;
use crate::jobs::run as runs;
use crate::jobs::{self, Kind, Work};
use crate::mediawiki::{MwError, Secret, Wiki, WikiOptions};
use crate::mirror::pull::Feed;
use crate::settings::Settings;

/// `mirror`'s flags.
pub(super) struct MirrorFlags {
    pub feed: Option<Feed>,
    pub history: bool,
    pub retry_files: bool,
    pub render_all: bool,
    pub json: bool,
}

pub(super) async fn mirror(settings: &Settings, conns: &Connections, db: &Path, name: &str, flags: &MirrorFlags) -> anyhow::Result<()> {
    let Work::Mirror(mut job) = jobs::one(settings, Kind::Mirror, name)?.work else { unreachable!("a [wiki.*] resolves to a mirror") };
    let json = flags.json;
    job.feed = flags.feed.unwrap_or(job.feed);
    if flags.history {
        job.pull.history = crate::mirror::pull::History::Full;
        if let Some(files) = &mut job.files {
            files.all_versions = true;
        }
    }
    let store = Arc::new(Mutex::new(open(db)?));
    if flags.retry_files {
        let n = crate::util::lock(&store).retry_files(name)?;
        tracing::info!(versions = n, "file versions to try again");
    }
    if flags.render_all {
        if !job.render {
            bail!("[wiki.{name}] has render = false: there is nothing to render again (set render = true to keep its pages' renderings)");
        }
        let n = crate::util::lock(&store).forget_renderings(name)?;
        tracing::info!(pages = n, "renderings to make again");
    }
    let summary = runs::mirror(conns, store, &job).await?;
    if json {
        writeln!(super::terminal::stdout(), "{}", serde_json::to_string(&summary)?)?;
    } else {
        writeln!(
            super::terminal::stdout(),
            "{name}: {} pages seen through {}: {} created, {} updated, {} moved, {} deleted, {} undeleted, {} moved aside; {} requests{}",
            summary.pages_seen,
            summary.feed,
            summary.counts.created,
            summary.counts.updated,
            summary.counts.moved,
            summary.counts.deleted,
            summary.counts.undeleted,
            summary.counts.displaced,
            summary.requests,
            if summary.wrote { "" } else { ", nothing written" },
        )?;
        if let Some(h) = &summary.history {
            let hidden = if h.hidden > 0 { format!(", {} hidden by the wiki (not stored)", h.hidden) } else { String::new() };
            let failed = if h.failed > 0 { format!("; {} pages failed (see the log), read again next time", h.failed) } else { String::new() };
            writeln!(super::terminal::stdout(), "{name}: history: {} revisions added from {} pages{hidden}{failed}", h.revisions, h.pages)?;
        }
        if let Some(f) = &summary.files {
            let bad = if f.bad > 0 { format!(", {} downloads did not match what the wiki states (quarantined)", f.bad) } else { String::new() };
            let failed = if f.failed > 0 { format!("; {} versions not downloaded (see the log), tried again next time", f.failed) } else { String::new() };
            writeln!(
                super::terminal::stdout(),
                "{name}: files: {} file pages read, {} versions new, {} downloaded ({} bytes), {} already kept{bad}{failed}",
                f.pages,
                f.versions,
                f.downloaded,
                f.bytes,
                f.reused
            )?;
        }
        if let Some(r) = &summary.render {
            let failed = if r.failed > 0 { format!("; {} failed (see the log), tried again next time", r.failed) } else { String::new() };
            writeln!(super::terminal::stdout(), "{name}: render: {} pages rendered{failed}", r.rendered)?;
        }
    }
    Ok(())
}

/// A wiki NAME that the config or the store knows; else an error listing
/// the known ones (a name that does not exist is not an empty listing).
pub(super) fn known_wiki(settings: &Settings, store: &Store, name: &str) -> anyhow::Result<()> {
    let stored = store.wiki_names()?;
    if settings.wiki.contains_key(name) || stored.iter().any(|w| w == name) {
        return Ok(());
    }
    let mut message = format!("wiki {name:?} {}", jobs::not_configured(settings, Kind::Mirror, name));
    if !stored.is_empty() {
        message.push_str(&format!("; this database has pages of {}", stored.join(", ")));
    }
    bail!(message)
}

pub(super) fn pages(settings: &Settings, store: &Store, name: &str, json: bool) -> anyhow::Result<()> {
    known_wiki(settings, store, name)?;
    let mut out = std::io::BufWriter::new(super::terminal::stdout());
    for p in store.wiki_pages(name)? {
        if json {
            writeln!(
                out,
                "{}",
                serde_json::json!({"id": p.pageid, "title": p.title, "ns": p.ns, "rev": p.rev_id, "sha1": p.sha1, "redirect": p.redirect, "deleted": p.deleted, "displaced": p.displaced})
            )?;
        } else {
            let flags = [(p.deleted, "deleted"), (p.displaced, "moved aside"), (p.redirect.is_some(), "redirect")]
                .iter()
                .filter(|f| f.0)
                .map(|f| f.1)
                .collect::<Vec<_>>()
                .join(", ");
            writeln!(out, "{}\t{}\trev {}\t{}", p.pageid, p.title, p.rev_id.unwrap_or(0), flags)?;
        }
    }
    out.flush()?;
    Ok(())
}

/// A stored page by its full title, as MediaWiki would read it (`_` for
/// spaces; the first letter of the title and after a namespace prefix
/// upper-cased when the title as given is not there): the live one, else
/// a deleted one.
pub(super) fn find_page(settings: &Settings, store: &Store, name: &str, title: &str) -> anyhow::Result<checkpoints::StoredPage> {
    known_wiki(settings, store, name)?;
    for candidate in crate::mediawiki::title_candidates(title) {
        if let Some(page) = store.wiki_page_by_title(name, &candidate)? {
            return Ok(page);
        }
    }
    bail!("no page [[{title}]] in the mirror of {name} (`oai-mirror pages {name}` lists them)")
}

pub(super) fn show(settings: &Settings, store: &Store, name: &str, title: &str, rev: Option<u64>) -> anyhow::Result<()> {
    let page = find_page(settings, store, name, title)?;
    let revid = rev.or(page.rev_id).with_context(|| format!("[[{title}]] has no revision in the mirror"))?;
    let r = store.wiki_revision(name, revid)?.with_context(|| format!("revision {revid} is not in the mirror of {name}"))?;
    if store.wiki_revisions(name, page.pageid)?.iter().all(|x| x.revid != revid) {
        bail!("revision {revid} belongs to another page than [[{title}]]");
    }
    let mut out = super::terminal::stdout();
    out.write_all(r.text.as_bytes())?;
    if !r.text.ends_with('\n') {
        out.write_all(b"\n")?;
    }
    Ok(())
}

pub(super) fn history(settings: &Settings, store: &Store, name: &str, title: &str) -> anyhow::Result<()> {
    let page = find_page(settings, store, name, title)?;
    let mut out = super::terminal::stdout();
    writeln!(out, "page {}{}", page.pageid, if page.deleted { " (deleted)" } else { "" })?;
    for t in store.wiki_titles(name, page.pageid)? {
        writeln!(out, "title  {}  since {}", t.title, t.since)?;
    }
    for r in store.wiki_revisions(name, page.pageid)? {
        writeln!(out, "rev {}  parent {}  {}  {}  {}", r.revid, r.parentid, r.timestamp, r.user, r.comment)?;
    }
    for f in store.file_versions(name, page.pageid)? {
        let v = &f.version;
        writeln!(out, "file {}  {}  {} bytes  {}  {}  {}  {}", v.timestamp, v.sha1, v.size, v.mime, v.state.as_str(), v.user, v.comment)?;
    }
    Ok(())
}

/// The rights two-way sync needs; a one-way mirror needs none of them.
const RIGHTS: [&str; 5] = ["edit", "move", "delete", "suppressredirect", "bot"];

pub(super) async fn check(
    settings: &Settings,
    name: Option<String>,
    api: Option<String>,
    user: Option<String>,
    password_file: Option<PathBuf>,
) -> anyhow::Result<()> {
    let (mut options, oai_url) = match (&name, api) {
        (Some(n), _) => (settings.wiki_options(n)?, settings.wiki[n].oai.clone()),
        (None, Some(api)) => {
            let mut o = WikiOptions::new("(command line)", &api);
            o.user_agent = settings.user_agent();
            if let (Some(u), Some(f)) = (user, password_file) {
                o.login = Some((u, Secret::new(crate::settings::read_password_file(&f)?)));
            }
            (o, None)
        }
        (None, None) => bail!("give a wiki NAME or --api URL"),
    };
    // A person is waiting: fail fast on an unreachable host.
    options.max_attempts = 2;
    let wiki_name = options.name.clone();
    let api_url = options.api.clone();
    let has_login = options.login.is_some();
    let wiki = Wiki::new(options)?;
    let site = wiki.siteinfo().await?;
    let mut out = super::terminal::stdout();
    writeln!(out, "Wiki:       {wiki_name} ({api_url})")?;
    writeln!(out, "Site:       {}", site.sitename)?;
    writeln!(out, "Software:   {}", site.generator)?;
    // The account's missing rights, named after the account.
    let mut missing: Option<(String, Vec<String>)> = None;
    if has_login {
        let me = wiki.userinfo().await?;
        writeln!(out, "Account:    {} (groups: {})", me.name, me.groups.iter().filter(|g| !g.starts_with('*')).cloned().collect::<Vec<_>>().join(", "))?;
        let rights: Vec<String> = RIGHTS.iter().map(|r| format!("{r} {}", if me.has(r) { "yes" } else { "NO" })).collect();
        writeln!(out, "Rights:     {}", rights.join(", "))?;
        let lacking: Vec<String> = RIGHTS.iter().filter(|r| !me.has(r)).map(|r| r.to_string()).collect();
        if !lacking.is_empty() {
            missing = Some((me.name, lacking));
        }
    } else {
        writeln!(out, "Account:    none configured (read-only)")?;
    }
    match oai_url {
        None => writeln!(out, "OAI:        not configured (changes come from the action API)")?,
        Some(url) => {
            let answer = match oai::Client::new(&url, settings.client_options(false)) {
                Ok(c) => c.identify().await.map(|i| i.value.repository_name).map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match answer {
                Ok(name) => writeln!(out, "OAI:        {url} answers Identify ({name})")?,
                Err(e) => writeln!(out, "OAI:        {url} does not answer Identify: {e}")?,
            }
        }
    }
    drop(out);
    if let Some((user, missing)) = missing {
        return Err(MwError::MissingRights { wiki: wiki_name, user, missing }.into());
    }
    Ok(())
}
