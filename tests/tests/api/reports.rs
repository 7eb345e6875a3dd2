//! The daily report over HTTP (`GET /v1/admin/reports/daily`), on figures the local
//! follower counted from the table's stream: a few days of bills, a reward bought and its
//! voucher used and an adjustment agree (and the reward is the top one), day by day and in sum, with a recount from the
//! items; a range that starts later carries the outstanding points of the days before
//! it; a range is at most a year and its fields are named when wrong; everyone of the
//! tenant may read it (the isolation matrix is in `console.rs`).

use chrono::NaiveDate;
use loyalty::actor::{Actor, Role};
use loyalty::figures::REPORT_MAX_DAYS;
use loyalty::manage::{self, Adjustment};
use loyalty::program::Program;
use loyalty_admin::admin;
use serde_json::{json, Value};

use super::console::{Admin, AdminCall};
use super::figures::{checkpoint_file, follower, recount};
use super::public::{earn, redeem_reward};
use super::support::{date, instant, TestEnv};

fn day(v: &Value) -> NaiveDate {
    v["date"].as_str().and_then(|d| d.parse().ok()).unwrap_or_else(|| panic!("a day without its date: {v}"))
}

fn num(v: &Value, name: &str) -> i64 {
    v[name].as_i64().unwrap_or_else(|| panic!("{name} is not a number: {v}"))
}

#[tokio::test]
async fn the_report_agrees_with_a_recount_of_the_ledger_and_names_a_wrong_range() {
    let env = TestEnv::with_stream().await;
    let program = Program { utc_offset_minutes: 330, ..admin::demo_program() };
    let t = env.tenant_with("curry-leaf", &program).await;
    env.add_demo_rewards(&t).await;
    let owner = Actor::new(t.slug.clone(), "owner@curry-leaf.example", Role::Owner);

    // Three days of bills (one late at night: the next local day), a reward bought and
    // its voucher used at a till, and an adjustment.
    let mut at = instant("2026-05-01T05:00:00Z");
    let mut guest2 = String::new();
    for (i, amount) in [420, 180, 960, 75, 610, 300].into_iter().enumerate() {
        env.clock.set(at);
        let email = format!("guest{}@example.com", i % 3);
        let r = earn(&env, &t.live, json!({ "email": email, "amount": amount, "reference": format!("B-{i}") })).await;
        assert_eq!(r.status, 200, "{}", r.text);
        if i % 3 == 2 {
            guest2 = r.data_str("customerId").to_owned();
        }
        at += chrono::Duration::hours(9);
    }
    let bought = redeem_reward(&env, &t.live, "guest2@example.com", "rwd-001").await;
    assert_eq!(bought.status, 200, "{}", bought.text);
    let used = env.redeem(&t, &t.pos, bought.data_str("voucherCode")).await;
    assert_eq!(used.status, 200, "{}", used.text);
    let customer_id = loyalty::domain::CustomerId::parse(&guest2).unwrap();
    let adjustment = Adjustment { customer_id, points: -40, reason: "Correction".into() };
    manage::adjust_points(&env.deps, &owner, &adjustment, None).await.unwrap();

    let checkpoint = checkpoint_file();
    let pass = follower(&env, &checkpoint).pass().await.unwrap();
    assert!(pass.figures > 0, "{pass:?}");
    let expected = recount(&env, "curry-leaf").await;

    // The whole of May, read by a viewer.
    let reply = AdminCall::new(Admin::Reports)
        .as_(&env, t.slug(), Role::Viewer)
        .query("from", "2026-05-01")
        .query("to", "2026-05-31")
        .send(&env.deps)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let days = reply.body["days"].as_array().unwrap();
    assert_eq!(days.len(), 31);
    let mut outstanding = 0;
    let mut earned = 0;
    for d in days {
        let want = expected.get(&day(d)).copied().unwrap_or_default();
        for (name, value) in want.fields() {
            assert_eq!(num(d, name), value, "{} {name}: {d}", day(d));
        }
        outstanding += want.points_net;
        earned += want.points_earned;
        assert_eq!(num(d, "outstanding_points"), outstanding, "{}", day(d));
        assert_eq!(num(d, "outstanding_value_minor"), program.redeemable_minor(outstanding), "{}", day(d));
    }
    assert!(earned > 0 && outstanding > 0);
    assert_eq!(num(&reply.body["total"], "points_earned"), earned);
    assert!(num(&reply.body["total"], "points_redeemed") < 0);
    assert_eq!(num(&reply.body["total"], "vouchers_used"), 1);
    assert_eq!(num(&reply.body["total"], "points_adjusted"), -40);
    assert_eq!(num(&reply.body, "members"), 3);
    assert_eq!(
        reply.body["top_rewards"],
        json!([{ "reward_id": "rwd-001", "name": bought.data_str("rewardName"), "redemptions": 1 }]),
        "the one reward bought"
    );
    assert_eq!(reply.body["currency"], program.currency.as_str());

    // From the 3rd: the points outstanding before it are carried into its first day.
    let later = AdminCall::new(Admin::Reports)
        .as_(&env, t.slug(), Role::Viewer)
        .query("from", "2026-05-03")
        .query("to", "2026-05-04")
        .send(&env.deps)
        .await;
    assert_eq!(later.status, 200, "{}", later.text);
    let first = &later.body["days"][0];
    let before: i64 = expected.range(..=date(2026, 5, 3)).map(|(_, f)| f.points_net).sum();
    assert_eq!(num(first, "outstanding_points"), before, "{first}");

    // No range: the 30 days up to the program's today.
    env.clock.set(instant("2026-05-20T20:00:00Z"));
    let recent = AdminCall::new(Admin::Reports).as_(&env, t.slug(), Role::Manager).send(&env.deps).await;
    assert_eq!(recent.status, 200, "{}", recent.text);
    assert_eq!(recent.body["to"], "2026-05-21", "20:00 UTC is the next day at +05:30");
    assert_eq!(recent.body["from"], "2026-04-22");
    assert_eq!(recent.body["days"].as_array().unwrap().len(), 30);

    // A wrong range names its field.
    let longest = date(2026, 1, 1) + chrono::Days::new(REPORT_MAX_DAYS as u64 - 1);
    let fine = AdminCall::new(Admin::Reports)
        .as_(&env, t.slug(), Role::Viewer)
        .query("from", "2026-01-01")
        .query("to", &longest.to_string())
        .send(&env.deps)
        .await;
    assert_eq!(fine.status, 200, "the longest range: {}", fine.text);
    let too_long = (longest + chrono::Days::new(1)).to_string();
    for (from, to, field) in [
        ("2026-05-04", "2026-05-03", "from"),
        ("2026-01-01", too_long.as_str(), "to"),
        ("May 1st", "2026-05-03", "from"),
        ("2026-05-01", "2026-02-30", "to"),
    ] {
        let r = AdminCall::new(Admin::Reports)
            .as_(&env, t.slug(), Role::Viewer)
            .query("from", from)
            .query("to", to)
            .send(&env.deps)
            .await;
        assert_eq!(r.status, 400, "{from}..{to}: {}", r.text);
        assert_eq!(r.body["error"]["field"], field, "{from}..{to}: {}", r.text);
    }
    let _ = std::fs::remove_file(&checkpoint);
}
