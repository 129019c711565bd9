//! A static copy of a mirrored wiki (`export WIKI --html DIR`): the
//! reader's pages as a directory of HTML files that link each other by
//! relative paths, to open from a file system or put behind any web
//! server. Each live page is `ID.html` (its page id: a name that is
//! always valid, whatever the title), each file's current stored version
//! `files/ID.EXT`, with `index.html` listing every page. Without search
//! (it needs the store); no script at all, and a policy that forbids one.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use checkpoints::{Blobs, FileState, Store};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::html::{self as clean, Addresses};

/// What a static copy holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct StaticCopy {
    pub pages: u64,
    /// Pages shown as wikitext (no rendering of their current revision).
    pub unrendered: u64,
    pub files: u64,
}

const TITLES_A_BATCH: usize = 500;

/// Writes the static copy of `wiki` into `dir`, which must not exist or
/// be empty; every file is created new (never through an existing entry).
pub fn write(store: &Store, blobs: &Blobs, wiki: &str, dir: &Path) -> anyhow::Result<StaticCopy> {
    if !store.has_wiki(wiki)? {
        bail!("wiki {wiki:?} has no pages in the database: run `oai-mirror mirror {wiki}` first");
    }
    if dir.exists() && std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?.next().is_some() {
        bail!("{} is not empty: give a new directory for the static copy (nothing in an existing one is replaced)", dir.display());
    }
    std::fs::create_dir_all(dir.join("files")).with_context(|| format!("creating {}", dir.display()))?;
    let mut done = StaticCopy::default();
    let mut index = Vec::new();
    let mut from = String::new();
    loop {
        let titles = store.page_titles(wiki, &from, TITLES_A_BATCH + 1)?;
        let more = titles.len() > TITLES_A_BATCH;
        let ids = store.present_titles(wiki, &titles[..titles.len().min(TITLES_A_BATCH)])?;
        for title in titles.iter().take(TITLES_A_BATCH) {
            let Some(&id) = ids.get(title) else { continue };
            let rendered = page(store, blobs, wiki, id, title, dir, &mut done)?;
            done.unrendered += u64::from(!rendered);
            done.pages += 1;
            index.push((id, title.clone()));
        }
        match titles.into_iter().nth(TITLES_A_BATCH) {
            Some(next) if more => from = next,
            _ => break,
        }
    }
    let list = html! { h1 { (wiki) } ul.titles { @for (id, t) in &index { li { a href=(format!("{id}.html")) { (t) } } } } };
    create(&dir.join("index.html"), shell(wiki, list).into_string().as_bytes())?;
    let absent =
        html! { h1 { "Not in this copy" } p.absent { "This page is not in this copy: the wiki does not have it, or it is outside what is mirrored." } };
    create(&dir.join("absent.html"), shell("Not in this copy", absent).into_string().as_bytes())?;
    create(&dir.join("reader.css"), super::assets::get("reader.css").map_or("", |a| a.1).as_bytes())?;
    Ok(done)
}

/// One page's file; `true` if it was shown from its rendering.
fn page(store: &Store, blobs: &Blobs, wiki: &str, id: u64, title: &str, dir: &Path, done: &mut StaticCopy) -> anyhow::Result<bool> {
    let stored = store.wiki_page_by_title(wiki, title)?.filter(|p| p.pageid == id);
    let rendering = store.rendering(wiki, id)?;
    let (content, rendered) = match &rendering {
        Some(r) => {
            let present: HashMap<String, u64> = store.present_titles(wiki, &clean::linked_titles(&r.html))?;
            (PreEscaped(clean::clean(&r.html, wiki, present, Addresses::Static)), true)
        }
        None => {
            let text = match stored.as_ref().and_then(|p| p.rev_id) {
                Some(rev) => store.wiki_revision(wiki, rev)?.map(|r| r.text).unwrap_or_default(),
                None => String::new(),
            };
            (PreEscaped(html! { pre.wikitext { (text) } }.into_string()), false)
        }
    };
    // A File: page brings its file's current stored version.
    if title.starts_with("File:")
        && let Some(current) = store.file_versions(wiki, id)?.into_iter().find(|v| v.version.state == FileState::Stored)
    {
        let to = dir.join(clean::static_file(id, title.trim_start_matches("File:")));
        let from = blobs.path(&current.version.sha1)?;
        copy_new(&from, &to)?;
        done.files += 1;
    }
    let heading = match &rendering {
        Some(r) => PreEscaped(clean::clean_inline(&r.display_title)),
        None => PreEscaped(html! { (title) }.into_string()),
    };
    let body = html! {
        h1 { (heading) }
        article { (content) }
        @if let Some(r) = &rendering { @if !r.categories.is_empty() { p.categories { "Categories: " (r.categories.join(" · ")) } } }
    };
    create(&dir.join(format!("{id}.html")), shell(title, body).into_string().as_bytes())?;
    Ok(rendered)
}

/// A page of the static copy: its stylesheet and index by relative paths.
fn shell(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="Content-Security-Policy" content="script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                link rel="stylesheet" href="reader.css";
            }
            body {
                header { nav { a href="index.html" { "Index" } } }
                main { (body) }
            }
        }
    }
}

/// Creates `path` (never through an existing entry) holding `bytes`.
fn create(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(path).with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes).with_context(|| format!("writing {}", path.display()))
}

fn copy_new(from: &PathBuf, to: &Path) -> anyhow::Result<()> {
    let mut src = std::fs::File::open(from).with_context(|| format!("reading {}", from.display()))?;
    let mut dst = std::fs::OpenOptions::new().write(true).create_new(true).open(to).with_context(|| format!("creating {}", to.display()))?;
    std::io::copy(&mut src, &mut dst).with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    Ok(())
}
