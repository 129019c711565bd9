//! `oai-mirror config check`: a config is read as the program would, and
//! every problem is reported with the line it is on.

use std::path::Path;

pub use crate::settings::FileProblem as Problem;
use crate::settings::Settings;

/// The line of `key` inside `[table]` (or of the table header itself).
fn line_of(text: &str, table: &str, key: Option<&str>) -> Option<usize> {
    let mut current = String::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if let Some(h) = l.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            current = h.trim().trim_matches('"').to_string();
            if key.is_none() && current == table {
                return Some(i + 1);
            }
            continue;
        }
        if let Some(k) = key
            && current == table
            && l.split('=').next().map(str::trim) == Some(k)
        {
            return Some(i + 1);
        }
    }
    None
}

/// Checks the config text; with `online`, also that every URL answers.
pub async fn check(path: &Path, online: bool) -> anyhow::Result<Vec<Problem>> {
    let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
    // Unknown keys, wrong types, missing keys: all of them, with lines.
    let mut problems = crate::settings::problems_in(&text);
    if !problems.is_empty() {
        return Ok(problems);
    }
    let settings = Settings::load(Some(path))?;
    if let Some(db) = &settings.db
        && let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty() && !d.is_dir())
    {
        problems
            .push(Problem { line: line_of(&text, "", Some("db")), message: format!("db: the directory {} does not exist; create it first", dir.display()) });
    }
    // The tables as every run resolves them: sync shapes, wiki names, schedules.
    let (jobs, unresolved) = crate::jobs::resolve(&settings);
    for p in unresolved {
        let line = line_of(&text, &p.table, p.key).or_else(|| line_of(&text, &p.table, None));
        problems.push(Problem { line, message: p.to_string() });
    }
    // Secrets are read at run time, not when resolving; checked here.
    for name in settings.wiki.keys() {
        if let Err(e) = settings.wiki_options(name) {
            problems.push(Problem { line: line_of(&text, &format!("wiki.{name}"), None), message: format!("{e:#}") });
        }
    }
    // The daemon's token only matters to a config that runs the daemon:
    // one with a [daemon] table or a job on a schedule.
    let runs_daemon = text.lines().any(|l| l.trim() == "[daemon]") || jobs.iter().any(|j| j.schedule.is_some());
    if runs_daemon && let Err(e) = settings.daemon_token() {
        problems.push(Problem { line: line_of(&text, "daemon", None), message: format!("{e:#} (needed by `oai-mirror run`)") });
    }
    // The tokens of the mirrors to notify are read at run time; checked here.
    for target in settings.serve.iter().flat_map(|s| &s.notify) {
        if let Err(why) = target.token() {
            let line = text.lines().position(|l| l.contains(&target.url)).map(|i| i + 1);
            problems.push(Problem { line, message: format!("[[serve.notify]] {}: its token cannot be read: {why:#}", target.url) });
        }
    }
    if online {
        crate::util::install_tls();
        let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build()?;
        let mut urls: Vec<(String, &str, String)> = Vec::new();
        for (n, s) in &settings.source {
            urls.push((format!("source.{n}"), "url", s.url.clone()));
        }
        for (n, w) in &settings.wiki {
            urls.push((format!("wiki.{n}"), "api", w.api.clone()));
            if let Some(o) = &w.oai {
                urls.push((format!("wiki.{n}"), "oai", o.clone()));
            }
        }
        for (table, key, url) in urls {
            // A URL that is not http(s) is reported by the job's own check.
            if !url::Url::parse(&url).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
                continue;
            }
            if let Err(e) = http.get(&url).send().await {
                problems.push(Problem { line: line_of(&text, &table, Some(key)), message: format!("[{table}] {key}: {url} does not answer: {e}") });
            }
        }
    }
    Ok(problems)
}

#[cfg(test)]
mod tests;
