//! Facts about the run that the report states and must not take on trust: the files
//! the commit does not account for (untracked ones included), DynamoDB Local's version
//! as the jar reports it, the architecture the binaries were built for.

use std::path::Path;
use std::process::Command;

#[derive(Clone, Debug, Default)]
pub struct Facts {
    /// Untracked files (not ignored) in the working tree.
    pub untracked: Vec<String>,
    /// `java -jar DynamoDBLocal.jar -version`, or why it is unknown.
    pub ddb_version: String,
    /// The target architecture of this binary, built with the functions'.
    pub arch: &'static str,
    /// `uname -m` of the machine.
    pub machine_arch: String,
}

pub fn gather(root: &Path, ddb_dir: &Path) -> Facts {
    Facts {
        untracked: untracked(root),
        ddb_version: ddb_version(ddb_dir),
        arch: std::env::consts::ARCH,
        machine_arch: output(Command::new("uname").arg("-m")).unwrap_or_else(|| "unknown".into()),
    }
}

fn output(cmd: &mut Command) -> Option<String> {
    cmd.output().ok().filter(|o| o.status.success()).map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
}

/// `git status --porcelain --untracked-files=all`'s untracked entries.
pub fn untracked(root: &Path) -> Vec<String> {
    output(Command::new("git").arg("-C").arg(root).args(["status", "--porcelain", "--untracked-files=all"]))
        .map(|s| s.lines().filter_map(|l| l.strip_prefix("?? ")).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// The version DynamoDB Local prints for `-version` (its last line of output).
pub fn ddb_version(dir: &Path) -> String {
    let out = Command::new("java").current_dir(dir).args(["-jar", "DynamoDBLocal.jar", "-version"]).output();
    match out {
        Ok(o) => {
            let text = String::from_utf8_lossy(&o.stdout);
            match text.lines().map(str::trim).rfind(|l| !l.is_empty()) {
                Some(line) if line.len() < 40 && line.chars().next().is_some_and(|c| c.is_ascii_digit()) => {
                    line.to_owned()
                }
                _ => "unknown (`-version` printed no version)".into(),
            }
        }
        Err(e) => format!("unknown (java: {e})"),
    }
}

/// The commit line's words: clean, or what differs.
pub fn tree_state(dirty: &[String], untracked: &[String]) -> String {
    match (dirty.is_empty(), untracked.is_empty()) {
        (true, true) => "clean working tree (no changes, no untracked files)".into(),
        _ => {
            let mut parts = Vec::new();
            if !dirty.is_empty() {
                parts.push(format!("uncommitted changes to {} tracked file(s): {}", dirty.len(), dirty.join(", ")));
            }
            if !untracked.is_empty() {
                let shown: Vec<&str> = untracked.iter().take(10).map(String::as_str).collect();
                parts.push(format!(
                    "{} untracked file(s): {}{}",
                    untracked.len(),
                    shown.join(", "),
                    if untracked.len() > shown.len() { ", …" } else { "" }
                ));
            }
            format!("**not clean**: {}", parts.join("; "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tree_state_counts_untracked_files() {
        assert!(tree_state(&[], &[]).starts_with("clean"));
        let s = tree_state(&[], &["x.rs".into()]);
        assert!(s.contains("not clean") && s.contains("1 untracked file(s): x.rs"), "{s}");
    }
}
