//! Mirroring through Special:OAIRepository: the extension's real captured
//! output, and scripted histories replayed by the strict fake.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use oai_mirror::mirror::{export, pull};
use testbeds::oai_wiki::{FakeOaiWiki, View};

use crate::support::{bin, fixtures, run, stderr, stdout, tempdir};

#[test]
fn the_extensions_captured_records_become_pages_by_id() {
    let dir = fixtures().join("../mediawiki-oai");
    let body = std::fs::read_to_string(dir.join("13-ListRecords-mediawiki-from-MID.xml")).unwrap();
    let origin = oai::Origin { url: "capture".into(), verb: oai::Verb::ListRecords, token: None };
    let page = oai::parse::list_records(&body, &origin, 200).unwrap();
    let mut seen = Vec::new();
    for r in &page.items {
        let id = pull::page_id_of(&r.header.identifier).unwrap();
        if r.header.deleted {
            seen.push((id, "(deleted)".to_string(), None));
        } else {
            let p = export::parse(std::str::from_utf8(r.metadata.as_deref().unwrap()).unwrap()).unwrap().remove(0);
            assert_eq!(p.pageid, id);
            assert_eq!(p.revisions.len(), 1, "exactly one, current, revision");
            seen.push((id, p.title, p.redirect));
        }
    }
    assert_eq!(
        seen,
        [
            (6, "(deleted)".into(), None),
            (7, "Delta moved".into(), None),
            (10, "Delta".into(), Some("Delta moved".into())),
            (8, "Epsilon moved".into(), None),
            (0, "(deleted)".into(), None),
        ]
    );
    assert_eq!(page.next_token(), Some("mediawiki:19"));
    // Non-ASCII titles and markup in text survive.
    let body = std::fs::read_to_string(dir.join("28-GetRecord-nonascii.xml")).unwrap();
    let rec = oai::parse::get_record(&body, &oai::Origin { verb: oai::Verb::GetRecord, ..origin }, 200).unwrap();
    let p = export::parse(std::str::from_utf8(rec.metadata.as_deref().unwrap()).unwrap()).unwrap().remove(0);
    assert_eq!((p.title.as_str(), p.ns), ("Ümlaut & Ωmega", 0));
}

struct Setup {
    fake: FakeOaiWiki,
    home: tempfile::TempDir,
    config: std::path::PathBuf,
}

async fn setup(chunk: usize, extra: &str) -> Setup {
    let fake = FakeOaiWiki::new(chunk);
    let url = fake.spawn().await.unwrap();
    let home = tempdir();
    let config = home.path().join("config.toml");
    // The API URL is never used by an OAI pull without history.
    std::fs::write(
        &config,
        format!(
            "db = \"{}\"\n[wiki.w]\napi = \"http://127.0.0.1:9/w/api.php\"\noai = \"{url}\"\nrender = false\n{extra}",
            home.path().join("m.sqlite").display()
        ),
    )
    .unwrap();
    Setup { fake, home, config }
}

impl Setup {
    fn cmd(&self, args: &[&str]) -> std::process::Command {
        let mut c = bin(self.home.path());
        c.arg("--config").arg(&self.config).args(args);
        c
    }

    async fn mirror(&self) -> serde_json::Value {
        let out = run(self.cmd(&["mirror", "w", "--json"])).await;
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_str(stdout(&out).trim()).unwrap()
    }

    async fn pages(&self) -> View {
        pages_of(&stdout(&run(self.cmd(&["pages", "w", "--json"])).await))
    }

    /// Mirrors, and checks that the mirror now equals the wiki.
    async fn sync_and_check(&self) -> serde_json::Value {
        let summary = self.mirror().await;
        assert_eq!(self.pages().await, self.fake.view(), "after {summary}");
        summary
    }
}

fn pages_of(json_lines: &str) -> View {
    json_lines
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|p| !p["deleted"].as_bool().unwrap())
        .map(|p| (p["id"].as_u64().unwrap(), (p["title"].as_str().unwrap().to_string(), p["rev"].as_u64().unwrap(), p["sha1"].as_str().unwrap().to_string())))
        .collect::<BTreeMap<_, _>>()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_moves_deletes_and_undeletes_over_several_runs() {
    let s = setup(5, "").await;
    let f = &s.fake;
    let alpha = f.create("Alpha", "alpha & <omega>");
    let beta = f.create("Beta", "beta");
    let gamma = f.create("Gamma", "gamma");
    let delta = f.create("Delta", "delta");
    let eps = f.create("Epsilon", "epsilon");
    f.create("Talk:Ümlaut & Ωmega", "talk");
    f.edit(alpha, "alpha, second");
    let first = s.sync_and_check().await;
    assert_eq!(first["created"], 7);

    f.advance(chrono::TimeDelta::minutes(5));
    f.move_page(delta, "Delta moved", true);
    f.move_page(eps, "Epsilon moved", false);
    f.delete(gamma);
    f.edit(beta, "beta, second");
    let second = s.sync_and_check().await;
    assert_eq!((second["moved"].as_u64(), second["deleted"].as_u64(), second["created"].as_u64()), (Some(2), Some(1), Some(1)), "{second}");

    f.advance(chrono::TimeDelta::minutes(5));
    f.undelete(gamma);
    let third = s.sync_and_check().await;
    assert_eq!(third["undeleted"], 1);

    // The moved page kept its id and its history of titles.
    let hist = stdout(&run(s.cmd(&["history", "w", "Delta moved"])).await);
    assert!(hist.starts_with(&format!("page {delta}\ntitle  Delta  since ")), "{hist}");
    assert!(hist.contains("title  Delta moved  since "), "{hist}");
    let shown = stdout(&run(s.cmd(&["show", "w", "Alpha"])).await);
    assert_eq!(shown, "alpha, second\n");
    // Typed as people type titles: underscores, a small first letter.
    assert_eq!(stdout(&run(s.cmd(&["show", "w", "alpha"])).await), "alpha, second\n");
    assert!(stdout(&run(s.cmd(&["history", "w", "delta_moved"])).await).starts_with(&format!("page {delta}\n")));
    let missing = run(s.cmd(&["show", "w", "Nowhere"])).await;
    assert!(!missing.status.success() && stderr(&missing).contains("oai-mirror pages w"), "{}", stderr(&missing));
    let unknown = run(s.cmd(&["pages", "ww"])).await;
    assert!(!unknown.status.success() && stderr(&unknown).contains("did you mean `w`?"), "{}", stderr(&unknown));

    // Nothing changed: one request, nothing written.
    let before = f.requests();
    let idle = s.mirror().await;
    assert_eq!((f.requests() - before, idle["wrote"].as_bool()), (1, Some(false)), "{idle}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chains_swaps_and_move_then_recreate() {
    let s = setup(3, "").await;
    let f = &s.fake;
    let a = f.create("A", "a");
    let b = f.create("B", "b");
    let c = f.create("C", "c");
    s.sync_and_check().await;

    // A chain: B → D, then A → B.
    f.move_page(b, "D", false);
    f.move_page(a, "B", false);
    s.sync_and_check().await;

    // A swap through a temporary title: B(a) ↔ D(b).
    f.move_page(a, "Tmp", false);
    f.move_page(b, "B", false);
    f.move_page(a, "D", false);
    let swapped = s.sync_and_check().await;
    assert_eq!(swapped["moved"], 2, "{swapped}");

    // Move, then a new page under the old title.
    f.move_page(c, "C2", false);
    let new_c = f.create("C", "a new C");
    s.sync_and_check().await;
    assert_ne!(new_c, c);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_is_sent_when_configured_and_its_absence_is_a_clear_error() {
    let s = setup(5, "oai_user = \"harvester\"\noai_password_env = \"OAI_PW\"\n").await;
    s.fake.require_auth("harvester", "s3cret");
    s.fake.create("Alpha", "a");
    let out = run({
        let mut c = s.cmd(&["mirror", "w"]);
        c.env("OAI_PW", "wrong");
        c
    })
    .await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("HTTP 401") && stderr(&out).contains("restricted-access"), "{}", stderr(&out));
    let out = run({
        let mut c = s.cmd(&["mirror", "w"]);
        c.env("OAI_PW", "s3cret");
        c
    })
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("s3cret"));
}

/// Kills `mirror` at random moments while a large batch is being applied,
/// then runs it again: the mirror always ends equal to the wiki.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_while_a_batch_is_applied_loses_nothing() {
    let seed: u64 = std::env::var("OAI_MIRROR_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(7);
    println!("crash trials seed: {seed}");
    let mut rng = fastrand::Rng::with_seed(seed);
    for trial in 0..8 {
        let s = setup(400, "").await;
        for i in 0..800 {
            s.fake.create(&format!("Page {i}"), &"text of a page with some length ".repeat(20));
        }
        // The second page of records never comes: the first is applied, then killed.
        s.fake.hang_on(2);
        let mut child = s.cmd(&["mirror", "w"]).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while s.fake.requests() < 1 {
            assert!(Instant::now() < deadline);
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        tokio::time::sleep(Duration::from_millis(rng.u64(0..60))).await;
        child.kill().unwrap();
        child.wait().unwrap();
        s.fake.clear_hangs();
        let partial = pages_after_crash(&s.home.path().join("m.sqlite"));
        println!("trial {trial}: {partial} pages stored when killed");
        assert!(partial == 0 || partial == 400, "trial {trial}: {partial} pages: a batch is applied whole or not at all");
        s.sync_and_check().await;
    }
}

fn pages_after_crash(db: &Path) -> usize {
    checkpoints::Store::open(db).map(|s| s.wiki_pages("w").unwrap().len()).unwrap_or(0)
}
