//! `FileHost`: a wiki's files as its api.php describes them
//! (`prop=imageinfo`) and as its web server sends them, with the faults a
//! real one will not produce on demand: a body cut off mid-way, HTTP 429
//! with `Retry-After`, a server that ignores `Range`, bytes other than
//! those described. As strict as the real pair: the API wants
//! formatversion=2 JSON with `maxlag`; a range is `bytes=N-` and one past
//! the end is answered 416.
//!
//! A file's bytes are generated from its seed, a chunk at a time, so a
//! file of a gibibyte costs no memory on this side either.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::json;
use sha1::Digest;

use crate::http::{lock, serve};

/// One file, one version.
#[derive(Clone, Debug)]
pub struct HostedFile {
    pub pageid: u64,
    /// Its name, without `File:`.
    pub name: String,
    pub size: u64,
    pub seed: u8,
}

impl HostedFile {
    pub fn new(pageid: u64, name: &str, size: u64, seed: u8) -> HostedFile {
        HostedFile { pageid, name: name.to_string(), size, seed }
    }

    /// Bytes `from..to` of the file.
    pub fn bytes(&self, from: u64, to: u64) -> Vec<u8> {
        (from..to).map(|i| ((i.wrapping_mul(2_654_435_761) >> 13) as u8) ^ self.seed).collect()
    }

    /// Its SHA-1 in hex, as imageinfo gives it (computed a chunk at a time).
    pub fn sha1(&self) -> String {
        let mut h = sha1::Sha1::new();
        let mut at = 0;
        while at < self.size {
            let end = (at + CHUNK).min(self.size);
            h.update(self.bytes(at, end));
            at = end;
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// What the next request for a file meets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileFault {
    /// The whole length is announced, the connection dropped after this many bytes.
    CutAfter(u64),
    /// HTTP 429 with `Retry-After` in seconds.
    TooMany(u64),
    /// A range asked for is ignored: the whole file, HTTP 200.
    IgnoreRange,
    /// The bytes sent differ from the file's in one place.
    Altered,
}

#[derive(Default)]
struct Host {
    files: Vec<HostedFile>,
    sha1s: HashMap<String, String>,
    /// Each file's faults still to come, in order.
    faults: HashMap<String, VecDeque<FileFault>>,
    log: Vec<String>,
}

/// A handle on a running file host; clones share it.
#[derive(Clone)]
pub struct FileHost(Arc<Mutex<Host>>);

const CHUNK: u64 = 1 << 16;

impl FileHost {
    /// Serves on a free loopback port; returns the handle and the api.php URL.
    /// `faults`: (file name, what its next request meets), each file's in order.
    pub async fn spawn(files: Vec<HostedFile>, faults: Vec<(&str, FileFault)>) -> std::io::Result<(FileHost, String)> {
        let sha1s = files.iter().map(|f| (f.name.clone(), f.sha1())).collect();
        let mut queued: HashMap<String, VecDeque<FileFault>> = HashMap::new();
        for (name, fault) in faults {
            queued.entry(name.to_string()).or_default().push_back(fault);
        }
        let host = FileHost(Arc::new(Mutex::new(Host { files, sha1s, faults: queued, log: Vec::new() })));
        let app = axum::Router::new().route("/w/api.php", axum::routing::get(api)).route("/files/{name}", axum::routing::get(file)).with_state(host.clone());
        Ok((host, format!("http://{}/w/api.php", serve(app, 0).await?)))
    }

    /// Every request for the file `name` so far: `NAME` or `NAME bytes=N-`.
    pub fn log(&self, name: &str) -> Vec<String> {
        lock(&self.0).log.iter().filter(|l| l.split(' ').next() == Some(name)).cloned().collect()
    }

    /// Faults still to come.
    pub fn faults_left(&self) -> usize {
        lock(&self.0).faults.values().map(VecDeque::len).sum()
    }
}

async fn api(State(host): State<FileHost>, RawQuery(q): RawQuery, headers: HeaderMap) -> Response {
    let p: HashMap<String, String> = url::form_urlencoded::parse(q.unwrap_or_default().as_bytes()).into_owned().collect();
    let h = lock(&host.0);
    let origin = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("127.0.0.1").to_string();
    if p.get("format").map(String::as_str) != Some("json") || p.get("formatversion").map(String::as_str) != Some("2") || !p.contains_key("maxlag") {
        return axum::Json(json!({"error": {"code": "badformat", "info": "formatversion=2 JSON with maxlag only"}})).into_response();
    }
    if p.get("prop").map(String::as_str) != Some("imageinfo") {
        return axum::Json(json!({"error": {"code": "badvalue", "info": "this fake answers prop=imageinfo only"}})).into_response();
    }
    let ids: Vec<u64> = p.get("pageids").map(|s| s.split('|').filter_map(|i| i.parse().ok()).collect()).unwrap_or_default();
    let pages: Vec<serde_json::Value> = ids
        .iter()
        .map(|id| match h.files.iter().find(|f| f.pageid == *id) {
            Some(f) => json!({
                "pageid": id, "ns": 6, "title": format!("File:{}", f.name), "imagerepository": "local",
                "imageinfo": [{
                    "timestamp": "2026-01-01T00:00:00Z", "user": "Uploader", "userid": 2, "size": f.size, "comment": "uploaded",
                    "url": format!("http://{origin}/files/{}", f.name), "sha1": h.sha1s[&f.name], "mime": "application/octet-stream",
                }],
            }),
            None => json!({"pageid": id, "missing": true}),
        })
        .collect();
    axum::Json(json!({"batchcomplete": true, "query": {"pages": pages}})).into_response()
}

async fn file(State(host): State<FileHost>, Path(name): Path<String>, headers: HeaderMap) -> Response {
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok()).map(str::to_string);
    let (f, fault) = {
        let mut h = lock(&host.0);
        h.log.push(match &range {
            Some(r) => format!("{name} {r}"),
            None => name.clone(),
        });
        let Some(f) = h.files.iter().find(|f| f.name == name).cloned() else { return (StatusCode::NOT_FOUND, "no such file").into_response() };
        let fault = h.faults.get_mut(&name).and_then(VecDeque::pop_front);
        (f, fault)
    };
    if let Some(FileFault::TooMany(secs)) = fault {
        return (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, secs.to_string())], "slow down").into_response();
    }
    let asked = range.as_deref().and_then(|r| r.strip_prefix("bytes=")).and_then(|r| r.strip_suffix('-')).and_then(|n| n.parse::<u64>().ok());
    let from = match asked {
        Some(_) if fault == Some(FileFault::IgnoreRange) => 0,
        Some(n) if n >= f.size => return (StatusCode::RANGE_NOT_SATISFIABLE, [(header::CONTENT_RANGE, format!("bytes */{}", f.size))], "").into_response(),
        Some(n) => n,
        None => 0,
    };
    let cut = match fault {
        Some(FileFault::CutAfter(n)) => Some(from + n),
        _ => None,
    };
    let altered = fault == Some(FileFault::Altered);
    let end = f.size;
    let stop = cut.unwrap_or(end).min(end);
    let chunks = (from..stop).step_by(CHUNK as usize).map(move |at| {
        let mut b = f.bytes(at, (at + CHUNK).min(stop));
        if altered && at == from {
            b[0] ^= 0xff;
        }
        Ok::<_, std::io::Error>(Bytes::from(b))
    });
    // A cut: what came before it is sent (the server waits for it to go
    // out), then the connection is dropped short of the length announced.
    let tail = futures_util::stream::iter(cut.map(|_| ())).then(|()| async {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        Err(std::io::Error::other("cut off on purpose"))
    });
    let body = Body::from_stream(futures_util::stream::iter(chunks).chain(tail));
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_LENGTH, (end - from).into());
    headers.insert(header::ACCEPT_RANGES, header::HeaderValue::from_static("bytes"));
    if from > 0 {
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
        let value = format!("bytes {from}-{}/{end}", end - 1);
        response.headers_mut().insert(header::CONTENT_RANGE, value.parse().expect("a content range is a header value"));
    }
    response
}
