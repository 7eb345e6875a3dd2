//! What a run measured, as the report reads it: per function, per path, throughput and
//! the machine. Filled in by `bench`, rendered by `report`; imports neither.

use std::path::PathBuf;
use std::time::Duration;

use crate::args::Args;
use crate::capacity::{ItemInfo, Units};
use crate::proxy::{round_trip_groups, Call};
use crate::runtime::Outcome;

pub const HELLO: &str = "hello-lambda";

/// One path of one function, as counted at the proxy.
pub struct PathResult {
    pub id: &'static str,
    pub label: String,
    pub worst: bool,
    pub doc_rt: u32,
    pub doc: String,
    pub expected_status: u16,
    pub status: Option<u16>,
    pub replayed: bool,
    pub calls: Vec<Call>,
    pub round_trips: usize,
    pub units: Units,
    pub reported: Option<f64>,
    /// Items written: kind, size after the write, in GSI1.
    pub written: Vec<(String, ItemInfo)>,
}

impl PathResult {
    pub fn ops(&self) -> String {
        calls_in_rounds(&self.calls)
    }

    pub fn failed_calls(&self) -> Vec<String> {
        self.calls.iter().filter_map(|c| c.error_type().map(|e| format!("{} {}", c.op, e))).collect()
    }
}

/// Calls by round trip, in order: `A → [B ‖ C]` (the calls of one round trip were in
/// flight together).
pub fn calls_in_rounds(calls: &[Call]) -> String {
    round_trip_groups(calls)
        .iter()
        .map(|g| {
            let names: Vec<String> = g.iter().map(|&i| calls[i].what()).collect();
            if names.len() > 1 {
                format!("[{}]", names.join(" ‖ "))
            } else {
                names.join("")
            }
        })
        .collect::<Vec<_>>()
        .join(" → ")
}

/// Where a request's time went, from the counting pass: the function's own time before
/// its first DynamoDB call, between calls and after the last one.
#[derive(Default, Clone, Copy)]
pub struct Timeline {
    pub before_ms: f64,
    pub between_ms: f64,
    pub after_ms: f64,
}

impl Timeline {
    pub fn of(outcome: &Outcome, calls: &[Call]) -> Timeline {
        let (Some(first), Some(last_end)) = (calls.first(), calls.iter().map(|c| c.end).max()) else {
            return Timeline { before_ms: ms(outcome.duration()), ..Timeline::default() };
        };
        let mut between = Duration::ZERO;
        let mut busy_until = first.start;
        for c in calls {
            if c.start > busy_until {
                between += c.start - busy_until;
            }
            busy_until = busy_until.max(c.end);
        }
        Timeline {
            before_ms: ms(first.start.saturating_duration_since(outcome.dispatched)),
            between_ms: ms(between),
            after_ms: ms(outcome.responded.saturating_duration_since(last_end)),
        }
    }
}

#[derive(Default)]
pub struct InitSplit {
    /// Spawn to the first DynamoDB call.
    pub before_ms: f64,
    /// The warm-up call(s).
    pub warmup_ms: f64,
    /// After the warm-up to the first poll.
    pub after_ms: f64,
}

pub struct FunctionResult {
    pub name: String,
    pub route: String,
    pub size_bytes: Option<u64>,
    pub init_calls: Vec<Call>,
    pub init_split: InitSplit,
    /// The first request's and a warm request's timelines (counting pass, common path).
    pub cold_timeline: Timeline,
    pub warm_timeline: Timeline,
    pub cold_first: Option<PathResult>,
    pub paths: Vec<PathResult>,
    pub cold_init_ms: Vec<f64>,
    /// Init with the system's root certificates hidden from the SDK's HTTP client
    /// (`SSL_CERT_FILE=/dev/null`, `SSL_CERT_DIR` empty): what loading them costs.
    pub cold_init_no_certs_ms: Vec<f64>,
    pub cold_first_ms: Vec<f64>,
    /// The first request alone: event handed over → response (through the runtime API).
    pub cold_request_ms: Vec<f64>,
    pub warm_ms: Vec<f64>,
    pub raw_ms: Vec<f64>,
    pub raw_cold_ms: Vec<f64>,
    pub raw_round_trips: usize,
    pub raw_calls: usize,
    pub vm_hwm_kib: Option<u64>,
    pub cpu_ms_per_invocation: Option<f64>,
    /// The bench's CPU per raw replay (the SDK's share of the same calls).
    pub raw_cpu_ms_per_replay: Option<f64>,
    /// Bytes the process logged per warm request.
    pub log_bytes_per_request: Option<f64>,
    pub errors: Vec<String>,
}

impl FunctionResult {
    pub fn new(name: &str, route: &str) -> FunctionResult {
        FunctionResult {
            name: name.to_owned(),
            route: route.to_owned(),
            size_bytes: None,
            init_calls: vec![],
            init_split: InitSplit::default(),
            cold_timeline: Timeline::default(),
            warm_timeline: Timeline::default(),
            cold_first: None,
            paths: vec![],
            cold_init_ms: vec![],
            cold_init_no_certs_ms: vec![],
            cold_first_ms: vec![],
            cold_request_ms: vec![],
            warm_ms: vec![],
            raw_ms: vec![],
            raw_cold_ms: vec![],
            raw_round_trips: 0,
            raw_calls: 0,
            vm_hwm_kib: None,
            cpu_ms_per_invocation: None,
            raw_cpu_ms_per_replay: None,
            log_bytes_per_request: None,
            errors: vec![],
        }
    }
}

pub struct ThroughputResult {
    pub clients: usize,
    pub bills: usize,
    pub bills_per_s: f64,
    pub bill_p50_ms: f64,
    pub bill_p99_ms: f64,
    pub errors: usize,
    pub raw_twi_per_s: f64,
    pub raw_bill_calls_per_s: f64,
    pub raw_errors: usize,
    /// CPU used during the bills' warm-up and window, in cores: the bench (load
    /// generator and runtime API), DynamoDB Local, the function processes.
    pub cpu_bench: f64,
    pub cpu_dynamodb: f64,
    pub cpu_functions: f64,
}

pub struct Machine {
    pub cores: usize,
    pub cpu: String,
    pub memory_mib: u64,
    pub load_start: (f64, f64, f64),
    pub load_end: (f64, f64, f64),
    pub busy_share: f64,
}

pub struct Results {
    pub args: Args,
    pub started: chrono::DateTime<chrono::Utc>,
    pub commit: String,
    pub dirty: Vec<String>,
    pub rustc: String,
    pub profile_note: String,
    pub machine: Machine,
    pub table: String,
    pub run_dir: PathBuf,
    pub functions: Vec<FunctionResult>,
    pub hello: FunctionResult,
    pub throughput: Vec<ThroughputResult>,
    pub signature_errors: u64,
    pub proxied_calls: u64,
    pub bench_seconds: f64,
    pub partial: bool,
    /// Untracked files, DynamoDB Local's version, the architecture.
    pub facts: crate::facts::Facts,
}

/// A duration in milliseconds, as every figure of the report is given.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
