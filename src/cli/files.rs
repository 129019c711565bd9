//! `files`: a mirrored wiki's file versions, with their hashes and where
//! their bytes are.

use std::io::Write;

use checkpoints::{FileState, Store, StoredFile};

use crate::settings::Settings;

pub(super) fn files(settings: &Settings, store: &Store, name: &str, title: Option<&str>, json: bool) -> anyhow::Result<()> {
    let versions: Vec<StoredFile> = match title {
        Some(t) => {
            let t = if t.contains(':') { t.to_string() } else { format!("File:{t}") };
            let page = super::wiki::find_page(settings, store, name, &t)?;
            store.file_versions(name, page.pageid)?
        }
        None => {
            super::wiki::known_wiki(settings, store, name)?;
            store.wiki_files(name)?
        }
    };
    let blobs = crate::mirror::files::blobs(store, settings.files.dir.as_deref()).ok();
    let mut out = std::io::BufWriter::new(super::terminal::stdout());
    for f in &versions {
        let v = &f.version;
        let path = match (&blobs, v.state) {
            (Some(b), FileState::Stored) => b.path(&v.sha1).ok().map(|p| p.display().to_string()),
            _ => None,
        };
        if json {
            let line = serde_json::json!({
                "pageid": f.pageid, "title": f.title, "deleted": f.deleted, "timestamp": v.timestamp, "sha1": v.sha1, "size": v.size,
                "mime": v.mime, "user": v.user, "comment": v.comment, "url": v.url, "state": v.state.as_str(), "path": path,
                "attempts": f.attempts, "bad_downloads": f.bad, "error": f.error,
            });
            writeln!(out, "{line}")?;
        } else {
            let deleted = if f.deleted { " (page deleted)" } else { "" };
            let sha1 = if v.sha1.is_empty() { "-".repeat(40) } else { v.sha1.clone() };
            writeln!(out, "{sha1}  {:>10}  {}  {:<11}  {}{deleted}", v.size, v.timestamp, v.state.as_str(), f.title)?;
        }
    }
    out.flush()?;
    Ok(())
}
