//! Two-way sync state: page pairs with their base, the push outbox,
//! conflicts with both texts kept whole, and the files of checkouts.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{OptionalExtension, params};

use crate::error::{Doing, Result};
use crate::store::Store;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pair {
    pub pair_id: i64,
    pub wiki_page: Option<u64>,
    pub with_page: Option<u64>,
    pub title: String,
    pub base_text: String,
    pub wiki_rev: u64,
    pub with_rev: u64,
    pub held: bool,
}

/// The side of a sync a push goes to: the sync's `wiki`, or the one it
/// syncs `with` (another wiki or a checkout).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SyncSide {
    Wiki,
    With,
}

/// How a conflict is settled without a person.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConflictPolicy {
    /// Conflicting regions take the preferred side's text; the other side's
    /// whole text is kept (in its wiki's history, and in the store) and
    /// announced on the talk page.
    KeepBoth,
    /// The text is saved with conflict markers and the page is held back
    /// until the markers are gone.
    Markers,
}

/// A text column that holds one of a few names; anything else is a
/// damaged row, refused by name rather than read as some other value.
macro_rules! named_column {
    ($type:ty, $($variant:path => $name:literal),+) => {
        impl $type {
            pub fn as_str(self) -> &'static str {
                match self { $($variant => $name),+ }
            }
        }
        impl std::fmt::Display for $type {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl ToSql for $type {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }
        impl FromSql for $type {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                match value.as_str()? {
                    $($name => Ok($variant),)+
                    other => Err(FromSqlError::Other(format!("{other:?} is not one of {}", [$($name),+].join(", ")).into())),
                }
            }
        }
    };
}

named_column!(SyncSide, SyncSide::Wiki => "wiki", SyncSide::With => "with");

impl SyncSide {
    pub fn other(self) -> SyncSide {
        match self {
            SyncSide::Wiki => SyncSide::With,
            SyncSide::With => SyncSide::Wiki,
        }
    }
}
named_column!(ConflictPolicy, ConflictPolicy::KeepBoth => "keep-both", ConflictPolicy::Markers => "markers");

/// A push to queue: to which side of which pair, what text against which
/// of the target's revisions (0: a page to create).
#[derive(Clone, Copy, Debug)]
pub struct NewPush<'a> {
    pub pair_id: i64,
    pub target: SyncSide,
    pub title: &'a str,
    pub page_id: Option<u64>,
    pub base_rev: u64,
    pub text: &'a str,
    /// The text's MD5, to tell after a crash whether the push landed.
    pub md5: &'a str,
    /// The other side's revision this push replays (its text, by its
    /// author), if it replays one.
    pub source_rev: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Push {
    /// The outbox row's id (its column is `job_id`, a name from schema 3).
    pub push_id: i64,
    pub pair_id: i64,
    pub target: SyncSide,
    pub title: String,
    pub page_id: Option<u64>,
    pub base_rev: u64,
    pub text: String,
    pub md5: String,
    pub sent: bool,
    pub attempts: u32,
    pub next_try: i64,
    pub last_error: Option<String>,
    /// The other side's revision it replays, if it replays one.
    pub source_rev: Option<u64>,
    /// The target's revision it saved, once the target answered.
    pub landed_rev: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConflictRow {
    pub conflict_id: i64,
    pub pair_id: i64,
    pub title: String,
    pub policy: ConflictPolicy,
    pub wiki_rev: u64,
    pub with_rev: u64,
    pub wiki_user: String,
    pub with_user: String,
    pub wiki_text: String,
    pub with_text: String,
    pub resolved_text: String,
    /// The text both sides had agreed on before the clash (`None`:
    /// recorded before the store kept it).
    pub base_text: Option<String>,
    pub created_at: i64,
    pub resolved_at: Option<i64>,
}

/// A file of a checkout; its id is the page id of the checkout's side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckoutFile {
    pub file_id: u64,
    pub name: String,
    pub title: String,
    pub fingerprint: u64,
    pub present: bool,
}

fn u(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<u64> {
    r.get::<_, i64>(i).map(|v| v as u64)
}

fn ou(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<u64>> {
    r.get::<_, Option<i64>>(i).map(|v| v.map(|x| x as u64))
}

const PAIR: &str = "SELECT pair_id, wiki_page, with_page, title, base_text, wiki_rev, with_rev, held FROM sync_pair";
const PAIR_WITHOUT_BASE: &str = "SELECT pair_id, wiki_page, with_page, title, '' AS base_text, wiki_rev, with_rev, held FROM sync_pair";

fn pair(r: &rusqlite::Row<'_>) -> rusqlite::Result<Pair> {
    Ok(Pair {
        pair_id: r.get(0)?,
        wiki_page: ou(r, 1)?,
        with_page: ou(r, 2)?,
        title: r.get(3)?,
        base_text: r.get(4)?,
        wiki_rev: u(r, 5)?,
        with_rev: u(r, 6)?,
        held: r.get(7)?,
    })
}

const CHECKOUT_FILE: &str = "SELECT file_id, name, title, fingerprint, present FROM checkout_file";

fn checkout_file(r: &rusqlite::Row<'_>) -> rusqlite::Result<CheckoutFile> {
    Ok(CheckoutFile { file_id: u(r, 0)?, name: r.get(1)?, title: r.get(2)?, fingerprint: u(r, 3)?, present: r.get(4)? })
}

const PUSH: &str =
    "SELECT job_id, pair_id, target, title, page_id, base_rev, text, md5, state, attempts, next_try, last_error, source_rev, landed_rev FROM outbox";

fn push(r: &rusqlite::Row<'_>) -> rusqlite::Result<Push> {
    Ok(Push {
        push_id: r.get(0)?,
        pair_id: r.get(1)?,
        target: r.get(2)?,
        title: r.get(3)?,
        page_id: ou(r, 4)?,
        base_rev: u(r, 5)?,
        text: r.get(6)?,
        md5: r.get(7)?,
        sent: r.get::<_, String>(8)? == "sent",
        attempts: r.get(9)?,
        next_try: r.get(10)?,
        last_error: r.get(11)?,
        source_rev: ou(r, 12)?,
        landed_rev: ou(r, 13)?,
    })
}

impl Store {
    pub fn sync_pairs(&self, sync: &str) -> Result<Vec<Pair>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("{PAIR} WHERE sync = ?1 ORDER BY pair_id")).doing("listing sync pairs")?;
        let rows = stmt.query_map([sync], pair).doing("listing sync pairs")?;
        rows.collect::<rusqlite::Result<_>>().doing("listing sync pairs")
    }

    /// The pairs of a sync without their base texts (each `base_text`
    /// empty): what a run needs to find the few pairs that changed, whose
    /// base it then reads with [`Store::sync_base`].
    pub fn sync_pairs_without_base(&self, sync: &str) -> Result<Vec<Pair>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("{PAIR_WITHOUT_BASE} WHERE sync = ?1 ORDER BY pair_id")).doing("listing sync pairs")?;
        let rows = stmt.query_map([sync], pair).doing("listing sync pairs")?;
        rows.collect::<rusqlite::Result<_>>().doing("listing sync pairs")
    }

    /// A pair's base text ("" for a pair that is gone).
    pub fn sync_base(&self, pair_id: i64) -> Result<String> {
        self.conn()
            .query_row("SELECT base_text FROM sync_pair WHERE pair_id = ?1", [pair_id], |r| r.get(0))
            .optional()
            .doing("reading a sync base")
            .map(Option::unwrap_or_default)
    }

    /// The pair of a sync whose `wiki` side is this page at this revision.
    pub fn sync_pair_at(&self, sync: &str, wiki_page: u64, wiki_rev: u64) -> Result<Option<Pair>> {
        self.conn()
            .query_row(
                &format!("{PAIR_WITHOUT_BASE} WHERE sync = ?1 AND wiki_page = ?2 AND wiki_rev = ?3 LIMIT 1"),
                params![sync, wiki_page as i64, wiki_rev as i64],
                pair,
            )
            .optional()
            .doing("finding a sync pair")
    }

    /// The pairs of a sync with a push queued.
    pub fn pairs_with_pushes(&self, sync: &str) -> Result<std::collections::HashSet<i64>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT DISTINCT pair_id FROM outbox WHERE sync = ?1").doing("listing queued pushes")?;
        let rows = stmt.query_map([sync], |r| r.get(0)).doing("listing queued pushes")?;
        rows.collect::<rusqlite::Result<_>>().doing("listing queued pushes")
    }

    /// How many pushes a sync has queued, and how many conflicts open.
    pub fn sync_backlog(&self, sync: &str) -> Result<(u64, u64)> {
        self.conn()
            .query_row(
                "SELECT (SELECT COUNT(*) FROM outbox WHERE sync = ?1), (SELECT COUNT(*) FROM sync_conflict WHERE sync = ?1 AND resolved_at IS NULL)",
                [sync],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
            )
            .doing("counting a sync's backlog")
    }

    pub fn sync_pair(&self, pair_id: i64) -> Result<Option<Pair>> {
        self.conn().query_row(&format!("{PAIR} WHERE pair_id = ?1"), [pair_id], pair).optional().doing("reading a sync pair")
    }

    /// Creates a pair and returns its id.
    pub fn add_sync_pair(&self, sync: &str, p: &Pair, now: i64) -> Result<i64> {
        self.conn()
            .execute(
                "INSERT INTO sync_pair (sync, wiki_page, with_page, title, base_text, wiki_rev, with_rev, held, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![sync, p.wiki_page.map(|v| v as i64), p.with_page.map(|v| v as i64), p.title, p.base_text, p.wiki_rev as i64, p.with_rev as i64, p.held, now],
            )
            .doing("adding a sync pair")?;
        Ok(self.conn().last_insert_rowid())
    }

    /// Saves a pair's new base (and page ids, title, hold).
    pub fn update_sync_pair(&self, p: &Pair, now: i64) -> Result<()> {
        self.conn()
            .execute(
                "UPDATE sync_pair SET wiki_page = ?2, with_page = ?3, title = ?4, base_text = ?5, wiki_rev = ?6, with_rev = ?7, held = ?8, updated_at = ?9 WHERE pair_id = ?1",
                params![p.pair_id, p.wiki_page.map(|v| v as i64), p.with_page.map(|v| v as i64), p.title, p.base_text, p.wiki_rev as i64, p.with_rev as i64, p.held, now],
            )
            .doing("saving a sync base")
            .map(drop)
    }

    /// Sets a pair's page ids alone (a page paired anew, or adopted).
    pub fn set_sync_pages(&self, pair_id: i64, wiki_page: Option<u64>, with_page: Option<u64>, now: i64) -> Result<()> {
        self.conn()
            .execute(
                "UPDATE sync_pair SET wiki_page = ?2, with_page = ?3, updated_at = ?4 WHERE pair_id = ?1",
                params![pair_id, wiki_page.map(|v| v as i64), with_page.map(|v| v as i64), now],
            )
            .doing("saving a sync pair's pages")
            .map(drop)
    }

    /// Sets a pair's base alone (and lets it go on), leaving what a run may
    /// have moved meanwhile (its revisions, titles) as it is.
    pub fn set_sync_base(&self, pair_id: i64, base_text: &str, now: i64) -> Result<()> {
        self.conn()
            .execute("UPDATE sync_pair SET base_text = ?2, held = 0, updated_at = ?3 WHERE pair_id = ?1", params![pair_id, base_text, now])
            .doing("saving a sync base")
            .map(drop)
    }

    pub fn forget_sync_pair(&self, pair_id: i64) -> Result<()> {
        self.conn().execute("DELETE FROM sync_pair WHERE pair_id = ?1", [pair_id]).doing("forgetting a sync pair").map(drop)
    }

    /// Queues a push; returns the push id.
    pub fn queue_push(&self, sync: &str, push: &NewPush<'_>, now: i64) -> Result<i64> {
        let NewPush { pair_id, target, title, page_id, base_rev, text, md5, source_rev } = *push;
        self.conn()
            .execute(
                "INSERT INTO outbox (sync, pair_id, target, title, page_id, base_rev, text, md5, state, next_try, created_at, source_rev)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', ?9, ?9, ?10)",
                params![sync, pair_id, target, title, page_id.map(|v| v as i64), base_rev as i64, text, md5, now, source_rev.map(|v| v as i64)],
            )
            .doing("queueing a push")?;
        Ok(self.conn().last_insert_rowid())
    }

    pub fn pushes(&self, sync: &str) -> Result<Vec<Push>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("{PUSH} WHERE sync = ?1 ORDER BY job_id")).doing("listing the queue")?;
        let rows = stmt.query_map([sync], push).doing("listing the queue")?;
        rows.collect::<rusqlite::Result<_>>().doing("listing the queue")
    }

    /// Marks a push as sent, before the request goes out: if the process dies
    /// now, the next run checks the target before sending again.
    pub fn mark_sent(&self, job_id: i64) -> Result<()> {
        self.conn()
            .execute("UPDATE outbox SET state = 'sent', attempts = attempts + 1, landed_rev = NULL WHERE job_id = ?1", [job_id])
            .doing("marking a push sent")
            .map(drop)
    }

    /// Records the target's revision a sent push saved, before it is read
    /// back: a run that dies now leaves the next one that revision to check.
    pub fn set_landed_rev(&self, job_id: i64, rev: u64) -> Result<()> {
        self.conn().execute("UPDATE outbox SET landed_rev = ?2 WHERE job_id = ?1", params![job_id, rev as i64]).doing("recording a push's revision").map(drop)
    }

    /// Puts a push back to wait: it failed in a way worth retrying.
    pub fn retry_later(&self, job_id: i64, next_try: i64, error: &str) -> Result<()> {
        self.conn()
            .execute(
                "UPDATE outbox SET state = 'pending', next_try = ?2, last_error = ?3, landed_rev = NULL WHERE job_id = ?1",
                params![job_id, next_try, error],
            )
            .doing("deferring a push")
            .map(drop)
    }

    /// Removes a push (verified done, or superseded).
    pub fn finish_push(&self, job_id: i64) -> Result<()> {
        self.conn().execute("DELETE FROM outbox WHERE job_id = ?1", [job_id]).doing("removing a push").map(drop)
    }

    pub fn add_conflict(&self, sync: &str, c: &ConflictRow, now: i64) -> Result<i64> {
        self.conn()
            .execute(
                "INSERT INTO sync_conflict (sync, pair_id, title, policy, wiki_rev, with_rev, wiki_user, with_user, wiki_text, with_text, resolved_text, created_at, base_text)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                params![
                    sync,
                    c.pair_id,
                    c.title,
                    c.policy,
                    c.wiki_rev as i64,
                    c.with_rev as i64,
                    c.wiki_user,
                    c.with_user,
                    c.wiki_text,
                    c.with_text,
                    c.resolved_text,
                    now,
                    c.base_text
                ],
            )
            .doing("recording a conflict")?;
        Ok(self.conn().last_insert_rowid())
    }

    pub fn resolve_conflict(&self, conflict_id: i64, now: i64) -> Result<()> {
        self.conn()
            .execute("UPDATE sync_conflict SET resolved_at = ?2 WHERE conflict_id = ?1", params![conflict_id, now])
            .doing("resolving a conflict")
            .map(drop)
    }

    /// The syncs that have state in the store.
    pub fn sync_names(&self) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT DISTINCT sync FROM sync_pair UNION SELECT DISTINCT sync FROM outbox ORDER BY 1").doing("listing syncs")?;
        let rows = stmt.query_map([], |r| r.get(0)).doing("listing syncs")?;
        rows.collect::<rusqlite::Result<_>>().doing("listing syncs")
    }

    pub fn conflicts(&self, sync: &str, open_only: bool) -> Result<Vec<ConflictRow>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT conflict_id, pair_id, title, policy, wiki_rev, with_rev, wiki_user, with_user, wiki_text, with_text, resolved_text, created_at, resolved_at, base_text
                 FROM sync_conflict WHERE sync = ?1 AND (?2 = 0 OR resolved_at IS NULL) ORDER BY conflict_id",
            )
            .doing("listing conflicts")?;
        let rows = stmt
            .query_map(params![sync, open_only], |r| {
                Ok(ConflictRow {
                    conflict_id: r.get(0)?,
                    pair_id: r.get(1)?,
                    title: r.get(2)?,
                    policy: r.get(3)?,
                    wiki_rev: u(r, 4)?,
                    with_rev: u(r, 5)?,
                    wiki_user: r.get(6)?,
                    with_user: r.get(7)?,
                    wiki_text: r.get(8)?,
                    with_text: r.get(9)?,
                    resolved_text: r.get(10)?,
                    created_at: r.get(11)?,
                    resolved_at: r.get(12)?,
                    base_text: r.get(13)?,
                })
            })
            .doing("listing conflicts")?;
        rows.collect::<rusqlite::Result<_>>().doing("listing conflicts")
    }

    pub fn checkout_files(&self, sync: &str) -> Result<Vec<CheckoutFile>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("{CHECKOUT_FILE} WHERE sync = ?1 ORDER BY file_id")).doing("listing checkout files")?;
        let rows = stmt.query_map([sync], checkout_file).doing("listing checkout files")?;
        rows.collect::<rusqlite::Result<_>>().doing("listing checkout files")
    }

    /// Records a file under its name (a row of that name is taken over: a
    /// file that left and came back is the same file). Returns its id.
    pub fn add_checkout_file(&self, sync: &str, name: &str, title: &str, fingerprint: u64) -> Result<u64> {
        self.conn()
            .query_row(
                "INSERT INTO checkout_file (sync, name, title, fingerprint, present) VALUES (?1, ?2, ?3, ?4, 1)
                 ON CONFLICT (sync, name) DO UPDATE SET title = excluded.title, fingerprint = excluded.fingerprint, present = 1
                 RETURNING file_id",
                params![sync, name, title, fingerprint as i64],
                |r| u(r, 0),
            )
            .doing("recording a checkout file")
    }

    pub fn update_checkout_file(&self, f: &CheckoutFile) -> Result<()> {
        self.conn()
            .execute(
                "UPDATE checkout_file SET name = ?2, title = ?3, fingerprint = ?4, present = ?5 WHERE file_id = ?1",
                params![f.file_id as i64, f.name, f.title, f.fingerprint as i64, f.present],
            )
            .doing("updating a checkout file")
            .map(drop)
    }

    pub fn forget_checkout_file(&self, file_id: u64) -> Result<()> {
        self.conn().execute("DELETE FROM checkout_file WHERE file_id = ?1", [file_id as i64]).doing("forgetting a checkout file").map(drop)
    }

    pub fn checkout_file(&self, file_id: u64) -> Result<Option<CheckoutFile>> {
        self.conn().query_row(&format!("{CHECKOUT_FILE} WHERE file_id = ?1"), [file_id as i64], checkout_file).optional().doing("reading a checkout file")
    }

    /// Forgets the row of a name whose file is gone, before another file takes the name.
    pub fn forget_checkout_file_named(&self, sync: &str, name: &str) -> Result<()> {
        self.conn().execute("DELETE FROM checkout_file WHERE sync = ?1 AND name = ?2", [sync, name]).doing("forgetting a checkout file").map(drop)
    }
}

#[cfg(test)]
mod tests;
