//! Edits pages through the action API, for benchmarks:
//!
//!     edit_pages API USER PASSWORD_FILE TITLE_PREFIX FIRST COUNT
//!
//! appends a line to pages `TITLE_PREFIX{FIRST}` … `TITLE_PREFIX{FIRST+COUNT-1}`.

#![allow(clippy::print_stdout, clippy::print_stderr)] // an example reports to its user

use oai_mirror::mediawiki::{CreateMode, Edit, PageRef, Secret, Wiki, WikiOptions};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [api, user, password_file, prefix, first, count] = args.as_slice() else {
        anyhow::bail!("usage: edit_pages API USER PASSWORD_FILE TITLE_PREFIX FIRST COUNT");
    };
    let mut o = WikiOptions::new("bench", api);
    o.login = Some((user.clone(), Secret::new(std::fs::read_to_string(password_file)?.trim())));
    let w = Wiki::new(o)?;
    let (first, count): (u64, u64) = (first.parse()?, count.parse()?);
    for i in first..first + count {
        let title = format!("{prefix}{i}");
        let current = w.pages(&[PageRef::Title(&title)]).await?.remove(0);
        let rev = current.revision.as_ref().map(|r| r.revid);
        let text = format!("{}\n\nEdited for the benchmark.", current.revision.and_then(|r| r.text).unwrap_or_default());
        let e = Edit {
            page: PageRef::Title(&title),
            text: &text,
            summary: "benchmark edit",
            base_revid: rev,
            start_timestamp: None,
            mode: CreateMode::NoCreate,
            minor: false,
            tags: &[],
        };
        w.edit(&e).await?;
    }
    Ok(())
}
