//! The backend's modules import one another only downwards: a circle of imports (a module
//! reaching, through others, one that reaches it) fails this test, naming the circle.
//! Read from the source text as `super::X`, `crate::backend::X` and `use super::{X, Y}`,
//! tests aside (what `../shared/tools/modcycles.py` reads too).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each module of `app/src/backend` (a file or a folder) and the modules it names.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/backend");
    let mut sources: BTreeMap<String, String> = BTreeMap::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("backend folder readable") {
            let path = entry.expect("folder entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(&root).expect("under the root");
            let top = relative
                .components()
                .next()
                .and_then(|c| c.as_os_str().to_str())
                .map(|s| s.trim_end_matches(".rs").to_string())
                .expect("a file name");
            if top == "mod" || top.ends_with("_tests") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("source readable");
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            let code: String = code
                .lines()
                .map(|l| l.split("//").next().unwrap_or_default())
                .collect::<Vec<_>>()
                .join("\n");
            sources.entry(top).or_default().push_str(&code);
        }
    }
    let names: BTreeSet<String> = sources.keys().cloned().collect();
    // What `mod.rs` re-exports (`pub use state::{AppState, Config}`) names its module.
    let reexports = std::fs::read_to_string(root.join("mod.rs")).expect("mod.rs readable");
    let aliases: BTreeMap<String, String> = reexports
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub use "))
        .filter_map(|l| l.split_once("::"))
        .flat_map(|(module, items)| {
            items
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .filter(|w| !w.is_empty())
                .map(move |item| (item.to_string(), module.to_string()))
        })
        .collect();
    sources
        .iter()
        .map(|(module, code)| {
            let named = names_after(code, &["super::", "crate::backend::"])
                .into_iter()
                .map(|n| aliases.get(&n).cloned().unwrap_or(n))
                .filter(|n| names.contains(n) && n != module)
                .collect();
            (module.clone(), named)
        })
        .collect()
}

/// The identifiers right after each prefix, and every identifier of a `{…}` group there.
fn names_after(code: &str, prefixes: &[&str]) -> BTreeSet<String> {
    let word = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = BTreeSet::new();
    for prefix in prefixes {
        for (at, _) in code.match_indices(prefix) {
            let before = code[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let rest = &code[at + prefix.len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let inner = group.split('}').next().unwrap_or_default();
                out.extend(
                    inner
                        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .filter(|w| !w.is_empty())
                        .map(str::to_string),
                );
            } else {
                out.insert(word(rest));
            }
        }
    }
    out
}

/// The circles (strongly connected components of more than one module), by Tarjan.
fn circles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Walk<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(w: &mut Walk<'a>, v: &'a str) {
        let i = w.index.len();
        w.index.insert(v, i);
        w.low.insert(v, i);
        w.stack.push(v);
        w.on_stack.insert(v);
        for next in w.edges.get(v).into_iter().flatten() {
            let next = next.as_str();
            if !w.index.contains_key(next) {
                visit(w, next);
                let low = w.low[v].min(w.low[next]);
                w.low.insert(v, low);
            } else if w.on_stack.contains(next) {
                let low = w.low[v].min(w.index[next]);
                w.low.insert(v, low);
            }
        }
        if w.low[v] == w.index[v] {
            let mut component = Vec::new();
            while let Some(top) = w.stack.pop() {
                w.on_stack.remove(top);
                component.push(top.to_string());
                if top == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                w.found.push(component);
            }
        }
    }
    let mut walk = Walk {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !walk.index.contains_key(v.as_str()) {
            visit(&mut walk, v);
        }
    }
    walk.found
}

#[test]
fn backend_modules_import_each_other_without_a_circle() {
    let edges = imports();
    assert!(edges.len() > 20, "the backend's modules were found");
    assert!(
        edges["health"].contains("facts"),
        "imports are read (health uses facts)"
    );
    assert!(
        edges["alerts"].contains("notify"),
        "grouped imports are read (alerts uses notify)"
    );
    let found = circles(&edges);
    assert!(
        found.is_empty(),
        "circles of imports in app/src/backend (each module of one reaches all the others; \
         move what the lower one needs down, or let the pipeline call both): {found:?}"
    );
}

#[test]
fn a_circle_is_found_when_there_is_one() {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, to) in [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("d", "e")] {
        edges.entry(from.into()).or_default().insert(to.into());
        edges.entry(to.into()).or_default();
    }
    assert_eq!(circles(&edges), vec![vec!["a", "b", "c"]]);
    let read = names_after(
        "use super::{audit, notify::Outbox};\nlet x = super::slack::url(); notsuper::no",
        &["super::"],
    );
    assert_eq!(
        read,
        ["Outbox", "audit", "notify", "slack"]
            .map(String::from)
            .into()
    );
}
