//! Hostile servers: bodies of gigabytes, decompression bombs, endless
//! continuations, redirect loops, redirects to another origin, bodies that
//! trickle. Memory stays bounded (the binary's peak RSS is measured), a
//! limit reached is a clear, permanent error, and credentials never leave
//! their origin.

use std::time::{Duration, Instant};

use oai_mirror::mediawiki::{MwError, Secret, Wiki, WikiOptions};
use testbeds::api_wiki::{ApiFault, FakeApi, PASSWORD, USER};
use testbeds::hostile::Hostile;

use crate::support::{RecordingClock, bin, measured, options, tempdir};

/// Peak resident memory the binary may reach on any hostile input, with
/// the default settings.
const RSS_TARGET_KB: i64 = 100 * 1024;

/// Runs `oai-mirror harvest URL` to its end; its exit status, stderr and
/// peak RSS in KiB (see [`measured`]).
fn harvest_measured(url: &str) -> (bool, String, i64) {
    let home = tempdir();
    let mut oai_mirror = bin(home.path());
    oai_mirror.arg("--db").arg(home.path().join("h.sqlite")).args(["harvest", url]);
    measured(&oai_mirror)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_bodies_and_decompression_bombs_are_refused_within_bounded_memory() {
    let (_hostile, base) = Hostile::spawn().await.unwrap();
    for what in ["huge", "gzip-zeros", "gzip-letters", "gzip-sniffed"] {
        let url = format!("{base}/{what}");
        let started = Instant::now();
        let (ok, stderr, rss_kb) = tokio::task::spawn_blocking(move || harvest_measured(&url)).await.unwrap();
        assert!(!ok, "{what}: refused");
        assert!(stderr.contains("larger than the body limit") && stderr.contains("max_body_mb"), "{what}: the error names the limit and the setting: {stderr}");
        assert!(!stderr.contains("retrying"), "{what}: a body over the limit is not retried: {stderr}");
        assert!(rss_kb <= RSS_TARGET_KB, "{what}: peak RSS {} MB", rss_kb / 1024);
        println!("{what}: refused in {:.1}s, peak RSS {:.1} MB", started.elapsed().as_secs_f64(), rss_kb as f64 / 1024.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_loop_is_a_permanent_error() {
    let (hostile, base) = Hostile::spawn().await.unwrap();
    let clock = RecordingClock::at(std::time::SystemTime::now());
    let client = oai::Client::new(&format!("{base}/loop"), options(clock.clone())).unwrap();
    let e = client.identify().await.unwrap_err();
    assert!(!e.is_retryable(), "{e:#}");
    assert!(clock.sleeps().is_empty(), "not retried: {:?}", clock.sleeps());
    assert!(hostile.log().len() <= 11, "one attempt, its redirects followed at most ten times: {}", hostile.log().len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_never_follow_a_redirect_to_another_origin() {
    let (first, base) = Hostile::spawn().await.unwrap();
    let (elsewhere, elsewhere_base) = Hostile::spawn().await.unwrap();
    first.redirect_away_to(&format!("{elsewhere_base}/catch"));
    // OAI-PMH with Basic auth.
    let clock = RecordingClock::at(std::time::SystemTime::now());
    let opts = oai::ClientOptions { basic_auth: Some(("user".into(), "secret".into())), ..options(clock) };
    let client = oai::Client::new(&format!("{base}/away"), opts).unwrap();
    assert!(client.identify().await.is_err());
    assert_eq!(first.log(), ["away with credentials"]);
    assert!(elsewhere.log().is_empty(), "nothing reached the other origin: {:?}", elsewhere.log());
    // A MediaWiki login whose POST is answered 307 to another origin.
    let (_api, api_url) = FakeApi::spawn(vec![ApiFault::RedirectLogin(format!("{elsewhere_base}/catch"))]).await.unwrap();
    let mut o = WikiOptions::new("fake", &api_url);
    o.login = Some((USER.into(), Secret::new(PASSWORD)));
    o.max_attempts = 1;
    let e = Wiki::new(o).unwrap().login().await.unwrap_err();
    assert!(matches!(e, MwError::Redirected { status: 307, .. }), "{e}");
    assert!(e.to_string().contains("not followed"), "{e}");
    assert!(elsewhere.log().is_empty(), "the password never left: {:?}", elsewhere.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickling_body_is_cut_off_by_the_request_deadline_and_the_total_time_is_told() {
    let (_hostile, base) = Hostile::spawn().await.unwrap();
    let mut opts = options(RecordingClock::at(std::time::SystemTime::now()));
    opts.timeout = Duration::from_secs(1);
    opts.retry.max_attempts = 8;
    opts.retry.initial_backoff = Duration::ZERO;
    opts.retry.deadline = Duration::from_secs(3);
    let client = oai::Client::new(&format!("{base}/trickle"), opts).unwrap();
    let started = Instant::now();
    let e = client.identify().await.unwrap_err();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(6), "the deadline holds: {took:?}");
    let text = format!("{e:#}");
    assert!(text.contains("gave up after") && (text.contains("over 2s") || text.contains("over 3s")), "the total time, not only the waits: {text}");
}

#[tokio::test]
async fn a_repeated_continuation_from_the_api_is_refused_not_followed() {
    let (api, url) = FakeApi::spawn(vec![ApiFault::RepeatContinue]).await.unwrap();
    let wiki = Wiki::new(WikiOptions::new("fake", &url)).unwrap();
    let e = wiki.all_page_ids(0).await.unwrap_err();
    assert!(e.to_string().contains("a second time"), "{e}");
    assert_eq!(api.state().log.len(), 2, "{:?}", api.state().log);
}

#[tokio::test]
async fn a_decompression_bomb_or_a_huge_answer_from_the_api_is_refused() {
    for fault in [ApiFault::GzipBomb(testbeds::hostile::BOMB), ApiFault::HugeBody(testbeds::hostile::BOMB)] {
        let (_api, url) = FakeApi::spawn(vec![fault.clone()]).await.unwrap();
        let e = Wiki::new(WikiOptions::new("fake", &url)).unwrap().siteinfo().await.unwrap_err();
        assert!(matches!(e, MwError::TooLarge { .. }) && e.to_string().contains("max_body_mb"), "{fault:?}: {e}");
    }
}

/// A wiki (or a proxy before it) that echoes the login request back: the
/// password is in the body it sends, and the error that quotes the body
/// shows it taken out, in `wiki check` and in a mirror's run alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_that_echoes_the_login_request_never_gets_the_password_printed() {
    let home = tempdir();
    std::fs::write(home.path().join("pw"), format!("{PASSWORD}\n")).unwrap();
    for args in [&["wiki", "check", "f"][..], &["mirror", "f", "--feed", "api"][..]] {
        let (_api, api_url) = FakeApi::spawn(vec![ApiFault::EchoLogin]).await.unwrap();
        let cfg = home.path().join("c.toml");
        std::fs::write(
            &cfg,
            format!(
                "db = \"{}\"\n[wiki.f]\napi = \"{api_url}\"\nuser = \"{USER}\"\npassword_file = \"{}\"\n",
                home.path().join("d.sqlite").display(),
                home.path().join("pw").display()
            ),
        )
        .unwrap();
        let mut c = bin(home.path());
        c.arg("--config").arg(&cfg).args(args);
        let out = crate::support::run(c).await;
        let (stdout, stderr) = (crate::support::stdout(&out), crate::support::stderr(&out));
        assert!(!out.status.success(), "{args:?}: {stdout}");
        assert!(stderr.contains("You sent") && stderr.contains("lgpassword=***"), "{args:?}: the body is quoted, the password taken out: {stderr}");
        assert!(!stderr.contains(PASSWORD) && !stdout.contains(PASSWORD), "{args:?} printed the password: {stderr}");
    }
}
