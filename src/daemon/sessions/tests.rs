use super::*;

fn minutes(n: u64) -> Duration {
    Duration::from_secs(60 * n)
}

#[test]
fn a_session_ends_after_two_idle_hours_but_lives_while_used() {
    let t0 = Instant::now();
    let mut s = Sessions::default();
    s.begin("a".into(), "csrf-a".into(), t0);
    assert_eq!(s.csrf("a", t0 + minutes(119)), Some("csrf-a".into()), "used within the idle time");
    assert_eq!(s.csrf("a", t0 + minutes(119 + 119)), Some("csrf-a".into()), "each use keeps it alive");
    assert_eq!(s.csrf("a", t0 + minutes(119 + 119 + 120)), None, "two hours without a request end it");
    assert!(s.is_empty(), "an ended session is forgotten");
    assert_eq!(s.csrf("nobody", t0), None);
}

#[test]
fn a_session_ends_a_day_after_it_began_however_busy() {
    let t0 = Instant::now();
    let mut s = Sessions::default();
    s.begin("a".into(), "csrf-a".into(), t0);
    let mut now = t0;
    while now < t0 + LIFETIME - minutes(60) {
        now += minutes(60);
        assert!(s.csrf("a", now).is_some());
    }
    assert_eq!(s.csrf("a", t0 + LIFETIME), None);
}

#[test]
fn the_map_is_bounded_and_signing_in_ends_the_longest_idle_or_expired() {
    let t0 = Instant::now();
    let mut s = Sessions::default();
    for i in 0..MOST {
        s.begin(format!("s{i}"), format!("c{i}"), t0 + Duration::from_secs(i as u64));
    }
    assert!(s.csrf("s0", t0 + minutes(10)).is_some(), "s0 used again: s1 is now the longest idle");
    s.begin("new".into(), "c-new".into(), t0 + minutes(11));
    assert_eq!(s.len(), MOST);
    assert!(s.csrf("s1", t0 + minutes(11)).is_none() && s.csrf("s0", t0 + minutes(11)).is_some() && s.csrf("new", t0 + minutes(11)).is_some());
    // Hours later every idle one has expired: signing in sweeps them all.
    s.begin("late".into(), "c-late".into(), t0 + minutes(11) + IDLE);
    assert_eq!(s.len(), 1);
    s.end("c-late");
    assert!(s.is_empty());
}
