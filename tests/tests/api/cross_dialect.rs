//! One member, one balance, whichever dialect touched it: Public earns and redemptions
//! seen by the till, POS bills seen by the Public API, vouchers bought online and used
//! at the till, and one namespace of sale references.

use chrono::Duration;
use serde_json::json;

use super::public::{balance, earn, redeem_reward, verify};
use super::support::{date, Call, Route, Tenant, TestEnv};

const MOBILE: &str = "9876543210";
const EMAIL: &str = "ravi@example.com";

/// Enrols Ravi at the till with both his mobile and his email; returns his customer id.
async fn enrol_both(env: &TestEnv, t: &Tenant) -> String {
    let reply = Call::customer(t.slug())
        .key(&t.live)
        .query("mobile", MOBILE)
        .query("create", "true")
        .query("name", "Ravi Kumar")
        .query("email", "Ravi@Example.com")
        .send(&env.deps)
        .await;
    reply.assert_ok(&json!({
        "found": true,
        "enrolled": true,
        "customer": { "name": "Ravi Kumar", "mobile": MOBILE, "email": EMAIL, "points_balance": 0 },
        "points_balance": 0
    }));
    reply.body["customer"]["customer_id"].as_str().expect("customer_id").to_owned()
}

#[tokio::test]
async fn earns_by_email_and_bills_by_mobile_move_one_balance() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let id = enrol_both(&env, &t).await;

    // Public earn by email; the till sees it by mobile.
    earn(&env, &t.live, json!({ "email": EMAIL, "amount": 150 })).await.assert_success(&json!({
        "pointsEarned": 15_000,
        "newBalance": 15_000,
        "customerId": id
    }));
    env.lookup(&t, MOBILE).await.assert_ok(&json!({
        "customer": { "customer_id": id, "points_balance": 15_000, "lifetime_points": 15_000 },
        "points_balance": 15_000,
        "lifetime_points": 15_000,
        "redeemable_value": 150,
        "tier": "Silver"
    }));

    // A POS bill by mobile; the Public balance sees it by email.
    env.bill(&t, json!({ "mobile": MOBILE, "amount": 1500 })).await.assert_ok(&json!({
        "customer_id": id,
        "points_earned": 150_000,
        "new_balance": 165_000
    }));
    balance(&env, &t.live, EMAIL).await.assert_success(&json!({
        "customerName": "Ravi Kumar",
        "pointsBalance": 165_000,
        "lifetimePoints": 165_000,
        "tierName": "Silver"
    }));

    // A bill by customer id crosses into Gold; the next Public earn gets Gold's 1.25x.
    env.bill(&t, json!({ "customer_id": id, "amount": 350 })).await.assert_ok(&json!({
        "points_earned": 35_000,
        "new_balance": 200_000,
        "tier": "Gold",
        "tier_upgraded": true
    }));
    earn(&env, &t.live, json!({ "email": EMAIL, "amount": 100 })).await.assert_success(&json!({
        "pointsEarned": 12_500,
        "multiplierApplied": 1.25,
        "newBalance": 212_500,
        "tierName": "Gold"
    }));
    assert_eq!(env.balance(&t, MOBILE).await, 212_500);
    balance(&env, &t.live, EMAIL).await.assert_success(&json!({ "pointsBalance": 212_500, "tierName": "Gold" }));

    assert_eq!(env.member_count().await, 1, "one member");
    assert_eq!(env.ledger(&id).await.len(), 4);
}

#[tokio::test]
async fn a_bill_that_enrols_with_an_email_is_found_by_the_public_api() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;

    let bill =
        env.bill(&t, json!({ "mobile": MOBILE, "name": "Ravi", "email": "RAVI@example.com", "amount": 12 })).await;
    bill.assert_ok(&json!({ "points_earned": 1200, "customer": { "email": EMAIL } }));
    balance(&env, &t.live, EMAIL).await.assert_success(&json!({
        "customerName": "Ravi",
        "pointsBalance": 1200,
        "customerId": bill.str("customer_id")
    }));
    // And a Public earn credits the same member.
    earn(&env, &t.live, json!({ "email": EMAIL, "amount": 1 })).await.assert_success(&json!({
        "newBalance": 1300,
        "customerId": bill.str("customer_id")
    }));
    assert_eq!(env.member_count().await, 1);
}

#[tokio::test]
async fn a_voucher_bought_online_is_used_at_the_till() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.add_demo_rewards(&t).await;
    let id = enrol_both(&env, &t).await;
    env.bill(&t, json!({ "mobile": MOBILE, "amount": 300 })).await.assert_ok(&json!({ "new_balance": 30_000 }));

    let percent = redeem_reward(&env, &t.live, EMAIL, "rwd-002").await;
    percent.assert_success(&json!({ "newBalance": 10_000 }));
    let percent = percent.data_str("voucherCode").to_owned();
    env.advance(Duration::minutes(1));
    let service = redeem_reward(&env, &t.live, EMAIL, "rwd-001").await;
    service.assert_success(&json!({ "newBalance": 5000 }));
    let service = service.data_str("voucherCode").to_owned();

    // The till sees both vouchers, soonest expiry first, with no money value.
    let lookup = env.lookup(&t, MOBILE).await;
    lookup.assert_ok(&json!({
        "points_balance": 5000,
        "redeemable_value": 50,
        "active_coupons": [
            {
                "code": percent,
                "value": 0,
                "discount_percent": 10,
                "reward_type": "discount",
                "reward_name": "10% Discount Voucher",
                "source": "reward",
                "status": "active",
                "expiry_date": "2026-04-14",
                "expires_at": "2026-04-14T06:30:00Z",
                "customer_id": id
            },
            {
                "code": service,
                "value": 0,
                "reward_type": "service",
                "reward_name": "Free Masala Chai",
                "source": "reward",
                "status": "active",
                "expires_at": "2026-04-14T06:31:00Z"
            }
        ]
    }));
    assert_eq!(lookup.body["active_coupons"][1].get("discount_percent"), None, "{}", lookup.text);

    // The cashier consumes the percent voucher an hour later.
    env.advance(Duration::hours(1));
    env.redeem(&t, &t.live, &percent).await.assert_ok(&json!({
        "valid": true,
        "value": 0,
        "source": "reward",
        "discount_percent": 10,
        "reward_type": "discount",
        "coupon": { "code": percent, "status": "used", "used_at": "2026-03-15T07:31:00Z" }
    }));
    verify(&env, &t.live, &percent).await.assert_success(&json!({
        "valid": false,
        "voucherCode": percent,
        "rewardName": "10% Discount Voucher",
        "rewardType": "discount",
        "status": "used",
        "redeemedAt": "2026-03-15T06:30:00Z",
        "usedAt": "2026-03-15T07:31:00Z"
    }));
    env.redeem(&t, &t.live, &percent).await.assert_error(400, "Coupon is used");
    verify(&env, &t.live, &service).await.assert_success(&json!({ "valid": true, "status": "pending" }));
    let lookup = env.lookup(&t, MOBILE).await;
    lookup.assert_ok(&json!({ "active_coupons": [{ "code": service }] }));

    // A campaign coupon issued at the till verifies in the Public dialect too.
    env.issue_coupon(&t, MOBILE, "200", date(2026, 12, 31), Some("COUP-XY12")).await;
    let campaign = verify(&env, &t.live, "COUP-XY12").await;
    campaign.assert_success(&json!({
        "valid": true,
        "voucherCode": "COUP-XY12",
        "rewardName": null,
        "rewardType": "voucher",
        "status": "pending",
        "value": 200,
        "expiresAt": "2026-12-31T18:30:00Z"
    }));
    assert_eq!(env.balance(&t, MOBILE).await, 5000, "using vouchers moves no points");
}

#[tokio::test]
async fn a_reference_names_one_sale_in_both_dialects() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let id = enrol_both(&env, &t).await;
    env.seed_member(&t, "9123456789", "Asha", "1").await;
    earn(&env, &t.live, json!({ "email": "asha@example.com", "amount": 1 })).await.assert_success(&json!({}));
    let conflict = |r: &str| format!("reference {r} was already used for a different sale");

    // Partner first, then the same sale in the Public dialect: a replay.
    let bill = env.bill(&t, json!({ "mobile": MOBILE, "amount": 150, "external_ref": "ORD-77" })).await;
    bill.assert_ok(&json!({ "points_earned": 15_000, "new_balance": 15_000 }));
    let settled = env.scan().await;
    let replay = earn(&env, &t.live, json!({ "email": EMAIL, "amount": 150.00, "reference": "ORD-77" })).await;
    replay.assert_success(&json!({
        "transactionId": bill.str("transaction_id"),
        "customerId": id,
        "pointsEarned": 15_000,
        "multiplierApplied": 1,
        "newBalance": 15_000,
        "tierName": "Silver",
        "reference": "ORD-77"
    }));
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    earn(&env, &t.live, json!({ "email": EMAIL, "amount": 151, "reference": "ORD-77" })).await.assert_public_error(
        409,
        "reference_conflict",
        &conflict("ORD-77"),
    );
    earn(&env, &t.live, json!({ "email": "asha@example.com", "amount": 150, "reference": "ORD-77" }))
        .await
        .assert_public_error(409, "reference_conflict", &conflict("ORD-77"));
    env.bill(&t, json!({ "mobile": MOBILE, "amount": 151, "external_ref": "ORD-77" }))
        .await
        .assert_error(409, &conflict("ORD-77"));
    assert_eq!(env.scan().await, settled, "replays and conflicts write nothing");

    // Public first, then the Partner dialect: by mobile and by customer id.
    let order = earn(&env, &t.live, json!({ "email": EMAIL, "amount": 20, "reference": "ORD-78" })).await;
    order.assert_success(&json!({ "pointsEarned": 2000, "newBalance": 17_000 }));
    let settled = env.scan().await;
    for body in [
        json!({ "mobile": MOBILE, "amount": 20, "external_ref": "ORD-78" }),
        json!({ "customer_id": id, "amount": 20.0, "external_ref": "ORD-78" }),
    ] {
        let replay = env.bill(&t, body).await;
        replay.assert_ok(&json!({
            "transaction_id": order.data_str("transactionId"),
            "customer_id": id,
            "amount": 20,
            "points_earned": 2000,
            "new_balance": 17_000,
            "external_ref": "ORD-78"
        }));
        assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    }
    env.bill(&t, json!({ "mobile": MOBILE, "amount": 21, "external_ref": "ORD-78" }))
        .await
        .assert_error(409, &conflict("ORD-78"));
    env.bill(&t, json!({ "mobile": "9123456789", "amount": 20, "external_ref": "ORD-78" }))
        .await
        .assert_error(409, &conflict("ORD-78"));
    assert_eq!(env.scan().await, settled);

    // A numeric external_ref is the same text as a string reference.
    let bill = env.bill(&t, json!({ "mobile": MOBILE, "amount": 5, "external_ref": 12345 })).await;
    bill.assert_ok(&json!({ "external_ref": "12345", "new_balance": 17_500 }));
    let replay = earn(&env, &t.live, json!({ "email": EMAIL, "amount": 5, "reference": "12345" })).await;
    replay.assert_success(&json!({ "transactionId": bill.str("transaction_id"), "newBalance": 17_500 }));
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));

    assert_eq!(env.balance(&t, MOBILE).await, 17_500);
    balance(&env, &t.live, EMAIL).await.assert_success(&json!({ "pointsBalance": 17_500 }));
    assert_eq!(env.ledger(&id).await.len(), 3, "three sales, each once");
}

#[tokio::test]
async fn a_bill_cannot_enrol_an_email_that_belongs_to_another_member() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let asha = earn(&env, &t.live, json!({ "email": "asha@example.com", "name": "Asha", "amount": 10 })).await;
    asha.assert_success(&json!({ "newBalance": 1000 }));
    let before = env.scan().await;
    let taken = "email already belongs to another customer";

    env.bill(&t, json!({ "mobile": "9123456789", "name": "Mallory", "email": "Asha@Example.com", "amount": 10 }))
        .await
        .assert_error(409, taken);
    let lookup = Call::customer(t.slug())
        .key(&t.live)
        .query("mobile", "9123456789")
        .query("create", "true")
        .query("email", "asha@example.com")
        .send(&env.deps)
        .await;
    lookup.assert_error(409, taken);
    assert_eq!(env.scan().await, before, "nobody enrolled, nothing credited");
    balance(&env, &t.live, "asha@example.com").await.assert_success(&json!({
        "customerName": "Asha",
        "pointsBalance": 1000,
        "customerId": asha.data_str("customerId")
    }));

    // Without the email the new mobile enrols as its own member.
    let own = env.bill(&t, json!({ "mobile": "9123456789", "amount": 10 })).await;
    own.assert_ok(&json!({ "new_balance": 1000 }));
    assert_ne!(own.str("customer_id"), asha.data_str("customerId"));
    assert_eq!(own.body["customer"].get("email"), None, "{}", own.text);
}

#[tokio::test]
async fn a_refund_in_either_dialect_finds_a_sale_from_the_other() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let id = enrol_both(&env, &t).await;
    let refund = |body: serde_json::Value| Call::new(Route::Refund, t.slug()).key(&t.live).json(&body);
    let public_refund = |body: serde_json::Value| Call::public(Route::PublicRefund).key(&t.live).json(&body);

    // An online order refunded at the till.
    earn(&env, &t.live, json!({ "email": EMAIL, "amount": 100, "reference": "ORD-1" }))
        .await
        .assert_success(&json!({ "newBalance": 10_000 }));
    refund(json!({ "external_ref": "ORD-1", "amount": 40, "refund_ref": "RET-1" })).send(&env.deps).await.assert_ok(
        &json!({
            "external_ref": "ORD-1",
            "amount": 40,
            "points_reversed": 4000,
            "new_balance": 6000,
            "customer": { "customer_id": id }
        }),
    );

    // A POS bill refunded through the Public API.
    env.bill(&t, json!({ "mobile": MOBILE, "amount": 50, "external_ref": "INV-1" }))
        .await
        .assert_ok(&json!({ "new_balance": 11_000 }));
    public_refund(json!({ "reference": "INV-1", "amount": 50, "refundReference": "RET-2" }))
        .send(&env.deps)
        .await
        .assert_success(&json!({
            "reference": "INV-1",
            "amountRefunded": 50,
            "totalRefunded": 50,
            "remainingRefundable": 0,
            "pointsReversed": 5000,
            "pointsRestored": 0,
            "newBalance": 6000,
            "balanceNegative": false
        }));
    // ...and the rest of the order through the Public API, which knows what the till did.
    public_refund(json!({ "reference": "ORD-1", "amount": 60.01, "refundReference": "RET-3" }))
        .send(&env.deps)
        .await
        .assert_public_error(400, "invalid_request", "amount is more than what remains refundable (60)");
    public_refund(json!({ "reference": "ORD-1", "amount": 60, "refundReference": "RET-4" }))
        .send(&env.deps)
        .await
        .assert_success(&json!({ "pointsReversed": 6000, "newBalance": 0, "totalRefunded": 100 }));
    balance(&env, &t.live, EMAIL).await.assert_success(&json!({ "pointsBalance": 0, "lifetimePoints": 0 }));
}
