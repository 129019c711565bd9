//! MediaWiki XML packages: exported from a mirror of a real MediaWiki,
//! imported by MediaWiki's own importDump.php into a fresh one, and
//! applied to another store; broken, foreign and repeated packages refused.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use oai_mirror::mediawiki::Wiki;

use crate::support::{ApiRevision, FreshWiki, TestWiki, bin, pages_by_api, run, save, stderr, stdout, tempdir, test_wiki, unique_title};

/// A home mirroring the test wiki's pages under `prefix`, with history.
struct Mirror {
    home: tempfile::TempDir,
    config: PathBuf,
}

impl Mirror {
    fn new(tw: &TestWiki, prefix: &str) -> Mirror {
        let home = tempdir();
        let secret = home.path().join("secret");
        std::fs::write(&secret, &tw.bot_password).unwrap();
        let config = home.path().join("config.toml");
        std::fs::write(
            &config,
            format!(
                "db = \"{}\"\n[wiki.src]\napi = \"{}\"\nuser = \"{}\"\npassword_file = \"{}\"\nfeed = \"api\"\nhistory = true\nprefixes = [\"{prefix}\"]\n",
                home.path().join("m.sqlite").display(),
                tw.api,
                tw.bot_user,
                secret.display()
            ),
        )
        .unwrap();
        Mirror { home, config }
    }

    fn cmd(&self, args: &[&str]) -> std::process::Command {
        let mut c = bin(self.home.path());
        c.arg("--config").arg(&self.config).args(args);
        c
    }

    async fn ok(&self, args: &[&str]) -> String {
        let out = run(self.cmd(args)).await;
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        stdout(&out)
    }

    fn package(&self, name: &str) -> PathBuf {
        self.home.path().join(name)
    }
}

/// Applies a package to a wiki as the README says: delete what it lists,
/// then importDump.php the XML.
fn import_dump(target: &FreshWiki, package: &Path) -> String {
    let dir = tempdir();
    let out = std::process::Command::new("tar").arg("-xf").arg(package).arg("-C").arg(dir.path()).output().unwrap();
    assert!(out.status.success(), "tar -xf: {}", String::from_utf8_lossy(&out.stderr));
    let mut log = String::new();
    let delete_first = dir.path().join("delete-first.txt");
    if std::fs::metadata(&delete_first).unwrap().len() > 0 {
        log += &target.php("deleteBatch.php", &["-r".as_ref(), "package".as_ref(), delete_first.as_os_str()]);
    }
    log += &target.php("importDump.php", &["--no-updates".as_ref(), dir.path().join("pages.xml.gz").as_os_str()]);
    log
}

/// The XML part is valid against MediaWiki's export schema 0.11.
fn assert_valid_xml(package: &Path) {
    let dir = tempdir();
    let out = std::process::Command::new("tar").arg("-xf").arg(package).arg("-C").arg(dir.path()).output().unwrap();
    assert!(out.status.success());
    let xsd = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mediawiki/export-0.11.xsd");
    let out = std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&xsd)
        .arg(dir.path().join("pages.xml.gz"))
        .output()
        .expect("xmllint (libxml2-utils) is installed by tests/run.sh");
    assert!(out.status.success(), "the package's XML is not valid export-0.11: {}", String::from_utf8_lossy(&out.stderr));
}

/// Pages as importDump.php can reproduce them. It skips a revision whose
/// timestamp and SHA-1 a revision of the page already has (its rule for
/// "already imported"), so the null revision of a move made in the same
/// second as the edit before it is not imported, although the package
/// holds it (the store-to-store import below checks that every revision
/// arrives). Both sides are compared with such repeats collapsed.
fn as_import_dump_keeps(pages: BTreeMap<String, (bool, Vec<ApiRevision>)>) -> BTreeMap<String, (bool, Vec<ApiRevision>)> {
    pages
        .into_iter()
        .map(|(title, (redirect, mut revs))| {
            revs.dedup_by(|later, earlier| (&later.0, &later.2) == (&earlier.0, &earlier.2));
            (title, (redirect, revs))
        })
        .collect()
}

async fn move_page(w: &Wiki, from: &str, to: &str, noredirect: bool) {
    w.move_page(from, to, noredirect, "test").await.unwrap();
}

/// A wiki with history (two users, moves with and without a redirect, a
/// delete, a delete and undelete) → a full package with history →
/// importDump.php into a fresh MediaWiki: the same pages and revisions.
/// Then more changes → an incremental package → the same again; and both
/// packages applied to a second store give the mirror's pages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_and_incremental_packages_round_trip_through_import_dump() {
    let tw = test_wiki();
    let (bot, other) = (tw.bot(), tw.other());
    let prefix = format!("{} ", unique_title("Pkg").replace(' ', ""));
    let t = |s: &str| format!("{prefix}{s}");
    save(&bot, &t("Alpha"), "Alpha one").await;
    save(&other, &t("Alpha"), "Alpha one\n\ntwo & <three> \"quoted\"").await;
    save(&bot, &t("Alpha"), "Alpha one\n\ntwo & <three> \"quoted\"\n\nÜmlaut ✓").await;
    for name in ["Beta", "Gamma", "Delta", "Epsilon"] {
        save(&bot, &t(name), &format!("{name} text")).await;
    }
    save(&other, &t("Delta"), "Delta text, edited").await;
    move_page(&bot, &t("Beta"), &t("Beta moved"), false).await;
    move_page(&bot, &t("Gamma"), &t("Gamma moved"), true).await;
    bot.delete(&t("Delta"), "test").await.unwrap();
    bot.undelete(&t("Delta"), "test").await.unwrap();
    bot.delete(&t("Epsilon"), "test").await.unwrap();

    let m = Mirror::new(tw, &prefix);
    m.ok(&["mirror", "src"]).await;
    let first = m.package("src-0001.tar");
    let said = m.ok(&["export", "src", "--out", first.to_str().unwrap(), "--full", "--history"]).await;
    assert!(said.contains("package 1 (full)"), "{said}");
    assert_valid_xml(&first);

    let source = pages_by_api(&tw.api, &prefix).await;
    assert_eq!(source.keys().cloned().collect::<Vec<_>>(), ["Alpha", "Beta", "Beta moved", "Delta", "Gamma moved"].map(t), "the source as the test made it");
    let target = FreshWiki::start();
    import_dump(&target, &first);
    assert_eq!(as_import_dump_keeps(pages_by_api(&target.api, &prefix).await), as_import_dump_keeps(source), "after the full package");

    // More changes: an edit, a move of an edited page, a deletion, a new page.
    save(&other, &t("Alpha"), "Alpha one, again\n\ntwo & <three> \"quoted\"\n\nÜmlaut ✓").await;
    move_page(&bot, &t("Alpha"), &t("Alpha moved"), false).await;
    bot.delete(&t("Delta"), "test").await.unwrap();
    save(&other, &t("Zeta"), "Zeta, new").await;
    save(&bot, &t("Gamma moved"), "Gamma text, edited after its move").await;
    m.ok(&["mirror", "src"]).await;
    let second = m.package("src-0002.tar");
    let said = m.ok(&["export", "src", "--out", second.to_str().unwrap(), "--history"]).await;
    assert!(said.contains("package 2 (after package 1)") && said.contains("1 moved, 1 deleted"), "{said}");
    assert_valid_xml(&second);
    let shown = m.ok(&["package", "show", second.to_str().unwrap()]).await;
    assert!(shown.contains("moved: page") && shown.contains(&format!("[[{}]] -> [[{}]]", t("Alpha"), t("Alpha moved"))), "{shown}");
    assert!(shown.contains("deleted: page") && shown.contains(&t("Delta")), "{shown}");

    let source = pages_by_api(&tw.api, &prefix).await;
    assert_eq!(source.keys().cloned().collect::<Vec<_>>(), ["Alpha", "Alpha moved", "Beta", "Beta moved", "Gamma moved", "Zeta"].map(t));
    import_dump(&target, &second);
    assert_eq!(as_import_dump_keeps(pages_by_api(&target.api, &prefix).await), as_import_dump_keeps(source), "after the incremental package");

    // The same two packages applied to another store: the mirror's pages.
    let elsewhere = Mirror::new(tw, &prefix);
    let said = elsewhere.ok(&["import", first.to_str().unwrap()]).await;
    assert!(said.contains("package 1 applied"), "{said}");
    let said = elsewhere.ok(&["import", second.to_str().unwrap()]).await;
    assert!(said.contains("package 2 applied") && said.contains("1 moved, 1 deleted"), "{said}");
    assert_eq!(elsewhere.ok(&["pages", "src"]).await, m.ok(&["pages", "src"]).await);
    for title in ["Alpha moved", "Gamma moved", "Zeta"].map(t) {
        assert_eq!(elsewhere.ok(&["history", "src", &title]).await, m.ok(&["history", "src", &title]).await, "{title}");
    }
    let again = elsewhere.ok(&["import", second.to_str().unwrap()]).await;
    assert!(again.contains("applied already; nothing to do"), "{again}");
}
