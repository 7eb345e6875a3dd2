//! The Public Loyalty dialect (`/v1/public/loyalty/...`): balance, earn, rewards, redeem
//! and verify, their envelopes `{"result": "success", "data": ...}` and
//! `{"result": "error", "error": {"code", "message"}}`, keys, scopes and sandbox.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Duration;
use loyalty::keys::{generate_key, KeyMode, Scope};
use loyalty::model::{CodeKind, Reward};
use loyalty_admin as admin;
use serde_json::{json, Value};

use super::support::{attr_n, concurrently, instant, Call, Reply, Route, Tenant, TestEnv};

pub(super) async fn earn(env: &TestEnv, key: &str, body: Value) -> Reply {
    Call::public(Route::Earn).key(key).json(&body).send(&env.deps).await
}

pub(super) async fn balance(env: &TestEnv, key: &str, email: &str) -> Reply {
    Call::public(Route::Balance).key(key).query("email", email).send(&env.deps).await
}

pub(super) async fn redeem_reward(env: &TestEnv, key: &str, email: &str, reward_id: &str) -> Reply {
    Call::public(Route::RewardRedeem)
        .key(key)
        .json(&json!({ "email": email, "rewardId": reward_id }))
        .send(&env.deps)
        .await
}

pub(super) async fn verify(env: &TestEnv, key: &str, code: &str) -> Reply {
    Call::verify(code).key(key).send(&env.deps).await
}

async fn rewards(env: &TestEnv, key: &str) -> Reply {
    Call::public(Route::Rewards).key(key).send(&env.deps).await
}

/// Enrols `email` through a live earn of `amount` (₹; 100 points per ₹1 at Silver).
pub(super) async fn seed_by_email(env: &TestEnv, t: &Tenant, email: &str, name: &str, amount: Value) -> Reply {
    let reply = earn(env, &t.live, json!({ "email": email, "name": name, "amount": amount })).await;
    assert_eq!(reply.status, 200, "seeding earn failed: {}", reply.text);
    reply
}

/// A voucher code as the product generates them: `VOUCH-` and 8 characters without
/// look-alikes.
pub(super) fn assert_voucher_code(code: &str) {
    let suffix = code.strip_prefix("VOUCH-").unwrap_or_else(|| panic!("{code} does not start with VOUCH-"));
    assert_eq!(suffix.len(), 8, "{code}");
    assert!(suffix.bytes().all(|b| b"ABCDEFGHJKMNPQRSTUVWXYZ23456789".contains(&b)), "{code}");
}

#[tokio::test]
async fn balance_reports_points_and_tier_by_email_in_any_case() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.add_demo_rewards(&t).await;
    seed_by_email(&env, &t, "Ravi.Kumar@Example.com", "Ravi Kumar", json!(34)).await;

    let reply = balance(&env, &t.live, "ravi.kumar@example.com").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let data = &reply.body["data"];
    assert_eq!(
        [
            &data["customerName"],
            &data["tierName"],
            &data["tierColor"],
            &data["pointsBalance"],
            &data["lifetimePoints"],
            &data["pointsName"]
        ],
        [&json!("Ravi Kumar"), &json!("Silver"), &json!("#C0C0C0"), &json!(3400), &json!(3400), &json!("Points")],
        "{}",
        reply.text
    );
    let mut keys: Vec<&String> = reply.body.as_object().expect("an object").keys().collect();
    keys.sort();
    assert_eq!(keys, ["data", "result"], "a live answer is exactly the envelope: {}", reply.text);
    assert_eq!(reply.body["result"], json!("success"));

    // Any spelling of the address finds the same member.
    for spelling in ["RAVI.KUMAR@EXAMPLE.COM", "  Ravi.Kumar@example.COM ", "ravi.kumar@EXAMPLE.com"] {
        let again = balance(&env, &t.live, spelling).await;
        assert_eq!(again.body, reply.body, "{spelling}");
    }

    // Tier comes from lifetime points: Gold from 200,000; spending does not demote.
    seed_by_email(&env, &t, "ravi.kumar@example.com", "", json!(1966)).await;
    balance(&env, &t.live, "ravi.kumar@example.com").await.assert_success(&json!({
        "customerName": "Ravi Kumar",
        "tierName": "Gold",
        "tierColor": "#FFD700",
        "pointsBalance": 200_000,
        "lifetimePoints": 200_000
    }));
    redeem_reward(&env, &t.live, "ravi.kumar@example.com", "rwd-002").await.assert_success(&json!({
        "pointsSpent": 20_000,
        "newBalance": 180_000
    }));
    balance(&env, &t.live, "ravi.kumar@example.com").await.assert_success(&json!({
        "tierName": "Gold",
        "tierColor": "#FFD700",
        "pointsBalance": 180_000,
        "lifetimePoints": 200_000,
        "pointsName": "Points"
    }));
}

#[tokio::test]
async fn balance_errors_use_the_public_error_body() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    seed_by_email(&env, &t, "ravi@example.com", "Ravi", json!(1)).await;

    balance(&env, &t.live, "nobody@example.com").await.assert_public_error(404, "not_found", "Customer not found");
    Call::public(Route::Balance).key(&t.live).send(&env.deps).await.assert_public_error(
        400,
        "invalid_request",
        "email is required",
    );
    balance(&env, &t.live, "").await.assert_public_error(400, "invalid_request", "email is required");
    for bad in ["not-an-email", "ravi@", "@example.com", "ravi@example", "ra vi@example.com"] {
        balance(&env, &t.live, bad).await.assert_public_error(
            400,
            "invalid_request",
            "email must be a valid email address",
        );
    }
}

#[tokio::test]
async fn earn_awards_points_with_the_tier_multiplier_as_a_number() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let before = env.member_count().await;

    // The reference page's request, for an email nobody has: enrolled.
    let first = earn(
        &env,
        &t.live,
        json!({
            "email": "john@example.com",
            "amount": 150.00,
            "reference": "ORD-2026-0042",
            "description": "Online purchase"
        }),
    )
    .await;
    first.assert_success(&json!({
        "pointsEarned": 15_000,
        "multiplierApplied": 1,
        "newBalance": 15_000,
        "tierName": "Silver",
        "reference": "ORD-2026-0042",
        "tierUpgraded": false
    }));
    assert_eq!(first.header("idempotent-replayed"), None);
    assert_eq!(first.body.get("sandbox"), None);
    let customer_id = first.data_str("customerId").to_owned();
    assert!(uuid::Uuid::parse_str(first.data_str("transactionId")).is_ok(), "{}", first.text);
    assert_eq!(env.member_count().await, before + 1, "the unknown email was enrolled");

    // 184,999 more (another spelling of the same address): one point short of Gold.
    earn(&env, &t.live, json!({ "email": "JOHN@example.com", "amount": 1849.99 })).await.assert_success(&json!({
        "pointsEarned": 184_999,
        "multiplierApplied": 1,
        "newBalance": 199_999,
        "tierName": "Silver",
        "customerId": customer_id
    }));
    // Crossing into Gold: earned at Silver's rate, answered with the new tier.
    earn(&env, &t.live, json!({ "email": "john@example.com", "amount": 0.01 })).await.assert_success(&json!({
        "pointsEarned": 1,
        "multiplierApplied": 1,
        "newBalance": 200_000,
        "tierName": "Gold",
        "tierUpgraded": true
    }));
    // At Gold: 1.25x, shown as the JSON number 1.25.
    let gold = earn(&env, &t.live, json!({ "email": "john@example.com", "amount": 100 })).await;
    gold.assert_success(&json!({
        "pointsEarned": 12_500,
        "multiplierApplied": 1.25,
        "newBalance": 212_500,
        "tierName": "Gold",
        "tierUpgraded": false
    }));
    assert!(gold.text.contains(r#""multiplierApplied":1.25,"#), "a number, not a string: {}", gold.text);

    assert_eq!(env.member_count().await, before + 1, "one member, whatever the spelling");
    let ledger = env.ledger(&customer_id).await;
    assert_eq!(ledger.len(), 4, "one ledger entry per earn");
    balance(&env, &t.live, "john@example.com").await.assert_success(&json!({
        "pointsBalance": 212_500,
        "lifetimePoints": 212_500,
        "tierName": "Gold"
    }));
}

#[tokio::test]
async fn a_repeated_reference_replays_and_another_sale_on_it_is_409() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    seed_by_email(&env, &t, "asha@example.com", "Asha", json!(1)).await;
    let body = json!({ "email": "ravi@example.com", "amount": 150, "reference": "ORD-1" });

    let first = earn(&env, &t.live, body.clone()).await;
    first.assert_success(&json!({ "pointsEarned": 15_000, "newBalance": 15_000 }));
    let customer_id = first.data_str("customerId").to_owned();
    let after_first = env.scan().await;

    let again = earn(&env, &t.live, body).await;
    again.assert_success(&json!({
        "pointsEarned": 15_000,
        "multiplierApplied": 1,
        "newBalance": 15_000,
        "tierName": "Silver",
        "transactionId": first.data_str("transactionId"),
        "customerId": customer_id,
        "reference": "ORD-1"
    }));
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    // The same amount spelled differently is the same sale.
    let spelled =
        earn(&env, &t.live, json!({ "email": "Ravi@Example.com", "amount": 150.00, "reference": "ORD-1" })).await;
    spelled.assert_success(&json!({ "transactionId": first.data_str("transactionId"), "newBalance": 15_000 }));
    assert_eq!(spelled.header("idempotent-replayed"), Some("true"));
    assert_eq!(env.scan().await, after_first, "a replay writes nothing");

    let conflict = "reference ORD-1 was already used for a different sale";
    earn(&env, &t.live, json!({ "email": "ravi@example.com", "amount": 151, "reference": "ORD-1" }))
        .await
        .assert_public_error(409, "reference_conflict", conflict);
    earn(&env, &t.live, json!({ "email": "asha@example.com", "amount": 150, "reference": "ORD-1" }))
        .await
        .assert_public_error(409, "reference_conflict", conflict);
    earn(&env, &t.live, json!({ "email": "new@example.com", "amount": 150, "reference": "ORD-1" }))
        .await
        .assert_public_error(409, "reference_conflict", conflict);
    assert_eq!(env.scan().await, after_first, "a conflicting earn writes nothing, enrols nobody");
    balance(&env, &t.live, "ravi@example.com").await.assert_success(&json!({ "pointsBalance": 15_000 }));
    balance(&env, &t.live, "new@example.com").await.assert_public_error(404, "not_found", "Customer not found");
}

#[tokio::test]
async fn bad_earn_input_is_400_and_writes_nothing() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let before = env.scan().await;

    let cases = [
        (r#"{"email": "ravi@example.com", "amount": 1.005}"#, "amount must have at most 2 decimal places"),
        (r#"{"email": "ravi@example.com", "amount": 0}"#, "amount must be greater than zero"),
        (r#"{"email": "ravi@example.com", "amount": -5}"#, "amount must be greater than zero"),
        (r#"{"email": "ravi@example.com", "amount": "150"}"#, "amount must be a number"),
        (r#"{"email": "ravi@example.com", "amount": 10000000.01}"#, "amount must be at most 10000000"),
        (r#"{"email": "ravi@example.com"}"#, "amount is required"),
        (r#"{"email": "ravi@example.com", "amount": null}"#, "amount is required"),
        (r#"{"amount": 10}"#, "email is required"),
        (r#"{"email": "ravi", "amount": 10}"#, "email must be a valid email address"),
        (r#"{"email": 42, "amount": 10}"#, "email must be a string"),
        (r#"{"email": "ravi@example.com", "amount": 10, "preview": "yes"}"#, "preview must be true or false"),
        ("[]", "Request body must be a JSON object"),
    ];
    for (body, message) in cases {
        let reply = Call::public(Route::Earn).key(&t.live).body(body).send(&env.deps).await;
        reply.assert_public_error(400, "invalid_request", message);
    }
    let long = json!({ "email": "ravi@example.com", "amount": 10, "reference": "R".repeat(129) });
    earn(&env, &t.live, long).await.assert_public_error(
        400,
        "invalid_request",
        "reference may be at most 128 characters",
    );
    assert_eq!(env.scan().await, before, "refused earns write nothing");
}

#[tokio::test]
async fn rewards_lists_active_rewards_cheapest_first() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;

    rewards(&env, &t.live).await.assert_success(&json!([]));

    // Added most expensive first, and one cheap reward whose id sorts last.
    for reward in admin::demo_rewards().into_iter().rev() {
        admin::add_reward(&env.deps, &t.slug, &reward).await.expect("add reward");
    }
    let cheap = Reward {
        public_id: "zz-sticker".into(),
        name: "Sticker".into(),
        description: "A sticker".into(),
        points_cost: 100,
        kind: CodeKind::Service,
        value_minor: 0,
        discount_percent: None,
        active: true,
    };
    admin::add_reward(&env.deps, &t.slug, &cheap).await.expect("add reward");

    let reply = rewards(&env, &t.live).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!({
            "result": "success",
            "data": [
                {
                    "publicId": "zz-sticker",
                    "name": "Sticker",
                    "description": "A sticker",
                    "pointsCost": 100,
                    "rewardType": "service"
                },
                {
                    "publicId": "rwd-001",
                    "name": "Free Masala Chai",
                    "description": "A complimentary masala chai",
                    "pointsCost": 5000,
                    "rewardType": "service"
                },
                {
                    "publicId": "rwd-002",
                    "name": "10% Discount Voucher",
                    "description": "10% off your next bill",
                    "pointsCost": 20_000,
                    "rewardType": "discount",
                    "discountPercent": 10
                },
                {
                    "publicId": "rwd-003",
                    "name": "Rs 500 Off Voucher",
                    "description": "Rs 500 off a bill of Rs 1500 or more",
                    "pointsCost": 500_000,
                    "rewardType": "voucher",
                    "value": 500
                },
                {
                    "publicId": "rwd-004",
                    "name": "Dinner for Two",
                    "description": "Chef's tasting menu for two",
                    "pointsCost": 5_000_000,
                    "rewardType": "service"
                }
            ]
        })
    );

    // Archived rewards leave the catalog.
    admin::archive_reward(&env.deps, &t.slug, "rwd-002").await.expect("archive");
    admin::archive_reward(&env.deps, &t.slug, "zz-sticker").await.expect("archive");
    let reply = rewards(&env, &t.live).await;
    let ids: Vec<&str> = reply.body["data"]
        .as_array()
        .expect("an array")
        .iter()
        .map(|r| r["publicId"].as_str().expect("publicId"))
        .collect();
    assert_eq!(ids, ["rwd-001", "rwd-003", "rwd-004"], "{}", reply.text);

    // Another tenant's catalog is its own.
    let other = env.tenant("other-place").await;
    rewards(&env, &other.live).await.assert_success(&json!([]));
}

#[tokio::test]
async fn redeem_debits_the_exact_cost_and_issues_a_voucher() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.add_demo_rewards(&t).await;
    let seeded = seed_by_email(&env, &t, "ravi@example.com", "Ravi", json!(250)).await;
    let customer_id = seeded.data_str("customerId").to_owned();

    let reply = redeem_reward(&env, &t.live, "Ravi@Example.com", "rwd-002").await;
    reply.assert_success(&json!({
        "rewardName": "10% Discount Voucher",
        "pointsSpent": 20_000,
        "newBalance": 5000,
        "expiresAt": "2026-04-14T06:30:00Z",
        "rewardType": "discount",
        "discountPercent": 10
    }));
    assert!(uuid::Uuid::parse_str(reply.data_str("redemptionId")).is_ok(), "{}", reply.text);
    let code = reply.data_str("voucherCode").to_owned();
    assert_voucher_code(&code);
    assert_eq!(reply.body.get("sandbox"), None);

    balance(&env, &t.live, "ravi@example.com").await.assert_success(&json!({
        "pointsBalance": 5000,
        "lifetimePoints": 25_000,
        "tierName": "Silver"
    }));
    let ledger = env.ledger(&customer_id).await;
    assert_eq!(ledger.len(), 2, "earn and redeem");
    let redeem =
        ledger.iter().find(|e| e.get("type") == Some(&AttributeValue::S("redeem".into()))).expect("a redeem entry");
    assert_eq!(attr_n(redeem, "points"), -20_000);
    assert_eq!(attr_n(redeem, "balance_after"), 5000);

    verify(&env, &t.live, &code).await.assert_success(&json!({
        "valid": true,
        "voucherCode": code,
        "rewardName": "10% Discount Voucher",
        "rewardType": "discount",
        "status": "pending",
        "redeemedAt": "2026-03-15T06:30:00Z",
        "expiresAt": "2026-04-14T06:30:00Z"
    }));

    // A second redemption of another reward: another voucher, the exact cost again.
    let chai = redeem_reward(&env, &t.live, "ravi@example.com", "rwd-001").await;
    chai.assert_success(&json!({
        "rewardName": "Free Masala Chai",
        "pointsSpent": 5000,
        "newBalance": 0,
        "rewardType": "service"
    }));
    assert_eq!(chai.body["data"].get("discountPercent"), None, "{}", chai.text);
    assert_ne!(chai.data_str("voucherCode"), code);
}

#[tokio::test]
async fn insufficient_points_is_422_and_writes_nothing() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.add_demo_rewards(&t).await;
    seed_by_email(&env, &t, "ravi@example.com", "Ravi", json!(49.99)).await;
    let before = env.scan().await;

    redeem_reward(&env, &t.live, "ravi@example.com", "rwd-001").await.assert_public_error(
        422,
        "insufficient_points",
        "Insufficient points: balance 4999, needed 5000",
    );
    assert_eq!(env.scan().await, before, "no debit, no voucher, no ledger entry");

    // One more point and exactly the cost is enough, down to zero.
    seed_by_email(&env, &t, "ravi@example.com", "", json!(0.01)).await;
    redeem_reward(&env, &t.live, "ravi@example.com", "rwd-001")
        .await
        .assert_success(&json!({ "pointsSpent": 5000, "newBalance": 0 }));
    let before = env.scan().await;
    redeem_reward(&env, &t.live, "ravi@example.com", "rwd-001").await.assert_public_error(
        422,
        "insufficient_points",
        "Insufficient points: balance 0, needed 5000",
    );
    assert_eq!(env.scan().await, before);
    balance(&env, &t.live, "ravi@example.com").await.assert_success(&json!({ "pointsBalance": 0 }));
}

#[tokio::test]
async fn redeem_answers_404_for_unknown_or_archived_rewards_and_unknown_members() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.add_demo_rewards(&t).await;
    seed_by_email(&env, &t, "ravi@example.com", "Ravi", json!(1000)).await;
    admin::archive_reward(&env.deps, &t.slug, "rwd-002").await.expect("archive");
    let before = env.scan().await;

    redeem_reward(&env, &t.live, "ravi@example.com", "rwd-999").await.assert_public_error(
        404,
        "not_found",
        "Reward not found",
    );
    redeem_reward(&env, &t.live, "ravi@example.com", "rwd-002").await.assert_public_error(
        404,
        "not_found",
        "Reward not found",
    );
    redeem_reward(&env, &t.live, "nobody@example.com", "rwd-001").await.assert_public_error(
        404,
        "not_found",
        "Customer not found",
    );
    let missing = Call::public(Route::RewardRedeem).key(&t.live).json(&json!({ "email": "ravi@example.com" }));
    missing.send(&env.deps).await.assert_public_error(400, "invalid_request", "rewardId is required");
    let missing = Call::public(Route::RewardRedeem).key(&t.live).json(&json!({ "rewardId": "rwd-001" }));
    missing.send(&env.deps).await.assert_public_error(400, "invalid_request", "email is required");
    assert_eq!(env.scan().await, before, "nothing written, nobody enrolled");

    // Another tenant's reward id is unknown here.
    let other = env.tenant("other-place").await;
    let mut own = admin::demo_rewards()[0].clone();
    own.public_id = "other-only".into();
    admin::add_reward(&env.deps, &other.slug, &own).await.expect("add reward");
    redeem_reward(&env, &t.live, "ravi@example.com", "other-only").await.assert_public_error(
        404,
        "not_found",
        "Reward not found",
    );
}

#[tokio::test]
async fn verify_reports_the_state_and_never_consumes() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.add_demo_rewards(&t).await;
    seed_by_email(&env, &t, "ravi@example.com", "Ravi", json!(100)).await;
    let first = redeem_reward(&env, &t.live, "ravi@example.com", "rwd-001").await;
    let code = first.data_str("voucherCode").to_owned();
    let before = env.scan().await;

    let pending = json!({
        "result": "success",
        "data": {
            "valid": true,
            "voucherCode": code,
            "rewardName": "Free Masala Chai",
            "rewardType": "service",
            "status": "pending",
            "redeemedAt": "2026-03-15T06:30:00Z",
            "expiresAt": "2026-04-14T06:30:00Z"
        }
    });
    for _ in 0..3 {
        let reply = verify(&env, &t.live, &code).await;
        assert_eq!((reply.status, &reply.body), (200, &pending), "{}", reply.text);
    }
    // The path's code in lower case is the same code; the read-only key may verify.
    let lower = verify(&env, &t.read_only, &code.to_ascii_lowercase()).await;
    assert_eq!((lower.status, &lower.body), (200, &pending), "{}", lower.text);
    assert_eq!(env.scan().await, before, "verifying writes nothing");

    // Used at the till an hour later: used, with when.
    env.advance(Duration::hours(1));
    env.redeem(&t, &t.live, &code).await.assert_ok(&json!({ "valid": true, "value": 0, "reward_type": "service" }));
    verify(&env, &t.live, &code).await.assert_success(&json!({
        "valid": false,
        "voucherCode": code,
        "status": "used",
        "redeemedAt": "2026-03-15T06:30:00Z",
        "usedAt": "2026-03-15T07:30:00Z"
    }));

    // Another voucher, left unused until its expiry instant.
    let second = redeem_reward(&env, &t.live, "ravi@example.com", "rwd-001").await;
    let unused = second.data_str("voucherCode").to_owned();
    assert_eq!(second.data_str("expiresAt"), "2026-04-14T07:30:00Z");
    env.clock.set(instant("2026-04-14T07:29:59Z"));
    verify(&env, &t.live, &unused).await.assert_success(&json!({ "valid": true, "status": "pending" }));
    env.clock.set(instant("2026-04-14T07:30:00Z"));
    let expired = verify(&env, &t.live, &unused).await;
    expired.assert_success(&json!({ "valid": false, "status": "expired", "expiresAt": "2026-04-14T07:30:00Z" }));
    assert_eq!(expired.body["data"].get("usedAt"), None, "{}", expired.text);

    verify(&env, &t.live, "VOUCH-NOPE2345").await.assert_public_error(404, "not_found", "Voucher not found");
    verify(&env, &t.live, "!!").await.assert_public_error(404, "not_found", "Voucher not found");
    let other = env.tenant("other-place").await;
    verify(&env, &other.live, &code).await.assert_public_error(404, "not_found", "Voucher not found");
}

#[tokio::test]
async fn bad_keys_get_the_public_401_on_every_public_route() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.add_demo_rewards(&t).await;
    seed_by_email(&env, &t, "ravi@example.com", "Ravi", json!(100)).await;
    let revoked = env.issue_key(&t.slug, KeyMode::Live, Scope::ALL.to_vec()).await;
    env.store.revoke_key(&revoked.record.key_id, env.now()).await.expect("revoke").expect("the key exists");
    let secret = t.live.strip_prefix("mg_live_").expect("a live key");
    let before = env.scan().await;

    let keys: Vec<(&str, Option<String>)> = vec![
        ("no key", None),
        ("empty key", Some(String::new())),
        ("bearer", Some(format!("Bearer {}", t.live))),
        ("unknown live key", Some(generate_key(KeyMode::Live, &t.slug).plain)),
        ("unknown test key", Some(generate_key(KeyMode::Test, &t.slug).plain)),
        ("live secret as a test key", Some(format!("mg_test_{secret}"))),
        ("revoked key", Some(revoked.plain.clone())),
    ];
    let unauthorized = json!({
        "result": "error",
        "error": { "code": "unauthorized", "message": "Missing or invalid API key" }
    });
    for route in Route::EVERY.into_iter().filter(|r| r.is_public()) {
        for (what, key) in &keys {
            let mut call = match route {
                Route::Verify => Call::verify("VOUCH-ABCDEFGH"),
                _ => Call::public(route),
            };
            call = match route {
                Route::Balance | Route::PublicTransactions => call.query("email", "ravi@example.com"),
                Route::Earn => call.json(&json!({ "email": "ravi@example.com", "amount": 10 })),
                Route::RewardRedeem => call.json(&json!({ "email": "ravi@example.com", "rewardId": "rwd-001" })),
                Route::PublicRefund => {
                    call.json(&json!({ "reference": "ORD-1", "amount": 1, "refundReference": "RET-1" }))
                }
                _ => call,
            };
            if let Some(key) = key {
                call = call.key(key);
            }
            let reply = call.send(&env.deps).await;
            assert_eq!((reply.status, &reply.body), (401, &unauthorized), "{route:?} with {what}: {}", reply.text);
        }
    }
    assert_eq!(env.scan().await, before, "refused requests write nothing");
}

#[tokio::test]
async fn a_read_only_key_is_403_on_earn_and_redeem_and_reads_fine() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.add_demo_rewards(&t).await;
    seed_by_email(&env, &t, "ravi@example.com", "Ravi", json!(100)).await;
    let before = env.scan().await;
    let forbidden = "API key missing required scope: write:transactions";

    earn(&env, &t.read_only, json!({ "email": "ravi@example.com", "amount": 10 })).await.assert_public_error(
        403,
        "forbidden",
        forbidden,
    );
    redeem_reward(&env, &t.read_only, "ravi@example.com", "rwd-001").await.assert_public_error(
        403,
        "forbidden",
        forbidden,
    );
    // The scope is checked before the input.
    earn(&env, &t.read_only, json!({ "amount": -1 })).await.assert_public_error(403, "forbidden", forbidden);
    assert_eq!(env.scan().await, before);

    balance(&env, &t.read_only, "ravi@example.com").await.assert_success(&json!({ "pointsBalance": 10_000 }));
    rewards(&env, &t.read_only).await.assert_success(&json!([{}, {}, {}, {}]));

    // A write-only key cannot read.
    let write_only = env.issue_key(&t.slug, KeyMode::Live, vec![Scope::WriteTransactions]).await;
    balance(&env, &write_only.plain, "ravi@example.com").await.assert_public_error(
        403,
        "forbidden",
        "API key missing required scope: read:customers",
    );
}

#[tokio::test]
async fn the_reference_pages_header_spelling_works() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.add_demo_rewards(&t).await;

    let reply = Call::public(Route::Earn)
        .header("X-Api-Key", &t.live)
        .json(&json!({ "email": "ravi@example.com", "amount": 100 }))
        .send(&env.deps)
        .await;
    reply.assert_success(&json!({ "pointsEarned": 10_000 }));
    for header in ["X-Api-Key", "x-api-key", "X-API-KEY"] {
        let reply = Call::public(Route::Balance)
            .header(header, &t.live)
            .query("email", "ravi@example.com")
            .send(&env.deps)
            .await;
        reply.assert_success(&json!({ "pointsBalance": 10_000 }));
    }
    let reply = Call::public(Route::Rewards).header("X-Api-Key", &t.live).send(&env.deps).await;
    assert_eq!(reply.body["data"].as_array().map(Vec::len), Some(4), "{}", reply.text);
}

#[tokio::test]
async fn a_sandbox_key_reads_real_data_and_writes_nothing() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.add_demo_rewards(&t).await;
    let seeded = seed_by_email(&env, &t, "ravi@example.com", "Ravi", json!(100)).await;
    let live_voucher = redeem_reward(&env, &t.live, "ravi@example.com", "rwd-001").await;
    let live_code = live_voucher.data_str("voucherCode").to_owned();
    let before = env.scan().await;

    let sandboxed = |reply: &Reply| {
        assert_eq!(reply.body["sandbox"], json!(true), "sandbox beside result: {}", reply.text);
        assert_eq!(reply.body["result"], json!("success"), "{}", reply.text);
        if let Some(data) = reply.body["data"].as_object() {
            assert_eq!(data.get("sandbox"), None, "not inside data: {}", reply.text);
        }
    };

    let reply = balance(&env, &t.test, "ravi@example.com").await;
    reply.assert_success(&json!({ "customerName": "Ravi", "pointsBalance": 5000 }));
    sandboxed(&reply);

    let reply = earn(&env, &t.test, json!({ "email": "ravi@example.com", "amount": 100, "reference": "SBX-1" })).await;
    reply.assert_success(&json!({
        "pointsEarned": 10_000,
        "newBalance": 15_000,
        "customerId": seeded.data_str("customerId")
    }));
    sandboxed(&reply);
    let reply = earn(&env, &t.test, json!({ "email": "new@example.com", "amount": 1 })).await;
    reply.assert_success(&json!({ "pointsEarned": 100, "newBalance": 100 }));
    sandboxed(&reply);

    let reply = redeem_reward(&env, &t.test, "ravi@example.com", "rwd-001").await;
    reply.assert_success(&json!({ "rewardName": "Free Masala Chai", "pointsSpent": 5000, "newBalance": 0 }));
    sandboxed(&reply);
    let sandbox_code = reply.data_str("voucherCode").to_owned();
    assert_voucher_code(&sandbox_code);
    redeem_reward(&env, &t.test, "ravi@example.com", "rwd-002").await.assert_public_error(
        422,
        "insufficient_points",
        "Insufficient points: balance 5000, needed 20000",
    );

    let reply = rewards(&env, &t.test).await;
    assert_eq!(reply.body["data"].as_array().map(Vec::len), Some(4), "{}", reply.text);
    sandboxed(&reply);
    let reply = verify(&env, &t.test, &live_code).await;
    reply.assert_success(&json!({ "status": "pending", "valid": true }));
    sandboxed(&reply);

    assert_eq!(env.scan().await, before, "the sandbox wrote nothing");
    verify(&env, &t.live, &sandbox_code).await.assert_public_error(404, "not_found", "Voucher not found");
    balance(&env, &t.live, "ravi@example.com").await.assert_success(&json!({ "pointsBalance": 5000 }));
    balance(&env, &t.live, "new@example.com").await.assert_public_error(404, "not_found", "Customer not found");
    // A live earn on the sandbox's reference is a first sale.
    let live = earn(&env, &t.live, json!({ "email": "ravi@example.com", "amount": 100, "reference": "SBX-1" })).await;
    live.assert_success(&json!({ "newBalance": 15_000 }));
    assert_eq!(live.header("idempotent-replayed"), None);
}

#[tokio::test]
async fn twenty_concurrent_redemptions_spend_exactly_the_balance() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.add_demo_rewards(&t).await;
    // 50,000 points: exactly ten Free Masala Chai at 5,000.
    let seeded = seed_by_email(&env, &t, "ravi@example.com", "Ravi", json!(500)).await;
    let customer_id = seeded.data_str("customerId").to_owned();

    let call = Call::public(Route::RewardRedeem)
        .key(&t.live)
        .json(&json!({ "email": "ravi@example.com", "rewardId": "rwd-001" }));
    let replies = concurrently(&env.deps, vec![call; 20]).await;

    let ok: Vec<&Reply> = replies.iter().filter(|r| r.status == 200).collect();
    let refused: Vec<&Reply> = replies.iter().filter(|r| r.status == 422).collect();
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!((ok.len(), refused.len()), (10, 10), "statuses: {statuses:?}");
    for reply in &refused {
        assert_eq!(reply.body["error"]["code"], json!("insufficient_points"), "{}", reply.text);
    }
    let mut balances: Vec<i64> = ok.iter().map(|r| r.data_int("newBalance")).collect();
    balances.sort_unstable();
    assert_eq!(balances, (0..10).map(|i| i * 5000).collect::<Vec<_>>(), "each debit saw the one before it");
    let mut codes: Vec<&str> = ok.iter().map(|r| r.data_str("voucherCode")).collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), 10, "ten distinct vouchers");

    balance(&env, &t.live, "ravi@example.com").await.assert_success(&json!({
        "pointsBalance": 0,
        "lifetimePoints": 50_000
    }));
    let items = env.scan().await;
    let vouchers = items.iter().filter(|i| i.get("SK") == Some(&AttributeValue::S("CODE".into()))).count();
    assert_eq!(vouchers, 10, "ten vouchers exist");
    let ledger = env.ledger(&customer_id).await;
    assert_eq!(ledger.len(), 11, "one earn, ten redemptions");
    let mut after: Vec<i64> = ledger.iter().map(|e| attr_n(e, "balance_after")).collect();
    after.sort_unstable();
    assert!(after.iter().all(|b| *b >= 0), "never negative: {after:?}");
    assert_eq!(ledger.iter().map(|e| attr_n(e, "points")).sum::<i64>(), 0);
    for code in codes {
        verify(&env, &t.live, code).await.assert_success(&json!({ "status": "pending" }));
    }
}

#[tokio::test]
async fn a_redemption_reference_replays_the_same_voucher_and_conflicts_on_another() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.add_demo_rewards(&t).await;
    seed_by_email(&env, &t, "ravi@example.com", "Ravi", json!(100)).await;
    seed_by_email(&env, &t, "asha@example.com", "Asha", json!(100)).await;
    let redeem = |email: &str, reward: &str| {
        Call::public(Route::RewardRedeem)
            .key(&t.live)
            .json(&json!({ "email": email, "rewardId": reward, "reference": "ORDER-77" }))
    };

    let first = redeem("ravi@example.com", "rwd-001").send(&env.deps).await;
    first.assert_success(&json!({ "pointsSpent": 5_000, "newBalance": 5_000 }));
    assert_eq!(first.header("idempotent-replayed"), None);
    let again = redeem("ravi@example.com", "rwd-001").send(&env.deps).await;
    assert_eq!((again.status, &again.body), (200, &first.body), "the same voucher");
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(balance(&env, &t.live, "ravi@example.com").await.data_int("pointsBalance"), 5_000, "spent once");

    let conflict = "reference ORDER-77 was already used for a different redemption";
    redeem("ravi@example.com", "rwd-002").send(&env.deps).await.assert_public_error(
        409,
        "reference_conflict",
        conflict,
    );
    redeem("asha@example.com", "rwd-001").send(&env.deps).await.assert_public_error(
        409,
        "reference_conflict",
        conflict,
    );
    assert_eq!(balance(&env, &t.live, "asha@example.com").await.data_int("pointsBalance"), 10_000);
    // Without a reference, as before: each call is a redemption of its own.
    let other = redeem_reward(&env, &t.live, "ravi@example.com", "rwd-001").await;
    other.assert_success(&json!({ "newBalance": 0 }));
    assert_ne!(other.data_str("voucherCode"), first.data_str("voucherCode"));
    // Archived since: the retry still answers what happened; a new redemption is refused.
    admin::archive_reward(&env.deps, &t.slug, "rwd-001").await.expect("archived");
    let after_archive = redeem("ravi@example.com", "rwd-001").send(&env.deps).await;
    assert_eq!((after_archive.status, &after_archive.body), (200, &first.body), "{}", after_archive.text);
    redeem_reward(&env, &t.live, "ravi@example.com", "rwd-001").await.assert_public_error(
        404,
        "not_found",
        "Reward not found",
    );
}
