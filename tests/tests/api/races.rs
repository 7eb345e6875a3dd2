//! Real races against DynamoDB Local: many requests on one `Deps`, released together
//! by a barrier on a multi-threaded runtime. Whatever the interleaving, a coupon is used
//! once, a sale is recorded once, and a balance is never spent twice or below zero.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use loyalty::deps::Clock;
use loyalty::model::{CodeKind, Reward};
use loyalty::Deps;
use loyalty_admin as admin;
use serde_json::json;

use super::support::{
    attr_n, attr_str, concurrently, date, start_time, Call, Item, Reply, Route, Tenant, TestEnv, TickingClock,
};

const MOBILE: &str = "9876543210";
const EMAIL: &str = "ravi@example.com";
const REPLAYED: &str = "idempotent-replayed";

fn ledger_of<'a>(items: &'a [Item], customer_id: &str) -> Vec<&'a Item> {
    items
        .iter()
        .filter(|i| attr_str(i, "GSI1SK").starts_with("TXN#") && attr_str(i, "customer_id") == customer_id)
        .collect()
}

/// A reward of the tenant's catalog costing `cost` points.
async fn add_reward(env: &TestEnv, t: &Tenant, id: &str, cost: i64) {
    let reward = Reward {
        public_id: id.into(),
        name: format!("Reward {id}"),
        description: "for the race".into(),
        points_cost: cost,
        kind: CodeKind::Fixed,
        value_minor: 1_000,
        discount_percent: None,
        active: true,
    };
    admin::add_reward(&env.deps, &t.slug, &reward).await.expect("add reward");
}

fn statuses(replies: &[Reply]) -> BTreeMap<u16, usize> {
    let mut counts = BTreeMap::new();
    for reply in replies {
        *counts.entry(reply.status).or_insert(0) += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn fifty_cashiers_racing_for_one_coupon_get_one_success() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.seed_member(&t, MOBILE, "Ravi Kumar", "1").await;
    env.issue_coupon(&t, MOBILE, "200", date(2026, 12, 31), Some("COUP-RACE")).await;
    env.issue_coupon(&t, MOBILE, "150", date(2026, 12, 31), Some("COUP-KEYED")).await;

    // Plain (one conditional update each), then each with its own Idempotency-Key (read,
    // then a transaction that consumes the code and completes the key).
    for (code, keyed) in [("COUP-RACE", false), ("COUP-KEYED", true)] {
        let calls = (0..50)
            .map(|i| {
                let call = Call::redeem(t.slug()).key(&t.live).json(&json!({ "code": code }));
                if keyed {
                    call.header("Idempotency-Key", &format!("till-{i}"))
                } else {
                    call
                }
            })
            .collect();

        let replies = concurrently(&env.deps, calls).await;

        assert_eq!(statuses(&replies), BTreeMap::from([(200, 1), (400, 49)]), "{code}");
        let won = replies.iter().find(|r| r.status == 200).expect("a winner");
        won.assert_ok(&json!({ "valid": true, "coupon": { "code": code, "status": "used" } }));
        for lost in replies.iter().filter(|r| r.status != 200) {
            lost.assert_error(400, "Coupon is used");
        }
    }

    let items = env.scan().await;
    for code in ["COUP-RACE", "COUP-KEYED"] {
        let coupon = items.iter().find(|i| attr_str(i, "code") == code).expect("the coupon");
        assert_eq!(attr_str(coupon, "status"), "used", "{code}");
    }
    // The keyed winner's record is done; the 49 losers released theirs.
    let records: Vec<&str> =
        items.iter().filter(|i| attr_str(i, "PK").contains("#IDEMP#")).map(|i| attr_str(i, "state")).collect();
    assert_eq!(records, vec!["done"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn fifty_identical_bills_at_once_are_one_sale() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let ravi = env.seed_member(&t, MOBILE, "Ravi Kumar", "1").await;
    let call = Call::bill(t.slug()).key(&t.live).json(&json!({
        "mobile": MOBILE,
        "amount": 250,
        "external_ref": "INV-RACE-50"
    }));

    let replies = concurrently(&env.deps, vec![call; 50]).await;

    for reply in &replies {
        reply.assert_ok(&json!({
            "customer_id": ravi.customer_id,
            "points_earned": 25_000,
            "new_balance": 25_100,
            "external_ref": "INV-RACE-50"
        }));
    }
    let ids: BTreeSet<&str> = replies.iter().map(|r| r.str("transaction_id")).collect();
    assert_eq!(ids.len(), 1, "one transaction: {ids:?}");
    let originals = replies.iter().filter(|r| r.header(REPLAYED).is_none()).count();
    assert_eq!(originals, 1, "one original answer, 49 replays");

    let items = env.scan().await;
    let ledger = ledger_of(&items, &ravi.customer_id);
    assert_eq!(ledger.len(), 2, "the seed bill and one entry");
    let entry = ledger.iter().find(|e| attr_str(e, "reference") == "INV-RACE-50").expect("the entry");
    assert_eq!(attr_str(entry, "txn_id"), *ids.first().expect("an id"));
    assert_eq!((attr_n(entry, "points"), attr_n(entry, "balance_after")), (25_000, 25_100));
    assert_eq!(items.iter().filter(|i| attr_str(i, "SK") == "REF").count(), 0, "the sale's purchase is its reference");
    assert_eq!(items.iter().filter(|i| attr_str(i, "SK") == "SALE").count(), 2, "the seed and one sale");
    let sale = items.iter().find(|i| attr_str(i, "SK") == "SALE" && attr_str(i, "reference") == "INV-RACE-50");
    let sale = sale.expect("the sale's purchase");
    assert_eq!(attr_str(sale, "txn_id"), *ids.first().expect("an id"));
    assert!(sale.contains_key("outcome"), "the purchase keeps the outcome a retry is answered with");
    assert_eq!(env.balance(&t, MOBILE).await, 25_100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn one_reference_posted_at_once_from_both_dialects_is_one_sale() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let enrol = json!({ "mobile": MOBILE, "email": EMAIL, "name": "Ravi Kumar", "amount": 1 });
    let ravi = env.bill(&t, enrol).await;
    ravi.assert_ok(&json!({ "new_balance": 100 }));
    let customer_id = ravi.str("customer_id").to_owned();
    let bill = Call::bill(t.slug()).key(&t.live).json(&json!({
        "mobile": MOBILE,
        "amount": 40,
        "external_ref": "ORDER-77"
    }));
    let earn = Call::public(Route::Earn).key(&t.live).json(&json!({
        "email": EMAIL,
        "amount": 40,
        "reference": "ORDER-77"
    }));
    let mut calls = vec![bill; 25];
    calls.extend(vec![earn; 25]);

    let replies = concurrently(&env.deps, calls).await;

    assert_eq!(statuses(&replies), BTreeMap::from([(200, 50)]));
    let ids: BTreeSet<&str> = replies
        .iter()
        .map(|r| match r.body["data"]["transactionId"].as_str() {
            Some(id) => id,
            None => r.str("transaction_id"),
        })
        .collect();
    assert_eq!(ids.len(), 1, "one sale in both dialects: {ids:?}");
    assert_eq!(replies.iter().filter(|r| r.header(REPLAYED).is_none()).count(), 1);
    let items = env.scan().await;
    assert_eq!(ledger_of(&items, &customer_id).len(), 2);
    assert_eq!(env.balance(&t, MOBILE).await, 4_100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn twenty_redemptions_against_a_balance_for_ten_get_ten() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    add_reward(&env, &t, "rwd-race", 1_000).await;
    let earned = Call::public(Route::Earn)
        .key(&t.live)
        .json(&json!({ "email": EMAIL, "amount": 100, "reference": "ORD-SEED" }))
        .send(&env.deps)
        .await;
    earned.assert_success(&json!({ "newBalance": 10_000 }));
    let customer_id = earned.data_str("customerId").to_owned();
    let call = Call::public(Route::RewardRedeem).key(&t.live).json(&json!({ "email": EMAIL, "rewardId": "rwd-race" }));

    let replies = concurrently(&env.deps, vec![call; 20]).await;

    assert_eq!(statuses(&replies), BTreeMap::from([(200, 10), (422, 10)]));
    let mut balances: Vec<i64> = replies.iter().filter(|r| r.status == 200).map(|r| r.data_int("newBalance")).collect();
    balances.sort_unstable();
    assert_eq!(balances, (0..10).map(|i| i * 1_000).collect::<Vec<_>>(), "each success saw its own balance");
    let codes: BTreeSet<&str> = replies.iter().filter(|r| r.status == 200).map(|r| r.data_str("voucherCode")).collect();
    assert_eq!(codes.len(), 10, "ten different vouchers");
    for lost in replies.iter().filter(|r| r.status == 422) {
        assert_eq!(lost.body["error"]["code"], json!("insufficient_points"), "{}", lost.text);
    }

    let items = env.scan().await;
    let ledger = ledger_of(&items, &customer_id);
    assert_eq!(ledger.len(), 11, "the order and ten redemptions");
    let after: BTreeSet<i64> =
        ledger.iter().filter(|e| attr_str(e, "type") == "redeem").map(|e| attr_n(e, "balance_after")).collect();
    assert_eq!(after, (0..10).map(|i| i * 1_000).collect(), "a chain from 9,000 down to exactly 0");
    let vouchers: BTreeSet<&str> =
        items.iter().filter(|i| attr_str(i, "source") == "reward").map(|i| attr_str(i, "code")).collect();
    assert_eq!(vouchers, codes, "the vouchers answered are the vouchers stored");
    let balance = Call::public(Route::Balance).key(&t.live).query("email", EMAIL).send(&env.deps).await;
    balance.assert_success(&json!({ "pointsBalance": 0, "lifetimePoints": 10_000 }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn twenty_bills_spending_points_with_one_code_spend_once() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let ravi = env.seed_member(&t, MOBILE, "Ravi Kumar", "100").await;
    let (deps, outbox) = env.with_outbox();
    Call::new(Route::Otp, t.slug())
        .key(&t.live)
        .json(&json!({ "mobile": MOBILE }))
        .send(&deps)
        .await
        .assert_ok(&json!({ "sent": true }));
    let otp = outbox.last_code();
    // Each bill is a different sale spending 2,000 points (₹20) on ₹50: 3,000 earned.
    let calls = (0..20)
        .map(|i| {
            Call::bill(t.slug()).key(&t.live).json(&json!({
                "mobile": MOBILE,
                "amount": 50,
                "external_ref": format!("INV-OTP-{i}"),
                "redeem_points": 2_000,
                "otp": otp
            }))
        })
        .collect();

    let replies = concurrently(&deps, calls).await;

    assert_eq!(statuses(&replies), BTreeMap::from([(200, 1), (400, 19)]));
    let won = replies.iter().find(|r| r.status == 200).expect("a winner");
    won.assert_ok(&json!({ "points_redeemed": 2_000, "discount": 20, "points_earned": 3_000, "new_balance": 11_000 }));
    for lost in replies.iter().filter(|r| r.status == 400) {
        let message = lost.body["error"].as_str().expect("a Partner error");
        assert!(
            [
                "OTP is no longer valid; request a new one",
                "No OTP pending for this mobile; request a new one",
                "No attempts left on this OTP; request a new one",
            ]
            .contains(&message),
            "{}",
            lost.text
        );
    }
    let items = env.scan().await;
    assert_eq!(ledger_of(&items, &ravi.customer_id).len(), 3, "seed, one redemption, one earning");
    assert_eq!(env.balance(&t, MOBILE).await, 11_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn twenty_members_spending_points_with_their_own_codes_at_once_all_count() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let (deps, outbox) = env.with_outbox();
    let mobiles: Vec<String> = (0..20).map(|i| format!("90000000{i:02}")).collect();
    let mut codes = Vec::new();
    for mobile in &mobiles {
        env.seed_member(&t, mobile, "Member", "100").await;
        Call::new(Route::Otp, t.slug())
            .key(&t.live)
            .json(&json!({ "mobile": mobile }))
            .send(&deps)
            .await
            .assert_ok(&json!({ "sent": true }));
        codes.push(outbox.last_code());
    }
    let calls = mobiles
        .iter()
        .zip(&codes)
        .map(|(mobile, otp)| {
            Call::bill(t.slug()).key(&t.live).json(&json!({
                "mobile": mobile,
                "amount": 50,
                "redeem_points": 2_000,
                "otp": otp
            }))
        })
        .collect();

    let replies = concurrently(&deps, calls).await;

    for reply in &replies {
        reply.assert_ok(&json!({ "points_redeemed": 2_000, "points_earned": 3_000, "new_balance": 11_000 }));
    }
    for mobile in &mobiles {
        assert_eq!(env.balance(&t, mobile).await, 11_000, "{mobile}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn spending_at_the_till_and_online_at_once_never_overdraws() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    add_reward(&env, &t, "rwd-race", 1_000).await;
    let enrol = json!({ "mobile": MOBILE, "email": EMAIL, "name": "Ravi Kumar", "amount": 100 });
    let ravi = env.bill(&t, enrol).await;
    ravi.assert_ok(&json!({ "new_balance": 10_000 }));
    let customer_id = ravi.str("customer_id").to_owned();
    let (deps, outbox) = env.with_outbox();
    Call::new(Route::Otp, t.slug()).key(&t.live).json(&json!({ "mobile": MOBILE })).send(&deps).await;
    let otp = outbox.last_code();
    // The whole balance on a ₹100 bill (paid: 0, earns nothing), against ten ₹1,000 rewards.
    let mut calls = vec![Call::bill(t.slug()).key(&t.live).json(&json!({
        "mobile": MOBILE,
        "amount": 100,
        "external_ref": "INV-ALL-IN",
        "redeem_points": 10_000,
        "otp": otp
    }))];
    let reward =
        Call::public(Route::RewardRedeem).key(&t.live).json(&json!({ "email": EMAIL, "rewardId": "rwd-race" }));
    calls.extend(vec![reward; 10]);

    let replies = concurrently(&deps, calls).await;

    let bill = replies.iter().find(|r| r.body.get("result").is_none()).expect("the bill's answer");
    let rewards = replies.iter().filter(|r| r.status == 200 && r.body.get("result").is_some()).count() as i64;
    let spent = rewards * 1_000 + if bill.status == 200 { 10_000 } else { 0 };
    assert!(spent <= 10_000, "spent {spent} of 10,000 (bill {}, {rewards} rewards)", bill.text);
    if bill.status == 200 {
        assert_eq!(rewards, 0, "the bill took every point");
    } else {
        assert_eq!(bill.status, 400, "{}", bill.text);
        assert!(bill.str("error").starts_with("Insufficient points: balance "), "{}", bill.text);
        assert_eq!(rewards, 10, "nothing but the rewards spent: {}", bill.text);
    }
    let balance = env.balance(&t, MOBILE).await;
    assert_eq!(balance, 10_000 - spent);
    let items = env.scan().await;
    let ledger = ledger_of(&items, &customer_id);
    assert_eq!(ledger.iter().map(|e| attr_n(e, "points")).sum::<i64>(), balance, "the ledger adds up");
    assert!(ledger.iter().all(|e| attr_n(e, "balance_after") >= 0), "never below zero");
}

/// A clock whose first reading is taken and then held back until released: the reader
/// is stuck right after reading the time, as a descheduled thread would be. Every other
/// reading comes from the shared clock at once.
struct HeldFirstReading {
    clock: Arc<TickingClock>,
    held: Mutex<bool>,
    waiting: AtomicBool,
    release: (Mutex<bool>, Condvar),
}

impl HeldFirstReading {
    fn new(clock: Arc<TickingClock>) -> Self {
        HeldFirstReading {
            clock,
            held: Mutex::new(false),
            waiting: AtomicBool::new(false),
            release: (Mutex::new(false), Condvar::new()),
        }
    }

    fn release(&self) {
        *self.release.0.lock().expect("release lock") = true;
        self.release.1.notify_all();
    }
}

impl Clock for HeldFirstReading {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        let reading = self.clock.now();
        let first = !std::mem::replace(&mut *self.held.lock().expect("held lock"), true);
        if first {
            self.waiting.store(true, Ordering::SeqCst);
            let (released, condvar) = &self.release;
            let guard = released.lock().expect("release lock");
            let _released = condvar
                .wait_timeout_while(guard, Duration::from_secs(30), |released| !*released)
                .expect("release wait");
        }
        reading
    }
}

/// A member's ledger in key order (its history's order) is a chain of balances, and
/// its times follow the chain: each entry's time is read after the member it was
/// computed on, so a request that was held up after reading the clock, and then saw
/// another request's change, is not dated before that change.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_ledger_entry_is_dated_after_every_change_it_was_computed_on() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let ravi = env.seed_member(&t, MOBILE, "Ravi Kumar", "1").await;
    let clock = Arc::new(TickingClock::new(start_time() + chrono::Duration::hours(1)));
    let deps = Arc::new(Deps::new(env.store.clone(), clock.clone()));
    let bill = |amount: i64, reference: &str| {
        Call::bill(t.slug()).key(&t.live).json(&json!({
            "customer_id": ravi.customer_id,
            "amount": amount,
            "external_ref": reference
        }))
    };
    bill(1, "FIRST").send(&deps).await.assert_ok(&json!({ "new_balance": 200 }));

    // The held bill reads the clock and is stuck (on a thread, runtime and client of its
    // own); meanwhile the other bill commits; then the held one goes on.
    let held = Arc::new(HeldFirstReading::new(clock.clone()));
    let slow = std::thread::spawn({
        let call = bill(2, "HELD");
        let deps = Deps::new(env.store_with_own_client(), held.clone());
        move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            rt.block_on(call.send(&deps))
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !held.waiting.load(Ordering::SeqCst) {
        assert!(std::time::Instant::now() < deadline, "the held bill never read the clock");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let quick = bill(3, "QUICK").send(&deps).await;
    held.release();
    quick.assert_ok(&json!({ "new_balance": 500 }));
    let slow = slow.join().expect("the held bill");
    slow.assert_ok(&json!({ "new_balance": 700 }));

    let items = env.scan().await;
    let mut ledger = ledger_of(&items, &ravi.customer_id);
    ledger.sort_by(|a, b| attr_str(a, "GSI1SK").cmp(attr_str(b, "GSI1SK")));
    let order: Vec<(&str, i64)> =
        ledger.iter().map(|e| (attr_str(e, "reference"), attr_n(e, "balance_after"))).collect();
    assert_eq!(order, vec![("", 100), ("FIRST", 200), ("QUICK", 500), ("HELD", 700)], "history order is commit order");
    let times: Vec<&str> = ledger.iter().map(|e| attr_str(e, "created_at")).collect();
    assert!(times.windows(2).all(|w| w[0] < w[1]), "each entry is dated after the one before: {times:?}");
}
