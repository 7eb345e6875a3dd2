//! Webhook events from the table's stream, end to end on DynamoDB Local: requests write
//! items through the real functions, the local follower reads the stream with the
//! consumer's code, and the outbox gets one delivery per event and endpoint, once by
//! id, however often the records are read; a stopped follower resumes where it stopped;
//! sandbox writes make none.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_sdk_dynamodbstreams::config::{Credentials, Region};
use loyalty::actor::{Actor, Role};
use loyalty::domain::CustomerId;
use loyalty::events::consumer::Consumer;
use loyalty::manage::{self, Adjustment};
use loyalty::store::{AdminRecord, AuditEntry};
use loyalty::webhooks::{Delivery, Endpoint, EndpointStatus, Secret};
use loyalty_admin::stream::{Follower, Pass};
use serde_json::json;

use super::public::{earn, redeem_reward, seed_by_email};
use super::support::{endpoint, Call, Route, Tenant, TestEnv};

pub(super) fn streams() -> aws_sdk_dynamodbstreams::Client {
    let config = aws_sdk_dynamodbstreams::Config::builder()
        .behavior_version_latest()
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("local", "local", None, None, "test"))
        .endpoint_url(endpoint())
        .build();
    aws_sdk_dynamodbstreams::Client::from_conf(config)
}

pub(super) fn checkpoint_file() -> PathBuf {
    std::env::temp_dir().join(format!("loyalty-stream-{}.json", uuid::Uuid::new_v4()))
}

/// A follower as `loyalty-admin stream follow` runs it: a consumer of its own (cold
/// caches), the given checkpoint file.
pub(super) fn follower(env: &TestEnv, checkpoint: &Path) -> Follower {
    Follower::new(streams(), Consumer::new(Arc::new(env.fresh_deps())), checkpoint)
}

async fn add_endpoint(env: &TestEnv, t: &Tenant, id: &str, event_types: &[&str]) -> Endpoint {
    let now = env.now();
    let endpoint = Endpoint {
        endpoint_id: id.into(),
        tenant: t.slug.clone(),
        url: "http://127.0.0.1:9/hook".into(),
        event_types: event_types.iter().map(|s| s.to_string()).collect(),
        status: EndpointStatus::Active,
        disabled_reason: None,
        secret: Secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()),
        previous_secret: None,
        previous_expires_at: None,
        failing_since: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let audit = AuditEntry {
        id: uuid::Uuid::now_v7(),
        at: now,
        who: "test".into(),
        role: Role::Owner,
        action: "webhook.add".into(),
        target: id.into(),
        before: None,
        after: None,
        request_key: None,
    };
    env.store.put_webhook_endpoint(&endpoint, &AdminRecord { audit, request: None }).await.unwrap();
    endpoint
}

async fn deliveries(env: &TestEnv, t: &Tenant, endpoint_id: &str) -> Vec<Delivery> {
    env.store.endpoint_deliveries(&t.slug, endpoint_id, None).await.unwrap()
}

/// Event types and how many of each, after checking no event id is there twice.
fn by_type(deliveries: &[Delivery]) -> BTreeMap<String, usize> {
    let mut ids: Vec<&str> = deliveries.iter().map(|d| d.event.id.as_str()).collect();
    ids.sort_unstable();
    let before = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), before, "an event id twice");
    let mut counts = BTreeMap::new();
    for d in deliveries {
        *counts.entry(d.event.r#type.clone()).or_insert(0) += 1;
    }
    counts
}

fn counts(expected: &[(&str, usize)]) -> BTreeMap<String, usize> {
    expected.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[tokio::test]
async fn requests_become_events_once_each_by_id_and_a_stopped_follower_resumes() {
    let env = TestEnv::with_stream().await;
    let t = env.tenant("spice-garden").await;
    env.add_demo_rewards(&t).await;
    add_endpoint(&env, &t, "ep_all", &[]).await;
    add_endpoint(&env, &t, "ep_earned", &["points.earned"]).await;
    let other = env.tenant("other-shop").await;
    add_endpoint(&env, &other, "ep_other", &[]).await;

    // Enrol (3,400 points), a sale that reaches Gold, a reward bought with points, its
    // voucher used at a till, a partial refund that drops back to Silver, an adjustment.
    seed_by_email(&env, &t, "ravi@example.com", "Ravi", json!(34)).await;
    let sale = earn(&env, &t.live, json!({ "email": "ravi@example.com", "amount": 2000, "reference": "ORD-1" })).await;
    assert_eq!(sale.status, 200, "{}", sale.text);
    let redeemed = redeem_reward(&env, &t.live, "ravi@example.com", "rwd-001").await;
    assert_eq!(redeemed.status, 200, "{}", redeemed.text);
    let voucher = redeemed.data_str("voucherCode").to_owned();
    let used = env.redeem(&t, &t.pos, &voucher).await;
    assert_eq!(used.status, 200, "{}", used.text);
    let refund = Call::public(Route::PublicRefund)
        .key(&t.live)
        .json(&json!({ "reference": "ORD-1", "amount": 1000, "refundReference": "RET-1" }))
        .send(&env.deps)
        .await;
    assert_eq!(refund.status, 200, "{}", refund.text);
    let member = CustomerId::parse(sale.data_str("customerId")).unwrap();
    let owner = Actor::new(t.slug.clone(), "owner@spice-garden.example", Role::Owner);
    let credit = Adjustment { customer_id: member, points: 500, reason: "Goodwill".into() };
    manage::adjust_points(&env.deps, &owner, &credit, None).await.unwrap();
    // Sandbox writes nothing, so it makes no event.
    let sandbox = earn(&env, &t.test, json!({ "email": "ravi@example.com", "amount": 50 })).await;
    assert_eq!(sandbox.status, 200, "{}", sandbox.text);

    let checkpoint = checkpoint_file();
    let first = follower(&env, &checkpoint).pass().await.unwrap();
    let expected = counts(&[
        ("member.enrolled", 1),
        ("points.earned", 2),
        ("member.tier_changed", 2),
        ("points.redeemed", 1),
        ("voucher.issued", 1),
        ("coupon.redeemed", 1),
        ("points.refunded", 1),
        ("points.adjusted", 1),
    ]);
    let all = deliveries(&env, &t, "ep_all").await;
    assert_eq!(by_type(&all), expected);
    assert_eq!(first.events, 10);
    assert_eq!(first.deliveries, 10 + 2, "every event to ep_all, the two earnings to ep_earned");
    assert_eq!(by_type(&deliveries(&env, &t, "ep_earned").await), counts(&[("points.earned", 2)]));
    assert!(deliveries(&env, &other, "ep_other").await.is_empty(), "another tenant's endpoint gets none");

    let event = |kind: &str| all.iter().find(|d| d.event.r#type == kind).map(|d| d.event.clone()).unwrap();
    let tier = all
        .iter()
        .map(|d| &d.event)
        .find(|e| e.r#type == "member.tier_changed" && e.data["upgraded"] == json!(true))
        .unwrap();
    assert_eq!((tier.data["from_tier"].as_str(), tier.data["to_tier"].as_str()), (Some("Silver"), Some("Gold")));
    let earned_gold = all
        .iter()
        .map(|d| &d.event)
        .find(|e| e.r#type == "points.earned" && e.data["reference"] == json!("ORD-1"))
        .unwrap();
    assert_eq!(tier.transaction_id, earned_gold.transaction_id, "the sale and the tier it reached are one change");
    assert_eq!(earned_gold.data["points"], json!(200_000));
    assert_eq!(earned_gold.tenant, "spice-garden");
    assert_eq!(event("coupon.redeemed").data["code"], json!(voucher));
    assert_eq!(event("points.adjusted").data["points"], json!(500));

    // Read everything again (a lost checkpoint, a redelivered batch): nothing new.
    let again = checkpoint_file();
    let reread = follower(&env, &again).pass().await.unwrap();
    assert_eq!((reread.events, reread.deliveries), (10, 0));
    assert_eq!(by_type(&deliveries(&env, &t, "ep_all").await), expected);

    // Stopped and started again on its checkpoint: only what came after.
    let quiet = follower(&env, &checkpoint).pass().await.unwrap();
    assert_eq!((quiet.events, quiet.deliveries), (0, 0), "{quiet:?}");
    let later = earn(&env, &t.live, json!({ "email": "ravi@example.com", "amount": 1, "reference": "ORD-2" })).await;
    assert_eq!(later.status, 200, "{}", later.text);
    let resumed: Pass = follower(&env, &checkpoint).pass().await.unwrap();
    assert_eq!((resumed.events, resumed.deliveries), (1, 2), "{resumed:?}");
    let mut after = expected.clone();
    *after.entry("points.earned".into()).or_default() += 1;
    assert_eq!(by_type(&deliveries(&env, &t, "ep_all").await), after);
    let _ = (std::fs::remove_file(&checkpoint), std::fs::remove_file(&again));
}

/// The function's answer when the store fails mid-batch: the first record that failed,
/// by its sequence number, so Lambda retries from it; the records before it (a profile
/// update that makes no event) are done.
#[tokio::test]
async fn a_store_failure_reports_the_first_failed_record_for_a_retry_from_it() {
    let env = TestEnv::with_stream().await;
    let missing = loyalty::store::Store::new(env.client.clone(), format!("missing-{}", uuid::Uuid::new_v4()));
    let consumer = Consumer::new(Arc::new(loyalty::Deps::new(missing, env.clock.clone())));
    let sample = super::layout::repo().join("events/stream-events/bill-and-voucher.json");
    let event = serde_json::from_str(&std::fs::read_to_string(sample).unwrap()).unwrap();
    let answer = stream_events::handle(&consumer, event).await;
    let failed: Vec<Option<String>> = answer.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
    assert_eq!(failed, [Some("200000000000000000002".to_owned())]);

    // The same batch on a working store: nothing to report.
    let consumer = Consumer::new(Arc::new(env.fresh_deps()));
    let sample = super::layout::repo().join("events/stream-events/bill-and-voucher.json");
    let event = serde_json::from_str(&std::fs::read_to_string(sample).unwrap()).unwrap();
    assert!(stream_events::handle(&consumer, event).await.batch_item_failures.is_empty());
}
