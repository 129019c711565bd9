//! Every fuzz target, run on every input of its corpus: the inputs the
//! campaigns kept (`oai/fuzz/corpus/TARGET`, `tests/fuzz/corpus/TARGET`),
//! the crashes they found, kept as regressions (`…/regressions/TARGET`),
//! and the project's real fixtures. The targets' checks are the same code
//! (`checks.rs` beside each fuzz crate); a campaign itself needs nightly
//! and cargo-fuzz (see the README's "Fuzzing").

use std::path::{Path, PathBuf};

#[path = "../../oai/fuzz/checks.rs"]
mod oai_checks;

#[path = "../fuzz/checks.rs"]
mod checks;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The files of the given folders (those that exist), and their subfolders' files.
fn inputs(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = dirs.iter().filter(|d| d.is_dir()).cloned().collect();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Runs `check` on each input; returns how many there were.
fn replay(target: &str, fuzz_dir: &Path, fixtures: &[&str], check: fn(&[u8])) -> usize {
    let mut dirs = vec![fuzz_dir.join("corpus").join(target), fuzz_dir.join("regressions").join(target)];
    dirs.extend(fixtures.iter().map(|f| root().join("tests/fixtures").join(f)));
    let files = inputs(&dirs);
    for file in &files {
        let data = std::fs::read(file).unwrap();
        let outcome = std::panic::catch_unwind(|| check(&data));
        assert!(outcome.is_ok(), "fuzz target {target} fails on {}", file.display());
    }
    files.len()
}

#[test]
fn every_fuzz_target_passes_on_its_corpus() {
    let oai = root().join("oai/fuzz");
    let ours = root().join("tests/fuzz");
    let counts = [
        ("parse", replay("parse", &oai, &["oai-corpus"], oai_checks::parse)),
        ("decode", replay("decode", &oai, &["oai-corpus"], oai_checks::decode)),
        ("mediawiki", replay("mediawiki", &ours, &["mediawiki", "mediawiki-oai"], checks::mediawiki)),
        ("names", replay("names", &ours, &[], checks::names)),
        ("merge", replay("merge", &ours, &[], checks::merge)),
        ("package", replay("package", &ours, &[], checks::package)),
        ("request", replay("request", &ours, &[], checks::request)),
    ];
    for (target, n) in counts {
        assert!(n > 0, "fuzz target {target} has no corpus");
        println!("fuzz target {target}: {n} inputs");
    }
}
