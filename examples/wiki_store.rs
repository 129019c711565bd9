//! Fills a store with a mirrored wiki, for the package benchmark:
//!
//!     wiki_store DB WIKI PAGES REVISIONS      PAGES pages of REVISIONS revisions each
//!     wiki_store DB WIKI --edit FIRST COUNT   a new revision of pages FIRST … FIRST+COUNT-1
//!
//! Texts are wikitext of about 2 KB that each revision changes a little, as
//! people edit, from a fixed seed: the same store every time.

#![allow(clippy::print_stdout, clippy::print_stderr)] // an example reports to its user

use checkpoints::{PageOp, PageRow, RevisionRow, Store};

/// Markup among the words, as wikitext has it.
const MARKUP: &[&str] = &["[[Main Page|main page]]", "'''bold'''", "{{cite|year=2024}}", "&nbsp;", "<ref>a source</ref>", "== Section ==", "* item"];

/// A word: mostly from a vocabulary of 5,000 made-up words (so text
/// compresses about as prose does), now and then markup.
fn word(rng: &mut fastrand::Rng) -> String {
    if rng.u8(..20) == 0 {
        return MARKUP[rng.usize(..MARKUP.len())].to_string();
    }
    let mut vocabulary = fastrand::Rng::with_seed(rng.u64(..5000));
    (0..vocabulary.usize(2..10)).map(|_| vocabulary.lowercase()).collect()
}

fn text(page: u64, rev: u64) -> String {
    let mut rng = fastrand::Rng::with_seed(page);
    let mut out = format!("= Page {page} =\n");
    for line in 0..30 {
        let words: Vec<String> = (0..10).map(|_| word(&mut rng)).collect();
        out.push_str(&words.join(" "));
        // Revision r changed lines 0 … r-1 a little.
        if line < rev {
            out.push_str(&format!(" (edited in revision {})", rev - line));
        }
        out.push('\n');
    }
    out
}

fn revision(page: u64, rev: u64) -> RevisionRow {
    let text = text(page, rev);
    RevisionRow {
        revid: page * 1000 + rev,
        parentid: if rev == 1 { 0 } else { page * 1000 + rev - 1 },
        timestamp: format!("2026-{:02}-{:02}T{:02}:{:02}:00Z", 1 + rev % 12, 1 + page % 28, page % 24, rev % 60),
        user: if rev.is_multiple_of(3) { "192.0.2.8".into() } else { format!("Editor{}", rev % 7) },
        comment: format!("edit {rev}"),
        sha1: oai_mirror::util::sha1_hex(&text),
        text,
        minor: rev.is_multiple_of(5),
        user_id: Some(if rev.is_multiple_of(3) { 0 } else { 1 + rev % 7 }),
    }
}

fn upsert(page: u64, revisions: Vec<RevisionRow>) -> PageOp {
    let rev_id = revisions.last().map_or(0, |r| r.revid);
    PageOp::Upsert { page: PageRow { pageid: page, ns: 0, title: format!("Page {page}"), redirect: None, displaced: false, rev_id }, revisions }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [db, wiki, flag, first, count] if flag == "--edit" => {
            let mut store = Store::open(std::path::Path::new(db))?;
            let (first, count): (u64, u64) = (first.parse()?, count.parse()?);
            let ops: Vec<PageOp> = (first..first + count)
                .map(|p| {
                    let next = store.wiki_lookup(wiki, &[p], &[]).map(|(rows, _)| rows.get(&p).and_then(|r| r.rev_id).map_or(1, |r| r % 1000 + 1))?;
                    Ok(upsert(p, vec![revision(p, next)]))
                })
                .collect::<anyhow::Result<_>>()?;
            store.apply_wiki_batch(wiki, &ops, None, chrono::Utc::now().timestamp())?;
        }
        [db, wiki, pages, revisions] => {
            let mut store = Store::open(std::path::Path::new(db))?;
            let (pages, revisions): (u64, u64) = (pages.parse()?, revisions.parse()?);
            let ops: Vec<PageOp> = (1..=pages).map(|p| upsert(p, (1..=revisions).map(|r| revision(p, r)).collect())).collect();
            for chunk in ops.chunks(200) {
                store.apply_wiki_batch(wiki, chunk, None, chrono::Utc::now().timestamp())?;
            }
        }
        _ => anyhow::bail!("usage: wiki_store DB WIKI PAGES REVISIONS | wiki_store DB WIKI --edit FIRST COUNT"),
    }
    Ok(())
}
