//! A tenant's webhook endpoints, for an [`Actor`]: owners only (the secrets' side, like
//! API keys). Every change is one transaction with its audit entry and, under an
//! `Idempotency-Key`, its request item (see [`crate::manage`]). A secret is answered
//! once, when it is made (adding, rotating); a second submission of the same key answers
//! without it.

use chrono::{DateTime, Duration, SubsecRound, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use super::guard::{check_url, Policy};
use super::signing::new_secret;
use super::{Endpoint, EndpointStatus, Event, EVENT_TYPES, PREVIOUS_SECRET_HOURS, TEST_EVENT};
use crate::actor::{Actor, Permission};
use crate::domain::IdempotencyKey;
use crate::error::ApiError;
use crate::manage::{json, Change};
use crate::webhooks::{Delivery, DeliveryStatus};
use crate::Deps;

/// At most this many endpoints per tenant.
pub const MAX_ENDPOINTS: usize = 20;

/// An endpoint as its owner sees it: never its secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointView {
    pub endpoint_id: String,
    pub url: String,
    /// Empty: every type.
    pub event_types: Vec<String>,
    pub status: EndpointStatus,
    pub disabled_reason: Option<String>,
    /// Failing without a success since then, if it is.
    pub failing_since: Option<DateTime<Utc>>,
    /// Until when the previous secret still signs too (after a rotation).
    pub previous_secret_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Endpoint> for EndpointView {
    fn from(e: &Endpoint) -> Self {
        EndpointView {
            endpoint_id: e.endpoint_id.clone(),
            url: e.url.clone(),
            event_types: e.event_types.clone(),
            status: e.status,
            disabled_reason: e.disabled_reason.clone(),
            failing_since: e.failing_since,
            previous_secret_until: e.previous_expires_at,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

/// What a new endpoint is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewEndpoint {
    pub url: String,
    #[serde(default)]
    pub event_types: Vec<String>,
}

/// An endpoint and, in the first answer only, its new signing secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointSecret {
    pub endpoint: EndpointView,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub secret: Option<String>,
}

fn event_types(types: &[String]) -> Result<Vec<String>, ApiError> {
    let mut out = Vec::new();
    for t in types {
        let t = t.trim();
        if !EVENT_TYPES.contains(&t) || t == TEST_EVENT {
            return Err(ApiError::invalid("event_types", format!("unknown event type {t:?}")));
        }
        out.push(t.to_owned());
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn new_endpoint_id() -> String {
    let mut bytes = [0u8; 10];
    rand::rng().fill_bytes(&mut bytes);
    format!("ep_{}", hex::encode(bytes))
}

/// The tenant's endpoints.
pub async fn list_endpoints(deps: &Deps, actor: &Actor) -> Result<Vec<EndpointView>, ApiError> {
    actor.require(Permission::Keys)?;
    Ok(deps.store.webhook_endpoints(&actor.tenant).await?.iter().map(EndpointView::from).collect())
}

/// The tenant's endpoint with this id, or 404.
async fn own(deps: &Deps, actor: &Actor, endpoint_id: &str) -> Result<Endpoint, ApiError> {
    deps.store.webhook_endpoint(&actor.tenant, endpoint_id).await?.ok_or(ApiError::NotFound("webhook endpoint"))
}

/// Adds an endpoint; the answer holds its secret, shown this once.
pub async fn add_endpoint(
    deps: &Deps,
    actor: &Actor,
    policy: &Policy,
    spec: &NewEndpoint,
    idem: Option<&IdempotencyKey>,
) -> Result<EndpointSecret, ApiError> {
    actor.require(Permission::Keys)?;
    let url = spec.url.trim();
    check_url(url, policy).map_err(|e| ApiError::invalid("url", &e))?;
    let spec = NewEndpoint { url: url.to_owned(), event_types: event_types(&spec.event_types)? };
    let change = Change::new(actor, "admin-webhook-add", idem, &spec)?;
    if let Some(done) = change.replay(deps).await? {
        return Ok(done);
    }
    if deps.store.webhook_endpoints(&actor.tenant).await?.len() >= MAX_ENDPOINTS {
        return Err(ApiError::Conflict(format!("a program has at most {MAX_ENDPOINTS} webhook endpoints")));
    }
    let now = deps.now().trunc_subsecs(3);
    let secret = new_secret();
    let endpoint = Endpoint {
        endpoint_id: new_endpoint_id(),
        tenant: actor.tenant.clone(),
        url: spec.url.clone(),
        event_types: spec.event_types.clone(),
        status: EndpointStatus::Active,
        disabled_reason: None,
        secret: secret.clone(),
        previous_secret: None,
        previous_expires_at: None,
        failing_since: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let view = EndpointView::from(&endpoint);
    let answer = EndpointSecret { endpoint: view.clone(), secret: None };
    let admin = change.record(now, "webhook.add", &endpoint.endpoint_id, None, json(&view), &answer)?;
    match deps.store.put_webhook_endpoint(&endpoint, &admin).await {
        Ok(()) => Ok(EndpointSecret { secret: Some(secret.0), ..answer }),
        Err(e) => change.failed(e, ApiError::Contended),
    }
}

#[derive(Serialize)]
struct Target<'a, T: Serialize> {
    endpoint_id: &'a str,
    #[serde(flatten)]
    with: T,
}

/// Applies `edit` to the endpoint, audited as `action`; answers its result and whether
/// it was applied now (not a replay of an earlier submission).
async fn change_endpoint<A: Serialize, R: Serialize + serde::de::DeserializeOwned>(
    deps: &Deps,
    actor: &Actor,
    (route, action): (&'static str, &str),
    endpoint_id: &str,
    ask: A,
    idem: Option<&IdempotencyKey>,
    edit: impl FnOnce(&Endpoint, DateTime<Utc>) -> Result<(Endpoint, R), ApiError>,
) -> Result<(R, bool), ApiError> {
    actor.require(Permission::Keys)?;
    let change = Change::new(actor, route, idem, &Target { endpoint_id, with: ask })?;
    if let Some(done) = change.replay(deps).await? {
        return Ok((done, false));
    }
    let old = own(deps, actor, endpoint_id).await?;
    let now = deps.now().trunc_subsecs(3);
    let (mut new, answer) = edit(&old, now)?;
    new.updated_at = now;
    new.version = old.version.saturating_add(1);
    let admin = change.record(
        now,
        action,
        endpoint_id,
        json(&EndpointView::from(&old)),
        json(&EndpointView::from(&new)),
        &answer,
    )?;
    match deps.store.change_webhook_endpoint(&old, &new, &admin).await {
        Ok(()) => Ok((answer, true)),
        Err(e) => change.failed(e, ApiError::Contended).map(|done| (done, false)),
    }
}

/// A new signing secret; the previous one still signs for 24 hours, so receivers can
/// switch without missing a delivery. The answer holds the new secret.
pub async fn rotate_secret(
    deps: &Deps,
    actor: &Actor,
    endpoint_id: &str,
    idem: Option<&IdempotencyKey>,
) -> Result<EndpointSecret, ApiError> {
    let secret = new_secret();
    let shown = secret.0.clone();
    let (answer, fresh) =
        change_endpoint(deps, actor, ("admin-webhook-rotate", "webhook.rotate"), endpoint_id, (), idem, |old, now| {
            let new = Endpoint {
                secret,
                previous_secret: Some(old.secret.clone()),
                previous_expires_at: Some(now + Duration::hours(PREVIOUS_SECRET_HOURS)),
                ..old.clone()
            };
            let mut view = EndpointView::from(&new);
            view.updated_at = now;
            Ok((new, EndpointSecret { endpoint: view, secret: None }))
        })
        .await?;
    // A replayed answer was stored without a secret; only a fresh one shows it.
    Ok(if fresh { EndpointSecret { secret: Some(shown), ..answer } } else { answer })
}

/// Disables an endpoint (`active == false`) or enables it again (its failure streak
/// forgotten: the sender counts anew).
pub async fn set_endpoint_active(
    deps: &Deps,
    actor: &Actor,
    endpoint_id: &str,
    active: bool,
    idem: Option<&IdempotencyKey>,
) -> Result<EndpointView, ApiError> {
    #[derive(Serialize)]
    struct Ask {
        active: bool,
    }
    let (route, action) =
        if active { ("admin-webhook-enable", "webhook.enable") } else { ("admin-webhook-disable", "webhook.disable") };
    let who = actor.who.clone();
    change_endpoint(deps, actor, (route, action), endpoint_id, Ask { active }, idem, |old, now| {
        let new = Endpoint {
            status: if active { EndpointStatus::Active } else { EndpointStatus::Disabled },
            disabled_reason: (!active).then(|| format!("disabled by {who}")),
            failing_since: if active { None } else { old.failing_since },
            ..old.clone()
        };
        let mut view = EndpointView::from(&new);
        view.updated_at = now;
        Ok((new, view))
    })
    .await
    .map(|(view, _)| view)
}

/// Removes an endpoint: nothing more is sent to it.
pub async fn remove_endpoint(
    deps: &Deps,
    actor: &Actor,
    endpoint_id: &str,
    idem: Option<&IdempotencyKey>,
) -> Result<EndpointView, ApiError> {
    actor.require(Permission::Keys)?;
    let change = Change::new(actor, "admin-webhook-remove", idem, &Target { endpoint_id, with: () })?;
    if let Some(done) = change.replay(deps).await? {
        return Ok(done);
    }
    let old = own(deps, actor, endpoint_id).await?;
    let view = EndpointView::from(&old);
    let admin = change.record(deps.now(), "webhook.remove", endpoint_id, json(&view), None, &view)?;
    match deps.store.delete_webhook_endpoint(&old, &admin).await {
        Ok(()) => Ok(view),
        Err(e) => change.failed(e, ApiError::Contended),
    }
}

/// Queues a `webhook.test` event for one endpoint (whatever it subscribes to), audited;
/// answers the event's id (a second submission of the same key answers the first id and
/// queues nothing).
pub async fn send_test_event(
    deps: &Deps,
    actor: &Actor,
    endpoint_id: &str,
    idem: Option<&IdempotencyKey>,
) -> Result<String, ApiError> {
    actor.require(Permission::Keys)?;
    let change = Change::new(actor, "admin-webhook-test", idem, &Target { endpoint_id, with: () })?;
    if let Some(done) = change.replay(deps).await? {
        return Ok(done);
    }
    let endpoint = own(deps, actor, endpoint_id).await?;
    let now = deps.now();
    let event = Event {
        id: format!("evt_test_{}", uuid::Uuid::now_v7().simple()),
        r#type: TEST_EVENT.to_owned(),
        tenant: actor.tenant.to_string(),
        timestamp: now,
        transaction_id: None,
        data: serde_json::json!({ "endpoint_id": endpoint.endpoint_id, "message": "a test event" }),
    };
    let after = json(&serde_json::json!({ "event_id": event.id }));
    let admin = change.record(now, "webhook.test", endpoint_id, None, after, &event.id)?;
    match deps.store.enqueue_test_delivery(&actor.tenant, &endpoint.endpoint_id, &event, now, &admin).await {
        Ok(()) => Ok(event.id),
        Err(e) => change.failed(e, ApiError::Contended),
    }
}

/// An endpoint's deliveries, in one status or all.
pub async fn list_deliveries(
    deps: &Deps,
    actor: &Actor,
    endpoint_id: &str,
    status: Option<DeliveryStatus>,
) -> Result<Vec<Delivery>, ApiError> {
    actor.require(Permission::Keys)?;
    own(deps, actor, endpoint_id).await?;
    Ok(deps.store.endpoint_deliveries(&actor.tenant, endpoint_id, status).await?)
}

/// Puts dead deliveries of an endpoint (all, or the one whose event is `event_id`)
/// back in its queue, due now, with a new retry window; answers how many. Audited once
/// they are queued; each requeue is conditional on the delivery being dead, so a replay
/// cut short and submitted again queues the rest and none twice.
pub async fn replay_dead(
    deps: &Deps,
    actor: &Actor,
    endpoint_id: &str,
    event_id: Option<&str>,
    idem: Option<&IdempotencyKey>,
) -> Result<usize, ApiError> {
    actor.require(Permission::Keys)?;
    #[derive(Serialize)]
    struct Ask<'a> {
        event_id: Option<&'a str>,
    }
    let change = Change::new(actor, "admin-webhook-replay", idem, &Target { endpoint_id, with: Ask { event_id } })?;
    if let Some(done) = change.replay(deps).await? {
        return Ok(done);
    }
    own(deps, actor, endpoint_id).await?;
    let dead = match event_id {
        Some(id) => {
            let d = deps.store.webhook_delivery(&actor.tenant, endpoint_id, id).await?;
            let d = d.ok_or(ApiError::NotFound("webhook delivery"))?;
            if d.status != DeliveryStatus::Dead {
                return Err(ApiError::Conflict("the delivery is not dead".into()));
            }
            vec![d]
        }
        None => deps.store.endpoint_deliveries(&actor.tenant, endpoint_id, Some(DeliveryStatus::Dead)).await?,
    };
    let now = deps.now();
    let mut replayed = 0;
    for d in &dead {
        if deps.store.requeue_delivery(d, now).await? {
            replayed += 1;
        }
    }
    let after = json(&serde_json::json!({ "event_id": event_id, "replayed": replayed }));
    let admin = change.record(now, "webhook.replay", endpoint_id, None, after, &replayed)?;
    match deps.store.record_admin_change(&actor.tenant, &admin).await {
        Ok(()) => Ok(replayed),
        Err(e) => change.failed(e, ApiError::Contended),
    }
}
