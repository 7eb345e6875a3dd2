//! The expiry job: members who make no change lose their due points through the expiry
//! index (no scan), once, and only theirs; the index holds exactly the members whose
//! points will expire.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use loyalty::domain::TenantSlug;
use loyalty::engine::{expire_due, AsOf, ExpiryRun, JobLimits};
use loyalty::program::Program;
use loyalty_admin::admin;
use serde_json::json;

use super::support::{attr_n, date, instant, Call, Item, Tenant, TestEnv};

fn two_months() -> Program {
    Program { points_expiry_months: Some(2), ..admin::demo_program() }
}

fn s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

fn mobile(tenant: usize, n: usize) -> String {
    format!("98{tenant:02}{n:06}")
}

/// Every profile: customer id -> (balance, bucket months oldest first, GSI3PK, GSI3SK).
type Profiles = BTreeMap<String, (i64, Vec<String>, Option<String>, Option<String>)>;

async fn profiles(env: &TestEnv) -> Profiles {
    env.scan()
        .await
        .iter()
        .filter(|i| s(i, "SK") == Some("PROFILE"))
        .map(|p| {
            let months = p
                .get("points_expiry")
                .and_then(|v| v.as_m().ok())
                .map(|m| m.keys().cloned().collect::<std::collections::BTreeSet<_>>().into_iter().collect())
                .unwrap_or_default();
            let id = s(p, "customer_id").unwrap().to_owned();
            (
                id,
                (
                    attr_n(p, "points_balance"),
                    months,
                    s(p, "GSI3PK").map(str::to_owned),
                    s(p, "GSI3SK").map(str::to_owned),
                ),
            )
        })
        .collect()
}

/// The index holds exactly the members with buckets, under the month after their
/// oldest bucket's last month, and the ledger sums to each balance.
async fn assert_indexed_and_exact(env: &TestEnv, months_kept: u32) -> Profiles {
    let all = profiles(env).await;
    for (id, (balance, months, pk, sk)) in &all {
        let ledger: i64 = env.ledger(id).await.iter().map(|e| attr_n(e, "points")).sum();
        assert_eq!(*balance, ledger, "{id}: balance = the ledger's sum");
        match months.first() {
            Some(oldest) => {
                let oldest = loyalty::expiry::Month::parse(oldest).unwrap();
                let due = oldest.plus(months_kept + 1).to_string();
                let pk = pk.as_deref().unwrap_or_else(|| panic!("{id} has points that expire but is not indexed"));
                assert!(pk.starts_with(&format!("EXPIRY#{due}#")), "{id}: {pk} is not due {due}");
                assert!(sk.as_deref().is_some_and(|k| k.ends_with(&format!("#CUST#{id}"))), "{id}: {sk:?}");
            }
            None => assert_eq!((pk, sk), (&None, &None), "{id} has nothing to expire but is indexed"),
        }
    }
    all
}

async fn expire(env: &TestEnv, day: (i32, u32, u32), tenant: Option<&Tenant>) -> ExpiryRun {
    let tenant = tenant.map(|t| &t.slug);
    expire_due(&env.deps, AsOf::EndOfDay(date(day.0, day.1, day.2)), tenant, JobLimits::default())
        .await
        .expect("the expiry run")
}

fn expire_entries(ledger: &[Item]) -> Vec<i64> {
    ledger.iter().filter(|e| s(e, "type") == Some("expire")).map(|e| attr_n(e, "points")).collect()
}

#[tokio::test]
async fn the_job_expires_due_points_of_members_who_made_no_change_once_and_only_theirs() {
    let env = TestEnv::new().await;
    let a = env.tenant_with("spice-garden", &two_months()).await; // 100 points per ₹1
    let b = env.tenant_with("other-shop", &two_months()).await;
    let never = env.tenant("no-expiry").await;

    // January: 40 members of A earn 1,000 points each, 5 of B, 3 of a program whose
    // points never expire.
    env.clock.set(instant("2026-01-10T12:00:00+05:30"));
    let mut a_members = Vec::new();
    for n in 0..40 {
        a_members.push(env.seed_member(&a, &mobile(1, n), "A", "10").await);
    }
    let mut b_members = Vec::new();
    for n in 0..5 {
        b_members.push(env.seed_member(&b, &mobile(2, n), "B", "10").await);
    }
    for n in 0..3 {
        env.seed_member(&never, &mobile(3, n), "N", "10").await;
    }
    // February: the first member of A earns again; the second spends everything.
    env.clock.set(instant("2026-02-10T12:00:00+05:30"));
    let reply = env.bill(&a, json!({ "mobile": mobile(1, 0), "amount": 5 })).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let spent = admin_adjust(&env, &a, &a_members[1].customer_id, -1_000).await;
    assert_eq!(spent, 0);
    let before = assert_indexed_and_exact(&env, 2).await;
    assert_eq!(before.values().filter(|p| p.2.is_some()).count(), 39 + 5, "A's members with points and B's");

    // Nothing is due on 31 March: January's points are good until the end of it.
    let run = expire(&env, (2026, 3, 31), None).await;
    assert_eq!((run.members, run.points, run.more), (0, 0, false), "{run:?}");

    // April: the third member of A makes a change first (their own write expires).
    env.clock.set(instant("2026-04-02T12:00:00+05:30"));
    let reply = env.bill(&a, json!({ "mobile": mobile(1, 2), "amount": 1 })).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(expire_entries(&env.ledger(&a_members[2].customer_id).await), vec![-1_000]);

    // The job for tenant A, as the operator runs it: the other 38 members' January
    // points go, one `expire` entry each; B is untouched.
    let run = admin::expire(&env.deps, date(2026, 4, 2), Some(&a.slug)).await.expect("loyalty-admin expire");
    assert_eq!((run.members, run.points, run.failed, run.more), (38, 38_000, 0, false), "{run:?}");
    let after = assert_indexed_and_exact(&env, 2).await;
    for (n, m) in a_members.iter().enumerate() {
        let expired = expire_entries(&env.ledger(&m.customer_id).await);
        let balance = after[&m.customer_id].0;
        match n {
            0 => assert_eq!((expired, balance), (vec![-1_000], 500), "February's 500 stay"),
            1 => assert_eq!((expired, balance), (vec![], 0), "spent before it was due"),
            _ => assert_eq!((expired, balance), (vec![-1_000], if n == 2 { 100 } else { 0 })),
        }
    }
    for m in &b_members {
        assert!(expire_entries(&env.ledger(&m.customer_id).await).is_empty(), "another tenant's member");
        assert_eq!(after[&m.customer_id].0, 1_000);
    }

    // A second run expires nothing.
    let again = expire(&env, (2026, 4, 2), Some(&a)).await;
    assert_eq!((again.members, again.points), (0, 0), "{again:?}");

    // The scheduled function, as of now, takes every tenant: B's members now.
    let event: EventBridgeEvent = serde_json::from_str(
        &std::fs::read_to_string(super::layout::repo().join("events/expiry-job/daily.json")).unwrap(),
    )
    .unwrap();
    let run = expiry_job::handle(&env.deps, &event, Duration::from_secs(60)).await.expect("the scheduled run").expiry;
    assert_eq!((run.members, run.points, run.more), (5, 5_000, false), "{run:?}");
    let last = assert_indexed_and_exact(&env, 2).await;
    for m in &b_members {
        assert_eq!(expire_entries(&env.ledger(&m.customer_id).await), vec![-1_000]);
        assert_eq!(last[&m.customer_id].0, 0);
    }
    // Left in the index: the member with February points (due in May) and the one who
    // earned in April (due in July).
    let indexed: BTreeMap<&String, &str> =
        last.iter().filter_map(|(id, p)| p.2.as_deref().map(|pk| (id, &pk[..14]))).collect();
    let expected =
        BTreeMap::from([(&a_members[0].customer_id, "EXPIRY#2026-05"), (&a_members[2].customer_id, "EXPIRY#2026-07")]);
    assert_eq!(indexed, expected);
}

/// A manual adjustment through the management engine; the balance after.
async fn admin_adjust(env: &TestEnv, t: &Tenant, customer_id: &str, points: i64) -> i64 {
    let actor = loyalty::actor::Actor::operator(t.slug.clone());
    let adj = loyalty::manage::Adjustment {
        customer_id: loyalty::domain::CustomerId::parse(customer_id).unwrap(),
        points,
        reason: "test".into(),
    };
    loyalty::manage::adjust_points(&env.deps, &actor, &adj, None).await.expect("adjust").balance_after
}

#[tokio::test]
async fn a_run_out_of_budget_says_so_and_the_next_one_finishes() {
    let env = TestEnv::new().await;
    let a = env.tenant_with("spice-garden", &two_months()).await;
    env.clock.set(instant("2026-01-10T12:00:00+05:30"));
    for n in 0..12 {
        env.seed_member(&a, &mobile(1, n), "A", "1").await;
    }
    let slug = TenantSlug::parse("spice-garden").unwrap();
    let none = JobLimits { budget: Duration::ZERO, ..JobLimits::default() };
    let cut = expire_due(&env.deps, AsOf::EndOfDay(date(2026, 4, 1)), Some(&slug), none).await.unwrap();
    assert_eq!((cut.members, cut.more), (0, true), "{cut:?}");
    let small = JobLimits { page: 5, concurrency: 2, ..JobLimits::default() };
    let run = expire_due(&env.deps, AsOf::EndOfDay(date(2026, 4, 1)), Some(&slug), small).await.unwrap();
    assert_eq!((run.members, run.points, run.more), (12, 1_200, false), "{run:?}");
    assert_indexed_and_exact(&env, 2).await;
}

#[tokio::test]
async fn members_of_a_program_that_stopped_expiring_points_leave_the_index_and_keep_their_points() {
    let env = TestEnv::new().await;
    let a = env.tenant_with("spice-garden", &two_months()).await;
    env.clock.set(instant("2026-01-10T12:00:00+05:30"));
    let mut ids = Vec::new();
    for n in 0..4 {
        ids.push(env.seed_member(&a, &mobile(1, n), "A", "1").await.customer_id);
    }
    assert_eq!(profiles(&env).await.values().filter(|p| p.2.is_some()).count(), 4);
    let never = loyalty_admin::settings::ProgramChange {
        points_expiry_months: Some(loyalty_admin::settings::PointsExpiry(None)),
        effective_from: Some(instant("2026-02-01T00:00:00+05:30")),
        ..Default::default()
    };
    loyalty_admin::settings::set_program(&env.deps, &a.slug, &never).await.unwrap();
    let deps = env.fresh_deps();
    let run = expire_due(&deps, AsOf::EndOfDay(date(2026, 4, 1)), None, JobLimits::default()).await.unwrap();
    assert_eq!((run.members, run.points, run.checked), (0, 0, 4), "{run:?}");
    for (id, (balance, months, pk, _)) in profiles(&env).await {
        assert_eq!((balance, months.len(), pk), (100, 0, None), "{id}: points kept, buckets and index entry gone");
        assert!(expire_entries(&env.ledger(&id).await).is_empty());
    }
    let again = expire_due(&deps, AsOf::EndOfDay(date(2026, 4, 1)), None, JobLimits::default()).await.unwrap();
    assert_eq!(again.checked, 0, "nobody left to read");
}

#[tokio::test]
async fn changes_racing_the_job_expire_each_members_points_once() {
    let env = TestEnv::new().await;
    let a = env.tenant_with("spice-garden", &two_months()).await;
    env.clock.set(instant("2026-01-10T12:00:00+05:30"));
    let mut ids = Vec::new();
    for n in 0..20 {
        ids.push(env.seed_member(&a, &mobile(1, n), "A", "10").await.customer_id);
    }
    env.clock.set(instant("2026-04-02T12:00:00+05:30"));
    let small = JobLimits { page: 3, concurrency: 4, ..JobLimits::default() };
    let deps = env.deps.clone();
    let now = env.now();
    let job = tokio::spawn(async move { expire_due(&deps, AsOf::At(now), None, small).await });
    let bills: Vec<_> = (0..20)
        .map(|n| {
            let (deps, call) = (env.deps.clone(), Call::bill(a.slug()).key(&a.live));
            let call = call.json(&json!({ "mobile": mobile(1, n), "amount": 1, "external_ref": format!("R-{n}") }));
            tokio::spawn(async move { call.send(&deps).await })
        })
        .collect();
    let mut replies = Vec::new();
    for bill in bills {
        replies.push(bill.await.unwrap());
    }
    let run = job.await.unwrap().expect("the run");
    assert!(replies.iter().all(|r| r.status == 200), "every bill is recorded");
    assert!(run.members <= 20 && run.points == run.members as i64 * 1_000, "{run:?}");
    let all = assert_indexed_and_exact(&env, 2).await;
    for id in &ids {
        assert_eq!(expire_entries(&env.ledger(id).await), vec![-1_000], "{id}: expired once, by the job or the bill");
        assert_eq!(all[id].0, 100, "{id}: April's points only");
    }
}

/// The expiry index is keys only (GSI3): a balance change that keeps the member's due
/// month leaves its keys as they were (so nothing is written to the index), and the
/// profile is never in GSI1, whose projection is every attribute. A profile written
/// while the expiry keys were GSI1's leaves GSI1 at its next change.
#[tokio::test]
async fn a_balance_change_that_keeps_the_due_month_leaves_the_expiry_index_as_it_was() {
    let env = TestEnv::new().await;
    let a = env.tenant_with("spice-garden", &two_months()).await;
    env.clock.set(instant("2026-01-10T12:00:00+05:30"));
    let member = env.seed_member(&a, &mobile(1, 0), "A", "10").await;
    let first = profiles(&env).await[&member.customer_id].clone();
    let (pk, sk) = (first.2.clone().expect("indexed"), first.3.clone().expect("indexed"));
    assert!(pk.starts_with("EXPIRY#2026-04#"), "{pk}");

    // Later in January: more points in the same month, the same due month.
    env.clock.set(instant("2026-01-20T12:00:00+05:30"));
    let reply = env.bill(&a, json!({ "mobile": mobile(1, 0), "amount": 5 })).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let profile = |items: Vec<Item>| {
        items.into_iter().find(|i| s(i, "SK") == Some("PROFILE") && s(i, "customer_id") == Some(&member.customer_id))
    };
    let after = profile(env.scan().await).expect("the profile");
    assert!(attr_n(&after, "points_balance") > 1_000);
    assert_eq!((s(&after, "GSI3PK"), s(&after, "GSI3SK")), (Some(pk.as_str()), Some(sk.as_str())));
    assert!(!after.contains_key("GSI1PK") && !after.contains_key("GSI1SK"), "the profile is out of GSI1");
}
