//! `export`, `import` and `package show`: MediaWiki XML packages.

use std::io::Write;
use std::path::Path;

use anyhow::bail;
use checkpoints::Store;

use crate::package::{self, ExportOptions, Since, manifest::Manifest};
use crate::settings::Settings;
use crate::util::blocking;

pub(super) struct ExportArgs<'a> {
    pub name: &'a str,
    pub out: &'a Path,
    pub full: bool,
    pub since: Option<&'a Path>,
    pub history: bool,
    pub files: bool,
    pub json: bool,
}

pub(super) fn export(settings: &Settings, store: &mut Store, args: &ExportArgs<'_>) -> anyhow::Result<()> {
    if !store.has_wiki(args.name)? {
        let stored = store.wiki_names()?;
        let known = if stored.is_empty() {
            "this database has no wiki yet (run `oai-mirror mirror NAME` first)".to_string()
        } else {
            format!("this database has pages of {}", stored.join(", "))
        };
        bail!("wiki {:?} has no pages in the database to export: {known}", args.name);
    }
    if args.out.is_dir() {
        bail!("--out {} is a directory: give the package's file name, e.g. {}/{}-0001.tar", args.out.display(), args.out.display(), args.name);
    }
    let since = match (args.full, args.since) {
        (true, _) => Since::Full,
        (false, Some(path)) => Since::Package(Box::new(blocking(|| package::verify(path))?)),
        (false, None) => Since::Last,
    };
    let opts = ExportOptions {
        wiki: args.name.to_string(),
        stream_key: args.name.to_string(),
        site: settings.wiki.get(args.name).map(|w| w.api.clone()),
        since,
        history: args.history,
        sync: None,
        ack: None,
        files: args.files.then(|| crate::mirror::files::blobs(store, settings.files.dir.as_deref())).transpose()?,
    };
    let exported = blocking(|| package::export(store, &opts, args.out))?;
    let m = &exported.manifest;
    let size = std::fs::metadata(args.out).map(|m| m.len()).unwrap_or(0);
    let mut out = super::terminal::stdout();
    if args.json {
        let summary = serde_json::json!({
            "package": args.out, "bytes": size, "xml_bytes": exported.xml_bytes, "wiki": m.wiki, "stream": m.stream, "sequence": m.sequence,
            "follows": m.follows.map(|f| f.sequence), "history": m.history, "pages": m.pages, "revisions": m.revisions,
            "moved": m.moves.len(), "deleted": m.deletions.len(), "undeleted": m.undeletions.len(),
            "file_versions": m.files.as_ref().map(|f| f.versions), "file_contents": m.files.as_ref().map(|f| f.contents),
        });
        writeln!(out, "{summary}")?;
    } else {
        writeln!(
            out,
            "{}: package {} ({}) written to {}: {} pages, {} revisions, {} moved, {} deleted, {} undeleted; {} bytes ({} of XML)",
            m.wiki,
            m.sequence,
            m.follows.map_or("full".to_string(), |f| format!("after package {}", f.sequence)),
            args.out.display(),
            m.pages,
            m.revisions,
            m.moves.len(),
            m.deletions.len(),
            m.undeletions.len(),
            size,
            exported.xml_bytes,
        )?;
    }
    Ok(())
}

pub(super) fn import(settings: &Settings, db: &Path, path: &Path, local: Option<&str>, json: bool) -> anyhow::Result<()> {
    if blocking(|| package::dump::is_dump(path))? {
        let Some(local) = local else {
            bail!("{} is a MediaWiki XML dump, not a package: name the wiki it goes into with --as NAME", path.display());
        };
        return import_dump(db, path, local, json);
    }
    let local = match local {
        Some(name) => name.to_string(),
        None => blocking(|| package::verify(path))?.wiki,
    };
    // A database this import creates is removed again if nothing comes of it.
    let new = !db.exists();
    let import = || -> anyhow::Result<package::Imported> {
        let mut store = super::open(db)?;
        let files = crate::mirror::files::blobs(&store, settings.files.dir.as_deref()).ok();
        package::import(&mut store, path, &local, files.as_ref())
    };
    let done = match blocking(import) {
        Ok(done) => done,
        Err(e) if new => {
            for suffix in ["", "-wal", "-shm"] {
                let file = format!("{}{suffix}", db.display());
                let _ = std::fs::remove_file(file);
            }
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    let mut out = super::terminal::stdout();
    if json {
        writeln!(out, "{}", serde_json::to_string(&done)?)?;
    } else if done.already_applied {
        writeln!(out, "{local}: package {} of {} is applied already; nothing to do", done.sequence, path.display())?;
    } else {
        writeln!(
            out,
            "{local}: package {} applied: {} pages, {} revisions: {} created, {} updated, {} moved, {} deleted, {} undeleted{}",
            done.sequence,
            done.pages,
            done.revisions,
            done.counts.created,
            done.counts.updated,
            done.counts.moved,
            done.counts.deleted,
            done.counts.undeleted,
            if done.files > 0 { format!("; {} file versions stored", done.files) } else { String::new() }
        )?;
    }
    Ok(())
}

pub(super) fn show(path: &Path, json: bool) -> anyhow::Result<()> {
    let m: Manifest = blocking(|| package::verify(path))?;
    let mut out = super::terminal::stdout();
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&m)?)?;
        return Ok(());
    }
    writeln!(out, "{} is whole: {}", path.display(), package::manifest::describe(&m))?;
    match m.follows {
        None => writeln!(out, "full: every page up to store sequence {}", m.end)?,
        Some(f) => writeln!(out, "continues package {}: changes after store sequence {} up to {}", f.sequence, f.end, m.end)?,
    }
    writeln!(out, "{} pages, {} revisions ({}), written {}", m.pages, m.revisions, if m.history { "history" } else { "current revisions" }, m.created)?;
    for mv in &m.moves {
        writeln!(out, "moved: page {} [[{}]] -> [[{}]]", mv.page, mv.from, mv.to)?;
    }
    for d in &m.deletions {
        writeln!(out, "deleted: page {} [[{}]]", d.page, d.title)?;
    }
    for u in &m.undeletions {
        writeln!(out, "undeleted: page {} [[{}]]", u.page, u.title)?;
    }
    Ok(())
}

/// `export NAME --html DIR`: the static copy.
pub(super) fn export_html(settings: &Settings, store: &Store, name: &str, dir: &Path, json: bool) -> anyhow::Result<()> {
    let blobs = crate::mirror::files::blobs(store, settings.files.dir.as_deref())?;
    let done = crate::read::static_copy::write(store, &blobs, name, dir)?;
    let mut out = super::terminal::stdout();
    if json {
        writeln!(out, "{}", serde_json::to_string(&done)?)?;
    } else {
        writeln!(
            out,
            "{name}: a static copy in {}: {} pages ({} as wikitext, not rendered), {} files; open {}",
            dir.display(),
            done.pages,
            done.unrendered,
            done.files,
            dir.join("index.html").display()
        )?;
    }
    Ok(())
}

/// `import DUMP --as NAME`.
fn import_dump(db: &Path, path: &Path, local: &str, json: bool) -> anyhow::Result<()> {
    // A database this import creates is removed again if nothing comes of it.
    let new = !db.exists();
    let done = match blocking(|| package::dump::import_dump(&mut super::open(db)?, path, local)) {
        Ok(done) => done,
        Err(e) => {
            let empty = || checkpoints::Store::open_read_only(db).and_then(|s| s.wiki_names()).is_ok_and(|w| w.is_empty());
            if new && empty() {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
                }
            }
            return Err(e);
        }
    };
    let mut out = super::terminal::stdout();
    if json {
        writeln!(out, "{}", serde_json::to_string(&done)?)?;
    } else {
        let bad =
            if done.bad_sha1 > 0 { format!("; {} revisions whose text is not what the dump's SHA-1 says (see the log)", done.bad_sha1) } else { String::new() };
        writeln!(
            out,
            "{local}: dump {} ({}) imported: {} pages, {} revisions: {} created, {} updated, {} moved{bad}; `mirror {local}` goes on from {}",
            path.display(),
            done.compression,
            done.pages,
            done.revisions,
            done.counts.created,
            done.counts.updated,
            done.counts.moved,
            done.newest.as_deref().unwrap_or("its first pull")
        )?;
    }
    Ok(())
}
