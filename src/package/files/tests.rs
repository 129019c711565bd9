use super::*;
use checkpoints::{FileState, FileVersion};

fn stored(second: u32, sha1: char, user: &str, state: FileState) -> StoredFile {
    StoredFile {
        pageid: 4,
        title: "File:A b.png".into(),
        deleted: false,
        version: FileVersion {
            timestamp: format!("2026-01-02T03:04:{second:02}Z"),
            sha1: sha1.to_string().repeat(40),
            size: 10,
            mime: "image/png".into(),
            user: user.into(),
            comment: "a <b> & c".into(),
            url: "http://w/images/a/ab/A_b.png".into(),
            state,
        },
        attempts: 0,
        bad: 0,
        error: None,
    }
}

#[test]
fn versions_go_out_oldest_first_the_old_ones_with_their_archive_names_and_only_stored_ones() {
    // As the store lists them: newest first.
    let versions = [stored(9, 'c', "Ann", FileState::Stored), stored(5, 'b', "", FileState::Pending), stored(1, 'a', "192.0.2.1", FileState::Stored)];
    let mut out = String::new();
    let mut contents = BTreeMap::new();
    uploads(&mut out, "File:A b.png", &versions, &mut contents);
    let first = out.find("2026-01-02T03:04:01Z").unwrap();
    let last = out.find("2026-01-02T03:04:09Z").unwrap();
    assert!(first < last, "oldest first: {out}");
    assert!(!out.contains("03:04:05"), "a version not stored is not offered");
    assert_eq!(out.matches("<archivename>").count(), 1);
    assert!(out.contains("<archivename>20260102030401!A_b.png</archivename>"), "{out}");
    assert!(out.contains("<filename>A_b.png</filename>"));
    assert!(out.contains("<ip>192.0.2.1</ip>") && out.contains("<username>Ann</username>"));
    assert!(out.contains("<comment>a &lt;b&gt; &amp; c</comment>"));
    assert!(out.contains(&format!("<rel>sha1/aa/{}</rel>", "a".repeat(40))));
    assert_eq!(contents.len(), 2);
}

#[test]
fn only_a_content_named_by_its_sha1_is_a_member() {
    let sha = "ab".repeat(20);
    assert_eq!(member_sha1(&format!("files/sha1/ab/{sha}")), Some(sha.as_str()));
    assert_eq!(member_sha1(&format!("files/sha1/cd/{sha}")), None, "in the wrong directory");
    assert_eq!(member_sha1("files/sha1/ab/../../etc"), None);
    assert_eq!(member_sha1(&format!("other/sha1/ab/{sha}")), None);
    assert_eq!(rel(&sha), format!("sha1/ab/{sha}"));
}
