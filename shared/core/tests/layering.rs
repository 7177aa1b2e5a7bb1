//! The source tree has no import circles: within each crate of the workspace, no two files
//! depend on each other, directly or through others.
//!
//! A file depends on another when its (non-test) code names an item of it: a `use` of
//! `crate::…`, `super::…`, `self::…` or a child module, or such a path written inline. A
//! `mod x;` declaration alone is not a dependency (the tree is not the import graph), but a
//! parent that re-exports or calls into its child depends on it, and a child that reaches
//! back for an item of its parent closes a circle. Test modules (`#[cfg(test)] mod … { }`)
//! are left out: they may reach anywhere.
//!
//! The graph is built from the text, with comments and string literals removed first; it is
//! deliberately simple, and the crates keep their imports simple enough for it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The crates whose trees are checked, relative to the workspace root: the core and the
/// CLI, whose stages must read in one direction, and the adapters and functions.
const CRATES: &[&str] = &[
    "shared/core/src",
    "shared/cli/src",
    "shared/snapshot/src",
    "shared/aws/src",
    "functions/remediate/src",
    "functions/alertmanager-intake/src",
];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A module path inside its crate: `[]` is the crate root, `["plan", "node"]` is
/// `plan/node.rs`.
type ModPath = Vec<String>;

/// One source file of a crate.
#[derive(Debug)]
struct File {
    path: PathBuf,
    module: ModPath,
    code: String,
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// `src/plan/node.rs` → `["plan", "node"]`; `src/plan/mod.rs` → `["plan"]`; `src/lib.rs`,
/// `src/main.rs` → `[]`. Other binaries (`src/bin/x.rs`) are crate roots of their own.
fn module_of(src: &Path, file: &Path) -> Option<ModPath> {
    let rel = file.strip_prefix(src).ok()?;
    let parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if parts.first().is_some_and(|p| p == "bin") {
        return None;
    }
    match parts.as_slice() {
        [root] if root == "lib" || root == "main" => Some(Vec::new()),
        [dirs @ .., last] if last == "mod" => Some(dirs.to_vec()),
        all => Some(all.to_vec()),
    }
}

/// The code with comments, string and char literals blanked out.
fn strip(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            '/' if b.get(i + 1) == Some(&'/') => {
                while i < b.len() && b[i] != '\n' {
                    i += 1;
                }
            }
            '/' if b.get(i + 1) == Some(&'*') => {
                let mut depth = 0;
                while i < b.len() {
                    if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                        depth += 1;
                        i += 2;
                    } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            'r' if matches!(b.get(i + 1), Some('"' | '#'))
                && (i == 0 || !(b[i - 1].is_alphanumeric() || b[i - 1] == '_')) =>
            {
                // Raw string: r"…", r#"…"#.
                let mut j = i + 1;
                let mut hashes = 0;
                while b.get(j) == Some(&'#') {
                    hashes += 1;
                    j += 1;
                }
                if b.get(j) != Some(&'"') {
                    out.push(b[i]);
                    i += 1;
                    continue;
                }
                j += 1;
                loop {
                    if j >= b.len() {
                        break;
                    }
                    if b[j] == '"' && (0..hashes).all(|h| b.get(j + 1 + h) == Some(&'#')) {
                        j += 1 + hashes;
                        break;
                    }
                    j += 1;
                }
                out.push_str("\"\"");
                i = j;
            }
            '"' => {
                i += 1;
                while i < b.len() && b[i] != '"' {
                    if b[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
                out.push_str("\"\"");
            }
            '\'' if b.get(i + 2) == Some(&'\'') || b.get(i + 1) == Some(&'\\') => {
                // A char literal ('x', '\n', '\u{..}'); lifetimes ('a) are left alone.
                i += 1;
                while i < b.len() && b[i] != '\'' {
                    if b[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
                out.push_str("' '");
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// The code without `#[cfg(test)]` items (a module with braces, or one item).
fn without_tests(code: &str) -> String {
    let mut out = String::new();
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        // Skip to the end of the item: its braces balanced, or its `;`.
        let mut depth = 0usize;
        let mut end = after.len();
        for (i, c) in after.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i + 1;
                        break;
                    }
                }
                ';' if depth == 0 => {
                    end = i + 1;
                    break;
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Child modules declared in the file (`mod x;`, not inline `mod x { }`).
fn child_modules(code: &str) -> BTreeSet<String> {
    let re = regex::Regex::new(r"(?m)^\s*(?:pub(?:\([a-z]+\))?\s+)?mod\s+([a-z_][a-z0-9_]*)\s*;")
        .expect("regex");
    re.captures_iter(code).map(|c| c[1].to_owned()).collect()
}

/// Every path a `use` tree brings in, flattened: `a::{b, c::d}` → `a::b`, `a::c::d`.
fn flatten_use(tree: &str, prefix: &str, out: &mut Vec<String>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let head = tree[..open].trim().trim_end_matches("::");
        let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
        let base = join(prefix, head);
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    flatten_use(&inner[start..i], &base, out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        flatten_use(&inner[start..], &base, out);
    } else if !tree.is_empty() {
        let path = tree.split(" as ").next().unwrap_or(tree).trim();
        let path = path.strip_suffix("::self").unwrap_or(path);
        if path == "self" {
            out.push(prefix.to_owned());
        } else {
            out.push(join(prefix, path));
        }
    }
}

fn join(prefix: &str, path: &str) -> String {
    match (prefix.is_empty(), path.is_empty()) {
        (true, _) => path.to_owned(),
        (_, true) => prefix.to_owned(),
        _ => format!("{prefix}::{path}"),
    }
}

/// The paths a file names: `use` trees, and `crate::`/`super::`/`self::`/child-module paths
/// written inline.
fn referenced_paths(code: &str, children: &BTreeSet<String>) -> Vec<String> {
    let mut paths = Vec::new();
    let use_re = regex::Regex::new(r"(?s)\buse\s+([^;]+);").expect("regex");
    for c in use_re.captures_iter(code) {
        flatten_use(&c[1], "", &mut paths);
    }
    let code = use_re.replace_all(code, "");
    let inline = regex::Regex::new(
        r"\b((?:crate|super|self|[a-z_][a-z0-9_]*)(?:::[A-Za-z_][A-Za-z0-9_]*)+)",
    )
    .expect("regex");
    for c in inline.captures_iter(&code) {
        let path = &c[1];
        let first = path.split("::").next().unwrap_or_default();
        if matches!(first, "crate" | "super" | "self") || children.contains(first) {
            paths.push(path.to_owned());
        }
    }
    paths
}

/// Resolves a path named in `from` to the module it lands in (`None`: another crate).
fn resolve(path: &str, from: &ModPath, children: &BTreeSet<String>) -> Option<ModPath> {
    let mut segs = path.split("::").map(str::to_owned).peekable();
    let first = segs.peek()?.clone();
    let mut base: ModPath = match first.as_str() {
        "crate" => {
            segs.next();
            Vec::new()
        }
        "self" => {
            segs.next();
            from.clone()
        }
        "super" => {
            let mut m = from.clone();
            while segs.peek().is_some_and(|s| s == "super") {
                segs.next();
                m.pop();
            }
            m
        }
        child if children.contains(child) => from.clone(),
        _ => return None,
    };
    base.extend(segs);
    Some(base)
}

/// The longest prefix of `target` that is a module of the crate.
fn owning_module<'a>(target: &ModPath, modules: &'a BTreeSet<ModPath>) -> Option<&'a ModPath> {
    (0..=target.len())
        .rev()
        .find_map(|n| modules.get(&target[..n].to_vec()))
}

/// Files of one crate and the files each depends on.
fn graph(src: &Path) -> (Vec<File>, BTreeMap<usize, BTreeSet<usize>>) {
    let mut paths = Vec::new();
    rust_files(src, &mut paths);
    let files: Vec<File> = paths
        .into_iter()
        .filter_map(|path| {
            let module = module_of(src, &path)?;
            let text = std::fs::read_to_string(&path).expect("source file");
            let code = without_tests(&strip(&text));
            Some(File { path, module, code })
        })
        .collect();
    let modules: BTreeSet<ModPath> = files.iter().map(|f| f.module.clone()).collect();
    let index: BTreeMap<&ModPath, usize> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (&f.module, i))
        .collect();
    let mut edges: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    for (i, file) in files.iter().enumerate() {
        let children = child_modules(&file.code);
        for path in referenced_paths(&file.code, &children) {
            let Some(target) = resolve(&path, &file.module, &children) else {
                continue;
            };
            if let Some(owner) = owning_module(&target, &modules)
                && let Some(&j) = index.get(owner)
                && j != i
            {
                edges.entry(i).or_default().insert(j);
            }
        }
    }
    (files, edges)
}

/// A circle through `start`, if any: the files along it.
fn circle_through(start: usize, edges: &BTreeMap<usize, BTreeSet<usize>>) -> Option<Vec<usize>> {
    fn walk(
        at: usize,
        start: usize,
        edges: &BTreeMap<usize, BTreeSet<usize>>,
        seen: &mut BTreeSet<usize>,
        trail: &mut Vec<usize>,
    ) -> bool {
        for &next in edges.get(&at).into_iter().flatten() {
            if next == start {
                return true;
            }
            if seen.insert(next) {
                trail.push(next);
                if walk(next, start, edges, seen, trail) {
                    return true;
                }
                trail.pop();
            }
        }
        false
    }
    let mut trail = vec![start];
    walk(start, start, edges, &mut BTreeSet::new(), &mut trail).then_some(trail)
}

#[test]
fn no_two_files_of_a_crate_import_each_other() {
    let root = workspace_root();
    let mut circles = Vec::new();
    for krate in CRATES {
        let src = root.join(krate);
        let (files, edges) = graph(&src);
        let mut reported: BTreeSet<Vec<usize>> = BTreeSet::new();
        for start in 0..files.len() {
            if let Some(circle) = circle_through(start, &edges) {
                let mut key = circle.clone();
                key.sort_unstable();
                if reported.insert(key) {
                    let names: Vec<String> = circle
                        .iter()
                        .chain(std::iter::once(&start))
                        .map(|&i| {
                            files[i]
                                .path
                                .strip_prefix(&root)
                                .unwrap_or(&files[i].path)
                                .display()
                                .to_string()
                        })
                        .collect();
                    circles.push(names.join(" → "));
                }
            }
        }
    }
    assert!(
        circles.is_empty(),
        "import circles:\n  {}",
        circles.join("\n  ")
    );
}

#[test]
fn the_checker_sees_a_child_that_reaches_back_into_its_parent() {
    let parent = "mod child;\npub fn run() { child::go() }\npub struct Shared;";
    let child = "use super::Shared;\npub fn go() {}";
    let children = child_modules(parent);
    let from_parent = referenced_paths(parent, &children);
    assert_eq!(
        resolve(&from_parent[0], &vec!["p".to_owned()], &children),
        Some(vec!["p".to_owned(), "child".to_owned(), "go".to_owned()])
    );
    let from_child = referenced_paths(child, &BTreeSet::new());
    assert_eq!(
        resolve(
            &from_child[0],
            &vec!["p".to_owned(), "child".to_owned()],
            &BTreeSet::new()
        ),
        Some(vec!["p".to_owned(), "Shared".to_owned()])
    );
}

#[test]
fn the_checker_ignores_comments_strings_and_tests() {
    let code = strip(
        "// use crate::a;\nlet s = \"crate::b::C\";\n#[cfg(test)]\nmod tests { use crate::c; }\nuse crate::d::{e, f::G};",
    );
    let code = without_tests(&code);
    let paths = referenced_paths(&code, &BTreeSet::new());
    assert!(paths.contains(&"crate::d::f::G".to_owned()), "{paths:?}");
    assert!(paths.iter().all(|p| p.starts_with("crate::d")), "{paths:?}");
}
