use super::*;

#[test]
fn clean_input_is_borrowed_and_uncounted() {
    let r = repair("<a>tab\there &amp; &#233; \u{e9}</a>".as_bytes());
    assert!(matches!(r.text, Cow::Borrowed(_)));
    assert_eq!(r.count, 0);
    assert_eq!(r.first_offset, None);
}

#[test]
fn control_characters_become_replacement_characters() {
    let r = repair(b"<a>x\x0By\x00z</a>");
    assert_eq!(r.text, "<a>x\u{FFFD}y\u{FFFD}z</a>");
    assert_eq!(r.count, 2);
    assert_eq!(r.first_offset, Some(4));
}

#[test]
fn invalid_utf8_becomes_one_replacement_per_sequence() {
    // Latin-1 "café" and a lone continuation byte.
    let r = repair(b"<a>caf\xE9 \x80!</a>");
    assert_eq!(r.text, "<a>caf\u{FFFD} \u{FFFD}!</a>");
    assert_eq!(r.count, 2);
    assert_eq!(r.first_offset, Some(6));
}

#[test]
fn references_to_forbidden_characters_are_replaced() {
    let r = repair(b"<a>&#11;&#x1f;&#65;&#xFFFE;&amp;</a>");
    assert_eq!(r.text, "<a>&#xFFFD;&#xFFFD;&#65;&#xFFFD;&amp;</a>");
    assert_eq!(r.count, 3);
}

#[test]
fn noncharacters_are_replaced_but_other_astral_text_is_kept() {
    let r = repair("<a>\u{FFFF}\u{1F600}\u{6771}</a>".as_bytes());
    assert_eq!(r.text, "<a>\u{FFFD}\u{1F600}\u{6771}</a>");
    assert_eq!(r.count, 1);
}

#[test]
fn every_forbidden_byte_is_found_at_any_place_in_a_block() {
    // Each position of the 32-byte blocks and the tail after them.
    for len in [31, 32, 33, 64, 100] {
        for at in 0..len {
            for bad in [0x00u8, 0x0B, 0x1F] {
                let mut input = vec![b'a'; len];
                input[at] = bad;
                let r = repair(&input);
                assert_eq!((r.count, r.first_offset), (1, Some(at as u64)), "len {len}, at {at}, byte {bad:#x}");
            }
            let mut input = vec![b'a'; len];
            input[at] = b'\t';
            assert_eq!(repair(&input).count, 0);
        }
    }
    // `&` in text that is not a forbidden reference is left alone.
    let clean = "x &amp; &#233; &#x20AC; &".repeat(20);
    assert!(matches!(repair(clean.as_bytes()).text, Cow::Borrowed(_)));
}

#[test]
fn a_repair_that_would_grow_past_its_limit_stops() {
    // Each NUL becomes three bytes.
    let nuls = vec![0u8; 1000];
    assert_eq!(repair_within(&nuls, 2000).unwrap_err(), TooLarge(2000));
    assert_eq!(repair_within(&nuls, 3000).unwrap().text.len(), 3000);
    assert!(matches!(repair_within(b"clean", 1).unwrap().text, Cow::Borrowed(_)), "clean text is borrowed, whatever the limit");
}

#[test]
fn mixed_faults_keep_offsets_in_input_bytes() {
    let r = repair(b"ab\xFFcd\x01");
    assert_eq!(r.text, "ab\u{FFFD}cd\u{FFFD}");
    assert_eq!(r.count, 2);
    assert_eq!(r.first_offset, Some(2));
}
