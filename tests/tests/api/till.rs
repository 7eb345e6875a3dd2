//! The cashier's features: one-time codes by SMS, points redeemed on a bill, refunds,
//! a member's history, and previews that write nothing.

use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Duration;
use serde_json::{json, Value};

use super::public::{balance, earn, redeem_reward};
use super::support::{attr_n, concurrently, start_time, Call, Item, Reply, Route, Tenant, TestEnv};

const MOBILE: &str = "9876543210";
const EMAIL: &str = "ravi@example.com";

fn otp(t: &Tenant, key: &str, mobile: &str) -> Call {
    Call::new(Route::Otp, t.slug()).key(key).json(&json!({ "mobile": mobile }))
}

/// A refund at the till; a body without its own `refund_ref` gets a new one (a refund
/// needs one, or an `Idempotency-Key`).
fn refund(t: &Tenant, body: Value) -> Call {
    Call::new(Route::Refund, t.slug()).key(&t.live).json(&with_ref(body, "refund_ref"))
}

/// A Public refund; a body without `refundReference` gets a new one.
fn public_refund(t: &Tenant, body: Value) -> Call {
    Call::public(Route::PublicRefund).key(&t.live).json(&with_ref(body, "refundReference"))
}

fn with_ref(mut body: Value, field: &str) -> Value {
    if body.get(field).is_none() {
        body[field] = json!(format!("RET-{}", uuid::Uuid::new_v4()));
    }
    body
}

fn history(t: &Tenant) -> Call {
    Call::new(Route::Transactions, t.slug()).key(&t.live).query("mobile", MOBILE)
}

fn public_history(t: &Tenant) -> Call {
    Call::public(Route::PublicTransactions).key(&t.live).query("email", EMAIL)
}

/// A live bill with a redemption: `amount`, `redeem_points`, `otp`.
fn redeeming_bill(t: &Tenant, amount: Value, points: i64, code: &str) -> Call {
    Call::bill(t.slug()).key(&t.live).json(&json!({
        "mobile": MOBILE,
        "amount": amount,
        "redeem_points": points,
        "otp": code
    }))
}

/// Sends a one-time code to `MOBILE` and returns it, read from the outbox.
async fn send_code(t: &Tenant, deps: &loyalty::Deps, outbox: &super::support::Outbox) -> String {
    otp(t, &t.live, MOBILE).send(deps).await.assert_ok(&json!({ "sent": true }));
    outbox.last_code()
}

/// A six-digit code other than `code`.
fn wrong(code: &str, n: u32) -> String {
    let value: u32 = code.parse().expect("a numeric code");
    format!("{:06}", (value + n) % 1_000_000)
}

/// The table without one-time-code records (a wrong guess is counted there, on purpose:
/// on the code's `OTP` item and on the mobile's `OTPMISS` count of the day).
fn without_otp(items: Vec<Item>) -> Vec<Item> {
    let otp = |i: &Item| matches!(i.get("SK"), Some(AttributeValue::S(sk)) if sk == "OTP" || sk == "OTPMISS");
    items.into_iter().filter(|i| !otp(i)).collect()
}

fn attr_str<'a>(item: &'a Item, name: &str) -> &'a str {
    match item.get(name) {
        Some(AttributeValue::S(v)) => v,
        other => panic!("attribute {name} is not a string: {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// One-time codes

#[tokio::test]
async fn an_otp_goes_by_sms_to_an_enrolled_mobile_only() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.seed_member(&t, MOBILE, "Ravi", "500").await;
    let (deps, outbox) = env.with_outbox();

    let reply = otp(&t, &t.live, "+91 98765 43210").send(&deps).await;
    assert_eq!(
        (reply.status, &reply.body),
        (200, &json!({ "sent": true, "mobile": MOBILE, "expires_in": 300 })),
        "{}",
        reply.text
    );
    let messages = outbox.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let code = outbox.last_code();
    assert_eq!(
        messages[0],
        (MOBILE.to_owned(), format!("{code} is your Spice Garden code to redeem points. It expires in 5 minutes."))
    );
    // Only a hash of the code is stored.
    let record = env.scan().await.into_iter().find(|i| attr_str(i, "SK") == "OTP").expect("an OTP record");
    assert!(!format!("{record:?}").contains(&code), "the code is stored in clear: {record:?}");

    otp(&t, &t.live, "9123456789").send(&deps).await.assert_error(404, "Customer not found");
    Call::new(Route::Otp, t.slug())
        .key(&t.live)
        .json(&json!({}))
        .send(&deps)
        .await
        .assert_error(400, "mobile is required");
    otp(&t, &t.live, "12345").send(&deps).await.assert_error(
        400,
        "mobile must be a 10-digit mobile number, or + and the country code (8 to 15 digits in all)",
    );
    otp(&t, &t.read_only, MOBILE)
        .send(&deps)
        .await
        .assert_error(403, "API key missing required scope: write:transactions");
    assert_eq!(outbox.messages().len(), 1, "no other message was sent");

    // The code unlocks points on a bill.
    redeeming_bill(&t, json!(100), 1000, &code).send(&deps).await.assert_ok(&json!({ "points_redeemed": 1000 }));
}

#[tokio::test]
async fn a_fourth_code_within_ten_minutes_is_429_with_retry_after() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let ravi = env.seed_member(&t, MOBILE, "Ravi", "500").await;
    let (deps, outbox) = env.with_outbox();
    let t0 = start_time();

    let first = send_code(&t, &deps, &outbox).await;
    env.clock.set(t0 + Duration::minutes(1));
    send_code(&t, &deps, &outbox).await;
    env.clock.set(t0 + Duration::minutes(2));
    let third = send_code(&t, &deps, &outbox).await;

    env.clock.set(t0 + Duration::minutes(3));
    let reply = otp(&t, &t.live, MOBILE).send(&deps).await;
    reply.assert_error(429, "Too many requests; retry in 420 s");
    assert_eq!(reply.header("retry-after"), Some("420"));
    env.clock.set(t0 + Duration::minutes(10) - Duration::seconds(1));
    let reply = otp(&t, &t.live, MOBILE).send(&deps).await;
    reply.assert_error(429, "Too many requests; retry in 1 s");
    assert_eq!(reply.header("retry-after"), Some("1"));
    assert_eq!(outbox.messages().len(), 3, "no SMS for a refused request");

    // The window has passed: a new code, and only the newest code is valid.
    env.clock.set(t0 + Duration::minutes(10));
    let fourth = send_code(&t, &deps, &outbox).await;
    assert_eq!(outbox.messages().len(), 4);
    for old in [first, third].into_iter().filter(|c| *c != fourth) {
        redeeming_bill(&t, json!(100), 1000, &old).send(&deps).await.assert_error(400, "Invalid OTP");
    }
    redeeming_bill(&t, json!(100), 1000, &fourth).send(&deps).await.assert_ok(&json!({
        "points_redeemed": 1000,
        "new_balance": 58_000
    }));
    assert_eq!(env.ledger(&ravi.customer_id).await.len(), 3, "the seed, the redemption, the earning");

    // The new window counts from its first code.
    send_code(&t, &deps, &outbox).await;
    send_code(&t, &deps, &outbox).await;
    let reply = otp(&t, &t.live, MOBILE).send(&deps).await;
    assert_eq!((reply.status, reply.header("retry-after")), (429, Some("600")), "{}", reply.text);
}

#[tokio::test]
async fn a_sandbox_otp_sends_nothing_and_000000_works_on_a_sandbox_bill() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.seed_member(&t, MOBILE, "Ravi", "500").await;
    let (deps, outbox) = env.with_outbox();
    let before = env.scan().await;

    for _ in 0..5 {
        let reply = otp(&t, &t.test, MOBILE).send(&deps).await;
        assert_eq!(
            (reply.status, &reply.body),
            (200, &json!({ "sent": true, "mobile": MOBILE, "expires_in": 300, "sandbox": true })),
            "{}",
            reply.text
        );
    }
    assert_eq!(outbox.messages(), Vec::<(String, String)>::new(), "no SMS from the sandbox");
    otp(&t, &t.test, "9123456789").send(&deps).await.assert_error(404, "Customer not found");

    let sandbox_bill = |points: i64, code: Option<&str>| {
        let mut body = json!({ "mobile": MOBILE, "amount": 100, "redeem_points": points });
        if let Some(code) = code {
            body["otp"] = json!(code);
        }
        Call::bill(t.slug()).key(&t.test).json(&body)
    };
    sandbox_bill(2000, Some("000000")).send(&deps).await.assert_ok(&json!({
        "sandbox": true,
        "amount": 100,
        "points_redeemed": 2000,
        "discount": 20,
        "amount_payable": 80,
        "points_earned": 8000,
        "new_balance": 56_000
    }));
    sandbox_bill(2000, Some("123456")).send(&deps).await.assert_error(400, "Invalid OTP");
    sandbox_bill(2000, None).send(&deps).await.assert_error(400, "otp is required to redeem points");
    Call::bill(t.slug())
        .key(&t.test)
        .json(&json!({ "mobile": MOBILE, "amount": 1000, "redeem_points": 60_000, "otp": "000000" }))
        .send(&deps)
        .await
        .assert_error(400, "Insufficient points: balance 50000, needed 60000");
    assert_eq!(env.scan().await, before, "the sandbox wrote nothing");

    // 000000 is no code at all for a live key.
    redeeming_bill(&t, json!(100), 2000, "000000")
        .send(&deps)
        .await
        .assert_error(400, "No OTP pending for this mobile; request a new one");
    assert_eq!(env.scan().await, before);
    assert_eq!(env.balance(&t, MOBILE).await, 50_000);
}

// ---------------------------------------------------------------------------------------
// Points redeemed on a bill

#[tokio::test]
async fn points_redeemed_on_a_bill_discount_it_and_earn_on_what_is_paid() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let ravi = env.seed_member(&t, MOBILE, "Ravi", "500").await;
    let (deps, outbox) = env.with_outbox();
    let code = send_code(&t, &deps, &outbox).await;
    env.advance(Duration::minutes(1));

    // 20,050 points at 100 points per ₹1: ₹200.50 off; points on the ₹799.50 paid.
    let body = json!({
        "mobile": MOBILE,
        "amount": 1000,
        "redeem_points": 20_050,
        "otp": code,
        "external_ref": "INV-9"
    });
    let reply = Call::bill(t.slug()).key(&t.live).json(&body).send(&deps).await;
    reply.assert_ok(&json!({
        "customer_id": ravi.customer_id,
        "amount": 1000,
        "points_redeemed": 20_050,
        "discount": 200.5,
        "amount_payable": 799.5,
        "points_earned": 79_950,
        "new_balance": 109_900,
        "tier": "Silver",
        "external_ref": "INV-9",
        "customer": { "points_balance": 109_900, "lifetime_points": 129_950 }
    }));
    assert!(reply.text.contains(r#""discount":200.5,"amount_payable":799.5,"#), "{}", reply.text);

    let ledger = env.ledger(&ravi.customer_id).await;
    let entries: Vec<(&str, i64, i64)> =
        ledger.iter().map(|e| (attr_str(e, "type"), attr_n(e, "points"), attr_n(e, "balance_after"))).collect();
    assert_eq!(entries, [("earn", 50_000, 50_000), ("redeem", -20_050, 29_950), ("earn", 79_950, 109_900)]);
    assert_eq!(attr_n(&ledger[1], "amount_minor"), 20_050, "the redemption records the discount");
    assert_eq!(attr_n(&ledger[2], "amount_minor"), 100_000, "the earning records the bill");
    env.lookup(&t, MOBILE).await.assert_ok(&json!({ "points_balance": 109_900, "lifetime_points": 129_950 }));

    // The same bill again (a retry) answers the first; the code cannot pay for another.
    let settled = env.scan().await;
    let retry = Call::bill(t.slug()).key(&t.live).json(&body).send(&deps).await;
    retry.assert_ok(&json!({ "transaction_id": reply.str("transaction_id"), "new_balance": 109_900 }));
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    redeeming_bill(&t, json!(100), 1000, &code)
        .send(&deps)
        .await
        .assert_error(400, "No OTP pending for this mobile; request a new one");
    assert_eq!(env.scan().await, settled, "a used code moves nothing");
}

#[tokio::test]
async fn spending_points_needs_the_members_current_otp() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let ravi = env.seed_member(&t, MOBILE, "Ravi", "500").await;
    let (deps, outbox) = env.with_outbox();
    let before = env.scan().await;

    let no_otp = json!({ "mobile": MOBILE, "amount": 100, "redeem_points": 1000 });
    Call::bill(t.slug())
        .key(&t.live)
        .json(&no_otp)
        .send(&deps)
        .await
        .assert_error(400, "otp is required to redeem points");
    redeeming_bill(&t, json!(100), 1000, "123456")
        .send(&deps)
        .await
        .assert_error(400, "No OTP pending for this mobile; request a new one");
    let by_id = json!({ "customer_id": ravi.customer_id, "amount": 100, "redeem_points": 1000, "otp": "123456" });
    Call::bill(t.slug())
        .key(&t.live)
        .json(&by_id)
        .send(&deps)
        .await
        .assert_error(400, "redeem_points needs the member's mobile (the one-time code goes there)");
    for bad in [json!(-1), json!(1.5), json!("1000"), json!(true)] {
        let body = json!({ "mobile": MOBILE, "amount": 100, "redeem_points": bad, "otp": "123456" });
        Call::bill(t.slug())
            .key(&t.live)
            .json(&body)
            .send(&deps)
            .await
            .assert_error(400, "redeem_points must be a whole number of points, 0 or more");
    }
    assert_eq!(env.scan().await, before);

    let code = send_code(&t, &deps, &outbox).await;
    let sent = env.scan().await;
    redeeming_bill(&t, json!(100), 1000, &wrong(&code, 1)).send(&deps).await.assert_error(400, "Invalid OTP");
    assert_eq!(without_otp(env.scan().await), without_otp(sent), "a wrong code moves nothing");
    assert_eq!(env.balance(&t, MOBILE).await, 50_000);

    redeeming_bill(&t, json!(100), 1000, &code).send(&deps).await.assert_ok(&json!({
        "points_redeemed": 1000,
        "discount": 10,
        "amount_payable": 90,
        "points_earned": 9000,
        "new_balance": 58_000
    }));
}

#[tokio::test]
async fn an_otp_expires_after_five_minutes() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.seed_member(&t, MOBILE, "Ravi", "500").await;
    let (deps, outbox) = env.with_outbox();
    let t0 = start_time();

    let stale = send_code(&t, &deps, &outbox).await;
    env.clock.set(t0 + Duration::minutes(5));
    let before = env.scan().await;
    redeeming_bill(&t, json!(100), 1000, &stale).send(&deps).await.assert_error(400, "OTP expired; request a new one");
    assert_eq!(env.scan().await, before, "nothing moves");

    // A fresh code is good until just before its five minutes are up.
    let fresh = send_code(&t, &deps, &outbox).await;
    env.clock.set(t0 + Duration::minutes(10) - Duration::seconds(1));
    redeeming_bill(&t, json!(100), 1000, &fresh).send(&deps).await.assert_ok(&json!({ "new_balance": 58_000 }));
}

#[tokio::test]
async fn five_wrong_codes_lock_the_otp_even_against_the_right_one() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let ravi = env.seed_member(&t, MOBILE, "Ravi", "500").await;
    let (deps, outbox) = env.with_outbox();

    let code = send_code(&t, &deps, &outbox).await;
    for n in 1..=5 {
        redeeming_bill(&t, json!(100), 1000, &wrong(&code, n)).send(&deps).await.assert_error(400, "Invalid OTP");
    }
    redeeming_bill(&t, json!(100), 1000, &code)
        .send(&deps)
        .await
        .assert_error(400, "No attempts left on this OTP; request a new one");
    assert_eq!(env.balance(&t, MOBILE).await, 50_000);
    assert_eq!(env.ledger(&ravi.customer_id).await.len(), 1, "nothing was spent");

    // A new code starts with five attempts again.
    let next = send_code(&t, &deps, &outbox).await;
    redeeming_bill(&t, json!(100), 1000, &wrong(&next, 1)).send(&deps).await.assert_error(400, "Invalid OTP");
    redeeming_bill(&t, json!(100), 1000, &next).send(&deps).await.assert_ok(&json!({ "new_balance": 58_000 }));
}

#[tokio::test]
async fn insufficient_points_or_points_worth_more_than_the_bill_move_nothing() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.seed_member(&t, MOBILE, "Ravi", "50").await;
    let (deps, outbox) = env.with_outbox();
    let code = send_code(&t, &deps, &outbox).await;
    let before = env.scan().await;

    redeeming_bill(&t, json!(100), 6000, &code)
        .send(&deps)
        .await
        .assert_error(400, "Insufficient points: balance 5000, needed 6000");
    assert_eq!(env.scan().await, before, "no debit, and the code is not used up");
    redeeming_bill(&t, json!(10), 1001, &code)
        .send(&deps)
        .await
        .assert_error(400, "redeem_points are worth more than the bill (at most 1000 points on this bill)");
    redeeming_bill(&t, json!(0.5), 51, &code)
        .send(&deps)
        .await
        .assert_error(400, "redeem_points are worth more than the bill (at most 50 points on this bill)");
    assert_eq!(env.scan().await, before);

    // The same code still pays for exactly the whole bill: nothing left to earn on.
    redeeming_bill(&t, json!(10), 1000, &code).send(&deps).await.assert_ok(&json!({
        "amount": 10,
        "points_redeemed": 1000,
        "discount": 10,
        "amount_payable": 0,
        "points_earned": 0,
        "new_balance": 4000
    }));
}

// ---------------------------------------------------------------------------------------
// Refunds

#[tokio::test]
async fn partial_refunds_reverse_points_in_proportion_and_add_up_exactly() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    // (10 + 3 beverages) x 100 = 1,300 points.
    let bill = env
        .bill(
            &t,
            json!({
                "mobile": MOBILE,
                "amount": 10,
                "external_ref": "INV-1",
                "items": [{ "category": "beverages", "name": "Chai", "amount": 3 }]
            }),
        )
        .await;
    bill.assert_ok(&json!({ "points_earned": 1300, "new_balance": 1300 }));
    let txn = bill.str("transaction_id").to_owned();
    let id = bill.str("customer_id").to_owned();

    let first = refund(&t, json!({ "external_ref": "INV-1", "amount": 3.33 })).send(&env.deps).await;
    first.assert_ok(&json!({
        "transaction_id": txn,
        "external_ref": "INV-1",
        "amount": 3.33,
        "total_refunded": 3.33,
        "remaining_refundable": 6.67,
        "points_reversed": 432,
        "points_restored": 0,
        "new_balance": 868,
        "balance_negative": false,
        "tier": "Silver",
        "customer": { "customer_id": id, "points_balance": 868, "lifetime_points": 868 }
    }));
    assert!(uuid::Uuid::parse_str(first.str("refund_id")).is_ok(), "{}", first.text);

    let settled = env.scan().await;
    refund(&t, json!({ "external_ref": "INV-1", "amount": 6.68 }))
        .send(&env.deps)
        .await
        .assert_error(400, "amount is more than what remains refundable (6.67)");
    assert_eq!(env.scan().await, settled);

    let rest = refund(&t, json!({ "transaction_id": txn, "amount": 6.67 })).send(&env.deps).await;
    rest.assert_ok(&json!({
        "amount": 6.67,
        "total_refunded": 10,
        "remaining_refundable": 0,
        "points_reversed": 868,
        "new_balance": 0,
        "balance_negative": false
    }));
    assert_eq!(first.int("points_reversed") + rest.int("points_reversed"), 1300, "the parts add up to the sale");

    // Another tenant cannot reach this sale by its id.
    let other = env.tenant("other-place").await;
    let settled = env.scan().await;
    for body in [json!({ "external_ref": "INV-1", "amount": 0.01 }), json!({ "transaction_id": txn, "amount": 10 })] {
        refund(&t, body).send(&env.deps).await.assert_error(400, "the sale is already fully refunded");
    }
    refund(&t, json!({ "external_ref": "INV-404", "amount": 1 }))
        .send(&env.deps)
        .await
        .assert_error(404, "Sale not found");
    refund(&t, json!({ "transaction_id": uuid::Uuid::new_v4().to_string(), "amount": 1 }))
        .send(&env.deps)
        .await
        .assert_error(404, "Sale not found");
    Call::new(Route::Refund, other.slug())
        .key(&other.live)
        .json(&json!({ "transaction_id": txn, "amount": 1, "refund_ref": "RET-X" }))
        .send(&env.deps)
        .await
        .assert_error(404, "Sale not found");
    refund(&t, json!({ "transaction_id": "INV-1", "amount": 1 }))
        .send(&env.deps)
        .await
        .assert_error(400, "transaction_id must be a UUID");
    refund(&t, json!({ "amount": 1 }))
        .send(&env.deps)
        .await
        .assert_error(400, "external_ref or transaction_id is required");
    refund(&t, json!({ "external_ref": "INV-1" })).send(&env.deps).await.assert_error(400, "amount is required");
    refund(&t, json!({ "external_ref": "INV-1", "amount": 0 }))
        .send(&env.deps)
        .await
        .assert_error(400, "amount must be greater than zero");
    Call::new(Route::Refund, t.slug())
        .key(&t.read_only)
        .json(&json!({ "external_ref": "INV-1", "amount": 1 }))
        .send(&env.deps)
        .await
        .assert_error(403, "API key missing required scope: write:transactions");
    assert_eq!(env.scan().await, settled, "refused refunds write nothing");

    let ledger = env.ledger(&id).await;
    let entries: Vec<(&str, i64, i64)> =
        ledger.iter().map(|e| (attr_str(e, "type"), attr_n(e, "points"), attr_n(e, "balance_after"))).collect();
    assert_eq!(entries.len(), 3, "{entries:?}");
    let mut kinds: Vec<(&str, i64, i64)> = entries.clone();
    kinds.sort_by_key(|(_, _, after)| -after);
    assert_eq!(kinds, [("earn", 1300, 1300), ("refund", -432, 868), ("refund", -868, 0)]);
    env.lookup(&t, MOBILE).await.assert_ok(&json!({ "points_balance": 0, "lifetime_points": 0 }));
}

#[tokio::test]
async fn a_refund_gives_back_the_points_a_bill_spent_in_proportion() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.seed_member(&t, MOBILE, "Ravi", "500").await;
    let (deps, outbox) = env.with_outbox();
    let code = send_code(&t, &deps, &outbox).await;
    let body =
        json!({ "mobile": MOBILE, "amount": 1000, "redeem_points": 20_000, "otp": code, "external_ref": "INV-R" });
    Call::bill(t.slug()).key(&t.live).json(&body).send(&deps).await.assert_ok(&json!({
        "points_redeemed": 20_000,
        "points_earned": 80_000,
        "new_balance": 110_000
    }));

    let quarter = refund(&t, json!({ "external_ref": "INV-R", "amount": 250 })).send(&env.deps).await;
    quarter.assert_ok(&json!({
        "points_reversed": 20_000,
        "points_restored": 5000,
        "new_balance": 95_000,
        "remaining_refundable": 750
    }));
    let rest = refund(&t, json!({ "external_ref": "INV-R", "amount": 750 })).send(&env.deps).await;
    rest.assert_ok(&json!({
        "points_reversed": 60_000,
        "points_restored": 15_000,
        "new_balance": 50_000,
        "remaining_refundable": 0,
        "customer": { "lifetime_points": 50_000 }
    }));
    // A fully refunded bill leaves the member exactly where they were before it.
    env.lookup(&t, MOBILE).await.assert_ok(&json!({ "points_balance": 50_000, "lifetime_points": 50_000 }));
}

#[tokio::test]
async fn refunding_a_bill_whose_points_were_spent_on_a_reward_leaves_no_free_points() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.add_demo_rewards(&t).await;
    let lookup = Call::customer(t.slug())
        .key(&t.live)
        .query("mobile", MOBILE)
        .query("create", "true")
        .query("email", EMAIL)
        .send(&env.deps)
        .await;
    lookup.assert_ok(&json!({ "enrolled": true }));

    env.bill(&t, json!({ "mobile": MOBILE, "amount": 2000, "external_ref": "INV-BIG" })).await.assert_ok(&json!({
        "points_earned": 200_000,
        "new_balance": 200_000,
        "tier": "Gold",
        "tier_upgraded": true
    }));
    redeem_reward(&env, &t.live, EMAIL, "rwd-002").await.assert_success(&json!({ "newBalance": 180_000 }));

    refund(&t, json!({ "external_ref": "INV-BIG", "amount": 2000 })).send(&env.deps).await.assert_ok(&json!({
        "points_reversed": 200_000,
        "points_restored": 0,
        "new_balance": -20_000,
        "balance_negative": true,
        "tier": "Silver",
        "customer": { "points_balance": -20_000, "lifetime_points": 0 }
    }));
    balance(&env, &t.live, EMAIL).await.assert_success(&json!({
        "pointsBalance": -20_000,
        "lifetimePoints": 0,
        "tierName": "Silver",
        "redeemableValue": 0
    }));
    env.lookup(&t, MOBILE).await.assert_ok(&json!({
        "points_balance": -20_000,
        "redeemable_value": 0,
        "tier": "Silver"
    }));

    // Nothing more can be spent until the debt is earned back, at Silver's rate.
    redeem_reward(&env, &t.live, EMAIL, "rwd-001").await.assert_public_error(
        422,
        "insufficient_points",
        "Insufficient points: balance -20000, needed 5000",
    );
    env.bill(&t, json!({ "mobile": MOBILE, "amount": 100 })).await.assert_ok(&json!({
        "points_earned": 10_000,
        "new_balance": -10_000,
        "tier": "Silver"
    }));
}

#[tokio::test]
async fn refunding_a_bill_whose_points_paid_for_another_bill_leaves_no_free_points() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let (deps, outbox) = env.with_outbox();
    env.bill(&t, json!({ "mobile": MOBILE, "amount": 500, "external_ref": "INV-A" }))
        .await
        .assert_ok(&json!({ "new_balance": 50_000 }));
    let code = send_code(&t, &deps, &outbox).await;
    redeeming_bill(&t, json!(400), 40_000, &code).send(&deps).await.assert_ok(&json!({
        "discount": 400,
        "amount_payable": 0,
        "points_earned": 0,
        "new_balance": 10_000
    }));

    let reply = refund(&t, json!({ "external_ref": "INV-A", "amount": 500 })).send(&env.deps).await;
    reply.assert_ok(&json!({
        "points_reversed": 50_000,
        "new_balance": -40_000,
        "balance_negative": true,
        "customer": { "lifetime_points": 0 }
    }));
    let code = send_code(&t, &deps, &outbox).await;
    redeeming_bill(&t, json!(100), 1, &code)
        .send(&deps)
        .await
        .assert_error(400, "Insufficient points: balance -40000, needed 1");
    assert_eq!(env.balance(&t, MOBILE).await, -40_000);
}

#[tokio::test]
async fn a_public_refund_reverses_an_earn_by_its_reference() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let order = earn(&env, &t.live, json!({ "email": EMAIL, "amount": 150, "reference": "ORD-9" })).await;
    order.assert_success(&json!({ "newBalance": 15_000 }));
    let before = env.scan().await;

    let sandbox = Call::public(Route::PublicRefund)
        .key(&t.test)
        .json(&json!({ "reference": "ORD-9", "amount": 50, "refundReference": "RET-SANDBOX" }))
        .send(&env.deps)
        .await;
    sandbox.assert_success(&json!({ "pointsReversed": 5000, "newBalance": 10_000 }));
    assert_eq!(sandbox.body["sandbox"], json!(true), "{}", sandbox.text);
    assert_eq!(env.scan().await, before, "a sandbox refund writes nothing");

    let reply = public_refund(&t, json!({ "reference": "ORD-9", "amount": 50 })).send(&env.deps).await;
    reply.assert_success(&json!({
        "transactionId": order.data_str("transactionId"),
        "reference": "ORD-9",
        "amountRefunded": 50,
        "totalRefunded": 50,
        "remainingRefundable": 100,
        "pointsReversed": 5000,
        "pointsRestored": 0,
        "newBalance": 10_000,
        "balanceNegative": false,
        "tierName": "Silver"
    }));
    assert_eq!(reply.body.get("sandbox"), None);

    public_refund(&t, json!({ "reference": "ORD-404", "amount": 1 })).send(&env.deps).await.assert_public_error(
        404,
        "not_found",
        "Sale not found",
    );
    public_refund(&t, json!({ "reference": "ORD-9", "amount": 100.01 })).send(&env.deps).await.assert_public_error(
        400,
        "invalid_request",
        "amount is more than what remains refundable (100)",
    );
    public_refund(&t, json!({ "amount": 1 })).send(&env.deps).await.assert_public_error(
        400,
        "invalid_request",
        "reference is required",
    );
    Call::public(Route::PublicRefund)
        .key(&t.read_only)
        .json(&json!({ "reference": "ORD-9", "amount": 1 }))
        .send(&env.deps)
        .await
        .assert_public_error(403, "forbidden", "API key missing required scope: write:transactions");

    public_refund(&t, json!({ "reference": "ORD-9", "amount": 100 }))
        .send(&env.deps)
        .await
        .assert_success(&json!({ "pointsReversed": 10_000, "newBalance": 0, "remainingRefundable": 0 }));
    public_refund(&t, json!({ "reference": "ORD-9", "amount": 1 })).send(&env.deps).await.assert_public_error(
        400,
        "invalid_request",
        "the sale is already fully refunded",
    );
    balance(&env, &t.live, EMAIL).await.assert_success(&json!({ "pointsBalance": 0, "lifetimePoints": 0 }));
}

/// Sums the points of a member's refund entries, and counts them.
fn refunds_in(ledger: &[Item]) -> (i64, usize) {
    let refunds: Vec<&Item> = ledger.iter().filter(|e| attr_str(e, "type") == "refund").collect();
    (refunds.iter().map(|e| attr_n(e, "points")).sum(), refunds.len())
}

#[tokio::test]
async fn concurrent_full_refunds_of_one_bill_apply_once() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let ravi = env.seed_member(&t, MOBILE, "Ravi", "1").await;
    for i in 0..3 {
        env.bill(&t, json!({ "mobile": MOBILE, "amount": 100, "external_ref": format!("INV-{i}") }))
            .await
            .assert_ok(&json!({}));
    }
    assert_eq!(env.balance(&t, MOBILE).await, 30_100);

    for i in 0..3 {
        // Two cashiers, two refunds (each its own refund reference).
        let calls = (0..2).map(|_| refund(&t, json!({ "external_ref": format!("INV-{i}"), "amount": 100 }))).collect();
        let replies = concurrently(&env.deps, calls).await;
        let ok = replies.iter().filter(|r| r.status == 200).count();
        assert_eq!(ok, 1, "exactly one refund of INV-{i}: {:?}", replies.iter().map(|r| &r.text).collect::<Vec<_>>());
        for reply in replies.iter().filter(|r| r.status != 200) {
            if reply.status == 400 {
                reply.assert_error(400, "the sale is already fully refunded");
            } else {
                assert_eq!(reply.status, 503, "a refused refund is 400 or a retry-able 503: {}", reply.text);
                assert_eq!(reply.header("retry-after"), Some("1"));
            }
        }
        let winner = replies.iter().find(|r| r.status == 200).expect("a winner");
        assert_eq!(winner.int("points_reversed"), 10_000, "{}", winner.text);
    }
    let ledger = env.ledger(&ravi.customer_id).await;
    assert_eq!(refunds_in(&ledger), (-30_000, 3), "each bill reversed once, never more than it earned");
    assert_eq!(env.balance(&t, MOBILE).await, 100);

    // Many partial refunds at once: never more than the sale.
    env.bill(&t, json!({ "mobile": MOBILE, "amount": 100, "external_ref": "INV-P" })).await.assert_ok(&json!({}));
    let calls = (0..8).map(|_| refund(&t, json!({ "external_ref": "INV-P", "amount": 25 }))).collect();
    let replies = concurrently(&env.deps, calls).await;
    let ok: Vec<&Reply> = replies.iter().filter(|r| r.status == 200).collect();
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert!(ok.len() <= 4, "at most the whole sale is refunded: {statuses:?}");
    assert!(statuses.iter().all(|s| [200, 400, 503].contains(s)), "{statuses:?}");
    assert_eq!(ok.len(), 4, "with retries every refund that fits gets in: {statuses:?}");
    let ledger = env.ledger(&ravi.customer_id).await;
    assert_eq!(refunds_in(&ledger), (-40_000, 7));
    assert_eq!(env.balance(&t, MOBILE).await, 100);
}

#[tokio::test]
async fn an_idempotency_key_replays_a_refund() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let ravi = env.seed_member(&t, MOBILE, "Ravi", "1").await;
    env.bill(&t, json!({ "mobile": MOBILE, "amount": 100, "external_ref": "INV-1" })).await.assert_ok(&json!({}));
    let keyed = |key: &str, amount: Value| {
        Call::new(Route::Refund, t.slug())
            .key(&t.live)
            .header("Idempotency-Key", key)
            .json(&json!({ "external_ref": "INV-1", "amount": amount }))
    };

    let first = keyed("refund-1", json!(30)).send(&env.deps).await;
    first.assert_ok(&json!({ "points_reversed": 3000, "new_balance": 7100 }));
    assert_eq!(first.header("idempotent-replayed"), None);
    let settled = env.scan().await;

    let again = keyed("refund-1", json!(30)).send(&env.deps).await;
    assert_eq!((again.status, &again.body), (200, &first.body), "{}", again.text);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(env.scan().await, settled, "a replay writes nothing");

    keyed("refund-1", json!(40))
        .send(&env.deps)
        .await
        .assert_error(409, "Idempotency-Key was already used with a different request body");
    assert_eq!(env.scan().await, settled);

    // Another key is another refund.
    keyed("refund-2", json!(30)).send(&env.deps).await.assert_ok(&json!({
        "points_reversed": 3000,
        "new_balance": 4100,
        "total_refunded": 60
    }));
    assert_eq!(refunds_in(&env.ledger(&ravi.customer_id).await), (-6000, 2));
}

// ---------------------------------------------------------------------------------------
// History

/// Every page of a history call with `limit`, following `next_cursor` (Partner) or
/// `data.nextCursor` (Public) until it is null.
async fn all_pages(env: &TestEnv, call: &Call, limit: u32, public: bool) -> Vec<Vec<Value>> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut page = call.clone().query("limit", &limit.to_string());
        if let Some(c) = &cursor {
            page = page.query("cursor", c);
        }
        let reply = page.send(&env.deps).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let body = if public { &reply.body["data"] } else { &reply.body };
        let entries = body["transactions"].as_array().expect("transactions").clone();
        assert!(entries.len() <= limit as usize, "{}", reply.text);
        let next = if public { &body["nextCursor"] } else { &body["next_cursor"] };
        cursor = next.as_str().map(str::to_owned);
        pages.push(entries);
        if cursor.is_none() {
            return pages;
        }
        assert!(pages.len() <= 20, "the cursor does not end");
    }
}

#[tokio::test]
async fn history_lists_every_kind_newest_first_with_balances_that_add_up() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.add_demo_rewards(&t).await;
    let (deps, outbox) = env.with_outbox();
    Call::customer(t.slug())
        .key(&t.live)
        .query("mobile", MOBILE)
        .query("create", "true")
        .query("email", EMAIL)
        .send(&env.deps)
        .await
        .assert_ok(&json!({ "enrolled": true }));

    // One minute apart: earn, reward, points on a bill, refund, online order.
    env.bill(&t, json!({ "mobile": MOBILE, "amount": 100, "external_ref": "INV-1" })).await.assert_ok(&json!({}));
    env.advance(Duration::minutes(1));
    let voucher = redeem_reward(&env, &t.live, EMAIL, "rwd-001").await;
    voucher.assert_success(&json!({ "newBalance": 5000 }));
    env.advance(Duration::minutes(1));
    let code = send_code(&t, &deps, &outbox).await;
    redeeming_bill(&t, json!(50), 2000, &code).send(&deps).await.assert_ok(&json!({ "new_balance": 6000 }));
    env.advance(Duration::minutes(1));
    refund(&t, json!({ "external_ref": "INV-1", "amount": 50 }))
        .send(&env.deps)
        .await
        .assert_ok(&json!({ "new_balance": 1000 }));
    env.advance(Duration::minutes(1));
    earn(&env, &t.live, json!({ "email": EMAIL, "amount": 1, "reference": "ORD-1" }))
        .await
        .assert_success(&json!({ "newBalance": 1100 }));

    let reply = history(&t).send(&env.deps).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["next_cursor"], Value::Null, "{}", reply.text);
    let entries = reply.body["transactions"].as_array().expect("transactions");
    let summary: Vec<(&str, i64, i64)> = entries
        .iter()
        .map(|e| {
            (
                e["type"].as_str().expect("type"),
                e["points"].as_i64().expect("points"),
                e["balance_after"].as_i64().expect("balance_after"),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("earn", 100, 1100),
            ("refund", -5000, 1000),
            ("earn", 3000, 6000),
            ("redeem", -2000, 3000),
            ("redeem", -5000, 5000),
            ("earn", 10_000, 10_000)
        ],
        "{}",
        reply.text
    );
    for pair in entries.windows(2) {
        let (newer, older) = (&pair[0], &pair[1]);
        assert_eq!(
            newer["balance_after"].as_i64(),
            Some(older["balance_after"].as_i64().expect("balance_after") + newer["points"].as_i64().expect("points")),
            "each balance_after is the one before it plus its points"
        );
        assert!(newer["created_at"].as_str() >= older["created_at"].as_str(), "newest first");
    }
    assert_includes_entry(
        &entries[0],
        &json!({ "reference": "ORD-1", "amount": 1, "created_at": "2026-03-15T06:34:00Z" }),
    );
    assert_includes_entry(&entries[1], &json!({ "reference": "INV-1", "amount": 50 }));
    assert_includes_entry(&entries[3], &json!({ "amount": 20, "created_at": "2026-03-15T06:32:00Z" }));
    assert_includes_entry(&entries[4], &json!({ "reference": voucher.data_str("voucherCode") }));
    assert_includes_entry(
        &entries[5],
        &json!({ "reference": "INV-1", "amount": 100, "created_at": "2026-03-15T06:30:00Z" }),
    );

    // Two at a time through the cursor: the same entries, in the same order.
    let ids = |list: &[Value]| -> Vec<String> {
        list.iter().map(|e| e["transaction_id"].as_str().expect("transaction_id").to_owned()).collect()
    };
    let pages = all_pages(&env, &history(&t), 2, false).await;
    let paged: Vec<Value> = pages.iter().flatten().cloned().collect();
    assert_eq!(ids(&paged), ids(entries), "pages of 2 cover every entry once");
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    // Three full pages; DynamoDB may add an empty last one when the third ends exactly.
    assert!(sizes == [2, 2, 2] || sizes == [2, 2, 2, 0], "page sizes {sizes:?}");

    // The Public dialect lists the same ledger by email.
    let public = public_history(&t).send(&env.deps).await;
    assert_eq!(public.status, 200, "{}", public.text);
    let data = &public.body["data"];
    let public_entries = data["transactions"].as_array().expect("transactions");
    let public_summary: Vec<(String, i64, i64)> = public_entries
        .iter()
        .map(|e| {
            (
                e["type"].as_str().expect("type").to_owned(),
                e["points"].as_i64().expect("points"),
                e["balanceAfter"].as_i64().expect("balanceAfter"),
            )
        })
        .collect();
    let partner_summary: Vec<(String, i64, i64)> = summary.iter().map(|(k, p, b)| (k.to_string(), *p, *b)).collect();
    assert_eq!(public_summary, partner_summary);
    let public_ids: Vec<String> =
        public_entries.iter().map(|e| e["transactionId"].as_str().expect("transactionId").to_owned()).collect();
    assert_eq!(public_ids, ids(entries));
    let pages = all_pages(&env, &public_history(&t), 4, true).await;
    let paged: Vec<String> =
        pages.iter().flatten().map(|e| e["transactionId"].as_str().expect("transactionId").to_owned()).collect();
    assert_eq!(paged, public_ids);
}

#[track_caller]
fn assert_includes_entry(entry: &Value, expected: &Value) {
    super::support::assert_includes(entry, expected);
}

#[tokio::test]
async fn history_refuses_bad_paging_and_unknown_members() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.bill(&t, json!({ "mobile": MOBILE, "email": EMAIL, "amount": 1 })).await.assert_ok(&json!({}));
    let limit_error = "limit must be a whole number from 1 to 100";
    let cursor_error = "cursor is not one this API gave out";
    let not_ledger: String = "PROFILE".bytes().map(|b| format!("{b:02x}")).collect();

    for limit in ["0", "101", "x", "-1", "1.5"] {
        history(&t).query("limit", limit).send(&env.deps).await.assert_error(400, limit_error);
        public_history(&t).query("limit", limit).send(&env.deps).await.assert_public_error(
            400,
            "invalid_request",
            limit_error,
        );
    }
    for cursor in ["zz", "abc", not_ledger.as_str()] {
        history(&t).query("cursor", cursor).send(&env.deps).await.assert_error(400, cursor_error);
        public_history(&t).query("cursor", cursor).send(&env.deps).await.assert_public_error(
            400,
            "invalid_request",
            cursor_error,
        );
    }
    for limit in ["1", "100"] {
        let reply = history(&t).query("limit", limit).send(&env.deps).await;
        assert_eq!(reply.body["transactions"].as_array().map(Vec::len), Some(1), "{}", reply.text);
    }

    Call::new(Route::Transactions, t.slug())
        .key(&t.live)
        .query("mobile", "9123456789")
        .send(&env.deps)
        .await
        .assert_error(404, "Customer not found");
    Call::new(Route::Transactions, t.slug()).key(&t.live).send(&env.deps).await.assert_error(400, "mobile is required");
    Call::public(Route::PublicTransactions)
        .key(&t.live)
        .query("email", "nobody@example.com")
        .send(&env.deps)
        .await
        .assert_public_error(404, "not_found", "Customer not found");
    Call::public(Route::PublicTransactions).key(&t.live).send(&env.deps).await.assert_public_error(
        400,
        "invalid_request",
        "email is required",
    );
}

// ---------------------------------------------------------------------------------------
// Previews

#[tokio::test]
async fn a_preview_bill_answers_the_full_computation_and_writes_nothing() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.seed_member(&t, MOBILE, "Ravi", "500").await;
    let (deps, outbox) = env.with_outbox();
    let code = send_code(&t, &deps, &outbox).await;
    let before = env.scan().await;
    let bill = |preview: bool| {
        json!({
            "mobile": MOBILE,
            "amount": 1000,
            "redeem_points": 20_050,
            "otp": code,
            "external_ref": "INV-P",
            "preview": preview
        })
    };
    let expected = json!({
        "amount": 1000,
        "points_redeemed": 20_050,
        "discount": 200.5,
        "amount_payable": 799.5,
        "points_earned": 79_950,
        "new_balance": 109_900,
        "tier": "Silver",
        "tier_upgraded": false,
        "external_ref": "INV-P",
        "customer": { "name": "Ravi", "points_balance": 109_900, "lifetime_points": 129_950 }
    });

    let preview = Call::bill(t.slug()).key(&t.live).json(&bill(true)).send(&deps).await;
    preview.assert_ok(&expected);
    assert_eq!(preview.body["preview"], json!(true), "{}", preview.text);
    // A new mobile: the member it would enrol, at the tier it would reach.
    let newcomer =
        env.bill(&t, json!({ "mobile": "9123456789", "name": "Asha", "amount": 2000, "preview": true })).await;
    newcomer.assert_ok(&json!({
        "preview": true,
        "points_earned": 200_000,
        "new_balance": 200_000,
        "tier": "Gold",
        "tier_upgraded": true,
        "customer": { "name": "Asha", "mobile": "9123456789" }
    }));
    assert_eq!(env.scan().await, before, "previews write nothing, and the code is not used");

    // The real bill gives the same numbers with the same code.
    let real = Call::bill(t.slug()).key(&t.live).json(&bill(false)).send(&deps).await;
    real.assert_ok(&expected);
    assert_eq!(real.body.get("preview"), None, "{}", real.text);
    assert_eq!(env.balance(&t, MOBILE).await, 109_900);
}

#[tokio::test]
async fn a_preview_earn_answers_the_full_computation_and_writes_nothing() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    earn(&env, &t.live, json!({ "email": EMAIL, "amount": 1999.99 }))
        .await
        .assert_success(&json!({ "newBalance": 199_999 }));
    let before = env.scan().await;
    let expected = json!({
        "pointsEarned": 10_000,
        "multiplierApplied": 1,
        "newBalance": 209_999,
        "tierName": "Gold",
        "tierUpgraded": true,
        "reference": "ORD-P"
    });

    let preview =
        earn(&env, &t.live, json!({ "email": EMAIL, "amount": 100, "reference": "ORD-P", "preview": true })).await;
    preview.assert_success(&expected);
    assert_eq!(preview.body["data"]["preview"], json!(true), "{}", preview.text);
    let newcomer = earn(&env, &t.live, json!({ "email": "new@example.com", "amount": 1, "preview": true })).await;
    newcomer.assert_success(&json!({ "preview": true, "pointsEarned": 100, "newBalance": 100 }));
    assert_eq!(env.scan().await, before, "previews write nothing");
    balance(&env, &t.live, "new@example.com").await.assert_public_error(404, "not_found", "Customer not found");

    let real = earn(&env, &t.live, json!({ "email": EMAIL, "amount": 100, "reference": "ORD-P" })).await;
    real.assert_success(&expected);
    assert_eq!(real.body["data"].get("preview"), None, "{}", real.text);
    assert_eq!(real.header("idempotent-replayed"), None, "the preview recorded no reference");
}

/// Five wrong guesses per code must hold for guesses sent in parallel too. Today
/// `check_otp` reads the record, compares, and only then counts a wrong guess, so every
/// guess that read the record before the fifth count landed is compared (and a right one
/// among them can still commit): the limit is bypassed by sending guesses at once.
#[tokio::test]
async fn parallel_guesses_get_no_more_than_five_attempts_at_a_code() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.seed_member(&t, MOBILE, "Ravi", "500").await;
    let (deps, outbox) = env.with_outbox();
    let code = send_code(&t, &deps, &outbox).await;

    // Thirty different wrong guesses at once, as a brute-force attempt would send them.
    let guesses: Vec<Call> = (1..=30).map(|n| redeeming_bill(&t, json!(100), 1000, &wrong(&code, n))).collect();
    let replies = concurrently(&Arc::new(env.fresh_deps()), guesses).await;
    let mut messages: Vec<&str> = replies.iter().map(|r| r.body["error"].as_str().unwrap_or(&r.text)).collect();
    messages.sort_unstable();
    let checked = messages.iter().filter(|m| **m == "Invalid OTP").count();
    assert!(
        checked <= 5,
        "{checked} guesses were checked against one code (at most 5 may be); the rest were refused as \
         'Too many wrong attempts': {messages:?}"
    );
    redeeming_bill(&t, json!(100), 1000, &code)
        .send(&deps)
        .await
        .assert_error(400, "No attempts left on this OTP; request a new one");
    assert_eq!(env.balance(&t, MOBILE).await, 50_000);
}

/// History must list a member's entries in the order they were written. Ledger keys are
/// `TXN#{created_at ms}#{random txn id}`, so entries written in the same millisecond (the
/// fixed clock makes that certain here; concurrent tills make it likely, and a write
/// whose `now` was taken before a competitor committed sorts before it) come out in
/// random order and `balance_after` no longer chains.
#[tokio::test]
async fn history_of_concurrent_redemptions_still_chains() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.add_demo_rewards(&t).await;
    env.bill(&t, json!({ "mobile": MOBILE, "email": EMAIL, "amount": 500 })).await.assert_ok(&json!({}));
    env.advance(Duration::seconds(1));

    // Ten tills redeem at once: ten versions of the member, written in the same instant.
    let call = Call::public(Route::RewardRedeem).key(&t.live).json(&json!({ "email": EMAIL, "rewardId": "rwd-001" }));
    let replies = concurrently(&env.deps, vec![call; 10]).await;
    assert!(replies.iter().all(|r| r.status == 200), "{:?}", replies.iter().map(|r| &r.text).collect::<Vec<_>>());

    let reply = history(&t).send(&env.deps).await;
    let entries = reply.body["transactions"].as_array().expect("transactions");
    assert_eq!(entries.len(), 11, "{}", reply.text);
    let after: Vec<i64> = entries.iter().map(|e| e["balance_after"].as_i64().expect("balance_after")).collect();
    // Newest first, each entry's balance_after is the previous one's plus its points.
    assert_eq!(
        after,
        [0, 5000, 10_000, 15_000, 20_000, 25_000, 30_000, 35_000, 40_000, 45_000, 50_000],
        "history is ordered by the clock and then a random id, not by the order the writes happened"
    );
}

#[tokio::test]
async fn a_refund_needs_its_own_reference_or_an_idempotency_key() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.bill(&t, json!({ "mobile": MOBILE, "amount": 100, "external_ref": "INV-1" })).await.assert_ok(&json!({}));
    let before = env.scan().await;
    Call::new(Route::Refund, t.slug())
        .key(&t.live)
        .json(&json!({ "external_ref": "INV-1", "amount": 10 }))
        .send(&env.deps)
        .await
        .assert_error(400, "refund_ref or an Idempotency-Key header is required");
    Call::public(Route::PublicRefund)
        .key(&t.live)
        .json(&json!({ "reference": "INV-1", "amount": 10 }))
        .send(&env.deps)
        .await
        .assert_public_error(400, "invalid_request", "refundReference or an Idempotency-Key header is required");
    // The sandbox checks the same.
    Call::new(Route::Refund, t.slug())
        .key(&t.test)
        .json(&json!({ "external_ref": "INV-1", "amount": 10 }))
        .send(&env.deps)
        .await
        .assert_error(400, "refund_ref or an Idempotency-Key header is required");
    assert_eq!(env.scan().await, before, "a refused refund writes nothing");
    // Either one is enough.
    Call::new(Route::Refund, t.slug())
        .key(&t.live)
        .header("Idempotency-Key", "return-1")
        .json(&json!({ "external_ref": "INV-1", "amount": 10 }))
        .send(&env.deps)
        .await
        .assert_ok(&json!({ "total_refunded": 10 }));
    refund(&t, json!({ "external_ref": "INV-1", "amount": 10, "refund_ref": 5001 }))
        .send(&env.deps)
        .await
        .assert_ok(&json!({ "total_refunded": 20 }));
}

#[tokio::test]
async fn the_same_refund_reference_replays_the_first_refund_and_conflicts_on_another() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.bill(&t, json!({ "mobile": MOBILE, "amount": 100, "external_ref": "INV-1" })).await.assert_ok(&json!({}));
    let txn = env.bill(&t, json!({ "mobile": MOBILE, "amount": 50, "external_ref": "INV-2" })).await;
    let first =
        refund(&t, json!({ "external_ref": "INV-1", "amount": 30, "refund_ref": "RET-1" })).send(&env.deps).await;
    first.assert_ok(&json!({ "amount": 30, "total_refunded": 30, "points_reversed": 3000, "new_balance": 12_000 }));
    assert_eq!(first.header("idempotent-replayed"), None);

    // Again, in either dialect: the first refund's answer, nothing refunded twice.
    let again =
        refund(&t, json!({ "external_ref": "INV-1", "amount": 30, "refund_ref": "RET-1" })).send(&env.deps).await;
    assert_eq!((again.status, &again.body), (200, &first.body));
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let public = public_refund(&t, json!({ "reference": "INV-1", "amount": 30, "refundReference": "RET-1" }))
        .send(&env.deps)
        .await;
    public.assert_success(&json!({ "refundId": first.str("refund_id"), "totalRefunded": 30, "newBalance": 12_000 }));
    assert_eq!(public.header("idempotent-replayed"), Some("true"));
    assert_eq!(env.balance(&t, MOBILE).await, 12_000);

    // The same reference on another amount or another sale: 409, nothing moves.
    let conflict = "refund reference RET-1 was already used for a different refund";
    refund(&t, json!({ "external_ref": "INV-1", "amount": 31, "refund_ref": "RET-1" }))
        .send(&env.deps)
        .await
        .assert_error(409, conflict);
    refund(&t, json!({ "transaction_id": txn.str("transaction_id"), "amount": 30, "refund_ref": "RET-1" }))
        .send(&env.deps)
        .await
        .assert_error(409, conflict);
    public_refund(&t, json!({ "reference": "INV-2", "amount": 30, "refundReference": "RET-1" }))
        .send(&env.deps)
        .await
        .assert_public_error(409, "reference_conflict", conflict);
    assert_eq!(env.balance(&t, MOBILE).await, 12_000);
    // A replay answers even after the sale is fully refunded.
    refund(&t, json!({ "external_ref": "INV-1", "amount": 70, "refund_ref": "RET-2" }))
        .send(&env.deps)
        .await
        .assert_ok(&json!({ "remaining_refundable": 0 }));
    let late =
        refund(&t, json!({ "external_ref": "INV-1", "amount": 30, "refund_ref": "RET-1" })).send(&env.deps).await;
    assert_eq!((late.status, &late.body), (200, &first.body));
}

#[tokio::test]
async fn racing_refunds_with_one_reference_apply_once() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.bill(&t, json!({ "mobile": MOBILE, "amount": 100, "external_ref": "INV-1" })).await.assert_ok(&json!({}));
    let body = json!({ "external_ref": "INV-1", "amount": 10, "refund_ref": "RET-RACE" });
    let calls = (0..8).map(|_| refund(&t, body.clone())).collect();
    let replies = super::support::concurrently(&env.deps, calls).await;
    let ids: std::collections::BTreeSet<&str> = replies
        .iter()
        .map(|r| {
            r.assert_ok(&json!({ "total_refunded": 10 }));
            r.str("refund_id")
        })
        .collect();
    assert_eq!(ids.len(), 1, "one refund, answered to every racer");
    assert_eq!(replies.iter().filter(|r| r.header("idempotent-replayed").is_none()).count(), 1);
    assert_eq!(env.balance(&t, MOBILE).await, 9_000);
}
