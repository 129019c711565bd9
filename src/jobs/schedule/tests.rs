use super::*;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[test]
fn five_and_six_fields() {
    let s = Schedule::parse("*/5 * * * *", None).unwrap();
    assert_eq!(s.next_after(t("2026-11-22T10:02:30Z")), Some(t("2026-11-22T10:05:00Z")));
    assert_eq!(s.next_after(t("2026-11-22T10:05:00Z")), Some(t("2026-11-22T10:10:00Z")), "strictly after");
    let s = Schedule::parse("30 */5 * * * *", None).unwrap();
    assert_eq!(s.next_after(t("2026-11-22T10:02:30Z")), Some(t("2026-11-22T10:05:30Z")));
}

#[test]
fn bad_expressions_and_zones_say_what_is_wrong() {
    let fields = Schedule::parse("* * *", None).unwrap_err();
    assert!(fields.to_string().contains("3 fields") && fields.key() == "schedule", "{fields}");
    let cron = Schedule::parse("61 * * * *", None).unwrap_err();
    assert!(matches!(cron, ScheduleError::NotCron { .. }) && cron.to_string().contains("not a cron expression"), "{cron}");
    let hour = Schedule::parse("0 25 * * *", None).unwrap_err();
    assert!(hour.to_string().contains("hour 25 is out of range: the hour field allows 0-23"), "{hour}");
    let seconds = Schedule::parse("75 0 3 * * *", None).unwrap_err();
    assert!(seconds.to_string().contains("second 75 is out of range: the second field allows 0-59"), "{seconds}");
    assert!(Schedule::parse("0 3 1-31 1-12 0-7", None).is_ok(), "every bound is allowed");
    let zone = Schedule::parse("0 3 * * *", Some("Mars/Olympus")).unwrap_err();
    assert_eq!((zone.key(), zone), ("timezone", ScheduleError::UnknownTimeZone("Mars/Olympus".into())));
}

#[test]
fn a_daily_local_time_stays_local_across_daylight_saving_changes() {
    let s = Schedule::parse("0 3 * * *", Some("Europe/Berlin")).unwrap();
    // Before the change on 25 October Berlin is UTC+2, after it UTC+1.
    assert_eq!(s.next_after(t("2026-10-23T12:00:00Z")), Some(t("2026-10-24T01:00:00Z")));
    assert_eq!(s.next_after(t("2026-10-25T12:00:00Z")), Some(t("2026-10-26T02:00:00Z")));
    // And in March the other way.
    assert_eq!(s.next_after(t("2026-03-28T12:00:00Z")), Some(t("2026-03-29T01:00:00Z")));
}
