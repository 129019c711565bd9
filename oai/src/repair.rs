//! Character repair, applied to every body before it is parsed.
//!
//! Real repositories send invalid UTF-8 (Dataverse) and characters that XML
//! 1.0 forbids (C0 controls such as U+000B in DOAJ and SHARE records). A
//! strict parser rejects the whole page, and with it every good record on
//! it. The rule, the only one this crate applies:
//!
//! * each maximal invalid UTF-8 sequence becomes U+FFFD (as
//!   `String::from_utf8_lossy` does);
//! * each character outside XML 1.0's `Char` production (C0 controls other
//!   than TAB, LF and CR, and U+FFFE, U+FFFF) becomes U+FFFD;
//! * each numeric character reference to such a character (`&#11;`,
//!   `&#x1F;`) becomes `&#xFFFD;`.
//!
//! Every replacement is counted, so that what was changed is never silent.
//! Callers that would rather refuse such a body use the count (strict mode).

use std::borrow::Cow;

/// The result of [`repair`].
#[derive(Debug)]
pub struct Repaired<'a> {
    pub text: Cow<'a, str>,
    /// How many replacements were made.
    pub count: u64,
    /// Byte offset in the input of the first replacement.
    pub first_offset: Option<u64>,
}

/// Applies the module's rule. Borrows the input when nothing needs repair,
/// which is the common case, so a clean body costs one scan.
pub fn repair(input: &[u8]) -> Repaired<'_> {
    match repair_within(input, usize::MAX) {
        Ok(repaired) => repaired,
        Err(TooLarge(_)) => unreachable!("no output is larger than usize::MAX"),
    }
}

/// The repaired text would be larger than the limit it was given: a
/// replacement can be longer than what it replaces (U+FFFD is three bytes,
/// a NUL one), so a body of NULs would triple.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooLarge(pub usize);

/// [`repair`], allocating at most `limit` bytes for the repaired text.
pub fn repair_within(input: &[u8], limit: usize) -> Result<Repaired<'_>, TooLarge> {
    // simdutf8 checks clean input several times faster than std, and only
    // says yes or no; the repair below finds where, at std's pace.
    if let Ok(text) = simdutf8::basic::from_utf8(input)
        && first_forbidden(text).is_none()
    {
        return Ok(Repaired { text: Cow::Borrowed(text), count: 0, first_offset: None });
    }
    let mut out = String::with_capacity(input.len().min(limit));
    let mut count = 0;
    let mut first_offset = None;
    let mut offset = 0usize;
    let mut note = |at: usize, count: &mut u64| {
        *count += 1;
        first_offset.get_or_insert(at as u64);
    };
    for chunk in input.utf8_chunks() {
        let valid = chunk.valid();
        let mut rest = valid;
        let mut base = offset;
        while let Some((at, len, replacement)) = first_forbidden(rest) {
            out.push_str(&rest[..at]);
            out.push_str(replacement);
            note(base + at, &mut count);
            rest = &rest[at + len..];
            base += at + len;
            if out.len() > limit {
                return Err(TooLarge(limit));
            }
        }
        out.push_str(rest);
        offset += valid.len();
        if !chunk.invalid().is_empty() {
            out.push('\u{FFFD}');
            note(offset, &mut count);
            offset += chunk.invalid().len();
        }
        if out.len() > limit {
            return Err(TooLarge(limit));
        }
    }
    Ok(Repaired { text: Cow::Owned(out), count, first_offset })
}

/// Finds the first forbidden character or character reference in valid
/// UTF-8: its byte offset, its length in bytes and what replaces it.
fn first_forbidden(text: &str) -> Option<(usize, usize, &'static str)> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(found) = find_suspect(&bytes[from..]) {
        let i = from + found;
        let b = bytes[i];
        if b < 0x20 {
            return Some((i, 1, "\u{FFFD}"));
        }
        // U+FFFE and U+FFFF are EF BF BE and EF BF BF.
        if b == 0xEF && bytes.get(i + 1) == Some(&0xBF) && matches!(bytes.get(i + 2), Some(0xBE | 0xBF)) {
            return Some((i, 3, "\u{FFFD}"));
        }
        if b == b'&'
            && bytes.get(i + 1) == Some(&b'#')
            && let Some(len) = forbidden_char_ref(&bytes[i..])
        {
            return Some((i, len, "&#xFFFD;"));
        }
        from = i + 1;
    }
    None
}

/// Whether a byte may start something [`first_forbidden`] looks for: a C0
/// control other than TAB, LF and CR, the lead byte of U+FFFE and U+FFFF,
/// or `&`.
fn is_suspect(b: u8) -> bool {
    (b < 0x20 && b != b'\t' && b != b'\n' && b != b'\r') || b == 0xEF || b == b'&'
}

/// The offset of the first suspect byte. Whole blocks are tested first
/// with a branch-free OR the compiler turns into vector instructions, so
/// that the common case, a page with none, costs a fraction of a byte loop.
fn find_suspect(bytes: &[u8]) -> Option<usize> {
    const BLOCK: usize = 32;
    let mut blocks = bytes.chunks_exact(BLOCK);
    for (n, block) in blocks.by_ref().enumerate() {
        if block.iter().fold(false, |any, &b| any | is_suspect(b)) {
            return block.iter().position(|&b| is_suspect(b)).map(|i| n * BLOCK + i);
        }
    }
    let tail = blocks.remainder();
    tail.iter().position(|&b| is_suspect(b)).map(|i| bytes.len() - tail.len() + i)
}

/// If `s` starts with a numeric character reference to a character XML
/// forbids, returns the reference's length.
fn forbidden_char_ref(s: &[u8]) -> Option<usize> {
    let end = s.iter().take(12).position(|&b| b == b';')?;
    let body = std::str::from_utf8(&s[2..end]).ok()?;
    let value = match body.strip_prefix('x').or_else(|| body.strip_prefix('X')) {
        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
        None => body.parse::<u32>().ok()?,
    };
    (!is_xml_char(value)).then_some(end + 1)
}

/// XML 1.0's `Char` production.
fn is_xml_char(c: u32) -> bool {
    matches!(c, 0x9 | 0xA | 0xD | 0x20..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x10FFFF)
}

#[cfg(test)]
mod tests;
