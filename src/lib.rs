//! oai-mirror: keeps copies of OAI-PMH repositories and MediaWiki wikis in
//! step, and keeps wikis (or a wiki and a directory of files) in step with
//! each other. ARCHITECTURE.md is the map; in short:
//!
//! * [`cli`]: the command line, one file per group of commands; only it and `main.rs` print.
//! * [`settings`]: the config file and environment, read with `config`.
//! * [`connections`]: the live connections of a process (hosts' limits, wiki
//!   clients with their logins), built once from the settings and passed down.
//! * [`jobs`]: the config's tables resolved into typed jobs, once, their
//!   schedules, and one run of a job (`jobs::run`, shared by the CLI and the daemon).
//! * [`harvest`]: one OAI-PMH source into the store: planning, windows,
//!   resuming, fetching overlapped with committing.
//! * [`mediawiki`]: the MediaWiki action API client.
//! * [`mirror`]: a wiki into the store by page id, moves planned before they are applied.
//! * [`package`]: MediaWiki XML packages of a mirrored wiki, written and applied; files a person carries.
//! * [`records`]: harvested records rendered for `cat`: XML, JSON lines, payload.
//! * [`merge`]: three-way merge of page texts, checked.
//! * [`sync`]: two-way sync of page pairs through an outbox; decisions are pure.
//! * [`serve`]: the store served over OAI-PMH 2.0, so mirrors can be harvested in turn.
//! * [`daemon`]: every job on its schedule, triggers, the control endpoint.
//! * [`check`]: `config check`, every problem with its line.
//! * [`util`]: small shared helpers (a poison-tolerant lock, hashes, TLS
//!   setup, blocking work off the async workers).

pub mod check;
pub mod cli;
pub mod connections;
pub mod daemon;
pub mod harvest;
pub mod jobs;
pub mod mail;
pub mod mediawiki;
pub mod merge;
pub mod mirror;
pub mod package;
pub mod read;
pub mod records;
pub mod serve;
pub mod settings;
pub mod sync;
pub mod util;
