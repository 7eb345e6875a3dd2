//! Real races against DynamoDB Local: many requests released at once on one `Deps`.

use std::collections::BTreeSet;

use serde_json::json;

use super::support::{attr_n, concurrently, Call, TestEnv};

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn twenty_identical_bills_at_once_are_recorded_once() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let ravi = env.seed_member(&t, "9876543210", "Ravi Kumar", "1").await;
    let call = Call::bill(t.slug()).key(&t.live).json(&json!({
        "mobile": "9876543210",
        "amount": 250,
        "external_ref": "INV-RACE-1"
    }));

    let replies = concurrently(&env.deps, vec![call; 20]).await;

    for reply in &replies {
        reply.assert_ok(&json!({
            "customer_id": ravi.customer_id,
            "points_earned": 25_000,
            "new_balance": 25_100
        }));
    }
    let ids: BTreeSet<&str> = replies.iter().map(|r| r.str("transaction_id")).collect();
    assert_eq!(ids.len(), 1, "every answer names the same transaction: {ids:?}");
    let fresh = replies.iter().filter(|r| r.header("idempotent-replayed").is_none()).count();
    assert_eq!(fresh, 1, "exactly one answer is the original, the rest are replays");
    assert_eq!(env.balance(&t, "9876543210").await, 25_100, "credited once");
    assert_eq!(env.ledger(&ravi.customer_id).await.len(), 2, "seed bill + one");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn twenty_identical_first_bills_for_a_new_mobile_enrol_one_member() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let call = Call::bill(t.slug()).key(&t.live).json(&json!({
        "mobile": "9876543210",
        "name": "Ravi Kumar",
        "amount": 250,
        "external_ref": "INV-RACE-2"
    }));

    let replies = concurrently(&env.deps, vec![call; 20]).await;

    for reply in &replies {
        reply.assert_ok(&json!({ "points_earned": 25_000, "new_balance": 25_000 }));
    }
    let ids: BTreeSet<(&str, &str)> = replies.iter().map(|r| (r.str("transaction_id"), r.str("customer_id"))).collect();
    assert_eq!(ids.len(), 1, "one transaction for one member: {ids:?}");
    let customer_id = ids.first().map(|(_, c)| c.to_string()).expect("an id");
    let lookup = env.lookup(&t, "9876543210").await;
    lookup.assert_ok(&json!({
        "customer": { "customer_id": customer_id },
        "points_balance": 25_000
    }));
    assert_eq!(env.ledger(&customer_id).await.len(), 1);
    let profiles = env.member_count().await;
    assert_eq!(profiles, 1, "one member enrolled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn twenty_different_bills_at_once_all_count() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let ravi = env.seed_member(&t, "9876543210", "Ravi Kumar", "1").await;
    // Bill i is ₹i: i × 100 points (all Silver: the total stays far below Gold).
    let calls = (1..=20)
        .map(|i| {
            Call::bill(t.slug()).key(&t.live).json(&json!({
                "customer_id": ravi.customer_id,
                "amount": i,
                "external_ref": format!("INV-{i}")
            }))
        })
        .collect();

    let replies = concurrently(&env.deps, calls).await;

    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![200; 20], "{:?}", replies.iter().map(|r| &r.text).collect::<Vec<_>>());
    let earned: i64 = replies.iter().map(|r| r.int("points_earned")).sum();
    let expected = 100 + (1..=20).sum::<i64>() * 100;
    assert_eq!(earned + 100, expected);
    assert_eq!(env.balance(&t, "9876543210").await, expected);

    // The ledger is a chain: 21 entries whose balance_after are the running totals.
    let ledger = env.ledger(&ravi.customer_id).await;
    assert_eq!(ledger.len(), 21);
    let after: BTreeSet<i64> = ledger.iter().map(|e| attr_n(e, "balance_after")).collect();
    assert_eq!(after.len(), 21, "every entry saw a different balance");
    assert_eq!(after.last().copied(), Some(expected));
    let mut new_balances: Vec<i64> = replies.iter().map(|r| r.int("new_balance")).collect();
    new_balances.sort_unstable();
    assert_eq!(
        new_balances,
        after.iter().copied().skip(1).collect::<Vec<_>>(),
        "each answer's new_balance is its ledger entry's balance"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn twenty_different_first_bills_for_a_new_mobile_enrol_one_member_and_all_count() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let calls = (1..=20)
        .map(|i| {
            Call::bill(t.slug()).key(&t.live).json(&json!({
                "mobile": "9876543210",
                "name": "Ravi Kumar",
                "amount": i,
                "external_ref": format!("INV-{i}")
            }))
        })
        .collect();

    let replies = concurrently(&env.deps, calls).await;

    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![200; 20], "{:?}", replies.iter().map(|r| &r.text).collect::<Vec<_>>());
    let members: BTreeSet<&str> = replies.iter().map(|r| r.str("customer_id")).collect();
    assert_eq!(members.len(), 1, "one member: {members:?}");
    let customer_id = members.first().map(|c| c.to_string()).expect("an id");
    let expected = (1..=20).sum::<i64>() * 100;
    assert_eq!(env.balance(&t, "9876543210").await, expected);
    assert_eq!(env.ledger(&customer_id).await.len(), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn twenty_lookups_with_create_at_once_enrol_one_member() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let call = Call::customer(t.slug())
        .key(&t.live)
        .query("mobile", "9876543210")
        .query("create", "true")
        .query("name", "Ravi");

    let replies = concurrently(&env.deps, vec![call; 20]).await;

    for reply in &replies {
        reply.assert_ok(&json!({ "found": true, "customer": { "name": "Ravi", "points_balance": 0 } }));
    }
    let members: BTreeSet<&str> =
        replies.iter().map(|r| r.body["customer"]["customer_id"].as_str().expect("customer_id")).collect();
    assert_eq!(members.len(), 1, "one member: {members:?}");
    let profiles = env.member_count().await;
    assert_eq!(profiles, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn thirty_cashiers_racing_for_one_coupon_get_one_success() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.seed_member(&t, "9876543210", "Ravi Kumar", "1").await;
    env.issue_coupon(&t, "9876543210", "200", super::support::date(2026, 12, 31), Some("COUP-RACE")).await;
    let call = Call::redeem(t.slug()).key(&t.live).json(&json!({ "code": "COUP-RACE" }));

    let replies = concurrently(&env.deps, vec![call; 30]).await;

    let won: Vec<_> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(won.len(), 1, "exactly one redemption succeeds");
    won[0].assert_ok(&json!({
        "valid": true,
        "value": 200,
        "coupon": { "code": "COUP-RACE", "status": "used" }
    }));
    for lost in replies.iter().filter(|r| r.status != 200) {
        lost.assert_error(400, "Coupon is used");
    }
}
