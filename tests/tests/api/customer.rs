//! `GET /api/{tenant}/pos/customer`: lookup, enrolment, normalisation, coupons.

use aws_sdk_dynamodb::operation::query::QueryOutput;
use loyalty::domain::{Code, Mobile, Money};
use loyalty::store::Store;
use loyalty::Deps;
use loyalty_admin::{self as admin, CouponSpec};
use serde_json::json;

use super::support::{date, instant, today, Call, TestEnv};

#[tokio::test]
async fn a_known_member_has_the_documented_fields() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let ravi = env.seed_member(&t, "9876543210", "Ravi Kumar", "34").await;
    assert_eq!(ravi.balance, 3400);
    let coupon = env.issue_coupon(&t, "9876543210", "200", date(2026, 12, 31), Some("COUP-XY12")).await;

    let reply = env.lookup(&t, "9876543210").await;

    reply.assert_ok(&json!({
        "found": true,
        "customer": {
            "customer_id": ravi.customer_id,
            "name": "Ravi Kumar",
            "mobile": "9876543210",
            "points_balance": 3400,
            "segment": "regular"
        },
        "points_balance": 3400,
        "redeemable_value": 34,
        "redemption_rate": 100,
        "tier": "Silver",
        "priority_service": false,
        "active_coupons": [{
            "coupon_id": coupon.coupon_id.to_string(),
            "code": "COUP-XY12",
            "value": 200,
            "source": "campaign",
            "expiry_date": "2026-12-31"
        }]
    }));
    assert_eq!(reply.body.get("sandbox"), None, "live answers carry no sandbox flag");
}

#[tokio::test]
async fn an_unknown_mobile_without_create_is_found_false() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let before = env.scan().await;

    let reply = env.lookup(&t, "9876543210").await;

    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body, json!({ "found": false, "mobile": "9876543210" }));
    assert_eq!(env.scan().await, before, "a lookup without create writes nothing");

    // create=false is the same as leaving it out.
    let reply = Call::customer(t.slug())
        .key(&t.live)
        .query("mobile", "9876543210")
        .query("create", "false")
        .send(&env.deps)
        .await;
    assert_eq!((reply.status, reply.body), (200, json!({ "found": false, "mobile": "9876543210" })));
}

#[tokio::test]
async fn create_true_enrols_once_and_a_second_lookup_finds_the_same_member() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;

    let first = Call::customer(t.slug())
        .key(&t.live)
        .query("mobile", "9876543210")
        .query("create", "true")
        .query("name", "Ravi")
        .send(&env.deps)
        .await;
    first.assert_ok(&json!({
        "found": true,
        "customer": {
            "name": "Ravi",
            "mobile": "9876543210",
            "points_balance": 0,
            "segment": "regular"
        },
        "points_balance": 0,
        "redeemable_value": 0,
        "redemption_rate": 100,
        "tier": "Silver",
        "priority_service": false,
        "active_coupons": []
    }));
    let id = first.body["customer"]["customer_id"].as_str().expect("customer_id").to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "customer_id {id} is a UUID");

    // A second create=true (another till, another name) finds the same member.
    let again = Call::customer(t.slug())
        .key(&t.live)
        .query("mobile", "9876543210")
        .query("create", "true")
        .query("name", "Someone Else")
        .send(&env.deps)
        .await;
    again.assert_ok(&json!({
        "found": true,
        "customer": { "customer_id": id, "name": "Ravi" }
    }));

    let plain = env.lookup(&t, "9876543210").await;
    plain.assert_ok(&json!({
        "found": true,
        "customer": { "customer_id": id, "name": "Ravi", "points_balance": 0 }
    }));
    let profiles = env.member_count().await;
    assert_eq!(profiles, 1, "exactly one member was enrolled");
}

#[tokio::test]
async fn mobile_spellings_find_the_same_member() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let ravi = env.seed_member(&t, "9876543210", "Ravi Kumar", "10").await;

    for spelling in ["+91 98765-43210", "+919876543210", "09876543210", "98765 43210", " 9876543210 "] {
        let reply = env.lookup(&t, spelling).await;
        reply.assert_ok(&json!({
            "found": true,
            "customer": { "customer_id": ravi.customer_id, "mobile": "9876543210" },
            "points_balance": 1000
        }));
    }

    // Enrolling with one spelling and looking up with another is one member too.
    let enrolled = Call::customer(t.slug())
        .key(&t.live)
        .query("mobile", "+91 91234-56789")
        .query("create", "true")
        .send(&env.deps)
        .await;
    enrolled.assert_ok(&json!({ "found": true, "customer": { "mobile": "9123456789" } }));
    let found = env.lookup(&t, "9123456789").await;
    found.assert_ok(&json!({
        "found": true,
        "customer": { "customer_id": enrolled.body["customer"]["customer_id"].clone() }
    }));

    // The not-found answer echoes the normalised number.
    let missing = env.lookup(&t, "+91 99999-00000").await;
    assert_eq!((missing.status, missing.body), (200, json!({ "found": false, "mobile": "9999900000" })));
}

#[tokio::test]
async fn a_missing_or_invalid_mobile_is_400() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let before = env.scan().await;

    let missing = Call::customer(t.slug()).key(&t.live).send(&env.deps).await;
    missing.assert_error(400, "mobile is required");

    let empty = env.lookup(&t, "  ").await;
    empty.assert_error(400, "mobile is required");

    for bad in ["12345", "98765432101", "+1 98765", "+0 9876543210", "98765abc10", "0000000000"] {
        let reply =
            Call::customer(t.slug()).key(&t.live).query("mobile", bad).query("create", "true").send(&env.deps).await;
        reply.assert_error(
            400,
            "mobile must be a 10-digit mobile number, or + and the country code (8 to 15 digits in all)",
        );
    }
    assert_eq!(env.scan().await, before, "refused lookups write nothing");
}

#[tokio::test]
async fn a_bad_create_value_is_400() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let before = env.scan().await;

    for bad in ["maybe", "2", "truthy"] {
        let reply = Call::customer(t.slug())
            .key(&t.live)
            .query("mobile", "9876543210")
            .query("create", bad)
            .send(&env.deps)
            .await;
        reply.assert_error(400, "create must be true or false");
    }
    assert_eq!(env.scan().await, before, "nothing was enrolled");
}

#[tokio::test]
async fn active_coupons_leave_out_used_and_expired_ones() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.seed_member(&t, "9876543210", "Ravi Kumar", "10").await;
    let later = env.issue_coupon(&t, "9876543210", "200", date(2026, 12, 31), Some("COUP-LATER")).await;
    let soon = env.issue_coupon(&t, "9876543210", "75.5", today(), Some("COUP-TODAY")).await;
    env.issue_coupon(&t, "9876543210", "50", date(2026, 3, 14), Some("COUP-EXPIRED")).await;
    env.issue_coupon(&t, "9876543210", "100", date(2026, 12, 31), Some("COUP-USED")).await;
    env.redeem(&t, &t.live, "COUP-USED").await.assert_ok(&json!({ "valid": true }));
    // Another member's coupon is not this member's.
    env.seed_member(&t, "9123456789", "Asha", "10").await;
    env.issue_coupon(&t, "9123456789", "300", date(2026, 12, 31), Some("COUP-ASHA")).await;

    let reply = env.lookup(&t, "9876543210").await;

    reply.assert_ok(&json!({
        "found": true,
        "active_coupons": [
            {
                "coupon_id": soon.coupon_id.to_string(),
                "code": "COUP-TODAY",
                "value": 75.5,
                "source": "campaign",
                "expiry_date": "2026-03-15"
            },
            {
                "coupon_id": later.coupon_id.to_string(),
                "code": "COUP-LATER",
                "value": 200,
                "source": "campaign",
                "expiry_date": "2026-12-31"
            }
        ]
    }));

    // At the end of its last day (midnight IST) the day's coupon drops out too.
    env.clock.set(instant("2026-03-15T18:30:00Z"));
    let reply = env.lookup(&t, "9876543210").await;
    reply.assert_ok(&json!({ "active_coupons": [{ "code": "COUP-LATER" }] }));
}

#[tokio::test]
async fn redeemable_value_is_the_balance_over_the_redemption_rate() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.seed_member(&t, "9876543210", "Ravi Kumar", "34.50").await;
    let reply = env.lookup(&t, "9876543210").await;
    reply.assert_ok(&json!({
        "points_balance": 3450,
        "redemption_rate": 100,
        "redeemable_value": 34.5
    }));
    assert!(reply.text.contains(r#""redeemable_value":34.5,"#), "money is written as an exact decimal: {}", reply.text);

    // A program where 3 points buy ₹1 off: 10 points are worth ₹3.33 (rounded down).
    let mut program = loyalty_admin::demo_program();
    program.redemption_rate = 3;
    let other = env.tenant_with("three-rate", &program).await;
    env.seed_member(&other, "9876543210", "Ravi Kumar", "0.10").await;
    let reply = env.lookup(&other, "9876543210").await;
    reply.assert_ok(&json!({
        "points_balance": 10,
        "redemption_rate": 3,
        "redeemable_value": 3.33
    }));
}

/// Counts the items every `Query` reads (its `ScannedCount`), whichever call sends it.
#[derive(Debug, Clone, Default)]
struct QueryReads(std::sync::Arc<std::sync::atomic::AtomicI64>);

impl QueryReads {
    fn total(&self) -> i64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl aws_sdk_dynamodb::config::Intercept for QueryReads {
    fn name(&self) -> &'static str {
        "QueryReads"
    }

    fn read_after_deserialization(
        &self,
        context: &aws_sdk_dynamodb::config::interceptors::AfterDeserializationInterceptorContextRef<'_>,
        _components: &aws_sdk_dynamodb::config::RuntimeComponents,
        _cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let out = context.output_or_error().ok().and_then(|o| o.downcast_ref::<QueryOutput>());
        if let Some(out) = out {
            self.0.fetch_add(i64::from(out.scanned_count()), std::sync::atomic::Ordering::SeqCst);
        }
        Ok(())
    }
}

#[tokio::test]
async fn the_lookup_reads_only_unexpired_codes_however_many_have_expired() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.seed_member(&t, "9876543210", "Ravi Kumar", "10").await;
    // 500 codes that expired unused over the past months, a few that have not.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..500u32 {
        let deps = env.deps.clone();
        let slug = t.slug.clone();
        tasks.spawn(async move {
            let spec = CouponSpec {
                mobile: Mobile::parse("9876543210").unwrap(),
                value: Some(Money::parse("10").unwrap()),
                percent: None,
                expires: date(2026, 3, 14) - chrono::Duration::days(i64::from(i % 60)),
                code: Some(Code::parse(&format!("OLD-{i:03}")).unwrap()),
                source: "campaign".into(),
            };
            admin::issue_coupon(&deps, &slug, spec).await.expect("issue an old coupon");
        });
        if tasks.len() >= 25 {
            tasks.join_next().await.expect("a task").expect("issuing did not panic");
        }
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("issuing did not panic");
    }
    env.issue_coupon(&t, "9876543210", "200", date(2026, 12, 31), Some("COUP-LATER")).await;
    env.issue_coupon(&t, "9876543210", "75.5", today(), Some("COUP-TODAY")).await;
    env.issue_coupon(&t, "9876543210", "100", date(2026, 6, 30), Some("COUP-JUNE")).await;
    let reads = QueryReads::default();
    let client =
        aws_sdk_dynamodb::Client::from_conf(env.client.config().to_builder().interceptor(reads.clone()).build());
    let deps = Deps::new(Store::new(client, env.table.clone()), env.clock.clone());
    // A warm function's program (its cold read is a Query too, of the program's versions).
    let versions = env.store.get_program_versions(&t.slug).await.unwrap().unwrap();
    deps.programs.insert(t.slug().to_owned(), std::sync::Arc::new(versions));

    let reply = Call::customer(t.slug()).key(&t.live).query("mobile", "9876543210").send(&deps).await;

    reply.assert_ok(&json!({
        "found": true,
        "active_coupons": [{ "code": "COUP-TODAY" }, { "code": "COUP-JUNE" }, { "code": "COUP-LATER" }]
    }));
    assert_eq!(reads.total(), 3, "the lookup read the three unexpired codes and none of the 500 expired ones");
    // An expired code is still there to say so.
    env.redeem(&t, &t.live, "OLD-000").await.assert_error(400, "Coupon expired");
    env.redeem(&t, &t.live, "OLD-499").await.assert_error(400, "Coupon expired");
    let verified = Call::verify("OLD-123").key(&t.live).send(&env.deps).await;
    verified.assert_success(&json!({ "valid": false, "status": "expired" }));
}
