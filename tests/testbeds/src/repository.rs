//! A generated OAI-PMH repository served over HTTP, with faults that can be
//! injected by request number. Used by the offline demo, the benchmark and
//! the tests; never by a harvest.
//!
//! It is at least as strict as a real data provider: a follow-up request
//! must carry only `verb` and `resumptionToken`, unknown or repeated
//! arguments are `badArgument`, `from`/`until` finer than its granularity
//! are refused, and an empty selection is `noRecordsMatch`.

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use oai::Granularity;

use crate::http::{RequestLog, lock, serve, xml_escape};

/// How the generated repository looks.
#[derive(Clone, Debug)]
pub struct RepoSpec {
    pub records: usize,
    pub page_size: usize,
    /// Every n-th record is deleted (0: none).
    pub deleted_every: usize,
    /// Records are in `set{i % sets}`; 0: no sets.
    pub sets: usize,
    pub granularity: Granularity,
    /// Seconds between generated datestamps.
    pub step_secs: i64,
    /// Answer with gzip when the client accepts it.
    pub gzip: bool,
    /// Time taken to answer each request (a slow repository).
    pub latency: std::time::Duration,
    /// The share of the records (0 to 1), in the middle of the list, whose
    /// datestamps all fall on one day, spread over its seconds: a
    /// repository after a migration.
    pub crowded_day: f64,
    /// A `from`+`until` request spanning less than this is answered
    /// HTTP 422, as some repositories refuse narrow ranges.
    pub narrowest_range: Option<TimeDelta>,
    /// HTTP Basic credentials every request must carry (401 without them).
    pub basic_auth: Option<(String, String)>,
    /// Answers as if `until` had not been given, as a broken provider does.
    pub ignores_until: bool,
}

impl Default for RepoSpec {
    fn default() -> Self {
        RepoSpec {
            records: 1000,
            page_size: 100,
            deleted_every: 50,
            sets: 4,
            granularity: Granularity::Seconds,
            step_secs: 3600,
            gzip: false,
            latency: std::time::Duration::ZERO,
            crowded_day: 0.0,
            narrowest_range: None,
            basic_auth: None,
            ignores_until: false,
        }
    }
}

/// A fault for one request.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// HTTP 503 with a Retry-After header, and an HTML body (as arXiv does).
    Unavailable(RetryAfter),
    /// HTTP 429 with a Retry-After header.
    TooMany(RetryAfter),
    /// HTTP 500 with a text body.
    ServerError,
    /// Half the body, then the connection is reset.
    ResetMidBody,
    /// HTTP 200 with the document cut in half.
    TruncatedXml,
    /// `badResumptionToken`, as when a token has expired.
    ExpiredToken,
    /// The page hands back the token that fetched it.
    RepeatToken,
    /// Gzip without a Content-Encoding header.
    GzipWithoutHeader,
    /// A vertical tab and a Latin-1 byte inside the first record.
    InvalidCharacters,
    /// An HTML page with HTTP 200.
    HtmlPage,
    /// The page's first record has an empty identifier, its second no datestamp.
    BadHeaders,
    /// The page's resumptionToken is a megabyte long.
    HugeToken,
    /// The page in ISO-8859-1, as its XML declaration says, with an accented
    /// letter in the first record's title.
    Latin1,
    /// Never answer.
    Hang,
}

#[derive(Clone, Debug, PartialEq)]
pub enum RetryAfter {
    Seconds(u64),
    Date(SystemTime),
}

#[derive(Clone, Debug)]
struct Item {
    identifier: String,
    datestamp: DateTime<Utc>,
    deleted: bool,
    set: Option<String>,
    version: u32,
}

struct Repo {
    spec: RepoSpec,
    /// Sorted by datestamp, then identifier.
    items: Vec<Item>,
    now: DateTime<Utc>,
    requests: RequestLog,
    faults: HashMap<u64, Fault>,
    /// What the repository says about its own clock and itself, wrongly
    /// if a test asks it to.
    misreports: Misreports,
}

/// A repository that misreports: a `responseDate` off by `response_date`,
/// an `earliestDatestamp` of its own, no `granularity` element.
#[derive(Clone, Debug, Default)]
struct Misreports {
    response_date: TimeDelta,
    earliest: Option<DateTime<Utc>>,
    no_granularity: bool,
}

/// A handle on a running (or runnable) test repository.
#[derive(Clone)]
pub struct Testbed {
    repo: Arc<Mutex<Repo>>,
    served: Arc<Mutex<Served>>,
}

/// When each request was being answered, and how many were at once.
#[derive(Default)]
struct Served {
    in_flight: usize,
    most_in_flight: usize,
    spans: Vec<(std::time::Instant, std::time::Instant)>,
}

const EPOCH_SECS: i64 = 978_307_200; // 2001-01-01T00:00:00Z

impl Testbed {
    pub fn new(spec: RepoSpec) -> Testbed {
        let epoch = Utc.timestamp_opt(EPOCH_SECS, 0).single().expect("a valid epoch");
        // Records before the crowded day, on it, and after it.
        let crowded = (spec.records as f64 * spec.crowded_day.clamp(0.0, 1.0)) as usize;
        let before = (spec.records - crowded) / 2;
        let at = |i: usize| -> i64 {
            let i = i as i64;
            let (before, crowded) = (before as i64, crowded as i64);
            if crowded == 0 || i < before {
                i * spec.step_secs
            } else if i < before + crowded {
                before * spec.step_secs + (i - before) * 86_400 / crowded
            } else {
                before * spec.step_secs + 86_400 + (i - before - crowded) * spec.step_secs
            }
        };
        let items = (0..spec.records)
            .map(|i| Item {
                identifier: format!("oai:testbed.example:{i:08}"),
                datestamp: truncate(epoch + TimeDelta::seconds(at(i)), spec.granularity),
                deleted: spec.deleted_every > 0 && i % spec.deleted_every == spec.deleted_every - 1,
                set: (spec.sets > 0).then(|| format!("set{}", i % spec.sets)),
                version: 1,
            })
            .collect();
        let now = epoch + TimeDelta::seconds(at(spec.records) + 3600);
        let repo = Repo { spec, items, now, requests: RequestLog::default(), faults: HashMap::new(), misreports: Misreports::default() };
        Testbed { repo: Arc::new(Mutex::new(repo)), served: Arc::default() }
    }

    /// The most requests this repository was answering at once.
    pub fn most_in_flight(&self) -> usize {
        lock(&self.served).most_in_flight
    }

    /// When each request was being answered (received, answered), in order.
    pub fn spans(&self) -> Vec<(std::time::Instant, std::time::Instant)> {
        lock(&self.served).spans.clone()
    }

    fn repo(&self) -> std::sync::MutexGuard<'_, Repo> {
        lock(&self.repo)
    }

    /// Binds 127.0.0.1 on a free port and serves in a background task.
    /// Returns the base URL.
    pub async fn spawn(&self) -> std::io::Result<String> {
        Ok(format!("http://{}/oai", serve(self.router(), 0).await?))
    }

    pub fn router(&self) -> axum::Router {
        axum::Router::new().route("/oai", axum::routing::get(handle)).with_state(self.clone())
    }

    /// Every `responseDate` is off by `by` from the repository's clock (the
    /// records' datestamps are not): a server whose clock is wrong.
    pub fn misreport_response_date(&self, by: TimeDelta) {
        self.repo().misreports.response_date = by;
    }

    /// Identify states this `earliestDatestamp` instead of the true one.
    pub fn misreport_earliest(&self, at: DateTime<Utc>) {
        self.repo().misreports.earliest = Some(at);
    }

    /// Identify leaves out its `granularity` element.
    pub fn omit_granularity(&self) {
        self.repo().misreports.no_granularity = true;
    }

    /// Injects a fault into request number `n` (1-based, over all requests).
    pub fn fault(&self, n: u64, fault: Fault) {
        self.repo().faults.insert(n, fault);
    }

    /// Requests answered so far.
    pub fn requests(&self) -> u64 {
        self.repo().requests.count()
    }

    /// The query strings of all requests, in order.
    pub fn log(&self) -> Vec<String> {
        self.repo().requests.entries().to_vec()
    }

    /// The server's clock (responseDate), moved forward.
    pub fn advance(&self, by: TimeDelta) {
        self.repo().now += by;
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.repo().now
    }

    /// Modifies records (new version, datestamp = now), as an edit would.
    pub fn touch(&self, indices: &[usize]) {
        let mut r = self.repo();
        let now = truncate(r.now, r.spec.granularity);
        let ids: Vec<String> = indices.iter().map(|i| format!("oai:testbed.example:{i:08}")).collect();
        for item in r.items.iter_mut().filter(|it| ids.contains(&it.identifier)) {
            item.datestamp = now;
            item.version += 1;
        }
        r.items.sort_by(|a, b| (a.datestamp, &a.identifier).cmp(&(b.datestamp, &b.identifier)));
    }

    /// Deletes a record (it stays as a deleted header, datestamp = now).
    pub fn delete(&self, index: usize) {
        self.touch(&[index]);
        let id = format!("oai:testbed.example:{index:08}");
        if let Some(item) = self.repo().items.iter_mut().find(|it| it.identifier == id) {
            item.deleted = true;
        }
    }

    /// Removes a record without a trace, as a repository that does not
    /// report deletions (`deletedRecord` `no`) does.
    pub fn remove(&self, index: usize) {
        let id = format!("oai:testbed.example:{index:08}");
        self.repo().items.retain(|it| it.identifier != id);
    }

    /// The tokens of every page of a full ListRecords, in order, for
    /// fetching the same pages with another client.
    pub fn full_list_urls(&self, base: &str) -> Vec<String> {
        let r = self.repo();
        let mut urls = vec![format!("{base}?verb=ListRecords&metadataPrefix=oai_dc")];
        let mut offset = r.spec.page_size;
        while offset < r.items.len() {
            let token = Token { offset, from: None, until: None, set: None }.encode();
            urls.push(format!("{base}?verb=ListRecords&resumptionToken={}", encode_component(&token)));
            offset += r.spec.page_size;
        }
        urls
    }
}

fn truncate(t: DateTime<Utc>, g: Granularity) -> DateTime<Utc> {
    match g {
        Granularity::Day => Utc.from_utc_datetime(&t.date_naive().and_hms_opt(0, 0, 0).expect("midnight exists")),
        Granularity::Seconds => t,
    }
}

/// The state a token carries. Deliberately full of characters that must be
/// URL-encoded (`&`, `=`, `+`, `/`, `:`).
#[derive(Debug, PartialEq)]
struct Token {
    offset: usize,
    from: Option<String>,
    until: Option<String>,
    set: Option<String>,
}

impl Token {
    fn encode(&self) -> String {
        format!(
            "o={}&f={}&u={}&s={}+/",
            self.offset,
            self.from.as_deref().unwrap_or(""),
            self.until.as_deref().unwrap_or(""),
            self.set.as_deref().unwrap_or("")
        )
    }

    fn decode(s: &str) -> Option<Token> {
        let s = s.strip_suffix("+/")?;
        let mut parts = s.split('&');
        let mut field = |name: &str| parts.next()?.strip_prefix(name).map(str::to_string);
        let offset = field("o=")?.parse().ok()?;
        let opt = |v: String| (!v.is_empty()).then_some(v);
        Some(Token { offset, from: opt(field("f=")?), until: opt(field("u=")?), set: opt(field("s=")?) })
    }
}

fn encode_component(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn decode_component(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

async fn handle(State(bed): State<Testbed>, RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    let received = std::time::Instant::now();
    {
        let mut s = lock(&bed.served);
        s.in_flight += 1;
        s.most_in_flight = s.most_in_flight.max(s.in_flight);
    }
    let latency = bed.repo().spec.latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let response = answer(&bed, query, headers).await;
    let mut s = lock(&bed.served);
    s.in_flight -= 1;
    s.spans.push((received, std::time::Instant::now()));
    response
}

async fn answer(bed: &Testbed, query: Option<String>, headers: HeaderMap) -> Response {
    let query = query.unwrap_or_default();
    let (n, fault, spec_gzip, response) = {
        let mut r = bed.repo();
        let n = r.requests.record(query.clone());
        if let Some((user, password)) = &r.spec.basic_auth {
            let expected = format!("Basic {}", crate::oai_wiki::base64(&format!("{user}:{password}")));
            if headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
                return Response::builder()
                    .status(StatusCode::UNAUTHORIZED)
                    .header(header::WWW_AUTHENTICATE, "Basic realm=\"oai\"")
                    .body(Body::from("credentials needed"))
                    .expect("a valid response");
            }
        }
        if r.too_narrow(&query) {
            tracing::debug!(request = n, %query, "testbed refuses a narrow range");
            return Response::builder()
                .status(StatusCode::UNPROCESSABLE_ENTITY)
                .body(Body::from("the range from..until is too narrow for this repository"))
                .expect("a valid response");
        }
        let fault = r.faults.remove(&n);
        let response = r.answer(&query, fault.as_ref());
        (n, fault, r.spec.gzip, response)
    };
    tracing::debug!(request = n, %query, ?fault, "testbed request");
    let accepts_gzip = headers.get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("gzip"));
    let xml = |status: StatusCode, body: Vec<u8>| -> Response {
        let mut b = Response::builder().status(status).header(header::CONTENT_TYPE, "text/xml; charset=utf-8");
        let body = if spec_gzip && accepts_gzip {
            b = b.header(header::CONTENT_ENCODING, "gzip");
            gzip(&body)
        } else {
            body
        };
        b.body(Body::from(body)).expect("a valid response")
    };
    let retry_after = |ra: &RetryAfter| match ra {
        RetryAfter::Seconds(s) => HeaderValue::from_str(&s.to_string()).expect("digits"),
        RetryAfter::Date(t) => HeaderValue::from_str(&httpdate_fmt(*t)).expect("an HTTP date"),
    };
    match fault {
        None
        | Some(Fault::ExpiredToken)
        | Some(Fault::RepeatToken)
        | Some(Fault::InvalidCharacters)
        | Some(Fault::BadHeaders)
        | Some(Fault::Latin1)
        | Some(Fault::HugeToken) => xml(StatusCode::OK, response),
        Some(Fault::Unavailable(ra)) => Response::builder()
            .status(StatusCode::SERVICE_UNAVAILABLE)
            .header(header::RETRY_AFTER, retry_after(&ra))
            .header(header::CONTENT_TYPE, "text/html")
            .body(Body::from("<html><body>\n<h1>Retry after a while</h1>\n</body></html>\n"))
            .expect("a valid response"),
        Some(Fault::TooMany(ra)) => Response::builder()
            .status(StatusCode::TOO_MANY_REQUESTS)
            .header(header::RETRY_AFTER, retry_after(&ra))
            .body(Body::from("slow down"))
            .expect("a valid response"),
        Some(Fault::ServerError) => {
            Response::builder().status(StatusCode::INTERNAL_SERVER_ERROR).body(Body::from("Internal Server Error")).expect("a valid response")
        }
        Some(Fault::ResetMidBody) => {
            let half = Bytes::from(response[..response.len() / 2].to_vec());
            let chunks: Vec<Result<Bytes, std::io::Error>> = vec![Ok(half), Err(std::io::Error::other("reset by the testbed"))];
            Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_LENGTH, response.len())
                .body(Body::from_stream(futures_util::stream::iter(chunks)))
                .expect("a valid response")
        }
        Some(Fault::TruncatedXml) => {
            let cut = response.len() / 2;
            Response::builder().status(StatusCode::OK).body(Body::from(response[..cut].to_vec())).expect("a valid response")
        }
        Some(Fault::GzipWithoutHeader) => Response::builder().status(StatusCode::OK).body(Body::from(gzip(&response))).expect("a valid response"),
        Some(Fault::HtmlPage) => Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "text/html")
            .body(Body::from("<!DOCTYPE html><html><head><title>Welcome</title></head><body>Repository maintenance</body></html>"))
            .expect("a valid response"),
        Some(Fault::Hang) => std::future::pending().await,
    }
}

fn gzip(body: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(body).expect("writing to memory");
    enc.finish().expect("writing to memory")
}

fn httpdate_fmt(t: SystemTime) -> String {
    let dt: DateTime<Utc> = t.into();
    dt.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

impl Repo {
    fn fmt(&self, t: DateTime<Utc>) -> String {
        self.spec.granularity.format(t)
    }

    /// The whole response body for a query.
    /// Whether the request names a `from`..`until` range narrower than the
    /// repository takes.
    fn too_narrow(&self, query: &str) -> bool {
        let Some(narrowest) = self.spec.narrowest_range else { return false };
        let arg = |name: &str| {
            query
                .split('&')
                .find_map(|p| p.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
                .and_then(decode_component)
                .and_then(|v| oai::parse_datestamp(&v))
        };
        matches!((arg("from"), arg("until")), (Some(from), Some(until)) if until - from < narrowest)
    }

    fn answer(&self, query: &str, fault: Option<&Fault>) -> Vec<u8> {
        let mut args: BTreeMap<String, String> = BTreeMap::new();
        let mut repeated = false;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let (Some(k), Some(v)) = (decode_component(k), decode_component(v)) else {
                return self.error("", "badArgument", "undecodable argument");
            };
            repeated |= args.insert(k, v).is_some();
        }
        let verb = args.remove("verb").unwrap_or_default();
        if repeated {
            return self.error(&verb, "badArgument", "repeated argument");
        }
        match verb.as_str() {
            "Identify" if args.is_empty() => self.identify(),
            "ListMetadataFormats" => self.envelope(&verb, "<ListMetadataFormats><metadataFormat><metadataPrefix>oai_dc</metadataPrefix><schema>http://www.openarchives.org/OAI/2.0/oai_dc.xsd</schema><metadataNamespace>http://www.openarchives.org/OAI/2.0/oai_dc/</metadataNamespace></metadataFormat></ListMetadataFormats>"),
            "ListRecords" | "ListIdentifiers" => self.list(&verb, args, fault),
            "ListSets" if self.spec.sets == 0 => self.error(&verb, "noSetHierarchy", "this repository has no sets"),
            "ListSets" => {
                let sets: String = (0..self.spec.sets).map(|i| format!("<set><setSpec>set{i}</setSpec><setName>Set number {i}</setName></set>")).collect();
                self.envelope(&verb, &format!("<ListSets>{sets}</ListSets>"))
            }
            "Identify" => self.error(&verb, "badArgument", "Identify takes no arguments"),
            "" => self.error("", "badVerb", "no verb"),
            other => self.error(other, "badVerb", "unknown or unsupported verb"),
        }
    }

    fn envelope(&self, verb: &str, inner: &str) -> Vec<u8> {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<OAI-PMH xmlns=\"http://www.openarchives.org/OAI/2.0/\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n<responseDate>{}</responseDate>\n<request verb=\"{}\">http://testbed.example/oai</request>\n{inner}\n</OAI-PMH>\n",
            (self.now + self.misreports.response_date).format("%Y-%m-%dT%H:%M:%SZ"),
            xml_escape(verb)
        )
        .into_bytes()
    }

    fn error(&self, verb: &str, code: &str, message: &str) -> Vec<u8> {
        self.envelope(verb, &format!("<error code=\"{code}\">{}</error>", xml_escape(message)))
    }

    fn identify(&self) -> Vec<u8> {
        let earliest = self.misreports.earliest.unwrap_or_else(|| self.items.iter().map(|i| i.datestamp).min().unwrap_or(self.now));
        let granularity = if self.misreports.no_granularity { String::new() } else { format!("<granularity>{}</granularity>", self.spec.granularity.as_str()) };
        self.envelope(
            "Identify",
            &format!(
                "<Identify><repositoryName>oai-mirror testbed ({} records)</repositoryName><baseURL>http://testbed.example/oai</baseURL><protocolVersion>2.0</protocolVersion><adminEmail>admin@testbed.example</adminEmail><earliestDatestamp>{}</earliestDatestamp><deletedRecord>persistent</deletedRecord>{granularity}{}</Identify>",
                self.items.len(),
                self.fmt(earliest),
                if self.spec.gzip { "<compression>gzip</compression>" } else { "" }
            ),
        )
    }

    /// Parses a `from`/`until` argument, refusing a finer granularity than ours.
    fn bound(&self, s: &str, end_of_day: bool) -> Result<DateTime<Utc>, String> {
        let is_day = s.len() == 10;
        if !is_day && self.spec.granularity == Granularity::Day {
            return Err(format!("{s} is finer than this repository's day granularity"));
        }
        let t = oai::parse_datestamp(s).ok_or_else(|| format!("{s} is not a datestamp"))?;
        // `until=YYYY-MM-DD` includes the whole day.
        Ok(if is_day && end_of_day { t + TimeDelta::seconds(86_399) } else { t })
    }

    fn list(&self, verb: &str, mut args: BTreeMap<String, String>, fault: Option<&Fault>) -> Vec<u8> {
        let token = match args.remove("resumptionToken") {
            Some(t) => {
                if !args.is_empty() {
                    return self.error(verb, "badArgument", "resumptionToken is an exclusive argument");
                }
                if fault == Some(&Fault::ExpiredToken) {
                    return self.error(verb, "badResumptionToken", "the token has expired");
                }
                match Token::decode(&t) {
                    Some(t) => t,
                    None => return self.error(verb, "badResumptionToken", "unknown token"),
                }
            }
            None => {
                match args.remove("metadataPrefix").as_deref() {
                    Some("oai_dc") => {}
                    Some(_) => return self.error(verb, "cannotDisseminateFormat", "only oai_dc"),
                    None => return self.error(verb, "badArgument", "metadataPrefix is required"),
                }
                let t = Token { offset: 0, from: args.remove("from"), until: args.remove("until"), set: args.remove("set") };
                if let Some(k) = args.keys().next() {
                    return self.error(verb, "badArgument", &format!("unknown argument {k}"));
                }
                if self.spec.sets == 0 && t.set.is_some() {
                    return self.error(verb, "noSetHierarchy", "no sets here");
                }
                t
            }
        };
        let from = match token.from.as_deref().map(|f| self.bound(f, false)).transpose() {
            Ok(v) => v,
            Err(m) => return self.error(verb, "badArgument", &m),
        };
        let until = match token.until.as_deref().map(|u| self.bound(u, true)).transpose() {
            Ok(v) => v,
            Err(m) => return self.error(verb, "badArgument", &m),
        };
        let lo = from.map_or(0, |f| self.items.partition_point(|i| i.datestamp < f));
        let hi = until.filter(|_| !self.spec.ignores_until).map_or(self.items.len(), |u| self.items.partition_point(|i| i.datestamp <= u));
        // Without a set, a page is a slice of the items: serving it costs
        // nothing in proportion to the size of the repository (the
        // benchmark serves up to 1M records).
        let in_range = &self.items[lo..hi.max(lo)];
        let in_set = |i: &&Item| i.set == token.set;
        let selected = match token.set {
            None => in_range.len(),
            Some(_) => in_range.iter().filter(in_set).count(),
        };
        if selected == 0 {
            return self.error(verb, "noRecordsMatch", "");
        }
        let end = (token.offset + self.spec.page_size).min(selected);
        let start = token.offset.min(end);
        let page: Vec<&Item> = match token.set {
            None => in_range[start..end].iter().collect(),
            Some(_) => in_range.iter().filter(in_set).skip(start).take(end - start).collect(),
        };
        let mut inner = String::with_capacity(1200 * self.spec.page_size);
        inner.push_str(&format!("<{verb}>\n"));
        for item in page {
            self.render(&mut inner, item, verb == "ListRecords");
        }
        let next = if end < selected {
            if fault == Some(&Fault::RepeatToken) && token.offset > 0 { token.encode() } else { Token { offset: end, ..token_clone(&token) }.encode() }
        } else {
            String::new()
        };
        inner.push_str(&format!(
            "<resumptionToken completeListSize=\"{}\" cursor=\"{}\">{}</resumptionToken>\n</{verb}>",
            selected,
            token.offset,
            if fault == Some(&Fault::HugeToken) { "t".repeat(1 << 20) } else { xml_escape(&next) }
        ));
        let mut body = self.envelope(verb, &inner);
        if fault == Some(&Fault::BadHeaders) {
            let text = String::from_utf8(body).expect("the envelope is UTF-8");
            let first = text.find("<identifier>").map(|at| at + "<identifier>".len());
            let mut text = match first.zip(text.find("</identifier>")) {
                Some((from, to)) => format!("{}{}", &text[..from], &text[to..]),
                None => text,
            };
            let datestamps: Vec<usize> = text.match_indices("<datestamp>").map(|(at, _)| at).collect();
            if let Some(&at) = datestamps.get(1)
                && let Some(len) = text[at..].find("</datestamp>")
            {
                text.replace_range(at..at + len + "</datestamp>".len(), "");
            }
            body = text.into_bytes();
        }
        if fault == Some(&Fault::Latin1) {
            let text = String::from_utf8(body).expect("the envelope is UTF-8");
            let text = text.replacen("encoding=\"UTF-8\"", "encoding=\"ISO-8859-1\"", 1).replacen("<dc:title>", "<dc:title>Caf\u{e9} ", 1);
            // Every character here is in Latin-1: one byte each.
            body = text.chars().map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')).collect();
        }
        if fault == Some(&Fault::InvalidCharacters) {
            // A vertical tab and a lone Latin-1 byte, as broken providers send.
            if let Some(at) = body.windows(9).position(|w| w == b"<dc:title") {
                body.splice(at + 10..at + 10, [0x0B, b'c', b'a', b'f', 0xE9]);
            }
        }
        body
    }

    fn render(&self, out: &mut String, item: &Item, with_metadata: bool) {
        let sets = item.set.as_ref().map(|s| format!("<setSpec>{s}</setSpec>")).unwrap_or_default();
        let status = if item.deleted { " status=\"deleted\"" } else { "" };
        let header = format!("<header{status}><identifier>{}</identifier><datestamp>{}</datestamp>{sets}</header>", item.identifier, self.fmt(item.datestamp));
        if !with_metadata {
            out.push_str(&header);
            out.push('\n');
            return;
        }
        out.push_str("<record>");
        out.push_str(&header);
        if !item.deleted {
            let n = &item.identifier[item.identifier.len() - 8..];
            out.push_str(&format!(
                "<metadata><oai_dc:dc xmlns:oai_dc=\"http://www.openarchives.org/OAI/2.0/oai_dc/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xsi:schemaLocation=\"http://www.openarchives.org/OAI/2.0/oai_dc/ http://www.openarchives.org/OAI/2.0/oai_dc.xsd\">\
<dc:title>Record {n} &amp; its &lt;version&gt; {v}: Zürich, Ålesund, 東京</dc:title>\
<dc:creator>Author {a}, A.</dc:creator><dc:creator>Écrivain {b}</dc:creator>\
<dc:subject>harvesting</dc:subject><dc:subject>metadata</dc:subject>\
<dc:description>{abstract_} Version {v}.</dc:description>\
<dc:publisher>oai-mirror testbed</dc:publisher><dc:date>{d}</dc:date><dc:type>Text</dc:type>\
<dc:identifier>http://testbed.example/record/{n}</dc:identifier><dc:language>en</dc:language><dc:rights>CC-BY 4.0</dc:rights>\
</oai_dc:dc></metadata>",
                v = item.version,
                a = n.parse::<u64>().unwrap_or(0) % 997,
                b = n.parse::<u64>().unwrap_or(0) % 101,
                d = item.datestamp.format("%Y-%m-%d"),
                abstract_ = abstract_text(n.parse::<u64>().unwrap_or(0) * 31 + item.version as u64),
            ));
        }
        out.push_str("</record>\n");
    }
}

/// Words for the generated abstracts.
const WORDS: &[&str] = &[
    "harvest",
    "record",
    "metadata",
    "archive",
    "repository",
    "protocol",
    "token",
    "resumption",
    "datestamp",
    "granularity",
    "deleted",
    "set",
    "identifier",
    "schema",
    "namespace",
    "library",
    "catalogue",
    "journal",
    "article",
    "thesis",
    "dataset",
    "software",
    "survey",
    "method",
    "result",
    "analysis",
    "model",
    "theory",
    "evidence",
    "sample",
    "measurement",
    "observation",
    "experiment",
    "review",
    "history",
    "language",
    "network",
    "system",
    "structure",
    "function",
    "energy",
    "climate",
    "ocean",
    "river",
    "forest",
    "city",
    "school",
    "health",
    "economy",
    "policy",
    "quantum",
    "protein",
    "galaxy",
    "particle",
    "algorithm",
    "graph",
    "matrix",
    "sequence",
    "signal",
    "image",
    "we",
    "show",
    "that",
    "the",
    "a",
    "of",
    "in",
    "on",
    "with",
    "for",
    "and",
    "is",
    "are",
    "by",
    "from",
    "new",
    "large",
    "small",
];

/// An abstract of some 60 words chosen from `seed`: text that varies
/// from record to record as real abstracts do, so that a compressor or a
/// parser is not measured on records that are nearly all the same.
fn abstract_text(seed: u64) -> String {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut out = String::with_capacity(480);
    for i in 0..60 {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        if i > 0 {
            out.push(' ');
        }
        out.push_str(WORDS[(state >> 33) as usize % WORDS.len()]);
    }
    out.push('.');
    out
}

fn token_clone(t: &Token) -> Token {
    Token { offset: t.offset, from: t.from.clone(), until: t.until.clone(), set: t.set.clone() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_need_encoding() {
        let t = Token { offset: 300, from: Some("2001-01-01".into()), until: None, set: Some("set1".into()) };
        let s = t.encode();
        assert!(s.contains('&') && s.contains('+') && s.contains('/'));
        assert_eq!(Token::decode(&s), Some(t));
        assert_eq!(decode_component(&encode_component(&s)).as_deref(), Some(s.as_str()));
    }

    #[test]
    fn a_follow_up_with_other_arguments_is_refused() {
        let bed = Testbed::new(RepoSpec::default());
        let token = encode_component(&Token { offset: 100, from: None, until: None, set: None }.encode());
        let body = String::from_utf8(bed.repo().answer(&format!("verb=ListRecords&metadataPrefix=oai_dc&resumptionToken={token}"), None)).unwrap();
        assert!(body.contains("code=\"badArgument\""), "{body}");
        let body = String::from_utf8(bed.repo().answer(&format!("verb=ListRecords&resumptionToken={token}"), None)).unwrap();
        assert!(body.contains("<record>"), "{body}");
    }

    #[test]
    fn day_granularity_refuses_seconds_and_includes_the_whole_until_day() {
        let bed = Testbed::new(RepoSpec { records: 48, granularity: Granularity::Day, ..Default::default() });
        let body = String::from_utf8(bed.repo().answer("verb=ListIdentifiers&metadataPrefix=oai_dc&from=2001-01-01T00:00:00Z", None)).unwrap();
        assert!(body.contains("badArgument"), "{body}");
        let body = String::from_utf8(bed.repo().answer("verb=ListIdentifiers&metadataPrefix=oai_dc&until=2001-01-01", None)).unwrap();
        assert_eq!(body.matches("<header").count(), 24, "{body}");
    }
}
