//! What the root package's fuzz targets check, shared with the test that
//! replays their corpora (tests/it/fuzz_corpus.rs).

use std::collections::HashSet;

use oai_mirror::mediawiki::types;
use oai_mirror::merge::{self, Merged};
use oai_mirror::sync::checkout;

/// Any answer of the action API, and any export document: read without a panic.
pub fn mediawiki(data: &[u8]) {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = types::api_error(&v);
        let _ = types::read_siteinfo(&v);
        let _ = types::read_userinfo(&v);
        let _ = types::read_pages(&v);
        let _ = types::read_revisions(&v);
        let _ = types::read_edit(&v);
        let _ = types::read_move(&v);
        let _ = types::read_changes(&v);
    }
    let _ = oai_mirror::mirror::export::parse(&String::from_utf8_lossy(data));
}

/// Checkout names: every title has a safe name within the limit that reads
/// back as the same title (or a hashed one), and any name reads without a panic.
pub fn names(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = checkout::title_of(&text);
    let title = text.as_ref();
    if title.trim().is_empty() {
        return;
    }
    let name = checkout::file_name(title, &HashSet::new());
    assert!(name.len() <= checkout::MAX_NAME, "{} bytes", name.len());
    assert!(!name.contains('/') && !name.contains('\0') && !name.starts_with('.'), "{name:?}");
    if !checkout::is_hashed(&name) {
        assert_eq!(checkout::title_of(&name).as_deref(), Ok(title), "{name:?}");
        // A title whose plain name is taken in case only gets a hashed one.
        let twin = checkout::file_name(title, &HashSet::from([name.to_lowercase()]));
        assert!(checkout::is_hashed(&twin) && twin.to_lowercase() != name.to_lowercase(), "{twin:?}");
    }
}

/// The three-way merge: its laws hold exactly, and a clean result keeps
/// every change of both sides. Input: base, ours, theirs, split at U+0001.
pub fn merge(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\u{1}');
    let (base, ours, theirs) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let labels = ("ours", "theirs");
    assert_eq!(merge::three_way(base, ours, base, labels), Merged::Clean(ours.to_string()));
    assert_eq!(merge::three_way(base, base, theirs, labels), Merged::Clean(theirs.to_string()));
    assert_eq!(merge::three_way(base, ours, ours, labels), Merged::Clean(ours.to_string()));
    // When both sides changed the base differently, a clean result keeps
    // every change of both. (When they made the same change, the laws
    // above say what the result is; the line count of `keeps_all_changes`
    // would count that change twice.)
    if ours != theirs
        && ours != base
        && theirs != base
        && let Merged::Clean(result) = merge::three_way(base, ours, theirs, labels)
    {
        assert!(merge::keeps_all_changes(base, ours, theirs, &result), "a clean merge lost a change");
    }
}
