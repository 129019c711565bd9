//! A sync replays the revisions a change was made of, each with its author,
//! against two real MediaWikis: through the API's import where the target's
//! account may import, else one attributed edit per revision.

use oai_mirror::mediawiki::{CreateMode, Edit, EditOutcome, PageRef, Revision, Wiki};

use crate::support::{TestWiki, bin, current, revisions_after, run, save, stderr, stdout, tempdir, test_wiki, test_wiki_b, unique_title};

struct Pair {
    a: Wiki,
    b: Wiki,
    a_other: Wiki,
    prefix: String,
    home: tempfile::TempDir,
    config: std::path::PathBuf,
}

/// A sync `ab` between the test wikis a and b, pages under a new prefix;
/// b's account may import when `b_imports`.
fn setup(b_imports: bool, extra: &str) -> Pair {
    let (ta, tb) = (test_wiki(), test_wiki_b());
    let prefix = format!("{} ", unique_title("Replay").replace(' ', ""));
    let home = tempdir();
    let table = |name: &str, w: &TestWiki, user: &str, password: &str| {
        let secret = home.path().join(format!("{name}.secret"));
        std::fs::write(&secret, password).unwrap();
        format!(
            "[wiki.{name}]\napi = \"{}\"\nuser = \"{user}\"\npassword_file = \"{}\"\nfeed = \"api\"\nprefixes = [\"{prefix}\", \"Talk:{prefix}\"]\n",
            w.api,
            secret.display()
        )
    };
    let b = if b_imports { table("b", tb, &tb.import_user, &tb.import_password) } else { table("b", tb, &tb.bot_user, &tb.bot_password) };
    let config = home.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "db = \"{}\"\n{}{b}[sync.ab]\nwiki = \"a\"\nwith = \"b\"\n{extra}",
            home.path().join("s.sqlite").display(),
            table("a", ta, &ta.bot_user, &ta.bot_password)
        ),
    )
    .unwrap();
    Pair { a: ta.bot(), b: tb.bot(), a_other: ta.other(), prefix, home, config }
}

impl Pair {
    fn title(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    async fn sync(&self) -> serde_json::Value {
        let mut c = bin(self.home.path());
        c.arg("--config").arg(&self.config).args(["sync", "ab", "--json"]);
        let out = run(c).await;
        assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
        serde_json::from_str(stdout(&out).trim()).unwrap()
    }
}

/// Saves `text` as `w` with this summary; the new revision.
async fn edit(w: &Wiki, title: &str, text: &str, summary: &str) -> u64 {
    let e = Edit { page: PageRef::Title(title), text, summary, base_revid: None, start_timestamp: None, mode: CreateMode::Either, minor: false, tags: &[] };
    match w.edit(&e).await.unwrap() {
        EditOutcome::Saved { newrevid, .. } => newrevid,
        other => panic!("{other:?}"),
    }
}

/// Every revision of a title on `w`, oldest first.
async fn history(w: &Wiki, title: &str) -> Vec<Revision> {
    let id = current(w, title).await.expect("the page is there").0;
    revisions_after(w, id, 0).await
}

const EDITS: [(&str, &str); 3] =
    [("first line\nsecond", "adds a second line"), ("first line\nsecond\nthird", "and a third"), ("first line (fixed)\nsecond\nthird", "fixes the first")];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_import_rights_each_edit_arrives_as_the_revision_its_author_made() {
    let p = setup(true, "");
    let t = p.title("Imported");
    save(&p.a, &t, "first line").await;
    let first = p.sync().await;
    assert_eq!((first["created"].as_u64(), first["replayed"].as_u64()), (Some(1), Some(1)), "{first}");
    for (text, summary) in EDITS {
        edit(&p.a_other, &t, text, summary).await;
    }
    let report = p.sync().await;
    assert_eq!(report["replayed"], 3, "{report}");
    assert_eq!(current(&p.b, &t).await.unwrap().1, current(&p.a, &t).await.unwrap().1);

    // b's history: the three revisions as Otheruser made them on a (same
    // times, summaries and texts), shown as a>Otheruser.
    let on_a = history(&p.a, &t).await;
    let on_b = history(&p.b, &t).await;
    let from_a: Vec<(String, String, String, String)> =
        on_a.iter().skip(1).map(|r| (format!("a>{}", r.user), r.timestamp.clone(), r.comment.clone(), r.text.clone().unwrap())).collect();
    let imported: Vec<(String, String, String, String)> =
        on_b.iter().filter(|r| r.user == "a>Otheruser").map(|r| (r.user.clone(), r.timestamp.clone(), r.comment.clone(), r.text.clone().unwrap())).collect();
    assert_eq!(imported, from_a);
    assert!(on_b.iter().any(|r| r.user == "a>Harvestbot"), "the page's first revision came as its author made it too: {on_b:?}");

    // Its own imports come back through b's feed: nothing goes back to a.
    let again = p.sync().await;
    assert_eq!((again["pushes"].as_u64(), again["replayed"].as_u64()), (Some(0), Some(0)), "{again}");
    assert_eq!(history(&p.a, &t).await.len(), on_a.len(), "nothing written to a");
    // b's mirror followed the import (its log entry in b's feed): its page
    // is b's current revision, with the imported revisions in its history.
    let store = checkpoints::Store::open_read_only(&p.home.path().join("s.sqlite")).unwrap();
    let page = store.wiki_page_by_title("b", &t).unwrap().unwrap();
    assert_eq!(page.rev_id, on_b.last().map(|r| r.revid));
    let mirrored = store.wiki_revisions("b", page.pageid).unwrap();
    assert_eq!(mirrored.iter().filter(|r| r.user == "a>Otheruser").count(), 3, "{mirrored:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_import_rights_each_edit_is_replayed_in_order_and_attributed() {
    let p = setup(false, "");
    let t = p.title("Edited");
    save(&p.a, &t, "first line").await;
    p.sync().await;
    let mut made = Vec::new();
    for (text, summary) in EDITS {
        made.push(edit(&p.a_other, &t, text, summary).await);
    }
    let report = p.sync().await;
    assert_eq!(report["replayed"], 3, "{report}");
    let on_a = history(&p.a, &t).await;
    let on_b = history(&p.b, &t).await;
    let replayed: Vec<&Revision> = on_b.iter().rev().take(3).rev().collect();
    for ((r, (text, summary)), made) in replayed.iter().zip(EDITS).zip(&made) {
        let original = on_a.iter().find(|x| x.revid == *made).unwrap();
        let when = original.timestamp[..16].replace('T', " ");
        assert_eq!(r.comment, format!("Otheruser on a, {when}: {summary}"));
        assert_eq!(r.text.as_deref(), Some(text));
        assert_eq!(r.user, "Harvestbot");
    }
    let again = p.sync().await;
    assert_eq!((again["pushes"].as_u64(), again["replayed"].as_u64()), (Some(0), Some(0)), "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn squash_carries_a_change_as_one_edit_as_before() {
    let p = setup(false, "history = \"squash\"\n");
    let t = p.title("Squashed");
    save(&p.a, &t, "first line").await;
    p.sync().await;
    for (text, summary) in EDITS {
        edit(&p.a_other, &t, text, summary).await;
    }
    let report = p.sync().await;
    assert_eq!((report["pushes"].as_u64(), report["replayed"].as_u64()), (Some(1), Some(0)), "{report}");
    let last = history(&p.b, &t).await.pop().unwrap();
    assert_eq!(last.comment, "oai-mirror sync (ab)");
    assert_eq!(last.text.as_deref(), Some(EDITS[2].0));
}
