//! One file version downloaded: politely (a limit per host of its own, a
//! host's `Retry-After` for every download from it, a bandwidth cap for
//! the process), streamed to its partial file a chunk at a time, resumed
//! from where a cut-off download stopped, and kept only when its size and
//! SHA-1 are what the wiki states.

use std::io::{Read, Seek, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use checkpoints::{Blobs, FileVersion};
use sha1::{Digest, Sha1};

use crate::mediawiki::Wiki;

/// The downloads of one process: state, shared by every wiki's files pass.
#[derive(Clone, Debug)]
pub struct Downloads {
    hosts: oai::Hosts,
    rate: Option<Arc<Rate>>,
}

impl Downloads {
    /// At most `per_host` downloads in flight to a host; `bytes_per_sec`
    /// for all of them together, when given.
    pub fn new(per_host: usize, bytes_per_sec: Option<u64>) -> Downloads {
        Downloads { hosts: oai::Hosts::new(per_host.max(1)), rate: bytes_per_sec.filter(|r| *r > 0).map(|r| Arc::new(Rate::new(r))) }
    }

    /// Downloads in flight to one host at most.
    pub fn per_host(&self) -> usize {
        self.hosts.per_host()
    }
}

/// A bandwidth cap: each chunk books its time on one shared line.
#[derive(Debug)]
struct Rate {
    bytes_per_sec: u64,
    next: std::sync::Mutex<Instant>,
}

impl Rate {
    fn new(bytes_per_sec: u64) -> Rate {
        Rate { bytes_per_sec, next: std::sync::Mutex::new(Instant::now()) }
    }

    /// Waits until `n` more bytes keep within the cap.
    async fn take(&self, n: usize) {
        let wait = {
            let mut next = crate::util::lock(&self.next);
            let now = Instant::now();
            let start = (*next).max(now);
            *next = start + Duration::from_secs_f64(n as f64 / self.bytes_per_sec as f64);
            start - now
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// How one download went.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Checked and in place.
    Kept,
    /// Bytes came, but not the ones the wiki states: quarantined.
    Bad(String),
    /// Nothing usable came; `again`: asking again may help.
    Failed { why: String, again: bool },
}

/// Requests a download may make before it is given up for this try.
const REQUESTS: u32 = 4;

/// Downloads one version into the files directory.
pub async fn download(wiki: &Wiki, blobs: &Blobs, downloads: &Downloads, v: &FileVersion) -> Outcome {
    let failed = |why: String, again: bool| Outcome::Failed { why, again };
    let Ok(url) = reqwest::Url::parse(&v.url) else { return failed(format!("{:?} is not a URL", v.url), false) };
    let key = oai::hosts::host_key(&url);
    let clock = oai::SystemClock;
    let mut last = String::new();
    for request in 1..=REQUESTS {
        let _slot = downloads.hosts.enter(&key, &clock).await;
        let (file, have) = match blobs.partial(&v.sha1) {
            Ok(p) => p,
            // Another job fetches the same content: asked again later, it is kept by then.
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return failed(e.to_string(), true),
            Err(e) => return failed(format!("opening the partial file of {}: {e}", v.sha1), false),
        };
        // A partial file as long as the whole (or longer) was cut off at its
        // check, or is wrong: start again.
        let (file, have) = if have >= v.size && have > 0 {
            match blobs.restart_partial(&v.sha1) {
                Ok(p) => p,
                Err(e) => return failed(format!("emptying the partial file of {}: {e}", v.sha1), false),
            }
        } else {
            (file, have)
        };
        let got = match wiki.download(&v.url, have).await {
            Ok(d) => d,
            Err(e) => {
                if let Some(wait) = e.retry_after {
                    downloads.hosts.pause(&key, wait.min(Duration::from_secs(300)), &clock);
                }
                if !e.retryable {
                    return failed(e.message, false);
                }
                tracing::warn!(url = %v.url, request, "download not started, asking again: {e}");
                last = e.message;
                if e.retry_after.is_none() {
                    tokio::time::sleep(Duration::from_millis(250 << request)).await;
                }
                continue;
            }
        };
        match receive(blobs, downloads, v, file, have, got).await {
            Received::Whole(hash) if hash == v.sha1 => {
                return match crate::util::blocking(|| blobs.keep(&v.sha1)) {
                    Ok(_) => Outcome::Kept,
                    Err(e) => failed(format!("keeping {}: {e}", v.sha1), false),
                };
            }
            Received::Whole(hash) => return quarantine(blobs, v, format!("its SHA-1 is {hash}, not {} as the wiki states", v.sha1)),
            Received::TooLong => return quarantine(blobs, v, format!("more than the {} bytes the wiki states came", v.size)),
            Received::Short(n) => return quarantine(blobs, v, format!("the server ended it after {n} of {} bytes", v.size)),
            Received::CutOff(why) => {
                // What came is kept: the next request resumes after it.
                tracing::warn!(url = %v.url, request, "download cut off, resuming: {why}");
                last = why;
            }
            Received::Io(why) => return failed(why, false),
        }
    }
    failed(last, true)
}

fn quarantine(blobs: &Blobs, v: &FileVersion, why: String) -> Outcome {
    match blobs.quarantine(&v.sha1) {
        Ok(path) => Outcome::Bad(format!("{why} (kept aside in {})", path.display())),
        Err(e) => Outcome::Bad(format!("{why} (and it could not be moved aside: {e})")),
    }
}

enum Received {
    /// The whole size came; its SHA-1.
    Whole(String),
    TooLong,
    /// The body ended, without an error, this many bytes in.
    Short(u64),
    /// The connection failed mid-body: what came is kept.
    CutOff(String),
    /// The partial file could not be read or written.
    Io(String),
}

async fn receive(blobs: &Blobs, downloads: &Downloads, v: &FileVersion, mut file: std::fs::File, have: u64, got: crate::mediawiki::Download) -> Received {
    let io = |what: &str, e: std::io::Error| Received::Io(format!("{what} the partial file of {}: {e}", v.sha1));
    let mut hasher = Sha1::new();
    let mut written = have;
    if got.offset == 0 && have > 0 {
        // The server sent the whole file, whatever range was asked.
        match blobs.restart_partial(&v.sha1) {
            Ok((f, _)) => file = f,
            Err(e) => return io("emptying", e),
        }
        written = 0;
    } else if have > 0 {
        // Resumed: what is there already counts in the hash.
        let mut buf = vec![0u8; 1 << 16];
        if let Err(e) = file.rewind() {
            return io("reading", e);
        }
        loop {
            match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => hasher.update(&buf[..n]),
                Err(e) => return io("reading", e),
            }
        }
    }
    let mut response = got.response;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if written + chunk.len() as u64 > v.size {
                    return Received::TooLong;
                }
                // Into the page cache: no wait worth a blocking thread.
                if let Err(e) = file.write_all(&chunk) {
                    return io("writing", e);
                }
                hasher.update(&chunk);
                written += chunk.len() as u64;
                if let Some(rate) = &downloads.rate {
                    rate.take(chunk.len()).await;
                }
            }
            Ok(None) if written == v.size => return Received::Whole(crate::util::hex(&hasher.finalize())),
            Ok(None) => return Received::Short(written),
            Err(e) => return Received::CutOff(format!("{}: {e}", v.url)),
        }
    }
}
