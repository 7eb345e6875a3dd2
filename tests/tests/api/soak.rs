//! A randomized soak: Partner bills (some with items), Public earns, coupon and voucher
//! redemptions, reward redemptions, refunds in both dialects and concurrent duplicates
//! (the same reference twice, the same reference from both dialects, the same
//! `Idempotency-Key` twice), in concurrent batches over several members. Afterwards the
//! table must be self-consistent and agree with the answers given.
//!
//! The seed is printed; `LOYALTY_SOAK_SEED=<seed>` replays the same operations (their
//! interleaving is up to the scheduler). The default run is small (about 400 operations,
//! a few seconds); `LOYALTY_SOAK_OPS=5000` makes a longer one:
//!
//! ```text
//! LOYALTY_SOAK_OPS=5000 LOYALTY_TEST_DYNAMODB=http://127.0.0.1:8000 \
//!     cargo test -p loyalty-tests soak -- --nocapture
//! ```
//!
//! Bills that spend points need a one-time code per bill (at most 3 per mobile per 10
//! minutes), so they are left to `races.rs` and `till.rs`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use loyalty::model::{CodeKind, Reward};
use loyalty::Deps;
use loyalty_admin as admin;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use super::support::{
    attr_n, attr_str, is_sale_reference, start_time, Call, Item, Reply, Route, Tenant, TestEnv, TickingClock,
};

const DEFAULT_OPS: usize = 400;
const BATCH: usize = 12;
const MEMBERS: usize = 6;
const COUPONS_PER_MEMBER: usize = 4;
const REPLAYED: &str = "idempotent-replayed";

struct SoakMember {
    mobile: String,
    email: String,
    customer_id: String,
}

/// A sale that was answered 200: a refund may name it.
#[derive(Clone)]
struct KnownSale {
    reference: String,
    member: usize,
    amount_units: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bill,
    Earn,
    Redeem,
    Reward,
    Refund,
    PublicRefund,
}

/// One request of a batch and what it is about.
struct Op {
    kind: Kind,
    call: Call,
    member: usize,
    code: Option<String>,
    sale: Option<KnownSale>,
}

/// Runs the calls at once and returns the answers in the calls' order.
async fn run_batch(deps: &Arc<Deps>, calls: Vec<Call>) -> Vec<Reply> {
    let barrier = Arc::new(tokio::sync::Barrier::new(calls.len()));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, call) in calls.into_iter().enumerate() {
        let deps = deps.clone();
        let barrier = barrier.clone();
        tasks.spawn(async move {
            barrier.wait().await;
            (i, call.send(&deps).await)
        });
    }
    let mut replies: Vec<Option<Reply>> = Vec::new();
    replies.resize_with(tasks.len(), || None);
    while let Some(done) = tasks.join_next().await {
        let (i, reply) = done.expect("a request task panicked");
        replies[i] = Some(reply);
    }
    replies.into_iter().map(|r| r.expect("every call answered")).collect()
}

fn env_number(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    Some(text.trim().parse().unwrap_or_else(|_| panic!("{name} must be a whole number, not {text:?}")))
}

struct Soak {
    rng: StdRng,
    t: Tenant,
    members: Vec<SoakMember>,
    codes: Vec<String>,
    sales: Vec<KnownSale>,
    next: usize,
}

impl Soak {
    fn fresh_ref(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}-{}", self.next)
    }

    fn maybe_keyed(&mut self, call: Call) -> Call {
        if self.rng.random_bool(0.3) {
            let key = self.fresh_ref("idem");
            call.header("Idempotency-Key", &key)
        } else {
            call
        }
    }

    fn bill_body(&mut self, member: usize, reference: &str, amount: i64) -> Value {
        let m = &self.members[member];
        let mut body = if self.rng.random_bool(0.7) {
            json!({ "mobile": m.mobile, "amount": amount, "external_ref": reference })
        } else {
            json!({ "customer_id": m.customer_id, "amount": amount, "external_ref": reference })
        };
        if self.rng.random_bool(0.4) {
            let drinks = self.rng.random_range(1..=amount);
            let mut items = vec![json!({ "category": "beverages", "name": "Masala chai", "amount": drinks })];
            if drinks < amount {
                items.push(json!({ "category": "food", "name": "Dosa", "amount": amount - drinks }));
            }
            body["items"] = Value::Array(items);
        }
        body
    }

    /// One random operation, sometimes with a concurrent duplicate.
    fn ops(&mut self) -> Vec<Op> {
        let t_slug = self.t.slug().to_owned();
        let live = self.t.live.clone();
        let member = self.rng.random_range(0..self.members.len());
        let roll = self.rng.random_range(0..100);
        match roll {
            0..=29 => {
                let reference = self.fresh_ref("INV");
                let amount = self.rng.random_range(1..=80);
                let body = self.bill_body(member, &reference, amount);
                let call = self.maybe_keyed(Call::bill(&t_slug).key(&live).json(&body));
                let sale = KnownSale { reference, member, amount_units: amount };
                let op = |call: Call| Op { kind: Kind::Bill, call, member, code: None, sale: Some(sale.clone()) };
                match self.rng.random_range(0..10) {
                    // The same bill twice at once (a retry racing the first attempt).
                    0..=1 => vec![op(call.clone()), op(call)],
                    // The same sale from the online shop at once: one sale.
                    2 => {
                        let email = self.members[member].email.clone();
                        let earn = Call::public(Route::Earn).key(&live).json(&json!({
                            "email": email,
                            "amount": amount,
                            "reference": sale.reference
                        }));
                        vec![
                            op(call),
                            Op { kind: Kind::Earn, call: earn, member, code: None, sale: Some(sale.clone()) },
                        ]
                    }
                    _ => vec![op(call)],
                }
            }
            30..=44 => {
                let reference = self.fresh_ref("ORD");
                let amount = self.rng.random_range(1..=60);
                let email = self.members[member].email.clone();
                let body = json!({ "email": email, "amount": amount, "reference": reference, "description": "soak" });
                let call = self.maybe_keyed(Call::public(Route::Earn).key(&live).json(&body));
                let sale = KnownSale { reference, member, amount_units: amount };
                let op = |call: Call| Op { kind: Kind::Earn, call, member, code: None, sale: Some(sale.clone()) };
                if self.rng.random_bool(0.2) {
                    vec![op(call.clone()), op(call)]
                } else {
                    vec![op(call)]
                }
            }
            45..=59 => {
                let code = self.codes.choose(&mut self.rng).expect("codes").clone();
                let call = self.maybe_keyed(Call::redeem(&t_slug).key(&live).json(&json!({ "code": code })));
                let op = |call: Call| Op { kind: Kind::Redeem, call, member, code: Some(code.clone()), sale: None };
                // Two tills racing for one code.
                if self.rng.random_bool(0.3) {
                    vec![op(call.clone()), op(call)]
                } else {
                    vec![op(call)]
                }
            }
            60..=79 => {
                let reward = ["rwd-s1", "rwd-s2"].choose(&mut self.rng).expect("rewards").to_string();
                let email = self.members[member].email.clone();
                let body = json!({ "email": email, "rewardId": reward });
                let call = self.maybe_keyed(Call::public(Route::RewardRedeem).key(&live).json(&body));
                let op = |call: Call| Op { kind: Kind::Reward, call, member, code: None, sale: None };
                if self.rng.random_bool(0.2) {
                    vec![op(call.clone()), op(call)]
                } else {
                    vec![op(call)]
                }
            }
            _ => {
                let Some(sale) = self.sales.choose(&mut self.rng).cloned() else {
                    return Vec::new();
                };
                // Up to the whole sale: after the points were spent, a refund takes the balance below
                // zero, and the member must still be able to earn.
                let amount = self.rng.random_range(1..=sale.amount_units);
                // Each refund names its own reference (a duplicate below shares it and replays).
                let refund_ref = format!("RET-{}", uuid::Uuid::new_v4());
                let (kind, call) = if self.rng.random_bool(0.6) {
                    let body = json!({ "external_ref": sale.reference, "amount": amount, "refund_ref": refund_ref });
                    (Kind::Refund, Call::new(Route::Refund, &t_slug).key(&live).json(&body))
                } else {
                    let body = json!({ "reference": sale.reference, "amount": amount, "refundReference": refund_ref });
                    (Kind::PublicRefund, Call::public(Route::PublicRefund).key(&live).json(&body))
                };
                let call = self.maybe_keyed(call);
                let op = |call: Call| Op { kind, call, member: sale.member, code: None, sale: Some(sale.clone()) };
                if self.rng.random_bool(0.2) {
                    vec![op(call.clone()), op(call)]
                } else {
                    vec![op(call)]
                }
            }
        }
    }
}

/// The points an original (not replayed) 200 answer says it moved, and for whom.
fn effect(op: &Op, reply: &Reply, members: &[SoakMember]) -> (String, i64) {
    let body = &reply.body;
    let data = &body["data"];
    let int = |v: &Value| v.as_i64().unwrap_or_else(|| panic!("not an integer in {}", reply.text));
    match op.kind {
        Kind::Bill => {
            (reply.str("customer_id").to_owned(), int(&body["points_earned"]) - int(&body["points_redeemed"]))
        }
        Kind::Earn => (data["customerId"].as_str().expect("customerId").to_owned(), int(&data["pointsEarned"])),
        Kind::Reward => (members[op.member].customer_id.clone(), -int(&data["pointsSpent"])),
        Kind::Refund => (
            body["customer"]["customer_id"].as_str().expect("customer_id").to_owned(),
            int(&body["points_restored"]) - int(&body["points_reversed"]),
        ),
        Kind::PublicRefund => {
            (members[op.member].customer_id.clone(), int(&data["pointsRestored"]) - int(&data["pointsReversed"]))
        }
        Kind::Redeem => (members[op.member].customer_id.clone(), 0),
    }
}

/// The statuses an operation may answer with (5xx never).
fn allowed(kind: Kind, status: u16) -> bool {
    match kind {
        // 409: the same Idempotency-Key while its first request runs.
        Kind::Bill | Kind::Earn => matches!(status, 200 | 409),
        Kind::Redeem => matches!(status, 200 | 400 | 409),
        Kind::Reward => matches!(status, 200 | 409 | 422),
        Kind::Refund => matches!(status, 200 | 400 | 409),
        Kind::PublicRefund => matches!(status, 200 | 400 | 409),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn a_randomized_soak_keeps_every_ledger_exact() {
    let seed = env_number("LOYALTY_SOAK_SEED").unwrap_or_else(rand::random);
    let total_ops = env_number("LOYALTY_SOAK_OPS").map_or(DEFAULT_OPS, |n| n as usize);
    eprintln!("soak: seed {seed} (LOYALTY_SOAK_SEED={seed} replays it), {total_ops} operations");
    let started = std::time::Instant::now();

    let env = TestEnv::new().await;
    let t = env.tenant("soak-garden").await;
    for (id, cost) in [("rwd-s1", 5_000), ("rwd-s2", 20_000)] {
        let reward = Reward {
            public_id: id.into(),
            name: format!("Soak {id}"),
            description: "soak".into(),
            points_cost: cost,
            kind: CodeKind::Fixed,
            value_minor: cost / 10,
            discount_percent: None,
            active: true,
        };
        admin::add_reward(&env.deps, &t.slug, &reward).await.expect("add reward");
    }
    let mut members = Vec::new();
    let mut codes = Vec::new();
    let mut expected: HashMap<String, i64> = HashMap::new();
    for i in 0..MEMBERS {
        let mobile = format!("98000000{i:02}");
        let email = format!("member{i}@example.com");
        let seeded = env
            .bill(&t, json!({ "mobile": mobile, "email": email, "name": format!("Member {i}"), "amount": 50 }))
            .await;
        seeded.assert_ok(&json!({ "new_balance": 5_000 }));
        let customer_id = seeded.str("customer_id").to_owned();
        expected.insert(customer_id.clone(), 5_000);
        for j in 0..COUPONS_PER_MEMBER {
            let code = format!("SOAK-{i}-{j}");
            env.issue_coupon(&t, &mobile, "25", super::support::date(2026, 12, 31), Some(&code)).await;
            codes.push(code);
        }
        members.push(SoakMember { mobile, email, customer_id });
    }
    // Time moves (a millisecond per reading), so the ledger's key order is meaningful.
    let clock = Arc::new(TickingClock::new(start_time() + chrono::Duration::hours(1)));
    let deps = Arc::new(Deps::new(env.store.clone(), clock));

    let mut soak = Soak { rng: StdRng::seed_from_u64(seed), t, members, codes, sales: Vec::new(), next: 0 };
    // Successful original redemptions per code, and per kind the statuses seen.
    let mut redeemed: BTreeMap<String, usize> = BTreeMap::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut vouchers_answered = Vec::new();
    let mut done = 0;
    while done < total_ops {
        let mut batch = Vec::new();
        while batch.len() < BATCH {
            batch.extend(soak.ops());
        }
        done += batch.len();
        let calls = batch.iter().map(|op| op.call.clone()).collect();
        let replies = run_batch(&deps, calls).await;

        for (op, reply) in batch.iter().zip(&replies) {
            *seen.entry(format!("{:?} {}", op.kind, reply.status)).or_insert(0) += 1;
            assert!(
                allowed(op.kind, reply.status),
                "seed {seed}: {:?} answered {}: {}",
                op.kind,
                reply.status,
                reply.text
            );
            if reply.status != 200 {
                continue;
            }
            let original = reply.header(REPLAYED).is_none();
            match op.kind {
                Kind::Bill | Kind::Earn if original => {
                    soak.sales.push(op.sale.clone().expect("a sale"));
                }
                Kind::Redeem if original => {
                    *redeemed.entry(op.code.clone().expect("a code")).or_insert(0) += 1;
                }
                Kind::Reward if original => {
                    let code = reply.data_str("voucherCode").to_owned();
                    vouchers_answered.push(code.clone());
                    soak.codes.push(code);
                }
                _ => {}
            }
            if original {
                let (customer_id, delta) = effect(op, reply, &soak.members);
                *expected.entry(customer_id).or_insert(0) += delta;
            }
        }
    }
    eprintln!("soak: {done} requests in {:.1?}; answers: {seen:?}", started.elapsed());

    let items = env.scan().await;
    let below_zero =
        items.iter().filter(|i| attr_str(i, "GSI1SK").starts_with("TXN#") && attr_n(i, "balance_after") < 0);
    eprintln!("soak: {} ledger entries left a balance below zero", below_zero.count());
    check_ledgers(&items, &expected, seed);
    check_sales(&items, seed);
    check_codes(&items, &redeemed, &vouchers_answered, seed);
}

fn group_ledgers(items: &[Item]) -> BTreeMap<String, Vec<&Item>> {
    let mut ledgers: BTreeMap<String, Vec<&Item>> = BTreeMap::new();
    for item in items.iter().filter(|i| attr_str(i, "GSI1SK").starts_with("TXN#")) {
        ledgers.entry(attr_str(item, "customer_id").to_owned()).or_default().push(item);
    }
    for entries in ledgers.values_mut() {
        entries.sort_by(|a, b| attr_str(a, "GSI1SK").cmp(attr_str(b, "GSI1SK")));
    }
    ledgers
}

/// Every member: the balance and lifetime points are the ledger's sums; the ledger read
/// in key order is a chain of balances, dated in order; the version counts the entries; no
/// debit took the balance below zero (only a refund may); the answers add up to the balance.
fn check_ledgers(items: &[Item], expected: &HashMap<String, i64>, seed: u64) {
    let ledgers = group_ledgers(items);
    let profiles: Vec<&Item> = items.iter().filter(|i| attr_str(i, "SK") == "PROFILE").collect();
    assert_eq!(profiles.len(), MEMBERS, "seed {seed}: no member was enrolled twice or lost");
    for profile in profiles {
        let id = attr_str(profile, "customer_id");
        let entries = ledgers.get(id).map(Vec::as_slice).unwrap_or_default();
        let balance = attr_n(profile, "points_balance");
        let points: i64 = entries.iter().map(|e| attr_n(e, "points")).sum();
        let lifetime: i64 = entries.iter().map(|e| attr_n(e, "lifetime_points")).sum();
        assert_eq!(balance, points, "seed {seed}: {id}: balance == sum of ledger points");
        assert_eq!(attr_n(profile, "lifetime_points"), lifetime, "seed {seed}: {id}: lifetime == sum");
        assert_eq!(attr_n(profile, "version"), entries.len() as i64, "seed {seed}: {id}: one version per entry");
        assert_eq!(expected.get(id).copied(), Some(balance), "seed {seed}: {id}: the answers add up to the balance");

        let times: Vec<&str> = entries.iter().map(|e| attr_str(e, "created_at")).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "seed {seed}: {id}: entry times follow the chain: {times:?}");
        let mut running = 0;
        for (i, entry) in entries.iter().enumerate() {
            let delta = attr_n(entry, "points");
            let after = attr_n(entry, "balance_after");
            if attr_str(entry, "type") != "refund" && delta < 0 {
                assert!(after >= 0, "seed {seed}: {id}: a debit went below zero: {entry:?}");
            }
            running += delta;
            assert_eq!(
                after,
                running,
                "seed {seed}: {id}: entry {i} of {} ({}) in key order does not follow the one before: \
                 balance_after {after}, expected {running}",
                entries.len(),
                attr_str(entry, "GSI1SK"),
            );
        }
    }
}

/// Every reference is one sale with one earning; every sale's refunds add up.
fn check_sales(items: &[Item], seed: u64) {
    let earn_entries: Vec<&Item> =
        items.iter().filter(|i| attr_str(i, "GSI1SK").starts_with("TXN#") && attr_str(i, "type") == "earn").collect();
    for reference in items.iter().filter(|i| is_sale_reference(i)) {
        let name = attr_str(reference, "reference");
        let _: Value = serde_json::from_str(attr_str(reference, "outcome")).expect("an outcome");
        let with_ref: Vec<&&Item> = earn_entries.iter().filter(|e| attr_str(e, "reference") == name).collect();
        assert_eq!(with_ref.len(), 1, "seed {seed}: reference {name} has one earning");
        assert_eq!(attr_str(with_ref[0], "txn_id"), attr_str(reference, "txn_id"), "seed {seed}: {name}");
    }
    for sale in items.iter().filter(|i| attr_str(i, "SK") == "SALE") {
        let txn = attr_str(sale, "txn_id");
        let refunds: Vec<&Item> = items
            .iter()
            .filter(|i| {
                attr_str(i, "type") == "refund" && attr_str(i, "description") == format!("Refund of sale {txn}")
            })
            .collect();
        let refunded: i64 = refunds.iter().map(|r| attr_n(r, "amount_minor")).sum();
        let reversed: i64 = refunds.iter().map(|r| -attr_n(r, "lifetime_points")).sum();
        assert_eq!(attr_n(sale, "refunded_minor"), refunded, "seed {seed}: sale {txn}: refunds add up");
        assert!(refunded <= attr_n(sale, "amount_minor"), "seed {seed}: sale {txn}: refunded beyond the sale");
        assert_eq!(attr_n(sale, "earn_reversed"), reversed, "seed {seed}: sale {txn}: reversed points add up");
        assert!(reversed <= attr_n(sale, "points"), "seed {seed}: sale {txn}: reversed beyond the earning");
    }
}

/// A used code was answered 200 exactly once, an active one never; every voucher
/// answered exists, and no other.
fn check_codes(items: &[Item], redeemed: &BTreeMap<String, usize>, vouchers: &[String], seed: u64) {
    for code in items.iter().filter(|i| attr_str(i, "SK") == "CODE") {
        let name = attr_str(code, "code");
        let successes = redeemed.get(name).copied().unwrap_or(0);
        match attr_str(code, "status") {
            "used" => assert_eq!(successes, 1, "seed {seed}: {name} is used: one successful redemption"),
            "active" => assert_eq!(successes, 0, "seed {seed}: {name} is active: no successful redemption"),
            other => panic!("seed {seed}: {name} has status {other}"),
        }
    }
    let mut stored: Vec<&str> = items
        .iter()
        .filter(|i| attr_str(i, "SK") == "CODE" && attr_str(i, "source") == "reward")
        .map(|i| attr_str(i, "code"))
        .collect();
    let mut answered: Vec<&str> = vouchers.iter().map(String::as_str).collect();
    stored.sort_unstable();
    answered.sort_unstable();
    assert_eq!(stored, answered, "seed {seed}: one voucher per successful reward redemption");
}
