//! Durable state for oai-mirror, in SQLite.
//!
//! This crate never touches the network and never uses an async runtime: a
//! [`Store`] owns one `rusqlite::Connection` and every method is a short,
//! synchronous transaction. It holds harvest sources, runs with their
//! in-flight position and harvested records; mirrored wiki pages with their
//! revisions and titles; and two-way sync state (pairs, the outbox,
//! conflicts, checkout files). Layout:
//!
//! * [`store`]: the `Store` and its harvest types.
//! * [`slices`]: the slices of a run harvested in parallel, each with its own position.
//! * [`served`]: what serving over OAI-PMH reads: records in store order with this store's datestamps, origins' formats and sets.
//! * [`records`]: records streamed out, filtered, latest version of each; forgetting a source.
//! * [`sync`]: two-way sync pairs, the push outbox, conflicts, checkout files.
//! * [`packages`]: what MediaWiki XML packages read and record: pages changed since a sequence, with their state then.
//! * [`wiki`]: mirrored wiki pages, revisions, title history, feed checkpoints.
//! * [`files`]: each version of a mirrored wiki's files, what the wiki states of it and whether it is stored.
//! * [`file_sync`]: files in two-way sync: each pair's agreed file, the uploads queued.
//! * [`file_uses`]: the files each page uses (`used_files = true`).
//! * [`blobs`]: the files directory beside the database, contents by SHA-1.
//! * [`backfill`]: how far each page's full history is stored; older revisions added.
//! * [`compress`]: record metadata at rest, zstd against a dictionary per source.
//! * [`schema`]: migrations tracked with `PRAGMA user_version`.
//! * [`error`]: the crate's one error type.

pub mod backfill;
pub mod blobs;
pub mod compress;
pub mod error;
pub mod file_sync;
pub mod file_uses;
pub mod files;
pub mod history;
pub mod packages;
pub mod records;
pub mod render;
pub mod runs;
pub mod schema;
pub mod search;
pub mod served;
pub mod slices;
pub mod store;
pub mod sync;
#[cfg(test)]
mod testing;
pub mod wiki;

pub use backfill::HistoryGap;
pub use blobs::Blobs;
pub use error::{Error, Result};
pub use file_sync::{FilePair, FilePush, NewFilePush};
pub use files::{FileGap, FileKey, FileState, FileVersion, FilesStatus, StoredFile};
pub use history::JobRun;
pub use packages::{ChangedPage, ExportStream, ImportState, LoggedState};
pub use records::{Deleted, RecordFilter, pick_served_name};
pub use render::Rendering;
pub use runs::{PageCommit, Position, RecordIn, Run, RunPlan, RunState, SourceStatus, Tally};
pub use search::{Hit, RecordHit, RecordText, Suggestion};
pub use served::{INLINE_TEXT, OriginFormat, OriginSet, ServedPage, ServedQuery, ServedRecord};
pub use slices::{Slice, SliceRange};
pub use store::{Source, SourceKey, Store, StoredRecord};
pub use sync::{CheckoutFile, ConflictPolicy, ConflictRow, NewPush, Pair, Push, SyncSide};
pub use wiki::{FeedState, PageOp, PageRow, RevisionRow, SiteNamespace, StoredPage, TitleSpan, WikiSite, WikiWrite};
