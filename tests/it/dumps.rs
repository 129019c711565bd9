//! MediaWiki XML dumps imported as a mirror's pages: a real MediaWiki
//! 1.39's `dumpBackup.php --full`, plain and compressed each way (gzip,
//! bzip2, zstd), imported equal page for page to what the wiki holds;
//! then the wiki changes, and `mirror` goes on from the dump through the
//! API feed, reading only what changed.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use crate::support::*;

/// The live pages of namespace 0 under `prefix` as the store holds them,
/// in `pages_by_api`'s shape.
fn stored_view(db: &Path, prefix: &str) -> BTreeMap<String, (bool, Vec<ApiRevision>)> {
    let store = checkpoints::Store::open_read_only(db).unwrap();
    store
        .wiki_pages("w")
        .unwrap()
        .into_iter()
        .filter(|p| !p.deleted && !p.displaced && p.ns == 0 && p.title.starts_with(prefix))
        .map(|p| {
            let revisions = store.wiki_revisions("w", p.pageid).unwrap().into_iter().map(|r| (r.timestamp, r.user, r.sha1, r.text)).collect();
            (p.title, (p.redirect.is_some(), revisions))
        })
        .collect()
}

fn compressed(xml: &[u8], how: &str) -> Vec<u8> {
    match how {
        "gz" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(xml).unwrap();
            e.finish().unwrap()
        }
        "bz2" => {
            // Two streams, as Wikimedia's multistream dumps are made.
            let (a, b) = xml.split_at(xml.len() / 2);
            let mut out = Vec::new();
            for part in [a, b] {
                let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
                e.write_all(part).unwrap();
                out.extend(e.finish().unwrap());
            }
            out
        }
        "zst" => zstd::encode_all(xml, 3).unwrap(),
        _ => xml.to_vec(),
    }
}

#[tokio::test]
async fn a_real_wikis_dump_is_imported_from_each_compression_and_the_mirror_goes_on_from_it() {
    let fresh = FreshWiki::start();
    let env = std::fs::read_to_string(fresh.dir.path().join("credentials.env")).unwrap();
    let get = |k: &str| env.lines().find_map(|l| l.strip_prefix(&format!("{k}="))).unwrap().to_string();
    let mut o = oai_mirror::mediawiki::WikiOptions::new("fresh", &fresh.api);
    o.login = Some((get("MW_BOT_USER"), oai_mirror::mediawiki::Secret::new(get("MW_BOT_PASSWORD"))));
    let bot = oai_mirror::mediawiki::Wiki::new(o).unwrap();
    for v in 1..=3 {
        save(&bot, "Dump A", &format!("A, version {v}: [[Dump B]] & <b>bold</b>")).await;
    }
    save(&bot, "Dump B", "B's only text.").await;
    save(&bot, "Dump C", "C, to be moved.").await;
    bot.move_page("Dump C", "Dump D", false, "a better name").await.unwrap();
    save(&bot, "Dump E", "E, deleted before the dump.").await;
    bot.delete("Dump E", "not wanted").await.unwrap();
    let dump = fresh.dir.path().join("full.xml");
    fresh.php("dumpBackup.php", &["--full".as_ref(), "--quiet".as_ref(), format!("--output=file:{}", dump.display()).as_ref()]);
    let xml = std::fs::read(&dump).unwrap();
    let wiki = pages_by_api(&fresh.api, "Dump").await;
    assert_eq!(wiki.keys().collect::<Vec<_>>(), ["Dump A", "Dump B", "Dump C", "Dump D"], "C left a redirect");

    let home = tempdir();
    for (how, kind) in [("xml", "none"), ("gz", "gzip"), ("bz2", "bzip2"), ("zst", "zstd")] {
        let file = home.path().join(format!("dump.{how}"));
        std::fs::write(&file, compressed(&xml, how)).unwrap();
        let db = home.path().join(format!("{how}.sqlite"));
        let mut c = bin(home.path());
        c.arg("--db").arg(&db).arg("import").arg(&file).args(["--as", "w", "--json"]);
        let out = run(c).await;
        assert!(out.status.success(), "{how}: {}", stderr(&out));
        let done: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
        assert_eq!(done["compression"], kind);
        assert_eq!(done["bad_sha1"], 0, "{how}: every SHA-1 the dump states holds: {done}");
        assert_eq!(stored_view(&db, "Dump"), wiki, "{how}: page for page, revision for revision");
    }
    // Without --as, a dump is not taken for a package.
    let mut c = bin(home.path());
    c.arg("--db").arg(home.path().join("x.sqlite")).arg("import").arg(&dump);
    let out = run(c).await;
    assert!(stderr(&out).contains("is a MediaWiki XML dump, not a package: name the wiki it goes into with --as NAME"), "{}", stderr(&out));

    // The wiki changes; the mirror goes on from the dump and reads only that.
    next_second().await;
    save(&bot, "Dump A", "A, version 4.").await;
    bot.move_page("Dump B", "Dump B2", false, "renamed").await.unwrap();
    bot.delete("Dump D", "gone").await.unwrap();
    let config = home.path().join("config.toml");
    std::fs::write(
        &config,
        format!("db = \"{}\"\n[wiki.w]\napi = \"{}\"\nfeed = \"api\"\nrender = false\nfiles = false\n", home.path().join("bz2.sqlite").display(), fresh.api),
    )
    .unwrap();
    let mut c = bin(home.path());
    c.arg("--config").arg(&config).args(["mirror", "w", "--json"]);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let pulled: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    // Through the change feed from the dump's newest revision: no listing of every page.
    assert!(pulled["requests"].as_u64().unwrap() <= 4, "{pulled}");
    assert!(pulled["pages_seen"].as_u64().unwrap() <= 8, "only what changed since the dump (and the last two minutes): {pulled}");
    assert_eq!(pulled["moved"], 1, "{pulled}");
    assert_eq!(pulled["deleted"], 1, "{pulled}");
    assert_eq!(stored_view(&home.path().join("bz2.sqlite"), "Dump"), pages_by_api(&fresh.api, "Dump").await, "the mirror equals the wiki");
}
