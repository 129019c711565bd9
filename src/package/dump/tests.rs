use super::*;

#[test]
fn a_files_compression_is_told_by_its_first_bytes() {
    assert_eq!(compression(&[0x1f, 0x8b, 8]), "gzip");
    assert_eq!(compression(b"BZh91AY"), "bzip2");
    assert_eq!(compression(&[0x28, 0xb5, 0x2f, 0xfd, 0]), "zstd");
    assert_eq!(compression(&[b'7', b'z', 0xbc, 0xaf, 0x27, 0x1c]), "7z");
    assert_eq!(compression(b"<mediawiki xmlns"), "none");
    assert_eq!(compression(b""), "none");
}

#[test]
fn a_revision_whose_text_is_not_what_its_sha1_says_is_counted_and_the_feed_goes_on_from_the_newest() {
    let good = xml::base36_sha1(&crate::util::sha1_hex("right"));
    let dump = format!(
        r#"<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" version="0.11">
  <page><title>P</title><ns>0</ns><id>1</id>
    <revision><id>10</id><timestamp>2026-01-01T00:00:00Z</timestamp><contributor><username>Ann</username><id>1</id></contributor><text bytes="5">right</text><sha1>{good}</sha1></revision>
    <revision><id>11</id><parentid>10</parentid><timestamp>2026-02-01T00:00:00Z</timestamp><contributor><ip>192.0.2.1</ip></contributor><text bytes="5">wrong</text><sha1>{good}</sha1></revision>
  </page>
  <page><title>Q</title><ns>0</ns><id>2</id>
    <revision><id>12</id><timestamp>2026-01-15T00:00:00Z</timestamp><contributor deleted="deleted" /><comment deleted="deleted" /><text bytes="1">q</text></revision>
  </page>
</mediawiki>"#
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.xml");
    std::fs::write(&path, dump).unwrap();
    let mut store = Store::open_in_memory().unwrap();
    let done = import_dump(&mut store, &path, "w").unwrap();
    assert_eq!((done.pages, done.revisions, done.bad_sha1), (2, 3, 1));
    assert_eq!(done.newest.as_deref(), Some("2026-02-01T00:00:00Z"));
    assert_eq!(store.wiki_feed("w", "api").unwrap().next_from.as_deref(), Some("2026-02-01T00:00:00Z"));
    assert_eq!(store.wiki_revisions("w", 2).unwrap()[0].user, "", "a deleted contributor stays unnamed");
    assert!(store.history_gaps("w", 0, 10).unwrap().is_empty(), "every revision of each page is there: no history to read");
    // Imported again (a run killed and started over): nothing twice.
    let again = import_dump(&mut store, &path, "w").unwrap();
    assert_eq!((again.counts.created, again.counts.updated), (0, 0));
    assert_eq!(store.wiki_revisions("w", 1).unwrap().len(), 2);
}
