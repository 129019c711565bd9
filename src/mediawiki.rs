//! The MediaWiki action API, as a careful bot speaks it.
//!
//! * `types`: what the API answers, read by pure functions from JSON.
//! * `client`: `Wiki`, one client per wiki, the transport: login with a bot password,
//!   `assert=user`, CSRF tokens, `maxlag`, bounded retries, its health.
//! * `actions`: what `Wiki` asks of a wiki, one method per action, with typed outcomes.
//! * `error`: `MwError`, this module's one error type, with wiki, action and title.

pub mod actions;
pub mod client;
pub mod error;
pub mod files;
pub mod parse;
pub mod types;

pub use actions::Sent;
pub use client::{Health, Secret, Wiki, WikiOptions};
pub use error::{ApiCode, MwError, MwResult};
pub use files::{Download, FileInfo, FileRevision};
pub use parse::Parsed;
pub use types::*;
