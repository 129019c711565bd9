//! The daemon's console: refused without signing in, and used in a real
//! browser (headless Chromium from Debian's packages, driven through its
//! chromedriver over WebDriver) against a conflict made by a real
//! two-wiki sync. Screenshots go to target/console-screenshots.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};
use oai_mirror::mediawiki::PageRef;

use crate::daemon::{Daemon, TOKEN, start, two_wikis_synced};
use crate::support::{bin, current, run, save, stderr, stdout, tempdir, test_wiki, test_wiki_b};

/// A form's body.
fn encode<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs.iter().map(|(k, v)| (k.as_ref(), v.as_ref()))).finish()
}

/// Signs in through the form: the session cookie.
async fn sign_in(d: &Daemon) -> String {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let resp = http
        .post(format!("{}/login", d.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(&[("token", TOKEN)]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/"), "{cookie}");
    cookie.split(';').next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_signing_in_every_page_and_action_is_refused_and_a_post_without_its_csrf_token_too() {
    let home = tempdir();
    let cfg = home.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "db = \"{}\"\n[daemon]\ntoken_env = \"OAI_MIRROR_TOKEN\"\n[wiki.w]\napi = \"http://127.0.0.1:9/w/api.php\"\n",
            home.path().join("d.sqlite").display()
        ),
    )
    .unwrap();
    let d = start(home.path(), &cfg).await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for (method, path) in
        [("GET", "/"), ("GET", "/job/wiki.w"), ("GET", "/conflict/ab/1"), ("POST", "/job/wiki.w/trigger"), ("POST", "/conflict/ab/1"), ("POST", "/logout")]
    {
        let req = if method == "GET" {
            http.get(format!("{}{path}", d.url))
        } else {
            http.post(format!("{}{path}", d.url)).header("content-type", "application/x-www-form-urlencoded").body(encode(&[("csrf", "x"), ("take", "wiki")]))
        };
        let resp = req.send().await.unwrap();
        assert_eq!(
            (resp.status().as_u16(), resp.headers().get("location").map(|l| l.to_str().unwrap().to_string())),
            (303, Some("/login".into())),
            "{method} {path}"
        );
    }
    // The wrong token signs nobody in.
    let wrong = http
        .post(format!("{}/login", d.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(&[("token", "not-the-token")]))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().get("set-cookie").is_none());

    // Signed in, a POST still needs the session's CSRF token.
    let cookie = sign_in(&d).await;
    let page = http.get(format!("{}/", d.url)).header("cookie", &cookie).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("wiki.w"), "{page}");
    let csrf = page.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    for form in [vec![], vec![("csrf", "0".repeat(64))]] {
        let forged = http
            .post(format!("{}/job/wiki.w/trigger", d.url))
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode(&form))
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), 403, "{form:?}");
    }
    assert_eq!(d.status().await["jobs"][0]["triggers"], 0, "nothing was triggered");
    let real = http
        .post(format!("{}/job/wiki.w/trigger", d.url))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(&[("csrf", csrf.as_str()), ("back", "//elsewhere.example/")]))
        .send()
        .await
        .unwrap();
    assert_eq!((real.status().as_u16(), real.headers()["location"].to_str().unwrap()), (303, "/"), "never sent elsewhere");
    assert_eq!(d.status().await["jobs"][0]["triggers"], 1);
}

/// chromedriver and a headless Chromium session through it.
pub struct Browser {
    driver: Child,
    pub client: fantoccini::Client,
    shots: std::path::PathBuf,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    pub async fn start() -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (Debian: apt-get install chromium-driver; tests/run.sh installs it)");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({"args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1200,1400"]}),
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(c) => break c,
                Err(e) => {
                    assert!(Instant::now() < deadline, "no browser session: {e}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        };
        let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("../console-screenshots");
        std::fs::create_dir_all(&shots).unwrap();
        Browser { driver, client, shots }
    }

    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(self.shots.join(name), png).unwrap();
    }

    /// Clicks what `locator` finds and waits until the page it was on is gone
    /// (the old document's root element goes stale): what is read next is
    /// the page the click led to, never the one it left.
    pub async fn click_away(&self, locator: Locator<'_>) {
        let old = self.client.find(Locator::Css("html")).await.unwrap();
        self.client.find(locator).await.unwrap().click().await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while old.tag_name().await.is_ok() {
            assert!(Instant::now() < deadline, "the click did not leave the page");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The page's text, once it has loaded.
    pub async fn text(&self) -> String {
        self.client.wait().for_element(Locator::Css("nav")).await.unwrap();
        self.client.find(Locator::Css("body")).await.unwrap().text().await.unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_real_browser_a_conflict_of_two_real_wikis_is_seen_side_by_side_and_resolved_by_editing_the_merged_text() {
    let (ta, tb) = (test_wiki(), test_wiki_b());
    let (home, cfg, prefix) = two_wikis_synced("Console", "");
    let sync = || {
        let mut c = bin(home.path());
        c.arg("--config").arg(&cfg).args(["sync", "ab"]);
        c
    };
    // A title with quotes, texts with markup that must stay text.
    let title = format!("{prefix}Quote \"x\" 'y'");
    let base = "= Intro =\nfirst line\n\n= Middle =\nmiddle line\n\n= End =\nlast line";
    save(&ta.bot(), &title, base).await;
    let out = run(sync()).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text_a = base.replace("middle line", "middle <script>window.pwned = 1</script>");
    let text_b = base.replace("middle line", "middle \"><img src=x onerror=\"window.pwned = 2\">");
    save(&ta.other(), &title, &text_a).await;
    save(&tb.bot(), &title, &text_b).await;
    let out = run(sync()).await;
    assert!(out.status.success() && stdout(&out).contains("1 conflicts"), "{}\n{}", stdout(&out), stderr(&out));

    let d = start(home.path(), &cfg).await;
    let b = Browser::start().await;
    let c = &b.client;
    // Not signed in: the sign-in form, whatever page was asked for.
    c.goto(&format!("{}/job/sync.ab", d.url)).await.unwrap();
    assert!(c.current_url().await.unwrap().path() == "/login", "{}", b.text().await);
    c.find(Locator::Css("input[name=token]")).await.unwrap().send_keys(TOKEN).await.unwrap();
    c.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
    c.wait().for_element(Locator::LinkText("sync.ab")).await.unwrap();

    // Trigger the sync from the jobs page and watch it run.
    let row = c.find(Locator::XPath("//tr[td/a[text()='sync.ab']]")).await.unwrap();
    row.find(Locator::Css("button")).await.unwrap().click().await.unwrap();
    d.wait_runs("sync.ab", 1).await;
    c.refresh().await.unwrap();
    let row = c.find(Locator::XPath("//tr[td/a[text()='sync.ab']]")).await.unwrap();
    assert!(row.text().await.unwrap().contains("ok"), "{}", row.text().await.unwrap());
    b.screenshot("jobs.png").await;

    // The job's page lists the conflict; its page shows both texts as text.
    b.click_away(Locator::LinkText("sync.ab")).await;
    assert!(b.text().await.contains("Recent runs"), "{}", b.text().await);
    b.click_away(Locator::LinkText(&title)).await;
    let page = b.text().await;
    assert!(page.contains("<script>window.pwned = 1</script>") && page.contains("\"><img src=x onerror=\"window.pwned = 2\">"), "{page}");
    assert!(page.contains(&title) && page.contains("Otheruser") && page.contains("Harvestbot"), "{page}");
    let pwned = c.execute("return window.pwned === undefined", vec![]).await.unwrap();
    assert_eq!(pwned, serde_json::json!(true), "a text ran as script");
    let clashing = c.find_all(Locator::Css("td.clash")).await.unwrap();
    assert!(!clashing.is_empty(), "the clashing line is highlighted");
    b.screenshot("conflict.png").await;
    // On a phone's width the page wraps instead of running off the side.
    c.set_window_size(390, 844).await.unwrap();
    let fits = c.execute("return document.documentElement.scrollWidth <= window.innerWidth", vec![]).await.unwrap();
    b.screenshot("conflict-phone.png").await;
    assert_eq!(fits, serde_json::json!(true), "the conflict page is wider than a phone");
    c.set_window_size(1200, 1400).await.unwrap();

    // Resolve by editing the merged text, then run the sync from the page.
    let merged = base.replace("middle line", "middle line, settled in the console");
    let area = c.find(Locator::Css("textarea[name=text]")).await.unwrap();
    area.clear().await.unwrap();
    area.send_keys(&merged).await.unwrap();
    b.click_away(Locator::XPath("//button[text()='Save this text']")).await;
    assert!(b.text().await.contains("Settled"), "{}", b.text().await);
    c.find(Locator::XPath("//button[text()='Run the sync now']")).await.unwrap().click().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let on_a = current(&ta.bot(), &title).await.map(|(_, t)| t);
        let on_b = tb.bot().pages(&[PageRef::Title(&title)]).await.unwrap().remove(0).revision.and_then(|r| r.text);
        if on_a.as_deref() == Some(merged.as_str()) && on_b.as_deref() == Some(merged.as_str()) {
            break;
        }
        assert!(Instant::now() < deadline, "the settled text never reached both wikis: {on_a:?} {on_b:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    b.screenshot("settled.png").await;
    c.clone().close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_harvest_shows_how_far_it_is_on_the_jobs_page() {
    use testbeds::repository::{Fault, RepoSpec, Testbed};
    let bed = Testbed::new(RepoSpec { records: 1000, ..Default::default() });
    let url = bed.spawn().await.unwrap();
    // Page 4 hangs: the run stays in the middle of the harvest.
    bed.fault(5, Fault::Hang);
    let home = tempdir();
    let cfg = crate::daemon::config(home.path(), &url, "");
    let d = start(home.path(), &cfg).await;
    let cookie = sign_in(&d).await;
    d.http.post(format!("{}/trigger/source.bed", d.url)).bearer_auth(TOKEN).send().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let page = d.http.get(format!("{}/", d.url)).header("cookie", &cookie).send().await.unwrap().text().await.unwrap();
        if page.contains("300 records of about 1000, 3 pages") {
            assert!(page.contains("running since"), "{page}");
            break;
        }
        assert!(Instant::now() < deadline, "no progress shown: {page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
