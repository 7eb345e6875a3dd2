//! Sandbox keys (`mg_test_...`): real answers from real data, and not one byte written.

use serde_json::json;

use super::support::{date, Call, Route, TestEnv};

#[tokio::test]
async fn a_sandbox_lookup_with_create_enrols_nobody() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let before = env.scan().await;
    let create = Call::customer(t.slug())
        .key(&t.test)
        .query("mobile", "9876543210")
        .query("create", "true")
        .query("name", "Ravi");

    let reply = create.send(&env.deps).await;

    reply.assert_ok(&json!({
        "found": true,
        "sandbox": true,
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
    assert_eq!(env.scan().await, before, "the table is unchanged");

    let again = Call::customer(t.slug()).key(&t.test).query("mobile", "9876543210").send(&env.deps).await;
    assert_eq!((again.status, again.body), (200, json!({ "found": false, "mobile": "9876543210", "sandbox": true })));
    let live = env.lookup(&t, "9876543210").await;
    assert_eq!(live.body, json!({ "found": false, "mobile": "9876543210" }));
}

#[tokio::test]
async fn a_sandbox_lookup_reads_real_data() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let ravi = env.seed_member(&t, "9876543210", "Ravi Kumar", "34").await;
    let coupon = env.issue_coupon(&t, "9876543210", "200", date(2026, 12, 31), Some("COUP-XY12")).await;

    let reply = Call::customer(t.slug())
        .key(&t.test)
        .query("mobile", "9876543210")
        .query("create", "true")
        .send(&env.deps)
        .await;

    reply.assert_ok(&json!({
        "found": true,
        "sandbox": true,
        "customer": { "customer_id": ravi.customer_id, "name": "Ravi Kumar" },
        "points_balance": 3400,
        "redeemable_value": 34,
        "tier": "Silver",
        "active_coupons": [{ "coupon_id": coupon.coupon_id.to_string(), "code": "COUP-XY12" }]
    }));
}

#[tokio::test]
async fn a_sandbox_bill_computes_points_and_writes_nothing() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let ravi = env.seed_member(&t, "9876543210", "Ravi Kumar", "34").await;
    let live = env.bill(&t, json!({ "mobile": "9876543210", "amount": 1, "external_ref": "LIVE-1" })).await;
    assert_eq!(live.status, 200, "{}", live.text);
    let before = env.scan().await;
    let sandbox_bill = |body: serde_json::Value| {
        let call = Call::bill(t.slug()).key(&t.test).json(&body);
        let deps = env.deps.clone();
        async move { call.send(&deps).await }
    };

    // An existing member, with a reference and a tier crossing.
    let reply = sandbox_bill(json!({
        "mobile": "9876543210",
        "amount": 2000,
        "external_ref": "SBX-1"
    }))
    .await;
    reply.assert_ok(&json!({
        "sandbox": true,
        "customer_id": ravi.customer_id,
        "amount": 2000,
        "points_earned": 200_000,
        "points_redeemed": 0,
        "new_balance": 203_500,
        "tier": "Gold",
        "tier_upgraded": true,
        "customer": { "customer_id": ravi.customer_id, "points_balance": 203_500 }
    }));
    assert!(uuid::Uuid::parse_str(reply.str("transaction_id")).is_ok());
    // The same sandbox bill again is computed afresh: nothing was recorded.
    let again = sandbox_bill(json!({
        "mobile": "9876543210",
        "amount": 2000,
        "external_ref": "SBX-1"
    }))
    .await;
    again.assert_ok(&json!({ "sandbox": true, "new_balance": 203_500 }));
    assert_eq!(again.header("idempotent-replayed"), None);

    // An unknown mobile is "enrolled" in the answer only.
    let reply = sandbox_bill(json!({ "mobile": "9123456789", "name": "Asha", "amount": 5 })).await;
    reply.assert_ok(&json!({
        "sandbox": true,
        "points_earned": 500,
        "new_balance": 500,
        "customer": { "name": "Asha", "mobile": "9123456789", "points_balance": 500 }
    }));

    // A live reference is honoured as in production: replayed, or 409.
    let replay = sandbox_bill(json!({ "mobile": "9876543210", "amount": 1, "external_ref": "LIVE-1" })).await;
    replay.assert_ok(&json!({ "transaction_id": live.str("transaction_id"), "sandbox": true }));
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    sandbox_bill(json!({ "mobile": "9876543210", "amount": 2, "external_ref": "LIVE-1" }))
        .await
        .assert_error(409, "reference LIVE-1 was already used for a different sale");

    assert_eq!(env.scan().await, before, "the table is byte-for-byte unchanged");
    assert_eq!(env.balance(&t, "9876543210").await, 3500);
    let asha = env.lookup(&t, "9123456789").await;
    assert_eq!(asha.body, json!({ "found": false, "mobile": "9123456789" }));

    // The sandbox reference was never taken: a live bill may use it for any sale.
    env.bill(&t, json!({ "mobile": "9876543210", "amount": 3, "external_ref": "SBX-1" }))
        .await
        .assert_ok(&json!({ "points_earned": 300, "new_balance": 3800 }));
}

#[tokio::test]
async fn a_sandbox_redemption_validates_and_leaves_the_coupon_active() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.seed_member(&t, "9876543210", "Ravi Kumar", "34").await;
    let coupon = env.issue_coupon(&t, "9876543210", "200", date(2026, 12, 31), Some("COUP-XY12")).await;
    env.issue_coupon(&t, "9876543210", "50", date(2026, 3, 14), Some("COUP-EXPIRED")).await;
    env.issue_coupon(&t, "9876543210", "100", date(2026, 12, 31), Some("COUP-USED")).await;
    env.redeem(&t, &t.live, "COUP-USED").await.assert_ok(&json!({ "valid": true }));
    let before = env.scan().await;

    for _ in 0..2 {
        let reply = env.redeem(&t, &t.test, "coup-xy12").await;
        reply.assert_ok(&json!({
            "valid": true,
            "sandbox": true,
            "value": 200,
            "source": "campaign",
            "coupon": {
                "coupon_id": coupon.coupon_id.to_string(),
                "code": "COUP-XY12",
                "value": 200,
                "status": "active",
                "expiry_date": "2026-12-31"
            }
        }));
    }
    env.redeem(&t, &t.test, "COUP-USED").await.assert_error(400, "Coupon is used");
    env.redeem(&t, &t.test, "COUP-EXPIRED").await.assert_error(400, "Coupon expired");
    env.redeem(&t, &t.test, "COUP-NOPE").await.assert_error(404, "Coupon not found");
    assert_eq!(env.scan().await, before, "the table is byte-for-byte unchanged");

    env.lookup(&t, "9876543210").await.assert_ok(&json!({ "active_coupons": [{ "code": "COUP-XY12" }] }));
    env.redeem(&t, &t.live, "COUP-XY12").await.assert_ok(&json!({ "valid": true, "coupon": { "status": "used" } }));
    env.redeem(&t, &t.test, "COUP-XY12").await.assert_error(400, "Coupon is used");
}

#[tokio::test]
async fn a_sandbox_refund_or_redemption_with_its_own_reference_records_nothing() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.add_demo_rewards(&t).await;
    env.bill(
        &t,
        json!({ "mobile": "9876543210", "email": "ravi@example.com", "amount": 100, "external_ref": "INV-1" }),
    )
    .await
    .assert_ok(&json!({}));
    let before = env.scan().await;
    let pos = Call::new(Route::Refund, t.slug())
        .key(&t.test)
        .json(&json!({ "external_ref": "INV-1", "amount": 10, "refund_ref": "RET-1" }));
    let public = Call::public(Route::PublicRefund)
        .key(&t.test)
        .json(&json!({ "reference": "INV-1", "amount": 10, "refundReference": "RET-2" }));
    let redeem = Call::public(Route::RewardRedeem)
        .key(&t.test)
        .json(&json!({ "email": "ravi@example.com", "rewardId": "rwd-001", "reference": "ORDER-1" }));
    for _ in 0..2 {
        let reply = pos.send(&env.deps).await;
        reply.assert_ok(&json!({ "sandbox": true, "total_refunded": 10 }));
        assert_eq!(reply.header("idempotent-replayed"), None, "nothing was recorded to replay");
        public.send(&env.deps).await.assert_success(&json!({ "totalRefunded": 10 }));
        redeem.send(&env.deps).await.assert_success(&json!({ "newBalance": 5_000 }));
    }
    assert_eq!(env.scan().await, before, "no refund or redemption reference written");

    // The live refund with that reference is then the first one.
    let live = Call::new(Route::Refund, t.slug())
        .key(&t.live)
        .json(&json!({ "external_ref": "INV-1", "amount": 10, "refund_ref": "RET-1" }))
        .send(&env.deps)
        .await;
    live.assert_ok(&json!({ "total_refunded": 10 }));
    assert_eq!(live.header("idempotent-replayed"), None);
    // And a sandbox retry of it answers what was recorded, still writing nothing.
    let after = env.scan().await;
    let replay = pos.send(&env.deps).await;
    replay.assert_ok(&json!({ "refund_id": live.str("refund_id"), "total_refunded": 10 }));
    assert_eq!(env.scan().await, after);
}
