//! Two-way sync between two real MediaWikis.

use oai_mirror::mediawiki::Wiki;

use crate::support::{bin, current, run, save, stderr, stdout, tempdir, test_wiki, test_wiki_b, unique_title};

/// A sync `ab` between the test wikis a and b, pages under a prefix of its own.
pub(crate) struct Pair {
    pub(crate) a: Wiki,
    pub(crate) b: Wiki,
    pub(crate) a_other: Wiki,
    pub(crate) prefix: String,
    pub(crate) home: tempfile::TempDir,
    pub(crate) config: std::path::PathBuf,
}

fn setup(extra: &str) -> Pair {
    let tb = test_wiki_b();
    Pair::new("Sync", (&tb.bot_user, &tb.bot_password), extra)
}

impl Pair {
    /// Titles start with `name` and a unique number; `b_account` (user,
    /// password) is b's account; `extra` goes into `[sync.ab]`.
    pub(crate) fn new(name: &str, b_account: (&str, &str), extra: &str) -> Pair {
        let (ta, tb) = (test_wiki(), test_wiki_b());
        let prefix = format!("{} ", unique_title(name).replace(' ', ""));
        let home = tempdir();
        let config = crate::support::sync_ab_config(home.path(), &[prefix.clone(), format!("Talk:{prefix}")], b_account, extra);
        Pair { a: ta.bot(), b: tb.bot(), a_other: ta.other(), prefix, home, config }
    }

    pub(crate) fn title(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    pub(crate) async fn sync(&self) -> serde_json::Value {
        let mut c = bin(self.home.path());
        c.arg("--config").arg(&self.config).args(["sync", "ab", "--json"]);
        let out = run(c).await;
        assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
        serde_json::from_str(stdout(&out).trim()).unwrap()
    }

    /// `title` synced from a, then changed in the same place by Otheruser
    /// on a (`text_a`) and by Harvestbot on b (`text_b`), then synced: one
    /// conflict. (revision on a, revision on b, the sync's report.)
    async fn clash(&self, title: &str, text_a: &str, text_b: &str) -> (u64, u64, serde_json::Value) {
        save(&self.a, title, PAGE).await;
        self.sync().await;
        let rev_a = save(&self.a_other, title, text_a).await;
        let rev_b = save(&self.b, title, text_b).await;
        let report = self.sync().await;
        assert_eq!(report["conflicts"], 1, "{report}");
        (rev_a, rev_b, report)
    }

    async fn cli(&self, args: &[&str]) -> String {
        let mut c = bin(self.home.path());
        c.arg("--config").arg(&self.config).args(args);
        stdout(&run(c).await)
    }
}

const PAGE: &str = "= Intro =\nfirst line\n\n= Middle =\nmiddle line\n\n= End =\nlast line";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_in_different_sections_on_both_wikis_merge() {
    let p = setup("");
    let t = p.title("Merge");
    save(&p.a, &t, PAGE).await;
    let first = p.sync().await;
    assert_eq!(first["created"], 1, "{first}");
    assert_eq!(current(&p.b, &t).await.unwrap().1, PAGE);

    save(&p.a, &t, &PAGE.replace("first line", "first line (a)")).await;
    save(&p.b, &t, &PAGE.replace("last line", "last line (b)")).await;
    let report = p.sync().await;
    assert_eq!(report["merged"], 1, "{report}");
    let merged = PAGE.replace("first line", "first line (a)").replace("last line", "last line (b)");
    assert_eq!(current(&p.a, &t).await.unwrap().1, merged);
    assert_eq!(current(&p.b, &t).await.unwrap().1, merged);

    // The sync's own writes come back through the feeds: no ping-pong.
    let again = p.sync().await;
    assert_eq!((again["pushes"].as_u64(), again["merged"].as_u64()), (Some(0), Some(0)), "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_line_changed_on_both_is_a_conflict_that_keeps_both_texts() {
    let p = setup("conflicts = \"keep-both\"\nprefer = \"wiki\"\n");
    let t = p.title("Conflict");
    let (text_a, text_b) = (PAGE.replace("middle line", "middle line (a)"), PAGE.replace("middle line", "middle line (b)"));
    let (rev_a, rev_b, _) = p.clash(&t, &text_a, &text_b).await;
    // The preferred side's text on both wikis.
    assert_eq!(current(&p.a, &t).await.unwrap().1, text_a);
    assert_eq!(current(&p.b, &t).await.unwrap().1, text_a);
    // The other text is in b's history, and both are in the store.
    assert_eq!(p.b.revision_text(rev_b, &t).await.unwrap(), text_b);
    let conflicts: Vec<serde_json::Value> = p.cli(&["conflicts", "ab", "--json"]).await.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(conflicts.len(), 1);
    assert_eq!((conflicts[0]["wiki_text"].as_str(), conflicts[0]["with_text"].as_str()), (Some(text_a.as_str()), Some(text_b.as_str())));
    assert_eq!((conflicts[0]["wiki_rev"].as_u64(), conflicts[0]["with_rev"].as_u64()), (Some(rev_a), Some(rev_b)));
    // The notice names both contributors and both revisions.
    let (_, notice) = current(&p.a, &format!("Talk:{t}")).await.expect("a notice on the talk page");
    assert!(
        notice.contains("Otheruser") && notice.contains("Harvestbot") && notice.contains(&rev_a.to_string()) && notice.contains(&rev_b.to_string()),
        "{notice}"
    );
    // Synced to b, it says what happened there too: a's text won, b's is in b's history.
    p.sync().await;
    for wiki in [&p.a, &p.b] {
        let (_, notice) = current(wiki, &format!("Talk:{t}")).await.expect("the notice on both wikis");
        assert!(notice.contains("hold the text from a;") && notice.contains("in the history of b"), "{notice}");
        assert!(!notice.contains("this wiki") && !notice.contains("the other side"), "{notice}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_user_talk_notices_both_contributors_hear_of_the_conflict_on_their_own_wiki() {
    let p = setup("notify = [\"page-talk\", \"user-talk\"]\n");
    let t = p.title("Told");
    let (rev_a, rev_b, report) = p.clash(&t, &PAGE.replace("middle line", "middle line (a)"), &PAGE.replace("middle line", "middle line (b)")).await;
    // Otheruser edited on a, Harvestbot on b: each hears of it where they edited.
    for (wiki, user) in [(&p.a, "Otheruser"), (&p.b, "Harvestbot")] {
        let (_, talk) = current(wiki, &format!("User talk:{user}")).await.unwrap_or_else(|| panic!("no notice for {user}: {report}"));
        // Other tests leave notices there too: this conflict's is the one naming the page.
        let notice =
            talk.split("== Edit conflict synced by oai-mirror ==").find(|n| n.contains(&format!("[[{t}]]"))).unwrap_or_else(|| panic!("{user}: {talk}"));
        assert!(notice.contains(&rev_a.to_string()) && notice.contains(&rev_b.to_string()), "{user}: {notice}");
    }
    assert!(current(&p.a, &format!("Talk:{t}")).await.is_some(), "the page's talk page has its notice too");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_on_one_wiki_and_an_edit_on_the_other() {
    let p = setup("");
    let (t, moved) = (p.title("Mover"), p.title("Mover moved"));
    save(&p.a, &t, PAGE).await;
    p.sync().await;
    let (b_id, _) = current(&p.b, &t).await.unwrap();
    p.a.move_page(&t, &moved, true, "test").await.unwrap();
    let edited = PAGE.replace("middle line", "middle line (b)");
    save(&p.b, &t, &edited).await;
    let report = p.sync().await;
    assert_eq!(report["moves"], 1, "{report}");
    // Replayed as a move on b: the same page, its edit kept, on both wikis.
    let (b_id_after, b_text) = current(&p.b, &moved).await.expect("moved on b");
    assert_eq!(b_id_after, b_id, "a move, not a delete and create");
    assert_eq!(b_text, edited);
    assert_eq!(current(&p.a, &moved).await.unwrap().1, edited);
    assert!(current(&p.b, &t).await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_on_one_wiki_and_an_edit_on_the_other_keeps_the_edit() {
    let p = setup("");
    let t = p.title("Deleted");
    save(&p.a, &t, PAGE).await;
    p.sync().await;
    p.a.delete(&t, "test").await.unwrap();
    let edited = PAGE.replace("first line", "first line (b)");
    save(&p.b, &t, &edited).await;
    let report = p.sync().await;
    assert_eq!(report["revived"], 1, "{report}");
    assert!(report["lines"].to_string().contains("deleted on one side and edited on the other"), "{report}");
    assert_eq!(current(&p.a, &t).await.unwrap().1, edited);
    assert_eq!(current(&p.b, &t).await.unwrap().1, edited);

    // A deletion with no edit on the other side propagates.
    p.b.delete(&t, "test").await.unwrap();
    let report = p.sync().await;
    assert_eq!(report["deletes"], 1, "{report}");
    assert!(current(&p.a, &t).await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_created_on_both_wikis_under_one_title() {
    let p = setup("");
    let t = p.title("Twin");
    save(&p.a, &t, "made on a\n").await;
    save(&p.b, &t, "made on b\n").await;
    let report = p.sync().await;
    assert_eq!(report["conflicts"], 1, "{report}");
    let conflicts: Vec<serde_json::Value> = p.cli(&["conflicts", "ab", "--json"]).await.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    // MediaWiki stores texts without trailing white space.
    assert_eq!((conflicts[0]["wiki_text"].as_str(), conflicts[0]["with_text"].as_str()), (Some("made on a"), Some("made on b")));
    let (a_text, b_text) = (current(&p.a, &t).await.unwrap().1, current(&p.b, &t).await.unwrap().1);
    assert_eq!(a_text, b_text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_whose_outcome_was_unknown_is_checked_before_it_is_sent_again() {
    let p = setup("");
    let t = p.title("Unknown");
    save(&p.a, &t, PAGE).await;
    p.sync().await;
    let (b_id, _) = current(&p.b, &t).await.unwrap();
    // As if a run died right after sending: a job marked sent, whose text is on b.
    let edited = PAGE.replace("middle line", "middle line (landed)");
    save(&p.b, &t, &edited).await;
    let before = crate::support::revisions_after(&p.b, b_id, 0).await.len();
    {
        let store = checkpoints::Store::open(&p.home.path().join("s.sqlite")).unwrap();
        let pair = store.sync_pairs("ab").unwrap().into_iter().find(|x| x.title == t).unwrap();
        let md5: String = oai_mirror::util::md5_hex(&edited);
        let job = store
            .queue_push(
                "ab",
                &checkpoints::NewPush {
                    pair_id: pair.pair_id,
                    target: checkpoints::SyncSide::With,
                    title: &t,
                    page_id: Some(b_id),
                    base_rev: 0,
                    text: &edited,
                    md5: &md5,
                    source_rev: None,
                },
                0,
            )
            .unwrap();
        store.mark_sent(job).unwrap();
    }
    let report = p.sync().await;
    assert!(report["lines"].to_string().contains("had landed; not sent again"), "{report}");
    assert_eq!(crate::support::revisions_after(&p.b, b_id, 0).await.len(), before, "nothing pushed to b again");
    assert_eq!(current(&p.a, &t).await.unwrap().1, edited, "and the edit reached a");
    assert!(p.cli(&["queue", "ab"]).await.contains("no pending pushes"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_is_resolved_by_taking_a_side_or_a_file() {
    let p = setup("");
    let t = p.title("Resolve");
    save(&p.a, &t, PAGE).await;
    p.sync().await;
    let (text_a, text_b) = (PAGE.replace("middle line", "middle (a)"), PAGE.replace("middle line", "middle (b)"));
    save(&p.a, &t, &text_a).await;
    save(&p.b, &t, &text_b).await;
    assert_eq!(p.sync().await["conflicts"], 1);
    assert_eq!(current(&p.b, &t).await.unwrap().1, text_a, "keep-both preferred wiki's text");

    let out = p.cli(&["resolve", "ab", &t, "--take", "with"]).await;
    assert!(out.contains("conflict settled; 2 push(es) queued"), "{out}");
    assert!(p.cli(&["queue", "ab"]).await.contains(&format!("[[{t}]] to wiki")));
    p.sync().await;
    assert_eq!(current(&p.a, &t).await.unwrap().1, text_b);
    assert_eq!(current(&p.b, &t).await.unwrap().1, text_b);
    assert!(p.cli(&["conflicts", "ab"]).await.is_empty(), "no open conflict left");
    assert!(p.cli(&["conflicts", "ab", "--json"]).await.is_empty(), "--json is a format: still only the open ones");
    let all: Vec<serde_json::Value> = p.cli(&["conflicts", "ab", "--all", "--json"]).await.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(all[0]["resolved_at"].as_str().is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok()) && all[0]["title"] == t.as_str(), "{all:?}");
    assert!(p.cli(&["queue", "ab"]).await.contains("no pending pushes"));
    let again = p.sync().await;
    assert_eq!(again["pushes"], 0, "settled: {again}");

    // Another conflict, settled with a file.
    save(&p.a, &t, &text_b.replace("first line", "first (a)")).await;
    save(&p.b, &t, &text_b.replace("first line", "first (b)")).await;
    assert_eq!(p.sync().await["conflicts"], 1);
    let file = p.home.path().join("merged.txt");
    std::fs::write(&file, text_b.replace("first line", "first (a and b)")).unwrap();
    p.cli(&["resolve", "ab", &t, "--take", file.to_str().unwrap()]).await;
    p.sync().await;
    assert_eq!(current(&p.a, &t).await.unwrap().1, text_b.replace("first line", "first (a and b)"));
    assert_eq!(current(&p.b, &t).await.unwrap().1, text_b.replace("first line", "first (a and b)"));
}

/// The push queue relies on MediaWiki refusing an edit whose base revision
/// is not the current one when the changes overlap, even when the edit made
/// meanwhile is the sync's own account's (older MediaWikis let a user
/// overwrite their own edits). 1.39 refuses it: nothing is overwritten.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_based_on_an_old_revision_never_overwrites_an_edit_of_the_same_account() {
    use oai_mirror::mirror::pull::{Feed, PullOptions};
    use oai_mirror::sync::peer::{Peer, Side, Written};
    let p = setup("");
    let t = p.title("Same account");
    let base = save(&p.a, &t, PAGE).await;
    let meanwhile = PAGE.replace("middle line", "middle line (same account, meanwhile)");
    save(&p.a, &t, &meanwhile).await;
    let side = Side {
        wiki: &p.a,
        pull: PullOptions { wiki: "a".into(), selection: Default::default(), history: Default::default(), used_files: false },
        feed: Feed::Api,
        oai: None,
        files: None,
    };
    let store = std::sync::Mutex::new(checkpoints::Store::open_in_memory().unwrap());
    let (id, _) = current(&p.a, &t).await.unwrap();
    // The same line: refused as a conflict, and the next run decides again.
    let pushed = PAGE.replace("middle line", "middle line (pushed)");
    let written = Peer::Wiki(&side).write(&store, &t, Some(id), base, &pushed, "oai-mirror sync (test)").await.unwrap();
    assert!(matches!(written, Written::Refused(_)), "{written:?}");
    assert_eq!(current(&p.a, &t).await.unwrap().1, meanwhile);
    // Another line: MediaWiki merges, and reading the saved revision back
    // says it is not exactly what was sent.
    let pushed = PAGE.replace("last line", "last line (pushed)");
    let written = Peer::Wiki(&side).write(&store, &t, Some(id), base, &pushed, "oai-mirror sync (test)").await.unwrap();
    let Written::Sent { rev, .. } = written else { panic!("{written:?}") };
    let merged = meanwhile.replace("last line", "last line (pushed)");
    assert_eq!(Peer::Wiki(&side).read_back(&[rev]).await.unwrap()[&rev], merged);
    assert_eq!(current(&p.a, &t).await.unwrap().1, merged);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_talk_page_that_cannot_be_written_is_reported_and_the_run_goes_on() {
    let p = setup("notify = [\"page-talk\", \"user-talk\"]\n");
    let tb = test_wiki_b();
    // b is synced as Otheruser, who may not edit a protected page, and
    // Harvestbot's talk page on b is protected.
    let other_secret = p.home.path().join("b-other.secret");
    std::fs::write(&other_secret, &tb.other_password).unwrap();
    let config = std::fs::read_to_string(&p.config).unwrap();
    let (head, b_table) = config.split_once("[wiki.b]").unwrap();
    let b_table = b_table.replacen(&format!("user = \"{}\"", tb.bot_user), &format!("user = \"{}\"", tb.other_user), 1).replacen(
        &p.home.path().join("b.secret").display().to_string(),
        &other_secret.display().to_string(),
        1,
    );
    std::fs::write(&p.config, format!("{head}[wiki.b]{b_table}")).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/testbeds/mediawiki.sh");
    let out = std::process::Command::new("bash").arg(script).args(["php"]).arg(&tb.dir).args(["protect.php", "User talk:Harvestbot"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let t = p.title("Protected talk");
    let (_, _, report) = p.clash(&t, &PAGE.replace("middle line", "middle line (a)"), &PAGE.replace("middle line", "middle line (b)")).await;
    let lines: Vec<&str> = report["lines"].as_array().unwrap().iter().filter_map(|l| l.as_str()).collect();
    assert!(lines.iter().any(|l| l.contains("the notice on [[User talk:Harvestbot]] failed")), "{lines:?}");
    assert_eq!(report["failed"], 0, "a notice is no write of the sync: {report}");
    // Otheruser's own talk page on a has the notice all the same.
    let (_, talk) = current(&p.a, "User talk:Otheruser").await.unwrap();
    assert!(talk.contains(&format!("[[{t}]]")), "{talk}");
}
