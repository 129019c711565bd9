//! What reaches a terminal. Titles, identifiers, user names, error texts:
//! much of what the CLI prints comes from servers, and a control character
//! in it (an escape sequence, a carriage return, a bidi override) could
//! rewrite what a person sees. On a terminal such characters are shown
//! escaped (`\u{1b}`); written to a file or a pipe, output stays exact.

use std::borrow::Cow;
use std::io::{self, IsTerminal, Write};

/// Characters shown escaped: control characters (C0 but tab and line feed,
/// DEL, C1) and the bidi controls that reorder text on screen.
fn unsafe_on_screen(c: char) -> bool {
    c != '\n' && c != '\t' && crate::util::is_control_or_bidi(c)
}

/// `text` with every character a terminal would act on escaped. With
/// `keep_colours`, SGR sequences (`ESC [ … m`, the log's colours) stay.
pub fn escape(text: &str, keep_colours: bool) -> Cow<'_, str> {
    if !text.chars().any(unsafe_on_screen) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if c == '\u{1b}'
            && keep_colours
            && let Some(len) = sgr_len(&text[at..])
        {
            out.push_str(&text[at..at + len]);
            while chars.peek().is_some_and(|(i, _)| *i < at + len) {
                chars.next();
            }
        } else if unsafe_on_screen(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The length of an SGR sequence at the start of `s`, if one is there.
fn sgr_len(s: &str) -> Option<usize> {
    let rest = s.strip_prefix("\u{1b}[")?;
    let params = rest.bytes().take_while(|b| b.is_ascii_digit() || *b == b';').count();
    (rest.as_bytes().get(params) == Some(&b'm')).then_some(2 + params + 1)
}

/// Escapes what it writes, a line at a time.
pub struct Escaping<W: Write> {
    inner: W,
    pending: Vec<u8>,
    keep_colours: bool,
}

impl<W: Write> Escaping<W> {
    pub fn new(inner: W, keep_colours: bool) -> Escaping<W> {
        Escaping { inner, pending: Vec::new(), keep_colours }
    }

    fn write_out(&mut self, upto: usize) -> io::Result<()> {
        let line: Vec<u8> = self.pending.drain(..upto).collect();
        let text = String::from_utf8_lossy(&line);
        self.inner.write_all(escape(&text, self.keep_colours).as_bytes())
    }
}

impl<W: Write> Write for Escaping<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if let Some(last) = self.pending.iter().rposition(|b| *b == b'\n') {
            self.write_out(last + 1)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let all = self.pending.len();
        self.write_out(all)?;
        self.inner.flush()
    }
}

impl<W: Write> Drop for Escaping<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// Standard output, escaped when it is a terminal.
pub fn stdout() -> Box<dyn Write> {
    let out = io::stdout();
    if out.is_terminal() { Box::new(Escaping::new(out.lock(), false)) } else { Box::new(out.lock()) }
}

/// Writes one line to standard error, escaped when it is a terminal.
pub fn eprint_line(line: &str) {
    let err = io::stderr();
    let shown = if err.is_terminal() { escape(line, false) } else { Cow::Borrowed(line) };
    let _ = writeln!(err.lock(), "{shown}");
}

/// The log's writer: standard error, escaped (colours kept) when it is a terminal.
pub fn log_writer() -> Box<dyn Write> {
    let err = io::stderr();
    if err.is_terminal() { Box::new(Escaping::new(err, true)) } else { Box::new(err) }
}

#[cfg(test)]
mod tests {
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
}
