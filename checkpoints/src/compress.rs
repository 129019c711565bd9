//! Record metadata at rest: zstd frames against a dictionary per source.
//!
//! Harvested metadata is small XML that repeats itself from record to
//! record (namespace declarations, element names, boilerplate), which a
//! compressor working on one record at a time cannot see. So each source
//! gets a dictionary once: the raw bytes of the first records it delivers
//! (zstd takes any bytes without its magic number as a "raw content"
//! dictionary). Every later record is compressed against it alone, so any
//! record can be read without its neighbours.
//!
//! Invariants:
//! * Lossless: unpacking gives back the bytes as received, exactly. Each
//!   frame carries a checksum of its content, so a wrong dictionary or a
//!   damaged blob is an error, never different bytes.
//! * A record is stored compressed only when that is smaller; otherwise it
//!   is stored raw, as are records written before compression existed.
//! * A dictionary row never changes once written; records name the one
//!   they were compressed with.

use std::collections::HashMap;
use std::io;

/// How a record's metadata column is stored (`record.metadata_codec`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codec {
    /// The bytes as received.
    Raw,
    /// One zstd frame, against the dictionary in `record.metadata_dictionary`.
    Zstd,
}

impl Codec {
    pub fn as_str(self) -> &'static str {
        match self {
            Codec::Raw => "raw",
            Codec::Zstd => "zstd",
        }
    }

    pub fn parse(text: &str) -> Option<Codec> {
        match text {
            "raw" => Some(Codec::Raw),
            "zstd" => Some(Codec::Zstd),
            _ => None,
        }
    }
}

/// A source's dictionary is made once this much metadata is at hand, from
/// at most [`DICTIONARY_MAX`] bytes of it: a few records make a poor one.
pub(crate) const DICTIONARY_MIN: usize = 8 * 1024;
pub(crate) const DICTIONARY_MAX: usize = 32 * 1024;

/// zstd's level 1: against a dictionary it compresses harvested XML
/// about as well as the default level 3, for less time (measured with
/// bench/run.sh).
const LEVEL: i32 = 1;

/// No record's metadata is believed to exceed this when unpacked: a frame
/// header claiming more is damage, and is not allocated.
const MAX_UNPACKED: u64 = 1 << 30;

/// The dictionary made from a source's first metadata: whole fragments, in
/// order, up to [`DICTIONARY_MAX`] bytes. `None` while there is less than
/// [`DICTIONARY_MIN`].
pub(crate) fn dictionary_from<'a>(samples: impl IntoIterator<Item = &'a [u8]>) -> Option<Vec<u8>> {
    let mut content = Vec::new();
    for sample in samples {
        if content.len() + sample.len() > DICTIONARY_MAX {
            break;
        }
        content.extend_from_slice(sample);
    }
    (content.len() >= DICTIONARY_MIN).then_some(content)
}

/// Compresses metadata against one dictionary.
pub(crate) struct Packer {
    pub dictionary_id: i64,
    compressor: zstd::bulk::Compressor<'static>,
    /// Reused for every record: the output of one is bound, then dropped.
    scratch: Vec<u8>,
}

impl Packer {
    pub fn new(dictionary_id: i64, dictionary: &[u8]) -> io::Result<Packer> {
        // `with_dictionary` digests the dictionary once for all frames.
        let mut compressor = zstd::bulk::Compressor::with_dictionary(LEVEL, dictionary)?;
        compressor.include_checksum(true)?;
        compressor.include_contentsize(true)?;
        compressor.include_dictid(false)?;
        Ok(Packer { dictionary_id, compressor, scratch: Vec::new() })
    }

    /// `raw` as it is best stored: compressed if that is smaller.
    pub fn pack<'a>(&'a mut self, raw: &'a [u8]) -> io::Result<(Codec, &'a [u8])> {
        self.scratch.clear();
        self.scratch.reserve(zstd::zstd_safe::compress_bound(raw.len()));
        let len = self.compressor.compress_to_buffer(raw, &mut self.scratch)?;
        Ok(if len < raw.len() { (Codec::Zstd, &self.scratch[..len]) } else { (Codec::Raw, raw) })
    }
}

/// Decompressors by dictionary id, made on first use.
#[derive(Default)]
pub(crate) struct Unpackers {
    by_dictionary: HashMap<i64, zstd::bulk::Decompressor<'static>>,
}

impl Unpackers {
    /// The bytes as received. `load` fetches a dictionary not yet in use.
    pub fn unpack(
        &mut self,
        stored: Vec<u8>,
        codec: Codec,
        dictionary_id: Option<i64>,
        load: impl FnOnce(i64) -> Result<Vec<u8>, String>,
    ) -> Result<Vec<u8>, String> {
        match (codec, dictionary_id) {
            (Codec::Raw, _) => Ok(stored),
            (Codec::Zstd, None) => Err("compressed, but no dictionary is named".into()),
            (Codec::Zstd, Some(id)) => {
                let unpacker = match self.by_dictionary.entry(id) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => {
                        let dictionary = load(id)?;
                        e.insert(zstd::bulk::Decompressor::with_dictionary(&dictionary).map_err(|e| format!("dictionary {id}: {e}"))?)
                    }
                };
                let size = zstd::zstd_safe::get_frame_content_size(&stored)
                    .ok()
                    .flatten()
                    .filter(|&n| n <= MAX_UNPACKED)
                    .ok_or("the zstd frame header is damaged")?;
                unpacker.decompress(&stored, size as usize).map_err(|e| format!("zstd with dictionary {id}: {e}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fragment(i: usize) -> Vec<u8> {
        format!(
            "<oai_dc:dc xmlns:oai_dc=\"http://www.openarchives.org/OAI/2.0/oai_dc/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\
             <dc:title>Title {i} &amp; more</dc:title><dc:creator>Creator {}</dc:creator></oai_dc:dc>",
            i * 7919 % 1000
        )
        .into_bytes()
    }

    fn dictionary() -> Vec<u8> {
        let samples: Vec<Vec<u8>> = (0..200).map(fragment).collect();
        dictionary_from(samples.iter().map(Vec::as_slice)).expect("enough samples")
    }

    #[test]
    fn a_dictionary_needs_enough_samples_and_takes_whole_ones_up_to_its_limit() {
        assert_eq!(dictionary_from([b"<a/>".as_slice(); 10]), None);
        let big = vec![b'x'; 5000];
        let d = dictionary_from([big.as_slice(); 10]).unwrap();
        assert_eq!(d.len(), 30_000, "six whole samples of 5000 fit in {DICTIONARY_MAX}");
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
}
