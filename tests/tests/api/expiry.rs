//! Points that expire by the month they were earned: a program year under a moving
//! clock, through the Partner and Public dialects.

use std::collections::BTreeMap;

use loyalty::program::Program;
use loyalty_admin::admin;
use serde_json::json;

use super::console::{Admin, AdminCall};
use super::support::{attr_n, instant, Call, Item, Route, Tenant, TestEnv};
use loyalty::actor::Role;

const MOBILE: &str = "9876543210";
const EMAIL: &str = "asha@example.com";

/// The demo program, its points kept two months after the month they were earned.
fn two_months() -> Program {
    Program { points_expiry_months: Some(2), ..admin::demo_program() }
}

fn attr<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

/// The member's stored balance and month buckets.
async fn stored(env: &TestEnv, customer_id: &str) -> (i64, BTreeMap<String, i64>) {
    let items = env.scan().await;
    let profile = items
        .iter()
        .find(|i| attr(i, "SK") == Some("PROFILE") && attr(i, "customer_id") == Some(customer_id))
        .expect("the profile");
    let buckets = profile
        .get("points_expiry")
        .and_then(|v| v.as_m().ok())
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_n().unwrap().parse().unwrap())).collect())
        .unwrap_or_default();
    (attr_n(profile, "points_balance"), buckets)
}

/// Balance = the ledger's sum, and the buckets sum to the balance.
async fn assert_exact(env: &TestEnv, customer_id: &str) -> (i64, BTreeMap<String, i64>) {
    let (balance, buckets) = stored(env, customer_id).await;
    let ledger: i64 = env.ledger(customer_id).await.iter().map(|e| attr_n(e, "points")).sum();
    assert_eq!(balance, ledger, "balance = the ledger's sum");
    assert_eq!(buckets.values().sum::<i64>(), balance.max(0), "buckets sum to the balance: {buckets:?}");
    assert!(buckets.values().all(|p| *p > 0), "{buckets:?}");
    (balance, buckets)
}

fn months(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
    pairs.iter().map(|(m, p)| ((*m).to_owned(), *p)).collect()
}

async fn bill(env: &TestEnv, t: &Tenant, amount: i64, reference: &str) -> serde_json::Value {
    let reply = env.bill(t, json!({ "mobile": MOBILE, "amount": amount, "external_ref": reference })).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body
}

async fn redeem_chai(env: &TestEnv, t: &Tenant) -> super::support::Reply {
    Call::public(Route::RewardRedeem)
        .key(&t.live)
        .json(&json!({ "email": EMAIL, "rewardId": "rwd-001" }))
        .send(&env.deps)
        .await
}

#[tokio::test]
async fn a_program_year_earns_spends_the_oldest_first_and_expires_on_the_right_day() {
    let env = TestEnv::new().await;
    let t = env.tenant_with("spice-garden", &two_months()).await; // 100 points per ₹1
    env.add_demo_rewards(&t).await; // rwd-001: 5,000 points
    env.clock.set(instant("2026-01-10T12:00:00+05:30"));
    let enrolled = Call::customer(t.slug())
        .key(&t.live)
        .query("mobile", MOBILE)
        .query("create", "true")
        .query("name", "Asha")
        .query("email", EMAIL)
        .send(&env.deps)
        .await;
    assert_eq!(enrolled.status, 200, "{}", enrolled.text);
    assert_eq!(enrolled.body.get("points_expiring"), None, "nothing to expire yet");
    let id = enrolled.body["customer"]["customer_id"].as_str().expect("customer_id").to_owned();

    // Earn in January, February and March.
    bill(&env, &t, 60, "JAN").await;
    env.clock.set(instant("2026-02-10T12:00:00+05:30"));
    bill(&env, &t, 20, "FEB").await;
    env.clock.set(instant("2026-03-10T12:00:00+05:30"));
    bill(&env, &t, 10, "MAR").await;
    let (balance, buckets) = assert_exact(&env, &id).await;
    assert_eq!(balance, 9_000);
    assert_eq!(buckets, months(&[("2026-01", 6_000), ("2026-02", 2_000), ("2026-03", 1_000)]));

    // A reward spends the oldest points first: 5,000 of January's.
    redeem_chai(&env, &t).await.assert_success(&json!({ "pointsSpent": 5_000, "newBalance": 4_000 }));
    let (_, buckets) = assert_exact(&env, &id).await;
    assert_eq!(buckets, months(&[("2026-01", 1_000), ("2026-02", 2_000), ("2026-03", 1_000)]));

    // January's points are good until the end of March, and the lookup says so.
    let lookup = env.lookup(&t, MOBILE).await;
    lookup.assert_ok(&json!({ "points_balance": 4_000, "points_expiring": 1_000, "points_expiring_at": "2026-03-31" }));
    env.clock.set(instant("2026-03-31T23:59:59+05:30"));
    env.lookup(&t, MOBILE).await.assert_ok(&json!({ "points_balance": 4_000, "points_expiring": 1_000 }));

    // On 1 April they are gone: the lookup and the Public balance no longer count them
    // and say what expires next, before anything is written.
    env.clock.set(instant("2026-04-02T12:00:00+05:30"));
    env.lookup(&t, MOBILE).await.assert_ok(&json!({
        "points_balance": 3_000, "points_expiring": 2_000, "points_expiring_at": "2026-04-30"
    }));
    // The console's profile says the same.
    let profile = AdminCall::new(Admin::Member).on(&id).as_(&env, t.slug(), Role::Viewer).send(&env.deps).await;
    assert_eq!(
        (&profile.body["points_balance"], &profile.body["points_expiring"], &profile.body["points_expiring_at"]),
        (&json!(3_000), &json!(2_000), &json!("2026-04-30")),
        "{}",
        profile.text
    );
    Call::public(Route::Balance)
        .key(&t.live)
        .query("email", EMAIL)
        .send(&env.deps)
        .await
        .assert_success(&json!({ "pointsBalance": 3_000, "pointsExpiring": 2_000, "pointsExpiringAt": "2026-04-30" }));
    assert_eq!(stored(&env, &id).await.0, 4_000, "a lookup writes nothing");

    // The next change writes an `expire` entry of exactly the due points, first.
    let april = bill(&env, &t, 5, "APR").await;
    assert_eq!(april["new_balance"], json!(3_500));
    let ledger = env.ledger(&id).await;
    let expired: Vec<&Item> = ledger.iter().filter(|e| attr(e, "type") == Some("expire")).collect();
    assert_eq!(expired.len(), 1, "expired once");
    assert_eq!((attr_n(expired[0], "points"), attr_n(expired[0], "balance_after")), (-1_000, 3_000));
    let (_, buckets) = assert_exact(&env, &id).await;
    assert_eq!(buckets, months(&[("2026-02", 2_000), ("2026-03", 1_000), ("2026-04", 500)]));

    // A refund takes back what the refunded sale earned, from its month first.
    let refund = Call::new(Route::Refund, t.slug())
        .key(&t.live)
        .json(&json!({ "external_ref": "FEB", "amount": 20, "refund_ref": "RET-FEB" }))
        .send(&env.deps)
        .await;
    assert_eq!(refund.status, 200, "{}", refund.text);
    let (balance, buckets) = assert_exact(&env, &id).await;
    assert_eq!((balance, buckets), (1_500, months(&[("2026-03", 1_000), ("2026-04", 500)])));

    // A redemption takes the oldest again; the buckets still sum to the balance.
    bill(&env, &t, 50, "APR-2").await;
    redeem_chai(&env, &t).await.assert_success(&json!({ "newBalance": 1_500 }));
    let (balance, buckets) = assert_exact(&env, &id).await;
    assert_eq!((balance, buckets), (1_500, months(&[("2026-04", 1_500)])));

    // Spending more than the unexpired points is refused even before any job has run.
    env.clock.set(instant("2026-07-01T00:00:00+05:30"));
    let refused = redeem_chai(&env, &t).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    env.lookup(&t, MOBILE).await.assert_ok(&json!({ "points_balance": 0 }));
    assert_eq!(env.lookup(&t, MOBILE).await.body.get("points_expiring"), None);
}

#[tokio::test]
async fn a_balance_from_before_expiry_counts_as_earned_in_the_month_of_the_next_change() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await; // points never expire
    env.clock.set(instant("2026-01-10T12:00:00+05:30"));
    let first = bill(&env, &t, 10, "JAN").await;
    let id = first["customer"]["customer_id"].as_str().unwrap().to_owned();
    assert_eq!(stored(&env, &id).await.1, BTreeMap::new(), "no buckets while points never expire");
    assert_eq!(env.lookup(&t, MOBILE).await.body.get("points_expiring"), None);

    let change = loyalty_admin::settings::ProgramChange {
        points_expiry_months: Some(loyalty_admin::settings::PointsExpiry(Some(2))),
        effective_from: Some(instant("2026-03-01T00:00:00+05:30")),
        ..Default::default()
    };
    loyalty_admin::settings::set_program(&env.deps, &t.slug, &change).await.unwrap();
    env.clock.set(instant("2026-03-05T12:00:00+05:30"));
    let cold = env.fresh_deps();
    let reply =
        Call::bill(t.slug()).key(&t.live).json(&json!({ "mobile": MOBILE, "amount": 1, "external_ref": "MAR" }));
    assert_eq!(reply.send(&cold).await.status, 200);
    let (balance, buckets) = assert_exact(&env, &id).await;
    assert_eq!((balance, buckets), (1_100, months(&[("2026-03", 1_100)])));
}

#[tokio::test]
async fn a_late_bill_of_a_month_already_past_earns_and_expires_at_once() {
    let env = TestEnv::new().await;
    let one_month = Program { points_expiry_months: Some(1), ..admin::demo_program() };
    let t = env.tenant_with("spice-garden", &one_month).await;
    env.clock.set(instant("2026-02-20T12:00:00+05:30"));
    let id = bill(&env, &t, 10, "FEB").await["customer"]["customer_id"].as_str().unwrap().to_owned();
    // On 1 March a bill sold on 31 January arrives: January's points were good until
    // the end of February, so they are recorded and expire in the same write.
    env.clock.set(instant("2026-03-01T10:00:00+05:30"));
    let late = env
        .bill(&t, json!({ "mobile": MOBILE, "amount": 5, "external_ref": "JAN-LATE", "sold_at": "2026-01-31T20:00:00+05:30" }))
        .await;
    late.assert_ok(&json!({ "points_earned": 500, "new_balance": 1_000 }));
    let kinds: Vec<(String, i64, i64)> = env
        .ledger(&id)
        .await
        .iter()
        .map(|e| (attr(e, "type").unwrap().to_owned(), attr_n(e, "points"), attr_n(e, "balance_after")))
        .collect();
    assert_eq!(kinds, vec![("earn".into(), 1_000, 1_000), ("earn".into(), 500, 1_500), ("expire".into(), -500, 1_000)]);
    let (balance, buckets) = assert_exact(&env, &id).await;
    assert_eq!((balance, buckets), (1_000, months(&[("2026-02", 1_000)])));
}

#[tokio::test]
async fn points_a_refund_gives_back_return_to_the_sales_month_and_expire_at_once_if_it_is_past() {
    let env = TestEnv::new().await;
    let one_month = Program { points_expiry_months: Some(1), ..admin::demo_program() };
    let t = env.tenant_with("spice-garden", &one_month).await;
    let (deps, outbox) = env.with_outbox();
    env.clock.set(instant("2026-01-10T12:00:00+05:30"));
    let id = bill(&env, &t, 100, "JAN").await["customer"]["customer_id"].as_str().unwrap().to_owned();
    // In January a bill of ₹30 spends 1,000 points (₹10 off) and earns on the ₹20 paid.
    env.clock.set(instant("2026-01-20T12:00:00+05:30"));
    Call::new(Route::Otp, t.slug()).key(&t.live).json(&json!({ "mobile": MOBILE })).send(&deps).await;
    let body = json!({ "mobile": MOBILE, "amount": 30, "external_ref": "JAN-R", "redeem_points": 1_000, "otp": outbox.last_code() });
    Call::bill(t.slug()).key(&t.live).json(&body).send(&deps).await.assert_ok(&json!({ "new_balance": 11_000 }));
    // In March January's points have expired (at the next change) and March's are new.
    env.clock.set(instant("2026-03-05T12:00:00+05:30"));
    bill(&env, &t, 50, "MAR").await;
    assert_eq!(assert_exact(&env, &id).await, (5_000, months(&[("2026-03", 5_000)])));
    // Refunding January's bill takes back its 2,000 points (its month is empty: from the
    // oldest) and gives back the 1,000 it spent, to January: they expire in the same write.
    let refund = Call::new(Route::Refund, t.slug())
        .key(&t.live)
        .json(&json!({ "external_ref": "JAN-R", "amount": 30, "refund_ref": "RET-JAN-R" }))
        .send(&env.deps)
        .await;
    assert_eq!(refund.status, 200, "{}", refund.text);
    let ledger = env.ledger(&id).await;
    let tail: Vec<(String, i64, i64)> = ledger[ledger.len() - 2..]
        .iter()
        .map(|e| (attr(e, "type").unwrap().to_owned(), attr_n(e, "points"), attr_n(e, "balance_after")))
        .collect();
    assert_eq!(tail, vec![("refund".into(), -1_000, 4_000), ("expire".into(), -1_000, 3_000)]);
    assert_eq!(assert_exact(&env, &id).await, (3_000, months(&[("2026-03", 3_000)])));
}
