use std::io::Write;

use super::*;

const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

#[test]
fn a_content_appears_only_whole_and_a_partial_one_resumes_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let blobs = Blobs::beside(&dir.path().join("mirror.db"));
    assert_eq!(blobs.root(), dir.path().join("mirror.db.files"));
    let (mut f, len) = blobs.partial(SHA).unwrap();
    assert_eq!(len, 0);
    f.write_all(b"half").unwrap();
    drop(f);
    assert!(!blobs.has(SHA, 4), "a partial download is not kept");
    let (mut f, len) = blobs.partial(SHA).unwrap();
    assert_eq!(len, 4, "resumed");
    f.write_all(b" and half").unwrap();
    let kept = blobs.keep(SHA).unwrap();
    assert_eq!(std::fs::read(&kept).unwrap(), b"half and half");
    assert!(kept.ends_with(format!("sha1/01/{SHA}")));
    assert!(blobs.has(SHA, 13));
    assert!(!blobs.has(SHA, 12), "the size is part of having it");
    assert_eq!(blobs.partial(SHA).unwrap().1, 0, "nothing partial left");
}

#[test]
fn a_mismatch_goes_aside_replacing_the_last_one_and_names_that_are_not_a_sha1_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let blobs = Blobs::new(dir.path());
    for body in [&b"wrong"[..], b"wrong again"] {
        blobs.restart_partial(SHA).unwrap().0.write_all(body).unwrap();
        let aside = blobs.quarantine(SHA).unwrap();
        assert_eq!(std::fs::read(aside).unwrap(), body);
    }
    assert_eq!(std::fs::read_dir(dir.path().join("quarantine")).unwrap().count(), 1);
    assert!(!blobs.has(SHA, 5));
    for bad in ["../../etc/passwd", "0123456789ABCDEF0123456789ABCDEF01234567", "abc", ""] {
        assert_eq!(blobs.path(bad).unwrap_err().kind(), std::io::ErrorKind::InvalidInput, "{bad}");
        assert!(blobs.partial(bad).is_err());
    }
}

#[cfg(unix)]
#[test]
fn a_link_planted_where_a_partial_download_goes_is_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let blobs = Blobs::new(dir.path());
    let target = dir.path().join("elsewhere");
    std::fs::write(&target, b"precious").unwrap();
    std::fs::create_dir_all(dir.path().join("partial")).unwrap();
    std::os::unix::fs::symlink(&target, dir.path().join(format!("partial/{SHA}.part"))).unwrap();
    assert!(blobs.partial(SHA).is_err());
    assert_eq!(std::fs::read(&target).unwrap(), b"precious");
}

#[cfg(unix)]
#[test]
fn a_content_downloaded_by_one_job_is_not_written_by_another_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let blobs = Blobs::new(dir.path());
    let (first, _) = blobs.partial(SHA).unwrap();
    assert_eq!(blobs.partial(SHA).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    drop(first);
    assert!(blobs.partial(SHA).is_ok(), "free once the first is done");
}
