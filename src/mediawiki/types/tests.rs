use super::*;

fn sample(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/mediawiki/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn a_titles_namespace_is_read_from_its_prefix_as_mediawiki_reads_it() {
    let mut si = read_siteinfo(&sample("01-siteinfo")).unwrap();
    si.aliases.push((4, "TW".into()));
    for (title, ns) in [
        ("Main Page", 0),
        ("Talk:Main Page", 1),
        ("talk:lower case", 1),
        ("User_talk:Someone", 3),
        (" User talk :Spaced", 3),
        ("Testwiki:About", 4),
        ("Project:About", 4),
        ("TW:About", 4),
        ("Foo: a study", 0),
        (":Leading colon", 0),
        ("Talk:Has:two colons", 1),
    ] {
        assert_eq!(si.namespace_of(title), ns, "{title:?}");
    }
}

#[test]
fn namespace_aliases_are_read() {
    let v: Value = serde_json::json!({"query": {"general": {"sitename": "W"}, "namespaces": {}, "namespacealiases": [{"id": 4, "alias": "WP"}, {"id": 6, "alias": "Image"}]}});
    assert_eq!(read_siteinfo(&v).unwrap().aliases, vec![(4, "WP".to_string()), (6, "Image".to_string())]);
}

#[test]
fn siteinfo_and_userinfo() {
    let si = read_siteinfo(&sample("01-siteinfo")).unwrap();
    assert_eq!((si.sitename.as_str(), si.generator.as_str(), si.case.as_str()), ("Testwiki", "MediaWiki 1.39.17", "first-letter"));
    assert!(si.namespaces.iter().any(|ns| ns.id == 1 && ns.name == "Talk"));
    assert!(si.namespaces.iter().any(|ns| ns.id == 4 && ns.name == "Testwiki" && ns.canonical.as_deref() == Some("Project")));
    let ui = read_userinfo(&sample("06-userinfo")).unwrap();
    assert_eq!(ui.name, "Harvestbot");
    for right in ["edit", "move", "delete", "suppressredirect", "bot"] {
        assert!(ui.has(right), "{right}");
    }
}

#[test]
fn edit_answers_become_outcomes() {
    match read_edit(&sample("11-edit-create")).unwrap() {
        EditAnswer::Saved { pageid: 2, newrevid: 2, created: true, timestamp } => assert_eq!(timestamp, "2026-11-22T12:26:33Z"),
        _ => panic!("create"),
    }
    assert!(matches!(read_edit(&sample("13-edit-nochange")), Some(EditAnswer::Done(EditOutcome::NoChange { pageid: 2 }))));
    assert!(matches!(read_edit(&sample("25-edit-conflict-basetimestamp")), Some(EditAnswer::Done(EditOutcome::Conflict))));
    assert!(matches!(read_edit(&sample("44-edit-after-delete-starttimestamp")), Some(EditAnswer::Done(EditOutcome::PageDeleted))));
    assert!(matches!(read_edit(&sample("12-edit-createonly-exists")), Some(EditAnswer::Done(EditOutcome::Exists))));
    assert!(matches!(read_edit(&sample("18-edit-nocreate-missing")), Some(EditAnswer::Done(EditOutcome::Missing))));
    assert!(matches!(read_edit(&sample("15-edit-badtoken")), Some(EditAnswer::Error { code, .. }) if code == "badtoken"));
}

#[test]
fn moves_with_and_without_a_redirect() {
    assert!(read_move(&sample("52-move-with-redirect")).unwrap().redirect_created);
    assert!(!read_move(&sample("53-move-noredirect")).unwrap().redirect_created);
}

#[test]
fn the_change_feed_types_edits_moves_and_deletes() {
    let batch = read_changes(&sample("62-recentchanges"));
    assert!(matches!(&batch.changes[0], Change::Edit { pageid: 1, created: true, .. }));
    let moves: Vec<&Change> = batch.changes.iter().filter(|c| matches!(c, Change::Move { .. })).collect();
    assert_eq!(moves.len(), 2);
    assert!(matches!(moves[0], Change::Move { pageid: 8, redirect: true, to, .. } if to == "Smoke demo Move target redirect"));
    assert!(matches!(moves[1], Change::Move { pageid: 9, redirect: false, .. }));
    assert!(batch.changes.iter().any(|c| matches!(c, Change::Delete { pageid: 5, .. })));
    assert_eq!(read_changes(&sample("63-recentchanges-paged")).next.as_deref(), Some("20261122122638|4"));
}

#[test]
fn pages_and_revisions() {
    let pages = read_pages(&sample("56-query-after-move"));
    assert!(pages[0].missing && pages[0].pageid.is_none());
    assert_eq!(pages[1].pageid, Some(8));
    let revs = read_revisions(&sample("66-revisions-history"));
    assert_eq!(revs[0].text.as_deref(), Some("line one\nline two\nline three\nline four\nline five"));
    assert_eq!(revs[1].parentid, revs[0].revid);
    let missing = read_pages(&sample("20-query-missing-pageid"));
    assert!(missing[0].missing);
}

#[test]
fn titles_mediawiki_forbids_are_named() {
    for ok in ["Main Page", "Help:Editing/Tables", "Zürich & 東京", "C++ (language)", "50% off"] {
        assert_eq!(title_problem(ok), None, "{ok}");
    }
    for bad in ["Doomed\nMain Page", "a\rb", "x#y", "[[x]]", "a|b", "{{t}}", "<b>", "", "  ", "tab\there"] {
        assert!(title_problem(bad).is_some(), "{bad:?}");
    }
    assert!(title_problem(&"x".repeat(256)).is_some_and(|p| p.contains("256 bytes")));
}
