//! The integration tests: one binary, several modules (see Cargo.toml).

mod cli;
mod corpus;
mod crash;
mod daemon;
mod fake_wiki;
mod faults;
mod interop;
mod mirror_oai;
mod mirror_random;
mod support;
mod sync_checkout;
mod sync_crash;
mod sync_wikis;
mod wiki;
mod wiki_cli;
