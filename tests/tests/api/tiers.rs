//! Tiers reviewed on a period: a program year under a moving clock in which a member
//! rises to Gold by earning, keeps it while it qualifies, is reviewed down after the
//! grace period, and rises again at once; adjustments never move the tier; a lifetime
//! program is unchanged.

use chrono::NaiveDate;
use loyalty::actor::Role;
use loyalty::program::Program;
use loyalty_admin::admin;
use serde_json::json;

use super::console::{Admin, AdminCall};
use super::support::{attr_n, instant, Item, Tenant, TestEnv};

const MOBILE: &str = "9876543210";

/// The demo program (100 points per ₹1, Gold from 200,000 points at 1.25x), its tiers
/// qualifying on the last three months' earnings, with one month of grace.
fn quarterly() -> Program {
    Program { tier_qualifying_months: Some(3), tier_grace_months: 1, ..admin::demo_program() }
}

fn attr<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

async fn bill(env: &TestEnv, t: &Tenant, amount: i64, reference: &str) -> serde_json::Value {
    let reply =
        env.bill(t, json!({ "mobile": MOBILE, "name": "Asha", "amount": amount, "external_ref": reference })).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body
}

/// Balance = the ledger's sum; the member's tier entries' descriptions, oldest first.
async fn exact(env: &TestEnv, customer_id: &str) -> Vec<String> {
    let items = env.scan().await;
    let profile = items
        .iter()
        .find(|i| attr(i, "SK") == Some("PROFILE") && attr(i, "customer_id") == Some(customer_id))
        .expect("the profile");
    let ledger = env.ledger(customer_id).await;
    let sum: i64 = ledger.iter().map(|e| attr_n(e, "points")).sum();
    assert_eq!(attr_n(profile, "points_balance"), sum, "balance = the ledger's sum");
    ledger
        .iter()
        .filter(|e| attr(e, "type") == Some("tier"))
        .inspect(|e| assert_eq!(attr_n(e, "points"), 0))
        .filter_map(|e| attr(e, "description").map(str::to_owned))
        .collect()
}

/// The member's review item's index partition, if it has one.
async fn review_index(env: &TestEnv, customer_id: &str) -> Option<String> {
    let items = env.scan().await;
    items
        .iter()
        .find(|i| attr(i, "SK") == Some("TIERREVIEW") && attr(i, "customer_id") == Some(customer_id))
        .and_then(|i| attr(i, "GSI1PK").map(|pk| pk[..18].to_owned()))
}

/// The daily job as of the end of `day` (IST): expiry, then the tier reviews.
async fn review(env: &TestEnv, t: &Tenant, day: (i32, u32, u32)) -> loyalty::engine::TierRun {
    env.clock.set(instant(&format!("{:04}-{:02}-{:02}T23:00:00+05:30", day.0, day.1, day.2)));
    let date = NaiveDate::from_ymd_opt(day.0, day.1, day.2).expect("a date");
    admin::expire(&env.deps, date, Some(&t.slug)).await.expect("expiry run");
    admin::review_tiers(&env.deps, date, Some(&t.slug)).await.expect("review run")
}

async fn tier(env: &TestEnv, t: &Tenant) -> String {
    let lookup = env.lookup(t, MOBILE).await;
    assert_eq!(lookup.status, 200, "{}", lookup.text);
    lookup.body["tier"].as_str().expect("tier").to_owned()
}

#[tokio::test]
async fn a_program_year_moves_a_member_up_at_once_and_down_only_at_a_review() {
    let env = TestEnv::new().await;
    let t = env.tenant_with("spice-garden", &quarterly()).await;

    // January: 150,000 points, Silver.
    env.clock.set(instant("2026-01-10T12:00:00+05:30"));
    let jan = bill(&env, &t, 1_500, "JAN").await;
    assert_eq!((&jan["tier"], &jan["tier_upgraded"]), (&json!("Silver"), &json!(false)), "{jan}");
    let id = jan["customer"]["customer_id"].as_str().expect("customer_id").to_owned();

    // February: 60,000 more in the window, 210,000: Gold at this very sale.
    env.clock.set(instant("2026-02-10T12:00:00+05:30"));
    let feb = bill(&env, &t, 600, "FEB").await;
    assert_eq!(
        (&feb["tier"], &feb["tier_upgraded"], &feb["points_earned"]),
        (&json!("Gold"), &json!(true), &json!(60_000))
    );
    assert_eq!(exact(&env, &id).await, vec!["Silver -> Gold"]);
    assert_eq!(review_index(&env, &id).await.as_deref(), Some("TIERREVIEW#2026-03"), "reviewed next month");

    // An adjustment never counts toward a tier: 3,000,000 points given are not Platinum.
    let adjusted = AdminCall::new(Admin::MemberAdjust)
        .on(&id)
        .as_(&env, t.slug(), Role::Owner)
        .header("Idempotency-Key", "adj-1")
        .json(&json!({"points": 3_000_000, "reason": "Goodwill"}))
        .send(&env.deps)
        .await;
    assert_eq!(adjusted.status, 201, "{}", adjusted.text);
    assert_eq!(tier(&env, &t).await, "Gold");

    // 1 March: January..March hold 210,000: kept.
    let march = review(&env, &t, (2026, 3, 1)).await;
    assert_eq!((march.reviewed, march.changed, march.failed), (1, 0, 0), "{march:?}");
    assert_eq!(review_index(&env, &id).await.as_deref(), Some("TIERREVIEW#2026-04"));
    // The same day again reviews no one twice.
    assert_eq!(review(&env, &t, (2026, 3, 1)).await.reviewed, 0);

    // 1 April: February..April hold 60,000. The grace month starts; still Gold.
    let april = review(&env, &t, (2026, 4, 1)).await;
    assert_eq!((april.reviewed, april.changed), (1, 0), "{april:?}");
    assert_eq!(tier(&env, &t).await, "Gold");
    // A sale in the grace month earns at Gold and never moves the tier down.
    env.clock.set(instant("2026-04-02T12:00:00+05:30"));
    let apr = bill(&env, &t, 100, "APR").await;
    assert_eq!(
        (&apr["tier"], &apr["tier_upgraded"], &apr["points_earned"]),
        (&json!("Gold"), &json!(false), &json!(12_500))
    );

    // 1 May: the grace has run and March..May hold 12,500: down to Silver, in history.
    let may = review(&env, &t, (2026, 5, 1)).await;
    assert_eq!((may.reviewed, may.changed), (1, 1), "{may:?}");
    assert_eq!(tier(&env, &t).await, "Silver");
    assert_eq!(exact(&env, &id).await, vec!["Silver -> Gold", "Gold -> Silver"]);
    assert_eq!(review_index(&env, &id).await, None, "nothing to review at the lowest tier");
    assert_eq!(review(&env, &t, (2026, 6, 1)).await.checked, 0);

    // And up again at once with a sale that qualifies.
    env.clock.set(instant("2026-06-05T12:00:00+05:30"));
    let jun = bill(&env, &t, 2_000, "JUN").await;
    assert_eq!(
        (&jun["tier"], &jun["tier_upgraded"], &jun["points_earned"]),
        (&json!("Gold"), &json!(true), &json!(200_000))
    );
    assert_eq!(exact(&env, &id).await, vec!["Silver -> Gold", "Gold -> Silver", "Silver -> Gold"]);
    assert_eq!(tier(&env, &t).await, "Gold");

    // A refund takes the window's points back but moves no tier until the review.
    let refund = super::support::Call::new(super::support::Route::Refund, t.slug())
        .key(&t.live)
        .json(&json!({ "external_ref": "JUN", "amount": 2_000, "refund_ref": "RET-JUN" }))
        .send(&env.deps)
        .await;
    assert_eq!(refund.status, 200, "{}", refund.text);
    assert_eq!(tier(&env, &t).await, "Gold");
    let july = review(&env, &t, (2026, 7, 1)).await;
    assert_eq!((july.reviewed, july.changed), (1, 0), "grace first: {july:?}");
    let august = review(&env, &t, (2026, 8, 1)).await;
    assert_eq!((august.reviewed, august.changed), (1, 1), "{august:?}");
    assert_eq!(exact(&env, &id).await.last().map(String::as_str), Some("Gold -> Silver"));
}

#[tokio::test]
async fn a_lifetime_program_is_unchanged_by_reviews() {
    let env = TestEnv::new().await;
    let t = env.tenant_with("spice-garden", &admin::demo_program()).await;
    env.clock.set(instant("2026-01-10T12:00:00+05:30"));
    let jan = bill(&env, &t, 2_500, "JAN").await;
    assert_eq!((&jan["tier"], &jan["tier_upgraded"]), (&json!("Gold"), &json!(true)));
    let id = jan["customer"]["customer_id"].as_str().expect("customer_id").to_owned();
    for month in 2..=12 {
        let run = review(&env, &t, (2026, month, 1)).await;
        assert_eq!(run.checked, 0, "{run:?}");
    }
    assert_eq!(tier(&env, &t).await, "Gold", "lifetime points keep the tier for ever");
    assert!(exact(&env, &id).await.is_empty(), "no tier entries");
    assert_eq!(review_index(&env, &id).await, None);
    let items = env.scan().await;
    let profile = items.iter().find(|i| attr(i, "SK") == Some("PROFILE")).expect("the profile");
    assert!(profile.get("tier").is_none(), "a lifetime program keeps no tier state");
}
