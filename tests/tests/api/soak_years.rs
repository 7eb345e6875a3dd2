//! Two years of a program whose points expire six months after the month they were
//! earned, randomized: bills (some posted late), partial and whole refunds, point
//! adjustments up and down, days and weeks passing between them. After every step each
//! member touched must be exact: the stored balance is the ledger's sum, every entry's
//! `balance_after` follows from the one before, no month bucket is negative or empty, the
//! buckets sum to the balance when it is positive, no bucket is older than the program
//! keeps points, and touching the member again at once expires nothing more (no point
//! expires twice).
//!
//! The seed is printed; `LOYALTY_SOAK_SEED=<seed>` replays the run.

use chrono::{DateTime, Duration, Utc};
use loyalty::actor::Actor;
use loyalty::domain::CustomerId;
use loyalty::expiry::Month;
use loyalty::manage::{self, Adjustment};
use loyalty::model::{EntryKind, LedgerEntry};
use loyalty::program::Program;
use loyalty_admin::admin;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use super::support::{instant, Call, Route, Tenant, TestEnv};

const MONTHS_KEPT: u32 = 6;
const MEMBERS: [&str; 4] = ["9876500101", "9876500102", "9876500103", "9876500104"];

struct Sale {
    reference: String,
    member: usize,
    /// Rupees not yet refunded.
    left: i64,
}

/// Brings `known` (a member's ledger, oldest first) up to date: reads pages newest first
/// until it meets the newest entry already known.
async fn ledger(env: &TestEnv, actor: &Actor, id: &CustomerId, known: &mut Vec<LedgerEntry>) {
    let last = known.last().map(|e| e.txn_id);
    let mut fresh = Vec::new();
    let mut cursor: Option<String> = None;
    'pages: loop {
        let page = manage::member_history(&env.deps, actor, id, 50, cursor.as_deref()).await.unwrap();
        for e in page.entries {
            if Some(e.txn_id) == last {
                break 'pages;
            }
            fresh.push(e);
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    fresh.reverse();
    known.extend(fresh);
}

/// What every check of a run needs.
struct Run<'a> {
    env: &'a TestEnv,
    t: &'a Tenant,
    actor: &'a Actor,
    seed: u64,
}

/// A point added by hand: a change of the member's balance.
async fn touch(env: &TestEnv, actor: &Actor, id: CustomerId, seed: u64) {
    let again = Adjustment { customer_id: id, points: 1, reason: "touch".into() };
    if let Err(e) = manage::adjust_points(&env.deps, actor, &again, None).await {
        panic!("seed {seed}: a point added by hand: {e:?}");
    }
}

/// The checks of one member after a step (`changed`: the step changed its balance, so
/// nothing due may be kept); returns how many `expire` entries it has.
async fn assert_exact(
    run: &Run<'_>,
    id: &CustomerId,
    now: DateTime<Utc>,
    changed: bool,
    entries: &mut Vec<LedgerEntry>,
) -> usize {
    let (env, t, actor, seed) = (run.env, run.t, run.actor, run.seed);
    let member = env.deps.store.get_customer(&t.slug, id).await.unwrap().expect("the member");
    ledger(env, actor, id, entries).await;
    let mut running = 0;
    for e in entries.iter() {
        running += e.points;
        assert_eq!(e.balance_after, running, "seed {seed}: each entry follows from the one before: {e:?}");
    }
    assert_eq!(member.points_balance, running, "seed {seed}: balance = the ledger's sum");
    let buckets: Vec<(Month, i64)> = member.points_expiry.iter().collect();
    assert!(buckets.iter().all(|(_, p)| *p > 0), "seed {seed}: no bucket negative or empty: {buckets:?}");
    let sum: i64 = buckets.iter().map(|(_, p)| p).sum();
    assert_eq!(sum, member.points_balance.max(0), "seed {seed}: the buckets sum to the balance: {buckets:?}");
    let this_month = Month::of(now, 330);
    let oldest_kept = Month::new(this_month.year(), this_month.month())
        .map(|m| (0..MONTHS_KEPT).fold(m, |m, _| previous(m)))
        .unwrap();
    assert!(
        !changed || buckets.iter().all(|(m, _)| *m >= oldest_kept),
        "seed {seed}: nothing due is kept after a change ({this_month}): {buckets:?}"
    );
    entries.iter().filter(|e| e.kind == EntryKind::Expire).count()
}

fn previous(m: Month) -> Month {
    match m.month() {
        1 => Month::new(m.year() - 1, 12),
        n => Month::new(m.year(), n - 1),
    }
    .unwrap()
}

#[tokio::test]
async fn two_years_of_expiry_refunds_adjustments_and_late_bills_keep_every_member_exact() {
    let seed = std::env::var("LOYALTY_SOAK_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random);
    println!("two-year soak seed {seed} (LOYALTY_SOAK_SEED={seed} replays it)");
    let mut rng = StdRng::seed_from_u64(seed);
    let env = TestEnv::new().await;
    let program = Program { points_expiry_months: Some(MONTHS_KEPT), ..admin::demo_program() };
    let t = env.tenant_with("spice-garden", &program).await;
    let actor = Actor::operator(t.slug.clone());
    let run = Run { env: &env, t: &t, actor: &actor, seed };

    let mut now = instant("2026-01-01T10:00:00+05:30");
    let end = now + Duration::days(731);
    env.clock.set(now);
    let mut ids: Vec<Option<CustomerId>> = vec![None; MEMBERS.len()];
    let mut sales: Vec<Sale> = Vec::new();
    let mut expired_entries = vec![0usize; MEMBERS.len()];
    let mut ledgers: Vec<Vec<LedgerEntry>> = vec![Vec::new(); MEMBERS.len()];
    let (mut steps, mut n) = (0, 0);
    while now < end {
        now += Duration::hours(rng.random_range(12..=24 * 9));
        env.clock.set(now);
        steps += 1;
        let member = rng.random_range(0..MEMBERS.len());
        n += 1;
        match (rng.random_range(0..10), &ids[member]) {
            // A bill, a third of them posted late (up to 20 days after the sale).
            (0..=4, _) | (_, None) => {
                let reference = format!("INV-{n}");
                let amount = rng.random_range(10..=3_000);
                let mut body = json!({"mobile": MEMBERS[member], "amount": amount, "external_ref": reference});
                if rng.random_bool(0.3) {
                    let sold = now - Duration::hours(rng.random_range(1..=24 * 20));
                    body["sold_at"] = json!(sold.to_rfc3339());
                }
                let reply = env.bill(&t, body).await;
                assert_eq!(reply.status, 200, "seed {seed}: {}", reply.text);
                let id = reply.body["customer"]["customer_id"].as_str().unwrap();
                ids[member] = Some(CustomerId::parse(id).unwrap());
                sales.push(Sale { reference, member, left: amount });
            }
            // A refund of part or all of what is left of a sale.
            (5..=6, _) => {
                let open: Vec<usize> = (0..sales.len()).filter(|i| sales[*i].left > 0).collect();
                let Some(&i) = open.get(rng.random_range(0..open.len().max(1))) else { continue };
                let amount = if rng.random_bool(0.5) { sales[i].left } else { rng.random_range(1..=sales[i].left) };
                let body =
                    json!({"external_ref": sales[i].reference, "amount": amount, "refund_ref": format!("RET-{n}")});
                let reply = Call::new(Route::Refund, t.slug()).key(&t.live).json(&body).send(&env.deps).await;
                assert_eq!(reply.status, 200, "seed {seed}: refund {body}: {}", reply.text);
                sales[i].left -= amount;
                let refunded = sales[i].member;
                let id = ids[refunded].unwrap();
                expired_entries[refunded] = assert_exact(&run, &id, now, true, &mut ledgers[refunded]).await;
                continue;
            }
            // A correction up or down (never below zero: a refusal changes nothing).
            (_, Some(id)) => {
                let points = match rng.random_bool(0.5) {
                    true => rng.random_range(1..=20_000),
                    false => -rng.random_range(1..=60_000),
                };
                let adjustment = Adjustment { customer_id: *id, points, reason: format!("correction {n}") };
                match manage::adjust_points(&env.deps, &actor, &adjustment, None).await {
                    Ok(_) | Err(loyalty::error::ApiError::InsufficientPoints { .. }) => {}
                    Err(e) => panic!("seed {seed}: adjustment {points}: {e:?}"),
                }
            }
        }
        let id = ids[member].unwrap();
        assert_exact(&run, &id, now, false, &mut ledgers[member]).await;
        // Touched again (a refused adjustment wrote nothing), nothing due is kept; and a
        // second change at once expires nothing more.
        touch(&env, &actor, id, seed).await;
        let expires = assert_exact(&run, &id, now, true, &mut ledgers[member]).await;
        touch(&env, &actor, id, seed).await;
        let after = assert_exact(&run, &id, now, true, &mut ledgers[member]).await;
        assert_eq!(after, expires, "seed {seed}: a second change at once expires nothing");
        expired_entries[member] = after;
    }
    let total: usize = expired_entries.iter().sum();
    println!("{steps} steps over two years; {total} expiry entries");
    assert!(steps > 100, "seed {seed}: {steps} steps");
    assert!(total > 0, "seed {seed}: two years with six months kept expire something");
}
