//! `loyalty-bench`: measures the release bootstraps of every function against DynamoDB
//! Local in one run and writes `BENCHMARKS.md`. Started by `scripts/bench`, which
//! builds the release binaries first; not part of the tests.
//!
//! - DynamoDB round trips per request, counted by a proxy between each function and
//!   DynamoDB Local, with capacity units per call;
//! - warm latency through a Lambda runtime API stand-in, beside the same DynamoDB calls
//!   issued directly by the bench;
//! - cold start against a hello-world `lambda_http` function built in the same run;
//! - peak memory, bootstrap size, cost per million requests, bills per second;
//! - the expiry job's calls, capacity and time per member due (`--job-only` alone);
//! - cache hit rates at scale (the engine's caches under a Zipf mix of tenants, simulated
//!   time) and open-loop load curves of the bill and the lookup beside their raw calls.

mod args;
mod bench;
mod capacity;
mod cgroup;
mod curves;
mod ddb;
mod error;
mod facts;
mod hist;
mod job;
mod kinds;
mod procs;
mod proxy;
mod replay;
mod report;
mod results;
mod runtime;
mod scenarios;
mod svg;
mod sys;
mod tls;
mod variants;
mod zipf;

use std::process::ExitCode;
use std::time::Duration;

use args::Args;
use clap::Parser;

fn main() -> ExitCode {
    let args = Args::parse();
    procs::install_signal_handlers();
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(async {
        tokio::select! {
            result = bench::run(args) => match result {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("\nerror: {e}");
                    1
                }
            },
            _ = procs::interrupted() => {
                eprintln!("\ninterrupted: stopping everything the bench started");
                130
            }
        }
    });
    runtime.shutdown_timeout(Duration::from_secs(5));
    ExitCode::from(code)
}
