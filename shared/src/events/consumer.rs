//! The batch handler both stream readers run (the `stream-events` function on Lambda,
//! `loyalty-admin stream follow` locally): map each record to its events and enqueue one
//! delivery per event and subscribed endpoint. Never delivers: the sender does.
//!
//! Records are handled in order; at the first one that fails (the store down or slow),
//! the batch stops and that record is reported, so the reader retries from it (Lambda:
//! `ReportBatchItemFailures`; the follower keeps its checkpoint before it). Records
//! already handled may be read again: their deliveries are put only if new, so a
//! record read twice adds nothing. A record that cannot be read as its key says is
//! logged and skipped: retrying it would stop its shard for nothing.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{events_of, needs_program, tenant_of, Record};
use crate::deps::{Deps, TtlCache};
use crate::domain::TenantSlug;
use crate::webhooks::Endpoint;

pub struct Consumer {
    deps: Arc<Deps>,
    /// A tenant's endpoints, served from memory for the program cache's lifetime of the
    /// `Deps` given (a minute in AWS, a few seconds under the local scripts): a new
    /// endpoint gets events within it (one Query per tenant per lifetime at most, per
    /// reader).
    endpoints: TtlCache<String, Arc<Vec<Endpoint>>>,
}

/// What a batch did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Records handled (events made or none), before any failure.
    pub handled: usize,
    /// Events made from them.
    pub events: usize,
    /// Deliveries put (new ones only).
    pub deliveries: usize,
    /// The index of the first record that failed: it and every record after it are to
    /// be read again.
    pub failed_at: Option<usize>,
}

impl Consumer {
    pub fn new(deps: Arc<Deps>) -> Self {
        let lifetime: Duration = deps.cache_lifetimes().programs;
        Consumer { endpoints: TtlCache::new(lifetime), deps }
    }

    pub fn deps(&self) -> &Deps {
        &self.deps
    }

    /// Handles a batch in order, stopping at the first failure.
    pub async fn handle(&self, records: &[Record]) -> BatchOutcome {
        let mut outcome = BatchOutcome::default();
        for (i, record) in records.iter().enumerate() {
            match self.one(record).await {
                Ok((events, deliveries)) => {
                    outcome.handled += 1;
                    outcome.events += events;
                    outcome.deliveries += deliveries;
                }
                Err(e) => {
                    tracing::warn!(error = %e, record = i, "stream record failed; it is read again");
                    outcome.failed_at = Some(i);
                    break;
                }
            }
        }
        outcome
    }

    async fn one(&self, record: &Record) -> Result<(usize, usize), String> {
        let Some(tenant) = tenant_of(record) else { return Ok((0, 0)) };
        let program = if needs_program(record) {
            // A tenant without a program makes no tier events (it has no tiers).
            crate::auth::program_versions(&self.deps, &tenant).await.ok()
        } else {
            None
        };
        let events = match events_of(record, program.as_deref()) {
            Ok(events) => events,
            Err(unreadable) => {
                tracing::error!(error = %unreadable, "unreadable stream record skipped");
                return Ok((0, 0));
            }
        };
        if events.is_empty() {
            return Ok((0, 0));
        }
        let endpoints = self.endpoints_of(&tenant).await?;
        let now = self.deps.now();
        let mut deliveries = 0;
        for event in &events {
            if endpoints.iter().any(|e| e.subscribes(&event.r#type)) {
                deliveries += self.enqueue(&tenant, event, &endpoints, now).await?;
            }
            tracing::info!(event_id = %event.id, event_type = %event.r#type, tenant = %tenant, "event");
        }
        Ok((events.len(), deliveries))
    }

    async fn enqueue(
        &self,
        tenant: &TenantSlug,
        event: &crate::webhooks::Event,
        endpoints: &[Endpoint],
        now: DateTime<Utc>,
    ) -> Result<usize, String> {
        self.deps.store.enqueue_deliveries(tenant, event, endpoints, now).await.map_err(|e| e.to_string())
    }

    /// A tenant's endpoints, from memory when fresh, else one Query.
    async fn endpoints_of(&self, tenant: &TenantSlug) -> Result<Arc<Vec<Endpoint>>, String> {
        if let Some(endpoints) = self.endpoints.get(&tenant.as_str().to_owned()) {
            return Ok(endpoints);
        }
        let endpoints = Arc::new(self.deps.store.webhook_endpoints(tenant).await.map_err(|e| e.to_string())?);
        self.endpoints.insert(tenant.as_str().to_owned(), endpoints.clone());
        Ok(endpoints)
    }
}
