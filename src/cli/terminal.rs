//! What reaches a terminal. Titles, identifiers, user names, error texts:
//! much of what the CLI prints comes from servers, and a control character
//! in it (an escape sequence, a carriage return, a bidi override) could
//! rewrite what a person sees. On a terminal such characters are shown
//! escaped (`\u{1b}`); written to a file or a pipe, output stays exact.

use std::borrow::Cow;
use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

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

/// Set once a write to standard output found its reader gone (`| head`).
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Whether standard output's reader went away: a command that failed for
/// that alone has nothing left to say to anyone, and ends quietly with
/// exit status 0, as `head` expects of what it reads.
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::Relaxed)
}

/// Standard output's writes, each broken pipe remembered.
struct Noting<W: Write>(W);

impl<W: Write> Noting<W> {
    fn noted<T>(result: io::Result<T>) -> io::Result<T> {
        if let Err(e) = &result
            && e.kind() == io::ErrorKind::BrokenPipe
        {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
        }
        result
    }
}

impl<W: Write> Write for Noting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Self::noted(self.0.write(buf))
    }
    fn flush(&mut self) -> io::Result<()> {
        Self::noted(self.0.flush())
    }
}

/// Standard output, escaped when it is a terminal.
pub fn stdout() -> Box<dyn Write> {
    let out = io::stdout();
    if out.is_terminal() { Box::new(Escaping::new(Noting(out.lock()), false)) } else { Box::new(Noting(out.lock())) }
}

/// Writes one line to standard error, escaped when it is a terminal.
pub fn eprint_line(line: &str) {
    let err = io::stderr();
    let shown = if err.is_terminal() { escape(line, false) } else { Cow::Borrowed(line) };
    let _ = writeln!(err.lock(), "{shown}");
}

/// One log event as written: every character a terminal or a reader of
/// the log file would act on escaped, the line breaks inside it too, so
/// that a value (a title from a mail, an error from a server) can neither
/// forge a line of its own nor reach a terminal as an escape sequence. The
/// event's own final line break stays; with `keep_colours`, so do SGR
/// sequences (the log's colours on a terminal).
pub fn escape_event(text: &str, keep_colours: bool) -> String {
    let (body, end) = match text.strip_suffix('\n') {
        Some(body) => (body, "\n"),
        None => (text, ""),
    };
    format!("{}{end}", escape(body, keep_colours).replace('\n', "\\u{a}"))
}

/// Writes each write it is given (the log writes an event at once) through
/// [`escape_event`].
struct Events<W: Write> {
    inner: W,
    keep_colours: bool,
}

impl<W: Write> Write for Events<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write_all(escape_event(&String::from_utf8_lossy(buf), self.keep_colours).as_bytes())?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The log's writer: standard error, each event escaped (its colours kept
/// on a terminal, where there are any).
pub fn log_writer() -> Box<dyn Write> {
    let err = io::stderr();
    let keep_colours = err.is_terminal();
    Box::new(Events { inner: err, keep_colours })
}

#[cfg(test)]
mod tests;
