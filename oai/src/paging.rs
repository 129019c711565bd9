//! Guards for following resumption tokens: a list ends on an empty or
//! absent token, and a repository that hands back a token it gave before,
//! or pages without records for ever, is stopped instead of looped on.

use std::collections::HashSet;

use crate::error::{Error, Origin, Result};
use crate::model::Page;

/// How many pages in a row may hold no record before the list is abandoned.
/// Some repositories legitimately send a few (filtered pages); none sends
/// this many.
pub const MAX_EMPTY_PAGES: u32 = 100;

/// Watches the pages of one list request.
#[derive(Debug, Default)]
pub struct TokenGuard {
    seen: HashSet<String>,
    empty_in_a_row: u32,
}

impl TokenGuard {
    pub fn new() -> TokenGuard {
        TokenGuard::default()
    }

    /// Starts watching from a token saved earlier (a resumed harvest).
    pub fn resuming(token: &str) -> TokenGuard {
        let mut g = TokenGuard::default();
        g.seen.insert(token.to_string());
        g
    }

    /// Whether `token` was handed out before in this list.
    pub fn has_seen(&self, token: &str) -> bool {
        self.seen.contains(token)
    }

    /// Checks a page that was fetched at `origin` and returns the token to
    /// follow, or `None` when the list is complete.
    pub fn next<'p, T>(&mut self, page: &'p Page<T>, origin: &Origin) -> Result<Option<&'p str>> {
        let Some(token) = page.next_token() else { return Ok(None) };
        if !self.seen.insert(token.to_string()) {
            return Err(Error::TokenLoop { origin: origin.clone() });
        }
        if page.items.is_empty() {
            self.empty_in_a_row += 1;
            if self.empty_in_a_row >= MAX_EMPTY_PAGES {
                return Err(Error::EmptyPages { origin: origin.clone(), pages: self.empty_in_a_row });
            }
        } else {
            self.empty_in_a_row = 0;
        }
        Ok(Some(token))
    }
}

#[cfg(test)]
mod tests;
