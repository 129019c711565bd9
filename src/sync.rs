//! Two-way sync of page pairs.
//!
//! * `checkout`: page files in a directory: safe reversible names, scans, renames. Pure.
//! * `files`: what to do with a File: page pair's files, from the agreed file and both sides' current ones. Pure.
//! * `plan`: what to do with one pair, from its base and both sides. Pure.
//! * `peer`: the sides as the runner sees them, a wiki, a checkout, or the other site of a sync by packages: pull or scan, read, write, move, delete.
//! * `packages`: a sync by packages: the other site's packages applied before a run, this site's left after it.
//! * `scope`: what one run covers and how it behaves (`SyncOptions`, notices, a group's members).
//! * `replay`: what replaying one side's revisions on the other sends: attributed summaries, squashes, import requests. Pure.
//! * `report`: what a run did.
//! * `run`: a sync run: its rounds (`run`), the outbox (`run::outbox`), conflicts (`run::conflicts`).
//! * `group`: a group of wikis, a star of pairs around its hub, its pages those of its categories.
pub mod checkout;
pub mod files;
pub mod group;
pub mod packages;
pub mod peer;
pub mod plan;
pub mod replay;
pub mod report;
pub mod run;
pub mod scope;

pub use run::{Take, resolve};
