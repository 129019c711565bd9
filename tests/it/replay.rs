//! A sync replays the revisions a change was made of, each with its author,
//! against two real MediaWikis: through the API's import where the target's
//! account may import, else one attributed edit per revision.

use oai_mirror::mediawiki::{CreateMode, Edit, EditOutcome, PageRef, Revision, Wiki};

use crate::support::{bin, current, revisions_after, run, save, stdout, test_wiki, test_wiki_b};
use crate::sync_wikis::Pair;

/// A sync `ab` between the test wikis a and b, pages under a new prefix;
/// b's account may import when `b_imports`.
fn setup(b_imports: bool, extra: &str) -> Pair {
    let tb = test_wiki_b();
    let b = if b_imports { (tb.import_user.as_str(), tb.import_password.as_str()) } else { (tb.bot_user.as_str(), tb.bot_password.as_str()) };
    Pair::new("Replay", b, extra)
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

const PAGE: &str = "= Intro =\nfirst line\n\n= Middle =\nmiddle line\n\n= End =\nlast line";

/// The comments of a title's revisions on `w` after its first `skip`.
async fn comments_after(w: &Wiki, title: &str, skip: usize) -> Vec<String> {
    history(w, title).await.into_iter().skip(skip).map(|r| r.comment).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interleaved_edits_on_both_wikis_are_each_replayed_on_the_other_in_time_order() {
    let p = setup(false, "");
    let t = p.title("Both");
    save(&p.a, &t, PAGE).await;
    p.sync().await;
    let (on_a, on_b) = (history(&p.a, &t).await.len(), history(&p.b, &t).await.len());
    let a1 = PAGE.replace("first line", "first line (a)");
    let b1 = PAGE.replace("last line", "last line (b)");
    let a2 = a1.replace("middle line", "middle line (a)");
    edit(&p.a_other, &t, &a1, "intro on a").await;
    edit(&p.b, &t, &b1, "end on b").await;
    edit(&p.a_other, &t, &a2, "middle on a").await;
    let report = p.sync().await;
    assert_eq!(report["merged"], 1, "{report}");
    let all = a2.replace("last line", "last line (b)");
    assert_eq!(current(&p.a, &t).await.unwrap().1, all);
    assert_eq!(current(&p.b, &t).await.unwrap().1, all);

    // Each wiki: its own edits, then the other's, in the order they were made.
    let a_side = comments_after(&p.a, &t, on_a).await;
    assert_eq!(a_side.len(), 3, "{a_side:?}");
    assert!(a_side[2].starts_with("Harvestbot on b, ") && a_side[2].ends_with("end on b (merged with the edits on a)"), "{a_side:?}");
    let b_side = comments_after(&p.b, &t, on_b).await;
    assert_eq!(b_side.len(), 3, "{b_side:?}");
    assert_eq!(b_side[0], "end on b");
    assert!(b_side[1].starts_with("Otheruser on a, ") && b_side[1].ends_with("intro on a (merged with the edits on b)"), "{b_side:?}");
    assert!(b_side[2].starts_with("Otheruser on a, ") && b_side[2].ends_with("middle on a (merged with the edits on b)"), "{b_side:?}");
    let texts: Vec<String> = history(&p.b, &t).await.into_iter().skip(on_b).map(|r| r.text.unwrap()).collect();
    assert_eq!(texts, [b1.clone(), a1.replace("last line", "last line (b)"), all.clone()], "each replayed edit merged onto b's text");

    let again = p.sync().await;
    assert_eq!((again["pushes"].as_u64(), again["replayed"].as_u64()), (Some(0), Some(0)), "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overlapping_edit_is_a_conflict_said_in_the_summary_with_its_notice_and_nothing_lost() {
    let p = setup(false, "conflicts = \"keep-both\"\nprefer = \"wiki\"\nnotify = [\"page-talk\", \"user-talk\"]\n");
    let t = p.title("Clash");
    save(&p.a, &t, PAGE).await;
    p.sync().await;
    let on_b = history(&p.b, &t).await.len();
    let a1 = PAGE.replace("first line", "first line (a)");
    let a2 = a1.replace("middle line", "middle line (a)");
    let b1 = PAGE.replace("middle line", "middle line (b)");
    edit(&p.a_other, &t, &a1, "intro on a").await;
    edit(&p.b, &t, &b1, "middle on b").await;
    edit(&p.a_other, &t, &a2, "middle on a").await;
    let report = p.sync().await;
    assert_eq!(report["conflicts"], 1, "{report}");
    // The preferred side's text on both; b's own text is in its history and in the store.
    assert_eq!(current(&p.a, &t).await.unwrap().1, a2);
    assert_eq!(current(&p.b, &t).await.unwrap().1, a2);
    let b_side = history(&p.b, &t).await;
    let b_side: Vec<(String, String)> = b_side.into_iter().skip(on_b).map(|r| (r.comment, r.text.unwrap())).collect();
    assert_eq!(b_side[0], ("middle on b".to_string(), b1.clone()));
    assert!(b_side[1].0.ends_with("intro on a (merged with the edits on b)"), "the clean one replayed alone: {b_side:?}");
    assert_eq!(b_side.len(), 3, "{b_side:?}");
    assert!(b_side[2].0.contains("middle on a (merged with the edits on b); conflict with the edit of Harvestbot on b: both texts kept"), "{b_side:?}");
    let mut c = bin(p.home.path());
    c.arg("--config").arg(&p.config).args(["conflicts", "ab", "--json"]);
    let conflicts: Vec<serde_json::Value> = stdout(&run(c).await).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(conflicts.len(), 1);
    assert_eq!((conflicts[0]["wiki_text"].as_str(), conflicts[0]["with_text"].as_str()), (Some(a2.as_str()), Some(b1.as_str())));
    let (_, notice) = current(&p.a, &format!("Talk:{t}")).await.expect("a notice on the talk page");
    assert!(notice.contains("Otheruser") && notice.contains("Harvestbot"), "{notice}");
    // Both contributors hear of it, each on the wiki where they edited.
    for (wiki, user) in [(&p.a, "Otheruser"), (&p.b, "Harvestbot")] {
        let (_, talk) = current(wiki, &format!("User talk:{user}")).await.unwrap_or_else(|| panic!("no notice for {user}"));
        assert!(talk.contains(&format!("[[{t}]]")), "{user}: {talk}");
    }
}

/// A group replays an edit made on a member on the others: through its hub,
/// whose own replay names the author again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_replays_each_edit_on_every_member() {
    let g = crate::groups::Group::new("");
    let t = g.title("Replayed");
    save(&g.wikis[0], &t, &g.in_category("one")).await;
    g.sync().await;
    let before: Vec<usize> = {
        let mut n = Vec::new();
        for w in &g.wikis {
            n.push(history(w, &t).await.len());
        }
        n
    };
    let (two, three) = (g.in_category("one\ntwo"), g.in_category("one\ntwo\nthree"));
    edit(&g.others[2], &t, &two, "c adds two").await;
    edit(&g.others[2], &t, &three, "c adds three").await;
    g.sync().await;
    g.sync().await;
    for (i, w) in g.wikis.iter().enumerate().take(2) {
        let comments: Vec<String> = history(w, &t).await.into_iter().skip(before[i]).map(|r| r.comment).collect();
        assert_eq!(comments.len(), 2, "wiki {i}: {comments:?}");
        assert!(comments[0].contains("Otheruser on c, ") && comments[0].ends_with(": c adds two"), "wiki {i}: {comments:?}");
        assert!(comments[1].ends_with(": c adds three"), "wiki {i}: {comments:?}");
    }
    assert_eq!(g.texts(&t).await, vec![Some(three.clone()); 3]);
}

/// Imported revisions older than the page's newest on the other wiki do
/// not become its text: one more edit by the sync makes it the source's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_below_a_newer_revision_is_followed_by_the_edit_that_makes_the_text_right() {
    let p = setup(true, "");
    let t = p.title("Below");
    save(&p.a, &t, "first line").await;
    let made = history(&p.a, &t).await.pop().unwrap().timestamp;
    // b's copy is imported at least two seconds later: its import's null
    // revision is newer than anything a makes in the next second.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    p.sync().await;
    let b_top = history(&p.b, &t).await.pop().unwrap().timestamp;
    assert!(b_top > made, "{b_top} after {made}");
    // On a, a revision one second after the first: a's newest, older than b's.
    let at = (chrono::DateTime::parse_from_rfc3339(&made).unwrap() + chrono::Duration::seconds(1)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    assert!(at < b_top);
    let xml = format!(
        r#"<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" version="0.11" xml:lang="en"><page><title>{t}</title><ns>0</ns><revision><timestamp>{at}</timestamp><contributor><username>Otheruser</username></contributor><comment>older than b's</comment><model>wikitext</model><format>text/x-wiki</format><text xml:space="preserve">first line
second, from an import</text></revision></page></mediawiki>"#
    );
    let file = p.home.path().join("older.xml");
    std::fs::write(&file, xml).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/testbeds/mediawiki.sh");
    let out = std::process::Command::new("bash").arg(script).arg("php").arg(&test_wiki().dir).arg("importDump.php").arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let a_text = current(&p.a, &t).await.unwrap().1;
    assert_eq!(a_text, "first line\nsecond, from an import", "a's newest revision");

    let report = p.sync().await;
    assert_eq!(report["replayed"], 1, "{report}");
    assert_eq!(current(&p.b, &t).await.unwrap().1, a_text, "b's text is a's");
    let on_b = history(&p.b, &t).await;
    let imported = on_b.iter().find(|r| r.user == "a>Otheruser").expect("the revision imported, its author kept");
    assert_eq!((imported.timestamp.as_str(), imported.comment.as_str()), (at.as_str(), "older than b's"));
    let last = on_b.last().unwrap();
    assert!(last.comment.contains("whose revisions were imported below this page's newer ones"), "{on_b:?}");
    let again = p.sync().await;
    assert_eq!((again["pushes"].as_u64(), again["replayed"].as_u64()), (Some(0), Some(0)), "{again}");
}

/// An import the wiki refuses (here PHP's 2 MB limit on an uploaded file:
/// a revision whose text escapes to more) is replayed as an attributed
/// edit instead, and the run says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_the_wiki_refuses_is_replayed_as_an_edit() {
    let p = setup(true, "");
    let t = p.title("Refused");
    save(&p.a, &t, "small").await;
    p.sync().await;
    // 1.9 MB of text (MediaWiki takes 2 MB), 9.5 MB of XML once escaped.
    let big = "&".repeat(1_900_000);
    edit(&p.a_other, &t, &big, "a large revision").await;
    let report = p.sync().await;
    assert_eq!(report["replayed"], 1, "{report}");
    let lines = report["lines"].as_array().unwrap();
    assert!(lines.iter().any(|l| l.as_str().unwrap().contains("import refused")), "{report}");
    assert_eq!(current(&p.b, &t).await.unwrap().1, big);
    let last = history(&p.b, &t).await.pop().unwrap();
    assert!(last.comment.starts_with("Otheruser on a, ") && last.comment.ends_with(": a large revision"), "{}", last.comment);
    let again = p.sync().await;
    assert_eq!((again["pushes"].as_u64(), again["replayed"].as_u64()), (Some(0), Some(0)), "{again}");
}
