//! A server that misbehaves on purpose, for what no real server can be
//! made to do on demand: a body of gigabytes, decompression bombs, a
//! redirect loop, a redirect to another origin, a body that trickles.
//! Every request is logged with the credentials it carried, so a test can
//! tell what reached whom.

use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::http::{RequestLog, lock, serve};

/// What a hostile server does, by path under `/oai/`:
/// * `huge`: 200 and an endless body (2 GiB), without Content-Length;
/// * `gzip-zeros`, `gzip-letters`: gzip (with its header) that inflates to
///   [`BOMB`] bytes of NUL, or of `a`; `gzip-sniffed`: the zeros without the header;
/// * `loop`: a redirect to itself;
/// * `away`: a 307 to the URL given by [`Hostile::redirect_away_to`];
/// * `trickle`: 200 and one byte every 200 ms, for ever;
/// * anything else: 404.
#[derive(Clone, Default)]
pub struct Hostile {
    state: Arc<Mutex<HostileState>>,
}

#[derive(Default)]
struct HostileState {
    log: RequestLog,
    away: Option<String>,
}

/// How big the bombs inflate: four times the default body limit.
pub const BOMB: usize = 128 << 20;

impl Hostile {
    /// Serves on a free loopback port; returns the base URL (`…/oai`).
    pub async fn spawn() -> std::io::Result<(Hostile, String)> {
        let hostile = Hostile::default();
        let app = axum::Router::new().route("/oai/{what}", axum::routing::any(answer)).with_state(hostile.clone());
        Ok((hostile.clone(), format!("http://{}/oai", serve(app, 0).await?)))
    }

    pub fn redirect_away_to(&self, url: &str) {
        lock(&self.state).away = Some(url.to_string());
    }

    /// `PATH AUTHORIZATION?` of every request, in order.
    pub fn log(&self) -> Vec<String> {
        lock(&self.state).log.entries().to_vec()
    }
}

async fn answer(State(hostile): State<Hostile>, Path(what): Path<String>, headers: HeaderMap) -> Response {
    let auth = headers.get(header::AUTHORIZATION).map(|_| " with credentials").unwrap_or_default();
    let away = {
        let mut s = lock(&hostile.state);
        s.log.record(format!("{what}{auth}"));
        s.away.clone()
    };
    match what.as_str() {
        "huge" => {
            let head = Bytes::from_static(b"<?xml version=\"1.0\"?>\n<OAI-PMH xmlns=\"http://www.openarchives.org/OAI/2.0/\"><responseDate>2026-01-01T00:00:00Z</responseDate><ListRecords>");
            let chunk = Bytes::from(vec![b'a'; 64 << 10]);
            let chunks = std::iter::once(head).chain(std::iter::repeat_n(chunk, (2usize << 30) / (64 << 10)));
            let stream = futures_util::stream::iter(chunks.map(Ok::<_, std::io::Error>));
            Response::builder().status(StatusCode::OK).header(header::CONTENT_TYPE, "text/xml").body(Body::from_stream(stream)).expect("a valid response")
        }
        "gzip-zeros" => ([(header::CONTENT_ENCODING, "gzip"), (header::CONTENT_TYPE, "text/xml")], gzip_of(0, BOMB)).into_response(),
        "gzip-letters" => ([(header::CONTENT_ENCODING, "gzip"), (header::CONTENT_TYPE, "text/xml")], gzip_of(b'a', BOMB)).into_response(),
        "gzip-sniffed" => ([(header::CONTENT_TYPE, "text/xml")], gzip_of(0, BOMB)).into_response(),
        "loop" => (StatusCode::FOUND, [(header::LOCATION, "/oai/loop")], "").into_response(),
        "away" => match away {
            Some(to) => (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, to)], "").into_response(),
            None => StatusCode::NOT_FOUND.into_response(),
        },
        "trickle" => {
            let stream = futures_util::stream::unfold(0u64, |n| async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                Some((Ok::<_, std::io::Error>(Bytes::from_static(b" ")), n + 1))
            });
            Response::builder().status(StatusCode::OK).header(header::CONTENT_TYPE, "text/xml").body(Body::from_stream(stream)).expect("a valid response")
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// gzip of `len` copies of `byte`, made once per kind and kept: a bomb of
/// 128 MiB compresses to about 128 KiB.
pub fn gzip_of(byte: u8, len: usize) -> Vec<u8> {
    static MADE: Mutex<Vec<(u8, usize, Vec<u8>)>> = Mutex::new(Vec::new());
    let mut made = lock(&MADE);
    if let Some((_, _, body)) = made.iter().find(|(b, l, _)| *b == byte && *l == len) {
        return body.clone();
    }
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let block = vec![byte; 1 << 20];
    let mut left = len;
    while left > 0 {
        let n = left.min(block.len());
        enc.write_all(&block[..n]).expect("writing to memory");
        left -= n;
    }
    let body = enc.finish().expect("writing to memory");
    made.push((byte, len, body.clone()));
    body
}
