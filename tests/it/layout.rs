//! The house's layout, checked on the source itself (ARCHITECTURE.md,
//! "Layering"): no file of the three crates over 700 lines (unit tests
//! apart), one module style, no import circle between sibling modules, and
//! no module of the main crate importing one on a higher floor.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_LINES: usize = 700;

/// The main crate's top-level modules, each on its floor: a module imports
/// only from its own floor or below. A new module must be given a floor here.
const FLOORS: &[(&str, u32)] = &[
    ("util", 0),
    ("merge", 1),
    ("mail", 1),
    ("records", 1),
    ("mediawiki", 1),
    ("harvest", 1),
    ("mirror", 2),
    ("package", 3),
    ("sync", 4),
    ("settings", 5),
    ("connections", 6),
    ("serve", 6),
    ("read", 6),
    ("jobs", 7),
    ("check", 8),
    ("daemon", 8),
    ("cli", 9),
];

type Module = Vec<String>;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `dir`, by its module path (`lib.rs` is the root).
fn modules(dir: &Path) -> BTreeMap<Module, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(dir).unwrap().with_extension("");
                let mut parts: Module = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
                if parts == ["lib"] || parts == ["main"] {
                    parts.clear();
                }
                out.insert(parts, path);
            }
        }
    }
    out
}

fn is_unit_tests(module: &Module) -> bool {
    module.last().is_some_and(|m| m == "tests")
}

/// The text without line comments (doc comments name modules in prose).
fn code(text: &str) -> String {
    text.lines().map(|l| l.find("//").map_or(l, |i| &l[..i])).collect::<Vec<_>>().join("\n")
}

/// An identifier path starting at `at`: `a::b::c`, and where it ends.
fn path_at(text: &str, at: usize) -> (Vec<String>, usize) {
    let bytes = text.as_bytes();
    let mut i = at;
    let mut parts = Vec::new();
    loop {
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
            i += 1;
        }
        if i == start {
            break;
        }
        parts.push(text[start..i].to_string());
        if text[i..].starts_with("::") && text[i + 2..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
            i += 2;
        } else {
            break;
        }
    }
    (parts, i)
}

/// The items of a use group `{a, b::c, d::{e, f}}` starting at `at` (the `{`), as paths.
fn group_at(text: &str, at: usize) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut i = at + 1;
    let bytes = text.as_bytes();
    while i < bytes.len() && bytes[i] != b'}' {
        if bytes[i].is_ascii_alphabetic() || bytes[i] == b'_' {
            let (head, end) = path_at(text, i);
            i = end;
            if text[i..].starts_with("::{") {
                out.extend(group_at(text, i + 2).into_iter().map(|tail| [head.clone(), tail].concat()));
                let mut depth = 0;
                while i < bytes.len() {
                    match bytes[i] {
                        b'{' => depth += 1,
                        b'}' if depth == 1 => break,
                        b'}' => depth -= 1,
                        _ => {}
                    }
                    i += 1;
                }
            } else {
                out.push(head);
            }
        }
        i += 1;
    }
    out
}

/// The module paths a file names through `crate::` and `super::`.
fn references(text: &str, module: &Module) -> Vec<Vec<String>> {
    let text = code(text);
    let mut out = Vec::new();
    for (at, word) in text.match_indices("crate::").chain(text.match_indices("super::")) {
        if at > 0 && text[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let mut base: Vec<String> = if word == "crate::" { Vec::new() } else { module[..module.len().saturating_sub(1)].to_vec() };
        let (mut path, end) = path_at(&text, at + word.len());
        while path.first().is_some_and(|p| p == "super") {
            path.remove(0);
            base.pop();
        }
        let prefix = [base.clone(), path].concat();
        if text[end..].starts_with("::{") {
            out.extend(group_at(&text, end + 2).into_iter().map(|tail| [prefix.clone(), tail].concat()));
        }
        out.push(prefix);
    }
    out
}

/// Edges between sibling modules: `a::x` naming `a::y::z` is `a::x → a::y`.
fn sibling_edges(dir: &Path) -> BTreeMap<Module, BTreeSet<Module>> {
    let mods = modules(dir);
    let known: BTreeSet<&Module> = mods.keys().filter(|m| !is_unit_tests(m)).collect();
    let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (module, path) in &mods {
        if is_unit_tests(module) {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap();
        for reference in references(&text, module) {
            let Some(target) = (1..=reference.len()).rev().map(|k| reference[..k].to_vec()).find(|m| known.contains(m)) else { continue };
            let shared = module.iter().zip(&target).take_while(|(a, b)| a == b).count();
            if shared == module.len() || shared == target.len() {
                continue; // an ancestor and its descendant
            }
            edges.entry(module[..=shared].to_vec()).or_default().insert(target[..=shared].to_vec());
        }
    }
    edges
}

fn circles(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<String> {
    fn visit(m: &Module, edges: &BTreeMap<Module, BTreeSet<Module>>, state: &mut BTreeMap<Module, u8>, stack: &mut Vec<Module>, out: &mut Vec<String>) {
        state.insert(m.clone(), 1);
        stack.push(m.clone());
        for next in edges.get(m).into_iter().flatten() {
            match state.get(next) {
                Some(1) => {
                    let from = stack.iter().position(|s| s == next).unwrap();
                    out.push(stack[from..].iter().chain([next]).map(|m| m.join("::")).collect::<Vec<_>>().join(" -> "));
                }
                Some(_) => {}
                None => visit(next, edges, state, stack, out),
            }
        }
        stack.pop();
        state.insert(m.clone(), 2);
    }
    let mut state = BTreeMap::new();
    let mut out = Vec::new();
    for m in edges.keys() {
        if !state.contains_key(m) {
            visit(m, edges, &mut state, &mut Vec::new(), &mut out);
        }
    }
    out
}

fn crate_dirs() -> [PathBuf; 3] {
    [root().join("src"), root().join("oai/src"), root().join("checkpoints/src")]
}

#[test]
fn no_file_is_over_700_lines_and_every_module_has_one_style() {
    let mut problems = Vec::new();
    for dir in crate_dirs() {
        for (module, path) in modules(&dir) {
            let text = std::fs::read_to_string(&path).unwrap();
            let shown = path.strip_prefix(root()).unwrap().display().to_string();
            if !is_unit_tests(&module) && text.lines().count() > MAX_LINES {
                problems.push(format!("{shown}: {} lines", text.lines().count()));
            }
            if path.ends_with("mod.rs") {
                problems.push(format!("{shown}: a module is `foo.rs` beside `foo/`, not `foo/mod.rs`"));
            }
            if code(&text).lines().any(|l| l.trim_start().starts_with("mod tests {")) {
                problems.push(format!("{shown}: unit tests go in a `tests.rs` of their own"));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn imports_form_a_tree_with_no_arrow_up() {
    let mut problems = Vec::new();
    for dir in crate_dirs() {
        problems.extend(circles(&sibling_edges(&dir)).into_iter().map(|c| format!("import circle: {c}")));
    }
    let floor: BTreeMap<&str, u32> = FLOORS.iter().copied().collect();
    let main = root().join("src");
    for top in modules(&main).keys().filter(|m| m.len() == 1 && !is_unit_tests(m)) {
        if !floor.contains_key(top[0].as_str()) {
            problems.push(format!("{}: no floor in FLOORS (tests/it/layout.rs) nor in ARCHITECTURE.md", top[0]));
        }
    }
    for (from, tos) in sibling_edges(&main).iter().filter(|(m, _)| m.len() == 1) {
        for to in tos {
            let (a, b) = (floor.get(from[0].as_str()), floor.get(to[0].as_str()));
            if let (Some(a), Some(b)) = (a, b)
                && b > a
            {
                problems.push(format!("{} (floor {a}) imports {} (floor {b}), a higher floor", from[0], to[0]));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_checker_sees_a_circle_and_a_group() {
    let module: Module = vec!["sync".into(), "run".into()];
    let refs = references("use super::scope::{Members, SyncOptions};\nuse crate::mediawiki::{client::Wiki, types::{A, B}};\n// crate::ignored\n", &module);
    assert!(refs.contains(&vec!["sync".to_string(), "scope".into(), "Members".into()]), "{refs:?}");
    assert!(refs.contains(&vec!["mediawiki".to_string(), "types".into(), "B".into()]), "{refs:?}");
    assert!(!refs.iter().any(|r| r.contains(&"ignored".to_string())), "{refs:?}");
    let edges: BTreeMap<Module, BTreeSet<Module>> =
        [(vec!["a".to_string()], BTreeSet::from([vec!["b".to_string()]])), (vec!["b".to_string()], BTreeSet::from([vec!["a".to_string()]]))].into();
    assert_eq!(circles(&edges), vec!["a -> b -> a".to_string()]);
}
