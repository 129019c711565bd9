//! oai-mirror: keeps copies of OAI-PMH repositories in step.
//!
//! Layout:
//! * [`harvest`]: one source into the store — planning, windows, resuming,
//!   fetching overlapped with committing.
//! * [`mediawiki`]: the MediaWiki action API client.
//! * [`merge`]: three-way merge of page texts, checked.
//! * [`settings`]: the config file and environment, read with `config`.
//! * [`fake_oai_wiki`]: a fake wiki with MediaWiki's OAI extension, for tests and the benchmark.
//! * [`testbed`]: a generated OAI-PMH repository served over HTTP with
//!   injectable faults, for the demo, the benchmark and the tests.
//! * [`tasks`]: one run of a harvest, a mirror or a sync, from the settings; shared by the CLI and the daemon.
//! * [`check`]: `config check`, every problem with its line.
//! * [`util`]: small shared helpers (a poison-tolerant lock, hashes, TLS setup).
//! * [`cli`]: the command line; only it and `main.rs` print.

pub mod check;
pub mod cli;
pub mod daemon;
pub mod fake_oai_wiki;
pub mod harvest;
pub mod mediawiki;
pub mod merge;
pub mod mirror;
pub mod settings;
pub mod sync;
pub mod tasks;
pub mod util;
pub mod testbed;
