//! `POST /api/{tenant}/pos/coupon/redeem`: validate and use a code, once.

use serde_json::json;

use super::support::{date, instant, today, Call, TestEnv};

#[tokio::test]
async fn a_valid_coupon_is_used_once() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let ravi = env.seed_member(&t, "9876543210", "Ravi Kumar", "34").await;
    let coupon = env.issue_coupon(&t, "9876543210", "200", date(2026, 12, 31), Some("COUP-XY12")).await;

    let reply = env.redeem(&t, &t.live, "COUP-XY12").await;

    reply.assert_ok(&json!({
        "valid": true,
        "value": 200,
        "source": "campaign",
        "coupon": {
            "coupon_id": coupon.coupon_id.to_string(),
            "code": "COUP-XY12",
            "value": 200,
            "source": "campaign",
            "expiry_date": "2026-12-31",
            "status": "used",
            "customer_id": ravi.customer_id,
            "used_at": "2026-03-15T06:30:00Z"
        }
    }));
    assert_eq!(reply.body.get("sandbox"), None);

    env.redeem(&t, &t.live, "COUP-XY12").await.assert_error(400, "Coupon is used");
    env.lookup(&t, "9876543210").await.assert_ok(&json!({ "found": true, "active_coupons": [] }));
    // Using a coupon moves no points.
    assert_eq!(env.balance(&t, "9876543210").await, 3400);
}

#[tokio::test]
async fn a_percent_coupon_is_worth_zero_with_its_percentage_beside() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.seed_member(&t, "9876543210", "Ravi Kumar", "1").await;
    let coupon = env.issue_percent_coupon(&t, "9876543210", 15, date(2026, 12, 31), "COUP-PCT15").await;

    env.lookup(&t, "9876543210").await.assert_ok(&json!({
        "active_coupons": [{
            "coupon_id": coupon.coupon_id.to_string(),
            "code": "COUP-PCT15",
            "value": 0,
            "source": "campaign",
            "expiry_date": "2026-12-31",
            "discount_percent": 15,
            "reward_type": "discount"
        }]
    }));
    env.redeem(&t, &t.live, "COUP-PCT15").await.assert_ok(&json!({
        "valid": true,
        "value": 0,
        "source": "campaign",
        "discount_percent": 15,
        "reward_type": "discount",
        "coupon": { "code": "COUP-PCT15", "value": 0, "discount_percent": 15, "status": "used" }
    }));
}

#[tokio::test]
async fn an_expired_coupon_is_400() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.seed_member(&t, "9876543210", "Ravi Kumar", "1").await;
    env.issue_coupon(&t, "9876543210", "50", date(2026, 3, 14), Some("COUP-EXPIRED")).await;
    let before = env.scan().await;

    env.redeem(&t, &t.live, "COUP-EXPIRED").await.assert_error(400, "Coupon expired");
    assert_eq!(env.scan().await, before, "an expired coupon is left as it was");
}

#[tokio::test]
async fn a_coupon_is_valid_to_the_end_of_its_last_day_in_the_programs_zone() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.seed_member(&t, "9876543210", "Ravi Kumar", "1").await;
    env.issue_coupon(&t, "9876543210", "10", today(), Some("COUP-A")).await;
    env.issue_coupon(&t, "9876543210", "10", today(), Some("COUP-B")).await;

    // 23:59:59 IST on its last day.
    env.clock.set(instant("2026-03-15T18:29:59Z"));
    env.redeem(&t, &t.live, "COUP-A")
        .await
        .assert_ok(&json!({ "valid": true, "coupon": { "expiry_date": "2026-03-15" } }));
    // Midnight IST.
    env.clock.set(instant("2026-03-15T18:30:00Z"));
    env.redeem(&t, &t.live, "COUP-B").await.assert_error(400, "Coupon expired");
}

#[tokio::test]
async fn an_unknown_code_is_404() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.seed_member(&t, "9876543210", "Ravi Kumar", "1").await;
    env.issue_coupon(&t, "9876543210", "10", date(2026, 12, 31), Some("COUP-REAL")).await;

    for unknown in ["COUP-NOPE", "COUP-REAL2", "x", "COUP#1", "COUP XY"] {
        env.redeem(&t, &t.live, unknown).await.assert_error(404, "Coupon not found");
    }
}

#[tokio::test]
async fn codes_are_upper_cased() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.seed_member(&t, "9876543210", "Ravi Kumar", "1").await;
    env.issue_coupon(&t, "9876543210", "200", date(2026, 12, 31), Some("coup-xy12")).await;

    env.redeem(&t, &t.live, "  coup-Xy12 ")
        .await
        .assert_ok(&json!({ "valid": true, "coupon": { "code": "COUP-XY12", "status": "used" } }));
    env.redeem(&t, &t.live, "COUP-XY12").await.assert_error(400, "Coupon is used");
}

#[tokio::test]
async fn a_missing_code_is_400() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let send = |body: &str| {
        let call = Call::redeem(t.slug()).key(&t.live).body(body.to_owned());
        let deps = env.deps.clone();
        async move { call.send(&deps).await }
    };

    send("{}").await.assert_error(400, "code is required");
    send(r#"{"code": ""}"#).await.assert_error(400, "code is required");
    send(r#"{"code": null}"#).await.assert_error(400, "code is required");
    send(r#"{"coupon": "COUP-XY12"}"#).await.assert_error(400, "code is required");
    send(r#"{"code": 12345}"#).await.assert_error(400, "code must be a string");
    send("[]").await.assert_error(400, "Request body must be a JSON object");
}
