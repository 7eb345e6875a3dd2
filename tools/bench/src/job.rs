//! The expiry job's cost: a table of its own seeded with members whose points are due
//! (each enrolled by a real bill), then one run of `loyalty::engine::expire_due` through
//! the counting proxy: calls by operation, round trips, capacity units by the
//! documented rules (`capacity`), and time; then a second run, which finds nothing.
//!
//! `loyalty-bench --job-only --job-ddb 127.0.0.1:8000` measures only this, against a
//! running DynamoDB Local; the full run measures it on its own DynamoDB Local too.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use loyalty::auth::Caller;
use loyalty::deps::FixedClock;
use loyalty::domain::TenantSlug;
use loyalty::engine::{expire_due, AsOf, ExpiryRun, JobLimits};
use loyalty::keys::KeyMode;
use loyalty::program::Program;
use loyalty::store::Store;
use loyalty::Deps;

use crate::capacity::{self, Units};
use crate::error::Error;
use crate::proxy::{round_trip_groups, Call, Proxy};

/// One measured run.
#[derive(Debug, Clone)]
pub struct RunCost {
    pub run: ExpiryRun,
    pub seconds: f64,
    pub calls: BTreeMap<String, usize>,
    pub round_trips: usize,
    pub units: Units,
    /// What DynamoDB Local itself reported (not the documented rules for transactions).
    pub reported_units: f64,
}

/// The job's figures.
#[derive(Debug, Clone)]
pub struct JobFigures {
    pub members: usize,
    pub concurrency: usize,
    pub seed_seconds: f64,
    pub first: RunCost,
    pub second: RunCost,
}

fn at(text: &str) -> Result<DateTime<Utc>, Error> {
    Ok(DateTime::parse_from_rfc3339(text).map_err(|e| format!("{text}: {e}"))?.to_utc())
}

/// Seeds `members` members due on 1 March 2026 (points earned in January, kept one
/// month) in a table of its own on `ddb`, and measures two runs as of that day.
pub async fn measure(ddb: SocketAddr, members: usize, concurrency: usize, run_id: &str) -> Result<JobFigures, Error> {
    let table = format!("bench-job-{run_id}");
    let raw = crate::ddb::client(ddb).await;
    let store = Store::new(raw, table.clone());
    store.create_table_if_missing().await?;
    let clock = Arc::new(FixedClock::new(at("2026-01-15T12:00:00Z")?));
    let deps = Deps::new(store, clock.clone());
    let tenant = TenantSlug::parse("job-bench").map_err(|e| format!("tenant: {e}"))?;
    let program = Program { points_expiry_months: Some(1), ..loyalty_admin::demo_program() };
    loyalty_admin::create_tenant(&deps, &tenant, &program).await.map_err(|e| format!("tenant: {e}"))?;
    let caller = Caller { tenant: tenant.clone(), key_id: "loyalty-bench".into(), mode: KeyMode::Live };

    crate::bench::say(format!("expiry job: seeding {members} members with points due (table {table})"));
    let started = Instant::now();
    stream::iter(0..members)
        .map(|i| crate::scenarios::seed_member(&deps, &caller, i, run_id))
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await?;
    let seed_seconds = started.elapsed().as_secs_f64();

    let proxy = Proxy::start(ddb, Duration::from_millis(1)).await?;
    let through = Store::new(crate::ddb::client(proxy.addr).await, table.clone());
    let job = Deps::new(through, Arc::new(FixedClock::new(at("2026-03-01T12:00:00Z")?)));
    let day = NaiveDate::from_ymd_opt(2026, 3, 1).ok_or("a date")?;
    let limits = JobLimits { budget: Duration::from_secs(3600), concurrency, ..JobLimits::default() };
    let mut runs = Vec::new();
    for _ in 0..2 {
        proxy.log.take();
        let started = Instant::now();
        let run = expire_due(&job, AsOf::EndOfDay(day), None, limits).await?;
        let seconds = started.elapsed().as_secs_f64();
        runs.push(cost(run, seconds, &proxy.log.take()));
    }
    let second = runs.pop().ok_or("two runs")?;
    let first = runs.pop().ok_or("two runs")?;
    if first.run.members != members as u64 || second.run.members != 0 {
        return Err(format!(
            "expiry job: expired {} then {} of {members} members",
            first.run.members, second.run.members
        )
        .into());
    }
    Ok(JobFigures { members, concurrency, seed_seconds, first, second })
}

fn cost(run: ExpiryRun, seconds: f64, calls: &[Call]) -> RunCost {
    let mut by_op = BTreeMap::new();
    let mut units = Units::default();
    let mut reported = 0.0;
    // Items written by update are member profiles, under 1 KB: the rules' default.
    let after = HashMap::new();
    let mut keys_only = capacity::KeysOnly::default();
    for call in calls {
        *by_op.entry(call.op.clone()).or_insert(0) += 1;
        units += capacity::units(call, &after);
        units.wru += keys_only.step(call);
        reported += call.reported_units().unwrap_or(0.0);
    }
    RunCost { run, seconds, calls: by_op, round_trips: round_trip_groups(calls).len(), units, reported_units: reported }
}

/// The figures as Markdown (BENCHMARKS.md's section, and what `--job-only` prints).
pub fn markdown(f: &JobFigures) -> String {
    let mut out = String::new();
    let n = f.members as f64;
    let _ = writeln!(out, "## The expiry job\n");
    let _ = writeln!(
        out,
        "Measured on DynamoDB Local on this machine: {} members of one tenant, each with points due \
         (enrolled by a real bill in January, points kept one month), expired by one run of \
         `expire_due` as of 1 March at concurrency {} (seeding took {:.0} s). Capacity units by \
         DynamoDB's documented rules (the rules of *DynamoDB round trips and capacity per \
         request*; index writes included: the settled member's expiry index entry (GSI3, \
         keys only) is deleted or moved), not DynamoDB Local's own figures, which the last column shows.\n",
        f.members, f.concurrency, f.seed_seconds
    );
    let _ = writeln!(
        out,
        "| run | members expired | points | calls | round trips | RRU | WRU | per member: calls, RRU, WRU | seconds | members/s | reported units |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|");
    for (label, r) in [("first", &f.first), ("second (nothing due)", &f.second)] {
        let calls: usize = r.calls.values().sum();
        let per = |x: f64| if r.run.members > 0 { format!("{:.2}", x / r.run.members as f64) } else { "-".into() };
        let _ = writeln!(
            out,
            "| {label} | {} | {} | {calls} ({}) | {} | {:.1} | {:.1} | {}, {}, {} | {:.1} | {:.0} | {:.1} |",
            r.run.members,
            r.run.points,
            r.calls.iter().map(|(op, c)| format!("{op} {c}")).collect::<Vec<_>>().join(", "),
            r.round_trips,
            r.units.rru,
            r.units.wru,
            per(calls as f64),
            per(r.units.rru),
            per(r.units.wru),
            r.seconds,
            if r.seconds > 0.0 { r.run.members as f64 / r.seconds } else { 0.0 },
            r.reported_units
        );
    }
    let _ = writeln!(
        out,
        "\nPer member due: {:.2} calls, {:.2} RRU, {:.2} WRU ({} members). The second run is the \
         daily cost of the index walk alone (every due month of the look-back, every shard).",
        f.first.calls.values().sum::<usize>() as f64 / n,
        f.first.units.rru / n,
        f.first.units.wru / n,
        f.members
    );
    out
}
