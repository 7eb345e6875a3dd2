//! The program's rules through the management API (`GET /v1/admin/program`, `POST
//! /v1/admin/program/versions`): every rule validated with the field named, roles, the
//! `Idempotency-Key`, the `program.change` audit entry with the rules before and after,
//! history never rewritten, and sales priced by the version in force at their sale time.

use chrono::TimeDelta;
use loyalty::actor::Role;
use serde_json::{json, Value};

use super::console::{Admin, AdminCall};
use super::support::{Call, TestEnv};

fn change(env: &TestEnv, slug: &str, role: Role, body: Value) -> AdminCall {
    AdminCall::new(Admin::ProgramChange).as_(env, slug, role).json(&body)
}

fn tiers(second_min: i64) -> Value {
    json!([
        {"name": "Silver", "min_lifetime_points": 0, "multiplier_milli": 1000, "priority_service": false, "color": "#C0C0C0"},
        {"name": "Gold", "min_lifetime_points": second_min, "multiplier_milli": 1500, "priority_service": true, "color": "#FFD700"}
    ])
}

#[tokio::test]
async fn every_rule_is_validated_and_the_error_names_its_field() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let bonus =
        |category: &str, multiplier_milli: u32| json!({"category": category, "multiplier_milli": multiplier_milli});
    let past = (env.now() - TimeDelta::seconds(1)).to_rfc3339();
    let cases: Vec<(Value, &str)> = vec![
        (json!({"name": " "}), "name"),
        (json!({"points_name": "x".repeat(41)}), "points_name"),
        (json!({"earn_rate_milli": 4_000_000_000u64}), "earn_rate_milli"),
        (json!({"earn_rate_milli": "lots"}), "earn_rate_milli"),
        (json!({"redemption_rate": 0}), "redemption_rate"),
        (json!({"tiers": []}), "tiers"),
        (json!({"tiers": tiers(0)}), "tiers[1].min_lifetime_points"),
        (
            json!({"tiers": [{"name": "Silver", "min_lifetime_points": 5, "multiplier_milli": 1000, "priority_service": false}]}),
            "tiers[0].min_lifetime_points",
        ),
        (
            json!({"tiers": [{"name": "Silver", "min_lifetime_points": 0, "multiplier_milli": 999, "priority_service": false}]}),
            "tiers[0].multiplier_milli",
        ),
        (
            json!({"tiers": [{"name": "Silver", "min_lifetime_points": 0, "multiplier_milli": 1000, "priority_service": false, "color": "silver"}]}),
            "tiers[0].color",
        ),
        (
            json!({"tiers": [{"name": "Silver", "min_lifetime_points": 0, "multiplier_milli": 1000, "priority_service": false}, {"name": "SILVER", "min_lifetime_points": 10, "multiplier_milli": 1000, "priority_service": false}]}),
            "tiers[1].name",
        ),
        (
            json!({"category_bonuses": [bonus("Drinks", 2000), bonus("Food", 500)]}),
            "category_bonuses[1].multiplier_milli",
        ),
        (json!({"category_bonuses": [bonus("Drinks", 2000), bonus(" drinks", 1500)]}), "category_bonuses[1].category"),
        (json!({"voucher_validity_days": 0}), "voucher_validity_days"),
        (json!({"points_expiry_months": 121}), "points_expiry_months"),
        (json!({"tier_qualifying_months": 37}), "tier_qualifying_months"),
        (json!({"tier_grace_months": 2}), "tier_grace_months"),
        (json!({"otp_sms_per_hour": 0}), "otp_sms_per_hour"),
        (json!({"otp_sms_per_hour": 100, "otp_sms_per_day": 50}), "otp_sms_per_day"),
        (json!({"otp_wrong_guesses_per_day": 0}), "otp_wrong_guesses_per_day"),
        (json!({"utc_offset_minutes": 9999}), "utc_offset_minutes"),
        (json!({"currency": "USD"}), "currency"),
        (json!({"effective_from": past}), "effective_from"),
        (json!({"effective_from": "next tuesday"}), "effective_from"),
    ];
    for (body, field) in cases {
        let reply = change(&env, t.slug(), Role::Owner, body.clone()).send(&env.deps).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.text);
        assert_eq!(reply.body["error"]["field"], field, "{body}: {}", reply.text);
    }
    let shown = AdminCall::new(Admin::Program).as_(&env, t.slug(), Role::Owner).send(&env.deps).await;
    assert_eq!(shown.body["versions"].as_array().map(Vec::len), Some(1), "nothing was written: {}", shown.text);
}

#[tokio::test]
async fn managers_and_owners_change_the_rules_viewers_read_them() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let viewer = change(&env, t.slug(), Role::Viewer, json!({"earn_rate_milli": 150_000})).send(&env.deps).await;
    assert_eq!(viewer.status, 403, "{}", viewer.text);
    let read = AdminCall::new(Admin::Program).as_(&env, t.slug(), Role::Viewer).send(&env.deps).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.body["current"]["status"], "in_force");
    assert_eq!(read.body["current"]["effective_from"], Value::Null);
    assert_eq!(read.body["current"]["rules"]["points_expiry_months"], Value::Null, "shown when unset");
    let seconds = read.body["cache_seconds"].as_i64().expect("the cache's lifetime");

    let manager = change(&env, t.slug(), Role::Manager, json!({"earn_rate_milli": 150_000})).send(&env.deps).await;
    assert_eq!(manager.status, 201, "{}", manager.text);
    let from = (env.now() + TimeDelta::seconds(seconds)).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    assert_eq!(manager.body["version"]["effective_from"], json!(from), "by default once every cache has expired");
    assert_eq!(manager.body["version"]["status"], "upcoming");
    assert_eq!(manager.body["version"]["rules"]["earn_rate_milli"], 150_000);
    assert_eq!(manager.body["version"]["rules"]["tiers"], read.body["current"]["rules"]["tiers"], "kept");

    let owner =
        change(&env, t.slug(), Role::Owner, json!({"tiers": tiers(5_000), "effective_from": "2099-01-01T00:00:00Z"}))
            .send(&env.deps)
            .await;
    assert_eq!(owner.status, 201, "{}", owner.text);
    assert_eq!(owner.body["version"]["rules"]["earn_rate_milli"], 150_000, "starts from the rules in force then");

    let shown = AdminCall::new(Admin::Program).as_(&env, t.slug(), Role::Viewer).send(&env.deps).await;
    let statuses: Vec<&str> =
        shown.body["versions"].as_array().unwrap().iter().map(|v| v["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["upcoming", "upcoming", "in_force"], "newest first");
    assert_eq!(shown.body["upcoming"].as_array().map(Vec::len), Some(2));
    assert_eq!(shown.body["current"]["rules"]["earn_rate_milli"], 100_000, "not yet in force");

    // History only grows: not at or before the newest version.
    let between = change(&env, t.slug(), Role::Owner, json!({"name": "x", "effective_from": "2098-01-01T00:00:00Z"}))
        .send(&env.deps)
        .await;
    assert_eq!(
        (between.status, between.body["error"]["field"].as_str()),
        (400, Some("effective_from")),
        "{}",
        between.text
    );
    assert!(between.text.contains("must be later"), "{}", between.text);
}

#[tokio::test]
async fn a_change_is_audited_with_its_rules_before_and_after_and_done_once_per_key() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let body = json!({"earn_rate_milli": 120_000, "points_name": "Stars"});
    let call = change(&env, t.slug(), Role::Manager, body.clone()).header("Idempotency-Key", "rules-1");
    let first = call.send(&env.deps).await;
    assert_eq!(first.status, 201, "{}", first.text);
    env.advance(TimeDelta::seconds(5));
    let again = change(&env, t.slug(), Role::Manager, body).header("Idempotency-Key", "rules-1").send(&env.deps).await;
    assert_eq!((again.status, &again.body), (201, &first.body), "the first answer, nothing applied twice");
    let other = change(&env, t.slug(), Role::Manager, json!({"earn_rate_milli": 1_000}))
        .header("Idempotency-Key", "rules-1")
        .send(&env.deps)
        .await;
    assert_eq!(other.status, 409, "{}", other.text);

    let shown = AdminCall::new(Admin::Program).as_(&env, t.slug(), Role::Viewer).send(&env.deps).await;
    assert_eq!(shown.body["versions"].as_array().map(Vec::len), Some(2), "one version: {}", shown.text);
    let audit = AdminCall::new(Admin::Audit).as_(&env, t.slug(), Role::Viewer).send(&env.deps).await;
    let changes: Vec<&Value> =
        audit.body["entries"].as_array().unwrap().iter().filter(|e| e["action"] == "program.change").collect();
    assert_eq!(changes.len(), 1, "{}", audit.text);
    let entry = changes[0];
    assert_eq!(entry["who"], "manager@spice-garden.example");
    assert_eq!(entry["request_key"], "rules-1");
    assert_eq!(
        (&entry["before"]["earn_rate_milli"], &entry["after"]["earn_rate_milli"]),
        (&json!(100_000), &json!(120_000))
    );
    assert_eq!((&entry["before"]["points_name"], &entry["after"]["points_name"]), (&json!("Points"), &json!("Stars")));
}

#[tokio::test]
async fn a_sale_is_priced_by_the_version_in_force_at_its_sale_time() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await; // 100 points per ₹1
    let in_a_minute = (env.now() + TimeDelta::minutes(1)).to_rfc3339();
    let doubled =
        change(&env, t.slug(), Role::Manager, json!({"earn_rate_milli": 200_000, "effective_from": in_a_minute}))
            .send(&env.deps)
            .await;
    assert_eq!(doubled.status, 201, "{}", doubled.text);
    let bill = |reference: &str| {
        Call::bill(t.slug())
            .key(&t.live)
            .json(&json!({"mobile": "9876543210", "amount": 100, "external_ref": reference}))
    };
    bill("BEFORE").send(&env.fresh_deps()).await.assert_ok(&json!({"points_earned": 10_000}));
    env.advance(TimeDelta::minutes(1));
    bill("AFTER").send(&env.fresh_deps()).await.assert_ok(&json!({"points_earned": 20_000, "new_balance": 30_000}));
}
