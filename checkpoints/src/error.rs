//! The crate's one error type.

#[derive(Debug, thiserror::Error)]
pub enum Error {
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
    #[error("the stored metadata of record {identifier} cannot be read or written: {detail}")]
    Metadata { identifier: String, detail: String },
    #[error("the compression dictionary {id} cannot be used: {detail}")]
    Dictionary { id: i64, detail: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Adds what was being done to a rusqlite error.
pub(crate) trait Doing<T> {
    fn doing(self, what: &str) -> Result<T>;
}

impl<T> Doing<T> for rusqlite::Result<T> {
    fn doing(self, what: &str) -> Result<T> {
        self.map_err(|source| Error::Sqlite { doing: what.to_string(), source })
    }
}
