//! Files of mirrored wikis: each version a File: page's file had, by page
//! id and upload time, with what the wiki states of it (size, SHA-1, MIME
//! type, uploader, comment, URL) and whether its bytes are stored.
//!
//! The bytes themselves are not in the database: they live in the files
//! directory beside it (`blobs`), content-addressed by SHA-1. A version is
//! `stored` only once bytes of exactly its size and SHA-1 are there. Each
//! File: page has a point (`wiki_file_point`): the page revision at which
//! its versions were last read; uploads, re-uploads, reverts and moves all
//! give the page a new revision, so a page whose point differs from its
//! current revision is read again.

use rusqlite::{OptionalExtension, params};

use crate::error::{Doing, Result};
use crate::store::{Store, WriteTransaction};

/// Where a file version stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileState {
    /// To download.
    Pending,
    /// Downloaded and checked: its bytes are in the files directory.
    Stored,
    /// Every attempt brought other bytes than the wiki states.
    Quarantined,
    /// Kept by a shared repository (e.g. Wikimedia Commons): recorded only.
    Foreign,
    /// The wiki hides this version's file.
    Hidden,
    /// Over the size limit.
    TooLarge,
}

impl FileState {
    pub fn as_str(self) -> &'static str {
        match self {
            FileState::Pending => "pending",
            FileState::Stored => "stored",
            FileState::Quarantined => "quarantined",
            FileState::Foreign => "foreign",
            FileState::Hidden => "hidden",
            FileState::TooLarge => "too_large",
        }
    }

    fn parse(s: &str) -> FileState {
        match s {
            "stored" => FileState::Stored,
            "quarantined" => FileState::Quarantined,
            "foreign" => FileState::Foreign,
            "hidden" => FileState::Hidden,
            "too_large" => FileState::TooLarge,
            _ => FileState::Pending,
        }
    }
}

/// One version of a file, as the wiki states it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileVersion {
    /// Upload time, `YYYY-MM-DDTHH:MM:SSZ`.
    pub timestamp: String,
    /// Lower-case hex SHA-1 of the bytes (40 characters).
    pub sha1: String,
    pub size: u64,
    pub mime: String,
    pub user: String,
    pub comment: String,
    pub url: String,
    pub state: FileState,
}

/// A stored version with its page and download record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredFile {
    pub pageid: u64,
    pub title: String,
    /// The page is deleted on the wiki (its versions are kept).
    pub deleted: bool,
    pub version: FileVersion,
    pub attempts: u32,
    /// Downloads whose bytes did not match what the wiki states.
    pub bad: u32,
    pub error: Option<String>,
}

/// Which version: a page's file at an upload time, with its content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileKey<'a> {
    pub pageid: u64,
    pub timestamp: &'a str,
    pub sha1: &'a str,
}

impl StoredFile {
    pub fn key(&self) -> FileKey<'_> {
        FileKey { pageid: self.pageid, timestamp: &self.version.timestamp, sha1: &self.version.sha1 }
    }
}

/// A live File: page whose versions were not read at its current revision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileGap {
    pub pageid: u64,
    pub title: String,
    pub rev_id: u64,
}

/// Counts of a wiki's files (or all wikis').
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FilesStatus {
    /// File versions known.
    pub versions: u64,
    pub stored: u64,
    pub pending: u64,
    pub quarantined: u64,
    pub foreign: u64,
    pub hidden: u64,
    pub too_large: u64,
    /// Bytes in the files directory for them (each content once).
    pub bytes: u64,
    /// Downloads whose bytes did not match, ever.
    pub bad_downloads: u64,
}

const FILE_COLUMNS: &str =
    "SELECT f.page_id, COALESCE(p.title, ''), COALESCE(p.deleted, 0), f.timestamp, f.sha1, f.size, f.mime, f.user, f.comment, f.url, f.state,
        f.attempts, f.bad, f.error
     FROM wiki_file f LEFT JOIN wiki_page p ON p.wiki = f.wiki AND p.page_id = f.page_id";

fn stored_file(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredFile> {
    Ok(StoredFile {
        pageid: r.get::<_, i64>(0)? as u64,
        title: r.get(1)?,
        deleted: r.get(2)?,
        version: FileVersion {
            timestamp: r.get(3)?,
            sha1: r.get(4)?,
            size: r.get::<_, i64>(5)? as u64,
            mime: r.get(6)?,
            user: r.get(7)?,
            comment: r.get(8)?,
            url: r.get(9)?,
            state: FileState::parse(&r.get::<_, String>(10)?),
        },
        attempts: r.get::<_, i64>(11)? as u32,
        bad: r.get::<_, i64>(12)? as u32,
        error: r.get(13)?,
    })
}

impl Store {
    /// Live File: pages (namespace 6) of a wiki whose versions were not read
    /// at their current revision, by page id after `after`, at most `limit`.
    pub fn file_gaps(&self, wiki: &str, after: u64, limit: usize) -> Result<Vec<FileGap>> {
        self.gaps("wiki_file_point", "p.ns = 6 AND p.redirect IS NULL", (wiki, after, limit), "finding file pages to read")
    }

    /// Live pages of a wiki matching `pages` (SQL over `p`, a `wiki_page`)
    /// whose revision is not the one `points` (a table of (wiki, page_id,
    /// rev_id)) has for them, by page id after `after`, at most `limit`.
    pub(crate) fn gaps(&self, points: &str, pages: &str, (wiki, after, limit): (&str, u64, usize), doing: &str) -> Result<Vec<FileGap>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT p.page_id, p.title, p.rev_id FROM wiki_page p
                 LEFT JOIN {points} g ON g.wiki = p.wiki AND g.page_id = p.page_id
                 WHERE p.wiki = ?1 AND {pages} AND p.page_id > ?2 AND p.deleted = 0 AND p.displaced = 0 AND p.rev_id IS NOT NULL
                   AND (g.rev_id IS NULL OR g.rev_id <> p.rev_id)
                 ORDER BY p.page_id LIMIT ?3"
            ))
            .doing(doing)?;
        let rows = stmt
            .query_map(params![wiki, after as i64, limit as i64], |r| {
                Ok(FileGap { pageid: r.get::<_, i64>(0)? as u64, title: r.get(1)?, rev_id: r.get::<_, i64>(2)? as u64 })
            })
            .doing(doing)?;
        rows.collect::<rusqlite::Result<_>>().doing(doing)
    }

    /// Records File: pages' versions, each page `(page id, revision read
    /// at, versions)`, with each page's point, in one transaction. A version
    /// known already keeps its state (a stored one stays stored), its URL
    /// brought up to date (a move changes it); one the wiki hid or shows
    /// again changes state between `hidden` and `pending`. Returns the
    /// versions new to the store.
    pub fn set_files_read(&mut self, wiki: &str, pages: &[(u64, u64, Vec<FileVersion>)]) -> Result<u64> {
        let doing = "recording files' versions";
        let tx = self.conn.write_transaction().doing(doing)?;
        let mut added = 0;
        {
            let mut find = tx.prepare_cached("SELECT state FROM wiki_file WHERE wiki = ?1 AND page_id = ?2 AND timestamp = ?3 AND sha1 = ?4").doing(doing)?;
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO wiki_file (wiki, page_id, timestamp, sha1, size, mime, user, comment, url, state)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )
                .doing(doing)?;
            let mut update = tx
                .prepare_cached("UPDATE wiki_file SET url = ?5, state = ?6 WHERE wiki = ?1 AND page_id = ?2 AND timestamp = ?3 AND sha1 = ?4")
                .doing(doing)?;
            let mut point = tx
                .prepare_cached(
                    "INSERT INTO wiki_file_point (wiki, page_id, rev_id) VALUES (?1, ?2, ?3)
                     ON CONFLICT (wiki, page_id) DO UPDATE SET rev_id = excluded.rev_id",
                )
                .doing(doing)?;
            for (pageid, rev_id, versions) in pages {
                let pageid = *pageid as i64;
                for v in versions {
                    let known: Option<String> = find.query_row(params![wiki, pageid, v.timestamp, v.sha1], |r| r.get(0)).optional().doing(doing)?;
                    match known.map(|s| FileState::parse(&s)) {
                        None => {
                            insert
                                .execute(params![wiki, pageid, v.timestamp, v.sha1, v.size as i64, v.mime, v.user, v.comment, v.url, v.state.as_str()])
                                .doing(doing)?;
                            added += 1;
                        }
                        Some(state) => {
                            let state = match (state, v.state) {
                                // Shown again, or no longer over the limit: to download.
                                (FileState::Hidden | FileState::TooLarge, FileState::Pending) => FileState::Pending,
                                (_, FileState::Hidden) if state != FileState::Stored => FileState::Hidden,
                                (kept, _) => kept,
                            };
                            update.execute(params![wiki, pageid, v.timestamp, v.sha1, v.url, state.as_str()]).doing(doing)?;
                        }
                    }
                }
                point.execute(params![wiki, pageid, *rev_id as i64]).doing(doing)?;
            }
        }
        tx.commit().doing(doing)?;
        Ok(added)
    }

    /// Versions to download, by page id then upload time after `after`, at
    /// most `limit`; those that failed `max_attempts` times are left for a
    /// later pass that asks again (`retry_files`).
    pub fn pending_files(&self, wiki: &str, after: (u64, &str), max_attempts: u32, limit: usize) -> Result<Vec<StoredFile>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(&format!(
                "{FILE_COLUMNS} WHERE f.wiki = ?1 AND f.state = 'pending' AND (f.page_id, f.timestamp) > (?2, ?3) AND f.attempts < ?4
                 ORDER BY f.page_id, f.timestamp LIMIT ?5"
            ))
            .doing("listing files to download")?;
        let rows = stmt.query_map(params![wiki, after.0 as i64, after.1, max_attempts as i64, limit as i64], stored_file).doing("listing files to download")?;
        rows.collect::<rusqlite::Result<_>>().doing("listing files to download")
    }

    /// Marks versions stored, in one transaction.
    pub fn files_stored(&mut self, wiki: &str, keys: &[FileKey<'_>], now: i64) -> Result<()> {
        let tx = self.conn.write_transaction().doing("marking files stored")?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "UPDATE wiki_file SET state = 'stored', error = NULL, stored_at = ?5 WHERE wiki = ?1 AND page_id = ?2 AND timestamp = ?3 AND sha1 = ?4",
                )
                .doing("marking files stored")?;
            for k in keys {
                stmt.execute(params![wiki, k.pageid as i64, k.timestamp, k.sha1, now]).doing("marking files stored")?;
            }
        }
        tx.commit().doing("marking files stored")
    }

    /// Records a failed download: `bad` when bytes came but were not the
    /// ones the wiki states (then, after `max_bad` such, the version is
    /// quarantined); else it stays pending with its error.
    pub fn file_failed(&mut self, wiki: &str, key: FileKey<'_>, error: &str, bad: bool, max_bad: u32) -> Result<FileState> {
        let FileKey { pageid, timestamp, sha1 } = key;
        let doing = "recording a failed download";
        let tx = self.conn.write_transaction().doing(doing)?;
        tx.execute(
            "UPDATE wiki_file SET attempts = attempts + 1, bad = bad + ?5, error = ?6,
                 state = CASE WHEN bad + ?5 >= ?7 THEN 'quarantined' ELSE state END
             WHERE wiki = ?1 AND page_id = ?2 AND timestamp = ?3 AND sha1 = ?4",
            params![wiki, pageid as i64, timestamp, sha1, bad as i64, error, max_bad as i64],
        )
        .doing(doing)?;
        let state: String = tx
            .query_row(
                "SELECT state FROM wiki_file WHERE wiki = ?1 AND page_id = ?2 AND timestamp = ?3 AND sha1 = ?4",
                params![wiki, pageid as i64, timestamp, sha1],
                |r| r.get(0),
            )
            .doing(doing)?;
        tx.commit().doing(doing)?;
        Ok(FileState::parse(&state))
    }

    /// Marks stored the versions of a wiki waiting for a content that is
    /// stored already (another version's, another wiki's: its bytes are in
    /// the files directory), however many attempts they had. Returns how many.
    pub fn adopt_stored_contents(&mut self, wiki: &str, now: i64) -> Result<u64> {
        let doing = "marking stored the versions whose content is kept";
        const ANY: &str =
            "SELECT EXISTS (SELECT 1 FROM wiki_file WHERE wiki = ?1 AND state = 'pending' AND sha1 IN (SELECT sha1 FROM wiki_file WHERE state = 'stored'))";
        // Asked first: a pass with nothing to adopt takes no write lock.
        if !self.conn.query_row(ANY, [wiki], |r| r.get::<_, bool>(0)).doing(doing)? {
            return Ok(0);
        }
        let tx = self.conn.write_transaction().doing(doing)?;
        let n = tx
            .execute(
                "UPDATE wiki_file SET state = 'stored', error = NULL, stored_at = ?2
                 WHERE wiki = ?1 AND state = 'pending' AND sha1 IN (SELECT sha1 FROM wiki_file WHERE state = 'stored')",
                params![wiki, now],
            )
            .doing(doing)?;
        tx.commit().doing(doing)?;
        Ok(n as u64)
    }

    /// Gives every pending version of a wiki its attempts back, and puts
    /// quarantined ones back to pending: `mirror --retry-files`.
    pub fn retry_files(&mut self, wiki: &str) -> Result<u64> {
        let tx = self.conn.write_transaction().doing("retrying files")?;
        let n = tx
            .execute("UPDATE wiki_file SET attempts = 0, state = 'pending' WHERE wiki = ?1 AND state IN ('pending', 'quarantined')", [wiki])
            .doing("retrying files")?;
        tx.commit().doing("retrying files")?;
        Ok(n as u64)
    }

    /// Every file version of a wiki, by title then upload time (newest first).
    pub fn wiki_files(&self, wiki: &str) -> Result<Vec<StoredFile>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("{FILE_COLUMNS} WHERE f.wiki = ?1 ORDER BY p.title, f.page_id, f.timestamp DESC")).doing("listing files")?;
        let rows = stmt.query_map([wiki], stored_file).doing("listing files")?;
        rows.collect::<rusqlite::Result<_>>().doing("listing files")
    }

    /// A page's file versions, newest first.
    pub fn file_versions(&self, wiki: &str, pageid: u64) -> Result<Vec<StoredFile>> {
        self.newest_file_versions(wiki, pageid, -1)
    }

    /// A page's `limit` newest file versions (-1: all).
    pub(crate) fn newest_file_versions(&self, wiki: &str, pageid: u64, limit: i64) -> Result<Vec<StoredFile>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(&format!("{FILE_COLUMNS} WHERE f.wiki = ?1 AND f.page_id = ?2 ORDER BY f.timestamp DESC LIMIT ?3"))
            .doing("listing a file's versions")?;
        let rows = stmt.query_map(params![wiki, pageid as i64, limit], stored_file).doing("listing a file's versions")?;
        rows.collect::<rusqlite::Result<_>>().doing("listing a file's versions")
    }

    /// Bytes stored for every wiki's files, each content once.
    pub fn files_bytes(&self) -> Result<u64> {
        self.conn()
            .query_row("SELECT COALESCE(SUM(size), 0) FROM (SELECT DISTINCT sha1, size FROM wiki_file WHERE state = 'stored')", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .doing("adding up stored files")
    }

    /// Counts of a wiki's files; `None`: every wiki's.
    pub fn files_status(&self, wiki: Option<&str>) -> Result<FilesStatus> {
        let conn = self.conn();
        let mut s = FilesStatus::default();
        let mut stmt =
            conn.prepare_cached("SELECT state, COUNT(*), SUM(bad) FROM wiki_file WHERE ?1 IS NULL OR wiki = ?1 GROUP BY state").doing("counting files")?;
        let mut rows = stmt.query([wiki]).doing("counting files")?;
        while let Some(r) = rows.next().doing("counting files")? {
            let n = r.get::<_, i64>(1).doing("counting files")? as u64;
            s.bad_downloads += r.get::<_, i64>(2).doing("counting files")? as u64;
            s.versions += n;
            match FileState::parse(&r.get::<_, String>(0).doing("counting files")?) {
                FileState::Pending => s.pending += n,
                FileState::Stored => s.stored += n,
                FileState::Quarantined => s.quarantined += n,
                FileState::Foreign => s.foreign += n,
                FileState::Hidden => s.hidden += n,
                FileState::TooLarge => s.too_large += n,
            }
        }
        s.bytes = conn
            .query_row(
                "SELECT COALESCE(SUM(size), 0) FROM (SELECT DISTINCT sha1, size FROM wiki_file WHERE state = 'stored' AND (?1 IS NULL OR wiki = ?1))",
                [wiki],
                |r| r.get::<_, i64>(0),
            )
            .doing("counting files")? as u64;
        Ok(s)
    }
}

impl crate::wiki::WikiWrite<'_> {
    /// Records file versions whose bytes are in the files directory (a
    /// package's), in this write's transaction; a version known already
    /// becomes stored. Returns how many it stored (new, or stored now).
    pub fn add_stored_files(&mut self, pageid: u64, versions: &[FileVersion]) -> Result<u64> {
        let doing = "recording a package's file versions";
        let mut stmt = self
            .tx
            .prepare_cached(
                "INSERT INTO wiki_file (wiki, page_id, timestamp, sha1, size, mime, user, comment, url, state, stored_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'stored', ?10)
                 ON CONFLICT (wiki, page_id, timestamp, sha1) DO UPDATE SET state = 'stored', error = NULL WHERE state <> 'stored'",
            )
            .doing(doing)?;
        let mut added = 0;
        for v in versions {
            added += stmt
                .execute(params![self.wiki, pageid as i64, v.timestamp, v.sha1, v.size as i64, v.mime, v.user, v.comment, v.url, self.now])
                .doing(doing)? as u64;
        }
        Ok(added)
    }
}

#[cfg(test)]
mod tests;
