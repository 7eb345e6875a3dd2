//! A bill seen end to end, as `scripts/up` runs it: requests through the real functions
//! and the expiry job, the local follower reading DynamoDB Local's stream with the
//! consumer's code, the sender delivering the outbox to a receiver on 127.0.0.1 that is
//! down for a while.
//! Every event the receiver gets verifies with the Standard Webhooks reference library;
//! it gets every event once by id, nothing lost and nothing doubled.

use std::collections::{BTreeMap, BTreeSet};

use loyalty::actor::{Actor, Role};
use loyalty::engine::{expire_due, AsOf, JobLimits};
use loyalty::program::Program;
use loyalty::webhooks::endpoints::{self, NewEndpoint};
use loyalty::webhooks::guard::Policy;
use loyalty::webhooks::DeliveryStatus;
use serde_json::json;

use super::console::{token, Admin, AdminCall};
use super::public::{earn, redeem_reward, seed_by_email};
use super::stream::{checkpoint_file, follower};
use super::support::{date, instant, Call, Route, TestEnv};
use super::webhooks::{sender, verified, Receiver};

/// Sender passes, the clock moved past each retry time, until nothing is due: how many
/// were delivered.
async fn drain(env: &TestEnv) -> usize {
    let mut delivered = 0;
    for _ in 0..20 {
        env.advance(chrono::Duration::minutes(10));
        let report = sender().run_pass(&env.store, env.deps.clock.clone()).await.unwrap();
        assert_eq!((report.dead, report.errors), (0, 0), "{report:?}");
        delivered += report.delivered;
        if report.attempted == 0 {
            return delivered;
        }
    }
    panic!("still sending after 20 passes");
}

#[tokio::test]
async fn a_bill_reaches_a_local_receiver_verified_once_each_after_it_was_down() {
    let env = TestEnv::with_stream().await;
    // Points expire two months after the month they were earned in.
    let program = Program { points_expiry_months: Some(2), ..loyalty_admin::demo_program() };
    let t = env.tenant_with("spice-garden", &program).await;
    env.clock.set(instant("2026-01-10T12:00:00+05:30"));
    env.add_demo_rewards(&t).await;
    let rx = Receiver::start().await;
    // Added as `loyalty-admin webhook add` does on a local stage (loopback allowed).
    let owner = Actor::new(t.slug.clone(), "owner@spice-garden.example", Role::Owner);
    let spec = NewEndpoint { url: rx.url(), event_types: Vec::new() };
    let added = endpoints::add_endpoint(&env.deps, &owner, &Policy::local(), &spec, None).await.unwrap();
    let (secret, ep) = (added.secret.unwrap(), added.endpoint.endpoint_id);

    // The receiver is down while a member enrols, a bill earns, a reward is bought and a
    // sale is partly refunded.
    rx.set(0);
    seed_by_email(&env, &t, "ravi@example.com", "Ravi", json!(34)).await;
    let bill = env.bill(&t, json!({ "mobile": "9876543210", "amount": 1200, "name": "Asha" })).await;
    assert_eq!(bill.status, 200, "{}", bill.text);
    let sale = earn(&env, &t.live, json!({ "email": "ravi@example.com", "amount": 2000, "reference": "ORD-1" })).await;
    assert_eq!(sale.status, 200, "{}", sale.text);
    let redeemed = redeem_reward(&env, &t.live, "ravi@example.com", "rwd-001").await;
    assert_eq!(redeemed.status, 200, "{}", redeemed.text);
    let refund = Call::public(Route::PublicRefund)
        .key(&t.live)
        .json(&json!({ "reference": "ORD-1", "amount": 1000, "refundReference": "RET-1" }))
        .send(&env.deps)
        .await;
    assert_eq!(refund.status, 200, "{}", refund.text);

    let checkpoint = checkpoint_file();
    let first = follower(&env, &checkpoint).pass().await.unwrap();
    assert!(first.events >= 6, "{first:?}");
    assert_eq!(first.deliveries, first.events, "one endpoint, every type: {first:?}");
    for _ in 0..3 {
        let report = sender().run_pass(&env.store, env.deps.clock.clone()).await.unwrap();
        assert!(report.delivered == 0 && report.retrying >= 1, "down: {report:?}");
        env.advance(chrono::Duration::minutes(1));
    }
    assert!(rx.got().is_empty(), "nothing got through while it was down");

    // Back up: the retries arrive.
    rx.set(200);
    assert_eq!(drain(&env).await, first.deliveries, "every retry arrives");
    // April: the daily expiry job takes January's points that are left; then a bill
    // and a test event from the console while the receiver is up arrive on the next
    // passes.
    env.clock.set(instant("2026-04-02T09:00:00+05:30"));
    let expired = expire_due(&env.deps, AsOf::EndOfDay(date(2026, 4, 1)), Some(&t.slug), JobLimits::default())
        .await
        .expect("the expiry run");
    assert!(expired.members == 2 && expired.points > 0 && !expired.more, "Asha's and Ravi's: {expired:?}");
    let later = env.bill(&t, json!({ "mobile": "9876543210", "amount": 300 })).await;
    assert_eq!(later.status, 200, "{}", later.text);
    let owner_token = token(&env, t.slug(), Role::Owner);
    let test = AdminCall::new(Admin::WebhookTest).on(&ep).token(&owner_token).send(&env.deps).await;
    assert_eq!(test.status, 200, "{}", test.text);
    let second = follower(&env, &checkpoint).pass().await.unwrap();
    assert_eq!((second.events, second.deliveries), (3, 3), "two expiries and the later bill: {second:?}");
    assert_eq!(drain(&env).await, 4, "the expiries, the later bill and the test event");

    // The stream read again from its start (a lost checkpoint) and another pass: nothing
    // is sent twice.
    let again = checkpoint_file();
    let reread = follower(&env, &again).pass().await.unwrap();
    assert_eq!(reread.deliveries, 0, "{reread:?}");
    env.advance(chrono::Duration::hours(1));
    assert_eq!(sender().run_pass(&env.store, env.deps.clock.clone()).await.unwrap().attempted, 0);

    // What arrived: each verified, each once, exactly the outbox.
    let got = rx.got();
    let events: Vec<_> = got.iter().map(|r| verified(&secret, r)).collect();
    let ids = rx.ids();
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "an event id twice: {ids:?}");
    let outbox = env.store.endpoint_deliveries(&t.slug, &ep, None).await.unwrap();
    assert!(outbox.iter().all(|d| d.status == DeliveryStatus::Delivered), "{outbox:?}");
    let expected: BTreeSet<&String> = outbox.iter().map(|d| &d.event.id).collect();
    assert_eq!(unique, expected, "every event of the outbox, nothing else");
    let mut types = BTreeMap::new();
    for e in &events {
        assert_eq!(e.tenant, "spice-garden");
        *types.entry(e.r#type.as_str()).or_insert(0) += 1;
    }
    for kind in ["member.enrolled", "points.earned", "points.redeemed", "points.refunded", "webhook.test"] {
        assert!(types.contains_key(kind), "{kind} in {types:?}");
    }
    assert_eq!(types.get("points.expired"), Some(&2), "{types:?}");
    let lost: i64 =
        events.iter().filter(|e| e.r#type == "points.expired").filter_map(|e| e.data["points"].as_i64()).sum();
    assert_eq!(lost.abs(), expired.points, "the events carry the points the job expired");
    let bill_event = events
        .iter()
        .find(|e| e.r#type == "points.earned" && e.data["points"].as_i64().is_some_and(|p| p > 0))
        .expect("a bill's earning");
    assert!(bill_event.transaction_id.is_some(), "{bill_event:?}");
    let _ = (std::fs::remove_file(&checkpoint), std::fs::remove_file(&again));
}
