//! Two-way sync between a real MediaWiki and a checkout directory edited
//! offline, including hostile file names created in the checkout.

use std::path::{Path, PathBuf};

use checkpoints::SyncSide;
use oai_mirror::mediawiki::{PageRef, Wiki};
use oai_mirror::sync::checkout::file_name;

use crate::support::{bin, current, run, save, stderr, stdout, tempdir, test_wiki, unique_title};

struct Co {
    wiki: Wiki,
    other: Wiki,
    prefix: String,
    home: tempfile::TempDir,
    config: PathBuf,
    dir: PathBuf,
}

fn setup(extra: &str) -> Co {
    setup_with("", extra)
}

/// `wiki_extra` goes into `[wiki.a]`, `extra` into `[sync.co]`.
fn setup_with(wiki_extra: &str, extra: &str) -> Co {
    let tw = test_wiki();
    let prefix = format!("{} ", unique_title("Co").replace(' ', ""));
    let home = tempdir();
    let secret = home.path().join("a.secret");
    std::fs::write(&secret, &tw.bot_password).unwrap();
    let dir = home.path().join("pages");
    let config = home.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "db = \"{}\"\n[wiki.a]\napi = \"{}\"\nuser = \"{}\"\npassword_file = \"{}\"\nfeed = \"api\"\nprefixes = [\"{prefix}\", \"Talk:{prefix}\"]\n{wiki_extra}[sync.co]\nwiki = \"a\"\ncheckout = \"{}\"\n{extra}",
            home.path().join("s.sqlite").display(),
            tw.api,
            tw.bot_user,
            secret.display(),
            dir.display()
        ),
    )
    .unwrap();
    Co { wiki: tw.bot(), other: tw.other(), prefix, home, config, dir }
}

impl Co {
    fn title(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// The path of a title's file (as the sync names it when no twin takes the name).
    fn file(&self, title: &str) -> PathBuf {
        self.dir.join(file_name(title, &Default::default()))
    }

    async fn sync(&self) -> serde_json::Value {
        let (ok, report, err) = self.sync_may_fail().await;
        assert!(ok, "{report}\n{err}");
        report
    }

    /// A sync that may report failed writes (and then exits non-zero).
    async fn sync_may_fail(&self) -> (bool, serde_json::Value, String) {
        let mut c = bin(self.home.path());
        c.arg("--config").arg(&self.config).args(["sync", "co", "--json"]);
        let out = run(c).await;
        let report = serde_json::from_str(stdout(&out).trim()).unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(&out), stderr(&out)));
        (out.status.success(), report, stderr(&out))
    }

    async fn cli(&self, args: &[&str]) -> String {
        let mut c = bin(self.home.path());
        c.arg("--config").arg(&self.config).args(args);
        stdout(&run(c).await)
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

const PAGE: &str = "= Intro =\nfirst line & <b>bold</b>\n\n= Middle =\nmiddle line\n\n= End =\nlast line";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_flow_both_ways_and_edits_in_different_sections_merge() {
    let co = setup("");
    let t = co.title("Flow");
    save(&co.wiki, &t, PAGE).await;
    // A dry run counts what it would do, prints each plan line once (not
    // also as a log line), and writes nothing.
    let mut c = bin(co.home.path());
    c.arg("--config").arg(&co.config).args(["sync", "co", "--dry-run"]);
    let dry = run(c).await;
    assert!(dry.status.success(), "{}", stderr(&dry));
    let said = format!("[[{t}]]");
    assert_eq!(stdout(&dry).matches(&said).count(), 1, "{}", stdout(&dry));
    assert!(!stderr(&dry).contains(&said), "{}", stderr(&dry));
    assert!(stdout(&dry).contains(", 1 created,") && stdout(&dry).contains("(dry run: nothing written)"), "{}", stdout(&dry));
    assert!(!co.file(&t).exists(), "a dry run writes no file");
    let first = co.sync().await;
    assert_eq!(first["created"], 1, "{first}");
    // One file per page, its text and a final newline; `&` and `<` intact.
    assert_eq!(read(&co.file(&t)), format!("{PAGE}\n"));

    // Offline edit → wiki.
    std::fs::write(co.file(&t), PAGE.replace("middle line", "middle line (local)")).unwrap();
    let r = co.sync().await;
    assert_eq!(r["pushes"], 1, "{r}");
    assert_eq!(current(&co.wiki, &t).await.unwrap().1, PAGE.replace("middle line", "middle line (local)"));

    // Both sides, different sections: merged into both.
    let base = PAGE.replace("middle line", "middle line (local)");
    save(&co.other, &t, &base.replace("first line", "first line (wiki)")).await;
    std::fs::write(co.file(&t), format!("{}\r\n", base.replace("last line", "last line (local)").replace('\n', "\r\n"))).unwrap();
    let r = co.sync().await;
    assert_eq!(r["merged"], 1, "{r}");
    let merged = base.replace("first line", "first line (wiki)").replace("last line", "last line (local)");
    assert_eq!(current(&co.wiki, &t).await.unwrap().1, merged);
    assert_eq!(read(&co.file(&t)), format!("{merged}\n"));

    // The sync's own writes are not edits: nothing to do, on either side.
    let again = co.sync().await;
    assert_eq!((again["pushes"].as_u64(), again["merged"].as_u64(), again["created"].as_u64()), (Some(0), Some(0), Some(0)), "{again}");

    // A new file becomes a new page.
    let fresh = co.title("Written offline");
    std::fs::write(co.file(&fresh), "made in the checkout\n").unwrap();
    let r = co.sync().await;
    assert_eq!(r["created"], 1, "{r}");
    assert_eq!(current(&co.wiki, &fresh).await.unwrap().1, "made in the checkout");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_line_changed_on_both_sides_keeps_both_texts() {
    let co = setup("conflicts = \"keep-both\"\nprefer = \"wiki\"\n");
    let t = co.title("Conflict");
    save(&co.wiki, &t, PAGE).await;
    co.sync().await;
    let (wiki_text, local_text) = (PAGE.replace("middle line", "middle line (wiki)"), PAGE.replace("middle line", "middle line (local)"));
    let rev = save(&co.other, &t, &wiki_text).await;
    std::fs::write(co.file(&t), &local_text).unwrap();
    let r = co.sync().await;
    assert_eq!(r["conflicts"], 1, "{r}");
    // The preferred side's text in both places…
    assert_eq!(current(&co.wiki, &t).await.unwrap().1, wiki_text);
    assert_eq!(read(&co.file(&t)), format!("{wiki_text}\n"));
    // …the checkout's whole text beside the file, and both in the store.
    let conflicts: Vec<serde_json::Value> = co.cli(&["conflicts", "co", "--json"]).await.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(conflicts.len(), 1);
    assert_eq!((conflicts[0]["wiki_text"].as_str(), conflicts[0]["with_text"].as_str()), (Some(wiki_text.as_str()), Some(local_text.as_str())));
    let id = conflicts[0]["id"].as_i64().unwrap();
    let beside = co.dir.join(format!("{}.conflict-{id}", file_name(&t, &Default::default())));
    assert_eq!(read(&beside), format!("{local_text}\n"));
    // The notice names the wiki's editor and revision, and the local file.
    let (_, notice) = current(&co.wiki, &format!("Talk:{t}")).await.expect("a notice on the talk page");
    assert!(notice.contains("Otheruser") && notice.contains(&rev.to_string()) && notice.contains("Conflict.wiki"), "{notice}");
    // The next sync brings the notice into the checkout too, and leaves the
    // conflict copy alone (it is not a page); the one after has nothing to do.
    let again = co.sync().await;
    assert_eq!(again["created"], 1, "{again}");
    assert!(read(&co.file(&format!("Talk:{t}"))).contains("Edit conflict synced by oai-mirror"));
    let quiet = co.sync().await;
    assert_eq!((quiet["pushes"].as_u64(), quiet["created"].as_u64()), (Some(0), Some(0)), "{quiet}");

    // Settled by taking the checkout's text.
    co.cli(&["resolve", "co", &t, "--take", "with"]).await;
    co.sync().await;
    assert_eq!(current(&co.wiki, &t).await.unwrap().1, local_text);
    assert_eq!(read(&co.file(&t)), format!("{local_text}\n"));
    assert!(co.cli(&["queue", "co"]).await.contains("no pending pushes"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renamed_file_moves_the_page_and_a_moved_page_renames_the_file() {
    let co = setup("");
    let (t, renamed, moved) = (co.title("Rename me"), co.title("Renamed"), co.title("Moved on the wiki"));
    save(&co.wiki, &t, PAGE).await;
    co.sync().await;
    let (id, _) = current(&co.wiki, &t).await.unwrap();

    // Renamed and edited in the checkout, edited on the wiki meanwhile.
    let local = PAGE.replace("last line", "last line (local)");
    std::fs::remove_file(co.file(&t)).unwrap();
    std::fs::write(co.file(&renamed), &local).unwrap();
    save(&co.other, &t, &PAGE.replace("first line", "first line (wiki)")).await;
    let r = co.sync().await;
    assert_eq!(r["moves"], 1, "{r}");
    let both = PAGE.replace("first line", "first line (wiki)").replace("last line", "last line (local)");
    let (id_after, text) = current(&co.wiki, &renamed).await.expect("moved on the wiki");
    assert_eq!(id_after, id, "a move, not a delete and a create");
    assert_eq!(text, both);
    assert!(current(&co.wiki, &t).await.is_none(), "moved without a redirect");
    assert_eq!(read(&co.file(&renamed)), format!("{both}\n"));

    // Moved on the wiki, edited in the checkout.
    co.wiki.move_page(&renamed, &moved, true, "test").await.unwrap();
    std::fs::write(co.file(&renamed), both.replace("middle line", "middle line (local)")).unwrap();
    let r = co.sync().await;
    assert_eq!(r["moves"], 1, "{r}");
    assert!(!co.file(&renamed).exists());
    let expect = both.replace("middle line", "middle line (local)");
    // The file was renamed, not rewritten: it holds what was written to it.
    assert_eq!(read(&co.file(&moved)), expect);
    assert_eq!(current(&co.wiki, &moved).await.unwrap(), (id, expect));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletions_propagate_unless_the_other_side_edited() {
    let co = setup("");
    let (gone, kept_local, kept_wiki) = (co.title("Gone"), co.title("Kept local"), co.title("Kept wiki"));
    for t in [&gone, &kept_local, &kept_wiki] {
        save(&co.wiki, t, PAGE).await;
    }
    co.sync().await;

    // Deleted in the checkout, untouched on the wiki: deleted there.
    std::fs::remove_file(co.file(&gone)).unwrap();
    // Deleted on the wiki, edited in the checkout: the edit survives.
    co.wiki.delete(&kept_local, "test").await.unwrap();
    std::fs::write(co.file(&kept_local), PAGE.replace("first line", "first line (local)")).unwrap();
    // Deleted in the checkout, edited on the wiki: the file comes back.
    std::fs::remove_file(co.file(&kept_wiki)).unwrap();
    save(&co.other, &kept_wiki, &PAGE.replace("first line", "first line (wiki)")).await;
    let r = co.sync().await;
    assert_eq!((r["deletes"].as_u64(), r["revived"].as_u64()), (Some(1), Some(2)), "{r}");
    assert!(current(&co.wiki, &gone).await.is_none());
    assert_eq!(current(&co.wiki, &kept_local).await.unwrap().1, PAGE.replace("first line", "first line (local)"));
    assert_eq!(read(&co.file(&kept_wiki)), format!("{}\n", PAGE.replace("first line", "first line (wiki)")));
    assert!(r["lines"].to_string().contains("deleted on one side and edited on the other"), "{r}");

    // Deleted on the wiki, untouched in the checkout: the file goes.
    co.wiki.delete(&kept_wiki, "test").await.unwrap();
    let r = co.sync().await;
    assert_eq!(r["deletes"], 1, "{r}");
    assert!(!co.file(&kept_wiki).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_created_on_both_sides_under_one_title() {
    let co = setup("");
    let t = co.title("Twin");
    save(&co.wiki, &t, "made on the wiki\n").await;
    std::fs::create_dir_all(&co.dir).unwrap();
    std::fs::write(co.file(&t), "made offline\n").unwrap();
    let r = co.sync().await;
    assert_eq!(r["conflicts"], 1, "{r}");
    let conflicts: Vec<serde_json::Value> = co.cli(&["conflicts", "co", "--json"]).await.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!((conflicts[0]["wiki_text"].as_str(), conflicts[0]["with_text"].as_str()), (Some("made on the wiki"), Some("made offline")));
    assert_eq!(read(&co.file(&t)).trim_end(), current(&co.wiki, &t).await.unwrap().1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_file_names_are_skipped_with_a_reason_and_odd_ones_settle() {
    let co = setup("");
    std::fs::create_dir_all(&co.dir).unwrap();
    let d = &co.dir;
    let p = &co.prefix;
    // Never followed, never pushed.
    std::os::unix::fs::symlink("/etc/passwd", d.join(format!("{p}Passwd.wiki"))).unwrap();
    std::os::unix::fs::symlink("..", d.join(format!("{p}Up.wiki"))).unwrap();
    std::fs::create_dir(d.join(format!("{p}Dir.wiki"))).unwrap();
    std::fs::write(d.join(format!("{p}Line\nbreak.wiki")), "x").unwrap();
    std::fs::write(d.join(format!("{p}Bad%zzescape.wiki")), "x").unwrap();
    std::fs::write(d.join(format!("{p}Binary.wiki")), [0xff, 0xfe, 0]).unwrap();
    std::fs::write(d.join("Somewhere~0123456789abcdef.wiki"), "x").unwrap();
    std::fs::write(d.join("Outside the selection.wiki"), "x").unwrap();
    std::fs::write(d.join(format!(".{p}Swap.wiki")), "x").unwrap();
    // Odd but fine: a subpage through an escaped slash, and a title the
    // wiki normalises (underscores), whose file then takes the wiki's title.
    std::fs::write(d.join(format!("{p}Parent%2FChild.wiki")), "a subpage").unwrap();
    std::fs::write(d.join(format!("{p}With_underscores.wiki")), "underscores").unwrap();
    // A title MediaWiki refuses.
    std::fs::write(d.join(format!("{p}Square [brackets].wiki")), "refused").unwrap();

    let (ok, r, err) = co.sync_may_fail().await;
    assert!(!ok && err.contains("did not go through"), "the refused title fails the run: {err}");
    let lines = r["lines"].to_string();
    for (name, why) in [
        ("Passwd.wiki", "symbolic link"),
        ("Up.wiki", "symbolic link"),
        ("Dir.wiki", "a directory"),
        ("Line\\\\nbreak.wiki", "control character"),
        ("Bad%zzescape.wiki", "escape"),
        ("Binary.wiki", "not UTF-8 text"),
        ("Somewhere~0123456789abcdef.wiki", "hashed name"),
        ("Outside the selection.wiki", "outside the wiki's selection"),
    ] {
        assert!(lines.contains(name) && lines.contains(why), "{name}: {why}\n{lines}");
    }
    assert_eq!(current(&co.wiki, &co.title("Parent/Child")).await.unwrap().1, "a subpage");
    assert_eq!(current(&co.wiki, &co.title("With underscores")).await.unwrap().1, "underscores");
    assert!(lines.contains("Square [brackets]]] on a: not written") && lines.contains("invalidtitle"), "the refused title is reported: {lines}");
    for link in ["Passwd.wiki", "Up.wiki"] {
        assert!(d.join(format!("{p}{link}")).symlink_metadata().unwrap().file_type().is_symlink(), "{link} left a symlink, not written through");
    }
    // The file of a normalised title now has the wiki's title; the rest stays.
    let after = names(d);
    assert!(after.contains(&format!("{p}With underscores.wiki")) && !after.contains(&format!("{p}With_underscores.wiki")), "{after:?}");
    for kept in [format!("{p}Line\nbreak.wiki"), format!("{p}Binary.wiki"), "Outside the selection.wiki".to_string(), format!("{p}Square [brackets].wiki")] {
        assert!(after.contains(&kept), "{kept:?} left in place: {after:?}");
    }
    // Nothing else reached the wiki.
    for title in ["Passwd", "Up", "Dir", "Binary", "Bad%zzescape", "Square [brackets]"] {
        let p = co.wiki.pages(&[PageRef::Title(&co.title(title))]).await.unwrap().remove(0);
        assert!(p.missing || p.invalid, "{title} must not exist");
    }
    // A second run writes nothing, and tells the skips and the refusal again.
    let (_, again, _) = co.sync_may_fail().await;
    assert_eq!((again["pushes"].as_u64(), again["created"].as_u64(), again["moves"].as_u64()), (Some(0), Some(0), Some(0)), "{again}");
    assert!(again["lines"].to_string().contains("Passwd.wiki"), "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_file_in_a_namespace_the_wiki_leaves_out_is_not_pushed() {
    // The prefixes allow the talk page, the namespaces do not: the mirror
    // would never see it come back, so the file must stay local.
    let co = setup_with("namespaces = [0]\n", "");
    co.sync().await;
    let (main, talk) = (co.title("Notes"), format!("Talk:{}", co.title("Notes")));
    let talk_file = co.file(&talk);
    std::fs::write(&talk_file, "talk text").unwrap();
    std::fs::write(co.file(&main), "main text").unwrap();
    let r = co.sync().await;
    let lines = r["lines"].to_string();
    assert!(lines.contains("outside the wiki's selection") && lines.contains(&format!("[[{talk}]]")), "{lines}");
    assert_eq!(r["created"], 1, "{r}");
    assert_eq!(current(&co.wiki, &main).await.unwrap().1, "main text");
    let p = co.wiki.pages(&[PageRef::Title(&talk)]).await.unwrap().remove(0);
    assert!(p.missing, "the talk page must not be created: {p:?}");
    assert_eq!(read(&talk_file), "talk text", "the file is left as it is");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn titles_differing_only_in_case_get_distinct_files() {
    let co = setup("");
    let (lower, upper) = (co.title("case"), co.title("CASE"));
    save(&co.wiki, &lower, "lower").await;
    save(&co.wiki, &upper, "upper").await;
    co.sync().await;
    let files = names(&co.dir);
    assert_eq!(files.len(), 2, "{files:?}");
    assert_ne!(files[0].to_lowercase(), files[1].to_lowercase(), "no two names a case-insensitive disk would merge");
    // Edit the hashed one: the edit reaches its own page.
    let hashed = files.iter().find(|f| oai_mirror::sync::checkout::is_hashed(f)).expect("one hashed name").clone();
    let hashed_title = if read(&co.dir.join(&hashed)).starts_with("lower") { lower.clone() } else { upper.clone() };
    std::fs::write(co.dir.join(&hashed), "edited through the hashed name").unwrap();
    let r = co.sync().await;
    assert_eq!(r["pushes"], 1, "{r}");
    assert_eq!(current(&co.wiki, &hashed_title).await.unwrap().1, "edited through the hashed name");
}

/// A page synced once, then edited on both sides where a merge keeps both:
/// its first line on the wiki (saved, at the returned revision), its last
/// line in the file. Returns the title, that revision, the file's text and
/// the merge of both.
async fn edited_on_both_sides(co: &Co, name: &str) -> (String, u64, String, String) {
    let t = co.title(name);
    save(&co.wiki, &t, PAGE).await;
    co.sync().await;
    let (wiki_edit, local_edit) = (PAGE.replace("first line", "first line (wiki)"), PAGE.replace("last line", "last line (local)"));
    let merged = PAGE.replace("first line", "first line (wiki)").replace("last line", "last line (local)");
    let wiki_rev = save(&co.other, &t, &wiki_edit).await;
    std::fs::write(co.file(&t), &local_edit).unwrap();
    (t, wiki_rev, local_edit, merged)
}

/// Leaves a push in the outbox as a run killed before sending it does.
fn queue_unsent(co: &Co, title: &str, target: SyncSide, base_rev: u64, text: &str) {
    let store = checkpoints::Store::open(&co.home.path().join("s.sqlite")).unwrap();
    let pair = store.sync_pairs("co").unwrap().into_iter().find(|x| x.title == title).unwrap();
    let page = if target == SyncSide::Wiki { pair.wiki_page } else { pair.with_page };
    let md5 = oai_mirror::util::md5_hex(text);
    store
        .queue_push("co", &checkpoints::NewPush { pair_id: pair.pair_id, target, title, page_id: page, base_rev, text, md5: &md5, source_rev: None }, 0)
        .unwrap();
}

/// Both sides hold `text`, and a further run has nothing to push.
async fn assert_settled_on(co: &Co, title: &str, text: &str) {
    assert_eq!(current(&co.wiki, title).await.unwrap().1, text);
    assert_eq!(read(&co.file(title)).trim_end(), text);
    let again = co.sync().await;
    assert_eq!(again["pushes"], 0, "{again}");
}

/// A run that died between queueing a push and sending it leaves a pending
/// job; the next run sends it first and reads both sides after, so the
/// merge it finishes is not undone by a decision on stale pages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_queued_by_a_killed_run_is_sent_before_the_sides_are_read() {
    let co = setup("");
    let (t, _, local_edit, merged) = edited_on_both_sides(&co, "Pending").await;
    // The dead run had merged, saved the merge on the wiki, and queued it for the file.
    save(&co.wiki, &t, &merged).await;
    queue_unsent(&co, &t, SyncSide::With, oai_mirror::sync::checkout::fingerprint(&local_edit), &merged);
    co.sync().await;
    assert_settled_on(&co, &t, &merged).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_write_of_a_merge_queued_by_a_killed_run_does_not_become_the_base() {
    // Found by the crash trials (seed 20261122, trial 16): a run merged a
    // wiki edit with a file edit, queued the merge for the wiki and died
    // before sending it. The next run sent it and took the merge as the
    // base while the file still held only its own edit; the file then
    // looked like the newer edit and its text, pushed, undid the wiki edit.
    let co = setup("");
    let (t, wiki_rev, _, merged) = edited_on_both_sides(&co, "Half merged").await;
    queue_unsent(&co, &t, SyncSide::Wiki, wiki_rev, &merged);
    co.sync().await;
    assert_settled_on(&co, &t, &merged).await;
}

/// A symlink planted where a temporary file could be (the older fixed name,
/// and the newer prefix) is never written through, never renamed into
/// place, and is reported; the page is neither lost nor deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planted_temporary_symlink_is_never_written_through() {
    let co = setup("");
    let t = co.title("Planted");
    save(&co.wiki, &t, "first").await;
    co.sync().await;
    let file = file_name(&t, &Default::default());
    let outside = co.home.path().join("outside.txt");
    for planted in [format!(".{file}.oai-mirror-tmp"), ".oai-mirror-tmp.0000000000000001".to_string()] {
        std::os::unix::fs::symlink(&outside, co.dir.join(planted)).unwrap();
    }
    save(&co.other, &t, "second, from the wiki").await;
    let r = co.sync().await;
    assert_eq!(r["pushes"], 1, "{r}");
    assert!(!outside.exists(), "written through a planted link: {:?}", std::fs::read_to_string(&outside));
    assert!(!co.file(&t).symlink_metadata().unwrap().file_type().is_symlink(), "the page's file is a file");
    assert_eq!(read(&co.file(&t)), "second, from the wiki\n");
    let lines = r["lines"].to_string();
    assert!(lines.matches("a temporary file").count() >= 2, "stray temporary entries are reported: {lines}");
    let again = co.sync().await;
    assert_eq!((again["deletes"].as_u64(), again["pushes"].as_u64()), (Some(0), Some(0)), "{again}");
    assert_eq!(current(&co.wiki, &t).await.unwrap().1, "second, from the wiki", "the page is still on the wiki");
}

/// A file the checkout had that cannot be read as a page any more (a
/// symlink or a directory in its place, or text that is not UTF-8) is
/// unknown, not deleted: the wiki keeps the page, and once the file can be
/// read again the sync goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_cannot_be_read_is_unknown_not_deleted() {
    let co = setup("");
    let titles: Vec<String> = ["Linked", "Dir", "Binary"].iter().map(|n| co.title(n)).collect();
    for t in &titles {
        save(&co.wiki, t, "kept").await;
    }
    co.sync().await;
    std::fs::remove_file(co.file(&titles[0])).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", co.file(&titles[0])).unwrap();
    std::fs::remove_file(co.file(&titles[1])).unwrap();
    std::fs::create_dir(co.file(&titles[1])).unwrap();
    std::fs::write(co.file(&titles[2]), [0xff, 0xfe, 0]).unwrap();
    let r = co.sync().await;
    assert_eq!(r["deletes"], 0, "{r}");
    for t in &titles {
        assert_eq!(current(&co.wiki, t).await.map(|c| c.1).as_deref(), Some("kept"), "[[{t}]] must stay on the wiki");
        assert!(r["lines"].to_string().contains("is left alone until its file can be read again"), "{r}");
    }
    // Readable again: an edit there goes through as usual.
    std::fs::remove_file(co.file(&titles[0])).unwrap();
    std::fs::write(co.file(&titles[0]), "kept, and edited").unwrap();
    let r = co.sync().await;
    assert_eq!(r["pushes"], 1, "{r}");
    assert_eq!(current(&co.wiki, &titles[0]).await.unwrap().1, "kept, and edited");
}

/// Every title MediaWiki allows gets a file: a 250-byte title (its
/// temporary name used to be too long, and aborted every run), and titles
/// with a C1 control character (U+0085), which used to be written, skipped
/// on the next scan and deleted on the wiki. A page that cannot be written
/// never stops the run for the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_titles_and_control_characters_round_trip_through_their_files() {
    let co = setup("");
    let long = format!("{}{}", co.prefix, "L".repeat(250 - co.prefix.len()));
    assert_eq!(long.len(), 250);
    let nel = co.title("Next\u{85}line");
    let plain = co.title("Plain");
    for t in [&long, &nel, &plain] {
        save(&co.wiki, t, "text").await;
    }
    let r = co.sync().await;
    assert_eq!(r["created"], 3, "{r}");
    let again = co.sync().await;
    assert_eq!((again["deletes"].as_u64(), again["created"].as_u64(), again["pushes"].as_u64()), (Some(0), Some(0), Some(0)), "{again}");
    for t in [&long, &nel, &plain] {
        assert_eq!(current(&co.wiki, t).await.map(|c| c.1).as_deref(), Some("text"), "[[{t:?}]] stays");
    }
    let nel_file = co.dir.join(file_name(&nel, &Default::default()));
    assert!(nel_file.to_string_lossy().contains("%C2%85"), "{nel_file:?}");
    std::fs::write(&nel_file, "text, edited offline").unwrap();
    assert_eq!(co.sync().await["pushes"], 1);
    assert_eq!(current(&co.wiki, &nel).await.unwrap().1, "text, edited offline");
}

/// A push that fails is retried as the same job: its attempts count up and
/// its wait doubles (1, then 2 minutes), and it never leaves the outbox
/// before its outcome is known.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_push_keeps_its_job_and_backs_off() {
    let co = setup("");
    let t = co.title("Retried");
    save(&co.wiki, &t, "first").await;
    co.sync().await;
    queue_unsent(&co, &t, SyncSide::With, 0, "queued text");
    // The file cannot be written: a directory stands in its place.
    std::fs::remove_file(co.file(&t)).unwrap();
    std::fs::create_dir(co.file(&t)).unwrap();
    let store = || checkpoints::Store::open(&co.home.path().join("s.sqlite")).unwrap();
    let job_id = store().pushes("co").unwrap()[0].push_id;
    for attempt in 1..=2u32 {
        let started = chrono::Utc::now().timestamp();
        let (ok, r, _) = co.sync_may_fail().await;
        assert!(!ok && r["failed"].as_u64() >= Some(1), "{r}");
        let jobs = store().pushes("co").unwrap();
        assert_eq!(jobs.len(), 1, "{jobs:?}");
        let job = &jobs[0];
        assert_eq!((job.push_id, job.attempts, job.sent), (job_id, attempt, false), "the same job, counted: {job:?}");
        let wait = job.next_try - started;
        let expected = 60 << (attempt - 1);
        assert!((expected - 5..=expected + 30).contains(&wait), "attempt {attempt}: waits {wait} s, not about {expected} s");
        // Due again at once, for the next attempt.
        store().retry_later(job_id, 0, "made due by the test").unwrap();
    }
    assert_eq!(current(&co.wiki, &t).await.unwrap().1, "first", "nothing was lost or pushed meanwhile");
}

/// A wiki without an account is only read: its edits reach the checkout,
/// but a file edited there is never written to the wiki (which would take
/// it as an edit by the server's IP address). The sync says it is one-way,
/// in a dry run too; the local edit stays, pending, and nothing fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wiki_without_an_account_is_only_read() {
    let co = setup("");
    let anonymous: String = std::fs::read_to_string(&co.config)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("user =") && !l.starts_with("password_file ="))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&co.config, anonymous).unwrap();
    let t = co.title("ReadOnly");
    save(&co.wiki, &t, "one").await;
    let first = co.sync().await;
    assert_eq!(first["created"], 1, "the wiki's page reaches the checkout: {first}");
    assert!(first["lines"].as_array().unwrap().iter().any(|l| l.as_str().unwrap().contains("one-way: [wiki.a] has no account")), "{first}");
    let before = co.wiki.pages(&[PageRef::Title(&t)]).await.unwrap().remove(0).revision.unwrap().revid;

    std::fs::write(co.file(&t), "one\nlocal line\n").unwrap();
    let mut c = bin(co.home.path());
    c.arg("--config").arg(&co.config).args(["sync", "co", "--dry-run"]);
    let dry = stdout(&run(c).await);
    assert!(dry.contains("one-way") && dry.contains("1 change(s) held back"), "{dry}");
    let second = co.sync().await;
    assert_eq!((second["pushes"].as_u64(), second["held_back"].as_u64(), second["failed"].as_u64()), (Some(0), Some(1), Some(0)), "{second}");
    let after = co.wiki.pages(&[PageRef::Title(&t)]).await.unwrap().remove(0).revision.unwrap();
    assert_eq!((after.revid, after.text.as_deref()), (before, Some("one")), "the wiki was written without an account");
    assert_eq!(read(&co.file(&t)), "one\nlocal line\n", "the local edit stays");
    // The wiki's own edits still come.
    let t2 = co.title("ReadOnlyNew");
    save(&co.wiki, &t2, "from the wiki").await;
    let third = co.sync().await;
    assert_eq!(read(&co.file(&t2)), "from the wiki\n", "{third}");
    assert_eq!(third["held_back"], 1, "the local edit is still pending: {third}");
}
