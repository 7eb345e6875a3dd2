//! The command line of `loyalty-bench`.

use std::path::PathBuf;

use clap::Parser;

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
    /// Members with points due that the expiry job's measurement seeds.
    #[arg(long, default_value_t = 10_000)]
    pub job_members: usize,
    /// Members the expiry job settles at the same time.
    #[arg(long, default_value_t = 16)]
    pub job_concurrency: usize,
    /// Measure only the expiry job (no function binaries needed) and print it.
    #[arg(long)]
    pub job_only: bool,
    /// With --job-only: a running DynamoDB Local (HOST:PORT) to make its table on
    /// (default: a DynamoDB Local of its own).
    #[arg(long)]
    pub job_ddb: Option<std::net::SocketAddr>,
    /// Print the binaries a run (with these --only) measures, one a line, and exit:
    /// what scripts/bench builds.
    #[arg(long)]
    pub list_functions: bool,
    /// Skip the AWS-like runs (TLS to DynamoDB, in-region latency, a 256 MB CPU share).
    #[arg(long)]
    pub no_aws_like: bool,
    /// AWS-like runs: milliseconds each DynamoDB call (and each new connection) waits,
    /// like an in-region call.
    #[arg(long, default_value_t = 3)]
    pub aws_latency_ms: u64,
    /// AWS-like runs: cold starts per function and variant.
    #[arg(long, default_value_t = 5)]
    pub aws_cold: usize,
    /// AWS-like runs: warm invocations per function and variant.
    #[arg(long, default_value_t = 40)]
    pub aws_warm: usize,
    /// AWS-like runs: the share of one CPU of the CPU-limited variant (default 256 MB's:
    /// 256 / 1769, Lambda gives one vCPU at 1,769 MB).
    #[arg(long)]
    pub aws_cpu_share: Option<f64>,
    /// Cache simulation: tenants (Zipf-ranked), each with one key.
    #[arg(long, default_value_t = 10_000)]
    pub scale_tenants: u32,
    /// Cache simulation: warm processes of the function.
    #[arg(long, default_value_t = 50)]
    pub scale_processes: usize,
    /// Cache simulation: requests per second to the function.
    #[arg(long, default_value_t = 2_000.0)]
    pub scale_rate: f64,
    /// Cache simulation: Zipf exponents, the first one leads the report (no value: none).
    #[arg(long, value_delimiter = ',', num_args = 0.., default_value = "1.0,0.8,1.2")]
    pub scale_s: Vec<f64>,
    /// Cache simulation: simulated seconds counted (after an hour of warm-up; an hour
    /// counts every key's "last used" write once, where the hour's writes bunch).
    #[arg(long, default_value_t = 3_600.0)]
    pub scale_seconds: f64,
    /// Only the cache simulation (no binaries, no DynamoDB) and print it.
    #[arg(long)]
    pub scale_only: bool,
    /// Load curves: offered rates per second, in order; a curve stops after its first
    /// saturated rate (`--curve-rates` with no value: no curves).
    #[arg(long, value_delimiter = ',', num_args = 0.., default_value = "25,50,100,200,400,800,1600")]
    pub curve_rates: Vec<f64>,
    /// Load curves: seconds of requests at each rate.
    #[arg(long, default_value_t = 5.0)]
    pub curve_seconds: f64,
    /// Load curves: warm processes of each function.
    #[arg(long, default_value_t = 4)]
    pub curve_processes: usize,
}
