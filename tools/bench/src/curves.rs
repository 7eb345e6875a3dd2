//! Load curves: requests sent open-loop (at a fixed rate, each at its scheduled
//! instant whatever the answers, so a slow answer delays none of the next requests and
//! latency includes the queueing), at increasing rates until the curve saturates; for
//! the functions through their runtime-API queue and for the same raw DynamoDB calls
//! issued by the bench.

use std::fmt::Write;
use std::future::Future;
use std::time::{Duration, Instant};

use futures_util::stream::{FuturesUnordered, StreamExt};

use crate::hist::Latencies;

/// One rate of one curve.
#[derive(Clone, Debug)]
pub struct Point {
    pub offered: f64,
    pub sent: usize,
    pub ok: usize,
    pub errors: usize,
    /// Answers per second over the time from the first send to the last answer.
    pub achieved: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// CPU cores DynamoDB Local used during the step.
    pub ddb_cores: f64,
    pub saturated: bool,
}

#[derive(Clone, Debug)]
pub struct Curve {
    pub name: String,
    /// The function's curve, or the raw calls beside it.
    pub raw: bool,
    pub points: Vec<Point>,
}

impl Curve {
    /// The highest offered rate that did not saturate.
    pub fn sustained(&self) -> Option<f64> {
        self.points
            .iter()
            .filter(|p| !p.saturated)
            .map(|p| p.offered)
            .fold(None, |a, b| Some(a.map_or(b, |a: f64| a.max(b))))
    }
}

/// Why a step counts as saturated: answers fall behind the offered rate, errors, or the
/// p99 grows past ten times the first step's (and past 100 ms).
pub fn saturated(p: &Point, first_p99: Option<f64>) -> bool {
    let behind = p.achieved < 0.9 * p.offered;
    let errors = p.errors * 100 > p.sent;
    let queueing = first_p99.is_some_and(|f| p.p99_ms > (10.0 * f).max(100.0));
    behind || errors || queueing
}

/// Sends `count` requests at `rate` per second; `op(i)` is request i; returns its
/// latency from its scheduled instant, or an error.
pub async fn open_loop<F, Fut>(rate: f64, count: usize, cpu: impl Fn() -> f64, op: F) -> Point
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now() + Duration::from_millis(20);
    let cpu_before = cpu();
    let mut running = FuturesUnordered::new();
    for i in 0..count {
        let at = start + Duration::from_secs_f64(i as f64 / rate);
        let op = &op;
        running.push(async move {
            tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
            let ok = op(i).await;
            (ok, at.elapsed())
        });
    }
    let mut lat = Latencies::new();
    let (mut ok, mut errors) = (0usize, 0usize);
    while let Some((good, took)) = running.next().await {
        if good {
            ok += 1;
            lat.record_ms(took.as_secs_f64() * 1000.0);
        } else {
            errors += 1;
        }
    }
    let elapsed = start.elapsed().as_secs_f64().max(1e-9);
    let ddb_cores = (cpu() - cpu_before) / 1000.0 / elapsed;
    Point {
        offered: rate,
        sent: count,
        ok,
        errors,
        achieved: ok as f64 / elapsed,
        p50_ms: lat.percentile(50.0),
        p99_ms: lat.percentile(99.0),
        max_ms: lat.max(),
        ddb_cores,
        saturated: false,
    }
}

pub struct CurvesResult {
    pub curves: Vec<Curve>,
    pub seconds: f64,
    pub processes: usize,
    /// The chart, relative to the report (None: not written).
    pub svg: Option<String>,
}

pub fn markdown(r: &CurvesResult) -> String {
    let mut out = String::new();
    out.push_str("## Load curves\n\n");
    if r.curves.is_empty() {
        out.push_str("Not measured in this run (`--curve-rates` empty or the functions not selected).\n\n");
        return out;
    }
    let _ = writeln!(
        out,
        "Open loop: at each rate the bench sends {:.0} s of requests, each at its scheduled instant whatever the \
         earlier ones' answers, so latency (from the scheduled instant to the answer) includes the time a request \
         waits in the queue. The functions: {} warm processes of each, one invocation at a time each as Lambda runs \
         them, behind one runtime-API queue; the raw curves: the same DynamoDB calls as the function's common path, \
         issued by the bench with the same SDK. The rates double until a step saturates (answers below 90% of the \
         offered rate, more than 1% errors, or a p99 above ten times the first step's and above 100 ms); that step \
         is the last one shown, marked ✗. \"DynamoDB Local cores\" is its process's CPU during the step.\n",
        r.seconds, r.processes
    );
    if let Some(svg) = &r.svg {
        let _ = writeln!(out, "![Latency against offered rate, open loop]({svg})\n");
    }
    out.push_str("| curve | offered /s | sent | answered | answered /s | errors | p50 ms | p99 ms | max ms | DynamoDB Local cores | |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
    for c in &r.curves {
        for p in &c.points {
            let _ = writeln!(
                out,
                "| {} | {:.0} | {} | {} | {:.0} | {} | {:.2} | {:.2} | {:.1} | {:.2} | {} |",
                c.name,
                p.offered,
                p.sent,
                p.ok,
                p.achieved,
                p.errors,
                p.p50_ms,
                p.p99_ms,
                p.max_ms,
                p.ddb_cores,
                if p.saturated { "✗ saturated" } else { "" }
            );
        }
    }
    out.push('\n');
    let sustained: Vec<String> = r
        .curves
        .iter()
        .map(|c| match c.sustained() {
            Some(s) => format!("{} {s:.0}/s", c.name),
            None => format!("{} none", c.name),
        })
        .collect();
    let _ = writeln!(out, "Highest rate sustained: {}.\n", sustained.join("; "));
    out
}

pub fn console(r: &CurvesResult) -> String {
    let mut out = String::new();
    for c in &r.curves {
        let pts: Vec<String> = c
            .points
            .iter()
            .map(|p| {
                format!(
                    "{:.0}/s p50 {:.2} p99 {:.2}{}",
                    p.offered,
                    p.p50_ms,
                    p.p99_ms,
                    if p.saturated { " ✗" } else { "" }
                )
            })
            .collect();
        let _ = writeln!(out, "curve {}: {}", c.name, pts.join(", "));
    }
    out
}

/// What a function's curve needs from the run.
pub struct FunctionSetup<'a> {
    pub binary: std::path::PathBuf,
    pub function: &'a str,
    pub env: crate::runtime::FunctionEnv<'a>,
    pub run_dir: &'a std::path::Path,
    pub events: std::sync::Arc<tokio::sync::Mutex<crate::scenarios::Events>>,
    pub ddb_pid: u32,
}

const INVOKE_LIMIT: Duration = Duration::from_secs(15);

fn ddb_cpu(pid: u32) -> impl Fn() -> f64 {
    move || crate::sys::cpu_time_precise_ms(pid).unwrap_or(0.0)
}

/// The function's curve: `processes` warm processes behind one queue, each rate in
/// turn until one saturates.
pub async fn function_curve(
    s: &FunctionSetup<'_>,
    processes: usize,
    rates: &[f64],
    seconds: f64,
) -> Result<Curve, crate::error::Error> {
    use crate::runtime::{spawn_bootstrap, wait_first_poll, Group};
    let group = Group::new(s.function);
    let mut children = Vec::new();
    for k in 0..processes.max(1) {
        let endpoint = group.endpoint().await?;
        let log = s.run_dir.join(format!("{}-curve-{k:02}.log", s.function));
        let child = spawn_bootstrap(&s.binary, s.function, endpoint.addr, Some(&s.env), &log, 9000 + k, &[])?;
        children.push((child, endpoint));
    }
    for (child, endpoint) in children.iter_mut() {
        wait_first_poll(child, &endpoint.state, Duration::from_secs(30)).await?;
    }
    // Every process warm (connection open, key and program in memory) before a step.
    for _ in 0..processes.max(1) * 3 {
        let event = s.events.lock().await.build(s.function, "ok").await?;
        group.invoke(&event, INVOKE_LIMIT).await?;
    }
    let mut points: Vec<Point> = Vec::new();
    for &rate in rates {
        let count = (rate * seconds).ceil().max(1.0) as usize;
        let mut events = Vec::with_capacity(count);
        {
            let mut built = s.events.lock().await;
            for _ in 0..count {
                events.push(built.build(s.function, "ok").await?);
            }
        }
        let group = &group;
        let events = &events;
        let mut p = open_loop(rate, count, ddb_cpu(s.ddb_pid), |i| async move {
            matches!(group.invoke(&events[i], INVOKE_LIMIT).await, Ok(o) if o.status() == Some(200) && !o.runtime_error)
        })
        .await;
        p.saturated = saturated(&p, points.first().map(|f| f.p99_ms));
        for (child, _) in children.iter_mut() {
            if child.exited().is_some() {
                return Err(child.died("exited under the load curve"));
            }
        }
        if keep(s.function, rate, p, &mut points) {
            break;
        }
    }
    Ok(Curve { name: s.function.to_owned(), raw: false, points })
}

/// The raw calls' curve: the replay of the function's common path, open loop.
pub async fn raw_curve(
    name: &str,
    replay: &crate::replay::Replay,
    client: &aws_sdk_dynamodb::Client,
    ddb_pid: u32,
    rates: &[f64],
    seconds: f64,
) -> Curve {
    let mut points: Vec<Point> = Vec::new();
    for &rate in rates {
        let count = (rate * seconds).ceil().max(1.0) as usize;
        let mut p = open_loop(rate, count, ddb_cpu(ddb_pid), |_| async { replay.run_once(client).await.is_ok() }).await;
        p.saturated = saturated(&p, points.first().map(|f| f.p99_ms));
        if keep(name, rate, p, &mut points) {
            break;
        }
    }
    Curve { name: name.to_owned(), raw: true, points }
}

/// Says how a step went and keeps it; true when it saturated (the curve stops there).
fn keep(name: &str, rate: f64, p: Point, points: &mut Vec<Point>) -> bool {
    crate::bench::say(format!(
        "  {name} {rate:.0}/s: p50 {:.2} ms, p99 {:.2} ms, {:.0} answered/s, {} errors{}",
        p.p50_ms,
        p.p99_ms,
        p.achieved,
        p.errors,
        if p.saturated { ", saturated" } else { "" }
    ));
    let stop = p.saturated;
    points.push(p);
    stop
}

/// Waits (at most `limit`) until DynamoDB Local's process uses under a fifth of a core
/// over a second: a saturated step leaves its JVM busy for a while after the last
/// answer, and what runs next must not time out against it. Returns the time waited.
pub async fn settle(ddb_pid: u32, limit: Duration) -> Duration {
    let start = Instant::now();
    let cpu = ddb_cpu(ddb_pid);
    while start.elapsed() < limit {
        let before = cpu();
        tokio::time::sleep(Duration::from_secs(1)).await;
        if cpu() - before < 200.0 {
            break;
        }
    }
    start.elapsed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn open_loop_sends_at_the_rate_and_counts_waiting() {
        // A server that takes 20 ms and serves one at a time, offered 100/s: it
        // falls behind, and the latency grows with the queue.
        let lock = tokio::sync::Mutex::new(());
        let p = open_loop(
            100.0,
            50,
            || 0.0,
            |_| async {
                let _g = lock.lock().await;
                tokio::time::sleep(Duration::from_millis(20)).await;
                true
            },
        )
        .await;
        assert_eq!(p.ok, 50);
        assert!(p.achieved < 60.0, "{}", p.achieved);
        assert!(p.p99_ms > 300.0, "{}", p.p99_ms);
        assert!(saturated(&p, Some(25.0)));
        let quick = open_loop(100.0, 20, || 0.0, |_| async { true }).await;
        assert!(quick.p99_ms < 50.0, "{}", quick.p99_ms);
        assert!(!saturated(&quick, Some(quick.p99_ms)));
    }
}
