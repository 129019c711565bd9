//! Full history against a real MediaWiki 1.39: a page's history there was
//! before the mirror, read after the fact, resumed after a kill, equals
//! the wiki's own full-history Special:Export.

use crate::support::*;

/// MediaWiki export XML of one page with `n` revisions by three users (two
/// accounts the wiki has, one IP), each with its own summary, every fifth minor.
fn history_xml(title: &str, n: usize) -> String {
    let users = ["<username>Admin</username>", "<username>Otheruser</username>", "<ip>192.0.2.7</ip>"];
    let mut xml = String::from(r#"<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" version="0.11" xml:lang="en"><page>"#);
    xml += &format!("<title>{title}</title><ns>0</ns>");
    for i in 0..n {
        let (day, rest) = (i / 1440, i % 1440);
        xml += &format!(
            "<revision><timestamp>2021-0{}-{:02}T{:02}:{:02}:00Z</timestamp><contributor>{}</contributor>{}<comment>edit {i} &amp; more</comment>\
             <model>wikitext</model><format>text/x-wiki</format><text xml:space=\"preserve\">Line {i}\n{}</text></revision>",
            1 + day / 28,
            1 + day % 28,
            rest / 60,
            rest % 60,
            users[i % 3],
            if i % 5 == 4 { "<minor/>" } else { "" },
            "text &lt;b&gt;&amp;lt;kept&amp;gt;&lt;/b&gt;\n".repeat(1 + i % 7),
        );
    }
    xml + "</page></mediawiki>"
}

/// The page's full history as the wiki's Special:Export gives it:
/// (revision id, timestamp, user, comment, base-36 SHA-1, text) each.
async fn special_export(api: &str, title: &str) -> Vec<(u64, String, String, String, String, String)> {
    oai_mirror::util::install_tls();
    let index = api.replace("api.php", "index.php");
    let url = url::Url::parse_with_params(&index, &[("title", "Special:Export"), ("pages", title), ("history", "1")]).unwrap();
    let xml = reqwest::get(url).await.unwrap().text().await.unwrap();
    let pages = oai_mirror::mirror::export::parse(&xml).unwrap();
    let sha1s: Vec<String> = xml.split("<sha1>").skip(1).map(|s| s.split('<').next().unwrap().to_string()).collect();
    let revisions = &pages[0].revisions;
    assert_eq!(sha1s.len(), revisions.len(), "a SHA-1 for each revision");
    revisions.iter().zip(sha1s).map(|(r, sha1)| (r.revid, r.timestamp.clone(), r.user.clone(), r.comment.clone(), sha1, r.text.clone())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_history_read_after_the_fact_and_killed_midway_equals_the_wikis_own_full_export() {
    let tw = test_wiki();
    let prefix = format!("{} ", unique_title("Backfill").replace(' ', ""));
    let title = format!("{prefix}Long history");
    let home = tempdir();
    let xml = home.path().join("history.xml");
    std::fs::write(&xml, history_xml(&title, 300)).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/testbeds/mediawiki.sh");
    let imported = std::process::Command::new("bash").arg(script).args(["php"]).arg(&tw.dir).arg("importDump.php").arg(&xml).output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&imported.stdout), String::from_utf8_lossy(&imported.stderr));
    assert!(imported.status.success(), "{said}");

    let secret = home.path().join("secret");
    std::fs::write(&secret, &tw.bot_password).unwrap();
    let config = home.path().join("config.toml");
    let db = home.path().join("m.sqlite");
    std::fs::write(
        &config,
        format!(
            "db = \"{}\"\n[wiki.h]\napi = \"{}\"\nuser = \"{}\"\npassword_file = \"{}\"\nfeed = \"api\"\nprefixes = [\"{prefix}\"]\n",
            db.display(),
            tw.api,
            tw.bot_user,
            secret.display()
        ),
    )
    .unwrap();
    let cli = |args: &[&str]| {
        let mut c = bin(home.path());
        c.arg("--config").arg(&config).args(args);
        c
    };
    // Mirrored first as most mirrors start: the current revision only.
    let out = run(cli(&["mirror", "h"])).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let count = || {
        let s = checkpoints::Store::open_read_only(&db).unwrap();
        let page = s.wiki_page_by_title("h", &title.replace(' ', "_")).unwrap().or_else(|| s.wiki_page_by_title("h", &title).unwrap()).unwrap();
        s.wiki_revisions("h", page.pageid).unwrap().len()
    };
    assert_eq!(count(), 1);

    // Then its history, killed once some chunks are in: nothing is lost,
    // and the next run goes on from there.
    let mut child = cli(&["mirror", "h", "--history"]).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().unwrap();
    let mut at_kill = 0;
    for _ in 0..600 {
        at_kill = count();
        if at_kill > 100 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let at_kill_after = count();
    assert!(at_kill > 1 && at_kill_after < 300, "killed midway: {at_kill} then {at_kill_after} of 300 stored");
    let out = run(cli(&["mirror", "h", "--history", "--json"])).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    let added = summary["history"]["revisions"].as_u64().unwrap() as usize;
    assert_eq!(added, 300 - at_kill_after, "only what the killed run had not stored: {summary}");

    // Every revision as the wiki's own full-history export has it.
    let export = special_export(&tw.api, &title).await;
    assert_eq!(export.len(), 300);
    let store = checkpoints::Store::open_read_only(&db).unwrap();
    let page = store.wiki_page_by_title("h", &title).unwrap().unwrap();
    let mirrored: Vec<_> = store
        .wiki_revisions("h", page.pageid)
        .unwrap()
        .into_iter()
        .map(|r| (r.revid, r.timestamp, r.user, r.comment, oai_mirror::package::xml::base36_sha1(&r.sha1), r.text))
        .collect();
    assert_eq!(mirrored.len(), export.len());
    for (m, e) in mirrored.iter().zip(&export) {
        assert_eq!(m, e, "revision {}", e.0);
    }
    let users: std::collections::BTreeSet<&str> = mirrored.iter().map(|r| r.2.as_str()).collect();
    assert_eq!(users.len(), 3, "{users:?}");

    // An edit after it: the next pull reads its history on from where it
    // stopped, one request, not the page again.
    save(&tw.other(), &title, "after the backfill").await;
    let out = run(cli(&["mirror", "h", "--history", "--json"])).await;
    let summary: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(summary["history"]["revisions"].as_u64(), Some(0), "the feed stored the new current revision: {summary}");
    assert_eq!(summary["history"]["pages"].as_u64(), Some(1), "{summary}");
    assert_eq!(count(), 301);
}
