//! A CPU limit like a Lambda function's: Lambda gives a function CPU in proportion to
//! its memory, one vCPU at 1,769 MB ("Configure Lambda function memory", AWS Lambda
//! Developer Guide), so a 256 MB function has 256 / 1769 = 0.145 of one vCPU. The bench
//! makes a cgroup with that CPU bandwidth (cgroup v2 `cpu.max`, or v1
//! `cpu.cfs_quota_us` / `cpu.cfs_period_us`) and starts the function's process in it:
//! the process joins the group between fork and exec, so its whole init is limited.
//! Where no group can be made (no permission, no cpu controller) the report says "not
//! measured".

use std::ffi::CString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Lambda's memory for one vCPU, MB.
pub const MB_PER_VCPU: f64 = 1769.0;
/// The bandwidth period: short, so that the share is spread evenly over an init of tens
/// of milliseconds rather than given as one burst per 100 ms (the kernel's default).
pub const PERIOD_US: u64 = 20_000;

/// One vCPU's share a function of `memory_mb` gets.
pub fn share_of(memory_mb: f64) -> f64 {
    memory_mb / MB_PER_VCPU
}

/// A cgroup with a CPU quota; removed when dropped (after its processes ended).
pub struct CpuLimit {
    dir: PathBuf,
    procs: CString,
    pub share: f64,
    /// `cpu.max` (v2) or `cpu.cfs_quota_us` (v1), for the report.
    pub how: String,
}

impl CpuLimit {
    /// Makes `loyalty-bench-<pid>` under the cgroup v2 root or the v1 cpu hierarchy with
    /// `share` of one CPU; why not, if it cannot.
    pub fn create(share: f64) -> Result<CpuLimit, String> {
        if !(0.01..=64.0).contains(&share) {
            return Err(format!("CPU share {share}: choose 0.01 to 64"));
        }
        let quota = ((PERIOD_US as f64) * share).round() as u64;
        let name = format!("loyalty-bench-{}", std::process::id());
        let v2 = Path::new("/sys/fs/cgroup");
        let v1 = Path::new("/sys/fs/cgroup/cpu");
        let (dir, how) = if v2.join("cgroup.controllers").is_file() {
            let controllers = std::fs::read_to_string(v2.join("cgroup.controllers")).unwrap_or_default();
            if !controllers.split_whitespace().any(|c| c == "cpu") {
                return Err("cgroup v2 without the cpu controller".into());
            }
            let dir = v2.join(&name);
            mkdir(&dir)?;
            write(&dir.join("cpu.max"), &format!("{quota} {PERIOD_US}"))?;
            (dir, format!("cgroup v2 cpu.max = {quota} {PERIOD_US}"))
        } else if v1.join("cpu.cfs_quota_us").is_file() {
            let dir = v1.join(&name);
            mkdir(&dir)?;
            write(&dir.join("cpu.cfs_period_us"), &PERIOD_US.to_string())?;
            write(&dir.join("cpu.cfs_quota_us"), &quota.to_string())?;
            (dir, format!("cgroup v1 cpu.cfs_quota_us = {quota}, cpu.cfs_period_us = {PERIOD_US}"))
        } else {
            return Err("no cgroup cpu controller (neither v2 cpu.max nor v1 cpu.cfs_quota_us)".into());
        };
        let procs = CString::new(dir.join("cgroup.procs").to_string_lossy().into_owned())
            .map_err(|e| format!("cgroup path: {e}"))?;
        Ok(CpuLimit { dir, procs, share, how })
    }

    /// Makes `cmd`'s process join the group before it execs.
    pub fn attach(&self, cmd: &mut Command) {
        let procs = self.procs.clone();
        // SAFETY: only async-signal-safe calls (getpid, open, write, close) on memory
        // allocated before the fork.
        unsafe {
            cmd.pre_exec(move || {
                let mut digits = [0u8; 20];
                let mut n = libc::getpid() as u64;
                let mut at = digits.len();
                loop {
                    at -= 1;
                    digits[at] = b'0' + (n % 10) as u8;
                    n /= 10;
                    if n == 0 {
                        break;
                    }
                }
                let fd = libc::open(procs.as_ptr(), libc::O_WRONLY);
                if fd < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                let len = digits.len() - at;
                let written = libc::write(fd, digits[at..].as_ptr().cast(), len);
                let err = std::io::Error::last_os_error();
                libc::close(fd);
                if written != len as isize {
                    return Err(err);
                }
                Ok(())
            });
        }
    }

    /// CPU time the group was throttled, ms (v1 `cpu.stat` throttled_time, v2
    /// throttled_usec), if the kernel says.
    pub fn throttled_ms(&self) -> Option<f64> {
        let stat = std::fs::read_to_string(self.dir.join("cpu.stat")).ok()?;
        stat.lines().find_map(|l| {
            let (k, v) = l.split_once(' ')?;
            let v: f64 = v.trim().parse().ok()?;
            match k {
                "throttled_time" => Some(v / 1e6),
                "throttled_usec" => Some(v / 1e3),
                _ => None,
            }
        })
    }
}

impl Drop for CpuLimit {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.dir);
    }
}

fn mkdir(dir: &Path) -> Result<(), String> {
    match std::fs::create_dir(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(format!("{}: {e}", dir.display())),
    }
}

fn write(file: &Path, value: &str) -> Result<(), String> {
    std::fs::write(file, value).map_err(|e| format!("{}: {e}", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_256_mb_function_has_a_seventh_of_a_vcpu() {
        let share = share_of(256.0);
        assert!((share - 0.1447).abs() < 0.001, "{share}");
    }
}
