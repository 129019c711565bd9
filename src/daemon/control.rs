//! The control endpoint: `POST /trigger/{job}`, `GET /status` (JSON),
//! `GET /metrics` (Prometheus). Every request must carry the token
//! (`Authorization: Bearer TOKEN`). Its client, `fetch_status`, sits here
//! too, so both ends of `/status` change together.

use std::sync::Arc;

use anyhow::Context;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::core::{Daemon, JobStatus};
use super::wikis::{WikiStatus, Wikis};

#[derive(Clone)]
struct Control {
    daemon: Arc<Daemon>,
    wikis: Arc<Wikis>,
    token: Arc<String>,
    /// The database, read for what the store counts (files).
    db: Arc<std::path::PathBuf>,
}

/// What `GET /status` answers.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Status {
    pub jobs: Vec<JobStatus>,
    pub wikis: Vec<WikiStatus>,
}

/// The API (`/trigger`, `/status`, `/metrics`, bearer token) and the console's pages (signed in).
pub fn router(daemon: Arc<Daemon>, wikis: Arc<Wikis>, token: Arc<String>, console: Arc<super::console::Console>) -> Router {
    let db = Arc::new(console.db().to_path_buf());
    Router::new()
        .route("/trigger/{job}", axum::routing::post(trigger))
        .route("/status", axum::routing::get(status))
        .route("/metrics", axum::routing::get(metrics))
        .with_state(Control { daemon, wikis, token, db })
        .merge(super::console::routes().with_state(console))
}

/// Compares in constant time, so the token cannot be guessed byte by byte.
fn authorized(headers: &HeaderMap, token: &str) -> bool {
    let Some(given) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")) else {
        return false;
    };
    given.len() == token.len() && given.bytes().zip(token.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

fn refused() -> Response {
    (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")], "a token is required: Authorization: Bearer TOKEN\n").into_response()
}

async fn trigger(State(c): State<Control>, headers: HeaderMap, Path(job): Path<String>) -> Response {
    if !authorized(&headers, &c.token) {
        return refused();
    }
    match c.daemon.trigger(&job) {
        Some(()) => (StatusCode::ACCEPTED, axum::Json(serde_json::json!({"job": job, "triggered": true}))).into_response(),
        None => {
            let ids: Vec<String> = c.daemon.status().into_iter().map(|j| j.job).collect();
            let known: Vec<&str> = ids.iter().map(String::as_str).collect();
            let nearest = crate::jobs::nearest(&job, &known).map(|n| format!("; did you mean {n:?}?")).unwrap_or_default();
            let error = format!("no job {job:?} (jobs are named TABLE.NAME: {}){nearest}", known.join(", "));
            (StatusCode::NOT_FOUND, axum::Json(serde_json::json!({"error": error, "jobs": known}))).into_response()
        }
    }
}

async fn status(State(c): State<Control>, headers: HeaderMap) -> Response {
    if !authorized(&headers, &c.token) {
        return refused();
    }
    axum::Json(Status { jobs: c.daemon.status(), wikis: c.wikis.status() }).into_response()
}

async fn metrics(State(c): State<Control>, headers: HeaderMap) -> Response {
    if !authorized(&headers, &c.token) {
        return refused();
    }
    let db = c.db.clone();
    // Read off the async workers; a store that cannot be read yet counts nothing.
    let files = tokio::task::spawn_blocking(move || files_counts(&db)).await.unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], c.daemon.metrics() + &c.wikis.metrics() + &files_metrics(&files)).into_response()
}

fn files_counts(db: &std::path::Path) -> Vec<(String, checkpoints::FilesStatus)> {
    let Ok(store) = checkpoints::Store::open_read_only(db) else { return Vec::new() };
    let wikis = store.wiki_names().unwrap_or_default();
    wikis.into_iter().filter_map(|w| store.files_status(Some(&w)).ok().filter(|f| f.versions > 0).map(|f| (w, f))).collect()
}

/// Each wiki's files in the Prometheus text format. Pure.
pub fn files_metrics(files: &[(String, checkpoints::FilesStatus)]) -> String {
    if files.is_empty() {
        return String::new();
    }
    let label = |w: &str| w.replace('\\', "\\\\").replace('"', "\\\"");
    let mut out = String::from("# HELP oai_mirror_files File versions of a mirrored wiki, by state.\n# TYPE oai_mirror_files gauge\n");
    for (w, f) in files {
        for (state, n) in [
            ("stored", f.stored),
            ("pending", f.pending),
            ("quarantined", f.quarantined),
            ("foreign", f.foreign),
            ("hidden", f.hidden),
            ("too_large", f.too_large),
        ] {
            out.push_str(&format!("oai_mirror_files{{wiki=\"{}\",state=\"{state}\"}} {n}\n", label(w)));
        }
    }
    out.push_str("# HELP oai_mirror_files_bytes Bytes of a wiki's stored files, each content once.\n# TYPE oai_mirror_files_bytes gauge\n");
    for (w, f) in files {
        out.push_str(&format!("oai_mirror_files_bytes{{wiki=\"{}\"}} {}\n", label(w), f.bytes));
    }
    out.push_str("# HELP oai_mirror_files_bad_downloads_total Downloads whose bytes were not what the wiki states.\n# TYPE oai_mirror_files_bad_downloads_total counter\n");
    for (w, f) in files {
        out.push_str(&format!("oai_mirror_files_bad_downloads_total{{wiki=\"{}\"}} {}\n", label(w), f.bad_downloads));
    }
    out
}

/// A running daemon's job states, from its `/status`; `None` if no daemon
/// answers at `listen` (a person is waiting: three seconds at most).
pub async fn fetch_status(listen: &str, token: &str) -> anyhow::Result<Option<Status>> {
    crate::util::install_tls();
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(3)).build()?;
    let url = format!("http://{listen}/status");
    let Ok(resp) = client.get(&url).bearer_auth(token).send().await else { return Ok(None) };
    if !resp.status().is_success() {
        anyhow::bail!("the daemon at {url} answered HTTP {}", resp.status());
    }
    Ok(Some(serde_json::from_slice(&resp.bytes().await?)?))
}

/// Asks the daemon at `listen` to run `job` now: true if it took the
/// trigger, false if it has no such job; an error if it did not answer.
pub async fn send_trigger(listen: &str, token: &str, job: &str) -> anyhow::Result<bool> {
    crate::util::install_tls();
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build()?;
    let url = format!("http://{listen}/trigger/{job}");
    let resp = client.post(&url).bearer_auth(token).send().await.with_context(|| format!("POST {url}"))?;
    match resp.status() {
        s if s.is_success() => Ok(true),
        reqwest::StatusCode::NOT_FOUND => Ok(false),
        s => anyhow::bail!("POST {url}: HTTP {s}"),
    }
}

#[cfg(test)]
mod tests;
