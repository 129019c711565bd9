use super::*;

#[test]
fn control_and_bidi_characters_are_escaped_and_the_rest_is_kept() {
    let table = [
        ("plain title", "plain title"),
        ("tab\tand\nnewline", "tab\tand\nnewline"),
        ("\u{1b}]0;owned\u{7}", "\\u{1b}]0;owned\\u{7}"),
        ("cr\roverwrite", "cr\\u{d}overwrite"),
        ("next\u{85}line", "next\\u{85}line"),
        ("abc\u{202E}txt.exe", "abc\\u{202e}txt.exe"),
        ("Zürich 東京", "Zürich 東京"),
    ];
    for (text, shown) in table {
        assert_eq!(escape(text, false), shown, "{text:?}");
    }
    assert_eq!(escape("\u{1b}[1;31mred\u{1b}[0m \u{1b}[2J", true), "\u{1b}[1;31mred\u{1b}[0m \\u{1b}[2J", "colours stay, other sequences do not");
    assert_eq!(escape("\u{1b}[31m", false), "\\u{1b}[31m");
}

#[test]
fn the_writer_escapes_line_by_line_and_whatever_is_left_on_flush() {
    let mut out = Vec::new();
    {
        let mut w = Escaping::new(&mut out, false);
        write!(w, "a\u{1b}").unwrap();
        writeln!(w, "b").unwrap();
        write!(w, "tail\u{7}").unwrap();
    }
    assert_eq!(String::from_utf8(out).unwrap(), "a\\u{1b}b\ntail\\u{7}");
}

#[test]
fn a_log_event_stays_one_line_whatever_its_values_hold() {
    let forged = "INFO a notification mail title=Water\nINFO forged line\u{1b}[31m red\n";
    assert_eq!(escape_event(forged, false), "INFO a notification mail title=Water\\u{a}INFO forged line\\u{1b}[31m red\n");
    assert_eq!(escape_event("plain\n", false), "plain\n");
    assert_eq!(escape_event("\u{1b}[32m INFO\u{1b}[0m ok\n", true), "\u{1b}[32m INFO\u{1b}[0m ok\n", "the log's own colours on a terminal");
    let mut out = Vec::new();
    Events { inner: &mut out, keep_colours: false }.write_all(forged.as_bytes()).unwrap();
    assert_eq!(String::from_utf8(out).unwrap().lines().count(), 1);
}
