//! MediaWiki XML packages: exported from a mirror of a real MediaWiki,
//! imported by MediaWiki's own importDump.php into a fresh one, and
//! applied to another store; broken, foreign and repeated packages refused.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use oai_mirror::mediawiki::Wiki;

use crate::support::{ApiRevision, FreshWiki, TestWiki, bin, pages_by_api, run, save, stderr, stdout, tempdir, test_wiki, unique_title};

/// A home mirroring the test wiki's pages under `prefix`, with history.
pub(crate) struct Mirror {
    home: tempfile::TempDir,
    config: PathBuf,
}

/// A new home with the test wiki's bot password in `secret` and a config
/// of its own database and the `tables` made for that secret.
pub(crate) fn home_with(tw: &TestWiki, tables: impl FnOnce(&Path) -> String) -> (tempfile::TempDir, PathBuf) {
    let home = tempdir();
    let secret = home.path().join("secret");
    std::fs::write(&secret, &tw.bot_password).unwrap();
    let config = home.path().join("config.toml");
    std::fs::write(&config, format!("db = \"{}\"\n{}", home.path().join("store.sqlite").display(), tables(&secret))).unwrap();
    (home, config)
}

impl Mirror {
    fn new(tw: &TestWiki, prefix: &str) -> Mirror {
        let (home, config) = home_with(tw, |secret| {
            format!(
                "[wiki.src]\napi = \"{}\"\nuser = \"{}\"\npassword_file = \"{}\"\nfeed = \"api\"\nhistory = true\nprefixes = [\"{prefix}\"]\n",
                tw.api,
                tw.bot_user,
                secret.display()
            )
        });
        Mirror { home, config }
    }

    fn cmd(&self, args: &[&str]) -> std::process::Command {
        let mut c = bin(self.home.path());
        c.arg("--config").arg(&self.config).args(args);
        c
    }

    pub(crate) async fn ok(&self, args: &[&str]) -> String {
        let out = run(self.cmd(args)).await;
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        stdout(&out)
    }

    fn package(&self, name: &str) -> PathBuf {
        self.home.path().join(name)
    }
}

/// Applies a package to a wiki as the README says: delete what it lists,
/// then importDump.php the XML.
fn import_dump(target: &FreshWiki, package: &Path) -> String {
    let dir = tempdir();
    let out = std::process::Command::new("tar").arg("-xf").arg(package).arg("-C").arg(dir.path()).output().unwrap();
    assert!(out.status.success(), "tar -xf: {}", String::from_utf8_lossy(&out.stderr));
    let mut log = String::new();
    let delete_first = dir.path().join("delete-first.txt");
    if std::fs::metadata(&delete_first).unwrap().len() > 0 {
        log += &target.php("deleteBatch.php", &["-r".as_ref(), "package".as_ref(), delete_first.as_os_str()]);
    }
    log += &target.php("importDump.php", &["--no-updates".as_ref(), dir.path().join("pages.xml.gz").as_os_str()]);
    log
}

/// The XML part is valid against MediaWiki's export schema 0.11.
fn assert_valid_xml(package: &Path) {
    let dir = tempdir();
    let out = std::process::Command::new("tar").arg("-xf").arg(package).arg("-C").arg(dir.path()).output().unwrap();
    assert!(out.status.success());
    let xsd = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mediawiki/export-0.11.xsd");
    let out = std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&xsd)
        .arg(dir.path().join("pages.xml.gz"))
        .output()
        .expect("xmllint (libxml2-utils) is installed by tests/run.sh");
    assert!(out.status.success(), "the package's XML is not valid export-0.11: {}", String::from_utf8_lossy(&out.stderr));
}

/// Pages as importDump.php can reproduce them. It skips a revision whose
/// timestamp and SHA-1 a revision of the page already has (its rule for
/// "already imported"), so the null revision of a move made in the same
/// second as the edit before it is not imported, although the package
/// holds it (the store-to-store import below checks that every revision
/// arrives). Both sides are compared with such repeats collapsed.
fn as_import_dump_keeps(pages: BTreeMap<String, (bool, Vec<ApiRevision>)>) -> BTreeMap<String, (bool, Vec<ApiRevision>)> {
    pages
        .into_iter()
        .map(|(title, (redirect, mut revs))| {
            revs.dedup_by(|later, earlier| (&later.0, &later.2) == (&earlier.0, &earlier.2));
            (title, (redirect, revs))
        })
        .collect()
}

pub(crate) async fn move_page(w: &Wiki, from: &str, to: &str, noredirect: bool) {
    w.move_page(from, to, noredirect, "test").await.unwrap();
}

/// A wiki with history (two users, moves with and without a redirect, a
/// delete, a delete and undelete) → a full package with history →
/// importDump.php into a fresh MediaWiki: the same pages and revisions.
/// Then more changes → an incremental package → the same again; and both
/// packages applied to a second store give the mirror's pages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_and_incremental_packages_round_trip_through_import_dump() {
    let tw = test_wiki();
    let (bot, other) = (tw.bot(), tw.other());
    let prefix = format!("{} ", unique_title("Pkg").replace(' ', ""));
    let t = |s: &str| format!("{prefix}{s}");
    save(&bot, &t("Alpha"), "Alpha one").await;
    save(&other, &t("Alpha"), "Alpha one\n\ntwo & <three> \"quoted\"").await;
    save(&bot, &t("Alpha"), "Alpha one\n\ntwo & <three> \"quoted\"\n\nÜmlaut ✓").await;
    for name in ["Beta", "Gamma", "Delta", "Epsilon"] {
        save(&bot, &t(name), &format!("{name} text")).await;
    }
    save(&other, &t("Delta"), "Delta text, edited").await;
    move_page(&bot, &t("Beta"), &t("Beta moved"), false).await;
    move_page(&bot, &t("Gamma"), &t("Gamma moved"), true).await;
    bot.delete(&t("Delta"), "test").await.unwrap();
    bot.undelete(&t("Delta"), "test").await.unwrap();
    bot.delete(&t("Epsilon"), "test").await.unwrap();

    let m = Mirror::new(tw, &prefix);
    m.ok(&["mirror", "src"]).await;
    let first = m.package("src-0001.tar");
    let said = m.ok(&["export", "src", "--out", first.to_str().unwrap(), "--full", "--history"]).await;
    assert!(said.contains("package 1 (full)"), "{said}");
    assert_valid_xml(&first);

    let source = pages_by_api(&tw.api, &prefix).await;
    assert_eq!(source.keys().cloned().collect::<Vec<_>>(), ["Alpha", "Beta", "Beta moved", "Delta", "Gamma moved"].map(t), "the source as the test made it");
    let target = FreshWiki::start();
    import_dump(&target, &first);
    assert_eq!(as_import_dump_keeps(pages_by_api(&target.api, &prefix).await), as_import_dump_keeps(source), "after the full package");

    // More changes: an edit, a move of an edited page, a deletion, a new page.
    save(&other, &t("Alpha"), "Alpha one, again\n\ntwo & <three> \"quoted\"\n\nÜmlaut ✓").await;
    move_page(&bot, &t("Alpha"), &t("Alpha moved"), false).await;
    bot.delete(&t("Delta"), "test").await.unwrap();
    save(&other, &t("Zeta"), "Zeta, new").await;
    save(&bot, &t("Gamma moved"), "Gamma text, edited after its move").await;
    m.ok(&["mirror", "src"]).await;
    let second = m.package("src-0002.tar");
    let said = m.ok(&["export", "src", "--out", second.to_str().unwrap(), "--history"]).await;
    assert!(said.contains("package 2 (after package 1)") && said.contains("1 moved, 1 deleted"), "{said}");
    assert_valid_xml(&second);
    let shown = m.ok(&["package", "show", second.to_str().unwrap()]).await;
    assert!(shown.contains("moved: page") && shown.contains(&format!("[[{}]] -> [[{}]]", t("Alpha"), t("Alpha moved"))), "{shown}");
    assert!(shown.contains("deleted: page") && shown.contains(&t("Delta")), "{shown}");

    let source = pages_by_api(&tw.api, &prefix).await;
    assert_eq!(source.keys().cloned().collect::<Vec<_>>(), ["Alpha", "Alpha moved", "Beta", "Beta moved", "Gamma moved", "Zeta"].map(t));
    import_dump(&target, &second);
    assert_eq!(as_import_dump_keeps(pages_by_api(&target.api, &prefix).await), as_import_dump_keeps(source), "after the incremental package");

    // The same two packages applied to another store: the mirror's pages.
    let elsewhere = Mirror::new(tw, &prefix);
    let said = elsewhere.ok(&["import", first.to_str().unwrap()]).await;
    assert!(said.contains("package 1 applied"), "{said}");
    let said = elsewhere.ok(&["import", second.to_str().unwrap()]).await;
    assert!(said.contains("package 2 applied") && said.contains("1 moved, 1 deleted"), "{said}");
    assert_eq!(elsewhere.ok(&["pages", "src"]).await, m.ok(&["pages", "src"]).await);
    for title in ["Alpha moved", "Gamma moved", "Zeta"].map(t) {
        assert_eq!(elsewhere.ok(&["history", "src", &title]).await, m.ok(&["history", "src", &title]).await, "{title}");
    }
    let again = elsewhere.ok(&["import", second.to_str().unwrap()]).await;
    assert!(again.contains("applied already; nothing to do"), "{again}");
}

/// A home whose store holds wiki `w` with `pages` pages of `revisions`
/// revisions each, written straight into the store (no wiki needed).
pub(crate) fn seeded(pages: u64, revisions: u64) -> Mirror {
    let home = tempdir();
    let config = home.path().join("config.toml");
    std::fs::write(&config, format!("db = \"{}\"\n", home.path().join("m.sqlite").display())).unwrap();
    let mut store = checkpoints::Store::open(&home.path().join("m.sqlite")).unwrap();
    let ops: Vec<checkpoints::PageOp> = (1..=pages).map(|id| page_op(id, &format!("Page {id}"), (1..=revisions).map(|r| rev(id, r)).collect())).collect();
    for chunk in ops.chunks(500) {
        store.apply_wiki_batch("w", chunk, None, 1_700_000_000).unwrap();
    }
    Mirror { home, config }
}

fn rev(page: u64, n: u64) -> checkpoints::RevisionRow {
    let text = format!("Page {page}, revision {n}: {}", "some words & <markup> ".repeat(8));
    checkpoints::RevisionRow {
        revid: page * 1000 + n,
        parentid: if n == 1 { 0 } else { page * 1000 + n - 1 },
        timestamp: format!("2026-01-{:02}T00:00:{:02}Z", 1 + n % 28, page % 60),
        user: if n.is_multiple_of(2) { "Ann".into() } else { "192.0.2.7".into() },
        comment: format!("edit {n}"),
        sha1: oai_mirror::util::sha1_hex(&text),
        text,
        minor: n.is_multiple_of(3),
        user_id: Some(if n.is_multiple_of(2) { 7 } else { 0 }),
    }
}

fn page_op(id: u64, title: &str, revisions: Vec<checkpoints::RevisionRow>) -> checkpoints::PageOp {
    let rev_id = revisions.last().unwrap().revid;
    checkpoints::PageOp::Upsert { page: checkpoints::PageRow { pageid: id, ns: 0, title: title.into(), redirect: None, displaced: false, rev_id }, revisions }
}

/// Changes in `m`'s store as a mirror's pull would make them: `edited`
/// gets a new revision, `deleted` is deleted.
fn change(m: &Mirror, edited: u64, deleted: u64, next_rev: u64) {
    let mut store = checkpoints::Store::open(&m.home.path().join("m.sqlite")).unwrap();
    let ops = [page_op(edited, &format!("Page {edited}"), vec![rev(edited, next_rev)]), checkpoints::PageOp::Delete { pageid: deleted }];
    store.apply_wiki_batch("w", &ops, None, 1_700_000_100).unwrap();
}

/// What a store shows of wiki `w`: its pages, and each page's history.
async fn view(m: &Mirror) -> String {
    let pages = run(m.cmd(&["pages", "w"])).await;
    if !pages.status.success() {
        return String::new();
    }
    let mut out = stdout(&pages);
    for n in [1, 2, 3] {
        out += &stdout(&run(m.cmd(&["history", "w", &format!("Page {n}")])).await);
    }
    out
}

async fn refused(m: &Mirror, package: &Path) -> String {
    let before = view(m).await;
    let out = run(m.cmd(&["import", package.to_str().unwrap()])).await;
    assert!(!out.status.success(), "{} was applied: {}", package.display(), stdout(&out));
    assert_eq!(view(m).await, before, "a refused package changed nothing");
    stderr(&out)
}

/// A lost package, one applied twice, two out of order, a truncated one, a
/// corrupt one and one from another store: nothing lost, nothing applied
/// twice, each refusal says why and what to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_repeated_foreign_and_missing_packages_are_refused_whole() {
    let origin = seeded(20, 3);
    let p = |n: u32| origin.package(&format!("w-{n}.tar"));
    origin.ok(&["export", "w", "--out", p(1).to_str().unwrap(), "--history"]).await;
    change(&origin, 1, 2, 4);
    origin.ok(&["export", "w", "--out", p(2).to_str().unwrap(), "--history"]).await;
    change(&origin, 3, 4, 4);
    origin.ok(&["export", "w", "--out", p(3).to_str().unwrap(), "--history"]).await;

    let site = seeded(0, 0);
    let e = refused(&site, &p(2)).await;
    assert!(e.contains("import a full package first"), "{e}");
    site.ok(&["import", p(1).to_str().unwrap()]).await;
    // Package 2 lost: 3 waits for it.
    let e = refused(&site, &p(3)).await;
    assert!(e.contains("continues package 2") && e.contains("last package applied to wiki 'w' here is 1"), "{e}");

    // Truncated anywhere, or one byte changed anywhere: refused whole.
    let bytes = std::fs::read(p(2)).unwrap();
    let broken = site.package("broken.tar");
    // Its tail is the last member's header and one data block (the list
    // of titles, a few bytes), then the two zero blocks that end a tar:
    // cut inside that header, and anywhere before it. (A cut that takes
    // only padding and the end blocks loses nothing checked, and is whole.)
    for cut in [100, 600, 1500, bytes.len() / 2, bytes.len() - 1024 - 512 - 300] {
        std::fs::write(&broken, &bytes[..cut]).unwrap();
        let e = refused(&site, &broken).await;
        assert!(e.contains("truncated") || e.contains("not a package"), "cut at {cut}: {e}");
    }
    // Where each member's bytes are (its header is checked by tar itself;
    // the padding after its bytes holds nothing).
    let members: Vec<(u64, u64)> = tar::Archive::new(bytes.as_slice())
        .entries()
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| (e.raw_file_position(), e.size()))
        .filter(|(_, size)| *size > 0)
        .collect();
    let mut rng = fastrand::Rng::with_seed(18);
    for _ in 0..12 {
        let mut flipped = bytes.clone();
        let (start, size) = members[rng.usize(..members.len())];
        let at = (start + rng.u64(..size)) as usize;
        flipped[at] ^= 1 << rng.u32(0..8);
        std::fs::write(&broken, &flipped).unwrap();
        let e = refused(&site, &broken).await;
        assert!(e.contains("corrupt") || e.contains("damaged") || e.contains("cannot be read") || e.contains("not a package"), "byte {at}: {e}");
    }

    // From another store: another stream, though the wiki's name is the same.
    let stranger = seeded(5, 1);
    let theirs = stranger.package("theirs.tar");
    stranger.ok(&["export", "w", "--out", theirs.to_str().unwrap()]).await;
    let e = refused(&site, &theirs).await;
    assert!(e.contains("another stream") && e.contains("--as NAME"), "{e}");
    let said = site.ok(&["import", theirs.to_str().unwrap(), "--as", "w-stranger"]).await;
    assert!(said.contains("w-stranger: package 1 applied"), "{said}");

    // In order at last; each once, whatever is carried twice.
    for n in [2, 3, 2, 3, 1] {
        site.ok(&["import", p(n).to_str().unwrap()]).await;
    }
    assert_eq!(view(&site).await, view(&origin).await);
    let again = site.ok(&["import", p(3).to_str().unwrap()]).await;
    assert!(again.contains("applied already"), "{again}");
}

/// SIGKILL at seeded random moments during export and during import: no
/// package is ever half written at its name, none half applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_exports_and_imports_leave_nothing_half_done() {
    let origin = seeded(3000, 2);
    let full = origin.package("full.tar");
    let started = std::time::Instant::now();
    origin.ok(&["export", "w", "--out", full.to_str().unwrap(), "--full", "--history"]).await;
    let export_time = started.elapsed();
    let mut rng = fastrand::Rng::with_seed(30);
    let mut whole = 0;
    for trial in 0..15 {
        let out = origin.package(&format!("killed-{trial}.tar"));
        let mut child = origin.cmd(&["export", "w", "--out", out.to_str().unwrap(), "--full", "--history"]).spawn().unwrap();
        tokio::time::sleep(export_time.mul_f64(rng.f64() * 1.2)).await;
        let _ = child.kill();
        let _ = child.wait();
        if out.exists() {
            // Either there and whole, or not there at all.
            origin.ok(&["package", "show", out.to_str().unwrap()]).await;
            whole += 1;
        }
    }
    let reference = seeded(0, 0);
    let started = std::time::Instant::now();
    reference.ok(&["import", full.to_str().unwrap()]).await;
    let import_time = started.elapsed();
    let after = view(&reference).await;
    let mut applied = 0;
    for _ in 0..15 {
        let site = seeded(0, 0);
        let before = view(&site).await;
        let mut child = site.cmd(&["import", full.to_str().unwrap()]).spawn().unwrap();
        tokio::time::sleep(import_time.mul_f64(rng.f64() * 1.2)).await;
        let _ = child.kill();
        let _ = child.wait();
        let now = view(&site).await;
        assert!(now == before || now == after, "a killed import left the store between before and after");
        applied += usize::from(now == after);
        // And the next import finishes the job.
        site.ok(&["import", full.to_str().unwrap()]).await;
        assert_eq!(view(&site).await, after);
    }
    eprintln!("export killed 15 times ({whole} had finished), import killed 15 times ({applied} had finished)");
    assert!(whole < 15 && applied < 15, "the kills came too late to test anything");
}

/// A title MediaWiki forbids (here one holding a line break, as a forged
/// feed could leave in a store): a package holding it is refused at
/// import, and it never becomes a line of its own in `delete-first.txt`,
/// which `deleteBatch.php` would read as a second title to delete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_title_mediawiki_forbids_is_refused_and_never_adds_a_line_to_delete_first() {
    let origin = seeded(3, 1);
    let forged = "Doomed\nPage 1";
    let mut store = checkpoints::Store::open(&origin.home.path().join("m.sqlite")).unwrap();
    store.apply_wiki_batch("w", &[page_op(9, forged, vec![rev(9, 1)])], None, 1_700_000_050).unwrap();
    let full = origin.package("w-1.tar");
    origin.ok(&["export", "w", "--out", full.to_str().unwrap(), "--history"]).await;
    let site = seeded(0, 0);
    let e = refused(&site, &full).await;
    assert!(e.contains("MediaWiki forbids in titles") && e.contains("page 9"), "{e}");

    store.apply_wiki_batch("w", &[checkpoints::PageOp::Delete { pageid: 9 }], None, 1_700_000_060).unwrap();
    let second = origin.package("w-2.tar");
    let out = run(origin.cmd(&["export", "w", "--out", second.to_str().unwrap(), "--history"])).await;
    assert!(!out.status.success() && stderr(&out).contains("cannot go into delete-first.txt"), "{}", stderr(&out));
    assert!(!second.exists(), "no package with a forged line was written");
}

/// At the origin a page is deleted and another moved onto its title; the
/// follow-up package carries both. Applied downstream, the deletion is
/// served like any other (it once ended as a page moved aside, never
/// served deleted).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deletion_then_a_move_onto_its_title_in_one_package_serves_the_deletion() {
    let origin = seeded(2, 1);
    let site_info = checkpoints::WikiSite {
        sitename: "Field notes".into(),
        dbname: "fieldwiki".into(),
        base: "http://field.example/wiki/Main_Page".into(),
        generator: "MediaWiki 1.39.17".into(),
        case: "first-letter".into(),
        namespaces: vec![
            checkpoints::SiteNamespace { id: 0, case: "first-letter".into(), name: String::new() },
            checkpoints::SiteNamespace { id: 1, case: "first-letter".into(), name: "Talk".into() },
        ],
    };
    checkpoints::Store::open(&origin.home.path().join("m.sqlite")).unwrap().save_wiki_site("w", &site_info, 0).unwrap();
    let first = origin.package("w-1.tar");
    origin.ok(&["export", "w", "--out", first.to_str().unwrap(), "--history"]).await;
    let site = seeded(0, 0);
    site.ok(&["import", first.to_str().unwrap(), "--as", "w"]).await;

    let mut store = checkpoints::Store::open(&origin.home.path().join("m.sqlite")).unwrap();
    let moved = page_op(2, "Page 1", vec![rev(2, 6)]);
    store.apply_wiki_batch("w", &[checkpoints::PageOp::Delete { pageid: 1 }, moved], None, 1_700_000_100).unwrap();
    let second = origin.package("w-2.tar");
    origin.ok(&["export", "w", "--out", second.to_str().unwrap(), "--history"]).await;
    site.ok(&["import", second.to_str().unwrap(), "--as", "w"]).await;

    let store = checkpoints::Store::open_read_only(&site.home.path().join("m.sqlite")).unwrap();
    let service = oai_mirror::serve::Service { public_url: "http://mirror".into(), admin_emails: vec![], namespace: "mirror.example".into() };
    let args = [("verb".to_string(), "ListIdentifiers".to_string()), ("metadataPrefix".into(), "mediawiki".into())];
    let listed = String::from_utf8(oai_mirror::serve::wiki::answer(&store, &service, "w", &args, chrono::Utc::now().timestamp()).unwrap()).unwrap();
    let headers: Vec<&str> = listed.split("<header").skip(1).collect();
    assert_eq!(headers.len(), 2, "{listed}");
    assert_eq!(headers.iter().filter(|h| h.starts_with(" status=\"deleted\"")).count(), 1, "page 1's deletion is served: {listed}");
    assert_eq!(site.ok(&["show", "w", "Page 1"]).await, origin.ok(&["show", "w", "Page 1"]).await);
    // What MediaWiki's own export keeps travels too: the minor flag, the
    // contributor's id, the wiki's <siteinfo>.
    let kept = checkpoints::Store::open_read_only(&origin.home.path().join("m.sqlite")).unwrap();
    assert_eq!(store.wiki_revisions("w", 2).unwrap(), kept.wiki_revisions("w", 2).unwrap());
    assert!(kept.wiki_revisions("w", 2).unwrap().iter().any(|r| r.minor && r.user_id == Some(7)));
    assert_eq!(store.wiki_site("w").unwrap(), Some(site_info));
}

/// A package made again from `package` with its manifest and XML changed
/// by `edit`, its checksums made to agree: what a forger can write.
fn forge(package: &Path, out: &Path, edit: impl FnOnce(&mut serde_json::Value, &mut String)) {
    use sha2::Digest;
    use std::io::{Read, Write};
    let hex = |bytes: &[u8]| sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect::<String>();
    let mut members = BTreeMap::new();
    for entry in tar::Archive::new(std::fs::File::open(package).unwrap()).entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        members.insert(name, bytes);
    }
    let mut manifest: serde_json::Value = serde_json::from_slice(&members["manifest.json"]).unwrap();
    let mut xml = String::new();
    flate2::read::GzDecoder::new(members["pages.xml.gz"].as_slice()).read_to_string(&mut xml).unwrap();
    edit(&mut manifest, &mut xml);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(xml.as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    manifest["xml"]["bytes"] = gz.len().into();
    manifest["xml"]["sha256"] = hex(&gz).into();
    let json = serde_json::to_vec(&manifest).unwrap();
    let sum = format!("{}  manifest.json\n", hex(&json));
    let mut tar = tar::Builder::new(std::fs::File::create(out).unwrap());
    for (name, bytes) in
        [("manifest.json", json.as_slice()), ("manifest.sha256", sum.as_bytes()), ("pages.xml.gz", &gz), ("delete-first.txt", &members["delete-first.txt"])]
    {
        let mut h = tar::Header::new_ustar();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, name, bytes).unwrap();
    }
    tar.finish().unwrap();
}

/// A package whose manifest claims a range far past what it holds blocks
/// its stream no more: the next honest package is refused loudly, not
/// taken for applied, and a full package mends the stream. A page that
/// comes with another page's revision id is refused whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lying_package_neither_blocks_its_stream_silently_nor_mixes_pages() {
    let origin = seeded(3, 1);
    let p = |n: u32| origin.package(&format!("w-{n}.tar"));
    origin.ok(&["export", "w", "--out", p(1).to_str().unwrap(), "--history"]).await;
    change(&origin, 1, 3, 2);
    origin.ok(&["export", "w", "--out", p(2).to_str().unwrap(), "--history"]).await;
    change(&origin, 2, 3, 3);
    origin.ok(&["export", "w", "--out", p(3).to_str().unwrap(), "--history"]).await;
    let site = seeded(0, 0);
    site.ok(&["import", p(1).to_str().unwrap()]).await;

    // Counts that disagree with the XML are refused.
    let miscounted = site.package("miscounted.tar");
    forge(&p(2), &miscounted, |m, _| m["revisions"] = 99.into());
    let e = refused(&site, &miscounted).await;
    assert!(e.contains("holds 1 and 1") || e.contains("its XML holds"), "{e}");

    // Package 2 claiming the end of time is applied (nothing shows it
    // lies yet); package 3, honest, is then inside its range but holds
    // what the store lacks: an error, never "nothing to do".
    let poisoned = site.package("poisoned.tar");
    forge(&p(2), &poisoned, |m, _| m["end"] = i64::MAX.into());
    site.ok(&["import", poisoned.to_str().unwrap()]).await;
    let out = run(site.cmd(&["import", p(3).to_str().unwrap()])).await;
    assert!(!out.status.success(), "{}", stdout(&out));
    let e = stderr(&out);
    assert!(e.contains("claimed more than it held") && e.contains("--full"), "{e}");
    // Package 2 again holds nothing new: that is applied already, truly.
    assert!(site.ok(&["import", p(2).to_str().unwrap()]).await.contains("applied already"));
    // A full package mends the stream; the honest ones go on after it.
    let full = origin.package("w-full.tar");
    origin.ok(&["export", "w", "--out", full.to_str().unwrap(), "--full", "--history"]).await;
    site.ok(&["import", full.to_str().unwrap()]).await;
    assert_eq!(view(&site).await, view(&origin).await);

    // A new page whose revision id is another page's: refused whole.
    let thief = site.package("thief.tar");
    forge(&p(3), &thief, |_, xml| {
        let stolen = "<id>2003</id>";
        assert!(xml.contains(stolen), "{xml}");
        *xml = xml.replace("<title>Page 2</title>", "<title>Page 9</title>").replace("<id>2</id>", "<id>9</id>");
    });
    let other = seeded(0, 0);
    other.ok(&["import", p(1).to_str().unwrap()]).await;
    other.ok(&["import", p(2).to_str().unwrap()]).await;
    let mut store = checkpoints::Store::open(&other.home.path().join("m.sqlite")).unwrap();
    store.apply_wiki_batch("w", &[page_op(2, "Page 2", vec![rev(2, 3)])], None, 0).unwrap();
    drop(store);
    let e = refused(&other, &thief).await;
    assert!(e.contains("revision 2003") && e.contains("belongs to one page"), "{e}");
}

/// Packages small on disk that unpack to much XML: one page of 64 MiB of
/// tiny revisions, and pages of one 100 MiB revision each. Imported
/// within 200 MB (the first), refused with what the limit is (the second):
/// memory follows what is parsed, never what the XML claims.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packages_that_unpack_to_much_xml_are_imported_or_refused_within_bounded_memory() {
    let origin = seeded(1, 1);
    let small = origin.package("small.tar");
    origin.ok(&["export", "w", "--out", small.to_str().unwrap(), "--history"]).await;
    let site = seeded(0, 0);

    let revisions = 280_000u64;
    let tiny = site.package("tiny.tar");
    forge(&small, &tiny, |m, xml| {
        let head = &xml[..xml.find("<page>").unwrap()];
        let mut doc = format!("{head}<page><title>Many</title><ns>0</ns><id>1</id>");
        for n in 1..=revisions {
            doc.push_str(&format!(
                "<revision><id>{n}</id><timestamp>2026-01-01T00:00:00Z</timestamp><contributor><username>A</username></contributor>\
                 <origin>{n}</origin><model>wikitext</model><format>text/x-wiki</format><text bytes=\"1\" xml:space=\"preserve\">{}</text></revision>\n",
                n % 10
            ));
        }
        doc.push_str("</page></mediawiki>\n");
        assert!(doc.len() > 64 << 20, "{} bytes", doc.len());
        *xml = doc;
        m["pages"] = 1.into();
        m["revisions"] = revisions.into();
    });
    let (ok, err, peak) = tokio::task::spawn_blocking({
        let cmd = site.cmd(&["import", tiny.to_str().unwrap(), "--as", "tiny"]);
        move || crate::support::measured(&cmd)
    })
    .await
    .unwrap();
    let peak = peak / 1024;
    println!("{} bytes of package, 64 MiB of XML, {revisions} revisions: imported at {peak} MB peak RSS", std::fs::metadata(&tiny).unwrap().len());
    assert!(ok, "{err}");
    assert!(peak <= 200, "peak RSS {peak} MB");
    assert_eq!(checkpoints::Store::open_read_only(&site.home.path().join("m.sqlite")).unwrap().wiki_revisions("tiny", 1).unwrap().len() as u64, revisions);

    let huge = site.package("huge.tar");
    forge(&small, &huge, |m, xml| {
        let head = &xml[..xml.find("<page>").unwrap()];
        let mut doc = head.to_string();
        for id in 1..=4 {
            doc.push_str(&format!("<page><title>Huge {id}</title><ns>0</ns><id>{id}</id><revision><id>{id}</id><timestamp>2026-01-01T00:00:00Z</timestamp>"));
            doc.push_str("<contributor><username>A</username></contributor><text xml:space=\"preserve\">");
            doc.push_str(&"x".repeat(100 << 20));
            doc.push_str("</text></revision></page>\n");
        }
        doc.push_str("</mediawiki>\n");
        *xml = doc;
        m["pages"] = 4.into();
        m["revisions"] = 4.into();
    });
    let (ok, err, peak) = tokio::task::spawn_blocking({
        let cmd = site.cmd(&["import", huge.to_str().unwrap(), "--as", "huge"]);
        move || crate::support::measured(&cmd)
    })
    .await
    .unwrap();
    let peak = peak / 1024;
    println!("{} bytes of package, 4 revisions of 100 MiB: refused at {peak} MB peak RSS", std::fs::metadata(&huge).unwrap().len());
    assert!(!ok && err.contains("larger than 64 MiB"), "{err}");
    assert!(peak <= 200, "peak RSS {peak} MB");
}
