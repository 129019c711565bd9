//! The sides of a sync as the runner sees them: a wiki (its mirror in the
//! store, written through its edit API) or a checkout directory (its files,
//! recorded in the store with stable ids). This is the I/O edge; what to do
//! is decided in `plan`, what a directory means in `checkout`.
//!
//! Invariants of a checkout side:
//! * a file id stands in for a page id: a renamed file keeps its id, so a
//!   rename is replayed as a move;
//! * a file is written to a hidden temporary name, synced, then renamed
//!   into place, so a crash leaves the old or the new text, never half;
//! * a write or delete is refused if the file changed since the scan the
//!   decision was based on (the checkout's "edit conflict"), so an edit
//!   made during a sync is never overwritten.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Mutex;

use anyhow::Context;
use checkpoints::{CheckoutFile, Store};

use super::checkout::{self, Gone, PageFile, Skip};
use super::plan::State;
use crate::mediawiki::{ApiCode, CreateMode, Edit, EditOutcome, MwError, PageRef, Sent, SiteInfo, Wiki};
use crate::mirror::pull::{self, Feed, PullOptions, Selection};
use crate::util::lock;

/// A wiki side: the wiki, how to pull it, and its clients.
pub struct Side<'a> {
    pub wiki: &'a Wiki,
    pub pull: PullOptions,
    pub feed: Feed,
    pub oai: Option<&'a oai::Client>,
    /// Its files, mirrored after each pull and synced, unless `files = false`.
    pub files: Option<SideFiles<'a>>,
}

/// How a wiki side's files are mirrored: the options and the process's downloads.
#[derive(Clone, Copy)]
pub struct SideFiles<'a> {
    pub opts: &'a crate::mirror::files::FilesOptions,
    pub downloads: &'a crate::mirror::files::Downloads,
}

/// A checkout side.
pub struct Checkout {
    pub dir: PathBuf,
    /// The `[sync.NAME]` it belongs to.
    pub sync: String,
    /// The wiki's selection: a file whose title the wiki would not mirror
    /// is left alone (it could never be seen coming back).
    pub selection: Selection,
    /// The wiki's namespaces, to read a title's namespace from its prefix;
    /// needed only when the selection names namespaces.
    pub site: Option<SiteInfo>,
    /// The files of the last scan, by file id.
    scanned: Mutex<HashMap<u64, PageFile>>,
    /// Lower-cased names of every entry in the directory, from the last scan
    /// on, kept up to date by the sync's own writes (names for new files
    /// must not collide with any, in case only either).
    taken: Mutex<HashSet<String>>,
    /// Files the checkout had that are still there but could not be read as
    /// pages at the last scan (now a symlink, a directory, unreadable text):
    /// unknown, never taken for deleted.
    unknown: Mutex<HashSet<u64>>,
}

impl Checkout {
    pub fn new(dir: PathBuf, sync: &str, selection: Selection, site: Option<SiteInfo>) -> Checkout {
        Checkout {
            dir,
            sync: sync.to_string(),
            selection,
            site,
            scanned: Mutex::new(HashMap::new()),
            taken: Mutex::new(HashSet::new()),
            unknown: Mutex::new(HashSet::new()),
        }
    }

    /// Whether the wiki would mirror a page of this title: by its namespace
    /// too when the wiki's namespaces are known, else by the title alone.
    fn selects(&self, title: &str) -> bool {
        match &self.site {
            Some(site) => self.selection.includes(site.namespace_of(title), title),
            None => self.selection.may_include(title),
        }
    }
}

/// The other site of a sync by packages: its wiki as the packages it
/// sent left it in the store (wiki `wiki`). Nothing is written to it: this
/// site's own changes travel in its next package, and the other site
/// applies them to its wiki itself.
pub struct Carried {
    pub wiki: String,
    pub dir: PathBuf,
}

/// Either side of a sync.
#[derive(Clone, Copy)]
pub enum Peer<'a> {
    Wiki(&'a Side<'a>),
    Checkout(&'a Checkout),
    Carried(&'a Carried),
}

/// A live page: its title and current revision (a checkout's: the
/// fingerprint of its file's text).
#[derive(Clone, Debug)]
pub struct Live {
    pub title: String,
    pub rev: u64,
}

/// What became of a write.
#[derive(Debug)]
pub enum Written {
    /// Saved and read back: the page's id and new revision on that side,
    /// and whether it holds exactly the text sent (MediaWiki may have
    /// merged it with an edit made meanwhile).
    Saved { page_id: u64, rev: u64, exact: bool },
    /// Refused for a reason the next run's decision takes care of (an edit
    /// conflict, a page deleted or created meanwhile).
    Refused(String),
    /// Sent, but whether it landed is unknown: check before sending again.
    Unknown(String),
    /// Failed in a way worth retrying later.
    Failed(String),
    /// Not written here: this site's next package carries the text (its
    /// wiki holds it), and the other site writes it itself.
    Carried,
    /// Saved as this revision, not read back yet ([`Peer::read_back`]).
    Sent { page_id: u64, rev: u64 },
}

impl<'a> Peer<'a> {
    /// The name people know the side by: the wiki's, or the directory.
    pub fn name(&self) -> String {
        match self {
            Peer::Wiki(s) => s.pull.wiki.clone(),
            Peer::Checkout(c) => format!("checkout {}", c.dir.display()),
            Peer::Carried(c) => format!("the other site (packages in {})", c.dir.display()),
        }
    }

    /// Whether writes to this side are carried by this site's next package
    /// rather than made here.
    pub fn carried(&self) -> bool {
        matches!(self, Peer::Carried(_))
    }

    /// The side's wiki in the store, for the sides that are one.
    pub fn stored_wiki(&self) -> Option<&str> {
        match self {
            Peer::Wiki(s) => Some(&s.pull.wiki),
            Peer::Carried(c) => Some(&c.wiki),
            Peer::Checkout(_) => None,
        }
    }

    pub fn requests(&self) -> u64 {
        match self {
            Peer::Wiki(s) => s.wiki.requests(),
            Peer::Checkout(_) | Peer::Carried(_) => 0,
        }
    }

    /// How a revision of this side is named in a notice.
    pub fn describe_rev(&self, store: &Mutex<Store>, page_id: Option<u64>, rev: u64) -> String {
        match self {
            Peer::Wiki(s) => format!("revision {rev} on {}", s.pull.wiki),
            Peer::Carried(_) => format!("revision {rev} on the other site"),
            Peer::Checkout(c) => {
                let name = row(store, page_id).ok().flatten().map(|f| f.name).unwrap_or_default();
                format!("file {name:?} in the checkout {}", c.dir.display())
            }
        }
    }

    /// Brings the store up to date with the side: pulls the wiki's feed, or
    /// scans the directory. Returns how many pages changed, and lines to
    /// tell people (files skipped and why).
    pub async fn pull(&self, store: &std::sync::Arc<Mutex<Store>>) -> anyhow::Result<(u64, Vec<String>)> {
        match self {
            Peer::Wiki(side) => {
                let mut summary = pull::pull(store.clone(), side.wiki, side.feed, side.oai, &side.pull).await?;
                crate::mirror::uses::follow_after(store, side.wiki, &side.pull, &mut summary).await?;
                let seen = summary.pages_seen;
                if let Some(f) = side.files {
                    crate::mirror::files::fill(store, side.wiki, &side.pull.wiki, f.opts, f.downloads)
                        .await
                        .with_context(|| format!("the files of {}", side.pull.wiki))?;
                }
                Ok((seen, Vec::new()))
            }
            // A scan reads every file, and records what changed: off the worker.
            Peer::Checkout(c) => crate::util::blocking(|| c.rescan(store)),
            // Its packages were applied before the run.
            Peer::Carried(_) => Ok((0, Vec::new())),
        }
    }

    /// The live pages of the side, by id.
    pub fn pages(&self, store: &Mutex<Store>) -> anyhow::Result<HashMap<u64, Live>> {
        match (self, self.stored_wiki()) {
            (_, Some(wiki)) => Ok(lock(store)
                .wiki_pages(wiki)?
                .into_iter()
                .filter(|p| !p.deleted && !p.displaced)
                .filter_map(|p| Some((p.pageid, Live { rev: p.rev_id?, title: p.title })))
                .collect()),
            (Peer::Checkout(c), _) => Ok(lock(&c.scanned).iter().map(|(id, f)| (*id, Live { title: f.title.clone(), rev: f.fingerprint })).collect()),
            (Peer::Wiki(_) | Peer::Carried(_), None) => unreachable!("wiki sides are in the store"),
        }
    }

    /// A page's state now: `Absent` if the pair has no page here, `Unknown`
    /// if its file is there but could not be read, `Deleted` if its page is
    /// not among the `live` pages.
    pub fn state(&self, store: &Mutex<Store>, live: &HashMap<u64, Live>, page_id: Option<u64>) -> anyhow::Result<State> {
        let Some(id) = page_id else { return Ok(State::Absent) };
        if let Peer::Checkout(c) = self
            && lock(&c.unknown).contains(&id)
        {
            return Ok(State::Unknown);
        }
        let Some(page) = live.get(&id).map(|p| (id, p)) else { return Ok(State::Deleted) };
        match (self, self.stored_wiki()) {
            (_, Some(wiki)) => {
                let (_, p) = page;
                let r = lock(store).wiki_revision(wiki, p.rev)?.with_context(|| format!("revision {} of [[{}]] is not in the mirror", p.rev, p.title))?;
                Ok(State::Present { title: p.title.clone(), rev: p.rev, text: r.text, user: r.user })
            }
            (Peer::Checkout(c), _) => Ok(match lock(&c.scanned).get(&page.0) {
                Some(f) => State::Present { title: f.title.clone(), rev: f.fingerprint, text: f.text.clone(), user: format!("a local edit ({})", f.file) },
                None => State::Deleted,
            }),
            (Peer::Wiki(_) | Peer::Carried(_), None) => unreachable!("wiki sides are in the store"),
        }
    }

    /// The revision and text the side holds now for a page, read from the
    /// side itself, not the store (a checkout's revision is 0): to check
    /// whether a push of unknown outcome landed.
    pub async fn current(&self, store: &Mutex<Store>, page_id: Option<u64>, title: &str) -> anyhow::Result<Option<(u64, String)>> {
        match self {
            Peer::Wiki(s) => {
                let r = match page_id {
                    Some(id) => PageRef::Id(id),
                    None => PageRef::Title(title),
                };
                let current = s.wiki.pages(&[r]).await?;
                Ok(current.into_iter().next().and_then(|p| p.revision).and_then(|r| Some((r.revid, r.text?))))
            }
            Peer::Checkout(c) => {
                let name = match row(store, page_id)? {
                    Some(f) => f.name,
                    None => checkout::file_name(title, &HashSet::new()),
                };
                Ok(c.read(&name)?.map(|t| (0, t)))
            }
            // What the other site's last package said it holds.
            Peer::Carried(c) => {
                let s = lock(store);
                let page = match page_id {
                    Some(id) => s.wiki_lookup(&c.wiki, &[id], &[])?.0.remove(&id),
                    None => s.wiki_page_by_title(&c.wiki, title)?,
                };
                let rev = page.filter(|p| !p.deleted).and_then(|p| p.rev_id);
                Ok(rev.map(|r| s.wiki_revision(&c.wiki, r)).transpose()?.flatten().map(|r| (r.revid, r.text)))
            }
        }
    }

    /// Writes `text` to a page (`page_id` None: creates it), based on its
    /// revision `base_rev`, and reads the result back.
    pub async fn write(&self, store: &Mutex<Store>, title: &str, page_id: Option<u64>, base_rev: u64, text: &str, summary: &str) -> anyhow::Result<Written> {
        match self {
            Peer::Wiki(s) => Ok(write_wiki(s, title, page_id, base_rev, text, summary).await),
            // Writes are synced to disk: off the worker.
            Peer::Checkout(c) => crate::util::blocking(|| c.write(store, title, page_id, base_rev, text)),
            Peer::Carried(_) => Ok(Written::Carried),
        }
    }

    /// The texts of revisions this side saved ([`Written::Sent`]), read
    /// back together: revision → text.
    pub async fn read_back(&self, revs: &[u64]) -> anyhow::Result<HashMap<u64, String>> {
        match self {
            Peer::Wiki(s) => Ok(s.wiki.revision_texts(revs).await?),
            Peer::Checkout(_) | Peer::Carried(_) => Ok(HashMap::new()),
        }
    }

    /// Moves a page; `Err` says why it did not move.
    pub async fn move_page(&self, store: &Mutex<Store>, page_id: Option<u64>, from: &str, to: &str, reason: &str) -> anyhow::Result<Result<(), String>> {
        match self {
            Peer::Wiki(s) => Ok(s.wiki.move_page(from, to, true, reason).await.map(drop).map_err(|e| e.to_string())),
            Peer::Checkout(c) => crate::util::blocking(|| c.rename(store, page_id, to)),
            Peer::Carried(_) => Ok(Err("the other site replays it from this site's next package".into())),
        }
    }

    /// Deletes a page; a page already gone counts as deleted.
    pub async fn delete(&self, store: &Mutex<Store>, page_id: Option<u64>, title: &str, reason: &str) -> anyhow::Result<Result<(), String>> {
        match self {
            Peer::Wiki(s) => match s.wiki.delete(title, reason).await {
                Ok(_) => Ok(Ok(())),
                Err(e) if e.code() == Some(&ApiCode::MissingTitle) => Ok(Ok(())),
                Err(e) => Ok(Err(e.to_string())),
            },
            Peer::Checkout(c) => crate::util::blocking(|| c.remove(store, page_id)),
            Peer::Carried(_) => Ok(Err("the other site replays it from this site's next package".into())),
        }
    }

    /// The pair of a page is gone: forget what the side kept about it.
    pub fn forget(&self, store: &Mutex<Store>, page_id: Option<u64>) -> anyhow::Result<()> {
        if let (Peer::Checkout(_), Some(id)) = (self, page_id) {
            lock(store).forget_checkout_file(id)?;
        }
        Ok(())
    }

    /// Keeps a conflict's text beside the page, where people look: a
    /// checkout writes it next to the page's file. A wiki keeps it in its
    /// history already. Returns where it went.
    pub fn keep_beside(&self, store: &Mutex<Store>, page_id: Option<u64>, conflict_id: i64, text: &str) -> anyhow::Result<Option<String>> {
        let (Peer::Checkout(c), Some(id)) = (self, page_id) else { return Ok(None) };
        let Some(f) = row(store, Some(id))? else { return Ok(None) };
        let name = checkout::conflict_copy_name(&f.name, conflict_id);
        crate::util::blocking(|| c.put(&name, &checkout::file_content(text)))?;
        Ok(Some(name))
    }
}

/// The checkout file behind a page id of the checkout side.
fn row(store: &Mutex<Store>, page_id: Option<u64>) -> anyhow::Result<Option<CheckoutFile>> {
    Ok(match page_id {
        Some(id) => lock(store).checkout_file(id)?,
        None => None,
    })
}

async fn write_wiki(side: &Side<'_>, title: &str, page_id: Option<u64>, base_rev: u64, text: &str, summary: &str) -> Written {
    let edit = Edit {
        page: page_id.map_or(PageRef::Title(title), PageRef::Id),
        text,
        summary,
        base_revid: (base_rev > 0).then_some(base_rev),
        start_timestamp: None,
        mode: if page_id.is_some() { CreateMode::NoCreate } else { CreateMode::CreateOnly },
        minor: false,
        tags: &[],
    };
    // The saved text is read back later, with the run's other writes to
    // this wiki, 50 to a request (`Peer::read_back`).
    match side.wiki.edit_unread(&edit).await {
        Ok(Sent::Saved { pageid, newrevid, .. }) => Written::Sent { page_id: pageid, rev: newrevid },
        Ok(Sent::Done(EditOutcome::NoChange { pageid })) => match side.wiki.pages(&[PageRef::Id(pageid)]).await {
            Ok(current) => Written::Saved { page_id: pageid, rev: current.first().and_then(|p| p.revision.as_ref()).map_or(0, |r| r.revid), exact: true },
            Err(e) => Written::Unknown(e.to_string()),
        },
        Ok(Sent::Done(other)) => Written::Refused(format!("{other:?}")),
        Err(e @ (MwError::Unreachable { .. } | MwError::RetriesExhausted { .. })) => Written::Unknown(e.to_string()),
        // Refusals that retrying will not change: the next run decides again
        // (and says so again) until the page is fixed on either side.
        Err(e) if matches!(e.code(), Some(ApiCode::InvalidTitle | ApiCode::SpamDetected | ApiCode::ContentTooBig)) => Written::Refused(e.to_string()),
        Err(e) => Written::Failed(e.to_string()),
    }
}

impl Checkout {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// A page file's text, normalised; `None` if it is not there.
    fn read(&self, name: &str) -> anyhow::Result<Option<String>> {
        match std::fs::read_to_string(self.path(name)) {
            Ok(t) => Ok(Some(checkout::normalize(&t))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", self.path(name).display())),
        }
    }

    /// Writes a file whole, never through an entry already there
    /// ([`crate::util::replace_file`]).
    fn put(&self, name: &str, content: &str) -> anyhow::Result<()> {
        crate::util::replace_file(&self.dir, name, content.as_bytes()).with_context(|| format!("writing {}", self.path(name).display()))?;
        lock(&self.taken).insert(name.to_lowercase());
        Ok(())
    }

    fn rescan(&self, store: &Mutex<Store>) -> anyhow::Result<(u64, Vec<String>)> {
        std::fs::create_dir_all(&self.dir).with_context(|| format!("creating the checkout {}", self.dir.display()))?;
        let rows = lock(store).checkout_files(&self.sync)?;
        let hashed: HashMap<String, String> = rows.iter().filter(|r| checkout::is_hashed(&r.name)).map(|r| (r.name.clone(), r.title.clone())).collect();
        let scan = checkout::scan(&self.dir, &hashed).with_context(|| format!("reading the checkout {}", self.dir.display()))?;
        let mut notes: Vec<String> = scan
            .skipped
            .iter()
            .filter(|(_, why)| !matches!(why, Skip::ConflictCopy | Skip::NotAWikiFile))
            .map(|(name, why)| format!("{name:?} in {}: skipped, {}", self.dir.display(), skip_reason(why)))
            .collect();
        let by_name: HashMap<&str, &CheckoutFile> = rows.iter().map(|r| (r.name.as_str(), r)).collect();
        let mut files = HashMap::new();
        let mut fresh = Vec::new();
        let mut changed = 0;
        let mut seen = HashSet::new();
        for p in &scan.pages {
            if let Some(row) = by_name.get(p.file.as_str()) {
                seen.insert(row.file_id);
                if row.fingerprint != p.fingerprint || !row.present {
                    changed += 1;
                    lock(store).update_checkout_file(&CheckoutFile { fingerprint: p.fingerprint, present: true, ..(*row).clone() })?;
                }
                files.insert(row.file_id, PageFile { title: row.title.clone(), ..p.clone() });
            } else if self.selects(&p.title) {
                fresh.push(p);
            } else {
                notes.push(format!("{:?} in {}: skipped, [[{}]] is outside the wiki's selection", p.file, self.dir.display(), p.title));
            }
        }
        // Files that were here and are not: renamed, or deleted.
        let bases: HashMap<u64, String> = lock(store).sync_pairs(&self.sync)?.into_iter().filter_map(|p| Some((p.with_page?, p.base_text))).collect();
        // A file that is still there but was skipped is unknown, not gone:
        // only a file that is really missing is a deletion.
        let skipped: HashSet<&str> = scan.skipped.iter().map(|(name, _)| name.as_str()).collect();
        let unknown: HashSet<u64> =
            rows.iter().filter(|r| r.present && !seen.contains(&r.file_id) && skipped.contains(r.name.as_str())).map(|r| r.file_id).collect();
        let gone_rows: Vec<&CheckoutFile> = rows.iter().filter(|r| r.present && !seen.contains(&r.file_id) && !unknown.contains(&r.file_id)).collect();
        let gone: Vec<Gone<'_>> = gone_rows
            .iter()
            .map(|r| Gone { file_id: r.file_id, fingerprint: r.fingerprint, base_text: bases.get(&r.file_id).map_or("", String::as_str) })
            .collect();
        let renamed = checkout::renames(&gone, &fresh);
        let renamed_to: HashMap<&str, u64> = renamed.iter().map(|(id, name)| (name.as_str(), *id)).collect();
        let mut renamed_ids = HashSet::new();
        for p in fresh {
            changed += 1;
            let id = match renamed_to.get(p.file.as_str()) {
                Some(id) => {
                    renamed_ids.insert(*id);
                    let row = CheckoutFile { file_id: *id, name: p.file.clone(), title: p.title.clone(), fingerprint: p.fingerprint, present: true };
                    // A row may still hold the new name (a file that left earlier).
                    let old = rows.iter().find(|r| r.name == p.file && r.file_id != *id).map(|r| r.file_id);
                    if let Some(old) = old {
                        lock(store).forget_checkout_file(old)?;
                    }
                    lock(store).update_checkout_file(&row)?;
                    *id
                }
                None => lock(store).add_checkout_file(&self.sync, &p.file, &p.title, p.fingerprint)?,
            };
            files.insert(id, p.clone());
        }
        for r in gone_rows.into_iter().filter(|r| !renamed_ids.contains(&r.file_id)) {
            changed += 1;
            lock(store).update_checkout_file(&CheckoutFile { present: false, ..r.clone() })?;
        }
        for r in rows.iter().filter(|r| unknown.contains(&r.file_id)) {
            notes.push(format!("{:?} in {}: [[{}]] is left alone until its file can be read again", r.name, self.dir.display(), r.title));
        }
        *lock(&self.scanned) = files;
        *lock(&self.unknown) = unknown;
        *lock(&self.taken) = scan.pages.iter().map(|p| &p.file).chain(scan.skipped.iter().map(|(n, _)| n)).map(|n| n.to_lowercase()).collect();
        Ok((changed, notes))
    }

    fn write(&self, store: &Mutex<Store>, title: &str, page_id: Option<u64>, base_rev: u64, text: &str) -> anyhow::Result<Written> {
        let text = checkout::normalize(text);
        let name = match row(store, page_id)? {
            Some(row) => {
                let current = match self.read(&row.name) {
                    Ok(current) => current,
                    Err(e) => return Ok(Written::Failed(format!("{e:#}"))),
                };
                match current {
                    Some(current) if current == text => {
                        return Ok(Written::Saved { page_id: row.file_id, rev: checkout::fingerprint(&text), exact: true });
                    }
                    Some(current) if base_rev != 0 && checkout::fingerprint(&current) != base_rev => {
                        return Ok(Written::Refused(format!("{} was edited during the sync", row.name)));
                    }
                    None if base_rev != 0 => return Ok(Written::Refused(format!("{} was deleted during the sync", row.name))),
                    _ => {}
                }
                row.name
            }
            None => {
                let name = checkout::file_name(title, &lock(&self.taken));
                if self.path(&name).exists() {
                    return Ok(Written::Refused(format!("{name} exists already")));
                }
                name
            }
        };
        // A file that cannot be written fails this page, not the run.
        if let Err(e) = self.put(&name, &checkout::file_content(&text)) {
            return Ok(Written::Failed(format!("{e:#}")));
        }
        let fingerprint = checkout::fingerprint(&text);
        let id = lock(store).add_checkout_file(&self.sync, &name, title, fingerprint)?;
        // Read back, as a wiki's revision is.
        let exact = self.read(&name)?.as_deref() == Some(text.as_str());
        Ok(Written::Saved { page_id: id, rev: fingerprint, exact })
    }

    fn rename(&self, store: &Mutex<Store>, page_id: Option<u64>, to: &str) -> anyhow::Result<Result<(), String>> {
        let Some(mut row) = row(store, page_id)? else {
            return Ok(Err("no such file".into()));
        };
        let name = {
            let mut taken = lock(&self.taken).clone();
            taken.remove(&row.name.to_lowercase());
            checkout::file_name(to, &taken)
        };
        if name != row.name {
            if self.path(&name).exists() {
                return Ok(Err(format!("{name} exists already")));
            }
            if let Err(e) = std::fs::rename(self.path(&row.name), self.path(&name)) {
                return Ok(Err(format!("renaming {} to {name}: {e}", self.path(&row.name).display())));
            }
            let mut taken = lock(&self.taken);
            taken.remove(&row.name.to_lowercase());
            taken.insert(name.to_lowercase());
            lock(store).forget_checkout_file_named(&self.sync, &name)?;
        }
        row.name = name;
        row.title = to.to_string();
        lock(store).update_checkout_file(&row)?;
        Ok(Ok(()))
    }

    fn remove(&self, store: &Mutex<Store>, page_id: Option<u64>) -> anyhow::Result<Result<(), String>> {
        let Some(row) = row(store, page_id)? else { return Ok(Ok(())) };
        match self.read(&row.name) {
            Err(e) => Ok(Err(format!("{e:#}"))),
            Ok(Some(current)) if checkout::fingerprint(&current) != row.fingerprint => Ok(Err(format!("{} was edited during the sync", row.name))),
            Ok(Some(_)) => {
                if let Err(e) = std::fs::remove_file(self.path(&row.name)) {
                    return Ok(Err(format!("deleting {}: {e}", self.path(&row.name).display())));
                }
                lock(&self.taken).remove(&row.name.to_lowercase());
                Ok(Ok(()))
            }
            Ok(None) => Ok(Ok(())),
        }
    }
}

fn skip_reason(why: &Skip) -> &'static str {
    match why {
        Skip::NotAWikiFile => "not a .wiki file",
        Skip::Hidden => "a hidden file",
        Skip::BadEscape => "a broken %XX escape in its name",
        Skip::NotUtf8 => "its name is not UTF-8",
        Skip::ControlCharacter => "its name holds a control character",
        Skip::Empty => "its name makes an empty title",
        Skip::UnknownHashedName => "a hashed name this sync did not write",
        Skip::Symlink => "a symbolic link (never followed)",
        Skip::Directory => "a directory",
        Skip::UnreadableText => "not UTF-8 text",
        Skip::ConflictCopy => "a conflict copy",
        Skip::Temporary => "a temporary file of a write that did not finish, or one put there by someone else: never read or reused; remove it",
    }
}
