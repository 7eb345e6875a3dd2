//! Webhook endpoints and deliveries.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{json_text, opt_text, text, StoredItem};
use crate::domain::TenantSlug;
use crate::webhooks::{Delivery, DeliveryStatus, Endpoint, EndpointStatus, Event, Secret};

/// `TENANT#{t}#WEBHOOKS` / `EP#{id}`, listed in GSI1 under `WEBHOOK#ENDPOINTS` for the
/// sender. The secrets are stored as they are: signing needs them.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct EndpointItem {
    pub endpoint_id: String,
    #[serde(with = "text")]
    pub tenant: TenantSlug,
    pub url: String,
    pub event_types: Vec<String>,
    pub status: EndpointStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    pub secret: Secret,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_secret: Option<Secret>,
    #[serde(with = "opt_text", default, skip_serializing_if = "Option::is_none")]
    pub previous_expires_at: Option<DateTime<Utc>>,
    #[serde(with = "opt_text", default, skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<DateTime<Utc>>,
    #[serde(with = "text")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "text")]
    pub updated_at: DateTime<Utc>,
    pub version: u64,
    #[serde(rename = "GSI1PK", default, skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub index_pk: Option<String>,
    #[serde(rename = "GSI1SK", default, skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub index_sk: Option<String>,
}

impl StoredItem for EndpointItem {
    const KIND: &'static str = "webhook endpoint";
}

impl From<&Endpoint> for EndpointItem {
    fn from(e: &Endpoint) -> Self {
        use crate::store::item_key::{webhook_endpoint_index_sk, WEBHOOK_ENDPOINTS_INDEX};
        EndpointItem {
            endpoint_id: e.endpoint_id.clone(),
            tenant: e.tenant.clone(),
            url: e.url.clone(),
            event_types: e.event_types.clone(),
            status: e.status,
            disabled_reason: e.disabled_reason.clone(),
            secret: e.secret.clone(),
            previous_secret: e.previous_secret.clone(),
            previous_expires_at: e.previous_expires_at,
            failing_since: e.failing_since,
            created_at: e.created_at,
            updated_at: e.updated_at,
            version: e.version,
            index_pk: Some(WEBHOOK_ENDPOINTS_INDEX.to_owned()),
            index_sk: Some(webhook_endpoint_index_sk(&e.tenant, &e.endpoint_id)),
        }
    }
}

impl From<EndpointItem> for Endpoint {
    fn from(i: EndpointItem) -> Self {
        Endpoint {
            endpoint_id: i.endpoint_id,
            tenant: i.tenant,
            url: i.url,
            event_types: i.event_types,
            status: i.status,
            disabled_reason: i.disabled_reason,
            secret: i.secret,
            previous_secret: i.previous_secret,
            previous_expires_at: i.previous_expires_at,
            failing_since: i.failing_since,
            created_at: i.created_at,
            updated_at: i.updated_at,
            version: i.version,
        }
    }
}

/// What an owner's change of an endpoint writes.
#[derive(Serialize)]
pub(crate) struct EndpointChange<'a> {
    pub url: &'a str,
    pub event_types: &'a [String],
    pub status: EndpointStatus,
    /// `None` writes an explicit null: the reason is gone.
    pub disabled_reason: Option<&'a str>,
    pub secret: &'a Secret,
    pub previous_secret: Option<&'a Secret>,
    #[serde(with = "opt_text")]
    pub previous_expires_at: Option<DateTime<Utc>>,
    #[serde(with = "opt_text")]
    pub failing_since: Option<DateTime<Utc>>,
    #[serde(with = "text")]
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

/// `TENANT#{t}#WHDLV#{endpoint}` / `DLV#{event id}`: one event for one endpoint. While
/// pending it is in GSI1 under its endpoint's due queue, by due time; delivered or dead
/// it leaves the index (and expires by TTL later).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct DeliveryItem {
    #[serde(with = "text")]
    pub tenant: TenantSlug,
    pub endpoint_id: String,
    pub event_id: String,
    #[serde(with = "json_text")]
    pub event: Event,
    pub status: DeliveryStatus,
    pub attempts: u32,
    #[serde(with = "text")]
    pub first_attempt_at: DateTime<Utc>,
    #[serde(with = "text")]
    pub next_attempt_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_result: Option<String>,
    #[serde(with = "opt_text", default, skip_serializing_if = "Option::is_none")]
    pub last_attempt_at: Option<DateTime<Utc>>,
    #[serde(with = "opt_text", default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at_epoch: Option<i64>,
    #[serde(rename = "GSI1PK", default, skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub index_pk: Option<String>,
    #[serde(rename = "GSI1SK", default, skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub index_sk: Option<String>,
}

impl StoredItem for DeliveryItem {
    const KIND: &'static str = "webhook delivery";
}

impl DeliveryItem {
    /// A new pending delivery, due at `now`.
    pub fn pending(tenant: &TenantSlug, endpoint_id: &str, event: &Event, now: DateTime<Utc>) -> Self {
        use crate::store::item_key::{webhook_due_index, webhook_due_sk};
        DeliveryItem {
            tenant: tenant.clone(),
            endpoint_id: endpoint_id.to_owned(),
            event_id: event.id.clone(),
            event: event.clone(),
            status: DeliveryStatus::Pending,
            attempts: 0,
            first_attempt_at: now,
            next_attempt_at: now,
            last_result: None,
            last_attempt_at: None,
            delivered_at: None,
            expires_at_epoch: None,
            index_pk: Some(webhook_due_index(tenant, endpoint_id)),
            index_sk: Some(webhook_due_sk(now.timestamp_millis(), &event.id)),
        }
    }
}

impl From<DeliveryItem> for Delivery {
    fn from(i: DeliveryItem) -> Self {
        Delivery {
            tenant: i.tenant,
            endpoint_id: i.endpoint_id,
            event: i.event,
            status: i.status,
            attempts: i.attempts,
            first_attempt_at: i.first_attempt_at,
            next_attempt_at: i.next_attempt_at,
            last_result: i.last_result,
            last_attempt_at: i.last_attempt_at,
            delivered_at: i.delivered_at,
        }
    }
}

/// What one attempt writes.
#[derive(Serialize)]
pub(crate) struct DeliveryOutcome<'a> {
    pub status: DeliveryStatus,
    pub attempts: u32,
    #[serde(with = "text")]
    pub next_attempt_at: DateTime<Utc>,
    pub last_result: &'a str,
    #[serde(with = "text")]
    pub last_attempt_at: DateTime<Utc>,
    #[serde(with = "opt_text", skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at_epoch: Option<i64>,
}
