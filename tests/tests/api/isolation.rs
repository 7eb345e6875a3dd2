//! Tenants share one table and nothing else.

use serde_json::json;

use super::support::{date, Call, TestEnv};

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
