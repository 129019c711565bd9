//! Mirroring a wiki into the store: the feeds (OAI-PMH `mediawiki` records
//! or the action API's change feed) become `plan::Incoming` pages; a pure
//! plan detects moves before anything is applied; the store applies the
//! plan and the feed's checkpoint in one transaction.
//!
//! * `export`: MediaWiki's XML export format, as the OAI extension sends it.
//! * `plan`: moves, displacements, deletions and undeletions, planned.
//! * `pull`: one pull through either feed, with selections.
//! * `history`: the history pass, every revision a page had, a chunk at a time.
//! * `uses`: the files the selected pages use, their File: pages added (`used_files = true`).
//! * `files`: the files pass, each File: page's file versions downloaded and checked.

pub mod export;
pub mod files;
pub mod history;
pub mod plan;
pub mod pull;
pub mod render;
pub mod uses;
