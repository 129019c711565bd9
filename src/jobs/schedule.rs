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

/// Each field of a 5-field schedule with the values it allows (a 6-field
/// one has seconds, 0-59, first).
const FIELDS: [(&str, u32, u32); 5] = [("minute", 0, 59), ("hour", 0, 23), ("day of the month", 1, 31), ("month", 1, 12), ("day of the week", 0, 7)];

/// The first number of `expr` outside its field's range, said for a
/// person: `hour 25 is out of range: the hour field allows 0-23`. Names (`MON`,
/// `JAN`), `*`, `?`, `L` and steps are left to the parser.
fn out_of_range(expr: &str) -> Option<String> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    let named: Vec<(&str, u32, u32)> = if fields.len() == 6 { [("second", 0, 59)].into_iter().chain(FIELDS).collect() } else { FIELDS.to_vec() };
    for (field, (name, low, high)) in fields.iter().zip(named) {
        for part in field.split(',') {
            // A step (`*/5`, `10-50/5`) counts intervals, not values.
            let values = part.split('/').next().unwrap_or_default();
            for value in values.split('-') {
                if let Ok(n) = value.parse::<u32>()
                    && !(low..=high).contains(&n)
                {
                    return Some(format!("{name} {n} is out of range: the {name} field allows {low}-{high}"));
                }
            }
        }
    }
    None
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
        if let Some(reason) = out_of_range(expr) {
            return Err(ScheduleError::NotCron { expr: expr.to_string(), reason });
        }
        let cron = CronParser::builder().seconds(Seconds::Optional).build().parse(expr).map_err(|e| ScheduleError::NotCron {
            expr: expr.to_string(),
            reason: format!("{e} (the fields are minute 0-59, hour 0-23, day 1-31, month 1-12, weekday 0-7, with seconds 0-59 first if there are six)"),
        })?;
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
mod tests;
