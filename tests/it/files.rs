//! Files against a real MediaWiki 1.39: every version of every file of the
//! File: pages in scope, stored by SHA-1 with the bytes the wiki has, moved
//! files kept by page id, deleted ones kept and marked, and later uploads,
//! re-uploads, moves and deletions followed through the API feed alone;
//! bytes that are not what the wiki states never stored as good.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use sha1::{Digest, Sha1};

use crate::support::*;

const EXTENSIONS: [&str; 3] = ["png", "pdf", "svg"];

/// A file of this kind that the wiki takes, its bytes unique to (stem, i, v).
fn body(ext: &str, stem: &str, i: usize, v: usize) -> Vec<u8> {
    let mark = format!("{stem}-{i}-{v}");
    match ext {
        // MediaWiki reads its signature and header; the mark makes it unique.
        "png" => png(&mark),
        "pdf" => format!(
            "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n% {mark}\ntrailer<</Root 1 0 R>>\n%%EOF\n"
        )
        .into_bytes(),
        _ => format!(r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><desc>{mark}</desc><rect width="{}" height="{}"/></svg>"#, 1 + i, 1 + v)
            .into_bytes(),
    }
}

fn sha1(bytes: &[u8]) -> String {
    Sha1::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn config(home: &Path, tw: &TestWiki, stem: &str) -> PathBuf {
    mirror_config(home, tw, "f", &format!("history = \"full\"\nnamespaces = [6]\nprefixes = [\"File:{stem}\"]\n"))
}

/// The program with this home and config, and `args`.
fn command(home: &Path, config: &Path, args: &[&str]) -> std::process::Command {
    let mut c = bin(home);
    c.arg("--config").arg(config).args(args);
    c
}

/// `files f TITLE --json`: each version as the mirror has it.
async fn versions(home: &Path, config: &Path, title: &str) -> Vec<serde_json::Value> {
    let out = run(command(home, config, &["files", "f", title, "--json"])).await;
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Every version is stored, and its bytes in the files directory are these.
async fn assert_stored(home: &Path, config: &Path, title: &str, bodies: &[Vec<u8>]) -> u64 {
    let got = versions(home, config, title).await;
    let want: BTreeSet<String> = bodies.iter().map(|b| sha1(b)).collect();
    let have: BTreeSet<String> = got.iter().map(|v| v["sha1"].as_str().unwrap().to_string()).collect();
    assert_eq!(have, want, "{title}: every version, by SHA-1");
    for v in &got {
        assert_eq!(v["state"], "stored", "{title}: {v}");
        let bytes = std::fs::read(v["path"].as_str().unwrap()).unwrap();
        assert!(bodies.contains(&bytes), "{title}: the bytes kept are the bytes uploaded");
        assert_eq!(sha1(&bytes), v["sha1"].as_str().unwrap());
    }
    got[0]["pageid"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_version_of_every_file_is_mirrored_by_hash_and_later_changes_come_through_the_feed() {
    let tw = test_wiki();
    let stem = unique_title("Ft").replace(' ', "");
    let up = tw.client("files-up", &tw.upload_user, &tw.upload_password);
    let mut uploaded: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
    // Three of the 20 uploaded again twice: three versions each. MediaWiki
    // names an old version by its second, so a file's versions are a
    // second apart at least.
    for v in 0..3 {
        if v > 0 {
            next_second().await;
        }
        for i in 0..if v == 0 { 20 } else { 3 } {
            let ext = EXTENSIONS[i % 3];
            let name = format!("{stem}-{i}.{ext}");
            let bytes = body(ext, &stem, i, v);
            assert_eq!(up.upload(&name, bytes.clone(), &format!("version {v}"), "A test file.").await.unwrap(), "Success", "{name}");
            uploaded.entry(format!("File:{name}")).or_default().push(bytes);
        }
    }
    let home = tempdir();
    let config = config(home.path(), tw, &stem);
    let cli = |args: &[&str]| command(home.path(), &config, args);
    let out = run(cli(&["mirror", "f", "--json"])).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(summary["files"]["versions"], 26, "{summary}");
    assert_eq!(summary["files"]["downloaded"], 26, "every content is new: {summary}");
    let mut ids = BTreeMap::new();
    for (title, bodies) in &uploaded {
        ids.insert(title.clone(), assert_stored(home.path(), &config, title, bodies).await);
    }
    // What the wiki itself states of each version, compared field by field.
    let infos = tw.bot().file_info(&ids.values().copied().collect::<Vec<_>>(), true).await.unwrap();
    assert_eq!(infos.len(), 20);
    for info in &infos {
        let mirrored = versions(home.path(), &config, &info.title).await;
        let theirs: Vec<(String, String, u64, String)> = info.versions.iter().map(|v| (v.timestamp.clone(), v.sha1.clone(), v.size, v.user.clone())).collect();
        let ours: Vec<(String, String, u64, String)> = mirrored
            .iter()
            .map(|v| {
                (v["timestamp"].as_str().unwrap().into(), v["sha1"].as_str().unwrap().into(), v["size"].as_u64().unwrap(), v["user"].as_str().unwrap().into())
            })
            .collect();
        assert_eq!(ours, theirs, "{}", info.title);
    }

    // Later, through the feed alone: a new file, a new version, a move, a deletion.
    let new = format!("File:{stem}-new.png");
    let new_body = body("png", &stem, 99, 0);
    assert_eq!(up.upload(new.trim_start_matches("File:"), new_body.clone(), "new", "Added later.").await.unwrap(), "Success");
    let again = format!("File:{stem}-5.svg");
    let again_body = body("svg", &stem, 5, 1);
    assert_eq!(up.upload(again.trim_start_matches("File:"), again_body.clone(), "again", "").await.unwrap(), "Success");
    uploaded.get_mut(&again).unwrap().push(again_body);
    let (moved_from, moved_to) = (format!("File:{stem}-6.png"), format!("File:{stem}-moved.png"));
    up.move_page(&moved_from, &moved_to, false, "a better name").await.unwrap();
    let deleted = format!("File:{stem}-7.pdf");
    tw.bot().delete(&deleted, "not wanted").await.unwrap();

    let out = run(cli(&["mirror", "f", "--json"])).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(summary["files"]["versions"], 2, "the new file and the new version, nothing else: {summary}");
    assert_stored(home.path(), &config, &new, &[new_body]).await;
    assert_stored(home.path(), &config, &again, &uploaded[&again]).await;
    let moved = assert_stored(home.path(), &config, &moved_to, &uploaded[&moved_from]).await;
    assert_eq!(moved, ids[&moved_from], "the moved file is kept by its page id");
    let gone = versions(home.path(), &config, &deleted).await;
    assert!(!gone.is_empty() && gone.iter().all(|v| v["deleted"] == true && v["state"] == "stored"), "the deleted file is kept, marked: {gone:?}");

    let status = stdout(&run(cli(&["status"])).await);
    assert!(status.contains("files of f: 28 versions (28 stored)"), "{status}");

    // Out as a package with its files, into a fresh MediaWiki by its own
    // importDump.php: every version there, with the same bytes.
    let package = home.path().join("f.tar");
    let out = run(cli(&["export", "f", "--out", package.to_str().unwrap(), "--full", "--history", "--files", "--json"])).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let exported: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(exported["file_versions"], 27, "every version of the live files: {exported}");
    // And into another store by `import`: the same versions, the same bytes.
    let other = tempdir();
    let other_config = other.path().join("config.toml");
    std::fs::write(&other_config, format!("db = \"{}\"\n", other.path().join("copy.sqlite").display())).unwrap();
    let out = run(command(other.path(), &other_config, &["import", package.to_str().unwrap(), "--as", "f", "--json"])).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let imported: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(imported["files"], 27, "{imported}");
    for title in [&new, &again, &moved_to] {
        let ours = versions(home.path(), &config, title).await;
        let theirs = versions(other.path(), &other_config, title).await;
        let key = |v: &serde_json::Value| (v["timestamp"].to_string(), v["sha1"].to_string(), v["state"].to_string());
        assert_eq!(theirs.iter().map(key).collect::<Vec<_>>(), ours.iter().map(key).collect::<Vec<_>>(), "{title}");
        for v in &theirs {
            assert_eq!(sha1(&std::fs::read(v["path"].as_str().unwrap()).unwrap()), v["sha1"].as_str().unwrap());
        }
    }

    let target = FreshWiki::start();
    let unpacked = tempdir();
    let tar = std::process::Command::new("tar").arg("-xf").arg(&package).arg("-C").arg(unpacked.path()).output().unwrap();
    assert!(tar.status.success());
    let log = target.php(
        "importDump.php",
        &["--uploads".as_ref(), "--image-base-path".as_ref(), unpacked.path().join("files").as_os_str(), unpacked.path().join("pages.xml.gz").as_os_str()],
    );
    let fresh = oai_mirror::mediawiki::Wiki::new(oai_mirror::mediawiki::WikiOptions::new("fresh", &target.api)).unwrap();
    uploaded.remove(&deleted);
    let bodies = uploaded.remove(&moved_from).unwrap();
    uploaded.insert(moved_to.clone(), bodies);
    uploaded.insert(new.clone(), vec![body("png", &stem, 99, 0)]);
    for (title, bodies) in &uploaded {
        let id = fresh.pages(&[oai_mirror::mediawiki::PageRef::Title(title)]).await.unwrap()[0].pageid.unwrap_or_else(|| panic!("{title} imported: {log}"));
        let info = fresh.file_info(&[id], true).await.unwrap();
        let theirs: BTreeSet<String> = info[0].versions.iter().map(|v| v.sha1.clone()).collect();
        let want: BTreeSet<String> = bodies.iter().map(|b| sha1(b)).collect();
        assert_eq!(theirs, want, "{title}: {log}");
        let ours: Vec<String> = versions(home.path(), &config, title).await.iter().map(|v| v["timestamp"].as_str().unwrap().to_string()).collect();
        let stamps: Vec<String> = info[0].versions.iter().map(|v| v.timestamp.clone()).collect();
        assert_eq!(stamps, ours, "{title}: each version at its time");
    }
}

/// The path on the test bed's disk of a file's current version.
async fn on_disk(tw: &TestWiki, title: &str) -> PathBuf {
    let page = current(&tw.bot(), title).await;
    assert!(page.is_some(), "{title} exists");
    let info = tw.bot().file_info(&[page_id(tw, title).await], false).await.unwrap();
    let url = reqwest::Url::parse(&info[0].versions[0].url).unwrap();
    tw.dir.join(url.path().trim_start_matches('/'))
}

async fn page_id(tw: &TestWiki, title: &str) -> u64 {
    let pages = tw.bot().pages(&[oai_mirror::mediawiki::PageRef::Title(title)]).await.unwrap();
    pages[0].pageid.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_that_are_not_what_the_wiki_states_are_quarantined_counted_and_never_stored_as_good() {
    let tw = test_wiki();
    let stem = unique_title("Fq").replace(' ', "");
    let up = tw.client("files-up", &tw.upload_user, &tw.upload_password);
    let (altered, truncated) = (format!("{stem}-altered.png"), format!("{stem}-truncated.pdf"));
    let (altered_body, truncated_body) = (body("png", &stem, 1, 0), body("pdf", &stem, 2, 0));
    for (name, bytes) in [(&altered, &altered_body), (&truncated, &truncated_body)] {
        assert_eq!(up.upload(name, bytes.clone(), "up", "").await.unwrap(), "Success");
    }
    // The wiki's own files changed under it, as a failing disk or a
    // tampering proxy would: it states one thing and serves another.
    let altered_path = on_disk(tw, &format!("File:{altered}")).await;
    let truncated_path = on_disk(tw, &format!("File:{truncated}")).await;
    let mut changed = altered_body.clone();
    *changed.last_mut().unwrap() ^= 0x20;
    std::fs::write(&altered_path, &changed).unwrap();
    std::fs::write(&truncated_path, &truncated_body[..truncated_body.len() / 2]).unwrap();

    let home = tempdir();
    let config = config(home.path(), tw, &stem);
    let cli = |args: &[&str]| command(home.path(), &config, args);
    let out = run(cli(&["mirror", "f", "--json"])).await;
    assert!(out.status.success(), "a bad file fails alone: {}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!((summary["files"]["bad"].as_u64(), summary["files"]["downloaded"].as_u64()), (Some(6), Some(0)), "tried three times each: {summary}");
    for name in [&altered, &truncated] {
        let v = &versions(home.path(), &config, &format!("File:{name}")).await[0];
        assert_eq!((v["state"].as_str(), v["bad_downloads"].as_u64()), (Some("quarantined"), Some(3)), "{v}");
        assert!(v["path"].is_null());
    }
    let files_dir = home.path().join("m.sqlite.files");
    assert!(!files_dir.join("sha1").exists(), "nothing stored as good");
    assert_eq!(std::fs::read(files_dir.join("quarantine").join(sha1(&altered_body))).unwrap(), changed, "kept aside, to look at");
    let status = stdout(&run(cli(&["status"])).await);
    assert!(status.contains("2 QUARANTINED") && status.contains("6 downloads did not match"), "{status}");

    // Mended on the wiki's side, and asked again: stored.
    std::fs::write(&altered_path, &altered_body).unwrap();
    std::fs::write(&truncated_path, &truncated_body).unwrap();
    let out = run(cli(&["mirror", "f", "--retry-files"])).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_stored(home.path(), &config, &format!("File:{altered}"), &[altered_body]).await;
    assert_stored(home.path(), &config, &format!("File:{truncated}"), &[truncated_body]).await;
}

/// A store with these File: pages, and the files pass's options.
fn file_pages(dir: &Path, files: &[testbeds::HostedFile]) -> (std::sync::Arc<std::sync::Mutex<checkpoints::Store>>, oai_mirror::mirror::files::FilesOptions) {
    let mut store = checkpoints::Store::open(&dir.join("m.sqlite")).unwrap();
    let ops: Vec<checkpoints::PageOp> = files
        .iter()
        .map(|f| checkpoints::PageOp::Upsert {
            page: checkpoints::PageRow { pageid: f.pageid, ns: 6, title: format!("File:{}", f.name), redirect: None, displaced: false, rev_id: f.pageid * 10 },
            revisions: vec![checkpoints::RevisionRow {
                revid: f.pageid * 10,
                parentid: 0,
                timestamp: "2026-01-01T00:00:00Z".into(),
                user: "Uploader".into(),
                comment: String::new(),
                sha1: String::new(),
                text: "a file".into(),
                minor: false,
                user_id: None,
            }],
        })
        .collect();
    store.apply_wiki_batch("w", &ops, None, 1).unwrap();
    let opts = oai_mirror::mirror::files::FilesOptions { all_versions: true, copy_foreign: false, max_file_bytes: 1 << 40, max_total_bytes: None, dir: None };
    (std::sync::Arc::new(std::sync::Mutex::new(store)), opts)
}

/// Downloads cut off mid-way resume from where they stopped, a server that
/// ignores the range sends it all again (and is still checked), a 429's
/// `Retry-After` is waited out, and altered bytes are quarantined: each
/// file ends stored with exactly the bytes described, or not at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_off_downloads_resume_where_they_stopped_and_every_kept_file_is_checked() {
    use testbeds::{FileFault, FileHost, HostedFile};
    let files = vec![HostedFile::new(1, "Cut.bin", 300_000, 1), HostedFile::new(2, "Ignored.bin", 200_000, 2), HostedFile::new(3, "Busy.bin", 1000, 3)];
    let faults = vec![
        ("Cut.bin", FileFault::CutAfter(100_000)),
        ("Cut.bin", FileFault::CutAfter(70_000)),
        // Cut, then the range asked for ignored.
        ("Ignored.bin", FileFault::CutAfter(50_000)),
        ("Ignored.bin", FileFault::IgnoreRange),
        ("Busy.bin", FileFault::TooMany(1)),
    ];
    let (host, api) = FileHost::spawn(files.clone(), faults).await.unwrap();
    let home = tempdir();
    let (store, opts) = file_pages(home.path(), &files);
    let wiki = oai_mirror::mediawiki::Wiki::new(oai_mirror::mediawiki::WikiOptions::new("fake", &api)).unwrap();
    let downloads = oai_mirror::mirror::files::Downloads::new(2, None);
    let started = std::time::Instant::now();
    let summary = oai_mirror::mirror::files::fill(&store, &wiki, "w", &opts, &downloads).await.unwrap();
    assert_eq!((summary.downloaded, summary.bad, summary.failed), (3, 0, 0), "{summary:?}");
    assert_eq!(host.faults_left(), 0);
    assert_eq!(host.log("Cut.bin"), ["Cut.bin", "Cut.bin bytes=100000-", "Cut.bin bytes=170000-"], "each request after a cut asks only for the rest");
    assert_eq!(host.log("Ignored.bin"), ["Ignored.bin", "Ignored.bin bytes=50000-"]);
    assert_eq!(host.log("Busy.bin"), ["Busy.bin", "Busy.bin"]);
    assert!(started.elapsed() >= std::time::Duration::from_secs(1), "the 429's Retry-After was waited out");
    let blobs = checkpoints::Blobs::beside(&home.path().join("m.sqlite"));
    for f in &files {
        let kept = std::fs::read(blobs.path(&f.sha1()).unwrap()).unwrap();
        assert!(kept == f.bytes(0, f.size), "{} kept whole and exact", f.name);
    }

    // Altered bytes: never kept; the next pass that gets the right ones keeps them.
    let bad = vec![HostedFile::new(4, "Altered.bin", 5000, 4)];
    let (_host, api) = FileHost::spawn(bad.clone(), vec![("Altered.bin", FileFault::Altered)]).await.unwrap();
    let home = tempdir();
    let (store, opts) = file_pages(home.path(), &bad);
    let wiki = oai_mirror::mediawiki::Wiki::new(oai_mirror::mediawiki::WikiOptions::new("fake", &api)).unwrap();
    let summary = oai_mirror::mirror::files::fill(&store, &wiki, "w", &opts, &downloads).await.unwrap();
    assert_eq!((summary.downloaded, summary.bad), (1, 1), "tried again within the pass: {summary:?}");
    let status = store.lock().unwrap().files_status(Some("w")).unwrap();
    assert_eq!((status.stored, status.bad_downloads), (1, 1));
}

/// Where the child below finds its file host.
const CHILD_API: &str = "OAI_MIRROR_TEST_FILES_API";

/// A file of a gibibyte, generated as it is sent, mirrored by a process of
/// its own (this test binary, running only the test below) whose peak RSS
/// is measured: memory does not follow the size of a file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gibibyte_file_is_mirrored_in_bounded_memory() {
    use testbeds::{FileHost, HostedFile};
    let big = HostedFile::new(1, "Big.bin", 1 << 30, 9);
    let (host, api) = FileHost::spawn(vec![big.clone()], vec![]).await.unwrap();
    let home = tempdir();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap());
    child.args(["--exact", "files::gibibyte_child", "--include-ignored", "--test-threads", "1"]).env(CHILD_API, &api).env("HOME", home.path());
    let (ok, said, rss_kb) = tokio::task::spawn_blocking(move || measured(&child)).await.unwrap();
    assert!(ok, "{said}");
    assert_eq!(host.log("Big.bin"), ["Big.bin"], "one request");
    let kept = checkpoints::Blobs::beside(&home.path().join("m.sqlite")).path(&big.sha1()).unwrap();
    assert_eq!(std::fs::metadata(&kept).unwrap().len(), 1 << 30, "kept whole (and checked by SHA-1 before it was)");
    assert!(rss_kb < 100 * 1024, "peak RSS {rss_kb} KiB mirroring 1 GiB");
    std::fs::remove_file(kept).unwrap();
}

/// The child of the test above: runs only when it sets `CHILD_API`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by a_gibibyte_file_is_mirrored_in_bounded_memory in a process of its own"]
async fn gibibyte_child() {
    let api = std::env::var(CHILD_API).expect("run by a_gibibyte_file_is_mirrored_in_bounded_memory");
    let home = std::path::PathBuf::from(std::env::var("HOME").unwrap());
    let (store, opts) = file_pages(&home, &[testbeds::HostedFile::new(1, "Big.bin", 1 << 30, 9)]);
    let wiki = oai_mirror::mediawiki::Wiki::new(oai_mirror::mediawiki::WikiOptions::new("fake", &api)).unwrap();
    let summary = oai_mirror::mirror::files::fill(&store, &wiki, "w", &opts, &oai_mirror::mirror::files::Downloads::new(2, None)).await.unwrap();
    assert_eq!((summary.downloaded, summary.bytes), (1, 1 << 30), "{summary:?}");
}

/// With `used_files = true` a file that a selected page shows is mirrored
/// though its File: page is outside the selection, and its new versions
/// come through the feed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_a_selected_page_uses_is_mirrored_and_followed_outside_the_selection() {
    let tw = test_wiki();
    let stem = unique_title("Fu").replace(' ', "");
    let used = format!("{}.png", unique_title("Used").replace(' ', ""));
    let up = tw.client("files-up", &tw.upload_user, &tw.upload_password);
    let v0 = body("png", &stem, 1, 0);
    assert_eq!(up.upload(&used, v0.clone(), "first", "").await.unwrap(), "Success");
    save(&tw.bot(), &format!("{stem} page"), &format!("A picture: [[File:{used}]]")).await;
    let home = tempdir();
    let config = config(home.path(), tw, &stem);
    // The page's prefix, not the file's: only `used_files` brings the file.
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace(&format!("namespaces = [6]\nprefixes = [\"File:{stem}\"]"), &format!("prefixes = [\"{stem}\"]\nused_files = true"));
    std::fs::write(&config, text).unwrap();
    let out = run(command(home.path(), &config, &["mirror", "f"])).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let title = format!("File:{used}");
    assert_stored(home.path(), &config, &title, std::slice::from_ref(&v0)).await;

    next_second().await;
    let v1 = body("png", &stem, 1, 1);
    assert_eq!(up.upload(&used, v1.clone(), "second", "").await.unwrap(), "Success");
    let out = run(command(home.path(), &config, &["mirror", "f"])).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_stored(home.path(), &config, &title, &[v0, v1]).await;
}
