//! Cache hit rates at scale: a skewed mix of tenants (Zipf) spread over the warm
//! processes of one function, each process with the engine's own caches
//! (`loyalty::deps::TtlCache` at the product's lifetimes and bound), driven by a
//! simulated clock. What it measures is how often a request finds its tenant's key and
//! program in its process's memory, so how many requests take the cold path and the
//! mean round trips per request that follow. No DynamoDB is involved: the caches are
//! the product's code, the traffic is the model stated in the report.

use std::fmt::Write;
use std::time::{Duration, Instant};

use loyalty::deps::{CacheLifetimes, TtlCache, CACHE_MAX_ENTRIES, KEY_USE_WRITE_INTERVAL};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Exp, Zipf};

use crate::error::Error;

/// The traffic model of one simulation.
#[derive(Clone, Debug)]
pub struct Model {
    pub tenants: u32,
    pub processes: usize,
    /// Requests per second to the function, all tenants together (Poisson arrivals).
    pub rate: f64,
    /// Zipf exponent of the tenants' shares (rank k gets a share proportional to 1/k^s).
    pub s: f64,
    /// Simulated seconds counted, after `warmup`.
    pub seconds: f64,
    /// Simulated seconds before counting (the processes start with empty caches).
    pub warmup: f64,
    pub seed: u64,
}

/// The tenants counted as "large" in the report's split.
pub const LARGE: u32 = 100;

#[derive(Clone, Debug, Default)]
pub struct Outcome {
    pub requests: u64,
    pub key_hits: u64,
    pub program_hits: u64,
    /// Both in memory: no read before the request's own calls.
    pub auth_warm: u64,
    /// Requests that wrote the key's "last used" day (once per key per process per
    /// `KEY_USE_WRITE_INTERVAL`).
    pub use_writes: u64,
    /// No extra round trip at all: the warm path.
    pub warm: u64,
    /// Requests to the `LARGE` largest tenants, and how many of them were warm.
    pub large_requests: u64,
    pub large_warm: u64,
    /// The fullest key and program maps of any process at the end.
    pub max_key_entries: usize,
    pub max_program_entries: usize,
    /// Distinct tenants that sent at least one counted request.
    pub tenants_seen: u32,
    /// Wall time the simulation took.
    pub wall: Duration,
}

impl Outcome {
    pub fn share(n: u64, of: u64) -> f64 {
        if of == 0 {
            0.0
        } else {
            n as f64 / of as f64
        }
    }
    pub fn warm_share(&self) -> f64 {
        Self::share(self.warm, self.requests)
    }
    /// Round trips beyond the warm path's, per request on average.
    pub fn extra_rt(&self) -> f64 {
        // A "last used" write goes beside the request's own calls: no round trip of its own.
        Self::share(self.requests - self.auth_warm, self.requests)
    }
}

/// One function's processes, each with the caches a `Deps` holds.
struct Process {
    keys: TtlCache<u32, ()>,
    programs: TtlCache<u32, ()>,
    uses: TtlCache<u32, ()>,
}

/// Runs the model: each request goes to a process chosen at random (Lambda gives an
/// event to any idle warm environment), which does what `auth::partner` does on a route
/// that reads the program: the key from memory or a read (then kept), the program from
/// memory or a read (then kept).
pub fn simulate(model: &Model) -> Result<Outcome, Error> {
    if model.tenants == 0 || model.processes == 0 || model.rate <= 0.0 {
        return Err("scale model: tenants, processes and rate must be positive".into());
    }
    let wall = Instant::now();
    let lifetimes = CacheLifetimes::default();
    let processes: Vec<Process> = (0..model.processes)
        .map(|_| Process {
            keys: TtlCache::new(lifetimes.keys),
            programs: TtlCache::new(lifetimes.programs),
            uses: TtlCache::new(KEY_USE_WRITE_INTERVAL),
        })
        .collect();
    let zipf = Zipf::new(f64::from(model.tenants), model.s).map_err(|e| format!("Zipf: {e}"))?;
    let gaps = Exp::new(model.rate).map_err(|e| format!("arrivals: {e}"))?;
    let mut rng = SmallRng::seed_from_u64(model.seed);
    // Simulated time: an Instant far enough ahead of the real one that no entry looks
    // older than it is.
    let origin = Instant::now();
    let mut t = 0.0f64;
    let end = model.warmup + model.seconds;
    let mut out = Outcome::default();
    let mut seen = vec![false; model.tenants as usize];
    while t < end {
        t += gaps.sample(&mut rng);
        let now = origin + Duration::from_secs_f64(t);
        // Rank 1 is the largest tenant.
        let rank = (zipf.sample(&mut rng) as u32).clamp(1, model.tenants);
        let tenant = rank - 1;
        let process = &processes[rng.random_range(0..model.processes)];
        let key_hit = process.keys.get_at(&tenant, now).is_some();
        let program_hit = process.programs.get_at(&tenant, now).is_some();
        if !key_hit {
            process.keys.insert_at(tenant, (), now);
        }
        if !program_hit {
            process.programs.insert_at(tenant, (), now);
        }
        // `auth::note_use`: the key's "last used" day, once per interval per process.
        let use_write = process.uses.get_at(&tenant, now).is_none();
        if use_write {
            process.uses.insert_at(tenant, (), now);
        }
        if t < model.warmup {
            continue;
        }
        out.requests += 1;
        out.key_hits += u64::from(key_hit);
        out.program_hits += u64::from(program_hit);
        let auth_warm = key_hit && program_hit;
        out.auth_warm += u64::from(auth_warm);
        out.use_writes += u64::from(use_write);
        let warm = auth_warm && !use_write;
        out.warm += u64::from(warm);
        if rank <= LARGE {
            out.large_requests += 1;
            out.large_warm += u64::from(warm);
        }
        if let Some(s) = seen.get_mut(tenant as usize) {
            *s = true;
        }
    }
    out.tenants_seen = seen.iter().filter(|s| **s).count() as u32;
    out.max_key_entries = processes.iter().map(|p| p.keys.len()).max().unwrap_or(0);
    out.max_program_entries = processes.iter().map(|p| p.programs.len()).max().unwrap_or(0);
    out.wall = wall.elapsed();
    Ok(out)
}

/// The round trips of a function's common path when warm. A Partner route that reads
/// the program makes one more on a miss of the key, the program or both (the key and
/// the program are read at once); the key's "last used" write goes beside the request's
/// own calls and adds none (docs/architecture.md).
#[derive(Clone, Debug)]
pub struct Path {
    pub function: String,
    pub label: String,
    pub warm_rt: f64,
    /// The first request of a new process (every cache empty), for comparison.
    pub cold_rt: f64,
    /// Where the round trips come from: this run's counting pass or docs/architecture.md.
    pub source: &'static str,
}

impl Path {
    pub fn mean_rt(&self, o: &Outcome) -> f64 {
        self.warm_rt + o.extra_rt()
    }
}

pub struct ScaleResult {
    pub models: Vec<(Model, Outcome)>,
    pub paths: Vec<Path>,
    /// The exponent the report leads with.
    pub primary_s: f64,
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

pub fn markdown(r: &ScaleResult) -> String {
    let mut out = String::new();
    out.push_str("## Cache hit rates at scale\n\n");
    let Some((m, _)) = r.models.first() else {
        out.push_str("Not measured in this run.\n\n");
        return out;
    };
    let lifetimes = CacheLifetimes::default();
    let _ = writeln!(
        out,
        "{} tenants, each with one API key, send {:.0} requests a second to one function, spread over {} warm \
         processes: each request goes to a process chosen at random, as Lambda hands an event to any idle warm \
         environment; arrivals are Poisson. A tenant's share of the requests follows Zipf's law, rank k ∝ 1/k^s \
         (`rand_distr::Zipf`), s = {} for the figures below (traffic per customer of a platform is commonly \
         modelled with s near 1: a few large tenants and a long tail; the other exponents show how much the answer \
         depends on it). Each process holds the engine's own caches, `loyalty::deps::TtlCache` at the product's \
         lifetimes (keys {} s, programs {} s) and bound ({} entries), driven by a simulated clock through \
         `get_at`/`insert_at` (the functions call the same code with the real time) and doing what \
         `auth::partner` and `auth::note_use` do (the key's \"last used\" day written once per key per process per \
         {} s); {:.0} simulated seconds counted after {:.0} s (one such interval) of warm-up from empty caches, \
         seed {}.\n",
        m.tenants,
        m.rate,
        m.processes,
        r.primary_s,
        lifetimes.keys.as_secs(),
        lifetimes.programs.as_secs(),
        CACHE_MAX_ENTRIES,
        KEY_USE_WRITE_INTERVAL.as_secs(),
        m.seconds,
        m.warmup,
        m.seed,
    );
    out.push_str(
        "| Zipf s | requests counted | tenants seen | key hits | program hits | both (no read before the request's own) | \"last used\" writes | warm path (no extra round trip) | 100 largest tenants: share of requests, warm | the rest: warm | fullest map per process: keys / programs | simulated in |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for (m, o) in &r.models {
        let rest = o.requests - o.large_requests;
        let _ = writeln!(
            out,
            "| {}{} | {} | {} | {} | {} | {} | {} | **{}** | {}, {} | {} | {} / {} | {:.1} s |",
            m.s,
            if m.s == r.primary_s { " *(used below)*" } else { "" },
            o.requests,
            o.tenants_seen,
            pct(Outcome::share(o.key_hits, o.requests)),
            pct(Outcome::share(o.program_hits, o.requests)),
            pct(Outcome::share(o.auth_warm, o.requests)),
            pct(Outcome::share(o.use_writes, o.requests)),
            pct(o.warm_share()),
            pct(Outcome::share(o.large_requests, o.requests)),
            pct(Outcome::share(o.large_warm, o.large_requests)),
            pct(Outcome::share(o.warm - o.large_warm, rest)),
            o.max_key_entries,
            o.max_program_entries,
            o.wall.as_secs_f64(),
        );
    }
    out.push('\n');
    if !r.paths.is_empty() {
        out.push_str(
            "Mean round trips per request from that mix: the warm path's round trips, one more on a miss of the key, \
             the program or both (a Partner route reads both at once when neither is in memory); a \
             \"last used\" write goes beside the request's own calls and adds none. The first request of a new process, every cache empty, is shown for comparison.\n\n",
        );
        let mut header =
            String::from("| function, path | warm RT | new process's first request RT | round trips from |");
        let mut rule = String::from("|---|---|---|---|");
        for (m, _) in &r.models {
            let _ = write!(header, " mean RT, s = {} |", m.s);
            rule.push_str("---|");
        }
        let _ = writeln!(out, "{header}\n{rule}");
        for p in &r.paths {
            let _ = write!(out, "| {} {} | {} | {} | {} |", p.function, p.label, p.warm_rt, p.cold_rt, p.source);
            for (_, o) in &r.models {
                let _ = write!(out, " {:.3} |", p.mean_rt(o));
            }
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

/// One line per model, for the console.
pub fn console(r: &ScaleResult) -> String {
    let mut out = String::new();
    for (m, o) in &r.models {
        let _ = write!(
            out,
            "scale, s = {}: warm {} (keys {}, programs {}, last-used writes {}) of {} requests",
            m.s,
            pct(o.warm_share()),
            pct(Outcome::share(o.key_hits, o.requests)),
            pct(Outcome::share(o.program_hits, o.requests)),
            pct(Outcome::share(o.use_writes, o.requests)),
            o.requests
        );
        for p in &r.paths {
            let _ = write!(out, "; {} {:.3} RT", p.function, p.mean_rt(o));
        }
        out.push('\n');
    }
    out
}

/// The run's simulations (one per exponent of `--scale-s`) and the round trips of the
/// bill's and the lookup's paths: counted in this run when measured, else from the
/// scenarios' documented figures.
pub async fn run(args: &crate::args::Args, functions: &[crate::results::FunctionResult]) -> Result<ScaleResult, Error> {
    let mut paths = Vec::new();
    for ep in crate::scenarios::endpoints().iter().filter(|e| matches!(e.function, "pos-bill" | "pos-customer")) {
        let Some(ok) = ep.scenarios.first() else { continue };
        let counted = functions.iter().find(|f| f.name == ep.function).and_then(|f| {
            let warm = f.paths.first()?;
            let cold = f.cold_first.as_ref()?;
            Some((warm.round_trips as f64, cold.round_trips as f64))
        });
        let (warm_rt, cold_rt, source) = match counted {
            Some((w, c)) => (w, c, "counted in this run"),
            None => (f64::from(ok.doc_rt), f64::from(ok.doc_rt + 1), "docs/architecture.md"),
        };
        paths.push(Path { function: ep.function.to_owned(), label: ok.label.to_owned(), warm_rt, cold_rt, source });
    }
    let mut models = Vec::new();
    for &s in &args.scale_s {
        let model = Model {
            tenants: args.scale_tenants,
            processes: args.scale_processes,
            rate: args.scale_rate,
            s,
            seconds: args.scale_seconds,
            warmup: KEY_USE_WRITE_INTERVAL.as_secs_f64(),
            seed: 20_261_130,
        };
        crate::bench::say(format!(
            "cache simulation: {} tenants, Zipf s = {s}, {} processes, {:.0} requests/s, {:.0} s simulated",
            model.tenants, model.processes, model.rate, model.seconds
        ));
        let m = model.clone();
        let outcome =
            tokio::task::spawn_blocking(move || simulate(&m)).await.map_err(|e| format!("cache simulation: {e}"))??;
        models.push((model, outcome));
    }
    Ok(ScaleResult { models, paths, primary_s: args.scale_s.first().copied().unwrap_or(1.0) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(tenants: u32, rate: f64, s: f64) -> Model {
        Model { tenants, processes: 4, rate, s, seconds: 120.0, warmup: 60.0, seed: 7 }
    }

    #[test]
    fn one_tenant_is_warm_but_for_the_key_refreshes() {
        // 100 requests/s over 4 processes: each process sees its key expire every 5 s
        // and reads it again once, so nearly every request is warm.
        let o = simulate(&model(1, 100.0, 1.0)).unwrap();
        assert!(o.requests > 11_000);
        assert!(o.warm_share() > 0.98, "{}", o.warm_share());
        assert_eq!(o.tenants_seen, 1);
        assert_eq!(o.max_key_entries, 1);
    }

    #[test]
    fn a_long_tail_of_rare_tenants_is_mostly_cold() {
        let o = simulate(&model(100_000, 20.0, 0.0)).unwrap();
        assert!(o.warm_share() < 0.05, "{}", o.warm_share());
    }

    #[test]
    fn more_skew_means_more_hits() {
        let flat = simulate(&model(10_000, 500.0, 0.8)).unwrap();
        let steep = simulate(&model(10_000, 500.0, 1.2)).unwrap();
        assert!(steep.warm_share() > flat.warm_share());
    }

    #[test]
    fn mean_round_trips_weigh_the_paths() {
        let p = Path { function: "f".into(), label: "x".into(), warm_rt: 3.0, cold_rt: 4.0, source: "t" };
        let o = Outcome { requests: 4, auth_warm: 3, use_writes: 1, warm: 2, ..Outcome::default() };
        // One miss in four adds a quarter; the "last used" write goes beside, adding none.
        assert!((p.mean_rt(&o) - 3.25).abs() < 1e-9);
    }
}
