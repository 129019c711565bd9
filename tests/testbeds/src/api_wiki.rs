//! A strict api.php for what a real wiki will not do on demand:
//! maxlag with Retry-After, a refused CSRF token, a lost session, HTTP 429.
//! Stricter than MediaWiki where it matters: writes must be POSTs with the
//! session's own token, logins need the session's login token, and every
//! request must ask for formatversion=2 JSON.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::http::{lock, serve};

/// A fault the next request meets (`BadToken`: the next write).
#[derive(Clone, Debug)]
pub enum ApiFault {
    /// error.code=maxlag (HTTP 200) with Retry-After.
    Maxlag(u64),
    /// HTTP 429 with Retry-After.
    TooMany(u64),
    /// The next write's token is refused as badtoken.
    BadToken,
    /// The server forgets every session (as when it expires).
    ForgetSessions,
    /// Every `list=allpages` answer asks to continue from the same place.
    RepeatContinue,
    /// The next answer is a gzip body that inflates to this many zero bytes.
    GzipBomb(usize),
    /// The next answer is this many bytes of JSON, uncompressed, without a Content-Length.
    HugeBody(usize),
    /// The next login POST is answered 307 to this URL (another origin).
    RedirectLogin(String),
    /// HTTP 503 without Retry-After, as a wiki whose PHP workers are gone.
    Unavailable,
    /// The next login POST is answered with a page that echoes the request
    /// (as a broken proxy or a debugging page does), password included.
    EchoLogin,
}

/// The fake's state.
#[derive(Default)]
pub struct Fake {
    /// session id → (login token, logged in, csrf token)
    sessions: HashMap<String, (String, bool, String)>,
    /// Faults still to come, in order.
    pub faults: VecDeque<ApiFault>,
    /// `METHOD action meta-or-prop` of every request.
    pub log: Vec<String>,
    next_rev: u64,
    texts: HashMap<u64, String>,
    next_session: u64,
}

/// A handle on a running fake api.php; clones share it.
#[derive(Clone)]
pub struct FakeApi(Arc<Mutex<Fake>>);

/// The one account the fake knows, a bot password.
pub const USER: &str = "Bot@fake";
pub const PASSWORD: &str = "fake-secret-0000000000000000000000";

impl FakeApi {
    /// Serves on a free loopback port; returns the handle and the api.php URL.
    pub async fn spawn(faults: Vec<ApiFault>) -> std::io::Result<(FakeApi, String)> {
        let fake = FakeApi(Arc::new(Mutex::new(Fake { faults: faults.into(), ..Fake::default() })));
        let app = axum::Router::new().route("/w/api.php", axum::routing::any(api)).with_state(fake.clone());
        Ok((fake.clone(), format!("http://{}/w/api.php", serve(app, 0).await?)))
    }

    pub fn state(&self) -> std::sync::MutexGuard<'_, Fake> {
        lock(&self.0)
    }
}

fn error(code: &str, info: &str) -> serde_json::Value {
    json!({"error": {"code": code, "info": info, "docref": "fake"}})
}

async fn api(State(fake): State<FakeApi>, method: Method, headers: HeaderMap, RawQuery(q): RawQuery, body: Bytes) -> Response {
    let raw = if method == Method::POST { String::from_utf8_lossy(&body).into_owned() } else { q.unwrap_or_default() };
    let p: HashMap<String, String> = url::form_urlencoded::parse(raw.as_bytes()).into_owned().collect();
    let mut f = fake.state();
    let action = p.get("action").cloned().unwrap_or_default();
    f.log.push(format!("{method} {action} {}", p.get("meta").or(p.get("prop")).cloned().unwrap_or_default()));
    if p.get("format").map(String::as_str) != Some("json") || p.get("formatversion").map(String::as_str) != Some("2") {
        return axum::Json(error("badformat", "formatversion=2 JSON only")).into_response();
    }
    if !p.contains_key("maxlag") {
        return axum::Json(error("missingparam", "this fake insists on maxlag")).into_response();
    }
    // The session, by cookie; a new one is handed out when there is none.
    let cookie = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split("; ").find_map(|kv| kv.strip_prefix("fake_session=")))
        .map(str::to_string);
    let sid = match cookie.filter(|c| f.sessions.contains_key(c)) {
        Some(s) => s,
        None => {
            f.next_session += 1;
            let s = format!("s{}", f.next_session);
            let n = f.next_session;
            f.sessions.insert(s.clone(), (format!("login{n}+\\"), false, format!("csrf{n}+\\")));
            s
        }
    };
    let set_cookie = format!("fake_session={sid}; Path=/");
    let reply = |v: serde_json::Value| ([(header::SET_COOKIE, set_cookie.clone())], axum::Json(v)).into_response();
    if let Some(fault) = f.faults.front().cloned() {
        match fault {
            ApiFault::Maxlag(s) => {
                f.faults.pop_front();
                let mut r = reply(json!({"error": {"code": "maxlag", "info": "Waiting for a database server: 7 seconds lagged.", "lag": 7}}));
                r.headers_mut().insert(header::RETRY_AFTER, s.to_string().parse().expect("digits are a header value"));
                return r;
            }
            ApiFault::TooMany(s) => {
                f.faults.pop_front();
                return (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, s.to_string())], "slow down").into_response();
            }
            ApiFault::Unavailable => {
                f.faults.pop_front();
                return (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response();
            }
            ApiFault::ForgetSessions => {
                f.faults.pop_front();
                f.sessions.retain(|k, _| *k == sid);
                if let Some(s) = f.sessions.get_mut(&sid) {
                    s.1 = false;
                }
            }
            ApiFault::GzipBomb(size) => {
                f.faults.pop_front();
                let body = crate::hostile::gzip_of(0, size);
                return ([(header::CONTENT_ENCODING, "gzip"), (header::CONTENT_TYPE, "application/json")], body).into_response();
            }
            ApiFault::HugeBody(size) => {
                f.faults.pop_front();
                let chunk = axum::body::Bytes::from(vec![b' '; 1 << 16]);
                let chunks = std::iter::once(axum::body::Bytes::from_static(b"{\"x\": 1"))
                    .chain(std::iter::repeat_n(chunk, size >> 16))
                    .chain(std::iter::once(axum::body::Bytes::from_static(b"}")));
                let body = axum::body::Body::from_stream(futures_util::stream::iter(chunks.map(Ok::<_, std::io::Error>)));
                return ([(header::CONTENT_TYPE, "application/json")], body).into_response();
            }
            ApiFault::EchoLogin if action == "login" => {
                f.faults.pop_front();
                return (StatusCode::OK, [(header::CONTENT_TYPE, "text/html")], format!("<html><body>You sent: {raw}</body></html>")).into_response();
            }
            ApiFault::RedirectLogin(to) if action == "login" => {
                f.faults.pop_front();
                return (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, to)], "").into_response();
            }
            ApiFault::BadToken | ApiFault::RepeatContinue | ApiFault::RedirectLogin(_) | ApiFault::EchoLogin => {}
        }
    }
    if p.get("list").map(String::as_str) == Some("allpages") && f.faults.iter().any(|f| matches!(f, ApiFault::RepeatContinue)) {
        return reply(
            json!({"continue": {"apcontinue": "Same_page", "continue": "-||"}, "query": {"allpages": [{"pageid": 1, "ns": 0, "title": "Same page"}]}}),
        );
    }
    let (login_token, logged_in, csrf) = f.sessions[&sid].clone();
    if p.contains_key("assert") && !logged_in {
        return reply(error("assertuserfailed", "You are no longer logged in, so the action could not be completed."));
    }
    match action.as_str() {
        "query" if p.get("meta").map(String::as_str) == Some("tokens") => {
            if p.get("type").map(String::as_str) == Some("login") {
                reply(json!({"batchcomplete": true, "query": {"tokens": {"logintoken": login_token}}}))
            } else {
                reply(json!({"batchcomplete": true, "query": {"tokens": {"csrftoken": if logged_in { csrf } else { "+\\".into() }}}}))
            }
        }
        "login" if method == Method::POST => {
            if p.get("lgtoken") != Some(&login_token) {
                return reply(json!({"login": {"result": "WrongToken"}}));
            }
            if p.get("lgname").map(String::as_str) != Some(USER) || p.get("lgpassword").map(String::as_str) != Some(PASSWORD) {
                return reply(json!({"login": {"result": "Failed", "reason": "Incorrect username or password entered. Please try again."}}));
            }
            if let Some(session) = f.sessions.get_mut(&sid) {
                session.1 = true;
            }
            reply(json!({"login": {"result": "Success", "lguserid": 1, "lgusername": "Bot"}}))
        }
        "edit" if method == Method::POST => {
            let refused = matches!(f.faults.front(), Some(ApiFault::BadToken));
            if refused {
                f.faults.pop_front();
            }
            if refused || p.get("token") != Some(&csrf) {
                return reply(error("badtoken", "Invalid CSRF token."));
            }
            f.next_rev += 1;
            let rev = f.next_rev;
            f.texts.insert(rev, p.get("text").cloned().unwrap_or_default());
            reply(
                json!({"edit": {"result": "Success", "pageid": 1, "title": p.get("title"), "contentmodel": "wikitext", "oldrevid": rev - 1, "newrevid": rev, "newtimestamp": "2026-11-22T12:00:00Z"}}),
            )
        }
        "query" if p.contains_key("revids") => {
            let rev: u64 = p["revids"].parse().unwrap_or(0);
            let text = f.texts.get(&rev).cloned().unwrap_or_default();
            reply(
                json!({"batchcomplete": true, "query": {"pages": [{"pageid": 1, "ns": 0, "title": "T", "revisions": [{"revid": rev, "parentid": rev - 1, "slots": {"main": {"contentmodel": "wikitext", "contentformat": "text/x-wiki", "content": text}}}]}]}}),
            )
        }
        _ => reply(error("badvalue", &format!("the fake does not do {method} {action}"))),
    }
}
