use super::*;
use crate::error::Doing;
use crate::wiki::PageOp;

/// A File: page's versions as read at revision `rev_id`.
fn set_file_versions(s: &mut Store, wiki: &str, pageid: u64, rev_id: u64, versions: &[FileVersion]) -> Result<u64> {
    s.set_files_read(wiki, &[(pageid, rev_id, versions.to_vec())])
}

fn file_stored(s: &mut Store, wiki: &str, key: FileKey<'_>, now: i64) -> Result<()> {
    s.files_stored(wiki, &[key], now)
}

/// Whether any version of any wiki with this content is stored.
fn content_stored(s: &Store, sha1: &str) -> Result<bool> {
    s.conn().query_row("SELECT EXISTS (SELECT 1 FROM wiki_file WHERE sha1 = ?1 AND state = 'stored')", [sha1], |r| r.get(0)).doing("looking for a stored file")
}

fn file_page(pageid: u64, title: &str, rev_id: u64) -> PageOp {
    crate::testing::wiki_page(pageid, 6, title, rev_id)
}

fn version(second: u32, sha1: char, state: FileState) -> FileVersion {
    FileVersion {
        timestamp: format!("2026-02-01T00:00:{second:02}Z"),
        sha1: sha1.to_string().repeat(40),
        size: 10 + second as u64,
        mime: "image/png".into(),
        user: "Ann".into(),
        comment: "upload".into(),
        url: format!("http://w/images/{second}.png"),
        state,
    }
}

#[test]
fn a_file_page_is_read_again_whenever_its_revision_moves_and_only_file_pages_are_read() {
    let mut s = Store::open_in_memory().unwrap();
    let text = crate::testing::wiki_page(9, 0, "Text", 90);
    s.apply_wiki_batch("w", &[file_page(1, "File:A.png", 10), file_page(2, "File:B.png", 20), text], None, 1).unwrap();
    let gaps: Vec<u64> = s.file_gaps("w", 0, 10).unwrap().into_iter().map(|g| g.pageid).collect();
    assert_eq!(gaps, [1, 2]);
    assert_eq!(set_file_versions(&mut s, "w", 1, 10, &[version(1, 'a', FileState::Pending)]).unwrap(), 1);
    assert_eq!(s.file_gaps("w", 0, 10).unwrap().len(), 1, "A read at its revision");
    assert_eq!(s.file_gaps("w", 1, 10).unwrap()[0].pageid, 2, "after a page id");

    // A re-upload gives the page a new revision: read again, the old
    // version kept, only the new one added.
    s.apply_wiki_batch("w", &[file_page(1, "File:A.png", 11)], None, 2).unwrap();
    assert_eq!(s.file_gaps("w", 0, 1).unwrap()[0].pageid, 1);
    let added = set_file_versions(&mut s, "w", 1, 11, &[version(5, 'b', FileState::Pending), version(1, 'a', FileState::Pending)]).unwrap();
    assert_eq!(added, 1);
    let stamps: Vec<String> = s.file_versions("w", 1).unwrap().into_iter().map(|f| f.version.timestamp).collect();
    assert_eq!(stamps, ["2026-02-01T00:00:05Z", "2026-02-01T00:00:01Z"], "newest first");

    // A deleted page is not read.
    s.apply_wiki_batch("w", &[PageOp::Delete { pageid: 2 }], None, 3).unwrap();
    assert!(s.file_gaps("w", 0, 10).unwrap().is_empty());
}

#[test]
fn downloads_are_listed_in_order_and_a_stored_version_stays_stored_when_read_again() {
    let mut s = Store::open_in_memory().unwrap();
    s.apply_wiki_batch("w", &[file_page(1, "File:A.png", 10)], None, 1).unwrap();
    set_file_versions(&mut s, "w", 1, 10, &[version(1, 'a', FileState::Pending), version(2, 'b', FileState::Pending), version(3, 'c', FileState::Foreign)])
        .unwrap();
    let pending = s.pending_files("w", (0, ""), 3, 10).unwrap();
    assert_eq!(pending.len(), 2, "foreign files are not downloaded");
    assert_eq!(pending[0].title, "File:A.png");
    let after = s.pending_files("w", (1, "2026-02-01T00:00:01Z"), 3, 10).unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].version.timestamp, "2026-02-01T00:00:02Z");

    let a = &pending[0].version;
    file_stored(&mut s, "w", FileKey { pageid: 1, timestamp: &a.timestamp, sha1: &a.sha1 }, 5).unwrap();
    assert!(content_stored(&s, &a.sha1).unwrap());
    // Read again (a move changes the URL): stays stored, URL updated.
    let mut moved = version(1, 'a', FileState::Pending);
    moved.url = "http://w/images/moved.png".into();
    set_file_versions(&mut s, "w", 1, 11, &[moved]).unwrap();
    let a = s.file_versions("w", 1).unwrap().into_iter().find(|f| f.version.sha1.starts_with('a')).unwrap();
    assert_eq!((a.version.state, a.version.url.as_str()), (FileState::Stored, "http://w/images/moved.png"));
}

#[test]
fn bad_downloads_are_counted_and_quarantine_the_version_at_the_limit_and_a_retry_frees_it() {
    let mut s = Store::open_in_memory().unwrap();
    s.apply_wiki_batch("w", &[file_page(1, "File:A.png", 10)], None, 1).unwrap();
    set_file_versions(&mut s, "w", 1, 10, &[version(1, 'a', FileState::Pending), version(2, 'b', FileState::Pending)]).unwrap();
    let (ts, sha) = ("2026-02-01T00:00:01Z", "a".repeat(40));
    assert_eq!(s.file_failed("w", FileKey { pageid: 1, timestamp: ts, sha1: &sha }, "HTTP 503", false, 2).unwrap(), FileState::Pending, "no bytes: not bad");
    assert_eq!(s.file_failed("w", FileKey { pageid: 1, timestamp: ts, sha1: &sha }, "SHA-1 differs", true, 2).unwrap(), FileState::Pending);
    assert_eq!(s.file_failed("w", FileKey { pageid: 1, timestamp: ts, sha1: &sha }, "SHA-1 differs", true, 2).unwrap(), FileState::Quarantined);
    assert_eq!(s.pending_files("w", (0, ""), 5, 10).unwrap().len(), 1, "quarantined: not downloaded");
    assert_eq!(s.pending_files("w", (0, ""), 3, 10).unwrap().len(), 1);
    file_stored(&mut s, "w", FileKey { pageid: 1, timestamp: "2026-02-01T00:00:02Z", sha1: &"b".repeat(40) }, 3).unwrap();

    let status = s.files_status(Some("w")).unwrap();
    assert_eq!((status.versions, status.stored, status.quarantined, status.bad_downloads, status.bytes), (2, 1, 1, 2, 12));
    assert_eq!(s.files_status(Some("other")).unwrap(), FilesStatus::default());
    let listed = s.wiki_files("w").unwrap();
    assert_eq!(listed[1].error.as_deref(), Some("SHA-1 differs"));

    assert_eq!(s.retry_files("w").unwrap(), 1);
    assert_eq!(s.pending_files("w", (0, ""), 1, 10).unwrap().len(), 1, "attempts given back");
}

#[test]
fn one_content_shared_by_two_wikis_is_counted_once() {
    let mut s = Store::open_in_memory().unwrap();
    for w in ["w", "v"] {
        s.apply_wiki_batch(w, &[file_page(1, "File:A.png", 10)], None, 1).unwrap();
        set_file_versions(&mut s, w, 1, 10, &[version(1, 'a', FileState::Pending)]).unwrap();
        file_stored(&mut s, w, FileKey { pageid: 1, timestamp: "2026-02-01T00:00:01Z", sha1: &"a".repeat(40) }, 2).unwrap();
    }
    assert_eq!(s.files_status(None).unwrap().bytes, 11);
    // A third wiki's version of the same content, failed meanwhile (another
    // job held it): adopted, whatever its attempts.
    s.apply_wiki_batch("u", &[file_page(1, "File:A.png", 10)], None, 1).unwrap();
    set_file_versions(&mut s, "u", 1, 10, &[version(1, 'a', FileState::Pending)]).unwrap();
    for _ in 0..12 {
        s.file_failed("u", FileKey { pageid: 1, timestamp: "2026-02-01T00:00:01Z", sha1: &"a".repeat(40) }, "busy", false, 3).unwrap();
    }
    assert_eq!(s.adopt_stored_contents("u", 3).unwrap(), 1);
    assert_eq!(s.files_status(Some("u")).unwrap().stored, 1);
    assert_eq!(s.files_bytes().unwrap(), 11);
    assert_eq!(s.files_status(None).unwrap().stored, 3, "three versions, one content");
}
