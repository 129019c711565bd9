//! A random sequence of operations on a real MediaWiki (create, edit, move,
//! move without a redirect, delete, undelete), mirrored through the action
//! API; after each pull every page's id, title and current text here equals
//! what the wiki's own API says. The seed is printed; set OAI_MIRROR_SEED to
//! replay one.

use std::collections::BTreeMap;

use oai_mirror::mediawiki::{CreateMode, Edit, EditOutcome, PageRef, Wiki};

use crate::support::{bin, run, stderr, stdout, tempdir, test_wiki, unique_title};

const OPS: usize = 200;

struct Model {
    prefix: String,
    live: Vec<String>,
    deleted: Vec<String>,
    next: usize,
}

impl Model {
    fn fresh_title(&mut self) -> String {
        self.next += 1;
        format!("{}P{}", self.prefix, self.next)
    }
}

fn text(rng: &mut fastrand::Rng) -> String {
    // Markup characters on purpose: they must survive the whole way.
    let words = ["alpha", "& beta", "<gamma>", "delta \"quoted\"", "ε", "[[link]]", "{{tmpl}}", "line\nbreak"];
    (0..rng.usize(1..6)).map(|_| words[rng.usize(..words.len())]).collect::<Vec<_>>().join(" ")
}

async fn save(w: &Wiki, title: &str, body: &str) {
    let e = Edit {
        page: PageRef::Title(title),
        text: body,
        summary: "random",
        base_revid: None,
        start_timestamp: None,
        mode: CreateMode::Either,
        minor: false,
        tags: &[],
    };
    match w.edit(&e).await.unwrap() {
        EditOutcome::Saved { .. } | EditOutcome::NoChange { .. } => {}
        other => panic!("edit of [[{title}]]: {other:?}"),
    }
}

async fn step(w: &Wiki, m: &mut Model, rng: &mut fastrand::Rng, log: &mut Vec<String>) {
    let roll = rng.u32(..100);
    if m.live.is_empty() || roll < 25 {
        let t = m.fresh_title();
        save(w, &t, &text(rng)).await;
        log.push(format!("create {t}"));
        m.live.push(t);
    } else if roll < 50 {
        let t = m.live[rng.usize(..m.live.len())].clone();
        save(w, &t, &text(rng)).await;
        log.push(format!("edit {t}"));
    } else if roll < 70 {
        let i = rng.usize(..m.live.len());
        let (from, to) = (m.live[i].clone(), m.fresh_title());
        let noredirect = rng.bool();
        let moved = w.move_page(&from, &to, noredirect, "random").await.unwrap();
        log.push(format!("move {from} -> {to}{}", if noredirect { " (no redirect)" } else { "" }));
        m.live[i] = to;
        if moved.redirect_created {
            m.live.push(from);
        }
    } else if roll < 85 {
        let t = m.live.swap_remove(rng.usize(..m.live.len()));
        w.delete(&t, "random").await.unwrap();
        log.push(format!("delete {t}"));
        m.deleted.push(t);
    } else if let Some(i) = (!m.deleted.is_empty()).then(|| rng.usize(..m.deleted.len())) {
        let t = m.deleted.swap_remove(i);
        // Restoring onto a title that was recreated merges histories; skip those.
        if m.live.contains(&t) {
            return;
        }
        w.undelete(&t, "random").await.unwrap();
        log.push(format!("undelete {t}"));
        m.live.push(t);
    }
}

/// The wiki's own view of the pages under `prefix`: id → (title, rev, sha1).
async fn wiki_view(w: &Wiki, prefix: &str) -> BTreeMap<u64, (String, u64, String)> {
    let ids = w.all_page_ids(0).await.unwrap();
    let refs: Vec<PageRef<'_>> = ids.iter().map(|id| PageRef::Id(*id)).collect();
    w.pages(&refs)
        .await
        .unwrap()
        .into_iter()
        .filter(|p| !p.missing && p.title.starts_with(prefix))
        .map(|p| {
            let r = p.revision.unwrap();
            (p.pageid.unwrap(), (p.title, r.revid, r.sha1))
        })
        .collect()
}

fn mirror_view(pages_json: &str) -> BTreeMap<u64, (String, u64, String)> {
    pages_json
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|p| !p["deleted"].as_bool().unwrap())
        .map(|p| (p["id"].as_u64().unwrap(), (p["title"].as_str().unwrap().to_string(), p["rev"].as_u64().unwrap(), p["sha1"].as_str().unwrap().to_string())))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_random_sequence_of_operations_is_mirrored_exactly() {
    let seed: u64 = std::env::var("OAI_MIRROR_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20_261_122);
    println!("random sequence seed: {seed} (replay with OAI_MIRROR_SEED={seed})");
    let mut rng = fastrand::Rng::with_seed(seed);
    let tw = test_wiki();
    let w = tw.bot();
    let prefix = format!("{} ", unique_title("Rnd").replace(' ', ""));
    let (home, config) = mirror_config(tw, "rnd", &prefix, "namespaces = [0]\n");
    let cli = |args: &[&str]| cli_in(&home, &config, args);

    let mut model = Model { prefix: prefix.clone(), live: Vec::new(), deleted: Vec::new(), next: 0 };
    let mut log = Vec::new();
    let first = run(cli(&["mirror", "rnd"])).await;
    assert!(first.status.success(), "{}", stderr(&first));
    for round in 0..2 {
        for _ in 0..OPS / 2 {
            step(&w, &mut model, &mut rng, &mut log).await;
        }
        let out = run(cli(&["mirror", "rnd"])).await;
        assert!(out.status.success(), "{}", stderr(&out));
        println!("round {round}: {}", stdout(&out).trim());
        let pages = run(cli(&["pages", "rnd", "--json"])).await;
        let here = mirror_view(&stdout(&pages));
        let there = wiki_view(&w, &prefix).await;
        if here != there {
            for (id, v) in &there {
                if here.get(id) != Some(v) {
                    eprintln!("page {id}: wiki {v:?}, mirror {:?}", here.get(id));
                }
            }
            for id in here.keys().filter(|id| !there.contains_key(id)) {
                eprintln!("page {id}: only in the mirror {:?}", here[id]);
            }
            panic!("seed {seed}, round {round}: the mirror differs from the wiki; operations:\n{}", log.join("\n"));
        }
        assert!(!there.is_empty());
    }
    // The current text of a page, as `show` prints it, is the wiki's.
    let (id, (title, rev, _)) = wiki_view(&w, &prefix).await.into_iter().next().unwrap();
    let shown = run(cli(&["show", "rnd", &title])).await;
    let text = w.revision_text(rev, &title).await.unwrap();
    assert_eq!(stdout(&shown).trim_end_matches('\n'), text.trim_end_matches('\n'), "page {id}");

    // Nothing changed since: after logging in (login token, login), one feed
    // request, and nothing written.
    let again = run(cli(&["mirror", "rnd", "--json"])).await;
    let summary: serde_json::Value = serde_json::from_str(stdout(&again).trim()).unwrap();
    assert_eq!((summary["requests"].as_u64(), summary["wrote"].as_bool()), (Some(3), Some(false)), "{summary}");
}

/// With `history`, every revision between two pulls is stored, not only the current one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_fetches_the_revisions_in_between() {
    let tw = test_wiki();
    let w = tw.bot();
    let prefix = format!("{} ", unique_title("Hist").replace(' ', ""));
    let title = format!("{prefix}Page");
    save(&w, &title, "one").await;
    let (home, config) = mirror_config(tw, "h", &prefix, "history = true\n");
    let cli = |args: &[&str]| cli_in(&home, &config, args);
    assert!(run(cli(&["mirror", "h"])).await.status.success());
    for text in ["two", "three & <four>", "five"] {
        save(&w, &title, text).await;
    }
    let out = run(cli(&["mirror", "h"])).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let hist = stdout(&run(cli(&["history", "h", &title])).await);
    assert_eq!(hist.lines().filter(|l| l.starts_with("rev ")).count(), 4, "{hist}");
    let revs: Vec<u64> = hist.lines().filter_map(|l| l.strip_prefix("rev ")).map(|l| l.split_whitespace().next().unwrap().parse().unwrap()).collect();
    let third = stdout(&run(cli(&["show", "h", &title, "--rev", &revs[2].to_string()])).await);
    assert_eq!(third, "three & <four>\n");
}

/// A home with a config mirroring `[wiki.NAME]` (the test wiki, the API
/// feed, titles under `prefix`, plus `extra` keys) into its own database.
fn mirror_config(tw: &crate::support::TestWiki, name: &str, prefix: &str, extra: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let home = tempdir();
    let secret = home.path().join("secret");
    std::fs::write(&secret, &tw.bot_password).unwrap();
    let config = home.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "db = \"{}\"\n[wiki.{name}]\napi = \"{}\"\nuser = \"{}\"\npassword_file = \"{}\"\nfeed = \"api\"\nprefixes = [\"{prefix}\"]\n{extra}",
            home.path().join("m.sqlite").display(),
            tw.api,
            tw.bot_user,
            secret.display()
        ),
    )
    .unwrap();
    (home, config)
}

fn cli_in(home: &tempfile::TempDir, config: &std::path::Path, args: &[&str]) -> std::process::Command {
    let mut c = bin(home.path());
    c.arg("--config").arg(config).args(args);
    c
}

/// A file uploaded through the API after the first pull shows in recent
/// changes only as an `upload` log entry: the API feed follows it to the
/// file's page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_uploaded_after_the_first_pull_reaches_the_mirror() {
    let tw = test_wiki();
    let name = unique_title("Up").replace(' ', "");
    let (home, config) = mirror_config(tw, "u", &format!("File:{name}"), "");
    let cli = |args: &[&str]| cli_in(&home, &config, args);
    // A first pull that stores a page, so that the next one reads the feed.
    save(&tw.bot(), &format!("File:{name} notes"), "a description page of no file").await;
    assert!(run(cli(&["mirror", "u"])).await.status.success());
    assert!(stdout(&run(cli(&["pages", "u"])).await).contains("notes"));
    // A 1×1 PNG, uploaded through the API.
    let result = tw
        .client("a-upload", &tw.upload_user, &tw.upload_password)
        .upload(&format!("{name}.png"), crate::support::png(""), "uploaded", "A pixel.")
        .await
        .unwrap();
    assert_eq!(result, "Success");

    let out = run(cli(&["mirror", "u", "--json"])).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let pages = stdout(&run(cli(&["pages", "u"])).await);
    assert!(pages.contains(&format!("File:{name}.png")), "the file's page is mirrored: {pages}");
}
