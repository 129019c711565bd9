//! The daemon: every configured job on its schedule, triggers instead of
//! polling, a control endpoint, and a graceful shutdown.
//!
//! * `schedule`: cron expressions in a time zone; the next run. Pure.
//! * `core`: `Daemon`, the jobs, their schedules, triggers, locks, backoff, status and metrics.
pub mod core;
pub mod schedule;
