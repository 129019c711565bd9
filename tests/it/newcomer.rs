//! A newcomer's first hour, through the binary: getting the records out,
//! sources by name, honest config, and errors that say why and what to do.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use testbeds::repository::{Fault, RepoSpec, Testbed};

use crate::support::{bin, run, stderr, stdout, tempdir};

/// A home with a config naming the test bed `bed`, and its database path.
struct Home {
    dir: tempfile::TempDir,
    config: PathBuf,
    db: PathBuf,
}

impl Home {
    fn new(config: &str) -> Home {
        let dir = tempdir();
        let db = dir.path().join("m.sqlite");
        let path = dir.path().join("c.toml");
        std::fs::write(&path, format!("db = \"{}\"\n{config}", db.display())).unwrap();
        Home { dir, config: path, db }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = bin(self.dir.path());
        c.arg("--config").arg(&self.config).args(args);
        c
    }

    async fn ok(&self, args: &[&str]) -> String {
        let out = run(self.cmd(args)).await;
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        stdout(&out)
    }

    async fn fails(&self, args: &[&str]) -> String {
        let out = run(self.cmd(args)).await;
        assert!(!out.status.success(), "{args:?} succeeded: {}", stdout(&out));
        stderr(&out)
    }
}

async fn harvested(spec: RepoSpec) -> (Testbed, String, Home) {
    let bed = Testbed::new(spec);
    let url = bed.spawn().await.unwrap();
    let home = Home::new(&format!("[source.bed]\nurl = \"{url}\"\n"));
    home.ok(&["harvest", "bed"]).await;
    (bed, url, home)
}

/// The `<record>` elements of an XML document, as (deleted, identifier), after
/// checking it is well-formed.
fn xml_records(text: &str) -> Vec<(bool, String)> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(text.as_bytes());
    let (mut out, mut depth, mut in_identifier, mut roots) = (Vec::new(), 0usize, false, 0);
    loop {
        match reader.read_event().unwrap_or_else(|e| panic!("not well-formed at {}: {e}", reader.buffer_position())) {
            Event::Start(e) => {
                depth += 1;
                roots += (depth == 1) as usize;
                let name = e.name().into_inner().to_string();
                if name == "header" {
                    let deleted = e.attributes().any(|a| a.is_ok_and(|a| a.key.local_name().into_inner() == "status" && &*a.value == "deleted"));
                    out.push((deleted, String::new()));
                }
                in_identifier = name == "identifier";
            }
            Event::Text(t) if in_identifier => out.last_mut().unwrap().1.push_str(&t.xml_content(quick_xml::XmlVersion::Implicit1_0)),
            Event::End(_) => {
                depth -= 1;
                in_identifier = false;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(roots, 1, "one document");
    out
}

fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cat_streams_the_records_out_in_each_format_and_filter() {
    let (_bed, _url, home) = harvested(RepoSpec { records: 1000, ..RepoSpec::default() }).await;

    let all = json_lines(&home.ok(&["cat", "bed", "--format", "jsonl"]).await);
    assert_eq!(all.len(), 1000);
    assert!(all.iter().all(|r| r["source"] == "bed"), "{}", all[0]);
    let deleted = all.iter().filter(|r| r["deleted"] == true).count();
    assert!(deleted > 0 && all.iter().filter(|r| r["deleted"] == false).all(|r| r["metadata"].as_str().unwrap().contains("<dc:title>")));

    let xml = xml_records(&home.ok(&["cat"]).await);
    assert_eq!(xml.len(), 1000);
    assert_eq!(xml.iter().filter(|r| r.0).count(), deleted);
    assert_eq!(xml[0].1, all[0]["identifier"].as_str().unwrap());

    let payload = home.ok(&["cat", "--format", "payload"]).await;
    assert_eq!(payload.matches("</oai_dc:dc>").count(), 1000 - deleted, "the metadata of live records only");
    assert!(!payload.contains("<header"));

    // Filters, checked against what the full listing says.
    let count = |text: String| json_lines(&text).len();
    assert_eq!(count(home.ok(&["cat", "--format", "jsonl", "--deleted", "only"]).await), deleted);
    assert_eq!(count(home.ok(&["cat", "--format", "jsonl", "--deleted", "exclude"]).await), 1000 - deleted);
    let in_set1 = all.iter().filter(|r| r["sets"].as_array().unwrap().iter().any(|s| s == "set1")).count();
    assert!(in_set1 > 0);
    assert_eq!(count(home.ok(&["cat", "--format", "jsonl", "--set", "set1"]).await), in_set1);
    let stamp = |r: &serde_json::Value| r["datestamp"].as_str().unwrap().to_string();
    let until_day = all.iter().filter(|r| stamp(r).as_str() < "2001-01-03").count();
    assert!(until_day > 24 && until_day < 1000);
    assert_eq!(count(home.ok(&["cat", "--format", "jsonl", "--until", "2001-01-02"]).await), until_day, "a day as --until is the whole day");
    let from = all.iter().filter(|r| stamp(r).as_str() >= "2001-01-20T05:00:00Z").count();
    assert_eq!(count(home.ok(&["cat", "--format", "jsonl", "--from", "2001-01-20T05:00:00Z"]).await), from);
    let e = home.fails(&["cat", "--from", "yesterday"]).await;
    assert!(e.contains("--from \"yesterday\" is not a date"), "{e}");

    // One file per record, safe names, each a document of its own.
    let dir = home.dir.path().join("out");
    home.ok(&["cat", "bed", "--dir", dir.to_str().unwrap()]).await;
    let files: Vec<String> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert_eq!(files.len(), 1000);
    assert!(files.iter().all(|f| f.ends_with(".xml") && !f.starts_with('.') && !f.contains(':')), "{:?}", &files[..3]);
    let one = std::fs::read_to_string(dir.join(&files[0])).unwrap();
    assert_eq!(xml_records(&one).len(), 1);
}

/// `| head`: the reader goes away; cat stops quietly, exit status 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_pipe_ends_cat_quietly() {
    let (_bed, _url, home) = harvested(RepoSpec { records: 5000, ..RepoSpec::default() }).await;
    let mut child = home.cmd(&["cat", "--format", "jsonl"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    // The reader is dropped here, as `head` exits.
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap()).await.unwrap();
    assert!(first.starts_with("{\"source\":\"bed\""), "{first}");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("error"), "{}", stderr(&out));
}

/// `status | head -3`, `identify --json | head -2`: a reader that went
/// away before anything was written ends every command quietly, exit
/// status 0, whatever the command (the pipe's read end is closed before the
/// command starts, so its first write fails: no race with the reader).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_gone_before_the_first_line_ends_any_command_quietly() {
    let (_bed, url, home) = harvested(RepoSpec { records: 300, ..RepoSpec::default() }).await;
    for args in [vec!["status"], vec!["status", "--json"], vec!["identify", "--json", url.as_str()], vec!["records"]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let mut cmd = home.cmd(&args);
        cmd.stdout(writer);
        let out = run(cmd).await;
        assert!(out.status.success(), "{args:?}: {:?} {}", out.status, stderr(&out));
        assert!(!stderr(&out).contains("Broken pipe") && !stderr(&out).contains("error"), "{args:?}: {}", stderr(&out));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_are_named_as_the_config_names_them_and_can_be_forgotten() {
    let (_bed, url, home) = harvested(RepoSpec { records: 300, ..RepoSpec::default() }).await;

    let listed = json_lines(&home.ok(&["records", "--source", "bed", "--json"]).await);
    assert_eq!(listed.len(), 300);
    assert_eq!(listed[0]["source"], "bed");
    let seen = listed[0]["first_seen"].as_str().unwrap_or_else(|| panic!("not a string: {}", listed[0]));
    assert!(chrono::DateTime::parse_from_rfc3339(seen).is_ok(), "{seen}");
    assert!(home.ok(&["records"]).await.starts_with("bed\t"), "the text listing says which source too");
    let by_url = json_lines(&home.ok(&["records", "--source", &url, "--json"]).await);
    assert_eq!(by_url.len(), 300, "a base URL still names a source");
    let id = listed[1]["identifier"].as_str().unwrap();
    assert!(home.ok(&["record", id, "--source", "bed"]).await.contains("<dc:title>"));
    let e = home.fails(&["records", "--source", "bde"]).await;
    assert!(e.contains("did you mean `bed`?") && e.contains("c.toml"), "{e}");

    let status: serde_json::Value = serde_json::from_str(&home.ok(&["status", "--json"]).await).unwrap();
    assert_eq!(status["daemon"], serde_json::Value::Null);
    assert_eq!(status["database"], home.db.display().to_string());
    assert_eq!((status["sources"][0]["name"].as_str(), status["sources"][0]["records"].as_u64()), (Some("bed"), Some(300)));
    assert!(chrono::DateTime::parse_from_rfc3339(status["sources"][0]["last_run"]["started_at"].as_str().unwrap()).is_ok());
    let text = home.ok(&["status"]).await;
    assert!(text.starts_with(&format!("database {}: 1 source(s)\nbed: {url}", home.db.display())), "{text}");

    // Forgetting asks; without a terminal to ask on, it needs --yes.
    let e = home.fails(&["forget", "bed"]).await;
    assert!(e.contains("--yes"), "{e}");
    assert_eq!(json_lines(&home.ok(&["records", "--json"]).await).len(), 300, "nothing forgotten");
    assert_eq!(home.ok(&["forget", "bed", "--yes"]).await, "forgot bed: 300 records (served from now on as deletions)\n");
    assert_eq!(home.ok(&["records"]).await, "");
    let status: serde_json::Value = serde_json::from_str(&home.ok(&["status", "--json"]).await).unwrap();
    assert_eq!(status["sources"], serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identify_lists_formats_and_sets_and_says_so_in_json() {
    let bed = Testbed::new(RepoSpec { records: 10, sets: 3, ..RepoSpec::default() });
    let url = bed.spawn().await.unwrap();
    let home = Home::new("");
    let json: serde_json::Value = serde_json::from_str(&home.ok(&["identify", &url, "--json"]).await).unwrap();
    assert_eq!(json["formats"][0]["prefix"], "oai_dc");
    let sets: Vec<&str> = json["sets"].as_array().unwrap().iter().map(|s| s["spec"].as_str().unwrap()).collect();
    assert_eq!(sets, ["set0", "set1", "set2"]);
    assert_eq!(json["granularity"], "YYYY-MM-DDThh:mm:ssZ");
    let text = home.ok(&["identify", &url]).await;
    assert!(text.contains("Sets:           3\n  set0") && text.contains("Set number 2"), "{text}");

    let e = home.fails(&["identify", "export.arxiv.org/oai2"]).await;
    assert!(e.contains("did you mean https://export.arxiv.org/oai2?"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_config_problem_is_reported_with_its_line_by_check_and_by_harvest_alike() {
    let home = Home::new("[htpp]\nmax_attempts = 3\n\n[http]\nmax_atempts = 2\n\n[source.a]\nurl = \"http://127.0.0.1:9/oai\"\nprefx = \"marc\"\n");
    let path = home.config.display().to_string();
    let check = home.fails(&["config", "check", "--offline"]).await;
    let harvest = home.fails(&["harvest", "a"]).await;
    for (line, what) in [(2, "unknown field `htpp`"), (6, "[http] unknown field `max_atempts`"), (10, "[source.a] unknown field `prefx`")] {
        let located = format!("{path}:{line}: {what}");
        assert!(check.contains(&located), "config check: {located} in\n{check}");
        assert!(harvest.contains(&located), "harvest: {located} in\n{harvest}");
    }
    assert!(check.contains("3 problem(s)"), "{check}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_environment_overrides_a_source_whose_name_has_a_hyphen() {
    let bed = Testbed::new(RepoSpec { records: 200, sets: 4, ..RepoSpec::default() });
    let url = bed.spawn().await.unwrap();
    let home = Home::new(&format!("[source.bed-one]\nurl = \"{url}\"\nset = \"set1\"\n"));
    let mut c = home.cmd(&["harvest", "bed-one"]);
    c.env("OAI_MIRROR_SOURCE__BED_ONE__SET", "set2");
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("bed-one: 50 records"), "{}", stdout(&out));
    let asked = bed.log();
    assert_eq!(asked.iter().rev().find(|q| q.starts_with("verb=ListRecords")).unwrap(), "verb=ListRecords&metadataPrefix=oai_dc&set=set2", "{asked:?}");
    let mut c = home.cmd(&["config", "check", "--offline"]);
    c.env("OAI_MIRROR_SOURCE__BED_ONE__SET", "set2");
    let out = run(c).await;
    assert!(out.status.success(), "no second source `bed_one`: {}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_creates_nothing_and_database_errors_say_what_to_do() {
    let home = tempdir();
    let data_db = home.path().join("data/oai-mirror/oai-mirror.sqlite");
    let out = run({
        let mut c = bin(home.path());
        c.arg("status");
        c
    })
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("none yet"), "{}", stdout(&out));
    for args in [&["records"][..], &["cat"], &["pages", "w"], &["record", "x"]] {
        let out = run({
            let mut c = bin(home.path());
            c.args(args);
            c
        })
        .await;
        assert!(!out.status.success() && stderr(&out).contains("there is no database at"), "{args:?}: {}", stderr(&out));
    }
    assert!(!data_db.exists(), "reading commands never create a database");

    let db_in = |p: &Path| {
        let mut c = bin(home.path());
        c.arg("--db").arg(p).args(["harvest", "http://127.0.0.1:9/oai"]);
        c
    };
    let e = stderr(&run(db_in(&home.path().join("no/such/dir/m.sqlite"))).await);
    assert!(e.contains("its directory") && e.contains("no/such/dir") && e.contains("does not exist"), "{e}");
    let text = home.path().join("notes.txt");
    std::fs::write(&text, "not a database ".repeat(200)).unwrap();
    let e = stderr(&run(db_in(&text)).await);
    assert!(e.contains("notes.txt is not an oai-mirror database"), "{e}");
}

/// As a user who may read the database but not write it (the daemon's,
/// say): reading commands work, writing ones say the database is read-only.
/// Run as `nobody` when the tests run as root, since root writes anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_database_can_be_read_and_says_so_when_written() {
    use std::os::unix::fs::PermissionsExt;
    let (_bed, url, home) = harvested(RepoSpec { records: 100, ..RepoSpec::default() }).await;
    let open = |p: &Path, mode: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    open(home.dir.path(), 0o755);
    open(&home.config, 0o644);
    open(&home.db, 0o444);
    let as_reader = |args: &[&str]| {
        let mut c = if is_root() {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups", env!("CARGO_BIN_EXE_oai-mirror")]);
            c
        } else {
            Command::new(env!("CARGO_BIN_EXE_oai-mirror"))
        };
        c.env("HOME", home.dir.path()).env_remove("OAI_MIRROR_DB").env_remove("OAI_MIRROR_CONFIG").arg("--config").arg(&home.config).args(args);
        c
    };
    // The directory is the owner's: a reader can create no -wal or -shm.
    open(home.dir.path(), 0o555);
    let listed = run(as_reader(&["records"])).await;
    let status = run(as_reader(&["status"])).await;
    let harvest = run(as_reader(&["harvest", &url])).await;
    open(home.dir.path(), 0o755);
    assert!(listed.status.success(), "{}", stderr(&listed));
    assert_eq!(stdout(&listed).lines().count(), 100);
    assert!(status.status.success() && stdout(&status).contains("100 ("), "{}{}", stdout(&status), stderr(&status));
    assert!(!harvest.status.success());
    assert!(stderr(&harvest).contains("is read-only") && stderr(&harvest).contains(&home.db.display().to_string()), "{}", stderr(&harvest));
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| s.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_harvest_of_a_running_source_is_refused_and_takes_nothing_over() {
    let bed = Testbed::new(RepoSpec { records: 1000, ..RepoSpec::default() });
    let url = bed.spawn().await.unwrap();
    // The third request (the second page) never answers.
    bed.fault(3, Fault::Hang);
    let home = Home::new(&format!("[http]\ntimeout_secs = 600\n[source.bed]\nurl = \"{url}\"\n"));
    let mut first = home.cmd(&["harvest", "bed"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    // Bounded wait for the first harvest to reach the page that hangs.
    let mut waited = Duration::ZERO;
    while bed.requests() < 3 {
        assert!(waited < Duration::from_secs(60), "the first harvest never got going");
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += Duration::from_millis(50);
    }
    let second = home.fails(&["harvest", "bed"]).await;
    let _ = first.kill();
    let _ = first.wait();
    assert!(second.contains(&format!("a harvest of bed is already running (pid {})", first.id())), "{second}");
    assert!(!second.contains("database is locked") && !second.contains("run again to resume"), "{second}");
    assert_eq!(bed.requests(), 3, "the second harvest asked the repository nothing");

    // The first one's position was not taken over: a new run resumes it.
    let third = home.ok(&["harvest", "bed"]).await;
    assert!(third.starts_with("bed: 900 records") && third.contains("resumed"), "{third}");
    let status: serde_json::Value = serde_json::from_str(&home.ok(&["status", "--json"]).await).unwrap();
    assert_eq!(status["sources"][0]["records"], 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_that_running_again_cannot_mend_says_what_to_do_instead() {
    let bed = Testbed::new(RepoSpec { records: 10, ..RepoSpec::default() });
    let url = bed.spawn().await.unwrap();
    let home = Home::new(&format!("[source.bed]\nurl = \"{url}\"\nprefix = \"marcxml\"\n"));
    let e = home.fails(&["harvest", "bed"]).await;
    assert!(e.contains("cannotDisseminateFormat") && e.contains("`oai-mirror identify URL` lists the ones it has"), "{e}");
    assert!(!e.contains("run again to resume"), "{e}");
    // A transient failure that outlasts the retries is worth resuming.
    let home = Home::new(&format!("[http]\nmax_attempts = 2\ninitial_backoff_secs = 0.0\n[source.bed]\nurl = \"{url}\"\n"));
    bed.fault(bed.requests() + 1, Fault::ServerError);
    bed.fault(bed.requests() + 2, Fault::ServerError);
    let e = home.fails(&["harvest", "bed"]).await;
    assert!(e.contains("run again to resume"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_names_say_which_file_was_read_and_suggest_the_nearest() {
    let (_bed, _url, home) = harvested(RepoSpec { records: 10, ..RepoSpec::default() }).await;
    let path = home.config.display().to_string();
    std::fs::write(
        &home.config,
        format!(
            "{}[wiki.main]\napi = \"http://127.0.0.1:9/w/api.php\"\n[sync.pages]\nwiki = \"main\"\ncheckout = \"{}\"\n",
            std::fs::read_to_string(&home.config).unwrap(),
            home.dir.path().join("co").display()
        ),
    )
    .unwrap();
    for (args, nearest) in [
        (&["harvest", "bde"][..], "`bed`"),
        (&["mirror", "mian"], "`main`"),
        (&["sync", "page"], "`pages`"),
        (&["pages", "mian"], "`main`"),
        (&["conflicts", "page"], "`pages`"),
        (&["queue", "page"], "`pages`"),
    ] {
        let e = home.fails(args).await;
        assert!(e.contains(&format!("is not in {path}")) && e.contains(&format!("did you mean {nearest}?")), "{args:?}: {e}");
    }
    let e = home.fails(&["harvest", "example.org/oai"]).await;
    assert!(e.contains("did you mean https://example.org/oai?"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_and_the_manual_come_from_the_command_definitions() {
    let home = Home::new("");
    let bash = home.ok(&["completions", "bash"]).await;
    assert!(bash.contains("complete -F _oai__mirror") && bash.contains("forget") && bash.contains("--format"), "{}", &bash[..bash.len().min(300)]);
    let man = home.ok(&["man"]).await;
    assert!(man.starts_with(".ie \\n(.g .ds Aq") || man.contains(".TH oai-mirror"), "{}", &man[..man.len().min(300)]);
    assert!(man.contains("wikis"), "the manual's description mentions wikis");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_logs_only_warnings_and_verbose_logs_more() {
    let bed = Testbed::new(RepoSpec { records: 50, ..RepoSpec::default() });
    let url = bed.spawn().await.unwrap();
    let home = Home::new(&format!("[source.bed]\nurl = \"{url}\"\n"));
    let quiet = |args: &[&str]| {
        let mut c = home.cmd(args);
        c.env_remove("RUST_LOG");
        c
    };
    let out = run(quiet(&["-q", "harvest", "bed"])).await;
    assert!(out.status.success() && stderr(&out).is_empty(), "-q: {}", stderr(&out));
    let out = run(quiet(&["harvest", "bed", "--full"])).await;
    assert!(!stderr(&out).contains("DEBUG"), "{}", stderr(&out));
    let out = run(quiet(&["-v", "harvest", "bed", "--full"])).await;
    assert!(stderr(&out).contains("DEBUG"), "-v logs debug lines: {}", stderr(&out));
}

/// A conflict settled from the command line: a side taken by its wiki's
/// config name as well as by `wiki`/`with`, the pushes said to be due (not
/// "waiting until" a time gone by), how they will be sent, and the settled
/// conflict marked as such with its base in `conflicts --all`. The store
/// holds the conflict as a sync would have recorded it; no wiki is asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_is_settled_by_a_wikis_name_and_says_what_comes_next() {
    let home = Home::new(
        "[wiki.a]\napi = \"http://127.0.0.1:9/w/api.php\"\n[wiki.b]\napi = \"http://127.0.0.1:9/b/api.php\"\n[sync.ab]\nwiki = \"a\"\nwith = \"b\"\n",
    );
    {
        let store = checkpoints::Store::open(&home.db).unwrap();
        let pair = checkpoints::Pair {
            pair_id: 0,
            wiki_page: Some(1),
            with_page: Some(2),
            title: "Water".into(),
            base_text: "Boil water.".into(),
            wiki_rev: 10,
            with_rev: 20,
            held: false,
        };
        let pair_id = store.add_sync_pair("ab", &pair, 1).unwrap();
        let conflict = checkpoints::ConflictRow {
            conflict_id: 0,
            pair_id,
            title: "Water".into(),
            policy: checkpoints::ConflictPolicy::KeepBoth,
            wiki_rev: 11,
            with_rev: 21,
            wiki_user: "Ann".into(),
            with_user: "Bob".into(),
            wiki_text: "Boil water for a minute.".into(),
            with_text: "Boil water for ten minutes.".into(),
            resolved_text: "Boil water for a minute.".into(),
            base_text: Some("Boil water.".into()),
            created_at: 0,
            resolved_at: None,
        };
        store.add_conflict("ab", &conflict, 2).unwrap();
    }
    let e = home.fails(&["resolve", "ab", "Water", "--take", "c"]).await;
    assert!(e.contains("neither a side of the sync (wiki, with, a, b) nor a readable file"), "{e}");
    let open = home.ok(&["conflicts", "ab"]).await;
    assert!(open.contains("[[Water]]") && open.trim_end().ends_with("open"), "{open}");

    let out = home.ok(&["resolve", "ab", "Water", "--take", "b"]).await;
    assert!(out.contains("conflict settled; 2 push(es) queued"), "{out}");
    assert!(out.contains("send them with `oai-mirror sync ab`"), "no daemon is configured: {out}");
    let queue = home.ok(&["queue", "ab"]).await;
    assert_eq!(queue.lines().count(), 2, "{queue}");
    assert!(queue.lines().all(|l| l.contains("due: sent at the next run") && !l.contains("waiting until")), "{queue}");
    let queued = |text: &str| queue.lines().filter(|l| l.contains(text)).count();
    assert_eq!((queued("to wiki"), queued("to with")), (1, 1), "{queue}");

    assert!(home.ok(&["conflicts", "ab"]).await.is_empty(), "no open conflict left");
    let all: Vec<serde_json::Value> = json_lines(&home.ok(&["conflicts", "ab", "--all", "--json"]).await);
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!((&all[0]["resolved"], &all[0]["base_text"]), (&serde_json::json!(true), &serde_json::json!("Boil water.")), "{all:?}");
    let text = home.ok(&["conflicts", "ab", "--all"]).await;
    assert!(text.contains("\tresolved "), "{text}");
    // The taken text is the pair's new base, as `resolve` promises.
    let store = checkpoints::Store::open_read_only(&home.db).unwrap();
    let pair = &store.sync_pairs("ab").unwrap()[0];
    assert_eq!(pair.base_text, "Boil water for ten minutes.");
}

/// MediaWiki XML given to `import` is named for what it is, and a failed
/// import leaves no new database behind (with or without `--as`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn importing_what_is_not_a_package_says_what_it_is_and_creates_nothing() {
    let home = Home::new("");
    let xml = home.dir.path().join("pages.xml");
    std::fs::write(&xml, "<mediawiki xmlns=\"http://www.mediawiki.org/xml/export-0.11/\" version=\"0.11\">\n<page><title>A</title></page>\n</mediawiki>\n")
        .unwrap();
    let declared = home.dir.path().join("declared.xml");
    std::fs::write(&declared, "<?xml version=\"1.0\"?>\n<mediawiki version=\"0.11\"></mediawiki>\n").unwrap();
    // XML is taken for a dump: it needs the wiki's name, and one that
    // cannot be mirrored by id (or holds nothing) is refused saying why.
    for (file, why) in [(&xml, "comes without a page id, a revision, or a revision id"), (&declared, "holds no page: nothing was imported")] {
        for (extra, said) in [(&[][..], "is a MediaWiki XML dump, not a package: name the wiki it goes into with --as NAME"), (&["--as", "w"][..], why)] {
            let mut args = vec!["import", file.to_str().unwrap()];
            args.extend_from_slice(extra);
            let e = home.fails(&args).await;
            assert!(e.contains(said), "{args:?}: {e}");
            assert!(!home.db.exists(), "{args:?} left a database behind");
        }
    }
    // Not XML, not a tar: refused as before, and still nothing left behind.
    let junk = home.dir.path().join("junk.tar");
    std::fs::write(&junk, vec![b'x'; 2048]).unwrap();
    home.fails(&["import", junk.to_str().unwrap(), "--as", "w"]).await;
    assert!(!home.db.exists(), "a failed import left a database behind");
}

/// A repository behind HTTP Basic auth: credentials written into a URL are
/// refused (config, command line) without the password ever being shown;
/// given as `user` and `password_file`, they are sent, and the password
/// appears in nothing printed, logged or stored as the source's URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_is_never_in_a_url_and_is_sent_from_its_file() {
    const PASSWORD: &str = "S3cretPass-for-the-test";
    let bed = Testbed::new(RepoSpec { records: 300, basic_auth: Some(("harvester".into(), PASSWORD.into())), ..RepoSpec::default() });
    let url = bed.spawn().await.unwrap();
    let with_password = url.replacen("http://", &format!("http://harvester:{PASSWORD}@"), 1);
    let never_shown = |out: &std::process::Output, what: &str| {
        assert!(!stdout(out).contains(PASSWORD) && !stderr(out).contains(PASSWORD), "{what} shows the password: {}{}", stdout(out), stderr(out));
    };

    let home = Home::new(&format!("[source.locked]\nurl = \"{with_password}\"\n"));
    for args in
        [&["harvest", "locked"][..], &["config", "check", "--offline"][..], &["harvest", with_password.as_str()][..], &["identify", with_password.as_str()][..]]
    {
        let out = run(home.cmd(args)).await;
        assert!(!out.status.success(), "{args:?} went ahead");
        assert!(
            stderr(&out).contains("with a user name or password in it") || stdout(&out).contains("with a user name or password in it"),
            "{args:?}: {}",
            stderr(&out)
        );
        never_shown(&out, &format!("{args:?}"));
    }

    let secret = tempdir();
    std::fs::write(secret.path().join("pw"), format!("{PASSWORD}\n")).unwrap();
    let home = Home::new(&format!("[source.locked]\nurl = \"{url}\"\nuser = \"harvester\"\npassword_file = \"{}\"\n", secret.path().join("pw").display()));
    let out = run(home.cmd(&["harvest", "locked", "--json"])).await;
    assert!(out.status.success(), "{}", stderr(&out));
    never_shown(&out, "harvest");
    let summary: serde_json::Value = serde_json::from_str(stdout(&out).lines().next().unwrap()).unwrap();
    assert_eq!(summary["summary"]["records"], 300, "{summary}");
    let out = run(home.cmd(&["status", "--json"])).await;
    never_shown(&out, "status");
    let e = Home::new(&format!("[source.locked]\nurl = \"{url}\"\n")).fails(&["harvest", "locked"]).await;
    assert!(e.contains("401"), "without the credentials the repository refuses: {e}");
}

/// A retry is one short line: where (verb, base URL, the token's start)
/// once, and why in a few words, not the whole URL, token and body twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_is_one_short_line() {
    let bed = Testbed::new(RepoSpec { records: 300, ..RepoSpec::default() });
    // Request 1 is Identify, 2 the first page: 3 follows a token.
    bed.fault(3, testbeds::repository::Fault::Unavailable(testbeds::repository::RetryAfter::Seconds(1)));
    let url = bed.spawn().await.unwrap();
    let home = Home::new(&format!("[source.bed]\nurl = \"{url}\"\n"));
    let out = run(home.cmd(&["harvest", "bed"])).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let log = stderr(&out);
    let retry = log.lines().find(|l| l.contains("retrying")).unwrap_or_else(|| panic!("no retry line: {log}"));
    assert!(retry.len() < 300, "{} characters: {retry}", retry.len());
    assert!(retry.contains("ListRecords") && retry.contains("HTTP 503 (Retry-After 1s)") && retry.contains("(token "), "{retry}");
    // Once as where, and once in the harvest's span.
    assert_eq!(retry.matches(&url).count(), 2, "the URL once, besides the span: {retry}");
    assert_eq!(retry.matches("token").count(), 1, "the token once: {retry}");
    assert!(!retry.contains("<html") && !retry.contains("verb=ListRecords"), "no body, no query: {retry}");
}

/// A harvest that failed is said to have failed: a first harvest that
/// never reached its repository leaves no source behind (nothing to list or
/// serve), and a run that stopped part way is `interrupted`, with its error,
/// in `status` and `status --json`, until the next harvest resumes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_harvest_is_said_to_have_failed_and_leaves_nothing_it_did_not_get() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let home = Home::new(&format!("[http]\nmax_attempts = 1\n[source.gone]\nurl = \"http://{closed}/oai\"\n"));
    home.fails(&["harvest", "gone"]).await;
    let status: serde_json::Value = serde_json::from_str(&home.ok(&["status", "--json"]).await).unwrap();
    assert_eq!(status["sources"], serde_json::json!([]), "a repository never reached is no source: {status}");

    let bed = Testbed::new(RepoSpec { records: 500, ..RepoSpec::default() });
    // Request 1 is Identify, 2 the first page: the third fails for good.
    bed.fault(3, Fault::HtmlPage);
    let url = bed.spawn().await.unwrap();
    let home = Home::new(&format!("[http]\nmax_attempts = 1\n[source.bed]\nurl = \"{url}\"\n"));
    home.fails(&["harvest", "bed"]).await;
    let text = home.ok(&["status"]).await;
    assert!(text.contains("last run  interrupted at") && text.contains("  error     ") && text.contains("resumes it"), "{text}");
    let status: serde_json::Value = serde_json::from_str(&home.ok(&["status", "--json"]).await).unwrap();
    let run = &status["sources"][0]["last_run"];
    assert_eq!(run["state"], "interrupted", "{status}");
    assert!(run["last_error"].as_str().is_some_and(|e| e.contains("not OAI-PMH")), "{status}");
    home.ok(&["harvest", "bed"]).await;
    let status: serde_json::Value = serde_json::from_str(&home.ok(&["status", "--json"]).await).unwrap();
    assert_eq!(
        (&status["sources"][0]["last_run"]["state"], &status["sources"][0]["records"]),
        (&serde_json::json!("completed"), &serde_json::json!(500)),
        "{status}"
    );
}

/// `cat --dir` run after each harvest keeps the directory as the records
/// are: the file of a record deleted at its source goes when the files hold
/// no deletions (payload, or `--deleted exclude`), and says it is deleted
/// otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cat_dir_follows_deletions() {
    let bed = Testbed::new(RepoSpec { records: 200, deleted_every: 0, ..RepoSpec::default() });
    let url = bed.spawn().await.unwrap();
    let home = Home::new(&format!("[source.bed]\nurl = \"{url}\"\n"));
    home.ok(&["harvest", "bed"]).await;
    let (payload, excluded, xml) = (home.dir.path().join("payload"), home.dir.path().join("excluded"), home.dir.path().join("xml"));
    let cat = |dir: &Path, extra: &[&str]| {
        let mut args = vec!["cat", "bed", "--dir", dir.to_str().unwrap()];
        args.extend_from_slice(extra);
        args.into_iter().map(str::to_string).collect::<Vec<String>>()
    };
    let all = [(cat(&payload, &["--format", "payload"])), cat(&excluded, &["--deleted", "exclude"]), cat(&xml, &[])];
    for args in &all {
        home.ok(&args.iter().map(String::as_str).collect::<Vec<_>>()).await;
    }
    let files = |dir: &Path| std::fs::read_dir(dir).unwrap().count();
    assert_eq!((files(&payload), files(&excluded), files(&xml)), (200, 200, 200));

    bed.advance(chrono::TimeDelta::hours(1));
    bed.delete(7);
    home.ok(&["harvest", "bed"]).await;
    for args in &all {
        home.ok(&args.iter().map(String::as_str).collect::<Vec<_>>()).await;
    }
    assert_eq!((files(&payload), files(&excluded), files(&xml)), (199, 199, 200), "the deleted record's file goes where no deletion is written");
    let gone = "oai%3Atestbed.example%3A00000007";
    assert!(!payload.join(format!("{gone}.xml")).exists() && !excluded.join(format!("{gone}.xml")).exists());
    let kept = std::fs::read_to_string(xml.join(format!("{gone}.xml"))).unwrap();
    assert!(kept.contains("status=\"deleted\""), "{kept}");
}

/// A repository that does not report deletions: records it stops listing
/// are found only by a harvest of the whole range (`--full`), which marks
/// them deleted, says how many, and hands the deletion on like any other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_harvest_marks_deleted_what_the_repository_no_longer_lists() {
    let bed = Testbed::new(RepoSpec { records: 300, deleted_every: 0, ..RepoSpec::default() });
    let url = bed.spawn().await.unwrap();
    let home = Home::new(&format!("[source.bed]\nurl = \"{url}\"\n"));
    home.ok(&["harvest", "bed"]).await;
    bed.remove(5);
    bed.remove(6);
    let summary = |text: String| -> serde_json::Value { serde_json::from_str::<serde_json::Value>(text.lines().next().unwrap()).unwrap()["summary"].clone() };
    let incremental = summary(home.ok(&["harvest", "bed", "--json"]).await);
    assert_eq!(incremental["vanished"], 0, "an incremental harvest cannot tell: {incremental}");
    let full = summary(home.ok(&["harvest", "bed", "--full", "--json"]).await);
    assert_eq!((&full["vanished"], &full["records"]), (&serde_json::json!(2), &serde_json::json!(298)), "{full}");
    let gone: Vec<String> =
        json_lines(&home.ok(&["cat", "--format", "jsonl", "--deleted", "only"]).await).iter().map(|r| r["identifier"].as_str().unwrap().to_string()).collect();
    assert_eq!(gone, ["oai:testbed.example:00000005", "oai:testbed.example:00000006"]);
    let status: serde_json::Value = serde_json::from_str(&home.ok(&["status", "--json"]).await).unwrap();
    assert_eq!((&status["sources"][0]["records"], &status["sources"][0]["deleted"]), (&serde_json::json!(300), &serde_json::json!(2)), "{status}");
    let again = summary(home.ok(&["harvest", "bed", "--full", "--json"]).await);
    assert_eq!(again["vanished"], 0, "marked once: {again}");
    let line = home.ok(&["harvest", "bed", "--full"]).await;
    assert!(!line.contains("no longer listed"), "{line}");
}

/// Records of several sources written with `--dir`: one directory per
/// source, so that one identifier in two repositories is two files (the
/// test beds give the same identifiers), never one written twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cat_dir_writes_each_sources_records_apart() {
    let (one, two) = (Testbed::new(RepoSpec { records: 100, ..RepoSpec::default() }), Testbed::new(RepoSpec { records: 60, ..RepoSpec::default() }));
    let (u1, u2) = (one.spawn().await.unwrap(), two.spawn().await.unwrap());
    let home = Home::new(&format!("[source.one]\nurl = \"{u1}\"\n[source.two]\nurl = \"{u2}\"\n"));
    home.ok(&["harvest"]).await;
    let dir = home.dir.path().join("out");
    home.ok(&["cat", "--dir", dir.to_str().unwrap()]).await;
    let count = |d: &Path| std::fs::read_dir(d).unwrap().count();
    assert_eq!((count(&dir), count(&dir.join("one")), count(&dir.join("two"))), (2, 100, 60));
    let same = "oai%3Atestbed.example%3A00000001.xml";
    assert!(dir.join("one").join(same).is_file() && dir.join("two").join(same).is_file());
}

/// A repository that ignores `until`: the records it sends beyond the range
/// are stored (they are its records) but counted, said in the summary and
/// the log, not taken silently.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_outside_the_range_asked_for_are_counted_and_said() {
    let bed = Testbed::new(RepoSpec { records: 100, deleted_every: 0, ignores_until: true, ..RepoSpec::default() });
    let url = bed.spawn().await.unwrap();
    let home = Home::new(&format!("[source.bed]\nurl = \"{url}\"\n"));
    // One record an hour from 2001-01-01T00:00:00Z: 24 fall on the first day.
    let out = run(home.cmd(&["harvest", "bed", "--until", "2001-01-01", "--json"])).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(stdout(&out).lines().next().unwrap()).unwrap();
    assert_eq!((&report["summary"]["records"], &report["summary"]["outside"]), (&serde_json::json!(100), &serde_json::json!(76)), "{report}");
    assert!(stderr(&out).contains("records outside the range asked for"), "{}", stderr(&out));
    let text = home.ok(&["harvest", "bed", "--until", "2001-01-01"]).await;
    assert!(text.contains("76 outside the range asked for"), "{text}");
}

/// `cat --since-last NAME` hands on a delta: everything the first time,
/// then only the versions stored since (changes and deletions alike); a
/// cursor moves only when its output was written whole, and each name has
/// its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cat_since_last_hands_on_only_what_changed() {
    let bed = Testbed::new(RepoSpec { records: 100, deleted_every: 0, ..RepoSpec::default() });
    let url = bed.spawn().await.unwrap();
    let home = Home::new(&format!("[source.bed]\nurl = \"{url}\"\n"));
    home.ok(&["harvest", "bed"]).await;
    let delta = |name: &'static str| {
        let home = &home;
        async move { json_lines(&home.ok(&["cat", "--format", "jsonl", "--since-last", name]).await) }
    };
    assert_eq!(delta("partner").await.len(), 100, "everything, the first time");
    assert_eq!(delta("partner").await.len(), 0, "nothing changed since");
    bed.advance(chrono::TimeDelta::hours(1));
    bed.touch(&[3, 4]);
    bed.delete(5);
    home.ok(&["harvest", "bed"]).await;
    // A reader gone before the end: the cursor stays.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut cut = home.cmd(&["cat", "--format", "jsonl", "--since-last", "partner"]);
    cut.stdout(writer);
    assert!(run(cut).await.status.success());
    let changed = delta("partner").await;
    let ids: Vec<(&str, bool)> = changed.iter().map(|r| (r["identifier"].as_str().unwrap(), r["deleted"].as_bool().unwrap())).collect();
    assert_eq!(ids, [("oai:testbed.example:00000003", false), ("oai:testbed.example:00000004", false), ("oai:testbed.example:00000005", true)]);
    assert_eq!(delta("partner").await.len(), 0);
    assert_eq!(delta("another").await.len(), 100, "each name has its own cursor");
    // A plain cat never writes: it works on a database this user may only read.
    assert_eq!(json_lines(&home.ok(&["cat", "--format", "jsonl"]).await).len(), 100);
}
