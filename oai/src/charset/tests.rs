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
