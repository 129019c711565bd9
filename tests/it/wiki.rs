//! The MediaWiki client against a real MediaWiki 1.39.

use oai_mirror::mediawiki::{ApiCode, Change, CreateMode, Edit, EditOutcome, MwError, PageRef, Sent, Wiki};

use crate::support::{test_wiki, unique_title};

fn edit<'a>(title: &'a str, text: &'a str, base: Option<u64>) -> Edit<'a> {
    Edit {
        page: PageRef::Title(title),
        text,
        summary: "oai-mirror test",
        base_revid: base,
        start_timestamp: None,
        mode: CreateMode::Either,
        minor: false,
        tags: &[],
    }
}

async fn saved(wiki: &Wiki, e: &Edit<'_>) -> (u64, u64, String) {
    match wiki.edit(e).await.unwrap() {
        EditOutcome::Saved { pageid, newrevid, text, .. } => (pageid, newrevid, text),
        other => panic!("expected a save, got {other:?}"),
    }
}

const FIVE: &str = "line one\nline two\nline three\nline four\nline five";

#[tokio::test]
async fn login_good_and_bad() {
    let w = test_wiki();
    let bot = w.bot();
    bot.login().await.unwrap();
    assert_eq!(bot.userinfo().await.unwrap().name, "Harvestbot");
    let bad = w.client("a", &w.bot_user, "not-the-password-00000000000000000");
    match bad.login().await {
        Err(e @ MwError::LoginFailed { .. }) => {
            let text = e.to_string();
            assert!(text.contains("wiki a") && text.contains("Incorrect username or password"), "{text}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn create_update_nochange_and_create_modes() {
    let w = test_wiki().bot();
    let title = unique_title("Create");
    let e = Edit { mode: CreateMode::CreateOnly, ..edit(&title, "first & <text>", None) };
    let (pageid, r1, text) = saved(&w, &e).await;
    assert_eq!(text, "first & <text>", "the saved text is read back exactly");
    let (same_id, r2, _) = saved(&w, &Edit { mode: CreateMode::NoCreate, ..edit(&title, "second", Some(r1)) }).await;
    assert_eq!(same_id, pageid);
    assert!(r2 > r1);
    assert_eq!(w.edit(&edit(&title, "second", Some(r2))).await.unwrap(), EditOutcome::NoChange { pageid });
    assert_eq!(w.edit(&Edit { mode: CreateMode::CreateOnly, ..edit(&title, "x", None) }).await.unwrap(), EditOutcome::Exists);
    let missing = unique_title("Missing");
    assert_eq!(w.edit(&Edit { mode: CreateMode::NoCreate, ..edit(&missing, "x", None) }).await.unwrap(), EditOutcome::Missing);
}

#[tokio::test]
async fn a_conflict_through_baserevid_with_another_user_and_with_ourselves() {
    let tw = test_wiki();
    let (bot, other) = (tw.bot(), tw.other());
    let title = unique_title("Conflict");
    let (_, r1, _) = saved(&bot, &edit(&title, FIVE, None)).await;
    saved(&other, &edit(&title, &FIVE.replace("line one", "line one (other)"), Some(r1))).await;
    let ours = FIVE.replace("line one", "line one (bot)");
    assert_eq!(bot.edit(&edit(&title, &ours, Some(r1))).await.unwrap(), EditOutcome::Conflict);

    // Our own intervening edit conflicts too: basetimestamp would have let
    // MediaWiki overwrite it silently.
    let title = unique_title("Selfconflict");
    let (_, r1, _) = saved(&bot, &edit(&title, FIVE, None)).await;
    saved(&bot, &edit(&title, &FIVE.replace("line three", "line three (first)"), Some(r1))).await;
    assert_eq!(bot.edit(&edit(&title, &FIVE.replace("line three", "line three (second)"), Some(r1))).await.unwrap(), EditOutcome::Conflict);
}

#[tokio::test]
async fn a_server_side_merge_returns_the_merged_text() {
    let tw = test_wiki();
    let (bot, other) = (tw.bot(), tw.other());
    let title = unique_title("Merge");
    let (_, r1, _) = saved(&bot, &edit(&title, FIVE, None)).await;
    saved(&other, &edit(&title, &FIVE.replace("line one", "line one (other)"), Some(r1))).await;
    let (_, _, merged) = saved(&bot, &edit(&title, &FIVE.replace("line five", "line five (bot)"), Some(r1))).await;
    assert_eq!(merged, "line one (other)\nline two\nline three\nline four\nline five (bot)");
}

/// A sync pushes its edits first and reads the saved revisions back
/// together; what it reads must be what reading each back alone says,
/// the text MediaWiki merged on its side included.
#[tokio::test]
async fn saved_revisions_read_back_together_are_what_each_read_alone_says_a_server_side_merge_included() {
    let tw = test_wiki();
    let (bot, other) = (tw.bot(), tw.other());
    let titles: Vec<String> = (0..3).map(|i| unique_title(&format!("Batch {i}"))).collect();
    let mut bases = Vec::new();
    for t in &titles {
        bases.push(saved(&bot, &edit(t, FIVE, None)).await.1);
    }
    // Another user edits the first page's first line; the bot's edit of its
    // last line, on the old base, is merged by MediaWiki.
    saved(&other, &edit(&titles[0], &FIVE.replace("line one", "line one (other)"), Some(bases[0]))).await;
    let sent: Vec<String> = (0..3).map(|i| FIVE.replace("line five", &format!("line five (bot {i})"))).collect();
    let mut revs = Vec::new();
    for i in 0..3 {
        match bot.edit_unread(&edit(&titles[i], &sent[i], Some(bases[i]))).await.unwrap() {
            Sent::Saved { newrevid, .. } => revs.push(newrevid),
            Sent::Done(other) => panic!("expected a save, got {other:?}"),
        }
    }
    let before = bot.requests();
    let together = bot.revision_texts(&revs).await.unwrap();
    assert_eq!(bot.requests() - before, 1, "three revisions in one request");
    for i in 0..3 {
        let alone = bot.revision_text(revs[i], &titles[i]).await.unwrap();
        assert_eq!(together.get(&revs[i]), Some(&alone), "{}", titles[i]);
    }
    assert_eq!(together[&revs[0]], "line one (other)\nline two\nline three\nline four\nline five (bot 0)", "merged on the server");
    assert_eq!((&together[&revs[1]], &together[&revs[2]]), (&sent[1], &sent[2]));
}

#[tokio::test]
async fn starttimestamp_turns_a_silent_recreation_into_pagedeleted() {
    let w = test_wiki().bot();
    let title = unique_title("Deleted");
    let (_, r1, _) = saved(&w, &edit(&title, FIVE, None)).await;
    // We read the page no later than now; one second earlier is safe, and
    // the deletion below is then strictly newer (MediaWiki compares seconds).
    let read_at = w.server_time().await.unwrap();
    let start = (chrono::DateTime::parse_from_rfc3339(&read_at).unwrap() - chrono::TimeDelta::seconds(1)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    w.delete(&title, "test").await.unwrap();
    let e = Edit { start_timestamp: Some(&start), ..edit(&title, "edited meanwhile", Some(r1)) };
    assert_eq!(w.edit(&e).await.unwrap(), EditOutcome::PageDeleted);
    assert!(w.pages(&[PageRef::Title(&title)]).await.unwrap()[0].missing, "not recreated");
}

#[tokio::test]
async fn moves_keep_the_page_id_and_a_redirect_is_a_new_page() {
    let w = test_wiki().bot();
    let since = w.server_time().await.unwrap();
    let (a, b) = (unique_title("Move source"), unique_title("Move target"));
    let (id, _, _) = saved(&w, &edit(&a, "moving text", None)).await;
    assert!(w.move_page(&a, &b, false, "test").await.unwrap().redirect_created);
    let pages = w.pages(&[PageRef::Title(&b), PageRef::Title(&a)]).await.unwrap();
    assert_eq!(pages[0].pageid, Some(id), "the moved page keeps its id");
    assert_eq!(pages[0].revision.as_ref().unwrap().text.as_deref(), Some("moving text"));
    let redirect_id = pages[1].pageid.unwrap();
    assert!(pages[1].redirect && redirect_id != id, "the redirect is a new page");

    let (c, d) = (unique_title("Quiet source"), unique_title("Quiet target"));
    let (id2, _, _) = saved(&w, &edit(&c, "quiet", None)).await;
    assert!(!w.move_page(&c, &d, true, "test").await.unwrap().redirect_created);
    assert!(w.pages(&[PageRef::Title(&c)]).await.unwrap()[0].missing);

    // The change feed reports both moves, typed, with the moved page's id.
    let batch = w.changes(Some(&since), None, 500).await.unwrap();
    assert!(batch.changes.iter().any(|ch| matches!(ch, Change::Move { pageid, from, to, redirect: true, .. } if *pageid == id && *from == a && *to == b)));
    assert!(batch.changes.iter().any(|ch| matches!(ch, Change::Move { pageid, redirect: false, .. } if *pageid == id2)));
}

#[tokio::test]
async fn delete_and_undelete_keep_the_page_id() {
    let w = test_wiki().bot();
    let title = unique_title("Undelete");
    let (id, r1, _) = saved(&w, &edit(&title, "keep me", None)).await;
    w.delete(&title, "test").await.unwrap();
    assert!(w.pages(&[PageRef::Title(&title)]).await.unwrap()[0].missing);
    match w.delete(&title, "again").await {
        Err(e) => assert_eq!(e.code(), Some(&ApiCode::MissingTitle), "{e}"),
        Ok(_) => panic!("deleting a missing page succeeded"),
    }
    w.undelete(&title, "test").await.unwrap();
    let page = &w.pages(&[PageRef::Id(id)]).await.unwrap()[0];
    assert_eq!((page.pageid, page.title.as_str()), (Some(id), title.as_str()));
    assert_eq!(page.revision.as_ref().map(|r| r.revid), Some(r1));
}

#[tokio::test]
async fn the_change_feed_pages_through_continuations() {
    let w = test_wiki().bot();
    let since = w.server_time().await.unwrap();
    let title = unique_title("Feed");
    let mut revids = Vec::new();
    let mut base = None;
    for i in 0..5 {
        let (_, r, _) = saved(&w, &edit(&title, &format!("version {i}"), base)).await;
        revids.push(r);
        base = Some(r);
    }
    let (mut seen, mut cont, mut batches) = (Vec::new(), None, 0);
    loop {
        let batch = w.changes(Some(&since), cont.as_deref(), 2).await.unwrap();
        batches += 1;
        assert!(batch.server_time.is_some());
        seen.extend(batch.changes.into_iter().filter_map(|c| match c {
            Change::Edit { revid, title: t, .. } if t == title => Some(revid),
            _ => None,
        }));
        match batch.next {
            Some(n) => cont = Some(n),
            None => break,
        }
    }
    assert!(batches >= 3, "{batches} batches");
    assert_eq!(seen, revids, "every revision, oldest first, once");
}

#[tokio::test]
async fn revisions_after_a_given_one_and_pages_by_id() {
    let w = test_wiki().bot();
    let title = unique_title("History");
    let (id, r1, _) = saved(&w, &edit(&title, "one", None)).await;
    let (_, r2, _) = saved(&w, &edit(&title, "two", Some(r1))).await;
    let (_, r3, _) = saved(&w, &edit(&title, "three", Some(r2))).await;
    let after = crate::support::revisions_after(&w, id, r1).await;
    assert_eq!(after.iter().map(|r| (r.revid, r.text.clone().unwrap())).collect::<Vec<_>>(), [(r2, "two".to_string()), (r3, "three".to_string())]);
    assert_eq!(after[1].parentid, r2);
    let by_id = w.pages(&[PageRef::Id(id), PageRef::Id(999_999_999)]).await.unwrap();
    assert_eq!(by_id[0].revision.as_ref().unwrap().sha1.len(), 40);
    assert!(by_id[1].missing);
}

#[tokio::test]
async fn the_requests_one_edit_costs() {
    let w = test_wiki().bot();
    let title = unique_title("Cost");
    let (_, r1, _) = saved(&w, &edit(&title, "one", None)).await;
    // A new session: login token, login, CSRF token, edit, read back.
    assert_eq!(w.requests(), 5);
    saved(&w, &edit(&title, "two", Some(r1))).await;
    // Then two: the edit and reading the saved text back.
    assert_eq!(w.requests(), 7);
}

/// Pages whose texts together pass MediaWiki's limit on one answer
/// ($wgAPIMaxResultSize, 8 MB): the API leaves the last ones without their
/// revision, to be continued; every page comes back with it.
#[tokio::test]
async fn pages_read_together_past_the_answer_size_limit_all_come_with_their_revision() {
    let w = test_wiki().bot();
    let mut ids = Vec::new();
    for i in 0..6 {
        let title = unique_title("Large");
        let text = if i == 5 { "small".to_string() } else { format!("{i}").repeat(1_900_000) };
        ids.push(saved(&w, &edit(&title, &text, None)).await.0);
    }
    let refs: Vec<PageRef<'_>> = ids.iter().map(|id| PageRef::Id(*id)).collect();
    let pages = w.pages(&refs).await.unwrap();
    assert_eq!(pages.len(), 6);
    let sizes: Vec<usize> = pages.iter().map(|p| p.revision.as_ref().and_then(|r| r.text.as_ref()).map_or(0, String::len)).collect();
    assert_eq!(sizes, [1_900_000, 1_900_000, 1_900_000, 1_900_000, 1_900_000, 5], "{sizes:?}");
}
