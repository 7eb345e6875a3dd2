//! The sample events in `events/`, one directory per function crate. A route function
//! has a success and an error API Gateway event, and each one, parsed the way the Lambda
//! runtime parses it, gets the status its file name promises from its handler against
//! DynamoDB Local (on the demo data). A stream or scheduled function has sample events of
//! its kind's shape (see [`super::layout`]).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use lambda_http::{Body, Request, Response};
use loyalty::actor::{Actor, Role};
use loyalty::domain::TenantSlug;
use loyalty::keys::{Channel, KeyMode, Scope};
use loyalty::model::{CodeKind, Reward};
use loyalty::webhooks::endpoints::{self, NewEndpoint};
use loyalty::webhooks::guard::Policy;
use loyalty::Deps;

use super::layout::{self, check_sample_event, repo, Kind};
use super::support::TestEnv;

fn dirs(path: &Path) -> BTreeSet<String> {
    std::fs::read_dir(path)
        .expect("a readable directory")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

async fn invoke(function: &str, deps: &Deps, req: Request) -> Response<Body> {
    match function {
        "pos-customer" => Box::pin(pos_customer::handle(deps, req)).await,
        "pos-bill" => Box::pin(pos_bill::handle(deps, req)).await,
        "pos-coupon-redeem" => Box::pin(pos_coupon_redeem::handle(deps, req)).await,
        // Runs after pos-coupon-redeem (in name order): its ok.json reinstates the coupon
        // that route's ok.json used with the same key.
        "pos-coupon-reinstate" => Box::pin(pos_coupon_reinstate::handle(deps, req)).await,
        "pos-customer-transactions" => Box::pin(pos_customer_transactions::handle(deps, req)).await,
        "pos-otp" => Box::pin(pos_otp::handle(deps, req)).await,
        "pos-refund" => Box::pin(pos_refund::handle(deps, req)).await,
        "public-balance" => Box::pin(public_balance::handle(deps, req)).await,
        "public-earn" => Box::pin(public_earn::handle(deps, req)).await,
        "public-redeem" => Box::pin(public_redeem::handle(deps, req)).await,
        "public-rewards" => Box::pin(public_rewards::handle(deps, req)).await,
        "public-voucher-verify" => Box::pin(public_voucher_verify::handle(deps, req)).await,
        "public-transactions" => Box::pin(public_transactions::handle(deps, req)).await,
        "public-refund" => Box::pin(public_refund::handle(deps, req)).await,
        "admin-keys" => Box::pin(admin_keys::handle(deps, req)).await,
        "admin-key-issue" => Box::pin(admin_key_issue::handle(deps, req)).await,
        "admin-key-scopes" => Box::pin(admin_key_scopes::handle(deps, req)).await,
        "admin-key-revoke" => Box::pin(admin_key_revoke::handle(deps, req)).await,
        "admin-key-rotate" => Box::pin(admin_key_rotate::handle(deps, req)).await,
        "admin-rewards" => Box::pin(admin_rewards::handle(deps, req)).await,
        "admin-reward-add" => Box::pin(admin_reward_add::handle(deps, req)).await,
        "admin-reward-edit" => Box::pin(admin_reward_edit::handle(deps, req)).await,
        "admin-reward-archive" => Box::pin(admin_reward_archive::handle(deps, req)).await,
        "admin-members" => Box::pin(admin_members::handle(deps, req)).await,
        "admin-member" => Box::pin(admin_member::handle(deps, req)).await,
        "admin-member-history" => Box::pin(admin_member_history::handle(deps, req)).await,
        "admin-members-export" => Box::pin(admin_members_export::handle(deps, req)).await,
        "admin-members-import" => Box::pin(admin_members_import::handle(deps, req)).await,
        "admin-ledger-export" => Box::pin(admin_ledger_export::handle(deps, req)).await,
        "admin-member-adjust" => Box::pin(admin_member_adjust::handle(deps, req)).await,
        "admin-member-edit" => Box::pin(admin_member_edit::handle(deps, req)).await,
        "admin-member-erase" => Box::pin(admin_member_erase::handle(deps, req)).await,
        "admin-member-coupon" => Box::pin(admin_member_coupon::handle(deps, req)).await,
        "admin-audit" => Box::pin(admin_audit::handle(deps, req)).await,
        "admin-reports" => Box::pin(admin_reports::handle(deps, req)).await,
        "admin-webhooks" => Box::pin(admin_webhooks::handle(deps, req)).await,
        "admin-webhook-add" => Box::pin(admin_webhook_add::handle(deps, req)).await,
        "admin-webhook-rotate" => Box::pin(admin_webhook_rotate::handle(deps, req)).await,
        "admin-webhook-disable" => Box::pin(admin_webhook_disable::handle(deps, req)).await,
        "admin-webhook-enable" => Box::pin(admin_webhook_enable::handle(deps, req)).await,
        "admin-webhook-remove" => Box::pin(admin_webhook_remove::handle(deps, req)).await,
        "admin-webhook-test" => Box::pin(admin_webhook_test::handle(deps, req)).await,
        "admin-webhook-deliveries" => Box::pin(admin_webhook_deliveries::handle(deps, req)).await,
        "admin-webhook-replay" => Box::pin(admin_webhook_replay::handle(deps, req)).await,
        "admin-program" => Box::pin(admin_program::handle(deps, req)).await,
        "admin-program-change" => Box::pin(admin_program_change::handle(deps, req)).await,
        "admin-team" => Box::pin(admin_team::handle(deps, req)).await,
        "admin-team-invite" => Box::pin(admin_team_invite::handle(deps, req)).await,
        "admin-team-role" => Box::pin(admin_team_role::handle(deps, req)).await,
        "admin-team-remove" => Box::pin(admin_team_remove::handle(deps, req)).await,
        "admin-campaigns" => Box::pin(admin_campaigns::handle(deps, req)).await,
        "admin-campaign-create" => Box::pin(admin_campaign_create::handle(deps, req)).await,
        "admin-campaign" => Box::pin(admin_campaign::handle(deps, req)).await,
        "admin-campaign-run" => Box::pin(admin_campaign_run::handle(deps, req)).await,
        other => panic!("no handler for events/{other}: add it to this test"),
    }
}

/// The management routes that answer `201 Created`.
fn created(function: &str) -> bool {
    [
        "admin-key-issue",
        "admin-key-rotate",
        "admin-reward-add",
        "admin-member-adjust",
        "admin-member-coupon",
        "admin-webhook-add",
        "admin-webhook-rotate",
        "admin-program-change",
        "admin-team-invite",
        "admin-campaign-create",
    ]
    .contains(&function)
}

#[test]
fn every_function_has_sample_events_of_its_kind() {
    let functions = layout::functions();
    let events = dirs(&repo().join("events"));
    assert_eq!(functions.keys().cloned().collect::<BTreeSet<_>>(), events, "events/ has one directory per function");
    for (function, kind) in &functions {
        let dir = repo().join("events").join(function);
        let files: Vec<String> = std::fs::read_dir(&dir)
            .expect("an events directory")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(files.iter().all(|f| f.ends_with(".json")), "events/{function}/ holds only JSON events: {files:?}");
        if *kind == Kind::Route {
            assert!(files.iter().any(|f| f == "ok.json"), "events/{function}/ok.json");
            assert!(files.iter().any(|f| f.starts_with("error-")), "events/{function}/error-STATUS.json");
        } else {
            assert!(!files.is_empty(), "events/{function}/ has a sample {kind:?} event");
        }
        for file in &files {
            let json = std::fs::read_to_string(dir.join(file)).expect("a readable event");
            if let Err(e) = check_sample_event(*kind, &json) {
                panic!("events/{function}/{file} (a {kind:?} function): {e}");
            }
        }
    }
}

#[tokio::test]
async fn every_event_gets_the_status_its_name_promises() {
    let env = TestEnv::new().await;
    let seed = loyalty_admin::seed_demo(&env.deps).await.expect("the demo seed");
    let mut checked = 0;
    let functions = layout::functions();
    let routes = functions.iter().filter(|(_, kind)| **kind == Kind::Route).map(|(name, _)| name);
    for function in routes {
        let dir = repo().join("events").join(function);
        let mut files: Vec<PathBuf> =
            std::fs::read_dir(&dir).expect("an events directory").filter_map(|e| e.ok()).map(|e| e.path()).collect();
        files.sort();
        for file in files {
            let name = file.file_stem().and_then(|s| s.to_str()).expect("a file name").to_owned();
            if name == "ok" && function.starts_with("admin-team") {
                // A person lives in the user pool, not the table: the team's successes
                // are `team.rs`'s, on cognito-local.
                continue;
            }
            let expected: u16 = match name.as_str() {
                // A management route that makes something answers 201.
                "ok" if created(function) => 201,
                "ok" => 200,
                other => other.strip_prefix("error-").and_then(|s| s.parse().ok()).expect("ok or error-STATUS"),
            };
            let mut text = std::fs::read_to_string(&file)
                .expect("a readable event")
                .replace("{{OWNER_TOKEN}}", &super::console::token(&env, &seed.tenant, Role::Owner))
                .replace("{{CUSTOMER_ID}}", &seed.customer_id)
                .replace("{{LIVE_KEY}}", &seed.live_key)
                .replace("{{TEST_KEY}}", &seed.test_key)
                .replace("{{READ_ONLY_KEY}}", &seed.read_only_key)
                .replace("{{APP_KEY}}", &seed.app_key);
            if text.contains("{{SPARE_KEY_ID}}") {
                // A key of its own for each event that changes one.
                let tenant = TenantSlug::parse(&seed.tenant).unwrap();
                let spare = loyalty_admin::issue_key(
                    &env.deps,
                    &tenant,
                    KeyMode::Live,
                    Channel::Pos,
                    vec![Scope::ReadCustomers],
                    "spare",
                )
                .await
                .unwrap();
                text = text.replace("{{SPARE_KEY_ID}}", &spare.record.key_id);
            }
            if text.contains("{{SPARE_REWARD_ID}}") {
                // A reward of its own for each event that changes one.
                let tenant = TenantSlug::parse(&seed.tenant).unwrap();
                let reward = Reward {
                    public_id: format!("rwd-spare-{checked}"),
                    name: "Spare".into(),
                    description: String::new(),
                    points_cost: 100,
                    kind: CodeKind::Service,
                    value_minor: 0,
                    discount_percent: None,
                    active: true,
                };
                loyalty_admin::add_reward(&env.deps, &tenant, &reward).await.unwrap();
                text = text.replace("{{SPARE_REWARD_ID}}", &reward.public_id);
            }
            if text.contains("{{SPARE_ENDPOINT_ID}}") {
                // A webhook endpoint of its own for each event that names one.
                let tenant = TenantSlug::parse(&seed.tenant).unwrap();
                let spec = NewEndpoint { url: "https://crm.example.com/hooks".into(), event_types: Vec::new() };
                let added =
                    endpoints::add_endpoint(&env.deps, &Actor::operator(tenant), &Policy::default(), &spec, None)
                        .await
                        .unwrap();
                text = text.replace("{{SPARE_ENDPOINT_ID}}", &added.endpoint.endpoint_id);
            }
            if text.contains("{{SPARE_CAMPAIGN_ID}}") {
                // A campaign of its own for each event that names one.
                let tenant = TenantSlug::parse(&seed.tenant).unwrap();
                let new = loyalty::manage::NewCampaign {
                    name: "Spare".into(),
                    value_minor: Some(10_000),
                    percent: None,
                    expires: chrono::NaiveDate::from_ymd_opt(2027, 12, 31).unwrap(),
                    mobiles: "9876543210\n9000000001".into(),
                    tier: None,
                };
                let made =
                    loyalty::manage::create_campaign(&env.deps, &Actor::operator(tenant), &new, None).await.unwrap();
                text = text.replace("{{SPARE_CAMPAIGN_ID}}", &made.campaign_id);
            }
            if text.contains("{{SPARE_CUSTOMER_ID}}") {
                // A member of its own for each event that erases one.
                let bill = super::support::Call::bill(&seed.tenant)
                    .key(&seed.live_key)
                    .json(&serde_json::json!({"mobile": format!("9{:09}", 700_000 + checked), "name": "Spare", "amount": 10}))
                    .send(&env.deps)
                    .await;
                assert_eq!(bill.status, 200, "{}", bill.text);
                text = text.replace("{{SPARE_CUSTOMER_ID}}", bill.str("customer_id"));
            }
            let req = lambda_http::request::from_str(&text).expect("an API Gateway event the runtime can parse");
            let resp = invoke(function, &env.deps, req).await;
            let body = match resp.body() {
                Body::Text(t) => t.clone(),
                _ => String::new(),
            };
            assert_eq!(resp.status().as_u16(), expected, "events/{function}/{name}.json answered {body}");
            let csv = resp.headers().get("content-type").is_some_and(|v| v.as_bytes().starts_with(b"text/csv"));
            if csv {
                // An export's page: CSV with its header row.
                assert!(body.starts_with("customer_id,"), "events/{function}/{name}.json: {body}");
            } else {
                let json: serde_json::Value = serde_json::from_str(&body).expect("a JSON body");
                assert!(json.is_object(), "events/{function}/{name}.json: {body}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 77, "checked {checked} events");
}
