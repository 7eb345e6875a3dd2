//! What a first deploy depends on and no local run exercises: every function's log group
//! declared in the stack with a retention, the access log carrying the Lambda request id,
//! the live stage refusing to deploy without India's SMS sender settings, and one SAM
//! configuration whose build and deploy name the same architecture per stage.

use std::collections::BTreeMap;

fn read(path: &str) -> String {
    std::fs::read_to_string(super::layout::repo().join(path)).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

/// The template's top-level resources: name -> body lines.
fn resources(template: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    let section = template.split("\nResources:\n").nth(1).unwrap_or_default();
    let section = section.split("\nOutputs:\n").next().unwrap_or_default();
    for line in section.lines() {
        let top = line.starts_with("  ") && !line.starts_with("   ") && line.trim_end().ends_with(':');
        if top && !line.trim_start().starts_with('#') {
            if let Some((name, body)) = current.take() {
                out.insert(name, body);
            }
            current = Some((line.trim().trim_end_matches(':').to_owned(), String::new()));
        } else if let Some((_, body)) = current.as_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    if let Some((name, body)) = current {
        out.insert(name, body);
    }
    out
}

/// A late log line cannot create a log group outside the stack: each function names its
/// own group, declared in the template with the stage's retention.
#[test]
fn every_function_logs_to_a_group_the_stack_declares_with_retention() {
    let template = read("infra/template.yaml");
    let resources = resources(&template);
    let functions: Vec<_> = resources.iter().filter(|(_, b)| b.contains("Type: AWS::Serverless::Function")).collect();
    assert_eq!(functions.len(), super::layout::functions().len(), "one function resource per function crate");
    for (name, body) in functions {
        let group = body
            .lines()
            .find_map(|l| l.trim().strip_prefix("LogGroup: !Ref "))
            .unwrap_or_else(|| panic!("{name}: no LoggingConfig LogGroup"));
        let declared = resources.get(group.trim()).unwrap_or_else(|| panic!("{name}: log group {group} not declared"));
        assert!(declared.contains("Type: AWS::Logs::LogGroup"), "{name}: {group} is not a log group");
        assert!(declared.contains("RetentionInDays: !Ref LogRetentionDays"), "{name}: {group} has no retention");
        assert!(declared.contains("LogGroupName: !Sub \"/loyalty/${Stage}/"), "{name}: {group} is not the stage's");
    }
}

/// A 5xx in the access log can be followed into the function's log: the line carries the
/// Lambda request id beside API Gateway's.
#[test]
fn the_access_log_carries_both_request_ids() {
    let template = read("infra/template.yaml");
    let format = template.split("AccessLogSettings:").nth(1).expect("the API has access logs");
    let format = format.split("\n\n").next().unwrap_or_default();
    for field in [
        r#""requestId":"$context.requestId""#,
        r#""integrationRequestId":"$context.integration.requestId""#,
        r#""status":"$context.status""#,
        r#""error":"$context.integrationErrorMessage""#,
    ] {
        assert!(format.contains(field), "the access log format lacks {field}");
    }
}

/// India's DLT rules: the live stage does not deploy without the entity, template and
/// sender ids (a CloudFormation rule), and the SMS function is given all three.
#[test]
fn the_live_stage_needs_the_sms_sender_settings() {
    let template = read("infra/template.yaml");
    let rules = template.split("\nRules:\n").nth(1).expect("a Rules section");
    let rules = rules.split("\nGlobals:\n").next().unwrap_or_default();
    let rule = rules.split("LiveSendsSmsToIndia:").nth(1).expect("the live stage's SMS rule");
    assert!(rule.contains("RuleCondition: !Equals [!Ref Stage, live]"), "{rule}");
    for parameter in ["SmsDltEntityId", "SmsDltTemplateId", "SmsSenderId"] {
        assert!(
            rule.contains(&format!("Assert: !Not [!Equals [!Ref {parameter}, \"\"]]")),
            "the live stage deploys without {parameter}"
        );
    }
    let otp = resources(&template).remove("PosOtpFunction").expect("the SMS function");
    for variable in ["LOYALTY_SMS_DLT_ENTITY_ID", "LOYALTY_SMS_DLT_TEMPLATE_ID", "LOYALTY_SMS_SENDER_ID"] {
        assert!(otp.contains(variable), "pos-otp is not given {variable}");
    }
}

/// One `samconfig.toml` for both stages, read by `sam build` and `sam deploy`: each
/// stage builds and deploys the same architecture and stage, and the deploy needs no
/// prompt (stack, capabilities, artifact bucket).
#[test]
fn build_and_deploy_read_one_configuration_per_stage() {
    let config: toml::Table = read("samconfig.toml").parse().expect("samconfig.toml is TOML");
    for stage in ["sandbox", "live"] {
        let section = |command: &str| -> &toml::Table {
            config
                .get(stage)
                .and_then(|s| s.get(command))
                .and_then(|c| c.get("parameters"))
                .and_then(toml::Value::as_table)
                .unwrap_or_else(|| panic!("samconfig.toml has no [{stage}.{command}.parameters]"))
        };
        let overrides = |command: &str| -> BTreeMap<String, String> {
            let text = section(command).get("parameter_overrides").and_then(toml::Value::as_str).unwrap_or_default();
            text.split_whitespace()
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        };
        let (build, deploy) = (overrides("build"), overrides("deploy"));
        assert_eq!(build.get("Stage").map(String::as_str), Some(stage), "{stage}: build");
        assert_eq!(deploy.get("Stage").map(String::as_str), Some(stage), "{stage}: deploy");
        assert!(build.contains_key("Architecture"), "{stage}: the build names its architecture");
        assert_eq!(build.get("Architecture"), deploy.get("Architecture"), "{stage}: build and deploy architectures");
        assert_eq!(section("build").get("template_file").and_then(toml::Value::as_str), Some("infra/template.yaml"));
        let deploy = section("deploy");
        let stack = format!("loyalty-{stage}");
        assert_eq!(deploy.get("stack_name").and_then(toml::Value::as_str), Some(stack.as_str()));
        assert_eq!(deploy.get("capabilities").and_then(toml::Value::as_str), Some("CAPABILITY_IAM"));
        assert_eq!(deploy.get("resolve_s3").and_then(toml::Value::as_bool), Some(true));
    }
}
