//! An OAI-PMH 2.0 harvesting client.
//!
//! This crate speaks the protocol and nothing else: it knows no database,
//! no wiki and no command line. Layout:
//!
//! * [`model`]: verbs, headers, records, tokens, what `Identify` says.
//! * [`parse`]: pure functions from a response body to those types.
//! * [`charset`]: bodies in a declared encoding other than UTF-8, decoded as declared.
//! * [`repair`]: the one rule for invalid UTF-8 and characters XML forbids.
//! * [`client`]: HTTP with flow control, bounded retries and decompression.
//! * [`clock`]: time, injectable, for the client, the hosts and the daemon's schedules.
//! * [`paging`]: following resumption tokens without looping.
//! * [`hosts`]: politeness shared by clients: requests in flight per host, a host's `Retry-After` for all.
//! * [`error`]: the crate's one error type.

pub mod charset;
pub mod client;
pub mod clock;
pub mod dc;
pub mod error;
pub mod hosts;
pub mod model;
pub mod paging;
pub mod parse;
pub mod repair;

pub use client::{Client, ClientOptions, Fetched, ListArgs, Received, RetryPolicy};
pub use clock::{Clock, SystemClock};
pub use error::{Error, ErrorCode, OaiError, Origin, Result};
pub use hosts::Hosts;
pub use model::{DeletedRecord, Granularity, Header, Identify, MetadataFormat, Page, Record, ResumptionToken, Set, Verb, parse_datestamp};
pub use paging::TokenGuard;
