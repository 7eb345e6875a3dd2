//! The run: DynamoDB Local and a table of its own, demo data and fixtures, then per
//! function the counting pass (through the proxy), the cold starts, the warm run beside
//! raw replays, and at the end the bills-per-second measurement; then the report.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use loyalty::store::Store;
use loyalty::Deps;

use crate::args::Args;
use crate::capacity::{self, ItemInfo, Units};
use crate::ddb::{self, DynamoLocal};
use crate::error::Error;
use crate::procs::{self, Child};
use crate::proxy::{round_trip_groups, Call, Proxy};
use crate::replay::{self, Replay};
use crate::results::{ms, FunctionResult, InitSplit, Machine, PathResult, Results, ThroughputResult, Timeline, HELLO};
use crate::runtime::{spawn_bootstrap, wait_first_poll, FunctionEnv, Group, Outcome};
use crate::scenarios::{endpoints, CaptureSms, Endpoint, Events, Fixtures, Scenario, Seed};
use crate::{report, sys};

const INVOKE_LIMIT: Duration = Duration::from_secs(15);
const POLL_LIMIT: Duration = Duration::from_secs(30);
/// Raw replays of the cold path per function.
const RAW_COLD_RUNS: usize = 30;
struct Ctx {
    bin_dir: PathBuf,
    run_dir: PathBuf,
    table: String,
    ddb: SocketAddr,
    ddb_pid: u32,
    raw: Client,
    events: Arc<tokio::sync::Mutex<Events>>,
    hold: Duration,
    instance: usize,
    signature_errors: u64,
    proxied_calls: u64,
}

impl Ctx {
    fn log(&mut self, name: &str) -> PathBuf {
        self.instance += 1;
        self.run_dir.join(format!("{name}-{:04}.log", self.instance))
    }

    fn binary(&self, function: &str) -> PathBuf {
        self.bin_dir.join(function)
    }

    fn env(&self, dynamodb: SocketAddr) -> FunctionEnvOwned {
        FunctionEnvOwned { table: self.table.clone(), dynamodb }
    }

    async fn event(&self, function: &str, scenario: &str) -> Result<serde_json::Value, Error> {
        self.events.lock().await.build(function, scenario).await
    }
}

struct FunctionEnvOwned {
    table: String,
    dynamodb: SocketAddr,
}

impl FunctionEnvOwned {
    fn borrow(&self) -> FunctionEnv<'_> {
        FunctionEnv { table: &self.table, dynamodb: self.dynamodb }
    }
}

pub(crate) fn say(text: impl AsRef<str>) {
    println!("==> {}", text.as_ref());
}

/// Sizes, after the invocation, of the items its writes updated.
async fn sizes_after(raw: &Client, calls: &[Call]) -> HashMap<String, ItemInfo> {
    let mut out = HashMap::new();
    for call in calls {
        let table = call
            .request
            .get("TableName")
            .and_then(|t| t.as_str())
            .map(str::to_owned)
            .or_else(|| {
                call.request
                    .pointer("/TransactItems/0")
                    .and_then(|ti| ti.as_object())
                    .and_then(|o| o.values().next())
                    .and_then(|w| w.get("TableName"))
                    .and_then(|t| t.as_str())
                    .map(str::to_owned)
            })
            .unwrap_or_default();
        for key in capacity::updated_keys(call) {
            let (Some(id), Ok(key_item)) = (capacity::key_id(&key), replay::item(&key)) else { continue };
            if let Ok(found) =
                raw.get_item().table_name(&table).set_key(Some(key_item)).consistent_read(true).send().await
            {
                if let Some(item) = found.item() {
                    out.insert(id, capacity::info_of(item));
                }
            }
        }
    }
    out
}

async fn path_result(raw: &Client, s: &Scenario, label: String, outcome: &Outcome, calls: Vec<Call>) -> PathResult {
    let after = sizes_after(raw, &calls).await;
    let mut units = Units::default();
    let mut reported: Option<f64> = None;
    let mut written = Vec::new();
    let mut keys_only = capacity::KeysOnly::default();
    for c in &calls {
        if c.error_type().is_none() {
            written.extend(capacity::written(c, &after));
        }
        units += capacity::units(c, &after);
        units.wru += keys_only.step(c);
        if let Some(r) = c.reported_units() {
            *reported.get_or_insert(0.0) += r;
        }
    }
    PathResult {
        id: s.id,
        label,
        worst: s.worst,
        doc_rt: s.doc_rt,
        doc: s.doc.to_owned(),
        expected_status: s.status,
        status: outcome.status(),
        replayed: outcome.header("idempotent-replayed").is_some_and(|v| v == "true"),
        round_trips: round_trip_groups(&calls).len(),
        calls,
        units,
        reported,
        written,
    }
}

fn check(function: &str, what: &str, expected: u16, outcome: &Outcome) -> Result<(), String> {
    if outcome.runtime_error {
        return Err(format!("{function} {what}: runtime error: {}", outcome.body_excerpt()));
    }
    match outcome.status() {
        Some(s) if s == expected => Ok(()),
        other => Err(format!("{function} {what}: status {other:?}, expected {expected}: {}", outcome.body_excerpt())),
    }
}

/// The counting pass: one process through the proxy; init, the first (cold) request,
/// then each path once, warm. Returns the captures of the warm `ok` and of the cold
/// path (init and first request) for the raw replays.
async fn count(ctx: &mut Ctx, ep: &Endpoint, result: &mut FunctionResult) -> Result<(Vec<Call>, Vec<Call>), Error> {
    let function = ep.function;
    let proxy = Proxy::start(ctx.ddb, ctx.hold).await?;
    let group = Group::new(function);
    let endpoint = group.endpoint().await?;
    let log = ctx.log(function);
    let env = ctx.env(proxy.addr);
    let mut child =
        spawn_bootstrap(&ctx.binary(function), function, endpoint.addr, Some(&env.borrow()), &log, ctx.instance, &[])?;
    let poll = wait_first_poll(&mut child, &endpoint.state, POLL_LIMIT).await?;
    let init_calls = proxy.log.take();
    if let (Some(first), Some(last)) = (init_calls.first(), init_calls.iter().map(|c| c.end).max()) {
        // The calls' own time, without the proxy's hold (calls side by side count once).
        let busy = crate::proxy::busy_time(&init_calls);
        result.init_split = InitSplit {
            before_ms: ms(first.start.saturating_duration_since(child.spawned_at)),
            warmup_ms: ms(busy),
            after_ms: ms(poll.saturating_duration_since(last)),
        };
    }
    result.init_calls = init_calls.clone();

    let ok = &ep.scenarios[0];
    let event = ctx.event(function, ok.id).await?;
    let outcome = group.invoke_on(&mut child, &event, INVOKE_LIMIT).await?;
    let cold_calls = proxy.log.take();
    result.cold_timeline = Timeline::of(&outcome, &cold_calls);
    if let Err(e) = check(function, "first request", ok.status, &outcome) {
        result.errors.push(e);
    }
    let mut cold = path_result(&ctx.raw, ok, format!("cold: {}", ok.label), &outcome, cold_calls.clone()).await;
    cold.worst = false;
    // A Partner path names the tenant and a Public key's text does, so the key and the
    // program are read at once: one round trip over the warm path.
    cold.doc_rt = ok.doc_rt + 1;
    cold.doc = format!("+ {}", if ep.reads_program { "[GetItem key ‖ Query program]" } else { "GetItem key" });
    result.cold_first = Some(cold);

    let mut warm_ok = Vec::new();
    for s in &ep.scenarios {
        let event = ctx.event(function, s.id).await?;
        let outcome = group.invoke_on(&mut child, &event, INVOKE_LIMIT).await?;
        let calls = proxy.log.take();
        if let Err(e) = check(function, s.id, s.status, &outcome) {
            result.errors.push(e);
        }
        if s.id == "ok" {
            warm_ok = calls.clone();
            result.warm_timeline = Timeline::of(&outcome, &calls);
        }
        result.paths.push(path_result(&ctx.raw, s, s.label.to_owned(), &outcome, calls).await);
    }
    ctx.signature_errors += proxy.log.signature_errors();
    ctx.proxied_calls += (result.init_calls.len() + cold_calls.len()) as u64
        + result.paths.iter().map(|p| p.calls.len() as u64).sum::<u64>();
    drop(child);
    drop(endpoint);
    let mut cold_path = init_calls;
    cold_path.extend(cold_calls);
    Ok((warm_ok, cold_path))
}

/// Cold starts, then the warm run on the last process, each invocation beside one raw
/// replay of the same calls (none for the hello-world function).
async fn latency(
    ctx: &mut Ctx,
    function: &str,
    cold: usize,
    warm: usize,
    replay: Option<&Replay>,
    result: &mut FunctionResult,
) -> Result<(), Error> {
    for k in 0..cold.max(1) {
        let group = Group::new(function);
        let endpoint = group.endpoint().await?;
        let log = ctx.log(function);
        let env = ctx.env(ctx.ddb);
        let env = (function != HELLO).then(|| env.borrow());
        // The event is queued before the start, so the first poll gets it at once.
        let event = ctx.event(function, "ok").await?;
        let mut child =
            spawn_bootstrap(&ctx.binary(function), function, endpoint.addr, env.as_ref(), &log, ctx.instance, &[])?;
        let outcome = group.invoke_on(&mut child, &event, POLL_LIMIT + INVOKE_LIMIT).await?;
        let poll = (*endpoint.state.first_poll.lock().unwrap_or_else(|e| e.into_inner()))
            .ok_or_else(|| format!("{function}: answered without a recorded poll"))?;
        result.cold_init_ms.push(ms(poll.saturating_duration_since(child.spawned_at)));
        if let Err(e) = check(function, "cold request", 200, &outcome) {
            result.errors.push(e);
        }
        result.cold_first_ms.push(ms(outcome.responded.saturating_duration_since(child.spawned_at)));
        result.cold_request_ms.push(ms(outcome.duration()));
        if k + 1 < cold.max(1) {
            continue;
        }
        let cpu_before = sys::cpu_time_precise_ms(child.pid());
        let mut raw_cpu = 0.0;
        let log_before = sys::file_size(&log);
        let mut failures = 0usize;
        for _ in 0..warm {
            let event = ctx.event(function, "ok").await?;
            let outcome = group.invoke_on(&mut child, &event, INVOKE_LIMIT).await?;
            if let Err(e) = check(function, "warm request", 200, &outcome) {
                failures += 1;
                if failures <= 3 {
                    result.errors.push(e);
                }
            }
            result.warm_ms.push(ms(outcome.duration()));
            if let Some(replay) = replay {
                let cpu = sys::self_cpu_ms();
                result.raw_ms.push(ms(replay.run_once(&ctx.raw).await?));
                raw_cpu += sys::self_cpu_ms() - cpu;
            }
        }
        if failures > 3 {
            result.errors.push(format!("{function}: {failures} of {warm} warm requests failed"));
        }
        if let (Some(a), Some(b)) = (cpu_before, sys::cpu_time_precise_ms(child.pid())) {
            result.cpu_ms_per_invocation = Some((b - a) / warm.max(1) as f64);
        }
        if replay.is_some() {
            result.raw_cpu_ms_per_replay = Some(raw_cpu / warm.max(1) as f64);
        }
        result.vm_hwm_kib = sys::vm_hwm_kib(child.pid());
        if let (Some(a), Some(b)) = (log_before, sys::file_size(&log)) {
            result.log_bytes_per_request = Some(b.saturating_sub(a) as f64 / warm.max(1) as f64);
        }
        drop(child);
        drop(endpoint);
    }
    if function != HELLO {
        init_without_certificates(ctx, function, cold, result).await?;
    }
    Ok(())
}

/// Cold inits with the system's root certificates out of the SDK's sight: the
/// certificates are only needed for TLS, which DynamoDB Local does not use.
async fn init_without_certificates(
    ctx: &mut Ctx,
    function: &str,
    cold: usize,
    result: &mut FunctionResult,
) -> Result<(), Error> {
    let empty = ctx.run_dir.join("no-certificates");
    std::fs::create_dir_all(&empty).map_err(|e| format!("{}: {e}", empty.display()))?;
    let empty = empty.to_string_lossy().into_owned();
    for _ in 0..cold.max(1) {
        let group = Group::new(function);
        let endpoint = group.endpoint().await?;
        let log = ctx.log(function);
        let env = ctx.env(ctx.ddb);
        let extra = [("SSL_CERT_FILE", "/dev/null"), ("SSL_CERT_DIR", empty.as_str())];
        let mut child = spawn_bootstrap(
            &ctx.binary(function),
            function,
            endpoint.addr,
            Some(&env.borrow()),
            &log,
            ctx.instance,
            &extra,
        )?;
        let poll = wait_first_poll(&mut child, &endpoint.state, POLL_LIMIT).await?;
        result.cold_init_no_certs_ms.push(ms(poll.saturating_duration_since(child.spawned_at)));
    }
    Ok(())
}

/// Starts the binary once and stops it at its first poll, unmeasured: afterwards it is
/// in the page cache, as for every measured start.
async fn prime(ctx: &mut Ctx, function: &str) -> Result<(), Error> {
    let group = Group::new(function);
    let endpoint = group.endpoint().await?;
    let log = ctx.log(function);
    let env = ctx.env(ctx.ddb);
    let env = (function != HELLO).then(|| env.borrow());
    let mut child =
        spawn_bootstrap(&ctx.binary(function), function, endpoint.addr, env.as_ref(), &log, ctx.instance, &[])?;
    wait_first_poll(&mut child, &endpoint.state, POLL_LIMIT).await?;
    Ok(())
}

/// A function's counting pass and the raw replays prepared from it.
struct Counted {
    result: FunctionResult,
    replay: Replay,
    cold_replay: Replay,
}

async fn count_function(ctx: &mut Ctx, ep: &Endpoint, args: &Args) -> Result<Counted, Error> {
    let function = ep.function;
    let mut result = FunctionResult::new(function, ep.route);
    result.size_bytes = sys::file_size(&ctx.binary(function));
    prime(ctx, function).await?;
    let (warm_ok, cold_path) = count(ctx, ep, &mut result).await?;
    // One copy per warm run, so that each raw update finds the item as the function did.
    let slots = (args.warm as u64 + 8).max(64);
    let replay = Replay::prepare(&warm_ok, &ctx.raw, &format!("{function}-w"), slots)
        .await
        .map_err(|e| format!("{function}: {e}"))?;
    result.raw_round_trips = replay.round_trips();
    result.raw_calls = replay.calls();
    let cold_replay = Replay::prepare(&cold_path, &ctx.raw, &format!("{function}-c"), 4)
        .await
        .map_err(|e| format!("{function}: {e}"))?;
    Ok(Counted { result, replay, cold_replay })
}

async fn time_function(ctx: &mut Ctx, counted: &mut Counted, args: &Args) -> Result<(), Error> {
    let function = counted.result.name.clone();
    latency(ctx, &function, args.cold, args.warm, Some(&counted.replay), &mut counted.result).await?;
    for _ in 0..RAW_COLD_RUNS {
        counted.result.raw_cold_ms.push(ms(counted.cold_replay.run_once(&ctx.raw).await?));
    }
    Ok(())
}

/// Bills per second: `clients` pos-bill processes against one queue, each client
/// sending its next bill when the previous one is answered; then the raw
/// `TransactWriteItems` of a bill, and the raw calls of a whole bill, at the same
/// concurrency.
async fn throughput(ctx: &mut Ctx, clients: usize, seconds: u64, bill: &Replay) -> Result<ThroughputResult, Error> {
    let function = "pos-bill";
    let group = Arc::new(Group::new(function));
    let mut processes: Vec<(Child, crate::runtime::Endpoint)> = Vec::new();
    for _ in 0..clients {
        let endpoint = group.endpoint().await?;
        let log = ctx.log(&format!("{function}-load"));
        let env = ctx.env(ctx.ddb);
        let child = spawn_bootstrap(
            &ctx.binary(function),
            function,
            endpoint.addr,
            Some(&env.borrow()),
            &log,
            ctx.instance,
            &[],
        )?;
        processes.push((child, endpoint));
    }
    for (child, endpoint) in processes.iter_mut() {
        wait_first_poll(child, &endpoint.state, POLL_LIMIT).await?;
    }
    let warmup = Duration::from_secs(2);
    let window = Duration::from_secs(seconds);
    let cpu = |pids: &[u32]| pids.iter().filter_map(|&p| sys::cpu_time_precise_ms(p)).sum::<f64>();
    let function_pids: Vec<u32> = processes.iter().map(|(c, _)| c.pid()).collect();
    let self_pid = std::process::id();
    let cpu_before = (cpu(&[self_pid]), cpu(&[ctx.ddb_pid]), cpu(&function_pids));
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + window;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let group = group.clone();
        let events = ctx.events.clone();
        tasks.spawn(async move {
            let mut done = 0usize;
            let mut errors = 0usize;
            let mut lat = Vec::new();
            while Instant::now() < end {
                let event = events.lock().await.build(function, "ok").await;
                let Ok(event) = event else {
                    errors += 1;
                    break;
                };
                match group.invoke(&event, INVOKE_LIMIT).await {
                    Ok(o) if o.status() == Some(200) && !o.runtime_error => {
                        if o.responded >= measure_from && o.responded < end {
                            done += 1;
                            lat.push(ms(o.duration()));
                        }
                    }
                    Ok(_) => errors += 1,
                    Err(_) => {
                        errors += 1;
                        break;
                    }
                }
            }
            (done, errors, lat)
        });
    }
    let (mut bills, mut errors, mut lat) = (0, 0, Vec::new());
    while let Some(joined) = tasks.join_next().await {
        let (d, e, l) = joined.map_err(|e| format!("load client: {e}"))?;
        bills += d;
        errors += e;
        lat.extend(l);
    }
    let elapsed_ms = ms(start.elapsed());
    let cpu_after = (cpu(&[self_pid]), cpu(&[ctx.ddb_pid]), cpu(&function_pids));
    for (child, _) in processes.iter_mut() {
        if child.exited().is_some() {
            return Err(child.died("exited under load"));
        }
    }
    drop(processes);
    lat.sort_by(f64::total_cmp);

    let raw = &ctx.raw;
    let (twi, twi_err) = raw_rate(clients, warmup, window, || bill.run_only(raw, "TransactWriteItems")).await;
    let (seq, seq_err) = raw_rate(clients, warmup, window, || bill.run_once(raw)).await;
    Ok(ThroughputResult {
        clients,
        bills,
        bills_per_s: bills as f64 / window.as_secs_f64(),
        bill_p50_ms: report::percentile(&lat, 50.0),
        bill_p99_ms: report::percentile(&lat, 99.0),
        errors,
        raw_twi_per_s: twi as f64 / window.as_secs_f64(),
        raw_bill_calls_per_s: seq as f64 / window.as_secs_f64(),
        raw_errors: twi_err + seq_err,
        cpu_bench: (cpu_after.0 - cpu_before.0) / elapsed_ms,
        cpu_dynamodb: (cpu_after.1 - cpu_before.1) / elapsed_ms,
        cpu_functions: (cpu_after.2 - cpu_before.2) / elapsed_ms,
    })
}

/// Runs `op` from `clients` concurrent loops; counts completions inside the window
/// that follows the warm-up.
async fn raw_rate<F, Fut, T>(clients: usize, warmup: Duration, window: Duration, op: F) -> (usize, usize)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, Error>>,
{
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + window;
    let loops = (0..clients).map(|_| async {
        let (mut done, mut errors) = (0usize, 0usize);
        while Instant::now() < end {
            match op().await {
                Ok(_) => {
                    let now = Instant::now();
                    if now >= measure_from && now < end {
                        done += 1;
                    }
                }
                Err(_) => {
                    errors += 1;
                    if errors > 100 {
                        break;
                    }
                }
            }
        }
        (done, errors)
    });
    futures_util::future::join_all(loops).await.into_iter().fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
}

pub(crate) async fn admin(
    bin_dir: &Path,
    ddb: SocketAddr,
    table: &str,
    args: &[&str],
    log: &Path,
) -> Result<String, Error> {
    let mut cmd = Command::new(bin_dir.join("loyalty-admin"));
    cmd.env_clear()
        .env("AWS_ENDPOINT_URL_DYNAMODB", format!("http://{ddb}"))
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "local")
        .env("AWS_SECRET_ACCESS_KEY", "local")
        .env("RUST_LOG", "warn")
        .arg("--table")
        .arg(table)
        .args(args);
    procs::run_to_end(&format!("loyalty-admin {}", args.join(" ")), cmd, log, Duration::from_secs(120)).await
}

pub async fn run(args: Args) -> Result<(), Error> {
    let started = chrono::Utc::now();
    if args.job_only {
        return job_only(&args, &started.format("%Y%m%d-%H%M%S").to_string()).await;
    }
    if args.list_functions {
        for name in crate::kinds::measured(&args.only) {
            println!("{name}");
        }
        return Ok(());
    }
    if args.scale_only {
        let scale = crate::zipf::run(&args, &[]).await?;
        println!("\n{}\n{}", crate::zipf::console(&scale), crate::zipf::markdown(&scale));
        return Ok(());
    }
    let clock = Instant::now();
    let root = std::fs::canonicalize(&args.root).map_err(|e| format!("--root {}: {e}", args.root.display()))?;
    let bin_dir = args.bin_dir.clone().unwrap_or_else(|| root.join("target/release"));
    let out = args.out.clone().unwrap_or_else(|| root.join("BENCHMARKS.md"));
    let all = endpoints();
    let selected: Vec<&Endpoint> =
        all.iter().filter(|e| args.only.is_empty() || args.only.iter().any(|o| o == e.function)).collect();
    let kinds = crate::kinds::selected(&args.only);
    if selected.is_empty() && kinds.is_empty() {
        return Err(format!(
            "--only names no function (have: {})",
            all.iter()
                .map(|e| e.function)
                .chain(crate::kinds::kinds().iter().map(|k| k.function))
                .collect::<Vec<_>>()
                .join(", ")
        )
        .into());
    }
    let mut missing: Vec<String> = selected
        .iter()
        .map(|e| e.function)
        .chain(kinds.iter().map(|k| k.function))
        .chain([HELLO, "loyalty-admin"])
        .filter(|b| !bin_dir.join(b).is_file())
        .map(str::to_owned)
        .collect();
    missing.sort();
    if !missing.is_empty() {
        return Err(format!(
            "missing release binaries in {}: {} (scripts/bench builds them)",
            bin_dir.display(),
            missing.join(", ")
        )
        .into());
    }
    if args.warm == 0 {
        return Err("--warm must be at least 1".into());
    }

    let run_id = started.format("%Y%m%d-%H%M%S").to_string();
    let run_dir = root.join(".local/bench").join(&run_id);
    std::fs::create_dir_all(&run_dir).map_err(|e| format!("{}: {e}", run_dir.display()))?;
    let (commit, dirty) = sys::git_commit(&root);
    let facts = crate::facts::gather(&root, &ddb_dir(&args));
    let load_start = sys::loadavg();
    let jiffies_start = sys::cpu_jiffies();
    say(format!(
        "loyalty-bench: {} cores, load {:.2} {:.2} {:.2}, commit {}{}; logs in {}",
        sys::cores(),
        load_start.0,
        load_start.1,
        load_start.2,
        &commit[..commit.len().min(12)],
        if dirty.is_empty() { "" } else { " (with uncommitted changes)" },
        run_dir.display()
    ));

    let port = sys::free_port()?;
    say(format!("starting DynamoDB Local on 127.0.0.1:{port}"));
    let dynamo = DynamoLocal::start(&ddb_dir(&args), port, &run_dir.join("dynamodb-local.log")).await?;
    let table = format!("bench-{run_id}");
    say(format!("table {table}: loyalty-admin init, seed-demo --json"));
    let admin_log = run_dir.join("loyalty-admin.log");
    admin(&bin_dir, dynamo.addr, &table, &["init"], &admin_log).await?;
    let seed = Seed::parse(&admin(&bin_dir, dynamo.addr, &table, &["seed-demo", "--json"], &admin_log).await?)?;

    let raw = ddb::client(dynamo.addr).await;
    let sms = Arc::new(CaptureSms::default());
    let deps = Arc::new(
        Deps::new(Store::new(raw.clone(), table.clone()), Arc::new(loyalty::deps::SystemClock)).with_sms(sms.clone()),
    );
    // Pool members: each gets at most 3 one-time codes (the per-mobile limit).
    let aws_like_extra = if args.no_aws_like { 0 } else { 2 * (args.aws_warm + args.aws_cold) };
    let pool = 64.max((args.warm + args.cold + aws_like_extra + 16) / 3 + 2);
    let coupons = args.warm + args.cold + aws_like_extra + 16;
    say(format!("fixtures: {pool} members with points and a sale each, {coupons} coupons"));
    let short_run = started.format("%H%M%S").to_string();
    let fixtures = Fixtures::create(&deps, &seed, pool, coupons, &short_run).await?;
    let names: Vec<&str> = all.iter().map(|e| e.function).collect();
    let events = Events::new(&root, &names, &seed, fixtures, deps.clone(), sms)?;

    let mut ctx = Ctx {
        bin_dir: bin_dir.clone(),
        run_dir: run_dir.clone(),
        table: table.clone(),
        ddb: dynamo.addr,
        ddb_pid: dynamo.pid(),
        raw: raw.clone(),
        events: Arc::new(tokio::sync::Mutex::new(events)),
        hold: Duration::from_millis(args.hold_ms),
        instance: 0,
        signature_errors: 0,
        proxied_calls: 0,
    };

    // Every counting pass first: besides the counts, they take DynamoDB Local's JVM
    // through every path before anything is timed.
    let mut counted = Vec::new();
    for ep in &selected {
        let c = count_function(&mut ctx, ep, &args).await?;
        let r = &c.result;
        say(format!(
            "{:<26} counted: {}{}",
            ep.function,
            r.paths.iter().map(|p| format!("{} {}", p.id, p.round_trips)).collect::<Vec<_>>().join(", "),
            if r.errors.is_empty() { String::new() } else { format!("  [{} unexpected answer(s)]", r.errors.len()) }
        ));
        counted.push(c);
    }

    say(format!("{HELLO}: {} cold starts, {} warm invocations", args.cold, args.warm));
    let mut hello = FunctionResult::new(HELLO, "(any)");
    hello.size_bytes = sys::file_size(&ctx.binary(HELLO));
    prime(&mut ctx, HELLO).await?;
    latency(&mut ctx, HELLO, args.cold, args.warm, None, &mut hello).await?;
    let mut aws_like = match args.no_aws_like {
        true => None,
        false => Some(crate::variants::AwsLike::start(&args, ctx.ddb).await?),
    };
    if let Some(aws) = aws_like.as_mut() {
        say(format!(
            "AWS-like runs: TLS + {} ms, CPU limit: {}",
            args.aws_latency_ms,
            aws.cpu_note().unwrap_or_else(|e| format!("not measured ({e})"))
        ));
        let setup = aws_setup(&ctx);
        aws.measure(&setup, HELLO, None).await?;
    }

    let mut functions = Vec::new();
    let mut bill_replay = None;
    let mut customer_replay = None;
    for mut c in counted {
        let t = Instant::now();
        time_function(&mut ctx, &mut c, &args).await?;
        if let Some(aws) = aws_like.as_mut() {
            let setup = aws_setup(&ctx);
            aws.measure(&setup, &c.result.name, Some(&c.replay)).await?;
        }
        let result = &c.result;
        say(format!(
            "{:<26} warm p50 {:.2} ms (raw {:.2} ms), cold init {:.1} ms, first response {:.1} ms, {:.1}s{}",
            result.name,
            report::percentile_unsorted(&result.warm_ms, 50.0),
            report::percentile_unsorted(&result.raw_ms, 50.0),
            report::percentile_unsorted(&result.cold_init_ms, 50.0),
            report::percentile_unsorted(&result.cold_first_ms, 50.0),
            t.elapsed().as_secs_f64(),
            if result.errors.is_empty() { String::new() } else { format!("  [{} error(s)]", result.errors.len()) }
        ));
        match result.name.as_str() {
            "pos-bill" => bill_replay = Some(c.replay),
            "pos-customer" => customer_replay = Some(c.replay),
            _ => {}
        }
        functions.push(c.result);
    }

    let kinds_ctx = crate::kinds::KindsCtx {
        root: root.clone(),
        bin_dir: bin_dir.clone(),
        run_dir: run_dir.clone(),
        table: table.clone(),
        ddb: dynamo.addr,
        raw: raw.clone(),
        hold: Duration::from_millis(args.hold_ms),
        tenant: seed.tenant.clone(),
    };
    let kind_results = crate::kinds::measure(&kinds_ctx, &kinds, args.cold, args.warm).await?;

    let mut throughput_results = Vec::new();
    if let Some(bill) = &bill_replay {
        for &n in &args.clients {
            if n == 0 || n > 64 {
                return Err(format!("--clients {n}: choose 1 to 64").into());
            }
            say(format!("throughput: {n} pos-bill processes, {} s", args.seconds));
            let r = throughput(&mut ctx, n, args.seconds, bill).await?;
            say(format!(
                "  {:.0} bills/s (p50 {:.2} ms), raw TransactWriteItems {:.0}/s, raw bill calls {:.0}/s",
                r.bills_per_s, r.bill_p50_ms, r.raw_twi_per_s, r.raw_bill_calls_per_s
            ));
            throughput_results.push(r);
        }
    }

    let curves = load_curves(&mut ctx, &args, [bill_replay.as_ref(), customer_replay.as_ref()], &out, &run_dir).await?;
    let scale = crate::zipf::run(&args, &functions).await?;

    let jiffies_end = sys::cpu_jiffies();
    let busy_share = {
        let total = jiffies_end.0.saturating_sub(jiffies_start.0) as f64;
        let idle = jiffies_end.1.saturating_sub(jiffies_start.1) as f64;
        if total > 0.0 {
            1.0 - idle / total
        } else {
            0.0
        }
    };
    let profile_note = profile_note();
    let results = Results {
        partial: selected.len() != all.len() || kinds.len() != crate::kinds::kinds().len(),
        args: args.clone(),
        started,
        commit,
        dirty,
        rustc: sys::rustc_version(),
        profile_note,
        machine: Machine {
            cores: sys::cores(),
            cpu: sys::cpu_model(),
            memory_mib: sys::memory_total_mib(),
            load_start,
            load_end: sys::loadavg(),
            busy_share,
        },
        table,
        run_dir,
        functions,
        hello,
        throughput: throughput_results,
        signature_errors: ctx.signature_errors,
        proxied_calls: ctx.proxied_calls,
        bench_seconds: clock.elapsed().as_secs_f64(),
        facts,
    };
    drop(ctx);
    // The job on a DynamoDB Local of its own: the one the run loaded (the load curves
    // above all) can take seconds to answer again.
    drop(dynamo);
    say(format!("expiry job: {} members", args.job_members));
    // A failed job measurement is reported, not fatal: the rest of the run stands.
    let measured = async {
        let port = sys::free_port()?;
        let own = DynamoLocal::start(&ddb_dir(&args), port, &results.run_dir.join("dynamodb-local-job.log")).await?;
        crate::job::measure(own.addr, args.job_members, args.job_concurrency, &run_id).await
    };
    let job = match measured.await {
        Ok(job) => crate::job::markdown(&job),
        Err(e) => {
            say(format!("expiry job: not measured: {e}"));
            format!("## The expiry job\n\nNot measured in this run: {e}.\n\n")
        }
    };
    let built = crate::kinds::measured(&args.only);
    let mut text = format!(
        "{}\n{}{}{}\n{}",
        report::markdown(&results),
        crate::zipf::markdown(&scale),
        crate::curves::markdown(&curves),
        crate::kinds::markdown(&kind_results, &results.hello, &built),
        job
    );
    if let Some(aws) = &aws_like {
        let section = aws.markdown(&results.functions, &results.hello);
        println!("\n{section}");
        text = format!("{text}\n{section}");
    }
    println!("\n{}{}{}", report::console(&results), crate::zipf::console(&scale), crate::curves::console(&curves));
    println!("{}", crate::kinds::console(&kind_results, &results.hello));
    if args.no_write {
        say("--no-write: BENCHMARKS.md left as it was");
    } else {
        std::fs::write(&out, text).map_err(|e| format!("{}: {e}", out.display()))?;
        say(format!("wrote {}", out.display()));
    }
    Ok(())
}

/// What the AWS-like runs need of the run.
fn aws_setup(ctx: &Ctx) -> crate::variants::Setup<'_> {
    crate::variants::Setup {
        bin_dir: &ctx.bin_dir,
        run_dir: &ctx.run_dir,
        table: &ctx.table,
        events: ctx.events.clone(),
    }
}

/// DynamoDB Local's directory: `--ddb-dir`, else where scripts/install.sh puts it.
fn ddb_dir(args: &Args) -> PathBuf {
    args.ddb_dir.clone().unwrap_or_else(|| {
        let cache = std::env::var_os("LOYALTY_CACHE")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/loyalty"));
        cache.join("dynamodb-local-2.9.30/package/emulator")
    })
}

/// Only the expiry job's measurement, against a running DynamoDB Local (`--job-ddb`) or
/// one of its own: printed, and BENCHMARKS.md left alone.
async fn job_only(args: &Args, run_id: &str) -> Result<(), Error> {
    let own = match args.job_ddb {
        Some(_) => None,
        None => {
            let port = sys::free_port()?;
            let root = std::fs::canonicalize(&args.root).map_err(|e| format!("--root {}: {e}", args.root.display()))?;
            let run_dir = root.join(".local/bench").join(run_id);
            std::fs::create_dir_all(&run_dir).map_err(|e| format!("{}: {e}", run_dir.display()))?;
            say(format!("starting DynamoDB Local on 127.0.0.1:{port}"));
            Some(DynamoLocal::start(&ddb_dir(args), port, &run_dir.join("dynamodb-local.log")).await?)
        }
    };
    let ddb = args.job_ddb.or(own.as_ref().map(|d| d.addr)).ok_or("no DynamoDB Local")?;
    let job = crate::job::measure(ddb, args.job_members, args.job_concurrency, run_id).await?;
    drop(own);
    println!("\n{}", crate::job::markdown(&job));
    Ok(())
}

/// The release profile the binaries were built with, as far as the environment says.
fn profile_note() -> String {
    let overrides: Vec<String> = std::env::vars()
        .filter(|(k, _)| k.starts_with("CARGO_PROFILE_RELEASE_"))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if overrides.is_empty() {
        "the workspace release profile (opt-level 3, fat LTO, codegen-units 1, panic = abort, stripped)".into()
    } else {
        format!("the workspace release profile overridden by {} (not the real profile)", overrides.join(", "))
    }
}

/// The load curves of the bill and the lookup, each beside its raw calls, and their
/// chart: `docs/bench/curves.svg` beside the report, or in the run's directory with
/// `--no-write`.
async fn load_curves(
    ctx: &mut Ctx,
    args: &Args,
    replays: [Option<&Replay>; 2],
    out: &Path,
    run_dir: &Path,
) -> Result<crate::curves::CurvesResult, Error> {
    let mut curves = Vec::new();
    if !args.curve_rates.is_empty() {
        if args.curve_rates.iter().any(|r| !r.is_finite() || *r <= 0.0) || args.curve_seconds <= 0.0 {
            return Err("--curve-rates and --curve-seconds must be positive".into());
        }
        for (function, replay) in ["pos-bill", "pos-customer"].into_iter().zip(replays) {
            let Some(replay) = replay else { continue };
            say(format!("load curve: {function}, {} processes, open loop", args.curve_processes));
            let env = ctx.env(ctx.ddb);
            let setup = crate::curves::FunctionSetup {
                binary: ctx.binary(function),
                function,
                env: env.borrow(),
                run_dir,
                events: ctx.events.clone(),
                ddb_pid: ctx.ddb_pid,
            };
            curves.push(
                crate::curves::function_curve(&setup, args.curve_processes, &args.curve_rates, args.curve_seconds)
                    .await?,
            );
            say(format!("load curve: raw calls of {function}"));
            let name = format!("raw calls of {function}");
            curves.push(
                crate::curves::raw_curve(&name, replay, &ctx.raw, ctx.ddb_pid, &args.curve_rates, args.curve_seconds)
                    .await,
            );
        }
    }
    if !curves.is_empty() {
        let waited = crate::curves::settle(ctx.ddb_pid, Duration::from_secs(60)).await;
        say(format!("DynamoDB Local settled {:.1} s after the curves", waited.as_secs_f64()));
    }
    let mut svg = None;
    if !curves.is_empty() {
        let chart = crate::svg::chart("Latency against offered rate (open loop), DynamoDB Local", &curves);
        let (file, link) = if args.no_write {
            let file = run_dir.join("curves.svg");
            let link = file.display().to_string();
            (file, link)
        } else {
            let dir = out.parent().unwrap_or(Path::new(".")).join("docs/bench");
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            (dir.join("curves.svg"), "docs/bench/curves.svg".to_owned())
        };
        std::fs::write(&file, chart).map_err(|e| format!("{}: {e}", file.display()))?;
        say(format!("wrote {}", file.display()));
        svg = Some(link);
    }
    Ok(crate::curves::CurvesResult { curves, seconds: args.curve_seconds, processes: args.curve_processes, svg })
}
