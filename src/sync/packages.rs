//! The exchange of a sync by packages: what this site reads from the
//! directory the two sites share (a USB stick carried between them) before
//! a run, and what it leaves there after.
//!
//! Both sites name the sync alike (`[sync.NAME]`): a package says which
//! sync wrote it, and a site applies only its own sync's packages from the
//! other site (the first other stream it meets, and no other after that).
//! Each site writes packages of its own wiki (`WIKI-STREAM-SEQUENCE.tar`,
//! see `crate::package`) and applies the other site's to its copy of the
//! other wiki in the store (`NAME.remote`), which the run syncs with the
//! local wiki like any other side. Delivery is serial and acknowledgement:
//! every package carries the last package of the other site's applied
//! here (`ack`), and holds every change since the last package of this
//! site's that the other site acknowledged. So a package lost, forgotten,
//! carried twice or out of order loses nothing and applies nothing twice;
//! a gap is reported and waited for. Packages of this site's that the other
//! acknowledged, or that a newer one covers, are removed.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use checkpoints::Store;

use crate::package::{self, ExportOptions, Since, manifest::Ack, manifest::Follows, manifest::Manifest};
use crate::util::lock;

/// A package found in the directory, and its manifest.
type Listed = (PathBuf, Manifest);

/// One sync's exchange.
pub struct Exchange<'a> {
    pub dir: &'a Path,
    /// The `[sync.NAME]`.
    pub sync: &'a str,
    /// The local wiki's name (its mirror in the store is what is sent).
    pub local: &'a str,
    /// The local wiki's API, for the packages' `<siteinfo>`.
    pub site: Option<String>,
    /// Send every revision, not only the current ones.
    pub history: bool,
}

impl Exchange<'_> {
    /// The other site's wiki in this store.
    pub fn remote(&self) -> String {
        format!("{}.remote", self.sync)
    }

    fn stream_key(&self) -> String {
        format!("sync.{}", self.sync)
    }

    /// This site's stream of packages, made the first time.
    pub fn own_stream(&self, store: &mut Store) -> anyhow::Result<String> {
        if let Some(s) = store.package_export_stream(&self.stream_key())? {
            return Ok(s.stream);
        }
        let stream = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
        store.record_package_export(&self.stream_key(), &stream, 0, 0)?;
        Ok(stream)
    }

    /// The packages in the directory, with their manifests (checked against
    /// their own checksum); unreadable ones as lines to tell.
    fn listed(&self) -> anyhow::Result<(Vec<Listed>, Vec<String>)> {
        let mut found = Vec::new();
        let mut notes = Vec::new();
        let entries = match std::fs::read_dir(self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((found, notes)),
            Err(e) => return Err(anyhow::anyhow!("reading the packages directory {}: {e}", self.dir.display())),
        };
        for entry in entries {
            let path = entry?.path();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if name.starts_with('.') || !name.ends_with(".tar") || !path.is_file() {
                continue;
            }
            match package::peek(&path) {
                Ok(m) => found.push((path, m)),
                Err(e) => notes.push(format!("{name}: not read ({e:#})")),
            }
        }
        found.sort_by(|a, b| (a.1.stream.as_str(), a.1.sequence).cmp(&(b.1.stream.as_str(), b.1.sequence)));
        Ok((found, notes))
    }

    /// Applies the other site's packages not applied yet, oldest first.
    /// Returns lines to tell (gaps, packages refused).
    pub fn receive(&self, store: &Mutex<Store>) -> anyhow::Result<Vec<String>> {
        let own = self.own_stream(&mut lock(store))?;
        let remote = self.remote();
        let (found, mut notes) = self.listed()?;
        let mut expected = lock(store).package_import_state(&remote)?.map(|s| s.stream);
        for (path, m) in found.iter().filter(|(_, m)| m.stream != own) {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            // Another sync's packages, or a third site's: not ours to apply.
            if m.sync.as_deref() != Some(self.sync) || m.ack.as_ref().is_some_and(|a| a.stream != own) || expected.as_ref().is_some_and(|s| *s != m.stream) {
                notes.push(format!("{name}: {} is not from the other site of this sync; left alone", package::manifest::describe(m)));
                continue;
            }
            let applied = lock(store).package_import_state(&remote)?;
            if applied.as_ref().is_some_and(|a| m.end <= a.end_seq) {
                continue;
            }
            let result = crate::util::blocking(|| package::import(&mut lock(store), path, &remote, None));
            match result {
                Ok(done) => {
                    expected = Some(m.stream.clone());
                    notes.push(format!(
                        "{name}: package {} of the other site applied: {} pages ({} moved, {} deleted)",
                        done.sequence, done.pages, done.counts.moved, done.counts.deleted
                    ));
                }
                // A gap, a damaged copy: said, and the others still tried
                // (a later package may cover the missing one).
                Err(e) => notes.push(format!("{name}: not applied: {e:#}")),
            }
        }
        Ok(notes)
    }

    /// Leaves a package of the local wiki for the other site when it has
    /// something new (changes, or a new acknowledgement), and removes this
    /// site's packages that one covers or that the other site has applied.
    pub fn send(&self, store: &Mutex<Store>) -> anyhow::Result<Option<String>> {
        let mut s = lock(store);
        let own = self.own_stream(&mut s)?;
        let state = s.package_import_state(&self.remote())?;
        let ack = state.as_ref().map(|st| Ack { stream: st.stream.clone(), sequence: st.sequence, end: st.end_seq });
        let acked = state.as_ref().and_then(|st| st.acked);
        let (found, _) = self.listed()?;
        let mine: Vec<&Listed> = found.iter().filter(|(_, m)| m.stream == own).collect();
        let newest = mine.iter().map(|(_, m)| m).max_by_key(|m| m.sequence);
        let last_change = s.wiki_last_change(self.local)?;
        let needed = match newest {
            None => last_change > acked.map_or(0, |a| a.1) || ack.is_some(),
            Some(m) => m.ack != ack || last_change > m.end,
        };
        let mut written = None;
        if needed {
            std::fs::create_dir_all(self.dir).map_err(|e| anyhow::anyhow!("creating the packages directory {}: {e}", self.dir.display()))?;
            let next = s.package_export_stream(&self.stream_key())?.map_or(1, |e| e.last_sequence + 1);
            let out = self.dir.join(format!("{}-{}-{next:06}.tar", file_safe(self.local), &own[..8]));
            let opts = ExportOptions {
                wiki: self.local.to_string(),
                stream_key: self.stream_key(),
                site: self.site.clone(),
                since: acked.map_or(Since::Full, |(sequence, end)| Since::After(Follows { sequence, end })),
                history: self.history,
                sync: Some(self.sync.to_string()),
                files: None,
                ack: ack.clone(),
            };
            let exported = crate::util::blocking(|| package::export(&mut s, &opts, &out))?;
            written = Some(format!(
                "{}: package {} for the other site: {} pages, {} moved, {} deleted{}",
                out.display(),
                exported.manifest.sequence,
                exported.manifest.pages,
                exported.manifest.moves.len(),
                exported.manifest.deletions.len(),
                ack.as_ref().map_or(String::new(), |a| format!("; acknowledges its package {}", a.sequence))
            ));
        }
        // The newest package covers every change since the acknowledged
        // one: older ones of this site's are not needed any more.
        let keep = if written.is_some() { None } else { newest.map(|m| m.sequence) };
        for (path, m) in mine {
            if Some(m.sequence) != keep {
                let _ = std::fs::remove_file(path);
            }
        }
        Ok(written)
    }
}

/// A wiki name as a file name's start: letters, digits, `-` and `_`.
fn file_safe(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
}
