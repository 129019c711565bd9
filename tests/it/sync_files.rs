//! Files in two-way sync between two real MediaWiki 1.39 wikis: a file
//! uploaded on one goes to the other with its description page, a new
//! version goes back, a file changed on both keeps both versions, a large
//! file goes up in chunks, and a sync killed mid-upload loses nothing and
//! uploads nothing twice.

use sha1::{Digest, Sha1};

use crate::support::*;

struct Files {
    stem: String,
    home: tempfile::TempDir,
    config: std::path::PathBuf,
    a: oai_mirror::mediawiki::Wiki,
    b: oai_mirror::mediawiki::Wiki,
}

impl Files {
    /// Two wikis synced with their uploading accounts, over the files named `stem…`.
    fn new(stem: &str) -> Files {
        let (ta, tb) = (test_wiki(), test_wiki_b());
        let stem = unique_title(stem).replace(' ', "");
        let home = tempdir();
        let table = |name: &str, w: &TestWiki| {
            let secret = home.path().join(format!("{name}.secret"));
            std::fs::write(&secret, &w.upload_password).unwrap();
            format!(
                "[wiki.{name}]\napi = \"{}\"\nuser = \"{}\"\npassword_file = \"{}\"\nfeed = \"api\"\nprefixes = [\"File:{stem}\"]\n",
                w.api,
                w.upload_user,
                secret.display()
            )
        };
        let config = home.path().join("config.toml");
        let text = format!("db = \"{}\"\n{}{}[sync.ab]\nwiki = \"a\"\nwith = \"b\"\n", home.path().join("s.sqlite").display(), table("a", ta), table("b", tb));
        std::fs::write(&config, text).unwrap();
        let (a, b) = (ta.client("sync-files-a", &ta.upload_user, &ta.upload_password), tb.client("sync-files-b", &tb.upload_user, &tb.upload_password));
        Files { stem, home, config, a, b }
    }

    fn command(&self) -> std::process::Command {
        let mut c = bin(self.home.path());
        c.arg("--config").arg(&self.config).args(["sync", "ab", "--json"]);
        c
    }

    async fn sync(&self) -> serde_json::Value {
        let out = run(self.command()).await;
        assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
        serde_json::from_str(stdout(&out).trim()).unwrap()
    }
}

fn sha1(bytes: &[u8]) -> String {
    Sha1::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// A file's versions on a wiki, newest first: (SHA-1, comment).
async fn versions(w: &oai_mirror::mediawiki::Wiki, title: &str) -> Vec<(String, String)> {
    let Some(id) = w.pages(&[oai_mirror::mediawiki::PageRef::Title(title)]).await.unwrap()[0].pageid else { return Vec::new() };
    let info = w.file_info(&[id], true).await.unwrap();
    info.first().map(|i| i.versions.iter().map(|v| (v.sha1.clone(), v.comment.clone())).collect()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_go_both_ways_with_their_pages_and_a_file_changed_on_both_keeps_both() {
    let f = Files::new("Sf");
    let title = format!("File:{}-1.png", f.stem);
    let name = title.trim_start_matches("File:");
    let v0 = png("v0");
    assert_eq!(f.a.upload(name, v0.clone(), "first", "Made on a.").await.unwrap(), "Success");

    let report = f.sync().await;
    assert_eq!(report["files"], 1, "{report}");
    assert_eq!(versions(&f.b, &title).await.iter().map(|v| v.0.clone()).collect::<Vec<_>>(), [sha1(&v0)]);
    assert_eq!(current(&f.b, &title).await.unwrap().1, "Made on a.", "with its description page");
    let carried = &versions(&f.b, &title).await[0].1;
    assert!(carried.starts_with("Harvestbot on a, ") && carried.ends_with(": first"), "who made it, where, when: {carried}");

    // A new version on b comes back to a.
    let v1 = png("v1");
    assert_eq!(f.b.upload(name, v1.clone(), "second", "").await.unwrap(), "Success");
    let report = f.sync().await;
    assert_eq!(report["files"], 1, "{report}");
    let on_a: Vec<String> = versions(&f.a, &title).await.into_iter().map(|v| v.0).collect();
    assert_eq!(on_a, [sha1(&v1), sha1(&v0)]);
    let quiet = f.sync().await;
    assert_eq!((quiet["files"].as_u64(), quiet["queued"].as_u64()), (Some(0), Some(0)), "{quiet}");

    // Changed on both: a's (the sync's `wiki`, preferred) is current on
    // both, b's kept beside it on a and in b's history.
    next_second().await;
    let (v2, v3) = (png("v2"), png("v3"));
    assert_eq!(f.a.upload(name, v2.clone(), "a's third", "").await.unwrap(), "Success");
    assert_eq!(f.b.upload(name, v3.clone(), "b's third", "").await.unwrap(), "Success");
    let report = f.sync().await;
    assert_eq!((report["conflicts"].as_u64(), report["files"].as_u64()), (Some(1), Some(2)), "{report}");
    assert_eq!(versions(&f.a, &title).await[0].0, sha1(&v2));
    let on_b: Vec<String> = versions(&f.b, &title).await.into_iter().map(|v| v.0).collect();
    assert_eq!(on_b[0], sha1(&v2), "the preferred version is current on b");
    assert!(on_b.contains(&sha1(&v3)), "b's own stays in its history");
    let line = report["lines"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).find(|l| l.contains("changed on both")).unwrap().to_string();
    let aside = line.split("kept beside it as [[").nth(1).unwrap().split("]]").next().unwrap().to_string();
    assert_eq!(versions(&f.a, &aside).await.iter().map(|v| v.0.clone()).collect::<Vec<_>>(), [sha1(&v3)], "b's version kept on a as {aside}");
    let talk = current(&f.a, &format!("File talk:{name}")).await.expect("a notice on the file's talk page").1;
    assert!(talk.contains("File conflict synced by oai-mirror") && talk.contains(&aside), "{talk}");
    // The version kept aside is a file of the sync like any: b gets it too,
    // so both wikis end with both versions.
    let settle = f.sync().await;
    assert_eq!(settle["files"], 1, "{settle}");
    assert_eq!(versions(&f.b, &aside).await.iter().map(|v| v.0.clone()).collect::<Vec<_>>(), [sha1(&v3)]);
    let quiet = f.sync().await;
    assert_eq!((quiet["files"].as_u64(), quiet["conflicts"].as_u64(), quiet["queued"].as_u64()), (Some(0), Some(0), Some(0)), "{quiet}");
}

/// A file over the 1 MiB chunk goes up in chunks; syncs killed at seeded
/// moments while it goes leave it on b exactly once, whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_killed_during_a_large_upload_loses_nothing_and_uploads_nothing_twice() {
    let f = Files::new("Sk");
    let title = format!("File:{}-big.pdf", f.stem);
    let mut big = b"%PDF-1.4\n%".to_vec();
    let mut rng = fastrand::Rng::with_seed(32);
    big.extend((0..6 * 1024 * 1024).map(|_| rng.u8(..)));
    big.extend_from_slice(b"\n%%EOF\n");
    // Put there by the wiki's own script: larger than PHP lets one request carry.
    let dir = tempdir();
    std::fs::write(dir.path().join(title.trim_start_matches("File:")), &big).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/testbeds/mediawiki.sh");
    let out = std::process::Command::new("bash")
        .arg(script)
        .arg("php")
        .arg(&test_wiki().dir)
        .args(["importImages.php", "--extensions=pdf"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let mut killed = 0;
    for _ in 0..4 {
        let mut child = f.command().stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(rng.u64(500..4000))).await;
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            killed += 1;
        }
        child.wait().unwrap();
    }
    assert!(killed > 0, "at least one run was killed");
    let report = f.sync().await;
    assert_eq!(report["queued"], 0, "{report}");
    let on_b = versions(&f.b, &title).await;
    assert_eq!(on_b.iter().map(|v| v.0.clone()).collect::<Vec<_>>(), [sha1(&big)], "on b once, whole");
}

/// In a group, a file uploaded on one spoke reaches the hub and, in the
/// same run, the other spoke: all three hold the same bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_uploaded_on_one_member_of_a_group_reaches_every_member() {
    let tests = [test_wiki(), test_wiki_b(), test_wiki_c()];
    let stem = unique_title("Sg").replace(' ', "");
    let category = format!("Category:{stem} files");
    let home = tempdir();
    let mut tables = String::new();
    for (name, w) in ["a", "b", "c"].into_iter().zip(tests) {
        let secret = home.path().join(format!("{name}.secret"));
        std::fs::write(&secret, &w.upload_password).unwrap();
        tables += &format!(
            "[wiki.{name}]\napi = \"{}\"\nuser = \"{}\"\npassword_file = \"{}\"\nfeed = \"api\"\nprefixes = [\"File:{stem}\"]\n",
            w.api,
            w.upload_user,
            secret.display()
        );
    }
    let config = home.path().join("config.toml");
    let text =
        format!("db = \"{}\"\n{tables}[group.g]\nwikis = [\"a\", \"b\", \"c\"]\ncategories = [\"{category}\"]\n", home.path().join("s.sqlite").display());
    std::fs::write(&config, text).unwrap();
    let clients: Vec<oai_mirror::mediawiki::Wiki> = tests.iter().map(|w| w.client("group-files", &w.upload_user, &w.upload_password)).collect();
    let title = format!("File:{stem}-g.png");
    let bytes = png("group");
    assert_eq!(clients[1].upload(title.trim_start_matches("File:"), bytes.clone(), "on b", &format!("Shared.\n\n[[{category}]]")).await.unwrap(), "Success");

    let mut c = bin(home.path());
    c.arg("--config").arg(&config).args(["sync", "g", "--json"]);
    let out = run(c).await;
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let report: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(report["files"], 2, "to the hub, then to the other spoke: {report}");
    for (name, w) in ["a", "b", "c"].into_iter().zip(&clients) {
        assert_eq!(versions(w, &title).await.iter().map(|v| v.0.clone()).collect::<Vec<_>>(), [sha1(&bytes)], "on {name}");
    }
}
