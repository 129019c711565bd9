//! Two real wikis with no network between them, kept in step by packages
//! carried on a "USB stick" (a directory both sites use in turn).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use oai_mirror::mediawiki::Wiki;

use crate::packages::{home_with, move_page, seeded};
use crate::support::{TestWiki, bin, pages_by_api, run, save, stderr, stdout, tempdir, test_wiki, unique_title};

/// One site of a sync by packages: a home with its own database and only
/// its own wiki in the config; the other wiki is never reached over HTTP.
struct Site {
    home: tempfile::TempDir,
    config: PathBuf,
}

impl Site {
    fn new(name: &str, tw: &TestWiki, prefix: &str, stick: &Path) -> Site {
        let (home, config) = home_with(tw, |secret| {
            format!(
                "[wiki.{name}]\napi = \"{}\"\nuser = \"{}\"\npassword_file = \"{}\"\nfeed = \"api\"\nprefixes = [\"{prefix}\", \"Talk:{prefix}\"]\n\
                 [sync.usb]\nwiki = \"{name}\"\npackages = \"{}\"\n",
                tw.api,
                tw.bot_user,
                secret.display(),
                stick.display()
            )
        });
        Site { home, config }
    }

    async fn sync(&self) -> String {
        let mut c = bin(self.home.path());
        c.arg("--config").arg(&self.config).args(["sync", "usb"]);
        let out = run(c).await;
        assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
        stdout(&out)
    }

    async fn cli(&self, args: &[&str]) -> String {
        let mut c = bin(self.home.path());
        c.arg("--config").arg(&self.config).args(args);
        stdout(&run(c).await)
    }
}

/// Current texts of the pages under `prefix` (and their talk pages).
async fn texts(api: &str, prefix: &str) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = pages_by_api(api, prefix).await.into_iter().map(|(t, (_, revs))| (t, revs.last().unwrap().3.clone())).collect();
    out.extend(crate::support::talk_pages_by_api(api, prefix).await);
    out
}

const PAGE: &str = "= Intro =\nfirst line\n\n= Middle =\nmiddle line\n\n= End =\nlast line";

/// Two real wikis with no HTTP between them, only packages carried on a
/// "USB stick" (a directory both sites use in turn): the two-way scenarios
/// of the HTTP sync end with both wikis equal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_wikis_with_no_network_between_them_sync_by_carried_packages() {
    let (ta, tb) = (test_wiki(), crate::support::test_wiki_b());
    let (a, b) = (ta.bot(), tb.bot());
    let prefix = format!("{} ", unique_title("Usb").replace(' ', ""));
    let t = |s: &str| format!("{prefix}{s}");
    let stick = tempdir();
    let (hq, field) = (Site::new("hq", ta, &prefix, stick.path()), Site::new("field", tb, &prefix, stick.path()));

    for name in ["Sections", "Same line", "Moved", "Deleted"] {
        save(&a, &t(name), PAGE).await;
    }
    save(&b, &t("From the field"), "written in the field").await;
    // Round trips: each site syncs with the stick in turn.
    for _ in 0..2 {
        hq.sync().await;
        field.sync().await;
    }
    hq.sync().await;
    let start = texts(&ta.api, &prefix).await;
    assert_eq!(start.len(), 5, "{start:?}");
    assert_eq!(texts(&tb.api, &prefix).await, start, "both wikis hold every page");

    // Both sides change things while apart.
    save(&a, &t("Sections"), &PAGE.replace("first line", "first line (hq)")).await;
    save(&b, &t("Sections"), &PAGE.replace("last line", "last line (field)")).await;
    save(&a, &t("Same line"), &PAGE.replace("middle line", "middle line (hq)")).await;
    save(&b, &t("Same line"), &PAGE.replace("middle line", "middle line (field)")).await;
    move_page(&a, &t("Moved"), &t("Moved on hq"), true).await;
    save(&b, &t("Moved"), &PAGE.replace("first line", "first line, edited in the field")).await;
    a.delete(&t("Deleted"), "test").await.unwrap();
    save(&b, &t("Deleted"), &PAGE.replace("last line", "last line, edited in the field")).await;
    save(&a, &t("Made twice"), "= Made =\nat hq").await;
    save(&b, &t("Made twice"), "= Made =\nin the field").await;

    let mut said = String::new();
    for _ in 0..3 {
        said += &hq.sync().await;
        said += &field.sync().await;
    }
    said += &hq.sync().await;
    let at_hq = texts(&ta.api, &prefix).await;
    assert_eq!(texts(&tb.api, &prefix).await, at_hq, "both wikis equal after the packages went both ways\n{said}");
    assert_eq!(
        at_hq[&t("Sections")],
        PAGE.replace("first line", "first line (hq)").replace("last line", "last line (field)"),
        "edits in different sections merge"
    );
    assert!(!at_hq.contains_key(&t("Moved")) && at_hq[&t("Moved on hq")].contains("edited in the field"), "the move replayed, the edit kept: {at_hq:?}");
    assert!(at_hq[&t("Deleted")].contains("edited in the field"), "an edit against a deletion survives");
    // The same line: one text wins on both, the other is kept and announced.
    let same = &at_hq[&t("Same line")];
    assert!(same.contains("middle line (hq)") ^ same.contains("middle line (field)"), "{same}");
    let recorded = hq.cli(&["conflicts", "usb", "--json"]).await + &field.cli(&["conflicts", "usb", "--json"]).await;
    assert!(recorded.contains("middle line (hq)") && recorded.contains("middle line (field)"), "both texts kept: {recorded}");
    let talk = at_hq.get(&format!("Talk:{}", t("Same line"))).cloned().unwrap_or_default();
    assert_eq!(talk.matches("Edit conflict synced by oai-mirror").count(), 1, "one notice, carried to both wikis: {at_hq:?}");
    assert!(at_hq[&t("Made twice")].contains("at hq") || at_hq[&t("Made twice")].contains("in the field"));

    // Settled: another round trip changes nothing on either wiki.
    hq.sync().await;
    field.sync().await;
    assert_eq!(texts(&ta.api, &prefix).await, at_hq);
    assert_eq!(texts(&tb.api, &prefix).await, at_hq);
    // The stick holds at most one package of each site's.
    let left: Vec<String> = std::fs::read_dir(stick.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(left.len() <= 2, "{left:?}");
}

/// Packages lost on the way, carried twice, arriving out of order, or
/// written by another sync: nothing lost, nothing applied twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_repeated_and_stray_packages_in_a_sync_lose_nothing() {
    let (ta, tb) = (test_wiki(), crate::support::test_wiki_b());
    let a = ta.bot();
    let prefix = format!("{} ", unique_title("Lost").replace(' ', ""));
    let t = |s: &str| format!("{prefix}{s}");
    let stick = tempdir();
    let (hq, field) = (Site::new("hq", ta, &prefix, stick.path()), Site::new("field", tb, &prefix, stick.path()));
    let packages = || -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(stick.path()).unwrap().map(|e| e.unwrap().path()).collect();
        v.sort();
        v
    };

    save(&a, &t("One"), "one").await;
    hq.sync().await;
    // Lost on the way: the stick comes back without it.
    let lost = packages();
    assert_eq!(lost.len(), 1);
    let kept = tempdir();
    let copy = kept.path().join("copy.tar");
    std::fs::copy(&lost[0], &copy).unwrap();
    std::fs::remove_file(&lost[0]).unwrap();
    save(&a, &t("Two"), "two").await;
    hq.sync().await;
    // The next package holds everything not acknowledged: both pages.
    let said = field.sync().await;
    assert!(said.contains("package 2 of the other site applied: 2 pages"), "{said}");
    // The lost one turns up again, late and twice: nothing happens.
    std::fs::copy(&copy, stick.path().join("late.tar")).unwrap();
    std::fs::copy(&copy, stick.path().join("late-again.tar")).unwrap();
    // A package of another sync left on the same stick: left alone.
    let stranger = seeded(2, 1);
    stranger.ok(&["export", "w", "--out", stick.path().join("stranger.tar").to_str().unwrap()]).await;
    let said = field.sync().await;
    assert!(said.contains("stranger.tar: package 1 of wiki 'w'") && said.contains("not from the other site of this sync"), "{said}");
    assert!(!said.contains("late.tar: package"), "an applied package is not applied again: {said}");
    hq.sync().await;
    let texts_b = texts(&tb.api, &prefix).await;
    assert_eq!(texts_b.values().cloned().collect::<Vec<_>>(), ["one", "two"]);
    assert_eq!(texts(&ta.api, &prefix).await, texts_b);
    // Each site removed its own packages once the other acknowledged them.
    let ours = |site: &str| packages().iter().filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(site)).count();
    assert_eq!((ours("hq-"), ours("field-")), (1, 1), "{:?}", packages());
}

/// A sync by packages replays each edit made at one site on the other
/// site's wiki, as its own edit, its summary naming the author and the
/// site (packages of a replaying sync carry every revision).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_by_packages_replays_each_edit_with_its_author() {
    let (ta, tb) = (test_wiki(), crate::support::test_wiki_b());
    let (a, b, a_other) = (ta.bot(), tb.bot(), ta.other());
    let prefix = format!("{} ", unique_title("UsbReplay").replace(' ', ""));
    let title = format!("{prefix}Replayed");
    let stick = tempdir();
    let (hq, field) = (Site::new("hq", ta, &prefix, stick.path()), Site::new("field", tb, &prefix, stick.path()));
    save(&a, &title, "one").await;
    for _ in 0..2 {
        hq.sync().await;
        field.sync().await;
    }
    let history = |w: Wiki| {
        let title = title.clone();
        async move {
            let id = crate::support::current(&w, &title).await.expect("the page is there").0;
            crate::support::revisions_after(&w, id, 0).await
        }
    };
    let before = history(tb.bot()).await.len();
    for (text, summary) in [("one\ntwo", "hq adds two"), ("one\ntwo\nthree", "hq adds three")] {
        let e = oai_mirror::mediawiki::Edit {
            page: oai_mirror::mediawiki::PageRef::Title(&title),
            text,
            summary,
            base_revid: None,
            start_timestamp: None,
            mode: oai_mirror::mediawiki::CreateMode::Either,
            minor: false,
            tags: &[],
        };
        a_other.edit(&e).await.unwrap();
    }
    hq.sync().await;
    let said = field.sync().await;
    let on_b: Vec<(String, String)> = history(tb.bot()).await.into_iter().skip(before).map(|r| (r.comment, r.text.unwrap())).collect();
    assert_eq!(on_b.len(), 2, "{on_b:?}\n{said}");
    assert!(on_b[0].0.starts_with("Otheruser on Testwiki, ") && on_b[0].0.ends_with(": hq adds two"), "{on_b:?}");
    assert!(on_b[1].0.ends_with(": hq adds three") && on_b[1].1 == "one\ntwo\nthree", "{on_b:?}");
    assert_eq!(crate::support::current(&b, &title).await.unwrap().1, "one\ntwo\nthree");
}
