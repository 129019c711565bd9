use super::*;

fn settings(toml_text: &str) -> Settings {
    toml::from_str(toml_text).unwrap()
}

const WIKIS: &str = "[wiki.a]\napi = \"http://a/api.php\"\noai = \"http://a/oai\"\n[wiki.b]\napi = \"http://b/api.php\"\n";

#[test]
fn each_table_is_one_job_with_its_id_and_resources() {
    let s = settings(&format!(
        "[source.z]\nurl = \"http://z/oai\"\nschedule = \"0 3 * * *\"\ntimezone = \"Europe/Berlin\"\n{WIKIS}[sync.ab]\nwiki = \"a\"\nwith = \"b\"\n[sync.files]\nwiki = \"b\"\ncheckout = \"/srv/pages\"\n"
    ));
    let (jobs, problems) = resolve(&s);
    assert_eq!(problems, []);
    let ids: Vec<(String, Vec<String>)> = jobs.iter().map(|j| (j.id(), j.resources())).collect();
    assert_eq!(
        ids,
        [
            ("source.z".to_string(), vec!["source:http://z/oai".to_string()]),
            ("wiki.a".into(), vec!["wiki:a".into()]),
            ("wiki.b".into(), vec!["wiki:b".into()]),
            ("sync.ab".into(), vec!["wiki:a".into(), "wiki:b".into()]),
            ("sync.files".into(), vec!["wiki:b".into(), "checkout:/srv/pages".into()]),
        ]
    );
    assert_eq!(jobs[0].schedule.as_ref().map(|s| s.timezone()), Some("Europe/Berlin"));
    let Work::Harvest(h) = &jobs[0].work else { panic!("{:?}", jobs[0]) };
    assert_eq!((h.source.metadata_prefix.as_str(), h.window, h.strict), ("oai_dc", None, false), "the defaults");
}

#[test]
fn a_wiki_reads_oai_when_it_has_an_oai_url_unless_told_otherwise() {
    let s = settings(&format!("{WIKIS}[wiki.c]\napi = \"http://c/api.php\"\noai = \"http://c/oai\"\nfeed = \"api\"\n"));
    let feeds: Vec<(String, Feed)> = resolve(&s)
        .0
        .into_iter()
        .map(|j| match j.work {
            Work::Mirror(m) => (j.name, m.feed),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(feeds, [("a".to_string(), Feed::Oai), ("b".into(), Feed::Api), ("c".into(), Feed::Api)]);
}

#[test]
fn tables_that_do_not_resolve_are_problems_naming_table_and_key() {
    let s = settings(&format!(
        "{WIKIS}[sync.both]\nwiki = \"a\"\nwith = \"b\"\ncheckout = \"/x\"\n[sync.neither]\nwiki = \"a\"\n[sync.ghost]\nwiki = \"a\"\nwith = \"nope\"\n\
         [source.tz]\nurl = \"http://z\"\nschedule = \"0 3 * * *\"\ntimezone = \"Mars/Olympus\"\n[source.cron]\nurl = \"http://z\"\nschedule = \"* * *\"\n"
    ));
    let (jobs, problems) = resolve(&s);
    assert_eq!(jobs.len(), 2, "the two wikis still resolve");
    let got: Vec<(&str, Option<&str>)> = problems.iter().map(|p| (p.table.as_str(), p.key)).collect();
    assert_eq!(got, [("source.cron", Some("schedule")), ("source.tz", Some("timezone")), ("sync.both", None), ("sync.ghost", None), ("sync.neither", None)]);
    assert!(problems[3].message.contains("\"nope\", which has no [wiki.nope]"), "{}", problems[3]);
    assert!(problems[2].message.contains("exactly one of `with`"), "{}", problems[2]);
    let all = format!("{:#}", resolve_all(&s).unwrap_err());
    assert!(all.contains("5 problem(s)") && all.contains("[sync.ghost]"), "{all}");
}

#[test]
fn one_table_resolves_alone_and_a_missing_one_is_named() {
    let s = settings(&format!("{WIKIS}[sync.broken]\nwiki = \"a\"\n"));
    assert_eq!(one(&s, Kind::Mirror, "a").unwrap().id(), "wiki.a", "a broken sync does not stop a wiki's job");
    assert_eq!(
        one(&s, Kind::Harvest, "x").unwrap_err().to_string(),
        "[source.x] is not configured: no config file was read (pass --config PATH, or set OAI_MIRROR_CONFIG)"
    );
}

#[test]
fn an_unknown_name_lists_the_known_ones_and_suggests_the_nearest() {
    let mut s: Settings = toml::from_str("[source.arxiv-cs]\nurl = \"http://a\"\n[source.zenodo]\nurl = \"http://z\"\n").unwrap();
    s.path = Some("/etc/oai-mirror.toml".into());
    let message = one(&s, Kind::Harvest, "arxiv_cs").unwrap_err().to_string();
    assert_eq!(message, "[source.arxiv_cs] is not in /etc/oai-mirror.toml (its [source.*] tables: arxiv-cs, zenodo); did you mean `arxiv-cs`?");
    assert_eq!(nearest("zenod", &["arxiv-cs", "zenodo"]), Some("zenodo"));
    assert_eq!(nearest("pubmed", &["arxiv-cs", "zenodo"]), None, "nothing close: no guess");
    let message = one(&s, Kind::Sync, "ab").unwrap_err().to_string();
    assert_eq!(message, "[sync.ab] is not in /etc/oai-mirror.toml, which has no [sync.*] tables");
}

#[test]
fn a_sync_by_packages_takes_a_directory_and_keep_both_only() {
    let s = settings(&format!(
        "{WIKIS}[sync.usb]\nwiki = \"a\"\npackages = \"/media/usb\"\n[sync.marked]\nwiki = \"a\"\npackages = \"/media/usb2\"\nconflicts = \"markers\"\n\
         [sync.twice]\nwiki = \"a\"\nwith = \"b\"\npackages = \"/media/usb3\"\n"
    ));
    let (jobs, problems) = resolve(&s);
    let usb = jobs.iter().find(|j| j.name == "usb").expect("the sync by packages resolves");
    assert_eq!(usb.resources(), ["wiki:a", "packages:/media/usb"]);
    let got: Vec<(&str, Option<&str>)> = problems.iter().map(|p| (p.table.as_str(), p.key)).collect();
    assert_eq!(got, [("sync.marked", Some("conflicts")), ("sync.twice", None)]);
    assert!(problems[0].message.contains("`keep-both` only"), "{}", problems[0]);
    assert!(problems[1].message.contains("`packages`"), "{}", problems[1]);
}

#[test]
fn a_group_is_a_sync_from_its_first_wiki_to_the_others_holding_every_member() {
    let s = settings(&format!(
        "{WIKIS}[wiki.c]\napi = \"http://c/api.php\"\n[group.g]\nwikis = [\"b\", \"a\", \"c\"]\ncategories = [\"Category:Handbook\"]\nprefixes = [\"Hand\"]\n"
    ));
    let job = one(&s, Kind::Group, "g").unwrap();
    assert_eq!((job.id(), job.kind(), job.resources()), ("group.g".to_string(), Kind::Group, vec!["wiki:b".into(), "wiki:a".into(), "wiki:c".into()]));
    let Work::Sync(sync) = &job.work else { panic!("{job:?}") };
    let SyncPeer::Group(spokes) = &sync.peer else { panic!("{sync:?}") };
    let spokes: Vec<&str> = spokes.iter().map(|m| m.pull.wiki.as_str()).collect();
    assert_eq!((sync.wiki.pull.wiki.as_str(), spokes), ("b", vec!["a", "c"]), "the first wiki is the hub");
    let m = sync.membership.as_deref().unwrap();
    assert_eq!((m.categories.clone(), m.selection.prefixes.clone()), (vec!["Category:Handbook".to_string()], vec!["Hand".to_string()]));
}

#[test]
fn a_group_of_fewer_than_three_wikis_or_of_a_wiki_twice_or_of_a_category_without_its_prefix_is_a_problem() {
    let cases = [
        ("wikis = [\"a\", \"b\"]", "names 2 wiki(s); a group has three or more"),
        ("wikis = [\"a\", \"b\", \"a\"]", "names wiki \"a\" twice"),
        ("wikis = [\"a\", \"b\", \"x\"]", "names wiki \"x\", which has no [wiki.x]"),
        ("wikis = [\"a\", \"b\", \"c\"]\ncategories = [\"Handbook\"]", "write it as \"Category:Handbook\""),
    ];
    for (table, message) in cases {
        let s = settings(&format!("{WIKIS}[wiki.c]\napi = \"http://c/api.php\"\n[group.g]\n{table}\n"));
        let p = one(&s, Kind::Group, "g").unwrap_err();
        assert!(p.table == "group.g" && p.message.contains(message), "{table}: {p}");
    }
    // `sync NAME` must know which table NAME is.
    let s =
        settings(&format!("{WIKIS}[wiki.c]\napi = \"http://c/api.php\"\n[group.ab]\nwikis = [\"a\", \"b\", \"c\"]\n[sync.ab]\nwiki = \"a\"\nwith = \"b\"\n"));
    assert!(one(&s, Kind::Group, "ab").unwrap_err().message.contains("same name"));
}

#[test]
fn a_url_that_cannot_be_asked_says_what_is_allowed() {
    for (url, said) in
        [("ftp://x/oai", "is a ftp URL; only http and https are allowed"), ("not a url", "is not a URL"), ("http://", "is not a URL: empty host")]
    {
        let s = settings(&format!("[source.z]\nurl = \"{url}\"\n"));
        let (_, problems) = resolve(&s);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!((problems[0].table.as_str(), problems[0].key), ("source.z", Some("url")));
        assert!(problems[0].message.contains(said) && problems[0].message.contains("base URL"), "{url}: {}", problems[0].message);
    }
    let s = settings("[wiki.w]\napi = \"file:///etc/passwd\"\n");
    let (_, problems) = resolve(&s);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].key == Some("api") && problems[0].message.contains("only http and https"), "{}", problems[0].message);
}

#[test]
fn a_direction_that_writes_only_to_a_wiki_without_an_account_is_refused() {
    let ok = settings("[wiki.pub]\napi = \"http://p/api.php\"\n[sync.s]\nwiki = \"pub\"\ncheckout = \"/srv/p\"\ndirection = \"pull\"\n");
    assert_eq!(resolve(&ok).1, [], "pull from a wiki without an account: it is only read");
    let s = settings("[wiki.pub]\napi = \"http://p/api.php\"\n[sync.s]\nwiki = \"pub\"\ncheckout = \"/srv/p\"\ndirection = \"push\"\n");
    let (_, problems) = resolve(&s);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].key == Some("direction") && problems[0].message.contains("[wiki.pub], which has no account"), "{}", problems[0].message);
}

#[test]
fn a_sync_runs_once_at_a_time_and_settling_waits_for_its_run() {
    use crate::jobs::run::RunLock;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let running = RunLock::sync(&db, "ab").unwrap();
    let e = RunLock::sync(&db, "ab").err().unwrap().to_string();
    assert!(e.contains("already going") && e.contains(&std::process::id().to_string()), "{e}");
    assert!(RunLock::sync(&db, "other").is_ok(), "another sync is not held up");
    let e = RunLock::sync_when_free(&db, "ab", std::time::Duration::from_millis(200)).err().unwrap().to_string();
    assert!(e.contains("settle the conflict again when the run has ended"), "{e}");
    let release = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        drop(running);
    });
    assert!(RunLock::sync_when_free(&db, "ab", std::time::Duration::from_secs(10)).is_ok(), "taken once the run ends");
    release.join().unwrap();
}

#[test]
fn a_wikis_files_follow_its_history_and_the_files_table_unless_it_turns_them_off() {
    let s = settings(&format!(
        "{WIKIS}[wiki.c]\napi = \"http://c/api.php\"\nhistory = \"full\"\nforeign_files = \"copy\"\n[wiki.d]\napi = \"http://d/api.php\"\nfiles = false\n\
         [files]\nmax_file_mb = 2\nmax_total_mb = 10\ndir = \"/srv/files\"\n"
    ));
    let files: Vec<(String, Option<crate::mirror::files::FilesOptions>)> = resolve(&s)
        .0
        .into_iter()
        .map(|j| match j.work {
            Work::Mirror(m) => (j.name, m.files.map(|f| *f)),
            other => panic!("{other:?}"),
        })
        .collect();
    let on = |all_versions, copy_foreign| {
        Some(crate::mirror::files::FilesOptions {
            all_versions,
            copy_foreign,
            max_file_bytes: 2 << 20,
            max_total_bytes: Some(10 << 20),
            dir: Some("/srv/files".into()),
        })
    };
    assert_eq!(files, [("a".to_string(), on(false, false)), ("b".into(), on(false, false)), ("c".into(), on(true, true)), ("d".into(), None)]);
    let unknown: Result<Settings, _> = toml::from_str("[files]\nmax_file_gb = 1\n");
    assert!(unknown.unwrap_err().to_string().contains("max_file_gb"), "an unknown key of [files] is refused");
}
