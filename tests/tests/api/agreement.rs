//! One route per function, said the same way everywhere: the functions in `functions/`,
//! the local router (`Cargo.toml`), the SAM template (`infra/template.yaml`) and the
//! OpenAPI document (`docs/openapi.yaml`) must name exactly the same (method, path,
//! function) triples.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

type Routes = BTreeSet<(String, String, String)>;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn quoted_after<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let rest = &line[line.find(key)? + key.len()..];
    let start = rest.find('"')? + 1;
    let end = start + rest[start..].find('"')?;
    Some(&rest[start..end])
}

/// `"/path" = [{ method = "GET", function = "name" }]` lines of the router table.
fn router_routes() -> Routes {
    let cargo = read("Cargo.toml");
    let table = cargo
        .split("[workspace.metadata.lambda.watch.router]")
        .nth(1)
        .expect("a [workspace.metadata.lambda.watch.router] table in Cargo.toml");
    table
        .lines()
        .take_while(|l| !l.trim_start().starts_with('['))
        .filter(|l| l.starts_with('"'))
        .map(|l| {
            let path = l.split('"').nth(1).expect("a quoted path").to_owned();
            let method = quoted_after(l, "method").expect("a method").to_owned();
            let function = quoted_after(l, "function").expect("a function").to_owned();
            (method, path, function)
        })
        .collect()
}

/// Each function resource's `Binary:` and its HttpApi event's `Method:` and `Path:`.
fn template_routes() -> (Routes, usize) {
    let template = read("infra/template.yaml");
    let mut routes = Routes::new();
    let resources = template.split("Type: AWS::Serverless::Function").skip(1).collect::<Vec<_>>();
    for resource in &resources {
        let field = |name: &str| {
            resource
                .lines()
                .find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_owned()))
                .unwrap_or_else(|| panic!("a function resource without {name}"))
        };
        routes.insert((field("Method:").to_uppercase(), field("Path:"), field("Binary:")));
    }
    (routes, resources.len())
}

/// `  /path:` then `    get:` lines of the document's `paths`.
fn openapi_routes() -> BTreeSet<(String, String)> {
    let doc = read("docs/openapi.yaml");
    let mut routes = BTreeSet::new();
    let mut path = None;
    for line in doc.lines() {
        if let Some(p) = line.strip_prefix("  /").and_then(|p| p.strip_suffix(':')) {
            path = Some(format!("/{p}"));
        } else if !line.starts_with("  ") {
            path = None;
        } else if let (Some(p), Some(m)) = (&path, line.strip_prefix("    ").and_then(|m| m.strip_suffix(':'))) {
            if ["get", "post", "put", "patch", "delete"].contains(&m) {
                routes.insert((m.to_uppercase(), p.clone()));
            }
        }
    }
    routes
}

fn functions() -> BTreeSet<String> {
    std::fs::read_dir(repo().join("functions"))
        .expect("functions/")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("Cargo.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn router_template_and_openapi_name_the_same_routes() {
    let router = router_routes();
    let (template, resources) = template_routes();
    let functions = functions();

    assert_eq!(router, template, "Cargo.toml router vs infra/template.yaml");
    assert_eq!(resources, functions.len(), "one function resource per function crate");
    let routed: BTreeSet<String> = router.iter().map(|(_, _, f)| f.clone()).collect();
    assert_eq!(routed, functions, "every function crate is routed, and nothing else");
    assert_eq!(router.len(), functions.len(), "exactly one route per function");

    let documented = openapi_routes();
    let routed_paths: BTreeSet<(String, String)> = router.iter().map(|(m, p, _)| (m.clone(), p.clone())).collect();
    assert_eq!(routed_paths, documented, "routes vs docs/openapi.yaml paths");
}
