//! Webhook endpoints (a tenant's partition, one Query) and the outbox of deliveries:
//! one item per (event, endpoint), put only if new, in its endpoint's due queue in GSI1
//! while pending. See `docs/architecture.md` ("Webhooks").

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use super::audit::{AdminRecord, AdminWriteError};
use super::client::{condition_held, Store, StoreError, GSI1};
use super::item_key::{
    webhook_due_index, webhook_due_sk, webhook_due_until, webhook_endpoints_partition, Attrs, ItemKey, GSI1PK, GSI1SK,
    PK, SK, WEBHOOK_DELIVERY_PREFIX, WEBHOOK_ENDPOINTS_INDEX, WEBHOOK_ENDPOINT_PREFIX,
};
use super::items::{attr, decode, encode, value, DeliveryItem, DeliveryOutcome, EndpointChange, EndpointItem, Expr};
use super::transact::{put_new, update};
use crate::domain::TenantSlug;
use crate::webhooks::{Delivery, DeliveryStatus, Endpoint, EndpointStatus, Event};

/// How long a delivered delivery is kept (then TTL removes it).
const DELIVERED_KEPT_DAYS: i64 = 7;
/// How long a dead delivery is kept for replay.
const DEAD_KEPT_DAYS: i64 = 30;

/// What an attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// Answered 2xx.
    Delivered,
    /// Try again at this time.
    Retry(DateTime<Utc>),
    /// The retry window is over.
    Dead,
}

impl Store {
    async fn query_all(
        &self,
        index: Option<&str>,
        key_condition: &str,
        values: Vec<(&str, AttributeValue)>,
        filter: Option<(&str, Vec<(&str, &str)>)>,
    ) -> Result<Vec<Attrs>, StoreError> {
        let mut q = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(index.map(str::to_owned))
            .key_condition_expression(key_condition);
        for (k, v) in values {
            q = q.expression_attribute_values(k, v);
        }
        if let Some((f, names)) = filter {
            q = q.filter_expression(f);
            for (alias, name) in names {
                q = q.expression_attribute_names(alias, name);
            }
        }
        let mut pages = q.into_paginator().items().send();
        let mut out = Vec::new();
        while let Some(attrs) = pages.next().await {
            out.push(attrs.map_err(StoreError::from_sdk)?);
        }
        Ok(out)
    }

    /// A tenant's webhook endpoints, in id order (one Query, strongly consistent).
    pub async fn webhook_endpoints(&self, tenant: &TenantSlug) -> Result<Vec<Endpoint>, StoreError> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .key_condition_expression(format!("{PK} = :pk AND begins_with({SK}, :ep)"))
            .expression_attribute_values(":pk", value(webhook_endpoints_partition(tenant))?)
            .expression_attribute_values(":ep", value(WEBHOOK_ENDPOINT_PREFIX)?)
            .into_paginator()
            .items()
            .send();
        let mut out = Vec::new();
        while let Some(attrs) = pages.next().await {
            out.push(Endpoint::from(decode::<EndpointItem>(&attrs.map_err(StoreError::from_sdk)?)?));
        }
        Ok(out)
    }

    /// One of a tenant's endpoints.
    pub async fn webhook_endpoint(
        &self,
        tenant: &TenantSlug,
        endpoint_id: &str,
    ) -> Result<Option<Endpoint>, StoreError> {
        Ok(self.read::<EndpointItem>(&ItemKey::webhook_endpoint(tenant, endpoint_id)).await?.map(Endpoint::from))
    }

    /// Every tenant's endpoints (the sender's round), from GSI1: one partition, paged.
    pub async fn all_webhook_endpoints(&self) -> Result<Vec<Endpoint>, StoreError> {
        let items = self
            .query_all(Some(GSI1), &format!("{GSI1PK} = :pk"), vec![(":pk", value(WEBHOOK_ENDPOINTS_INDEX)?)], None)
            .await?;
        items.iter().map(|a| decode::<EndpointItem>(a).map(Endpoint::from)).collect()
    }

    /// A new endpoint, audited.
    pub async fn put_webhook_endpoint(&self, endpoint: &Endpoint, admin: &AdminRecord) -> Result<(), AdminWriteError> {
        let key = ItemKey::webhook_endpoint(&endpoint.tenant, &endpoint.endpoint_id);
        let put = put_new(&self.table, encode(&key, &EndpointItem::from(endpoint))?, false)?;
        self.admin_transact(&endpoint.tenant, vec![put], admin).await
    }

    /// An owner's change of an endpoint (`new`), while it is still at `old`'s version,
    /// audited (`failing_since` as `new` has it: an enabled endpoint starts afresh).
    pub async fn change_webhook_endpoint(
        &self,
        old: &Endpoint,
        new: &Endpoint,
        admin: &AdminRecord,
    ) -> Result<(), AdminWriteError> {
        let mut e = Expr::default();
        let set = e.set(&EndpointChange {
            url: &new.url,
            event_types: &new.event_types,
            status: new.status,
            disabled_reason: new.disabled_reason.as_deref(),
            secret: &new.secret,
            previous_secret: new.previous_secret.as_ref(),
            previous_expires_at: new.previous_expires_at,
            failing_since: new.failing_since,
            updated_at: new.updated_at,
            version: new.version,
        })?;
        let condition = format!("{} = {}", e.name(attr::VERSION), e.value(value(old.version)?));
        let key = ItemKey::webhook_endpoint(&old.tenant, &old.endpoint_id);
        let item = update(&self.table, &key, set, condition, e, false)?;
        self.admin_transact(&old.tenant, vec![item], admin).await
    }

    /// Deletes an endpoint (its deliveries stay until their TTL; nothing sends them),
    /// audited.
    pub async fn delete_webhook_endpoint(&self, old: &Endpoint, admin: &AdminRecord) -> Result<(), AdminWriteError> {
        let key = ItemKey::webhook_endpoint(&old.tenant, &old.endpoint_id);
        let mut e = Expr::default();
        let condition = format!("{} = {}", e.name(attr::VERSION), e.value(value(old.version)?));
        let delete = aws_sdk_dynamodb::types::Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key.attrs()))
            .condition_expression(condition)
            .set_expression_attribute_names(Some(e.names))
            .set_expression_attribute_values(Some(e.values))
            .build()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let item = aws_sdk_dynamodb::types::TransactWriteItem::builder().delete(delete).build();
        self.admin_transact(&old.tenant, vec![item], admin).await
    }

    /// The sender's note of an endpoint's health: `failing_since` set (the first failure
    /// since a success) or cleared (a success); `disable` also disables it, with a reason.
    /// Nothing if the endpoint is gone.
    pub async fn note_webhook_endpoint_health(
        &self,
        endpoint: &Endpoint,
        failing_since: Option<DateTime<Utc>>,
        disable: Option<&str>,
    ) -> Result<(), StoreError> {
        let key = ItemKey::webhook_endpoint(&endpoint.tenant, &endpoint.endpoint_id);
        let mut e = Expr::default();
        let failing = e.name("failing_since");
        let at = failing_since.map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        let mut set = format!("SET {failing} = {}", e.value(at.map_or(AttributeValue::Null(true), AttributeValue::S)));
        if let Some(reason) = disable {
            set.push_str(&format!(
                ", {} = {}, {} = {}, {v} = {v} + {}",
                e.name(attr::STATUS),
                e.value(value(EndpointStatus::Disabled)?),
                e.name("disabled_reason"),
                e.value(value(reason)?),
                e.value(value(1u64)?),
                v = e.name(attr::VERSION),
            ));
        }
        self.update_if(&key, set, "attribute_exists(PK)", e).await.map(|_| ())
    }

    /// One delivery per (event, endpoint) for the endpoints that subscribe to the event,
    /// each put only if new (a redelivered stream record adds nothing), due at `now` (the
    /// first attempt's time). Answers how many were new.
    pub async fn enqueue_deliveries(
        &self,
        tenant: &TenantSlug,
        event: &Event,
        endpoints: &[Endpoint],
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let mut added = 0;
        for endpoint in endpoints.iter().filter(|e| &e.tenant == tenant && e.subscribes(&event.r#type)) {
            if self.enqueue_delivery(tenant, &endpoint.endpoint_id, event, now).await? {
                added += 1;
            }
        }
        Ok(added)
    }

    /// One delivery of `event` to one endpoint, whatever it subscribes to (a test
    /// event); `false` if it was there already.
    pub async fn enqueue_delivery(
        &self,
        tenant: &TenantSlug,
        endpoint_id: &str,
        event: &Event,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let key = ItemKey::webhook_delivery(tenant, endpoint_id, &event.id);
        let attrs = encode(&key, &DeliveryItem::pending(tenant, endpoint_id, event, now))?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(attrs))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        condition_held(result)
    }

    /// Queues a delivery made by a person (a test event), in one transaction with its
    /// audit entry.
    pub async fn enqueue_test_delivery(
        &self,
        tenant: &TenantSlug,
        endpoint_id: &str,
        event: &Event,
        now: DateTime<Utc>,
        admin: &AdminRecord,
    ) -> Result<(), AdminWriteError> {
        let key = ItemKey::webhook_delivery(tenant, endpoint_id, &event.id);
        let attrs = encode(&key, &DeliveryItem::pending(tenant, endpoint_id, event, now))?;
        self.admin_transact(tenant, vec![put_new(&self.table, attrs, false)?], admin).await
    }

    /// Up to `limit` of an endpoint's deliveries due at `now`, oldest due first, from its
    /// due queue (GSI1; eventually consistent: [`Store::record_attempt`] is conditional).
    pub async fn due_deliveries(
        &self,
        tenant: &TenantSlug,
        endpoint_id: &str,
        now: DateTime<Utc>,
        limit: i32,
    ) -> Result<Vec<Delivery>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI1)
            .key_condition_expression(format!("{GSI1PK} = :pk AND {GSI1SK} <= :until"))
            .expression_attribute_values(":pk", value(webhook_due_index(tenant, endpoint_id))?)
            .expression_attribute_values(":until", value(webhook_due_until(now.timestamp_millis()))?)
            .limit(limit)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        out.items().iter().map(|a| decode::<DeliveryItem>(a).map(Delivery::from)).collect()
    }

    /// One delivery, read consistently.
    pub async fn webhook_delivery(
        &self,
        tenant: &TenantSlug,
        endpoint_id: &str,
        event_id: &str,
    ) -> Result<Option<Delivery>, StoreError> {
        Ok(self
            .read::<DeliveryItem>(&ItemKey::webhook_delivery(tenant, endpoint_id, event_id))
            .await?
            .map(Delivery::from))
    }

    /// An endpoint's deliveries in one status (its own partition, filtered: no scan).
    pub async fn endpoint_deliveries(
        &self,
        tenant: &TenantSlug,
        endpoint_id: &str,
        status: Option<DeliveryStatus>,
    ) -> Result<Vec<Delivery>, StoreError> {
        let pk = ItemKey::webhook_delivery(tenant, endpoint_id, "").pk;
        let mut values = vec![(":pk", value(pk)?), (":p", value(WEBHOOK_DELIVERY_PREFIX)?)];
        let filter = match status {
            Some(s) => {
                values.push((":st", value(s)?));
                Some(("#st = :st", vec![("#st", attr::STATUS)]))
            }
            None => None,
        };
        let items = self.query_all(None, &format!("{PK} = :pk AND begins_with({SK}, :p)"), values, filter).await?;
        items.iter().map(|a| decode::<DeliveryItem>(a).map(Delivery::from)).collect()
    }

    /// Writes an attempt's outcome, only if the delivery is still pending after
    /// `d.attempts` attempts (a second sender that read the same item writes nothing);
    /// `false` if it was not.
    pub async fn record_attempt(
        &self,
        d: &Delivery,
        at: DateTime<Utc>,
        result: &str,
        outcome: &AttemptOutcome,
    ) -> Result<bool, StoreError> {
        let key = ItemKey::webhook_delivery(&d.tenant, &d.endpoint_id, d.id());
        let attempts = d.attempts.saturating_add(1);
        let (status, next, delivered_at, expires) = match outcome {
            AttemptOutcome::Delivered => (
                DeliveryStatus::Delivered,
                at,
                Some(at),
                Some((at + chrono::Duration::days(DELIVERED_KEPT_DAYS)).timestamp()),
            ),
            AttemptOutcome::Retry(next) => (DeliveryStatus::Pending, *next, None, None),
            AttemptOutcome::Dead => {
                (DeliveryStatus::Dead, at, None, Some((at + chrono::Duration::days(DEAD_KEPT_DAYS)).timestamp()))
            }
        };
        let mut e = Expr::default();
        let mut set = e.set(&DeliveryOutcome {
            status,
            attempts,
            next_attempt_at: next,
            last_result: result,
            last_attempt_at: at,
            delivered_at,
            expires_at_epoch: expires,
        })?;
        if status == DeliveryStatus::Pending {
            set.push_str(&format!(
                ", {} = {}",
                e.name(GSI1SK),
                e.value(value(webhook_due_sk(next.timestamp_millis(), d.id()))?)
            ));
        } else {
            set.push_str(&format!(" REMOVE {}, {}", e.name(GSI1PK), e.name(GSI1SK)));
        }
        let condition = format!(
            "{} = {} AND {} = {}",
            e.name(attr::STATUS),
            e.value(value(DeliveryStatus::Pending)?),
            e.name("attempts"),
            e.value(value(d.attempts)?)
        );
        self.update_if(&key, set, condition, e).await
    }

    /// One `UpdateItem` of `key` with `set` under `condition`; `false` when the
    /// condition did not hold.
    async fn update_if(
        &self,
        key: &ItemKey,
        set: String,
        condition: impl Into<String>,
        e: Expr,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key.attrs()))
            .update_expression(set)
            .condition_expression(condition)
            .set_expression_attribute_names(Some(e.names))
            .set_expression_attribute_values(Some(e.values))
            .send()
            .await;
        condition_held(result)
    }

    /// Puts a dead delivery back in its endpoint's due queue, due at `now`, with a new
    /// retry window; `false` if it is not dead (any more).
    pub async fn requeue_delivery(&self, d: &Delivery, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let key = ItemKey::webhook_delivery(&d.tenant, &d.endpoint_id, d.id());
        let mut e = Expr::default();
        let at = value(now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))?;
        let set = format!(
            "SET {} = {}, {} = {}, {} = {}, {} = {}, {} = {}, {} = {} REMOVE {}",
            e.name(attr::STATUS),
            e.value(value(DeliveryStatus::Pending)?),
            e.name("attempts"),
            e.value(value(0u32)?),
            e.name("first_attempt_at"),
            e.value(at.clone()),
            e.name("next_attempt_at"),
            e.value(at),
            e.name(GSI1PK),
            e.value(value(webhook_due_index(&d.tenant, &d.endpoint_id))?),
            e.name(GSI1SK),
            e.value(value(webhook_due_sk(now.timestamp_millis(), d.id()))?),
            e.name(attr::EXPIRES_AT_EPOCH),
        );
        let condition = format!("{} = {}", e.name(attr::STATUS), e.value(value(DeliveryStatus::Dead)?));
        self.update_if(&key, set, condition, e).await
    }
}
