//! A harvest's plan, pure: the range from a user's dates or the source's
//! checkpoint, windows across it, and where the next run starts.

use anyhow::bail;
use checkpoints::Position;
use chrono::{DateTime, Months, TimeDelta, Utc};
use oai::Granularity;

/// How a run's range is cut into windows, each checkpointed on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Window {
    Day,
    Week,
    Month,
}

impl Window {
    pub fn as_str(self) -> &'static str {
        match self {
            Window::Day => "day",
            Window::Week => "week",
            Window::Month => "month",
        }
    }

    pub(super) fn advance(self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Window::Day => t.checked_add_signed(TimeDelta::days(1)),
            Window::Week => t.checked_add_signed(TimeDelta::days(7)),
            Window::Month => t.checked_add_months(Months::new(1)),
        }
    }
}

/// Which end of a range a user's date is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Bound {
    From,
    Until,
}

/// Rewrites a user's date at the repository's granularity. A day given as
/// `until` means the whole day (the protocol's `until` is inclusive): at
/// seconds granularity it is sent as the day's last second.
pub(super) fn normalise(date: &str, granularity: Granularity, bound: Bound) -> anyhow::Result<String> {
    let Some(t) = oai::parse_datestamp(date) else { bail!("not a date: use YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ") };
    let whole_day = bound == Bound::Until && date.trim().len() == "YYYY-MM-DD".len();
    Ok(granularity.format(if whole_day { t + TimeDelta::days(1) - TimeDelta::seconds(1) } else { t }))
}

/// How far ahead of the local clock a date from the server may be and
/// still be believed. A repository whose clock runs ahead, or that writes
/// local time as UTC, would otherwise make the next run ask only for what
/// changes after a moment that has not come yet, and miss everything
/// changed before it.
pub(super) const CLOCK_TOLERANCE: TimeDelta = TimeDelta::minutes(15);

/// Whether a date from the server is not beyond the tolerance of the local clock.
pub(super) fn believable(at: DateTime<Utc>) -> bool {
    at <= Utc::now() + CLOCK_TOLERANCE
}

/// The next run's `from`: the explicit `until` this run stopped at; else
/// the server's clock when this run started, if it is believable; else the
/// largest datestamp this run stored, if it is; else the checkpoint this
/// run started from (the next run then repeats this one, and the upserts
/// absorb the overlap).
pub(super) fn next_from(
    range_until: Option<String>,
    server_started: Option<String>,
    newest_seen: Option<DateTime<Utc>>,
    range_from: Option<String>,
) -> Option<String> {
    if range_until.is_some() {
        return range_until;
    }
    match server_started.as_deref().and_then(oai::parse_datestamp) {
        Some(at) if believable(at) => return server_started,
        Some(_) => {
            tracing::warn!(response_date = ?server_started, "the repository's responseDate is in the future; the next harvest starts from the newest datestamp stored instead")
        }
        None => {}
    }
    match newest_seen.filter(|at| believable(*at)) {
        Some(at) => Some(at.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        None => range_from,
    }
}

/// The window arithmetic of a run.
pub(super) struct Windows {
    pub(super) window: Option<Window>,
    pub(super) granularity: Granularity,
    pub(super) range_until: Option<DateTime<Utc>>,
}

impl Windows {
    /// The position of a run's first page.
    pub(super) fn first(&self, start: Option<DateTime<Utc>>, range_from: Option<String>) -> Position {
        match (self.window, start) {
            (Some(_), Some(start)) => self.window_at(start),
            _ => Position { window_from: range_from, window_until: self.range_until.map(|u| self.granularity.format(u)), token: None },
        }
    }

    /// The window that starts at `start`: up to the next boundary, or open
    /// (or up to the run's `until`) if that is the last one.
    pub(super) fn window_at(&self, start: DateTime<Utc>) -> Position {
        let from = Some(self.granularity.format(start));
        let end = self.window.and_then(|w| w.advance(start));
        let horizon = self.range_until.unwrap_or_else(Utc::now);
        let until = match end {
            Some(end) if end <= horizon => {
                // `until` is inclusive: stop one unit before the next window.
                let unit = match self.granularity {
                    Granularity::Day => TimeDelta::days(1),
                    Granularity::Seconds => TimeDelta::seconds(1),
                };
                Some(self.granularity.format(end - unit))
            }
            _ => self.range_until.map(|u| self.granularity.format(u)),
        };
        Position { window_from: from, window_until: until, token: None }
    }

    /// The window after `current`, or `None` if `current` was the last.
    pub(super) fn after(&self, current: &Position) -> Option<Position> {
        let window = self.window?;
        let until = oai::parse_datestamp(current.window_until.as_deref()?)?;
        if self.range_until.is_some_and(|end| until >= end) {
            return None;
        }
        let from = oai::parse_datestamp(current.window_from.as_deref()?)?;
        let next = window.advance(from)?;
        Some(self.window_at(next))
    }
}

/// How many of `records` fall outside the range `from`..`until` that was
/// asked for (a day as `until` is the whole day): a repository that ignores
/// the range, or treats it wrongly, is told of, not silently trusted. A
/// datestamp that does not parse is not counted here (the header's own
/// check deals with it).
pub(super) fn outside(records: &[oai::Record], from: Option<&str>, until: Option<&str>) -> u64 {
    let from = from.and_then(oai::parse_datestamp);
    let until = until.and_then(|u| oai::parse_datestamp(u).map(|t| if u.trim().len() == 10 { t + TimeDelta::seconds(86_399) } else { t }));
    records.iter().filter_map(|r| oai::parse_datestamp(&r.header.datestamp)).filter(|t| from.is_some_and(|f| *t < f) || until.is_some_and(|u| *t > u)).count()
        as u64
}

#[cfg(test)]
mod tests;
