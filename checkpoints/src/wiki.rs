//! Mirrored wiki pages: rows keyed by (wiki, page id), their revisions,
//! the titles each id has had, and feed checkpoints.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, params};

use crate::error::{Doing, Error, Result};
use crate::store::{Store, WriteTransaction};

/// A page's row, as written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageRow {
    pub pageid: u64,
    pub ns: i64,
    pub title: String,
    pub redirect: Option<String>,
    pub displaced: bool,
    /// The current revision.
    pub rev_id: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RevisionRow {
    pub revid: u64,
    pub parentid: u64,
    pub timestamp: String,
    pub user: String,
    pub comment: String,
    /// Hex SHA-1 of `text`.
    pub sha1: String,
    pub text: String,
    pub minor: bool,
    /// The contributor's user id: 0 for an IP, `None` where the source
    /// did not say.
    pub user_id: Option<u64>,
}

/// What a wiki says of itself, as its export's `<siteinfo>` does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WikiSite {
    pub sitename: String,
    /// The wiki's database name (`wikiid`).
    pub dbname: String,
    /// Its main page's URL.
    pub base: String,
    /// e.g. "MediaWiki 1.39.17".
    pub generator: String,
    /// "first-letter" or "case-sensitive".
    pub case: String,
    pub namespaces: Vec<SiteNamespace>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SiteNamespace {
    pub id: i64,
    pub case: String,
    /// The wiki's name for it ("" for the main namespace).
    pub name: String,
}

/// One step of a planned batch (see the main crate's `mirror::plan`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PageOp {
    /// A page leaves its title for a placeholder (the first half of a move).
    Rename {
        pageid: u64,
        title: String,
    },
    /// A page outside the batch moves aside: placeholder title, displaced flag.
    Displace {
        pageid: u64,
        title: String,
    },
    Delete {
        pageid: u64,
    },
    /// A page's current state and any revisions to add.
    Upsert {
        page: PageRow,
        revisions: Vec<RevisionRow>,
    },
}

/// Where a wiki's feed stands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FeedState {
    /// Where the next pull starts (the server's clock at the start of the last completed one).
    pub next_from: Option<String>,
    /// The next page of an interrupted pull.
    pub token: Option<String>,
    /// The server's clock at the start of that pull.
    pub run_start: Option<String>,
}

/// A stored page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredPage {
    pub pageid: u64,
    pub ns: i64,
    pub title: String,
    pub redirect: Option<String>,
    pub deleted: bool,
    pub displaced: bool,
    pub rev_id: Option<u64>,
    pub sha1: Option<String>,
}

/// The live page on each (namespace, title).
pub type Occupants = HashMap<(i64, String), u64>;

/// A title a page had, and since when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TitleSpan {
    pub ns: i64,
    pub title: String,
    pub since: String,
}

macro_rules! page_select {
    () => {
        "SELECT p.page_id, p.ns, p.title, p.redirect, p.deleted, p.displaced, p.rev_id, r.sha1"
    };
}
macro_rules! page_from {
    () => {
        "FROM wiki_page p LEFT JOIN wiki_revision r ON r.wiki = p.wiki AND r.rev_id = p.rev_id"
    };
}
const PAGE_COLUMNS: &str = concat!(page_select!(), " ", page_from!());
/// A page's columns, and where they come from, for queries that add some.
pub(crate) const PAGE_SELECT: &str = page_select!();
pub(crate) const PAGE_FROM: &str = page_from!();

pub(crate) fn page_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredPage> {
    Ok(StoredPage {
        pageid: r.get::<_, i64>(0)? as u64,
        ns: r.get(1)?,
        title: r.get(2)?,
        redirect: r.get(3)?,
        deleted: r.get(4)?,
        displaced: r.get(5)?,
        rev_id: r.get::<_, Option<i64>>(6)?.map(|v| v as u64),
        sha1: r.get(7)?,
    })
}

pub(crate) fn revision_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RevisionRow> {
    Ok(RevisionRow {
        revid: r.get::<_, i64>(0)? as u64,
        parentid: r.get::<_, i64>(1)? as u64,
        timestamp: r.get(2)?,
        user: r.get(3)?,
        comment: r.get(4)?,
        sha1: r.get(5)?,
        text: r.get(6)?,
        minor: r.get(7)?,
        user_id: r.get::<_, Option<i64>>(8)?.map(|v| v as u64),
    })
}

/// A revision's columns, in the order [`revision_from_row`] reads them.
pub(crate) const REVISION_COLUMNS: &str = "rev_id, parent_id, timestamp, user, comment, sha1, text, minor, user_id";

impl Store {
    /// The stored rows of these page ids, and the live pages on these titles.
    pub fn wiki_lookup(&self, wiki: &str, ids: &[u64], titles: &[(i64, String)]) -> Result<(HashMap<u64, StoredPage>, Occupants)> {
        lookup(self.conn(), wiki, ids, titles)
    }

    /// Applies a planned batch and, in the same transaction, the feed's new
    /// checkpoint: after a crash either all of it is there or none.
    pub fn apply_wiki_batch(&mut self, wiki: &str, ops: &[PageOp], feed: Option<(&str, &FeedState)>, now: i64) -> Result<()> {
        let mut write = self.begin_wiki_write(wiki, now)?;
        write.apply(ops)?;
        write.finish(feed)
    }

    /// Starts a write transaction on a wiki's pages: the batches applied in
    /// it are committed together by [`WikiWrite::finish`], or not at all.
    pub fn begin_wiki_write(&mut self, wiki: &str, now: i64) -> Result<WikiWrite<'_>> {
        let tx = self.conn.write_transaction().doing("applying a batch")?;
        // Every page this write changes gets the next store sequence, and
        // the store's time, which never goes back (see `served`).
        let (seq, last_at): (i64, i64) = crate::store::read_store_clock(&tx)?;
        Ok(WikiWrite { tx, wiki: wiki.to_string(), first_seq: seq, seq, last_at, clock: self.clock.clone(), now })
    }

    /// Keeps what a wiki says of itself (replacing what was kept).
    pub fn save_wiki_site(&self, wiki: &str, site: &WikiSite, now: i64) -> Result<()> {
        save_site(self.conn(), wiki, site, now)
    }

    /// What a wiki said of itself, once known.
    pub fn wiki_site(&self, wiki: &str) -> Result<Option<WikiSite>> {
        self.conn()
            .query_row("SELECT sitename, dbname, base, generator, case_rule, namespaces FROM wiki_site WHERE wiki = ?1", [wiki], |r| {
                let namespaces: String = r.get(5)?;
                Ok(WikiSite {
                    sitename: r.get(0)?,
                    dbname: r.get(1)?,
                    base: r.get(2)?,
                    generator: r.get(3)?,
                    case: r.get(4)?,
                    namespaces: namespaces
                        .lines()
                        .filter_map(|l| {
                            let mut f = l.splitn(3, '\t');
                            Some(SiteNamespace { id: f.next()?.parse().ok()?, case: f.next()?.to_string(), name: f.next()?.to_string() })
                        })
                        .collect(),
                })
            })
            .optional()
            .doing("reading the wiki's site information")
    }

    pub fn wiki_feed(&self, wiki: &str, feed: &str) -> Result<FeedState> {
        self.conn()
            .query_row("SELECT next_from, token, run_start FROM wiki_feed WHERE wiki = ?1 AND feed = ?2", params![wiki, feed], |r| {
                Ok(FeedState { next_from: r.get(0)?, token: r.get(1)?, run_start: r.get(2)? })
            })
            .optional()
            .doing("reading a feed checkpoint")
            .map(Option::unwrap_or_default)
    }

    /// Whether a wiki has pages in the store (one index lookup).
    pub fn has_wiki(&self, wiki: &str) -> Result<bool> {
        self.conn().query_row("SELECT EXISTS (SELECT 1 FROM wiki_page WHERE wiki = ?1)", [wiki], |r| r.get(0)).doing("looking for a wiki")
    }

    /// The wikis that have pages in the store.
    pub fn wiki_names(&self) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT DISTINCT wiki FROM wiki_page ORDER BY wiki").doing("listing wikis")?;
        let rows = stmt.query_map([], |r| r.get(0)).doing("listing wikis")?;
        rows.collect::<rusqlite::Result<_>>().doing("listing wikis")
    }

    /// Every page of a wiki, deleted ones included, by namespace and title.
    pub fn wiki_pages(&self, wiki: &str) -> Result<Vec<StoredPage>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("{PAGE_COLUMNS} WHERE p.wiki = ?1 ORDER BY p.ns, p.title, p.page_id")).doing("listing pages")?;
        let rows = stmt.query_map([wiki], page_from_row).doing("listing pages")?;
        rows.collect::<rusqlite::Result<_>>().doing("listing pages")
    }

    /// The live page with this title (namespace prefix included, as stored),
    /// else the most recently updated deleted one.
    pub fn wiki_page_by_title(&self, wiki: &str, title: &str) -> Result<Option<StoredPage>> {
        self.conn()
            .query_row(
                &format!("{PAGE_COLUMNS} WHERE p.wiki = ?1 AND p.title = ?2 ORDER BY p.deleted, p.updated_at DESC LIMIT 1"),
                params![wiki, title],
                page_from_row,
            )
            .optional()
            .doing("finding a page by title")
    }

    /// A page's stored revisions, oldest first.
    pub fn wiki_revisions(&self, wiki: &str, pageid: u64) -> Result<Vec<RevisionRow>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(&format!("SELECT {REVISION_COLUMNS} FROM wiki_revision WHERE wiki = ?1 AND page_id = ?2 ORDER BY rev_id"))
            .doing("listing revisions")?;
        let rows = stmt.query_map(params![wiki, pageid as i64], revision_from_row).doing("listing revisions")?;
        rows.collect::<rusqlite::Result<_>>().doing("listing revisions")
    }

    /// A page's revisions newest first, before `before` (all with `None`),
    /// at most `limit`, without their texts (`text` empty): a history to list.
    pub fn revision_list(&self, wiki: &str, pageid: u64, before: Option<u64>, limit: usize) -> Result<Vec<RevisionRow>> {
        let doing = "listing a page's history";
        let columns = REVISION_COLUMNS.replace(" text,", " '',");
        let mut stmt = self
            .conn()
            .prepare_cached(&format!("SELECT {columns} FROM wiki_revision WHERE wiki = ?1 AND page_id = ?2 AND rev_id < ?3 ORDER BY rev_id DESC LIMIT ?4"))
            .doing(doing)?;
        let before = before.map_or(i64::MAX, |b| b as i64);
        let rows = stmt.query_map(params![wiki, pageid as i64, before, limit as i64], revision_from_row).doing(doing)?;
        rows.collect::<rusqlite::Result<_>>().doing(doing)
    }

    pub fn wiki_revision(&self, wiki: &str, revid: u64) -> Result<Option<RevisionRow>> {
        self.conn()
            .query_row(&format!("SELECT {REVISION_COLUMNS} FROM wiki_revision WHERE wiki = ?1 AND rev_id = ?2"), params![wiki, revid as i64], revision_from_row)
            .optional()
            .doing("reading a revision")
    }

    /// The titles a page has had, oldest first.
    pub fn wiki_titles(&self, wiki: &str, pageid: u64) -> Result<Vec<TitleSpan>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT ns, title, since FROM wiki_title WHERE wiki = ?1 AND page_id = ?2 ORDER BY seq").doing("listing titles")?;
        let rows =
            stmt.query_map(params![wiki, pageid as i64], |r| Ok(TitleSpan { ns: r.get(0)?, title: r.get(1)?, since: r.get(2)? })).doing("listing titles")?;
        rows.collect::<rusqlite::Result<_>>().doing("listing titles")
    }
}

fn save_site(conn: &rusqlite::Connection, wiki: &str, site: &WikiSite, now: i64) -> Result<()> {
    let namespaces: String = site.namespaces.iter().map(|ns| format!("{}\t{}\t{}\n", ns.id, one_line(&ns.case), one_line(&ns.name))).collect();
    conn.execute(
        "INSERT OR REPLACE INTO wiki_site (wiki, sitename, dbname, base, generator, case_rule, namespaces, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![wiki, site.sitename, site.dbname, site.base, site.generator, site.case, namespaces, now],
    )
    .doing("saving the wiki's site information")
    .map(drop)
}

/// Tabs and line ends in a stored namespace line would split it.
fn one_line(s: &str) -> String {
    s.replace(['\t', '\n', '\r'], " ")
}

fn lookup(conn: &rusqlite::Connection, wiki: &str, ids: &[u64], titles: &[(i64, String)]) -> Result<(HashMap<u64, StoredPage>, Occupants)> {
    let mut by_id = HashMap::new();
    let mut stmt = conn.prepare_cached(&format!("{PAGE_COLUMNS} WHERE p.wiki = ?1 AND p.page_id = ?2")).doing("looking up pages")?;
    for id in ids {
        if let Some(p) = stmt.query_row(params![wiki, *id as i64], page_from_row).optional().doing("looking up pages")? {
            by_id.insert(*id, p);
        }
    }
    let mut on_title = HashMap::new();
    let mut stmt =
        conn.prepare_cached("SELECT page_id FROM wiki_page WHERE wiki = ?1 AND ns = ?2 AND title = ?3 AND deleted = 0").doing("looking up titles")?;
    for (ns, title) in titles {
        if let Some(id) = stmt.query_row(params![wiki, ns, title], |r| r.get::<_, i64>(0)).optional().doing("looking up titles")? {
            on_title.insert((*ns, title.clone()), id as u64);
        }
    }
    Ok((by_id, on_title))
}

/// Stores revisions of a page at store sequence `seq`. A revision id is the
/// wiki's, not the page's: one stored already under another page is
/// refused, unless it is the same revision restored into a page recreated
/// on its title, which it then moves to.
fn store_revisions(tx: &rusqlite::Transaction<'_>, wiki: &str, pageid: u64, title: &str, revisions: &[RevisionRow], seq: i64) -> Result<u64> {
    let mut stored = 0;
    for r in revisions {
        let added = tx.execute(
                "INSERT OR IGNORE INTO wiki_revision (wiki, rev_id, page_id, parent_id, timestamp, user, comment, sha1, text, stored_seq, minor, user_id, bytes)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                params![
                    wiki,
                    r.revid as i64,
                    pageid as i64,
                    r.parentid as i64,
                    r.timestamp,
                    r.user,
                    r.comment,
                    r.sha1,
                    r.text,
                    seq,
                    r.minor,
                    r.user_id.map(|v| v as i64),
                    r.text.len() as i64
                ],
            )
            .doing(&format!("storing revision {}", r.revid))?;
        stored += added as u64;
        // A revision id is the wiki's, not the page's. The same
        // revision now under another page (MediaWiki restores a
        // deleted page's revisions into the page recreated on
        // its title) moves with it; a different one is refused,
        // never mixed in.
        if added == 0 {
            let (owner, sha1, owner_current): (i64, String, bool) = tx
                .query_row(
                    "SELECT r.page_id, r.sha1, EXISTS (SELECT 1 FROM wiki_page p WHERE p.wiki = r.wiki AND p.page_id = r.page_id
                             AND p.rev_id = r.rev_id AND p.deleted = 0)
                         FROM wiki_revision r WHERE r.wiki = ?1 AND r.rev_id = ?2",
                    params![wiki, r.revid as i64],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )
                .doing("looking up a revision")?;
            if owner as u64 != pageid {
                if sha1 != r.sha1 || owner_current {
                    return Err(Error::RevisionOfAnotherPage { revid: r.revid, page: pageid, owner: owner as u64, title: title.to_string() });
                }
                tx.execute("UPDATE wiki_revision SET page_id = ?3 WHERE wiki = ?1 AND rev_id = ?2", params![wiki, r.revid as i64, pageid as i64])
                    .doing("moving a restored revision to its page")?;
            }
        }
    }
    Ok(stored)
}

/// One write transaction on a wiki's pages (see [`Store::begin_wiki_write`]).
/// Dropped without [`finish`](WikiWrite::finish), it changes nothing.
pub struct WikiWrite<'s> {
    pub(crate) tx: rusqlite::Transaction<'s>,
    pub(crate) wiki: String,
    /// The last store sequence given out before this write, and since.
    first_seq: i64,
    seq: i64,
    /// The store's time before this write; the write's own is read when
    /// it commits (a package's write may take minutes).
    last_at: i64,
    clock: crate::store::Clock,
    pub(crate) now: i64,
}

impl WikiWrite<'_> {
    /// As [`Store::wiki_lookup`], seeing what this transaction applied so far.
    pub fn lookup(&self, ids: &[u64], titles: &[(i64, String)]) -> Result<(HashMap<u64, StoredPage>, Occupants)> {
        lookup(&self.tx, &self.wiki, ids, titles)
    }

    /// Keeps what the wiki says of itself, committed with this write.
    pub fn save_site(&self, site: &WikiSite, now: i64) -> Result<()> {
        save_site(&self.tx, &self.wiki, site, now)
    }

    /// Applies a planned batch's operations, in order.
    pub fn apply(&mut self, ops: &[PageOp]) -> Result<()> {
        // Rows get the store's time before this write for now; `finish`
        // gives them the time of the commit.
        let (tx, wiki, now, stored_at) = (&self.tx, self.wiki.as_str(), self.now, self.last_at);
        for op in ops {
            self.seq += 1;
            let seq = self.seq;
            let pageid = match op {
                PageOp::Rename { pageid, title } => {
                    tx.execute(
                        "UPDATE wiki_page SET title = ?3, updated_at = ?4, stored_seq = ?5, stored_at = ?6 WHERE wiki = ?1 AND page_id = ?2",
                        params![wiki, *pageid as i64, title, now, seq, stored_at],
                    )
                    .doing("renaming a page")?;
                    *pageid
                }
                PageOp::Displace { pageid, title } => {
                    tx.execute(
                        "UPDATE wiki_page SET title = ?3, displaced = 1, updated_at = ?4, stored_seq = ?5, stored_at = ?6 WHERE wiki = ?1 AND page_id = ?2",
                        params![wiki, *pageid as i64, title, now, seq, stored_at],
                    )
                    .doing("moving a page aside")?;
                    *pageid
                }
                // A deleted page claims no title: one moved aside first is
                // displaced no more, and its deletion is served.
                PageOp::Delete { pageid } => {
                    tx.execute(
                        "UPDATE wiki_page SET deleted = 1, displaced = 0, updated_at = ?3, stored_seq = ?4, stored_at = ?5 WHERE wiki = ?1 AND page_id = ?2",
                        params![wiki, *pageid as i64, now, seq, stored_at],
                    )
                    .doing("marking a page deleted")?;
                    *pageid
                }
                PageOp::Upsert { page, revisions } => {
                    store_revisions(tx, wiki, page.pageid, &page.title, revisions, seq)?;
                    tx.execute(
                        "INSERT INTO wiki_page (wiki, page_id, ns, title, redirect, deleted, displaced, rev_id, updated_at, stored_seq, stored_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7, ?8, ?9, ?10)
                         ON CONFLICT (wiki, page_id) DO UPDATE SET ns = excluded.ns, title = excluded.title, redirect = excluded.redirect,
                             deleted = 0, displaced = excluded.displaced, rev_id = excluded.rev_id, updated_at = excluded.updated_at,
                             stored_seq = excluded.stored_seq, stored_at = excluded.stored_at",
                        params![wiki, page.pageid as i64, page.ns, page.title, page.redirect, page.displaced, page.rev_id as i64, now, seq, stored_at],
                    )
                    .doing(&format!("storing page {} [[{}]]", page.pageid, page.title))?;
                    if !page.displaced {
                        let last: Option<(i64, String, i64)> = tx
                            .query_row(
                                "SELECT ns, title, seq FROM wiki_title WHERE wiki = ?1 AND page_id = ?2 ORDER BY seq DESC LIMIT 1",
                                params![wiki, page.pageid as i64],
                                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                            )
                            .optional()
                            .doing("reading title history")?;
                        if last.as_ref().is_none_or(|(ns, t, _)| (*ns, t) != (page.ns, &page.title)) {
                            let since = revisions.last().map(|r| r.timestamp.clone()).unwrap_or_default();
                            tx.execute(
                                "INSERT INTO wiki_title (wiki, page_id, seq, ns, title, since) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                                params![wiki, page.pageid as i64, last.map_or(1, |l| l.2 + 1), page.ns, page.title, since],
                            )
                            .doing("recording a title")?;
                        }
                    }
                    page.pageid
                }
            };
            crate::search::index_page(tx, wiki, pageid)?;
            // The page's state after this change, for packages (what a
            // move or a deletion was, seen from an earlier sequence).
            tx.execute(
                "INSERT OR REPLACE INTO wiki_page_log (wiki, page_id, seq, ns, title, deleted)
                 SELECT wiki, page_id, ?3, ns, title, deleted FROM wiki_page WHERE wiki = ?1 AND page_id = ?2",
                params![wiki, pageid as i64, seq],
            )
            .doing("logging a page change")?;
        }
        Ok(())
    }

    /// Adds older revisions of a stored page (its history, read after the
    /// page) and logs the page as changed, so that packages carry them; the
    /// page's title and current revision stay as they are.
    /// Returns how many were not stored before.
    pub fn add_revisions(&mut self, pageid: u64, title: &str, revisions: &[RevisionRow]) -> Result<u64> {
        self.seq += 1;
        let (tx, wiki, seq) = (&self.tx, self.wiki.as_str(), self.seq);
        let stored = store_revisions(tx, wiki, pageid, title, revisions, seq)?;
        tx.execute(
            "UPDATE wiki_page SET updated_at = ?3, stored_seq = ?4, stored_at = ?5 WHERE wiki = ?1 AND page_id = ?2",
            params![wiki, pageid as i64, self.now, seq, self.last_at],
        )
        .doing("marking a page's history added")?;
        tx.execute(
            "INSERT OR REPLACE INTO wiki_page_log (wiki, page_id, seq, ns, title, deleted)
             SELECT wiki, page_id, ?3, ns, title, deleted FROM wiki_page WHERE wiki = ?1 AND page_id = ?2",
            params![wiki, pageid as i64, seq],
        )
        .doing("logging a page change")?;
        Ok(stored)
    }

    /// Commits everything applied, the store clock and, with `feed`, the
    /// feed's new checkpoint.
    pub fn finish(self, feed: Option<(&str, &FeedState)>) -> Result<()> {
        let tx = self.tx;
        let stored_at = Store::store_time(&self.clock, self.last_at);
        tx.execute(
            "UPDATE wiki_page SET stored_at = ?4 WHERE wiki = ?1 AND stored_seq > ?2 AND stored_seq <= ?3",
            params![self.wiki, self.first_seq, self.seq, stored_at],
        )
        .doing("dating the pages written")?;
        tx.execute("UPDATE store_clock SET last_seq = ?1, last_at = ?2 WHERE id = 1", params![self.seq, stored_at]).doing("saving the store clock")?;
        if let Some((feed, state)) = feed {
            tx.execute(
                "INSERT INTO wiki_feed (wiki, feed, next_from, token, run_start, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (wiki, feed) DO UPDATE SET next_from = excluded.next_from, token = excluded.token,
                     run_start = excluded.run_start, updated_at = excluded.updated_at",
                params![self.wiki, feed, state.next_from, state.token, state.run_start, self.now],
            )
            .doing("saving the feed checkpoint")?;
        }
        tx.commit().doing("applying a batch")
    }
}
