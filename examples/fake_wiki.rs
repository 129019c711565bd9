//! Serves a fake wiki with MediaWiki's OAI extension on 127.0.0.1 until
//! killed, for the mirror benchmark and for trying `mirror` by hand.
//!
//!     cargo run --release --example fake_wiki -- PAGES PORT [CHUNK]

#![allow(clippy::print_stdout, clippy::print_stderr)] // an example reports to its user

use testbeds::oai_wiki::FakeOaiWiki;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let pages: usize = args.next().unwrap_or_else(|| "10000".into()).parse()?;
    let port: u16 = args.next().unwrap_or_else(|| "8480".into()).parse()?;
    let chunk: usize = args.next().unwrap_or_else(|| "50".into()).parse()?;
    let fake = FakeOaiWiki::new(chunk);
    // Pages of a few kilobytes of wikitext, markup included.
    let body = "== Section ==\nSome '''wikitext''' with [[links]], {{templates}} & <ref>references</ref>.\n".repeat(30);
    for i in 1..pages {
        fake.create(&format!("Page {i}"), &format!("{body}\nPage {i}."));
    }
    let url = fake.serve_on(port).await?;
    eprintln!("serving {pages} pages at {url} ({chunk} per response)");
    std::future::pending::<()>().await;
    Ok(())
}
