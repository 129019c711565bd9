//! The integration tests: one binary, several modules (see Cargo.toml).

mod cli;
mod corpus;
mod crash;
mod faults;
mod interop;
mod support;
mod wiki;
