//! Webhooks end to end on DynamoDB Local: endpoints managed by an owner, deliveries put
//! in the outbox, the sender's passes (the test moves the clock) against receivers in
//! this process (hyper on 127.0.0.1, loopback allowed as on a local stage). Every
//! delivery is verified with the Standard Webhooks reference library
//! (`standardwebhooks`), not with the code that signed it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use loyalty::actor::{Actor, Role};
use loyalty::domain::{IdempotencyKey, TenantSlug};
use loyalty::webhooks::endpoints::{self, EndpointSecret, NewEndpoint};
use loyalty::webhooks::guard::Policy;
use loyalty::webhooks::sender::{Sender, SenderConfig};
use loyalty::webhooks::{Delivery, DeliveryStatus, Endpoint, EndpointStatus, Event, Secret};
use loyalty::ApiError;

use super::support::TestEnv;

/// What a receiver got: the headers and the body of each request.
#[derive(Debug, Clone)]
pub(super) struct Received {
    headers: http::HeaderMap,
    body: Bytes,
}

/// A receiver on 127.0.0.1 answering `status` (0: it closes the connection unanswered,
/// as a receiver that is down).
pub(super) struct Receiver {
    addr: SocketAddr,
    got: Arc<Mutex<Vec<Received>>>,
    status: Arc<AtomicU16>,
}

impl Receiver {
    pub(super) async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let got = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(AtomicU16::new(200));
        let (g, s) = (got.clone(), status.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let (got, status) = (g.clone(), s.clone());
                if status.load(Ordering::SeqCst) == 0 {
                    drop(stream);
                    continue;
                }
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let (got, status) = (got.clone(), status.clone());
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                            got.lock().unwrap().push(Received { headers: parts.headers, body });
                            let code = status.load(Ordering::SeqCst);
                            Ok::<_, std::convert::Infallible>(
                                http::Response::builder()
                                    .status(if code == 0 { 503 } else { code })
                                    .body(Full::new(Bytes::from_static(b"ok")))
                                    .unwrap(),
                            )
                        }
                    });
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
                });
            }
        });
        Receiver { addr, got, status }
    }

    pub(super) fn url(&self) -> String {
        format!("http://{}/hooks", self.addr)
    }

    pub(super) fn set(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    pub(super) fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// The ids (`webhook-id`) of what it got, in order.
    pub(super) fn ids(&self) -> Vec<String> {
        self.got().iter().map(|r| r.headers["webhook-id"].to_str().unwrap().to_owned()).collect()
    }
}

/// Verifies one request with the reference library and answers its event.
pub(super) fn verified(secret: &str, r: &Received) -> Event {
    let wh = standardwebhooks::Webhook::new(secret).expect("a whsec_ secret");
    wh.verify(&r.body, &r.headers).unwrap_or_else(|e| panic!("does not verify with {secret}: {e:?}: {r:?}"));
    serde_json::from_slice(&r.body).expect("an event")
}

fn owner(slug: &str) -> Actor {
    Actor::new(TenantSlug::parse(slug).unwrap(), "owner@example.com", Role::Owner)
}

fn event(tenant: &str, n: usize) -> Event {
    Event {
        id: format!("evt_{tenant}_{n:04}"),
        r#type: "points.earned".into(),
        tenant: tenant.into(),
        timestamp: Utc::now(),
        transaction_id: Some(format!("txn-{n}")),
        data: serde_json::json!({ "customer_id": "c1", "points": 10 * n, "balance_after": 100 + n }),
    }
}

pub(super) fn sender() -> Sender {
    Sender::new(Policy::local(), SenderConfig::default()).unwrap()
}

async fn add(env: &TestEnv, actor: &Actor, url: &str, types: &[&str]) -> EndpointSecret {
    let spec = NewEndpoint { url: url.into(), event_types: types.iter().map(|t| t.to_string()).collect() };
    endpoints::add_endpoint(&env.deps, actor, &Policy::local(), &spec, None).await.unwrap()
}

async fn endpoint(env: &TestEnv, actor: &Actor, id: &str) -> Endpoint {
    env.store.webhook_endpoint(&actor.tenant, id).await.unwrap().unwrap()
}

/// Puts `events` in the outbox for the tenant's endpoints.
async fn enqueue(env: &TestEnv, actor: &Actor, events: &[Event]) -> usize {
    let endpoints = env.store.webhook_endpoints(&actor.tenant).await.unwrap();
    let mut n = 0;
    for e in events {
        n += env.store.enqueue_deliveries(&actor.tenant, e, &endpoints, env.now()).await.unwrap();
    }
    n
}

async fn pass(env: &TestEnv, sender: &Sender) -> loyalty::webhooks::sender::PassReport {
    sender.run_pass(&env.store, env.deps.clock.clone()).await.unwrap()
}

async fn delivery(env: &TestEnv, actor: &Actor, endpoint_id: &str, event_id: &str) -> Delivery {
    env.store.webhook_delivery(&actor.tenant, endpoint_id, event_id).await.unwrap().unwrap()
}

#[tokio::test]
async fn a_delivery_is_signed_verifies_and_is_never_doubled() {
    let env = TestEnv::new().await;
    let rx = Receiver::start().await;
    let acme = owner("acme");
    let made = add(&env, &acme, &rx.url(), &["points.earned"]).await;
    let secret = made.secret.clone().expect("the secret, once");
    assert!(secret.starts_with("whsec_"));
    let ep = made.endpoint.endpoint_id.clone();

    let e = event("acme", 1);
    assert_eq!(enqueue(&env, &acme, std::slice::from_ref(&e)).await, 1);
    // A redelivered stream record adds nothing; a type the endpoint does not want neither.
    assert_eq!(enqueue(&env, &acme, std::slice::from_ref(&e)).await, 0);
    let other = Event { id: "evt_other".into(), r#type: "member.enrolled".into(), ..e.clone() };
    assert_eq!(enqueue(&env, &acme, &[other]).await, 0);

    let report = pass(&env, &sender()).await;
    assert_eq!((report.attempted, report.delivered), (1, 1), "{report:?}");
    let got = rx.got();
    assert_eq!(got.len(), 1);
    assert_eq!(verified(&secret, &got[0]), e);
    assert_eq!(got[0].headers["content-type"], "application/json");
    assert_eq!(got[0].headers["webhook-id"], e.id.as_str());
    let sig = got[0].headers["webhook-signature"].to_str().unwrap();
    assert!(sig.starts_with("v1,") && !sig.contains(' '), "one secret, one signature: {sig}");

    // Delivered leaves the queue: later passes send nothing again.
    env.advance(chrono::Duration::hours(1));
    assert_eq!(pass(&env, &sender()).await.attempted, 0);
    assert_eq!(rx.ids(), std::slice::from_ref(&e.id));
    let d = delivery(&env, &acme, &ep, &e.id).await;
    assert_eq!((d.status, d.attempts), (DeliveryStatus::Delivered, 1));
    assert!(d.last_result.unwrap().starts_with("HTTP 200"));

    // The function runs the same pass on its scheduled event.
    let sample = std::fs::read_to_string(super::layout::repo().join("events/webhook-sender/schedule.json")).unwrap();
    let report = webhook_sender::handle(&env.deps, &sender(), serde_json::from_str(&sample).unwrap()).await.unwrap();
    assert_eq!(report.endpoints, 1);
}

#[tokio::test]
async fn a_receiver_that_is_down_gets_the_event_later_once() {
    let env = TestEnv::new().await;
    let rx = Receiver::start().await;
    let acme = owner("acme");
    let made = add(&env, &acme, &rx.url(), &[]).await;
    let (secret, ep) = (made.secret.unwrap(), made.endpoint.endpoint_id);
    let events: Vec<Event> = (1..=3).map(|n| event("acme", n)).collect();
    assert_eq!(enqueue(&env, &acme, &events).await, 3);

    rx.set(0);
    let report = pass(&env, &sender()).await;
    assert!(report.attempted >= 1 && report.delivered == 0 && report.retrying >= 1, "{report:?}");
    let first = delivery(&env, &acme, &ep, &events[0].id).await;
    assert_eq!((first.status, first.attempts), (DeliveryStatus::Pending, 1));
    let wait = first.next_attempt_at - env.now();
    assert!(
        wait > chrono::Duration::zero() && wait <= chrono::Duration::minutes(1),
        "first retry within a minute: {wait}"
    );
    assert!(endpoint(&env, &acme, &ep).await.failing_since.is_some());

    // Back up; nothing is due until the retry time.
    rx.set(200);
    assert_eq!(pass(&env, &sender()).await.attempted, 0);
    env.advance(chrono::Duration::minutes(1));
    let report = pass(&env, &sender()).await;
    assert_eq!(report.delivered, 3, "{report:?}");
    let mut ids = rx.ids();
    ids.sort();
    assert_eq!(ids, events.iter().map(|e| e.id.clone()).collect::<Vec<_>>(), "each once, by id");
    for r in rx.got() {
        verified(&secret, &r);
    }
    assert_eq!(endpoint(&env, &acme, &ep).await.failing_since, None, "a success ends the failure streak");
}

#[tokio::test]
async fn a_delivery_dies_after_24_hours_replays_and_a_failing_endpoint_is_disabled_after_3_days() {
    let env = TestEnv::new().await;
    let rx = Receiver::start().await;
    rx.set(500);
    let acme = owner("acme");
    let made = add(&env, &acme, &rx.url(), &[]).await;
    let (secret, ep) = (made.secret.unwrap(), made.endpoint.endpoint_id);
    let e = event("acme", 1);
    enqueue(&env, &acme, std::slice::from_ref(&e)).await;
    let start = env.now();

    let mut passes = 0;
    loop {
        pass(&env, &sender()).await;
        let d = delivery(&env, &acme, &ep, &e.id).await;
        if d.status == DeliveryStatus::Dead {
            assert!(d.last_attempt_at.unwrap() - start >= chrono::Duration::hours(24), "retried for 24 h");
            assert!(d.last_result.unwrap().starts_with("HTTP 500"));
            break;
        }
        passes += 1;
        assert!(passes < 200, "never dead");
        env.clock.set(d.next_attempt_at);
    }
    let attempts = rx.got().len();
    assert!((8..=20).contains(&attempts), "{attempts} attempts in 24 h");
    assert_eq!(endpoint(&env, &acme, &ep).await.status, EndpointStatus::Active, "24 h of failures: not yet disabled");
    assert_eq!(pass(&env, &sender()).await.attempted, 0, "dead is out of the queue");

    // Replayed: due now, delivered.
    rx.set(200);
    assert_eq!(endpoints::replay_dead(&env.deps, &acme, &ep, None, None).await.unwrap(), 1);
    assert_eq!(
        endpoints::replay_dead(&env.deps, &acme, &ep, Some(&e.id), None).await,
        Err(ApiError::Conflict("the delivery is not dead".into()))
    );
    assert_eq!(pass(&env, &sender()).await.delivered, 1);
    assert_eq!(verified(&secret, rx.got().last().unwrap()).id, e.id);

    // Failing for three days without a success: disabled, and then sent nothing.
    rx.set(500);
    let e2 = event("acme", 2);
    enqueue(&env, &acme, std::slice::from_ref(&e2)).await;
    let failing_from = env.now();
    let mut last = endpoint(&env, &acme, &ep).await;
    for _ in 0..100 {
        pass(&env, &sender()).await;
        last = endpoint(&env, &acme, &ep).await;
        if last.status == EndpointStatus::Disabled {
            break;
        }
        let d = delivery(&env, &acme, &ep, &e2.id).await;
        if d.status == DeliveryStatus::Dead {
            // Keep it failing: replay and wait for the next hour.
            endpoints::replay_dead(&env.deps, &acme, &ep, None, None).await.unwrap();
        }
        env.advance(chrono::Duration::hours(1));
    }
    assert_eq!(last.status, EndpointStatus::Disabled);
    assert!(env.now() - failing_from >= chrono::Duration::hours(72));
    assert!(last.disabled_reason.unwrap().starts_with("failing since"));
    let sent = rx.got().len();
    env.advance(chrono::Duration::hours(1));
    endpoints::replay_dead(&env.deps, &acme, &ep, None, None).await.unwrap();
    assert_eq!(pass(&env, &sender()).await.attempted, 0);
    assert_eq!(rx.got().len(), sent, "a disabled endpoint gets nothing");

    // Its owner enables it again: the pending delivery goes out.
    rx.set(200);
    endpoints::set_endpoint_active(&env.deps, &acme, &ep, true, None).await.unwrap();
    env.advance(chrono::Duration::hours(9));
    assert_eq!(pass(&env, &sender()).await.delivered, 1);
}

#[tokio::test]
async fn a_rotation_signs_with_both_secrets_for_24_hours() {
    let env = TestEnv::new().await;
    let rx = Receiver::start().await;
    let acme = owner("acme");
    let made = add(&env, &acme, &rx.url(), &[]).await;
    let (old, ep) = (made.secret.unwrap(), made.endpoint.endpoint_id);
    let key = IdempotencyKey::parse("rotate-1").unwrap();
    let rotated = endpoints::rotate_secret(&env.deps, &acme, &ep, Some(&key)).await.unwrap();
    let new = rotated.secret.clone().expect("the new secret, once");
    assert_ne!(new, old);
    let again = endpoints::rotate_secret(&env.deps, &acme, &ep, Some(&key)).await.unwrap();
    assert_eq!(
        (again.secret, again.endpoint),
        (None, rotated.endpoint.clone()),
        "a replay rotates nothing, shows nothing"
    );
    assert_eq!(rotated.endpoint.previous_secret_until, Some(env.now() + chrono::Duration::hours(24)));

    enqueue(&env, &acme, &[event("acme", 1)]).await;
    pass(&env, &sender()).await;
    let r = rx.got().pop().unwrap();
    let sig = r.headers["webhook-signature"].to_str().unwrap().to_owned();
    assert_eq!(sig.split(' ').count(), 2, "{sig}");
    verified(&old, &r);
    verified(&new, &r);

    env.advance(chrono::Duration::hours(24) + chrono::Duration::seconds(1));
    enqueue(&env, &acme, &[event("acme", 2)]).await;
    pass(&env, &sender()).await;
    let r = rx.got().pop().unwrap();
    assert_eq!(r.headers["webhook-signature"].to_str().unwrap().split(' ').count(), 1);
    verified(&new, &r);
    let wh = standardwebhooks::Webhook::new(&old).unwrap();
    assert!(wh.verify(&r.body, &r.headers).is_err(), "the old secret no longer signs");
}

#[tokio::test]
async fn unsafe_addresses_are_refused_when_added_and_when_sent() {
    let env = TestEnv::new().await;
    let rx = Receiver::start().await;
    let acme = owner("acme");
    let live = Policy::default();
    let port = rx.addr.port();
    for url in [
        "https://10.0.0.1/hook".to_owned(),
        "https://169.254.169.254/latest/meta-data".to_owned(),
        format!("https://[::1]:{port}/hook"),
        format!("http://hooks.example.com:{port}/hook"),
    ] {
        let spec = NewEndpoint { url: url.clone(), event_types: vec![] };
        let refused = endpoints::add_endpoint(&env.deps, &acme, &live, &spec, None).await;
        assert!(matches!(refused, Err(ApiError::Invalid { .. })), "{url}: {refused:?}");
    }

    // At delivery time, on the addresses the name resolves to then: a name that
    // resolves to loopback or a private address is refused before any connection.
    let hosts = HashMap::from([
        ("rebind.test".to_owned(), vec!["127.0.0.1".parse().unwrap()]),
        ("inside.test".to_owned(), vec!["10.0.0.1".parse().unwrap()]),
        ("mixed.test".to_owned(), vec!["93.184.216.34".parse().unwrap(), "169.254.169.254".parse().unwrap()]),
    ]);
    let live_sender = Sender::with_hosts(live, SenderConfig::default(), hosts.clone()).unwrap();
    let local_sender = Sender::with_hosts(Policy::local(), SenderConfig::default(), hosts).unwrap();
    let d = Delivery {
        tenant: acme.tenant.clone(),
        endpoint_id: "ep_x".into(),
        event: event("acme", 1),
        status: DeliveryStatus::Pending,
        attempts: 0,
        first_attempt_at: env.now(),
        next_attempt_at: env.now(),
        last_result: None,
        last_attempt_at: None,
        delivered_at: None,
    };
    let at = |url: String| Endpoint {
        endpoint_id: "ep_x".into(),
        tenant: acme.tenant.clone(),
        url,
        event_types: vec![],
        status: EndpointStatus::Active,
        disabled_reason: None,
        secret: Secret("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD".into()),
        previous_secret: None,
        previous_expires_at: None,
        failing_since: None,
        created_at: env.now(),
        updated_at: env.now(),
        version: 1,
    };
    for (sender, url) in [
        (&live_sender, "https://10.0.0.1/hook".to_owned()),
        (&live_sender, "https://169.254.169.254/latest".to_owned()),
        (&live_sender, format!("https://[::1]:{port}/hook")),
        (&live_sender, format!("http://127.0.0.1:{port}/hook")),
        (&live_sender, format!("https://rebind.test:{port}/hook")),
        (&live_sender, "https://mixed.test/hook".to_owned()),
        (&local_sender, format!("http://inside.test:{port}/hook")),
        (&local_sender, "http://10.0.0.1/hook".to_owned()),
    ] {
        let result = sender.attempt(&at(url.clone()), &d, env.now()).await;
        let why = result.expect_err(&url);
        assert!(why.contains("refused"), "{url}: {why}");
    }
    assert!(rx.got().is_empty(), "nothing reached the receiver");
    // Loopback where the stage allows it, by name too.
    let allowed = local_sender.attempt(&at(format!("http://rebind.test:{port}/hook")), &d, env.now()).await;
    assert!(allowed.is_ok(), "{allowed:?}");
}

#[tokio::test]
async fn one_tenants_dead_endpoint_does_not_delay_anothers() {
    let env = TestEnv::new().await;
    let (down, up) = (Receiver::start().await, Receiver::start().await);
    down.set(0);
    let (acme, beta) = (owner("acme"), owner("beta"));
    let dead_ep = add(&env, &acme, &down.url(), &[]).await.endpoint.endpoint_id;
    let beta_made = add(&env, &beta, &up.url(), &[]).await;
    let acme_events: Vec<Event> = (1..=60).map(|n| event("acme", n)).collect();
    let beta_events: Vec<Event> = (1..=5).map(|n| event("beta", n)).collect();
    assert_eq!(enqueue(&env, &acme, &acme_events).await, 60);
    assert_eq!(enqueue(&env, &beta, &beta_events).await, 5);

    let started = Instant::now();
    let report = pass(&env, &sender()).await;
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    assert_eq!(report.delivered, 5, "{report:?}");
    assert!(
        report.retrying <= SenderConfig::default().per_endpoint_concurrency,
        "one failed batch, then its turn ends: {report:?}"
    );
    assert_eq!(up.got().len(), 5);
    for r in up.got() {
        assert_eq!(verified(beta_made.secret.as_deref().unwrap(), &r).tenant, "beta");
    }
    // Every later pass: the same, while acme's backlog waits its turn.
    for n in 6..=8 {
        enqueue(&env, &beta, &[event("beta", n)]).await;
        env.advance(chrono::Duration::minutes(1));
        let report = pass(&env, &sender()).await;
        assert_eq!(report.delivered, 1, "{report:?}");
    }
    let pending = env.store.endpoint_deliveries(&acme.tenant, &dead_ep, Some(DeliveryStatus::Pending)).await.unwrap();
    assert_eq!(pending.len(), 60, "nothing of acme's lost");
}

#[tokio::test]
async fn endpoints_are_the_owners_audited_and_idempotent() {
    let env = TestEnv::new().await;
    let acme = owner("acme");
    let manager = Actor::new(acme.tenant.clone(), "m@example.com", Role::Manager);
    let spec = NewEndpoint { url: "https://hooks.example.com/in".into(), event_types: vec!["points.earned".into()] };
    let refused = endpoints::add_endpoint(&env.deps, &manager, &Policy::default(), &spec, None).await;
    assert!(matches!(refused, Err(ApiError::Role { .. })), "{refused:?}");
    let bad = NewEndpoint { event_types: vec!["points.stolen".into()], ..spec.clone() };
    assert!(endpoints::add_endpoint(&env.deps, &acme, &Policy::default(), &bad, None).await.is_err());

    let key = IdempotencyKey::parse("add-1").unwrap();
    let first = endpoints::add_endpoint(&env.deps, &acme, &Policy::default(), &spec, Some(&key)).await.unwrap();
    let second = endpoints::add_endpoint(&env.deps, &acme, &Policy::default(), &spec, Some(&key)).await.unwrap();
    assert!(first.secret.is_some() && second.secret.is_none());
    assert_eq!(first.endpoint, second.endpoint);
    let list = endpoints::list_endpoints(&env.deps, &acme).await.unwrap();
    assert_eq!(list, std::slice::from_ref(&first.endpoint), "one endpoint for one key");
    // Another tenant sees none of it.
    let beta = owner("beta");
    assert!(endpoints::list_endpoints(&env.deps, &beta).await.unwrap().is_empty());
    let id = &first.endpoint.endpoint_id;
    assert_eq!(
        endpoints::remove_endpoint(&env.deps, &beta, id, None).await,
        Err(ApiError::NotFound("webhook endpoint"))
    );

    let test_id = endpoints::send_test_event(&env.deps, &acme, id, None).await.unwrap();
    let pending = endpoints::list_deliveries(&env.deps, &acme, id, Some(DeliveryStatus::Pending)).await.unwrap();
    assert_eq!(pending.iter().map(|d| d.event.r#type.as_str()).collect::<Vec<_>>(), ["webhook.test"]);
    assert_eq!(pending[0].event.id, test_id);

    endpoints::set_endpoint_active(&env.deps, &acme, id, false, None).await.unwrap();
    endpoints::remove_endpoint(&env.deps, &acme, id, None).await.unwrap();
    assert!(endpoints::list_endpoints(&env.deps, &acme).await.unwrap().is_empty());
    let audit = loyalty::manage::audit_log(&env.deps, &acme, 50, None).await.unwrap();
    let actions: Vec<String> = audit.entries.iter().map(|e| e.action.clone()).collect();
    for action in ["webhook.add", "webhook.disable", "webhook.remove"] {
        assert!(actions.iter().any(|a| a == action), "{action} in {actions:?}");
    }
    assert!(!format!("{:?}", audit.entries).contains("whsec_"), "no secret in the audit log");
}

/// The Python with the reference library (`standardwebhooks`) named by
/// `LOYALTY_WEBHOOK_PYTHON` (scripts/check sets it to the venv `scripts/install.sh`
/// fills); `None` when unset. A Python named there that cannot import the library fails
/// the test: the check never passes without running it.
fn reference_python() -> Option<String> {
    let python = std::env::var("LOYALTY_WEBHOOK_PYTHON").ok()?;
    let imports =
        std::process::Command::new(&python).args(["-c", "import standardwebhooks"]).status().is_ok_and(|s| s.success());
    assert!(imports, "LOYALTY_WEBHOOK_PYTHON={python} cannot import standardwebhooks (scripts/install.sh installs it)");
    Some(python)
}

/// A free port on 127.0.0.1.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Runs `scripts/webhook-receiver.py` on `port` with these secrets until it has verified
/// `expect` events; the handle answers whether it exited 0 and the events it printed.
async fn python_receiver(
    python: &str,
    port: u16,
    secrets: &[&str],
    expect: usize,
) -> tokio::task::JoinHandle<(bool, Vec<serde_json::Value>)> {
    let script = super::layout::repo().join("scripts/webhook-receiver.py");
    let mut cmd = std::process::Command::new(python);
    cmd.arg(script).args(["--port", &port.to_string(), "--expect", &expect.to_string()]);
    for s in secrets {
        cmd.args(["--secret", s]);
    }
    let child = cmd.stdout(std::process::Stdio::piped()).spawn().unwrap();
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::task::spawn_blocking(move || {
        let out = child.wait_with_output().unwrap();
        let events = String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        (out.status.success(), events)
    })
}

#[tokio::test]
async fn the_python_reference_library_verifies_deliveries_and_both_secrets_of_a_rotation() {
    let Some(python) = reference_python() else {
        eprintln!("LOYALTY_WEBHOOK_PYTHON is not set (scripts/check sets it): the Python reference check is not run");
        return;
    };
    let env = TestEnv::new().await;
    let acme = owner("acme");
    let port = free_port();
    let made = add(&env, &acme, &format!("http://127.0.0.1:{port}/hooks"), &[]).await;
    let (old, ep) = (made.secret.unwrap(), made.endpoint.endpoint_id);

    let rx = python_receiver(&python, port, &[&old], 2).await;
    let events = [event("acme", 1), event("acme", 2)];
    enqueue(&env, &acme, &events).await;
    assert_eq!(pass(&env, &sender()).await.delivered, 2);
    let (ok, got) = tokio::time::timeout(Duration::from_secs(20), rx).await.unwrap().unwrap();
    assert!(ok, "the Python reference library verified both");
    let mut ids: Vec<&str> = got.iter().map(|e| e["id"].as_str().unwrap()).collect();
    ids.sort();
    assert_eq!(ids, [events[0].id.as_str(), events[1].id.as_str()]);

    // After a rotation, either secret alone verifies.
    let new = endpoints::rotate_secret(&env.deps, &acme, &ep, None).await.unwrap().secret.unwrap();
    for (n, secret) in [(3, &new), (4, &old)] {
        let rx = python_receiver(&python, port, &[secret], 1).await;
        enqueue(&env, &acme, &[event("acme", n)]).await;
        assert_eq!(pass(&env, &sender()).await.delivered, 1);
        let (ok, got) = tokio::time::timeout(Duration::from_secs(20), rx).await.unwrap().unwrap();
        assert!(ok && got.len() == 1, "event {n} verified with one of the two secrets");
    }
}
