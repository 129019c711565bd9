//! `oai-mirror wiki check` as a new user meets it, against the real wiki.

use crate::support::{bin, run, stderr, stdout, tempdir, test_wiki};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wiki_check_reports_rights_and_four_distinct_errors() {
    let w = test_wiki();
    let home = tempdir();
    let secret = |name: &str, value: &str| {
        let p = home.path().join(name);
        std::fs::write(&p, format!("{value}\n")).unwrap();
        p.display().to_string()
    };
    let (good, bad) = (secret("good", &w.bot_password), secret("bad", "wrong-password-0000000000000000000"));
    // A repository stands in for Special:OAIRepository (this wiki has no OAI extension).
    let bed = testbeds::repository::Testbed::new(testbeds::repository::RepoSpec { records: 10, ..Default::default() });
    let oai_url = bed.spawn().await.unwrap();
    let config = home.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[wiki.a]\napi = \"{api}\"\noai = \"{oai_url}\"\nuser = \"{bot}\"\npassword_file = \"{good}\"\n\
             [wiki.badpass]\napi = \"{api}\"\nuser = \"{bot}\"\npassword_file = \"{bad}\"\n\
             [wiki.weak]\napi = \"{api}\"\nuser = \"{ou}\"\npassword_env = \"OTHER_PW\"\n\
             [wiki.down]\napi = \"http://127.0.0.1:9/w/api.php\"\n\
             [wiki.notapi]\napi = \"{page}\"\n",
            api = w.api,
            bot = w.bot_user,
            ou = w.other_user,
            page = w.api.replace("/w/api.php", "/wiki/Main_Page"),
        ),
    )
    .unwrap();
    let check = |name: &str| {
        let mut c = bin(home.path());
        c.env("OAI_MIRROR_CONFIG", &config).env("OTHER_PW", &w.other_password).args(["wiki", "check", name]);
        c
    };

    let ok = run(check("a")).await;
    assert!(ok.status.success(), "{}", stderr(&ok));
    let out = stdout(&ok);
    assert!(out.contains("Software:   MediaWiki 1.39"), "{out}");
    assert!(out.contains("Rights:     edit yes, move yes, delete yes, suppressredirect yes, bot yes"), "{out}");
    assert!(out.contains(&format!("OAI:        {oai_url} answers Identify (oai-mirror testbed (10 records))")), "{out}");

    let cases = [
        ("badpass", "login as Harvestbot@mirror failed (Failed): Incorrect username or password"),
        ("weak", "the account Otheruser lacks the right(s) delete, suppressredirect, bot"),
        ("down", "cannot reach http://127.0.0.1:9/w/api.php"),
        ("notapi", "is not a MediaWiki API (HTTP 404)"),
    ];
    for (name, expected) in cases {
        let out = run(check(name)).await;
        assert!(!out.status.success(), "{name} succeeded");
        let err = stderr(&out);
        let last = err.lines().last().unwrap_or_default();
        assert!(last.starts_with(&format!("error: wiki {name}: ")) && last.contains(expected), "{name}: {err}");
        for secret in [&w.bot_password, &w.other_password] {
            assert!(!err.contains(secret.as_str()) && !stdout(&out).contains(secret.as_str()), "{name} printed a password");
        }
    }
}
