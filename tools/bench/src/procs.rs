//! Child processes the bench starts (DynamoDB Local, bootstraps, loyalty-admin): output
//! to a log file, stdin from /dev/null, killed when the bench lets go of them, and
//! killed by the kernel if the bench itself dies (`PR_SET_PDEATHSIG`), so nothing it
//! started outlives it. Processes are stopped by their own PID only.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::error::Error;

/// A running child. Dropping it stops it (TERM, then KILL after `grace`).
pub struct Child {
    name: String,
    child: std::process::Child,
    log: PathBuf,
    grace: Duration,
    pub spawned_at: Instant,
}

impl Child {
    /// Starts `cmd` with stdout and stderr appended to `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path, grace: Duration) -> Result<Child, Error> {
        let out = File::options()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| format!("cannot open log {}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| format!("log {}: {e}", log.display()))?;
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let spawned_at = Instant::now();
        let child = cmd.spawn().map_err(|e| format!("cannot start {name} ({:?}): {e}", cmd.get_program()))?;
        Ok(Child { name: name.to_owned(), child, log: log.to_owned(), grace, spawned_at })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The exit status if the process has ended.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// An error naming the process, its exit status and the end of its log.
    pub fn died(&mut self, what: &str) -> Error {
        let status = self.exited().map(|s| s.to_string()).unwrap_or_else(|| "still running".into());
        format!("{} {what} ({status}); end of {}:\n{}", self.name, self.log.display(), tail(&self.log, 30)).into()
    }

    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.log, lines)
    }

    /// TERM, then KILL after the grace period (at once with a zero grace), then reap.
    pub fn stop(&mut self) {
        if self.exited().is_some() {
            return;
        }
        let pid = self.child.id() as libc::pid_t;
        if !self.grace.is_zero() {
            // SAFETY: signalling our own child by its PID.
            unsafe { libc::kill(pid, libc::SIGTERM) };
            let deadline = Instant::now() + self.grace;
            while Instant::now() < deadline {
                if self.exited().is_some() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs a short command to completion with a time limit; its output is returned
/// (stdout) and stderr is appended to `log`. Killed when the limit passes.
pub async fn run_to_end(name: &str, mut cmd: Command, log: &Path, limit: Duration) -> Result<String, Error> {
    let out_path = log.with_extension("stdout");
    let out = File::create(&out_path).map_err(|e| format!("{}: {e}", out_path.display()))?;
    let err = File::options().create(true).append(true).open(log).map_err(|e| format!("{}: {e}", log.display()))?;
    cmd.stdin(Stdio::null()).stdout(out).stderr(err);
    // SAFETY: as in `Child::spawn`.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0);
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| format!("cannot start {name}: {e}"))?;
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().map_err(|e| format!("{name}: {e}"))? {
            let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
            if !status.success() {
                return Err(format!("{name} failed ({status}); end of {}:\n{}", log.display(), tail(log, 20)).into());
            }
            return Ok(stdout);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{name} did not finish within {}s; killed", limit.as_secs()).into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The last `lines` lines of a file (at most 64 KiB read).
pub fn tail(path: &Path, lines: usize) -> String {
    let Ok(mut f) = File::open(path) else {
        return String::from("(no log)");
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(65_536)));
    let mut text = String::new();
    let _ = f.read_to_string(&mut text);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// INT, TERM and HUP set a flag instead of killing the bench, so that it can stop its
/// children and say what happened.
pub fn install_signal_handlers() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe {
            libc::signal(sig, on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t);
        }
    }
}

/// Resolves when a signal has arrived.
pub async fn interrupted() {
    while !INTERRUPTED.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
