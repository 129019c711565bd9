use super::*;

fn stored(pageid: u64, ns: i64, title: &str, redirect: Option<&str>) -> StoredPage {
    StoredPage { pageid, ns, title: title.into(), redirect: redirect.map(str::to_string), deleted: false, displaced: false, rev_id: None, sha1: None }
}

fn rev(revid: u64, parentid: u64, user: &str, comment: &str, text: &str) -> RevisionRow {
    RevisionRow {
        revid,
        parentid,
        timestamp: "2026-11-22T12:26:53Z".into(),
        user: user.into(),
        comment: comment.into(),
        sha1: crate::util::sha1_hex(text),
        text: text.into(),
        minor: false,
        user_id: None,
    }
}

#[test]
fn sha1_in_base_36_as_mediawiki_writes_it() {
    // From the test bed's Special:Export (samples/export): the text
    // "= Export sample =\nRevision one, by the bot.\n\n[[Category:Samples]]".
    let text = "= Export sample =\nRevision one, by the bot.\n\n[[Category:Samples]]";
    assert_eq!(base36_sha1(&crate::util::sha1_hex(text)), "kyregjcn21yumtx640w2ey3ljbxcpgt");
    assert_eq!(base36_sha1(&"0".repeat(40)), "0".repeat(31));
    assert_eq!(base36_sha1("xyz"), "");
}

#[test]
fn models_follow_mediawikis_defaults() {
    assert_eq!(content_model(8, "MediaWiki:Common.css").0, "css");
    assert_eq!(content_model(2, "User:Ann/common.js").0, "javascript");
    assert_eq!(content_model(2, "User:Ann.js").0, "wikitext", "a user page itself, not a subpage");
    assert_eq!(content_model(0, "Style.css").0, "wikitext");
    assert_eq!(content_model(8, "MediaWiki:Data.json"), ("json", "application/json"));
}

#[test]
fn pages_written_stream_back_one_at_a_time() {
    let site = WikiSite {
        sitename: "Field & <wiki>".into(),
        dbname: "fieldwiki".into(),
        base: "http://127.0.0.1/w/index.php?title=Main_Page&a=1".into(),
        generator: "MediaWiki 1.39.17".into(),
        case: "first-letter".into(),
        namespaces: vec![
            checkpoints::SiteNamespace { id: 0, case: "first-letter".into(), name: String::new() },
            checkpoints::SiteNamespace { id: 1, case: "first-letter".into(), name: "Talk".into() },
            checkpoints::SiteNamespace { id: 3000, case: "case-sensitive".into(), name: "Field & notes".into() },
        ],
    };
    let mut doc = header(&site, "w");
    let minor = RevisionRow { minor: true, user_id: Some(4), ..rev(7, 0, "Ann", "", "first & <x>") };
    let imported = RevisionRow { user_id: Some(0), ..rev(11, 0, "imported>Old", "", "x") };
    page(&mut doc, &stored(5, 0, "A & B", None), &[minor, rev(9, 7, "192.0.2.1", "c <d>", "second\n  line\u{1}"), imported]);
    page(&mut doc, &stored(6, 1, "Talk:R", Some("A & B")), &[rev(10, 0, "Bob", "", "#REDIRECT [[A & B]]")]);
    doc.push_str(FOOTER);
    assert!(doc.contains("<ip>192.0.2.1</ip>") && doc.contains("<username>Ann</username>\n        <id>4</id>"));
    assert!(doc.contains("<username>imported&gt;Old</username>\n        <id>0</id>"), "a name without an account is not an IP");
    assert!(doc.contains("<sitename>Field &amp; &lt;wiki&gt;</sitename>"));
    let mut reader = PageReader::new(std::io::Cursor::new(doc.as_bytes()), 1 << 20);
    assert_eq!(reader.site(), None, "read with the first page");
    let first = reader.next_page().unwrap().unwrap();
    assert_eq!(reader.site(), Some(&site), "<siteinfo> reads back as written");
    assert_eq!((first.pageid, first.title.as_str(), first.revisions.len()), (5, "A & B", 3));
    assert_eq!((first.revisions[0].minor, first.revisions[0].user_id), (true, Some(4)));
    assert_eq!((first.revisions[1].minor, first.revisions[1].user_id), (false, Some(0)));
    assert_eq!(first.revisions[0].text, "first & <x>");
    assert_eq!(first.revisions[1].text, "second\n  line\u{FFFD}", "a control character XML cannot hold");
    assert_eq!((first.revisions[1].user.as_str(), first.revisions[1].parentid), ("192.0.2.1", 7));
    let second = reader.next_page().unwrap().unwrap();
    assert_eq!((second.ns, second.redirect.as_deref()), (1, Some("A & B")));
    assert_eq!(reader.next_page().unwrap(), None);
}

#[test]
fn a_cut_document_and_an_oversized_page_are_errors() {
    let mut doc = header(&WikiSite::default(), "w");
    page(&mut doc, &stored(5, 0, "A", None), &[rev(7, 0, "Ann", "", &"x".repeat(5000))]);
    let cut = &doc[..doc.len() - 40];
    let e = PageReader::new(std::io::Cursor::new(cut.as_bytes()), 1 << 20).next_page().unwrap_err();
    assert!(e.contains("ends at byte"), "{e}");
    let e = PageReader::new(std::io::Cursor::new(doc.as_bytes()), 1024).next_page().unwrap_err();
    assert!(e.contains("larger than"), "{e}");
    // No footer after the last page.
    let mut r = PageReader::new(std::io::Cursor::new(doc.as_bytes()), 1 << 20);
    assert!(r.next_page().unwrap().is_some());
    assert!(r.next_page().unwrap_err().contains("without </mediawiki>"));
}

#[test]
fn a_page_of_many_revisions_comes_in_parts_each_with_its_head() {
    let revisions: Vec<RevisionRow> = (1..=200).map(|n| rev(n, n - 1, "Ann", "", &format!("text {n} {}", "w".repeat(n as usize % 50)))).collect();
    let mut doc = header(&WikiSite::default(), "w");
    page(&mut doc, &stored(5, 1, "Talk:Many", Some("Elsewhere")), &revisions);
    page(&mut doc, &stored(6, 0, "After", None), &revisions[..1]);
    doc.push_str(FOOTER);
    let mut reader = PageReader::with_parts(std::io::Cursor::new(doc.as_bytes()), 1 << 20, 4096);
    let (mut parts, mut read) = (0, Vec::new());
    while let Some(p) = reader.next_page().unwrap() {
        if p.pageid == 6 {
            assert!(!reader.continues());
            break;
        }
        assert_eq!((p.pageid, p.ns, p.title.as_str(), p.redirect.as_deref()), (5, 1, "Talk:Many", Some("Elsewhere")), "every part has the head");
        assert_eq!(reader.continues(), parts > 0);
        parts += 1;
        read.extend(p.revisions.into_iter().map(|r| (r.revid, r.text)));
    }
    assert!(parts > 5, "{parts} parts");
    assert_eq!(read, revisions.iter().map(|r| (r.revid, r.text.clone())).collect::<Vec<_>>(), "every revision once, in order");
    assert_eq!(reader.next_page().unwrap(), None);
}

#[test]
fn a_hidden_author_is_written_as_mediawiki_writes_it_and_read_back_empty() {
    let mut doc = header(&WikiSite::default(), "w");
    page(&mut doc, &stored(1, 0, "A", None), &[rev(1, 0, "", "", "text"), rev(2, 1, "192.0.2.7", "", "more"), rev(3, 2, "Ann", "", "end")]);
    doc.push_str(FOOTER);
    assert!(doc.contains("<contributor deleted=\"deleted\" />"), "{doc}");
    assert!(doc.contains("<ip>192.0.2.7</ip>") && doc.contains("<username>Ann</username>"), "{doc}");
    let back = crate::mirror::export::parse(&doc).unwrap();
    let users: Vec<&str> = back[0].revisions.iter().map(|r| r.user.as_str()).collect();
    assert_eq!(users, ["", "192.0.2.7", "Ann"]);
}
