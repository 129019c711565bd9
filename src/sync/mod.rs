//! Two-way sync of page pairs.
//!
//! * `plan`: what to do with one pair, from its base and both sides. Pure.
//! * `run`: a sync run between two wikis through the outbox.
pub mod plan;
pub mod run;
