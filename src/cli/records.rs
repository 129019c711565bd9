//! `records`, `record`, `cat` and `forget`: what harvests stored, got out.
//! A source is named as the config names it (`[source.NAME]`), or by its
//! base URL.

use std::collections::{HashMap, HashSet};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use checkpoints::{Deleted, RecordFilter, Source, Store};

use crate::jobs::{self, Kind, Work};
use crate::records::{self, Format};
use crate::settings::Settings;

/// The stored sources that SOURCE names: a `[source.NAME]` (exactly its
/// repository, format and set), else every source at that base URL.
pub(super) fn sources_named(settings: &Settings, store: &Store, name: &str) -> anyhow::Result<Vec<Source>> {
    if settings.source.contains_key(name) {
        let Work::Harvest(job) = jobs::one(settings, Kind::Harvest, name)?.work else { unreachable!("a [source.*] resolves to a harvest") };
        return match store.find_source(&job.source)? {
            Some(source) => Ok(vec![source]),
            None => bail!("[source.{name}] ({}) has not been harvested into this database yet: run `oai-mirror harvest {name}`", job.source.base_url),
        };
    }
    if name.contains("://") {
        let found = store.sources_at(name)?;
        if found.is_empty() {
            let known: Vec<String> = store.sources()?.into_iter().map(|s| s.key.base_url).collect();
            bail!(
                "no source with base URL {name} in this database{}",
                if known.is_empty() { String::new() } else { format!(" (it has {})", known.join(", ")) }
            );
        }
        return Ok(found);
    }
    bail!("source {name:?} {}, and it is not a URL", jobs::not_configured(settings, Kind::Harvest, name))
}

/// How each stored source is shown: its config NAME where one has its
/// exact key, else its base URL (with the prefix and set where the URL
/// alone would be ambiguous).
pub(super) fn labels(settings: &Settings, sources: &[Source]) -> HashMap<i64, String> {
    let named: HashMap<checkpoints::SourceKey, &str> = settings
        .source
        .keys()
        .filter_map(|name| match jobs::one(settings, Kind::Harvest, name).ok()?.work {
            Work::Harvest(job) => Some((job.source, name.as_str())),
            _ => None,
        })
        .collect();
    sources
        .iter()
        .map(|s| {
            let label = match named.get(&s.key) {
                Some(name) => name.to_string(),
                None if sources.iter().filter(|o| o.key.base_url == s.key.base_url).count() > 1 => {
                    format!("{} [{}{}]", s.key.base_url, s.key.metadata_prefix, s.key.set_spec.as_ref().map(|x| format!(" set {x}")).unwrap_or_default())
                }
                None => s.key.base_url.clone(),
            };
            (s.id, label)
        })
        .collect()
}

fn source_ids(settings: &Settings, store: &Store, source: Option<&str>) -> anyhow::Result<Vec<i64>> {
    match source {
        Some(name) => Ok(sources_named(settings, store, name)?.into_iter().map(|s| s.id).collect()),
        None => Ok(Vec::new()),
    }
}

/// Ends a listing: a closed pipe (`| head`) is not an error.
fn finish(result: std::io::Result<()>) -> anyhow::Result<()> {
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

pub(super) fn records(settings: &Settings, store: &Store, source: Option<&str>, json: bool) -> anyhow::Result<()> {
    let filter = RecordFilter { sources: source_ids(settings, store, source)?, ..RecordFilter::default() };
    let labels = labels(settings, &store.sources()?);
    let mut out = BufWriter::new(super::terminal::stdout());
    let mut result = Ok(());
    store.for_each_record_header_filtered(&filter, |r| {
        let source = labels.get(&r.source_id).map_or("", String::as_str);
        result = if json {
            let line = serde_json::json!({
                "source": source,
                "identifier": r.identifier,
                "datestamp": r.datestamp,
                "deleted": r.deleted,
                "sets": r.sets,
                "first_seen": super::rfc3339(r.first_seen),
                "last_seen": super::rfc3339(r.last_seen),
            });
            writeln!(out, "{line}")
        } else {
            writeln!(out, "{source}\t{}\t{}\t{}\t{}", r.identifier, r.datestamp, if r.deleted { "deleted" } else { "-" }, r.sets.join(" "))
        };
        result.is_ok()
    })?;
    finish(result.and_then(|()| out.flush()))
}

pub(super) fn record(settings: &Settings, store: &Store, identifier: &str, source: Option<&str>) -> anyhow::Result<()> {
    let ids = source_ids(settings, store, source)?;
    let found: Vec<_> = store.record(identifier)?.into_iter().filter(|r| ids.is_empty() || ids.contains(&r.source_id)).collect();
    let Some(r) = found.first() else { bail!("no record {identifier} in the store{}", source.map(|s| format!(" from {s}")).unwrap_or_default()) };
    if found.len() > 1 {
        tracing::warn!(copies = found.len(), "several sources hold this record; showing the first (use --source)");
    }
    match &r.metadata {
        Some(m) => {
            let mut out = super::terminal::stdout();
            out.write_all(m)?;
            out.write_all(b"\n")?;
            Ok(())
        }
        None if r.deleted => bail!("record {identifier} is deleted (datestamp {})", r.datestamp),
        None => bail!("record {identifier} has no metadata"),
    }
}

#[derive(Debug, clap::Args)]
pub struct CatArgs {
    /// A [source.NAME] of the config or a base URL [default: every source]
    pub source: Option<String>,
    /// Only records in this set (or a set below it)
    #[arg(long)]
    pub set: Option<String>,
    /// Only sources harvested in this metadataPrefix
    #[arg(long)]
    pub prefix: Option<String>,
    /// Only records with a datestamp on or after this (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ)
    #[arg(long)]
    pub from: Option<String>,
    /// Only records with a datestamp on or before this (a day: the whole day)
    #[arg(long)]
    pub until: Option<String>,
    /// Deleted records too, not at all, or only them
    #[arg(long, value_enum, default_value = "include")]
    pub deleted: DeletedArg,
    /// xml: one document of records with their headers; jsonl: one JSON object per line; payload: the metadata only
    #[arg(long, value_enum, default_value = "xml")]
    pub format: Format,
    /// Write one file per record into this directory instead (safe names, each written atomically)
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Only what was stored since the last `cat --since-last NAME` that ran to its end (everything, the
    /// first time): a delta to hand on. The cursor NAME moves only when the output was written whole
    #[arg(long, value_name = "NAME")]
    pub since_last: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DeletedArg {
    Include,
    Exclude,
    Only,
}

/// A `--from`/`--until` date as Unix seconds; a day given as `until` is
/// the whole day.
fn date_bound(flag: &str, text: &str, until: bool) -> anyhow::Result<i64> {
    let t = oai::parse_datestamp(text).with_context(|| format!("--{flag} {text:?} is not a date: write YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ"))?;
    let whole_day = until && text.trim().len() == "YYYY-MM-DD".len();
    Ok(t.timestamp() + if whole_day { 86_399 } else { 0 })
}

pub(super) fn cat(settings: &Settings, store: &Store, args: &CatArgs) -> anyhow::Result<()> {
    let filter = RecordFilter {
        sources: source_ids(settings, store, args.source.as_deref())?,
        prefix: args.prefix.clone(),
        set: args.set.clone(),
        from_unix: args.from.as_deref().map(|d| date_bound("from", d, false)).transpose()?,
        until_unix: args.until.as_deref().map(|d| date_bound("until", d, true)).transpose()?,
        deleted: match args.deleted {
            DeletedArg::Include => Deleted::Include,
            DeletedArg::Exclude => Deleted::Exclude,
            DeletedArg::Only => Deleted::Only,
        },
        stored: None,
    };
    // A delta: the versions stored after the cursor, up to the store's
    // newest now (what is stored meanwhile comes next time).
    let cursor = match &args.since_last {
        Some(name) => Some((name.as_str(), store.last_stored_seq()?)),
        None => None,
    };
    let filter = match cursor {
        Some((name, upto)) => RecordFilter { stored: Some((store.cat_cursor(name)?.unwrap_or(0), upto)), ..filter },
        None => filter,
    };
    let advance = |store: &Store| -> anyhow::Result<()> {
        if let Some((name, upto)) = cursor {
            store.set_cat_cursor(name, upto, chrono::Utc::now().timestamp())?;
        }
        Ok(())
    };
    let sources = store.sources()?;
    let labels = labels(settings, &sources);
    let label = |id: i64| labels.get(&id).map_or("", String::as_str);
    if let Some(dir) = &args.dir {
        cat_to_dir(store, &sources, &filter, args.format, dir, &labels)?;
        return advance(store);
    }
    // Large writes: a record is a few hundred bytes to a few KB.
    let mut out = BufWriter::with_capacity(1 << 18, super::terminal::stdout());
    let mut result = if args.format == Format::Xml { out.write_all(records::XML_START.as_bytes()) } else { Ok(()) };
    if result.is_ok() {
        store.for_each_latest(&filter, |r| {
            result = records::write(&mut out, args.format, &r, label(r.source_id));
            result.is_ok()
        })?;
    }
    if args.format == Format::Xml {
        result = result.and_then(|()| out.write_all(records::XML_END.as_bytes()));
    }
    let result = result.and_then(|()| out.flush());
    // Only a delta written whole moves its cursor (a reader gone, `| head`, did not get it all).
    if result.is_ok() {
        advance(store)?;
    }
    finish(result)
}

/// A file per record in `dir`, the directory kept as the selection says
/// the records are now: a record deleted at its source has its file
/// removed when the files hold no deletions (`--deleted exclude`, or the
/// payload format, which has nothing to write for one); otherwise its file
/// says it is deleted. Run again after each harvest, the directory follows.
fn cat_to_dir(store: &Store, sources: &[Source], filter: &RecordFilter, format: Format, dir: &Path, labels: &HashMap<i64, String>) -> anyhow::Result<()> {
    let label = |id: i64| labels.get(&id).map_or("", String::as_str);
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    // Deleted records are walked even when they are not written: their
    // files from an earlier run go.
    let walk = RecordFilter { deleted: if filter.deleted == Deleted::Exclude { Deleted::Include } else { filter.deleted }, ..filter.clone() };
    // Records of several sources (repositories, formats, sets) go into a
    // directory per source, named as `records` names it: one identifier in
    // three of them is three files, never one written three times.
    let matching = sources.iter().filter(|s| filter.sources.is_empty() || filter.sources.contains(&s.id));
    let several = matching.filter(|s| filter.prefix.as_ref().is_none_or(|p| *p == s.key.metadata_prefix)).count() > 1;
    let mut taken: HashMap<PathBuf, HashSet<String>> = HashMap::new();
    let mut whose: HashMap<PathBuf, (i64, String)> = HashMap::new();
    let (mut written, mut removed, mut failed) = (0u64, 0u64, None);
    store.for_each_latest(&walk, |r| {
        let dir = match several {
            true => dir.join(crate::sync::checkout::safe_name(label(r.source_id), "", &HashSet::new())),
            false => dir.to_path_buf(),
        };
        let names = taken.entry(dir.clone()).or_default();
        if names.is_empty()
            && let Err(e) = std::fs::create_dir_all(&dir)
        {
            failed = Some(anyhow::Error::new(e).context(format!("creating {}", dir.display())));
            return false;
        }
        let name = crate::sync::checkout::safe_name(&r.identifier, format.extension(), names);
        names.insert(name.to_lowercase());
        // A file name is one record's: two records meeting in one is an error naming both.
        let path = dir.join(&name);
        match whose.get(&path) {
            Some((source, identifier)) if (*source, identifier.as_str()) != (r.source_id, r.identifier.as_str()) => {
                failed = Some(anyhow::anyhow!("{} and {} ({}) would both be written to {}", identifier, r.identifier, label(r.source_id), path.display()));
                return false;
            }
            _ => {
                whose.insert(path, (r.source_id, r.identifier.clone()));
            }
        }
        let content = if r.deleted && filter.deleted == Deleted::Exclude { None } else { records::file_content(format, &r, label(r.source_id)) };
        let done = match content {
            Some(content) => crate::util::replace_file(&dir, &name, &content).map(|()| written += 1),
            None if r.deleted => match std::fs::symlink_metadata(dir.join(&name)) {
                Ok(m) if m.is_file() => std::fs::remove_file(dir.join(&name)).map(|()| removed += 1),
                _ => Ok(()),
            },
            None => Ok(()),
        };
        match done {
            Ok(()) => true,
            Err(e) => {
                failed = Some(anyhow::Error::new(e).context(format!("writing {}", dir.join(&name).display())));
                false
            }
        }
    })?;
    if let Some(e) = failed {
        return Err(e.context(format!("{written} record files written and {removed} removed before")));
    }
    tracing::info!(files = written, removed, dir = %dir.display(), "records written; files of deleted records removed");
    Ok(())
}

pub(super) fn forget(settings: &Settings, store: &mut Store, name: &str, yes: bool) -> anyhow::Result<()> {
    let sources = sources_named(settings, store, name)?;
    let labels = labels(settings, &sources);
    let status = store.status()?;
    let count = |id: i64| status.iter().find(|s| s.source.id == id).map_or(0, |s| s.records);
    let listed: Vec<String> = sources.iter().map(|s| format!("{} ({} records)", labels[&s.id], count(s.id))).collect();
    if !yes {
        use std::io::IsTerminal;
        if !std::io::stdin().is_terminal() {
            bail!("forgetting {} removes its records' metadata and runs for good (served, they stay as deletions): pass --yes to confirm", listed.join(", "));
        }
        eprint!("Forget {}, with its records' metadata and runs? Served, its records stay as deletions. [y/N] ", listed.join(", "));
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            bail!("nothing forgotten");
        }
    }
    for s in &sources {
        let records = store.forget_source(s.id, chrono::Utc::now().timestamp())?;
        writeln!(super::terminal::stdout(), "forgot {}: {records} records (served from now on as deletions)", labels[&s.id])?;
    }
    Ok(())
}
