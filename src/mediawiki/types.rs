//! What the API answers, as types, and the pure functions that read them
//! from `formatversion=2` JSON. Tested against responses captured from a
//! real MediaWiki 1.39 (tests/fixtures/mediawiki).

use serde_json::Value;

/// `meta=siteinfo`: what the mirror needs to know about a wiki.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteInfo {
    pub sitename: String,
    /// Its database name (`wikiid`).
    pub dbname: String,
    /// Its main page's URL.
    pub base: String,
    /// e.g. "MediaWiki 1.39.17"
    pub generator: String,
    /// "first-letter" or "case-sensitive"
    pub case: String,
    pub namespaces: Vec<Namespace>,
    /// Other names of namespaces (`namespacealiases`), as (id, alias).
    pub aliases: Vec<(i64, String)>,
    pub server_time: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Namespace {
    pub id: i64,
    /// The wiki's own name for it ("" for the main namespace).
    pub name: String,
    /// Its English name, which every wiki also accepts ("Project" for 4).
    pub canonical: Option<String>,
    pub case: String,
}

impl SiteInfo {
    /// The namespace of a full title, read as MediaWiki reads its prefix:
    /// the wiki's name for a namespace, its canonical name or an alias, in
    /// any case, with spaces or underscores. A title with no such prefix
    /// ("Foo: a study") is in the main namespace.
    pub fn namespace_of(&self, title: &str) -> i64 {
        let Some((prefix, _)) = title.split_once(':') else { return 0 };
        let wanted = namespace_key(prefix);
        if wanted.is_empty() {
            return 0;
        }
        let names = self.namespaces.iter().flat_map(|ns| std::iter::once(ns.name.as_str()).chain(ns.canonical.as_deref()).map(move |name| (ns.id, name)));
        let aliases = self.aliases.iter().map(|(id, name)| (*id, name.as_str()));
        names.chain(aliases).find(|(_, name)| namespace_key(name) == wanted).map_or(0, |(id, _)| id)
    }
}

/// A namespace name as compared: trimmed, spaces for underscores, lower case.
fn namespace_key(name: &str) -> String {
    name.trim().replace('_', " ").to_lowercase()
}

/// `meta=userinfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserInfo {
    pub id: u64,
    pub name: String,
    pub groups: Vec<String>,
    pub rights: Vec<String>,
}

impl UserInfo {
    pub fn has(&self, right: &str) -> bool {
        self.rights.iter().any(|r| r == right)
    }
}

/// One revision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revision {
    pub revid: u64,
    pub parentid: u64,
    pub timestamp: String,
    pub user: String,
    pub comment: String,
    pub sha1: String,
    /// Absent when the content was not asked for or is hidden.
    pub text: Option<String>,
    pub minor: bool,
    /// 0 for an IP; `None` when not asked for or hidden.
    pub user_id: Option<u64>,
}

/// A page as the wiki holds it now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageState {
    /// `None` for a title that does not exist.
    pub pageid: Option<u64>,
    pub ns: i64,
    pub title: String,
    pub missing: bool,
    pub invalid: bool,
    pub redirect: bool,
    /// The current revision, if asked for and the page exists.
    pub revision: Option<Revision>,
}

/// Which page an action is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageRef<'a> {
    Title(&'a str),
    Id(u64),
}

/// Whether an edit may create or must update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CreateMode {
    /// `createonly`: the page must not exist.
    CreateOnly,
    /// `nocreate`: the page must exist.
    NoCreate,
    Either,
}

/// An edit to send.
#[derive(Clone, Debug)]
pub struct Edit<'a> {
    pub page: PageRef<'a>,
    pub text: &'a str,
    pub summary: &'a str,
    /// The revision the text was based on: MediaWiki merges or reports a
    /// conflict against it, also for our own intervening edits (unlike
    /// `basetimestamp`, which lets a user's own edits be overwritten and
    /// misses same-second edits).
    pub base_revid: Option<u64>,
    /// When we read the page: a deletion after it is `pagedeleted` instead of
    /// a silent re-creation.
    pub start_timestamp: Option<&'a str>,
    pub mode: CreateMode,
    pub minor: bool,
    pub tags: &'a [&'a str],
}

/// What an edit did. Expected outcomes are values, not errors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EditOutcome {
    /// Saved as `newrevid`. `text` is what the wiki stored, read back: it
    /// differs from what was sent when MediaWiki merged with an edit made
    /// since the base revision.
    Saved { pageid: u64, newrevid: u64, timestamp: String, created: bool, text: String },
    /// The text was identical: no revision was made.
    NoChange { pageid: u64 },
    /// Someone changed the page since the base revision and the changes overlap.
    Conflict,
    /// The page was deleted since `start_timestamp`.
    PageDeleted,
    /// `createonly`, but the page exists.
    Exists,
    /// `nocreate`, but the page does not exist.
    Missing,
    /// The page or title is protected against this account.
    Protected { code: String },
}

/// What a move did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MoveOutcome {
    pub from: String,
    pub to: String,
    pub redirect_created: bool,
}

/// One entry of the change feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// A new revision (`created` for a page's first).
    Edit {
        pageid: u64,
        revid: u64,
        old_revid: u64,
        ns: i64,
        title: String,
        timestamp: String,
        user: String,
        bot: bool,
        created: bool,
    },
    /// Page `pageid` moved from `from` to `to`; with a redirect left behind
    /// at `from` unless `suppressredirect`.
    Move {
        pageid: u64,
        from: String,
        to: String,
        redirect: bool,
        timestamp: String,
        user: String,
    },
    Delete {
        pageid: u64,
        title: String,
        timestamp: String,
        user: String,
    },
    Restore {
        pageid: u64,
        title: String,
        timestamp: String,
        user: String,
    },
    /// Any other log entry (protection, user rights, …).
    OtherLog {
        logtype: String,
        logaction: String,
        title: String,
        timestamp: String,
    },
}

impl Change {
    /// When it happened, as the wiki wrote it.
    pub fn timestamp(&self) -> &str {
        match self {
            Change::Edit { timestamp, .. }
            | Change::Move { timestamp, .. }
            | Change::Delete { timestamp, .. }
            | Change::Restore { timestamp, .. }
            | Change::OtherLog { timestamp, .. } => timestamp,
        }
    }
}

/// A page of the change feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeBatch {
    pub changes: Vec<Change>,
    /// The `rcid` of each change, in the same order. They are given out as
    /// rows are written, but concurrent edits may become visible out of
    /// that order: a larger rcid does not mean the smaller ones were seen.
    pub rcids: Vec<u64>,
    /// `rccontinue` for the next batch, if there is one.
    pub next: Option<String>,
    /// The server's clock when it answered.
    pub server_time: Option<String>,
}

pub(super) fn s(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

fn n(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

pub(super) fn b(v: &Value, key: &str) -> bool {
    // formatversion=2 sends booleans; tolerate formatversion=1's "" too.
    match v.get(key) {
        Some(Value::Bool(x)) => *x,
        Some(Value::String(_)) => true,
        _ => false,
    }
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    v.get(key).and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect()).unwrap_or_default()
}

/// The `error` object of a response, as (code, info).
pub fn api_error(v: &Value) -> Option<(String, String)> {
    let e = v.get("error")?;
    Some((s(e, "code"), s(e, "info")))
}

pub fn read_siteinfo(v: &Value) -> Option<SiteInfo> {
    let q = v.get("query")?;
    let g = q.get("general")?;
    let mut namespaces: Vec<Namespace> = q
        .get("namespaces")
        .and_then(Value::as_object)
        .map(|m| {
            m.values()
                .map(|ns| Namespace {
                    id: ns.get("id").and_then(Value::as_i64).unwrap_or(0),
                    name: s(ns, "name"),
                    canonical: ns.get("canonical").and_then(Value::as_str).map(str::to_string),
                    case: s(ns, "case"),
                })
                .collect()
        })
        .unwrap_or_default();
    namespaces.sort_by_key(|ns| ns.id);
    let aliases = q
        .get("namespacealiases")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(|a| Some((a.get("id")?.as_i64()?, a.get("alias")?.as_str()?.to_string()))).collect())
        .unwrap_or_default();
    Some(SiteInfo {
        sitename: s(g, "sitename"),
        dbname: s(g, "wikiid"),
        base: s(g, "base"),
        generator: s(g, "generator"),
        case: s(g, "case"),
        namespaces,
        aliases,
        server_time: v.get("curtimestamp").and_then(Value::as_str).map(str::to_string),
    })
}

pub fn read_userinfo(v: &Value) -> Option<UserInfo> {
    let u = v.get("query")?.get("userinfo")?;
    Some(UserInfo { id: n(u, "id"), name: s(u, "name"), groups: strings(u, "groups"), rights: strings(u, "rights") })
}

fn read_revision(r: &Value) -> Revision {
    let text = r.get("slots").and_then(|s| s.get("main")).and_then(|m| m.get("content")).and_then(Value::as_str).map(str::to_string);
    Revision {
        revid: n(r, "revid"),
        parentid: n(r, "parentid"),
        timestamp: s(r, "timestamp"),
        user: s(r, "user"),
        comment: s(r, "comment"),
        sha1: s(r, "sha1"),
        text,
        minor: b(r, "minor"),
        user_id: r.get("userid").and_then(Value::as_u64),
    }
}

/// The pages of a `prop=info|revisions` query, in the order given.
pub fn read_pages(v: &Value) -> Vec<PageState> {
    let Some(pages) = v.get("query").and_then(|q| q.get("pages")).and_then(Value::as_array) else { return Vec::new() };
    pages
        .iter()
        .map(|p| PageState {
            pageid: p.get("pageid").and_then(Value::as_u64).filter(|id| *id > 0),
            ns: p.get("ns").and_then(Value::as_i64).unwrap_or(0),
            title: s(p, "title"),
            missing: b(p, "missing"),
            invalid: b(p, "invalid"),
            redirect: b(p, "redirect"),
            revision: p.get("revisions").and_then(Value::as_array).and_then(|r| r.last()).map(read_revision),
        })
        .collect()
}

/// All revisions of the pages in a `prop=revisions` response, in order.
pub fn read_revisions(v: &Value) -> Vec<Revision> {
    let Some(pages) = v.get("query").and_then(|q| q.get("pages")).and_then(Value::as_array) else { return Vec::new() };
    pages.iter().flat_map(|p| p.get("revisions").and_then(Value::as_array).into_iter().flatten().map(read_revision)).collect()
}

/// Reads an edit answer; `None` when it needs the text read back (a save)
/// and the caller must do that, with the fields it needs.
pub enum EditAnswer {
    Done(EditOutcome),
    Saved { pageid: u64, newrevid: u64, timestamp: String, created: bool },
    Error { code: String, info: String },
}

pub fn read_edit(v: &Value) -> Option<EditAnswer> {
    if let Some((code, info)) = api_error(v) {
        let outcome = match code.as_str() {
            "editconflict" => EditOutcome::Conflict,
            "pagedeleted" => EditOutcome::PageDeleted,
            "articleexists" => EditOutcome::Exists,
            "missingtitle" => EditOutcome::Missing,
            "protectedpage" | "cascadeprotected" | "protectedtitle" => EditOutcome::Protected { code },
            _ => return Some(EditAnswer::Error { code, info }),
        };
        return Some(EditAnswer::Done(outcome));
    }
    let e = v.get("edit")?;
    if s(e, "result") != "Success" {
        return Some(EditAnswer::Error { code: s(e, "result"), info: e.to_string() });
    }
    if b(e, "nochange") {
        return Some(EditAnswer::Done(EditOutcome::NoChange { pageid: n(e, "pageid") }));
    }
    Some(EditAnswer::Saved { pageid: n(e, "pageid"), newrevid: n(e, "newrevid"), timestamp: s(e, "newtimestamp"), created: b(e, "new") })
}

pub fn read_move(v: &Value) -> Option<MoveOutcome> {
    let m = v.get("move")?;
    Some(MoveOutcome { from: s(m, "from"), to: s(m, "to"), redirect_created: b(m, "redirectcreated") })
}

/// A `list=recentchanges` response (with `rcprop` including `loginfo`).
pub fn read_changes(v: &Value) -> ChangeBatch {
    let rows = v.get("query").and_then(|q| q.get("recentchanges")).and_then(Value::as_array).cloned().unwrap_or_default();
    let changes = rows
        .iter()
        .map(|rc| {
            let (pageid, title, timestamp, user) = (n(rc, "pageid"), s(rc, "title"), s(rc, "timestamp"), s(rc, "user"));
            match s(rc, "type").as_str() {
                "new" | "edit" => Change::Edit {
                    pageid,
                    revid: n(rc, "revid"),
                    old_revid: n(rc, "old_revid"),
                    ns: rc.get("ns").and_then(Value::as_i64).unwrap_or(0),
                    title,
                    timestamp,
                    user,
                    bot: b(rc, "bot"),
                    created: s(rc, "type") == "new",
                },
                _ => log_change(&s(rc, "logtype"), &s(rc, "logaction"), pageid, title, timestamp, user, rc.get("logparams").unwrap_or(&Value::Null)),
            }
        })
        .collect();
    let rcids = rows.iter().map(|rc| n(rc, "rcid")).collect();
    let next = v.get("continue").and_then(|c| c.get("rccontinue")).and_then(Value::as_str).map(str::to_string);
    ChangeBatch { changes, rcids, next, server_time: v.get("curtimestamp").and_then(Value::as_str).map(str::to_string) }
}

fn log_change(logtype: &str, action: &str, pageid: u64, title: String, timestamp: String, user: String, params: &Value) -> Change {
    match (logtype, action) {
        ("move", "move" | "move_redir") => {
            Change::Move { pageid, from: title, to: s(params, "target_title"), redirect: !b(params, "suppressredirect"), timestamp, user }
        }
        ("delete", "delete") => Change::Delete { pageid, title, timestamp, user },
        ("delete", "restore") => Change::Restore { pageid, title, timestamp, user },
        _ => Change::OtherLog { logtype: logtype.to_string(), logaction: action.to_string(), title, timestamp },
    }
}

/// The titles to look a page up by when a person typed `title`, in order:
/// as MediaWiki reads any title (`_` is a space, runs of spaces are one,
/// no space at either end), then with its first letter upper-cased, then
/// also the first letter after a namespace prefix (`talk:foo` is
/// `Talk:Foo` on a wiki whose titles start with a capital, as most do).
/// The exact form comes first, so a wiki that keeps the case of first
/// letters finds its own page before a capitalised twin.
/// Why MediaWiki would refuse `title`, if it would: empty, longer than
/// 255 bytes, or holding a character no title may hold (`# < > [ ] | { }`,
/// a control character). A title read from a file (a package) is checked
/// with this before it is stored or written anywhere.
pub fn title_problem(title: &str) -> Option<String> {
    if title.trim().is_empty() {
        return Some("an empty title".into());
    }
    if title.len() > 255 {
        return Some(format!("a title of {} bytes (MediaWiki takes 255 at most)", title.len()));
    }
    title
        .chars()
        .find(|c| matches!(c, '#' | '<' | '>' | '[' | ']' | '|' | '{' | '}') || c.is_control())
        .map(|c| format!("the character {:?}, which MediaWiki forbids in titles", c))
}

pub fn title_candidates(title: &str) -> Vec<String> {
    let spaced = title.replace('_', " ").split_whitespace().collect::<Vec<_>>().join(" ");
    let upper_first = |s: &str| {
        let mut chars = s.chars();
        chars.next().map(|c| c.to_uppercase().chain(chars).collect::<String>()).unwrap_or_default()
    };
    let mut out = vec![spaced.clone(), upper_first(&spaced)];
    if let Some((prefix, rest)) = spaced.split_once(':') {
        out.push(format!("{}:{}", upper_first(prefix.trim()), upper_first(rest.trim())));
    }
    out.dedup();
    let mut seen = std::collections::HashSet::new();
    out.retain(|t| !t.is_empty() && seen.insert(t.clone()));
    out
}

#[cfg(test)]
mod title_tests {
    use super::title_candidates;

    #[test]
    fn typed_titles_are_read_as_mediawiki_reads_them() {
        assert_eq!(title_candidates("Main_Page"), ["Main Page"]);
        assert_eq!(title_candidates("  main__page "), ["main page", "Main page"]);
        assert_eq!(title_candidates("talk:foo_bar"), ["talk:foo bar", "Talk:foo bar", "Talk:Foo bar"]);
        assert_eq!(title_candidates("ßtraße"), ["ßtraße", "SStraße"], "upper case as Unicode has it");
    }
}

#[cfg(test)]
mod tests;
