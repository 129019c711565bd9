//! Test beds for oai-mirror: servers that stand in for real ones where a
//! real one cannot be made to do what a test needs. They are a
//! dev-dependency of the root package (tests, examples and benchmarks use
//! them) and never part of the product.
//!
//! * `repository`: `Testbed`, a generated OAI-PMH repository with faults
//!   injected by request number.
//! * `oai_wiki`: `FakeOaiWiki`, MediaWiki's OAI extension (Special:OAIRepository),
//!   true to the captured samples.
//! * `api_wiki`: `FakeApi`, a strict api.php for what a real wiki will not
//!   do on demand (maxlag, 429, refused tokens, lost sessions).
//! * `file_host`: `FileHost`, a wiki's files as imageinfo describes them and a
//!   web server sends them, with faults (cut-off bodies, 429, ranges ignored,
//!   altered bytes).
//! * `hostile`: `Hostile`, a server that misbehaves on purpose (huge bodies,
//!   decompression bombs, redirect loops, redirects elsewhere, trickling bodies).
//! * `many`: many `Testbed`s at once, each on a loopback address of its own,
//!   with its own size and latency (the aggregator benchmark).
//! * `http`: what the servers share: serving on loopback, the request log,
//!   XML escaping.
//!
//! Every fake is at least as strict as the real thing: what a real server
//! would refuse, the fake refuses too.
//!
//! The shell scripts beside this crate start the real third-party servers
//! (`mediawiki.sh`: MediaWiki 1.39 from Debian; `pyoai-server.sh`: the PyPI
//! `oaipmh` data provider).

pub mod api_wiki;
pub mod file_host;
pub mod hostile;
pub mod http;
pub mod many;
pub mod oai_wiki;
pub mod repository;

pub use api_wiki::{ApiFault, FakeApi};
pub use file_host::{FileFault, FileHost, HostedFile};
pub use hostile::Hostile;
pub use oai_wiki::{FakeOaiWiki, View};
pub use repository::{Fault, RepoSpec, RetryAfter, Testbed};
