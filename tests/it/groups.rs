//! Groups: three real MediaWikis keeping a category's pages in step.

use std::time::Duration;

use oai_mirror::mediawiki::Wiki;

use crate::support::{TestWiki, bin, current, run, save, stderr, stdout, tempdir, test_wiki, test_wiki_b, test_wiki_c, unique_title};

/// A group of the three test wikis, `a` its hub, over a category of its own.
pub struct Group {
    pub wikis: [Wiki; 3],
    /// Otheruser on each wiki.
    pub others: [Wiki; 3],
    pub prefix: String,
    pub category: String,
    pub home: tempfile::TempDir,
    pub config: std::path::PathBuf,
}

fn wiki_table(name: &str, w: &TestWiki, secret: &std::path::Path, prefix: &str) -> String {
    format!(
        "[wiki.{name}]\napi = \"{}\"\nuser = \"{}\"\npassword_file = \"{}\"\nfeed = \"api\"\nprefixes = [\"{prefix}\"]\n",
        w.api,
        w.bot_user,
        secret.display()
    )
}

impl Group {
    /// A new group; `extra` is added to its `[group.g]` table.
    pub fn new(extra: &str) -> Group {
        let tests = [test_wiki(), test_wiki_b(), test_wiki_c()];
        let prefix = format!("{} ", unique_title("Group").replace(' ', ""));
        let category = format!("Category:{prefix}Handbook");
        let home = tempdir();
        let mut tables = String::new();
        for (name, w) in ["a", "b", "c"].into_iter().zip(tests) {
            let secret = home.path().join(format!("{name}.secret"));
            std::fs::write(&secret, &w.bot_password).unwrap();
            tables.push_str(&wiki_table(name, w, &secret, &prefix));
        }
        let config = home.path().join("config.toml");
        std::fs::write(
            &config,
            format!(
                "db = \"{}\"\n{tables}[group.g]\nwikis = [\"a\", \"b\", \"c\"]\ncategories = [\"{category}\"]\n{extra}",
                home.path().join("s.sqlite").display()
            ),
        )
        .unwrap();
        Group { wikis: tests.map(TestWiki::bot), others: tests.map(TestWiki::other), prefix, category, home, config }
    }

    pub fn title(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// A page's text with this group's category.
    pub fn in_category(&self, text: &str) -> String {
        format!("{text}\n\n[[{}]]", self.category)
    }

    pub fn command(&self, args: &[&str]) -> std::process::Command {
        let mut c = bin(self.home.path());
        c.arg("--config").arg(&self.config).args(args);
        c
    }

    pub async fn sync(&self) -> serde_json::Value {
        let out = run(self.command(&["sync", "g", "--json"])).await;
        assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
        serde_json::from_str(stdout(&out).trim()).unwrap()
    }

    /// The page's text on each wiki (`None` where it is missing).
    pub async fn texts(&self, title: &str) -> Vec<Option<String>> {
        let mut out = Vec::new();
        for w in &self.wikis {
            out.push(current(w, title).await.map(|(_, t)| t));
        }
        out
    }

    /// Waits until the wiki's category lists `title`: the wiki updates a
    /// page's categories after it answers the edit.
    pub async fn listed(&self, wiki: usize, title: &str) {
        for _ in 0..100 {
            if self.wikis[wiki].category_members(&self.category).await.unwrap().iter().any(|t| t == title) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{title} never appeared in {} on wiki {wiki}", self.category);
    }
}

const PAGE: &str = "= Intro =\nfirst line\n\n= Middle =\nmiddle line\n\n= End =\nlast line";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_on_all_three_in_different_sections_merge_everywhere() {
    let g = Group::new("");
    let t = g.title("Merge");
    let page = g.in_category(PAGE);
    save(&g.wikis[1], &t, &page).await;
    g.listed(1, &t).await;
    let first = g.sync().await;
    assert_eq!(first["created"], 2, "created on the hub, then on the other spoke: {first}");
    assert_eq!(g.texts(&t).await, vec![Some(page.clone()); 3]);

    save(&g.wikis[0], &t, &page.replace("first line", "first line (a)")).await;
    save(&g.wikis[1], &t, &page.replace("middle line", "middle line (b)")).await;
    save(&g.wikis[2], &t, &page.replace("last line", "last line (c)")).await;
    let report = g.sync().await;
    assert_eq!(report["conflicts"], 0, "{report}");
    let merged = page.replace("first line", "first line (a)").replace("middle line", "middle line (b)").replace("last line", "last line (c)");
    assert_eq!(g.texts(&t).await, vec![Some(merged); 3], "{report}");

    // Nothing goes round: the next run writes nothing.
    let again = g.sync().await;
    assert_eq!((again["pushes"].as_u64(), again["merged"].as_u64(), again["created"].as_u64()), (Some(0), Some(0), Some(0)), "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_line_on_two_wikis_is_a_conflict_that_keeps_both_with_notices_for_the_page_and_both_users() {
    let g = Group::new("notify = [\"page-talk\", \"user-talk\"]\n");
    let t = g.title("Clash");
    let page = g.in_category(PAGE);
    save(&g.wikis[0], &t, &page).await;
    g.listed(0, &t).await;
    g.sync().await;
    // Otheruser on b and Harvestbot on c change the same line.
    let (text_b, text_c) = (page.replace("middle line", "middle line (b)"), page.replace("middle line", "middle line (c)"));
    let rev_b = save(&g.others[1], &t, &text_b).await;
    let rev_c = save(&g.wikis[2], &t, &text_c).await;
    let report = g.sync().await;
    assert_eq!(report["conflicts"], 1, "{report}");
    // One text everywhere; the other is kept, in c's history and in the store.
    let texts = g.texts(&t).await;
    assert!(texts.iter().all(|x| *x == texts[0]), "{texts:?}");
    assert!([Some(text_b.clone()), Some(text_c.clone())].contains(&texts[0]), "{texts:?}");
    assert_eq!(g.wikis[2].revision_text(rev_c, &t).await.unwrap(), text_c);
    let out = run(g.command(&["conflicts", "g", "--json"])).await;
    let conflicts: Vec<serde_json::Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(conflicts.len(), 1, "{}", stderr(&out));
    let kept = [conflicts[0]["wiki_text"].as_str().unwrap(), conflicts[0]["with_text"].as_str().unwrap()];
    assert!(kept.contains(&text_b.as_str()) && kept.contains(&text_c.as_str()), "{conflicts:?}");

    // The notices: the page's talk page on both wikis of the clash, each
    // user's talk page on the wiki of their edit, naming both revisions.
    let places = [(1, format!("Talk:{t}")), (2, format!("Talk:{t}")), (1, "User talk:Otheruser".to_string()), (2, "User talk:Harvestbot".to_string())];
    for (wiki, talk) in places {
        let (_, text) = current(&g.wikis[wiki], &talk).await.unwrap_or_else(|| panic!("no notice on [[{talk}]] of wiki {wiki}: {report}"));
        let notice =
            text.split("== Edit conflict synced by oai-mirror ==").find(|n| n.contains(&format!("[[{t}]]"))).unwrap_or_else(|| panic!("[[{talk}]]: {text}"));
        assert!(notice.contains("Otheruser") && notice.contains("Harvestbot"), "[[{talk}]]: {notice}");
        assert!(notice.contains(&format!("revision {rev_b} on b")) && notice.contains(&format!("revision {rev_c} on c")), "[[{talk}]]: {notice}");
    }

    // Settled with b's text: queued for the hub and the spoke of the
    // conflict's pair, named as wikis; the next run brings it to all three.
    let out = run(g.command(&["resolve", "g", &t, "--take", "b"])).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let queue = stdout(&run(g.command(&["queue", "g"])).await);
    let targets: Vec<&str> = queue.lines().filter_map(|l| l.split(" to ").nth(1)).filter_map(|l| l.split(' ').next()).collect();
    assert_eq!(targets, ["a", "c"], "{queue}");
    g.sync().await;
    assert_eq!(stdout(&run(g.command(&["queue", "g"])).await).trim(), "no pending pushes");
    assert_eq!(g.texts(&t).await, vec![Some(text_b); 3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_on_one_wiki_and_an_edit_on_another_reach_all_three() {
    let g = Group::new("");
    let (t, moved) = (g.title("Before"), g.title("After"));
    let page = g.in_category(PAGE);
    save(&g.wikis[0], &t, &page).await;
    g.listed(0, &t).await;
    g.sync().await;
    g.wikis[1].move_page(&t, &moved, true, "test").await.unwrap();
    save(&g.wikis[2], &t, &page.replace("last line", "last line (c)")).await;
    let report = g.sync().await;
    assert_eq!(g.texts(&moved).await, vec![Some(page.replace("last line", "last line (c)")); 3], "{report}");
    assert_eq!(g.texts(&t).await, vec![None, None, None], "moved without a redirect everywhere: {report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_on_one_wiki_and_an_edit_on_another_keep_the_edit_everywhere() {
    let g = Group::new("");
    let t = g.title("Deleted");
    let page = g.in_category(PAGE);
    save(&g.wikis[0], &t, &page).await;
    g.listed(0, &t).await;
    g.sync().await;
    g.wikis[1].delete(&t, "test").await.unwrap();
    let edited = page.replace("first line", "first line (c)");
    save(&g.wikis[2], &t, &edited).await;
    let report = g.sync().await;
    // As in pairs: an edit outweighs a deletion, so no text is lost.
    assert_eq!(g.texts(&t).await, vec![Some(edited.clone()); 3], "{report}");

    // A deletion alone reaches every member.
    g.wikis[2].delete(&t, "test").await.unwrap();
    let report = g.sync().await;
    assert_eq!(g.texts(&t).await, vec![None, None, None], "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_joins_when_a_template_puts_it_in_the_category_and_stays_everywhere_once_taken_out() {
    let g = Group::new("");
    let t = g.title("Joins");
    // Only on c, and in no category: not the group's.
    save(&g.wikis[2], &t, PAGE).await;
    let report = g.sync().await;
    assert_eq!(g.texts(&t).await, vec![None, None, Some(PAGE.to_string())], "{report}");

    // A template of c's puts it in the category: it joins everywhere.
    let template = format!("Template:{}Box", g.prefix);
    save(&g.wikis[2], &template, &format!("<includeonly>[[{}]]</includeonly>boxed", g.category)).await;
    let boxed = format!("{PAGE}\n{{{{{}Box}}}}", g.prefix);
    save(&g.wikis[2], &t, &boxed).await;
    g.listed(2, &t).await;
    let report = g.sync().await;
    assert_eq!(report["created"], 2, "{report}");
    assert_eq!(g.texts(&t).await, vec![Some(boxed.clone()); 3]);

    // Taken out on a (the template is gone from its text): the edit still
    // travels, as b and c held it in the category when the run began.
    save(&g.wikis[0], &t, PAGE).await;
    g.sync().await;
    assert_eq!(g.texts(&t).await, vec![Some(PAGE.to_string()); 3]);
    // Out of it everywhere: no longer synced, and deleted nowhere.
    let later = PAGE.replace("first line", "first line (b, outside)");
    save(&g.wikis[1], &t, &later).await;
    let report = g.sync().await;
    assert_eq!(g.texts(&t).await, vec![Some(PAGE.to_string()), Some(later), Some(PAGE.to_string())], "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_names_three_wikis_or_more_and_categories_as_categories() {
    let g = Group::new("");
    let bad = std::fs::read_to_string(&g.config).unwrap().replace("wikis = [\"a\", \"b\", \"c\"]", "wikis = [\"a\", \"b\"]");
    std::fs::write(&g.config, bad).unwrap();
    let out = run(g.command(&["sync", "g"])).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("[group.g]") && stderr(&out).contains("three or more"), "{}", stderr(&out));
    let out = run(g.command(&["sync", "h"])).await;
    assert!(stderr(&out).contains("[group.*] tables: g"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_that_is_down_waits_while_the_others_sync_and_catches_up_when_back() {
    let g = Group::new("");
    let c_addr = test_wiki_c().addr();
    let cable = crate::support::Cable::connect(0, c_addr).await;
    // c reached through the cable; one attempt per request, so that down is down at once.
    let text = std::fs::read_to_string(&g.config).unwrap().replacen(&test_wiki_c().api, &format!("http://127.0.0.1:{}/w/api.php", cable.port), 1);
    let (db, rest) = text.split_once('\n').unwrap();
    std::fs::write(&g.config, format!("{db}\n[http]\nmax_attempts = 1\n{rest}")).unwrap();
    let t = g.title("Waits");
    let page = g.in_category(PAGE);
    save(&g.wikis[0], &t, &page).await;
    g.listed(0, &t).await;
    g.sync().await;
    assert_eq!(g.texts(&t).await, vec![Some(page.clone()); 3]);

    let port = cable.cut().await;
    save(&g.wikis[0], &t, &page.replace("first line", "first line (a)")).await;
    save(&g.wikis[1], &t, &page.replace("last line", "last line (b)")).await;
    let report = g.sync().await;
    assert_eq!(report["waiting"], serde_json::json!(["c"]), "{report}");
    let merged = page.replace("first line", "first line (a)").replace("last line", "last line (b)");
    assert_eq!(g.texts(&t).await, vec![Some(merged.clone()), Some(merged.clone()), Some(page.clone())]);

    let _cable = crate::support::Cable::connect(port, c_addr).await;
    let report = g.sync().await;
    assert!(report.get("waiting").is_none(), "{report}");
    assert_eq!(g.texts(&t).await, vec![Some(merged); 3]);
}
