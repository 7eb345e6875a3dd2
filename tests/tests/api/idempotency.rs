//! `Idempotency-Key` on every POST that changes something (bill, coupon redeem, refund,
//! earn, reward redeem, public refund): the first completed answer is stored in the
//! effect's own transaction and replayed for the same key and body; another body is a
//! 409; a failure releases the key; records live 24 hours; sandbox keys store nothing.

use std::collections::BTreeSet;

use http::{HeaderName, HeaderValue};
use loyalty::domain::{CustomerId, TenantSlug};
use loyalty::keys::{KeyMode, Scope};
use loyalty::model::{EntryKind, LedgerEntry};
use loyalty::store::{ClaimResult, Completion, ConsumeError, CustomerWrite, Mutation, MutationError};
use serde_json::{json, Value};

use super::support::{attr_n, attr_str, concurrently, date, start_time, Call, Item, Reply, Route, Tenant, TestEnv};

const MOBILE: &str = "9876543210";
const EMAIL: &str = "ravi@example.com";
const REPLAYED: &str = "idempotent-replayed";
const OTHER_BODY: &str = "Idempotency-Key was already used with a different request body";
const IN_PROGRESS: &str = "A request with this Idempotency-Key is still in progress; retry later";
const INVALID_KEY: &str = "Idempotency-Key must be 1 to 255 visible ASCII characters";

/// A tenant whose member Ravi (mobile and email) has a ₹100 bill `INV-1` (10,000 points)
/// and a ₹10 order `ORD-1` (1,000 points): balance 11,000; two active coupons; the demo
/// rewards (`rwd-001` costs 5,000 points, `rwd-002` 20,000).
async fn world(env: &TestEnv) -> Tenant {
    let t = env.tenant("spice-garden").await;
    env.bill(
        &t,
        json!({ "mobile": MOBILE, "name": "Ravi Kumar", "email": EMAIL, "amount": 100, "external_ref": "INV-1" }),
    )
    .await
    .assert_ok(&json!({ "new_balance": 10_000 }));
    Call::public(Route::Earn)
        .key(&t.live)
        .json(&json!({ "email": EMAIL, "amount": 10, "reference": "ORD-1" }))
        .send(&env.deps)
        .await
        .assert_success(&json!({ "newBalance": 11_000 }));
    env.issue_coupon(&t, MOBILE, "200", date(2026, 12, 31), Some("COUP-XY12")).await;
    env.issue_coupon(&t, MOBILE, "100", date(2026, 12, 31), Some("COUP-WELCOME")).await;
    env.add_demo_rewards(&t).await;
    t
}

/// One POST route, the name its records carry, a body that succeeds in [`world`] and
/// another body for the same route.
struct Case {
    route: Route,
    name: &'static str,
    body: Value,
    other: Value,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            route: Route::Bill,
            name: "pos-bill",
            body: json!({ "mobile": MOBILE, "amount": 50 }),
            other: json!({ "mobile": MOBILE, "amount": 60 }),
        },
        Case {
            route: Route::Redeem,
            name: "pos-coupon-redeem",
            body: json!({ "code": "COUP-XY12" }),
            other: json!({ "code": "COUP-WELCOME" }),
        },
        Case {
            route: Route::Refund,
            name: "pos-refund",
            body: json!({ "external_ref": "INV-1", "amount": 10 }),
            other: json!({ "external_ref": "INV-1", "amount": 20 }),
        },
        Case {
            route: Route::Earn,
            name: "public-earn",
            body: json!({ "email": EMAIL, "amount": 5 }),
            other: json!({ "email": EMAIL, "amount": 6 }),
        },
        Case {
            route: Route::RewardRedeem,
            name: "public-redeem",
            body: json!({ "email": EMAIL, "rewardId": "rwd-001" }),
            other: json!({ "email": EMAIL, "rewardId": "rwd-002" }),
        },
        Case {
            route: Route::PublicRefund,
            name: "public-refund",
            body: json!({ "reference": "ORD-1", "amount": 1 }),
            other: json!({ "reference": "ORD-1", "amount": 2 }),
        },
    ]
}

/// A POST to `route` of tenant `t` with the API key `key` and `body`.
fn post(t: &Tenant, route: Route, key: &str, body: &Value) -> Call {
    let call = if route.is_public() { Call::public(route) } else { Call::new(route, t.slug()) };
    call.key(key).json(body)
}

/// The same with an `Idempotency-Key`.
fn keyed(t: &Tenant, route: Route, key: &str, idem: &str, body: &Value) -> Call {
    post(t, route, key, body).header("Idempotency-Key", idem)
}

#[track_caller]
fn assert_conflict(route: Route, reply: &Reply, message: &str) {
    if route.is_public() {
        reply.assert_public_error(409, "idempotency_conflict", message);
    } else {
        reply.assert_error(409, message);
    }
}

#[track_caller]
fn assert_invalid(route: Route, reply: &Reply, message: &str) {
    if route.is_public() {
        reply.assert_public_error(400, "invalid_request", message);
    } else {
        reply.assert_error(400, message);
    }
}

/// The record key the code uses: tenant, mode, route, key.
fn record_pk(t: &Tenant, mode: &str, route: &str, key: &str) -> String {
    format!("TENANT#{}#IDEMP#{mode}#{route}#{key}", t.slug())
}

/// The same record as the store names it.
fn record_scope(t: &Tenant, mode: &str, route: &str, key: &str) -> loyalty::store::IdempotencyScope {
    loyalty::store::IdempotencyScope {
        tenant: TenantSlug::parse(t.slug()).expect("slug"),
        mode: loyalty::keys::KeyMode::parse(mode).expect("mode"),
        route: route.into(),
        key: loyalty::domain::IdempotencyKey::parse(key).expect("key"),
    }
}

/// What the code remembers a body by.
fn body_hash(body: &Value) -> String {
    loyalty::idempotency::hash_body(body.to_string().as_bytes())
}

fn records(items: &[Item]) -> Vec<&Item> {
    items.iter().filter(|item| attr_str(item, "PK").contains("#IDEMP#")).collect()
}

fn record<'a>(items: &'a [Item], pk: &str) -> Option<&'a Item> {
    items.iter().find(|item| attr_str(item, "PK") == pk)
}

fn ledger_of(items: &[Item]) -> Vec<&Item> {
    items.iter().filter(|item| attr_str(item, "GSI1SK").starts_with("TXN#")).collect()
}

#[tokio::test]
async fn the_same_key_and_body_replay_the_first_answer_on_every_post_route() {
    let env = TestEnv::new().await;
    let t = world(&env).await;

    for case in cases() {
        let idem = format!("retry-{}", case.name);
        let before = env.scan().await;
        let first = keyed(&t, case.route, &t.live, &idem, &case.body).send(&env.deps).await;
        assert_eq!(first.status, 200, "{}: {}", case.name, first.text);
        assert_eq!(first.header(REPLAYED), None, "{}: the first answer is not a replay", case.name);
        let after_first = env.scan().await;
        assert_ne!(after_first, before, "{}: the first request had an effect", case.name);
        let stored = record(&after_first, &record_pk(&t, "live", case.name, &idem))
            .unwrap_or_else(|| panic!("{}: no idempotency record", case.name));
        assert_eq!(
            (attr_str(stored, "state"), attr_n(stored, "status_code"), attr_str(stored, "response")),
            ("done", 200, first.text.as_str()),
            "{}: the record holds the answer",
            case.name
        );

        for _ in 0..2 {
            let again = keyed(&t, case.route, &t.live, &idem, &case.body).send(&env.deps).await;
            assert_eq!((again.status, &again.text), (first.status, &first.text), "{}: the same answer", case.name);
            assert_eq!(again.header(REPLAYED), Some("true"), "{}", case.name);
            assert_eq!(env.scan().await, after_first, "{}: a replay writes nothing", case.name);
        }
    }

    // Each effect once: 11,000 + 5,000 (₹50 bill) - 1,000 (₹10 of INV-1 back) + 500 (₹5
    // order) - 5,000 (rwd-001) - 100 (₹1 of ORD-1 back); seven ledger entries.
    assert_eq!(env.balance(&t, MOBILE).await, 10_400);
    let items = env.scan().await;
    let kinds: Vec<&str> = ledger_of(&items).iter().map(|e| attr_str(e, "type")).collect();
    assert_eq!(kinds.len(), 7, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "refund").count(), 2, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "redeem").count(), 1, "{kinds:?}");
    assert_eq!(records(&items).len(), 6, "one record per route");
    let coupon = items.iter().find(|i| attr_str(i, "code") == "COUP-XY12").expect("the coupon");
    assert_eq!(attr_str(coupon, "status"), "used");
    let vouchers = items.iter().filter(|i| attr_str(i, "source") == "reward").count();
    assert_eq!(vouchers, 1, "one voucher issued");
}

#[tokio::test]
async fn the_same_json_written_differently_is_the_same_body() {
    let env = TestEnv::new().await;
    let t = world(&env).await;
    let first = Call::bill(t.slug())
        .key(&t.live)
        .header("Idempotency-Key", "spacing")
        .body(r#"{"mobile":"9876543210","amount":50}"#)
        .send(&env.deps)
        .await;
    first.assert_ok(&json!({ "points_earned": 5_000, "new_balance": 16_000 }));

    let again = Call::bill(t.slug())
        .key(&t.live)
        .header("Idempotency-Key", "spacing")
        .body("{\n  \"amount\": 50,\n  \"mobile\": \"9876543210\"\n}")
        .send(&env.deps)
        .await;
    assert_eq!((again.status, &again.text, again.header(REPLAYED)), (200, &first.text, Some("true")));
    assert_eq!(env.balance(&t, MOBILE).await, 16_000);
}

#[tokio::test]
async fn the_same_amount_written_with_decimals_is_the_same_body_and_long_numbers_stay_apart() {
    let env = TestEnv::new().await;
    let t = world(&env).await;
    let first = Call::bill(t.slug())
        .key(&t.live)
        .header("Idempotency-Key", "decimals")
        .body(r#"{"mobile":"9876543210","amount":50}"#)
        .send(&env.deps)
        .await;
    first.assert_ok(&json!({ "points_earned": 5_000, "new_balance": 16_000 }));
    for same in ["50.00", "5e1", "50.0"] {
        let again = Call::bill(t.slug())
            .key(&t.live)
            .header("Idempotency-Key", "decimals")
            .body(format!(r#"{{"mobile":"9876543210","amount":{same}}}"#))
            .send(&env.deps)
            .await;
        assert_eq!((again.status, &again.text, again.header(REPLAYED)), (200, &first.text, Some("true")), "{same}");
    }
    assert_eq!(env.balance(&t, MOBILE).await, 16_000, "one sale");

    // Two invoice numbers that a float would make one are two bodies.
    let long = |n: &str| format!(r#"{{"mobile":"9876543210","amount":1,"external_ref":{n}}}"#);
    let first = Call::bill(t.slug())
        .key(&t.live)
        .header("Idempotency-Key", "long-numbers")
        .body(long("12345678901234567890123"))
        .send(&env.deps)
        .await;
    assert_eq!(first.status, 200, "{}", first.text);
    let other = Call::bill(t.slug())
        .key(&t.live)
        .header("Idempotency-Key", "long-numbers")
        .body(long("12345678901234567890124"))
        .send(&env.deps)
        .await;
    other.assert_error(409, OTHER_BODY);
}

#[tokio::test]
async fn the_same_key_with_another_body_is_409_and_runs_nothing() {
    let env = TestEnv::new().await;
    let t = world(&env).await;

    for case in cases() {
        let first = keyed(&t, case.route, &t.live, "one-key", &case.body).send(&env.deps).await;
        assert_eq!(first.status, 200, "{}: {}", case.name, first.text);
        let before = env.scan().await;

        let other = keyed(&t, case.route, &t.live, "one-key", &case.other).send(&env.deps).await;
        assert_conflict(case.route, &other, OTHER_BODY);
        assert_eq!(other.header(REPLAYED), None);
        assert_eq!(env.scan().await, before, "{}: the 409 wrote nothing", case.name);

        // The record still answers its own body.
        let again = keyed(&t, case.route, &t.live, "one-key", &case.body).send(&env.deps).await;
        assert_eq!((again.status, &again.text, again.header(REPLAYED)), (200, &first.text, Some("true")));
    }
    assert_eq!(env.balance(&t, MOBILE).await, 10_400, "only the first bodies took effect");
}

#[tokio::test]
async fn a_key_is_scoped_to_its_tenant_its_mode_and_its_route() {
    let env = TestEnv::new().await;
    let t = world(&env).await;
    let b = env.tenant("tenant-b").await;
    let bill = json!({ "mobile": MOBILE, "amount": 50 });

    let first = keyed(&t, Route::Bill, &t.live, "shared", &bill).send(&env.deps).await;
    first.assert_ok(&json!({ "points_earned": 5_000, "new_balance": 16_000 }));

    // Another route with the same key text runs.
    let earn = keyed(&t, Route::Earn, &t.live, "shared", &json!({ "email": EMAIL, "amount": 5 })).send(&env.deps).await;
    earn.assert_success(&json!({ "pointsEarned": 500, "newBalance": 16_500 }));
    assert_eq!(earn.header(REPLAYED), None);

    // Another tenant with the same key text and body runs, for its own member.
    let other_tenant = keyed(&b, Route::Bill, &b.live, "shared", &bill).send(&env.deps).await;
    other_tenant.assert_ok(&json!({ "points_earned": 5_000, "new_balance": 5_000 }));
    assert_eq!(other_tenant.header(REPLAYED), None);
    assert_ne!(other_tenant.str("transaction_id"), first.str("transaction_id"));

    // The sandbox key of the same tenant: computed afresh, never a replay or a 409.
    for body in [&bill, &json!({ "mobile": MOBILE, "amount": 70 })] {
        let sandbox = keyed(&t, Route::Bill, &t.test, "shared", body).send(&env.deps).await;
        sandbox.assert_ok(&json!({ "sandbox": true, "customer_id": first.str("customer_id") }));
        assert_eq!(sandbox.header(REPLAYED), None);
        assert_ne!(sandbox.str("transaction_id"), first.str("transaction_id"));
    }

    // Another live key of the same tenant shares the namespace: a replay.
    let second_live = env.issue_key(&t.slug, KeyMode::Live, Scope::ALL.to_vec()).await;
    let replay = keyed(&t, Route::Bill, &second_live.plain, "shared", &bill).send(&env.deps).await;
    assert_eq!((replay.status, &replay.text, replay.header(REPLAYED)), (200, &first.text, Some("true")));

    assert_eq!(env.balance(&t, MOBILE).await, 16_500);
    assert_eq!(env.balance(&b, MOBILE).await, 5_000);
    let items = env.scan().await;
    let pks: BTreeSet<&str> = records(&items).iter().map(|r| attr_str(r, "PK")).collect();
    let expected: BTreeSet<String> = [
        record_pk(&t, "live", "pos-bill", "shared"),
        record_pk(&t, "live", "public-earn", "shared"),
        record_pk(&b, "live", "pos-bill", "shared"),
    ]
    .into();
    assert_eq!(pks, expected.iter().map(String::as_str).collect());
}

#[tokio::test]
async fn a_request_that_fails_releases_its_key() {
    let env = TestEnv::new().await;
    let t = world(&env).await;
    env.issue_coupon(&t, MOBILE, "50", date(2026, 12, 31), Some("COUP-USED")).await;
    env.redeem(&t, &t.live, "COUP-USED").await.assert_ok(&json!({ "valid": true }));

    // Insufficient points: 422, no record, nothing written; it runs again once the
    // member can afford it.
    let expensive = json!({ "email": EMAIL, "rewardId": "rwd-002" });
    let before = env.scan().await;
    for _ in 0..2 {
        keyed(&t, Route::RewardRedeem, &t.live, "afford", &expensive).send(&env.deps).await.assert_public_error(
            422,
            "insufficient_points",
            "Insufficient points: balance 11000, needed 20000",
        );
        assert_eq!(env.scan().await, before, "a refused redemption leaves no record and no effect");
    }
    env.bill(&t, json!({ "mobile": MOBILE, "amount": 100 })).await.assert_ok(&json!({ "new_balance": 21_000 }));
    let bought = keyed(&t, Route::RewardRedeem, &t.live, "afford", &expensive).send(&env.deps).await;
    bought.assert_success(&json!({ "pointsSpent": 20_000, "newBalance": 1_000 }));
    assert_eq!(bought.header(REPLAYED), None, "the retry ran");

    // A used coupon: 400 each time (the failure is not stored), then the same key
    // with a corrected body runs.
    for _ in 0..2 {
        let used = keyed(&t, Route::Redeem, &t.live, "coupon", &json!({ "code": "COUP-USED" })).send(&env.deps).await;
        used.assert_error(400, "Coupon is used");
        assert_eq!(used.header(REPLAYED), None);
    }
    let corrected = keyed(&t, Route::Redeem, &t.live, "coupon", &json!({ "code": "COUP-XY12" })).send(&env.deps).await;
    corrected.assert_ok(&json!({ "valid": true, "coupon": { "code": "COUP-XY12", "status": "used" } }));
    assert_eq!(corrected.header(REPLAYED), None);

    // A refund over the sale, then the corrected amount.
    keyed(&t, Route::Refund, &t.live, "refund", &json!({ "external_ref": "INV-1", "amount": 200 }))
        .send(&env.deps)
        .await
        .assert_error(400, "amount is more than what remains refundable (100)");
    keyed(&t, Route::Refund, &t.live, "refund", &json!({ "external_ref": "INV-1", "amount": 50 }))
        .send(&env.deps)
        .await
        .assert_ok(&json!({ "points_reversed": 5_000, "new_balance": -4_000, "balance_negative": true }));

    // A bill whose items exceed it, then the corrected bill; a public refund of an
    // unknown order, then of the real one.
    keyed(&t, Route::Bill, &t.live, "bill", &json!({ "mobile": MOBILE, "amount": 10, "items": [{ "amount": 20 }] }))
        .send(&env.deps)
        .await
        .assert_error(400, "items total more than amount");
    keyed(&t, Route::Bill, &t.live, "bill", &json!({ "mobile": MOBILE, "amount": 10 }))
        .send(&env.deps)
        .await
        .assert_ok(&json!({ "points_earned": 1_000, "new_balance": -3_000 }));
    keyed(&t, Route::PublicRefund, &t.live, "order", &json!({ "reference": "ORD-404", "amount": 1 }))
        .send(&env.deps)
        .await
        .assert_public_error(404, "not_found", "Sale not found");
    keyed(&t, Route::PublicRefund, &t.live, "order", &json!({ "reference": "ORD-1", "amount": 1 }))
        .send(&env.deps)
        .await
        .assert_success(&json!({ "pointsReversed": 100, "newBalance": -3_100 }));

    let items = env.scan().await;
    let states: Vec<(&str, &str)> = records(&items).iter().map(|r| (attr_str(r, "PK"), attr_str(r, "state"))).collect();
    assert_eq!(states.len(), 5, "one record per key that finally succeeded: {states:?}");
    assert!(states.iter().all(|(_, state)| *state == "done"), "{states:?}");
}

#[tokio::test]
async fn a_request_still_running_holds_its_key_until_its_lease_ends() {
    let env = TestEnv::new().await;
    let t = world(&env).await;
    let bill = json!({ "mobile": MOBILE, "amount": 50 });
    let pk = record_pk(&t, "live", "pos-bill", "slow");
    let pk_scope = record_scope(&t, "live", "pos-bill", "slow");
    let claimed = env.store.claim_idempotency(&pk_scope, &body_hash(&bill), env.now()).await.expect("claim");
    let ClaimResult::Claimed { token: held } = claimed else { panic!("a fresh key is claimed: {claimed:?}") };
    let earn = json!({ "email": EMAIL, "amount": 5 });
    let earn_pk_scope = record_scope(&t, "live", "public-earn", "slow");
    let claimed = env.store.claim_idempotency(&earn_pk_scope, &body_hash(&earn), env.now()).await.expect("claim");
    assert!(matches!(claimed, ClaimResult::Claimed { .. }), "{claimed:?}");
    let before = env.scan().await;

    // The same body: still in progress; another body: another request's key.
    keyed(&t, Route::Bill, &t.live, "slow", &bill).send(&env.deps).await.assert_error(409, IN_PROGRESS);
    keyed(&t, Route::Bill, &t.live, "slow", &json!({ "mobile": MOBILE, "amount": 1 }))
        .send(&env.deps)
        .await
        .assert_error(409, OTHER_BODY);
    keyed(&t, Route::Earn, &t.live, "slow", &earn).send(&env.deps).await.assert_public_error(
        409,
        "idempotency_conflict",
        IN_PROGRESS,
    );
    env.advance(chrono::Duration::seconds(29));
    keyed(&t, Route::Bill, &t.live, "slow", &bill).send(&env.deps).await.assert_error(409, IN_PROGRESS);
    assert_eq!(env.scan().await, before, "a 409 writes nothing");

    // The lease (30 s) is over: the request takes the key over and runs, once.
    env.advance(chrono::Duration::seconds(2));
    let ran = keyed(&t, Route::Bill, &t.live, "slow", &bill).send(&env.deps).await;
    ran.assert_ok(&json!({ "points_earned": 5_000, "new_balance": 16_000 }));
    assert_eq!(ran.header(REPLAYED), None);
    let replay = keyed(&t, Route::Bill, &t.live, "slow", &bill).send(&env.deps).await;
    assert_eq!((replay.text.as_str(), replay.header(REPLAYED)), (ran.text.as_str(), Some("true")));

    // The abandoned holder can no longer complete (or release) the key.
    let late = Completion { scope: pk_scope.clone(), token: held.clone(), status: 200, body: "{}".into() };
    assert!(env.store.complete_idempotency(&late).await.is_err(), "a stale token cannot complete the record");
    env.store.release_idempotency(&pk_scope, &held).await.expect("a stale release is a no-op");
    let items = env.scan().await;
    let stored = record(&items, &pk).expect("the record");
    assert_eq!((attr_str(stored, "state"), attr_str(stored, "response")), ("done", ran.text.as_str()));
    assert_eq!(env.balance(&t, MOBILE).await, 16_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn identical_requests_racing_with_one_key_run_once() {
    let env = TestEnv::new().await;
    let t = world(&env).await;

    let races = [
        (Route::Bill, json!({ "mobile": MOBILE, "amount": 50 })),
        (Route::Redeem, json!({ "code": "COUP-XY12" })),
        (Route::RewardRedeem, json!({ "email": EMAIL, "rewardId": "rwd-001" })),
    ];
    for (route, body) in races {
        let call = keyed(&t, route, &t.live, "race", &body);
        let replies = concurrently(&env.deps, vec![call; 20]).await;

        let originals: Vec<&Reply> =
            replies.iter().filter(|r| r.status == 200 && r.header(REPLAYED).is_none()).collect();
        assert_eq!(originals.len(), 1, "{route:?}: exactly one execution");
        for reply in &replies {
            match (reply.status, reply.header(REPLAYED)) {
                (200, None) => {}
                (200, Some("true")) => assert_eq!(reply.text, originals[0].text, "{route:?}: a replay"),
                (409, None) => assert_conflict(route, reply, IN_PROGRESS),
                other => panic!("{route:?}: unexpected {other:?}: {}", reply.text),
            }
        }
    }

    // 11,000 + 5,000 - 5,000; one bill entry, one redemption, one voucher, one coupon used.
    assert_eq!(env.balance(&t, MOBILE).await, 11_000);
    let items = env.scan().await;
    assert_eq!(ledger_of(&items).len(), 4, "seed bill, seed order, one bill, one redemption");
    assert_eq!(items.iter().filter(|i| attr_str(i, "source") == "reward").count(), 1);
    let coupon = items.iter().find(|i| attr_str(i, "code") == "COUP-XY12").expect("the coupon");
    assert_eq!(attr_str(coupon, "status"), "used");
}

/// The body is read before the key is claimed: a malformed request costs no write, and
/// its `400` comes before any `409`, even on a key that already answered another body.
#[tokio::test]
async fn a_bad_body_is_400_and_claims_no_key_on_every_post_route() {
    let env = TestEnv::new().await;
    let t = world(&env).await;

    for case in cases() {
        let first = keyed(&t, case.route, &t.live, "used", &case.body).send(&env.deps).await;
        assert_eq!(first.status, 200, "{}: {}", case.name, first.text);
        let before = env.scan().await;

        for idem in ["used", "fresh"] {
            let reply = keyed(&t, case.route, &t.live, idem, &json!([])).send(&env.deps).await;
            assert_invalid(case.route, &reply, "Request body must be a JSON object");
            for bad in [json!({}), json!({ "amount": "12", "email": 42, "code": 7, "mobile": 1 })] {
                let reply = keyed(&t, case.route, &t.live, idem, &bad).send(&env.deps).await;
                assert_eq!(reply.status, 400, "{} {idem} {bad}: {}", case.name, reply.text);
            }
        }
        let after = env.scan().await;
        assert_eq!(after, before, "{}: a 400 leaves no record and no effect", case.name);
        assert!(record(&after, &record_pk(&t, "live", case.name, "fresh")).is_none(), "{}", case.name);
    }
}

#[tokio::test]
async fn an_invalid_key_is_400_on_every_post_route() {
    let env = TestEnv::new().await;
    let t = world(&env).await;
    let before = env.scan().await;

    for case in cases() {
        for api_key in [&t.live, &t.test] {
            for bad in [String::new(), "k".repeat(256), "two words".into(), "tab\tbed".into()] {
                let reply = keyed(&t, case.route, api_key, &bad, &case.body).send(&env.deps).await;
                assert_invalid(case.route, &reply, INVALID_KEY);
            }
            // Not ASCII: sent as raw bytes (a header value may carry them).
            let call = post(&t, case.route, api_key, &case.body);
            let mut req = call.request();
            let value = HeaderValue::from_bytes("clé-é".as_bytes()).expect("obs-text is a valid header value");
            req.headers_mut().insert(HeaderName::from_static("idempotency-key"), value);
            assert_invalid(case.route, &call.send_request(&env.deps, req).await, INVALID_KEY);
        }
    }
    assert_eq!(env.scan().await, before, "refused keys write nothing");

    // The limits themselves are fine: 255 characters, one character, any visible ASCII.
    let bill = |amount: i64| json!({ "mobile": MOBILE, "amount": amount });
    for (idem, amount) in [("k".repeat(255), 1), ("!".into(), 2), ("a-Z_0~9:/{}\"'".into(), 3)] {
        let reply = keyed(&t, Route::Bill, &t.live, &idem, &bill(amount)).send(&env.deps).await;
        assert_eq!(reply.status, 200, "{idem}: {}", reply.text);
        let again = keyed(&t, Route::Bill, &t.live, &idem, &bill(amount)).send(&env.deps).await;
        assert_eq!((again.text.as_str(), again.header(REPLAYED)), (reply.text.as_str(), Some("true")), "{idem}");
    }
    assert_eq!(env.balance(&t, MOBILE).await, 11_600);
}

#[tokio::test]
async fn a_record_answers_for_24_hours_then_the_key_runs_anew() {
    let env = TestEnv::new().await;
    let t = world(&env).await;
    let bill = json!({ "mobile": MOBILE, "amount": 50 });
    let pk = record_pk(&t, "live", "pos-bill", "daily");

    let first = keyed(&t, Route::Bill, &t.live, "daily", &bill).send(&env.deps).await;
    first.assert_ok(&json!({ "new_balance": 16_000 }));
    let items = env.scan().await;
    let stored = record(&items, &pk).expect("the record");
    let expires = start_time() + chrono::Duration::hours(24);
    assert_eq!(attr_n(stored, "expires_at_epoch"), expires.timestamp(), "the table's TTL attribute");
    assert_eq!(attr_n(stored, "expires_at_ms"), expires.timestamp_millis());
    assert_eq!(attr_str(stored, "request_hash"), body_hash(&bill));

    // A second before the end of the day it still answers.
    env.advance(chrono::Duration::hours(24) - chrono::Duration::seconds(1));
    let replay = keyed(&t, Route::Bill, &t.live, "daily", &bill).send(&env.deps).await;
    assert_eq!((replay.text.as_str(), replay.header(REPLAYED)), (first.text.as_str(), Some("true")));
    keyed(&t, Route::Bill, &t.live, "daily", &json!({ "mobile": MOBILE, "amount": 1 }))
        .send(&env.deps)
        .await
        .assert_error(409, OTHER_BODY);

    // After 24 hours (even before DynamoDB's TTL deletes it) the key is new again.
    env.advance(chrono::Duration::seconds(2));
    let anew = keyed(&t, Route::Bill, &t.live, "daily", &bill).send(&env.deps).await;
    anew.assert_ok(&json!({ "points_earned": 5_000, "new_balance": 21_000 }));
    assert_eq!(anew.header(REPLAYED), None);
    assert_ne!(anew.str("transaction_id"), first.str("transaction_id"));
    let items = env.scan().await;
    let stored = record(&items, &pk).expect("the record");
    assert_eq!(attr_str(stored, "response"), anew.text);
    assert_eq!(attr_n(stored, "expires_at_epoch"), (env.now() + chrono::Duration::hours(24)).timestamp());
    let again = keyed(&t, Route::Bill, &t.live, "daily", &bill).send(&env.deps).await;
    assert_eq!((again.text.as_str(), again.header(REPLAYED)), (anew.text.as_str(), Some("true")));
}

#[tokio::test]
async fn the_record_and_the_effect_commit_together_or_not_at_all() {
    let env = TestEnv::new().await;
    let t = world(&env).await;

    // Through the API: after a success both exist, after a failure neither.
    let ok =
        keyed(&t, Route::Bill, &t.live, "together", &json!({ "mobile": MOBILE, "amount": 50 })).send(&env.deps).await;
    ok.assert_ok(&json!({ "new_balance": 16_000 }));
    let items = env.scan().await;
    assert!(record(&items, &record_pk(&t, "live", "pos-bill", "together")).is_some());
    assert!(ledger_of(&items).iter().any(|e| attr_str(e, "txn_id") == ok.str("transaction_id")));
    let before = env.scan().await;
    let refused = keyed(&t, Route::RewardRedeem, &t.live, "apart", &json!({ "email": EMAIL, "rewardId": "rwd-003" }))
        .send(&env.deps)
        .await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert_eq!(env.scan().await, before, "no record and no effect");

    // Through the store: a balance change whose claim is no longer its own writes
    // nothing at all, not even the ledger entry or the balance.
    let slug = TenantSlug::parse(t.slug()).expect("slug");
    let id = CustomerId::parse(ok.str("customer_id")).expect("id");
    let pk = record_pk(&t, "live", "pos-bill", "store-level");
    let pk_scope = record_scope(&t, "live", "pos-bill", "store-level");
    let ClaimResult::Claimed { token } =
        env.store.claim_idempotency(&pk_scope, "hash", env.now()).await.expect("claim")
    else {
        panic!("a fresh key is claimed");
    };
    let member = env.store.get_customer(&slug, &id).await.expect("read").expect("the member");
    let change = |token: &str| {
        let mut after = member.clone();
        after.points_balance += 7;
        after.lifetime_points += 7;
        after.version += 1;
        let entry = LedgerEntry {
            txn_id: uuid::Uuid::new_v4(),
            customer_id: id,
            kind: EntryKind::Adjustment,
            points: 7,
            lifetime_points: 7,
            amount_minor: None,
            reference: None,
            description: Some("store-level test".into()),
            balance_after: after.points_balance,
            created_at: env.now(),
            sold_at: None,
        };
        Mutation {
            customer: CustomerWrite::Update { expected_version: member.version, after },
            coupon: None,
            entries: vec![entry],
            sale: None,
            purchase: None,
            otp: None,
            new_codes: vec![],
            completion: Some(Completion {
                scope: pk_scope.clone(),
                token: token.into(),
                status: 200,
                body: "{}".into(),
            }),
            outcome_ref: None,
            admin: None,
            members_tier: None,
        }
    };
    let before = env.scan().await;
    let lost = env.store.apply(&slug, &change("not-this-request"), env.now()).await;
    assert_eq!(lost, Err(MutationError::ClaimLost));
    assert_eq!(env.scan().await, before, "nothing of the change was written");
    env.store.apply(&slug, &change(&token), env.now()).await.expect("the holder's change commits");
    let items = env.scan().await;
    let stored = record(&items, &pk).expect("the record");
    assert_eq!((attr_str(stored, "state"), attr_str(stored, "response")), ("done", "{}"));
    assert!(ledger_of(&items).iter().any(|e| attr_str(e, "description") == "store-level test"));
    assert_eq!(env.balance(&t, MOBILE).await, 16_007);

    // A coupon is consumed only together with its record too.
    let pk_scope = record_scope(&t, "live", "pos-coupon-redeem", "store-level");
    let claimed = env.store.claim_idempotency(&pk_scope, "hash", env.now()).await.expect("claim");
    assert!(matches!(claimed, ClaimResult::Claimed { .. }), "{claimed:?}");
    let code = loyalty::domain::Code::parse("COUP-XY12").expect("code");
    let mut used = env.store.get_code(&slug, &code).await.expect("read").expect("the coupon");
    used.status = loyalty::model::CodeStatus::Used;
    used.used_at = Some(env.now());
    let wrong =
        Completion { scope: pk_scope.clone(), token: "not-this-request".into(), status: 200, body: "{}".into() };
    let before = env.scan().await;
    assert_eq!(env.store.consume_code_completing(&slug, &used, &wrong, "key").await, Err(ConsumeError::ClaimLost));
    assert_eq!(env.scan().await, before, "the coupon is still active");
}

#[tokio::test]
async fn sandbox_keys_and_previews_store_no_record() {
    let env = TestEnv::new().await;
    let t = world(&env).await;
    let before = env.scan().await;

    for case in cases() {
        for _ in 0..2 {
            let reply = keyed(&t, case.route, &t.test, "sandbox", &case.body).send(&env.deps).await;
            assert_eq!(reply.status, 200, "{}: {}", case.name, reply.text);
            assert_eq!(reply.body["sandbox"], json!(true), "{}: {}", case.name, reply.text);
            assert_eq!(reply.header(REPLAYED), None, "{}: computed afresh", case.name);
        }
        let other = keyed(&t, case.route, &t.test, "sandbox", &case.other).send(&env.deps).await;
        assert_ne!(other.status, 409, "{}: no record, so no conflict: {}", case.name, other.text);
    }
    let preview = json!({ "mobile": MOBILE, "amount": 50, "preview": true });
    keyed(&t, Route::Bill, &t.live, "preview", &preview)
        .send(&env.deps)
        .await
        .assert_ok(&json!({ "preview": true, "new_balance": 16_000 }));
    assert_eq!(env.scan().await, before, "not one item written");

    // The live key then uses the same key text freely, with another body.
    for case in cases() {
        let live = keyed(&t, case.route, &t.live, "sandbox", &case.body).send(&env.deps).await;
        assert_eq!((live.status, live.header(REPLAYED)), (200, None), "{}: {}", case.name, live.text);
    }
    let live =
        keyed(&t, Route::Bill, &t.live, "preview", &json!({ "mobile": MOBILE, "amount": 1 })).send(&env.deps).await;
    live.assert_ok(&json!({ "points_earned": 100 }));
    assert_eq!(live.header(REPLAYED), None);
}
