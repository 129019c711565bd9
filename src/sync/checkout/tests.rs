use proptest::prelude::*;

use super::*;
use crate::util::temp_name;

fn name(title: &str) -> String {
    file_name(title, &HashSet::new())
}

#[test]
fn ordinary_titles_stay_readable() {
    assert_eq!(name("Main Page"), "Main Page.wiki");
    assert_eq!(name("Zürich café — 東京"), "Zürich café — 東京.wiki");
    assert_eq!(name("Help:Editing/Tables"), "Help%3AEditing%2FTables.wiki");
    assert_eq!(title_of("Help%3AEditing%2FTables.wiki").unwrap(), "Help:Editing/Tables");
}

#[test]
fn names_never_escape_the_directory_or_hide() {
    for title in ["../etc/passwd", "/absolute", "..", ".hidden", "a\\b", "trailing dot.", "trailing space ", "100% sure", "C:\\x"] {
        let n = name(title);
        assert!(!n.contains('/') && !n.contains('\\') && !n.starts_with('.') && !n.chars().any(char::is_control), "{title:?} -> {n:?}");
        assert_eq!(title_of(&n).unwrap(), title, "{n:?}");
    }
    // Control and bidi characters are escaped, and come back: the same rule both ways.
    for (title, file) in [("tab\there", "tab%09here.wiki"), ("next\u{85}line", "next%C2%85line.wiki"), ("a\u{202E}txt.exe", "a%E2%80%AEtxt.exe.wiki")] {
        assert_eq!(name(title), file);
        assert_eq!(title_of(file).as_deref(), Ok(title), "{file:?}");
    }
}

/// Found by the `names` fuzz target: titles that look like what a name
/// is read as when it is not a page (a conflict copy, a hashed name).
#[test]
fn titles_that_look_like_conflict_copies_or_hashes_still_round_trip() {
    for title in ["Notes.wiki.conflict-", "Notes.wiki.conflict-12", "Notes.wiki.conflict-12.wiki", "Report~0123456789abcdef"] {
        let n = name(title);
        if is_hashed(&n) {
            assert_ne!(n, format!("{title}.wiki"), "{title:?} gets a real hash, not its own lookalike");
        } else {
            assert_eq!(title_of(&n).as_deref(), Ok(title), "{n:?}");
        }
    }
    assert!(is_hashed(&name("Report~0123456789abcdef")));
    assert_eq!(title_of("Notes.wiki.conflict-3"), Err(Skip::ConflictCopy));
    assert_eq!(title_of("Notes.wiki.conflict-x"), Err(Skip::NotAWikiFile));
}

#[test]
fn hostile_file_names_are_refused_with_a_reason() {
    assert_eq!(title_of("notes.txt"), Err(Skip::NotAWikiFile));
    assert_eq!(title_of(".swap.wiki"), Err(Skip::Hidden));
    assert_eq!(title_of("bad%zz.wiki"), Err(Skip::BadEscape));
    assert_eq!(title_of("cut%4.wiki"), Err(Skip::BadEscape));
    assert_eq!(title_of("latin%E9.wiki"), Err(Skip::NotUtf8));
    assert_eq!(title_of("bell\u{7}.wiki"), Err(Skip::ControlCharacter), "raw, as no title is written");
    assert_eq!(title_of("next\u{85}line.wiki"), Err(Skip::ControlCharacter));
    assert_eq!(title_of("a\u{202E}txt.exe.wiki"), Err(Skip::ControlCharacter));
    assert_eq!(title_of(".oai-mirror-tmp.00000000000000ff"), Err(Skip::Temporary));
    assert_eq!(title_of(".Main Page.wiki.oai-mirror-tmp"), Err(Skip::Temporary), "the older form");
    assert_eq!(title_of("%20.wiki"), Err(Skip::Empty));
}

#[test]
fn case_twins_and_long_titles_get_a_hash() {
    let first = name("Foo");
    let taken: HashSet<String> = [first.to_lowercase()].into();
    let twin = file_name("FOO", &taken);
    assert_ne!(twin.to_lowercase(), first.to_lowercase());
    assert!(is_hashed(&twin) && !is_hashed(&first), "{twin}");
    let long = "Ω%".repeat(150);
    let n = name(&long);
    assert!(n.len() <= MAX_NAME && is_hashed(&n), "{} bytes", n.len());
    assert_ne!(n, name(&"Ω%".repeat(151)), "different titles, different names");
}

/// NAME_MAX is 255 bytes on Linux and most file systems: every name this
/// module makes (page, conflict copy, temporary) stays within it, for every
/// title MediaWiki allows (255 bytes of UTF-8).
#[test]
fn every_name_fits_a_file_system_for_the_longest_titles() {
    const NAME_MAX: usize = 255;
    for title in ["x".repeat(255), "é".repeat(127), "東".repeat(85), "%".repeat(255), "\u{85}".repeat(127), format!("{}.", "a".repeat(254))] {
        let n = name(&title);
        assert!(n.len() <= MAX_NAME, "{} bytes for a title of {}", n.len(), title.len());
        assert!(conflict_copy_name(&n, i64::MAX).len() <= NAME_MAX);
    }
    assert!(temp_name(u64::MAX).len() <= NAME_MAX);
    assert_ne!(temp_name(1), temp_name(2));
}

#[test]
fn a_scan_reads_pages_and_says_why_it_skips_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("Main Page.wiki"), "hello & <welcome>").unwrap();
    std::fs::write(d.join("Help%3AX.wiki"), "help").unwrap();
    std::fs::write(d.join("README.txt"), "not a page").unwrap();
    std::fs::write(d.join(".Main Page.wiki.swp"), "editor junk").unwrap();
    std::fs::write(d.join("binary.wiki"), [0xff, 0xfe, 0x00]).unwrap();
    std::fs::create_dir(d.join("sub.wiki")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", d.join("passwd.wiki")).unwrap();
    std::fs::write(d.join("Long~0123456789abcdef.wiki"), "x").unwrap();
    let scan = scan(d, &HashMap::new()).unwrap();
    let titles: Vec<&str> = scan.pages.iter().map(|p| p.title.as_str()).collect();
    assert_eq!(titles, ["Help:X", "Main Page"]);
    assert_eq!(scan.pages[1].text, "hello & <welcome>");
    let skipped: HashMap<&str, &Skip> = scan.skipped.iter().map(|(n, s)| (n.as_str(), s)).collect();
    assert_eq!(skipped["README.txt"], &Skip::NotAWikiFile);
    assert_eq!(skipped[".Main Page.wiki.swp"], &Skip::Hidden);
    assert_eq!(skipped["binary.wiki"], &Skip::UnreadableText);
    assert_eq!(skipped["sub.wiki"], &Skip::Directory);
    assert_eq!(skipped["passwd.wiki"], &Skip::Symlink);
    assert_eq!(skipped["Long~0123456789abcdef.wiki"], &Skip::UnknownHashedName);
    // A hashed name the sync wrote is known by its title.
    let known: HashMap<String, String> = [("Long~0123456789abcdef.wiki".to_string(), "A long title".to_string())].into();
    assert!(super::scan(d, &known).unwrap().pages.iter().any(|p| p.title == "A long title"));
}

fn page(file: &str, text: &str) -> PageFile {
    PageFile { file: file.into(), title: file.into(), text: text.into(), fingerprint: fingerprint(text) }
}

#[test]
fn a_renamed_file_is_found_by_its_content() {
    let (c, d) = ("c\nline two\n", "d");
    let gone = [Gone { file_id: 3, fingerprint: fingerprint(c), base_text: c }, Gone { file_id: 4, fingerprint: fingerprint(d), base_text: d }];
    let (moved, fresh) = (page("C moved.wiki", c), page("E.wiki", "e"));
    assert_eq!(renames(&gone, &[&moved, &fresh]), [(3, "C moved.wiki".to_string())]);
    // Nothing gone, nothing renamed.
    assert!(renames(&[], &[&moved]).is_empty());
}

#[test]
fn a_file_renamed_and_edited_is_still_a_rename_when_most_lines_stay() {
    let base = "== Intro ==\nOne.\nTwo.\nThree.\nFour.\n";
    let edited = "== Intro ==\nOne.\nTwo, edited.\nThree.\nFour.\n";
    let gone = [Gone { file_id: 7, fingerprint: fingerprint(base), base_text: base }];
    let renamed = page("Renamed.wiki", edited);
    assert_eq!(renames(&gone, &[&renamed]), [(7, "Renamed.wiki".to_string())]);
    // A different text under a new name is a new page (and the old one deleted).
    let other = page("Other.wiki", "Something else entirely.\nNothing alike.\n");
    assert!(renames(&gone, &[&other]).is_empty());
}

#[test]
fn each_gone_file_is_renamed_at_most_once() {
    let t = "same text";
    let gone = [Gone { file_id: 1, fingerprint: fingerprint(t), base_text: t }];
    let (a, b) = (page("A.wiki", t), page("B.wiki", t));
    assert_eq!(renames(&gone, &[&a, &b]), [(1, "A.wiki".to_string())], "the copy is a new page");
}

#[test]
fn file_text_is_read_as_mediawiki_would_save_it() {
    assert_eq!(normalize("line\r\nnext\r\n\n  "), "line\nnext");
    assert_eq!(file_content("text  "), "text\n");
    assert_eq!(normalize(&file_content("a & <b>")), "a & <b>");
    assert_eq!(file_content(""), "");
    assert_eq!(title_of(&conflict_copy_name("Main Page.wiki", 3)), Err(Skip::ConflictCopy));
    assert_eq!(title_of(&temp_name(7)), Err(Skip::Temporary));
}

proptest! {
    #[test]
    fn every_title_round_trips_through_a_safe_name(title in "(\\PC|\\p{Cc}|[\u{200E}\u{202A}-\u{202E}\u{2066}-\u{2069}]){1,60}") {
        prop_assume!(!title.trim().is_empty());
        let n = name(&title);
        prop_assert!(!n.contains('/') && !n.starts_with('.') && n.len() <= MAX_NAME && !n.chars().any(unsafe_char));
        if !is_hashed(&n) {
            prop_assert_eq!(title_of(&n).unwrap(), title);
        }
    }
}
