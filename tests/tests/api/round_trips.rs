//! Sequential DynamoDB round trips per path, counted on the test's own client and held
//! to the table in docs/architecture.md ("Least round trips per path"), which this test
//! reads: the doc and the code cannot drift.
//!
//! A call's depth is 1 + the largest depth among the calls answered before it was sent;
//! a request's round trips are the largest depth among its calls. So calls sent together
//! count once however the machine schedules them, and a call that waited for another's
//! answer counts after it, however fast that answer came. Each path is measured cold (a
//! new function instance: empty key and program caches) and then warm (the same
//! instance's next request). An `Idempotency-Key` claim is a call like any other.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::{BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::Client;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use loyalty::actor::Role;
use loyalty::store::Store;
use loyalty::Deps;
use serde_json::json;

use super::console::{token, Admin, AdminCall};
use super::support::{date, Call, Reply, Route, TestEnv};

const MOBILE: &str = "9876543210";
const EMAIL: &str = "ravi@example.com";
const OTP_MOBILE: &str = "9000000009";

/// A call's depth, kept in its own config bag from the send to the answer.
#[derive(Debug, Clone, Copy)]
struct Depth(u32);

impl Storable for Depth {
    type Storer = StoreReplace<Depth>;
}

/// The calls of one request, with their depths.
#[derive(Debug, Default)]
struct Calls {
    /// The largest depth among the calls answered so far.
    answered: u32,
    log: Vec<(String, u32)>,
}

/// Gives each call its depth (an SDK interceptor on the client the request's `Deps` use).
#[derive(Debug, Clone, Default)]
struct Depths(Arc<Mutex<Calls>>);

impl Depths {
    fn lock(&self) -> std::sync::MutexGuard<'_, Calls> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The request's round trips and its calls, and a clean slate for the next request.
    fn take(&self) -> (u32, Vec<(String, u32)>) {
        let mut calls = self.lock();
        let taken = std::mem::take(&mut *calls);
        (taken.log.iter().map(|(_, d)| *d).max().unwrap_or(0), taken.log)
    }
}

impl Intercept for Depths {
    fn name(&self) -> &'static str {
        "Depths"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // A retry of a call is the same call: it keeps its first depth.
        if cfg.load::<Depth>().is_some() {
            return Ok(());
        }
        let operation = cfg.load::<Metadata>().map(Metadata::name).unwrap_or_default().to_owned();
        let mut calls = self.lock();
        let depth = calls.answered + 1;
        calls.log.push((operation, depth));
        cfg.interceptor_state().store_put(Depth(depth));
        Ok(())
    }

    fn read_after_attempt(
        &self,
        _context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(Depth(depth)) = cfg.load::<Depth>().copied() {
            let mut calls = self.lock();
            calls.answered = calls.answered.max(depth);
        }
        Ok(())
    }
}

/// A request of either kind.
enum Req {
    Api(Call),
    Admin(AdminCall),
}

impl Req {
    async fn send(&self, deps: &Deps) -> Reply {
        match self {
            Req::Api(call) => call.send(deps).await,
            Req::Admin(call) => call.send(deps).await,
        }
    }
}

/// A function instance whose store counts depths; cold until its first request.
struct Instance {
    deps: Deps,
    depths: Depths,
}

impl Instance {
    fn new(env: &TestEnv, otp: &Arc<Deps>) -> Self {
        let depths = Depths::default();
        let config = env.client.config().to_builder().interceptor(depths.clone()).build();
        let store = Store::new(Client::from_conf(config), env.table.clone());
        // As the functions run: the key's "last used" note included, so a cold request
        // shows that the note adds no round trip.
        let deps = Deps::new(store, env.clock.clone())
            .with_sms(otp.sms.clone())
            .with_sessions(super::console::sessions())
            .with_key_use_notes(loyalty::deps::KEY_USE_WRITE_INTERVAL);
        Instance { deps, depths }
    }

    async fn depth(&self, path: &str, req: &Req) -> u32 {
        self.depths.take();
        let reply = req.send(&self.deps).await;
        let (depth, calls) = self.depths.take();
        assert!(reply.status < 300, "{path}: {} {}", reply.status, reply.text);
        eprintln!("{path}: {depth} {calls:?}");
        depth
    }
}

/// `| \`path\` | warm | cold | ... |` rows of the section "Least round trips per path".
fn documented() -> BTreeMap<String, (u32, u32)> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/architecture.md"))
        .expect("docs/architecture.md");
    let section = doc.split("### Least round trips per path").nth(1).expect("the section in docs/architecture.md");
    let section = section.split("\n#").next().unwrap_or(section);
    section
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let path = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            let warm = cells.get(2)?.parse().ok()?;
            let cold = cells.get(3)?.parse().ok()?;
            Some((path.to_owned(), (warm, cold)))
        })
        .collect()
}

#[tokio::test]
async fn every_path_makes_the_documented_least_number_of_round_trips() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.add_demo_rewards(&t).await;
    let (otp, outbox) = env.with_outbox();
    let member = env.seed_member(&t, MOBILE, "Ravi Kumar", "500").await;
    let earn = Call::public(Route::Earn).key(&t.live).json(&json!({ "email": EMAIL, "name": "Ravi", "amount": 500 }));
    assert_eq!(earn.send(&env.deps).await.status, 200);
    for code in ["RT-C1", "RT-C2", "RT-C3", "RT-C4"] {
        env.issue_coupon(&t, MOBILE, "1", date(2026, 12, 31), Some(code)).await;
    }
    let sale =
        Call::bill(t.slug()).key(&t.live).json(&json!({ "mobile": MOBILE, "amount": 100, "external_ref": "RT-SALE" }));
    let sale = sale.send(&env.deps).await;
    let txn = sale.str("transaction_id").to_owned();
    let order = json!({ "email": EMAIL, "amount": 100, "reference": "RT-ORDER" });
    assert_eq!(Call::public(Route::Earn).key(&t.live).json(&order).send(&env.deps).await.status, 200);
    let owner = token(&env, t.slug(), Role::Owner);

    let pos = |route: Route| Call::new(route, t.slug()).key(&t.live);
    let public = |route: Route| Call::public(route).key(&t.live);
    let admin = |route: Admin| AdminCall::new(route).token(&owner);
    let bill = |body: serde_json::Value| Req::Api(pos(Route::Bill).json(&body));
    // Each path: its cold request and its warm one.
    let paths: Vec<(&str, [Req; 2])> = vec![
        ("pos-customer found", [0, 1].map(|_| Req::Api(pos(Route::Customer).query("mobile", MOBILE)))),
        ("pos-customer not found", [0, 1].map(|_| Req::Api(pos(Route::Customer).query("mobile", "9000000001")))),
        (
            "pos-customer create",
            ["9000000002", "9000000003"]
                .map(|m| Req::Api(pos(Route::Customer).query("mobile", m).query("create", "true"))),
        ),
        (
            "pos-bill by mobile",
            [1, 2].map(|i| bill(json!({ "mobile": MOBILE, "amount": 10, "external_ref": format!("RT-M{i}") }))),
        ),
        (
            "pos-bill by customer_id",
            [1, 2].map(|i| {
                bill(json!({ "customer_id": member.customer_id, "amount": 10, "external_ref": format!("RT-I{i}") }))
            }),
        ),
        ("pos-bill new mobile", ["9000000004", "9000000005"].map(|m| bill(json!({ "mobile": m, "amount": 10 })))),
        (
            "pos-bill retried reference",
            [0, 1].map(|_| bill(json!({ "mobile": MOBILE, "amount": 100, "external_ref": "RT-SALE" }))),
        ),
        (
            "pos-bill with Idempotency-Key",
            [1, 2].map(|i| {
                Req::Api(
                    pos(Route::Bill)
                        .header("Idempotency-Key", &format!("rt-bill-{i}"))
                        .json(&json!({ "mobile": MOBILE, "amount": 10 })),
                )
            }),
        ),
        ("pos-coupon-redeem", ["RT-C1", "RT-C2"].map(|c| Req::Api(pos(Route::Redeem).json(&json!({ "code": c }))))),
        (
            "pos-coupon-redeem with Idempotency-Key",
            ["RT-C3", "RT-C4"]
                .map(|c| Req::Api(pos(Route::Redeem).header("Idempotency-Key", c).json(&json!({ "code": c })))),
        ),
        ("pos-customer-transactions", [0, 1].map(|_| Req::Api(pos(Route::Transactions).query("mobile", MOBILE)))),
        (
            "pos-refund by reference",
            [1, 2].map(|i| {
                Req::Api(
                    pos(Route::Refund)
                        .json(&json!({ "external_ref": "RT-SALE", "amount": 1, "refund_ref": format!("RT-R{i}") })),
                )
            }),
        ),
        (
            "pos-refund by transaction_id",
            [1, 2].map(|i| {
                Req::Api(
                    pos(Route::Refund)
                        .json(&json!({ "transaction_id": txn, "amount": 1, "refund_ref": format!("RT-T{i}") })),
                )
            }),
        ),
        ("public-balance", [0, 1].map(|_| Req::Api(public(Route::Balance).query("email", EMAIL)))),
        (
            "public-earn",
            [1, 2].map(|i| {
                Req::Api(
                    public(Route::Earn).json(&json!({ "email": EMAIL, "amount": 10, "reference": format!("RT-E{i}") })),
                )
            }),
        ),
        (
            "public-redeem",
            [0, 1]
                .map(|_| Req::Api(public(Route::RewardRedeem).json(&json!({ "email": EMAIL, "rewardId": "rwd-001" })))),
        ),
        ("public-rewards", [0, 1].map(|_| Req::Api(public(Route::Rewards)))),
        ("public-voucher-verify", [0, 1].map(|_| Req::Api(Call::verify("RT-C1").key(&t.live)))),
        ("public-transactions", [0, 1].map(|_| Req::Api(public(Route::PublicTransactions).query("email", EMAIL)))),
        (
            "public-refund by reference",
            [1, 2].map(|i| {
                Req::Api(
                    public(Route::PublicRefund)
                        .json(&json!({ "reference": "RT-ORDER", "amount": 1, "refundReference": format!("RT-PR{i}") })),
                )
            }),
        ),
        ("admin-keys", [0, 1].map(|_| Req::Admin(admin(Admin::Keys)))),
        ("admin-rewards", [0, 1].map(|_| Req::Admin(admin(Admin::Rewards)))),
        ("admin-members", [0, 1].map(|_| Req::Admin(admin(Admin::Members).query("q", MOBILE)))),
        ("admin-member", [0, 1].map(|_| Req::Admin(admin(Admin::Member).on(&member.customer_id)))),
        ("admin-member-history", [0, 1].map(|_| Req::Admin(admin(Admin::MemberHistory).on(&member.customer_id)))),
        (
            "admin-member-adjust",
            [1, 2].map(|i| {
                Req::Admin(
                    admin(Admin::MemberAdjust)
                        .on(&member.customer_id)
                        .json(&json!({ "points": 1, "reason": format!("Goodwill {i}") })),
                )
            }),
        ),
        ("admin-audit", [0, 1].map(|_| Req::Admin(admin(Admin::Audit)))),
    ];

    let mut measured = BTreeMap::new();
    for (path, [cold, warm]) in &paths {
        let instance = Instance::new(&env, &otp);
        let cold = instance.depth(path, cold).await;
        let warm = instance.depth(path, warm).await;
        measured.insert((*path).to_owned(), (warm, cold));
    }

    // A code sent cold, then warm (to a member of its own: a mobile gets 3 codes in 10
    // minutes).
    env.seed_member(&t, OTP_MOBILE, "Asha Rao", "10").await;
    let instance = Instance::new(&env, &otp);
    let send = Req::Api(pos(Route::Otp).json(&json!({ "mobile": OTP_MOBILE })));
    let cold = instance.depth("pos-otp", &send).await;
    let warm = instance.depth("pos-otp", &send).await;
    measured.insert("pos-otp".into(), (warm, cold));

    // Bills spending points, each with a fresh code sent outside the count.
    let instance = Instance::new(&env, &otp);
    let mut spent = Vec::new();
    for i in 0..2 {
        let sent = pos(Route::Otp).json(&json!({ "mobile": MOBILE })).send(&otp).await;
        assert_eq!(sent.status, 200, "{}", sent.text);
        let body = json!({
            "mobile": MOBILE, "amount": 10, "redeem_points": 100, "otp": outbox.last_code(),
            "external_ref": format!("RT-P{i}")
        });
        spent.push(instance.depth("pos-bill spending points", &bill(body)).await);
    }
    measured.insert("pos-bill spending points".into(), (spent[1], spent[0]));

    assert_eq!(measured, documented(), "measured (warm, cold) against docs/architecture.md");
}
