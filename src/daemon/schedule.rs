//! Cron schedules. Pure: "when is the next run after this instant".
//!
//! A schedule is a standard 5-field cron expression (or 6 fields, seconds
//! first) in a time zone (UTC unless the job says otherwise). The next run
//! is found in local time each time it is asked, so it stays right across
//! daylight-saving changes: no offset is fixed when the job is created.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds};

/// Why a schedule was refused; each names the config key at fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("unknown time zone {0:?} (use an IANA name such as \"Europe/Berlin\")")]
    UnknownTimeZone(String),
    #[error("{expr:?} has {fields} fields; a schedule has 5 (minute hour day month weekday), or 6 with seconds first")]
    FieldCount { expr: String, fields: usize },
    #[error("{expr:?} is not a cron expression: {reason}")]
    NotCron { expr: String, reason: String },
}

impl ScheduleError {
    /// The config key the error is about: `timezone` or `schedule`.
    pub fn key(&self) -> &'static str {
        match self {
            ScheduleError::UnknownTimeZone(_) => "timezone",
            ScheduleError::FieldCount { .. } | ScheduleError::NotCron { .. } => "schedule",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Schedule {
    cron: Cron,
    tz: Tz,
    text: String,
}

impl Schedule {
    /// Parses `expr` in zone `tz` (an IANA name such as "Europe/Berlin").
    pub fn parse(expr: &str, tz: Option<&str>) -> Result<Schedule, ScheduleError> {
        let tz = match tz {
            None => Tz::UTC,
            Some(name) => Tz::from_str(name).map_err(|_| ScheduleError::UnknownTimeZone(name.to_string()))?,
        };
        let fields = expr.split_whitespace().count();
        if !(fields == 5 || fields == 6) {
            return Err(ScheduleError::FieldCount { expr: expr.to_string(), fields });
        }
        let cron = CronParser::builder()
            .seconds(Seconds::Optional)
            .build()
            .parse(expr)
            .map_err(|e| ScheduleError::NotCron { expr: expr.to_string(), reason: e.to_string() })?;
        Ok(Schedule { cron, tz, text: expr.to_string() })
    }

    /// The first run strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = t.with_timezone(&self.tz);
        self.cron.find_next_occurrence(&local, false).ok().map(|n| n.with_timezone(&Utc))
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn timezone(&self) -> &str {
        self.tz.name()
    }
}

#[cfg(test)]
mod tests {
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
}
