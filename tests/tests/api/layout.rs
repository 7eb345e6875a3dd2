//! The workspace's functions and what starts each one. A function crate says its kind in
//! its `Cargo.toml`; no kind is a route:
//!
//! ```toml
//! [package.metadata.loyalty]
//! kind = "stream"   # "route" (default), "stream" or "schedule"
//! ```
//!
//! - `route`: an HTTP route (`lambda_http`), started by API Gateway; routed in the
//!   workspace router, the template (`HttpApi` event) and the OpenAPI document; its
//!   sample events are API Gateway requests named `ok.json` / `error-STATUS.json`.
//! - `stream`: a DynamoDB stream consumer (`lambda_runtime` + `aws_lambda_events`); a
//!   `DynamoDB` event in the template; sample events are stream batches
//!   (`aws_lambda_events::event::dynamodb::Event`).
//! - `schedule`: a scheduled job (`lambda_runtime`); a `Schedule` / `ScheduleV2` event in
//!   the template; sample events are EventBridge scheduled events.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aws_lambda_events::event::dynamodb::Event as StreamEvent;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Route,
    Stream,
    Schedule,
}

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[derive(Deserialize)]
struct Manifest {
    package: Package,
}

#[derive(Deserialize)]
struct Package {
    #[serde(default)]
    metadata: Metadata,
}

#[derive(Deserialize, Default)]
struct Metadata {
    #[serde(default)]
    loyalty: Option<LoyaltyMetadata>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoyaltyMetadata {
    kind: Kind,
}

/// The kind a function crate's `Cargo.toml` declares (`route` when it declares none).
pub fn kind_of(manifest: &str) -> Result<Kind, String> {
    let manifest: Manifest = toml::from_str(manifest).map_err(|e| e.to_string())?;
    Ok(manifest.package.metadata.loyalty.map_or(Kind::Route, |m| m.kind))
}

/// Every crate under `functions/`, by directory name, with its kind.
pub fn functions() -> BTreeMap<String, Kind> {
    std::fs::read_dir(repo().join("functions"))
        .expect("functions/")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("Cargo.toml").exists())
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let manifest = std::fs::read_to_string(e.path().join("Cargo.toml")).expect("a readable Cargo.toml");
            let kind = kind_of(&manifest).unwrap_or_else(|e| panic!("functions/{name}/Cargo.toml: {e}"));
            (name, kind)
        })
        .collect()
}

/// The kind of a template event `Type:`.
pub fn kind_of_event_type(event_type: &str) -> Option<Kind> {
    match event_type {
        "HttpApi" => Some(Kind::Route),
        "DynamoDB" => Some(Kind::Stream),
        "Schedule" | "ScheduleV2" => Some(Kind::Schedule),
        _ => None,
    }
}

/// Whether `json` is a sample event a function of `kind` can be invoked with: parsed the
/// way its runtime parses it, and of the right shape (a stream batch has records, a
/// scheduled event is one).
pub fn check_sample_event(kind: Kind, json: &str) -> Result<(), String> {
    match kind {
        Kind::Route => {
            lambda_http::request::from_str(json).map(drop).map_err(|e| format!("not an API Gateway event: {e}"))
        }
        Kind::Stream => {
            let event: StreamEvent =
                serde_json::from_str(json).map_err(|e| format!("not a DynamoDB stream event: {e}"))?;
            if event.records.is_empty() {
                return Err("a DynamoDB stream event without records".into());
            }
            Ok(())
        }
        Kind::Schedule => {
            let event: EventBridgeEvent =
                serde_json::from_str(json).map_err(|e| format!("not an EventBridge event: {e}"))?;
            if event.detail_type != "Scheduled Event" || event.source != "aws.events" {
                return Err(format!(
                    "an EventBridge event, but not a scheduled one ({}, {})",
                    event.source, event.detail_type
                ));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PACKAGE: &str = "[package]\nname = \"f\"\nversion = \"0.1.0\"\n\n[dependencies]\nloyalty.workspace = true\n";

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(repo().join("tests/fixtures").join(name)).expect("a fixture")
    }

    #[test]
    fn a_crate_declares_its_kind_and_none_is_a_route() {
        assert_eq!(kind_of(PACKAGE), Ok(Kind::Route));
        assert_eq!(kind_of(&format!("{PACKAGE}\n[package.metadata.other]\nx = 1\n")), Ok(Kind::Route));
        for (kind, expected) in [("route", Kind::Route), ("stream", Kind::Stream), ("schedule", Kind::Schedule)] {
            let manifest = PACKAGE.replace(
                "\n\n[dependencies]",
                &format!("\n\n[package.metadata.loyalty]\nkind = \"{kind}\"\n\n[dependencies]"),
            );
            assert_eq!(kind_of(&manifest), Ok(expected), "{manifest}");
        }
        for wrong in ["kind = \"cron\"", "kind = \"Stream\"", "", "kind = \"stream\"\nextra = true"] {
            let manifest = format!("{PACKAGE}\n[package.metadata.loyalty]\n{wrong}\n");
            assert!(kind_of(&manifest).is_err(), "accepted {wrong:?}");
        }
    }

    #[test]
    fn the_template_event_types_map_to_kinds() {
        assert_eq!(kind_of_event_type("HttpApi"), Some(Kind::Route));
        assert_eq!(kind_of_event_type("DynamoDB"), Some(Kind::Stream));
        assert_eq!(kind_of_event_type("Schedule"), Some(Kind::Schedule));
        assert_eq!(kind_of_event_type("ScheduleV2"), Some(Kind::Schedule));
        assert_eq!(kind_of_event_type("Api"), None);
        assert_eq!(kind_of_event_type("SQS"), None);
    }

    #[test]
    fn each_kind_accepts_its_own_sample_event_and_no_other() {
        let api = std::fs::read_to_string(repo().join("events/pos-bill/ok.json")).expect("an API Gateway event");
        let samples = [
            (Kind::Route, api),
            (Kind::Stream, fixture("dynamodb-stream.json")),
            (Kind::Schedule, fixture("eventbridge-schedule.json")),
        ];
        for (shape, json) in &samples {
            for kind in [Kind::Route, Kind::Stream, Kind::Schedule] {
                let checked = check_sample_event(kind, json);
                assert_eq!(checked.is_ok(), kind == *shape, "a {shape:?} sample checked as {kind:?}: {checked:?}");
            }
        }
        assert!(check_sample_event(Kind::Stream, r#"{"Records": []}"#).is_err());
        let custom = fixture("eventbridge-schedule.json").replace("Scheduled Event", "Order Placed");
        assert!(check_sample_event(Kind::Schedule, &custom).is_err());
    }

    #[test]
    fn the_sample_stream_event_decodes_its_images() {
        let event: StreamEvent = serde_json::from_str(&fixture("dynamodb-stream.json")).expect("a stream event");
        let names: Vec<&str> = event.records.iter().map(|r| r.event_name.as_str()).collect();
        assert_eq!(names, ["INSERT", "MODIFY"]);
        assert!(event.records[1].change.old_image.get("points").is_some());
        assert!(event.records[1].change.new_image.get("points").is_some());
    }

    #[test]
    fn every_function_crate_declares_a_kind_this_test_knows() {
        let functions = functions();
        assert!(functions.len() >= 13, "{functions:?}");
        assert_eq!(functions.get("pos-bill"), Some(&Kind::Route));
    }
}
