//! Record metadata at rest: zstd frames against a dictionary per source.
//!
//! Harvested metadata is small XML that repeats itself from record to
//! record (namespace declarations, element names, boilerplate), which a
//! compressor working on one record at a time cannot see. So each source
//! gets a dictionary once, made from the first records it delivers, and
//! every later record is compressed against it alone, so any record can be
//! read without its neighbours.
//!
//! The dictionary is the raw bytes of the source's first records (zstd
//! takes bytes without its magic number as "raw content"), finished with
//! entropy tables computed from the records that follow them. Without the
//! tables every small frame builds and writes its own; with them, frames
//! were a fifth smaller and compression a quarter to a third faster, on
//! the benchmark's records and on Erasmus's real ones alike (measured).
//! zstd's trainer, which also chooses the content, did worse than the first
//! records on small near-identical ones. Where the tables cannot be made
//! (too few records), the raw content is the dictionary.

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

/// A source's dictionary is made once this much metadata is at hand: a few
/// records make a poor one.
pub(crate) const DICTIONARY_MIN: usize = 8 * 1024;
/// The dictionary's content, at most: the first records, whole.
pub(crate) const CONTENT_MAX: usize = 32 * 1024;
/// Metadata read for a dictionary, at most: its content, then the records
/// its entropy tables are computed from.
const SAMPLES_MAX: usize = 96 * 1024;

/// zstd's level 1: against a dictionary it compresses harvested XML
/// about as well as the default level 3, for less time (measured with
/// bench/run.sh).
const LEVEL: i32 = 1;

/// No record's metadata is believed to exceed this when unpacked: a frame
/// header claiming more is damage, and is not allocated.
const MAX_UNPACKED: u64 = 1 << 30;

/// The dictionary made from a source's first metadata (whole fragments, in
/// order, up to [`SAMPLES_MAX`] bytes): the first fragments as content, up
/// to [`CONTENT_MAX`] bytes but no more than half of what there is (the
/// first fragment at least), so that some are left for the entropy tables
/// made from the fragments after them. `None` while the content would be
/// less than [`DICTIONARY_MIN`].
pub(crate) fn dictionary_from<'a>(samples: impl IntoIterator<Item = &'a [u8]>) -> Option<Vec<u8>> {
    let mut read = 0;
    let taken: Vec<&[u8]> = samples
        .into_iter()
        .take_while(|sample| {
            read += sample.len();
            read <= SAMPLES_MAX
        })
        .collect();
    let size: usize = taken.iter().map(|sample| sample.len()).sum();
    let half = CONTENT_MAX.min(size / 2);
    let mut content_size = 0;
    let in_content = taken
        .iter()
        .take_while(|sample| {
            let limit = if content_size == 0 { CONTENT_MAX } else { half };
            content_size += sample.len();
            content_size <= limit
        })
        .count();
    let content = taken[..in_content].concat();
    if content.len() < DICTIONARY_MIN {
        return None;
    }
    Some(with_entropy_tables(&content, &taken[in_content..]).unwrap_or(content))
}

/// `content` with a dictionary header and entropy tables computed from
/// `samples`, compressed against it at [`LEVEL`]; `None` if zstd cannot
/// make them (too few samples, or ones that do not compress).
// zstd's ZDICT_finalizeDictionary, the crate's one unsafe call; see the SAFETY comments.
#[allow(unsafe_code)]
fn with_entropy_tables(content: &[u8], samples: &[&[u8]]) -> Option<Vec<u8>> {
    use zstd::zstd_safe::zstd_sys::{ZDICT_finalizeDictionary, ZDICT_isError, ZDICT_params_t};
    if samples.is_empty() {
        return None;
    }
    let flat = samples.concat();
    let sizes: Vec<usize> = samples.iter().map(|s| s.len()).collect();
    // The header and tables take at most 256 bytes (HBUFFSIZE in zdict.c);
    // with room for them the content is kept whole.
    let mut dictionary = vec![0u8; content.len() + 256];
    // The dictionary id is zstd's hash of the content: frames do not carry it.
    let params = ZDICT_params_t { compressionLevel: LEVEL, notificationLevel: 0, dictID: 0 };
    // SAFETY: every pointer comes with the length of the live buffer it
    // points into; zstd reads `content`, `flat` and `sizes` (one size per
    // sample, summing to `flat.len()`) and writes at most `dictionary.len()`
    // bytes into `dictionary`, returning the length written or an error code.
    let written = unsafe {
        ZDICT_finalizeDictionary(
            dictionary.as_mut_ptr().cast(),
            dictionary.len(),
            content.as_ptr().cast(),
            content.len(),
            flat.as_ptr().cast(),
            sizes.as_ptr(),
            u32::try_from(sizes.len()).ok()?,
            params,
        )
    };
    // SAFETY: a pure function of its argument.
    if unsafe { ZDICT_isError(written) } != 0 {
        return None;
    }
    dictionary.truncate(written);
    Some(dictionary)
}

/// Compresses metadata against one dictionary.
pub struct Packer {
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

    /// A page's metadata packed in order, one entry per record (`None`
    /// for a record without metadata), ahead of its commit and off the
    /// writer's thread.
    pub fn pack_page<'a>(&mut self, metadata: impl IntoIterator<Item = Option<&'a [u8]>>) -> io::Result<PackedPage> {
        let mut page = PackedPage { dictionary_id: self.dictionary_id, bytes: Vec::new(), records: Vec::new() };
        for raw in metadata {
            let entry = match raw {
                Some(raw) => {
                    let (codec, stored) = self.pack(raw)?;
                    let start = page.bytes.len();
                    page.bytes.extend_from_slice(stored);
                    Some((codec, start..page.bytes.len()))
                }
                None => None,
            };
            page.records.push(entry);
        }
        Ok(page)
    }
}

/// A page's metadata as [`Packer::pack_page`] made it.
#[derive(Debug)]
pub struct PackedPage {
    pub dictionary_id: i64,
    bytes: Vec<u8>,
    records: Vec<Option<(Codec, std::ops::Range<usize>)>>,
}

impl PackedPage {
    /// Records packed.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Record `i`'s metadata as stored, if it has any.
    pub fn get(&self, i: usize) -> Option<(Codec, &[u8])> {
        let (codec, range) = self.records.get(i)?.as_ref()?;
        Some((*codec, &self.bytes[range.clone()]))
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
                let size =
                    zstd::zstd_safe::get_frame_content_size(&stored).ok().flatten().filter(|&n| n <= MAX_UNPACKED).ok_or("the zstd frame header is damaged")?;
                unpacker.decompress(&stored, size as usize).map_err(|e| format!("zstd with dictionary {id}: {e}"))
            }
        }
    }
}

#[cfg(test)]
mod tests;
