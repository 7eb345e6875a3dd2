//! The AWS-like runs: cold starts and warm invocations of every function (and of
//! hello-world) as AWS runs them, beside the plain run of the same binaries:
//!
//! - **TLS + latency**: DynamoDB through [`crate::tls::TlsProxy`] (`https://`, a
//!   throwaway root the benchmark build of the functions trusts), each call and each
//!   new connection held for `--aws-latency-ms`;
//! - **TLS + latency + CPU**: the same, with the process in a cgroup limited to a 256 MB
//!   function's share of one vCPU ([`crate::cgroup`]), or "not measured" where no such
//!   group can be made.
//!
//! Fewer invocations than the plain run (`--aws-cold`, `--aws-warm`), to keep the full
//! run near its length. The raw calls are the same replays as the plain run's, issued by
//! the bench through the same TLS proxy (the bench is not CPU-limited).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::Client;

use crate::args::Args;
use crate::cgroup::{self, CpuLimit};
use crate::error::Error;
use crate::procs::Child;
use crate::replay::Replay;
use crate::report::percentile_unsorted;
use crate::results::{ms, FunctionResult, HELLO};
use crate::runtime::{bootstrap_command, FunctionEnv, Group};
use crate::scenarios::Events;
use crate::tls::{ThrowawayCa, TlsProxy};

const LIMIT: Duration = Duration::from_secs(60);

/// What the runs need from the bench's run.
pub struct Setup<'a> {
    pub bin_dir: &'a Path,
    pub run_dir: &'a Path,
    pub table: &'a str,
    pub events: Arc<tokio::sync::Mutex<Events>>,
}

/// One variant's numbers for one function.
#[derive(Debug, Default, Clone)]
pub struct VariantResult {
    pub cold_init_ms: Vec<f64>,
    pub cold_first_ms: Vec<f64>,
    pub warm_ms: Vec<f64>,
    pub raw_ms: Vec<f64>,
    pub errors: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct FunctionVariants {
    pub name: String,
    pub tls: VariantResult,
    /// None where the CPU limit could not be set.
    pub tls_cpu: Option<VariantResult>,
}

/// The TLS proxy, its root, the raw client through it and the CPU limit, for the whole
/// run.
pub struct AwsLike {
    ca: ThrowawayCa,
    proxy: TlsProxy,
    raw: Client,
    cpu: Result<CpuLimit, String>,
    latency_ms: u64,
    cold: usize,
    warm: usize,
    instance: usize,
    pub functions: Vec<FunctionVariants>,
    pub hello: Option<FunctionVariants>,
}

impl AwsLike {
    pub async fn start(args: &Args, ddb: SocketAddr) -> Result<AwsLike, Error> {
        let ca = ThrowawayCa::new()?;
        let proxy = TlsProxy::start(ddb, &ca, Duration::from_millis(args.aws_latency_ms)).await?;
        let raw = crate::tls::raw_client(proxy.addr, &ca).await?;
        let cpu = CpuLimit::create(args.aws_cpu_share.unwrap_or_else(|| cgroup::share_of(256.0)));
        Ok(AwsLike {
            ca,
            proxy,
            raw,
            cpu,
            latency_ms: args.aws_latency_ms,
            cold: args.aws_cold.max(1),
            warm: args.aws_warm.max(1),
            instance: 9000,
            functions: Vec::new(),
            hello: None,
        })
    }

    /// What the CPU-limited variant ran under, or why it did not run.
    pub fn cpu_note(&self) -> Result<String, String> {
        self.cpu.as_ref().map(|c| format!("{:.3} of one CPU ({})", c.share, c.how)).map_err(Clone::clone)
    }

    /// Both variants of one function (hello-world: no DynamoDB settings, no replay).
    pub async fn measure(&mut self, setup: &Setup<'_>, function: &str, replay: Option<&Replay>) -> Result<(), Error> {
        let tls = self.variant(setup, function, false, replay).await?;
        let tls_cpu = match self.cpu.is_ok() {
            true => Some(self.variant(setup, function, true, None).await?),
            false => None,
        };
        let v = FunctionVariants { name: function.to_owned(), tls, tls_cpu };
        crate::bench::say(format!(
            "{:<26} AWS-like: cold first response {:.1} ms (TLS+latency), {} (+CPU limit); warm p50 {:.2} ms / {}",
            function,
            percentile_unsorted(&v.tls.cold_first_ms, 50.0),
            v.tls_cpu
                .as_ref()
                .map_or("not measured".into(), |c| format!("{:.1} ms", percentile_unsorted(&c.cold_first_ms, 50.0))),
            percentile_unsorted(&v.tls.warm_ms, 50.0),
            v.tls_cpu
                .as_ref()
                .map_or("not measured".into(), |c| format!("{:.2} ms", percentile_unsorted(&c.warm_ms, 50.0))),
        ));
        if function == HELLO {
            self.hello = Some(v);
        } else {
            self.functions.push(v);
        }
        Ok(())
    }

    async fn variant(
        &mut self,
        setup: &Setup<'_>,
        function: &str,
        limited: bool,
        replay: Option<&Replay>,
    ) -> Result<VariantResult, Error> {
        let mut out = VariantResult::default();
        let endpoint_url = format!("https://{}", self.proxy.addr);
        let binary: PathBuf = setup.bin_dir.join(function);
        for k in 0..self.cold {
            self.instance += 1;
            let group = Group::new(function);
            let endpoint = group.endpoint().await?;
            let log = setup.run_dir.join(format!("{function}-aws-{:04}.log", self.instance));
            let env = FunctionEnv { table: setup.table, dynamodb: self.proxy.addr };
            let hello = function == HELLO;
            let extra: Vec<(&str, &str)> = if hello {
                vec![]
            } else {
                vec![
                    ("AWS_ENDPOINT_URL_DYNAMODB", endpoint_url.as_str()),
                    ("LOYALTY_BENCH_TRUST_PEM", self.ca.pem.as_str()),
                ]
            };
            let event = setup.events.lock().await.build(function, "ok").await?;
            let mut cmd =
                bootstrap_command(&binary, function, endpoint.addr, (!hello).then_some(&env), self.instance, &extra);
            if limited {
                if let Ok(cpu) = &self.cpu {
                    cpu.attach(&mut cmd);
                }
            }
            let mut child = Child::spawn(function, cmd, &log, Duration::ZERO)?;
            let outcome = group.invoke_on(&mut child, &event, LIMIT).await?;
            let poll = (*endpoint.state.first_poll.lock().unwrap_or_else(|e| e.into_inner()))
                .ok_or_else(|| format!("{function}: answered without a recorded poll"))?;
            out.cold_init_ms.push(ms(poll.saturating_duration_since(child.spawned_at)));
            out.cold_first_ms.push(ms(outcome.responded.saturating_duration_since(child.spawned_at)));
            if outcome.runtime_error || outcome.status() != Some(200) {
                out.errors.push(format!("{function} cold request: {:?}: {}", outcome.status(), outcome.body_excerpt()));
            }
            if k + 1 < self.cold {
                continue;
            }
            for _ in 0..self.warm {
                let event = setup.events.lock().await.build(function, "ok").await?;
                let outcome = group.invoke_on(&mut child, &event, LIMIT).await?;
                if (outcome.runtime_error || outcome.status() != Some(200)) && out.errors.len() < 3 {
                    out.errors.push(format!(
                        "{function} warm request: {:?}: {}",
                        outcome.status(),
                        outcome.body_excerpt()
                    ));
                }
                out.warm_ms.push(ms(outcome.duration()));
                if let Some(replay) = replay {
                    match replay.run_once(&self.raw).await {
                        Ok(d) => out.raw_ms.push(ms(d)),
                        Err(e) if out.errors.len() < 3 => out.errors.push(format!("{function} raw replay: {e}")),
                        Err(_) => {}
                    }
                }
            }
            drop(child);
            drop(endpoint);
        }
        Ok(out)
    }

    /// The report's section, beside the plain run's numbers of the same functions.
    pub fn markdown(&self, plain: &[FunctionResult], hello: &FunctionResult) -> String {
        let mut out = String::from("## AWS-like cold starts: TLS, in-region latency, a 256 MB CPU share\n\n");
        let cpu = self.cpu_note();
        out.push_str(&format!(
            "The same binaries three ways, in the same run: **plain** (the sections above: plain HTTP to \
             DynamoDB Local on loopback, the whole machine's CPU), **TLS + {lat} ms** (DynamoDB through a proxy \
             that terminates TLS with a throwaway certificate made for this run and holds each call {lat} ms and \
             each new connection {lat} ms before its handshake, like an in-region call), and **TLS + {lat} ms + \
             CPU** (the same, the process in a cgroup with {cpu}). Lambda gives a function CPU in proportion to \
             its memory, one vCPU at 1,769 MB (AWS Lambda Developer Guide, \"Configure Lambda function \
             memory\"), so a 256 MB function has 256 / 1769 = 0.145 of one vCPU. The functions are the \
             benchmark's build (`loyalty` feature `bench-trust`): their SDK client trusts the compiled-in AWS \
             roots plus the throwaway root, read from `LOYALTY_BENCH_TRUST_PEM` only in that build, so building \
             the TLS configuration and the handshake are what a cold start in AWS pays. The AWS-like variants \
             run {cold} cold starts and {warm} warm invocations per function (the plain run: {pcold} and \
             {pwarm}). Raw: the bench's own replay of the function's calls through the same proxy (not \
             CPU-limited). Init: start → first poll of the runtime API; first: start → first response. \
             Medians, ms.\n\n",
            lat = self.latency_ms,
            cpu = match &cpu {
                Ok(c) => c.clone(),
                Err(e) => format!("a 256 MB share: not measured here ({e})"),
            },
            cold = self.cold,
            warm = self.warm,
            pcold = hello.cold_init_ms.len(),
            pwarm = hello.warm_ms.len(),
        ));
        out.push_str(
            "| function | init plain | init TLS | init TLS+CPU | first plain | first TLS | first TLS+CPU | warm \
             plain | warm TLS | warm TLS+CPU | raw plain | raw TLS |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\
             ---:|---:|---:|\n",
        );
        let p =
            |v: &[f64]| if v.is_empty() { "–".to_owned() } else { format!("{:.1}", percentile_unsorted(v, 50.0)) };
        let nm = "not measured";
        let row = |out: &mut String, plain: &FunctionResult, v: &FunctionVariants| {
            let c = v.tls_cpu.as_ref();
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                if plain.name == HELLO { format!("{HELLO} (no DynamoDB)") } else { format!("`{}`", plain.name) },
                p(&plain.cold_init_ms),
                p(&v.tls.cold_init_ms),
                c.map_or(nm.into(), |c| p(&c.cold_init_ms)),
                p(&plain.cold_first_ms),
                p(&v.tls.cold_first_ms),
                c.map_or(nm.into(), |c| p(&c.cold_first_ms)),
                p(&plain.warm_ms),
                p(&v.tls.warm_ms),
                c.map_or(nm.into(), |c| p(&c.warm_ms)),
                p(&plain.raw_ms),
                p(&v.tls.raw_ms),
            ));
        };
        if let Some(h) = &self.hello {
            row(&mut out, hello, h);
        }
        for v in &self.functions {
            if let Some(plain) = plain.iter().find(|f| f.name == v.name) {
                row(&mut out, plain, v);
            }
        }
        out.push_str(&format!(
            "\nTLS proxy: {} handshakes, {} calls.",
            self.proxy.handshakes.load(Ordering::Relaxed),
            self.proxy.calls.load(Ordering::Relaxed)
        ));
        if let Ok(c) = &self.cpu {
            if let Some(t) = c.throttled_ms() {
                out.push_str(&format!(" The CPU-limited processes were throttled {:.0} ms in all.", t));
            }
        }
        out.push('\n');
        let errors: Vec<&String> = self
            .functions
            .iter()
            .chain(self.hello.as_ref())
            .flat_map(|v| v.tls.errors.iter().chain(v.tls_cpu.iter().flat_map(|c| c.errors.iter())))
            .collect();
        if !errors.is_empty() {
            out.push_str("\nUnexpected answers in the AWS-like runs:\n\n");
            for e in errors.iter().take(20) {
                out.push_str(&format!("- {e}\n"));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// The extra root is for the benchmark's build only: no function's manifest, no
    /// workspace setting and not the template's build turns the feature on.
    #[test]
    fn nothing_but_the_bench_script_enables_bench_trust() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut files =
            vec![root.join("Cargo.toml"), root.join("infra/template.yaml"), root.join("tools/bench/Cargo.toml")];
        for entry in std::fs::read_dir(root.join("functions")).unwrap() {
            files.push(entry.unwrap().path().join("Cargo.toml"));
        }
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            assert!(!text.contains("bench-trust"), "{} enables bench-trust", file.display());
        }
    }
}
