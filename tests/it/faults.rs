//! Harvests from the test bed with injected faults: each must end with
//! every record stored once, or with a clear error and nothing lost.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use checkpoints::{SourceKey, Store};
use oai_mirror::harvest::{self, HarvestRequest, Quiet, Summary};
use testbeds::repository::{Fault, RepoSpec, RetryAfter, Testbed};

use crate::support::{RecordingClock, options};

const N: usize = 450; // 5 pages of 100

struct Setup {
    bed: Testbed,
    url: String,
    store: Arc<Mutex<Store>>,
    clock: Arc<RecordingClock>,
    now: SystemTime,
}

async fn setup(spec: RepoSpec) -> Setup {
    let bed = Testbed::new(spec);
    let url = bed.spawn().await.unwrap();
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    Setup { bed, url, store: Arc::new(Mutex::new(Store::open_in_memory().unwrap())), clock: RecordingClock::at(now), now }
}

impl Setup {
    async fn harvest_with(&self, opts: oai::ClientOptions) -> anyhow::Result<Summary> {
        let client = oai::Client::new(&self.url, opts).unwrap();
        let request = HarvestRequest {
            source: SourceKey { base_url: self.url.clone(), metadata_prefix: "oai_dc".into(), set_spec: None },
            from: None,
            until: None,
            full: false,
            window: None,
            parallel: None,
            search: true,
        };
        harvest::harvest(self.store.clone(), &client, &request, Arc::new(Quiet)).await
    }

    async fn harvest(&self) -> anyhow::Result<Summary> {
        self.harvest_with(options(self.clock.clone())).await
    }

    /// A harvest with a range and windows of the caller's choosing.
    async fn harvest_range(&self, from: Option<&str>, until: Option<&str>, window: Option<harvest::Window>) -> anyhow::Result<Summary> {
        let client = oai::Client::new(&self.url, options(self.clock.clone())).unwrap();
        let request = HarvestRequest {
            source: SourceKey { base_url: self.url.clone(), metadata_prefix: "oai_dc".into(), set_spec: None },
            from: from.map(str::to_string),
            until: until.map(str::to_string),
            full: false,
            window,
            parallel: None,
            search: true,
        };
        harvest::harvest(self.store.clone(), &client, &request, Arc::new(Quiet)).await
    }

    /// (records, deleted) in the store; the unique key makes duplicates impossible,
    /// so the count equal to the repository's proves nothing is missing.
    fn counts(&self) -> (u64, u64) {
        let s = self.store.lock().unwrap().status().unwrap();
        (s[0].records, s[0].deleted)
    }
}

fn spec() -> RepoSpec {
    RepoSpec { records: N, ..RepoSpec::default() }
}

// Request 1 is Identify, request k + 1 is page k.

#[tokio::test]
async fn unavailable_with_retry_after_in_seconds_and_as_a_date_is_waited_out() {
    let s = setup(spec()).await;
    s.bed.fault(2, Fault::Unavailable(RetryAfter::Seconds(7)));
    s.bed.fault(4, Fault::Unavailable(RetryAfter::Date(s.now + Duration::from_secs(90))));
    s.bed.fault(6, Fault::TooMany(RetryAfter::Seconds(3)));
    let sum = s.harvest().await.unwrap();
    assert_eq!(s.clock.sleeps(), [Duration::from_secs(7), Duration::from_secs(90), Duration::from_secs(3)]);
    assert_eq!(s.counts(), (N as u64, 9));
    assert_eq!((sum.pages, sum.requests), (5, 1 + 5 + 3));
}

#[tokio::test]
async fn a_huge_retry_after_is_capped() {
    let s = setup(spec()).await;
    s.bed.fault(3, Fault::Unavailable(RetryAfter::Seconds(86_400)));
    s.harvest().await.unwrap();
    assert_eq!(s.clock.sleeps(), [Duration::from_secs(600)]);
}

#[tokio::test]
async fn resets_truncated_bodies_and_server_errors_are_retried_with_doubling_backoff() {
    let s = setup(spec()).await;
    s.bed.fault(2, Fault::ResetMidBody);
    s.bed.fault(3, Fault::TruncatedXml);
    s.bed.fault(4, Fault::ServerError);
    let sum = s.harvest().await.unwrap();
    let sleeps = s.clock.sleeps();
    assert_eq!(sleeps.len(), 3, "{sleeps:?}");
    // 1 s, then 2 s, then 4 s, each ±25%.
    for (wait, base) in sleeps.iter().zip([1.0, 2.0, 4.0]) {
        let w = wait.as_secs_f64();
        assert!(w >= base * 0.75 && w <= base * 1.25, "{sleeps:?}");
    }
    assert_eq!(s.counts(), (N as u64, 9));
    assert_eq!(sum.requests, 1 + 5 + 3);
}

#[tokio::test]
async fn retries_are_bounded_and_what_was_stored_stays() {
    let s = setup(spec()).await;
    for n in 4..20 {
        s.bed.fault(n, Fault::Unavailable(RetryAfter::Seconds(1)));
    }
    let e = s.harvest().await.unwrap_err();
    let text = format!("{e:#}");
    assert!(text.contains("gave up after 4 attempt(s)"), "{text}");
    assert!(text.contains("HTTP 503") && text.contains(&s.url), "{text}");
    assert_eq!(s.clock.sleeps().len(), 3);
    // Pages 1 and 2 were committed; the run waits to be resumed at page 3.
    assert_eq!(s.counts().0, 200);
    let store = s.store.lock().unwrap();
    let run = store.open_run(1).unwrap().expect("the run stays open");
    assert!(run.position.token.as_deref().unwrap().starts_with("o=200&"), "{:?}", run.position);
    assert!(run.last_error.unwrap().contains("HTTP 503"));
}

#[tokio::test]
async fn an_expired_token_restarts_the_window_and_upserts_absorb_the_overlap() {
    let s = setup(spec()).await;
    s.bed.fault(4, Fault::ExpiredToken);
    let sum = s.harvest().await.unwrap();
    assert_eq!(sum.restarts, 1);
    assert_eq!(s.counts(), (N as u64, 9));
    let log = s.bed.log();
    assert!(log[4].starts_with("verb=ListRecords&metadataPrefix=oai_dc"), "restarted from the window's start: {log:?}");
}

#[tokio::test]
async fn a_repeated_token_is_reported_not_looped_on() {
    let s = setup(spec()).await;
    s.bed.fault(4, Fault::RepeatToken);
    let e = s.harvest().await.unwrap_err();
    assert!(format!("{e:#}").contains("repeated a resumptionToken"), "{e:#}");
    assert!(s.bed.requests() <= 5, "it stopped at once: {}", s.bed.requests());
}

#[tokio::test]
async fn gzip_with_and_without_a_header_is_decoded() {
    let s = setup(RepoSpec { gzip: true, ..spec() }).await;
    s.bed.fault(3, Fault::GzipWithoutHeader);
    s.harvest().await.unwrap();
    assert_eq!(s.counts(), (N as u64, 9));
}

#[tokio::test]
async fn invalid_characters_are_repaired_and_counted_or_refused_when_strict() {
    let s = setup(spec()).await;
    s.bed.fault(3, Fault::InvalidCharacters);
    let sum = s.harvest().await.unwrap();
    assert_eq!(sum.repairs, 2);
    let status = s.store.lock().unwrap().status().unwrap();
    assert_eq!(status[0].repairs, 2, "the count reaches the store");
    let rec = s.store.lock().unwrap().record("oai:testbed.example:00000100").unwrap();
    let meta = String::from_utf8(rec[0].metadata.clone().unwrap()).unwrap();
    assert!(meta.contains("<dc:title>\u{FFFD}caf\u{FFFD}Record 00000100"), "{meta}");

    let s = setup(spec()).await;
    s.bed.fault(3, Fault::InvalidCharacters);
    let opts = oai::ClientOptions { strict: true, ..options(s.clock.clone()) };
    let e = s.harvest_with(opts).await.unwrap_err();
    assert!(format!("{e:#}").contains("2 invalid character(s)"), "{e:#}");
    assert_eq!(s.counts().0, 100, "the page before stays stored");
}

#[tokio::test]
async fn an_html_page_with_200_is_refused_with_the_url_and_the_body() {
    let s = setup(spec()).await;
    s.bed.fault(3, Fault::HtmlPage);
    let e = format!("{:#}", s.harvest().await.unwrap_err());
    assert!(e.contains("not OAI-PMH") && e.contains("Repository maintenance") && e.contains(&s.url), "{e}");
    assert!(s.clock.sleeps().is_empty(), "an HTML page is not a transient fault");
}

#[tokio::test]
async fn windows_and_sets_select_what_the_repository_selects() {
    // One record per hour from 2001-01-01: 450 records span about 19 days.
    let s = setup(spec()).await;
    let client = oai::Client::new(&s.url, options(s.clock.clone())).unwrap();
    let request = HarvestRequest {
        source: SourceKey { base_url: s.url.clone(), metadata_prefix: "oai_dc".into(), set_spec: Some("set1".into()) },
        from: Some("2001-01-02".into()),
        until: Some("2001-01-15T23:59:59Z".into()),
        full: false,
        window: Some(harvest::Window::Week),
        parallel: None,
        search: true,
    };
    let sum = harvest::harvest(s.store.clone(), &client, &request, Arc::new(Quiet)).await.unwrap();
    // Hours 24..=359 in set1 (i % 4 == 1): 84 records, in 2 weekly windows.
    assert_eq!(sum.records, 84);
    let windows: Vec<String> = s.bed.log().into_iter().filter(|q| q.contains("from=")).collect();
    assert_eq!(windows.len(), 2, "{windows:?}");
    assert!(windows[0].contains("from=2001-01-02T00%3A00%3A00Z&until=2001-01-08T23%3A59%3A59Z"), "{windows:?}");
}

/// A repository whose responseDate runs a century ahead (its datestamps do
/// not): the next run must not start from that date, or every change
/// until then is silently skipped.
#[tokio::test]
async fn a_response_date_in_the_future_does_not_become_the_next_from() {
    let s = setup(spec()).await;
    s.bed.misreport_response_date(chrono::TimeDelta::days(36_500));
    s.harvest().await.unwrap();
    let next = s.store.lock().unwrap().sources().unwrap()[0].next_from.clone().unwrap();
    assert!(oai::parse_datestamp(&next).unwrap() < chrono::Utc::now(), "next from {next}");
    s.bed.advance(chrono::TimeDelta::hours(1));
    s.bed.touch(&[5]);
    let again = s.harvest().await.unwrap();
    assert!(again.records >= 1, "the change is harvested: {again:?}");
    let stored = s.store.lock().unwrap().record("oai:testbed.example:00000005").unwrap().remove(0);
    assert_eq!(stored.datestamp, s.bed.now().format("%Y-%m-%dT%H:%M:%SZ").to_string());
}

/// An earliestDatestamp in the future is not a place to start windows:
/// the run would ask only for that future and store nothing.
#[tokio::test]
async fn an_earliest_datestamp_in_the_future_does_not_empty_a_windowed_harvest() {
    let s = setup(spec()).await;
    s.bed.misreport_earliest(chrono::DateTime::parse_from_rfc3339("2099-01-01T00:00:00Z").unwrap().into());
    let sum = s.harvest_range(None, None, Some(harvest::Window::Month)).await.unwrap();
    assert_eq!(s.counts(), (N as u64, 9), "{sum:?}");
    assert!(!s.bed.log().iter().any(|q| q.contains("from=2099")), "{:?}", s.bed.log());
}

/// Identify without a granularity: the protocol's floor is days, which a
/// day-granularity repository accepts (seconds it refuses as badArgument).
#[tokio::test]
async fn without_a_stated_granularity_dates_are_sent_as_days() {
    let s = setup(RepoSpec { granularity: oai::Granularity::Day, ..spec() }).await;
    s.bed.omit_granularity();
    s.harvest().await.unwrap();
    s.bed.advance(chrono::TimeDelta::days(2));
    s.bed.touch(&[7]);
    let again = s.harvest().await.unwrap();
    assert!(again.records >= 1, "{again:?}");
    assert!(s.bed.log().iter().any(|q| q.contains("from=") && !q.contains("T00")), "{:?}", s.bed.log());
}

/// `--until 2001-01-02` is the whole of that day, at seconds granularity too.
#[tokio::test]
async fn a_day_as_until_takes_the_whole_day() {
    let s = setup(spec()).await;
    // One record an hour from 2001-01-01T00:00:00Z: 48 on the first two days.
    let sum = s.harvest_range(None, Some("2001-01-02"), None).await.unwrap();
    assert_eq!(sum.records, 48, "{:?}", s.bed.log());
    assert!(s.bed.log().iter().any(|q| q.contains("until=2001-01-02T23%3A59%3A59Z")), "{:?}", s.bed.log());
}

/// One record whose header lacks its identifier, another without a
/// datestamp: both are skipped and counted, the rest of the page is stored,
/// and a rerun does not fail the same way.
#[tokio::test]
async fn a_bad_header_costs_its_record_not_its_page() {
    let s = setup(spec()).await;
    s.bed.fault(3, Fault::BadHeaders);
    let sum = s.harvest().await.unwrap();
    assert_eq!((sum.records, sum.skipped), (N as u64 - 2, 2), "{sum:?}");
    let status = s.store.lock().unwrap().status().unwrap().remove(0);
    assert_eq!((status.records, status.skipped), (N as u64 - 2, 2));
}

/// A page in ISO-8859-1 (as its XML declaration says, while the HTTP header
/// says UTF-8) is decoded as such: its accented letters arrive, not U+FFFD.
#[tokio::test]
async fn a_page_in_a_declared_encoding_is_decoded_as_declared_and_counted() {
    let s = setup(spec()).await;
    s.bed.fault(2, Fault::Latin1);
    let sum = s.harvest().await.unwrap();
    assert_eq!((sum.records, sum.repairs), (N as u64, 0), "{sum:?}");
    let first = s.store.lock().unwrap().record("oai:testbed.example:00000000").unwrap().remove(0);
    let metadata = String::from_utf8(first.metadata.unwrap()).unwrap();
    assert!(metadata.contains("<dc:title>Café "), "{metadata}");
    assert_eq!(s.store.lock().unwrap().status().unwrap()[0].transcoded, 1);
}

/// A token too long to send is not retried, and does not stay in flight:
/// the window starts again (bounded), and the run then fails with a clear
/// error; the next run starts from the window's first page, not the token.
#[tokio::test]
async fn a_token_too_long_to_send_restarts_the_window_instead_of_sticking() {
    let s = setup(spec()).await;
    // Page one, and each time the window starts again, hands out a megabyte of token.
    for n in 2..=5 {
        s.bed.fault(n, Fault::HugeToken);
    }
    let e = format!("{:#}", s.harvest().await.unwrap_err());
    assert!(e.contains("keeps failing on its own resumptionTokens") && e.contains("more than a URL can carry"), "{e}");
    assert!(e.len() < 2000, "the message does not carry the token: {} bytes", e.len());
    assert!(s.clock.sleeps().is_empty(), "not retried: {:?}", s.clock.sleeps());
    let run = s.store.lock().unwrap().status().unwrap().remove(0).last_run.unwrap();
    assert_eq!(run.position.token, None, "no token left in flight");
    assert_eq!(s.bed.requests(), 5, "Identify and page one four times: the token itself was never sent");
    let sum = s.harvest().await.unwrap();
    assert_eq!((sum.resumed, s.counts()), (true, (N as u64, 9)));
}

/// A repository that forgot its tokens (restarted) answers a resumed token
/// with HTTP 500 until the retries run out: the window starts again from
/// its first page, and the harvest completes.
#[tokio::test]
async fn a_token_the_server_keeps_failing_on_restarts_the_window() {
    let s = setup(spec()).await;
    // Request 1 is Identify, 2 page one; 3 to 6 are the four attempts at page two.
    for n in 3..=6 {
        s.bed.fault(n, Fault::ServerError);
    }
    let sum = s.harvest().await.unwrap();
    assert_eq!((sum.restarts, s.counts()), (1, (N as u64, 9)), "{sum:?}");
}
