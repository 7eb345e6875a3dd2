//! A coupon through a till's day: used on the bill itself (`coupon_code`, in the bill's
//! own transaction), and reinstated after a voided sale (`/pos/coupon/reinstate`).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use loyalty::keys::{KeyMode, Scope};
use serde_json::json;

use super::faults::{losing_deps, LoseAnswers};
use super::support::{concurrently, date, Call, Route, TestEnv};

const MOBILE: &str = "9876543210";

#[tokio::test]
async fn a_bill_with_a_coupon_uses_it_once_and_says_what_it_was() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let ravi = env.seed_member(&t, MOBILE, "Ravi Kumar", "34").await;
    let coupon = env.issue_coupon(&t, MOBILE, "200", date(2026, 12, 31), Some("COUP-XY12")).await;
    let body = json!({ "mobile": MOBILE, "amount": 1300, "external_ref": "INV-C1", "coupon_code": "COUP-XY12" });

    let bill = Call::bill(t.slug()).key(&t.live).header("Idempotency-Key", "bill-c1").json(&body).send(&env.deps).await;
    bill.assert_ok(&json!({
        "amount": 1300,
        "points_earned": 130_000,
        "new_balance": 133_400,
        "coupon": {
            "valid": true,
            "value": 200,
            "source": "campaign",
            "coupon": {
                "coupon_id": coupon.coupon_id.to_string(),
                "code": "COUP-XY12",
                "value": 200,
                "status": "used",
                "customer_id": ravi.customer_id,
                "used_at": "2026-03-15T06:30:00Z"
            }
        }
    }));
    env.lookup(&t, MOBILE).await.assert_ok(&json!({ "active_coupons": [] }));
    env.redeem(&t, &t.live, "COUP-XY12").await.assert_error(400, "Coupon is used");

    // A retry answers the same, by its Idempotency-Key or by its reference alone.
    let again =
        Call::bill(t.slug()).key(&t.live).header("Idempotency-Key", "bill-c1").json(&body).send(&env.deps).await;
    assert_eq!((again.status, &again.body), (200, &bill.body), "{}", again.text);
    let by_reference = env.bill(&t, body.clone()).await;
    assert_eq!(by_reference.status, 200, "{}", by_reference.text);
    assert_eq!(by_reference.body["replayed"], json!(true));
    assert_eq!(by_reference.body["coupon"], bill.body["coupon"]);
    assert_eq!(env.balance(&t, MOBILE).await, 133_400, "awarded once");

    // Another bill with the used coupon is refused and writes nothing.
    let before = env.scan().await;
    let other = json!({ "mobile": MOBILE, "amount": 10, "external_ref": "INV-C2", "coupon_code": "COUP-XY12" });
    env.bill(&t, other).await.assert_error(400, "Coupon is used");
    assert_eq!(env.scan().await, before);
}

#[tokio::test]
async fn a_refused_bill_uses_no_coupon_and_a_refused_coupon_records_no_bill() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.seed_member(&t, MOBILE, "Ravi Kumar", "34").await;
    env.issue_coupon(&t, MOBILE, "200", date(2026, 12, 31), Some("COUP-XY12")).await;
    env.issue_coupon(&t, MOBILE, "50", date(2026, 3, 20), Some("COUP-SOON")).await;
    let before = env.scan().await;

    // Points without the one-time code: the bill is refused, the coupon stays active.
    let spend = json!({ "mobile": MOBILE, "amount": 100, "redeem_points": 100, "coupon_code": "COUP-XY12" });
    env.bill(&t, spend).await.assert_error(400, "otp is required to redeem points");
    let unknown = json!({ "mobile": MOBILE, "amount": 100, "coupon_code": "COUP-NOSUCH" });
    env.bill(&t, unknown).await.assert_error(404, "Coupon not found");
    let malformed = json!({ "mobile": MOBILE, "amount": 100, "coupon_code": "C".repeat(65) });
    assert_eq!(env.bill(&t, malformed).await.status, 400);
    // A new mobile with a refused coupon is not enrolled either.
    let stranger = json!({ "mobile": "9000000001", "amount": 100, "coupon_code": "COUP-NOSUCH" });
    env.bill(&t, stranger).await.assert_error(404, "Coupon not found");
    assert_eq!(env.scan().await, before, "nothing written");

    env.advance(chrono::Duration::days(10));
    let expired = json!({ "mobile": MOBILE, "amount": 100, "coupon_code": "COUP-SOON" });
    env.bill(&t, expired).await.assert_error(400, "Coupon expired");
    env.redeem(&t, &t.live, "COUP-XY12").await.assert_ok(&json!({ "valid": true, "value": 200 }));
}

#[tokio::test]
async fn sandbox_and_preview_bills_check_the_coupon_and_use_nothing() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.seed_member(&t, MOBILE, "Ravi Kumar", "34").await;
    env.issue_coupon(&t, MOBILE, "200", date(2026, 12, 31), Some("COUP-XY12")).await;
    let before = env.scan().await;
    let body = json!({ "mobile": MOBILE, "amount": 100, "coupon_code": "COUP-XY12" });
    let sandbox = Call::bill(t.slug()).key(&t.test).json(&body).send(&env.deps).await;
    sandbox.assert_ok(&json!({ "sandbox": true, "coupon": { "valid": true, "value": 200 } }));
    let mut preview = body.clone();
    preview["preview"] = json!(true);
    env.bill(&t, preview).await.assert_ok(&json!({ "preview": true, "coupon": { "value": 200 } }));
    let unknown = json!({ "mobile": MOBILE, "amount": 100, "coupon_code": "COUP-NOSUCH" });
    Call::bill(t.slug()).key(&t.test).json(&unknown).send(&env.deps).await.assert_error(404, "Coupon not found");
    assert_eq!(env.scan().await, before, "nothing written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_bills_racing_for_one_coupon_record_one() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.seed_member(&t, MOBILE, "Ravi Kumar", "34").await;
    let deps = Arc::new(env.fresh_deps());
    for round in 0..3 {
        let code = format!("COUP-RACE{round}");
        env.issue_coupon(&t, MOBILE, "100", date(2026, 12, 31), Some(&code)).await;
        let balance = env.balance(&t, MOBILE).await;
        let calls = (0..2)
            .map(|i| {
                Call::bill(t.slug()).key(if i == 0 { &t.live } else { &t.pos }).json(&json!({
                    "mobile": MOBILE, "amount": 10, "external_ref": format!("INV-R{round}-{i}"), "coupon_code": code
                }))
            })
            .collect();
        let replies = concurrently(&deps, calls).await;
        let won: Vec<_> = replies.iter().filter(|r| r.status == 200).collect();
        let lost: Vec<_> = replies.iter().filter(|r| r.status != 200).collect();
        assert_eq!((won.len(), lost.len()), (1, 1), "{replies:?}");
        lost[0].assert_error(400, "Coupon is used");
        assert_eq!(env.balance(&t, MOBILE).await, balance + 1_000, "one bill recorded");
    }
}

#[tokio::test]
async fn the_key_that_used_a_coupon_reinstates_it_within_a_day() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.seed_member(&t, MOBILE, "Ravi Kumar", "34").await;
    env.issue_coupon(&t, MOBILE, "200", date(2026, 12, 31), Some("COUP-XY12")).await;
    env.issue_coupon(&t, MOBILE, "100", date(2026, 12, 31), Some("COUP-LATE")).await;
    let reinstate = |key: &str, code: &str| {
        let call = Call::reinstate(t.slug()).key(key).json(&json!({ "code": code }));
        let deps = &env.deps;
        async move { call.send(deps).await }
    };

    reinstate(&t.live, "COUP-XY12").await.assert_error(400, "Coupon is not used");
    reinstate(&t.live, "COUP-NOSUCH").await.assert_error(404, "Coupon not found");
    let another = env.issue_key(&t.slug, KeyMode::Live, Scope::ALL.to_vec()).await.plain;
    env.redeem(&t, &t.pos, "COUP-XY12").await.assert_ok(&json!({ "valid": true }));
    let before = env.scan().await;
    for other in [&t.live, &another] {
        reinstate(other, "COUP-XY12")
            .await
            .assert_error(403, "Coupon was used by another API key; only that key may reinstate it");
    }
    Call::reinstate(t.slug())
        .key(&t.read_only)
        .json(&json!({ "code": "COUP-XY12" }))
        .send(&env.deps)
        .await
        .assert_error(403, "API key missing required scope: write:transactions");
    // A sandbox key (which never uses a coupon) gets the answer a reinstatement would
    // get, whichever key used it, and nothing changes.
    let sandbox = reinstate(&t.pos_test, "COUP-XY12").await;
    sandbox.assert_ok(&json!({ "reinstated": true, "sandbox": true, "coupon": { "status": "active" } }));
    assert_eq!(env.scan().await, before, "refusals and the sandbox write nothing");

    env.advance(chrono::Duration::hours(23));
    let back = reinstate(&t.pos, "COUP-XY12").await;
    back.assert_ok(&json!({ "reinstated": true, "coupon": { "code": "COUP-XY12", "status": "active", "value": 200 } }));
    assert_eq!(back.body["coupon"].get("used_at"), None);
    let listed = json!({ "active_coupons": [{ "code": "COUP-LATE" }, { "code": "COUP-XY12" }] });
    env.lookup(&t, MOBILE).await.assert_ok(&listed);
    reinstate(&t.pos, "COUP-XY12").await.assert_error(400, "Coupon is not used");
    // Usable again, by any key.
    env.redeem(&t, &t.live, "COUP-XY12").await.assert_ok(&json!({ "valid": true }));

    // Used by a bill, reinstated by the bill's key; after the window, never.
    env.bill(&t, json!({ "mobile": MOBILE, "amount": 10, "coupon_code": "COUP-LATE" })).await.assert_ok(&json!({}));
    env.advance(chrono::Duration::hours(24) + chrono::Duration::seconds(1));
    reinstate(&t.live, "COUP-LATE")
        .await
        .assert_error(400, "Coupon was used more than 24 hours ago and can no longer be reinstated");
}

#[tokio::test]
async fn a_reinstatement_whose_answer_was_lost_is_answered_again_under_its_idempotency_key() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.seed_member(&t, MOBILE, "Ravi Kumar", "34").await;
    env.issue_coupon(&t, MOBILE, "200", date(2026, 12, 31), Some("COUP-XY12")).await;
    env.redeem(&t, &t.live, "COUP-XY12").await.assert_ok(&json!({ "valid": true }));
    let lose = LoseAnswers::default();
    let losing = losing_deps(&env, &lose);
    // Warm: the key is read before the answers are lost.
    Call::customer(t.slug()).key(&t.live).query("mobile", MOBILE).send(&losing).await.assert_ok(&json!({}));
    let call = Call::reinstate(t.slug())
        .key(&t.live)
        .header("Idempotency-Key", "void-1")
        .json(&json!({ "code": "COUP-XY12" }));

    lose.0.writes.store(true, Ordering::SeqCst);
    let lost = call.send(&losing).await;
    assert_eq!(lost.status, 503, "{}", lost.text);
    lose.0.writes.store(false, Ordering::SeqCst);

    // The reinstatement and its answer were one write: the retry answers it again,
    // never "Coupon is not used".
    let retry = call.send(&env.deps).await;
    retry
        .assert_ok(&json!({ "reinstated": true, "coupon": { "code": "COUP-XY12", "status": "active", "value": 200 } }));
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    // Active once: usable again, and a reinstatement under a new key finds it unused.
    Call::reinstate(t.slug())
        .key(&t.live)
        .header("Idempotency-Key", "void-2")
        .json(&json!({ "code": "COUP-XY12" }))
        .send(&env.deps)
        .await
        .assert_error(400, "Coupon is not used");
    env.redeem(&t, &t.live, "COUP-XY12").await.assert_ok(&json!({ "valid": true }));
}

#[tokio::test]
async fn a_refund_names_the_bills_coupon_and_leaves_it_used() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.seed_member(&t, MOBILE, "Ravi Kumar", "34").await;
    env.issue_coupon(&t, MOBILE, "200", date(2026, 12, 31), Some("COUP-XY12")).await;
    let bill = json!({ "mobile": MOBILE, "amount": 500, "external_ref": "INV-V1", "coupon_code": "COUP-XY12" });
    env.bill(&t, bill).await.assert_ok(&json!({ "coupon": { "value": 200 } }));

    // The whole bill refunded (a voided sale): the answer says which coupon it used; the
    // coupon stays used until the same key reinstates it.
    let refund = Call::new(Route::Refund, t.slug())
        .key(&t.live)
        .json(&json!({ "external_ref": "INV-V1", "amount": 500, "refund_ref": "VOID-1" }))
        .send(&env.deps)
        .await;
    refund.assert_ok(&json!({
        "remaining_refundable": 0,
        "coupon": { "valid": true, "value": 200, "coupon": { "code": "COUP-XY12", "status": "used" } }
    }));
    env.redeem(&t, &t.live, "COUP-XY12").await.assert_error(400, "Coupon is used");
    let reinstated = Call::reinstate(t.slug()).key(&t.live).json(&json!({ "code": "COUP-XY12" })).send(&env.deps).await;
    reinstated.assert_ok(&json!({ "reinstated": true, "coupon": { "status": "active" } }));
    assert_eq!(reinstated.body.get("sandbox"), None);
    env.redeem(&t, &t.live, "COUP-XY12").await.assert_ok(&json!({ "valid": true }));
}
