//! One function of each kind beside the dialect routes: a management route (a console
//! session, verified against a JWKS the bench serves), a stream consumer (a batch of a
//! bill's stream records) and the scheduled job (an EventBridge event, members due
//! seeded before each run). Each through the runtime API stand-in like the routes: the
//! DynamoDB calls of its first and of a warm invocation (counted at the proxy), init
//! and first response against hello-world's, warm p50/p99, peak memory.
//!
//! [`measured`] is the list of binaries the bench needs (the routes of
//! `scenarios::endpoints`, these, hello-world): `scripts/bench` builds exactly that
//! (`loyalty-bench --list-functions`) and the report prints it.

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use loyalty::auth::Caller;
use loyalty::deps::FixedClock;
use loyalty::domain::TenantSlug;
use loyalty::keys::KeyMode;
use loyalty::program::Program;
use loyalty::store::Store;
use loyalty::Deps;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::capacity::{self, Units};
use crate::error::Error;
use crate::proxy::{round_trip_groups, Call, Proxy};
use crate::replay::Replay;
use crate::report::percentile_unsorted as p;
use crate::results::{calls_in_rounds, ms, FunctionResult, HELLO};
use crate::runtime::{spawn_bootstrap, wait_first_poll, FunctionEnv, Group, Outcome};

/// Init within this many times hello-world's.
pub const KIND_INIT_RATIO: f64 = 2.0;
/// First response within hello-world's + the raw time of its DynamoDB calls + this.
pub const KIND_FIRST_SLACK_MS: f64 = 2.0;
/// Members due seeded before each run of the scheduled job.
pub const DUE_PER_RUN: usize = 5;
/// Warm runs of the scheduled job at most (each needs its members seeded first).
pub const JOB_WARM_MAX: usize = 30;

const INVOKE_LIMIT: Duration = Duration::from_secs(30);
const POLL_LIMIT: Duration = Duration::from_secs(30);
const RAW_COLD_RUNS: usize = 20;
const ISSUER_PATH: &str = "bench_pool";
const CLIENT: &str = "bench-console";
const KID: &str = "bench-key";
const DUE_TENANT: &str = "bench-due";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Management,
    Stream,
    Schedule,
}

pub struct KindFunction {
    pub kind: Kind,
    pub function: &'static str,
    pub route: &'static str,
    pub event: &'static str,
    /// The function's timeout in infra/template.yaml (the scheduled job's run budget
    /// is its deadline less a margin).
    pub timeout: Duration,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Management => "management route",
            Kind::Stream => "stream consumer",
            Kind::Schedule => "scheduled job",
        }
    }
}

/// The functions of the other kinds the bench measures.
pub fn kinds() -> Vec<KindFunction> {
    vec![
        KindFunction {
            kind: Kind::Management,
            function: "admin-members",
            route: "GET /v1/admin/members",
            event: "the owner's console session (RS256 ID token), `?q=` a member's mobile",
            timeout: Duration::from_secs(10),
        },
        KindFunction {
            kind: Kind::Stream,
            function: "stream-events",
            route: "DynamoDB stream",
            event: "one batch: `events/stream-events/bill-and-voucher.json` (a bill's profile and sale item, a voucher used), one webhook endpoint subscribed",
            timeout: Duration::from_secs(10),
        },
        KindFunction {
            kind: Kind::Schedule,
            function: "expiry-job",
            route: "EventBridge schedule",
            event: "the daily scheduled event; 5 members with points due seeded before each run",
            timeout: Duration::from_secs(900),
        },
    ]
}

fn wanted(only: &[String], name: &str) -> bool {
    only.is_empty() || only.iter().any(|o| o == name)
}

/// The kinds `--only` selects (all without it).
pub fn selected(only: &[String]) -> Vec<KindFunction> {
    kinds().into_iter().filter(|k| wanted(only, k.function)).collect()
}

/// Every binary a run with `--only` (empty: all) measures, hello-world last: what
/// `scripts/bench` builds in release.
pub fn measured(only: &[String]) -> Vec<&'static str> {
    let mut names: Vec<&'static str> =
        crate::scenarios::endpoints().iter().map(|e| e.function).filter(|f| wanted(only, f)).collect();
    names.extend(selected(only).iter().map(|k| k.function));
    names.push(HELLO);
    names
}

/// What the bench hands over to measure the kinds.
pub struct KindsCtx {
    pub root: PathBuf,
    pub bin_dir: PathBuf,
    pub run_dir: PathBuf,
    pub table: String,
    pub ddb: SocketAddr,
    pub raw: Client,
    pub hold: Duration,
    /// The demo tenant (`seed-demo`).
    pub tenant: String,
}

pub struct KindResult {
    pub kind: Kind,
    pub function: String,
    pub route: String,
    pub event: String,
    pub size_bytes: Option<u64>,
    pub init_calls: Vec<Call>,
    pub cold_calls: Vec<Call>,
    pub warm_calls: Vec<Call>,
    /// What the warm counted invocation answered (a summary of its result).
    pub warm_answer: String,
    pub init_ms: Vec<f64>,
    pub first_ms: Vec<f64>,
    pub warm_ms: Vec<f64>,
    pub raw_cold_ms: Vec<f64>,
    pub vm_hwm_kib: Option<u64>,
    pub errors: Vec<String>,
}

impl KindResult {
    fn units(calls: &[Call]) -> Units {
        let after = HashMap::new();
        let mut u = Units::default();
        let mut keys_only = capacity::KeysOnly::default();
        for c in calls {
            u += capacity::units(c, &after);
            u.wru += keys_only.step(c);
        }
        u
    }

    fn ops(calls: &[Call]) -> String {
        let groups = round_trip_groups(calls);
        if groups.is_empty() {
            return "—".into();
        }
        if groups.len() > 6 {
            // A job's hundreds of calls: by operation, in order of first use.
            let mut counts: Vec<(String, usize)> = Vec::new();
            for c in calls {
                let what = c.what();
                match counts.iter_mut().find(|(w, _)| *w == what) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((what, 1)),
                }
            }
            return counts.iter().map(|(w, n)| format!("{w} ×{n}")).collect::<Vec<_>>().join(", ");
        }
        calls_in_rounds(calls)
    }
}

/// Serves a JWKS with the public half of the test session key, as a user pool does.
struct Jwks {
    issuer: String,
    task: JoinHandle<()>,
}

impl Drop for Jwks {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Jwks {
    async fn start(n: &str) -> Result<Jwks, Error> {
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| format!("JWKS bind: {e}"))?;
        let addr = listener.local_addr().map_err(|e| format!("JWKS addr: {e}"))?;
        let body = Bytes::from(
            json!({ "keys": [{ "kty": "RSA", "alg": "RS256", "use": "sig", "kid": KID, "n": n.trim(), "e": "AQAB" }] })
                .to_string(),
        );
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let body = body.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |_req: Request<hyper::body::Incoming>| {
                        let mut resp = Response::new(Full::new(body.clone()));
                        if let Ok(v) = "application/json".parse() {
                            resp.headers_mut().insert("content-type", v);
                        }
                        async move { Ok::<_, Infallible>(resp) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Jwks { issuer: format!("http://{addr}/{ISSUER_PATH}"), task })
    }
}

/// Builds each invocation's event.
struct Events {
    root: PathBuf,
    tenant: String,
    issuer: String,
    key: EncodingKey,
    token: Option<(Instant, String)>,
    due: Option<(Deps, Caller)>,
    due_next: usize,
    run: String,
}

impl Events {
    fn sample(&self, function: &str, file: &str) -> Result<String, Error> {
        let path = self.root.join("events").join(function).join(file);
        std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()).into())
    }

    /// An owner's ID token, signed afresh every five minutes (sessions live 15).
    fn token(&mut self) -> Result<String, Error> {
        if let Some((at, t)) = &self.token {
            if at.elapsed() < Duration::from_secs(300) {
                return Ok(t.clone());
            }
        }
        let now = chrono::Utc::now().timestamp();
        let claims = json!({
            "sub": "bench-owner",
            "iss": self.issuer,
            "aud": CLIENT,
            "token_use": "id",
            "iat": now - 5,
            "exp": now + 3_600,
            "email": format!("owner@{}.example", self.tenant),
            "custom:tenant": self.tenant,
            "cognito:groups": ["owner"],
        });
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(KID.into());
        let t = jsonwebtoken::encode(&header, &claims, &self.key).map_err(|e| format!("session token: {e}"))?;
        self.token = Some((Instant::now(), t.clone()));
        Ok(t)
    }

    /// Members of their own tenant, enrolled by a bill 90 days ago with points kept one
    /// month: due now.
    async fn seed_due(&mut self, ddb: SocketAddr, table: &str, count: usize) -> Result<(), Error> {
        if self.due.is_none() {
            let store = Store::new(crate::ddb::client(ddb).await, table.to_owned());
            let clock = Arc::new(FixedClock::new(chrono::Utc::now() - chrono::Duration::days(90)));
            let deps = Deps::new(store, clock);
            let tenant = TenantSlug::parse(DUE_TENANT).map_err(|e| format!("tenant: {e}"))?;
            let program = Program { points_expiry_months: Some(1), ..loyalty_admin::demo_program() };
            loyalty_admin::create_tenant(&deps, &tenant, &program).await.map_err(|e| format!("tenant: {e}"))?;
            let caller = Caller { tenant, key_id: "loyalty-bench".into(), mode: KeyMode::Live };
            self.due = Some((deps, caller));
        }
        let Some((deps, caller)) = &self.due else { return Err("no tenant for members due".into()) };
        for _ in 0..count {
            crate::scenarios::seed_member(deps, caller, self.due_next, &self.run).await?;
            self.due_next += 1;
        }
        Ok(())
    }

    async fn build(&mut self, kind: Kind, function: &str, cx: &KindsCtx) -> Result<Value, Error> {
        match kind {
            Kind::Management => {
                let text = self.sample(function, "ok.json")?.replace("{{OWNER_TOKEN}}", &self.token()?);
                serde_json::from_str(&text).map_err(|e| format!("{function} event: {e}").into())
            }
            Kind::Stream => {
                let text = self.sample(function, "bill-and-voucher.json")?.replace("spice-garden", &self.tenant);
                let mut event: Value = serde_json::from_str(&text).map_err(|e| format!("{function} event: {e}"))?;
                // Every invocation a new batch: new event ids, so new deliveries.
                if let Some(records) = event.get_mut("Records").and_then(Value::as_array_mut) {
                    for r in records {
                        r["eventID"] = Value::String(uuid::Uuid::new_v4().simple().to_string());
                    }
                }
                Ok(event)
            }
            Kind::Schedule => {
                self.seed_due(cx.ddb, &cx.table, DUE_PER_RUN).await?;
                let mut event: Value = serde_json::from_str(&self.sample(function, "daily.json")?)
                    .map_err(|e| format!("{function} event: {e}"))?;
                event["id"] = Value::String(uuid::Uuid::new_v4().to_string());
                event["time"] = Value::String(chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string());
                Ok(event)
            }
        }
    }
}

/// A failure in what the function answered, if any.
fn check(kind: Kind, outcome: &Outcome) -> Option<String> {
    if outcome.runtime_error {
        return Some(format!("runtime error: {}", outcome.body_excerpt()));
    }
    match kind {
        Kind::Management => (outcome.status() != Some(200))
            .then(|| format!("status {:?}: {}", outcome.status(), outcome.body_excerpt())),
        Kind::Stream => {
            let failures = outcome.response.get("batchItemFailures").and_then(Value::as_array).map_or(0, Vec::len);
            (failures > 0).then(|| format!("{failures} batch item failure(s)"))
        }
        Kind::Schedule => None,
    }
}

fn answer(kind: Kind, outcome: &Outcome) -> String {
    match kind {
        Kind::Management => {
            let members =
                serde_json::from_str::<Value>(outcome.response.get("body").and_then(Value::as_str).unwrap_or_default())
                    .ok()
                    .and_then(|b| b.get("members").and_then(Value::as_array).map(Vec::len));
            format!("{}, {} member(s)", outcome.status().unwrap_or(0), members.unwrap_or(0))
        }
        Kind::Stream => "batch handled".into(),
        Kind::Schedule => {
            let members = outcome.response.get("members").and_then(Value::as_u64).unwrap_or(0);
            format!("{members} member(s) expired")
        }
    }
}

async fn setup_stream(cx: &KindsCtx) -> Result<(), Error> {
    let log = cx.run_dir.join("kinds-admin.log");
    crate::bench::admin(
        &cx.bin_dir,
        cx.ddb,
        &cx.table,
        &["webhook", "add", "--tenant", &cx.tenant, "--url", "https://hooks.example.com/loyalty-bench"],
        &log,
    )
    .await?;
    Ok(())
}

/// Measures `which` (from [`selected`]): counting pass, `cold` fresh processes, `warm`
/// invocations on the last one.
pub async fn measure(
    cx: &KindsCtx,
    which: &[KindFunction],
    cold: usize,
    warm: usize,
) -> Result<Vec<KindResult>, Error> {
    if which.is_empty() {
        return Ok(vec![]);
    }
    let fixtures = cx.root.join("tests/fixtures");
    let read = |f: &str| std::fs::read(fixtures.join(f)).map_err(|e| format!("tests/fixtures/{f}: {e}"));
    let key = EncodingKey::from_rsa_der(&read("session-key.der")?);
    let n = String::from_utf8_lossy(&read("session-key.n")?).into_owned();
    let jwks = Jwks::start(&n).await?;
    let mut events = Events {
        root: cx.root.clone(),
        tenant: cx.tenant.clone(),
        issuer: jwks.issuer.clone(),
        key,
        token: None,
        due: None,
        due_next: 0,
        run: chrono::Utc::now().format("%H%M%S").to_string(),
    };
    if which.iter().any(|k| k.kind == Kind::Stream) {
        setup_stream(cx).await?;
    }
    let mut out = Vec::new();
    let mut instance = 0usize;
    for k in which {
        let mut r = KindResult {
            kind: k.kind,
            function: k.function.to_owned(),
            route: k.route.to_owned(),
            event: k.event.to_owned(),
            size_bytes: crate::sys::file_size(&cx.bin_dir.join(k.function)),
            init_calls: vec![],
            cold_calls: vec![],
            warm_calls: vec![],
            warm_answer: String::new(),
            init_ms: vec![],
            first_ms: vec![],
            warm_ms: vec![],
            raw_cold_ms: vec![],
            vm_hwm_kib: None,
            errors: vec![],
        };
        let session_env = [("LOYALTY_SESSION_ISSUER", jwks.issuer.as_str()), ("LOYALTY_SESSION_CLIENT_ID", CLIENT)];
        let extra: &[(&str, &str)] = if k.kind == Kind::Management { &session_env } else { &[] };
        let mut spawn = |addr: SocketAddr, dynamodb: SocketAddr| {
            instance += 1;
            let log = cx.run_dir.join(format!("{}-k{instance:03}.log", k.function));
            spawn_bootstrap(
                &cx.bin_dir.join(k.function),
                k.function,
                addr,
                Some(&FunctionEnv { table: &cx.table, dynamodb }),
                &log,
                instance,
                extra,
            )
        };

        // The counting pass: init, the first invocation and one warm, through the proxy.
        {
            let proxy = Proxy::start(cx.ddb, cx.hold).await?;
            let group = Group::with_timeout(k.function, k.timeout);
            let endpoint = group.endpoint().await?;
            let mut child = spawn(endpoint.addr, proxy.addr)?;
            wait_first_poll(&mut child, &endpoint.state, POLL_LIMIT).await?;
            r.init_calls = proxy.log.take();
            for warm_pass in [false, true] {
                let event = events.build(k.kind, k.function, cx).await?;
                proxy.log.take();
                let outcome = group.invoke_on(&mut child, &event, INVOKE_LIMIT).await?;
                if let Some(e) = check(k.kind, &outcome) {
                    r.errors.push(format!("{} counted: {e}", k.function));
                }
                if warm_pass {
                    r.warm_calls = proxy.log.take();
                    r.warm_answer = answer(k.kind, &outcome);
                } else {
                    r.cold_calls = proxy.log.take();
                }
            }
        }
        let mut cold_path = r.init_calls.clone();
        cold_path.extend(r.cold_calls.iter().cloned());
        match Replay::prepare(&cold_path, &cx.raw, &format!("{}-kc", k.function), RAW_COLD_RUNS as u64 + 2).await {
            Ok(replay) => {
                for _ in 0..RAW_COLD_RUNS {
                    r.raw_cold_ms.push(ms(replay.run_once(&cx.raw).await?));
                }
            }
            Err(e) => r.errors.push(format!("{}: raw replay of the cold path: {e}", k.function)),
        }

        // Cold starts; the warm run on the last process.
        let warm = if k.kind == Kind::Schedule { warm.min(JOB_WARM_MAX) } else { warm };
        for i in 0..cold.max(1) {
            let group = Group::with_timeout(k.function, k.timeout);
            let endpoint = group.endpoint().await?;
            let event = events.build(k.kind, k.function, cx).await?;
            let mut child = spawn(endpoint.addr, cx.ddb)?;
            let outcome = group.invoke_on(&mut child, &event, POLL_LIMIT + INVOKE_LIMIT).await?;
            let poll = (*endpoint.state.first_poll.lock().unwrap_or_else(|e| e.into_inner()))
                .ok_or_else(|| format!("{}: answered without a recorded poll", k.function))?;
            r.init_ms.push(ms(poll.saturating_duration_since(child.spawned_at)));
            r.first_ms.push(ms(outcome.responded.saturating_duration_since(child.spawned_at)));
            if let Some(e) = check(k.kind, &outcome) {
                r.errors.push(format!("{} cold: {e}", k.function));
            }
            if i + 1 < cold.max(1) {
                continue;
            }
            let mut failures = 0usize;
            for _ in 0..warm {
                let event = events.build(k.kind, k.function, cx).await?;
                let outcome = group.invoke_on(&mut child, &event, INVOKE_LIMIT).await?;
                if let Some(e) = check(k.kind, &outcome) {
                    failures += 1;
                    if failures <= 3 {
                        r.errors.push(format!("{} warm: {e}", k.function));
                    }
                }
                r.warm_ms.push(ms(outcome.duration()));
            }
            r.vm_hwm_kib = crate::sys::vm_hwm_kib(child.pid());
        }
        crate::bench::say(format!(
            "{:<26} ({}) warm p50 {:.2} ms, init {:.1} ms, first response {:.1} ms{}",
            r.function,
            k.kind.label(),
            p(&r.warm_ms, 50.0),
            p(&r.init_ms, 50.0),
            p(&r.first_ms, 50.0),
            if r.errors.is_empty() { String::new() } else { format!("  [{} error(s)]", r.errors.len()) }
        ));
        out.push(r);
    }
    drop(jwks);
    Ok(out)
}

/// Hello-world's init and first response p50, the targets of a function.
fn targets(r: &KindResult, hello: &FunctionResult) -> (f64, bool, f64, bool) {
    let init_ratio = p(&r.init_ms, 50.0) / p(&hello.cold_init_ms, 50.0).max(1e-9);
    let budget = p(&hello.cold_first_ms, 50.0) + p(&r.raw_cold_ms, 50.0) + KIND_FIRST_SLACK_MS;
    (init_ratio, init_ratio <= KIND_INIT_RATIO, budget, p(&r.first_ms, 50.0) <= budget)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// BENCHMARKS.md's section on the other kinds, and the list of what was built.
pub fn markdown(results: &[KindResult], hello: &FunctionResult, built: &[&str]) -> String {
    let mut out = String::new();
    if results.is_empty() {
        let _ = writeln!(out, "{}", built_line(built));
        return out;
    }
    let _ = writeln!(out, "## One function of each other kind\n");
    let _ = writeln!(
        out,
        "Beside the dialect routes, one management route, one stream consumer and one scheduled job, started \
         and invoked through the same runtime API stand-in with their own events. *RT* are DynamoDB round \
         trips counted at the proxy (init / first invocation / a warm one); capacity units of the warm \
         invocation by the documented rules, items taken as under 1 KB. Targets, as for every function: init \
         ≤ {KIND_INIT_RATIO}× hello-world's ({:.1} ms); first response ≤ hello-world's ({:.1} ms) + the raw \
         time of that cold path's DynamoDB calls + {KIND_FIRST_SLACK_MS} ms. The management route verifies \
         an RS256 console session against a JWKS the bench serves on loopback (fetched once, at the first \
         request, as from the user pool).\n",
        p(&hello.cold_init_ms, 50.0),
        p(&hello.cold_first_ms, 50.0),
    );
    let verdicts: Vec<(bool, bool)> = results.iter().map(|r| targets(r, hello)).map(|t| (t.1, t.3)).collect();
    let _ = writeln!(
        out,
        "Targets met: init {} of {}, first response {} of {}.\n",
        verdicts.iter().filter(|v| v.0).count(),
        verdicts.len(),
        verdicts.iter().filter(|v| v.1).count(),
        verdicts.len()
    );
    out.push_str(
        "| kind | function | event | RT init / first / warm | warm calls | RRU / WRU warm | warm answer |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for r in results {
        let u = KindResult::units(&r.warm_calls);
        let _ = writeln!(
            out,
            "| {} | `{}` ({}) | {} | {} / {} / {} | {} | {:.1} / {:.1} | {} |",
            r.kind.label(),
            r.function,
            r.route,
            r.event,
            round_trip_groups(&r.init_calls).len(),
            round_trip_groups(&r.cold_calls).len(),
            round_trip_groups(&r.warm_calls).len(),
            KindResult::ops(&r.warm_calls),
            u.rru,
            u.wru,
            r.warm_answer,
        );
    }
    out.push_str(
        "\n| function | init ms | ÷ hello | within | first response ms | raw cold calls ms | budget ms | within | warm p50 ms | warm p99 ms | n | peak MiB | size MiB |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let yes = |b: bool| if b { "yes" } else { "**no**" };
    for r in results {
        let (ratio, init_ok, budget, first_ok) = targets(r, hello);
        let _ = writeln!(
            out,
            "| `{}` | {:.1} | {:.2}× | {} | {:.1} | {:.2} | {:.1} | {} | {:.2} | {:.2} | {} | {:.1} | {:.1} |",
            r.function,
            p(&r.init_ms, 50.0),
            ratio,
            yes(init_ok),
            p(&r.first_ms, 50.0),
            p(&r.raw_cold_ms, 50.0),
            budget,
            yes(first_ok),
            p(&r.warm_ms, 50.0),
            p(&r.warm_ms, 99.0),
            r.warm_ms.len(),
            r.vm_hwm_kib.map_or(0.0, mib),
            r.size_bytes.unwrap_or(0) as f64 / 1_048_576.0,
        );
    }
    let errors: Vec<&String> = results.iter().flat_map(|r| r.errors.iter()).collect();
    if !errors.is_empty() {
        out.push_str("\nUnexpected answers:\n\n");
        for e in errors {
            let _ = writeln!(out, "- {e}");
        }
    }
    let _ = writeln!(out, "\n{}", built_line(built));
    out
}

fn built_line(built: &[&str]) -> String {
    format!(
        "Built for this run, in release, only what it measures ({} binaries; `loyalty-bench --list-functions` is \
         the list `scripts/bench` builds): {}.\n",
        built.len(),
        built.iter().map(|b| format!("`{b}`")).collect::<Vec<_>>().join(", ")
    )
}

/// The console lines of the kinds.
pub fn console(results: &[KindResult], hello: &FunctionResult) -> String {
    let mut out = String::new();
    for r in results {
        let (ratio, init_ok, budget, first_ok) = targets(r, hello);
        let _ = writeln!(
            out,
            "{:<16} {:<14} RT {}/{}/{}  warm p50 {:.2} p99 {:.2} ms  init {:.1} ms ({ratio:.2}x hello{})  first {:.1} ms (budget {budget:.1}{})  {:.1} MiB",
            r.kind.label(),
            r.function,
            round_trip_groups(&r.init_calls).len(),
            round_trip_groups(&r.cold_calls).len(),
            round_trip_groups(&r.warm_calls).len(),
            p(&r.warm_ms, 50.0),
            p(&r.warm_ms, 99.0),
            p(&r.init_ms, 50.0),
            if init_ok { "" } else { " MISSED" },
            p(&r.first_ms, 50.0),
            if first_ok { "" } else { " MISSED" },
            r.vm_hwm_kib.map_or(0.0, mib),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn the_build_list_is_every_measured_function_and_hello_world() {
        let all = measured(&[]);
        assert_eq!(all.len(), crate::scenarios::endpoints().len() + kinds().len() + 1);
        assert_eq!(all.last(), Some(&HELLO));
        for k in ["admin-members", "stream-events", "expiry-job", "pos-bill"] {
            assert!(all.contains(&k), "{k}");
        }
        let only = measured(&["expiry-job".to_owned()]);
        assert_eq!(only, vec!["expiry-job", HELLO]);
    }

    #[test]
    fn every_kind_has_its_sample_event() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        for (f, file) in
            [("admin-members", "ok.json"), ("stream-events", "bill-and-voucher.json"), ("expiry-job", "daily.json")]
        {
            assert!(root.join("events").join(f).join(file).is_file(), "{f}/{file}");
        }
        assert!(root.join("tests/fixtures/session-key.der").is_file());
    }

    #[test]
    fn each_function_is_of_its_kind() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        for k in kinds() {
            let manifest = std::fs::read_to_string(root.join("functions").join(k.function).join("Cargo.toml")).unwrap();
            match k.kind {
                Kind::Management => assert!(manifest.contains("\"console\""), "{}", k.function),
                Kind::Stream => assert!(manifest.contains("kind = \"stream\""), "{}", k.function),
                Kind::Schedule => assert!(manifest.contains("kind = \"schedule\""), "{}", k.function),
            }
        }
    }
}
