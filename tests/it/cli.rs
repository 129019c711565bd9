//! The command line as a user meets it.

use testbeds::repository::{RepoSpec, Testbed};

use crate::support::{bin, run, stderr, stdout, tempdir};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_harvest_fetches_only_the_changes() {
    let bed = Testbed::new(RepoSpec { records: 1000, ..RepoSpec::default() });
    let url = bed.spawn().await.unwrap();
    let home = tempdir();
    let db = home.path().join("h.sqlite");
    let cmd = |args: &[&str]| {
        let mut c = bin(home.path());
        c.arg("--db").arg(&db).args(args);
        c
    };

    let first = run(cmd(&["harvest", &url])).await;
    assert!(first.status.success(), "{}", stderr(&first));
    let first_requests = bed.requests();
    assert_eq!(first_requests, 1 + 10 + 2, "Identify, ten pages, then the formats and sets it declares (once)");
    let first_response_date = bed.now().format("%Y-%m-%dT%H:%M:%SZ").to_string();

    // The repository changes: three records are edited and one deleted.
    bed.advance(chrono::TimeDelta::hours(2));
    bed.touch(&[10, 20, 30]);
    bed.delete(40);

    let second = run(cmd(&["harvest", &url])).await;
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(stdout(&second).contains(": 4 records (1 deleted), 1 pages,"), "{}", stdout(&second));
    let log = bed.log();
    assert_eq!(log.len() as u64, first_requests + 1, "one request: {log:?}");
    let from = first_response_date.replace(':', "%3A");
    assert_eq!(log.last().unwrap(), &format!("verb=ListRecords&metadataPrefix=oai_dc&from={from}"));

    let status = run(cmd(&["status", "--json"])).await;
    let json: serde_json::Value = serde_json::from_str(&stdout(&status)).unwrap();
    let s = &json["sources"][0];
    assert_eq!(s["records"], 1000);
    assert_eq!(s["deleted"], 21);
    assert_eq!(s["last_run"]["records"], 4);
    assert_eq!(s["last_run"]["requests"], 1);
    assert_eq!(s["last_run"]["from"], first_response_date);
    assert_eq!(s["next_from"], bed.now().format("%Y-%m-%dT%H:%M:%SZ").to_string());
    assert_eq!(s["in_flight_token"], serde_json::Value::Null);
    // Metadata is stored compressed, and says so.
    let (received, stored) = (s["metadata_bytes_received"].as_u64().unwrap(), s["metadata_bytes_stored"].as_u64().unwrap());
    assert!(received > 900_000 && stored * 3 < received, "{received} received, {stored} stored");

    // A record, as stored.
    let rec = run(cmd(&["record", "oai:testbed.example:00000010"])).await;
    assert!(stdout(&rec).contains("its &lt;version&gt; 2:"), "{}", stdout(&rec));
    let gone = run(cmd(&["record", "oai:testbed.example:00000040"])).await;
    assert!(!gone.status.success());
    assert!(stderr(&gone).contains("is deleted"), "{}", stderr(&gone));
    let list = run(cmd(&["records", "--json"])).await;
    assert_eq!(stdout(&list).lines().count(), 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_sources_come_from_the_config_and_errors_are_one_line() {
    let bed = Testbed::new(RepoSpec { records: 250, ..RepoSpec::default() });
    let url = bed.spawn().await.unwrap();
    let home = tempdir();
    let config = home.path().join("config.toml");
    std::fs::write(&config, format!("db = \"{}\"\n[source.bed]\nurl = \"{url}\"\nset = \"set2\"\n", home.path().join("c.sqlite").display())).unwrap();
    let out = run({
        let mut c = bin(home.path());
        c.arg("--config").arg(&config).arg("harvest");
        c
    })
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("bed: 62 records"), "{}", stdout(&out));

    // A repository that is not there: non-zero, one line naming the URL.
    let out = run({
        let mut c = bin(home.path());
        // Retries are bounded, and the bound is set from the environment.
        c.env("OAI_MIRROR_HTTP__MAX_ATTEMPTS", "2").env("OAI_MIRROR_HTTP__INITIAL_BACKOFF_SECS", "0.1");
        c.arg("--config").arg(&config).args(["identify", "http://127.0.0.1:9/oai"]);
        c
    })
    .await;
    assert!(!out.status.success());
    let err = stderr(&out);
    let last = err.lines().last().unwrap();
    assert!(last.starts_with("error: ") && last.contains("http://127.0.0.1:9/oai?verb=Identify"), "{err}");
    assert!(last.contains("gave up after 2 attempt(s)"), "{err}");
    assert_eq!(err.matches("retrying").count(), 1, "every retry is logged: {err}");

    let out = run({
        let mut c = bin(home.path());
        c.arg("--config").arg(&config).args(["harvest", "nosuchsource"]);
        c
    })
    .await;
    assert!(stderr(&out).contains("[source.nosuchsource] is not in") && stderr(&out).contains("its [source.*] tables: bed"), "{}", stderr(&out));
}

/// What a server sent may hold control characters; on a terminal they are
/// shown escaped, never acted on, while a pipe gets the exact bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_characters_from_a_server_are_escaped_on_a_terminal_only() {
    let home = tempdir();
    let db = home.path().join("t.sqlite");
    let hostile = "oai:x:\u{1b}]0;pwned\u{7}\u{202e}gpj.exe";
    {
        let mut store = checkpoints::Store::open(&db).unwrap();
        let key = checkpoints::SourceKey { base_url: "http://127.0.0.1:9/oai".into(), metadata_prefix: "oai_dc".into(), set_spec: None };
        let source = store.source(&key, 1).unwrap();
        let run = store.start_run(source.id, &Default::default(), &Default::default(), 1).unwrap();
        let record = checkpoints::RecordIn {
            identifier: hostile,
            datestamp: "2026-01-01",
            datestamp_unix: 0,
            deleted: false,
            sets: &[],
            metadata: Some(b"<m/>"),
            about: None,
            text: None,
        };
        let page = checkpoints::PageCommit::of_records(vec![record], 1);
        store.commit_page(run.id, &page).unwrap();
    }
    // Piped: exact.
    let piped = run({
        let mut c = bin(home.path());
        c.arg("--db").arg(&db).arg("records");
        c
    })
    .await;
    assert!(stdout(&piped).contains(hostile), "{:?}", stdout(&piped));
    // On a terminal (`script` gives the command a pseudo-terminal): escaped.
    let command = format!("{} --db {} records", env!("CARGO_BIN_EXE_oai-mirror"), db.display());
    let on_terminal = run({
        let mut c = std::process::Command::new("script");
        c.args(["-qec", &command, "/dev/null"]).env("HOME", home.path());
        c
    })
    .await;
    let shown = stdout(&on_terminal);
    assert!(shown.contains("oai:x:\\u{1b}]0;pwned\\u{7}\\u{202e}gpj.exe"), "{shown:?}");
    assert!(!shown.contains('\u{1b}') && !shown.contains('\u{202e}'), "{shown:?}");
}
