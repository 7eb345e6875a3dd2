//! Real faults: a DynamoDB Local of this test's own (the jar `scripts/install.sh`
//! caches, on a free port, `-sharedDb -dbPath <temp dir>` so data survives a restart),
//! killed and frozen (SIGSTOP) in the middle of a run of bills. Every endpoint must
//! answer a JSON 503 with the request id (never a panic, never a 500) within the
//! client's operation timeout; after a restart the data must be consistent, and the
//! bills that got a 503 must, retried with their reference, either replay (they had
//! committed) or apply once.
//!
//! The jar is looked for in `$LOYALTY_DYNAMODB_LOCAL_JAR`, then under
//! `${LOYALTY_CACHE:-$HOME/.cache/loyalty}/dynamodb-local-*/package/emulator/`. Without
//! it (or without `java`) the test fails: run `scripts/install.sh`.

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::error::{BoxError, DisplayErrorContext};
use aws_sdk_dynamodb::Client;
use lambda_http::request::RequestContext;
use lambda_http::RequestExt;
use loyalty::deps::{Clock, FixedClock};
use loyalty::domain::{Code, Mobile, Money, TenantSlug};
use loyalty::keys::{Channel, KeyMode, Scope};
use loyalty::store::Store;
use loyalty::Deps;
use loyalty_admin::{self as admin, CouponSpec};
use serde_json::{json, Value};

use super::auth::valid_call;
use super::support::{attr_n, attr_str, date, is_sale_reference, start_time, Call, Item, Reply, Route};

/// The fault client's timeouts: short, so the test is quick; the order is the
/// production one (connect < attempt < operation).
const CONNECT_TIMEOUT: Duration = Duration::from_millis(300);
const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(500);
const OPERATION_TIMEOUT: Duration = Duration::from_millis(1_500);
/// What a request may take beyond the operation timeout: the handler's own work.
const SLACK: Duration = Duration::from_millis(700);
const TABLE: &str = "faults";
const MOBILE: &str = "9876543210";
const EMAIL: &str = "ravi@example.com";
const UNAVAILABLE: &str = "Service temporarily unavailable; retry the request";

fn jar() -> PathBuf {
    if let Some(path) = std::env::var_os("LOYALTY_DYNAMODB_LOCAL_JAR") {
        let path = PathBuf::from(path);
        assert!(path.is_file(), "LOYALTY_DYNAMODB_LOCAL_JAR names no file: {}", path.display());
        return path;
    }
    let cache = std::env::var_os("LOYALTY_CACHE").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache").join("loyalty")
    });
    let mut found: Vec<PathBuf> = std::fs::read_dir(&cache)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().starts_with("dynamodb-local"))
        .map(|entry| entry.path().join("package").join("emulator").join("DynamoDBLocal.jar"))
        .filter(|path| path.is_file())
        .collect();
    found.sort();
    found.pop().unwrap_or_else(|| {
        panic!(
            "the fault test needs the DynamoDB Local jar and found none under {}/dynamodb-local-*/package/emulator/ \
             (nor LOYALTY_DYNAMODB_LOCAL_JAR): run scripts/install.sh",
            cache.display()
        )
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind a free port").local_addr().expect("its address").port()
}

fn client(port: u16, timeouts: TimeoutConfig, retry: RetryConfig) -> Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version_latest()
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("local", "local", None, None, "faults"))
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .timeout_config(timeouts)
        .retry_config(retry)
        .build();
    Client::from_conf(config)
}

/// A client for setting up and checking: patient.
fn patient_client(port: u16) -> Client {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(30))
        .build();
    client(port, timeouts, RetryConfig::standard())
}

/// The client under test: production's shape (standard retries, three attempts), with
/// short timeouts.
fn fault_client(port: u16) -> Client {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build();
    let retry = RetryConfig::standard().with_max_attempts(3).with_initial_backoff(Duration::from_millis(25));
    client(port, timeouts, retry)
}

/// Freezes DynamoDB Local (SIGSTOP) just before the next `TransactWriteItems` once
/// armed: the transaction reaches a frozen server, the client gives up (503), and the
/// server carries it out when thawed. The case a retry must replay, on purpose.
#[derive(Debug, Clone, Default)]
struct FreezeBeforeCommit(Arc<FreezeState>);

#[derive(Debug, Default)]
struct FreezeState {
    pid: AtomicU32,
    armed: AtomicBool,
    fired: AtomicBool,
}

impl FreezeBeforeCommit {
    fn arm(&self, pid: u32) {
        self.0.pid.store(pid, Ordering::SeqCst);
        self.0.armed.store(true, Ordering::SeqCst);
    }

    fn fired(&self) -> bool {
        self.0.fired.load(Ordering::SeqCst)
    }
}

impl Intercept for FreezeBeforeCommit {
    fn name(&self) -> &'static str {
        "FreezeBeforeCommit"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let target = context.request().headers().get("x-amz-target").unwrap_or_default();
        if target.ends_with(".TransactWriteItems") && self.0.armed.swap(false, Ordering::SeqCst) {
            signal(self.0.pid.load(Ordering::SeqCst), "STOP");
            self.0.fired.store(true, Ordering::SeqCst);
        }
        Ok(())
    }
}

/// One DynamoDB Local process with its data in a directory of its own. Dropping it
/// kills the process (even a frozen one) and removes the directory.
struct LocalDynamo {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

impl LocalDynamo {
    fn start() -> Self {
        let dir = std::env::temp_dir().join(format!("loyalty-faults-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(dir.join("data")).expect("create the data directory");
        let mut local = LocalDynamo { child: None, port: free_port(), dir };
        local.spawn();
        local
    }

    fn spawn(&mut self) {
        let jar = jar();
        let emulator = jar.parent().expect("the jar's directory");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("dynamodb.log"))
            .expect("open the log");
        let child = Command::new("java")
            .current_dir(emulator)
            .arg(format!("-Djava.library.path={}", emulator.join("DynamoDBLocal_lib").display()))
            .arg("-jar")
            .arg(&jar)
            .args(["-sharedDb", "-disableTelemetry", "-dbPath"])
            .arg(self.dir.join("data"))
            .args(["-port", &self.port.to_string()])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting java -jar {}: {e} (is Java 17 installed?)", jar.display()));
        self.child = Some(child);
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Waits until it answers ListTables (about 3 s from a cold start).
    async fn ready(&mut self) {
        let probe = fault_client(self.port);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if probe.list_tables().limit(1).send().await.is_ok() {
                return;
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("DynamoDB Local exited ({status}); log:\n{}", self.log());
            }
            assert!(Instant::now() < deadline, "DynamoDB Local did not answer within 60 s; log:\n{}", self.log());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("dynamodb.log")).unwrap_or_default()
    }

    /// Stops the process with `kill` (SIGTERM), as an operator or the OS would, and
    /// waits for it to exit (SIGKILL after 10 s). SIGKILL straight away is not used:
    /// DynamoDB Local then loses writes it had acknowledged, which DynamoDB never does.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal(child.id(), "CONT");
            signal(child.id(), "TERM");
            let deadline = Instant::now() + Duration::from_secs(10);
            while child.try_wait().expect("wait for DynamoDB Local").is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            child.wait().expect("reap DynamoDB Local");
        }
    }

    /// Kills the process at once (for the drop guard).
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn thaw(&mut self) {
        signal(self.pid(), "CONT");
    }
}

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill").arg(format!("-{name}")).arg(pid.to_string()).status().expect("run kill");
    assert!(status.success(), "kill -{name} {pid} failed");
}

impl Drop for LocalDynamo {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The world on the test's own DynamoDB Local: one tenant, Ravi (mobile and email) with
/// bill `INV-1` and order `ORD-1`, coupon `COUP-XY12`, the demo rewards.
struct World {
    local: LocalDynamo,
    clock: Arc<FixedClock>,
    slug: String,
    live: String,
}

impl World {
    async fn new() -> Self {
        let mut local = LocalDynamo::start();
        local.ready().await;
        let clock = Arc::new(FixedClock::new(start_time()));
        let setup = Deps::new(Store::new(patient_client(local.port), TABLE), clock.clone());
        assert!(setup.store.create_table_if_missing().await.expect("create the table"));
        let slug = TenantSlug::parse("fault-garden").expect("slug");
        admin::create_tenant(&setup, &slug, &admin::demo_program()).await.expect("tenant");
        let live = admin::issue_key(&setup, &slug, KeyMode::Live, Channel::App, Scope::ALL.to_vec(), "faults")
            .await
            .expect("key");
        let world = World { local, clock, slug: slug.to_string(), live: live.plain };
        let first = world
            .bill(
                &setup,
                json!({ "mobile": MOBILE, "email": EMAIL, "name": "Ravi", "amount": 100, "external_ref": "INV-1" }),
            )
            .await;
        first.assert_ok(&json!({ "new_balance": 10_000 }));
        let order = json!({ "email": EMAIL, "amount": 10, "reference": "ORD-1" });
        Call::public(Route::Earn).key(&world.live).json(&order).send(&setup).await.assert_success(&json!({}));
        let spec = CouponSpec {
            mobile: Mobile::parse(MOBILE).expect("mobile"),
            value: Some(Money::parse("200").expect("money")),
            percent: None,
            expires: date(2026, 12, 31),
            code: Some(Code::parse("COUP-XY12").expect("code")),
            source: "campaign".into(),
        };
        admin::issue_coupon(&setup, &slug, spec).await.expect("coupon");
        for reward in admin::demo_rewards() {
            admin::add_reward(&setup, &slug, &reward).await.expect("reward");
        }
        world
    }

    /// A `Deps` whose client has the short timeouts; a new one has cold caches.
    fn deps(&self) -> Arc<Deps> {
        Arc::new(Deps::new(Store::new(fault_client(self.local.port), TABLE), self.clock.clone()))
    }

    /// The same with the freezer on its client.
    fn freezing_deps(&self, freezer: &FreezeBeforeCommit) -> Arc<Deps> {
        let config = fault_client(self.local.port).config().to_builder().interceptor(freezer.clone()).build();
        Arc::new(Deps::new(Store::new(Client::from_conf(config), TABLE), self.clock.clone()))
    }

    fn patient_deps(&self) -> Deps {
        Deps::new(Store::new(patient_client(self.local.port), TABLE), self.clock.clone())
    }

    async fn bill(&self, deps: &Deps, body: Value) -> Reply {
        Call::bill(&self.slug).key(&self.live).json(&body).send(deps).await
    }

    async fn scan(&self) -> Vec<Item> {
        let mut pages = patient_client(self.local.port)
            .scan()
            .table_name(TABLE)
            .consistent_read(true)
            .into_paginator()
            .items()
            .send();
        let mut items = Vec::new();
        while let Some(item) = pages.next().await {
            items.push(item.unwrap_or_else(|e| panic!("scan: {}", DisplayErrorContext(&e))));
        }
        items
    }
}

/// Sends `call` with an API Gateway request id, timing the answer.
async fn send_with_id(call: &Call, deps: &Deps, request_id: &str) -> (Reply, Duration) {
    let mut context = lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext::default();
    context.request_id = Some(request_id.to_owned());
    let req = call.request().with_request_context(RequestContext::ApiGatewayV2(context));
    let started = Instant::now();
    let reply = call.send_request(deps, req).await;
    (reply, started.elapsed())
}

/// The 503 of the caller's dialect, with the request id and `Retry-After`, in time.
#[track_caller]
fn assert_unavailable(route: Route, reply: &Reply, elapsed: Duration, request_id: &str, what: &str) {
    let expected = if route.is_public() {
        json!({ "result": "error", "error": {
            "code": "service_unavailable", "message": UNAVAILABLE, "requestId": request_id } })
    } else {
        json!({ "error": UNAVAILABLE, "code": "service_unavailable", "request_id": request_id })
    };
    assert_eq!((reply.status, &reply.body), (503, &expected), "{what}: {route:?}: {}", reply.text);
    assert_eq!(reply.header("retry-after"), Some("1"), "{what}: {route:?}");
    assert!(elapsed <= OPERATION_TIMEOUT + SLACK, "{what}: {route:?} took {elapsed:?}");
}

/// A bill's 503 during a fault: the plain one if its transaction was never sent, or the
/// one that says its outcome is unknown (sent, answer lost).
#[track_caller]
fn assert_bill_unavailable(reply: &Reply, elapsed: Duration, request_id: &str, what: &str) {
    if reply.body.get("outcome").is_none() {
        return assert_unavailable(Route::Bill, reply, elapsed, request_id, what);
    }
    let expected =
        json!({ "error": OUTCOME_UNKNOWN, "code": "outcome_unknown", "outcome": "unknown", "request_id": request_id });
    assert_eq!((reply.status, &reply.body), (503, &expected), "{what}: {}", reply.text);
    assert_eq!(reply.header("retry-after"), Some("1"), "{what}");
    assert!(elapsed <= OPERATION_TIMEOUT + SLACK, "{what}: took {elapsed:?}");
}

/// Every route at once, on a warm and a cold `Deps`, each call with its request id.
async fn every_route_is_unavailable(world: &World, warm: &Arc<Deps>, what: &str) {
    let cold = world.deps();
    let mut tasks = tokio::task::JoinSet::new();
    for (temperature, deps) in [("warm", warm.clone()), ("cold", cold)] {
        for route in Route::EVERY {
            let mut call = valid_call(route, &world.slug).key(&world.live);
            if route.is_write() {
                call = call.header("Idempotency-Key", &format!("down-{route:?}"));
            }
            let deps = deps.clone();
            let id = format!("req-{what}-{temperature}-{route:?}");
            tasks.spawn(async move {
                let (reply, elapsed) = send_with_id(&call, &deps, &id).await;
                (route, temperature, id, reply, elapsed)
            });
        }
    }
    let mut answered = 0;
    while let Some(done) = tasks.join_next().await {
        let (route, temperature, id, reply, elapsed) = done.expect("a handler panicked");
        assert_unavailable(route, &reply, elapsed, &id, &format!("{what}, {temperature}"));
        answered += 1;
    }
    assert_eq!(answered, 2 * Route::EVERY.len());
}

/// A bill of the run: its reference, amount and every answer it got.
struct RunBill {
    reference: String,
    amount: i64,
    replies: Vec<Reply>,
}

/// Bills one after another (`{prefix}-{i}`, ₹1 to ₹5) until `stop_after` of them got a
/// 503; `progress` counts the bills answered. Each answer must be a 200 or a timely 503.
async fn run_bills(
    slug: String,
    live: String,
    deps: Arc<Deps>,
    prefix: &str,
    progress: Arc<AtomicUsize>,
    stop_after: usize,
) -> Vec<RunBill> {
    let mut bills = Vec::new();
    let mut unavailable = 0;
    for i in 0..400 {
        let reference = format!("{prefix}-{i}");
        let amount = 1 + i % 5;
        let call = Call::bill(&slug)
            .key(&live)
            .json(&json!({ "mobile": MOBILE, "amount": amount, "external_ref": reference }));
        let id = format!("req-{reference}");
        let (reply, elapsed) = send_with_id(&call, &deps, &id).await;
        match reply.status {
            200 => reply.assert_ok(&json!({ "external_ref": reference, "points_earned": amount * 100 })),
            _ => {
                assert_bill_unavailable(&reply, elapsed, &id, "during the fault");
                unavailable += 1;
            }
        }
        bills.push(RunBill { reference, amount: amount as i64, replies: vec![reply] });
        progress.fetch_add(1, Ordering::SeqCst);
        if unavailable >= stop_after {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    bills
}

async fn wait_for(progress: &AtomicUsize, at_least: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while progress.load(Ordering::SeqCst) < at_least {
        assert!(Instant::now() < deadline, "the run of bills made no progress");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Retries every bill that got a 503 with the same reference and body: a bill that had
/// committed replays its recorded sale, one that had not applies now.
async fn retry_unavailable(world: &World, deps: &Deps, bills: &mut [RunBill]) {
    let items = world.scan().await;
    // A recorded sale: its sale item, holding the outcome (and the transaction id).
    let recorded: BTreeMap<&str, &str> = items
        .iter()
        .filter(|i| is_sale_reference(i))
        .map(|i| (attr_str(i, "reference"), attr_str(i, "txn_id")))
        .collect();
    for bill in bills.iter_mut().filter(|b| b.replies.iter().all(|r| r.status != 200)) {
        let retry =
            world.bill(deps, json!({ "mobile": MOBILE, "amount": bill.amount, "external_ref": bill.reference })).await;
        retry.assert_ok(&json!({ "external_ref": bill.reference, "points_earned": bill.amount * 100 }));
        match recorded.get(bill.reference.as_str()) {
            Some(txn_id) => {
                assert_eq!(retry.header("idempotent-replayed"), Some("true"), "{} had committed", bill.reference);
                // A 503 that applied all the same never said "retry the request".
                assert_eq!(
                    bill.replies[0].body["outcome"],
                    json!("unknown"),
                    "{} had committed: {}",
                    bill.reference,
                    bill.replies[0].text
                );
                assert_eq!(retry.str("transaction_id"), *txn_id);
            }
            None => assert_eq!(retry.header("idempotent-replayed"), None, "{} had not committed", bill.reference),
        }
        bill.replies.push(retry);
    }
}

/// What a run saw, for the log: bills answered 200, answered 503, and of those how many
/// had committed all the same (their retry replayed).
fn summary(bills: &[RunBill]) -> String {
    let ok = bills.iter().filter(|b| b.replies[0].status == 200).count();
    let replayed = bills.iter().filter(|b| b.replies.len() > 1 && b.replies[1].header("idempotent-replayed").is_some());
    format!("{ok} answered 200, {} answered 503 ({} had committed)", bills.len() - ok, replayed.count())
}

/// The member's balance is the ledger's sum, its version the ledger's length; every
/// reference of the run is one sale with one earning, and a run bill answered 200 is
/// that sale.
async fn check_consistent(world: &World, bills: &[RunBill], what: &str) {
    let items = world.scan().await;
    let profile = items.iter().find(|i| attr_str(i, "SK") == "PROFILE").expect("the member");
    let ledger: Vec<&Item> = items.iter().filter(|i| attr_str(i, "GSI1SK").starts_with("TXN#")).collect();
    let points: i64 = ledger.iter().map(|e| attr_n(e, "points")).sum();
    assert_eq!(attr_n(profile, "points_balance"), points, "{what}: balance == sum of the ledger");
    assert_eq!(attr_n(profile, "version"), ledger.len() as i64, "{what}: one version per entry");
    for bill in bills {
        let entries: Vec<&&Item> = ledger.iter().filter(|e| attr_str(e, "reference") == bill.reference).collect();
        let committed = items.iter().any(|i| is_sale_reference(i) && attr_str(i, "reference") == bill.reference);
        assert_eq!(
            entries.len(),
            usize::from(committed),
            "{what}: {}: one entry per recorded reference",
            bill.reference
        );
        let ids: BTreeSet<&str> =
            bill.replies.iter().filter(|r| r.status == 200).map(|r| r.str("transaction_id")).collect();
        assert!(ids.len() <= 1, "{what}: {}: one sale, answered {ids:?}", bill.reference);
        if let (Some(id), Some(entry)) = (ids.first(), entries.first()) {
            assert_eq!(attr_str(entry, "txn_id"), *id, "{what}: {}", bill.reference);
            assert_eq!(attr_n(entry, "points"), bill.amount * 100);
        }
        if !ids.is_empty() {
            assert!(committed, "{what}: {} was answered 200 but is not recorded", bill.reference);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_store_that_dies_or_freezes_answers_503_and_loses_nothing() {
    let started = Instant::now();
    let mut world = World::new().await;
    eprintln!("faults: DynamoDB Local on port {} ready and seeded after {:.1?}", world.local.port, started.elapsed());
    let deps = world.deps();

    // Up: every route answers (the calls below are the same ones).
    for route in Route::EVERY {
        let reply = valid_call(route, &world.slug).key(&world.live).send(&deps).await;
        assert_eq!(reply.status, 200, "{route:?} while the store is up: {}", reply.text);
    }

    // (a) Killed in the middle of a run of bills.
    let progress = Arc::new(AtomicUsize::new(0));
    let run =
        tokio::spawn(run_bills(world.slug.clone(), world.live.clone(), deps.clone(), "KILL", progress.clone(), 5));
    wait_for(&progress, 8).await;
    world.local.stop();
    let mut killed = run.await.expect("the run of bills panicked");
    assert!(killed.iter().filter(|b| b.replies[0].status == 200).count() >= 8, "bills went through before the kill");
    every_route_is_unavailable(&world, &deps, "killed").await;

    world.local.spawn();
    world.local.ready().await;
    check_consistent(&world, &killed, "after the restart").await;
    retry_unavailable(&world, &world.patient_deps(), &mut killed).await;
    check_consistent(&world, &killed, "after the retries").await;
    eprintln!("faults: killed: {}; restarted and checked after {:.1?}", summary(&killed), started.elapsed());

    // (b) Frozen (SIGSTOP) in the middle of a run, just as a bill's transaction is sent,
    // then thawed (SIGCONT): it carries out what it received while frozen, so that bill
    // answered 503 and committed all the same.
    let freezer = FreezeBeforeCommit::default();
    let progress = Arc::new(AtomicUsize::new(0));
    let freezing = world.freezing_deps(&freezer);
    let run = tokio::spawn(run_bills(world.slug.clone(), world.live.clone(), freezing, "FREEZE", progress.clone(), 3));
    wait_for(&progress, 8).await;
    freezer.arm(world.local.pid());
    let mut frozen = run.await.expect("the run of bills panicked");
    assert!(freezer.fired(), "the freeze happened during the run");
    every_route_is_unavailable(&world, &deps, "frozen").await;
    // A bill with an Idempotency-Key while frozen: 503. Its claim may still be written
    // after the thaw: then the key answers 409 until the claim's lease ends.
    let keyed = json!({ "mobile": MOBILE, "amount": 7.77 });
    let keyed_call = Call::bill(&world.slug).key(&world.live).header("Idempotency-Key", "frozen-1").json(&keyed);
    let (reply, elapsed) = send_with_id(&keyed_call, &deps, "req-frozen-keyed").await;
    assert_unavailable(Route::Bill, &reply, elapsed, "req-frozen-keyed", "frozen, keyed");
    world.local.thaw();
    world.local.ready().await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    check_consistent(&world, &frozen, "after the thaw").await;
    retry_unavailable(&world, &world.patient_deps(), &mut frozen).await;
    check_consistent(&world, &frozen, "after the retries").await;
    eprintln!("faults: frozen: {}; thawed and checked after {:.1?}", summary(&frozen), started.elapsed());
    // The bill whose transaction met the frozen store normally commits after the thaw
    // (and its retry above replayed it). On a starved machine the request may not even
    // have left the client before its attempt timed out: then it never committed, and
    // its retry applied it once. Both are checked above; more than one is a bug.
    let late = frozen.iter().filter(|b| b.replies.len() > 1 && b.replies[1].header("idempotent-replayed").is_some());
    assert!(late.count() <= 1, "only the bill frozen in its transaction can have committed late");
    let retried = keyed_call.send(&world.patient_deps()).await;
    let retried = match retried.status {
        200 => retried,
        409 => {
            retried.assert_error(409, "A request with this Idempotency-Key is still in progress; retry later");
            world.clock.set(world.clock.now() + chrono::Duration::seconds(31));
            keyed_call.send(&world.patient_deps()).await
        }
        other => panic!("the keyed retry answered {other}: {}", retried.text),
    };
    retried.assert_ok(&json!({ "points_earned": 777 }));
    assert_eq!(keyed_call.send(&world.patient_deps()).await.header("idempotent-replayed"), Some("true"));
    let items = world.scan().await;
    let keyed_entries =
        items.iter().filter(|i| attr_str(i, "GSI1SK").starts_with("TXN#") && attr_n(i, "points") == 777);
    assert_eq!(keyed_entries.count(), 1, "the keyed bill applied once");
    check_consistent(&world, &frozen, "at the end").await;
    check_consistent(&world, &killed, "at the end").await;
}

/// Once armed, lets each `TransactWriteItems` or `UpdateItem` reach the store (which
/// commits it) and throws its answer away, as a connection lost after the request went
/// out would; or fails each read before it is sent.
#[derive(Debug, Clone, Default)]
pub(super) struct LoseAnswers(pub(super) Arc<LoseState>);

#[derive(Debug, Default)]
pub(super) struct LoseState {
    pub(super) writes: AtomicBool,
    reads: AtomicBool,
    /// Whether the call being answered is a write.
    write: AtomicBool,
}

impl Intercept for LoseAnswers {
    fn name(&self) -> &'static str {
        "LoseAnswers"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let target = context.request().headers().get("x-amz-target").unwrap_or_default();
        let write = target.ends_with(".TransactWriteItems") || target.ends_with(".UpdateItem");
        self.0.write.store(write, Ordering::SeqCst);
        if !write && self.0.reads.load(Ordering::SeqCst) {
            return Err("the store is unreachable".into());
        }
        Ok(())
    }

    fn read_before_deserialization(
        &self,
        _context: &aws_sdk_dynamodb::config::interceptors::BeforeDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if self.0.write.load(Ordering::SeqCst) && self.0.writes.load(Ordering::SeqCst) {
            return Err("the answer was lost".into());
        }
        Ok(())
    }
}

/// A `Deps` on the test's table whose client loses answers as `lose` says, with cold
/// caches.
pub(super) fn losing_deps(env: &super::support::TestEnv, lose: &LoseAnswers) -> Deps {
    let config = env.client.config().to_builder().interceptor(lose.clone()).build();
    Deps::new(Store::new(Client::from_conf(config), env.table.clone()), env.clock.clone())
}

const OUTCOME_UNKNOWN: &str = "The outcome of this request is unknown: it may have been applied. Look it up in the \
     member's history by its reference, or retry it with the same Idempotency-Key or reference, which answers the \
     first result or applies it once";

#[tokio::test]
async fn a_refund_whose_answer_was_lost_says_its_outcome_is_unknown_and_its_retry_replays() {
    let env = super::support::TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.bill(&t, json!({ "mobile": MOBILE, "amount": 100, "external_ref": "INV-1" })).await.assert_ok(&json!({}));
    let lose = LoseAnswers::default();
    let losing = losing_deps(&env, &lose);
    let refund = Call::new(Route::Refund, t.slug())
        .key(&t.live)
        .json(&json!({ "external_ref": "INV-1", "amount": 30, "refund_ref": "RET-1" }));
    // Warm: the key and the program are read before the answers are lost.
    Call::customer(t.slug()).key(&t.live).query("mobile", MOBILE).send(&losing).await.assert_ok(&json!({}));

    lose.0.writes.store(true, Ordering::SeqCst);
    let lost = refund.send(&losing).await;
    assert_eq!(lost.status, 503, "{}", lost.text);
    assert_eq!(lost.body["error"], json!(OUTCOME_UNKNOWN), "{}", lost.text);
    assert_eq!(lost.body["outcome"], json!("unknown"), "{}", lost.text);
    assert!(lost.body.get("request_id").is_some(), "{}", lost.text);
    assert_eq!(env.balance(&t, MOBILE).await, 7_000, "the refund committed all the same");

    // Retried with its reference: the first refund, answered again, applied once.
    let retry = refund.send(&env.deps).await;
    retry.assert_ok(&json!({ "amount": 30, "total_refunded": 30, "new_balance": 7_000 }));
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(env.balance(&t, MOBILE).await, 7_000);
    let refunds = env.scan().await.into_iter().filter(|i| attr_str(i, "type") == "refund").count();
    assert_eq!(refunds, 1, "one refund in the ledger");

    // The same in the Public dialect.
    let public = Call::public(Route::PublicRefund)
        .key(&t.live)
        .json(&json!({ "reference": "INV-1", "amount": 10, "refundReference": "RET-2" }));
    let lost = public.send(&losing).await;
    assert_eq!(lost.status, 503, "{}", lost.text);
    assert_eq!(lost.body["error"]["code"], json!("outcome_unknown"), "{}", lost.text);
    assert_eq!(lost.body["error"]["message"], json!(OUTCOME_UNKNOWN), "{}", lost.text);
    lose.0.writes.store(false, Ordering::SeqCst);
    let retry = public.send(&losing).await;
    retry.assert_success(&json!({ "amountRefunded": 10, "totalRefunded": 40, "newBalance": 6_000 }));
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
}

#[tokio::test]
async fn a_coupon_use_whose_answer_was_lost_says_its_outcome_is_unknown() {
    let env = super::support::TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.bill(&t, json!({ "mobile": MOBILE, "amount": 100, "external_ref": "INV-1" })).await.assert_ok(&json!({}));
    env.issue_coupon(&t, MOBILE, "200", super::support::date(2026, 12, 31), Some("COUP-XY12")).await;
    let lose = LoseAnswers::default();
    let losing = losing_deps(&env, &lose);
    let redeem = Call::new(Route::Redeem, t.slug()).key(&t.live).json(&json!({ "code": "COUP-XY12" }));
    // Warm: the key is read before the answers are lost.
    Call::customer(t.slug()).key(&t.live).query("mobile", MOBILE).send(&losing).await.assert_ok(&json!({}));

    lose.0.writes.store(true, Ordering::SeqCst);
    let lost = redeem.send(&losing).await;
    assert_eq!(lost.status, 503, "{}", lost.text);
    assert_eq!(lost.body["outcome"], json!("unknown"), "the coupon may be used: {}", lost.text);
    assert_eq!(lost.body["error"], json!(OUTCOME_UNKNOWN), "{}", lost.text);
    let verify = Call::verify("COUP-XY12").key(&t.live).send(&env.deps).await;
    assert_eq!(verify.body["data"]["status"], json!("used"), "it was used all the same: {}", verify.text);
}

#[tokio::test]
async fn a_write_route_whose_read_fails_keeps_the_plain_503() {
    let env = super::support::TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.bill(&t, json!({ "mobile": MOBILE, "amount": 100, "external_ref": "INV-1" })).await.assert_ok(&json!({}));
    let lose = LoseAnswers::default();
    lose.0.reads.store(true, Ordering::SeqCst);
    let losing = losing_deps(&env, &lose);
    let reply = Call::new(Route::Refund, t.slug())
        .key(&t.live)
        .json(&json!({ "external_ref": "INV-1", "amount": 30, "refund_ref": "RET-1" }))
        .send(&losing)
        .await;
    assert_eq!((reply.status, &reply.body["error"]), (503, &json!(UNAVAILABLE)), "{}", reply.text);
    assert_eq!(reply.body.get("outcome"), None, "nothing was sent: {}", reply.text);
    let public = Call::public(Route::PublicRefund)
        .key(&t.live)
        .json(&json!({ "reference": "INV-1", "amount": 30, "refundReference": "RET-2" }))
        .send(&losing)
        .await;
    assert_eq!((public.status, &public.body["error"]["code"]), (503, &json!("service_unavailable")), "{}", public.text);
    assert_eq!(env.balance(&t, MOBILE).await, 10_000, "nothing was refunded");
}

/// A lost answer: the store commits a single-item write, then the SDK is told the
/// attempt timed out and sends the same request again. The retry meets the request's
/// own first write and must take it for what it is (done), not for someone else's use.
mod lost_answers {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    use aws_sdk_dynamodb::config::interceptors::FinalizerInterceptorContextMut;
    use aws_sdk_dynamodb::config::retry::{RetryConfig, RetryPartition};
    use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
    use aws_sdk_dynamodb::error::BoxError;
    use aws_sdk_dynamodb::types::AttributeValue;
    use aws_sdk_dynamodb::Client;
    use aws_smithy_runtime_api::client::orchestrator::{Metadata, OrchestratorError};
    use loyalty::domain::{Mobile, TenantSlug};
    use loyalty::store::Store;
    use loyalty::Deps;
    use serde_json::json;

    use super::super::support::{attr_n, date, endpoint, Call, Item, Route, Tenant, TestEnv};

    const MOBILE: &str = "9876543210";

    /// Lets the first successful attempt of one operation (`UpdateItem`, `PutItem`)
    /// commit, then replaces its answer with a timeout, as if the answer were lost on
    /// the way back: the SDK's retry strategy sends the request again.
    #[derive(Debug, Clone)]
    struct LoseFirstAnswer(Arc<LoseState>);

    /// Something another client does between the commit and the retry.
    type Between = Box<dyn FnOnce() + Send>;

    struct LoseState {
        target: String,
        fired: AtomicBool,
        between: Mutex<Option<Between>>,
    }

    impl std::fmt::Debug for LoseState {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("LoseState").field("target", &self.target).field("fired", &self.fired).finish()
        }
    }

    impl LoseFirstAnswer {
        fn of(operation: &str) -> Self {
            LoseFirstAnswer(Arc::new(LoseState {
                target: operation.to_owned(),
                fired: AtomicBool::new(false),
                between: Mutex::new(None),
            }))
        }

        /// Runs `work` after the first attempt committed and before the SDK retries.
        fn between(self, work: impl FnOnce() + Send + 'static) -> Self {
            *self.0.between.lock().unwrap() = Some(Box::new(work));
            self
        }

        fn fired(&self) -> bool {
            self.0.fired.load(Ordering::SeqCst)
        }
    }

    impl Intercept for LoseFirstAnswer {
        fn name(&self) -> &'static str {
            "LoseFirstAnswer"
        }

        fn modify_before_attempt_completion(
            &self,
            context: &mut FinalizerInterceptorContextMut<'_>,
            _components: &RuntimeComponents,
            cfg: &mut ConfigBag,
        ) -> Result<(), BoxError> {
            let target = cfg.load::<Metadata>().map(Metadata::name).unwrap_or_default();
            let committed = matches!(context.output_or_error(), Some(Ok(_)));
            if target != self.0.target || !committed || self.0.fired.swap(true, Ordering::SeqCst) {
                return Ok(());
            }
            if let Some(work) = self.0.between.lock().unwrap().take() {
                work();
            }
            if let Some(answer) = context.output_or_error_mut() {
                *answer = Err(OrchestratorError::timeout("the answer was lost after the commit".into()));
            }
            Ok(())
        }
    }

    /// `base` (its SMS sender, its clock) on a client that loses the first answer of
    /// `operation`, and retries as production does. Its retry quota is its own: the
    /// SDK shares one per partition across the process, and the other fault test
    /// spends the shared one on timeouts.
    fn losing(env: &TestEnv, base: &Deps, operation: &str) -> (Deps, LoseFirstAnswer) {
        losing_with(env, base, LoseFirstAnswer::of(operation))
    }

    fn losing_with(env: &TestEnv, base: &Deps, lose: LoseFirstAnswer) -> (Deps, LoseFirstAnswer) {
        let config = env
            .client
            .config()
            .to_builder()
            .interceptor(lose.clone())
            .retry_config(RetryConfig::standard().with_max_attempts(3))
            .retry_partition(RetryPartition::new(format!("lost-answer-{}", uuid::Uuid::new_v4())))
            .build();
        let store = Store::new(Client::from_conf(config), env.table.clone());
        (Deps::new(store, env.clock.clone()).with_sms(base.sms.clone()), lose)
    }

    fn otp_item(items: &[Item]) -> &Item {
        items.iter().find(|i| i.get("SK") == Some(&AttributeValue::S("OTP".into()))).expect("the one-time code")
    }

    fn send_otp(t: &Tenant) -> Call {
        Call::new(Route::Otp, t.slug()).key(&t.live).json(&json!({ "mobile": MOBILE }))
    }

    #[tokio::test]
    async fn a_coupon_whose_answer_was_lost_is_used_not_refused() {
        let env = TestEnv::new().await;
        let t = env.tenant("spice-garden").await;
        env.seed_member(&t, MOBILE, "Ravi Kumar", "34").await;
        env.issue_coupon(&t, MOBILE, "200", date(2026, 12, 31), Some("COUP-LOST")).await;
        let (deps, lose) = losing(&env, &env.deps, "UpdateItem");

        let reply = Call::redeem(t.slug()).key(&t.live).json(&json!({ "code": "COUP-LOST" })).send(&deps).await;

        assert!(lose.fired(), "the first answer was lost");
        reply.assert_ok(&json!({
            "valid": true,
            "value": 200,
            "coupon": { "code": "COUP-LOST", "status": "used", "used_at": "2026-03-15T06:30:00Z" }
        }));
        // Used once: anyone else's use is still refused.
        env.redeem(&t, &t.live, "COUP-LOST").await.assert_error(400, "Coupon is used");
    }

    #[tokio::test]
    async fn an_idempotency_claim_whose_answer_was_lost_is_this_requests_own() {
        let env = TestEnv::new().await;
        let t = env.tenant("spice-garden").await;
        env.seed_member(&t, MOBILE, "Ravi Kumar", "34").await;
        env.issue_coupon(&t, MOBILE, "200", date(2026, 12, 31), Some("COUP-IDEM")).await;
        let (deps, lose) = losing(&env, &env.deps, "PutItem");
        let call = Call::redeem(t.slug())
            .key(&t.live)
            .header("Idempotency-Key", "redeem-lost-claim")
            .json(&json!({ "code": "COUP-IDEM" }));

        let reply = call.send(&deps).await;

        assert!(lose.fired(), "the first answer was lost");
        reply.assert_ok(&json!({ "valid": true, "coupon": { "code": "COUP-IDEM", "status": "used" } }));
        // The key now answers with that response.
        let again = call.send(&env.deps).await;
        assert_eq!((again.status, &again.body), (200, &reply.body), "{}", again.text);
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
    }

    #[tokio::test]
    async fn an_otp_whose_answer_was_lost_is_sent_and_counted_once() {
        let env = TestEnv::new().await;
        let t = env.tenant("spice-garden").await;
        env.seed_member(&t, MOBILE, "Ravi Kumar", "500").await;
        let (base, outbox) = env.with_outbox();
        let (deps, lose) = losing(&env, &base, "TransactWriteItems");

        let reply = send_otp(&t).send(&deps).await;

        assert!(lose.fired(), "the first answer was lost");
        reply.assert_ok(&json!({ "sent": true }));
        assert_eq!(outbox.messages().len(), 1, "the code was sent");
        assert_eq!(attr_n(otp_item(&env.scan().await), "window_count"), 1, "and counted once");
    }

    #[tokio::test]
    async fn an_otp_guess_whose_answer_was_lost_takes_one_attempt() {
        let env = TestEnv::new().await;
        let t = env.tenant("spice-garden").await;
        env.seed_member(&t, MOBILE, "Ravi Kumar", "500").await;
        let (base, outbox) = env.with_outbox();
        send_otp(&t).send(&base).await.assert_ok(&json!({ "sent": true }));
        let code = outbox.last_code();
        let wrong = format!("{:06}", (code.parse::<u32>().expect("a numeric code") + 1) % 1_000_000);
        let (deps, lose) = losing(&env, &base, "UpdateItem");

        let reply = Call::bill(t.slug())
            .key(&t.live)
            .json(&json!({ "mobile": MOBILE, "amount": 100, "redeem_points": 1000, "otp": wrong }))
            .send(&deps)
            .await;

        assert!(lose.fired(), "the first answer was lost");
        reply.assert_error(400, "Invalid OTP");
        assert_eq!(attr_n(otp_item(&env.scan().await), "attempts_left"), 4, "one guess, one attempt");
    }

    #[tokio::test]
    async fn an_otp_guess_whose_answer_was_lost_takes_one_attempt_even_with_another_guess_between() {
        let env = TestEnv::new().await;
        let t = env.tenant("spice-garden").await;
        env.seed_member(&t, MOBILE, "Ravi Kumar", "500").await;
        let (base, outbox) = env.with_outbox();
        send_otp(&t).send(&base).await.assert_ok(&json!({ "sent": true }));
        let code = outbox.last_code();
        let wrong = format!("{:06}", (code.parse::<u32>().expect("a numeric code") + 1) % 1_000_000);
        let issued_at_ms = attr_n(otp_item(&env.scan().await), "issued_at_ms");
        let lose =
            LoseFirstAnswer::of("UpdateItem").between(another_guess(env.table.clone(), t.slug.clone(), issued_at_ms));
        let (deps, lose) = losing_with(&env, &base, lose);

        let reply = Call::bill(t.slug())
            .key(&t.live)
            .json(&json!({ "mobile": MOBILE, "amount": 100, "redeem_points": 1000, "otp": wrong }))
            .send(&deps)
            .await;

        assert!(lose.fired(), "the first answer was lost");
        reply.assert_error(400, "Invalid OTP");
        assert_eq!(attr_n(otp_item(&env.scan().await), "attempts_left"), 3, "two guesses, two attempts");
    }

    #[tokio::test]
    async fn a_coupon_issued_with_a_lost_answer_is_issued_once() {
        let env = TestEnv::new().await;
        let t = env.tenant("spice-garden").await;
        env.seed_member(&t, MOBILE, "Ravi Kumar", "34").await;
        let (deps, lose) = losing(&env, &env.deps, "TransactWriteItems");
        let spec = loyalty_admin::CouponSpec {
            mobile: Mobile::parse(MOBILE).unwrap(),
            value: Some(loyalty::domain::Money::parse("200").unwrap()),
            percent: None,
            expires: date(2026, 12, 31),
            code: None,
            source: "campaign".into(),
        };

        let coupon = loyalty_admin::issue_coupon(&deps, &t.slug, spec).await.expect("issued");

        assert!(lose.fired(), "the first answer was lost");
        let codes: Vec<Item> =
            env.scan().await.into_iter().filter(|i| i.get("SK") == Some(&AttributeValue::S("CODE".into()))).collect();
        assert_eq!(codes.len(), 1, "one coupon, not a second with another code: {codes:?}");
        assert_eq!(codes[0].get("code"), Some(&AttributeValue::S(coupon.code.to_string())));
    }

    /// Another cashier's guess at the same code, on a client and a runtime of its own (the
    /// test's runtime is inside the SDK call that lost its answer while this runs).
    fn another_guess(table: String, tenant: TenantSlug, issued_at_ms: i64) -> impl FnOnce() + Send + 'static {
        move || {
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                runtime.block_on(async {
                    let config = aws_sdk_dynamodb::Config::builder()
                        .behavior_version_latest()
                        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
                        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                            "local", "local", None, None, "test",
                        ))
                        .endpoint_url(endpoint())
                        .build();
                    let store = Store::new(Client::from_conf(config), table);
                    let mobile = Mobile::parse(MOBILE).unwrap();
                    assert!(
                        store.take_otp_attempt(&tenant, &mobile, issued_at_ms).await.unwrap(),
                        "the other guess counts"
                    );
                });
            })
            .join()
            .unwrap();
        }
    }
}
