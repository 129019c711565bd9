//! Politeness shared by every client of a process: at most a few requests
//! in flight to one host at a time (one by default), and a host that asked
//! to be left alone (`Retry-After`) left alone by every client, while the
//! other hosts go on.
//!
//! A host is the URL's host and port: two sets or formats of one repository
//! share it, two repositories on different servers do not.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::clock::Clock;

/// Requests in flight per host, and each host's pause. Cheap to clone;
/// clones share their state.
#[derive(Clone)]
pub struct Hosts {
    per_host: usize,
    hosts: Arc<Mutex<HashMap<String, Arc<Host>>>>,
    /// HTTP clients by (timeout, connect timeout, credentials carried).
    http: Arc<Mutex<HashMap<HttpKey, reqwest::Client>>>,
}

/// What an HTTP client is built with: its timeouts, and whether it carries
/// credentials (which keeps redirects to the same origin).
pub(crate) type HttpKey = (Duration, Duration, bool);

struct Host {
    slots: Arc<Semaphore>,
    /// The permits `slots` was given in all.
    capacity: Mutex<usize>,
    /// No request before this time (a `Retry-After` it sent).
    not_before: Mutex<Option<SystemTime>>,
    /// Requests in flight now, and the most there ever were (for tests and
    /// benchmarks that check the limit held).
    in_flight: Mutex<(usize, usize)>,
}

/// A slot for one request to a host; the slot is free again when dropped.
pub struct Slot {
    _permit: OwnedSemaphorePermit,
    host: Arc<Host>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        lock(&self.host.in_flight).0 -= 1;
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Hosts {
    /// At most `per_host` requests in flight to one host (at least one).
    pub fn new(per_host: usize) -> Hosts {
        Hosts { per_host: per_host.max(1), hosts: Arc::default(), http: Arc::default() }
    }

    /// The HTTP client built with `key`, made by `build` the first time.
    pub(crate) fn http_client<E>(&self, key: HttpKey, build: impl FnOnce() -> Result<reqwest::Client, E>) -> Result<reqwest::Client, E> {
        let mut clients = lock(&self.http);
        if let Some(client) = clients.get(&key) {
            return Ok(client.clone());
        }
        let client = build()?;
        clients.insert(key, client.clone());
        Ok(client)
    }

    pub fn per_host(&self) -> usize {
        self.per_host
    }

    fn host(&self, key: &str) -> Arc<Host> {
        lock(&self.hosts)
            .entry(key.to_string())
            .or_insert_with(|| {
                Arc::new(Host {
                    slots: Arc::new(Semaphore::new(self.per_host)),
                    capacity: Mutex::new(self.per_host),
                    not_before: Mutex::new(None),
                    in_flight: Mutex::new((0, 0)),
                })
            })
            .clone()
    }

    /// Waits for a free slot on `key`'s host, then until its pause is over.
    pub async fn enter(&self, key: &str, clock: &dyn Clock) -> Slot {
        let host = self.host(key);
        let permit = host.slots.clone().acquire_owned().await.expect("the semaphore is never closed");
        // The pause may have been set, or moved, while this one waited.
        loop {
            let until = *lock(&host.not_before);
            let wait = until.and_then(|t| t.duration_since(clock.now()).ok()).filter(|d| !d.is_zero());
            match wait {
                Some(wait) => clock.sleep(wait).await,
                None => break,
            }
            if *lock(&host.not_before) == until {
                // Waited the whole pause asked for (a test's clock does not move).
                break;
            }
        }
        {
            let mut n = lock(&host.in_flight);
            n.0 += 1;
            n.1 = n.1.max(n.0);
        }
        Slot { _permit: permit, host }
    }

    /// No request to `key`'s host, from any client, for `wait` from now.
    pub fn pause(&self, key: &str, wait: Duration, clock: &dyn Clock) {
        let host = self.host(key);
        let until = clock.now() + wait;
        let mut not_before = lock(&host.not_before);
        if not_before.is_none_or(|t| t < until) {
            *not_before = Some(until);
        }
    }

    /// The most requests ever in flight to `key`'s host at once.
    /// Lets `key` have at least `n` requests in flight from now on (a
    /// source harvested in `n` slices at once asks for it); never lowers
    /// what it has.
    pub fn allow(&self, key: &str, n: usize) {
        let host = self.host(key);
        let mut capacity = lock(&host.capacity);
        if n > *capacity {
            host.slots.add_permits(n - *capacity);
            *capacity = n;
        }
    }

    pub fn most_in_flight(&self, key: &str) -> usize {
        lock(&self.host(key).in_flight).1
    }
}

impl std::fmt::Debug for Hosts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hosts").field("per_host", &self.per_host).finish_non_exhaustive()
    }
}

/// The key of a URL's host: `host:port`.
pub fn host_key(url: &reqwest::Url) -> String {
    format!("{}:{}", url.host_str().unwrap_or(""), url.port_or_known_default().unwrap_or(0))
}

#[cfg(test)]
mod tests;
