//! Interoperability with a real third-party data provider: the PyPI
//! `oaipmh` server (pyoai's maintained fork), started by
//! tests/testbeds/pyoai-server.sh. The script needs its virtualenv, made by
//! `bash tests/testbeds/pyoai-server.sh --setup` (the test script does it).

use std::process::{Child, Command};

use crate::support::{bin, run, stderr, stdout, stored, tempdir};

pub(crate) struct Server {
    child: Child,
    pub(crate) url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the `oaipmh` server with `records` records and a changes file.
pub(crate) fn start(records: usize, extra: &[&str], changes: &std::path::Path) -> Server {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/testbeds/pyoai-server.sh");
    let mut child =
        Command::new("bash").arg(script).args([port.to_string(), records.to_string()]).arg("--changes").arg(changes).args(extra).spawn().expect("bash runs");
    let url = format!("http://127.0.0.1:{port}/oai");
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Server { child, url };
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the pyoai server exited ({status}); run `bash tests/testbeds/pyoai-server.sh --setup` first");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("the pyoai server did not come up on port {port}");
}

async fn full_then_incremental(granularity: &str) {
    let home = tempdir();
    let changes = home.path().join("changes.txt");
    let server = start(1234, &["--granularity", granularity, "--batch-size", "100"], &changes);
    let db = home.path().join("i.sqlite");
    let cmd = |args: &[&str]| {
        let mut c = bin(home.path());
        c.arg("--db").arg(&db).args(args);
        c
    };
    let out = run(cmd(&["identify", &server.url])).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let expected = if granularity == "day" { "YYYY-MM-DD" } else { "YYYY-MM-DDThh:mm:ssZ" };
    assert!(stdout(&out).contains(&format!("Granularity:    {expected}")), "{}", stdout(&out));

    let out = run(cmd(&["harvest", &server.url])).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains(": 1234 records (24 deleted), 13 pages,"), "{}", stdout(&out));
    let first = stored(&db);
    assert_eq!(first.len(), 1234);

    // Nothing changed: one request, nothing new.
    let out = run(cmd(&["harvest", &server.url])).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains(": 0 records (0 deleted), 1 pages,"), "{}", stdout(&out));

    // Five records change on the server: only they come back.
    std::fs::write(&changes, "3\n77\n500\n501\n1200\n").unwrap();
    let out = run(cmd(&["harvest", &server.url])).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains(": 5 records (0 deleted), 1 pages,"), "{}", stdout(&out));
    let after = stored(&db);
    let changed: Vec<&String> = after.iter().filter(|(k, v)| first[*k] != **v).map(|(k, _)| k).collect();
    assert_eq!(changed.len(), 5, "{changed:?}");
    assert!(after["oai:pyoai.example:0000077"].0 > first["oai:pyoai.example:0000077"].0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyoai_server_full_and_incremental_seconds() {
    full_then_incremental("seconds").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyoai_server_full_and_incremental_day_granularity() {
    full_then_incremental("day").await;
}
