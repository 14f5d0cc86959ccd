//! What the bench binaries share: a minimal Lambda Runtime API emulator that the real handler
//! binaries poll, a fast in-memory S3 endpoint, an upload sink that speaks TikTok's chunk
//! protocol, and small helpers (peak RSS of a process, medians, the release binaries).
//!
//! None of this is production code: it exists so the benchmarks measure the project's code,
//! not the stand-ins around it.

pub mod chain;
pub mod cost;
pub mod front_door;
pub mod lambda;
pub mod measure;
pub mod runtime_api;
pub mod servers;
pub mod volume;

use std::path::PathBuf;

use anyhow::{Context, bail};

/// The workspace root (this crate lives in `tests/bench`).
pub fn workspace_root() -> PathBuf {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    dir.pop();
    dir.pop();
    dir
}

/// Every Lambda of the project: `functions/<name>` builds the binary `<name>`.
pub const FUNCTIONS: [&str; 7] = [
    "oauth-start",
    "oauth-callback",
    "posts-api",
    "s3-trigger",
    "upload-init",
    "chunk-upload",
    "publish-status",
];

/// `target/release/<name>`, which must have been built with the workspace's release profile
/// (and in a build of its own, without the bench and its test kit: see the README).
pub fn release_binary(name: &str) -> anyhow::Result<PathBuf> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let path = target.join("release").join(name);
    if !path.is_file() {
        bail!(
            "{} is missing: build the Lambdas first with `cargo build --release {}`",
            path.display(),
            FUNCTIONS.map(|f| format!("-p {f}")).join(" ")
        );
    }
    Ok(path)
}

/// The peak resident set size (VmHWM) of process `pid`, in KiB, from the kernel.
pub fn vmhwm_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("read /proc/{pid}/status"))?;
    status_field_kib(&status, "VmHWM:")
}

fn status_field_kib(status: &str, field: &str) -> anyhow::Result<u64> {
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .with_context(|| format!("no {field} in /proc/PID/status"))?;
    line.split_whitespace()
        .nth(1)
        .with_context(|| format!("empty {field}"))?
        .parse()
        .with_context(|| format!("{field} is not a number"))
}

/// The median of `values` (the mean of the middle two for an even count); NaN when empty.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

/// The value at `fraction` (0..=1) of the sorted `values`, by nearest rank; zero when empty.
pub fn percentile(sorted: &[std::time::Duration], fraction: f64) -> std::time::Duration {
    if sorted.is_empty() {
        return std::time::Duration::ZERO;
    }
    let rank = (fraction * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// CPU time (user + system) this process has used so far, in seconds.
pub fn process_cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes into the zeroed struct we hand it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid pointer to a rusage struct.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    if rc != 0 {
        return f64::NAN;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// The machine the figures come from: `nproc` and the CPU model.
pub fn machine_summary() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    format!("{cores} cores available, {model}")
}

/// The process's exit for a benchmark's result: success when its goal was met, otherwise
/// failure (an error is printed first, prefixed with the benchmark's `name`).
pub fn exit_code(name: &str, result: anyhow::Result<bool>) -> std::process::ExitCode {
    match result {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::FAILURE,
        Err(err) => {
            eprintln!("{name}: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// A multi-threaded tokio runtime, as the Lambdas run.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start tokio")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let secs: Vec<std::time::Duration> = (1..=10).map(std::time::Duration::from_secs).collect();
        assert_eq!(percentile(&secs, 0.5).as_secs(), 5);
        assert_eq!(percentile(&secs, 0.9).as_secs(), 9);
        assert_eq!(percentile(&secs, 1.0).as_secs(), 10);
        assert_eq!(percentile(&secs, 0.0).as_secs(), 1);
        assert_eq!(percentile(&secs[..1], 0.9).as_secs(), 1);
        assert!(percentile(&[], 0.5).is_zero());
    }

    #[test]
    fn status_fields_are_read_in_kib() {
        let status = "Name:\tx\nVmHWM:\t   14920 kB\nVmRSS:\t 12000 kB\n";
        assert_eq!(status_field_kib(status, "VmHWM:").unwrap(), 14920);
        assert_eq!(status_field_kib(status, "VmRSS:").unwrap(), 12000);
        assert!(status_field_kib(status, "VmPeak:").is_err());
    }

    #[test]
    fn this_process_has_a_peak_rss() {
        assert!(vmhwm_kib(std::process::id()).unwrap() > 0);
    }
}
