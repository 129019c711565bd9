//! Migrations, tracked with `PRAGMA user_version`.
//!
//! Each entry of [`MIGRATIONS`] moves the schema up one version; pending
//! ones run in one transaction with the version bump, so a crash leaves
//! either the old or the new schema. A database newer than this program is refused rather
//! than guessed at.
//!
//! Version 1 holds harvests, version 2 mirrored wiki pages, version 3
//! two-way sync (page pairs with their base, the push outbox, conflicts),
//! version 4 the files of checkouts, version 5 compressed record metadata,
//! version 6 the records a run skipped and the pages it transcoded,
//! version 7 what serving needs (each record's store sequence and time,
//! the origin's formats and sets), version 8 MediaWiki XML packages
//! (each revision's store sequence, a log of page states, the packages
//! exported and imported), version 9 the slices of a run harvested in
//! parallel, version 10 the daemon's recent runs of each job and each
//! conflict's base, version 11 the run that last saw each record, version
//! 12 `cat`'s named cursors, version 13 served repository names and
//! forgotten sources, version 14 revisions' minor flag and user id and
//! each wiki's site information, version 15 each revision's text size,
//! version 16 how far each page's full history is stored, and which
//! revision a replayed push carries and saved, version 17 the versions of
//! mirrored wikis' files, version 18 files in two-way sync,
//! version 19 the files each page uses, version 20 the reader's
//! full-text index of pages and their renderings.

use rusqlite::Connection;

use crate::error::{Doing, Error, Result};

/// Migration N (1-based) is `MIGRATIONS[N - 1]`.
pub const MIGRATIONS: &[&str] = &[
    include_str!("schema/001_harvest.sql"),
    include_str!("schema/002_wiki.sql"),
    include_str!("schema/003_sync.sql"),
    include_str!("schema/004_checkout.sql"),
    include_str!("schema/005_compression.sql"),
    include_str!("schema/006_skipped.sql"),
    include_str!("schema/007_serve.sql"),
    include_str!("schema/008_packages.sql"),
    include_str!("schema/009_slices.sql"),
    include_str!("schema/010_console.sql"),
    include_str!("schema/011_seen.sql"),
    include_str!("schema/012_cursors.sql"),
    include_str!("schema/013_served_names.sql"),
    include_str!("schema/014_fidelity.sql"),
    include_str!("schema/015_text_size.sql"),
    include_str!("schema/016_history.sql"),
    include_str!("schema/017_files.sql"),
    include_str!("schema/018_file_sync.sql"),
    include_str!("schema/019_file_uses.sql"),
    include_str!("schema/020_reader.sql"),
];

pub fn migrate(conn: &mut Connection, path: &str) -> Result<()> {
    let supported = MIGRATIONS.len() as i64;
    let version = |c: &Connection| -> Result<i64> { c.query_row("PRAGMA user_version", [], |r| r.get(0)).doing("reading the schema version") };
    let found = version(conn)?;
    if found > supported {
        return Err(Error::NewerSchema { path: path.to_string(), found, supported });
    }
    if found == supported {
        return Ok(());
    }
    // Two processes may open a new database at once: take the write lock
    // first and read the version again under it, so only one migrates.
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).doing("starting a migration")?;
    let found = version(&tx)?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = i as i64 + 1;
        tx.execute_batch(sql).doing(&format!("migrating to schema version {version}"))?;
        tx.pragma_update(None, "user_version", version).doing("recording the schema version")?;
    }
    tx.commit().doing("committing a migration")
}
