//! Keys and tenants across every route of both dialects: every kind of key (live,
//! sandbox, read-only; `app` and `pos` channels) gets its documented answer (and every
//! bad key the same 401 within a dialect); another
//! tenant's identifiers find nothing and nothing of the other tenant is read or
//! written; a sandbox key writes nothing on any write route; plain keys reach neither
//! the logs nor the table.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use loyalty::keys::{generate_key, hash_key, KeyMode, Scope};
use loyalty::store::Store;
use loyalty::Deps;
use serde_json::{json, Value};

use super::auth::valid_call;
use super::support::{attr_str, date, tenant_items, Call, Item, Reply, Route, Tenant, TestEnv, UNAUTHORIZED};

const MOBILE: &str = "9876543210";
const EMAIL: &str = "ravi@example.com";
const A: &str = "alpha-foods";
const B: &str = "beta-foods";

/// What tenant A holds, by the identifiers the routes take.
struct World {
    a: Tenant,
    b: Tenant,
    revoked: String,
    customer_id: String,
    bill_txn: String,
    voucher: String,
}

/// Tenant A: Ravi (mobile and email) with bill `INV-1` (₹100) and order `ORD-1` (₹10),
/// coupon `COUP-XY12`, the demo rewards, a voucher bought with `rwd-001` (balance
/// 6,000 after it), and a revoked key. Tenant B: its keys and nothing else.
async fn world(env: &TestEnv) -> World {
    let a = env.tenant(A).await;
    let b = env.tenant(B).await;
    let bill = env
        .bill(
            &a,
            json!({ "mobile": MOBILE, "email": EMAIL, "name": "Ravi Kumar", "amount": 100, "external_ref": "INV-1" }),
        )
        .await;
    bill.assert_ok(&json!({ "new_balance": 10_000 }));
    Call::public(Route::Earn)
        .key(&a.live)
        .json(&json!({ "email": EMAIL, "amount": 10, "reference": "ORD-1" }))
        .send(&env.deps)
        .await
        .assert_success(&json!({ "newBalance": 11_000 }));
    env.issue_coupon(&a, MOBILE, "200", date(2026, 12, 31), Some("COUP-XY12")).await;
    env.add_demo_rewards(&a).await;
    let bought = Call::public(Route::RewardRedeem)
        .key(&a.live)
        .json(&json!({ "email": EMAIL, "rewardId": "rwd-001" }))
        .send(&env.deps)
        .await;
    bought.assert_success(&json!({ "newBalance": 6_000 }));
    let revoked = env.issue_key(&a.slug, KeyMode::Live, Scope::ALL.to_vec()).await;
    env.store.revoke_key(&revoked.record.key_id, env.now()).await.expect("revoke").expect("the key exists");
    World {
        customer_id: bill.str("customer_id").to_owned(),
        bill_txn: bill.str("transaction_id").to_owned(),
        voucher: bought.data_str("voucherCode").to_owned(),
        revoked: revoked.plain,
        a,
        b,
    }
}

fn public_error(code: &str, message: &str) -> Value {
    json!({ "result": "error", "error": { "code": code, "message": message } })
}

fn unauthorized(route: Route) -> Value {
    if route.is_public() {
        public_error("unauthorized", "Missing or invalid API key")
    } else {
        serde_json::from_str(UNAUTHORIZED).expect("JSON")
    }
}

fn forbidden(route: Route, scope: &str) -> Value {
    let message = format!("API key missing required scope: {scope}");
    if route.is_public() {
        public_error("forbidden", &message)
    } else {
        json!({ "error": message, "code": "forbidden" })
    }
}

/// The answer to a till's (`pos`) key on reward redemption.
fn forbidden_channel() -> Value {
    public_error("forbidden", "API key channel pos may not call this route")
}

fn not_found(route: Route, what: &str) -> Value {
    let message = format!("{what} not found");
    if route.is_public() {
        public_error("not_found", &message)
    } else {
        json!({ "error": message, "code": "not_found" })
    }
}

#[track_caller]
fn assert_answer(reply: &Reply, status: u16, body: &Value, what: &str) {
    assert_eq!((reply.status, &reply.body), (status, body), "{what}: {}", reply.text);
}

#[tokio::test]
async fn every_route_answers_every_kind_of_key_as_documented() {
    let env = TestEnv::new().await;
    let w = world(&env).await;
    let a_slug = w.a.slug().to_owned();
    let before = env.scan().await;
    let malformed = format!("mg_live_{}!", "x".repeat(31));
    let bad_keys: Vec<(&str, Option<String>)> = vec![
        ("no key", None),
        ("malformed key", Some(malformed)),
        ("unknown live key", Some(generate_key(KeyMode::Live, &w.a.slug).plain)),
        ("unknown test key", Some(generate_key(KeyMode::Test, &w.a.slug).plain)),
        ("revoked key", Some(w.revoked.clone())),
    ];
    let mut bodies_401: BTreeMap<bool, BTreeSet<String>> = BTreeMap::new();

    for route in Route::EVERY {
        let call = || valid_call(route, &a_slug);
        for (what, key) in &bad_keys {
            let call = match key {
                Some(key) => call().key(key),
                None => call(),
            };
            let reply = call.send(&env.deps).await;
            assert_answer(&reply, 401, &unauthorized(route), &format!("{route:?} with {what}"));
            bodies_401.entry(route.is_public()).or_default().insert(reply.text.clone());
        }

        // Another tenant's key: on A's slug a 401 like any bad key; in the Public
        // dialect the key names its own tenant, which has none of A's things. (An
        // unknown email earns in the key's own tenant: that one comes last.)
        if route != Route::Earn {
            let other = call().key(&w.b.live).send(&env.deps).await;
            let (status, body) = match route {
                _ if !route.is_public() => (401, unauthorized(route)),
                Route::Balance | Route::PublicTransactions | Route::RewardRedeem => (404, not_found(route, "Customer")),
                Route::Verify => (404, not_found(route, "Voucher")),
                Route::PublicRefund => (404, not_found(route, "Sale")),
                _ => (200, json!({ "result": "success", "data": [] })),
            };
            assert_answer(&other, status, &body, &format!("{route:?} with B's key"));
            if other.status == 401 {
                bodies_401.entry(route.is_public()).or_default().insert(other.text.clone());
            }
        }

        // The read-only key reads, and may not write.
        let read_only = call().key(&w.a.read_only).send(&env.deps).await;
        if route.is_write() {
            assert_answer(&read_only, 403, &forbidden(route, "write:transactions"), &format!("{route:?} read-only"));
        } else {
            assert_eq!(read_only.status, 200, "{route:?} read-only: {}", read_only.text);
            assert_eq!(read_only.body.get("sandbox"), None, "{route:?}");
        }

        // The sandbox key: the real answer, marked, and nothing written.
        let sandbox = call().key(&w.a.test).send(&env.deps).await;
        assert_eq!(sandbox.status, 200, "{route:?} sandbox: {}", sandbox.text);
        assert_eq!(sandbox.body["sandbox"], json!(true), "{route:?} sandbox: {}", sandbox.text);

        // A till's keys: the same answers, but no reward redemption (live or sandbox).
        let pos_sandbox = call().key(&w.a.pos_test).send(&env.deps).await;
        if route == Route::RewardRedeem {
            assert_answer(&pos_sandbox, 403, &forbidden_channel(), "RewardRedeem pos sandbox");
            let pos = call().key(&w.a.pos).send(&env.deps).await;
            assert_answer(&pos, 403, &forbidden_channel(), "RewardRedeem pos live");
            let other = call().key(&w.b.pos).send(&env.deps).await;
            assert_answer(&other, 403, &forbidden_channel(), "RewardRedeem B's pos key");
        } else {
            assert_eq!(
                (pos_sandbox.status, strip_generated(&pos_sandbox.body)),
                (sandbox.status, strip_generated(&sandbox.body)),
                "{route:?} pos sandbox answers as the app sandbox key"
            );
            if !route.is_public() {
                let other = call().key(&w.b.pos).send(&env.deps).await;
                assert_answer(&other, 401, &unauthorized(route), &format!("{route:?} with B's pos key"));
            }
        }

        assert_eq!(env.scan().await, before, "{route:?}: nothing written");
    }

    assert_eq!(bodies_401[&false], BTreeSet::from([UNAUTHORIZED.to_owned()]), "one Partner 401");
    assert_eq!(bodies_401[&true].len(), 1, "one Public 401: {:?}", bodies_401[&true]);

    // B's key earning for A's member's email enrols B's own member; A is untouched.
    let earn = valid_call(Route::Earn, &a_slug).key(&w.b.live).send(&env.deps).await;
    earn.assert_success(&json!({ "pointsEarned": 1_000, "newBalance": 1_000 }));
    let after = env.scan().await;
    assert_eq!(tenant_items(&after, A), tenant_items(&before, A), "tenant A is untouched");
    let b_profiles: Vec<&Item> =
        tenant_items(&after, B).into_iter().filter(|i| attr_str(i, "SK") == "PROFILE").collect();
    assert_eq!(b_profiles.len(), 1);
    assert_eq!(attr_str(b_profiles[0], "email"), EMAIL);
    assert_ne!(attr_str(b_profiles[0], "customer_id"), w.customer_id);
}

/// Records the body of every DynamoDB request a client sends.
#[derive(Debug, Clone, Default)]
pub(super) struct Recorder(Arc<Mutex<Vec<String>>>);

impl Recorder {
    /// A `Deps` on the test's table whose every store request is recorded here (its
    /// caches empty, like a cold function).
    pub(super) fn deps(&self, env: &TestEnv) -> Deps {
        let client = Client::from_conf(env.client.config().to_builder().interceptor(self.clone()).build());
        Deps::new(Store::new(client, env.table.clone()), env.clock.clone())
    }

    pub(super) fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().expect("recorder lock"))
    }
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "Recorder"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let body = context.request().body().bytes().map(|b| String::from_utf8_lossy(b).into_owned());
        self.0.lock().expect("recorder lock").push(body.unwrap_or_default());
        Ok(())
    }
}

#[tokio::test]
async fn another_tenants_identifiers_find_nothing_on_every_route() {
    let env = TestEnv::new().await;
    let w = world(&env).await;
    let recorder = Recorder::default();
    let deps = recorder.deps(&env);
    let b = w.b.slug().to_owned();
    let before = env.scan().await;

    // Every identifier of A, through B's keys (live and sandbox), on every route.
    let calls: Vec<(Route, Call, u16, Value)> = vec![
        (Route::Customer, Call::customer(&b).query("mobile", MOBILE), 200, json!({ "found": false, "mobile": MOBILE })),
        (
            Route::Bill,
            Call::bill(&b).json(&json!({ "customer_id": w.customer_id, "amount": 10 })),
            404,
            not_found(Route::Bill, "Customer"),
        ),
        (
            Route::Redeem,
            Call::redeem(&b).json(&json!({ "code": "COUP-XY12" })),
            404,
            not_found(Route::Redeem, "Coupon"),
        ),
        (Route::Redeem, Call::redeem(&b).json(&json!({ "code": w.voucher })), 404, not_found(Route::Redeem, "Coupon")),
        (
            Route::Reinstate,
            Call::reinstate(&b).json(&json!({ "code": "COUP-XY12" })),
            404,
            not_found(Route::Reinstate, "Coupon"),
        ),
        (
            Route::Reinstate,
            Call::reinstate(&b).json(&json!({ "code": w.voucher })),
            404,
            not_found(Route::Reinstate, "Coupon"),
        ),
        (
            Route::Bill,
            Call::bill(&b).json(&json!({ "mobile": MOBILE, "amount": 10, "coupon_code": "COUP-XY12" })),
            404,
            not_found(Route::Bill, "Coupon"),
        ),
        (
            Route::Transactions,
            Call::new(Route::Transactions, &b).query("mobile", MOBILE),
            404,
            not_found(Route::Transactions, "Customer"),
        ),
        (
            Route::Otp,
            Call::new(Route::Otp, &b).json(&json!({ "mobile": MOBILE })),
            404,
            not_found(Route::Otp, "Customer"),
        ),
        (
            Route::Refund,
            Call::new(Route::Refund, &b).json(&json!({ "external_ref": "INV-1", "amount": 1, "refund_ref": "RET-1" })),
            404,
            not_found(Route::Refund, "Sale"),
        ),
        (
            Route::Refund,
            Call::new(Route::Refund, &b)
                .json(&json!({ "transaction_id": w.bill_txn, "amount": 1, "refund_ref": "RET-2" })),
            404,
            not_found(Route::Refund, "Sale"),
        ),
        (
            Route::Balance,
            Call::public(Route::Balance).query("email", EMAIL),
            404,
            not_found(Route::Balance, "Customer"),
        ),
        (
            Route::RewardRedeem,
            Call::public(Route::RewardRedeem).json(&json!({ "email": EMAIL, "rewardId": "rwd-001" })),
            404,
            not_found(Route::RewardRedeem, "Customer"),
        ),
        (Route::Rewards, Call::public(Route::Rewards), 200, json!({ "result": "success", "data": [] })),
        (Route::Verify, Call::verify("COUP-XY12"), 404, not_found(Route::Verify, "Voucher")),
        (Route::Verify, Call::verify(&w.voucher), 404, not_found(Route::Verify, "Voucher")),
        (
            Route::PublicTransactions,
            Call::public(Route::PublicTransactions).query("email", EMAIL),
            404,
            not_found(Route::PublicTransactions, "Customer"),
        ),
        (
            Route::PublicRefund,
            Call::public(Route::PublicRefund)
                .json(&json!({ "reference": "ORD-1", "amount": 1, "refundReference": "RET-3" })),
            404,
            not_found(Route::PublicRefund, "Sale"),
        ),
        (
            Route::PublicRefund,
            Call::public(Route::PublicRefund)
                .json(&json!({ "reference": "INV-1", "amount": 1, "refundReference": "RET-4" })),
            404,
            not_found(Route::PublicRefund, "Sale"),
        ),
    ];
    let covered: Vec<Route> = Route::EVERY.into_iter().filter(|r| calls.iter().any(|(c, ..)| c == r)).collect();
    let missing: Vec<Route> = Route::EVERY.into_iter().filter(|r| !covered.contains(r)).collect();
    assert_eq!(missing, vec![Route::Earn], "every route but earn (below) is called");
    let b_keys = [
        (&w.b.live, "live", false, false),
        (&w.b.test, "sandbox", true, false),
        (&w.b.pos, "pos", false, true),
        (&w.b.pos_test, "pos sandbox", true, true),
    ];
    for (key, mode, sandbox, pos) in b_keys {
        for (route, call, status, body) in &calls {
            let reply = call.clone().key(key).send(&deps).await;
            let (status, mut expected) = match route {
                // A till's key is refused before anything is looked up.
                Route::RewardRedeem if pos => (403, forbidden_channel()),
                _ => (*status, body.clone()),
            };
            if sandbox && status == 200 {
                expected["sandbox"] = json!(true);
            }
            assert_answer(&reply, status, &expected, &format!("B {mode}: {:?}", call.request().uri().path()));
        }
    }
    assert_eq!(env.scan().await, before, "nothing written anywhere");

    // Unknown to B, a mobile or an email on a bill or an earning is B's own new member.
    let bill = Call::bill(&b).key(&w.b.live).json(&json!({ "mobile": MOBILE, "amount": 1 })).send(&deps).await;
    bill.assert_ok(&json!({ "new_balance": 100, "customer": { "mobile": MOBILE, "points_balance": 100 } }));
    let earn = Call::public(Route::Earn).key(&w.b.live).json(&json!({ "email": EMAIL, "amount": 2 })).send(&deps).await;
    earn.assert_success(&json!({ "newBalance": 200 }));
    for id in [bill.str("customer_id"), earn.data_str("customerId")] {
        assert_ne!(id, w.customer_id, "B never reaches A's member");
    }

    let after = env.scan().await;
    assert_eq!(tenant_items(&after, A), tenant_items(&before, A), "tenant A is untouched");
    let sent = recorder.take();
    assert!(sent.iter().any(|body| body.contains(&format!("TENANT#{B}"))), "the recorder saw B's requests");
    let a_prefix = format!("TENANT#{A}");
    let leaks: Vec<&String> = sent.iter().filter(|body| body.contains(&a_prefix)).collect();
    assert!(leaks.is_empty(), "B's requests named A's items: {leaks:#?}");
}

#[tokio::test]
async fn a_sandbox_key_on_every_write_route_leaves_the_table_identical() {
    let env = TestEnv::new().await;
    let w = world(&env).await;
    let a = w.a.slug().to_owned();
    let before = env.scan().await;

    // Each write with the status its live twin would get: all 200, but a reward the
    // member cannot afford.
    let writes: Vec<(Call, u16)> = vec![
        (Call::bill(&a).json(&json!({ "mobile": MOBILE, "amount": 10 })), 200),
        (Call::bill(&a).json(&json!({ "customer_id": w.customer_id, "amount": 2000, "external_ref": "SBX-1" })), 200),
        (
            Call::bill(&a)
                .json(&json!({ "mobile": MOBILE, "amount": 10, "items": [{ "category": "beverages", "amount": 5 }] })),
            200,
        ),
        (Call::bill(&a).json(&json!({ "mobile": MOBILE, "amount": 100, "external_ref": "INV-1" })), 200),
        (
            Call::bill(&a)
                .json(&json!({ "mobile": "9123456789", "name": "Asha", "email": "asha@example.com", "amount": 5 })),
            200,
        ),
        (Call::bill(&a).json(&json!({ "mobile": MOBILE, "amount": 50, "redeem_points": 2000, "otp": "000000" })), 200),
        (Call::bill(&a).header("Idempotency-Key", "sbx").json(&json!({ "mobile": MOBILE, "amount": 3 })), 200),
        (Call::redeem(&a).json(&json!({ "code": "COUP-XY12" })), 200),
        (Call::redeem(&a).header("Idempotency-Key", "sbx").json(&json!({ "code": w.voucher })), 200),
        (Call::new(Route::Otp, &a).json(&json!({ "mobile": MOBILE })), 200),
        (
            Call::new(Route::Refund, &a)
                .json(&json!({ "external_ref": "INV-1", "amount": 100, "refund_ref": "RET-5" })),
            200,
        ),
        (
            Call::new(Route::Refund, &a)
                .json(&json!({ "transaction_id": w.bill_txn, "amount": 1, "refund_ref": "RET-6" })),
            200,
        ),
        (Call::public(Route::Earn).json(&json!({ "email": EMAIL, "amount": 10, "reference": "SBX-2" })), 200),
        (Call::public(Route::Earn).json(&json!({ "email": "new@example.com", "name": "New", "amount": 10 })), 200),
        (Call::public(Route::Earn).json(&json!({ "email": EMAIL, "amount": 10, "reference": "ORD-1" })), 200),
        (Call::public(Route::RewardRedeem).json(&json!({ "email": EMAIL, "rewardId": "rwd-001" })), 200),
        (
            Call::public(Route::RewardRedeem)
                .header("Idempotency-Key", "sbx")
                .json(&json!({ "email": EMAIL, "rewardId": "rwd-002" })),
            422,
        ),
        (
            Call::public(Route::PublicRefund)
                .json(&json!({ "reference": "ORD-1", "amount": 10, "refundReference": "RET-7" })),
            200,
        ),
        // A read with a write in it: the lookup that enrols.
        (Call::customer(&a).query("mobile", "9000000001").query("create", "true").query("name", "Walk-in"), 200),
    ];
    let routes: BTreeSet<String> = writes.iter().map(|(c, _)| c.request().uri().path().to_owned()).collect();
    assert_eq!(routes.len(), 8, "every write route and the enrolling lookup: {routes:?}");

    // Twice: the second round answers exactly what the first did (nothing was kept).
    let mut first: Vec<Value> = Vec::new();
    for round in 0..2 {
        for (i, (call, status)) in writes.iter().enumerate() {
            let reply = call.clone().key(&w.a.test).send(&env.deps).await;
            let what = format!("{} #{i}", call.request().uri().path());
            assert_eq!(reply.status, *status, "{what}: {}", reply.text);
            if *status == 200 {
                assert_eq!(reply.body["sandbox"], json!(true), "{what}: {}", reply.text);
            } else {
                reply.assert_public_error(
                    422,
                    "insufficient_points",
                    "Insufficient points: balance 6000, needed 20000",
                );
            }
            let stable = strip_generated(&reply.body);
            if round == 0 {
                first.push(stable);
            } else {
                assert_eq!(stable, first[i], "{what}: the same answer again");
            }
        }
        assert_eq!(env.scan().await, before, "round {round}: the table is identical");
    }

    // A till's sandbox key: the same answers, but reward redemption is refused.
    for (i, (call, _)) in writes.iter().enumerate() {
        let reply = call.clone().key(&w.a.pos_test).send(&env.deps).await;
        let what = format!("pos sandbox {} #{i}", call.request().uri().path());
        if call.request().uri().path() == "/v1/public/loyalty/redeem" {
            assert_answer(&reply, 403, &forbidden_channel(), &what);
        } else {
            assert_eq!(strip_generated(&reply.body), first[i], "{what}: {}", reply.text);
        }
    }
    assert_eq!(env.scan().await, before, "pos sandbox: the table is identical");
}

/// An answer without what is generated afresh each time (ids, codes).
fn strip_generated(body: &Value) -> Value {
    match body {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| {
                    !matches!(
                        k.as_str(),
                        "transaction_id"
                            | "transactionId"
                            | "refund_id"
                            | "refundId"
                            | "redemptionId"
                            | "voucherCode"
                            | "customer_id"
                            | "customerId"
                    )
                })
                .map(|(k, v)| (k.clone(), strip_generated(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(strip_generated).collect()),
        other => other.clone(),
    }
}

/// A log sink shared with the subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Every string anywhere in an attribute value.
fn strings(value: &AttributeValue, out: &mut Vec<String>) {
    match value {
        AttributeValue::S(s) => out.push(s.clone()),
        AttributeValue::Ss(list) => out.extend(list.iter().cloned()),
        AttributeValue::L(list) => list.iter().for_each(|v| strings(v, out)),
        AttributeValue::M(map) => map.iter().for_each(|(k, v)| {
            out.push(k.clone());
            strings(v, out)
        }),
        AttributeValue::B(b) => out.push(String::from_utf8_lossy(b.as_ref()).into_owned()),
        _ => {}
    }
}

// On the test's own thread (a current-thread runtime), so the scoped subscriber sees
// every line the handlers and the SDK log, at every level (the product holds the SDK
// at `warn`; here it is at `trace`, the worst case).
#[tokio::test]
async fn keys_reach_neither_the_logs_nor_the_table() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_current_span(true)
        .with_writer(captured.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let env = TestEnv::new().await;
    let w = world(&env).await;
    let unknown = generate_key(KeyMode::Live, &w.a.slug).plain;
    let keys: Vec<(&str, &String)> = vec![
        ("A live", &w.a.live),
        ("A sandbox", &w.a.test),
        ("A read-only", &w.a.read_only),
        ("A pos", &w.a.pos),
        ("A pos sandbox", &w.a.pos_test),
        ("A revoked", &w.revoked),
        ("B live", &w.b.live),
        ("B sandbox", &w.b.test),
        ("unknown", &unknown),
    ];
    // Callsites first reached on other tests' threads while this subscriber was being
    // installed may have cached "no one listens": ask every callsite again.
    tracing::callsite::rebuild_interest_cache();
    let mut statuses = BTreeSet::new();
    for route in Route::EVERY {
        for (_, key) in &keys {
            let reply = valid_call(route, w.a.slug()).header("x-api-key", key).send(&env.deps).await;
            statuses.insert(reply.status);
        }
        // A refused request too (400 after authentication).
        let reply = super::auth::bad_input_call(route, w.a.slug()).key(&w.a.live).send(&env.deps).await;
        statuses.insert(reply.status);
    }
    assert!(
        [200, 400, 401, 403, 404].iter().all(|s| statuses.contains(s)),
        "the requests took every path: {statuses:?}"
    );
    let items = env.scan().await;
    drop(_guard);

    let logs = String::from_utf8(captured.0.lock().expect("log lock").clone()).expect("UTF-8 logs");
    assert!(logs.contains("authenticated"), "the capture works: {} bytes", logs.len());
    let live_id = key_id(&items, &w.a.live);
    assert!(logs.contains(&live_id), "the key id is logged");
    let mut stored = Vec::new();
    for item in &items {
        item.values().for_each(|v| strings(v, &mut stored));
    }
    for (what, key) in &keys {
        let secret = &key[8..];
        assert!(!logs.contains(secret), "{what} key in the logs");
        let found: Vec<&String> = stored.iter().filter(|s| s.contains(secret)).collect();
        assert!(found.is_empty(), "{what} key in the table: {found:?}");
    }
    // What the table holds instead: the hash and the id of each issued key.
    for key in [&w.a.live, &w.a.test, &w.a.read_only, &w.a.pos, &w.a.pos_test, &w.revoked, &w.b.live, &w.b.test] {
        key_id(&items, key);
    }
}

/// The id of a key, from its record (found by the key's hash).
fn key_id(items: &[Item], plain: &str) -> String {
    let pk = format!("APIKEY#{}", hash_key(plain).0);
    let record = items.iter().find(|i| attr_str(i, "PK") == pk).expect("the key's record, by hash");
    let id = attr_str(record, "key_id").to_owned();
    assert!(id.starts_with("key_"), "{id}");
    assert!(items.iter().any(|i| attr_str(i, "PK") == format!("KEYID#{id}")), "the key's record by id");
    id
}
