//! The console's sessions, held in memory: made by signing in, each with
//! its CSRF token. A session ends after [`IDLE`] without a request, or
//! [`LIFETIME`] after it began, whichever comes first; at most [`MOST`] are
//! held, and signing in past that ends the one idle longest. So the map
//! never grows without bound, and a cookie left in a browser stops working.
//! Pure: the caller says what time it is.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// A session unused this long has ended.
pub const IDLE: Duration = Duration::from_secs(2 * 3600);
/// A session this old has ended, however busy.
pub const LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// Sessions held at once.
pub const MOST: usize = 256;

struct Session {
    csrf: String,
    began: Instant,
    seen: Instant,
}

#[derive(Default)]
pub struct Sessions {
    by_id: HashMap<String, Session>,
}

impl Sessions {
    /// Starts session `id` with its CSRF token, ending expired sessions
    /// and, if still full, the one idle longest.
    pub fn begin(&mut self, id: String, csrf: String, now: Instant) {
        self.sweep(now);
        while self.by_id.len() >= MOST {
            let Some(oldest) = self.by_id.iter().min_by_key(|(_, s)| s.seen).map(|(id, _)| id.clone()) else { break };
            self.by_id.remove(&oldest);
        }
        self.by_id.insert(id, Session { csrf, began: now, seen: now });
    }

    /// The CSRF token of session `id` if it is still alive, which this use
    /// keeps alive; an ended session is forgotten.
    pub fn csrf(&mut self, id: &str, now: Instant) -> Option<String> {
        let session = self.by_id.get_mut(id)?;
        if !alive(session, now) {
            self.by_id.remove(id);
            return None;
        }
        session.seen = now;
        Some(session.csrf.clone())
    }

    /// Ends the session whose CSRF token is `csrf` (signing out).
    pub fn end(&mut self, csrf: &str) {
        self.by_id.retain(|_, s| s.csrf != csrf);
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    fn sweep(&mut self, now: Instant) {
        self.by_id.retain(|_, s| alive(s, now));
    }
}

fn alive(s: &Session, now: Instant) -> bool {
    now.saturating_duration_since(s.seen) < IDLE && now.saturating_duration_since(s.began) < LIFETIME
}

#[cfg(test)]
mod tests;
