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
mod tests {
    use super::*;

    const LATIN1: &[u8] = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<OAI-PMH><x>Caf\xe9 \x80</x></OAI-PMH>";

    fn text(d: &Decoded<'_>) -> String {
        String::from_utf8(d.bytes.to_vec()).unwrap()
    }

    #[test]
    fn a_declared_single_byte_encoding_is_decoded_as_declared() {
        let d = decode(LATIN1, None);
        assert_eq!(d.from, Some("windows-1252"), "ISO-8859-1 is read as its superset, as browsers do");
        assert!(text(&d).contains("Café €"), "{}", text(&d));
        let d = decode(b"<OAI-PMH><x>Caf\xe9</x></OAI-PMH>", Some("windows-1252"));
        assert_eq!((d.from, text(&d).contains("Café")), (Some("windows-1252"), true));
        assert_eq!(decode(b"<?xml version='1.0' encoding='latin1'?><a>\xe9</a>", None).from, Some("windows-1252"));
        // The header says UTF-8, wrongly (the body is not): the declaration is believed.
        assert_eq!(decode(LATIN1, Some("utf-8")).from, Some("windows-1252"));
    }

    #[test]
    fn utf16_with_a_byte_order_mark_is_decoded() {
        let mut le = vec![0xff, 0xfe];
        le.extend("<a>Zürich</a>".encode_utf16().flat_map(u16::to_le_bytes));
        let mut be = vec![0xfe, 0xff];
        be.extend("<a>Zürich</a>".encode_utf16().flat_map(u16::to_be_bytes));
        for (body, name) in [(le, "UTF-16LE"), (be, "UTF-16BE")] {
            let d = decode(&body, None);
            assert_eq!((d.from, text(&d).as_str()), (Some(name), "<a>Zürich</a>"));
        }
    }

    #[test]
    fn valid_utf8_is_kept_whatever_it_declares_and_undeclared_bytes_are_left_to_the_repair() {
        let utf8 = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>Café</a>".as_bytes();
        let d = decode(utf8, Some("ISO-8859-1"));
        assert!(d.from.is_none() && matches!(d.bytes, Cow::Borrowed(_)));
        let undeclared = b"<a>Caf\xe9</a>";
        assert!(decode(undeclared, None).from.is_none());
        assert!(decode(undeclared, Some("no-such-charset")).from.is_none());
    }

    #[test]
    fn charset_parameters_are_read_from_content_type() {
        assert_eq!(charset_of("text/xml; charset=ISO-8859-1").as_deref(), Some("ISO-8859-1"));
        assert_eq!(charset_of("text/xml;Charset=\"utf-8\"").as_deref(), Some("utf-8"));
        assert_eq!(charset_of("text/xml"), None);
    }
}
