//! The reader: a mirror's copies read in a browser, offline. Served on
//! loopback under `/read/`: each wiki's pages as the wiki rendered them
//! (sanitised, links and images made local), their histories and older
//! texts, the mirror's files, and a full-text search over every page with
//! title suggestions as one types. Nothing is loaded from outside the
//! binary and the store: the pages' own stylesheet is the reader's, and
//! the Content-Security-Policy allows nothing but this origin (and no
//! inline script).
//!
//! Each request opens the store read-only on a blocking thread: the
//! reader never writes, and runs beside a mirror writing the same store.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use checkpoints::Store;

mod assets;
pub mod html;
pub mod links;
mod pages;
pub mod records;
mod search;
pub mod static_copy;

/// What the reader reads: the store, and where its files are.
#[derive(Clone, Debug)]
pub struct Reader {
    pub db: PathBuf,
    /// `[files] dir`, if set; else beside the database.
    pub files_dir: Option<PathBuf>,
}

/// What every page of the reader may load: this origin only, no inline
/// script, no frames, forms only to this origin.
pub const CSP: &str =
    "default-src 'none'; img-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

type Query_ = Query<HashMap<String, String>>;

impl Reader {
    pub fn router(self) -> axum::Router {
        axum::Router::new()
            .route("/", get(|| async { axum::response::Redirect::to("/read/") }))
            .route("/read", get(|| async { axum::response::Redirect::to("/read/") }))
            .route("/read/", get(index))
            .route("/read/search", get(search_page))
            .route("/read/suggest", get(suggest))
            .route("/read/static/{name}", get(asset))
            .route("/read/files/{wiki}/{*name}", get(file))
            .route("/read/records/", get(record_sources))
            .route("/read/records/{source}/{*identifier}", get(record))
            .route("/read/{wiki}", get(wiki_index))
            .route("/read/{wiki}/", get(wiki_index))
            .route("/read/{wiki}/{*title}", get(page))
            .with_state(Arc::new(self))
    }

    /// Serves until `shutdown`, with the connection bounds of `limits`.
    pub async fn run(
        self,
        listener: tokio::net::TcpListener,
        limits: crate::serve::guard::Limits,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        crate::serve::guard::serve(crate::serve::guard::GuardedListener::new(listener, limits), self.router(), shutdown).await
    }

    /// Runs `f` on the store, on a blocking thread; a store that cannot be
    /// read is logged and answered 500 (its path and error stay in the log).
    async fn with_store(self: Arc<Self>, f: impl FnOnce(&Reader, &Store) -> anyhow::Result<Response> + Send + 'static) -> Response {
        let answer = tokio::task::spawn_blocking(move || {
            let store = Store::open_read_only(&self.db)?;
            f(&self, &store)
        })
        .await;
        match answer {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                tracing::error!("reader: {e:#}");
                page_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    pages::message("The copy could not be read", "The store could not be read; the reader's log says why."),
                )
            }
            Err(e) => {
                tracing::error!("reader: a request panicked: {e}");
                page_response(StatusCode::INTERNAL_SERVER_ERROR, pages::message("The copy could not be read", "The reader failed; its log says why."))
            }
        }
    }
}

/// An HTML page with the reader's headers.
fn page_response(status: StatusCode, body: maud::Markup) -> Response {
    let mut r = (status, axum::response::Html(body.into_string())).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    r
}

async fn index(State(r): State<Arc<Reader>>) -> Response {
    r.with_store(|_, store| Ok(page_response(StatusCode::OK, pages::index(store)?))).await
}

async fn wiki_index(State(r): State<Arc<Reader>>, Path(wiki): Path<String>, Query(q): Query_) -> Response {
    r.with_store(move |_, store| {
        let (status, body) = pages::wiki_index(store, &wiki, q.get("from").map(String::as_str))?;
        Ok(page_response(status, body))
    })
    .await
}

async fn page(State(r): State<Arc<Reader>>, Path((wiki, title)): Path<(String, String)>, Query(q): Query_) -> Response {
    r.with_store(move |_, store| {
        let (status, body) = pages::page(store, &wiki, &links::decode_title(&title), &q)?;
        Ok(page_response(status, body))
    })
    .await
}

async fn search_page(State(r): State<Arc<Reader>>, Query(q): Query_) -> Response {
    r.with_store(move |_, store| Ok(page_response(StatusCode::OK, search::page(store, &q)?))).await
}

async fn suggest(State(r): State<Arc<Reader>>, Query(q): Query_) -> Response {
    r.with_store(move |_, store| {
        let found = search::suggest(store, &q)?;
        Ok(([(header::CACHE_CONTROL, "no-store")], axum::Json(found)).into_response())
    })
    .await
}

async fn record_sources(State(r): State<Arc<Reader>>) -> Response {
    r.with_store(|_, store| Ok(page_response(StatusCode::OK, records::sources(store)?))).await
}

async fn record(State(r): State<Arc<Reader>>, Path((source, identifier)): Path<(i64, String)>) -> Response {
    let identifier = percent_encoding::percent_decode_str(&identifier).decode_utf8_lossy().into_owned();
    r.with_store(move |_, store| {
        let (status, body) = records::record(store, source, &identifier)?;
        Ok(page_response(status, body))
    })
    .await
}

async fn asset(Path(name): Path<String>) -> Response {
    match assets::get(&name) {
        Some((mime, body)) => ([(header::CONTENT_TYPE, mime), (header::CACHE_CONTROL, "max-age=3600")], body).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn file(State(r): State<Arc<Reader>>, Path((wiki, name)): Path<(String, String)>) -> Response {
    let name = links::decode_title(&name);
    r.with_store(move |reader, store| {
        Ok(pages::file(reader.files_dir.as_deref(), store, &wiki, &name)?
            .unwrap_or_else(|| page_response(StatusCode::NOT_FOUND, pages::message("No such file", "This copy does not hold this file."))))
    })
    .await
}

#[cfg(test)]
mod tests;
