//! Program lifecycle: versions of a program's rules over time (`loyalty-admin program
//! show|set`), bills posted late (`sold_at` / `soldAt`) priced by the version in force
//! at their sale time, and the tenant index.

use chrono::TimeDelta;
use loyalty::domain::TenantSlug;
use loyalty::program::tier;
use loyalty_admin::settings::{self, PointsExpiry, ProgramChange};
use loyalty_admin::AdminError;
use serde_json::json;

use super::support::{attr_n, instant, Call, Item, Route, TestEnv};

const EMAIL: &str = "late@example.com";

fn attr<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

fn double_from(at: &str) -> ProgramChange {
    ProgramChange { earn_rate: Some(200_000), effective_from: Some(instant(at)), ..ProgramChange::default() }
}

#[tokio::test]
async fn a_change_applies_from_its_instant_and_a_late_bill_earns_by_the_rules_of_its_sale_time() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await; // 100 points per ₹1
    let version = settings::set_program(&env.deps, &t.slug, &double_from("2026-04-01T00:00:00+05:30")).await.unwrap();
    assert_eq!(version.effective_from, Some(instant("2026-03-31T18:30:00Z")));

    // Before its instant, a change scheduled for April does not apply.
    let cold = env.fresh_deps();
    let bill = |body| Call::bill(t.slug()).key(&t.live).json(&body);
    bill(json!({ "mobile": "9876543210", "amount": 100, "external_ref": "MARCH-1" }))
        .send(&cold)
        .await
        .assert_ok(&json!({ "points_earned": 10_000, "new_balance": 10_000 }));

    // In April the new rate applies; a bill sold on 31 March and posted in April earns by
    // March's rate, in both dialects.
    env.clock.set(instant("2026-04-02T12:00:00+05:30"));
    bill(json!({ "mobile": "9876543210", "amount": 100, "external_ref": "APRIL-1" }))
        .send(&cold)
        .await
        .assert_ok(&json!({ "points_earned": 20_000, "new_balance": 30_000 }));
    let late = bill(json!({
        "mobile": "9876543210", "amount": 100, "external_ref": "MARCH-LATE", "sold_at": "2026-03-31T23:59:59+05:30"
    }))
    .send(&cold)
    .await;
    late.assert_ok(&json!({ "points_earned": 10_000, "new_balance": 40_000 }));
    Call::public(Route::Earn)
        .key(&t.live)
        .json(&json!({ "email": EMAIL, "amount": 100, "reference": "ORD-LATE", "soldAt": "2026-03-31T18:29:59Z" }))
        .send(&cold)
        .await
        .assert_success(&json!({ "pointsEarned": 10_000 }));
    Call::public(Route::Earn)
        .key(&t.live)
        .json(&json!({ "email": EMAIL, "amount": 100, "reference": "ORD-APRIL", "soldAt": "2026-03-31T18:30:00Z" }))
        .send(&cold)
        .await
        .assert_success(&json!({ "pointsEarned": 20_000 }));

    // The entry is written now (history's order) and records the sale time; so does the
    // purchase a refund works from.
    let ledger = env.ledger(late.str("customer_id")).await;
    let entry = ledger.iter().find(|e| attr(e, "reference") == Some("MARCH-LATE")).expect("the late entry");
    assert_eq!(attr(entry, "sold_at"), Some("2026-03-31T18:29:59.000Z"));
    assert_eq!(attr(entry, "created_at"), Some("2026-04-02T06:30:00.000Z"));
    assert_eq!(attr_n(entry, "points"), 10_000);
    let on_time = ledger.iter().find(|e| attr(e, "reference") == Some("APRIL-1")).expect("the April entry");
    assert_eq!(attr(on_time, "sold_at"), None, "a bill without a sale time records none");
    let purchase = env
        .scan()
        .await
        .into_iter()
        .find(|i| attr(i, "SK") == Some("SALE") && attr(i, "reference") == Some("MARCH-LATE"))
        .expect("the purchase");
    assert_eq!(attr(&purchase, "sold_at"), Some("2026-03-31T18:29:59.000Z"));
}

#[tokio::test]
async fn history_is_never_rewritten() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let original = env.store.get_program(&t.slug).await.unwrap().unwrap();
    settings::set_program(&env.deps, &t.slug, &double_from("2026-04-01T00:00:00Z")).await.unwrap();

    let refused = |change: ProgramChange| {
        let deps = env.deps.clone();
        let slug = t.slug.clone();
        async move {
            match settings::set_program(&deps, &slug, &change).await {
                Err(AdminError::Invalid(message)) => message,
                other => panic!("expected a refusal, got {other:?}"),
            }
        }
    };
    // Not in the past, not at or before a version already written.
    let past = refused(double_from("2026-03-15T06:29:59Z")).await;
    assert!(past.contains("in the past"), "{past}");
    let same = refused(double_from("2026-04-01T00:00:00Z")).await;
    assert!(same.contains("must be later"), "{same}");
    let between = refused(double_from("2026-03-20T00:00:00Z")).await;
    assert!(between.contains("must be later"), "{between}");

    // The default start waits out the program cache's lifetime; a later change starts
    // from the rules in force at its instant (April's rate kept, the redemption rate
    // changed).
    env.clock.set(instant("2026-04-05T00:00:00Z"));
    let change = ProgramChange { redemption_rate: Some(50), ..ProgramChange::default() };
    let later = settings::set_program(&env.deps, &t.slug, &change).await.unwrap();
    let lifetime = TimeDelta::from_std(env.deps.cache_lifetimes().programs).unwrap();
    assert_eq!(later.effective_from, Some(instant("2026-04-05T00:00:00Z") + lifetime));
    assert_eq!((later.rules.earn_rate_milli, later.rules.redemption_rate), (200_000, 50));

    let versions = settings::program_versions(&env.deps, &t.slug).await.unwrap();
    let shown = settings::versions_json(&t.slug, &versions, env.now());
    let rates: Vec<_> =
        shown["versions"].as_array().unwrap().iter().map(|v| v["rules"]["earn_rate_milli"].clone()).collect();
    assert_eq!(rates, vec![json!(100_000), json!(200_000), json!(200_000)]);
    assert_eq!(shown["versions"][0]["effective_from"], json!(null), "the rules the tenant was created with");
    assert_eq!(shown["current"]["effective_from"], json!("2026-04-01T00:00:00.000Z"), "the last is not yet in force");
    assert_eq!(env.store.get_program(&t.slug).await.unwrap().unwrap(), original, "the first rules are untouched");
}

#[tokio::test]
async fn every_rule_program_set_takes_is_validated() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let at = Some(instant("2026-04-01T00:00:00Z"));
    let change = ProgramChange { effective_from: at, ..ProgramChange::default() };
    let cases: Vec<(ProgramChange, &str)> = vec![
        (ProgramChange { name: Some(" ".into()), ..change.clone() }, "name must be"),
        (ProgramChange { points_name: Some("x".repeat(41)), ..change.clone() }, "points_name must be"),
        (ProgramChange { earn_rate: Some(u32::MAX), ..change.clone() }, "the earn rate at most"),
        (ProgramChange { redemption_rate: Some(0), ..change.clone() }, "redemption rate must be at least 1"),
        (ProgramChange { tiers: Some(vec![]), ..change.clone() }, "at least one tier"),
        (
            ProgramChange {
                tiers: Some(vec![tier("Silver", 0, 1000, false, ""), tier("Gold", 0, 1500, false, "")]),
                ..change.clone()
            },
            "increasing order",
        ),
        (ProgramChange { tiers: Some(vec![tier("Silver", 0, 999, false, "")]), ..change.clone() }, "at least 1"),
        (ProgramChange { tiers: Some(vec![tier("Silver", 0, 1000, false, "gold")]), ..change.clone() }, "#RRGGBB"),
        (
            ProgramChange {
                category_bonuses: Some(vec![loyalty::program::CategoryBonus {
                    category: "beverages".into(),
                    multiplier_milli: 100_001,
                }]),
                ..change.clone()
            },
            "multipliers may be at most 100",
        ),
        (ProgramChange { utc_offset_minutes: Some(900), ..change.clone() }, "utc_offset_minutes"),
        (ProgramChange { voucher_validity_days: Some(0), ..change.clone() }, "voucher_validity_days"),
        (ProgramChange { otp_sms_per_hour: Some(0), ..change.clone() }, "OTP limits"),
        (ProgramChange { otp_sms_per_day: Some(1), ..change.clone() }, "OTP limits"),
        (ProgramChange { otp_wrong_guesses_per_day: Some(10_000_001), ..change.clone() }, "OTP limits"),
        (ProgramChange { points_expiry_months: Some(PointsExpiry(Some(0))), ..change.clone() }, "points_expiry_months"),
        (
            ProgramChange { points_expiry_months: Some(PointsExpiry(Some(121))), ..change.clone() },
            "points_expiry_months",
        ),
    ];
    for (i, (change, expected)) in cases.into_iter().enumerate() {
        match settings::set_program(&env.deps, &t.slug, &change).await {
            Err(AdminError::Invalid(message)) => assert!(message.contains(expected), "case {i}: {message}"),
            other => panic!("case {i}: expected a refusal, got {other:?}"),
        }
    }
    let versions = settings::program_versions(&env.deps, &t.slug).await.unwrap();
    assert_eq!(versions.versions().count(), 1, "no refused change was written");
    let unknown = TenantSlug::parse("nobody").unwrap();
    assert!(matches!(settings::set_program(&env.deps, &unknown, &change).await, Err(AdminError::NotFound(_))));
}

#[tokio::test]
async fn a_sale_time_out_of_bounds_is_a_400_naming_the_field_in_each_dialect() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let now = env.now();
    let text = |at: chrono::DateTime<chrono::Utc>| at.to_rfc3339();
    let ahead = text(now + TimeDelta::minutes(5) + TimeDelta::seconds(1));
    let behind = text(now - TimeDelta::days(30) - TimeDelta::seconds(1));
    let future = "must not be more than 5 minutes in the future";
    let past = "must not be more than 30 days in the past";
    let format = "must be an RFC 3339 date and time such as 2026-03-15T12:00:00+05:30";
    let members = env.member_count().await;
    for (sold_at, message) in
        [(ahead.as_str(), future), (behind.as_str(), past), ("2026-03-15", format), ("yesterday", format)]
    {
        env.bill(&t, json!({ "mobile": "9876543210", "amount": 100, "sold_at": sold_at }))
            .await
            .assert_error(400, &format!("sold_at {message}"));
        Call::public(Route::Earn)
            .key(&t.live)
            .json(&json!({ "email": EMAIL, "amount": 100, "soldAt": sold_at }))
            .send(&env.deps)
            .await
            .assert_public_error(400, "invalid_request", &format!("soldAt {message}"));
    }
    assert_eq!(env.member_count().await, members, "a refused sale time writes nothing");

    // A refusal comes before the Idempotency-Key is claimed: the corrected request
    // under the same key goes through.
    let with_key = |body| Call::bill(t.slug()).key(&t.live).header("idempotency-key", "late-1").json(&body);
    with_key(json!({ "mobile": "9876543210", "amount": 100, "sold_at": ahead }))
        .send(&env.deps)
        .await
        .assert_error(400, &format!("sold_at {future}"));
    // Both ends are inside the bounds.
    let edge_ahead = text(now + TimeDelta::minutes(5));
    with_key(json!({ "mobile": "9876543210", "amount": 100, "sold_at": edge_ahead }))
        .send(&env.deps)
        .await
        .assert_ok(&json!({ "points_earned": 10_000 }));
    let edge_behind = text(now - TimeDelta::days(30));
    Call::public(Route::Earn)
        .key(&t.live)
        .json(&json!({ "email": EMAIL, "amount": 100, "soldAt": edge_behind }))
        .send(&env.deps)
        .await
        .assert_success(&json!({ "pointsEarned": 10_000 }));
}

#[tokio::test]
async fn the_tenant_index_lists_every_tenant_without_a_scan() {
    let env = TestEnv::new().await;
    assert!(settings::list_tenants(&env.deps).await.unwrap().is_empty());
    let spice = env.tenant("spice-garden").await;
    env.tenant("acme").await;
    // Creating again leaves the rules alone and lists the tenant once.
    let again = loyalty_admin::create_tenant(&env.deps, &spice.slug, &loyalty_admin::demo_program()).await.unwrap();
    assert!(!again);
    let listed = settings::list_tenants(&env.deps).await.unwrap();
    let names: Vec<_> = listed.iter().map(|e| (e.tenant.as_str(), e.name.as_str())).collect();
    assert_eq!(names, vec![("acme", "Spice Garden"), ("spice-garden", "Spice Garden")]);
    assert_eq!(listed[0].created_at, env.now());

    // A new name is listed; the first listing's time is kept.
    env.clock.set(instant("2026-03-16T00:00:00Z"));
    let rename = ProgramChange { name: Some("Spice Garden Cafe".into()), ..ProgramChange::default() };
    settings::set_program(&env.deps, &spice.slug, &rename).await.unwrap();
    let listed = settings::list_tenants(&env.deps).await.unwrap();
    assert_eq!((listed[1].name.as_str(), listed[1].created_at), ("Spice Garden Cafe", instant("2026-03-15T06:30:00Z")));
}
