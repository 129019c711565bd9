//! Helpers shared by the integration tests.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// A clock that records the waits asked of it and returns at once, so
/// flow-control tests neither sleep nor depend on the machine's speed.
#[derive(Default)]
pub struct RecordingClock {
    pub now: Option<SystemTime>,
    pub sleeps: Mutex<Vec<Duration>>,
}

impl RecordingClock {
    pub fn at(now: SystemTime) -> Arc<RecordingClock> {
        Arc::new(RecordingClock { now: Some(now), sleeps: Mutex::new(Vec::new()) })
    }
    pub fn sleeps(&self) -> Vec<Duration> {
        self.sleeps.lock().unwrap().clone()
    }
}

impl oai::Clock for RecordingClock {
    fn now(&self) -> SystemTime {
        self.now.unwrap_or_else(SystemTime::now)
    }
    fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        self.sleeps.lock().unwrap().push(d);
        Box::pin(std::future::ready(()))
    }
}

/// Client options for tests: the recording clock and small, fixed bounds.
pub fn options(clock: Arc<RecordingClock>) -> oai::ClientOptions {
    oai::ClientOptions {
        retry: oai::RetryPolicy {
            max_attempts: 4,
            max_total_wait: Duration::from_secs(3600),
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(600),
            deadline: Duration::from_secs(3600),
        },
        timeout: Duration::from_secs(20),
        clock,
        ..oai::ClientOptions::default()
    }
}

/// The oai-mirror binary, with a private HOME so no user config leaks in.
pub fn bin(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_oai-mirror"));
    c.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env_remove("OAI_MIRROR_DB")
        .env_remove("OAI_MIRROR_CONFIG")
        .env("RUST_LOG", "info");
    c
}

/// Runs the binary to completion off the async runtime's threads.
pub async fn run(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().expect("the oai-mirror binary runs")).await.unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/oai-corpus")
}

/// Every record of the store's only source: identifier → (datestamp, deleted).
pub fn stored(db: &Path) -> std::collections::BTreeMap<String, (String, bool)> {
    let store = checkpoints::Store::open(db).unwrap();
    let mut out = std::collections::BTreeMap::new();
    let mut n = 0;
    store
        .for_each_record(None, |r| {
            n += 1;
            out.insert(r.identifier, (r.datestamp, r.deleted));
            true
        })
        .unwrap();
    assert_eq!(n, out.len(), "an identifier is stored twice");
    out
}

/// A real MediaWiki started by tests/testbeds/mediawiki.sh, once per test
/// run, in the test target's temporary directory. It stays up after the
/// tests (tests/run.sh stops it); a later run reuses it.
pub struct TestWiki {
    /// Where the test bed keeps it (`DIR` of `mediawiki.sh start`).
    pub dir: PathBuf,
    pub api: String,
    pub bot_user: String,
    pub bot_password: String,
    pub other_user: String,
    pub other_password: String,
    /// The bot's password with the `import` grant.
    pub import_user: String,
    pub import_password: String,
    /// The bot's password with the upload grants.
    pub upload_user: String,
    pub upload_password: String,
}

pub fn test_wiki() -> &'static TestWiki {
    static WIKI: std::sync::OnceLock<TestWiki> = std::sync::OnceLock::new();
    WIKI.get_or_init(|| start_wiki("wiki-a", 0))
}

/// A second, independent wiki, for two-way sync.
pub fn test_wiki_b() -> &'static TestWiki {
    static WIKI: std::sync::OnceLock<TestWiki> = std::sync::OnceLock::new();
    WIKI.get_or_init(|| start_wiki("wiki-b", 1))
}

/// A third wiki, for groups.
pub fn test_wiki_c() -> &'static TestWiki {
    static WIKI: std::sync::OnceLock<TestWiki> = std::sync::OnceLock::new();
    WIKI.get_or_init(|| start_wiki("wiki-c", 2))
}

fn start_wiki(name: &str, offset: u16) -> TestWiki {
    {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
        let base: u16 = std::env::var("OAI_MIRROR_TEST_WIKI_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(18681);
        let port = (base + offset).to_string();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/testbeds/mediawiki.sh");
        let out = Command::new("bash").arg(script).arg("start").arg(&dir).arg(&port).output().expect("bash runs");
        assert!(
            out.status.success(),
            "could not start the test MediaWiki (as root: `bash tests/testbeds/mediawiki.sh install`): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let env = std::fs::read_to_string(dir.join("credentials.env")).unwrap();
        let get = |k: &str| env.lines().find_map(|l| l.strip_prefix(&format!("{k}="))).unwrap_or_else(|| panic!("{k} in credentials.env")).to_string();
        TestWiki {
            dir,
            api: get("MW_API"),
            bot_user: get("MW_BOT_USER"),
            bot_password: get("MW_BOT_PASSWORD"),
            other_user: get("MW_OTHER_USER"),
            other_password: get("MW_OTHER_PASSWORD"),
            import_user: get("MW_IMPORT_USER"),
            import_password: get("MW_IMPORT_PASSWORD"),
            upload_user: get("MW_UPLOAD_USER"),
            upload_password: get("MW_UPLOAD_PASSWORD"),
        }
    }
}

impl TestWiki {
    pub fn client(&self, name: &str, user: &str, password: &str) -> oai_mirror::mediawiki::Wiki {
        let mut o = oai_mirror::mediawiki::WikiOptions::new(name, &self.api);
        o.login = Some((user.to_string(), oai_mirror::mediawiki::Secret::new(password)));
        oai_mirror::mediawiki::Wiki::new(o).unwrap()
    }
    pub fn bot(&self) -> oai_mirror::mediawiki::Wiki {
        self.client("a", &self.bot_user, &self.bot_password)
    }
    /// The address its server listens on.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.api.trim_start_matches("http://").split('/').next().and_then(|a| a.parse().ok()).expect("the test wiki's API is http://ADDR/…")
    }
    pub fn other(&self) -> oai_mirror::mediawiki::Wiki {
        self.client("a-other", &self.other_user, &self.other_password)
    }
}

/// A page title no other test (or earlier run) uses.
pub fn unique_title(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix} {nanos} {}", N.fetch_add(1, Ordering::Relaxed))
}

/// Saves a page as `w`, whatever is there; its new revision.
pub async fn save(w: &oai_mirror::mediawiki::Wiki, title: &str, text: &str) -> u64 {
    use oai_mirror::mediawiki::{CreateMode, Edit, EditOutcome, PageRef};
    let e =
        Edit { page: PageRef::Title(title), text, summary: "test", base_revid: None, start_timestamp: None, mode: CreateMode::Either, minor: false, tags: &[] };
    match w.edit(&e).await.unwrap() {
        EditOutcome::Saved { newrevid, .. } => newrevid,
        other => panic!("{other:?}"),
    }
}

/// (page id, current text) of a title, if it exists.
pub async fn current(w: &oai_mirror::mediawiki::Wiki, title: &str) -> Option<(u64, String)> {
    let p = w.pages(&[oai_mirror::mediawiki::PageRef::Title(title)]).await.unwrap().remove(0);
    if p.missing {
        return None;
    }
    Some((p.pageid.unwrap(), p.revision.unwrap().text.unwrap()))
}

/// A new, empty MediaWiki made for one test in a temporary directory, on
/// a free port, stopped when dropped: what importDump.php imports into.
pub struct FreshWiki {
    pub dir: tempfile::TempDir,
    pub api: String,
}

impl FreshWiki {
    pub fn start() -> FreshWiki {
        let dir = tempdir();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let out = Command::new("bash").arg(MEDIAWIKI_SH).arg("start").arg(dir.path()).arg(port.to_string()).output().expect("bash runs");
        assert!(out.status.success(), "could not start a fresh MediaWiki: {}", String::from_utf8_lossy(&out.stderr));
        FreshWiki { dir, api: format!("http://127.0.0.1:{port}/w/api.php") }
    }

    /// Runs a maintenance script of this wiki; panics with its output if it fails.
    pub fn php(&self, script: &str, args: &[&std::ffi::OsStr]) -> String {
        let out = Command::new("bash").arg(MEDIAWIKI_SH).arg("php").arg(self.dir.path()).arg(script).args(args).output().expect("bash runs");
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{script} failed: {text}");
        text
    }
}

impl Drop for FreshWiki {
    fn drop(&mut self) {
        let _ = Command::new("bash").arg(MEDIAWIKI_SH).arg("stop").arg(self.dir.path()).output();
    }
}

const MEDIAWIKI_SH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/testbeds/mediawiki.sh");

/// A revision as a wiki's API shows it: (timestamp, user, sha1, text).
pub type ApiRevision = (String, String, String, String);

/// Every page of namespace 0 whose title starts with `prefix`, with all its
/// revisions oldest first, read anonymously through the API: title →
/// (redirect, revisions). Revision ids are checked to rise with time.
pub async fn pages_by_api(api: &str, prefix: &str) -> std::collections::BTreeMap<String, (bool, Vec<ApiRevision>)> {
    oai_mirror::util::install_tls();
    let http = reqwest::Client::new();
    let get = |query: Vec<(&'static str, String)>| api_get(&http, api, query);
    pages_in(&get, 0, prefix).await
}

/// The current texts of the talk pages (namespace 1) of the pages under `prefix`.
pub async fn talk_pages_by_api(api: &str, prefix: &str) -> std::collections::BTreeMap<String, String> {
    oai_mirror::util::install_tls();
    let http = reqwest::Client::new();
    let get = |query: Vec<(&'static str, String)>| api_get(&http, api, query);
    pages_in(&get, 1, prefix).await.into_iter().map(|(t, (_, revs))| (t, revs.last().map(|r| r.3.clone()).unwrap_or_default())).collect()
}

async fn api_get(http: &reqwest::Client, api: &str, query: Vec<(&'static str, String)>) -> serde_json::Value {
    let mut q = vec![("action", "query".to_string()), ("format", "json".into()), ("formatversion", "2".into())];
    q.extend(query);
    let url = url::Url::parse_with_params(api, &q).unwrap();
    serde_json::from_slice::<serde_json::Value>(&http.get(url).send().await.unwrap().bytes().await.unwrap()).unwrap()
}

async fn pages_in<F, Fut>(get: &F, ns: i64, prefix: &str) -> std::collections::BTreeMap<String, (bool, Vec<ApiRevision>)>
where
    F: Fn(Vec<(&'static str, String)>) -> Fut,
    Fut: Future<Output = serde_json::Value>,
{
    let list = get(vec![("list", "allpages".into()), ("apprefix", prefix.into()), ("aplimit", "max".into()), ("apnamespace", ns.to_string())]).await;
    let mut out = std::collections::BTreeMap::new();
    for p in list["query"]["allpages"].as_array().unwrap() {
        let title = p["title"].as_str().unwrap().to_string();
        let v = get(vec![
            ("prop", "revisions|info".into()),
            ("titles", title.clone()),
            ("rvprop", "ids|timestamp|user|sha1|content".into()),
            ("rvslots", "main".into()),
            ("rvlimit", "max".into()),
            ("rvdir", "newer".into()),
        ])
        .await;
        let page = &v["query"]["pages"][0];
        let revs = page["revisions"].as_array().unwrap();
        let ids: Vec<u64> = revs.iter().map(|r| r["revid"].as_u64().unwrap()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "revision ids of {title} rise with time: {ids:?}");
        let revisions = revs
            .iter()
            .map(|r| {
                let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
                (s("timestamp"), s("user"), s("sha1"), r["slots"]["main"]["content"].as_str().unwrap_or_default().to_string())
            })
            .collect();
        out.insert(title, (page["redirect"].as_bool().unwrap_or(false), revisions));
    }
    out
}

/// Runs `cmd` (its stdin piped) with `input` on its standard input.
pub fn pipe(mut cmd: Command, input: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut child = cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

/// The notification mail a wiki sent about `title`: its job queue is run
/// (as a wiki's cron does), then its mail directory searched.
pub fn wiki_mail(wiki: &TestWiki, title: &str) -> Vec<u8> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/testbeds/mediawiki.sh");
    let out = Command::new("bash").arg(script).arg("php").arg(&wiki.dir).arg("runJobs.php").output().expect("bash runs");
    assert!(out.status.success(), "runJobs.php: {}", String::from_utf8_lossy(&out.stderr));
    let link = format!("/wiki/{}", title.replace(' ', "_"));
    for entry in std::fs::read_dir(wiki.dir.join("mail")).unwrap() {
        let mail = std::fs::read(entry.unwrap().path()).unwrap();
        if String::from_utf8_lossy(&mail).contains(&link) {
            return mail;
        }
    }
    panic!("the wiki mailed nothing about {title}: {}", String::from_utf8_lossy(&out.stdout));
}

/// A TCP forwarder to `target` on `port` (0: any), that can be cut: a
/// wiki behind it is down while it is, every open connection closed.
pub struct Cable {
    pub port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl Cable {
    pub async fn connect(port: u16, target: std::net::SocketAddr) -> Cable {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let mut open = tokio::task::JoinSet::new();
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else { return };
                open.spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Cable { port, task }
    }

    /// Cuts it: the listener and every connection through it close.
    pub async fn cut(self) -> u16 {
        self.task.abort();
        let _ = self.task.await;
        self.port
    }
}

/// Runs `cmd` to its end: whether it succeeded, its stderr, and its peak
/// RSS in KiB. The peak comes from a small Python parent's
/// `RUSAGE_CHILDREN`: measured from this test process, a spawned child's
/// peak would include this process's own (Linux counts the memory a child
/// starts with before it executes the binary).
pub fn measured(cmd: &std::process::Command) -> (bool, String, i64) {
    let measure = "import resource, subprocess, sys\n\
                   r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n\
                   sys.stderr.buffer.write(r.stderr)\n\
                   print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n\
                   sys.exit(r.returncode)";
    let mut py = std::process::Command::new("python3");
    py.args(["-c", measure]).arg(cmd.get_program()).args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => py.env(k, v),
            None => py.env_remove(k),
        };
    }
    let out = py.stdin(std::process::Stdio::null()).output().unwrap();
    let kb = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or_else(|e| panic!("{e}: {out:?}"));
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned(), kb)
}

/// The peak RSS in KiB so far of a running process (its `VmHWM`).
pub fn peak_rss_kb(pid: u32) -> i64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status.lines().find_map(|l| l.strip_prefix("VmHWM:")).unwrap().trim().trim_end_matches(" kB").trim().parse().unwrap()
}

/// A page's revisions after revision `after` (0: all), oldest first, read
/// through the product's chunked reader.
pub async fn revisions_after(w: &oai_mirror::mediawiki::Wiki, pageid: u64, after: u64) -> Vec<oai_mirror::mediawiki::Revision> {
    let page = w.pages(&[oai_mirror::mediawiki::PageRef::Id(pageid)]).await.unwrap().remove(0);
    let Some(current) = page.revision.map(|r| r.revid) else { return Vec::new() };
    let (mut out, mut cont) = (Vec::new(), None);
    loop {
        let chunk = w.revision_chunk(pageid, None, current, cont.as_deref()).await.unwrap().expect("the page exists");
        out.extend(chunk.revisions.into_iter().filter(|r| r.revid > after));
        match chunk.next {
            Some(n) => cont = Some(n),
            None => return out,
        }
    }
}

/// Writes `home/config.toml`: the test wikis a and b (their API feeds, the
/// bot's account on a, `b_account` (user, password) on b, titles under
/// each of `prefixes`), and `[sync.ab]` between them with `extra` in it.
/// A config mirroring `tw` as `[wiki.NAME]` through its API with the
/// bot's account, the table's other lines `extra`; the store `m.sqlite`.
pub fn mirror_config(home: &Path, tw: &TestWiki, name: &str, extra: &str) -> PathBuf {
    let secret = home.join("secret");
    std::fs::write(&secret, &tw.bot_password).unwrap();
    let config = home.join("config.toml");
    let db = home.join("m.sqlite");
    let account = format!("user = \"{}\"\npassword_file = \"{}\"", tw.bot_user, secret.display());
    std::fs::write(&config, format!("db = \"{}\"\n[wiki.{name}]\napi = \"{}\"\n{account}\nfeed = \"api\"\n{extra}", db.display(), tw.api)).unwrap();
    config
}

pub fn sync_ab_config(home: &Path, prefixes: &[String], b_account: (&str, &str), extra: &str) -> PathBuf {
    let (ta, tb) = (test_wiki(), test_wiki_b());
    let list = prefixes.iter().map(|p| format!("{p:?}")).collect::<Vec<_>>().join(", ");
    let table = |name: &str, w: &TestWiki, (user, password): (&str, &str)| {
        let secret = home.join(format!("{name}.secret"));
        std::fs::write(&secret, password).unwrap();
        format!("[wiki.{name}]\napi = \"{}\"\nuser = \"{user}\"\npassword_file = \"{}\"\nfeed = \"api\"\nprefixes = [{list}]\n", w.api, secret.display())
    };
    let config = home.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "db = \"{}\"\n{}{}[sync.ab]\nwiki = \"a\"\nwith = \"b\"\n{extra}",
            home.join("s.sqlite").display(),
            table("a", ta, (&ta.bot_user, &ta.bot_password)),
            table("b", tb, b_account)
        ),
    )
    .unwrap();
    config
}

/// A 1×1 PNG that MediaWiki takes, made unique by `mark` after its end.
pub fn png(mark: &str) -> Vec<u8> {
    let mut png = vec![
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08,
        0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00,
        0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
    ];
    png.extend_from_slice(mark.as_bytes());
    png
}

/// MediaWiki names a file's old version by its second: versions of one
/// file on one wiki are a second apart at least.
pub async fn next_second() {
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
}
