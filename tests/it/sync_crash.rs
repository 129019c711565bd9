//! SIGKILL `sync` at random moments; after one more run no edit is lost, no
//! revision is pushed twice, and both wikis hold the same text. The seed is
//! printed (OAI_MIRROR_SEED replays it); OAI_MIRROR_SYNC_TRIALS sets the
//! number of trials (50 by default).

use std::time::Duration;

use oai_mirror::mediawiki::{CreateMode, Edit, EditOutcome, PageRef, Wiki};

use crate::support::{bin, run, stderr, stdout, tempdir, test_wiki, test_wiki_b, unique_title};

async fn save(w: &Wiki, title: &str, text: &str) {
    let e = Edit { page: PageRef::Title(title), text, summary: "test", base_revid: None, start_timestamp: None, mode: CreateMode::Either, minor: false, tags: &[] };
    assert!(matches!(w.edit(&e).await.unwrap(), EditOutcome::Saved { .. }));
}

async fn page(w: &Wiki, title: &str) -> (u64, u64, String) {
    let p = w.pages(&[PageRef::Title(title)]).await.unwrap().remove(0);
    let r = p.revision.unwrap();
    (p.pageid.unwrap(), r.revid, r.text.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_syncs_lose_nothing_and_push_nothing_twice() {
    let seed: u64 = std::env::var("OAI_MIRROR_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20_261_122);
    let trials: usize = std::env::var("OAI_MIRROR_SYNC_TRIALS").ok().and_then(|s| s.parse().ok()).unwrap_or(50);
    println!("sync crash trials: {trials}, seed {seed} (replay with OAI_MIRROR_SEED={seed})");
    let mut rng = fastrand::Rng::with_seed(seed);
    let (ta, tb) = (test_wiki(), test_wiki_b());
    let (a, b) = (ta.bot(), tb.bot());
    let prefix = format!("{} ", unique_title("Crash").replace(' ', ""));
    let home = tempdir();
    let (sa, sb) = (home.path().join("a"), home.path().join("b"));
    std::fs::write(&sa, &ta.bot_password).unwrap();
    std::fs::write(&sb, &tb.bot_password).unwrap();
    let config = home.path().join("config.toml");
    let table = |name: &str, api: &str, user: &str, secret: &std::path::Path| {
        format!("[wiki.{name}]\napi = \"{api}\"\nuser = \"{user}\"\npassword_file = \"{}\"\nfeed = \"api\"\nprefixes = [\"{prefix}\"]\n", secret.display())
    };
    std::fs::write(
        &config,
        format!(
            "db = \"{}\"\n{}{}[sync.ab]\nwiki = \"a\"\nwith = \"b\"\n",
            home.path().join("s.sqlite").display(),
            table("a", &ta.api, &ta.bot_user, &sa),
            table("b", &tb.api, &tb.bot_user, &sb)
        ),
    )
    .unwrap();
    let sync = || {
        let mut c = bin(home.path());
        c.arg("--config").arg(&config).args(["sync", "ab"]);
        c
    };
    let titles: Vec<String> = (0..4).map(|i| format!("{prefix}Page {i}")).collect();
    for t in &titles {
        save(&a, t, "top line\n\nmiddle\n\nbottom line").await;
    }
    let out = run(sync()).await;
    assert!(out.status.success(), "{}", stderr(&out));

    let (mut lost, mut twice, mut diverged, mut mid_run) = (0, 0, 0, 0);
    for trial in 0..trials {
        let t = &titles[rng.usize(..titles.len())];
        let (a_id, a_rev, a_text) = page(&a, t).await;
        let (b_id, b_rev, b_text) = page(&b, t).await;
        assert_eq!(a_text, b_text, "trial {trial}: the sides differ before it starts");
        let (mark_a, mark_b) = (format!("(a{trial})"), format!("(b{trial})"));
        save(&a, t, &a_text.replacen("top line", &format!("top line {mark_a}"), 1)).await;
        save(&b, t, &b_text.replacen("bottom line", &format!("bottom line {mark_b}"), 1)).await;

        let mut child = sync().stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().unwrap();
        tokio::time::sleep(Duration::from_millis(rng.u64(0..2500))).await;
        if child.try_wait().unwrap().is_none() {
            mid_run += 1;
        }
        let _ = child.kill();
        child.wait().unwrap();
        let out = run(sync()).await;
        assert!(out.status.success(), "trial {trial}: {}\n{}", stdout(&out), stderr(&out));

        let (_, _, a_after) = page(&a, t).await;
        let (_, _, b_after) = page(&b, t).await;
        if a_after != b_after {
            diverged += 1;
            eprintln!("trial {trial} [[{t}]]: diverged\n a: {a_after:?}\n b: {b_after:?}");
        }
        if !a_after.contains(&mark_a) || !a_after.contains(&mark_b) {
            lost += 1;
            eprintln!("trial {trial} [[{t}]]: an edit was lost: {a_after:?}");
        }
        // At most one sync revision per side per trial.
        for (w, id, rev, side) in [(&a, a_id, a_rev, "a"), (&b, b_id, b_rev, "b")] {
            let by_sync = w.revisions_after(id, rev).await.unwrap().into_iter().filter(|r| r.comment.starts_with("oai-mirror sync")).count();
            if by_sync > 1 {
                twice += 1;
                eprintln!("trial {trial} [[{t}]]: {by_sync} sync revisions on {side}");
            }
        }
    }
    println!("sync crash trials: {trials} ({mid_run} killed mid-run), seed {seed}: {lost} lost, {twice} duplicated, {diverged} diverged");
    assert!(mid_run > 0, "no kill landed while a sync was running");
    assert_eq!((lost, twice, diverged), (0, 0, 0), "seed {seed}");
}
