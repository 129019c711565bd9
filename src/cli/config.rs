//! `config check`.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};

use crate::settings::Settings;

pub(super) async fn check(explicit: Option<&Path>, online: bool) -> anyhow::Result<()> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => Settings::config_path(None).context("no config file: pass --config PATH or set OAI_MIRROR_CONFIG")?,
    };
    let problems = crate::check::check(&path, online).await?;
    for p in &problems {
        match p.line {
            Some(l) => super::terminal::eprint_line(&format!("{}:{l}: {}", path.display(), p.message)),
            None => super::terminal::eprint_line(&format!("{}: {}", path.display(), p.message)),
        }
    }
    if problems.is_empty() {
        writeln!(super::terminal::stdout(), "{}: ok", path.display())?;
        Ok(())
    } else {
        bail!("{} problem(s) in {}", problems.len(), path.display())
    }
}
