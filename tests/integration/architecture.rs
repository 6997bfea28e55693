//! The house's one-way rules, read from `src/` itself: each file's `crate::…` and `super::…`
//! paths are its imports. The layers, top to bottom (docs/design.md §13):
//!
//! `main` → `cli` (commands, bench) → `server` (wiring, router) → `config` → the edges `web` and
//! `api`, side by side → `app` → the domain folders → `store` → the leaves.
//!
//! A module may import only modules below it (domain folders may import each other, without
//! circles), the two edges never import each other, and no two files import each other in a
//! circle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Modules by layer, top first; a module may import the modules of lower layers.
const LAYERS: &[&[&str]] = &[
    &["main", "lib"],
    &["cli"],
    &["server"],
    &["config"],
    &["web", "api"],
    &["app"],
    // The domain: any of these may import another, as long as no circle forms.
    &[
        "analysis",
        "auth",
        "campaign",
        "catalog",
        "coupon",
        "customer",
        "demo",
        "experiment",
        "import",
        "jobs",
        "load",
        "onsite",
        "order",
        "recommend",
        "search",
        "segment",
        "track",
        "traffic",
        "reports",
    ],
    &["store"],
    &["error", "value", "clock", "i18n", "outbound"],
];

/// The layer a top-level module is in (0 is the top).
fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// A file's module path: `src/api/mod.rs` is `api`, `src/campaign/send/deliver.rs` is `campaign::send::deliver`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if parts.len() > 1 && parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without comments and string literals (a doc comment that names
/// `crate::api` is not an import).
fn code_of(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '"' => {
                let mut escaped = false;
                for c in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        break;
                    }
                }
                out.push_str("\"\"");
            }
            _ => out.push(c),
        }
    }
    out
}

/// The paths a file's code names after `crate::` or `super::`, as module paths from the crate
/// root, with `{a, b}` groups spread.
fn imports_of(module: &[String], code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for prefix in ["crate::", "super::"] {
        let mut rest = code;
        while let Some(at) = rest.find(prefix) {
            let before = rest[..at].chars().last();
            rest = &rest[at + prefix.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let mut base = Vec::new();
            if prefix == "super::" {
                // `super` of `a::b` (a file `a/b.rs` or `a/b/mod.rs`) is `a`; each further
                // `super::` goes one up again.
                let mut up = 1;
                while let Some(r) = rest.strip_prefix("super::") {
                    rest = r;
                    up += 1;
                }
                base = module[..module.len().saturating_sub(up)].to_vec();
            }
            for path in spread(rest) {
                let mut full = base.clone();
                full.extend(path);
                if !full.is_empty() {
                    out.push(full);
                }
            }
        }
    }
    out
}

/// `a::b::{c, d::e}` at the start of `s` as the paths `a::b::c` and `a::b::d::e`; a plain path
/// as itself. Only identifiers count (`Type` names end a path as well as modules do).
fn spread(s: &str) -> Vec<Vec<String>> {
    let mut path = Vec::new();
    let mut s = s;
    loop {
        let ident: String = s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        if ident.is_empty() {
            if let Some(group) = s.strip_prefix('{') {
                let end = matching_brace(group);
                let mut out = Vec::new();
                for part in split_top(&group[..end]) {
                    for sub in spread(part.trim()) {
                        let mut p = path.clone();
                        p.extend(sub);
                        out.push(p);
                    }
                }
                return out;
            }
            return vec![path];
        }
        s = &s[ident.len()..];
        path.push(ident);
        match s.strip_prefix("::") {
            Some(r) => s = r,
            None => return vec![path],
        }
    }
}

fn matching_brace(s: &str) -> usize {
    let mut depth = 0;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return i,
            '}' => depth -= 1,
            _ => {}
        }
    }
    s.len()
}

fn split_top(s: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

struct House {
    /// Every file's module path, and the file modules each one imports.
    files: BTreeMap<String, BTreeSet<String>>,
}

impl House {
    fn read(src: &Path) -> House {
        let mut paths = Vec::new();
        rust_files(src, &mut paths);
        let modules: BTreeMap<String, (Vec<String>, String)> = paths
            .iter()
            .map(|p| {
                let m = module_of(src, p);
                let text = std::fs::read_to_string(p).unwrap();
                (m.join("::"), (m, code_of(&text)))
            })
            .collect();
        let mut files = BTreeMap::new();
        for (name, (module, code)) in &modules {
            let mut deps = BTreeSet::new();
            for path in imports_of(module, code) {
                // The longest prefix that is a file of ours is what the path imports.
                let target = (1..=path.len())
                    .rev()
                    .map(|n| path[..n].join("::"))
                    .find(|p| modules.contains_key(p));
                if let Some(t) = target
                    && &t != name
                    // A child naming its own parent (`super::Thing` in `a/b.rs`) is the folder's
                    // own business, not an import circle.
                    && !name.starts_with(&format!("{t}::"))
                {
                    deps.insert(t);
                }
            }
            files.insert(name.clone(), deps);
        }
        House { files }
    }

    /// (importer, imported) pairs between top-level modules, with the file that does it.
    fn top_edges(&self) -> BTreeMap<(String, String), String> {
        let top = |m: &str| m.split("::").next().unwrap().to_string();
        let mut out = BTreeMap::new();
        for (file, deps) in &self.files {
            for d in deps {
                if top(file) != top(d) {
                    out.entry((top(file), top(d))).or_insert_with(|| file.clone());
                }
            }
        }
        out
    }
}

/// The circles of a graph: its strongly connected components of more than one node.
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    // Tarjan's algorithm (recursive: a few hundred files).
    struct T<'a> {
        g: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    impl<'a> T<'a> {
        fn visit(&mut self, v: &'a str) {
            let i = self.index.len();
            self.index.insert(v, i);
            self.low.insert(v, i);
            self.stack.push(v);
            self.on.insert(v);
            for w in self.g.get(v).into_iter().flatten() {
                if !self.index.contains_key(w.as_str()) {
                    self.visit(w);
                    let lw = self.low[w.as_str()];
                    let lv = self.low.get_mut(v).unwrap();
                    *lv = (*lv).min(lw);
                } else if self.on.contains(w.as_str()) {
                    let iw = self.index[w.as_str()];
                    let lv = self.low.get_mut(v).unwrap();
                    *lv = (*lv).min(iw);
                }
            }
            if self.low[v] == self.index[v] {
                let mut comp = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on.remove(w);
                    comp.push(w.to_string());
                    if w == v {
                        break;
                    }
                }
                if comp.len() > 1 {
                    comp.sort();
                    self.out.push(comp);
                }
            }
        }
    }
    let mut t = T {
        g: graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !t.index.contains_key(v.as_str()) {
            t.visit(v);
        }
    }
    t.out
}

/// Every rule the house keeps, broken: one line each.
fn broken_rules(house: &House) -> Vec<String> {
    let mut broken = Vec::new();
    let edges = house.top_edges();
    for ((from, to), file) in &edges {
        let (Some(lf), Some(lt)) = (layer(from), layer(to)) else {
            broken.push(format!(
                "{file}: the module `{from}` or `{to}` is in no layer (add it to LAYERS and ARCHITECTURE.md)"
            ));
            continue;
        };
        let same_domain = lf == lt && LAYERS[lf].len() > 2;
        if lt < lf || (lt == lf && !same_domain) {
            broken.push(format!("{file} imports `{to}`, which is not below `{from}`"));
        }
    }
    let mut top: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, to) in edges.keys() {
        top.entry(from.clone()).or_default().insert(to.clone());
    }
    for c in circles(&top) {
        broken.push(format!("the modules {} import each other in a circle", c.join(", ")));
    }
    for c in circles(&house.files) {
        broken.push(format!("the files {} import each other in a circle", c.join(", ")));
    }
    broken
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn the_house_is_one_way() {
    let broken = broken_rules(&House::read(&src()));
    assert!(
        broken.is_empty(),
        "the house's rules are broken:\n{}",
        broken.join("\n")
    );
}

#[test]
fn the_rules_catch_an_upward_import_and_a_circle() {
    // The same check on a copy of src/ with the console importing the JSON API, and two domain
    // files importing each other, must fail on exactly those.
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&src(), tmp.path());
    let append = |file: &str, line: &str| {
        let path = tmp.path().join(file);
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str(line);
        std::fs::write(path, text).unwrap();
    };
    append("web/mod.rs", "\n#[allow(unused_imports)]\nuse crate::api::ApiError;\n");
    append(
        "store/mod.rs",
        "\n#[allow(unused_imports)]\nuse crate::customer::Erased;\n",
    );
    append(
        "campaign/law.rs",
        "\n#[allow(unused_imports)]\nuse super::send::deliver::text_kind;\n",
    );
    let broken = broken_rules(&House::read(tmp.path()));
    let says = |what: &str| broken.iter().any(|b| b.contains(what));
    assert!(says("web imports `api`"), "{broken:#?}");
    assert!(says("store imports `customer`"), "{broken:#?}");
    assert!(says("campaign::law") && says("campaign::send::deliver"), "{broken:#?}");
}

#[test]
fn imports_are_read_from_paths_and_groups() {
    let m: Vec<String> = vec!["campaign".into(), "send".into()];
    let code = code_of(
        "use crate::{auth, store::{self, Tx}};\nuse super::law::Verdict; // crate::web\nlet s = \"crate::api\";\nuse super::super::value;",
    );
    let got: Vec<String> = imports_of(&m, &code).into_iter().map(|p| p.join("::")).collect();
    assert_eq!(
        got,
        ["auth", "store::self", "store::Tx", "campaign::law::Verdict", "value"]
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}
