//! Two-way sync of page pairs.
//!
//! * `checkout`: page files in a directory: safe reversible names, scans, changes (pure core; not wired into runs yet).
//! * `plan`: what to do with one pair, from its base and both sides. Pure.
//! * `run`: a sync run between two wikis through the outbox.
pub mod checkout;
pub mod plan;
pub mod run;
