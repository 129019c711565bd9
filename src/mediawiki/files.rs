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

/// Reads a `prop=images` answer: each page's File: titles. Pure.
pub fn read_images(v: &Value) -> Vec<(u64, Vec<String>)> {
    let Some(pages) = v.pointer("/query/pages").and_then(Value::as_array) else { return Vec::new() };
    pages
        .iter()
        .filter_map(|p| {
            let id = p.get("pageid").and_then(Value::as_u64)?;
            let titles = p.get("images").and_then(Value::as_array).into_iter().flatten().map(|i| s(i, "title")).filter(|t| !t.is_empty()).collect();
            Some((id, titles))
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

/// Continuations followed for one batch before it is called a loop.
const MAX_CONTINUATIONS: usize = 10_000;

impl Wiki {
    /// How many values a multi-value parameter (`pageids`) takes: 500 for
    /// an account with `apihighlimits` (bots, sysops), else 50. Asked once
    /// (`meta=userinfo`) for a client with an account.
    pub async fn values_limit(&self) -> MwResult<usize> {
        use std::sync::atomic::Ordering;
        match self.high_limits.load(Ordering::Relaxed) {
            0 if self.has_account() => {
                let n = if self.userinfo().await?.has("apihighlimits") { 500 } else { 50 };
                self.high_limits.store(n, Ordering::Relaxed);
                Ok(n as usize)
            }
            0 => Ok(50),
            n => Ok(n as usize),
        }
    }

    /// Every version (`all`) or the current one of the files of these File:
    /// pages, as many pages a request as the account may ask
    /// ([`Wiki::values_limit`]); with every version, each answer's
    /// continuation followed (a file of many versions comes in parts). A
    /// page the answers do not name is not in the result.
    pub async fn file_info(&self, pageids: &[u64], all: bool) -> MwResult<Vec<FileInfo>> {
        let mut out: BTreeMap<u64, FileInfo> = BTreeMap::new();
        let params = [
            ("prop", "imageinfo".to_string()),
            ("iiprop", "timestamp|user|comment|url|size|sha1|mime".into()),
            ("iilimit", if all { "max".into() } else { "1".into() }),
        ];
        // With the current version only, a continuation asks for older ones
        // (or for pages the answer had no room for, which the caller finds
        // missing and reads another time): not followed.
        self.query_pages(pageids, &params, all, |v| {
            for info in read_file_info(v) {
                let entry = out.entry(info.pageid).or_insert_with(|| FileInfo { versions: Vec::new(), ..info.clone() });
                for version in info.versions {
                    if !entry.versions.iter().any(|k| k.timestamp == version.timestamp && k.sha1 == version.sha1) {
                        entry.versions.push(version);
                    }
                }
            }
        })
        .await?;
        Ok(out.into_values().collect())
    }

    /// The File: titles each of these pages shows (`prop=images`), as many
    /// pages a request as the account may ask, continuations followed.
    pub async fn images_used(&self, pageids: &[u64]) -> MwResult<BTreeMap<u64, Vec<String>>> {
        let mut out: BTreeMap<u64, Vec<String>> = pageids.iter().map(|id| (*id, Vec::new())).collect();
        self.query_pages(pageids, &[("prop", "images".to_string()), ("imlimit", "max".into())], true, |v| {
            for (id, titles) in read_images(v) {
                out.entry(id).or_default().extend(titles);
            }
        })
        .await?;
        Ok(out)
    }

    /// Asks `params` of these pages, as many a request as the account may
    /// ask, giving each answer to `each`; `follow`: continuations too (one
    /// that comes back again is an error, not a loop).
    async fn query_pages(&self, pageids: &[u64], params: &[(&str, String)], follow: bool, mut each: impl FnMut(&Value)) -> MwResult<()> {
        if pageids.is_empty() {
            return Ok(());
        }
        let batch = self.values_limit().await?;
        for chunk in pageids.chunks(batch) {
            let ids: Vec<String> = chunk.iter().map(u64::to_string).collect();
            let mut cont: Vec<(String, String)> = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for _ in 0..MAX_CONTINUATIONS {
                let mut asked: Vec<(&str, String)> = params.to_vec();
                asked.push(("pageids", ids.join("|")));
                asked.extend(cont.iter().map(|(k, v)| (k.as_str(), v.clone())));
                let v = self.query(&asked, None).await?;
                each(&v);
                let next: Vec<(String, String)> = match v.get("continue").and_then(Value::as_object) {
                    Some(c) if follow => c.iter().map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))).collect(),
                    _ => break,
                };
                if !seen.insert(next.clone()) {
                    return Err(MwError::Protocol {
                        wiki: self.name().to_string(),
                        action: "query".into(),
                        title: None,
                        detail: format!("the continuation {next:?} came back again"),
                    });
                }
                cont = next;
            }
        }
        Ok(())
    }

    /// Asks for a file's bytes from `offset` on (a `Range` request when
    /// not 0), with this wiki's session (a private wiki's files need it).
    /// One request: the caller retries, and waits as `DownloadError` says.
    pub async fn download(&self, url: &str, offset: u64) -> Result<Download, DownloadError> {
        let http = self.http();
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

/// Files larger than this go up in chunks of this size: PHP refuses a
/// request's file over its `upload_max_filesize` (2 MB by default), which
/// no API reports, and memory holds one chunk.
pub const UPLOAD_CHUNK: u64 = 1 << 20;

impl Wiki {
    /// Uploads the `size` bytes of `file` (from its start) as `filename` (a new version
    /// over an existing file: `ignorewarnings`, the `reupload` right), its
    /// description page getting `text` if it is new. Over [`UPLOAD_CHUNK`]
    /// the file goes up in chunks, stashed until the last, then published
    /// in one more request. Returns the upload's result (`Success`, or
    /// `Warning` when it was not stored).
    ///
    /// MediaWiki names the version it archives by its second: a new version
    /// in the same second as the current one cannot be stored until the next,
    /// so that upload is made again a second later (twice at most).
    pub async fn upload_file(&self, filename: &str, file: &mut std::fs::File, size: u64, comment: &str, text: &str) -> MwResult<String> {
        use std::io::Seek;
        let mut tries = 0;
        loop {
            match self.upload_once(filename, file, size, comment, text).await {
                Err(MwError::Api { code: super::ApiCode::Other(code), .. }) if code == "backend-fail-alreadyexists" && tries < 2 => {
                    tries += 1;
                    self.clock().sleep(Duration::from_millis(1100)).await;
                    file.rewind().map_err(|e| self.file_err(filename, &format!("reading the file to upload again: {e}")))?;
                }
                other => return other,
            }
        }
    }

    async fn upload_once(&self, filename: &str, file: &mut std::fs::File, size: u64, comment: &str, text: &str) -> MwResult<String> {
        use std::io::Read;
        let read = |file: &mut std::fs::File, n: u64| -> MwResult<Vec<u8>> {
            let mut bytes = Vec::with_capacity(n as usize);
            file.take(n).read_to_end(&mut bytes).map_err(|e| self.file_err(filename, &format!("reading the file to upload: {e}")))?;
            if bytes.len() as u64 != n {
                return Err(self.file_err(filename, &format!("the file to upload is {} bytes, not {n}", bytes.len())));
            }
            Ok(bytes)
        };
        if size <= UPLOAD_CHUNK {
            return self.upload(filename, read(file, size)?, comment, text).await;
        }
        let mut filekey: Option<String> = None;
        let mut offset = 0;
        while offset < size {
            let n = UPLOAD_CHUNK.min(size - offset);
            let chunk = super::client::FilePart { field: "chunk", name: filename.to_string(), bytes: read(file, n)? };
            let mut params = vec![
                ("filename", filename.to_string()),
                ("filesize", size.to_string()),
                ("offset", offset.to_string()),
                ("stash", "1".to_string()),
                ("ignorewarnings", "1".to_string()),
            ];
            if let Some(key) = &filekey {
                params.push(("filekey", key.clone()));
            }
            let v = self.call_with(super::client::Method::Post, "upload", &params, Some(filename), true, Some(&chunk)).await?;
            let result = v.pointer("/upload/result").and_then(Value::as_str).ok_or_else(|| self.api_err("upload", Some(filename), &v))?;
            filekey = v.pointer("/upload/filekey").and_then(Value::as_str).map(str::to_string).or(filekey);
            match result {
                "Continue" => offset = v.pointer("/upload/offset").and_then(Value::as_u64).unwrap_or(offset + n),
                "Success" => offset = size,
                other => return Err(self.file_err(filename, &format!("a chunk at byte {offset} was answered {other}"))),
            }
        }
        let key = filekey.ok_or_else(|| self.file_err(filename, "the chunks were taken without a file key"))?;
        let params = [
            ("filename", filename.to_string()),
            ("filekey", key),
            ("comment", comment.to_string()),
            ("text", text.to_string()),
            ("ignorewarnings", "1".to_string()),
        ];
        let v = self.call(super::client::Method::Post, "upload", &params, Some(filename), true).await?;
        v.pointer("/upload/result").and_then(Value::as_str).map(str::to_string).ok_or_else(|| self.api_err("upload", Some(filename), &v))
    }

    fn file_err(&self, filename: &str, detail: &str) -> MwError {
        MwError::Protocol { wiki: self.name().to_string(), action: "upload".into(), title: Some(filename.to_string()), detail: detail.to_string() }
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
