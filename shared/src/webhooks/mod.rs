//! Webhooks: what a tenant's receivers get when points move, in the Standard Webhooks
//! 1.0 format (<https://www.standardwebhooks.com>).
//!
//! - [`Event`]: one change as a receiver sees it (the JSON body), made from one stream
//!   record by the consumer; [`EVENT_TYPES`] lists every type.
//! - [`Endpoint`]: a tenant's receiver (URL, the event types it wants, its signing
//!   secrets); [`endpoints`] manages them for an [`Actor`](crate::actor::Actor) (owners
//!   only, audited, under an `Idempotency-Key`).
//! - [`signing`]: the three headers and the `v1,` signatures.
//! - The outbox: one delivery item per (event, endpoint) in the table
//!   ([`Store::enqueue_deliveries`](crate::store::Store::enqueue_deliveries)), which the
//!   sender (`sender`, feature `webhooks`) sends with backoff until it is delivered or,
//!   after [`RETRY_WINDOW_HOURS`], dead (kept, replayable).

pub mod endpoints;
pub mod guard;
#[cfg(feature = "webhooks")]
pub mod sender;
pub mod signing;

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::TenantSlug;

/// What a receiver gets: the JSON body of one delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Stable across redelivery of the same stream record: the item's key and version,
    /// e.g. `evt_<hex sha256>`. Also the `webhook-id` header.
    pub id: String,
    /// One of [`EVENT_TYPES`].
    #[serde(rename = "type")]
    pub r#type: String,
    pub tenant: String,
    /// When the change happened (the item's own time).
    pub timestamp: DateTime<Utc>,
    /// Shared by the events of one business change (a bill's earn and its redemption).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// What the receiver needs: member id, points, balance after, reference, ...
    pub data: serde_json::Value,
}

/// The test event `loyalty-admin webhook test` sends to one endpoint.
pub const TEST_EVENT: &str = "webhook.test";

/// Every event type; an endpoint subscribes to a subset, or to all (an empty list).
pub const EVENT_TYPES: &[&str] = &[
    "points.earned",
    "points.redeemed",
    "points.refunded",
    "points.adjusted",
    "points.expired",
    "member.enrolled",
    "member.tier_changed",
    "voucher.issued",
    "coupon.redeemed",
    TEST_EVENT,
];

/// How long a delivery is retried before it is dead.
pub const RETRY_WINDOW_HOURS: i64 = 24;
/// How long an endpoint may fail without a single success before it is disabled.
pub const DISABLE_AFTER_FAILING_HOURS: i64 = 72;
/// How long a rotated-out secret still signs (next to the new one).
pub const PREVIOUS_SECRET_HOURS: i64 = 24;

/// Whether an endpoint gets deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr, strum::EnumString)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum EndpointStatus {
    Active,
    /// By its owner, or by the sender after failing for [`DISABLE_AFTER_FAILING_HOURS`].
    Disabled,
}

/// A signing secret, `whsec_<base64 of 24 to 32 random bytes>`. Its `Debug` hides it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(whsec_…)")
    }
}

/// A tenant's webhook receiver.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// `ep_` and 20 hex digits.
    pub endpoint_id: String,
    pub tenant: TenantSlug,
    pub url: String,
    /// The types it gets; empty: all.
    pub event_types: Vec<String>,
    pub status: EndpointStatus,
    /// Why it is disabled (by its owner, or failing since when), if it is.
    pub disabled_reason: Option<String>,
    pub secret: Secret,
    /// The secret before the last rotation, still signing until `previous_expires_at`.
    pub previous_secret: Option<Secret>,
    pub previous_expires_at: Option<DateTime<Utc>>,
    /// The first failure since the last success, if it is failing.
    pub failing_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change; conditions writes.
    pub version: u64,
}

impl Endpoint {
    /// Whether it gets events of this type (a test event goes only where it is sent).
    pub fn subscribes(&self, event_type: &str) -> bool {
        self.status == EndpointStatus::Active
            && event_type != TEST_EVENT
            && (self.event_types.is_empty() || self.event_types.iter().any(|t| t == event_type))
    }

    /// The secrets that sign at `now`: the current one, and the previous one within its
    /// 24 hours.
    pub fn signing_secrets(&self, now: DateTime<Utc>) -> Vec<&Secret> {
        let mut out = vec![&self.secret];
        if let (Some(prev), Some(until)) = (&self.previous_secret, self.previous_expires_at) {
            if now < until {
                out.push(prev);
            }
        }
        out
    }
}

/// Where a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr, strum::EnumString)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum DeliveryStatus {
    /// Due at `next_attempt_at`.
    Pending,
    /// A 2xx answered it.
    Delivered,
    /// Failed for the whole retry window; kept, replayable.
    Dead,
}

/// One event for one endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub tenant: TenantSlug,
    pub endpoint_id: String,
    pub event: Event,
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: u32,
    pub first_attempt_at: DateTime<Utc>,
    pub next_attempt_at: DateTime<Utc>,
    /// The last attempt's outcome: a status code or why it did not get one.
    pub last_result: Option<String>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl Delivery {
    /// The delivery's id: its event's, unique within its endpoint.
    pub fn id(&self) -> &str {
        &self.event.id
    }
}
