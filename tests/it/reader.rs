//! The reader against a real MediaWiki 1.39, mirrored with its renderings
//! and files, read in a real browser (headless Chromium through its
//! chromedriver): a page as the wiki rendered it, an internal link
//! followed, a red link for a page outside the copy, a redirect, an image
//! from the mirror's files, a search that finds the one page holding a
//! word, a title suggested as one types; a hostile rendering runs
//! nothing, and nothing is loaded from anywhere but the reader. And the
//! search index follows the wiki's edits, moves and deletions.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use fantoccini::Locator;

use crate::console::Browser;
use crate::support::*;

fn config(home: &Path, tw: &TestWiki, prefix: &str) -> PathBuf {
    mirror_config(home, tw, "a", &format!("namespaces = [0, 6]\nprefixes = [\"{prefix}\", \"File:{prefix}\"]\n"))
}

async fn mirror(home: &Path, config: &Path) -> serde_json::Value {
    let mut c = bin(home);
    c.arg("--config").arg(config).args(["mirror", "a", "--json"]);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_str(stdout(&out).trim()).unwrap()
}

/// `oai-mirror read` on a free loopback port, stopped when dropped.
struct Reading {
    child: Child,
    origin: String,
}

impl Drop for Reading {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn read(home: &Path, config: &Path) -> Reading {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut c = bin(home);
    c.arg("--config").arg(config).args(["read", "--listen", &format!("127.0.0.1:{port}")]).stdout(Stdio::null()).stderr(Stdio::null());
    let reading = Reading { child: c.spawn().unwrap(), origin: format!("http://127.0.0.1:{port}") };
    let deadline = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(Instant::now() < deadline, "the reader did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    reading
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_real_browser_a_mirrored_wiki_is_read_followed_and_searched_and_nothing_runs_or_loads_from_outside() {
    let tw = test_wiki();
    let p = unique_title("Reader");
    let (water, ice, nowhere, h2o, hostile, scripted) =
        (format!("{p} Water"), format!("{p} Ice"), format!("{p} Nowhere"), format!("{p} H2O"), format!("{p} Hostile"), format!("{p} Scripted"));
    let picture = format!("{p} drop.png");
    let up = tw.client("reader-up", &tw.upload_user, &tw.upload_password);
    assert_eq!(up.upload(&picture, png(&p), "a picture", "A drop.").await.unwrap(), "Success");
    let bot = tw.bot();
    save(
        &bot,
        &water,
        &format!("Water links to [[{ice}]] and to [[{nowhere}|a page outside the copy]]. Only this page says zanzibarquux.\n\n[[File:{picture}|thumb|A drop]]\n\n[[Category:{p} liquids]]"),
    )
    .await;
    save(&bot, &ice, &format!("Frozen water; see [[{water}]].")).await;
    save(&bot, &h2o, &format!("#REDIRECT [[{water}]]")).await;
    save(&bot, &hostile, "A page of plain words.").await;
    save(&bot, &scripted, "Before <script>window.pwned = 4</script> <img src=\"x\" onerror=\"window.pwned = 5\"> after.").await;
    let home = tempdir();
    let config = config(home.path(), tw, &p);
    let done = mirror(home.path(), &config).await;
    assert_eq!(done["render"]["rendered"], 6, "{done}");
    assert_eq!(done["files"]["downloaded"], 1, "{done}");
    // A rendering as a hostile wiki could send it (MediaWiki itself escapes
    // such text): the reader's sanitiser is what stands between it and the browser.
    {
        let mut store = checkpoints::Store::open(&home.path().join("m.sqlite")).unwrap();
        let page = store.wiki_page_by_title("a", &hostile).unwrap().unwrap();
        let html = r#"<p id="plain">Plain words.<script>window.pwned = 1</script><img src="/w/images/x.png" onerror="window.pwned = 2"><a href="javascript:window.pwned = 3" id="js">click</a></p><iframe src="https://example.org/"></iframe>"#;
        let r = checkpoints::Rendering { rev_id: page.rev_id.unwrap(), html: html.into(), display_title: hostile.clone(), categories: vec![] };
        store.set_renderings("a", &[(page.pageid, r)], 0).unwrap();
    }
    let reader = read(home.path(), &config).await;
    let b = Browser::start().await;
    let c = &b.client;
    let url = |title: &str| format!("{}/read/a/{}", reader.origin, title.replace(' ', "_"));

    // The page as the wiki rendered it, with its image from the mirror's files.
    c.goto(&url(&water)).await.unwrap();
    let text = b.text().await;
    assert!(text.contains("Only this page says zanzibarquux."), "{text}");
    assert!(text.contains(&format!("{p} liquids")), "its category: {text}");
    let images: Vec<(String, u64)> = serde_json::from_value(
        c.execute("return [...document.querySelectorAll('article img')].map(i => [i.getAttribute('src'), i.naturalWidth])", vec![]).await.unwrap(),
    )
    .unwrap();
    assert_eq!(images.len(), 1, "{images:?}");
    assert!(images[0].0.starts_with("/read/files/a/") && images[0].1 > 0, "the picture, loaded from the copy: {images:?}");
    // A red link for the page outside the copy.
    let red = c.find(Locator::Css("article a[href$='?absent']")).await.unwrap();
    assert_eq!(red.text().await.unwrap(), "a page outside the copy");
    assert_eq!(red.css_value("color").await.unwrap(), "rgba(215, 51, 51, 1)");
    // The linked page the copy holds is not (the wiki rendered it red: it was made after).
    let held = c.find(Locator::LinkText(&ice)).await.unwrap();
    assert!(!held.attr("href").await.unwrap().unwrap().ends_with("?absent"));
    assert_eq!(held.css_value("color").await.unwrap(), "rgba(6, 69, 173, 1)");
    b.screenshot("reader-page.png").await;
    // An internal link followed.
    b.click_away(Locator::LinkText(&ice)).await;
    assert!(b.text().await.contains("Frozen water; see"), "the linked page");
    assert_eq!(c.find(Locator::Css("h1")).await.unwrap().text().await.unwrap(), ice);

    // A redirect, followed and said.
    c.goto(&url(&h2o)).await.unwrap();
    let text = b.text().await;
    assert!(text.contains("zanzibarquux") && text.contains(&format!("(Redirected from {h2o})")), "{text}");

    // Search: the one page holding the word, first.
    c.goto(&format!("{}/read/search?q=zanzibarquux", reader.origin)).await.unwrap();
    b.text().await;
    let first = c.find(Locator::Css("ol.results li a.title")).await.unwrap();
    assert_eq!(first.text().await.unwrap(), water);
    assert_eq!(c.find_all(Locator::Css("ol.results li")).await.unwrap().len(), 1);
    assert_eq!(c.find(Locator::Css("ol.results mark")).await.unwrap().text().await.unwrap(), "zanzibarquux");
    b.screenshot("reader-search.png").await;

    // A title suggested as one types.
    let typed = format!("{p} Wa");
    c.find(Locator::Css("header input[name=q]")).await.unwrap().send_keys(&typed).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let offered: Vec<String> =
            serde_json::from_value(c.execute("return [...document.querySelectorAll('#suggestions option')].map(o => o.value)", vec![]).await.unwrap()).unwrap();
        if offered == [water.clone()] {
            break;
        }
        assert!(Instant::now() < deadline, "no suggestion of [[{water}]] for {typed:?}: {offered:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A page whose text holds a script and an event handler shows them as text and runs nothing.
    c.goto(&url(&scripted)).await.unwrap();
    let text = b.text().await;
    assert!(text.contains("Before <script>window.pwned = 4</script>") && text.contains("onerror="), "{text}");
    assert_eq!(c.execute("return typeof window.pwned", vec![]).await.unwrap(), "undefined");
    // A hostile rendering shows its words and runs nothing.
    c.goto(&url(&hostile)).await.unwrap();
    assert!(b.text().await.contains("Plain words."));
    if let Ok(a) = c.find(Locator::Css("a#js")).await {
        let _ = a.click().await;
    }
    let pwned = c.execute("return typeof window.pwned", vec![]).await.unwrap();
    assert_eq!(pwned, "undefined", "nothing of the rendering ran");
    assert!(c.find(Locator::Css("iframe, script:not([src='/read/static/reader.js'])")).await.is_err());

    // Everything every page loaded came from the reader.
    for title in [&water, &ice, &hostile, &scripted] {
        c.goto(&url(title)).await.unwrap();
        b.text().await;
        let loaded: Vec<String> =
            serde_json::from_value(c.execute("return performance.getEntriesByType('resource').map(e => e.name)", vec![]).await.unwrap()).unwrap();
        assert!(!loaded.is_empty() && loaded.iter().all(|u| u.starts_with(&format!("{}/read/", reader.origin))), "{title}: {loaded:?}");
    }

    // The static copy: the same pages as files that link each other, opened from the file system.
    let dir = home.path().join("static");
    let mut export = bin(home.path());
    export.arg("--config").arg(&config).args(["export", "a", "--html"]).arg(&dir).arg("--json");
    let out = run(export).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let copy: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!((copy["pages"].as_u64(), copy["unrendered"].as_u64(), copy["files"].as_u64()), (Some(6), Some(0), Some(1)), "{copy}");
    let db = checkpoints::Store::open_read_only(&home.path().join("m.sqlite")).unwrap();
    let id = |t: &str| db.wiki_page_by_title("a", t).unwrap().unwrap().pageid;
    let picture_file = dir.join(format!("files/{}.png", id(&format!("File:{picture}"))));
    assert_eq!(std::fs::read(&picture_file).unwrap(), png(&p), "the file, as uploaded");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "html") {
            let html = std::fs::read_to_string(&path).unwrap();
            // Tags only: a page may show such words as text.
            let tags: Vec<&str> = html.split('<').skip(1).map(|t| t.split('>').next().unwrap_or_default()).collect();
            assert!(tags.iter().all(|t| !t.starts_with("script") && !t.contains("onerror") && !t.contains("/read/")), "{}: {html}", path.display());
        }
    }
    c.goto(&format!("file://{}", dir.join(format!("{}.html", id(&water))).display())).await.unwrap();
    let text = c.find(Locator::Css("body")).await.unwrap().text().await.unwrap();
    assert!(text.contains("Only this page says zanzibarquux."), "{text}");
    let shown: u64 = serde_json::from_value(c.execute("return document.querySelector('article img').naturalWidth", vec![]).await.unwrap()).unwrap();
    assert!(shown > 0, "the picture, from files/");
    let old = c.find(Locator::Css("html")).await.unwrap();
    c.find(Locator::LinkText(&ice)).await.unwrap().click().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while old.tag_name().await.is_ok() {
        assert!(Instant::now() < deadline, "the link did not lead away");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(c.find(Locator::Css("h1")).await.unwrap().text().await.unwrap(), ice);
    assert!(c.current_url().await.unwrap().as_str().ends_with(&format!("/static/{}.html", id(&ice))));
}

#[tokio::test]
async fn the_search_index_follows_the_wikis_edits_moves_and_deletions() {
    let tw = test_wiki();
    let p = unique_title("Indexed");
    let (one, two, moved) = (format!("{p} One"), format!("{p} Two"), format!("{p} Renamed"));
    let bot = tw.bot();
    save(&bot, &one, "The old word is quokkaold.").await;
    save(&bot, &two, "Second page, about wombatword.").await;
    let home = tempdir();
    let config = config(home.path(), tw, &p);
    mirror(home.path(), &config).await;
    let db = home.path().join("m.sqlite");
    let found = |words: &str| -> Vec<String> {
        checkpoints::Store::open_read_only(&db).unwrap().search_pages(words, Some("a"), 10, 0).unwrap().into_iter().map(|h| h.title).collect()
    };
    assert_eq!(found("quokkaold"), [one.as_str()]);
    assert_eq!(found("wombatword"), [two.as_str()]);

    save(&bot, &one, "The new word is quokkanew.").await;
    bot.move_page(&two, &moved, false, "a better name").await.unwrap();
    mirror(home.path(), &config).await;
    assert_eq!(found("quokkanew"), [one.as_str()], "the new word is found");
    assert!(found("quokkaold").is_empty(), "the old one no more");
    assert_eq!(found("wombatword"), [moved.as_str()], "the moved page under its new title");

    bot.delete(&moved, "not wanted").await.unwrap();
    mirror(home.path(), &config).await;
    assert!(found("wombatword").is_empty(), "a deleted page is not found");
    // The redirect the move left is a page of its own, holding no such word.
    assert!(found(&format!("{p} Two")).iter().all(|t| t == &two), "{:?}", found(&format!("{p} Two")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_real_browser_a_harvested_record_is_found_by_its_creators_name_and_shown_as_fields() {
    // A real third-party repository (PyPI's `oaipmh` server): record i has the creator "Tester {i % 13}".
    let home = tempdir();
    let server = crate::interop::start(20, &[], &home.path().join("changes.txt"));
    let config = home.path().join("config.toml");
    std::fs::write(&config, format!("db = \"{}\"\n[source.interop]\nurl = \"{}\"\n", home.path().join("m.sqlite").display(), server.url)).unwrap();
    let mut c = bin(home.path());
    c.arg("--config").arg(&config).args(["harvest", "interop"]);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let reader = read(home.path(), &config).await;
    let b = Browser::start().await;
    let c = &b.client;
    c.goto(&format!("{}/read/search?q=Tester+7", reader.origin)).await.unwrap();
    b.text().await;
    let found = c.find_all(Locator::Css("ol.records li a.title")).await.unwrap();
    assert_eq!(found.len(), 1, "record 7 alone has the creator Tester 7");
    assert_eq!(found[0].text().await.unwrap(), "Interop record 7, version 1: A & B <c> Zürich");
    b.click_away(Locator::Css("ol.records li a.title")).await;
    let text = b.text().await;
    for field in ["oai:pyoai.example:0000007", "creator", "Tester 7", "date", "http://pyoai.example/7"] {
        assert!(text.contains(field), "{field} in {text}");
    }
}

#[tokio::test]
async fn reading_a_store_that_is_not_there_says_so_and_makes_nothing() {
    let home = tempdir();
    let db = home.path().join("none.sqlite");
    let mut c = bin(home.path());
    c.arg("--db").arg(&db).args(["read", "--listen", "127.0.0.1:0"]);
    let out = run(c).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains(&format!("there is no database at {} yet", db.display())), "{}", stderr(&out));
    assert!(!db.exists(), "nothing made");
    // Beyond loopback only when asked.
    let mut c = bin(home.path());
    c.arg("--db").arg(&db).args(["read", "--listen", "0.0.0.0:0"]);
    let out = run(c).await;
    assert!(stderr(&out).contains("not a loopback address: pass --allow-remote to expose the reader"), "{}", stderr(&out));
}
