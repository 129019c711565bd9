//! The console: the daemon's jobs, their recent runs, a sync's queue and
//! conflicts, as HTML pages on the control endpoint, and a conflict
//! settled from the page as `resolve` settles it.
//!
//! Safety: nothing is shown or done without signing in with the control
//! endpoint's token (a form, once); the session is a random id in a cookie
//! that is `HttpOnly` and `SameSite=Strict`, named after the daemon's port,
//! held in memory (a restart signs everyone out). Every action is a POST
//! carrying the session's CSRF token. Pages are rendered with maud, which
//! escapes every value spliced in, so a title, text, user name or error is
//! shown as text whatever it holds. No asset comes from elsewhere: the
//! style is inline and the pages need no script.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::core::{Daemon, JobStatus};
use super::sessions::Sessions;
use crate::jobs::{Job, Kind};
use crate::sync::plan::Target;
use crate::util::lock;

/// Runs shown in a job's chart and table.
const RECENT_RUNS: u32 = 30;

pub struct Console {
    daemon: Arc<Daemon>,
    db: PathBuf,
    token: Arc<String>,
    cookie: String,
    /// Job id → the job, for its kind and its sync's pairs.
    jobs: BTreeMap<String, Job>,
    /// Signed-in sessions, each with its CSRF token.
    sessions: Mutex<Sessions>,
    /// How far each running harvest is.
    progress: super::runner::Progress,
}

impl Console {
    /// The database the console reads.
    pub fn db(&self) -> &std::path::Path {
        &self.db
    }

    pub fn new(daemon: Arc<Daemon>, db: PathBuf, token: Arc<String>, port: u16, jobs: &[Job], progress: super::runner::Progress) -> Console {
        Console {
            daemon,
            db,
            token,
            cookie: format!("oai-mirror-console-{port}"),
            jobs: jobs.iter().map(|j| (j.id(), j.clone())).collect(),
            sessions: Mutex::new(Sessions::default()),
            progress,
        }
    }

    /// The store names of a sync job's pairs, each with the names of its
    /// two sides (`wiki`, `with`).
    fn pairs_of(&self, job: &str) -> Vec<(String, String, String)> {
        self.jobs.get(job).map(Job::pairs).unwrap_or_default()
    }

    /// The job a pair's conflicts belong to, and the pair's two sides.
    fn job_of_pair(&self, pair: &str) -> Option<(String, String, String)> {
        self.jobs.keys().find_map(|id| self.pairs_of(id).into_iter().find(|(p, _, _)| p == pair).map(|(_, w, y)| (id.clone(), w, y)))
    }

    /// The session's CSRF token, if the request carries a session.
    fn session(&self, headers: &HeaderMap) -> Option<String> {
        let cookies = headers.get_all(header::COOKIE).into_iter().filter_map(|v| v.to_str().ok());
        let id = cookies.flat_map(|c| c.split(';')).find_map(|c| c.trim().strip_prefix(&format!("{}=", self.cookie)).map(str::to_string))?;
        lock(&self.sessions).csrf(&id, Instant::now())
    }

    /// Reads the store on a blocking thread, through a read-only connection of its own.
    async fn read<T: Send + 'static>(&self, f: impl FnOnce(&checkpoints::Store) -> checkpoints::Result<T> + Send + 'static) -> Result<T, String> {
        let db = self.db.clone();
        let read = tokio::task::spawn_blocking(move || {
            let store = checkpoints::Store::open_read_only(&db).map_err(|e| format!("the database cannot be read: {e}"))?;
            f(&store).map_err(|e| e.to_string())
        });
        read.await.map_err(|e| e.to_string())?
    }
}

pub fn routes() -> Router<Arc<Console>> {
    Router::new()
        .route("/", axum::routing::get(jobs_page))
        .route("/login", axum::routing::get(login_page).post(login))
        .route("/logout", axum::routing::post(logout))
        .route("/job/{job}", axum::routing::get(job_page))
        .route("/job/{job}/trigger", axum::routing::post(trigger))
        .route("/conflict/{pair}/{id}", axum::routing::get(conflict_page).post(resolve))
}

/// 32 random bytes as hex, from the operating system's generator.
fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source works");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares in constant time.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn failure(message: &str) -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, Html(page("Error", html! { p.error { (message) } }).into_string())).into_response()
}

fn not_signed_in() -> Response {
    Redirect::to("/login").into_response()
}

fn forbidden() -> Response {
    (
        StatusCode::FORBIDDEN,
        Html(page("Refused", html! { p.error { "Refused: the form's token is missing or wrong. Reload the page and try again." } }).into_string()),
    )
        .into_response()
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0 auto;max-width:72rem;padding:0.5rem 1rem;color:#222;overflow-wrap:anywhere}\
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.5rem}table{border-collapse:collapse;width:100%;font-size:0.9rem}\
td,th{border-bottom:1px solid #ddd;padding:0.3rem;text-align:left;vertical-align:top}.scroll{overflow-x:auto}\
.ok{color:#176f2c}.failed,.error{color:#b00020}.running{color:#0b5cad}.muted{color:#666}\
pre{white-space:pre-wrap;word-break:break-word;margin:0;font-size:0.85rem}\
.diff td{font-family:monospace;font-size:0.8rem;white-space:pre-wrap;word-break:break-word;width:50%}\
.del{background:#fde7e9}.ins{background:#e6f4ea}.clash{background:#ffe08a!important;font-weight:bold}\
textarea{width:100%;min-height:12rem;font-family:monospace;box-sizing:border-box}\
form.inline{display:inline}button{padding:0.3rem 0.8rem;margin:0.2rem 0}nav{margin-bottom:1rem}\
.texts{display:grid;grid-template-columns:repeat(auto-fit,minmax(18rem,1fr));gap:1rem}\
.texts pre{border:1px solid #ddd;padding:0.4rem;background:#fafafa}svg{max-width:100%}";

/// A whole page: the title, the style, the body.
fn page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — oai-mirror" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                nav { a href="/" { "Jobs" } }
                h1 { (title) }
                (body)
            }
        }
    }
}

fn when(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string()).unwrap_or_else(|| "—".into())
}

fn when_secs(t: i64) -> String {
    when(chrono::DateTime::from_timestamp(t, 0))
}

/// A POST button carrying the CSRF token.
fn button(action: &str, csrf: &str, label: &str, fields: &[(&str, &str)]) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            input type="hidden" name="csrf" value=(csrf);
            @for (name, value) in fields { input type="hidden" name=(name) value=(value); }
            button type="submit" { (label) }
        }
    }
}

fn state(s: &JobStatus, progress: Option<String>) -> Markup {
    let now = chrono::Utc::now();
    html! {
        @if s.running {
            span.running { "running since " (when(s.last_started)) @if let Some(p) = progress { ": " (p) } }
        } @else if let Some(until) = s.backoff_until.filter(|u| *u > now) {
            span.failed { "backing off until " (when(Some(until))) }
        } @else {
            "idle"
        }
    }
}

/// Items per run as bars, oldest on the left; a failed run is a red mark.
fn chart(runs: &[checkpoints::JobRun]) -> Markup {
    if runs.is_empty() {
        return html! { span.muted { "no runs yet" } };
    }
    let most = runs.iter().map(|r| r.items).max().unwrap_or(0).max(1) as f64;
    let (w, h, bar) = (runs.len() as f64 * 6.0, 24.0, 4.0);
    html! {
        svg width=(w) height=(h) viewBox=(format!("0 0 {w} {h}")) role="img" aria-label=(format!("items of the last {} runs", runs.len())) {
            @for (i, r) in runs.iter().rev().enumerate() {
                @let height = if r.ok { (r.items as f64 / most * (h - 2.0)).max(1.0) } else { h };
                rect x=(i as f64 * 6.0) y=(h - height) width=(bar) height=(height) fill=(if r.ok { "#0b5cad" } else { "#b00020" }) {
                    title { (when_secs(r.started_at)) ": " (r.items) " items" @if !r.ok { ", failed" } }
                }
            }
        }
    }
}

async fn login_page(State(c): State<Arc<Console>>, headers: HeaderMap) -> Response {
    if c.session(&headers).is_some() {
        return Redirect::to("/").into_response();
    }
    Html(login_form(None).into_string()).into_response()
}

fn login_form(error: Option<&str>) -> Markup {
    page(
        "Sign in",
        html! {
            @if let Some(e) = error { p.error { (e) } }
            form method="post" action="/login" {
                p { label { "The daemon's token ([daemon] token_file or token_env): " input type="password" name="token" autocomplete="current-password" required; } }
                button type="submit" { "Sign in" }
            }
        },
    )
}

#[derive(serde::Deserialize)]
struct LoginForm {
    token: String,
}

async fn login(State(c): State<Arc<Console>>, Form(f): Form<LoginForm>) -> Response {
    if !same(f.token.trim(), &c.token) {
        return (StatusCode::UNAUTHORIZED, Html(login_form(Some("That is not the daemon's token.")).into_string())).into_response();
    }
    let id = random_hex();
    lock(&c.sessions).begin(id.clone(), random_hex(), Instant::now());
    let cookie = format!("{}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}", c.cookie, super::sessions::LIFETIME.as_secs());
    ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response()
}

#[derive(serde::Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(State(c): State<Arc<Console>>, headers: HeaderMap, Form(f): Form<CsrfForm>) -> Response {
    let Some(csrf) = c.session(&headers) else { return not_signed_in() };
    if !same(&f.csrf, &csrf) {
        return forbidden();
    }
    lock(&c.sessions).end(&csrf);
    ([(header::SET_COOKIE, format!("{}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0", c.cookie))], Redirect::to("/login")).into_response()
}

async fn jobs_page(State(c): State<Arc<Console>>, headers: HeaderMap) -> Response {
    let Some(csrf) = c.session(&headers) else { return not_signed_in() };
    let statuses = c.daemon.status();
    let ids: Vec<String> = statuses.iter().map(|s| s.job.clone()).collect();
    let runs = match c.read(move |store| ids.iter().map(|id| store.job_runs(id, RECENT_RUNS)).collect::<checkpoints::Result<Vec<_>>>()).await {
        Ok(runs) => runs,
        Err(e) => return failure(&e),
    };
    let body = html! {
        div.scroll { table {
            tr { th { "Job" } th { "Kind" } th { "Schedule" } th { "State" } th { "Last run" } th { "Next run" } th { "Items per run" } th {} }
            @for (s, runs) in statuses.iter().zip(&runs) {
                tr {
                    td { a href=(format!("/job/{}", s.job)) { (s.job) } }
                    td { (c.jobs.get(&s.job).map(|j| j.kind().table()).unwrap_or("")) }
                    td { @match &s.schedule { Some(e) => { (e) " " span.muted { (s.timezone.clone().unwrap_or_default()) } }, None => span.muted { "when triggered" } } }
                    td { (state(s, lock(&c.progress).get(&s.job).cloned())) }
                    td {
                        @match s.last_outcome.as_deref() {
                            Some("ok") => { span.ok { "ok" } " " (when(s.last_finished)) }
                            Some(other) => { span.failed { (other) } " " (when(s.last_finished)) @if let Some(e) = &s.last_error { br; span.error { (e) } } }
                            None => span.muted { "never run" }
                        }
                    }
                    td { (when(s.next_run)) }
                    td { (chart(runs)) }
                    td { (button(&format!("/job/{}/trigger", s.job), &csrf, "Run now", &[("back", "/")])) }
                }
            }
        } }
        p { (button("/logout", &csrf, "Sign out", &[])) }
    };
    Html(page("Jobs", body).into_string()).into_response()
}

async fn job_page(State(c): State<Arc<Console>>, headers: HeaderMap, Path(job): Path<String>) -> Response {
    let Some(csrf) = c.session(&headers) else { return not_signed_in() };
    let Some(status) = c.daemon.status().into_iter().find(|s| s.job == job) else {
        return (StatusCode::NOT_FOUND, Html(page("No such job", html! { p { "There is no job " code { (job) } "." } }).into_string())).into_response();
    };
    let pairs = c.pairs_of(&job);
    let id = job.clone();
    let read = c
        .read(move |store| {
            let runs = store.job_runs(&id, RECENT_RUNS)?;
            let mut queue = Vec::new();
            let mut conflicts = Vec::new();
            for (pair, wiki, with) in &pairs {
                let side = |t: Target| if t == Target::Wiki { wiki.clone() } else { with.clone() };
                queue.extend(store.pushes(pair)?.into_iter().map(|j| (side(j.target), j)));
                conflicts.extend(store.conflicts(pair, true)?.into_iter().map(|cf| (pair.clone(), wiki.clone(), with.clone(), cf)));
            }
            Ok((runs, queue, conflicts))
        })
        .await;
    let (runs, queue, conflicts) = match read {
        Ok(read) => read,
        Err(e) => return failure(&e),
    };
    let is_sync = matches!(c.jobs.get(&job).map(Job::kind), Some(Kind::Sync | Kind::Group));
    let body = html! {
        p { "State: " (state(&status, lock(&c.progress).get(&job).cloned())) ". Last outcome: " (status.last_outcome.clone().unwrap_or_else(|| "never run".into())) ". Next run: " (when(status.next_run)) ". "
            (button(&format!("/job/{job}/trigger"), &csrf, "Run now", &[("back", &format!("/job/{job}"))])) }
        @if let Some(e) = &status.last_error { p.error { (e) } }
        p { (chart(&runs)) }
        h2 { "Recent runs" }
        div.scroll { table {
            tr { th { "Started" } th { "Took" } th { "Outcome" } th { "Items" } th { "Requests" } th { "Error" } }
            @for r in &runs {
                tr {
                    td { (when_secs(r.started_at)) }
                    td { (r.finished_at - r.started_at) " s" }
                    td { @if r.ok { span.ok { "ok" } } @else { span.failed { "failed" } } }
                    td { (r.items) }
                    td { (r.requests.map(|n| n.to_string()).unwrap_or_else(|| "—".into())) }
                    td.error { (r.error.clone().unwrap_or_default()) }
                }
            }
        } }
        @if is_sync {
            h2 { "Queue" }
            @if queue.is_empty() { p.muted { "No pushes waiting." } }
            @else {
                div.scroll { table {
                    tr { th { "Page" } th { "To" } th { "Attempts" } th { "Why it waits" } }
                    @for (target, j) in &queue {
                        tr {
                            td { (j.title) }
                            td { (target) }
                            td { (j.attempts) }
                            td { @if j.sent { "sent; checked on the target at the next run" } @else { "retry after " (when_secs(j.next_try)) ": " (j.last_error.clone().unwrap_or_default()) } }
                        }
                    }
                } }
            }
            h2 { "Open conflicts" }
            @if conflicts.is_empty() { p.muted { "None." } }
            @else {
                div.scroll { table {
                    tr { th { "Page" } th { "Between" } th { "Recorded" } }
                    @for (pair, wiki, with, cf) in &conflicts {
                        tr {
                            td { a href=(format!("/conflict/{}/{}", pair, cf.conflict_id)) { (cf.title) } }
                            td { (cf.wiki_user) " on " (wiki) ", " (cf.with_user) " on " (with) }
                            td { (when_secs(cf.created_at)) }
                        }
                    }
                } }
            }
        }
    };
    Html(page(&format!("Job {job}"), body).into_string()).into_response()
}

#[derive(serde::Deserialize)]
struct TriggerForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    back: String,
}

async fn trigger(State(c): State<Arc<Console>>, headers: HeaderMap, Path(job): Path<String>, Form(f): Form<TriggerForm>) -> Response {
    let Some(csrf) = c.session(&headers) else { return not_signed_in() };
    if !same(&f.csrf, &csrf) {
        return forbidden();
    }
    // Decided before anything is done, so that a bad one changes nothing.
    let back = local_path(&f.back);
    // A person asked: the run goes ahead even while the job backs off.
    if c.daemon.retry_now(&job).is_none() {
        return (StatusCode::NOT_FOUND, Html(page("No such job", html! { p { "There is no job " code { (job) } "." } }).into_string())).into_response();
    }
    Redirect::to(back).into_response()
}

/// `back` if it is a path of this site, else `/`: it starts with one `/`
/// and holds only visible ASCII other than `\`. Browsers drop tabs and
/// line breaks from a URL and read `\` as `/`, so `/\t/evil.example` or
/// `/\\evil.example` would lead elsewhere; a control character would not
/// even make a header.
fn local_path(back: &str) -> &str {
    let visible = back.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b'\\');
    if visible && back.starts_with('/') && !back.starts_with("//") { back } else { "/" }
}

/// Lines of `base` that `side` changed (replaced or deleted), and where it
/// inserted lines (before that base line).
fn touched(base: &str, side: &str) -> Vec<std::ops::Range<usize>> {
    similar::TextDiff::from_lines(base, side)
        .ops()
        .iter()
        .filter(|op| op.tag() != similar::DiffTag::Equal)
        .map(|op| {
            let r = op.old_range();
            // An insertion touches the line it goes before.
            if r.is_empty() { r.start..r.start + 1 } else { r }
        })
        .collect()
}

/// The base lines both sides touched: where their edits clash.
pub fn clashing_lines(base: &str, wiki: &str, with: &str) -> std::collections::BTreeSet<usize> {
    let (a, b) = (touched(base, wiki), touched(base, with));
    a.iter().flat_map(|r| r.clone()).filter(|line| b.iter().any(|r| r.contains(line))).collect()
}

/// A side-by-side diff of `side` against `base`, the clashing base lines marked.
fn side_by_side(base: &str, side: &str, clash: &std::collections::BTreeSet<usize>, label: &str) -> Markup {
    let diff = similar::TextDiff::from_lines(base, side);
    // (base line number and text, the side's text, whether the op changed them)
    type Row = (Option<(usize, String)>, Option<String>, bool);
    let mut rows: Vec<Row> = Vec::new();
    for op in diff.ops() {
        let (old, new) = (op.old_range(), op.new_range());
        let old_lines: Vec<(usize, String)> = old.clone().map(|i| (i, diff.old_slice(i).map_or("", |l| l.trim_end_matches('\n')).to_string())).collect();
        let new_lines: Vec<String> = new.clone().map(|i| diff.new_slice(i).map_or("", |l| l.trim_end_matches('\n')).to_string()).collect();
        let changed = op.tag() != similar::DiffTag::Equal;
        for k in 0..old_lines.len().max(new_lines.len()) {
            rows.push((old_lines.get(k).cloned(), new_lines.get(k).cloned(), changed));
        }
    }
    html! {
        div.scroll { table.diff {
            tr { th { "Base" } th { (label) } }
            @for (old, new, changed) in &rows {
                @let clashes = old.as_ref().is_some_and(|(i, _)| clash.contains(i));
                tr {
                    td class=(if clashes { "del clash" } else if *changed && old.is_some() { "del" } else { "" }) { (old.as_ref().map(|(_, t)| t.as_str()).unwrap_or("")) }
                    td class=(if clashes { "ins clash" } else if *changed && new.is_some() { "ins" } else { "" }) { (new.as_deref().unwrap_or("")) }
                }
            }
        } }
    }
}

async fn conflict_page(State(c): State<Arc<Console>>, headers: HeaderMap, Path((pair, id)): Path<(String, i64)>) -> Response {
    let Some(csrf) = c.session(&headers) else { return not_signed_in() };
    let Some((job, wiki, with)) = c.job_of_pair(&pair) else {
        return (StatusCode::NOT_FOUND, Html(page("No such sync", html! { p { "No job syncs " code { (pair) } "." } }).into_string())).into_response();
    };
    let (p2, w2, y2) = (pair.clone(), wiki.clone(), with.clone());
    let found = c
        .read(move |store| {
            let Some(cf) = store.conflicts(&p2, false)?.into_iter().find(|cf| cf.conflict_id == id) else { return Ok(None) };
            // When each edit was made, as the mirrors of the two wikis have it.
            let made = |wiki: &str, rev: u64| store.wiki_revision(wiki, rev).map(|r| r.map(|r| r.timestamp));
            let times = (made(&w2, cf.wiki_rev)?, made(&y2, cf.with_rev)?);
            Ok(Some((cf, times)))
        })
        .await;
    let (cf, (wiki_made, with_made)) = match found {
        Ok(Some(found)) => found,
        Ok(None) => {
            return (StatusCode::NOT_FOUND, Html(page("No such conflict", html! { p { "No conflict " (id) " in " code { (pair) } "." } }).into_string()))
                .into_response();
        }
        Err(e) => return failure(&e),
    };
    let base = cf.base_text.clone().unwrap_or_default();
    let clash = clashing_lines(&base, &cf.wiki_text, &cf.with_text);
    let action = format!("/conflict/{pair}/{id}");
    let body = html! {
        p { "Sync " a href=(format!("/job/{job}")) { (job) } ", recorded " (when_secs(cf.created_at)) ". "
            (cf.wiki_user) " edited it on " (wiki) " (revision " (cf.wiki_rev) @if let Some(t) = &wiki_made { ", " (t) } "); "
            (cf.with_user) " on " (with) " (revision " (cf.with_rev) @if let Some(t) = &with_made { ", " (t) } "). "
            "The lines both changed are " span.clash { "highlighted" } "." }
        @if let Some(resolved) = cf.resolved_at {
            p.ok { "Settled " (when_secs(resolved)) "; the pushes wait for the next run. " (button(&format!("/job/{job}/trigger"), &csrf, "Run the sync now", &[("back", &action)])) }
        }
        @if cf.base_text.is_none() { p.muted { "This conflict was recorded before the store kept its base: the diffs are against an empty text." } }
        h2 { (wiki) "'s text against the base" }
        (side_by_side(&base, &cf.wiki_text, &clash, &format!("{} on {}", cf.wiki_user, wiki)))
        h2 { (with) "'s text against the base" }
        (side_by_side(&base, &cf.with_text, &clash, &format!("{} on {}", cf.with_user, with)))
        h2 { "The texts" }
        div.texts {
            div { h3 { "Base" } pre { (base) } }
            div { h3 { (wiki) } pre { (cf.wiki_text) } }
            div { h3 { (with) } pre { (cf.with_text) } }
        }
        @if cf.resolved_at.is_none() {
            h2 { "Settle it" }
            p {
                (button(&action, &csrf, &format!("Take {wiki}'s"), &[("take", "wiki")])) " "
                (button(&action, &csrf, &format!("Take {with}'s"), &[("take", "with")]))
            }
            form method="post" action=(action) {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="take" value="text";
                p { label for="merged" { "Or edit the text both sides get (now: what the sync wrote):" } }
                textarea id="merged" name="text" { (cf.resolved_text) }
                p { button type="submit" { "Save this text" } }
            }
        }
    };
    Html(page(&format!("Conflict on {}", cf.title), body).into_string()).into_response()
}

#[derive(serde::Deserialize)]
struct ResolveForm {
    #[serde(default)]
    csrf: String,
    take: String,
    #[serde(default)]
    text: String,
}

async fn resolve(State(c): State<Arc<Console>>, headers: HeaderMap, Path((pair, id)): Path<(String, i64)>, Form(f): Form<ResolveForm>) -> Response {
    let Some(csrf) = c.session(&headers) else { return not_signed_in() };
    if !same(&f.csrf, &csrf) {
        return forbidden();
    }
    let take = match f.take.as_str() {
        "wiki" => crate::sync::Take::Side(Target::Wiki),
        "with" => crate::sync::Take::Side(Target::With),
        // A browser sends a textarea's lines with CR LF.
        "text" => crate::sync::Take::Text(f.text.replace("\r\n", "\n")),
        _ => return (StatusCode::BAD_REQUEST, "take is wiki, with or text").into_response(),
    };
    let db = c.db.clone();
    let p2 = pair.clone();
    let done = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        // Under the job's lock, as the command line settles: a run of it in
        // progress ends first.
        let job = crate::sync::group::job_of(&p2);
        let _held = crate::jobs::run::RunLock::sync_when_free(&db, job, std::time::Duration::from_secs(10))?;
        let store = checkpoints::Store::open(&db)?;
        let cf = store.conflicts(&p2, true)?.into_iter().find(|cf| cf.conflict_id == id);
        let Some(cf) = cf else { anyhow::bail!("conflict {id} is settled already, or is not one of {p2}") };
        crate::sync::resolve(&store, &p2, &cf.title, take)?;
        Ok(())
    })
    .await;
    match done {
        Ok(Ok(())) => Redirect::to(&format!("/conflict/{pair}/{id}")).into_response(),
        Ok(Err(e)) => (StatusCode::CONFLICT, Html(page("Not settled", html! { p.error { (format!("{e:#}")) } }).into_string())).into_response(),
        Err(e) => failure(&e.to_string()),
    }
}

#[cfg(test)]
mod tests;
