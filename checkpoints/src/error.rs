//! The crate's one error type.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the database {path} cannot be created: its directory {dir} does not exist (create it, or pass --db PATH)")]
    NoDirectory { path: String, dir: String },
    #[error("there is no database at {path} yet: nothing has been harvested or mirrored into it (run `oai-mirror harvest` first, or pass --db PATH)")]
    Missing { path: String },
    #[error("{path} is not an oai-mirror database (not an SQLite file): pass --db with another path, or move the file away")]
    NotADatabase { path: String },
    #[error(
        "the database {path} is read-only: writing needs write access to the file and its directory (for its -wal and -shm files); \
         `status`, `records`, `record`, `cat`, `pages` and `show` only read"
    )]
    ReadOnly { path: String },
    #[error(
        "the database {path} has schema version {found}, older than this program's {supported}: run a writing command (`oai-mirror harvest`) once to upgrade it"
    )]
    OlderSchema { path: String, found: i64, supported: i64 },
    #[error("cannot open the database {path}")]
    Open {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("the database {path} has schema version {found}, newer than this program's {supported}: upgrade oai-mirror")]
    NewerSchema { path: String, found: i64, supported: i64 },
    #[error("database error while {doing}")]
    Sqlite {
        doing: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("no harvest run with id {0}")]
    NoSuchRun(i64),
    #[error("harvest run {run} has no slice {slice} (or it was split once begun)")]
    NoSuchSlice { run: i64, slice: i64 },
    #[error(
        "page {page} [[{title}]] comes with revision {revid}, which is page {owner}'s here: a revision belongs to one page (a damaged or forged source); nothing of it was stored"
    )]
    RevisionOfAnotherPage { revid: u64, page: u64, owner: u64, title: String },
    #[error("the served name {0} is taken by another repository: choose another")]
    NameTaken(String),
    #[error("the stored metadata of record {identifier} cannot be read or written: {detail}")]
    Metadata { identifier: String, detail: String },
    #[error("the kept rendering of page {page} of {wiki} cannot be read or written: {detail} (`mirror {wiki} --render-all` renders it again)")]
    Rendering { wiki: String, page: u64, detail: String },
    #[error("the compression dictionary {id} cannot be used: {detail}")]
    Dictionary { id: i64, detail: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The SQLite error behind this one, if there is one.
    pub(crate) fn sqlite_code(&self) -> Option<rusqlite::ErrorCode> {
        match self {
            Error::Open { source, .. } | Error::Sqlite { source, .. } => source.sqlite_error_code(),
            _ => None,
        }
    }

    /// Says what an error met while opening `path` means for the user: a
    /// file that is not a database, or one this process may not write.
    pub(crate) fn on_open(self, path: &std::path::Path) -> Error {
        let shown = path.display().to_string();
        match self.sqlite_code() {
            Some(rusqlite::ErrorCode::NotADatabase) => Error::NotADatabase { path: shown },
            Some(rusqlite::ErrorCode::ReadOnly) => Error::ReadOnly { path: shown },
            Some(rusqlite::ErrorCode::CannotOpen | rusqlite::ErrorCode::PermissionDenied)
                if std::fs::metadata(path).is_ok_and(|m| m.permissions().readonly()) =>
            {
                Error::ReadOnly { path: shown }
            }
            _ => self,
        }
    }
}

/// Adds what was being done to a rusqlite error.
pub(crate) trait Doing<T> {
    fn doing(self, what: &str) -> Result<T>;
}

impl<T> Doing<T> for rusqlite::Result<T> {
    fn doing(self, what: &str) -> Result<T> {
        self.map_err(|source| Error::Sqlite { doing: what.to_string(), source })
    }
}
