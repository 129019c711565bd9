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
            if let Err(e) = http.get(&url).send().await {
                problems.push(Problem { line: line_of(&text, &table, Some(key)), message: format!("[{table}] {key}: {url} does not answer: {e}") });
            }
        }
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn problems_point_at_their_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[source.a]\nurl = \"http://127.0.0.1:9/oai\"\nprefx = \"x\"\n").unwrap();
        let p = check(&path, false).await.unwrap();
        assert_eq!(p[0].line, Some(3), "{p:?}");
        assert!(p[0].message.contains("prefx"), "{p:?}");

        std::fs::write(
            &path,
            "[daemon]\ntoken_env = \"NOPE_NOT_SET\"\n\n[source.a]\nurl = \"http://127.0.0.1:9/oai\"\nschedule = \"* * *\"\n\n[wiki.w]\napi = \"http://127.0.0.1:9/w/api.php\"\nuser = \"B@x\"\npassword_file = \"/nonexistent\"\nschedule = \"0 3 * * *\"\ntimezone = \"Mars/Base\"\n",
        )
        .unwrap();
        let p = check(&path, true).await.unwrap();
        let lines: Vec<(Option<usize>, &str)> = p.iter().map(|x| (x.line, x.message.as_str())).collect();
        assert!(lines.iter().any(|(l, m)| *l == Some(6) && m.contains("3 fields")), "{lines:?}");
        assert!(lines.iter().any(|(l, m)| *l == Some(13) && m.contains("unknown time zone")), "{lines:?}");
        assert!(lines.iter().any(|(l, m)| *l == Some(8) && m.contains("password_file")), "{lines:?}");
        assert!(lines.iter().any(|(l, m)| *l == Some(1) && m.contains("NOPE_NOT_SET")), "{lines:?}");
        assert!(lines.iter().any(|(l, m)| *l == Some(5) && m.contains("does not answer")), "{lines:?}");
    }

    #[tokio::test]
    async fn a_mirror_to_notify_needs_its_token() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[serve]\n[[serve.notify]]\nurl = \"http://m2:7878/trigger/source.a\"\ntoken_env = \"NOPE_NOT_SET_EITHER\"\n").unwrap();
        let p = check(&path, false).await.unwrap();
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].line, Some(3));
        assert!(p[0].message.contains("NOPE_NOT_SET_EITHER") && p[0].message.contains("http://m2:7878"), "{p:?}");
    }

    #[tokio::test]
    async fn a_config_without_a_daemon_needs_no_token_and_a_db_needs_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "db = \"state/m.sqlite\"\n[source.a]\nurl = \"http://127.0.0.1:9/oai\"\n").unwrap();
        let p = check(&path, false).await.unwrap();
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].line, Some(1));
        assert!(p[0].message.contains("state") && p[0].message.contains("does not exist"), "{p:?}");
        std::fs::create_dir(dir.path().join("state")).unwrap();
        assert_eq!(check(&path, false).await.unwrap(), [], "no [daemon], no schedule: no token needed");
        std::fs::write(&path, "[source.a]\nurl = \"http://127.0.0.1:9/oai\"\nschedule = \"0 3 * * *\"\n").unwrap();
        let p = check(&path, false).await.unwrap();
        assert!(p.iter().any(|x| x.message.contains("needs a token")), "a schedule runs in the daemon: {p:?}");
    }
}
