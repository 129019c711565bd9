use super::*;

#[test]
fn the_lines_both_sides_changed_clash_and_the_others_do_not() {
    let base = "a\nb\nc\nd\n";
    assert_eq!(clashing_lines(base, "a\nB1\nc\nd\n", "a\nB2\nc\nD\n").into_iter().collect::<Vec<_>>(), [1]);
    assert!(clashing_lines(base, "A\nb\nc\nd\n", "a\nb\nc\nD\n").is_empty(), "different lines do not clash");
    // Two insertions at one place clash with each other.
    assert_eq!(clashing_lines(base, "a\nx\nb\nc\nd\n", "a\ny\nb\nc\nd\n").into_iter().collect::<Vec<_>>(), [1]);
}

#[test]
fn whatever_a_text_holds_the_page_shows_it_as_text() {
    let evil = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>";
    let html = side_by_side("", evil, &Default::default(), evil).into_string();
    assert!(!html.contains("<script>") && !html.contains("<img"), "{html}");
    assert!(html.contains("&lt;script&gt;") && html.contains("&lt;img src=x onerror=alert(2)&gt;"), "{html}");
}

#[test]
fn back_is_a_path_of_this_site_or_the_start_page() {
    for ok in ["/", "/job/sync.ab", "/conflict/group.g.b/7", "/job/a?x=1"] {
        assert_eq!(local_path(ok), ok);
    }
    for elsewhere in [
        "//evil.example/",
        "/\t/evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "https://evil.example/",
        "/\r\nSet-Cookie: x=1",
        "/a\0b",
        "/a b",
        "",
        "job",
    ] {
        assert_eq!(local_path(elsewhere), "/", "{elsewhere:?}");
    }
}
