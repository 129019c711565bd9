//! `oai-mirror serve`: what a mirror holds, served over OAI-PMH again,
//! checked against the official schema, harvested by third-party clients
//! from PyPI, and harvested by another oai-mirror in turn.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use testbeds::repository::{RepoSpec, Testbed};

use crate::support::{bin, run, stderr, stdout, tempdir};

/// A mirror: a config with `[serve]` and a source `bed`, its database.
struct Mirror {
    home: tempfile::TempDir,
    config: PathBuf,
}

impl Mirror {
    fn new(origin: &str) -> Mirror {
        oai_mirror::util::install_tls();
        let home = tempdir();
        let config = home.path().join("c.toml");
        let db = home.path().join("m.sqlite");
        std::fs::write(&config, format!("db = \"{}\"\n[serve]\nadmin_email = [\"keeper@example.org\"]\n[source.bed]\nurl = \"{origin}\"\n", db.display()))
            .unwrap();
        Mirror { home, config }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = bin(self.home.path());
        c.arg("--config").arg(&self.config).args(args);
        c
    }

    async fn ok(&self, args: &[&str]) -> String {
        let out = run(self.cmd(args)).await;
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        stdout(&out)
    }

    /// Every record as (deleted, metadata), by identifier.
    async fn records(&self) -> BTreeMap<String, (bool, Option<String>)> {
        self.ok(&["cat", "--format", "jsonl"])
            .await
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                (v["identifier"].as_str().unwrap().to_string(), (v["deleted"].as_bool().unwrap(), v["metadata"].as_str().map(str::to_string)))
            })
            .collect()
    }

    async fn serve(&self) -> Served {
        let port = free_port();
        let child = self.cmd(&["serve", "--listen", &format!("127.0.0.1:{port}")]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let served = Served { child, root: format!("http://127.0.0.1:{port}") };
        for _ in 0..200 {
            if reqwest::get(format!("{}/oai", served.root)).await.is_ok_and(|r| r.status().is_success()) {
                return served;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("serve did not come up on {port}");
    }
}

struct Served {
    child: Child,
    root: String,
}

impl Served {
    fn url(&self) -> String {
        format!("{}/oai/bed", self.root)
    }

    async fn get(&self, query: &str) -> String {
        reqwest::get(format!("{}?{query}", self.url())).await.unwrap().text().await.unwrap()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Served datestamps are seconds: a change meant to come after a harvest
/// must be stored in a later second than the harvest's, and the served
/// responseDate leaves one more. Two real processes, one real clock: this
/// waits it out.
async fn next_seconds() {
    tokio::time::sleep(Duration::from_millis(2100)).await;
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn token_of(doc: &str) -> Option<String> {
    let value = doc.split("<resumptionToken").nth(1)?.split('>').nth(1)?.split('<').next()?.to_string();
    (!value.is_empty()).then_some(value)
}

/// Runs xmllint against the official schema on each file; panics with
/// what it says on the first that fails.
fn validate(files: &[PathBuf]) {
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/oai-corpus/schema/OAI-PMH.xsd");
    let out = Command::new("xmllint").arg("--noout").arg("--schema").arg(&schema).args(files).output().expect("xmllint (libxml2-utils) is installed");
    let said = String::from_utf8_lossy(&out.stderr);
    let failed: Vec<&str> = said.lines().filter(|l| !l.ends_with(" validates")).collect();
    assert!(out.status.success(), "{}", failed.join("\n"));
}

async fn origin_and_mirror(records: usize) -> (Testbed, Mirror) {
    let bed = Testbed::new(RepoSpec { records, sets: 3, ..RepoSpec::default() });
    let origin = bed.spawn().await.unwrap();
    let mirror = Mirror::new(&origin);
    mirror.ok(&["harvest", "bed"]).await;
    (bed, mirror)
}

/// A served path stays where its harvesters found it: the config that
/// named the source can change or go, the name stays, until `serve
/// --rename`, which says what that breaks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_served_name_survives_the_config_and_moves_only_when_renamed() {
    let (_bed, mirror) = origin_and_mirror(5).await;
    let listed = |served: &Served| {
        let root = served.root.clone();
        async move { reqwest::get(format!("{root}/oai")).await.unwrap().text().await.unwrap() }
    };
    let served = mirror.serve().await;
    assert!(listed(&served).await.starts_with(&format!("{}/oai/bed\t", served.root)), "named by the config");
    drop(served);
    // The config renames the source: the served path does not move.
    let text = std::fs::read_to_string(&mirror.config).unwrap().replace("[source.bed]", "[source.renamed]");
    std::fs::write(&mirror.config, text).unwrap();
    let served = mirror.serve().await;
    assert!(listed(&served).await.starts_with(&format!("{}/oai/bed\t", served.root)), "kept: {}", listed(&served).await);
    drop(served);
    let said = mirror.ok(&["serve", "--rename", "bed", "papers"]).await;
    assert!(said.contains("/oai/bed to /oai/papers") && said.contains("404"), "{said}");
    let out = run(mirror.cmd(&["serve", "--rename", "nothing", "x"])).await;
    assert!(!out.status.success() && stderr(&out).contains("no served repository is named \"nothing\""), "{}", stderr(&out));
    let out = run(mirror.cmd(&["serve", "--rename", "papers", "a/b"])).await;
    assert!(!out.status.success() && stderr(&out).contains("cannot be a served name"), "{}", stderr(&out));
    let served = mirror.serve().await;
    assert!(listed(&served).await.starts_with(&format!("{}/oai/papers\t", served.root)), "{}", listed(&served).await);
    let identify = reqwest::get(format!("{}/oai/papers?verb=Identify", served.root)).await.unwrap().text().await.unwrap();
    assert!(identify.contains(&format!("<baseURL>{}/oai/papers</baseURL>", served.root)), "{identify}");
    assert_eq!(reqwest::get(format!("{}/oai/bed?verb=Identify", served.root)).await.unwrap().status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_and_every_page_of_a_list_is_valid_against_the_schema() {
    let (_bed, mirror) = origin_and_mirror(250).await;
    let served = mirror.serve().await;
    let dir = tempdir();
    let mut files = Vec::new();
    let mut keep = |name: &str, doc: String| {
        let path = dir.path().join(format!("{name}.xml"));
        std::fs::write(&path, doc).unwrap();
        files.push(path);
    };
    let queries = [
        "verb=Identify",
        "verb=ListMetadataFormats",
        "verb=ListMetadataFormats&identifier=oai:testbed.example:00000001",
        "verb=ListSets",
        "verb=GetRecord&identifier=oai:testbed.example:00000001&metadataPrefix=oai_dc",
        "verb=GetRecord&identifier=oai:testbed.example:00000049&metadataPrefix=oai_dc",
        "verb=Frobnicate",
        "verb=ListRecords",
        "verb=ListRecords&metadataPrefix=oai_dc&metadataPrefix=oai_dc",
        "verb=ListRecords&metadataPrefix=marc",
        "verb=ListRecords&metadataPrefix=oai_dc&from=2099-01-01",
        "verb=ListRecords&resumptionToken=c0ffee",
        "verb=GetRecord&identifier=oai:nowhere:1&metadataPrefix=oai_dc",
        "verb=ListIdentifiers&metadataPrefix=oai_dc&set=set1",
        "verb=ListRecords&metadataPrefix=oai_dc&set=%27%3B%20DROP%20TABLE%20record%3B--",
        "verb=GetRecord&identifier=%00%FF%3C%26&metadataPrefix=oai_dc",
    ];
    for (i, q) in queries.iter().enumerate() {
        keep(&format!("q{i}"), served.get(q).await);
    }
    // Every page of both lists.
    for verb in ["ListRecords", "ListIdentifiers"] {
        let mut doc = served.get(&format!("verb={verb}&metadataPrefix=oai_dc")).await;
        let mut page = 0;
        loop {
            keep(&format!("{verb}-{page}"), doc.clone());
            let Some(token) = token_of(&doc) else { break };
            page += 1;
            doc = served.get(&format!("verb={verb}&resumptionToken={token}")).await;
        }
        assert_eq!(page, 2, "{verb}: three pages of 100");
    }
    // POST, as the protocol allows, and gzip when asked.
    let http = reqwest::Client::new();
    let posted =
        http.post(served.url()).header("Content-Type", "application/x-www-form-urlencoded").body("verb=Identify").send().await.unwrap().text().await.unwrap();
    assert!(posted.contains("<adminEmail>keeper@example.org</adminEmail>"), "{posted}");
    let zipped = http.get(format!("{}?verb=Identify", served.url())).header("Accept-Encoding", "gzip").send().await.unwrap();
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    keep("posted", posted);
    validate(&files);
    let sets = served.get("verb=ListSets").await;
    assert!(sets.contains("<setSpec>set2</setSpec><setName>Set number 2</setName>"), "the origin's sets, as it declared them: {sets}");
}

/// The provenance container as the guidelines for aggregators describe it:
/// `originDescription` with harvestDate and altered, holding baseURL,
/// identifier, datestamp and metadataNamespace in that order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_record_says_where_it_came_from() {
    let bed = Testbed::new(RepoSpec { records: 20, ..RepoSpec::default() });
    let origin_url = bed.spawn().await.unwrap();
    let mirror = Mirror::new(&origin_url);
    mirror.ok(&["harvest", "bed"]).await;
    let served = mirror.serve().await;
    let doc = served.get("verb=GetRecord&identifier=oai:testbed.example:00000005&metadataPrefix=oai_dc").await;
    let about = doc.split("<about>").nth(1).unwrap().split("</about>").next().unwrap();
    assert!(about.starts_with("<provenance xmlns=\"http://www.openarchives.org/OAI/2.0/provenance\""), "{about}");
    let origin = about.split("<originDescription ").nth(1).unwrap();
    assert!(origin.contains("altered=\"false\"") && origin.contains("harvestDate=\""), "{origin}");
    let order: Vec<usize> = ["<baseURL>", "<identifier>", "<datestamp>", "<metadataNamespace>"].iter().map(|t| origin.find(t).unwrap()).collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "in the guidelines' order: {origin}");
    assert!(origin.contains(&format!("<baseURL>{origin_url}</baseURL>")), "{origin}");
    assert!(origin.contains("<identifier>oai:testbed.example:00000005</identifier><datestamp>2001-01-01T05:00:00Z</datestamp>"), "{origin}");
    assert!(origin.contains("<metadataNamespace>http://www.openarchives.org/OAI/2.0/oai_dc/</metadataNamespace>"), "{origin}");
}

/// The identifiers and deletions a third-party client got.
async fn harvested_by(client: &str, url: &str, from: Option<&str>) -> BTreeMap<String, (bool, Option<String>)> {
    let venv = std::env::var("OAI_MIRROR_PYOAI_VENV").map(PathBuf::from).unwrap_or_else(|_| dirs_cache().join("oai-mirror/pyoai-venv"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testbeds/oai_clients.py");
    let mut c = Command::new(venv.join("bin/python"));
    c.arg(script).arg(client).arg(url).args(from);
    let out = run(c).await;
    assert!(out.status.success(), "{client}: {} (run `bash tests/testbeds/pyoai-server.sh --setup`)", stderr(&out));
    stdout(&out)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["identifier"].as_str().unwrap().to_string(), (v["deleted"].as_bool().unwrap(), v["text"].as_str().map(str::to_string)))
        })
        .collect()
}

fn dirs_cache() -> PathBuf {
    std::env::var("XDG_CACHE_HOME").map(PathBuf::from).unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache"))
}

/// The metadata's text content, whitespace squeezed, as the Python side
/// prints it.
fn text_of(metadata: &str) -> String {
    let mut reader = quick_xml::Reader::from_reader(metadata.as_bytes());
    let mut text = String::new();
    loop {
        match reader.read_event().unwrap() {
            quick_xml::events::Event::Text(t) => text.push_str(&t.xml_content(quick_xml::XmlVersion::Implicit1_0)),
            quick_xml::events::Event::GeneralRef(r) => {
                let name: &str = r.as_ref();
                text.push_str(&quick_xml::escape::unescape(&format!("&{name};")).unwrap());
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyoai_sickle_and_scythe_harvest_exactly_what_the_store_holds_fully_and_incrementally() {
    let (bed, mirror) = origin_and_mirror(250).await;
    let served = mirror.serve().await;
    let stored = mirror.records().await;
    let expected: BTreeMap<String, (bool, Option<String>)> = stored.iter().map(|(id, (d, m))| (id.clone(), (*d, m.as_deref().map(text_of)))).collect();
    assert!(expected.values().any(|(d, _)| *d), "the origin has deletions");
    for client in ["pyoai", "sickle", "scythe"] {
        assert_eq!(harvested_by(client, &served.url(), None).await, expected, "{client}, full");
    }

    // The origin changes; the mirror harvests; each client asks from the
    // mirror's responseDate before that and gets what the mirror serves
    // from then, the changes included.
    next_seconds().await;
    let before = served.get("verb=Identify").await;
    let since = before.split("<responseDate>").nth(1).unwrap().split('<').next().unwrap().to_string();
    bed.advance(chrono::TimeDelta::hours(1));
    bed.touch(&[1, 2, 3]);
    bed.delete(4);
    mirror.ok(&["harvest", "bed"]).await;
    let served_since: Vec<String> = {
        let doc = served.get(&format!("verb=ListIdentifiers&metadataPrefix=oai_dc&from={since}")).await;
        doc.split("<identifier>").skip(1).map(|p| p.split('<').next().unwrap().to_string()).collect()
    };
    for changed in ["oai:testbed.example:00000001", "oai:testbed.example:00000004"] {
        assert!(served_since.contains(&changed.to_string()), "{changed} in {served_since:?}");
    }
    for client in ["pyoai", "sickle", "scythe"] {
        let got = harvested_by(client, &served.url(), Some(&since)).await;
        assert_eq!(got.keys().cloned().collect::<Vec<_>>(), served_since, "{client}, incremental");
        assert!(got["oai:testbed.example:00000004"].0, "{client}: the deletion, persistent");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mirror_of_a_mirror_holds_the_same_records_and_tokens_outlive_the_server() {
    let (bed, first) = origin_and_mirror(300).await;
    let served = first.serve().await;
    next_seconds().await;
    let second = Mirror::new(&served.url());
    second.ok(&["harvest", "bed"]).await;
    assert_eq!(second.records().await, first.records().await, "identifiers, deletions and metadata bytes");

    next_seconds().await;
    bed.advance(chrono::TimeDelta::hours(1));
    bed.touch(&[10, 20]);
    bed.delete(30);
    first.ok(&["harvest", "bed"]).await;
    let again = second.ok(&["harvest", "bed"]).await;
    assert_eq!(second.records().await, first.records().await, "after a change at the origin");
    let taken: u64 = again.split(": ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!(taken < 50, "the second mirror's harvest is incremental: {again}");

    // A token given before a restart is answered after it.
    let page = served.get("verb=ListRecords&metadataPrefix=oai_dc").await;
    let token = token_of(&page).unwrap();
    drop(served);
    let restarted = first.serve().await;
    let next = restarted.get(&format!("verb=ListRecords&resumptionToken={token}")).await;
    assert!(next.contains("cursor=\"100\"") && !next.contains("<error"), "{next:.600}");
}

/// One mirror in a chain: a daemon with a control port and a serve port.
struct Link {
    home: tempfile::TempDir,
    config: PathBuf,
    control: u16,
    serve: u16,
    child: Option<Child>,
}

const TOKEN: &str = "chain-token-0123456789";

impl Link {
    /// A mirror harvesting `upstream` as `[source.NAME]`, telling `below`
    /// (a trigger URL) when it stored changes. Its schedule (New Year's
    /// midnight) does not come round in a test: it runs when told.
    fn new(name: &str, upstream: &str, below: Option<String>) -> Link {
        oai_mirror::util::install_tls();
        let home = tempdir();
        let (control, serve) = (free_port(), free_port());
        let notify = below.map(|url| format!("[[serve.notify]]\nurl = \"{url}\"\ntoken_env = \"OAI_MIRROR_TOKEN\"\n")).unwrap_or_default();
        let config = home.path().join("c.toml");
        std::fs::write(
            &config,
            format!(
                "db = \"{}\"\n[daemon]\ntoken_env = \"OAI_MIRROR_TOKEN\"\n[serve]\nlisten = \"127.0.0.1:{serve}\"\n{notify}[source.{name}]\nurl = \"{upstream}\"\nschedule = \"0 0 1 1 *\"\n",
                home.path().join("m.sqlite").display()
            ),
        )
        .unwrap();
        Link { home, config, control, serve, child: None }
    }

    fn trigger_url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/trigger/source.{name}", self.control)
    }

    fn served(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/oai/{name}", self.serve)
    }

    async fn start(&mut self) {
        let mut c = bin(self.home.path());
        c.arg("--config").arg(&self.config).env("OAI_MIRROR_TOKEN", TOKEN).args(["run", "--listen", &format!("127.0.0.1:{}", self.control)]);
        let log = std::fs::File::create(self.home.path().join("daemon.log")).unwrap();
        self.child = Some(c.stdout(Stdio::null()).stderr(log).spawn().unwrap());
        for _ in 0..400 {
            let answered = reqwest::Client::new().get(format!("http://127.0.0.1:{}/status", self.control)).bearer_auth(TOKEN).send().await;
            if answered.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the daemon did not start: {}", std::fs::read_to_string(self.home.path().join("daemon.log")).unwrap_or_default());
    }

    /// How many runs its one job has finished.
    async fn runs(&self) -> u64 {
        let bytes =
            reqwest::Client::new().get(format!("http://127.0.0.1:{}/status", self.control)).bearer_auth(TOKEN).send().await.unwrap().bytes().await.unwrap();
        let status: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        status["jobs"][0]["runs"].as_u64().unwrap_or(0)
    }

    async fn records(&self) -> BTreeMap<String, (bool, Option<String>)> {
        Mirror { home: tempdir(), config: self.config.clone() }.records().await
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Waits (bounded) until every link has finished `runs` runs.
async fn settled(links: &[&Link], runs: u64) -> Duration {
    let started = std::time::Instant::now();
    loop {
        let mut done = true;
        for l in links {
            done &= l.runs().await >= runs;
        }
        if done {
            return started.elapsed();
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the chain did not settle");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// origin (the PyPI `oaipmh` server) → mirror 1 → mirror 2 → mirror 3, each
/// an `oai-mirror run` whose schedule does not come round during the test:
/// one trigger at the top carries every change, deletions included, to the
/// bottom, each mirror telling the next (`[serve] notify`); no poll happens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_travels_down_a_chain_of_mirrors_without_a_poll() {
    let work = tempdir();
    let changes = work.path().join("changes.txt");
    let origin_server = crate::interop::start(300, &["--batch-size", "100"], &changes);
    let origin = origin_server.url.clone();
    // Built from the bottom, so each knows the trigger of the one below.
    let mut third = Link::new("two", "", None);
    let mut second = Link::new("one", "", Some(third.trigger_url("two")));
    let mut first = Link::new("bed", &origin, Some(second.trigger_url("one")));
    // Now that the ports are known, each harvests the one above.
    let upstream = |link: &Link, name: &str, url: &str| {
        let text =
            std::fs::read_to_string(&link.config).unwrap().replace(&format!("[source.{name}]\nurl = \"\""), &format!("[source.{name}]\nurl = \"{url}\""));
        std::fs::write(&link.config, text).unwrap();
    };
    upstream(&second, "one", &first.served("bed"));
    upstream(&third, "two", &second.served("one"));
    for link in [&mut third, &mut second, &mut first] {
        link.start().await;
    }
    let at_origin = || async { harvested_by("sickle", &origin, None).await.into_iter().map(|(id, (deleted, _))| (id, deleted)).collect::<BTreeMap<_, _>>() };
    let ids_of = |records: &BTreeMap<String, (bool, Option<String>)>| records.iter().map(|(id, (d, _))| (id.clone(), *d)).collect::<BTreeMap<_, _>>();

    let trigger = |url: String| async move { reqwest::Client::new().post(url).bearer_auth(TOKEN).send().await.unwrap().status() };
    assert_eq!(trigger(first.trigger_url("bed")).await, 202);
    let took = settled(&[&first, &second, &third], 1).await;
    let top = first.records().await;
    assert_eq!(top.len(), 300);
    assert_eq!(ids_of(&top), at_origin().await, "mirror 1 holds what the origin has");
    assert_eq!(second.records().await, top);
    assert_eq!(third.records().await, top);

    // The origin changes two records and deletes one; one trigger.
    next_seconds().await;
    std::fs::write(&changes, "7\n8\n-9\n").unwrap();
    assert_eq!(trigger(first.trigger_url("bed")).await, 202);
    let took_again = settled(&[&first, &second, &third], 2).await;
    let top = first.records().await;
    assert!(top["oai:pyoai.example:0000009"].0, "the deletion reached mirror 1");
    assert!(top["oai:pyoai.example:0000007"].1.as_deref().unwrap().contains("version 2"), "and the new version");
    assert_eq!(ids_of(&top), at_origin().await);
    assert_eq!(second.records().await, top);
    assert_eq!(third.records().await, top, "and mirror 3, without a poll");
    for link in [&first, &second, &third] {
        assert_eq!(link.runs().await, 2, "each ran once per change, when told: no scheduled run");
    }
    assert!(took_again < Duration::from_secs(10), "first round {took:?}, second {took_again:?}");

    // Mirror 3 says where the record came from, all the way up: its own
    // description holds mirror 2's, which holds mirror 1's (the origin).
    let doc = reqwest::get(format!("{}?verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:pyoai.example:0000007", third.served("two")))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let about = doc.split("<about>").nth(1).unwrap();
    let bases: Vec<&str> = about.split("<baseURL>").skip(1).map(|p| p.split('<').next().unwrap()).collect();
    assert_eq!(bases, [second.served("one"), first.served("bed"), origin.clone()], "{about}");
    assert_eq!(about.matches("</originDescription>").count(), 3);
}

/// The pages of a mirrored wiki, as `pages --json` lists them, by id.
async fn pages_of(config: &Path, home: &Path, wiki: &str) -> BTreeMap<u64, serde_json::Value> {
    let mut c = bin(home);
    c.arg("--config").arg(config).args(["pages", wiki, "--json"]);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["id"].as_u64().unwrap(), v)
        })
        .collect()
}

/// A real MediaWiki → mirror 1 (through the action API) → mirror 2, which
/// mirrors mirror 1's served `mediawiki` feed: page ids, titles, moves with
/// and without a redirect, deletions and undeletions come through equal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mirror_of_a_wiki_mirror_keeps_ids_moves_and_deletions() {
    use crate::support::{save, test_wiki, unique_title};
    let tw = test_wiki();
    let w = tw.bot();
    let prefix = format!("{} ", unique_title("Chain").replace(' ', ""));
    let t = |name: &str| format!("{prefix}{name}");
    for name in ["Alpha", "Beta", "Gamma", "Delta"] {
        save(&w, &t(name), &format!("{name} & <text>\n\nsecond line")).await;
    }
    let first = tempdir();
    let secret = first.path().join("bot.secret");
    std::fs::write(&secret, &tw.bot_password).unwrap();
    let first_config = first.path().join("c.toml");
    std::fs::write(
        &first_config,
        format!(
            "db = \"{}\"\n[serve]\n[wiki.src]\napi = \"{}\"\nuser = \"{}\"\npassword_file = \"{}\"\nfeed = \"api\"\nprefixes = [\"{prefix}\"]\n",
            first.path().join("m.sqlite").display(),
            tw.api,
            tw.bot_user,
            secret.display()
        ),
    )
    .unwrap();
    let mirror_one = Mirror { home: first, config: first_config };
    mirror_one.ok(&["mirror", "src"]).await;
    let served = mirror_one.serve().await;
    let second = tempdir();
    let second_config = second.path().join("c.toml");
    // Mirror 2 reads only mirror 1's feed; its action API is never asked.
    std::fs::write(
        &second_config,
        format!(
            "db = \"{}\"\n[wiki.up]\napi = \"http://127.0.0.1:9/never/api.php\"\noai = \"{}/oai/wiki/src\"\nfeed = \"oai\"\nrender = false\n",
            second.path().join("m.sqlite").display(),
            served.root
        ),
    )
    .unwrap();
    let mirror_two = Mirror { home: second, config: second_config };
    let compare = |round: &'static str| {
        let (one, two) = (&mirror_one, &mirror_two);
        async move {
            two.ok(&["mirror", "up"]).await;
            let a = pages_of(&one.config, one.home.path(), "src").await;
            let b = pages_of(&two.config, two.home.path(), "up").await;
            assert!(!a.is_empty());
            assert_eq!(b, a, "{round}: mirror 2 differs from mirror 1");
            a
        }
    };
    let start = compare("first pull").await;
    assert_eq!(start.values().filter(|p| p["deleted"] == false).count(), 4);

    next_seconds().await;
    w.move_page(&t("Alpha"), &t("Alpha moved"), false, "chain test").await.unwrap();
    w.move_page(&t("Beta"), &t("Beta moved"), true, "chain test").await.unwrap();
    w.delete(&t("Gamma"), "chain test").await.unwrap();
    save(&w, &t("Delta"), "Delta, edited").await;
    mirror_one.ok(&["mirror", "src"]).await;
    let moved = compare("moves, a deletion, an edit").await;
    let alpha = start.values().find(|p| p["title"] == t("Alpha").as_str()).unwrap()["id"].as_u64().unwrap();
    assert_eq!(moved[&alpha]["title"], t("Alpha moved").as_str(), "the moved page keeps its id");
    assert!(moved.values().any(|p| p["title"] == t("Alpha").as_str() && p["redirect"].is_string()), "the redirect left behind");

    next_seconds().await;
    w.undelete(&t("Gamma"), "chain test").await.unwrap();
    mirror_one.ok(&["mirror", "src"]).await;
    let back = compare("an undeletion").await;
    assert!(back.values().any(|p| p["title"] == t("Gamma").as_str() && p["deleted"] == false));

    // What the wiki is served as is valid OAI-PMH too.
    let dir = tempdir();
    let mut files = Vec::new();
    for (i, q) in
        ["verb=Identify", "verb=ListMetadataFormats", "verb=ListRecords&metadataPrefix=mediawiki", "verb=ListRecords&metadataPrefix=oai_dc", "verb=ListSets"]
            .iter()
            .enumerate()
    {
        let doc = reqwest::get(format!("{}/oai/wiki/src?{q}", served.root)).await.unwrap().text().await.unwrap();
        let path = dir.path().join(format!("w{i}.xml"));
        std::fs::write(&path, &doc).unwrap();
        files.push(path);
        // Each record's page is valid MediaWiki export XML, as the OAI
        // extension's are: with the wiki's <siteinfo>, each revision's
        // <origin> and <sha1>, and its contributor's id.
        if q.ends_with("mediawiki") {
            let records: Vec<&str> = doc.split("<metadata>").skip(1).filter_map(|m| m.split("</metadata>").next()).collect();
            assert!(!records.is_empty(), "{doc}");
            let mut pages = Vec::new();
            for (n, record) in records.iter().enumerate() {
                assert!(record.contains("<namespaces>") && record.contains("<dbname>") && record.contains("<namespace key=\"1\""), "{record}");
                assert!(record.contains("<origin>") && record.contains("<sha1>") && record.contains("</username>\n        <id>"), "{record}");
                let path = dir.path().join(format!("page{n}.xml"));
                std::fs::write(&path, record).unwrap();
                pages.push(path);
            }
            validate_export(&pages);
        }
    }
    validate(&files);
}

/// Runs xmllint against MediaWiki's export schema 0.11 on each file.
fn validate_export(files: &[PathBuf]) {
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mediawiki/export-0.11.xsd");
    let out = Command::new("xmllint").arg("--noout").arg("--schema").arg(&schema).args(files).output().expect("xmllint (libxml2-utils) is installed");
    assert!(out.status.success(), "not valid export-0.11: {}", String::from_utf8_lossy(&out.stderr));
}

/// Thirty clients ask for a list of large records (200 KB each: 20 MB a
/// page of 100 before pages had a byte bound) and never read their answer:
/// the server's memory follows what a page may hold, and a client that
/// reads is answered meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_never_read_large_answers_hold_bounded_memory() {
    use tokio::io::AsyncWriteExt;
    let mirror = Mirror::new("http://origin.invalid/oai");
    {
        let mut store = checkpoints::Store::open(&mirror.home.path().join("m.sqlite")).unwrap();
        let key = checkpoints::SourceKey { base_url: "http://origin.invalid/oai".into(), metadata_prefix: "oai_dc".into(), set_spec: None };
        let source = store.source(&key, 0).unwrap();
        let run = store.start_run(source.id, &checkpoints::RunPlan::default(), &checkpoints::Position::default(), 0).unwrap();
        let mut rng = fastrand::Rng::with_seed(6);
        // Text that does not compress away: the store keeps it as large.
        let big: Vec<String> = (0..200).map(|i| format!("<dc>{i} {}</dc>", (0..200_000).map(|_| rng.alphanumeric()).collect::<String>())).collect();
        let ids: Vec<String> = (0..200).map(|i| format!("oai:origin:{i:03}")).collect();
        let records = (0..200)
            .map(|i| checkpoints::RecordIn {
                identifier: &ids[i],
                datestamp: "2001-01-01",
                datestamp_unix: 978_307_200,
                deleted: false,
                sets: &[],
                metadata: Some(big[i].as_bytes()),
                about: None,
                text: None,
            })
            .collect();
        store.commit_page(run.id, &checkpoints::PageCommit::of_records(records, 0)).unwrap();
    }
    let served = mirror.serve().await;
    let list = String::from_utf8(reqwest::get(format!("{}/oai", served.root)).await.unwrap().bytes().await.unwrap().to_vec()).unwrap();
    let path = list.split_whitespace().next().unwrap().trim_start_matches(&served.root).to_string();
    let addr = served.root.trim_start_matches("http://").to_string();
    let mut idle = Vec::new();
    for _ in 0..30 {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        s.write_all(format!("GET {path}?verb=ListRecords&metadataPrefix=oai_dc HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes()).await.unwrap();
        idle.push(s);
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let answer = reqwest::get(format!("{}{path}?verb=Identify", served.root)).await.unwrap().text().await.unwrap();
    assert!(answer.contains("<Identify>"), "{answer}");
    let peak_kb = crate::support::peak_rss_kb(served.child.id());
    println!("30 clients not reading 20 MB of records each: server peak RSS {:.1} MB", peak_kb as f64 / 1024.0);
    assert!(peak_kb < 200 * 1024, "peak RSS {} MB", peak_kb / 1024);
    drop(idle);
}

/// A wiki with one page of 100 MiB, asked for by four clients at once:
/// each answer reads the text from the store a part at a time and spools
/// what it writes to disk, so the server's memory stays bounded, and each
/// client gets the page whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_page_asked_for_at_once_by_four_clients_costs_disk_not_memory() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mirror = Mirror::new("http://origin.invalid/oai");
    let size = 100usize << 20;
    {
        let mut store = checkpoints::Store::open(&mirror.home.path().join("m.sqlite")).unwrap();
        let line = "The quick brown fox jumps over the lazy dog, and a few words more to fill it.\n";
        let text = line.repeat(size / line.len() + 1);
        let revision = checkpoints::RevisionRow {
            revid: 1,
            timestamp: "2026-01-01T00:00:00Z".into(),
            user: "Ann".into(),
            sha1: "0".repeat(40),
            text,
            ..checkpoints::RevisionRow::default()
        };
        let page = checkpoints::PageRow { pageid: 1, ns: 0, title: "Huge".into(), redirect: None, displaced: false, rev_id: 1 };
        store.apply_wiki_batch("w", &[checkpoints::PageOp::Upsert { page, revisions: vec![revision] }], None, 0).unwrap();
    }
    let served = mirror.serve().await;
    let addr = served.root.trim_start_matches("http://").to_string();
    let asks: Vec<_> = (0..4)
        .map(|_| {
            let addr = addr.clone();
            tokio::spawn(async move {
                let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
                s.write_all(b"GET /oai/wiki/w?verb=ListRecords&metadataPrefix=mediawiki HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
                let (mut total, mut buf) = (0usize, vec![0u8; 1 << 16]);
                loop {
                    match s.read(&mut buf).await.unwrap() {
                        0 => return total,
                        n => total += n,
                    }
                }
            })
        })
        .collect();
    for a in asks {
        let got = a.await.unwrap();
        assert!(got > size, "a whole answer: {got} bytes");
    }
    let peak_kb = crate::support::peak_rss_kb(served.child.id());
    println!("a 100 MiB page asked for by 4 clients at once: server peak RSS {:.1} MB", peak_kb as f64 / 1024.0);
    assert!(peak_kb < 200 * 1024, "peak RSS {} MB", peak_kb / 1024);
}

/// Slowloris: a thousand clients from one address, each sending a header
/// line every second and never finishing its request, keep a legitimate
/// client from another address waiting not at all: one address gets its
/// share of connections (the rest are closed at once), and a request whose
/// head is not whole within `request_timeout_secs` is closed, however
/// steadily it trickles.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_slow_clients_never_keep_a_legitimate_one_waiting() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (_bed, mirror) = origin_and_mirror(10).await;
    let text = std::fs::read_to_string(&mirror.config).unwrap().replace("[serve]\n", "[serve]\nrequest_timeout_secs = 3\n");
    std::fs::write(&mirror.config, text).unwrap();
    let served = mirror.serve().await;
    let addr = served.root.trim_start_matches("http://").to_string();
    let mut slow = Vec::new();
    for _ in 0..1000 {
        let mut s = tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect(&addr)).await.unwrap().unwrap();
        let _ = s.write_all(b"GET /oai/bed?verb=Identify HTTP/1.1\r\nHost: slow\r\n").await;
        slow.push(s);
    }
    let started = std::time::Instant::now();
    let (done_tx, mut done_rx) = tokio::sync::oneshot::channel::<()>();
    let trickle = tokio::spawn(async move {
        // A header line a second each, as long as the server keeps them.
        loop {
            for s in slow.iter_mut() {
                let _ = tokio::time::timeout(Duration::from_millis(5), s.write_all(b"X-Slow: 1\r\n")).await;
            }
            tokio::select! {
                _ = &mut done_rx => return slow,
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    });
    let legit = reqwest::Client::builder().local_address(std::net::IpAddr::from([127, 0, 0, 2])).timeout(Duration::from_secs(20)).build().unwrap();
    for _ in 0..5 {
        let asked = std::time::Instant::now();
        let answer = legit.get(format!("{}?verb=Identify", served.url())).send().await.unwrap().text().await.unwrap();
        assert!(answer.contains("<Identify>"), "{answer}");
        assert!(asked.elapsed() < Duration::from_secs(2), "a legitimate client waited {:?}", asked.elapsed());
    }
    // Past the request deadline every slow one is closed, although each
    // sent a byte within the idle timeout all along.
    tokio::time::sleep(Duration::from_secs(5).saturating_sub(started.elapsed())).await;
    let _ = done_tx.send(());
    let slow = trickle.await.unwrap();
    let mut open = 0;
    for mut s in slow {
        let mut buf = [0u8; 256];
        loop {
            match tokio::time::timeout(Duration::from_millis(50), s.read(&mut buf)).await {
                Ok(Ok(0) | Err(_)) => break,
                Ok(Ok(_)) => continue,
                Err(_) => {
                    open += 1;
                    break;
                }
            }
        }
    }
    assert_eq!(open, 0, "slow clients still held open after the request deadline");
}

/// Clients that stall (a request sent in part, then nothing) hold a
/// connection slot for the idle timeout at most; meanwhile and after, other
/// clients are served, many at once, and absurd requests get OAI errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_and_hostile_clients_hold_nothing_for_long() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (_bed, mirror) = origin_and_mirror(50).await;
    let text = std::fs::read_to_string(&mirror.config).unwrap().replace("[serve]\n", "[serve]\nmax_connections = 4\nclient_timeout_secs = 1\n");
    std::fs::write(&mirror.config, text).unwrap();
    let served = mirror.serve().await;
    let addr = served.root.trim_start_matches("http://").to_string();
    // Every slot taken by a client that sends half a request and stops.
    let mut stalled = Vec::new();
    for _ in 0..4 {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"GET /oai/bed?verb=Identify HTTP/1.1\r\nHo").await.unwrap();
        stalled.push(s);
    }
    let started = std::time::Instant::now();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let answer = http.get(format!("{}?verb=Identify", served.url())).send().await.unwrap().text().await.unwrap();
    assert!(answer.contains("<Identify>"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(8), "served after the stalled ones timed out: {:?}", started.elapsed());
    for mut s in stalled {
        let mut buf = [0u8; 64];
        let closed = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await;
        assert!(matches!(closed, Ok(Ok(0)) | Ok(Err(_))), "the server closed the stalled connection: {closed:?}");
    }
    // Many at once: every one answered, none an error.
    let asks: Vec<_> = (0..24)
        .map(|i| {
            let (http, url) = (http.clone(), served.url());
            tokio::spawn(async move {
                http.get(format!("{url}?verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:testbed.example:{:08}", i % 50))
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap()
            })
        })
        .collect();
    for a in asks {
        let doc = a.await.unwrap();
        assert!(doc.contains("<GetRecord>"), "{doc:.300}");
    }
    let huge = http
        .post(served.url())
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("verb=GetRecord&metadataPrefix=oai_dc&identifier={}", "x".repeat(100_000)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(huge.contains("code=\"badArgument\""), "{huge:.300}");
}

/// A list walked while a harvest writes into the same store: every record
/// that was there unchanged when the list began comes exactly once;
/// versions stored meanwhile are left to the next harvest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_walked_while_a_harvest_writes_skips_and_repeats_nothing() {
    let (bed, mirror) = origin_and_mirror(400).await;
    let served = mirror.serve().await;
    let identifiers = |doc: &str| -> Vec<String> { doc.split("<identifier>").skip(1).map(|p| p.split('<').next().unwrap().to_string()).collect() };
    let mut doc = served.get("verb=ListIdentifiers&metadataPrefix=oai_dc").await;
    let mut seen = identifiers(&doc);
    // Between the first page and the rest, the origin changes records on
    // both sides of the walk and the mirror harvests them.
    next_seconds().await;
    bed.advance(chrono::TimeDelta::hours(1));
    bed.touch(&[5, 250, 399]);
    bed.delete(300);
    mirror.ok(&["harvest", "bed"]).await;
    while let Some(token) = token_of(&doc) {
        doc = served.get(&format!("verb=ListIdentifiers&resumptionToken={token}")).await;
        assert!(!doc.contains("<error"), "{doc:.400}");
        seen.extend(identifiers(&doc));
    }
    let changed = ["00000005", "00000250", "00000399", "00000300"].map(|n| format!("oai:testbed.example:{n}"));
    for i in 0..400 {
        let id = format!("oai:testbed.example:{i:08}");
        let times = seen.iter().filter(|s| **s == id).count();
        if changed.contains(&id) {
            assert!(times <= 1, "{id} listed {times} times");
        } else {
            assert_eq!(times, 1, "{id}, unchanged, listed {times} times");
        }
    }
}

/// A client that asks for a large page and then reads nothing holds its
/// connection only until the write has made no progress for the idle
/// timeout: with one connection allowed, the next client is served soon.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_reads_nothing_is_cut_off_and_frees_its_slot() {
    use tokio::io::AsyncWriteExt;
    let (_bed, mirror) = origin_and_mirror(300).await;
    let text = std::fs::read_to_string(&mirror.config).unwrap().replace("[serve]\n", "[serve]\nmax_connections = 1\nclient_timeout_secs = 1\n");
    std::fs::write(&mirror.config, text).unwrap();
    let served = mirror.serve().await;
    let addr: std::net::SocketAddr = served.root.trim_start_matches("http://").parse().unwrap();
    // A small receive window, so the answer (about 150 KB) cannot all be
    // taken by the kernels while nobody reads.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut silent = socket.connect(addr).await.unwrap();
    silent.write_all(format!("GET /oai/bed?verb=ListRecords&metadataPrefix=oai_dc HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes()).await.unwrap();
    let started = std::time::Instant::now();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let answer = http.get(format!("{}?verb=Identify", served.url())).send().await.unwrap().text().await.unwrap();
    assert!(answer.contains("<Identify>"), "{answer:.300}");
    assert!(started.elapsed() < Duration::from_secs(8), "served once the silent client was cut off: {:?}", started.elapsed());
    drop(silent);
}
