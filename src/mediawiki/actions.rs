//! What the client asks of a wiki, one method per action: reading site
//! information, pages, revisions and changes, and writing (edit, move,
//! delete, undelete). The transport under them (sessions, retries, limits)
//! is `client`'s.

use std::collections::HashMap;

use serde_json::Value;

use super::client::{Continuation, FilePart, Method, Wiki};
use super::error::{MwError, MwResult};
use super::types::*;

impl Wiki {
    pub async fn siteinfo(&self) -> MwResult<SiteInfo> {
        let v =
            self.query(&[("meta", "siteinfo".into()), ("siprop", "general|namespaces|namespacealiases".into()), ("curtimestamp", "1".into())], None).await?;
        read_siteinfo(&v).ok_or_else(|| self.not_api_json(&v))
    }

    pub async fn userinfo(&self) -> MwResult<UserInfo> {
        let v = self.query(&[("meta", "userinfo".into()), ("uiprop", "rights|groups".into())], None).await?;
        read_userinfo(&v).ok_or_else(|| self.not_api_json(&v))
    }

    /// The server's clock now (for `starttimestamp`).
    pub async fn server_time(&self) -> MwResult<String> {
        let v = self.query(&[("meta", "siteinfo".into()), ("siprop", "general".into()), ("curtimestamp", "1".into())], None).await?;
        v.get("curtimestamp").and_then(Value::as_str).map(str::to_string).ok_or_else(|| self.not_api_json(&v))
    }

    /// Pages by id or title with their current revision (text included),
    /// 50 per request.
    pub async fn pages(&self, refs: &[PageRef<'_>]) -> MwResult<Vec<PageState>> {
        let mut out = Vec::with_capacity(refs.len());
        for chunk in refs.chunks(50) {
            let ids: Vec<String> = chunk.iter().filter_map(|r| if let PageRef::Id(id) = r { Some(id.to_string()) } else { None }).collect();
            let titles: Vec<&str> = chunk.iter().filter_map(|r| if let PageRef::Title(t) = r { Some(*t) } else { None }).collect();
            for (key, values) in [("pageids", ids.join("|")), ("titles", titles.join("|"))] {
                if values.is_empty() {
                    continue;
                }
                let params = [
                    ("prop", "info|revisions".to_string()),
                    ("rvprop", "ids|timestamp|user|userid|flags|comment|sha1|content".into()),
                    ("rvslots", "main".into()),
                    (key, values),
                ];
                // An answer over $wgAPIMaxResultSize (8 MB) leaves the
                // pages after a large one without their revision, to be
                // continued: followed until every page has it.
                let mut got: Vec<PageState> = Vec::new();
                self.query_all(&params, "rvcontinue", |v| {
                    for page in read_pages(v) {
                        match got.iter_mut().find(|g| g.pageid == page.pageid && g.title == page.title) {
                            Some(seen) => seen.revision = seen.revision.take().or(page.revision),
                            None => got.push(page),
                        }
                    }
                })
                .await?;
                out.extend(got);
            }
        }
        Ok(out)
    }

    /// A read followed through its `continue.KEY` values; `each` sees every answer.
    async fn query_all<'a>(&self, params: &[(&'a str, String)], key: &'a str, mut each: impl FnMut(&Value)) -> MwResult<()> {
        let mut guard = Continuation::new(&self.options.name, key);
        let mut cont: Option<String> = None;
        loop {
            let mut p = params.to_vec();
            if let Some(c) = cont.take() {
                p.push((key, c));
            }
            let v = self.query(&p, None).await?;
            each(&v);
            cont = guard.next(v.get("continue").and_then(|c| c.get(key)).and_then(Value::as_str))?;
            if cont.is_none() {
                return Ok(());
            }
        }
    }

    /// The ids of every page in a namespace (redirects included).
    pub async fn all_page_ids(&self, ns: i64) -> MwResult<Vec<u64>> {
        let mut out = Vec::new();
        let params = [("list", "allpages".to_string()), ("apnamespace", ns.to_string()), ("aplimit", "500".into())];
        self.query_all(&params, "apcontinue", |v| {
            let pages = v.pointer("/query/allpages").and_then(Value::as_array);
            out.extend(pages.into_iter().flatten().filter_map(|p| p.get("pageid").and_then(Value::as_u64)));
        })
        .await?;
        Ok(out)
    }

    /// Every page of a namespace with its current revision id (redirects
    /// included), as many to a request as the account may ask for.
    pub async fn all_page_revisions(&self, ns: i64) -> MwResult<Vec<(u64, u64)>> {
        let mut out = Vec::new();
        let params = [("generator", "allpages".to_string()), ("gapnamespace", ns.to_string()), ("gaplimit", "max".into()), ("prop", "info".into())];
        self.query_all(&params, "gapcontinue", |v| {
            let pages = v.pointer("/query/pages").and_then(Value::as_array);
            out.extend(pages.into_iter().flatten().filter_map(|p| Some((p.get("pageid")?.as_u64()?, p.get("lastrevid")?.as_u64()?))));
        })
        .await?;
        Ok(out)
    }

    /// The time of the oldest change the wiki still lists in its recent
    /// changes (`$wgRCMaxAge`, 90 days by default, keeps them); `None` if
    /// it lists none.
    pub async fn oldest_change(&self) -> MwResult<Option<String>> {
        let v =
            self.query(&[("list", "recentchanges".into()), ("rcdir", "newer".into()), ("rclimit", "1".into()), ("rcprop", "timestamp".into())], None).await?;
        Ok(v.pointer("/query/recentchanges/0/timestamp").and_then(Value::as_str).map(str::to_string))
    }

    /// The titles of every page in a category (`Category:NAME`), those a
    /// template puts there included, as many to a request as the account
    /// may ask for (5,000 with `apihighlimits`, else 500).
    pub async fn category_members(&self, category: &str) -> MwResult<Vec<String>> {
        let mut out = Vec::new();
        let params = [("list", "categorymembers".to_string()), ("cmtitle", category.to_string()), ("cmprop", "title".into()), ("cmlimit", "max".into())];
        self.query_all(&params, "cmcontinue", |v| {
            let members = v.pointer("/query/categorymembers").and_then(Value::as_array);
            out.extend(members.into_iter().flatten().filter_map(|p| p.get("title").and_then(Value::as_str)).map(str::to_string));
        })
        .await?;
        Ok(out)
    }

    /// One chunk of a page's revisions with their text, in the wiki's order
    /// (timestamp, then id): from revision `from` (itself included) or the
    /// first, through revision `through` (the page's current one, where
    /// the caller stops), or on from a continuation. `None`: the wiki has
    /// no such page now.
    pub async fn revision_chunk(&self, pageid: u64, from: Option<u64>, through: u64, cont: Option<&str>) -> MwResult<Option<RevisionChunk>> {
        let mut params = vec![
            ("prop", "revisions".to_string()),
            ("pageids", pageid.to_string()),
            ("rvprop", "ids|timestamp|user|userid|flags|comment|sha1|content".into()),
            ("rvslots", "main".into()),
            ("rvdir", "newer".into()),
            ("rvendid", through.to_string()),
            ("rvlimit", REVISION_CHUNK.to_string()),
        ];
        if let Some(from) = from {
            params.push(("rvstartid", from.to_string()));
        }
        if let Some(c) = cont {
            params.push(("rvcontinue", c.to_string()));
        }
        let v = self.query(&params, None).await?;
        if read_pages(&v).first().is_none_or(|p| p.missing || p.invalid) {
            return Ok(None);
        }
        let next = v.pointer("/continue/rvcontinue").and_then(Value::as_str).map(str::to_string);
        Ok(Some(RevisionChunk { revisions: read_revisions(&v), next }))
    }

    /// One batch of the change feed (recent changes, log entries included),
    /// oldest first, from `since` (inclusive) or from a continuation.
    pub async fn changes(&self, since: Option<&str>, cont: Option<&str>, limit: u32) -> MwResult<ChangeBatch> {
        let mut params = vec![
            ("list", "recentchanges".to_string()),
            ("rcprop", "ids|title|timestamp|loginfo|flags|user|redirect|sha1".into()),
            ("rcdir", "newer".into()),
            ("rclimit", limit.to_string()),
            ("curtimestamp", "1".into()),
        ];
        if let Some(s) = since {
            params.push(("rcstart", s.to_string()));
        }
        if let Some(c) = cont {
            params.push(("rccontinue", c.to_string()));
        }
        Ok(read_changes(&self.query(&params, None).await?))
    }

    /// Saves a text. Conflicts, deletions and the like are outcomes, not
    /// errors. A saved text is read back, because MediaWiki may have merged
    /// it with an intervening edit.
    pub async fn edit(&self, edit: &Edit<'_>) -> MwResult<EditOutcome> {
        let title = edit_title(edit);
        match self.edit_unread(edit).await? {
            Sent::Saved { pageid, newrevid, timestamp, created } => {
                let text = self.revision_text(newrevid, &title).await?;
                Ok(EditOutcome::Saved { pageid, newrevid, timestamp, created, text })
            }
            Sent::Done(outcome) => Ok(outcome),
        }
    }

    /// [`edit`](Wiki::edit) without reading the saved text back: the
    /// caller reads many back at once ([`revision_texts`](Wiki::revision_texts)).
    pub async fn edit_unread(&self, edit: &Edit<'_>) -> MwResult<Sent> {
        let title = edit_title(edit);
        let mut params: Vec<(&str, String)> =
            vec![("text", edit.text.to_string()), ("summary", edit.summary.to_string()), ("md5", crate::util::md5_hex(edit.text)), ("bot", "1".into())];
        match edit.page {
            PageRef::Title(t) => params.push(("title", t.to_string())),
            PageRef::Id(id) => params.push(("pageid", id.to_string())),
        }
        if let Some(r) = edit.base_revid {
            params.push(("baserevid", r.to_string()));
        }
        if let Some(t) = edit.start_timestamp {
            params.push(("starttimestamp", t.to_string()));
        }
        match edit.mode {
            CreateMode::CreateOnly => params.push(("createonly", "1".into())),
            CreateMode::NoCreate => params.push(("nocreate", "1".into())),
            CreateMode::Either => {}
        }
        if edit.minor {
            params.push(("minor", "1".into()));
        }
        if !edit.tags.is_empty() {
            params.push(("tags", edit.tags.join("|")));
        }
        let v = self.call(Method::Post, "edit", &params, Some(&title), true).await?;
        match read_edit(&v) {
            Some(EditAnswer::Done(outcome)) => Ok(Sent::Done(outcome)),
            Some(EditAnswer::Saved { pageid, newrevid, timestamp, created }) => Ok(Sent::Saved { pageid, newrevid, timestamp, created }),
            Some(EditAnswer::Error { .. }) | None => Err(self.api_err("edit", Some(&title), &v)),
        }
    }

    /// The texts of these revisions, read 50 to a request (MediaWiki's
    /// limit for content): revision id → text. A revision the wiki does not
    /// show (deleted meanwhile) is missing from the answer.
    pub async fn revision_texts(&self, revids: &[u64]) -> MwResult<HashMap<u64, String>> {
        let mut out = HashMap::new();
        for chunk in revids.chunks(50) {
            let ids: Vec<String> = chunk.iter().map(u64::to_string).collect();
            let v = self
                .query(&[("prop", "revisions".into()), ("revids", ids.join("|")), ("rvprop", "ids|content".into()), ("rvslots", "main".into())], None)
                .await?;
            out.extend(read_revisions(&v).into_iter().filter_map(|r| Some((r.revid, r.text?))));
        }
        Ok(out)
    }

    pub async fn revision_text(&self, revid: u64, title: &str) -> MwResult<String> {
        let v = self
            .query(&[("prop", "revisions".into()), ("revids", revid.to_string()), ("rvprop", "ids|content".into()), ("rvslots", "main".into())], Some(title))
            .await?;
        read_revisions(&v).into_iter().find(|r| r.revid == revid).and_then(|r| r.text).ok_or_else(|| MwError::Protocol {
            wiki: self.options.name.clone(),
            action: "query".into(),
            title: Some(title.to_string()),
            detail: format!("revision {revid} has no readable text"),
        })
    }

    /// Imports export XML sent as a file (`action=import`; the account needs
    /// the `importupload` right, and a bot password the `import` grant):
    /// each revision keeps its timestamp, summary and minor flag, its
    /// author shown as `PREFIX>Name`. MediaWiki skips a revision whose
    /// timestamp and SHA-1 the page has already, and adds a null revision
    /// by the importer. Returns each page imported and how many revisions
    /// it took. `title` names the page in errors.
    pub async fn import_xml(&self, xml: Vec<u8>, interwiki_prefix: &str, summary: &str, title: &str) -> MwResult<Vec<(String, u64)>> {
        let params = [("interwikiprefix", interwiki_prefix.to_string()), ("summary", summary.to_string())];
        let file = FilePart { field: "xml", name: "pages.xml".into(), bytes: xml };
        let v = self.call_with(Method::Post, "import", &params, Some(title), true, Some(&file)).await?;
        let Some(pages) = v.get("import").and_then(Value::as_array) else { return Err(self.api_err("import", Some(title), &v)) };
        Ok(pages
            .iter()
            .map(|p| (p.get("title").and_then(Value::as_str).unwrap_or_default().to_string(), p.get("revisions").and_then(Value::as_u64).unwrap_or(0)))
            .collect())
    }

    /// Uploads a file (`action=upload`, the `upload` right; `reupload` for
    /// a new version over an existing one, which `ignorewarnings` allows):
    /// its description page gets `text` when the file is new. Returns the
    /// upload's result (`Success`, or `Warning` when it was not stored).
    pub async fn upload(&self, filename: &str, bytes: Vec<u8>, comment: &str, text: &str) -> MwResult<String> {
        let params = [("filename", filename.to_string()), ("comment", comment.to_string()), ("text", text.to_string()), ("ignorewarnings", "1".into())];
        let file = FilePart { field: "file", name: filename.to_string(), bytes };
        let v = self.call_with(Method::Post, "upload", &params, Some(filename), true, Some(&file)).await?;
        v.pointer("/upload/result").and_then(Value::as_str).map(str::to_string).ok_or_else(|| self.api_err("upload", Some(filename), &v))
    }

    /// Whether the account may import uploaded XML (`importupload`).
    pub async fn can_import(&self) -> MwResult<bool> {
        Ok(self.userinfo().await?.has("importupload"))
    }

    /// Moves a page; without a redirect when `noredirect` (needs the
    /// `suppressredirect` right, else MediaWiki leaves one anyway).
    pub async fn move_page(&self, from: &str, to: &str, noredirect: bool, reason: &str) -> MwResult<MoveOutcome> {
        let mut params = vec![("from", from.to_string()), ("to", to.to_string()), ("reason", reason.to_string())];
        if noredirect {
            params.push(("noredirect", "1".into()));
        }
        let v = self.call(Method::Post, "move", &params, Some(from), true).await?;
        read_move(&v).ok_or_else(|| self.api_err("move", Some(from), &v))
    }

    /// Deletes a page; returns the log id.
    pub async fn delete(&self, title: &str, reason: &str) -> MwResult<u64> {
        let v = self.call(Method::Post, "delete", &[("title", title.to_string()), ("reason", reason.to_string())], Some(title), true).await?;
        v.pointer("/delete/logid").and_then(Value::as_u64).ok_or_else(|| self.api_err("delete", Some(title), &v))
    }

    /// Restores every deleted revision of a title.
    pub async fn undelete(&self, title: &str, reason: &str) -> MwResult<()> {
        let v = self.call(Method::Post, "undelete", &[("title", title.to_string()), ("reason", reason.to_string())], Some(title), true).await?;
        if v.get("undelete").is_some() { Ok(()) } else { Err(self.api_err("undelete", Some(title), &v)) }
    }
}
/// Revisions read with their text in one request: MediaWiki's limit for
/// content, so a page of any length is read in bounded memory.
pub const REVISION_CHUNK: usize = 50;

/// A chunk of a page's revisions, and where the next one starts.
#[derive(Clone, Debug)]
pub struct RevisionChunk {
    pub revisions: Vec<Revision>,
    pub next: Option<String>,
}

/// What an edit sent without reading back did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sent {
    /// Saved as this revision; its text not read yet.
    Saved { pageid: u64, newrevid: u64, timestamp: String, created: bool },
    /// Anything else: no change, a conflict, a refusal (see [`EditOutcome`]).
    Done(EditOutcome),
}

/// How an edit names its page in errors: the title, or `#ID`.
fn edit_title(edit: &Edit<'_>) -> String {
    match edit.page {
        PageRef::Title(t) => t.to_string(),
        PageRef::Id(id) => format!("#{id}"),
    }
}
