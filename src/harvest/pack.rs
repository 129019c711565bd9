//! Record metadata compressed ahead of the writer, on a few threads that
//! every harvest of the process shares, and where each stage's time goes.
//!
//! The writer used to compress each record as it stored it, which made
//! compression part of the one thread every page waits for. Now a page is
//! packed as soon as it is parsed, while earlier pages are still being
//! stored; the writer waits for a page's packing only when it reaches that
//! page, so pages are still committed in order. Until a source has its
//! dictionary (made by the store from its first records, in the commit that
//! stores them) its pages go unpacked and the store packs them itself.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use checkpoints::compress::{PackedPage, Packer};
use oai::Record;

use crate::util::lock;

/// Packing threads for the whole process: `[harvest] pack_threads` if set;
/// else the cores but two, at most four; on two cores or fewer, one while
/// several harvests share the writer, none for a harvest alone (the writer
/// then packs as it stores). Measured on 2 cores: a harvest alone took a
/// fifth more time packing on a thread of its own, the cores being busy
/// already; 200 at once took 68 s instead of 82, the writer they share
/// being the bottleneck.
fn packing_threads() -> usize {
    if let Some(&n) = CONFIGURED.get() {
        return n;
    }
    match cores() {
        cores if cores > 2 => (cores - 2).min(4),
        _ => usize::from(HARVESTS.load(Ordering::Relaxed) > 1),
    }
}

/// The cores this process may use, read once: asked for every page, and
/// the answer reads cgroup files.
fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, usize::from))
}

static CONFIGURED: OnceLock<usize> = OnceLock::new();

/// Harvests running in this process now.
static HARVESTS: AtomicUsize = AtomicUsize::new(0);

/// Counts a harvest as running while it lives.
pub(super) struct Running(());

impl Running {
    pub(super) fn start() -> Running {
        HARVESTS.fetch_add(1, Ordering::Relaxed);
        Running(())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        HARVESTS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Sets the process's packing threads (`[harvest] pack_threads`) before the
/// first harvest; later calls change nothing.
pub fn configure(threads: Option<usize>) {
    if let Some(n) = threads {
        let _ = CONFIGURED.set(n.min(64));
    }
}

fn packing_turns() -> Arc<tokio::sync::Semaphore> {
    static TURNS: OnceLock<Arc<tokio::sync::Semaphore>> = OnceLock::new();
    TURNS
        .get_or_init(|| {
            let most = CONFIGURED.get().copied().unwrap_or_else(|| cores().saturating_sub(2).clamp(1, 4));
            Arc::new(tokio::sync::Semaphore::new(most.max(1)))
        })
        .clone()
}

/// One source's packing: its dictionary once known, and the packers made
/// from it that are not in use (a packer digests the dictionary once; a
/// harvest needs as many as its pages packed at once).
pub(super) struct Packing {
    dictionary: OnceLock<(i64, Arc<Vec<u8>>)>,
    idle: Mutex<Vec<Packer>>,
    clocks: Arc<Clocks>,
}

impl Packing {
    pub(super) fn new(dictionary: Option<(i64, Vec<u8>)>, clocks: Arc<Clocks>) -> Packing {
        let packing = Packing { dictionary: OnceLock::new(), idle: Mutex::new(Vec::new()), clocks };
        if let Some(d) = dictionary {
            packing.learn(d);
        }
        packing
    }

    pub(super) fn knows_dictionary(&self) -> bool {
        self.dictionary.get().is_some()
    }

    /// The source's dictionary, once the store has made it.
    pub(super) fn learn(&self, (id, content): (i64, Vec<u8>)) {
        let _ = self.dictionary.set((id, Arc::new(content)));
    }

    /// Starts packing a page's metadata; `None` while the source has no
    /// dictionary, or where there are no packing threads.
    pub(super) fn start(self: &Arc<Self>, records: Arc<Vec<Record>>) -> Option<tokio::task::JoinHandle<anyhow::Result<PackedPage>>> {
        if packing_threads() == 0 {
            return None;
        }
        let (id, content) = self.dictionary.get()?.clone();
        let this = self.clone();
        Some(tokio::spawn(async move {
            let _turn = packing_turns().acquire_owned().await.expect("the semaphore is never closed");
            let packed = tokio::task::spawn_blocking(move || -> anyhow::Result<PackedPage> {
                let started = Instant::now();
                let popped = lock(&this.idle).pop();
                let mut packer = match popped {
                    Some(packer) => packer,
                    None => Packer::new(id, &content).map_err(|e| anyhow::anyhow!("compression dictionary {id}: {e}"))?,
                };
                let page = packer.pack_page(records.iter().map(|r| r.metadata.as_deref()));
                lock(&this.idle).push(packer);
                this.clocks.add(&this.clocks.packing, started.elapsed());
                Ok(page?)
            });
            packed.await?
        }))
    }
}

/// Where a harvest's time went, stage by stage, summed over its threads.
#[derive(Debug, Default)]
pub(super) struct Clocks {
    /// Fetchers waiting for the repository's pages.
    pub(super) waiting: AtomicU64,
    /// Fetchers parsing pages.
    pub(super) parsing: AtomicU64,
    /// Packing threads compressing metadata.
    pub(super) packing: AtomicU64,
    /// The writer waiting for a page's packing.
    pub(super) writer_waiting: AtomicU64,
    /// The writer in SQLite: inserts, and commits with their waits for the disk.
    pub(super) storing: AtomicU64,
}

impl Clocks {
    pub(super) fn add(&self, clock: &AtomicU64, spent: Duration) {
        clock.fetch_add(spent.as_nanos() as u64, Ordering::Relaxed);
    }

    pub(super) fn seconds(&self) -> super::Timings {
        let s = |c: &AtomicU64| c.load(Ordering::Relaxed) as f64 / 1e9;
        super::Timings {
            waiting: s(&self.waiting),
            parsing: s(&self.parsing),
            packing: s(&self.packing),
            writer_waiting: s(&self.writer_waiting),
            storing: s(&self.storing),
        }
    }
}
