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

/// The test bed's bot on a fresh wiki.
fn bot_of(fresh: &FreshWiki) -> oai_mirror::mediawiki::Wiki {
    let env = std::fs::read_to_string(fresh.dir.path().join("credentials.env")).unwrap();
    let get = |k: &str| env.lines().find_map(|l| l.strip_prefix(&format!("{k}="))).unwrap().to_string();
    let mut o = oai_mirror::mediawiki::WikiOptions::new("fresh", &fresh.api);
    o.login = Some((get("MW_BOT_USER"), oai_mirror::mediawiki::Secret::new(get("MW_BOT_PASSWORD"))));
    oai_mirror::mediawiki::Wiki::new(o).unwrap()
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
    let bot = bot_of(&fresh);
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
        format!(
            "db = \"{}\"\n[wiki.w]\napi = \"{}\"\nfeed = \"api\"\nhistory = \"full\"\nrender = false\nfiles = false\n",
            home.path().join("bz2.sqlite").display(),
            fresh.api
        ),
    )
    .unwrap();
    let mut c = bin(home.path());
    c.arg("--config").arg(&config).args(["mirror", "w", "--json"]);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let pulled: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    // Through the change feed from the dump's newest revision: no listing of
    // every page, and with full history no page's history read again but
    // the changed pages' new revisions.
    assert!(pulled["requests"].as_u64().unwrap() <= 8, "{pulled}");
    assert!(pulled["history"]["pages"].as_u64().unwrap() <= 3, "{pulled}");
    assert!(pulled["pages_seen"].as_u64().unwrap() <= 8, "only what changed since the dump (and the last two minutes): {pulled}");
    assert_eq!(pulled["moved"], 1, "{pulled}");
    assert_eq!(pulled["deleted"], 1, "{pulled}");
    assert_eq!(stored_view(&home.path().join("bz2.sqlite"), "Dump"), pages_by_api(&fresh.api, "Dump").await, "the mirror equals the wiki");
}

/// A dump of `pages` pages of `revisions` revisions each, SHA-1s as
/// MediaWiki writes them, in export schema 0.11.
fn generated(pages: u64, revisions: u64) -> String {
    let mut out = String::from(
        "<mediawiki xmlns=\"http://www.mediawiki.org/xml/export-0.11/\" version=\"0.11\" xml:lang=\"en\">\n<siteinfo><sitename>Gen</sitename><dbname>genwiki</dbname><case>first-letter</case>\
         <namespaces><namespace key=\"0\" case=\"first-letter\" /></namespaces></siteinfo>\n",
    );
    for p in 1..=pages {
        out.push_str(&format!("<page><title>Generated {p}</title><ns>0</ns><id>{p}</id>"));
        for r in 1..=revisions {
            let text = format!("Page {p}, revision {r}: {}", "some words of text ".repeat(20));
            let sha1 = oai_mirror::package::xml::base36_sha1(&oai_mirror::util::sha1_hex(&text));
            out.push_str(&format!(
                "<revision><id>{}</id><timestamp>2026-01-{:02}T00:00:{:02}Z</timestamp><contributor><username>Editor{}</username><id>{}</id></contributor>\
                 <text bytes=\"{}\">{text}</text><sha1>{sha1}</sha1></revision>",
                p * 100 + r,
                1 + r,
                p % 60,
                p % 7,
                1 + p % 7,
                text.len()
            ));
        }
        out.push_str("</page>\n");
    }
    out.push_str("</mediawiki>\n");
    out
}

fn import(home: &Path, db: &Path, file: &Path) -> std::process::Command {
    let mut c = bin(home);
    c.arg("--db").arg(db).arg("import").arg(file).args(["--as", "w", "--json"]);
    c
}

#[tokio::test]
async fn an_import_killed_anywhere_goes_on_when_run_again_and_stores_nothing_twice() {
    let seed: u64 = std::env::var("OAI_MIRROR_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(7);
    println!("dump kill trials seed: {seed}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let home = tempdir();
    let file = home.path().join("gen.xml.bz2");
    std::fs::write(&file, compressed(generated(3000, 3).as_bytes(), "bz2")).unwrap();
    let whole = home.path().join("whole.sqlite");
    assert!(run(import(home.path(), &whole, &file)).await.status.success());
    let want = stored_view(&whole, "Generated");
    assert_eq!(want.len(), 3000);
    for trial in 0..3 {
        let db = home.path().join(format!("killed-{trial}.sqlite"));
        let mut child = import(home.path(), &db, &file).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(rng.u64(20..800))).await;
        child.kill().unwrap();
        child.wait().unwrap();
        let partial = checkpoints::Store::open(&db).map(|s| s.wiki_pages("w").map(|p| p.len()).unwrap_or(0)).unwrap_or(0);
        println!("trial {trial}: {partial} pages stored when killed");
        let out = run(import(home.path(), &db, &file)).await;
        assert!(out.status.success(), "{}", stderr(&out));
        let done: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
        assert_eq!(done["created"].as_u64().unwrap() as usize, 3000 - partial, "trial {trial}: the pages stored before are not made again");
        assert_eq!(stored_view(&db, "Generated"), want, "trial {trial}");
    }
}

#[tokio::test]
async fn truncated_hostile_and_bomb_dumps_are_refused_within_bounded_memory_keeping_what_came_before() {
    let home = tempdir();
    let xml = generated(2000, 1);
    // Cut in the middle: the pages before the cut's batch are kept, the error says where.
    let cut = home.path().join("cut.xml.gz");
    std::fs::write(&cut, compressed(&xml.as_bytes()[..xml.len() * 3 / 4], "gz")).unwrap();
    let db = home.path().join("cut.sqlite");
    let out = run(import(home.path(), &db, &cut)).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("the XML ends at byte") && stderr(&out).contains("what was applied before it is kept"), "{}", stderr(&out));
    let kept = stored_view(&db, "Generated").len();
    assert!(kept > 0 && kept < 2000, "{kept} pages kept");

    // Entities declared to expand a billion times are never expanded: refused, in bounded memory.
    let doc = "<?xml version=\"1.0\"?><!DOCTYPE mediawiki [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]>\
        <mediawiki xmlns=\"http://www.mediawiki.org/xml/export-0.11/\">PAGES</mediawiki>";
    let page = |id: u64, title: &str, text: &str| {
        format!(
            "<page><title>{title}</title><ns>0</ns><id>{id}</id><revision><id>{id}</id><timestamp>2026-01-01T00:00:00Z</timestamp><contributor><username>A</username></contributor><text>{text}</text></revision></page>"
        )
    };
    let laughs = home.path().join("laughs.xml");
    std::fs::write(&laughs, doc.replace("PAGES", &page(1, "Laughs", &"&c;".repeat(1000)))).unwrap();
    let (ok, err, kb) = measured(&import(home.path(), &home.path().join("laughs.sqlite"), &laughs));
    assert!(!ok && err.contains("unknown entity &c;"), "{err}");
    assert!(kb < 200_000, "peak RSS {kb} KiB");
    // A title MediaWiki would refuse (10 MB) is refused.
    let huge = home.path().join("huge.xml");
    std::fs::write(&huge, doc.replace("PAGES", &format!("{}{}", page(1, "Fine", "t"), page(2, &"T".repeat(10 << 20), "t")))).unwrap();
    let (ok, err, kb) = measured(&import(home.path(), &home.path().join("huge.sqlite"), &huge));
    assert!(!ok && err.contains("a title of 10485760 bytes (MediaWiki takes 255 at most)"), "{err}");
    assert!(kb < 200_000, "peak RSS {kb} KiB");

    // A gzip bomb: 1 GiB of one revision's text in about a megabyte.
    let bomb = home.path().join("bomb.xml.gz");
    {
        let mut e = flate2::write::GzEncoder::new(std::fs::File::create(&bomb).unwrap(), flate2::Compression::best());
        e.write_all(b"<mediawiki xmlns=\"http://www.mediawiki.org/xml/export-0.11/\"><page><title>Bomb</title><ns>0</ns><id>1</id><revision><id>1</id><text>")
            .unwrap();
        let block = vec![b'a'; 1 << 20];
        for _ in 0..1024 {
            e.write_all(&block).unwrap();
        }
        e.write_all(b"</text></revision></page></mediawiki>").unwrap();
        e.finish().unwrap();
    }
    let (ok, err, kb) = measured(&import(home.path(), &home.path().join("bomb.sqlite"), &bomb));
    assert!(!ok && err.contains("is larger than 64 MiB"), "{err}");
    assert!(kb < 400_000, "peak RSS {kb} KiB: bounded by the 64 MiB a revision may take");
}

#[tokio::test]
async fn a_dump_older_than_the_wikis_recent_changes_is_caught_up_by_comparing_revisions_reading_only_what_differs() {
    let fresh = FreshWiki::start();
    let bot = bot_of(&fresh);
    for i in 0..20 {
        save(&bot, &format!("Old {i}"), &format!("Old page {i}.")).await;
    }
    let dump = fresh.dir.path().join("full.xml");
    fresh.php("dumpBackup.php", &["--full".as_ref(), "--quiet".as_ref(), format!("--output=file:{}", dump.display()).as_ref()]);
    let home = tempdir();
    let db = home.path().join("m.sqlite");
    assert!(run(import(home.path(), &db, &dump)).await.status.success());
    // As if the dump were older than what the wiki keeps of its recent changes.
    {
        let mut store = checkpoints::Store::open(&db).unwrap();
        let write = store.begin_wiki_write("w", 0).unwrap();
        write.finish(Some(("api", &checkpoints::FeedState { next_from: Some("2001-01-01T00:00:00Z".into()), token: None, run_start: None }))).unwrap();
    }
    save(&bot, "Old 3", "Old page 3, edited.").await;
    save(&bot, "Old 7", "Old page 7, edited.").await;
    bot.delete("Old 11", "gone").await.unwrap();
    save(&bot, "Old new", "A page after the dump.").await;
    let config = home.path().join("config.toml");
    std::fs::write(&config, format!("db = \"{}\"\n[wiki.w]\napi = \"{}\"\nfeed = \"api\"\nrender = false\nfiles = false\n", db.display(), fresh.api)).unwrap();
    let mut c = bin(home.path());
    c.arg("--config").arg(&config).args(["mirror", "w", "--json"]);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("recent changes no longer reach back to the last pull"), "said so: {}", stderr(&out));
    let pulled: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert!(pulled["compared"].as_u64().unwrap() >= 21, "{pulled}");
    assert_eq!(pulled["pages_seen"], 4, "only the pages whose revision differs, and the deleted one: {pulled}");
    assert_eq!((pulled["created"].as_u64(), pulled["updated"].as_u64(), pulled["deleted"].as_u64()), (Some(1), Some(2), Some(1)), "{pulled}");
    assert_eq!(stored_view(&db, "Old"), pages_by_api(&fresh.api, "Old").await, "the mirror equals the wiki");
}
