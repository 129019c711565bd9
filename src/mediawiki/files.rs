//! A wiki's files: each version's description (`prop=imageinfo`), read by
//! a pure function, and one request for a file's bytes (`Wiki::download`),
//! resumed from an offset where the server allows.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::header::{CONTENT_RANGE, RANGE, RETRY_AFTER};
use serde_json::Value;

use super::error::MwResult;
use super::types::{b, s};
use super::{MwError, Wiki};

/// What a wiki says of one File: page's file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileInfo {
    pub pageid: u64,
    pub title: String,
    /// `local`, or the shared repository holding it (`shared`, a
    /// `ForeignAPIRepo`'s name); empty when there is no file.
    pub repository: String,
    /// Newest first, as the wiki lists them.
    pub versions: Vec<FileRevision>,
}

/// One version of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRevision {
    pub timestamp: String,
    pub user: String,
    pub comment: String,
    pub url: String,
    pub size: u64,
    /// Lower-case hex, as the API gives it.
    pub sha1: String,
    pub mime: String,
    /// The wiki hides this version's file (revision deletion): no URL, no SHA-1.
    pub hidden: bool,
}

/// Reads a `prop=imageinfo` answer: every page in it with a page id, and
/// its versions. Pure.
pub fn read_file_info(v: &Value) -> Vec<FileInfo> {
    let Some(pages) = v.pointer("/query/pages").and_then(Value::as_array) else { return Vec::new() };
    pages
        .iter()
        .filter_map(|p| {
            let pageid = p.get("pageid").and_then(Value::as_u64).filter(|id| *id > 0)?;
            let versions = p.get("imageinfo").and_then(Value::as_array).into_iter().flatten().map(read_revision).collect();
            Some(FileInfo { pageid, title: s(p, "title"), repository: s(p, "imagerepository"), versions })
        })
        .collect()
}

fn read_revision(v: &Value) -> FileRevision {
    FileRevision {
        timestamp: s(v, "timestamp"),
        user: s(v, "user"),
        comment: s(v, "comment"),
        url: s(v, "url"),
        size: v.get("size").and_then(Value::as_u64).unwrap_or(0),
        sha1: s(v, "sha1").to_ascii_lowercase(),
        mime: s(v, "mime"),
        hidden: b(v, "filehidden") || v.get("url").is_none(),
    }
}

/// Versions asked per request and page ids per request.
const INFO_BATCH: usize = 50;
/// Continuations followed for one batch before it is called a loop.
const MAX_CONTINUATIONS: usize = 10_000;

impl Wiki {
    /// Every version (`all`) or the current one of the files of these File:
    /// pages, at most 50 pages a request, each answer's continuation
    /// followed (a file of many versions comes in parts).
    pub async fn file_info(&self, pageids: &[u64], all: bool) -> MwResult<Vec<FileInfo>> {
        let mut out: BTreeMap<u64, FileInfo> = BTreeMap::new();
        for chunk in pageids.chunks(INFO_BATCH) {
            let ids: Vec<String> = chunk.iter().map(u64::to_string).collect();
            let mut cont: Vec<(String, String)> = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for _ in 0..MAX_CONTINUATIONS {
                let mut params = vec![
                    ("prop", "imageinfo".to_string()),
                    ("pageids", ids.join("|")),
                    ("iiprop", "timestamp|user|comment|url|size|sha1|mime".into()),
                    ("iilimit", if all { "max".into() } else { "1".into() }),
                ];
                params.extend(cont.iter().map(|(k, v)| (k.as_str(), v.clone())));
                let v = self.query(&params, None).await?;
                for info in read_file_info(&v) {
                    let entry = out.entry(info.pageid).or_insert_with(|| FileInfo { versions: Vec::new(), ..info.clone() });
                    for version in info.versions {
                        if !entry.versions.iter().any(|k| k.timestamp == version.timestamp && k.sha1 == version.sha1) {
                            entry.versions.push(version);
                        }
                    }
                }
                // With the current version only, a continuation would ask for older ones.
                let next: Vec<(String, String)> = match v.get("continue").and_then(Value::as_object) {
                    Some(c) if all || !c.contains_key("iistart") => {
                        c.iter().map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))).collect()
                    }
                    _ => break,
                };
                if !seen.insert(next.clone()) {
                    return Err(MwError::Protocol {
                        wiki: self.name().to_string(),
                        action: "query".into(),
                        title: None,
                        detail: format!("imageinfo's continuation {next:?} came back again"),
                    });
                }
                cont = next;
            }
        }
        Ok(out.into_values().collect())
    }

    /// Asks for a file's bytes from `offset` on (a `Range` request when
    /// not 0), with this wiki's session (a private wiki's files need it).
    /// One request: the caller retries, and waits as `DownloadError` says.
    pub async fn download(&self, url: &str, offset: u64) -> Result<Download, DownloadError> {
        let http = self.http().await;
        let mut request = http.get(url).timeout(self.options.timeout);
        if offset > 0 {
            request = request.header(RANGE, format!("bytes={offset}-"));
        }
        let failed = |message: String, retryable: bool, retry_after: Option<Duration>| DownloadError { message, retryable, retry_after };
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => return Err(failed(format!("requesting {url}: {e}"), true, None)),
        };
        let status = response.status().as_u16();
        let retry_after = response.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(|v| oai::client::parse_retry_after(v, self.clock().now()));
        match status {
            200 => Ok(Download { response, offset: 0 }),
            206 => {
                let start = response.headers().get(CONTENT_RANGE).and_then(|v| v.to_str().ok()).and_then(content_range_start);
                if start == Some(offset) {
                    Ok(Download { response, offset })
                } else {
                    Err(failed(format!("{url} answered a range from {start:?}, not from byte {offset}"), true, None))
                }
            }
            // The range asked is past the end: the partial file is longer than the file.
            416 => Err(failed(format!("{url}: HTTP 416 (range from byte {offset} not satisfiable)"), true, None)),
            429 | 500..=599 => Err(failed(format!("{url}: HTTP {status}"), true, retry_after)),
            _ => Err(failed(format!("{url}: HTTP {status}"), false, None)),
        }
    }
}

/// A file's bytes on their way: the response, and the offset its body starts at.
pub struct Download {
    pub response: reqwest::Response,
    /// 0 when the server sent the whole file (whatever range was asked).
    pub offset: u64,
}

/// A download that did not start.
#[derive(Debug)]
pub struct DownloadError {
    pub message: String,
    /// Whether asking again may help (a network failure, 429, 5xx).
    pub retryable: bool,
    /// What the server asked to wait.
    pub retry_after: Option<Duration>,
}

impl std::fmt::Display for DownloadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The first byte of `Content-Range: bytes FIRST-LAST/SIZE`.
fn content_range_start(v: &str) -> Option<u64> {
    v.trim().strip_prefix("bytes ")?.split('-').next()?.trim().parse().ok()
}

#[cfg(test)]
mod tests;
