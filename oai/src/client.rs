//! The transport: one request per call, with flow control and bounded
//! retries, decompression and character repair, then a call into
//! [`crate::parse`]. Nothing here knows what the caller does with a page.

use std::borrow::Cow;
use std::future::Future;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use reqwest::Url;
use reqwest::header::{ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};

use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Origin, Result};
use crate::model::{Header, Identify, MetadataFormat, Page, Record, Set, Verb};
use crate::{charset, parse, repair};

/// The default body limit: an answer larger than this, as sent or once
/// decompressed, decoded or repaired, is refused. Real OAI-PMH pages are
/// a few megabytes; a 2 GiB body or a gzip bomb must not take the machine
/// with it. (`ClientOptions::max_body` sets another.)
pub const MAX_BODY: u64 = 32 << 20;

/// The longest resumptionToken sent: a URL cannot carry much more (the
/// `http` crate refuses URIs of 64 KiB), and no repository needs it.
pub const MAX_TOKEN: usize = 16 << 10;

/// How long and how often to retry. Every bound is a hard stop: when it is
/// reached the last error is returned inside [`Error::RetriesExhausted`].
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// The most time spent waiting between attempts of one request.
    pub max_total_wait: Duration,
    /// The first backoff; it doubles on each retry, with ±25% jitter.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// `Retry-After` values above this are cut down to it.
    pub max_retry_after: Duration,
    /// The most time one request may take in all: every attempt and every
    /// wait between them. A body that trickles in is cut off by it.
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            max_total_wait: Duration::from_secs(30 * 60),
            initial_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(5 * 60),
            max_retry_after: Duration::from_secs(10 * 60),
            deadline: Duration::from_secs(15 * 60),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1`, before jitter.
    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(20);
        self.initial_backoff.saturating_mul(factor).min(self.max_backoff)
    }
}

/// Settings for a [`Client`].
#[derive(Clone)]
pub struct ClientOptions {
    pub user_agent: String,
    /// Per request, body included.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub retry: RetryPolicy,
    /// Refuse bodies that need character repair instead of repairing them.
    pub strict: bool,
    /// HTTP Basic credentials (user, password). They are never sent on to
    /// another scheme, host or port: such a redirect is not followed.
    pub basic_auth: Option<(String, String)>,
    /// The largest body accepted, as sent or once decompressed, decoded or
    /// repaired (see [`MAX_BODY`]).
    pub max_body: u64,
    pub clock: Arc<dyn Clock>,
    /// Politeness shared with other clients: requests in flight per host,
    /// and a host's `Retry-After` holding back every client of it. `None`:
    /// this client's own requests are its only limit (one at a time).
    pub hosts: Option<crate::hosts::Hosts>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            user_agent: format!("oai/{}", env!("CARGO_PKG_VERSION")),
            timeout: Duration::from_secs(180),
            connect_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            strict: false,
            basic_auth: None,
            max_body: MAX_BODY,
            clock: Arc::new(SystemClock),
            hosts: None,
        }
    }
}

/// The arguments of a list request: the first page, or a follow-up page
/// which carries only the token (the protocol makes it exclusive).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListArgs {
    Initial { metadata_prefix: String, set: Option<String>, from: Option<String>, until: Option<String> },
    Resume { token: String },
}

impl ListArgs {
    fn params(&self) -> Vec<(&'static str, &str)> {
        match self {
            ListArgs::Resume { token } => vec![("resumptionToken", token.as_str())],
            ListArgs::Initial { metadata_prefix, set, from, until } => {
                let mut p = vec![("metadataPrefix", metadata_prefix.as_str())];
                if let Some(s) = set {
                    p.push(("set", s));
                }
                if let Some(f) = from {
                    p.push(("from", f));
                }
                if let Some(u) = until {
                    p.push(("until", u));
                }
                p
            }
        }
    }

    fn token(&self) -> Option<String> {
        match self {
            ListArgs::Resume { token } => Some(token.clone()),
            ListArgs::Initial { .. } => None,
        }
    }
}

/// A parsed answer and what it cost.
#[derive(Clone, Debug)]
pub struct Fetched<T> {
    pub value: T,
    /// HTTP requests made for it, retries included.
    pub attempts: u32,
    /// Body bytes as they came over the wire (compressed, if they were).
    pub wire_bytes: u64,
    /// Character repairs applied to the body (see [`crate::repair`]).
    pub repairs: u64,
    /// The encoding the body was decoded from, when it was not UTF-8 (see [`crate::charset`]).
    pub transcoded: Option<&'static str>,
}

/// An OAI-PMH client for one repository.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    options: Arc<ClientOptions>,
    requests: Arc<AtomicU64>,
}

impl Client {
    pub fn new(base_url: &str, options: ClientOptions) -> Result<Client> {
        let base = Url::parse(base_url).map_err(|e| Error::BadUrl { url: base_url.to_string(), detail: e.to_string() })?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(Error::BadUrl { url: base_url.to_string(), detail: "the scheme must be http or https".into() });
        }
        // reqwest is built without a bundled crypto provider (see Cargo.toml);
        // it panics if none is installed when a client is built. A second
        // install fails harmlessly.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let build = || {
            let redirects = if options.basic_auth.is_some() { same_origin_redirects() } else { reqwest::redirect::Policy::limited(10) };
            reqwest::Client::builder()
                .timeout(options.timeout)
                .connect_timeout(options.connect_timeout)
                .redirect(redirects)
                .build()
                .map_err(|e| Error::BadUrl { url: base_url.to_string(), detail: e.to_string() })
        };
        // Clients that share their politeness share one HTTP client too:
        // one connection pool and one copy of the root certificates, not
        // one per repository (50 KB each, measured with heaptrack).
        let http = match &options.hosts {
            Some(hosts) => hosts.http_client((options.timeout, options.connect_timeout, options.basic_auth.is_some()), build)?,
            None => build()?,
        };
        Ok(Client { http, base, options: Arc::new(options), requests: Arc::new(AtomicU64::new(0)) })
    }

    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    /// Lets this repository's host have `n` requests in flight at once from
    /// now on, where clients share per-host limits ([`ClientOptions::hosts`];
    /// without them nothing limits a client but its callers).
    pub fn allow_in_flight(&self, n: usize) {
        if let Some(hosts) = &self.options.hosts {
            hosts.allow(&crate::hosts::host_key(&self.base), n);
        }
    }

    /// HTTP requests this client (and its clones) has made so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub async fn identify(&self) -> Result<Fetched<Identify>> {
        self.fetch(Verb::Identify, &[], None, parse::identify).await
    }

    pub async fn list_metadata_formats(&self, identifier: Option<&str>) -> Result<Fetched<Vec<MetadataFormat>>> {
        let params: Vec<(&str, &str)> = identifier.map(|i| ("identifier", i)).into_iter().collect();
        self.fetch(Verb::ListMetadataFormats, &params, None, parse::list_metadata_formats).await
    }

    pub async fn list_sets(&self, token: Option<&str>) -> Result<Fetched<Page<Set>>> {
        let params: Vec<(&str, &str)> = token.map(|t| ("resumptionToken", t)).into_iter().collect();
        self.fetch(Verb::ListSets, &params, token.map(str::to_string), parse::list_sets).await
    }

    pub async fn list_identifiers(&self, args: &ListArgs) -> Result<Fetched<Page<Header>>> {
        self.fetch(Verb::ListIdentifiers, &args.params(), args.token(), parse::list_identifiers).await
    }

    pub async fn list_records(&self, args: &ListArgs) -> Result<Fetched<Page<Record>>> {
        self.fetch(Verb::ListRecords, &args.params(), args.token(), parse::list_records).await
    }

    pub async fn get_record(&self, identifier: &str, metadata_prefix: &str) -> Result<Fetched<Record>> {
        let params = [("identifier", identifier), ("metadataPrefix", metadata_prefix)];
        self.fetch(Verb::GetRecord, &params, None, parse::get_record).await
    }

    /// The URL of a request; a follow-up carries only the verb and the token.
    pub fn url(&self, verb: Verb, params: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("verb", verb.as_str());
            for (k, v) in params {
                q.append_pair(k, v);
            }
        }
        url
    }

    /// Sends one `ListRecords` request and reads its body, without parsing
    /// it and without retrying. With [`Received::peek_token`] and
    /// [`Client::list_records_received`] a caller can ask for the next page
    /// while it parses this one; [`Client::list_records`] does both steps.
    ///
    /// The request is counted in [`Client::requests`] at once, and the
    /// future owns what it needs, so it can be spawned.
    pub fn receive_records(&self, args: &ListArgs) -> impl Future<Output = Result<Received>> + Send + 'static {
        let url = self.url(Verb::ListRecords, &args.params());
        let origin = Origin { url: url.to_string(), verb: Verb::ListRecords, token: args.token() };
        self.receive(url, origin, self.options.timeout)
    }

    /// Parses a page from [`Client::receive_records`], and if it failed in a
    /// way that waiting may cure, asks for it again under the retry policy,
    /// the received attempt counting as the first.
    pub async fn list_records_received(&self, args: &ListArgs, first: Result<Received>) -> Result<Fetched<Page<Record>>> {
        let url = self.url(Verb::ListRecords, &args.params());
        let origin = Origin { url: url.to_string(), verb: Verb::ListRecords, token: args.token() };
        self.retrying(url, origin, Some(first), parse::list_records).await
    }

    async fn fetch<T>(&self, verb: Verb, params: &[(&str, &str)], token: Option<String>, parse: fn(&str, &Origin, u16) -> Result<T>) -> Result<Fetched<T>> {
        let url = self.url(verb, params);
        let origin = Origin { url: url.to_string(), verb, token };
        self.retrying(url, origin, None, parse).await
    }

    /// Attempts until one succeeds, fails for good, or the policy's bounds
    /// are reached. `first` is an attempt already made.
    async fn retrying<T>(
        &self,
        url: Url,
        origin: Origin,
        mut first: Option<Result<Received>>,
        parse: fn(&str, &Origin, u16) -> Result<T>,
    ) -> Result<Fetched<T>> {
        let policy = &self.options.retry;
        let mut waited = Duration::ZERO;
        // Time in attempts is real time; time in waits is the clock's (a
        // test's clock records waits without taking them).
        let started = std::time::Instant::now();
        let spent = |waited: Duration| started.elapsed() + waited;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let received = match first.take() {
                Some(received) => received,
                None => {
                    let left = policy.deadline.saturating_sub(spent(waited));
                    self.receive(url.clone(), origin.clone(), self.options.timeout.min(left).max(Duration::from_millis(1))).await
                }
            };
            match received.and_then(|r| r.parse(&origin, parse, self.options.strict, self.options.max_body)) {
                Ok(Parsed { value, wire_bytes, repairs, transcoded }) => return Ok(Fetched { value, attempts: attempt, wire_bytes, repairs, transcoded }),
                Err(e) if e.is_retryable() => {
                    let wait = match &e {
                        Error::Status { retry_after: Some(d), .. } => (*d).min(policy.max_retry_after),
                        _ => jitter(policy.backoff(attempt)),
                    };
                    if attempt >= policy.max_attempts || waited + wait > policy.max_total_wait || spent(waited) + wait >= policy.deadline {
                        tracing::warn!(request = %origin.brief(), attempt, seconds = spent(waited).as_secs(), cause = %e.cause(), "giving up");
                        return Err(Error::RetriesExhausted { attempts: attempt, elapsed: spent(waited), last: Box::new(e) });
                    }
                    tracing::warn!(request = %origin.brief(), attempt, wait_ms = wait.as_millis() as u64, cause = %e.cause(), "retrying");
                    // The host asked to be left alone: by every client of it.
                    if let (Error::Status { retry_after: Some(_), .. }, Some(hosts)) = (&e, &self.options.hosts) {
                        hosts.pause(&crate::hosts::host_key(&url), wait, &*self.options.clock);
                    }
                    self.options.clock.sleep(wait).await;
                    waited += wait;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// One HTTP request: the body, decompressed, and what the response
    /// said about waiting. The request is counted when this is called, not
    /// when the future first runs, so that a caller that spawns it knows
    /// the count already includes it.
    fn receive(&self, url: Url, origin: Origin, timeout: Duration) -> impl Future<Output = Result<Received>> + Send + 'static {
        // A token too long to send is refused before anything is sent (or counted).
        let too_long = origin.token.as_ref().filter(|t| t.len() > MAX_TOKEN).map(|t| t.len());
        if too_long.is_none() {
            self.requests.fetch_add(1, Ordering::Relaxed);
        }
        let this = self.clone();
        async move {
            if let Some(len) = too_long {
                return Err(Error::TokenTooLong { len, max: MAX_TOKEN, origin });
            }
            // A slot on the host, held until the body is read.
            let _slot = match &this.options.hosts {
                Some(hosts) => Some(hosts.enter(&crate::hosts::host_key(&url), &*this.options.clock).await),
                None => None,
            };
            let http_err = |cause| Error::Http { origin: origin.clone(), cause };
            let limit = this.options.max_body;
            let too_large = |stage| Error::TooLarge { origin: origin.clone(), limit, stage };
            let mut request = this.http.get(url).timeout(timeout).header(USER_AGENT, &this.options.user_agent).header(ACCEPT_ENCODING, "gzip, deflate");
            if let Some((user, password)) = &this.options.basic_auth {
                request = request.basic_auth(user, Some(password));
            }
            let mut response = request.send().await.map_err(http_err)?;
            if response.content_length().is_some_and(|n| n > limit) {
                return Err(too_large("as announced by Content-Length"));
            }
            let status = response.status().as_u16();
            let retry_after = response.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(|v| parse_retry_after(v, this.options.clock.now()));
            let encoding = response.headers().get(CONTENT_ENCODING).and_then(|v| v.to_str().ok()).map(str::to_ascii_lowercase);
            let charset = response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).and_then(charset::charset_of);
            // Read in chunks, so that a body over the limit is dropped at
            // the limit, not after it has filled the memory.
            let mut wire: Vec<u8> = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(http_err)? {
                if (wire.len() + chunk.len()) as u64 > limit {
                    return Err(too_large("as sent"));
                }
                wire.extend_from_slice(&chunk);
            }
            let wire_bytes = wire.len() as u64;
            let body = match decode(encoding.as_deref(), &wire, limit) {
                Ok(Cow::Borrowed(_)) => wire,
                Ok(Cow::Owned(decoded)) => decoded,
                Err(Undecodable::TooLarge) => return Err(too_large("decompressed")),
                Err(Undecodable::Io(encoding, source)) => return Err(Error::Decompress { origin, encoding, source }),
            };
            Ok(Received { status, retry_after, body, wire_bytes, charset })
        }
    }
}

/// A response received and decompressed but not yet parsed.
#[derive(Debug)]
pub struct Received {
    status: u16,
    retry_after: Option<Duration>,
    body: Vec<u8>,
    wire_bytes: u64,
    /// The `charset` of the `Content-Type` header, if it had one.
    charset: Option<String>,
}

/// A parsed body, and what reading it took.
struct Parsed<T> {
    value: T,
    wire_bytes: u64,
    repairs: u64,
    transcoded: Option<&'static str>,
}

impl Received {
    /// The resumptionToken the body ends with, read without parsing the
    /// records; `None` when the body does not plainly end with one. A
    /// guess to request the next page early, never a substitute for the
    /// token of the parsed page (see [`parse::peek_token`]).
    pub fn peek_token(&self) -> Option<String> {
        parse::peek_token(&self.body)
    }

    /// Decodes a declared encoding, repairs and parses the body; neither
    /// step may grow it past `limit`.
    fn parse<T>(self, origin: &Origin, parse: fn(&str, &Origin, u16) -> Result<T>, strict: bool, limit: u64) -> Result<Parsed<T>> {
        let Received { status, retry_after, body, wire_bytes, charset } = self;
        let too_large = |stage| Error::TooLarge { origin: origin.clone(), limit, stage };
        let decoded = charset::decode(&body, charset.as_deref());
        if let Some(from) = decoded.from {
            tracing::info!(%origin, encoding = from, "decoded a body sent in another encoding than UTF-8");
        }
        if decoded.bytes.len() as u64 > limit {
            return Err(too_large("decoded to UTF-8"));
        }
        let repaired = repair::repair_within(&decoded.bytes, usize::try_from(limit).unwrap_or(usize::MAX)).map_err(|_| too_large("after character repair"))?;
        if strict && repaired.count > 0 {
            return Err(Error::InvalidCharacters { origin: origin.clone(), count: repaired.count, first_offset: repaired.first_offset.unwrap_or(0) });
        }
        if repaired.count > 0 {
            tracing::info!(%origin, repairs = repaired.count, "repaired invalid characters");
        }
        match parse(&repaired.text, origin, status) {
            Ok(value) => Ok(Parsed { value, wire_bytes, repairs: repaired.count, transcoded: decoded.from }),
            // Not OAI-PMH under an error status: report the status, which
            // says whether waiting may help (503, 429) or not (404, 413).
            Err(Error::NotOaiPmh { snippet, .. }) if !(200..300).contains(&status) => {
                Err(Error::Status { origin: origin.clone(), status, retry_after, snippet })
            }
            Err(e) => Err(e),
        }
    }
}

/// Reads `Retry-After`: delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
/// A date in the past means no wait.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Follows redirects within the origin the request went to (scheme, host
/// and port), at most ten; a redirect elsewhere is not followed, so that
/// credentials never go where they were not meant for.
pub fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same = attempt.previous().last().is_some_and(|from| from.origin() == attempt.url().origin());
        if attempt.previous().len() > 10 {
            attempt.error("too many redirects")
        } else if same {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
}

/// ±25%, so that many harvesters that failed together do not return together.
fn jitter(d: Duration) -> Duration {
    d.mul_f64(0.75 + fastrand::f64() * 0.5)
}

/// Why a body could not be decompressed.
#[derive(Debug)]
enum Undecodable {
    Io(&'static str, std::io::Error),
    /// It decompresses to more than the limit.
    TooLarge,
}

/// Decompresses by Content-Encoding, and by the gzip magic number when the
/// header is missing (some servers gzip without saying so), reading at
/// most `limit` bytes out.
fn decode<'b>(encoding: Option<&str>, body: &'b [u8], limit: u64) -> std::result::Result<Cow<'b, [u8]>, Undecodable> {
    let gzip_magic = body.starts_with(&[0x1f, 0x8b]);
    let read_all = |mut r: Box<dyn Read + '_>, name: &'static str| {
        let mut out = Vec::with_capacity((body.len() * 4).min(usize::try_from(limit).unwrap_or(usize::MAX)));
        r.by_ref().take(limit.saturating_add(1)).read_to_end(&mut out).map_err(|e| Undecodable::Io(name, e))?;
        if out.len() as u64 > limit {
            return Err(Undecodable::TooLarge);
        }
        Ok(Cow::Owned(out))
    };
    match encoding {
        Some(e) if e.contains("gzip") => read_all(Box::new(flate2::read::MultiGzDecoder::new(body)), "gzip"),
        _ if gzip_magic => read_all(Box::new(flate2::read::MultiGzDecoder::new(body)), "gzip"),
        // "deflate" should be zlib-wrapped, but some servers send raw deflate.
        Some(e) if e.contains("deflate") => read_all(Box::new(flate2::read::ZlibDecoder::new(body)), "deflate")
            .or_else(|_| read_all(Box::new(flate2::read::DeflateDecoder::new(body)), "deflate")),
        _ => Ok(Cow::Borrowed(body)),
    }
}

#[cfg(test)]
mod tests;
