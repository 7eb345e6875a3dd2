//! The daily figures from the table's stream, end to end on DynamoDB Local: a randomized
//! run of bills, reward redemptions with their vouchers used, refunds, adjustments and an
//! expiry, followed through the stream by the local follower (the `stream-figures`
//! code), agrees with a recount from the items; records read again add nothing; a
//! stopped follower resumes where it stopped.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use aws_sdk_dynamodbstreams::config::{Credentials, Region};
use chrono::{DateTime, NaiveDate, Utc};
use loyalty::actor::{Actor, Role};
use loyalty::domain::CustomerId;
use loyalty::engine::{expire_due, AsOf, JobLimits};
use loyalty::events::consumer::Consumer;
use loyalty::figures::{report, Counter, Figures};
use loyalty::manage::{self, Adjustment};
use loyalty::model::local_date;
use loyalty::program::Program;
use loyalty_admin::admin;
use loyalty_admin::stream::Follower;
use rand::{Rng, SeedableRng};
use serde_json::json;

use super::public::{earn, redeem_reward};
use super::support::{date, endpoint, instant, Call, Item, Route, TestEnv};

/// India's offset: a sale at 23:00 UTC counts on the next local day.
const IST: i32 = 330;

fn streams() -> aws_sdk_dynamodbstreams::Client {
    let config = aws_sdk_dynamodbstreams::Config::builder()
        .behavior_version_latest()
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("local", "local", None, None, "test"))
        .endpoint_url(endpoint())
        .build();
    aws_sdk_dynamodbstreams::Client::from_conf(config)
}

pub(super) fn checkpoint_file() -> PathBuf {
    std::env::temp_dir().join(format!("loyalty-figures-{}.json", uuid::Uuid::new_v4()))
}

/// A follower as `loyalty-admin stream follow` runs it: events and figures, cold caches.
pub(super) fn follower(env: &TestEnv, checkpoint: &std::path::Path) -> Follower {
    Follower::new(streams(), Consumer::new(Arc::new(env.fresh_deps())), checkpoint)
        .with_figures(Counter::new(Arc::new(env.fresh_deps())))
}

fn s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

fn n(item: &Item, name: &str) -> i64 {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn day_of(item: &Item, name: &str) -> NaiveDate {
    let at: DateTime<Utc> = s(item, name).and_then(|t| t.parse().ok()).unwrap_or_else(|| panic!("{name}: {item:?}"));
    local_date(at, IST)
}

/// The figures recounted from the items themselves: every ledger entry, profile and code
/// of the tenant, by the program's day.
pub(super) async fn recount(env: &TestEnv, tenant: &str) -> BTreeMap<NaiveDate, Figures> {
    let mut days: BTreeMap<NaiveDate, Figures> = BTreeMap::new();
    let prefix = format!("TENANT#{tenant}#");
    for item in env.scan().await {
        let (Some(pk), Some(sk)) = (s(&item, "PK"), s(&item, "SK")) else { continue };
        if !pk.starts_with(&prefix) {
            continue;
        }
        let member = pk.contains("#CUST#");
        // Ledger entries and sale items: each in its member's history.
        if s(&item, "GSI1SK").is_some_and(|k| k.starts_with("TXN#")) {
            let f = days.entry(day_of(&item, "created_at")).or_default();
            let points = n(&item, "points");
            match s(&item, "type") {
                Some("earn") => f.points_earned += points,
                Some("redeem") | Some("coupon") => f.points_redeemed += points,
                Some("refund") => f.points_refunded += points,
                Some("adjustment") => f.points_adjusted += points,
                Some("expire") => f.points_expired += points,
                other => panic!("an entry of type {other:?}"),
            }
            f.points_net += points;
        } else if member && sk == "PROFILE" {
            days.entry(day_of(&item, "created_at")).or_default().new_members += 1;
        } else if pk.contains("#CODE#") && sk == "CODE" {
            days.entry(day_of(&item, "created_at")).or_default().vouchers_issued += 1;
            if s(&item, "status") == Some("used") {
                days.entry(day_of(&item, "used_at")).or_default().vouchers_used += 1;
            }
        }
    }
    days
}

async fn balances(env: &TestEnv, tenant: &str) -> i64 {
    let prefix = format!("TENANT#{tenant}#CUST#");
    env.scan()
        .await
        .iter()
        .filter(|i| s(i, "SK") == Some("PROFILE") && s(i, "PK").is_some_and(|pk| pk.starts_with(&prefix)))
        .map(|i| n(i, "points_balance"))
        .sum()
}

#[tokio::test]
async fn the_figures_of_a_randomized_run_agree_with_a_recount_and_are_counted_once() {
    let env = TestEnv::with_stream().await;
    let program = Program { points_expiry_months: Some(1), utc_offset_minutes: IST, ..admin::demo_program() };
    let t = env.tenant_with("spice-garden", &program).await;
    env.add_demo_rewards(&t).await;
    let other = env.tenant_with("other-shop", &program).await;
    let seed: u64 = rand::rng().random();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let owner = Actor::new(t.slug.clone(), "owner@spice-garden.example", Role::Owner);
    let checkpoint = checkpoint_file();

    // January, four days: bills at random hours (some late at night, the next local
    // day), rewards bought and their vouchers used at a till, refunds, adjustments.
    let emails: Vec<String> = (0..6).map(|i| format!("m{i}@example.com")).collect();
    let mut members: Vec<CustomerId> = Vec::new();
    let mut sales: Vec<(String, i64)> = Vec::new();
    let mut at = instant("2026-01-10T02:00:00Z");
    for step in 0..60 {
        at += chrono::Duration::minutes(rng.random_range(30..180));
        env.clock.set(at);
        let email = &emails[rng.random_range(0..emails.len())];
        match rng.random_range(0..10) {
            0..=5 => {
                let amount = rng.random_range(50..900);
                let reference = format!("ORD-{step}");
                let r = earn(
                    &env,
                    &t.live,
                    json!({ "email": email, "name": "M", "amount": amount, "reference": reference }),
                )
                .await;
                assert_eq!(r.status, 200, "seed {seed}: {}", r.text);
                let id = CustomerId::parse(r.data_str("customerId")).unwrap();
                if !members.contains(&id) {
                    members.push(id);
                }
                sales.push((reference, amount));
            }
            6 => {
                let r = redeem_reward(&env, &t.live, email, "rwd-001").await;
                if r.status == 200 && rng.random_bool(0.7) {
                    let code = r.data_str("voucherCode").to_owned();
                    let used = env.redeem(&t, &t.pos, &code).await;
                    assert_eq!(used.status, 200, "seed {seed}: {}", used.text);
                }
            }
            7 if !sales.is_empty() => {
                let (reference, amount) = sales.swap_remove(rng.random_range(0..sales.len()));
                let part = rng.random_range(1..=amount);
                let r = Call::public(Route::PublicRefund)
                    .key(&t.live)
                    .json(&json!({ "reference": reference, "amount": part, "refundReference": format!("RET-{step}") }))
                    .send(&env.deps)
                    .await;
                assert_eq!(r.status, 200, "seed {seed}: {}", r.text);
            }
            8 if !members.is_empty() => {
                let customer_id = members[rng.random_range(0..members.len())];
                let points = rng.random_range(-2_000..5_000);
                let adjustment = Adjustment { customer_id, points, reason: "Correction".into() };
                manage::adjust_points(&env.deps, &owner, &adjustment, None).await.unwrap();
            }
            _ => {
                // Another tenant's sale: counted in its own figures only.
                let r = earn(&env, &other.live, json!({ "email": email, "amount": 10 })).await;
                assert_eq!(r.status, 200, "seed {seed}: {}", r.text);
            }
        }
        if step == 30 {
            // Half way: a follower counts what is there, and stops.
            let first = follower(&env, &checkpoint).pass().await.unwrap();
            assert!(first.figures > 0, "seed {seed}: {first:?}");
        }
    }

    // March: January's points expire (one month kept) for whoever made no change.
    env.clock.set(instant("2026-03-02T12:00:00+05:30"));
    let run = expire_due(&env.deps, AsOf::EndOfDay(date(2026, 3, 1)), None, JobLimits::default()).await.unwrap();
    assert!(run.members > 0, "seed {seed}: nothing expired: {run:?}");

    // Started again on its checkpoint: it goes on from where it stopped.
    let resumed = follower(&env, &checkpoint).pass().await.unwrap();
    assert!(resumed.figures > 0, "seed {seed}: {resumed:?}");
    let quiet = follower(&env, &checkpoint).pass().await.unwrap();
    assert_eq!(quiet.figures, 0, "seed {seed}: nothing new, nothing counted: {quiet:?}");

    let (from, to) = (date(2026, 1, 1), date(2026, 3, 31));
    let expected = recount(&env, "spice-garden").await;
    let got = report(&env.deps, &t.slug, from, to).await.unwrap();
    let check = |got: &loyalty::figures::Report, expected: &BTreeMap<NaiveDate, Figures>| {
        let mut outstanding = 0;
        for day in &got.days {
            let want = expected.get(&day.date).copied().unwrap_or_default();
            assert_eq!(day.figures, want, "seed {seed}: {}", day.date);
            outstanding += want.points_net;
            assert_eq!(day.outstanding_points, outstanding, "seed {seed}: {}", day.date);
        }
    };
    check(&got, &expected);
    assert!(got.total.points_expired < 0, "seed {seed}: the expiry is counted");
    assert!(got.total.new_members > 0 && got.total.points_earned > 0);
    let last = got.days.last().unwrap();
    assert_eq!(last.outstanding_points, balances(&env, "spice-garden").await, "seed {seed}: the sum of balances");
    assert_eq!(last.outstanding_value_minor, program.redeemable_minor(last.outstanding_points));
    check(&report(&env.deps, &other.slug, from, to).await.unwrap(), &recount(&env, "other-shop").await);

    // The whole stream read again from its start (a lost checkpoint file, every batch
    // redelivered): nothing is counted twice.
    let again = checkpoint_file();
    let reread = follower(&env, &again).pass().await.unwrap();
    assert_eq!(reread.figures, 0, "seed {seed}: {reread:?}");
    assert_eq!(report(&env.deps, &t.slug, from, to).await.unwrap(), got);
    let _ = (std::fs::remove_file(&checkpoint), std::fs::remove_file(&again));
}

/// A batch counted, then redelivered, then redelivered with more after it: only what
/// is after the checkpoint is added, and a batch of nothing to count writes nothing.
#[tokio::test]
async fn a_redelivered_or_overlapping_batch_adds_only_what_is_new() {
    let env = TestEnv::new().await;
    let sample = super::layout::repo().join("events/stream-figures/bill-and-voucher.json");
    let event: aws_lambda_events::event::dynamodb::TimeWindowEvent =
        serde_json::from_str(&std::fs::read_to_string(sample).unwrap()).unwrap();
    let records: Vec<_> = event.dynamo_db_event.records.iter().filter_map(stream_figures::record).collect();
    assert_eq!(records.len(), 3);
    let counter = Counter::new(Arc::new(env.fresh_deps()));
    let tenant = loyalty::domain::TenantSlug::parse("spice-garden").unwrap();
    let figures = || async { env.store.figures_up_to(&tenant, date(2026, 12, 31)).await.unwrap() };

    // The profile update and the sale's entry.
    let first = counter.count("shard-1", &records[..2]).await.unwrap();
    assert_eq!((first.records, first.added, first.writes), (2, 1, 1));
    let after_first = figures().await;
    let earned: i64 = after_first.values().map(|f| f.points_earned).sum();
    assert!(earned > 0);

    let redelivered = counter.count("shard-1", &records[..2]).await.unwrap();
    assert_eq!((redelivered.records, redelivered.skipped, redelivered.writes), (0, 2, 0));
    assert_eq!(figures().await, after_first);

    // Retried with the rest of the shard after it: only the voucher used is new.
    let overlapping = counter.count("shard-1", &records).await.unwrap();
    assert_eq!((overlapping.records, overlapping.added, overlapping.skipped, overlapping.writes), (1, 1, 2, 1));
    let total = figures().await.values().fold(Figures::default(), |mut sum, f| {
        sum.add(f);
        sum
    });
    assert_eq!((total.points_earned, total.vouchers_used), (earned, 1));

    // The same records on another shard are other records: its own checkpoint.
    let other = counter.count("shard-2", &records[2..]).await.unwrap();
    assert_eq!((other.records, other.writes), (1, 1));

    // Nothing to count (the profile's balance update alone): no write, the checkpoint stays.
    let nothing = counter.count("shard-3", &records[..1]).await.unwrap();
    assert_eq!((nothing.records, nothing.added, nothing.writes), (1, 0, 0));
    assert_eq!(env.store.figures_checkpoint("shard-3").await.unwrap(), None);
}

/// The function's answer: counted, then on a store that fails, the batch's first record
/// reported, so Lambda retries the whole batch.
#[tokio::test]
async fn the_function_reports_its_whole_batch_when_the_store_fails() {
    let env = TestEnv::new().await;
    let read = || {
        let sample = super::layout::repo().join("events/stream-figures/bill-and-voucher.json");
        serde_json::from_str(&std::fs::read_to_string(sample).unwrap()).unwrap()
    };
    let counter = Counter::new(Arc::new(env.fresh_deps()));
    let answer = stream_figures::handle(&counter, read()).await.unwrap();
    assert!(answer.batch_item_failures.is_empty());

    let missing = loyalty::store::Store::new(env.client.clone(), format!("missing-{}", uuid::Uuid::new_v4()));
    let counter = Counter::new(Arc::new(loyalty::Deps::new(missing, env.clock.clone())));
    let answer = stream_figures::handle(&counter, read()).await.unwrap();
    let failed: Vec<Option<String>> = answer.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
    assert_eq!(failed, [Some("200000000000000000001".to_owned())]);
}

/// The stream's filter in `infra/template.yaml` lets through every record the figures
/// count (DynamoDB Local has no filters, so nothing else would notice one missing): the
/// sample bill's profile, sale item and voucher, a ledger entry, and no other item.
#[test]
fn the_template_lets_through_every_record_the_figures_count() {
    let template = std::fs::read_to_string(super::layout::repo().join("infra/template.yaml")).unwrap();
    let function = template.split("\n  StreamFiguresFunction:\n").nth(1).expect("the figures function");
    let filters =
        function.split("FilterCriteria:").nth(1).expect("its filter").split("DestinationConfig:").next().unwrap();
    let patterns: Vec<serde_json::Value> = filters
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- Pattern: '")?.strip_suffix('\''))
        .map(|p| serde_json::from_str(p).unwrap())
        .collect();
    assert!(!patterns.is_empty(), "no filter read");
    let passes = |record: &serde_json::Value| patterns.iter().any(|p| matches(p, record));

    let sample = super::layout::repo().join("events/stream-figures/bill-and-voucher.json");
    let sample: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(sample).unwrap()).unwrap();
    let records = sample["Records"].as_array().unwrap();
    let sks: Vec<&str> = records.iter().map(|r| r["dynamodb"]["Keys"]["SK"]["S"].as_str().unwrap()).collect();
    assert_eq!(sks, ["PROFILE", "SALE", "CODE"]);
    for record in records {
        assert!(passes(record), "{}", record["dynamodb"]["Keys"]);
    }
    let record = |event: &str, sk: &str| json!({ "eventName": event, "dynamodb": { "Keys": { "SK": { "S": sk } } } });
    assert!(passes(&record("INSERT", "TXN#00000000000000000007#0")));
    assert!(!passes(&record("MODIFY", "SALE")), "a refund's rewrite of a sale counts nothing");
    for other in ["KEYID", "PROGRAM", "IDEMPOTENCY", "FIGURES#2026-11-30#0"] {
        assert!(!passes(&record("INSERT", other)), "{other}");
    }
}

/// Lambda's event filtering for the shapes the template uses: an object matches when
/// each of its fields matches the record's; a list matches when one of its values does
/// (a string exactly, `{"prefix": p}` as a prefix).
fn matches(pattern: &serde_json::Value, record: &serde_json::Value) -> bool {
    match pattern {
        serde_json::Value::Object(fields) => fields.iter().all(|(name, p)| matches(p, &record[name.as_str()])),
        serde_json::Value::Array(options) => options.iter().any(|option| match option {
            serde_json::Value::String(exact) => record.as_str() == Some(exact.as_str()),
            serde_json::Value::Object(rule) => match rule.get("prefix").and_then(|p| p.as_str()) {
                Some(prefix) => record.as_str().is_some_and(|text| text.starts_with(prefix)),
                None => panic!("a filter rule this test does not know: {rule:?}"),
            },
            other => panic!("a filter value this test does not know: {other:?}"),
        }),
        other => panic!("a filter value this test does not know: {other:?}"),
    }
}
