//! Bodies in another encoding than UTF-8. The protocol requires UTF-8, but
//! some repositories send ISO-8859-1, Windows-1252 or UTF-16 and say so (in
//! the HTTP `Content-Type`, the XML declaration, or a byte-order mark).
//! Such a body is decoded as it says, instead of having every non-ASCII
//! character replaced by [`crate::repair`].
//!
//! A body that is valid UTF-8 is taken as UTF-8 whatever it declares:
//! servers often declare ISO-8859-1 by default while sending UTF-8, and
//! Latin-1 text with accents is almost never valid UTF-8 by accident.

use std::borrow::Cow;

use encoding_rs::Encoding;

/// A body as UTF-8 bytes, and the encoding it was decoded from if it was
/// not UTF-8.
#[derive(Debug)]
pub struct Decoded<'b> {
    pub bytes: Cow<'b, [u8]>,
    pub from: Option<&'static str>,
}

/// Decodes `body` by its byte-order mark, else its declared encoding
/// (`http_charset`, the `Content-Type` parameter, which RFC 7303 puts
/// before the XML declaration, else the declaration itself; a label that
/// says UTF-8 of a body that is not is passed over). Valid UTF-8, and
/// anything undeclared or unknown, is passed through for the repair to
/// deal with.
pub fn decode<'b>(body: &'b [u8], http_charset: Option<&str>) -> Decoded<'b> {
    let unchanged = Decoded { bytes: Cow::Borrowed(body), from: None };
    if let Some((encoding, bom)) = Encoding::for_bom(body) {
        if encoding == encoding_rs::UTF_8 {
            return unchanged;
        }
        return transcode(&body[bom..], encoding);
    }
    if simdutf8::basic::from_utf8(body).is_ok() {
        return unchanged;
    }
    // Not UTF-8, so a label that says UTF-8 is wrong: the next one may not be.
    for label in [http_charset.map(str::to_string), declared(body)].into_iter().flatten() {
        match Encoding::for_label(label.trim().as_bytes()) {
            Some(encoding) if encoding == encoding_rs::UTF_8 => {}
            Some(encoding) if encoding.is_ascii_compatible() || encoding == encoding_rs::UTF_16LE || encoding == encoding_rs::UTF_16BE => {
                return transcode(body, encoding);
            }
            _ => {}
        }
    }
    unchanged
}

fn transcode(body: &[u8], encoding: &'static Encoding) -> Decoded<'static> {
    // Malformed sequences become U+FFFD, as the repair would make them.
    let (text, _) = encoding.decode_without_bom_handling(body);
    Decoded { bytes: Cow::Owned(text.into_owned().into_bytes()), from: Some(encoding.name()) }
}

/// The `encoding` of an XML declaration at the start of the body.
fn declared(body: &[u8]) -> Option<String> {
    let head = &body[..body.len().min(256)];
    let head = std::str::from_utf8(head).unwrap_or_else(|e| std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default());
    let decl = head.trim_start().strip_prefix("<?xml")?;
    let decl = &decl[..decl.find("?>")?];
    let rest = &decl[decl.find("encoding")? + "encoding".len()..];
    let rest = rest.trim_start().strip_prefix('=')?.trim_start();
    let quote = rest.chars().next().filter(|q| *q == '"' || *q == '\'')?;
    let value = &rest[1..];
    Some(value[..value.find(quote)?].to_string())
}

/// The `charset` parameter of a `Content-Type` header value.
pub fn charset_of(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim().eq_ignore_ascii_case("charset").then(|| v.trim().trim_matches('"').to_string())
    })
}

#[cfg(test)]
mod tests;
