//! The HTTP side of serving: routes, a pool of read-only connections, each
//! answer written on a blocking thread (compressed there as asked) and then
//! handed to the client from memory or its spool.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::extract::{Path as UrlPath, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use checkpoints::Store;

use super::spool::{Spool, SpooledBody};
use super::{Answer, Service, answer_spooled, guard, render, repositories, wiki};
use crate::settings::{ServeSettings, Settings};
use crate::util::lock;

/// The HTTP side: one read-only connection per request at once, up to a
/// bound, reused.
#[derive(Clone)]
pub struct Server {
    settings: Arc<Settings>,
    db: PathBuf,
    service: Service,
    idle: Arc<Mutex<Vec<Store>>>,
    permits: Arc<tokio::sync::Semaphore>,
}

/// Requests answered at once; more wait their turn. Each holds a
/// connection with its page cache and decompressors (a few MB), so this
/// bounds the server's memory as well as its share of the disk.
const CONCURRENT: usize = 8;
/// The longest query or form body taken; a longer one is badArgument. (A
/// request line over 64 KiB is refused by the HTTP layer itself, with 414.)
const MAX_QUERY: usize = 32 * 1024;

impl Server {
    pub fn new(settings: Arc<Settings>, db: PathBuf, public_url: String) -> Server {
        let serve = settings.serve.clone().unwrap_or_default();
        let admin_emails = if serve.admin_email.is_empty() {
            // The schema wants an address with a dotted domain.
            let fallback = format!("admin@{}", serve.repository_identifier);
            vec![settings.contact.as_deref().and_then(|c| c.strip_prefix("mailto:")).map_or(fallback, str::to_string)]
        } else {
            serve.admin_email.clone()
        };
        let service = Service { public_url: serve.public_url.clone().unwrap_or(public_url), admin_emails, namespace: serve.repository_identifier.clone() };
        Server { settings, db, service, idle: Arc::default(), permits: Arc::new(tokio::sync::Semaphore::new(CONCURRENT)) }
    }

    /// Serves on `listener` until `shutdown` completes, connections guarded
    /// as `[serve]` says.
    pub async fn run(self, listener: tokio::net::TcpListener, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let serve = self.settings.serve.clone().unwrap_or_default();
        let limits = guard::Limits {
            max_connections: serve.max_connections,
            per_ip: serve.max_connections_per_ip,
            idle: std::time::Duration::from_secs(serve.client_timeout_secs.max(1)),
            request: std::time::Duration::from_secs(serve.request_timeout_secs.max(1)),
        };
        guard::serve(guard::GuardedListener::new(listener, limits), self.router(), shutdown).await
    }

    pub fn router(self) -> axum::Router {
        axum::Router::new()
            .route("/oai/{name}", axum::routing::get(get_oai).post(post_oai))
            .route("/oai/wiki/{name}", axum::routing::get(get_wiki).post(post_wiki))
            .route("/oai", axum::routing::get(list_repositories))
            .with_state(self)
    }

    /// Answers on a blocking thread with a pooled read-only connection.
    async fn respond_to(&self, what: Served, arguments: Vec<(String, String)>, headers: &HeaderMap) -> Response {
        let Ok(_permit) = self.permits.clone().acquire_owned().await else { return StatusCode::SERVICE_UNAVAILABLE.into_response() };
        let this = self.clone();
        let coding = coding_of(headers);
        let work = tokio::task::spawn_blocking(move || -> anyhow::Result<Option<Answer>> {
            let store = match lock(&this.idle).pop() {
                Some(s) => s,
                None => Store::open_read_only(&this.db)?,
            };
            let result = (|| {
                // A version stored while this answer is read may carry a
                // store time a moment older than now: the response date
                // leaves a second for it, so a harvest from it misses nothing.
                let now = chrono::Utc::now().timestamp() - 1;
                match &what {
                    Served::Repository(name) => {
                        let repos = repositories(&this.settings, store.served_sources()?, &store.served_names()?);
                        let Some(repo) = repos.into_iter().find(|r| r.name == *name) else { return Ok(None) };
                        answer_spooled(&store, &this.service, &repo, &arguments, now).map(Some)
                    }
                    Served::Wiki(name) => {
                        if !store.has_wiki(name)? {
                            return Ok(None);
                        }
                        wiki::answer_spooled(&store, &this.service, name, &arguments, now).map(Some)
                    }
                }
            })();
            // Compressed here, off the async workers, as it was written.
            let result = result.and_then(|a| a.map(|a| compressed(a, coding)).transpose());
            let mut idle = lock(&this.idle);
            if idle.len() < CONCURRENT {
                idle.push(store);
            }
            result
        });
        let answer = match work.await {
            Ok(Ok(Some(answer))) => answer,
            Ok(Ok(None)) => return (StatusCode::NOT_FOUND, "no such repository here; GET /oai lists them\n").into_response(),
            Ok(Err(e)) => {
                tracing::error!(error = %format!("{e:#}"), "serving a request failed");
                return (StatusCode::INTERNAL_SERVER_ERROR, "the store could not be read; see the server's log\n").into_response();
            }
            Err(e) => {
                tracing::error!(error = %e, "serving a request panicked");
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
        };
        response(answer, coding)
    }
}

/// The HTTP response of an answer, compressed with `coding` already (see
/// [`compressed`]): its body read from memory, then its spool, as the
/// client takes it.
pub(super) fn response(answer: Answer, coding: Option<&'static str>) -> Response {
    // A compressed answer holds its own end.
    let tail = if coding.is_some() { b"".as_slice() } else { render::TAIL };
    let body = match SpooledBody::new(answer.head, answer.body, tail) {
        Ok(body) => body,
        Err(e) => {
            tracing::error!(error = %e, "an answer written to a temporary file cannot be read back");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let content_type = (header::CONTENT_TYPE, "text/xml; charset=UTF-8");
    // The answer depends on Accept-Encoding: caches must know.
    let vary = (header::VARY, "Accept-Encoding");
    match coding {
        Some(coding) => ([content_type, vary, (header::CONTENT_ENCODING, coding)], axum::body::Body::new(body)).into_response(),
        None => ([content_type, vary], axum::body::Body::new(body)).into_response(),
    }
}

/// The coding the client accepts (gzip, else deflate), if any.
pub(super) fn coding_of(headers: &HeaderMap) -> Option<&'static str> {
    let accepts = headers.get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()).unwrap_or("");
    ["gzip", "deflate"].into_iter().find(|c| accepted(accepts, c))
}

/// The whole answer compressed with `coding` into a spool of its own (its
/// end included), or the answer as it is.
pub(super) fn compressed(answer: Answer, coding: Option<&'static str>) -> anyhow::Result<Answer> {
    let Some(coding) = coding else { return Ok(answer) };
    let mut out = Spool::new();
    match coding {
        "gzip" => feed(flate2::write::GzEncoder::new(SpillingWriter(&mut out), flate2::Compression::fast()), answer)?.finish()?,
        _ => feed(flate2::write::ZlibEncoder::new(SpillingWriter(&mut out), flate2::Compression::fast()), answer)?.finish()?,
    };
    Ok(Answer { head: Vec::new(), body: out })
}

/// Writes a whole answer (its end included) into `w`, its spooled part a
/// piece at a time.
fn feed<W: std::io::Write>(mut w: W, answer: Answer) -> std::io::Result<W> {
    use std::io::Read;
    w.write_all(&answer.head)?;
    let (file, rest) = answer.body.finish()?;
    if let Some((mut file, _)) = file {
        let mut buf = vec![0u8; 64 << 10];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            w.write_all(&buf[..n])?;
        }
    }
    w.write_all(&rest)?;
    w.write_all(render::TAIL)?;
    Ok(w)
}

/// Writes into a spool, moving it on to disk as it grows.
struct SpillingWriter<'a>(&'a mut Spool);

impl std::io::Write for SpillingWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        self.0.spill();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Whether an `Accept-Encoding` value takes `coding`: named with a quality
/// above zero (`gzip;q=0` refuses it).
fn accepted(accepts: &str, coding: &str) -> bool {
    accepts.split(',').any(|part| {
        let mut params = part.split(';');
        let named = params.next().is_some_and(|c| c.trim().eq_ignore_ascii_case(coding));
        let quality = params.find_map(|p| p.trim().strip_prefix("q=").or_else(|| p.trim().strip_prefix("Q=")).map(|q| q.trim().parse::<f32>().unwrap_or(0.0)));
        named && quality.is_none_or(|q| q > 0.0)
    })
}

/// A request's arguments, decoded; an over-long query or form is answered
/// as an argument error (an argument no verb takes), parsed no further.
fn decode_arguments(raw: &[u8]) -> Vec<(String, String)> {
    if raw.len() > MAX_QUERY {
        return vec![("verb".into(), "Identify".into()), ("the request is too long".into(), String::new())];
    }
    url::form_urlencoded::parse(raw).into_owned().collect()
}

/// A POST's arguments, if it is a form (`None`: see [`not_a_form`]).
fn posted_arguments(headers: &HeaderMap, body: &[u8]) -> Option<Vec<(String, String)>> {
    let form = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    form.then(|| decode_arguments(body))
}

fn not_a_form() -> Response {
    (StatusCode::UNSUPPORTED_MEDIA_TYPE, "POST needs Content-Type: application/x-www-form-urlencoded\n").into_response()
}

async fn get_oai(State(s): State<Server>, UrlPath(name): UrlPath<String>, RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    s.respond_to(Served::Repository(name), decode_arguments(query.unwrap_or_default().as_bytes()), &headers).await
}

async fn post_oai(State(s): State<Server>, UrlPath(name): UrlPath<String>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    match posted_arguments(&headers, &body) {
        Some(arguments) => s.respond_to(Served::Repository(name), arguments, &headers).await,
        None => not_a_form(),
    }
}

async fn get_wiki(State(s): State<Server>, UrlPath(name): UrlPath<String>, RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    s.respond_to(Served::Wiki(name), decode_arguments(query.unwrap_or_default().as_bytes()), &headers).await
}

async fn post_wiki(State(s): State<Server>, UrlPath(name): UrlPath<String>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    match posted_arguments(&headers, &body) {
        Some(arguments) => s.respond_to(Served::Wiki(name), arguments, &headers).await,
        None => not_a_form(),
    }
}

/// What a request is about.
enum Served {
    Repository(String),
    Wiki(String),
}

async fn list_repositories(State(s): State<Server>) -> Response {
    let this = s.clone();
    let listed = tokio::task::spawn_blocking(move || -> anyhow::Result<String> {
        let store = Store::open_read_only(&this.db)?;
        let repos = repositories(&this.settings, store.served_sources()?, &store.served_names()?);
        let mut text: String = repos.iter().map(|r| format!("{}\t{}\n", this.service.base_url(r), r.origin)).collect();
        for wiki in store.wiki_names()? {
            text.push_str(&format!("{}/oai/wiki/{wiki}\t[wiki.{wiki}]\n", this.service.public_url.trim_end_matches('/')));
        }
        Ok(text)
    })
    .await;
    match listed {
        Ok(Ok(text)) => ([(header::CONTENT_TYPE, "text/plain; charset=UTF-8")], text).into_response(),
        _ => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The `[serve]` settings' defaults.
impl Default for ServeSettings {
    fn default() -> Self {
        ServeSettings {
            listen: "127.0.0.1:8080".into(),
            public_url: None,
            admin_email: Vec::new(),
            repository_identifier: "oai-mirror.local".into(),
            notify: Vec::new(),
            max_connections: 256,
            max_connections_per_ip: 32,
            client_timeout_secs: 30,
            request_timeout_secs: 10,
        }
    }
}
