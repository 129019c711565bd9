use super::*;

#[test]
fn a_page_with_markup_characters_in_its_text_survives_whole() {
    let xml = r#"<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" version="0.11">
  <page><title>Ümlaut &amp; Ωmega</title><ns>1</ns><id>5</id><redirect title="A &amp; B" />
    <revision><id>12</id><parentid>11</parentid><timestamp>2026-11-22T12:27:04Z</timestamp>
      <contributor><username>Harvestbot</username><id>3</id></contributor><comment>a &lt;b&gt; c</comment>
      <model>wikitext</model><format>text/x-wiki</format>
      <text bytes="40" sha1="x" xml:space="preserve">&lt;ref&gt;x&lt;/ref&gt; &amp;nbsp; R&amp;D &#233;
second line &quot;q&quot;</text></revision></page></mediawiki>"#;
    let pages = parse(xml).unwrap();
    assert_eq!(pages.len(), 1);
    let p = &pages[0];
    assert_eq!((p.pageid, p.ns, p.title.as_str(), p.redirect.as_deref()), (5, 1, "Ümlaut & Ωmega", Some("A & B")));
    let r = &p.revisions[0];
    assert_eq!((r.revid, r.parentid, r.user.as_str(), r.comment.as_str()), (12, 11, "Harvestbot", "a <b> c"));
    assert_eq!((r.user_id, r.minor), (Some(3), false));
    assert_eq!(r.text, "<ref>x</ref> &nbsp; R&D é\nsecond line \"q\"");
}

#[test]
fn schema_0_3_with_an_empty_redirect_element() {
    let xml = r#"<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.3/" version="0.3" xml:lang="en">
  <page><title>Old</title><id>7</id><redirect />
    <revision><id>9</id><timestamp>2011-01-01T00:00:00Z</timestamp><contributor><username>U</username><id>1</id></contributor>
      <text xml:space="preserve">#REDIRECT [[New]]</text></revision></page></mediawiki>"#;
    let p = &parse(xml).unwrap()[0];
    assert_eq!((p.pageid, p.ns, p.redirect.as_deref()), (7, 0, Some("")));
    assert_eq!(p.revisions[0].text, "#REDIRECT [[New]]");
}

#[test]
fn anonymous_editors_and_empty_text() {
    let xml = "<mediawiki><page><title>T</title><ns>0</ns><id>1</id><revision><id>2</id><timestamp>t</timestamp>\
                   <contributor><ip>192.0.2.1</ip></contributor><text bytes=\"0\" /></revision></page></mediawiki>";
    let r = &parse(xml).unwrap()[0].revisions[0];
    assert_eq!((r.user.as_str(), r.text.as_str(), r.parentid), ("192.0.2.1", "", 0));
}

#[test]
fn broken_exports_are_errors_not_empty_pages() {
    assert!(parse("<mediawiki><page><title>T</title><ns>x</ns><id>1</id></page></mediawiki>").unwrap_err().contains("<ns>"));
    assert!(parse("<mediawiki><page><title>T</title><ns>0</ns><id>1</id><revision><text>cut").is_err());
    assert!(parse("<mediawiki><page><title>T</title><text>&bogus;</text><id>1</id></page></mediawiki>").unwrap_err().contains("&bogus;"));
}
