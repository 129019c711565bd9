use super::*;

fn fragment(i: usize) -> Vec<u8> {
    format!(
        "<oai_dc:dc xmlns:oai_dc=\"http://www.openarchives.org/OAI/2.0/oai_dc/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\
             <dc:title>Title {i} &amp; more</dc:title><dc:creator>Creator {}</dc:creator></oai_dc:dc>",
        i * 7919 % 1000
    )
    .into_bytes()
}

/// zstd's magic number, which starts a dictionary with entropy tables.
const DICTIONARY_MAGIC: [u8; 4] = 0xEC30A437u32.to_le_bytes();

/// The first `n` fragments, and the dictionary made from them.
fn fragments_and_dictionary(n: usize) -> (Vec<Vec<u8>>, Vec<u8>) {
    let samples: Vec<Vec<u8>> = (0..n).map(fragment).collect();
    let dictionary = dictionary_from(samples.iter().map(Vec::as_slice)).expect("enough samples");
    (samples, dictionary)
}

fn dictionary() -> Vec<u8> {
    fragments_and_dictionary(200).1
}

/// The whole of a compressed set of records, against `dictionary`.
fn packed_size(dictionary: &[u8], records: &[Vec<u8>]) -> usize {
    let mut packer = Packer::new(1, dictionary).unwrap();
    records.iter().map(|r| packer.pack(r).unwrap().1.len()).sum()
}

#[test]
fn too_little_metadata_makes_no_dictionary() {
    assert_eq!(dictionary_from([b"<a/>".as_slice(); 10]), None);
    let one_huge = vec![b'x'; CONTENT_MAX + 1];
    assert_eq!(dictionary_from([one_huge.as_slice()]), None, "one record too big to be a dictionary's content");
}

#[test]
fn the_first_records_are_the_content_and_the_next_ones_give_entropy_tables_that_pay() {
    let (samples, dictionary) = fragments_and_dictionary(400);
    assert_eq!(dictionary[..4], DICTIONARY_MAGIC);
    let content: Vec<u8> = samples
        .iter()
        .take_while({
            let mut size = 0;
            move |s| {
                size += s.len();
                size <= CONTENT_MAX
            }
        })
        .flatten()
        .copied()
        .collect();
    assert!(dictionary.ends_with(&content), "the content, whole, after the header");
    assert!(dictionary.len() - content.len() <= 256, "header and tables: {} bytes", dictionary.len() - content.len());

    let later: Vec<Vec<u8>> = (1000..1200).map(fragment).collect();
    let (with_tables, raw) = (packed_size(&dictionary, &later), packed_size(&content, &later));
    assert!(with_tables < raw, "with entropy tables {with_tables} bytes, raw content alone {raw}");
}

#[test]
fn content_takes_at_most_half_so_that_statistics_have_records() {
    let (samples, dictionary) = fragments_and_dictionary(100);
    let size: usize = samples.iter().map(Vec::len).sum();
    assert!(size < 2 * CONTENT_MAX);
    assert_eq!(dictionary[..4], DICTIONARY_MAGIC);
    assert!(dictionary.len() <= size / 2 + 256, "{} of {size} bytes", dictionary.len());
}

#[test]
fn degenerate_records_still_make_a_dictionary_that_round_trips() {
    // Identical records, and records of one repeated byte: zstd may
    // refuse to make entropy tables from them; either way the
    // dictionary must work.
    let same = fragment(1);
    let flat = vec![b'a'; 1000];
    for samples in [vec![same.as_slice(); 100], vec![flat.as_slice(); 100]] {
        let dictionary = dictionary_from(samples.iter().copied()).unwrap();
        let mut packer = Packer::new(1, &dictionary).unwrap();
        let (codec, stored) = packer.pack(samples[0]).unwrap();
        let back = Unpackers::default().unpack(stored.to_vec(), codec, Some(1), |_| Ok(dictionary.clone())).unwrap();
        assert_eq!(back, samples[0]);
    }
}

#[test]
fn one_record_alone_is_the_dictionary_as_it_is() {
    let record: Vec<u8> = (0..9000u32).map(|j| (j * 31 % 251) as u8).collect();
    assert_eq!(dictionary_from([record.as_slice()]).unwrap(), record, "no records are left for entropy tables");
}

#[test]
fn packing_round_trips_exactly_and_compresses_similar_records() {
    let dict = dictionary();
    let mut packer = Packer::new(7, &dict).unwrap();
    let mut unpackers = Unpackers::default();
    for i in [0, 5, 999, 12345] {
        let raw = fragment(i);
        let (codec, stored) = packer.pack(&raw).unwrap();
        assert_eq!(codec, Codec::Zstd);
        assert!(stored.len() * 3 < raw.len(), "{} of {} bytes", stored.len(), raw.len());
        let stored = stored.to_vec();
        let back = unpackers.unpack(stored, codec, Some(7), |id| if id == 7 { Ok(dict.clone()) } else { Err("no".into()) }).unwrap();
        assert_eq!(back, raw);
    }
}

#[test]
fn what_does_not_shrink_is_stored_raw() {
    let mut packer = Packer::new(1, &dictionary()).unwrap();
    for raw in [&b""[..], b"x", b"\x00\xff\x13 unrelated bytes"] {
        assert_eq!(packer.pack(raw).unwrap(), (Codec::Raw, raw));
    }
}

#[test]
fn a_wrong_dictionary_or_a_damaged_frame_is_an_error_not_other_bytes() {
    let dict = dictionary();
    let mut packer = Packer::new(1, &dict).unwrap();
    let raw = fragment(3);
    let stored = packer.pack(&raw).unwrap().1.to_vec();

    let other: Vec<u8> = dict.iter().rev().copied().collect();
    let err = Unpackers::default().unpack(stored.clone(), Codec::Zstd, Some(1), |_| Ok(other)).unwrap_err();
    assert!(err.contains("dictionary 1"), "{err}");

    let mut damaged = stored.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x55;
    assert!(Unpackers::default().unpack(damaged, Codec::Zstd, Some(1), |_| Ok(dict.clone())).is_err());

    assert!(Unpackers::default().unpack(stored, Codec::Zstd, None, |_| Ok(dict.clone())).is_err());
}
