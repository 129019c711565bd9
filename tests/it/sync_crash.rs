//! SIGKILL `sync` at random moments; after one more run no edit is lost, no
//! revision is pushed twice, and both sides hold the same text: two wikis,
//! and a wiki with a checkout. The seed is printed (OAI_MIRROR_SEED replays
//! it); OAI_MIRROR_SYNC_TRIALS sets the number of trials (50 by default).
//! The kill lands within the time an uninterrupted sync of one edited page
//! took, measured first, so most kills hit a running sync.

use std::time::{Duration, Instant};

use oai_mirror::mediawiki::{PageRef, Wiki};

use crate::support::{bin, run, save, stderr, stdout, tempdir, test_wiki, test_wiki_b, unique_title};

async fn page(w: &Wiki, title: &str) -> (u64, u64, String) {
    let p = w.pages(&[PageRef::Title(title)]).await.unwrap().remove(0);
    let r = p.revision.unwrap();
    (p.pageid.unwrap(), r.revid, r.text.unwrap())
}

fn seed_and_trials() -> (u64, usize) {
    let seed: u64 = std::env::var("OAI_MIRROR_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20_261_122);
    let trials: usize = std::env::var("OAI_MIRROR_SYNC_TRIALS").ok().and_then(|s| s.parse().ok()).unwrap_or(50);
    (seed, trials)
}

/// Starts `cmd`, kills it after up to `window`; true if it was still
/// running. Its log goes to `log`, to be shown if the trial fails.
fn kill_within(mut cmd: std::process::Command, rng: &mut fastrand::Rng, window: Duration, log: &std::path::Path) -> bool {
    let file = std::fs::File::create(log).unwrap();
    let mut child = cmd.stdout(file.try_clone().unwrap()).stderr(file).spawn().unwrap();
    std::thread::sleep(Duration::from_micros(rng.u64(0..window.as_micros() as u64)));
    let running = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    child.wait().unwrap();
    running
}

/// What the trials of one kind found.
#[derive(Default)]
struct Verdict {
    lost: usize,
    twice: usize,
    diverged: usize,
    mid_run: usize,
}

impl Verdict {
    /// Judges one trial: after the run that followed the kill, both sides
    /// (`sides`, named) hold the same text, with both edits (`marks`) in
    /// it; if not, the killed run's log and the next run's output are shown.
    fn judge(&mut self, trial: usize, title: &str, sides: &[(&str, &str)], marks: &[&str], log: &std::path::Path, next: &std::process::Output) {
        let (left_name, left) = sides[0];
        let kept = |text: &str| marks.iter().all(|m| text.contains(m));
        let differs = sides.iter().find(|(_, text)| *text != left);
        if differs.is_some() || !kept(left) {
            eprintln!(
                "trial {trial}: the killed run:\n{}\nthe run after:\n{}\n{}",
                std::fs::read_to_string(log).unwrap_or_default(),
                stdout(next),
                stderr(next)
            );
        }
        if let Some((right_name, right)) = differs {
            self.diverged += 1;
            eprintln!("trial {trial} [[{title}]]: diverged\n {left_name}: {left:?}\n {right_name}: {right:?}");
        }
        if !kept(left) {
            self.lost += 1;
            eprintln!("trial {trial} [[{title}]]: an edit was lost: {left:?}");
        }
    }

    /// Counts the sync's revisions of a page on one wiki since `rev`: at
    /// most `most` per trial, as many as an uninterrupted run makes.
    async fn count_pushes(&mut self, trial: usize, title: &str, wiki: &Wiki, (id, rev): (u64, u64), side: &str, most: usize) {
        let by_sync = sync_revisions(wiki, id, rev).await;
        if by_sync > most {
            self.twice += 1;
            eprintln!("trial {trial} [[{title}]]: {by_sync} sync revisions on {side}");
        }
    }

    fn assert_clean(&self, what: &str, trials: usize, seed: u64) {
        let Verdict { lost, twice, diverged, mid_run } = *self;
        println!("{what} crash trials: {trials} ({mid_run} killed mid-run), seed {seed}: {lost} lost, {twice} duplicated, {diverged} diverged");
        assert!(mid_run >= trials / 4, "only {mid_run} of {trials} kills landed while a sync was running");
        assert_eq!((lost, twice, diverged), (0, 0, 0), "seed {seed}");
    }
}

/// The sync's revisions of a page since `rev`.
async fn sync_revisions(wiki: &Wiki, id: u64, rev: u64) -> usize {
    crate::support::revisions_after(wiki, id, rev).await.into_iter().filter(|r| r.comment.starts_with("oai-mirror sync")).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_syncs_lose_nothing_and_push_nothing_twice() {
    let (seed, trials) = seed_and_trials();
    println!("sync crash trials: {trials}, seed {seed} (replay with OAI_MIRROR_SEED={seed})");
    let mut rng = fastrand::Rng::with_seed(seed);
    let (ta, tb) = (test_wiki(), test_wiki_b());
    let (a, b) = (ta.bot(), tb.bot());
    let prefix = format!("{} ", unique_title("Crash").replace(' ', ""));
    let home = tempdir();
    let config = crate::support::sync_ab_config(home.path(), std::slice::from_ref(&prefix), (&tb.bot_user, &tb.bot_password), "");
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
    // How long a sync of one page edited on both sides takes.
    let (_, _, text) = page(&a, &titles[0]).await;
    save(&a, &titles[0], &format!("{text}\ncalibration")).await;
    let started = Instant::now();
    let out = run(sync()).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let window = started.elapsed();
    println!("an uninterrupted sync took {window:?}");

    let mut verdict = Verdict::default();
    for trial in 0..trials {
        let t = &titles[rng.usize(..titles.len())];
        let (a_id, a_rev, a_text) = page(&a, t).await;
        let (b_id, b_rev, b_text) = page(&b, t).await;
        assert_eq!(a_text, b_text, "trial {trial}: the sides differ before it starts");
        let (mark_a, mark_b) = (format!("(a{trial})"), format!("(b{trial})"));
        save(&a, t, &a_text.replacen("top line", &format!("top line {mark_a}"), 1)).await;
        save(&b, t, &b_text.replacen("bottom line", &format!("bottom line {mark_b}"), 1)).await;

        let log = home.path().join("killed.log");
        if kill_within(sync(), &mut rng, window, &log) {
            verdict.mid_run += 1;
        }
        let out = run(sync()).await;
        assert!(out.status.success(), "trial {trial}: {}\n{}", stdout(&out), stderr(&out));

        let (_, _, a_after) = page(&a, t).await;
        let (_, _, b_after) = page(&b, t).await;
        verdict.judge(trial, t, &[("a", &a_after), ("b", &b_after)], &[&mark_a, &mark_b], &log, &out);
        verdict.count_pushes(trial, t, &a, (a_id, a_rev), "a", 1).await;
        verdict.count_pushes(trial, t, &b, (b_id, b_rev), "b", 1).await;
    }
    verdict.assert_clean("sync", trials, seed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_checkout_syncs_lose_nothing_and_push_nothing_twice() {
    let (seed, trials) = seed_and_trials();
    println!("checkout crash trials: {trials}, seed {seed} (replay with OAI_MIRROR_SEED={seed})");
    let mut rng = fastrand::Rng::with_seed(seed);
    let ta = test_wiki();
    let a = ta.bot();
    let prefix = format!("{} ", unique_title("CoCrash").replace(' ', ""));
    let home = tempdir();
    let secret = home.path().join("a");
    std::fs::write(&secret, &ta.bot_password).unwrap();
    let dir = home.path().join("pages");
    let config = home.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "db = \"{}\"\n[wiki.a]\napi = \"{}\"\nuser = \"{}\"\npassword_file = \"{}\"\nfeed = \"api\"\nprefixes = [\"{prefix}\"]\n[sync.co]\nwiki = \"a\"\ncheckout = \"{}\"\n",
            home.path().join("s.sqlite").display(),
            ta.api,
            ta.bot_user,
            secret.display(),
            dir.display()
        ),
    )
    .unwrap();
    let sync = || {
        let mut c = bin(home.path());
        c.arg("--config").arg(&config).args(["sync", "co"]);
        c
    };
    let titles: Vec<String> = (0..4).map(|i| format!("{prefix}Page {i}")).collect();
    let file = |t: &str| dir.join(oai_mirror::sync::checkout::file_name(t, &Default::default()));
    let read = |t: &str| oai_mirror::sync::checkout::normalize(&std::fs::read_to_string(file(t)).unwrap_or_default());
    for t in &titles {
        save(&a, t, "top line\n\nmiddle\n\nbottom line").await;
    }
    let out = run(sync()).await;
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::write(file(&titles[0]), format!("{}\ncalibration\n", read(&titles[0]))).unwrap();
    let started = Instant::now();
    let out = run(sync()).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let window = started.elapsed();
    println!("an uninterrupted checkout sync took {window:?}");

    let mut verdict = Verdict::default();
    for trial in 0..trials {
        let t = &titles[rng.usize(..titles.len())];
        let (a_id, a_rev, a_text) = page(&a, t).await;
        assert_eq!(a_text, read(t), "trial {trial}: the sides differ before it starts");
        let (mark_a, mark_c) = (format!("(a{trial})"), format!("(c{trial})"));
        save(&a, t, &a_text.replacen("top line", &format!("top line {mark_a}"), 1)).await;
        std::fs::write(file(t), a_text.replacen("bottom line", &format!("bottom line {mark_c}"), 1)).unwrap();
        let log = home.path().join("killed.log");
        if kill_within(sync(), &mut rng, window, &log) {
            verdict.mid_run += 1;
        }
        let out = run(sync()).await;
        assert!(out.status.success(), "trial {trial}: {}\n{}", stdout(&out), stderr(&out));

        let (_, _, a_after) = page(&a, t).await;
        verdict.judge(trial, t, &[("wiki", &a_after), ("file", &read(t))], &[&mark_a, &mark_c], &log, &out);
        verdict.count_pushes(trial, t, &a, (a_id, a_rev), "the wiki", 1).await;
    }
    // No stray files: one per page, nothing half-written left visible.
    let mut names: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).filter(|n| !n.starts_with('.')).collect();
    names.sort();
    assert_eq!(names.len(), titles.len(), "{names:?}");
    verdict.assert_clean("checkout", trials, seed);
}

/// A group of three: each trial edits one page on all three wikis in
/// different places, kills the group's sync at a random moment, and runs
/// it again. All three then hold the same text with every edit, and no
/// wiki got more of the sync's revisions than an uninterrupted run makes
/// (measured first). OAI_MIRROR_GROUP_TRIALS sets the trials (30).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_group_syncs_lose_nothing_and_push_nothing_twice() {
    let (seed, _) = seed_and_trials();
    let trials: usize = std::env::var("OAI_MIRROR_GROUP_TRIALS").ok().and_then(|s| s.parse().ok()).unwrap_or(30);
    println!("group crash trials: {trials}, seed {seed} (replay with OAI_MIRROR_SEED={seed})");
    let mut rng = fastrand::Rng::with_seed(seed);
    let g = crate::groups::Group::new("");
    let sync = || g.command(&["sync", "g"]);
    let titles: Vec<String> = (0..2).map(|i| g.title(&format!("Page {i}"))).collect();
    for t in &titles {
        save(&g.wikis[0], t, &g.in_category("top line\n\nmiddle line\n\nbottom line")).await;
        g.listed(0, t).await;
    }
    let out = run(sync()).await;
    assert!(out.status.success(), "{}", stderr(&out));

    // Edits on all three in different places: `mark` names each trial's.
    let edit = |trial: String, t: String| {
        let g = &g;
        async move {
            let marks = [format!("(a{trial})"), format!("(b{trial})"), format!("(c{trial})")];
            let mut before = Vec::new();
            for (w, (line, mark)) in g.wikis.iter().zip(["middle line", "top line", "bottom line"].into_iter().zip(&marks)) {
                let (id, rev, text) = page(w, &t).await;
                before.push((id, rev, text.clone()));
                save(w, &t, &text.replacen(line, &format!("{line} {mark}"), 1)).await;
            }
            (marks, before)
        }
    };
    // How long an uninterrupted run takes, and how many revisions it writes to each wiki.
    let (_, before) = edit("calibration".into(), titles[0].clone()).await;
    let started = Instant::now();
    let out = run(sync()).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let window = started.elapsed();
    let mut most = Vec::new();
    for (w, (id, rev, _)) in g.wikis.iter().zip(&before) {
        most.push(sync_revisions(w, *id, *rev).await);
    }
    println!("an uninterrupted group sync took {window:?} and wrote {most:?} revisions to a, b, c");

    let mut verdict = Verdict::default();
    for trial in 0..trials {
        let t = &titles[rng.usize(..titles.len())];
        let (marks, before) = edit(trial.to_string(), t.clone()).await;
        assert!(before.iter().all(|b| b.2 == before[0].2), "trial {trial}: the wikis differ before it starts");
        let log = g.home.path().join("killed.log");
        if kill_within(sync(), &mut rng, window, &log) {
            verdict.mid_run += 1;
        }
        let out = run(sync()).await;
        assert!(out.status.success(), "trial {trial}: {}\n{}", stdout(&out), stderr(&out));
        let mut after = Vec::new();
        for w in &g.wikis {
            after.push(page(w, t).await.2);
        }
        let sides: Vec<(&str, &str)> = ["a", "b", "c"].into_iter().zip(after.iter().map(String::as_str)).collect();
        let marks: Vec<&str> = marks.iter().map(String::as_str).collect();
        verdict.judge(trial, t, &sides, &marks, &log, &out);
        for (i, (w, (id, rev, _))) in g.wikis.iter().zip(&before).enumerate() {
            verdict.count_pushes(trial, t, w, (*id, *rev), ["a", "b", "c"][i], most[i]).await;
        }
    }
    verdict.assert_clean("group", trials, seed);
}

/// Kills syncs that replay revisions, through edits (`import` false) or
/// the API's import: after one more run every revision made on a is on the
/// other wiki exactly once (by its summary), and both texts agree. (The
/// edits are the bot's: a plain account would meet MediaWiki's rate limit
/// of 90 edits a minute.)
async fn replay_trials(import: bool, seed: u64, trials: usize) -> Verdict {
    let mut rng = fastrand::Rng::with_seed(seed);
    let (ta, tb) = (test_wiki(), test_wiki_b());
    let (a, b) = (ta.bot(), tb.bot());
    let prefix = format!("{} ", unique_title(if import { "ImpCrash" } else { "RepCrash" }).replace(' ', ""));
    let home = tempdir();
    let b_account = if import { (tb.import_user.as_str(), tb.import_password.as_str()) } else { (tb.bot_user.as_str(), tb.bot_password.as_str()) };
    let config = crate::support::sync_ab_config(home.path(), std::slice::from_ref(&prefix), b_account, "");
    let sync = || {
        let mut c = bin(home.path());
        c.arg("--config").arg(&config).args(["sync", "ab"]);
        c
    };
    let titles: Vec<String> = (0..3).map(|i| format!("{prefix}Page {i}")).collect();
    for t in &titles {
        save(&a, t, "top line").await;
    }
    let out = run(sync()).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let edit = |t: String, text: String, summary: String| {
        let a = &a;
        async move {
            let e = oai_mirror::mediawiki::Edit {
                page: PageRef::Title(&t),
                text: &text,
                summary: &summary,
                base_revid: None,
                start_timestamp: None,
                mode: oai_mirror::mediawiki::CreateMode::Either,
                minor: false,
                tags: &[],
            };
            a.edit(&e).await.unwrap();
        }
    };
    // How long a sync replaying three edits of a page takes.
    for k in 0..3 {
        let (_, _, text) = page(&a, &titles[0]).await;
        edit(titles[0].clone(), format!("{text}\ncalibration {k}"), format!("calibration {k}")).await;
    }
    let started = Instant::now();
    let out = run(sync()).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let window = started.elapsed();
    println!("an uninterrupted replay of 3 edits took {window:?}");

    let mut verdict = Verdict::default();
    for trial in 0..trials {
        let t = &titles[rng.usize(..titles.len())];
        let (_, _, a_text) = page(&a, t).await;
        let (b_id, b_rev, b_text) = page(&b, t).await;
        assert_eq!(a_text, b_text, "trial {trial}: the sides differ before it starts");
        let marks: Vec<String> = (0..3).map(|k| format!("trial {trial} edit {k}")).collect();
        let mut text = a_text.clone();
        for m in &marks {
            text = format!("{text}\n{m}");
            edit(t.clone(), text.clone(), m.clone()).await;
        }
        let log = home.path().join("killed.log");
        if kill_within(sync(), &mut rng, window, &log) {
            verdict.mid_run += 1;
        }
        let out = run(sync()).await;
        assert!(out.status.success(), "trial {trial}: {}\n{}", stdout(&out), stderr(&out));
        let (_, _, a_after) = page(&a, t).await;
        let (_, _, b_after) = page(&b, t).await;
        let marks_ref: Vec<&str> = marks.iter().map(String::as_str).collect();
        verdict.judge(trial, t, &[("a", &a_after), ("b", &b_after)], &marks_ref, &log, &out);
        // Each of Otheruser's revisions on b once: by its summary.
        let on_b = crate::support::revisions_after(&b, b_id, b_rev).await;
        for m in &marks {
            let times = on_b.iter().filter(|r| r.comment.ends_with(m.as_str())).count();
            if times == 0 {
                verdict.lost += 1;
                eprintln!("trial {trial} [[{t}]]: revision {m:?} was not replayed on b: {:?}", on_b.iter().map(|r| &r.comment).collect::<Vec<_>>());
            } else if times > 1 {
                verdict.twice += 1;
                eprintln!("trial {trial} [[{t}]]: revision {m:?} is on b {times} times");
            }
        }
    }
    verdict
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_replays_lose_no_revision_and_replay_none_twice() {
    let (seed, _) = seed_and_trials();
    let trials: usize = std::env::var("OAI_MIRROR_REPLAY_TRIALS").ok().and_then(|s| s.parse().ok()).unwrap_or(30);
    println!("replay crash trials: {trials} by edits and {trials} by import, seed {seed} (replay with OAI_MIRROR_SEED={seed})");
    replay_trials(false, seed, trials).await.assert_clean("replay by edits", trials, seed);
    replay_trials(true, seed, trials).await.assert_clean("replay by import", trials, seed);
}
