//! A test that keeps the module graph acyclic: every top-level module of this crate may use
//! others only so that no two of them depend on each other, directly or through a chain (the
//! layering of `lib.rs`). Read from the sources (test code and comments aside), so a new
//! module or import is checked the moment it is written.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Top-level module name -> the source files that make it (tests excluded).
fn modules(src: &Path) -> BTreeMap<String, Vec<PathBuf>> {
    let mut out = BTreeMap::new();
    for entry in fs::read_dir(src).expect("src dir").flatten() {
        let path = entry.path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            let mut files = Vec::new();
            collect(&path, &mut files);
            out.insert(name, files);
        } else if path.extension().is_some_and(|e| e == "rs")
            && !["lib", "main", "layering"].contains(&name.as_str())
        {
            out.insert(name, vec![path]);
        }
    }
    out
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("module dir").flatten() {
        let path = entry.path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "tests" {
                collect(&path, files);
            }
        } else if name.ends_with(".rs") && name != "tests.rs" {
            files.push(path);
        }
    }
}

/// The top-level modules a source file names as `crate::NAME`, outside comments and its
/// `#[cfg(test)] mod tests { .. }` (which by convention ends the file).
fn uses(text: &str, names: &BTreeSet<String>) -> BTreeSet<String> {
    let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text);
    let mut out = BTreeSet::new();
    for line in code.lines() {
        let line = line.split("//").next().unwrap_or("");
        for (i, _) in line.match_indices("crate::") {
            let rest = &line[i + "crate::".len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            let name = &rest[..end];
            if names.contains(name) {
                out.insert(name.to_owned());
            }
        }
    }
    out
}

/// A cycle in `graph`, if there is one (as the list of modules along it).
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        marks: &mut BTreeMap<String, Mark>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let start = path.iter().position(|n| n == node).unwrap_or(0);
                let mut found = path[start..].to_vec();
                found.push(node.to_owned());
                return Some(found);
            }
            None => {}
        }
        marks.insert(node.to_owned(), Mark::Open);
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, marks, path) {
                return Some(found);
            }
        }
        path.pop();
        marks.insert(node.to_owned(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut marks, &mut Vec::new()))
}

#[test]
fn no_import_cycle_between_top_level_modules() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mods = modules(&src);
    let names: BTreeSet<String> = mods.keys().cloned().collect();
    assert!(
        names.contains("restore") && names.contains("store"),
        "{names:?}"
    );
    let graph: BTreeMap<String, BTreeSet<String>> = mods
        .iter()
        .map(|(name, files)| {
            let mut deps = BTreeSet::new();
            for f in files {
                deps.extend(uses(&fs::read_to_string(f).unwrap(), &names));
            }
            deps.remove(name);
            (name.clone(), deps)
        })
        .collect();
    assert_eq!(
        cycle(&graph),
        None,
        "modules depend on each other in a cycle"
    );
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let names: BTreeSet<String> = ["a", "b", "c"].map(String::from).into();
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", "use crate::b::X; // crate::c"),
        ("b", "fn f() { crate::c::g() }"),
        (
            "c",
            "use crate::a;\n#[cfg(test)]\nmod tests { use crate::b; }",
        ),
    ]
    .into_iter()
    .map(|(n, text)| (n.to_owned(), uses(text, &names)))
    .collect();
    assert_eq!(graph["a"], ["b".to_owned()].into());
    assert_eq!(graph["c"], ["a".to_owned()].into());
    assert_eq!(cycle(&graph).map(|c| c.len()), Some(4));
}
