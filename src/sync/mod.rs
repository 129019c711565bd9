//! Two-way sync of page pairs.
//!
//! * `checkout`: page files in a directory: safe reversible names, scans, renames. Pure.
//! * `plan`: what to do with one pair, from its base and both sides. Pure.
//! * `peer`: the sides as the runner sees them, a wiki or a checkout: pull or scan, read, write, move, delete.
//! * `run`: a sync run through the outbox.
pub mod checkout;
pub mod peer;
pub mod plan;
pub mod run;
