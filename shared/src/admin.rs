//! Response bodies of the management API (`/v1/admin/...`), the console's dialect:
//! snake_case fields, lists under a named field, pages with `next_cursor`. Errors are
//! [`crate::error::Dialect::Admin`]'s.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::engine::HistoryPage;
use crate::manage::{KeyView, MemberSummary};
use crate::model::{CodeKind, LedgerEntry, Reward};
use crate::store::{AuditEntry, AuditPage};

/// `{"keys": [...]}`.
#[derive(Debug, Serialize)]
pub struct Keys {
    pub keys: Vec<KeyView>,
}

/// A reward as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RewardView {
    pub reward_id: String,
    pub name: String,
    pub description: String,
    pub points_cost: i64,
    pub kind: CodeKind,
    pub value_minor: i64,
    pub discount_percent: Option<u32>,
    pub active: bool,
}

impl From<Reward> for RewardView {
    fn from(r: Reward) -> Self {
        RewardView {
            reward_id: r.public_id,
            name: r.name,
            description: r.description,
            points_cost: r.points_cost,
            kind: r.kind,
            value_minor: r.value_minor,
            discount_percent: r.discount_percent,
            active: r.active,
        }
    }
}

/// `{"rewards": [...]}`.
#[derive(Debug, Serialize)]
pub struct Rewards {
    pub rewards: Vec<RewardView>,
}

impl From<Vec<Reward>> for Rewards {
    fn from(rewards: Vec<Reward>) -> Self {
        Rewards { rewards: rewards.into_iter().map(RewardView::from).collect() }
    }
}

/// `{"members": [...]}`: zero or one.
#[derive(Debug, Serialize)]
pub struct Members {
    pub members: Vec<MemberSummary>,
}

/// One line of a member's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    pub txn_id: uuid::Uuid,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub points: i64,
    pub balance_after: i64,
    pub amount_minor: Option<i64>,
    pub reference: Option<String>,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<LedgerEntry> for HistoryEntry {
    fn from(e: LedgerEntry) -> Self {
        HistoryEntry {
            txn_id: e.txn_id,
            kind: e.kind.as_str(),
            points: e.points,
            balance_after: e.balance_after,
            amount_minor: e.amount_minor,
            reference: e.reference,
            description: e.description,
            created_at: e.created_at,
        }
    }
}

/// A page of a member's history.
#[derive(Debug, Serialize)]
pub struct History {
    pub entries: Vec<HistoryEntry>,
    pub next_cursor: Option<String>,
}

impl From<HistoryPage> for History {
    fn from(page: HistoryPage) -> Self {
        History { entries: page.entries.into_iter().map(HistoryEntry::from).collect(), next_cursor: page.next_cursor }
    }
}

/// One audit log entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditView {
    pub id: uuid::Uuid,
    pub at: DateTime<Utc>,
    pub who: String,
    pub role: crate::actor::Role,
    pub action: String,
    pub target: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub request_key: Option<String>,
}

impl From<AuditEntry> for AuditView {
    fn from(e: AuditEntry) -> Self {
        AuditView {
            id: e.id,
            at: e.at,
            who: e.who,
            role: e.role,
            action: e.action,
            target: e.target,
            before: e.before,
            after: e.after,
            request_key: e.request_key,
        }
    }
}

/// A page of the audit log.
#[derive(Debug, Serialize)]
pub struct Audit {
    pub entries: Vec<AuditView>,
    pub next_cursor: Option<String>,
}

impl From<AuditPage> for Audit {
    fn from(page: AuditPage) -> Self {
        Audit { entries: page.entries.into_iter().map(AuditView::from).collect(), next_cursor: page.next_cursor }
    }
}

/// `{"endpoints": [...]}`: a tenant's webhook endpoints, never their secrets.
#[derive(Debug, Serialize)]
pub struct WebhookEndpoints {
    pub endpoints: Vec<crate::webhooks::endpoints::EndpointView>,
}

/// One delivery of an event to an endpoint, as the console shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeliveryView {
    /// The event's id (also its `webhook-id` header); unique within the endpoint.
    pub event_id: String,
    pub event_type: String,
    pub status: crate::webhooks::DeliveryStatus,
    pub attempts: u32,
    pub first_attempt_at: DateTime<Utc>,
    /// When the sender tries next, while it is pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The last attempt's status code, or why it got none.
    pub last_result: Option<String>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl From<&crate::webhooks::Delivery> for DeliveryView {
    fn from(d: &crate::webhooks::Delivery) -> Self {
        DeliveryView {
            event_id: d.event.id.clone(),
            event_type: d.event.r#type.clone(),
            status: d.status,
            attempts: d.attempts,
            first_attempt_at: d.first_attempt_at,
            next_attempt_at: (d.status == crate::webhooks::DeliveryStatus::Pending).then_some(d.next_attempt_at),
            last_result: d.last_result.clone(),
            last_attempt_at: d.last_attempt_at,
            delivered_at: d.delivered_at,
        }
    }
}

/// At most this many deliveries in one answer: the most recent.
pub const RECENT_DELIVERIES: usize = 100;

/// `{"deliveries": [...]}`: an endpoint's most recent deliveries, newest first.
#[derive(Debug, Serialize)]
pub struct Deliveries {
    pub deliveries: Vec<DeliveryView>,
}

impl From<Vec<crate::webhooks::Delivery>> for Deliveries {
    fn from(mut all: Vec<crate::webhooks::Delivery>) -> Self {
        all.sort_by(|a, b| {
            let at = |d: &crate::webhooks::Delivery| d.last_attempt_at.unwrap_or(d.first_attempt_at);
            at(b).cmp(&at(a)).then_with(|| b.event.id.cmp(&a.event.id))
        });
        Deliveries { deliveries: all.iter().take(RECENT_DELIVERIES).map(DeliveryView::from).collect() }
    }
}

/// `{"event_id": ...}`: the test event queued for an endpoint.
#[derive(Debug, Serialize)]
pub struct TestQueued {
    pub event_id: String,
}

/// `{"replayed": n}`: dead deliveries put back in their endpoint's queue.
#[derive(Debug, Serialize)]
pub struct Replayed {
    pub replayed: usize,
}
