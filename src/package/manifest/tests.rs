use super::*;

fn manifest(sequence: u64, follows: Option<(u64, i64)>, end: i64) -> Manifest {
    let part = |name: &str| Part { name: name.into(), bytes: 0, sha256: String::new() };
    Manifest {
        format: FORMAT.into(),
        wiki: "hq".into(),
        site: None,
        stream: "aaaa1111bbbb2222".into(),
        sequence,
        follows: follows.map(|(sequence, end)| Follows { sequence, end }),
        end,
        history: true,
        created: String::new(),
        pages: 0,
        revisions: 0,
        xml: part("pages.xml.gz"),
        delete_first: part("delete-first.txt"),
        moves: vec![],
        deletions: vec![],
        undeletions: vec![],
        sync: None,
        ack: None,
        files: None,
    }
}

fn applied(sequence: u64, end: i64) -> Applied {
    Applied { stream: "aaaa1111bbbb2222".into(), origin: "hq".into(), sequence, end }
}

#[test]
fn a_chain_of_packages_applies_in_order_and_each_only_once() {
    let full = manifest(1, None, 100);
    let second = manifest(2, Some((1, 100)), 150);
    let third = manifest(3, Some((2, 150)), 170);
    assert_eq!(admit(&full, "hq", None, false), Ok(Verdict::Apply));
    assert_eq!(admit(&second, "hq", Some(&applied(1, 100)), true), Ok(Verdict::Apply));
    assert_eq!(admit(&second, "hq", Some(&applied(2, 150)), true), Ok(Verdict::AlreadyApplied));
    assert_eq!(admit(&full, "hq", Some(&applied(2, 150)), true), Ok(Verdict::AlreadyApplied), "an older full package");
    assert_eq!(admit(&third, "hq", Some(&applied(2, 150)), true), Ok(Verdict::Apply));
    // A newer full package replaces whatever came before it.
    assert_eq!(admit(&manifest(4, None, 200), "hq", Some(&applied(2, 150)), true), Ok(Verdict::Apply));
}

#[test]
fn a_gap_is_refused_and_says_which_packages_are_missing() {
    let third = manifest(3, Some((2, 150)), 170);
    let e = admit(&third, "hq", Some(&applied(1, 100)), true).unwrap_err();
    assert!(e.contains("continues package 2") && e.contains("last package applied to wiki 'hq' here is 1"), "{e}");
    let e = admit(&third, "hq", None, false).unwrap_err();
    assert!(e.contains("import a full package first"), "{e}");
}

#[test]
fn a_package_made_from_an_older_one_than_the_last_applied_overlaps_harmlessly() {
    // Exported --since package 1 after package 2 had been made: it
    // holds everything package 2 held and more.
    let again = manifest(3, Some((1, 100)), 180);
    assert_eq!(admit(&again, "hq", Some(&applied(2, 150)), true), Ok(Verdict::Apply));
}

#[test]
fn foreign_packages_and_mirrored_wikis_are_refused() {
    let mut other = manifest(1, None, 100);
    other.stream = "cccc3333".into();
    let e = admit(&other, "hq", Some(&applied(1, 100)), true).unwrap_err();
    assert!(e.contains("another stream") && e.contains("--as NAME"), "{e}");
    let e = admit(&manifest(1, None, 100), "hq", None, true).unwrap_err();
    assert!(e.contains("did not come from packages") && e.contains("--as NAME"), "{e}");
}
