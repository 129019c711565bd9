use super::*;

#[test]
fn xml_escape_is_one_rule_for_markup_and_characters_xml_cannot_hold() {
    assert_eq!(xml_escape("plain Zürich 東京\ttab\nline"), "plain Zürich 東京\ttab\nline");
    assert_eq!(xml_escape("a & <b> \"c\""), "a &amp; &lt;b&gt; &quot;c&quot;");
    assert_eq!(xml_escape("title\u{1}with\u{1b}[31mcontrols\u{FFFF}"), "title\u{FFFD}with\u{FFFD}[31mcontrols\u{FFFD}");
    assert_eq!(xml_escape("<\u{0}>"), "&lt;\u{FFFD}&gt;");
    // What comes out is well-formed wherever it is put.
    let doc = format!("<t a=\"{0}\">{0}</t>", xml_escape("\u{1}\u{2}&<\"\u{8}\u{b}\u{c}\u{fffe}"));
    let mut reader = quick_xml::Reader::from_str(&doc);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("{doc:?}: {e}"),
        }
    }
}

#[test]
fn only_one_well_formed_element_may_go_inside_metadata() {
    for good in [
        "<a/>",
        "  <dc xmlns=\"x\">T &amp; &lt;U&gt; &#233; &#xE9;</dc>\n",
        "<!-- c --><a b=\"1 &amp; 2\"><b/><![CDATA[<x>]]></a><?pi x?>",
        "<oai_dc:dc><dc:title>unbound prefixes are the origin's</dc:title></oai_dc:dc>",
    ] {
        assert!(well_formed_element(good.as_bytes()), "{good}");
    }
    for bad in [
        "<a><b></a>",
        "<a>&undefined;</a>",
        "<?xml version=\"1.0\"?><a/>",
        "<a/><b/>",
        "text<a/>",
        "<a>",
        "</a>",
        "",
        "<a>&#1;</a>",
        "<a>\u{1}</a>",
        "<a b=\"&nope;\"/>",
        "<a b=\"1\" b=\"2\"/>",
        "<!DOCTYPE a [<!ENTITY e \"x\">]><a>&e;</a>",
        "<a><!-- -- --></a>",
    ] {
        assert!(!well_formed_element(bad.as_bytes()), "{bad:?}");
    }
    assert!(!well_formed_element(b"<a>\xff</a>"), "not UTF-8");
}
