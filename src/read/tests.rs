use std::collections::HashMap;

use super::html::{Addresses, clean, clean_inline, linked_titles, static_file};
use super::links::{Image, Link, decode_title, encode_title, image, link, page_url};

fn page(title: &str, fragment: Option<&str>) -> Link {
    Link::Page { title: title.into(), fragment: fragment.map(str::to_string) }
}

#[test]
fn a_renderings_links_are_read_as_the_wiki_writes_them() {
    assert_eq!(link("/wiki/Main_Page"), page("Main Page", None));
    assert_eq!(link("/wiki/Caf%C3%A9_au_lait#Hot_milk"), page("Café au lait", Some("Hot_milk")));
    assert_eq!(link("/w/index.php?title=Reader_fixture_missing&action=edit&redlink=1"), page("Reader fixture missing", None));
    assert_eq!(link("/w/index.php?title=Special:Upload&wpDestFile=Nothing_here.png"), page("File:Nothing here.png", None));
    assert_eq!(link("/index.php/Sub/page"), page("Sub/page", None));
    assert_eq!(link("/w/images/a/ab/Photo.jpg"), page("File:Photo.jpg", None));
    // Fragments of this page and other sites are left alone.
    for kept in ["#Section", "https://example.org/wiki/X", "//example.org/x", "mailto:a@example.org", "/w/load.php?x=1"] {
        assert_eq!(link(kept), Link::Keep, "{kept}");
    }
}

#[test]
fn images_come_from_the_mirrors_files_and_nothing_from_outside() {
    assert_eq!(image("/w/images/thumb/a/ab/Big_photo.jpg/120px-Big_photo.jpg"), Image::File("Big photo.jpg".into()));
    assert_eq!(image("/w/images/a/ab/Photo.png"), Image::File("Photo.png".into()));
    assert_eq!(image("/images/Flat.png"), Image::File("Flat.png".into()));
    for dropped in ["https://upload.wikimedia.org/x.png", "//cdn.example/x.png", "data:image/png;base64,AAAA", "/w/resources/logo.png"] {
        assert_eq!(image(dropped), Image::Drop, "{dropped}");
    }
}

#[test]
fn titles_go_into_paths_and_back_unchanged() {
    for t in ["Main Page", "Café au lait", "AT&T", "50% off?", "C++ #1", "Sub/page (x)"] {
        assert_eq!(decode_title(&encode_title(t)), t);
    }
    assert_eq!(page_url("a", "AT&T?"), "/read/a/AT%26T%3F");
}

#[test]
fn a_hostile_rendering_keeps_no_script_no_handler_no_style_and_loads_nothing_from_outside() {
    let hostile = r#"<p onclick="alert(1)">Hi<script>alert(2)</script><img src="/w/images/a/ab/X.png" onerror="alert(3)" srcset="https://evil.example/x.png 2x">
        <img src="https://evil.example/track.gif"><a href="javascript:alert(4)">j</a><iframe src="https://evil.example"></iframe>
        <style>body{background:url(https://evil.example/x)}</style><span style="background:url(https://evil.example/y)">s</span>
        <form action="https://evil.example"><input name=q></form><svg><script>alert(5)</script></svg><math><mi xlink:href="javascript:alert(6)">m</mi></math></p>"#;
    let out = clean(hostile, "w", HashMap::new(), Addresses::Reader);
    for bad in ["script", "onclick", "onerror", "srcset", "evil.example", "javascript:", "iframe", "style", "<form", "<input", "alert"] {
        assert!(!out.contains(bad), "{bad} in {out}");
    }
    assert!(out.contains(r#"<img src="/read/files/w/X.png""#), "{out}");
}

#[test]
fn links_to_pages_the_copy_lacks_are_marked_and_the_others_lead_into_the_copy() {
    let html = r##"<a href="/wiki/Here#Part">here</a> <a href="/wiki/Gone">gone</a> <a href="#Top">top</a> <a href="https://example.org/">out</a>"##;
    assert_eq!(linked_titles(html), ["Gone", "Here"]);
    let out = clean(html, "w", HashMap::from([("Here".to_string(), 7)]), Addresses::Reader);
    assert!(out.contains(r#"href="/read/w/Here#Part""#), "{out}");
    assert!(out.contains(r#"href="/read/w/Gone?absent""#), "{out}");
    assert!(out.contains(r##"href="#Top""##), "{out}");
    assert!(out.contains(r#"href="https://example.org/" rel="noopener noreferrer nofollow""#), "{out}");
}

#[test]
fn a_display_title_keeps_text_level_markup_only() {
    assert_eq!(clean_inline("Reader <i>fixture</i>"), "Reader <i>fixture</i>");
    assert_eq!(clean_inline(r#"<a href="x">T</a><img src=x onerror=alert(1)><b onclick="x">B</b>"#), "T<b>B</b>");
}

#[test]
fn a_snippets_matches_are_marked_and_the_rest_is_text() {
    let s = format!("a {}<b>{} c", checkpoints::search::MARK_START, checkpoints::search::MARK_END);
    assert_eq!(super::search::highlight(&s).into_string(), "a <mark>&lt;b&gt;</mark> c");
    let s = format!("see [[Water|{}the water{}]] and '''bold''' {{{{cite}}}}", checkpoints::search::MARK_START, checkpoints::search::MARK_END);
    assert_eq!(super::search::highlight(&s).into_string(), "see Water|<mark>the water</mark> and bold cite");
}

#[test]
fn metadata_in_another_format_is_shown_indented_and_broken_metadata_as_it_came() {
    let mods = br#"<mods xmlns="http://www.loc.gov/mods/v3"><titleInfo><title>T &amp; U</title></titleInfo></mods>"#;
    assert_eq!(
        super::records::indented(mods),
        "<mods xmlns=\"http://www.loc.gov/mods/v3\">\n  <titleInfo>\n    <title>T &amp; U</title>\n  </titleInfo>\n</mods>"
    );
    assert_eq!(super::records::indented(b"<a><b></a>"), "<a><b></a>");
}

#[test]
fn a_static_copy_links_pages_and_files_by_page_id_between_its_own_files() {
    let html = r##"<a href="/wiki/Here#Part">here</a> <a href="/wiki/Gone">gone</a><img src="/w/images/thumb/a/ab/Pic.PNG/120px-Pic.PNG"><img src="/w/images/c/cd/Lost.png">"##;
    assert_eq!(linked_titles(html), ["File:Lost.png", "File:Pic.PNG", "Gone", "Here"]);
    let present = HashMap::from([("Here".to_string(), 7), ("File:Pic.PNG".to_string(), 9)]);
    let out = clean(html, "w", present, Addresses::Static);
    assert!(out.contains(r#"href="7.html#Part""#) && out.contains(r#"href="absent.html?absent""#), "{out}");
    assert!(out.contains(r#"<img src="files/9.png">"#) && out.contains("<img>"), "the file the copy lacks shows nothing: {out}");
    assert_eq!(static_file(3, "A.tar.gz"), "files/3.gz");
    assert_eq!(static_file(3, "Weird.ext/../x"), "files/3");
}
