//! Reading the settings: the config file found and parsed, environment
//! overrides mapped to its keys, relative paths anchored at the file's
//! directory, and every problem of a file found with its line.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::Settings;

impl Settings {
    /// Where the config file is: the flag, else `$OAI_MIRROR_CONFIG`, else
    /// the user's config directory if it has one.
    pub fn config_path(explicit: Option<&Path>) -> Option<PathBuf> {
        match explicit {
            Some(p) => Some(p.to_path_buf()),
            None => match std::env::var_os("OAI_MIRROR_CONFIG") {
                Some(p) => Some(PathBuf::from(p)),
                None => dirs::config_dir().map(|d| d.join("oai-mirror").join("config.toml")).filter(|p| p.exists()),
            },
        }
    }

    /// Reads the config file (if any) and the environment. Every problem
    /// of the file is reported at once, each with its line.
    pub fn load(explicit: Option<&Path>) -> anyhow::Result<Settings> {
        Settings::load_with(explicit, std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))))
    }

    /// [`Settings::load`] with the environment given.
    pub fn load_with(explicit: Option<&Path>, env: impl IntoIterator<Item = (String, String)>) -> anyhow::Result<Settings> {
        let path = Settings::config_path(explicit);
        let mut builder = config::Config::builder();
        let mut text = String::new();
        if let Some(p) = &path {
            text = match std::fs::read_to_string(p) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!("the config file {} does not exist", p.display()),
                Err(e) => return Err(e).with_context(|| format!("reading the config file {}", p.display())),
            };
            let problems = problems_in(&text);
            if !problems.is_empty() {
                let list: Vec<String> = problems.iter().map(|x| x.located(p)).collect();
                bail!("{} problem(s) in the config file:\n  {}", problems.len(), list.join("\n  "));
            }
            builder = builder.add_source(config::File::from_str(&text, config::FileFormat::Toml));
        }
        // After the file, so that the environment overrides it.
        let overrides = env_overrides(&text, env)?;
        for (key, _, value) in &overrides {
            builder = builder.set_override(key.as_str(), value.as_str()).with_context(|| format!("the environment's {key}"))?;
        }
        let shown = match (&path, overrides.is_empty()) {
            (Some(p), true) => p.display().to_string(),
            (Some(p), false) => format!("{} with the environment's {}", p.display(), overrides.iter().map(|o| o.1.as_str()).collect::<Vec<_>>().join(", ")),
            (None, _) => format!("the environment's {}", overrides.iter().map(|o| o.1.as_str()).collect::<Vec<_>>().join(", ")),
        };
        let built = builder.build().with_context(|| format!("reading {shown}"))?;
        let mut settings: Settings = built.try_deserialize().with_context(|| format!("in {shown}"))?;
        settings.path = path.clone();
        if let Some(dir) = path.as_deref().and_then(Path::parent) {
            settings.anchor_paths(dir, |key| overrides.iter().any(|o| o.0 == key));
        }
        Ok(settings)
    }

    /// Relative paths written in the config file are taken from the file's
    /// directory, as whoever keeps files beside it expects, whatever
    /// directory the program starts in (a service starts in `/`). A path
    /// given in the environment (`from_env` says which keys, as paths:
    /// `sync.NAME.checkout`) is relative to the working directory, like one
    /// given on the command line.
    pub(super) fn anchor_paths(&mut self, dir: &Path, from_env: impl Fn(&str) -> bool) {
        let anchor = |path: &mut Option<PathBuf>, key: String| {
            if let Some(p) = path.as_mut()
                && p.is_relative()
                && !from_env(&key)
            {
                *p = dir.join(&*p);
            }
        };
        anchor(&mut self.db, "db".into());
        anchor(&mut self.daemon.token_file, "daemon.token_file".into());
        anchor(&mut self.files.dir, "files.dir".into());
        for (name, source) in &mut self.source {
            anchor(&mut source.password_file, format!("source.{name}.password_file"));
        }
        for (name, wiki) in &mut self.wiki {
            anchor(&mut wiki.password_file, format!("wiki.{name}.password_file"));
            anchor(&mut wiki.oai_password_file, format!("wiki.{name}.oai_password_file"));
        }
        for (name, sync) in &mut self.sync {
            anchor(&mut sync.checkout, format!("sync.{name}.checkout"));
            anchor(&mut sync.packages, format!("sync.{name}.packages"));
        }
    }
}

/// The top-level keys: an environment variable names one of these first.
const TOP_LEVEL: &[&str] = &["db", "contact", "http", "harvest", "source", "wiki", "sync", "group", "daemon", "serve", "files"];

/// The tables whose second level is a NAME the user chose.
const NAMED_TABLES: &[&str] = &["source", "wiki", "sync", "group"];

/// The config keys the environment sets: `OAI_MIRROR_DB` is `db`,
/// `OAI_MIRROR_HTTP__MAX_ATTEMPTS` is `http.max_attempts`,
/// `OAI_MIRROR_SOURCE__ARXIV_CS__SET` is `source.arxiv-cs.set` when the file
/// has a `[source.arxiv-cs]` (an environment name cannot hold a `-`, so a
/// NAME matches whatever its case and with `_` for `-`). Variables of the
/// prefix that are no key (`OAI_MIRROR_CONFIG`, a token named in
/// `token_env`) are not config; one with `__` that names no table is an
/// error, not silently ignored. Returns (key, variable, value).
fn env_overrides(file_text: &str, env: impl IntoIterator<Item = (String, String)>) -> anyhow::Result<Vec<(String, String, String)>> {
    let file: toml::Table = file_text.parse().unwrap_or_default();
    let mut out = Vec::new();
    for (variable, value) in env {
        let Some(rest) = variable.strip_prefix("OAI_MIRROR_") else { continue };
        let parts: Vec<String> = rest.split("__").map(str::to_lowercase).collect();
        if !TOP_LEVEL.contains(&parts[0].as_str()) {
            if parts.len() > 1 {
                bail!("the environment variable {variable} names `{}`, which is no part of the config (its tables: {})", parts[0], TOP_LEVEL.join(", "));
            }
            continue;
        }
        let mut key = parts.clone();
        if NAMED_TABLES.contains(&parts[0].as_str())
            && let Some(given) = parts.get(1)
            && let Some(toml::Value::Table(names)) = file.get(&parts[0])
            && let Some(name) = names.keys().find(|n| n.to_lowercase().replace('-', "_") == given.replace('-', "_"))
        {
            key[1] = name.clone();
        }
        out.push((key.join("."), variable, value));
    }
    out.sort();
    Ok(out)
}

/// A problem of the config file, at its line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileProblem {
    pub line: Option<usize>,
    pub message: String,
}

impl FileProblem {
    /// `PATH:LINE: message`, as compilers write it.
    pub fn located(&self, path: &Path) -> String {
        match self.line {
            Some(l) => format!("{}:{l}: {}", path.display(), self.message),
            None => format!("{}: {}", path.display(), self.message),
        }
    }
}

/// Every problem of a config file's text, each with its line: TOML that
/// does not parse (one error: what follows it cannot be trusted), unknown
/// keys and tables at every level, values of the wrong type, missing keys.
/// The TOML deserializer stops at the first; each problem's lines are
/// blanked (its whole table, for a table header) and the text read again,
/// so one run reports them all.
pub fn problems_in(text: &str) -> Vec<FileProblem> {
    let line_at = |text: &str, offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    if let Err(e) = text.parse::<toml::Table>() {
        return vec![FileProblem { line: e.span().map(|s| line_at(text, s.start)), message: e.message().trim().to_string() }];
    }
    let mut text = text.to_string();
    let mut out = Vec::new();
    // Each round blanks at least one line, so this ends; the bound is a guard.
    for _ in 0..=text.lines().count() {
        let Err(e) = toml::from_str::<Settings>(&text) else { break };
        let Some(span) = e.span() else {
            out.push(FileProblem { line: None, message: e.message().trim().to_string() });
            break;
        };
        let (first, last) = (line_at(&text, span.start), line_at(&text, span.end.saturating_sub(1).max(span.start)));
        let lines: Vec<&str> = text.lines().collect();
        let header_line = |n: usize| lines.get(n - 1).is_some_and(|l| l.trim_start().starts_with('['));
        let table = (1..=first).rev().find(|&n| header_line(n)).map(|n| lines[n - 1].trim().trim_start_matches('[').trim_end_matches(']').to_string());
        let message = e.message().trim().to_string();
        let message = match table.filter(|_| !header_line(first)) {
            Some(t) => format!("[{t}] {message}"),
            None => message,
        };
        out.push(FileProblem { line: Some(first), message });
        // A table header's problem takes the table's lines with it, so
        // its keys are not read as the previous table's.
        let last = if header_line(first) { (first + 1..=lines.len()).find(|&n| header_line(n)).map_or(lines.len(), |n| n - 1) } else { last.max(first) };
        let blanked: String = text
            .split_inclusive('\n')
            .enumerate()
            .map(|(i, l)| if (first..=last).contains(&(i + 1)) { if l.ends_with('\n') { "\n".to_string() } else { String::new() } } else { l.to_string() })
            .collect();
        if blanked == text {
            break;
        }
        text = blanked;
    }
    out.sort_by_key(|p| p.line);
    out
}
