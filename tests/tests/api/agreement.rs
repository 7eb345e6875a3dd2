//! One route per route function, said the same way everywhere: the route functions in
//! `functions/` (see [`super::layout`] for the kinds), the local router (`Cargo.toml`),
//! the SAM template (`infra/template.yaml`) and the OpenAPI document
//! (`docs/openapi.yaml`) must name exactly the same (method, path, function) triples;
//! and the template starts every function crate the way its kind says.

use std::collections::{BTreeMap, BTreeSet};

use super::layout::{self, kind_of_event_type, repo, Kind};

type Routes = BTreeSet<(String, String, String)>;

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn quoted_after<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let rest = &line[line.find(key)? + key.len()..];
    let start = rest.find('"')? + 1;
    let end = start + rest[start..].find('"')?;
    Some(&rest[start..end])
}

/// `"/path" = [{ method = "GET", function = "name" }, ...]` lines of the router table:
/// one entry per method of the path.
fn router_routes() -> Routes {
    let cargo = read("Cargo.toml");
    let table = cargo
        .split("[workspace.metadata.lambda.watch.router]")
        .nth(1)
        .expect("a [workspace.metadata.lambda.watch.router] table in Cargo.toml");
    let mut routes = Routes::new();
    for line in table.lines().take_while(|l| !l.trim_start().starts_with('[')).filter(|l| l.starts_with('"')) {
        let path = line.split('"').nth(1).expect("a quoted path").to_owned();
        for entry in line.split("{ method").skip(1).map(|e| format!("method{e}")) {
            let method = quoted_after(&entry, "method").expect("a method").to_owned();
            let function = quoted_after(&entry, "function").expect("a function").to_owned();
            routes.insert((method, path.clone(), function));
        }
    }
    routes
}

/// The value of the first `name` line.
fn field<'a>(mut lines: impl Iterator<Item = &'a str>, name: &str) -> String {
    lines
        .find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_owned()))
        .unwrap_or_else(|| panic!("a function resource without {name}"))
}

/// Each function resource's `Binary:`, the kind of its first event (`Type:` under
/// `Events:`), and for a route its HttpApi event's `Method:` and `Path:`.
fn template_functions() -> (Routes, BTreeMap<String, Kind>, usize) {
    let template = read("infra/template.yaml");
    let mut routes = Routes::new();
    let mut kinds = BTreeMap::new();
    let resources = template.split("Type: AWS::Serverless::Function").skip(1).collect::<Vec<_>>();
    for resource in &resources {
        let binary = field(resource.lines(), "Binary:");
        let events = resource.lines().skip_while(|l| l.trim() != "Events:");
        let event_type = field(events.clone(), "Type:");
        let kind = kind_of_event_type(&event_type)
            .unwrap_or_else(|| panic!("{binary}: an event of type {event_type}, which no function kind has"));
        if kind == Kind::Route {
            routes.insert((field(events.clone(), "Method:").to_uppercase(), field(events, "Path:"), binary.clone()));
        }
        kinds.insert(binary, kind);
    }
    (routes, kinds, resources.len())
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

#[test]
fn router_template_and_openapi_name_the_same_routes() {
    let router = router_routes();
    let (template, template_kinds, resources) = template_functions();
    let functions = layout::functions();
    let route_functions: BTreeSet<String> =
        functions.iter().filter(|(_, kind)| **kind == Kind::Route).map(|(name, _)| name.clone()).collect();

    assert_eq!(router, template, "Cargo.toml router vs infra/template.yaml");
    assert_eq!(resources, functions.len(), "one function resource per function crate");
    assert_eq!(template_kinds, functions, "each function crate's kind vs its template event");
    let routed: BTreeSet<String> = router.iter().map(|(_, _, f)| f.clone()).collect();
    assert_eq!(routed, route_functions, "every route function is routed, and nothing else");
    assert_eq!(router.len(), route_functions.len(), "exactly one route per route function");

    let documented = openapi_routes();
    let routed_paths: BTreeSet<(String, String)> = router.iter().map(|(m, p, _)| (m.clone(), p.clone())).collect();
    assert_eq!(routed_paths, documented, "routes vs docs/openapi.yaml paths");
}
