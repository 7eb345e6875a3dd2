//! The sender: one pass over every active endpoint's due queue, sending each due
//! delivery (a POST of the event's JSON with the three Standard Webhooks headers) and
//! writing what came of it: delivered on a 2xx, else the next attempt after an
//! exponential backoff with jitter, and dead once [`RETRY_WINDOW_HOURS`] have passed
//! since the first attempt. An endpoint failing without a success for
//! [`DISABLE_AFTER_FAILING_HOURS`] is disabled.
//!
//! One endpoint never holds up another: each gets its own due queue, at most
//! [`SenderConfig::per_endpoint_concurrency`] requests at a time, and a failed attempt
//! ends its turn in this pass (its other due deliveries wait for the next pass; the
//! retry window counts from each one's first attempt, whether or not it was tried).
//!
//! Safe delivery: `https` only unless the stage allows loopback; the name is resolved,
//! every address checked ([`Policy::refuses`]) and only checked addresses connected to;
//! 5 s for the whole exchange; redirects are not followed (a 3xx is a failure); at most
//! [`MAX_RESPONSE_BYTES`] of the answer are read.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::client::legacy::connect::HttpConnector;
use rand::Rng;

use super::guard::{check_url, literal_ip, Policy};
use super::signing::headers;
use super::{Delivery, Endpoint, EndpointStatus, DISABLE_AFTER_FAILING_HOURS, RETRY_WINDOW_HOURS};
use crate::deps::Clock;
use crate::store::{AttemptOutcome, Store, StoreError};

/// The whole exchange (connect, TLS, request, answer) of one attempt.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// At most this much of an answer is read.
pub const MAX_RESPONSE_BYTES: usize = 4 * 1024;

/// The wait before attempt `n + 1` after `n` failed attempts (before jitter): the first
/// retries within a minute, then growing to 8 hours.
const BACKOFF_SECONDS: &[i64] = &[10, 30, 120, 300, 900, 1800, 3600, 7200, 14400, 28800];

/// The wait after `failed` failed attempts, with up to ±20% jitter (`jitter` in -1..=1).
pub fn backoff(failed: u32, jitter: f64) -> chrono::Duration {
    let i = (failed.max(1) as usize - 1).min(BACKOFF_SECONDS.len() - 1);
    let base = BACKOFF_SECONDS[i] as f64;
    chrono::Duration::milliseconds((base * (1.0 + 0.2 * jitter.clamp(-1.0, 1.0)) * 1000.0) as i64)
}

/// What follows a failed attempt made at `at`, the delivery's `attempts` attempts
/// (this one included) and its first attempt's time: the next attempt, never later than
/// the end of the retry window (so the last attempt is at least 24 hours after the
/// first), or dead once the window is over.
pub fn after_failure(first: DateTime<Utc>, attempts: u32, at: DateTime<Utc>, jitter: f64) -> AttemptOutcome {
    let window_end = first + chrono::Duration::hours(RETRY_WINDOW_HOURS);
    if at >= window_end {
        return AttemptOutcome::Dead;
    }
    AttemptOutcome::Retry((at + backoff(attempts, jitter)).min(window_end))
}

/// How much a pass does.
#[derive(Debug, Clone)]
pub struct SenderConfig {
    /// Endpoints served at once.
    pub endpoints_at_once: usize,
    /// Requests in flight to one endpoint.
    pub per_endpoint_concurrency: usize,
    /// Deliveries read per query of an endpoint's queue.
    pub batch: i32,
    /// Batches per endpoint per pass (a pass stops an endpoint's turn sooner on a failure).
    pub batches_per_endpoint: usize,
    /// No new batch is started after this much of a pass.
    pub pass_deadline: Duration,
}

impl Default for SenderConfig {
    fn default() -> Self {
        SenderConfig {
            endpoints_at_once: 16,
            per_endpoint_concurrency: 4,
            batch: 20,
            batches_per_endpoint: 20,
            pass_deadline: Duration::from_secs(40),
        }
    }
}

/// What a pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PassReport {
    pub endpoints: usize,
    pub attempted: usize,
    pub delivered: usize,
    pub retrying: usize,
    pub dead: usize,
    pub disabled: usize,
    /// Store errors met (the deliveries concerned stay due).
    pub errors: usize,
}

impl PassReport {
    fn add(&mut self, o: &PassReport) {
        self.endpoints += o.endpoints;
        self.attempted += o.attempted;
        self.delivered += o.delivered;
        self.retrying += o.retrying;
        self.dead += o.dead;
        self.disabled += o.disabled;
        self.errors += o.errors;
    }
}

/// Resolves a name and refuses it unless every address it has passes the policy; only
/// those addresses are connected to.
#[derive(Clone)]
struct GuardedResolver {
    policy: Policy,
    hosts: Arc<HashMap<String, Vec<IpAddr>>>,
}

impl tower_service::Service<Name> for GuardedResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let policy = self.policy;
        let host = name.as_str().to_owned();
        let fixed = self.hosts.get(&host).cloned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = match fixed {
                Some(ips) => ips.into_iter().map(|ip| SocketAddr::new(ip, 0)).collect(),
                None => tokio::net::lookup_host((host.as_str(), 0)).await?.collect(),
            };
            if addrs.is_empty() {
                return Err(std::io::Error::other(format!("{host} has no address")));
            }
            if let Some((addr, reason)) = addrs.iter().find_map(|a| policy.refuses(a.ip()).map(|r| (a.ip(), r))) {
                return Err(std::io::Error::other(format!("refused: {host} resolves to {addr}, {reason}")));
            }
            Ok(addrs.into_iter())
        })
    }
}

type Connector = hyper_rustls::HttpsConnector<HttpConnector<GuardedResolver>>;

/// Sends deliveries.
#[derive(Clone)]
pub struct Sender {
    client: hyper_util::client::legacy::Client<Connector, Full<Bytes>>,
    policy: Policy,
    config: SenderConfig,
}

impl Sender {
    /// A sender under `policy`, resolving names with the system's resolver.
    pub fn new(policy: Policy, config: SenderConfig) -> Result<Self, String> {
        Self::with_hosts(policy, config, HashMap::new())
    }

    /// A sender that resolves the names in `hosts` to their addresses (tests), any other
    /// name with the system's resolver.
    pub fn with_hosts(
        policy: Policy,
        config: SenderConfig,
        hosts: HashMap<String, Vec<IpAddr>>,
    ) -> Result<Self, String> {
        let mut http = HttpConnector::new_with_resolver(GuardedResolver { policy, hosts: Arc::new(hosts) });
        http.enforce_http(false);
        http.set_connect_timeout(Some(ATTEMPT_TIMEOUT));
        let builder = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
            .map_err(|e| format!("no TLS root certificates: {e}"))?;
        let connector = if policy.allow_http_loopback {
            builder.https_or_http().enable_http1().wrap_connector(http)
        } else {
            builder.https_only().enable_http1().wrap_connector(http)
        };
        let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(4)
            .build(connector);
        Ok(Sender { client, policy, config })
    }

    /// One attempt: `Ok(status line)` on a 2xx, else `Err(what happened)`.
    pub async fn attempt(
        &self,
        endpoint: &Endpoint,
        delivery: &Delivery,
        now: DateTime<Utc>,
    ) -> Result<String, String> {
        let uri = check_url(&endpoint.url, &self.policy).map_err(|e| format!("refused: the URL {e}"))?;
        if let Some(ip) = uri.host().and_then(literal_ip) {
            if let Some(reason) = self.policy.refuses(ip) {
                return Err(format!("refused: {ip} is {reason}"));
            }
        }
        let body = serde_json::to_vec(&delivery.event).map_err(|e| format!("event does not encode: {e}"))?;
        // The signature's time is when it is sent (receivers check it against their
        // clock), whatever clock schedules the deliveries.
        let sent_at = Utc::now().timestamp();
        let signed = headers(&endpoint.signing_secrets(now), &delivery.event.id, sent_at, &body)
            .map_err(|e| format!("endpoint secret: {e}"))?;
        let mut request = http::Request::post(uri)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::USER_AGENT, concat!("loyalty-webhooks/", env!("CARGO_PKG_VERSION")));
        for (name, value) in signed {
            request = request.header(name, value);
        }
        let request = request.body(Full::new(Bytes::from(body))).map_err(|e| format!("request: {e}"))?;
        let exchange = async {
            let response = self.client.request(request).await.map_err(|e| describe(&e))?;
            let status = response.status();
            // Read a little of the answer (a receiver's error text), never more.
            let mut body = response.into_body();
            let mut read = Vec::new();
            while read.len() < MAX_RESPONSE_BYTES {
                match body.frame().await {
                    Some(Ok(frame)) => {
                        if let Some(data) = frame.data_ref() {
                            read.extend_from_slice(&data[..data.len().min(MAX_RESPONSE_BYTES - read.len())]);
                        }
                    }
                    _ => break,
                }
            }
            Ok::<_, String>((status, read))
        };
        let (status, read) = tokio::time::timeout(ATTEMPT_TIMEOUT, exchange)
            .await
            .map_err(|_| format!("timed out after {} s", ATTEMPT_TIMEOUT.as_secs()))??;
        let text = String::from_utf8_lossy(&read);
        let snippet: String = text.chars().take(200).collect();
        let line = if snippet.trim().is_empty() {
            format!("HTTP {}", status.as_u16())
        } else {
            format!("HTTP {}: {}", status.as_u16(), snippet.trim())
        };
        if status.is_success() {
            Ok(line)
        } else {
            Err(line)
        }
    }

    /// One pass: every active endpoint's due deliveries, `endpoints_at_once` endpoints at
    /// a time, in random order (no endpoint is always last).
    pub async fn run_pass(&self, store: &Store, clock: Arc<dyn Clock>) -> Result<PassReport, StoreError> {
        let started = Instant::now();
        let mut endpoints: Vec<Endpoint> =
            store.all_webhook_endpoints().await?.into_iter().filter(|e| e.status == EndpointStatus::Active).collect();
        {
            use rand::seq::SliceRandom;
            endpoints.shuffle(&mut rand::rng());
        }
        let gate = Arc::new(tokio::sync::Semaphore::new(self.config.endpoints_at_once.max(1)));
        let mut tasks = tokio::task::JoinSet::new();
        for endpoint in endpoints {
            let (sender, store, clock, gate) = (self.clone(), store.clone(), clock.clone(), gate.clone());
            tasks.spawn(async move {
                let _permit = gate.acquire_owned().await;
                sender.serve_endpoint(&store, clock, &endpoint, started).await
            });
        }
        let mut report = PassReport::default();
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(r) => report.add(&r),
                Err(e) => {
                    tracing::error!(error = %e, "webhook endpoint task failed");
                    report.errors += 1;
                }
            }
        }
        Ok(report)
    }

    /// One endpoint's turn in a pass.
    pub async fn serve_endpoint(
        &self,
        store: &Store,
        clock: Arc<dyn Clock>,
        endpoint: &Endpoint,
        started: Instant,
    ) -> PassReport {
        let mut report = PassReport { endpoints: 1, ..PassReport::default() };
        let (mut succeeded, mut failed) = (false, false);
        for _ in 0..self.config.batches_per_endpoint.max(1) {
            if started.elapsed() >= self.config.pass_deadline {
                break;
            }
            let now = clock.now();
            let due = match store.due_deliveries(&endpoint.tenant, &endpoint.endpoint_id, now, self.config.batch).await
            {
                Ok(due) => due,
                Err(e) => {
                    tracing::error!(error = %e, endpoint = %endpoint.endpoint_id, "reading due webhook deliveries");
                    report.errors += 1;
                    break;
                }
            };
            if due.is_empty() {
                break;
            }
            let full = due.len() as i32 >= self.config.batch;
            for chunk in due.chunks(self.config.per_endpoint_concurrency.max(1)) {
                let mut tasks = tokio::task::JoinSet::new();
                for d in chunk.iter().cloned() {
                    let (sender, endpoint, clock) = (self.clone(), endpoint.clone(), clock.clone());
                    tasks.spawn(async move {
                        let now = clock.now();
                        let result = sender.attempt(&endpoint, &d, now).await;
                        (d, clock.now(), result)
                    });
                }
                while let Some(done) = tasks.join_next().await {
                    let Ok((d, at, result)) = done else {
                        report.errors += 1;
                        continue;
                    };
                    report.attempted += 1;
                    let attempts = d.attempts.saturating_add(1);
                    let (outcome, text) = match &result {
                        Ok(line) => (AttemptOutcome::Delivered, line.as_str()),
                        Err(why) => {
                            let jitter = rand::rng().random_range(-1.0..=1.0);
                            (after_failure(d.first_attempt_at, attempts, at, jitter), why.as_str())
                        }
                    };
                    match store.record_attempt(&d, at, text, &outcome).await {
                        Ok(true) => match outcome {
                            AttemptOutcome::Delivered => report.delivered += 1,
                            AttemptOutcome::Retry(_) => report.retrying += 1,
                            AttemptOutcome::Dead => report.dead += 1,
                        },
                        // Another sender wrote this attempt first.
                        Ok(false) => {}
                        Err(e) => {
                            tracing::error!(error = %e, delivery = %d.event.id, "recording a webhook attempt");
                            report.errors += 1;
                        }
                    }
                    match result {
                        Ok(_) => succeeded = true,
                        Err(why) => {
                            tracing::info!(endpoint = %endpoint.endpoint_id, delivery = %d.event.id, attempts, %why, "webhook attempt failed");
                            failed = true;
                        }
                    }
                }
                if failed {
                    break;
                }
            }
            if failed || !full {
                break;
            }
        }
        report.disabled += self.note_health(store, endpoint, succeeded, failed, clock.now()).await;
        report
    }

    /// Keeps the endpoint's failure streak: cleared on a success, started on a first
    /// failure, and the endpoint disabled once it is [`DISABLE_AFTER_FAILING_HOURS`] old.
    async fn note_health(
        &self,
        store: &Store,
        e: &Endpoint,
        succeeded: bool,
        failed: bool,
        now: DateTime<Utc>,
    ) -> usize {
        let write = if succeeded && !failed {
            if e.failing_since.is_none() {
                return 0;
            }
            store.note_webhook_endpoint_health(e, None, None).await.map(|_| 0)
        } else if failed && !succeeded {
            let since = e.failing_since.unwrap_or(now);
            if now - since >= chrono::Duration::hours(DISABLE_AFTER_FAILING_HOURS) {
                let reason = format!("failing since {}", since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
                tracing::warn!(endpoint = %e.endpoint_id, tenant = %e.tenant, %reason, "webhook endpoint disabled");
                store.note_webhook_endpoint_health(e, Some(since), Some(&reason)).await.map(|_| 1)
            } else if e.failing_since.is_none() {
                store.note_webhook_endpoint_health(e, Some(now), None).await.map(|_| 0)
            } else {
                return 0;
            }
        } else {
            return 0;
        };
        write.unwrap_or_else(|err| {
            tracing::error!(error = %err, endpoint = %e.endpoint_id, "noting webhook endpoint health");
            0
        })
    }
}

/// An error's chain as one line (the refusal of a resolved address included).
fn describe(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut next = err.source();
    while let Some(e) = next {
        let s = e.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        next = e.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn retries_start_within_a_minute_and_grow_with_jitter() {
        assert!(backoff(1, 1.0) <= chrono::Duration::seconds(60));
        assert!(backoff(2, 1.0) <= chrono::Duration::seconds(60));
        assert!(backoff(3, 0.0) > backoff(2, 0.0));
        assert_eq!(backoff(50, 0.0), chrono::Duration::hours(8));
        assert_eq!(backoff(1, -1.0), chrono::Duration::seconds(8));
        assert_eq!(backoff(1, 1.0), chrono::Duration::seconds(12));
    }

    #[test]
    fn a_delivery_is_retried_for_24_hours_then_dead() {
        let first = at("2026-01-01T00:00:00Z");
        let mut now = first;
        let mut attempts = 0;
        loop {
            attempts += 1;
            match after_failure(first, attempts, now, 0.0) {
                AttemptOutcome::Retry(next) => {
                    assert!(next > now);
                    now = next;
                }
                AttemptOutcome::Dead => break,
                AttemptOutcome::Delivered => unreachable!(),
            }
        }
        assert_eq!(now, first + chrono::Duration::hours(24), "the last attempt is at the end of the window");
        assert!(attempts < 20, "{attempts} attempts");
    }
}
