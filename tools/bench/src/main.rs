//! `loyalty-bench`: measures the release bootstraps of every function against DynamoDB
//! Local in one run and writes `BENCHMARKS.md`. Started by `scripts/bench`, which
//! builds the release binaries first; not part of the tests.
//!
//! - DynamoDB round trips per request, counted by a proxy between each function and
//!   DynamoDB Local, with capacity units per call;
//! - warm latency through a Lambda runtime API stand-in, beside the same DynamoDB calls
//!   issued directly by the bench;
//! - cold start against a hello-world `lambda_http` function built in the same run;
//! - peak memory, bootstrap size, cost per million requests, bills per second.

mod bench;
mod capacity;
mod ddb;
mod procs;
mod proxy;
mod replay;
mod report;
mod runtime;
mod scenarios;
mod sys;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

#[derive(Parser, Debug, Clone)]
#[command(name = "loyalty-bench", about = "Benchmark the functions against DynamoDB Local (run through scripts/bench)")]
pub struct Args {
    /// The repository (events/, functions/).
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// Where the release binaries are (default: ROOT/target/release).
    #[arg(long)]
    pub bin_dir: Option<PathBuf>,
    /// DynamoDB Local's directory, with DynamoDBLocal.jar and DynamoDBLocal_lib
    /// (default: where scripts/install.sh puts it).
    #[arg(long)]
    pub ddb_dir: Option<PathBuf>,
    /// The report to write (default: ROOT/BENCHMARKS.md).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Warm invocations per function (each beside one raw replay of its calls).
    #[arg(long, default_value_t = 300)]
    pub warm: usize,
    /// Cold starts per function.
    #[arg(long, default_value_t = 15)]
    pub cold: usize,
    /// Seconds of each throughput measurement.
    #[arg(long, default_value_t = 8)]
    pub seconds: u64,
    /// Concurrent clients of the throughput measurements.
    #[arg(long, value_delimiter = ',', default_value = "4,8,16")]
    pub clients: Vec<usize>,
    /// How long the counting proxy holds each DynamoDB answer (makes concurrent calls
    /// visible as such; counting pass only).
    #[arg(long, default_value_t = 30)]
    pub hold_ms: u64,
    /// Only these functions (comma-separated); the report then says it is partial.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Do not write the report file (print only).
    #[arg(long)]
    pub no_write: bool,
    /// How long the release build took, for the report (scripts/bench passes it).
    #[arg(long)]
    pub build_seconds: Option<u64>,
    /// The build command, for the report.
    #[arg(long)]
    pub build_command: Option<String>,
    /// The commit checked out when the build started, for the report.
    #[arg(long)]
    pub built_from: Option<String>,
}

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
