//! Tenants share one table and nothing else.

use serde_json::json;

use super::support::{date, Call, Route, TestEnv};

#[tokio::test]
async fn another_tenant_cannot_see_or_bill_a_member() {
    let env = TestEnv::new().await;
    let a = env.tenant("tenant-a").await;
    let b = env.tenant("tenant-b").await;
    let ravi = env.seed_member(&a, "9876543210", "Ravi Kumar", "34").await;

    let reply = env.lookup(&b, "9876543210").await;
    assert_eq!((reply.status, reply.body), (200, json!({ "found": false, "mobile": "9876543210" })));
    env.bill(&b, json!({ "customer_id": ravi.customer_id, "amount": 100 }))
        .await
        .assert_error(404, "Customer not found");

    // The same mobile in tenant B is B's own member.
    let b_bill = env.bill(&b, json!({ "mobile": "9876543210", "name": "Ravi B", "amount": 1 })).await;
    b_bill.assert_ok(&json!({ "new_balance": 100, "customer": { "name": "Ravi B" } }));
    assert_ne!(b_bill.str("customer_id"), ravi.customer_id);

    env.lookup(&a, "9876543210").await.assert_ok(&json!({
        "customer": { "customer_id": ravi.customer_id, "name": "Ravi Kumar" },
        "points_balance": 3400
    }));
    env.lookup(&b, "9876543210").await.assert_ok(&json!({
        "customer": { "customer_id": b_bill.str("customer_id"), "name": "Ravi B" },
        "points_balance": 100
    }));
}

#[tokio::test]
async fn another_tenant_cannot_redeem_a_coupon_even_with_the_same_code_text() {
    let env = TestEnv::new().await;
    let a = env.tenant("tenant-a").await;
    let b = env.tenant("tenant-b").await;
    env.seed_member(&a, "9876543210", "Ravi Kumar", "1").await;
    let a_coupon = env.issue_coupon(&a, "9876543210", "200", date(2026, 12, 31), Some("COUP-SHARED")).await;
    let before = env.scan().await;

    // B's live and sandbox keys: not found.
    env.redeem(&b, &b.live, "COUP-SHARED").await.assert_error(404, "Coupon not found");
    env.redeem(&b, &b.test, "COUP-SHARED").await.assert_error(404, "Coupon not found");
    assert_eq!(env.scan().await, before);

    // B issues the same code text to its own member: each tenant redeems its own.
    env.seed_member(&b, "9123456789", "Asha", "1").await;
    let b_coupon = env.issue_coupon(&b, "9123456789", "75", date(2026, 12, 31), Some("COUP-SHARED")).await;
    env.redeem(&b, &b.live, "COUP-SHARED").await.assert_ok(&json!({
        "value": 75,
        "coupon": { "coupon_id": b_coupon.coupon_id.to_string(), "status": "used" }
    }));
    env.lookup(&a, "9876543210").await.assert_ok(&json!({
        "active_coupons": [{ "coupon_id": a_coupon.coupon_id.to_string(), "code": "COUP-SHARED" }]
    }));
    env.redeem(&a, &a.live, "COUP-SHARED").await.assert_ok(&json!({
        "value": 200,
        "coupon": { "coupon_id": a_coupon.coupon_id.to_string(), "status": "used" }
    }));
}

#[tokio::test]
async fn external_refs_are_per_tenant() {
    let env = TestEnv::new().await;
    let a = env.tenant("tenant-a").await;
    let b = env.tenant("tenant-b").await;

    let first = env.bill(&a, json!({ "mobile": "9876543210", "amount": 10, "external_ref": "INV-1" })).await;
    first.assert_ok(&json!({ "points_earned": 1000 }));
    let other = Call::bill(b.slug())
        .key(&b.live)
        .json(&json!({ "mobile": "9876543210", "amount": 20, "external_ref": "INV-1" }))
        .send(&env.deps)
        .await;
    other.assert_ok(&json!({ "points_earned": 2000, "new_balance": 2000 }));
    assert_eq!(other.header("idempotent-replayed"), None);
    assert_ne!(other.str("transaction_id"), first.str("transaction_id"));
}

#[tokio::test]
async fn refund_and_redemption_references_are_per_tenant() {
    let env = TestEnv::new().await;
    let a = env.tenant("tenant-a").await;
    let b = env.tenant("tenant-b").await;
    for t in [&a, &b] {
        env.add_demo_rewards(t).await;
        env.bill(
            t,
            json!({ "mobile": "9876543210", "email": "ravi@example.com", "amount": 100, "external_ref": "INV-1" }),
        )
        .await
        .assert_ok(&json!({}));
    }
    let refund = |t: &super::support::Tenant, amount: i64| {
        Call::new(Route::Refund, t.slug())
            .key(&t.live)
            .json(&json!({ "external_ref": "INV-1", "amount": amount, "refund_ref": "RET-1" }))
    };
    let first = refund(&a, 10).send(&env.deps).await;
    first.assert_ok(&json!({ "total_refunded": 10 }));
    // B's refund with the same reference (another amount) is B's own first refund.
    let other = refund(&b, 20).send(&env.deps).await;
    other.assert_ok(&json!({ "total_refunded": 20, "new_balance": 8_000 }));
    assert_eq!(other.header("idempotent-replayed"), None);
    assert_ne!(other.str("refund_id"), first.str("refund_id"));
    // B's sandbox key sees B's refund, never A's.
    let sandbox = Call::public(Route::PublicRefund)
        .key(&b.test)
        .json(&json!({ "reference": "INV-1", "amount": 10, "refundReference": "RET-1" }))
        .send(&env.deps)
        .await;
    sandbox.assert_public_error(
        409,
        "reference_conflict",
        "refund reference RET-1 was already used for a different refund",
    );

    let redeem = |t: &super::support::Tenant| {
        Call::public(Route::RewardRedeem)
            .key(&t.live)
            .json(&json!({ "email": "ravi@example.com", "rewardId": "rwd-001", "reference": "ORDER-1" }))
    };
    let a_voucher = redeem(&a).send(&env.deps).await;
    a_voucher.assert_success(&json!({ "pointsSpent": 5_000 }));
    let b_voucher = redeem(&b).send(&env.deps).await;
    b_voucher.assert_success(&json!({ "pointsSpent": 5_000 }));
    assert_eq!(b_voucher.header("idempotent-replayed"), None);
    assert_ne!(b_voucher.data_str("voucherCode"), a_voucher.data_str("voucherCode"));
}
