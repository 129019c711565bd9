//! A fake wiki with MediaWiki's OAI extension (Special:OAIRepository), as
//! strict as the real one and true to what it was measured to do (see
//! tests/fixtures/mediawiki-oai): one `updates` row per page, replaced with
//! a new sequence number at each hooked event; the record datestamp is the
//! hook's time (a second after the revision here); a move without a
//! redirect leaves a phantom deleted record for page id 0; tokens are
//! `prefix:sequence[:until]` and the last page has no token element; errors
//! come with HTTP 200; `<siteinfo>` only in a response's first record; HTTP
//! Basic auth when asked for. The extension is packaged nowhere this project
//! can install from, so tests and the benchmark use this.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use sha1::Digest;

use crate::http::{RequestLog, lock, serve, xml_escape};

#[derive(Clone, Debug)]
struct Rev {
    id: u64,
    parent: u64,
    timestamp: DateTime<Utc>,
    user: String,
    comment: String,
    text: String,
}

#[derive(Clone, Debug)]
struct Page {
    title: String,
    ns: i64,
    deleted: bool,
    redirect: Option<String>,
    revs: Vec<Rev>,
}

/// The extension's `updates` row of a page.
#[derive(Clone, Debug)]
struct Update {
    timestamp: DateTime<Utc>,
    sequence: u64,
}

struct Wiki {
    pages: BTreeMap<u64, Page>,
    updates: HashMap<u64, Update>,
    next_page: u64,
    next_rev: u64,
    next_seq: u64,
    now: DateTime<Utc>,
    chunk: usize,
    auth: Option<(String, String)>,
    requests: RequestLog,
    /// Requests numbered here are never answered.
    hang: Vec<u64>,
}

/// A handle on the fake wiki; clones share it.
#[derive(Clone)]
pub struct FakeOaiWiki {
    wiki: Arc<Mutex<Wiki>>,
}

/// A page as the wiki itself sees it: (title, current revision, hex sha1).
pub type View = BTreeMap<u64, (String, u64, String)>;

impl FakeOaiWiki {
    /// A wiki with a Main Page, answering `chunk` records per response.
    pub fn new(chunk: usize) -> FakeOaiWiki {
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).single().expect("a valid time");
        let w = Wiki {
            pages: BTreeMap::new(),
            updates: HashMap::new(),
            next_page: 1,
            next_rev: 1,
            next_seq: 1,
            now,
            chunk,
            auth: None,
            requests: RequestLog::default(),
            hang: Vec::new(),
        };
        let fake = FakeOaiWiki { wiki: Arc::new(Mutex::new(w)) };
        fake.create("Main Page", "'''MediaWiki has been installed.'''");
        fake
    }

    fn w(&self) -> std::sync::MutexGuard<'_, Wiki> {
        lock(&self.wiki)
    }

    /// Requires HTTP Basic credentials (the extension's `$oaiAuth`).
    pub fn require_auth(&self, user: &str, password: &str) {
        self.w().auth = Some((user.to_string(), password.to_string()));
    }

    /// Request number `n` (1-based) is never answered.
    pub fn hang_on(&self, n: u64) {
        self.w().hang.push(n);
    }

    /// Answers every request again.
    pub fn clear_hangs(&self) {
        self.w().hang.clear();
    }

    pub fn requests(&self) -> u64 {
        self.w().requests.count()
    }

    pub fn log(&self) -> Vec<String> {
        self.w().requests.entries().to_vec()
    }

    /// Moves the clock on (each change also takes a second or two).
    pub fn advance(&self, by: TimeDelta) {
        self.w().now += by;
    }

    pub fn create(&self, title: &str, text: &str) -> u64 {
        let mut w = self.w();
        let id = w.next_page;
        w.next_page += 1;
        let ns = namespace_of(title);
        w.pages.insert(id, Page { title: title.to_string(), ns, deleted: false, redirect: None, revs: Vec::new() });
        w.revise(id, text, "create");
        id
    }

    pub fn edit(&self, id: u64, text: &str) {
        self.w().revise(id, text, "edit");
    }

    /// A move, with or without a redirect left behind. Returns the
    /// redirect's page id.
    pub fn move_page(&self, id: u64, to: &str, redirect: bool) -> Option<u64> {
        let (from, comment) = {
            let mut w = self.w();
            let from = w.pages[&id].title.clone();
            let comment = format!("Harvestbot moved page [[{from}]] to [[{to}]]");
            let page = w.pages.get_mut(&id).expect("a page");
            page.title = to.to_string();
            page.ns = namespace_of(to);
            (from, comment)
        };
        // The move's null revision: same text, new id.
        let text = self.w().pages[&id].revs.last().map(|r| r.text.clone()).unwrap_or_default();
        self.w().revise(id, &text, &comment);
        if redirect {
            let rid = self.create(&from, &format!("#REDIRECT [[{to}]]"));
            self.w().pages.get_mut(&rid).expect("just made").redirect = Some(to.to_string());
            Some(rid)
        } else {
            // The extension's hook writes a row for page id 0.
            self.w().touch(0);
            None
        }
    }

    pub fn delete(&self, id: u64) {
        let mut w = self.w();
        w.pages.get_mut(&id).expect("a page").deleted = true;
        w.touch(id);
    }

    pub fn undelete(&self, id: u64) {
        let mut w = self.w();
        w.pages.get_mut(&id).expect("a page").deleted = false;
        w.touch(id);
    }

    /// The live pages as the wiki sees them.
    pub fn view(&self) -> View {
        self.w()
            .pages
            .iter()
            .filter(|(_, p)| !p.deleted)
            .map(|(id, p)| {
                let r = p.revs.last().expect("a page has a revision");
                (*id, (p.title.clone(), r.id, sha1_hex(&r.text)))
            })
            .collect()
    }

    /// Serves on 127.0.0.1 on a free port in a background task; returns the URL.
    pub async fn spawn(&self) -> std::io::Result<String> {
        self.serve_on(0).await
    }

    pub async fn serve_on(&self, port: u16) -> std::io::Result<String> {
        let app = axum::Router::new().route("/wiki/Special:OAIRepository", axum::routing::any(handle)).with_state(self.clone());
        Ok(format!("http://{}/wiki/Special:OAIRepository", serve(app, port).await?))
    }
}

fn namespace_of(title: &str) -> i64 {
    match title.split_once(':').map(|(p, _)| p) {
        Some("Talk") => 1,
        Some("User") => 2,
        Some("Template") => 10,
        _ => 0,
    }
}

impl Wiki {
    fn tick(&mut self) -> DateTime<Utc> {
        self.now += TimeDelta::seconds(1);
        self.now
    }

    /// The extension's hook: REPLACE the page's row, a new sequence, the
    /// hook's time (after a revision, a second after it).
    fn touch(&mut self, id: u64) {
        let t = self.tick();
        let sequence = self.next_seq;
        self.next_seq += 1;
        self.updates.insert(id, Update { timestamp: t, sequence });
    }

    fn revise(&mut self, id: u64, text: &str, comment: &str) {
        let t = self.tick();
        let rid = self.next_rev;
        self.next_rev += 1;
        let page = self.pages.get_mut(&id).expect("a page");
        let parent = page.revs.last().map_or(0, |r| r.id);
        page.revs.push(Rev { id: rid, parent, timestamp: t, user: "Harvestbot".into(), comment: comment.into(), text: text.to_string() });
        self.touch(id);
    }

    fn identifier(&self, id: u64) -> String {
        format!("oai:127.0.0.1:wiki:{id}")
    }

    fn envelope(&self, request: &str, inner: &str) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<OAI-PMH xmlns=\"http://www.openarchives.org/OAI/2.0/\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\"http://www.openarchives.org/OAI/2.0/ http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd\">\n<responseDate>{}</responseDate>\n{request}\n{inner}\n</OAI-PMH>\n",
            fmt(self.now)
        )
    }

    fn error(&self, request: &str, code: &str, message: &str) -> String {
        self.envelope(request, &format!("<error code=\"{code}\">{message}</error>"))
    }

    fn answer(&self, args: &BTreeMap<String, String>) -> String {
        // The extension echoes every argument as an attribute of <request/>.
        let request = format!("<request{}/>", args.iter().map(|(k, v)| format!(" {}=\"{}\"", xml_escape(k), xml_escape(v))).collect::<String>());
        let verb = args.get("verb").map(String::as_str).unwrap_or("");
        match verb {
            "Identify" => self.envelope(
                &request,
                &format!(
                    "<Identify><repositoryName>Testwiki</repositoryName><baseURL>http://127.0.0.1/wiki/Special:OAIRepository</baseURL><protocolVersion>2.0</protocolVersion><adminEmail>brion@pobox.com</adminEmail><earliestDatestamp>{}</earliestDatestamp><deletedRecord>persistent</deletedRecord><granularity>YYYY-MM-DDThh:mm:ssZ</granularity><compression>gzip</compression></Identify>",
                    self.updates.values().map(|u| u.timestamp).min().map(fmt).unwrap_or_else(|| fmt(self.now))
                ),
            ),
            "ListMetadataFormats" => self.envelope(&request, "<ListMetadataFormats><metadataFormat><metadataPrefix>oai_dc</metadataPrefix><schema>http://www.openarchives.org/OAI/2.0/oai_dc.xsd</schema><metadataNamespace>http://www.openarchives.org/OAI/2.0/oai_dc/</metadataNamespace></metadataFormat><metadataFormat><metadataPrefix>mediawiki</metadataPrefix><schema>http://www.mediawiki.org/xml/export-0.3.xsd</schema><metadataNamespace>http://www.mediawiki.org/xml/export-0.3/</metadataNamespace></metadataFormat></ListMetadataFormats>"),
            "ListSets" => self.error(&request, "noSetHierarchy", "This repository does not support sets."),
            "ListRecords" | "ListIdentifiers" => self.list(&request, verb, args),
            "GetRecord" => {
                let prefix = args.get("metadataPrefix").map(String::as_str).unwrap_or("");
                if !matches!(prefix, "oai_dc" | "mediawiki") {
                    return self.error(&request, "cannotDisseminateFormat", "Requested unsupported metadata format.");
                }
                match args.get("identifier").and_then(|i| i.strip_prefix("oai:127.0.0.1:wiki:")).and_then(|i| i.parse::<u64>().ok()).filter(|id| *id > 0 && self.updates.contains_key(id)) {
                    Some(id) => self.envelope(&request, &format!("<GetRecord>{}</GetRecord>", self.record(id, prefix, true))),
                    None => self.error(&request, "idDoesNotExist", "Requested identifier is invalid or does not exist."),
                }
            }
            _ => self.error(&request, "badVerb", "Unrecognized or no verb provided."),
        }
    }

    fn list(&self, request: &str, verb: &str, args: &BTreeMap<String, String>) -> String {
        // With a token every other argument is ignored, even invalid ones.
        let (prefix, start_seq, from, until) = match args.get("resumptionToken") {
            Some(token) => {
                let parts: Vec<&str> = token.split(':').collect();
                let valid = matches!(parts.len(), 2 | 3)
                    && !parts[0].is_empty()
                    && parts[0].chars().all(|c| c.is_ascii_lowercase() || c == '_')
                    && parts[1].chars().all(|c| c.is_ascii_digit())
                    && !parts[1].is_empty()
                    && parts.get(2).is_none_or(|u| u.len() == 14 && u.chars().all(|c| c.is_ascii_digit()));
                if !valid || !matches!(parts[0], "oai_dc" | "mediawiki") {
                    return self.error(request, "badResumptionToken", "Invalid resumption token.");
                }
                let until = parts.get(2).and_then(|u| chrono::NaiveDateTime::parse_from_str(u, "%Y%m%d%H%M%S").ok()).map(|n| Utc.from_utc_datetime(&n));
                (parts[0].to_string(), parts[1].parse::<u64>().unwrap_or(0), None, until)
            }
            None => {
                let Some(prefix) = args.get("metadataPrefix") else {
                    return self.error(request, "badArgument", "Missing required argument 'metadataPrefix'.");
                };
                if !matches!(prefix.as_str(), "oai_dc" | "mediawiki") {
                    return self.error(request, "cannotDisseminateFormat", "Requested unsupported metadata format.");
                }
                if args.contains_key("set") {
                    return self.error(request, "noSetHierarchy", "This repository does not support sets.");
                }
                let bound = |name: &str| -> Result<Option<DateTime<Utc>>, String> {
                    match args.get(name) {
                        None => Ok(None),
                        Some(v) => parse_bound(v).map(Some).ok_or_else(|| self.error(request, "badArgument", &format!("Illegal timestamp format in '{name}'"))),
                    }
                };
                let from = match bound("from") {
                    Ok(f) => f,
                    Err(e) => return e,
                };
                let until = match bound("until") {
                    Ok(u) => u,
                    Err(e) => return e,
                };
                (prefix.clone(), 0, from, until)
            }
        };
        let mut rows: Vec<(u64, &Update)> = self
            .updates
            .iter()
            .filter(|(_, u)| u.sequence >= start_seq && from.is_none_or(|f| u.timestamp >= f) && until.is_none_or(|t| u.timestamp <= t))
            .map(|(id, u)| (*id, u))
            .collect();
        rows.sort_by_key(|(_, u)| (u.timestamp, u.sequence));
        if rows.is_empty() {
            return self.error(request, "noRecordsMatch", "No records available match the request.");
        }
        // chunk + 1 rows decide whether a token is needed.
        let more = rows.len() > self.chunk;
        let page = &rows[..rows.len().min(self.chunk)];
        let mut inner = format!("<{verb}>\n");
        for (i, (id, _)) in page.iter().enumerate() {
            if verb == "ListRecords" {
                inner.push_str(&self.record(*id, &prefix, i == 0));
            } else {
                inner.push_str(&self.header(*id));
            }
        }
        if more {
            let next = rows[self.chunk].1.sequence;
            let until_part = until.map(|u| format!(":{}", u.format("%Y%m%d%H%M%S"))).unwrap_or_default();
            inner.push_str(&format!("<resumptionToken>{prefix}:{next}{until_part}</resumptionToken>\n"));
        }
        inner.push_str(&format!("</{verb}>"));
        self.envelope(request, &inner)
    }

    fn live(&self, id: u64) -> Option<&Page> {
        self.pages.get(&id).filter(|p| !p.deleted)
    }

    fn header(&self, id: u64) -> String {
        let status = if self.live(id).is_none() { " status=\"deleted\"" } else { "" };
        format!(
            "<header{status}>\n  <identifier>{}</identifier>\n  <datestamp>{}</datestamp>\n</header>\n",
            self.identifier(id),
            fmt(self.updates[&id].timestamp)
        )
    }

    fn record(&self, id: u64, prefix: &str, first: bool) -> String {
        let header = self.header(id);
        let Some(p) = self.live(id) else {
            return format!("<record>\n{header}</record>\n");
        };
        let r = p.revs.last().expect("a page has a revision");
        let metadata = if prefix == "oai_dc" {
            format!(
                "<oai_dc:dc xmlns:oai_dc=\"http://www.openarchives.org/OAI/2.0/oai_dc/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><dc:title>{}</dc:title><dc:contributor>{}</dc:contributor><dc:date>{}</dc:date></oai_dc:dc>",
                xml_escape(&p.title),
                xml_escape(&r.user),
                fmt(self.updates[&id].timestamp)
            )
        } else {
            let siteinfo = if first {
                "\n  <siteinfo>\n    <sitename>Testwiki</sitename>\n    <dbname>wiki</dbname>\n    <generator>MediaWiki 1.39.17</generator>\n    <case>first-letter</case>\n    <namespaces>\n      <namespace key=\"0\" case=\"first-letter\" />\n      <namespace key=\"1\" case=\"first-letter\">Talk</namespace>\n    </namespaces>\n  </siteinfo>"
            } else {
                ""
            };
            let redirect = p.redirect.as_ref().map(|t| format!("\n    <redirect title=\"{}\" />", xml_escape(t))).unwrap_or_default();
            format!(
                "<mediawiki xmlns=\"http://www.mediawiki.org/xml/export-0.11/\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\"http://www.mediawiki.org/xml/export-0.11/ http://www.mediawiki.org/xml/export-0.11.xsd\" version=\"0.11\" xml:lang=\"en\">{siteinfo}\n  <page>\n    <title>{}</title>\n    <ns>{}</ns>\n    <id>{id}</id>{redirect}\n    <revision>\n      <id>{}</id>\n{}      <timestamp>{}</timestamp>\n      <contributor>\n        <username>{}</username>\n        <id>3</id>\n      </contributor>\n      <comment>{}</comment>\n      <origin>{}</origin>\n      <model>wikitext</model>\n      <format>text/x-wiki</format>\n      <text bytes=\"{}\" sha1=\"{}\" xml:space=\"preserve\">{}</text>\n      <sha1>{}</sha1>\n    </revision>\n  </page>\n</mediawiki>",
                xml_escape(&p.title),
                p.ns,
                r.id,
                if r.parent > 0 { format!("      <parentid>{}</parentid>\n", r.parent) } else { String::new() },
                fmt(r.timestamp),
                xml_escape(&r.user),
                xml_escape(&r.comment),
                r.id,
                r.text.len(),
                base36_sha1(&r.text),
                xml_escape(&r.text),
                base36_sha1(&r.text),
            )
        };
        format!("<record>\n{header}<metadata>\n{metadata}\n</metadata>\n</record>\n")
    }
}

fn fmt(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `YYYY-MM-DD` (00:00:00 of that day, also for `until`) or the full form.
fn parse_bound(s: &str) -> Option<DateTime<Utc>> {
    if s.len() == 10 {
        return chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|n| Utc.from_utc_datetime(&n));
    }
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%SZ").ok().map(|n| Utc.from_utc_datetime(&n))
}

/// SHA-1 in hex, as the action API writes it.
fn sha1_hex(text: &str) -> String {
    sha1::Sha1::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-1 in base 36, as MediaWiki writes it in exports.
fn base36_sha1(text: &str) -> String {
    let mut n: Vec<u8> = sha1::Sha1::digest(text.as_bytes()).to_vec();
    let mut digits = Vec::new();
    while n.iter().any(|b| *b != 0) {
        let mut rem = 0u32;
        for b in n.iter_mut() {
            let cur = (rem << 8) | u32::from(*b);
            *b = (cur / 36) as u8;
            rem = cur % 36;
        }
        digits.push(std::char::from_digit(rem, 36).expect("below 36"));
    }
    digits.iter().rev().collect()
}

async fn handle(State(fake): State<FakeOaiWiki>, method: Method, headers: HeaderMap, RawQuery(q): RawQuery, body: Bytes) -> Response {
    let raw = if method == Method::POST { String::from_utf8_lossy(&body).into_owned() } else { q.unwrap_or_default() };
    let args: BTreeMap<String, String> = url::form_urlencoded::parse(raw.as_bytes()).into_owned().collect();
    let (n, hang, answer) = {
        let mut w = fake.w();
        let n = w.requests.record(raw.clone());
        if let Some((user, password)) = &w.auth {
            let expected = format!("Basic {}", base64(&format!("{user}:{password}")));
            if headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
                return Response::builder()
                    .status(StatusCode::UNAUTHORIZED)
                    .header(header::WWW_AUTHENTICATE, "Basic realm=\"OAIRepository\"")
                    .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
                    .body(Body::from("<p>Sorry, this resource is presently restricted-access.</p>"))
                    .expect("a valid response");
            }
        }
        (n, w.hang.contains(&n), w.answer(&args))
    };
    if hang {
        tracing::debug!(request = n, "fake wiki hangs");
        std::future::pending::<()>().await;
    }
    Response::builder().status(StatusCode::OK).header(header::CONTENT_TYPE, "text/xml; charset=utf-8").body(Body::from(answer)).expect("a valid response")
}

pub(crate) fn base64(s: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16) | (u32::from(*c.get(1).unwrap_or(&0)) << 8) | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base36_matches_mediawiki_and_base64_matches_rfc4648() {
        // The empty text's SHA-1 as MediaWiki writes it.
        assert_eq!(base36_sha1(""), "phoiac9h4m842xq45sp7s6u21eteeq1");
        assert_eq!(base64("Aladdin:open sesame"), "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    }

    #[test]
    fn answers_look_like_the_extensions() {
        let fake = FakeOaiWiki::new(2);
        let a = fake.create("Alpha", "a");
        fake.create("Beta", "b");
        fake.move_page(a, "Alpha moved", false);
        let w = fake.w();
        let args = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>();
        let first = w.answer(&args(&[("verb", "ListRecords"), ("metadataPrefix", "mediawiki")]));
        assert_eq!(first.matches("<siteinfo>").count(), 1);
        assert!(first.contains("<resumptionToken>mediawiki:"), "{first}");
        let last = w.answer(&args(&[("verb", "ListIdentifiers"), ("resumptionToken", "mediawiki:4"), ("metadataPrefix", "bogus")]));
        assert!(last.contains("oai:127.0.0.1:wiki:0</identifier>") && last.contains("status=\"deleted\""), "{last}");
        assert!(!last.contains("resumptionToken>"), "the last page has no token element: {last}");
        let bad = w.answer(&args(&[("verb", "ListRecords"), ("resumptionToken", "garbage")]));
        assert!(bad.contains("badResumptionToken"));
        let day = w.answer(&args(&[("verb", "ListRecords"), ("metadataPrefix", "mediawiki"), ("from", "2026-13-01")]));
        assert!(day.contains("Illegal timestamp format in 'from'"));
        let none = w.answer(&args(&[("verb", "ListRecords"), ("metadataPrefix", "mediawiki"), ("from", "2099-01-01T00:00:00Z")]));
        assert!(none.contains("noRecordsMatch"));
    }
}
