//! The MediaWiki action API client: one per wiki, serial, logged in with a
//! bot password, polite under load, and precise about what a write did.

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{ACCEPT_ENCODING, CONTENT_ENCODING, RETRY_AFTER, USER_AGENT};
use serde_json::Value;
use tokio::sync::Mutex;

use super::error::{ApiCode, MwError, MwResult};
use super::types::*;

/// A password that never shows in logs or debug output.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// How to reach and log in to a wiki.
#[derive(Clone, Debug)]
pub struct WikiOptions {
    /// The config name, used in messages.
    pub name: String,
    pub api: String,
    /// A bot password's login name (`User@app`) and secret.
    pub login: Option<(String, Secret)>,
    pub user_agent: String,
    /// Attempts per request under maxlag, rate limits, 429, 503 and resets.
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    /// Retry-After (and lag) values above this are cut down to it.
    pub max_wait: Duration,
    pub timeout: Duration,
    /// A gzip body that decompresses to more than this is refused (a
    /// decompression bomb must not take the machine with it).
    pub max_body: u64,
}

impl WikiOptions {
    pub fn new(name: &str, api: &str) -> WikiOptions {
        WikiOptions {
            name: name.to_string(),
            api: api.to_string(),
            login: None,
            user_agent: format!("oai-mirror/{} (+https://crates.io/crates/oai-mirror)", env!("CARGO_PKG_VERSION")),
            max_attempts: 6,
            initial_backoff: Duration::from_secs(1),
            max_wait: Duration::from_secs(120),
            timeout: Duration::from_secs(120),
            max_body: oai::client::MAX_BODY,
        }
    }
}

/// HTTP method of a call: reads are GET, writes (and login) POST.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Method {
    Get,
    Post,
}

/// A file sent with a POST as `multipart/form-data` (an import's XML).
pub(super) struct FilePart {
    /// The form field it goes in.
    pub(super) field: &'static str,
    pub(super) name: String,
    pub(super) bytes: Vec<u8>,
}

/// Session state, behind the client's lock: requests to one wiki are serial.
struct Session {
    /// The HTTP client and with it the cookie jar: one per login, because
    /// MediaWiki refuses a second login inside a bot-password session.
    http: reqwest::Client,
    logged_in: bool,
    csrf: Option<String>,
}

/// A client for one wiki.
pub struct Wiki {
    pub(super) options: WikiOptions,
    session: Mutex<Session>,
    clock: Arc<dyn oai::Clock>,
    requests: std::sync::atomic::AtomicU64,
    /// The session's HTTP client, also outside its lock: files are read with
    /// it while an API request holds the session.
    files_http: std::sync::Mutex<reqwest::Client>,
    /// Values a multi-value parameter takes (50, or 500 with `apihighlimits`); 0 until asked.
    pub(super) high_limits: std::sync::atomic::AtomicU32,
    health: std::sync::Mutex<Health>,
}

/// Whether a wiki answers, as its client last found: every request says.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Health {
    /// `None` until the first request.
    pub reachable: Option<bool>,
    /// Since when it has not answered (the first failure of this stretch).
    pub down_since: Option<chrono::DateTime<chrono::Utc>>,
    /// Its last answer.
    pub last_answer: Option<chrono::DateTime<chrono::Utc>>,
    /// Why it did not answer, the last time it did not.
    pub last_error: Option<String>,
    /// Whether the client holds a session (logged in, not lost since).
    pub logged_in: bool,
}

impl Health {
    /// Notes the outcome of one request (its retries included) at `now`.
    /// Only a wiki that did not answer at all, or answered with a server
    /// error every time, is down: an API error is an answer.
    fn note(&mut self, result: &MwResult<Value>, now: chrono::DateTime<chrono::Utc>) {
        let down = match result {
            Ok(_) => None,
            Err(e @ MwError::Unreachable { .. }) => Some(e.to_string()),
            Err(e @ MwError::RetriesExhausted { last, .. }) if last.starts_with("HTTP 5") || last.starts_with("request failed") => Some(e.to_string()),
            Err(e @ MwError::NotApi { status, .. }) if *status >= 500 => Some(e.to_string()),
            Err(_) => None,
        };
        match down {
            None => self.answered(now),
            Some(why) => self.unanswered(why, now),
        }
    }

    fn answered(&mut self, now: chrono::DateTime<chrono::Utc>) {
        self.reachable = Some(true);
        self.down_since = None;
        self.last_answer = Some(now);
    }

    /// Down from the first request left unanswered, not only once its
    /// retries ran out: status and metrics say so while they go on.
    fn unanswered(&mut self, why: String, now: chrono::DateTime<chrono::Utc>) {
        if self.reachable != Some(false) {
            self.down_since = Some(now);
        }
        self.reachable = Some(false);
        self.last_error = Some(why);
    }
}

/// `text` with the value after every `KEY=` and `"KEY":"` replaced by `***`.
fn redact_values(text: &str, key: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let form = rest.find(&format!("{key}=")).map(|i| (i, i + key.len() + 1));
        let json = rest.find(&format!("\"{key}\":\"")).map(|i| (i, i + key.len() + 4));
        let Some((_, start)) = [form, json].into_iter().flatten().min_by_key(|(i, _)| *i) else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..start]);
        out.push_str("***");
        let value = &rest[start..];
        let end = value.find(|c: char| c == '&' || c == '"' || c == '<' || c.is_whitespace()).unwrap_or(value.len());
        rest = &value[end..];
    }
}

/// The `maxlag` sent with every request: a replicated wiki asks bots to
/// wait when its replicas lag more than this many seconds.
const MAXLAG: &str = "5";

impl Wiki {
    pub fn new(options: WikiOptions) -> MwResult<Wiki> {
        Wiki::with_clock(options, Arc::new(oai::SystemClock))
    }

    pub fn with_clock(options: WikiOptions, clock: Arc<dyn oai::Clock>) -> MwResult<Wiki> {
        let http = http_client(&options)?;
        Ok(Wiki {
            options,
            files_http: std::sync::Mutex::new(http.clone()),
            session: Mutex::new(Session { http, logged_in: false, csrf: None }),
            clock,
            requests: Default::default(),
            high_limits: Default::default(),
            health: Default::default(),
        })
    }

    /// Whether the wiki answers, as the last request found.
    pub fn health(&self) -> Health {
        crate::util::lock(&self.health).clone()
    }

    /// Keeps the session alive between runs: a cheap read that logs in
    /// (again) if the wiki forgot the session, or, without a login, asks
    /// whether the wiki answers. The outcome is in [`Wiki::health`].
    pub async fn keep_alive(&self) -> MwResult<()> {
        if self.options.login.is_some() { self.userinfo().await.map(drop) } else { self.server_time().await.map(drop) }
    }

    /// Whether this client logs in: a wiki without an account is only read,
    /// never written (an edit would go in as the server's IP address).
    /// The session's HTTP client, its cookies included: files are read
    /// with it, outside the API's serial lock.
    pub(super) fn http(&self) -> reqwest::Client {
        crate::util::lock(&self.files_http).clone()
    }

    pub(super) fn clock(&self) -> &dyn oai::Clock {
        self.clock.as_ref()
    }

    pub fn has_account(&self) -> bool {
        self.options.login.is_some()
    }

    pub fn name(&self) -> &str {
        &self.options.name
    }

    /// HTTP requests made so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Logs in (again). A failed login is an error naming the wiki and MediaWiki's reason.
    pub async fn login(&self) -> MwResult<()> {
        let mut session = self.session.lock().await;
        self.login_locked(&mut session).await
    }

    async fn login_locked(&self, session: &mut Session) -> MwResult<()> {
        let Some((user, password)) = self.options.login.clone() else {
            return Err(MwError::NoCredentials { wiki: self.options.name.clone(), detail: "set user and password_file or password_env".into() });
        };
        session.http = http_client(&self.options)?;
        *crate::util::lock(&self.files_http) = session.http.clone();
        session.logged_in = false;
        crate::util::lock(&self.health).logged_in = false;
        session.csrf = None;
        let v = self.send(&session.http, Method::Get, "query", &[("meta", "tokens".into()), ("type", "login".into())], None, false, None).await?;
        let token = v.pointer("/query/tokens/logintoken").and_then(Value::as_str).ok_or_else(|| self.not_api_json(&v))?.to_string();
        let v = self
            .send(
                &session.http,
                Method::Post,
                "login",
                &[("lgname", user.clone()), ("lgpassword", password.expose().to_string()), ("lgtoken", token)],
                None,
                false,
                None,
            )
            .await?;
        let login = v.get("login").ok_or_else(|| self.not_api_json(&v))?;
        let result = login.get("result").and_then(Value::as_str).unwrap_or_default();
        if result != "Success" {
            let reason = login.get("reason").and_then(Value::as_str).unwrap_or(result).to_string();
            return Err(MwError::LoginFailed { wiki: self.options.name.clone(), user, result: result.to_string(), reason });
        }
        tracing::info!(wiki = %self.options.name, user = %user, "logged in");
        session.logged_in = true;
        crate::util::lock(&self.health).logged_in = true;
        Ok(())
    }

    pub(super) fn not_api_json(&self, v: &Value) -> MwError {
        MwError::NotApi { wiki: self.options.name.clone(), url: self.options.api.clone(), status: 200, snippet: self.shown(&v.to_string()) }
    }

    /// One API call, with everything a careful bot does around it: the
    /// session (logging in first, and once more on `assertuserfailed`), the
    /// CSRF token for writes (refreshed once on `badtoken`), and waiting out
    /// maxlag, rate limits, 429 and 503 within bounds.
    pub(super) async fn call(&self, method: Method, action: &str, params: &[(&str, String)], title: Option<&str>, write: bool) -> MwResult<Value> {
        self.call_with(method, action, params, title, write, None).await
    }

    /// [`call`](Wiki::call), with a file in a `multipart/form-data` POST.
    pub(super) async fn call_with(
        &self,
        method: Method,
        action: &str,
        params: &[(&str, String)],
        title: Option<&str>,
        write: bool,
        file: Option<&FilePart>,
    ) -> MwResult<Value> {
        let mut session = self.session.lock().await;
        if !session.logged_in && self.options.login.is_some() {
            self.login_locked(&mut session).await?;
        }
        let mut relogged = false;
        let mut refreshed = false;
        loop {
            let mut all: Vec<(&str, String)> = params.to_vec();
            if write {
                if session.csrf.is_none() {
                    let v = self.send(&session.http, Method::Get, "query", &[("meta", "tokens".into())], None, session.logged_in, None).await?;
                    session.csrf = v.pointer("/query/tokens/csrftoken").and_then(Value::as_str).map(str::to_string);
                }
                all.push(("token", session.csrf.clone().unwrap_or_default()));
            }
            let v = self.send(&session.http, method, action, &all, title, session.logged_in, file).await?;
            match api_error(&v).map(|(code, _)| ApiCode::parse(&code)) {
                Some(ApiCode::AssertUserFailed) if !relogged && self.options.login.is_some() => {
                    tracing::warn!(wiki = %self.options.name, action, "session lost; logging in again");
                    relogged = true;
                    self.login_locked(&mut session).await?;
                }
                Some(ApiCode::BadToken) if write && !refreshed => {
                    tracing::warn!(wiki = %self.options.name, action, "CSRF token refused; fetching a new one");
                    refreshed = true;
                    session.csrf = None;
                }
                _ => return Ok(v),
            }
        }
    }

    /// One request and its bounded retries (no session logic); its outcome
    /// goes into the wiki's [`Health`].
    #[allow(clippy::too_many_arguments)]
    async fn send(
        &self,
        http: &reqwest::Client,
        method: Method,
        action: &str,
        params: &[(&str, String)],
        title: Option<&str>,
        assert_user: bool,
        file: Option<&FilePart>,
    ) -> MwResult<Value> {
        // Every `return` below ends this block: its outcome goes into the health either way.
        let result: MwResult<Value> = async {
            let wiki = &self.options.name;
            let mut form: Vec<(&str, String)> =
                vec![("action", action.to_string()), ("format", "json".into()), ("formatversion", "2".into()), ("maxlag", MAXLAG.into())];
            if assert_user {
                form.push(("assert", "user".into()));
            }
            form.extend(params.iter().cloned());
            let encoded = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(form.iter().map(|(k, v)| (*k, v.as_str()))).finish();
            let mut attempt = 0;
            loop {
                attempt += 1;
                let request = match (method, file) {
                    (Method::Post, Some(file)) => {
                        // The form is built again for each attempt.
                        let mut parts = reqwest::multipart::Form::new();
                        for (k, v) in &form {
                            parts = parts.text(k.to_string(), v.clone());
                        }
                        let part = reqwest::multipart::Part::bytes(file.bytes.clone()).file_name(file.name.clone());
                        http.post(&self.options.api).multipart(parts.part(file.field, part))
                    }
                    (Method::Get, _) => http.get(format!("{}?{encoded}", self.options.api)),
                    (Method::Post, None) => {
                        http.post(&self.options.api).header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded").body(encoded.clone())
                    }
                };
                let request = request.header(USER_AGENT, &self.options.user_agent).header(ACCEPT_ENCODING, "gzip");
                self.requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                // Why we wait, and how long the server asked for.
                let (reason, asked): (String, Option<Duration>) = match request.send().await {
                    Err(e) => {
                        if attempt >= self.options.max_attempts || !(e.is_timeout() || e.is_connect() || e.is_request() || e.is_body()) {
                            return Err(MwError::Unreachable { wiki: wiki.clone(), url: self.options.api.clone(), source: e });
                        }
                        (format!("request failed: {e}"), None)
                    }
                    Ok(mut resp) => {
                        let status = resp.status().as_u16();
                        if resp.status().is_redirection() {
                            // Not followed (see `http_client`): say where it went.
                            let to = resp.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("(no Location)").to_string();
                            return Err(MwError::Redirected { wiki: wiki.clone(), url: self.options.api.clone(), status, to });
                        }
                        if resp.content_length().is_some_and(|n| n > self.options.max_body) {
                            return Err(MwError::TooLarge { wiki: wiki.clone(), url: self.options.api.clone(), limit: self.options.max_body });
                        }
                        let retry_after =
                            resp.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(|v| oai::client::parse_retry_after(v, self.clock.now()));
                        let gzip = resp.headers().get(CONTENT_ENCODING).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
                        let bytes = match read_body(&mut resp, self.options.max_body).await {
                            Ok(Some(b)) => b,
                            Ok(None) => return Err(MwError::TooLarge { wiki: wiki.clone(), url: self.options.api.clone(), limit: self.options.max_body }),
                            Err(e) if attempt < self.options.max_attempts => {
                                self.wait(attempt, action, &format!("body cut off: {e}"), None).await;
                                continue;
                            }
                            Err(e) => return Err(MwError::Unreachable { wiki: wiki.clone(), url: self.options.api.clone(), source: e }),
                        };
                        let body = if gzip {
                            match gunzip(&bytes, self.options.max_body) {
                                Ok(Some(b)) => b,
                                // Not gzip after all: read as sent.
                                Ok(None) => bytes,
                                Err(limit) => return Err(MwError::TooLarge { wiki: wiki.clone(), url: self.options.api.clone(), limit }),
                            }
                        } else {
                            bytes
                        };
                        if status == 429 || status == 503 || status >= 500 {
                            (format!("HTTP {status}"), retry_after)
                        } else {
                            let Ok(v) = serde_json::from_slice::<Value>(&body) else {
                                return Err(MwError::NotApi {
                                    wiki: wiki.clone(),
                                    url: self.options.api.clone(),
                                    status,
                                    snippet: self.shown(&String::from_utf8_lossy(&body)),
                                });
                            };
                            if !v.is_object() {
                                return Err(self.not_api_json(&v));
                            }
                            match api_error(&v) {
                                Some((code, info)) if code == "maxlag" => {
                                    // The lag in seconds is in the error; Retry-After says when to come back.
                                    let lag = v.pointer("/error/lag").and_then(Value::as_f64).map(Duration::from_secs_f64);
                                    (format!("maxlag: {info}"), retry_after.or(lag))
                                }
                                Some((code, info)) if code == "ratelimited" => (format!("ratelimited: {info}"), retry_after),
                                _ => return Ok(v),
                            }
                        }
                    }
                };
                if reason.starts_with("request failed") || reason.starts_with("HTTP 5") {
                    let now = chrono::DateTime::<chrono::Utc>::from(self.clock.now());
                    crate::util::lock(&self.health).unanswered(format!("{action}: {reason} (attempt {attempt}, retrying)"), now);
                }
                if attempt >= self.options.max_attempts {
                    return Err(MwError::RetriesExhausted {
                        wiki: wiki.clone(),
                        action: action.to_string(),
                        title: title.map(str::to_string),
                        attempts: attempt,
                        last: reason,
                    });
                }
                self.wait(attempt, action, &reason, asked).await;
            }
        }
        .await;
        let now = chrono::DateTime::<chrono::Utc>::from(self.clock.now());
        crate::util::lock(&self.health).note(&result, now);
        result
    }

    async fn wait(&self, attempt: u32, action: &str, reason: &str, asked: Option<Duration>) {
        let backoff = self.options.initial_backoff.saturating_mul(1 << (attempt - 1).min(16));
        let wait = asked.map_or(backoff, |a| a.max(backoff)).min(self.options.max_wait);
        tracing::warn!(wiki = %self.options.name, action, attempt, wait_ms = wait.as_millis() as u64, reason, "waiting before retrying");
        self.clock.sleep(wait).await;
    }

    /// The start of what the wiki sent, for an error message, with secrets
    /// taken out (see [`Wiki::redacted`]).
    fn shown(&self, text: &str) -> String {
        oai::parse::snippet(&self.redacted(text))
    }

    /// `text` with this client's password and every value of a password
    /// or token parameter (`lgpassword=…`, `"lgpassword":"…"`, and the
    /// like) replaced by `***`: a server or proxy that echoes the request
    /// must not put the password into an error message or a log.
    pub(super) fn redacted(&self, text: &str) -> String {
        let mut out = text.to_string();
        if let Some((_, secret)) = &self.options.login
            && !secret.expose().is_empty()
        {
            out = out.replace(secret.expose(), "***");
            let encoded: String = url::form_urlencoded::byte_serialize(secret.expose().as_bytes()).collect();
            out = out.replace(&encoded, "***");
        }
        for key in ["lgpassword", "password", "lgtoken", "token"] {
            out = redact_values(&out, key);
        }
        out
    }

    pub(super) fn api_err(&self, action: &str, title: Option<&str>, v: &Value) -> MwError {
        match api_error(v) {
            Some((code, info)) => MwError::Api {
                wiki: self.options.name.clone(),
                action: action.into(),
                title: title.map(str::to_string),
                code: ApiCode::parse(&code),
                info: self.redacted(&info),
            },
            None => MwError::Protocol {
                wiki: self.options.name.clone(),
                action: action.into(),
                title: title.map(str::to_string),
                detail: self.shown(&v.to_string()),
            },
        }
    }

    /// A read that must not fail with an API error.
    pub(super) async fn query(&self, params: &[(&str, String)], title: Option<&str>) -> MwResult<Value> {
        let v = self.call(Method::Get, "query", params, title, false).await?;
        if api_error(&v).is_some() {
            return Err(self.api_err("query", title, &v));
        }
        Ok(v)
    }
}

fn http_client(options: &WikiOptions) -> MwResult<reqwest::Client> {
    crate::util::install_tls();
    reqwest::Client::builder()
        .cookie_store(true)
        // A login form carries the password in its body, which a 307 would
        // carry on: no redirect to another scheme, host or port is followed.
        .redirect(oai::client::same_origin_redirects())
        .timeout(options.timeout)
        .connect_timeout(Duration::from_secs(20))
        .build()
        .map_err(|e| MwError::Unreachable { wiki: options.name.clone(), url: options.api.clone(), source: e })
}

/// A body read in chunks, at most `limit` bytes: `None` if it is longer.
async fn read_body(resp: &mut reqwest::Response, limit: u64) -> Result<Option<Vec<u8>>, reqwest::Error> {
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        if (out.len() + chunk.len()) as u64 > limit {
            return Ok(None);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Some(out))
}

/// Follows a list's continuation values, refusing one seen before: a wiki
/// that hands back the same value would be asked again for ever.
pub struct Continuation {
    wiki: String,
    key: String,
    seen: std::collections::HashSet<String>,
}

impl Continuation {
    pub fn new(wiki: &str, key: &str) -> Continuation {
        Continuation { wiki: wiki.to_string(), key: key.to_string(), seen: Default::default() }
    }

    /// The value to continue with, `None` at the end, or an error if it repeats.
    pub fn next(&mut self, value: Option<&str>) -> MwResult<Option<String>> {
        let Some(value) = value else { return Ok(None) };
        if !self.seen.insert(value.to_string()) {
            return Err(MwError::Protocol {
                wiki: self.wiki.clone(),
                action: "query".into(),
                title: None,
                detail: format!("the wiki handed back {}={:?} a second time; stopping instead of asking for ever", self.key, oai::error::shorten(value, 120)),
            });
        }
        Ok(Some(value.to_string()))
    }
}

/// Decompresses a gzip body, reading at most `limit` bytes out of it:
/// `Ok(None)` if it is not gzip, `Err(limit)` if it holds more than that.
fn gunzip(bytes: &[u8], limit: u64) -> Result<Option<Vec<u8>>, u64> {
    let mut out = Vec::new();
    let read = flate2::read::GzDecoder::new(bytes).take(limit.saturating_add(1)).read_to_end(&mut out);
    match read {
        Err(_) => Ok(None),
        Ok(n) if n as u64 > limit => Err(limit),
        Ok(_) => Ok(Some(out)),
    }
}

#[cfg(test)]
mod tests;
