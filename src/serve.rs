//! Serving the store over OAI-PMH 2.0: each harvested repository again,
//! at `/oai/NAME`, so that mirrors can be harvested in turn.
//!
//! * `request`: a request's arguments checked as the protocol says (pure).
//! * `token`: stateless resumption tokens (pure).
//! * `render`: the response documents (pure).
//! * `notify`: telling the mirrors below this one that it changed.
//! * `guard`: connections bounded in number and closed when idle.
//! * `wiki`: a mirrored wiki served as MediaWiki's OAI extension serves one
//!   (`/oai/wiki/NAME`, formats `mediawiki` and `oai_dc`).
//! * here: which repositories are served, the answer to each request from
//!   the store (`answer`, tested with an in-memory store), and the HTTP
//!   edge (`router`): GET and POST, gzip or deflate when asked, a bound on
//!   requests at once, reads on their own read-only connections and off the
//!   async workers, so that serving and harvesting never wait for each other.
//!
//! What a served record is (the aggregator guidelines): the metadata byte
//! for byte as harvested, under the origin's identifier when that is in a
//! URI scheme (`oai:…`), else under one of this repository's own namespace;
//! its datestamp is when this store stored that version, never the
//! origin's, so that a downstream `from` never misses a version stored late;
//! the origin's identifier, datestamp, base URL and metadata namespace are
//! in its `<about>` provenance. Deletions are persistent.

pub mod guard;
pub mod http;
pub mod notify;
pub mod render;
pub mod request;
pub mod spool;
pub mod token;
pub mod wiki;

use std::collections::{BTreeMap, HashMap};

use checkpoints::{OriginFormat, Source, Store};

pub use self::http::Server;
use self::render::{Envelope, Header, Identity, Origin};
use self::request::{List, OaiError, Request};
use self::spool::Spool;
use self::token::Token;
use crate::settings::Settings;

/// Records per page of ListRecords and ListIdentifiers, at most.
pub const PAGE: usize = 100;

/// A page of a list ends once its answer holds this many bytes (its last
/// record may take it past).
pub const PAGE_BYTES: usize = 1 << 20;

/// Records read from the store at a time while a page is written.
const READ_AHEAD: usize = 10;

/// A served repository: the store's sources of one origin base URL.
#[derive(Clone, Debug)]
pub struct Repository {
    /// Its path segment: `/oai/NAME`.
    pub name: String,
    /// The origin's base URL.
    pub origin: String,
    pub sources: Vec<Source>,
}

/// The repositories the store serves, each under the name the store gave
/// its base URL (see [`name_repositories`]): a served path never moves
/// under its harvesters when the config changes. A base URL not named yet
/// (a store no writer has named since it was upgraded) is shown under the
/// name it would be given.
pub fn repositories(settings: &Settings, sources: Vec<Source>, names: &HashMap<String, String>) -> Vec<Repository> {
    let mut by_url: BTreeMap<String, Vec<Source>> = BTreeMap::new();
    for s in sources {
        by_url.entry(s.key.base_url.clone()).or_default().push(s);
    }
    let mut taken: std::collections::HashSet<String> = names.values().cloned().collect();
    let mut unnamed: Vec<&String> = by_url.keys().filter(|u| !names.contains_key(*u)).collect();
    unnamed.sort_by_key(|u| std::cmp::Reverse(wanted_names(settings, u).len()));
    let mut given: HashMap<String, String> = HashMap::new();
    for origin in unnamed {
        let name = checkpoints::pick_served_name(&wanted_names(settings, origin), |n| Ok::<_, std::convert::Infallible>(taken.contains(n)))
            .unwrap_or_else(|never| match never {});
        taken.insert(name.clone());
        given.insert(origin.clone(), name);
    }
    by_url
        .into_iter()
        .map(|(origin, sources)| {
            let name = names.get(&origin).or_else(|| given.get(&origin)).cloned().unwrap_or_default();
            Repository { name, origin, sources }
        })
        .collect()
}

/// The names a base URL asks for, best first: what the config calls a
/// source of it (the first by name), then its host and path
/// (`export.arxiv.org-oai2`). A name taken already gets `-2`, `-3` …
pub fn wanted_names(settings: &Settings, base_url: &str) -> Vec<String> {
    let mut wanted: Vec<String> = settings.source.iter().filter(|(_, s)| s.url == base_url).map(|(name, _)| name.clone()).take(1).collect();
    wanted.push(slug(base_url));
    wanted
}

/// Gives every served base URL that has none its name, kept from then on
/// (done when serving starts and after each harvest).
pub fn name_repositories(settings: &Settings, store: &mut Store) -> anyhow::Result<()> {
    let names = store.served_names()?;
    let urls: std::collections::BTreeSet<String> = store.served_sources()?.into_iter().map(|s| s.key.base_url).filter(|u| !names.contains_key(u)).collect();
    let mut urls: Vec<String> = urls.into_iter().collect();
    // Those the config names first: their names are theirs.
    urls.sort_by_key(|u| std::cmp::Reverse(wanted_names(settings, u).len()));
    for url in urls {
        store.claim_served_name(&url, &wanted_names(settings, &url))?;
    }
    Ok(())
}

/// A base URL as a path segment: its host and path, other characters `-`.
fn slug(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let s: String = rest.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '_' { c } else { '-' }).collect();
    s.trim_matches('-').to_string()
}

/// What the answers need beyond the store: how this server is reached and
/// who runs it.
#[derive(Clone, Debug)]
pub struct Service {
    /// The URL prefix the repositories are reached at (`http://host:port`).
    pub public_url: String,
    pub admin_emails: Vec<String>,
    /// The namespace of identifiers this repository gives (oai-identifier).
    pub namespace: String,
}

impl Service {
    fn base_url(&self, repo: &Repository) -> String {
        format!("{}/oai/{}", self.public_url.trim_end_matches('/'), repo.name)
    }

    /// The identifier a record is served under: the origin's when it is in
    /// a URI scheme, else one in this repository's namespace.
    pub fn served_identifier(&self, repo: &Repository, original: &str) -> String {
        if has_uri_scheme(original) { original.to_string() } else { format!("oai:{}:{}/{original}", self.namespace, repo.name) }
    }

    /// The stored identifier behind a served one.
    pub fn original_identifier(&self, repo: &Repository, served: &str) -> String {
        let own = format!("oai:{}:{}/", self.namespace, repo.name);
        served.strip_prefix(&own).unwrap_or(served).to_string()
    }
}

/// Whether an identifier is in a URI scheme (`scheme:rest`, RFC 3986).
fn has_uri_scheme(id: &str) -> bool {
    let Some((scheme, rest)) = id.split_once(':') else { return false };
    !rest.is_empty()
        && scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// The formats a repository is served in: as the origin declared them,
/// else what the records say (oai_dc's are known).
fn formats_of(store: &Store, repo: &Repository) -> anyhow::Result<Vec<OriginFormat>> {
    let declared = store.origin_formats(&repo.origin)?;
    let mut prefixes: Vec<&str> = repo.sources.iter().map(|s| s.key.metadata_prefix.as_str()).collect();
    prefixes.sort();
    prefixes.dedup();
    Ok(prefixes
        .into_iter()
        .map(|p| {
            declared.iter().find(|f| f.prefix == p).cloned().unwrap_or_else(|| match p {
                "oai_dc" => OriginFormat {
                    prefix: p.into(),
                    schema: "http://www.openarchives.org/OAI/2.0/oai_dc.xsd".into(),
                    namespace: "http://www.openarchives.org/OAI/2.0/oai_dc/".into(),
                },
                other => OriginFormat { prefix: other.into(), schema: String::new(), namespace: String::new() },
            })
        })
        .collect())
}

fn sources_in(repo: &Repository, prefix: &str) -> Vec<i64> {
    repo.sources.iter().filter(|s| s.key.metadata_prefix == prefix).map(|s| s.id).collect()
}

/// The answer to one request, as a document.
pub fn answer(store: &Store, service: &Service, repo: &Repository, arguments: &[(String, String)], now: i64) -> anyhow::Result<Vec<u8>> {
    Ok(answer_spooled(store, service, repo, arguments, now)?.into_vec()?)
}

/// As [`answer`], its body left where it was written (see [`spool`]).
pub fn answer_spooled(store: &Store, service: &Service, repo: &Repository, arguments: &[(String, String)], now: i64) -> anyhow::Result<Answer> {
    document(&service.base_url(repo), arguments, now, |r| respond(store, service, repo, r, now))
}

/// A whole answer: the envelope's start, then the body, then
/// [`render::TAIL`].
pub struct Answer {
    pub head: Vec<u8>,
    pub body: Spool,
}

impl Answer {
    pub fn into_vec(self) -> std::io::Result<Vec<u8>> {
        let mut out = self.head;
        out.extend_from_slice(&self.body.into_vec()?);
        out.extend_from_slice(render::TAIL);
        Ok(out)
    }
}

/// A request's whole answer: its arguments checked, then `respond`'s body
/// or error in the envelope, echoing the arguments unless they were bad.
pub(crate) fn document(
    base_url: &str,
    arguments: &[(String, String)],
    now: i64,
    respond: impl FnOnce(&Request) -> anyhow::Result<Result<Spool, OaiError>>,
) -> anyhow::Result<Answer> {
    let (verb, parsed) = request::parse(arguments);
    let outcome = match parsed {
        Ok(r) => respond(&r)?,
        Err(e) => Err(e),
    };
    let echo = match (&outcome, verb) {
        (Err(e), _) if !e.echoes_arguments() => None,
        (_, Some(v)) => Some((v, arguments)),
        _ => None,
    };
    let env = Envelope { response_date: now, base_url, echo };
    let body = match outcome {
        Ok(body) => body,
        Err(e) => {
            let mut body = Spool::new();
            render::error(&mut body, &e);
            body
        }
    };
    Ok(Answer { head: render::head(&env), body })
}

/// The body of a valid request's answer, or the OAI-PMH error it gets.
fn respond(store: &Store, service: &Service, repo: &Repository, r: &Request, now: i64) -> anyhow::Result<Result<Spool, OaiError>> {
    let mut out = Spool::new();
    let all: Vec<i64> = repo.sources.iter().map(|s| s.id).collect();
    match r {
        Request::Identify => {
            let earliest = store.served_earliest(&all)?.unwrap_or(now);
            let name = format!("{} (a mirror of {})", repo.name, repo.origin);
            render::identify(
                &mut out,
                &Identity { name: &name, base_url: &service.base_url(repo), admin_emails: &service.admin_emails, earliest, origin: &repo.origin },
            );
        }
        Request::ListMetadataFormats { identifier } => {
            let mut formats = formats_of(store, repo)?;
            if let Some(id) = identifier {
                let holding = store.sources_holding(&all, &service.original_identifier(repo, id))?;
                if holding.is_empty() {
                    return Ok(Err(OaiError::new("idDoesNotExist", "no record has this identifier here")));
                }
                formats.retain(|f| repo.sources.iter().any(|s| holding.contains(&s.id) && s.key.metadata_prefix == f.prefix));
            }
            if formats.is_empty() {
                return Ok(Err(OaiError::new("noMetadataFormats", "no metadata formats are available")));
            }
            render::formats(&mut out, &formats);
        }
        Request::ListSets { token } => {
            if token.is_some() {
                return Ok(Err(OaiError::new("badResumptionToken", "this repository gives no resumptionToken for ListSets")));
            }
            let sets = store.origin_sets(&repo.origin)?;
            if sets.is_empty() {
                return Ok(Err(OaiError::new("noSetHierarchy", "this repository has no sets")));
            }
            render::sets(&mut out, &sets);
        }
        Request::GetRecord { identifier, prefix } => {
            let original = service.original_identifier(repo, identifier);
            if store.sources_holding(&all, &original)?.is_empty() {
                return Ok(Err(OaiError::new("idDoesNotExist", "no record has this identifier here")));
            }
            let Some(found) = store.served_record(&sources_in(repo, prefix), &original)? else {
                return Ok(Err(OaiError::new("cannotDisseminateFormat", format!("the record is not available as {prefix}"))));
            };
            let format = formats_of(store, repo)?.into_iter().find(|f| f.prefix == *prefix);
            out.extend_from_slice(b"<GetRecord>");
            let left_out = push_record(&mut out, service, repo, &found, format.as_ref().map_or("", |f| f.namespace.as_str()), true);
            note_left_out(repo, left_out as u64);
            out.extend_from_slice(b"</GetRecord>\n");
        }
        Request::ListIdentifiers(list) | Request::ListRecords(list) => {
            let records = matches!(r, Request::ListRecords(_));
            return list_records(store, service, repo, list, records);
        }
    }
    Ok(Ok(out))
}

/// Writes a record; returns true if its metadata was left out (not
/// well-formed as the origin sent it).
fn push_record(out: &mut Vec<u8>, service: &Service, repo: &Repository, r: &checkpoints::ServedRecord, namespace: &str, with_metadata: bool) -> bool {
    let identifier = service.served_identifier(repo, &r.record.identifier);
    let h = Header { identifier: &identifier, stored_at: r.stored_at, sets: &r.record.sets, deleted: r.record.deleted };
    if with_metadata {
        let origin = Origin {
            base_url: &repo.origin,
            identifier: &r.record.identifier,
            datestamp: &r.record.datestamp,
            namespace,
            harvested_at: r.stored_at,
            nested: r.provenance.as_deref(),
        };
        render::record(out, &h, r.record.metadata.as_deref(), &origin)
    } else {
        render::header(out, &h);
        out.push(b'\n');
        false
    }
}

/// Says how many records of an answer went without their metadata.
fn note_left_out(repo: &Repository, left_out: u64) {
    if left_out > 0 {
        tracing::warn!(repository = %repo.name, records = left_out, "records served without their metadata: it is not well-formed XML as the origin sent it");
    }
}

/// Where a list request starts: its selection, the store sequence after
/// which it goes on, the snapshot bound, the cursor and the size (the last
/// two known once the list has begun). A damaged token is an error.
pub(crate) struct ListStart {
    pub selection: request::Selection,
    pub after: i64,
    pub max_seq: Option<i64>,
    pub cursor: u64,
    pub total: Option<u64>,
    pub fresh: bool,
}

impl ListStart {
    pub fn of(list: &List) -> Result<ListStart, OaiError> {
        Ok(match list {
            List::Fresh(selection) => ListStart { selection: selection.clone(), after: 0, max_seq: None, cursor: 0, total: None, fresh: true },
            List::Resume(text) => {
                let t = Token::decode(text)?;
                ListStart { selection: t.selection(), after: t.a, max_seq: Some(t.m), cursor: t.c, total: Some(t.t), fresh: false }
            }
        })
    }
}

/// One page of a list, whatever it lists: `count` gives the whole list's
/// size (first page only), `fetch` the items after a store sequence below
/// the snapshot bound (`None`: the store's newest), `seq` an item's store
/// sequence and `write` its element. A page ends at [`PAGE`] items or once
/// it holds [`PAGE_BYTES`], whichever comes first, and items are read a
/// few at a time: an answer's memory follows what it holds, not how large
/// the records it lists are.
pub(crate) fn list_page<T>(
    start: &ListStart,
    records: bool,
    max_seq: i64,
    count: impl FnOnce() -> anyhow::Result<u64>,
    fetch: impl Fn(i64, Option<i64>, usize) -> anyhow::Result<Vec<T>>,
    seq: impl Fn(&T) -> i64,
    mut write: impl FnMut(&mut Spool, &T) -> anyhow::Result<()>,
) -> anyhow::Result<Result<Spool, OaiError>> {
    let total = match start.total {
        Some(t) => t,
        None => count()?,
    };
    let mut bound = Some(max_seq);
    let mut batch = fetch(start.after, bound, READ_AHEAD)?;
    if batch.is_empty() && start.fresh {
        return Ok(Err(OaiError::new("noRecordsMatch", "no record matches these arguments")));
    }
    if batch.is_empty() {
        // What was left of the list changed after it began (stored again
        // above its snapshot bound): the list goes on past the bound, with
        // those newer versions, rather than end with a page of no record,
        // which the protocol does not allow.
        bound = None;
        batch = fetch(start.after, bound, READ_AHEAD)?;
        if batch.is_empty() {
            return Ok(Err(OaiError::new(
                "badResumptionToken",
                "the rest of this list is no longer in this repository (its records were removed); harvest again from your last responseDate",
            )));
        }
    }
    let mut out = Spool::new();
    out.extend_from_slice(if records { b"<ListRecords>\n".as_slice() } else { b"<ListIdentifiers>\n".as_slice() });
    let (mut given, mut last) = (0usize, start.after);
    let more = 'page: loop {
        let full = batch.len() == READ_AHEAD;
        let mut items = batch.into_iter();
        for item in items.by_ref() {
            write(&mut out, &item)?;
            out.spill();
            given += 1;
            last = seq(&item);
            if given == PAGE || out.total_len() >= PAGE_BYTES as u64 {
                break 'page items.next().is_some() || !fetch(last, bound, 1)?.is_empty();
            }
        }
        if !full {
            break false;
        }
        batch = fetch(last, bound, READ_AHEAD)?;
        if batch.is_empty() {
            break false;
        }
    };
    let given = start.cursor + given as u64;
    // The list's size, as counted when it began, is kept; a list that grew
    // past it (records changed during the walk) shows what it gave.
    let size = total.max(given);
    let next = more.then(|| Token::new(&start.selection, last, max_seq, given, size).encode());
    if next.is_some() || !start.fresh {
        render::token(&mut out, next.as_deref(), size, start.cursor);
    }
    out.extend_from_slice(if records { b"</ListRecords>\n".as_slice() } else { b"</ListIdentifiers>\n".as_slice() });
    Ok(Ok(out))
}

fn list_records(store: &Store, service: &Service, repo: &Repository, list: &List, records: bool) -> anyhow::Result<Result<Spool, OaiError>> {
    let start = match ListStart::of(list) {
        Ok(s) => s,
        Err(e) => return Ok(Err(e)),
    };
    let selection = &start.selection;
    let sources = sources_in(repo, &selection.prefix);
    if sources.is_empty() {
        return Ok(Err(if start.fresh {
            OaiError::new("cannotDisseminateFormat", format!("{} is not a metadata format of this repository", selection.prefix))
        } else {
            OaiError::new("badResumptionToken", "the resumptionToken names a format this repository no longer has")
        }));
    }
    if selection.set.is_some() && store.origin_sets(&repo.origin)?.is_empty() && !repo.sources.iter().any(|s| s.key.set_spec.is_some()) {
        return Ok(Err(OaiError::new("noSetHierarchy", "this repository has no sets")));
    }
    let max_seq = match start.max_seq {
        Some(m) => m,
        None => store.last_stored_seq()?,
    };
    let query = checkpoints::ServedQuery { sources, set: selection.set.clone(), from: selection.from, until: selection.until, max_seq, headers_only: !records };
    let namespace = formats_of(store, repo)?.into_iter().find(|f| f.prefix == selection.prefix).map(|f| f.namespace).unwrap_or_default();
    let left_out = std::cell::Cell::new(0u64);
    let answer = list_page(
        &start,
        records,
        max_seq,
        || Ok(store.served_count(&query)?),
        |after, bound, n| {
            let max_seq = match bound {
                Some(b) => b,
                None => store.last_stored_seq()?,
            };
            Ok(store.served_page(&checkpoints::ServedQuery { max_seq, ..query.clone() }, after, n)?)
        },
        |r| r.stored_seq,
        |out, r| {
            left_out.set(left_out.get() + push_record(out, service, repo, r, &namespace, records) as u64);
            Ok(())
        },
    );
    note_left_out(repo, left_out.get());
    answer
}

#[cfg(test)]
mod tests;
