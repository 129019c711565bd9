//! Time, injectable: what time it is and how to wait. Flow control, the
//! hosts' pauses and the daemon's schedules all read it, so that their tests
//! run under a recording or paused clock instead of waiting.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

/// Time, injectable so that tests of flow control and schedules do not wait.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> SystemTime;
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// The real clock: the system time and tokio's timer.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(tokio::time::sleep(duration))
    }
}
