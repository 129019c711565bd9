//! The integration tests: one binary, several modules (see Cargo.toml).

// Random trials print their seeds, so that a failure can be replayed.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod cli;
mod console;
mod corpus;
mod crash;
mod daemon;
mod downstream;
mod dumps;
mod fake_wiki;
mod faults;
mod files;
mod fuzz_corpus;
mod groups;
mod history;
mod hostile;
mod interop;
mod layout;
mod mirror_oai;
mod mirror_random;
mod newcomer;
mod packages;
mod parallel;
mod reader;
mod replay;
mod scale;
mod serve;
mod support;
mod sync_checkout;
mod sync_crash;
mod sync_files;
mod sync_packages;
mod sync_wikis;
mod wiki;
mod wiki_cli;

/// With `autotests = false`, a file in tests/it that no `mod` line names
/// is never compiled and never run, silently. This fails instead.
#[test]
fn every_file_here_is_a_module_of_this_binary() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it");
    let listed = include_str!("main.rs");
    let mut forgotten = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let Some(module) = name.strip_suffix(".rs") else { continue };
        if module != "main" && !listed.lines().any(|l| l.trim() == format!("mod {module};")) {
            forgotten.push(name);
        }
    }
    assert!(forgotten.is_empty(), "tests/it files without a `mod` line in tests/it/main.rs (they never run): {forgotten:?}");
}
