//! Resumption tokens that hold their whole state: the list's selection,
//! where it stands in store order, the snapshot bound, the cursor and the
//! list's size. Nothing is kept on the server, so a token survives a
//! restart and any number of servers can answer it; the same token gives
//! the same page as long as the records it covers are unchanged.
//!
//! A token is the state as JSON, in hex (URL-safe, nothing to escape).
//! Anything that does not decode to a state of this form, or whose numbers
//! do not hang together, is `badResumptionToken`.

use serde::{Deserialize, Serialize};

use super::request::{OaiError, Selection};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Token {
    /// The form's version, so a later form can be told apart.
    pub v: u8,
    /// metadataPrefix, set, from, until (Unix seconds).
    pub p: String,
    pub s: Option<String>,
    pub f: Option<i64>,
    pub u: Option<i64>,
    /// The store sequence of the last record given.
    pub a: i64,
    /// The snapshot bound: records stored after the list began are left to
    /// the next harvest.
    pub m: i64,
    /// Records given before the next page, and the list's size.
    pub c: u64,
    pub t: u64,
}

/// The longest token accepted: a real one is a few hundred bytes.
const MAX_TOKEN: usize = 16 * 1024;

impl Token {
    pub fn new(selection: &Selection, after_seq: i64, max_seq: i64, cursor: u64, total: u64) -> Token {
        Token {
            v: 1,
            p: selection.prefix.clone(),
            s: selection.set.clone(),
            f: selection.from,
            u: selection.until,
            a: after_seq,
            m: max_seq,
            c: cursor,
            t: total,
        }
    }

    pub fn selection(&self) -> Selection {
        Selection { prefix: self.p.clone(), set: self.s.clone(), from: self.f, until: self.u }
    }

    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).expect("a token serializes");
        json.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn decode(text: &str) -> Result<Token, OaiError> {
        let bad = || OaiError::new("badResumptionToken", "the resumptionToken is not one this repository gave out (or it was damaged)");
        if text.len() > MAX_TOKEN || !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let bytes: Vec<u8> = (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex digits")).collect();
        let token: Token = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        let consistent = token.v == 1 && token.a >= 0 && token.a <= token.m && token.c <= token.t && !token.p.is_empty();
        if !consistent {
            return Err(bad());
        }
        Ok(token)
    }
}

#[cfg(test)]
mod tests;
