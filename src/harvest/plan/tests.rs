use super::*;

fn t(s: &str) -> DateTime<Utc> {
    oai::parse_datestamp(s).unwrap()
}

fn windows(window: Window, granularity: Granularity, until: Option<&str>) -> Windows {
    Windows { window: Some(window), granularity, range_until: until.map(t) }
}

/// All windows of a run, first to last.
fn all(w: &Windows, start: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let mut pos = w.first(Some(t(start)), Some(start.to_string()));
    loop {
        out.push((pos.window_from.clone().unwrap(), pos.window_until.clone()));
        match w.after(&pos) {
            Some(next) => pos = next,
            None => return out,
        }
        assert!(out.len() < 1000, "windows do not end");
    }
}

#[test]
fn weekly_windows_at_day_granularity_meet_without_overlap_and_end_at_until() {
    let w = windows(Window::Week, Granularity::Day, Some("2026-01-20"));
    assert_eq!(
        all(&w, "2026-01-01"),
        [("2026-01-01".into(), Some("2026-01-07".into())), ("2026-01-08".into(), Some("2026-01-14".into())), ("2026-01-15".into(), Some("2026-01-20".into())),]
    );
}

#[test]
fn monthly_windows_at_seconds_granularity_stop_one_second_short() {
    let w = windows(Window::Month, Granularity::Seconds, Some("2026-03-15T00:00:00Z"));
    assert_eq!(
        all(&w, "2026-01-31T12:00:00Z"),
        [("2026-01-31T12:00:00Z".into(), Some("2026-02-28T11:59:59Z".into())), ("2026-02-28T12:00:00Z".into(), Some("2026-03-15T00:00:00Z".into())),]
    );
}

#[test]
fn without_until_the_last_window_is_open() {
    let w = windows(Window::Month, Granularity::Day, None);
    let start = (Utc::now() - TimeDelta::days(40)).format("%Y-%m-%d").to_string();
    let got = all(&w, &start);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[1].1, None, "the last window must stay open so nothing new is missed");
}

#[test]
fn without_a_window_the_range_is_one_window() {
    let w = Windows { window: None, granularity: Granularity::Day, range_until: Some(t("2026-02-01")) };
    let first = w.first(Some(t("2026-01-01")), Some("2026-01-01".into()));
    assert_eq!((first.window_from.as_deref(), first.window_until.as_deref()), (Some("2026-01-01"), Some("2026-02-01")));
    assert!(w.after(&first).is_none());
}

#[test]
fn a_day_given_as_until_means_the_whole_day_at_any_granularity() {
    let table = [
        ("2024-01-31", Bound::Until, Granularity::Seconds, "2024-01-31T23:59:59Z"),
        ("2024-01-31", Bound::Until, Granularity::Day, "2024-01-31"),
        ("2024-01-31", Bound::From, Granularity::Seconds, "2024-01-31T00:00:00Z"),
        ("2024-01-31T12:00:00Z", Bound::Until, Granularity::Seconds, "2024-01-31T12:00:00Z"),
        ("2024-01-31T12:00:00Z", Bound::Until, Granularity::Day, "2024-01-31"),
    ];
    for (date, bound, granularity, sent) in table {
        assert_eq!(normalise(date, granularity, bound).unwrap(), sent, "{date} as {bound:?} at {granularity:?}");
    }
}

#[test]
fn a_server_date_in_the_future_is_not_the_next_checkpoint() {
    let future = (Utc::now() + TimeDelta::days(365)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let past = "2020-05-01T10:00:00Z".to_string();
    let seen = Some(t("2020-04-30T09:00:00Z"));
    let from = Some("2020-01-01T00:00:00Z".to_string());
    // An explicit until wins; a believable server date is taken as it is.
    assert_eq!(next_from(Some("2021-01-01".into()), Some(future.clone()), seen, from.clone()).as_deref(), Some("2021-01-01"));
    assert_eq!(next_from(None, Some(past.clone()), seen, from.clone()), Some(past));
    // A server clock in the future: the newest datestamp stored, else the old checkpoint.
    assert_eq!(next_from(None, Some(future.clone()), seen, from.clone()).as_deref(), Some("2020-04-30T09:00:00Z"));
    assert_eq!(next_from(None, Some(future.clone()), None, from.clone()), from);
    assert_eq!(next_from(None, Some(future.clone()), Some(Utc::now() + TimeDelta::days(2)), None), None, "a future datestamp is no better");
    // A few minutes ahead is within the tolerance.
    let close = (Utc::now() + TimeDelta::minutes(2)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    assert_eq!(next_from(None, Some(close.clone()), seen, from), Some(close));
}
