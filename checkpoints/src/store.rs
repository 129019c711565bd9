//! The store: one SQLite connection, synchronous. Callers in async code run
//! it on a blocking thread.

use std::cell::RefCell;
use std::collections::HashMap;

use rusqlite::{Connection, params};

use crate::compress::{Codec, Packer, Unpackers};
use crate::error::{Doing, Error, Result};
use crate::schema;

/// What is harvested: a repository, a metadata format and perhaps a set.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SourceKey {
    pub base_url: String,
    pub metadata_prefix: String,
    pub set_spec: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    pub id: i64,
    pub key: SourceKey,
    pub granularity: Option<String>,
    /// See the `source.next_from` column.
    pub next_from: Option<String>,
}

/// A stored record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoredRecord {
    pub source_id: i64,
    pub identifier: String,
    pub datestamp: String,
    pub deleted: bool,
    pub sets: Vec<String>,
    pub metadata: Option<Vec<u8>>,
    pub first_seen: i64,
    pub last_seen: i64,
}

/// Write transactions take the write lock when they begin (`BEGIN
/// IMMEDIATE`). A deferred one that reads first and then writes fails at
/// once with SQLITE_BUSY if another connection wrote in between (its
/// snapshot is stale, and waiting cannot help), instead of waiting for the
/// lock under the busy timeout; with several connections at work (the
/// daemon gives each run its own) that would fail harvests at random.
pub(crate) trait WriteTransaction {
    fn write_transaction(&mut self) -> rusqlite::Result<rusqlite::Transaction<'_>>;
}

impl WriteTransaction for Connection {
    fn write_transaction(&mut self) -> rusqlite::Result<rusqlite::Transaction<'_>> {
        self.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
    }
}

pub struct Store {
    pub(crate) conn: Connection,
    /// Each source's compressor, once its dictionary is known.
    pub(crate) packers: HashMap<i64, Packer>,
    /// Reading takes `&self`; decompressors are made on first use.
    unpackers: RefCell<Unpackers>,
    /// The time written into `stored_at` (Unix seconds): the system's,
    /// unless a test sets another (see [`Store::set_clock`]).
    pub(crate) clock: Clock,
}

/// The last store sequence and time given out, read under the write lock
/// by every write that gives out more.
pub(crate) fn read_store_clock(conn: &Connection) -> Result<(i64, i64)> {
    conn.query_row("SELECT last_seq, last_at FROM store_clock WHERE id = 1", [], |r| Ok((r.get(0)?, r.get(1)?))).doing("reading the store clock")
}

/// What [`Store`] asks for the time.
pub(crate) type Clock = std::sync::Arc<dyn Fn() -> i64 + Send + Sync>;

fn system_clock() -> Clock {
    std::sync::Arc::new(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64))
}

impl Store {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub fn open(path: &std::path::Path) -> Result<Store> {
        let shown = path.display().to_string();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
            return Err(Error::NoDirectory { path: shown, dir: dir.display().to_string() });
        }
        let conn = Connection::open(path).map_err(|source| Error::Open { path: shown.clone(), source }.on_open(path))?;
        Store::setup(conn, &shown).map_err(|e| e.on_open(path))
    }

    /// Opens the database at `path` for reading only: it is never created,
    /// migrated or written, so commands that only read work on a file this
    /// process may not write, and on a fresh machine say that there is
    /// nothing yet instead of leaving an empty database behind.
    pub fn open_read_only(path: &std::path::Path) -> Result<Store> {
        use rusqlite::OpenFlags;
        let shown = path.display().to_string();
        if !path.exists() {
            return Err(Error::Missing { path: shown });
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let check = |conn: &Connection| -> Result<()> {
            conn.busy_timeout(std::time::Duration::from_secs(10)).doing("setting the busy timeout")?;
            // Readers scan in index order and rarely read a page twice: a
            // small cache keeps many of them (a server's) light.
            conn.pragma_update(None, "cache_size", -1024).doing("setting the cache size")?;
            let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).doing("reading the schema version")?;
            let supported = schema::MIGRATIONS.len() as i64;
            match found {
                f if f > supported => Err(Error::NewerSchema { path: shown.clone(), found, supported }),
                f if f < supported => Err(Error::OlderSchema { path: shown.clone(), found, supported }),
                _ => Ok(()),
            }
        };
        let conn = Connection::open_with_flags(path, flags).map_err(|source| Error::Open { path: shown.clone(), source }.on_open(path))?;
        let conn = match check(&conn) {
            Ok(()) => conn,
            // A WAL database needs its -shm file to be read; with no writer
            // at work it is gone, and a reader who may not write the
            // directory cannot make it. Then the file is read as it stands
            // (`immutable`): no writer is there to change it.
            Err(e) if matches!(e.sqlite_code(), Some(rusqlite::ErrorCode::CannotOpen | rusqlite::ErrorCode::ReadOnly)) => {
                drop(conn);
                let uri = format!("file:{}?immutable=1", uri_path(path));
                let conn = Connection::open_with_flags(&uri, flags | OpenFlags::SQLITE_OPEN_URI)
                    .map_err(|source| Error::Open { path: shown.clone(), source }.on_open(path))?;
                check(&conn).map_err(|e| e.on_open(path))?;
                conn
            }
            Err(e) => return Err(e.on_open(path)),
        };
        Ok(Store { conn, packers: HashMap::new(), unpackers: RefCell::default(), clock: system_clock() })
    }

    /// Replaces the clock that store times are read from (tests hold time
    /// still or move it on by hand).
    pub fn set_clock(&mut self, clock: impl Fn() -> i64 + Send + Sync + 'static) {
        self.clock = std::sync::Arc::new(clock);
    }

    /// The store's time for a write about to commit: never before the last
    /// one given out. Read inside the write transaction, after its work,
    /// so that a reader who began before the commit, and answered with a
    /// time a second before its own start, is never past it (see `served`).
    pub(crate) fn store_time(clock: &Clock, last_at: i64) -> i64 {
        last_at.max(clock())
    }

    pub fn open_in_memory() -> Result<Store> {
        let conn = Connection::open_in_memory().map_err(|source| Error::Open { path: ":memory:".into(), source })?;
        Store::setup(conn, ":memory:")
    }

    fn setup(conn: Connection, path: &str) -> Result<Store> {
        // WAL: readers (`status` while a harvest runs) never block the writer.
        // synchronous=NORMAL: a commit survives the process being killed; only
        // a power loss may lose the last commits, never consistency.
        // The busy timeout comes first: another process (a harvest while
        // `status` runs) may hold the lock that switching to WAL needs.
        conn.busy_timeout(std::time::Duration::from_secs(10)).doing("setting the busy timeout")?;
        // 16 KiB pages store ~1 KB metadata blobs with a fifth less work than
        // the default 4 KiB (measured). It only takes effect on a new file,
        // before WAL is switched on.
        conn.pragma_update(None, "page_size", 16384).doing("setting the page size")?;
        conn.pragma_update(None, "journal_mode", "WAL").doing("enabling WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL").doing("setting synchronous")?;
        // Checkpoint every 4 MiB of log instead of SQLite's 16 MiB: each
        // checkpoint waits for the disk (fsync of the log, then of the
        // database), and small ones keep the log in the page cache and wait
        // less in all. A harvest of 100k records took a fifth less time
        // (bench/run.sh, interleaved runs of 64 to 1000 pages).
        conn.pragma_update(None, "wal_autocheckpoint", 256).doing("setting the checkpoint interval")?;
        conn.pragma_update(None, "foreign_keys", "ON").doing("enabling foreign keys")?;
        let mut store = Store { conn, packers: HashMap::new(), unpackers: RefCell::default(), clock: system_clock() };
        schema::migrate(&mut store.conn, path)?;
        Ok(store)
    }

    /// The database file, unless the store is in memory.
    pub fn path(&self) -> Option<&std::path::Path> {
        self.conn.path().filter(|p| !p.is_empty()).map(std::path::Path::new)
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    pub(crate) fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    #[cfg(test)]
    pub(crate) fn schema_version(&self) -> Result<i64> {
        self.conn.query_row("PRAGMA user_version", [], |r| r.get(0)).doing("reading the schema version")
    }

    /// The source's row, created if new, brought back if forgotten.
    pub fn source(&self, key: &SourceKey, now: i64) -> Result<Source> {
        let set = key.set_spec.clone().unwrap_or_default();
        self.conn
            .execute(
                "INSERT INTO source (base_url, metadata_prefix, set_spec, created_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (base_url, metadata_prefix, set_spec) DO UPDATE SET forgotten_at = NULL",
                params![key.base_url, key.metadata_prefix, set, now],
            )
            .doing("adding a source")?;
        self.conn
            .query_row(
                "SELECT id, granularity, next_from FROM source WHERE base_url = ?1 AND metadata_prefix = ?2 AND set_spec = ?3",
                params![key.base_url, key.metadata_prefix, set],
                |r| Ok(Source { id: r.get(0)?, key: key.clone(), granularity: r.get(1)?, next_from: r.get(2)? }),
            )
            .doing("reading a source")
    }

    pub fn set_granularity(&self, source_id: i64, granularity: &str) -> Result<()> {
        self.conn.execute("UPDATE source SET granularity = ?2 WHERE id = ?1", params![source_id, granularity]).doing("saving the granularity").map(drop)
    }

    pub fn sources(&self) -> Result<Vec<Source>> {
        self.sources_where("forgotten_at IS NULL", rusqlite::params![])
    }

    /// Every source whose records are served: the harvested ones and the
    /// forgotten ones, whose records are served as deletions.
    pub fn served_sources(&self) -> Result<Vec<Source>> {
        self.sources_where("1", rusqlite::params![])
    }

    /// The sources harvested from `base_url` (one per prefix and set).
    pub fn sources_at(&self, base_url: &str) -> Result<Vec<Source>> {
        self.sources_where("base_url = ?1 AND forgotten_at IS NULL", rusqlite::params![base_url])
    }

    fn sources_where(&self, condition: &str, params: &[&dyn rusqlite::ToSql]) -> Result<Vec<Source>> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT id, base_url, metadata_prefix, set_spec, granularity, next_from FROM source WHERE {condition} ORDER BY id"))
            .doing("listing sources")?;
        let rows = stmt
            .query_map(params, |r| {
                let set: String = r.get(3)?;
                Ok(Source {
                    id: r.get(0)?,
                    key: SourceKey { base_url: r.get(1)?, metadata_prefix: r.get(2)?, set_spec: (!set.is_empty()).then_some(set) },
                    granularity: r.get(4)?,
                    next_from: r.get(5)?,
                })
            })
            .doing("listing sources")?;
        rows.collect::<rusqlite::Result<_>>().doing("listing sources")
    }

    /// Calls `each` for every record of a source (or of all sources), in
    /// identifier order, without loading them all.
    pub fn for_each_record(&self, source_id: Option<i64>, each: impl FnMut(StoredRecord) -> bool) -> Result<()> {
        self.each_record(RECORD_COLUMNS, source_id, each)
    }

    fn each_record(&self, columns: &str, source_id: Option<i64>, mut each: impl FnMut(StoredRecord) -> bool) -> Result<()> {
        let mut stmt = self.conn.prepare(&format!("{columns} WHERE ?1 IS NULL OR source_id = ?1 ORDER BY source_id, identifier")).doing("listing records")?;
        let mut rows = stmt.query([source_id]).doing("listing records")?;
        while let Some(row) = rows.next().doing("listing records")? {
            let stored = record_from_row(row).doing("listing records")?;
            if !each(self.unpack(stored)?) {
                break;
            }
        }
        Ok(())
    }

    /// Every stored copy of a record (one per source that has it).
    pub fn record(&self, identifier: &str) -> Result<Vec<StoredRecord>> {
        let mut stmt = self.conn.prepare(&format!("{RECORD_COLUMNS} WHERE identifier = ?1 ORDER BY source_id")).doing("reading a record")?;
        let rows = stmt.query_map([identifier], record_from_row).doing("reading a record")?;
        let stored: Vec<_> = rows.collect::<rusqlite::Result<_>>().doing("reading a record")?;
        stored.into_iter().map(|r| self.unpack(r)).collect()
    }

    /// A record as stored, its metadata turned back into the bytes received.
    pub(crate) fn unpack(&self, stored: RecordRow) -> Result<StoredRecord> {
        let RecordRow { mut record, codec, dictionary } = stored;
        let fail = |detail: String| Error::Metadata { identifier: record.identifier.clone(), detail };
        let codec = Codec::parse(&codec).ok_or_else(|| fail(format!("unknown codec {codec:?}")))?;
        if let Some(bytes) = record.metadata.take() {
            let load = |id: i64| -> std::result::Result<Vec<u8>, String> {
                self.conn
                    .query_row("SELECT content FROM metadata_dictionary WHERE id = ?1", [id], |r| r.get(0))
                    .map_err(|e| format!("reading dictionary {id}: {e}"))
            };
            record.metadata = Some(self.unpackers.borrow_mut().unpack(bytes, codec, dictionary, load).map_err(fail)?);
        }
        Ok(record)
    }
}

/// A path as an SQLite URI's path: every byte but unreserved ones and `/`
/// percent-encoded.
fn uri_path(path: &std::path::Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    absolute
        .as_os_str()
        .as_bytes()
        .iter()
        .map(|&b| if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

pub(crate) const RECORD_COLUMNS: &str =
    "SELECT source_id, identifier, datestamp, deleted, sets, metadata, first_seen, last_seen, metadata_codec, metadata_dictionary FROM record";

/// [`RECORD_COLUMNS`] with no metadata.
pub(crate) const RECORD_HEADER_COLUMNS: &str =
    "SELECT source_id, identifier, datestamp, deleted, sets, NULL, first_seen, last_seen, metadata_codec, metadata_dictionary FROM record";

/// A record row before its metadata is unpacked.
pub(crate) struct RecordRow {
    pub(crate) record: StoredRecord,
    codec: String,
    dictionary: Option<i64>,
}

pub(crate) fn record_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RecordRow> {
    let sets: String = r.get(4)?;
    let record = StoredRecord {
        source_id: r.get(0)?,
        identifier: r.get(1)?,
        datestamp: r.get(2)?,
        deleted: r.get(3)?,
        sets: if sets.is_empty() { Vec::new() } else { sets.split('\n').map(str::to_string).collect() },
        metadata: r.get(5)?,
        first_seen: r.get(6)?,
        last_seen: r.get(7)?,
    };
    Ok(RecordRow { record, codec: r.get(8)?, dictionary: r.get(9)? })
}

#[cfg(test)]
mod tests;
