//! Two-way sync of page pairs.
//!
//! * `plan`: what to do with one pair, from its base and both sides. Pure.
pub mod plan;
