//! The MediaWiki client against a strict fake api.php (`testbeds::FakeApi`)
//! for what a real wiki will not do on demand: maxlag with Retry-After, a
//! refused CSRF token, a lost session, HTTP 429.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use oai_mirror::mediawiki::{CreateMode, Edit, EditOutcome, PageRef, Secret, Wiki, WikiOptions};
use testbeds::api_wiki::{ApiFault as Fault, FakeApi, PASSWORD, USER};

use crate::support::RecordingClock;

async fn start(faults: Vec<Fault>) -> (FakeApi, String) {
    FakeApi::spawn(faults).await.unwrap()
}

fn client(url: &str, clock: Arc<RecordingClock>) -> Wiki {
    let mut o = WikiOptions::new("fake", url);
    o.login = Some((USER.into(), Secret::new(PASSWORD)));
    o.max_attempts = 4;
    Wiki::with_clock(o, clock).unwrap()
}

fn edit(text: &str) -> Edit<'_> {
    Edit { page: PageRef::Title("T"), text, summary: "s", base_revid: None, start_timestamp: None, mode: CreateMode::Either, minor: false, tags: &[] }
}

fn clock() -> Arc<RecordingClock> {
    RecordingClock::at(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000))
}

async fn saved(w: &Wiki, text: &str) -> String {
    match w.edit(&edit(text)).await.unwrap() {
        EditOutcome::Saved { text, .. } => text,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn maxlag_and_429_wait_for_retry_after() {
    let (fake, url) = start(vec![Fault::Maxlag(5), Fault::TooMany(3)]).await;
    let c = clock();
    let w = client(&url, c.clone());
    assert_eq!(saved(&w, "a & b").await, "a & b");
    assert_eq!(c.sleeps(), [Duration::from_secs(5), Duration::from_secs(3)]);
    // login token (twice: maxlag, 429), login, csrf, edit, read back.
    assert_eq!(fake.state().log.len(), 7, "{:?}", fake.state().log);
}

#[tokio::test]
async fn a_refused_token_is_fetched_again_once() {
    let (fake, url) = start(vec![]).await;
    let w = client(&url, clock());
    saved(&w, "one").await;
    fake.state().faults.push_back(Fault::BadToken);
    let before = fake.state().log.len();
    saved(&w, "two").await;
    let log = fake.state().log[before..].to_vec();
    assert_eq!(log, ["POST edit ", "GET query tokens", "POST edit ", "GET query revisions"], "{log:?}");
}

#[tokio::test]
async fn a_lost_session_logs_in_again_once() {
    let (fake, url) = start(vec![]).await;
    let w = client(&url, clock());
    saved(&w, "one").await;
    fake.state().faults.push_back(Fault::ForgetSessions);
    let before = fake.state().log.len();
    saved(&w, "two").await;
    let log = fake.state().log[before..].to_vec();
    assert_eq!(log, ["POST edit ", "GET query tokens", "POST login ", "GET query tokens", "POST edit ", "GET query revisions"], "{log:?}");
}

#[tokio::test]
async fn retries_are_bounded() {
    let (_, url) = start(vec![Fault::TooMany(1), Fault::TooMany(1), Fault::TooMany(1), Fault::TooMany(1)]).await;
    let c = clock();
    let e = client(&url, c.clone()).login().await.unwrap_err();
    assert!(e.to_string().contains("still refused after 4 attempt(s): HTTP 429"), "{e}");
    assert_eq!(c.sleeps().len(), 3);
}

/// The daemon runs job after job with one `Settings`: each wiki's client,
/// and so its login, lives from run to run instead of logging in each time.
#[tokio::test]
async fn a_wikis_login_lives_from_run_to_run() {
    let (fake, url) = start(vec![]).await;
    let home = crate::support::tempdir();
    let secret = home.path().join("secret");
    std::fs::write(&secret, PASSWORD).unwrap();
    let config = home.path().join("config.toml");
    std::fs::write(&config, format!("[wiki.f]\napi = \"{url}\"\nuser = \"{USER}\"\npassword_file = \"{}\"\n", secret.display())).unwrap();
    let settings = oai_mirror::settings::Settings::load_with(Some(&config), std::iter::empty()).unwrap();
    let conns = oai_mirror::connections::Connections::new(Arc::new(settings));
    let first_run = conns.wiki("f").unwrap();
    saved(&first_run, "one").await;
    // A later run, as the daemon starts it: the process's one connections.
    let later_run = conns.wiki("f").unwrap();
    assert!(Arc::ptr_eq(&first_run, &later_run));
    saved(&later_run, "two").await;
    let logins = fake.state().log.iter().filter(|l| l.starts_with("POST login")).count();
    assert_eq!(logins, 1, "{:?}", fake.state().log);
}

/// A clock whose every wait holds until the test lets it go, and says
/// when one began: the test looks at the client in the middle of its
/// retries, deterministically.
struct GateClock {
    waiting: tokio::sync::Notify,
    go: Arc<tokio::sync::Notify>,
}

impl oai::Clock for GateClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
    fn sleep(&self, _: Duration) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        self.waiting.notify_one();
        let go = self.go.clone();
        Box::pin(async move { go.notified().await })
    }
}

/// A wiki that answers 503 is down from the first unanswered request, while
/// the client still retries (not only once the retries run out), and up
/// again at its next answer.
#[tokio::test]
async fn a_wiki_is_down_from_its_first_unanswered_request() {
    let (_fake, url) = start(vec![Fault::Unavailable, Fault::Unavailable]).await;
    let gate = Arc::new(GateClock { waiting: tokio::sync::Notify::new(), go: Arc::new(tokio::sync::Notify::new()) });
    let mut o = WikiOptions::new("fake", &url);
    o.max_attempts = 4;
    let w = Arc::new(Wiki::with_clock(o, gate.clone()).unwrap());
    let asking = tokio::spawn({
        let w = w.clone();
        async move { w.revision_texts(&[1]).await.map(|_| ()) }
    });
    gate.waiting.notified().await;
    let h = w.health();
    assert_eq!(h.reachable, Some(false), "retrying after a 503, yet said to be up: {h:?}");
    assert!(h.down_since.is_some() && h.last_error.as_deref().is_some_and(|e| e.contains("HTTP 503")), "{h:?}");
    let since = h.down_since;
    gate.go.notify_one();
    gate.waiting.notified().await;
    assert_eq!(w.health().down_since, since, "down since the first failure, not the last");
    gate.go.notify_one();
    asking.await.unwrap().unwrap();
    let h = w.health();
    assert_eq!((h.reachable, h.down_since), (Some(true), None), "{h:?}");
}
