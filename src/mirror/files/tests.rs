use super::*;
use crate::mediawiki::FileRevision;

fn opts() -> FilesOptions {
    FilesOptions { all_versions: true, copy_foreign: false, max_file_bytes: 100, max_total_bytes: None, dir: None }
}

fn rev(second: u32, size: u64, sha1: &str, hidden: bool) -> FileRevision {
    FileRevision {
        timestamp: format!("2026-01-01T00:00:{second:02}Z"),
        user: "Ann".into(),
        comment: "c".into(),
        url: if hidden { String::new() } else { format!("http://w/images/{second}.png") },
        size,
        sha1: sha1.into(),
        mime: "image/png".into(),
        hidden,
    }
}

fn info(repository: &str, versions: Vec<FileRevision>) -> FileInfo {
    FileInfo { pageid: 1, title: "File:A.png".into(), repository: repository.into(), versions }
}

#[test]
fn each_version_gets_the_state_its_description_puts_it_in() {
    let sha = "a".repeat(40);
    let read = versions(&info("local", vec![rev(3, 10, &sha, false), rev(2, 101, &sha, false), rev(1, 5, "", true), rev(0, 5, "not-a-sha1", false)]), &opts());
    let states: Vec<FileState> = read.iter().map(|v| v.state).collect();
    assert_eq!(states, [FileState::Pending, FileState::TooLarge, FileState::Hidden, FileState::Hidden]);
    assert_eq!(read[3].sha1, "", "a SHA-1 that is not one never names a content");
    assert_eq!((read[0].url.as_str(), read[0].size, read[0].user.as_str()), ("http://w/images/3.png", 10, "Ann"));
}

#[test]
fn a_shared_repositorys_files_are_recorded_unless_copying_is_asked_and_a_page_without_a_file_has_no_versions() {
    let sha = "b".repeat(40);
    let shared = info("shared", vec![rev(1, 10, &sha, false)]);
    assert_eq!(versions(&shared, &opts())[0].state, FileState::Foreign);
    assert_eq!(versions(&shared, &FilesOptions { copy_foreign: true, ..opts() })[0].state, FileState::Pending);
    assert!(versions(&info("", vec![]), &opts()).is_empty());
}
