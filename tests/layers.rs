//! The layers stay one way: the import graph of `src/` has no cycle, every module uses only the
//! layers ARCHITECTURE.md lists before it, and the catalog of designs reaches the world only
//! through its interface (`world::api`, `world::design`).
//!
//! The graph is read from the source: a module's files (`src/NAME.rs` or `src/NAME/**`) and
//! every `crate::OTHER` path in their code (comments, doc comments included, left out: an
//! intra-doc link is not an import).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The top-level modules `src/lib.rs` declares.
fn modules() -> BTreeSet<String> {
    let lib = std::fs::read_to_string(common::root().join("src/lib.rs")).unwrap();
    lib.lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';').to_string())
        .collect()
}

/// Every `.rs` file under `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The code of a file without its comments (line comments, doc comments) and string literals'
/// contents are kept: `crate::` inside a string is rare and would only add an edge.
fn code(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths after `crate::` in `text`: `crate::world::api::Cx` gives `["world", "api", "Cx"]`.
fn crate_paths(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().next_back();
        rest = &rest[i + "crate::".len()..];
        // `idemlab::crate::` does not occur; `$crate::` in a macro is the same crate.
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let path: Vec<String> = rest
            .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .next()
            .unwrap_or("")
            .split("::")
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        out.push(path);
    }
    out
}

/// Which top-level module a file of `src/` belongs to.
fn module_of(root: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(root.join("src")).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// module → the modules it uses.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let root = common::root();
    let mods = modules();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files(&root.join("src")) {
        let m = module_of(&root, &file);
        if !mods.contains(&m) {
            continue; // lib.rs, main.rs
        }
        let text = code(&std::fs::read_to_string(&file).unwrap());
        for path in crate_paths(&text) {
            if let Some(target) = path.first()
                && mods.contains(target)
                && *target != m
            {
                edges.entry(m.clone()).or_default().insert(target.clone());
            }
        }
    }
    edges
}

/// A cycle in `edges`, if there is one, as the modules along it.
fn cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        m: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == m) {
            let mut c = path[i..].to_vec();
            c.push(m.to_string());
            return Some(c);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_string());
        for next in edges.get(m).into_iter().flatten() {
            if let Some(c) = visit(next, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for m in edges.keys() {
        if let Some(c) = visit(m, edges, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

/// The layer list of ARCHITECTURE.md: the backticked names of the line after the marker
/// `Layers, bottom first:`.
fn layers() -> Vec<String> {
    let text = std::fs::read_to_string(common::root().join("ARCHITECTURE.md")).unwrap();
    let line = text
        .lines()
        .skip_while(|l| !l.contains("Layers, bottom first:"))
        .nth(1)
        .expect("ARCHITECTURE.md lists the layers after `Layers, bottom first:`");
    line.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

#[test]
fn the_import_graph_of_src_has_no_cycle() {
    let edges = graph();
    assert!(
        edges.len() > 10,
        "too few modules with imports to mean anything: {edges:?}"
    );
    if let Some(c) = cycle(&edges) {
        panic!("modules reach each other: {}", c.join(" → "));
    }
}

#[test]
fn every_module_uses_only_the_layers_listed_before_it() {
    let order = layers();
    let mods = modules();
    let listed: BTreeSet<String> = order.iter().cloned().collect();
    assert_eq!(
        listed, mods,
        "ARCHITECTURE.md's layer list and src/lib.rs's modules differ"
    );
    for (m, uses) in graph() {
        let at = order.iter().position(|o| *o == m).unwrap();
        for u in uses {
            let there = order.iter().position(|o| *o == u).unwrap();
            assert!(
                there < at,
                "`{m}` uses `{u}`, which ARCHITECTURE.md lists after it"
            );
        }
    }
}

/// The catalog is one user of the world's interface: it never reaches the world's insides,
/// and the world never names the catalog.
#[test]
fn the_catalog_reaches_the_world_only_through_its_interface() {
    let root = common::root();
    let mut seen = 0;
    for file in files(&root.join("src/handlers")) {
        let text = code(&std::fs::read_to_string(&file).unwrap());
        for path in crate_paths(&text) {
            if path.first().map(String::as_str) == Some("world") {
                seen += 1;
                let part = path.get(1).map(String::as_str);
                assert!(
                    matches!(part, Some("api" | "design")),
                    "{} reaches crate::{}",
                    file.display(),
                    path.join("::")
                );
            }
        }
    }
    assert!(seen > 0, "the catalog should use the world's interface");
    for file in files(&root.join("src/world")) {
        let text = code(&std::fs::read_to_string(&file).unwrap());
        assert!(
            !crate_paths(&text)
                .iter()
                .any(|p| p.first().map(String::as_str) == Some("handlers")),
            "{} names the catalog",
            file.display()
        );
    }
}

/// The vocabulary is the ground floor: it imports nothing of the crate but `time`.
#[test]
fn the_vocabulary_imports_only_time() {
    let uses = graph().remove("vocab").unwrap_or_default();
    assert!(uses.iter().all(|u| u == "time"), "vocab uses {uses:?}");
}

/// The checks above see what they claim to: a made-up cycle is found, and so is a path.
#[test]
fn the_graph_reader_finds_paths_and_cycles() {
    assert_eq!(
        crate_paths("use crate::world::api::{Cx, Db};\nlet x = crate::vocab::Body::Empty;"),
        vec![
            vec!["world".to_string(), "api".to_string()],
            vec!["vocab".to_string(), "Body".to_string(), "Empty".to_string()]
        ]
    );
    assert!(crate_paths(&code("// see crate::world\n/// [`crate::world`]")).is_empty());
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    edges.entry("a".into()).or_default().insert("b".into());
    edges.entry("b".into()).or_default().insert("c".into());
    assert!(cycle(&edges).is_none());
    edges.entry("c".into()).or_default().insert("a".into());
    assert_eq!(
        cycle(&edges).unwrap(),
        ["a", "b", "c", "a"].map(String::from).to_vec()
    );
}

/// The first segments of the paths after `prefix` in `text`: `super::{a::X, b}` gives `a` and
/// `b`; `super::c::Y` gives `c`.
fn heads_after(text: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices(prefix) {
        let before = text[..i].chars().next_back();
        let rest = &text[i + prefix.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue; // `super::super::…`, `self::super::…`: not a sibling
        }
        let ident = |s: &str| -> String {
            s.trim_start()
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .next()
                .unwrap_or("")
                .to_string()
        };
        if let Some(group) = rest.strip_prefix('{') {
            // The top-level items of the braces.
            let (mut depth, mut start) = (0usize, 0usize);
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        out.push(ident(&group[start..j]));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.push(ident(&group[start..j]));
                        start = j + 1;
                    }
                    _ => {}
                }
            }
        } else {
            out.push(ident(rest));
        }
    }
    out.retain(|s| !s.is_empty() && s != "super" && s != "self");
    out
}

/// For every folder of `src/`: file → the sibling files (or sub-folders) it uses, through
/// `super::NAME` or `crate::FOLDER::NAME`. `mod.rs` is the folder itself, not a sibling.
fn folder_graphs() -> BTreeMap<PathBuf, BTreeMap<String, BTreeSet<String>>> {
    let root = common::root();
    let mut out: BTreeMap<PathBuf, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for file in files(&root.join("src")) {
        let dir = file.parent().unwrap().to_path_buf();
        if dir == root.join("src") || file.file_name().unwrap() == "mod.rs" {
            continue;
        }
        let siblings: BTreeSet<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().unwrap() != "mod.rs")
            .map(|p| p.file_stem().unwrap().to_string_lossy().to_string())
            .collect();
        let me = file.file_stem().unwrap().to_string_lossy().to_string();
        let module_path = dir
            .strip_prefix(root.join("src"))
            .unwrap()
            .components()
            .map(|c| c.as_os_str().to_string_lossy().to_string())
            .collect::<Vec<_>>()
            .join("::");
        let text = code(&std::fs::read_to_string(&file).unwrap());
        let mut heads = heads_after(&text, "super::");
        heads.extend(heads_after(&text, &format!("crate::{module_path}::")));
        let graph = out.entry(dir).or_default();
        let uses = graph.entry(me.clone()).or_default();
        for h in heads {
            if siblings.contains(&h) && h != me {
                uses.insert(h);
            }
        }
    }
    out
}

/// Inside a folder, too, files use each other one way: two files that need each other share a
/// leaf the both use (`settings/values.rs`, `tui/style.rs`).
#[test]
fn no_two_files_of_a_folder_reach_each_other() {
    let graphs = folder_graphs();
    let edges: usize = graphs
        .values()
        .flat_map(|g| g.values())
        .map(|u| u.len())
        .sum();
    assert!(
        edges > 20,
        "too few edges between files to mean anything: {edges}"
    );
    let cycles: Vec<String> = graphs
        .iter()
        .filter_map(|(dir, g)| {
            let c = cycle(g)?;
            Some(format!("in {}: {}", dir.display(), c.join(" → ")))
        })
        .collect();
    assert!(
        cycles.is_empty(),
        "files reach each other:\n{}",
        cycles.join("\n")
    );
}

#[test]
fn the_folder_reader_finds_siblings() {
    assert_eq!(
        heads_after(
            "use super::{app::{App, X}, view::PALETTE};\nsuper::diagram::fit(t)",
            "super::"
        ),
        ["app", "view", "diagram"].map(String::from).to_vec()
    );
    assert!(heads_after("use super::super::x;", "super::").is_empty());
}
