use super::*;

fn fixture() -> Vec<u8> {
    std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mediawiki/enotif-user-talk.eml")).unwrap()
}

fn wikis(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(n, a)| (n.to_string(), a.to_string())).collect()
}

#[test]
fn a_real_notification_names_its_wiki_and_page() {
    let found = page_of_mail(&fixture(), &wikis(&[("other", "http://127.0.0.1:1/w/api.php"), ("test", "http://127.0.0.1:18699/w/api.php")]));
    assert_eq!(found, Ok(Found { wikis: vec!["test".into()], title: "User talk:Otheruser".into() }));
}

#[test]
fn wikis_sharing_a_host_are_told_apart_by_their_directory_or_all_triggered() {
    let mail = b"From: wiki@example.org\nSubject: x\n\nsee https://example.org/en/index.php?title=A_b%C3%BC&diff=next for it\n";
    let two = wikis(&[("en", "https://example.org/en/api.php"), ("de", "https://example.org/de/api.php")]);
    assert_eq!(page_of_mail(mail, &two), Ok(Found { wikis: vec!["en".into()], title: "A bü".into() }));
    let mail = b"From: wiki@example.org\nSubject: x\n\nsee https://example.org/wiki/Sub/page.\n";
    let found = page_of_mail(mail, &two).unwrap();
    assert_eq!((found.wikis.len(), found.title.as_str()), (2, "Sub/page"), "neither directory holds /wiki/: both");
}

#[test]
fn special_pages_are_passed_over_for_the_page_itself() {
    let mail = b"From: w@x\nSubject: s\n\nhttp://w.example/wiki/Special:Preferences\nhttp://w.example/wiki/Real_page\n";
    let found = page_of_mail(mail, &wikis(&[("w", "http://w.example/w/api.php")])).unwrap();
    assert_eq!(found.title, "Real page");
}

#[test]
fn other_mail_is_ignored_with_a_reason() {
    let configured = wikis(&[("w", "http://w.example/w/api.php")]);
    let unknown = page_of_mail(&fixture(), &configured);
    assert_eq!(unknown, Err(Ignored::UnknownWiki(vec!["http://127.0.0.1:18699".into(), "https://www.mediawiki.org".into()])));
    assert!(unknown.unwrap_err().to_string().contains("add its [wiki.*]"));
    assert!(matches!(page_of_mail(b"From: a@b\nSubject: hello\n\nno links here\n", &configured), Err(Ignored::NoPage(_))));
    assert!(matches!(page_of_mail(b"", &configured), Err(Ignored::Malformed(_))));
    assert!(matches!(page_of_mail(b"\x00\xff\xfe garbage without headers", &configured), Err(Ignored::Malformed(_) | Ignored::NoPage(_))));
}
