//! What the volume bench reads from the running local stack besides the e2e harness's
//! doors: the posts table (state, TikTok's publish id and when the post went live), the
//! fault proxy's per-operation counts, the driver's counts (`driver-counts.json`) and the
//! function processes' peak RSS.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use aws_sdk_dynamodb::types::AttributeValue;
use e2e::Stack;
use serde_json::Value;

/// A post record as the bench needs it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub id: String,
    pub key: String,
    pub state: String,
    pub publish_id: Option<String>,
    /// The `at` (unix seconds) of its PUBLISHED history entry.
    pub published_at: Option<i64>,
}

/// Every post record of the account, read from the posts table. Reads moto directly: not
/// through the fault proxy, so the bench's polling is not counted as the functions' AWS calls.
pub async fn records_of(stack: &Stack, open_id: &str) -> anyhow::Result<Vec<Recorded>> {
    stack
        .post_items_of(open_id)
        .await?
        .iter()
        .map(recorded)
        .collect()
}

fn recorded(item: &HashMap<String, AttributeValue>) -> anyhow::Result<Recorded> {
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    let published_at = item
        .get("history")
        .and_then(|h| h.as_l().ok())
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.as_m().ok())
        .filter(|entry| {
            entry
                .get("state")
                .and_then(|s| s.as_s().ok())
                .is_some_and(|s| s == "PUBLISHED")
        })
        .find_map(|entry| entry.get("at")?.as_n().ok()?.parse().ok());
    Ok(Recorded {
        id: text("id").context("a post item without id")?,
        key: text("key").context("a post item without key")?,
        state: text("state").context("a post item without state")?,
        publish_id: text("publish_id"),
        published_at,
    })
}

/// The fault proxy's calls per operation, named as the bench's counting proxy names them.
pub async fn aws_operations(stack: &Stack) -> anyhow::Result<BTreeMap<String, u64>> {
    let counts = stack
        .aws_fault_counts()
        .await
        .context("the bench counts the functions' AWS calls: LOCAL_STACK_AWS_FAULTS=none")?;
    let operations = counts["operations"]
        .as_object()
        .with_context(|| format!("no operations in {counts}"))?;
    operations
        .iter()
        .map(|(op, n)| {
            let n = n
                .as_u64()
                .with_context(|| format!("{op}: {n} is no count"))?;
            Ok((op.clone(), n))
        })
        .collect()
}

/// The run's directory (`.local/stack/<run>/`).
pub fn run_dir(stack: &Stack) -> anyhow::Result<PathBuf> {
    stack
        .env("LOCAL_STACK_DIR")
        .map(PathBuf::from)
        .context("no LOCAL_STACK_DIR in the env file")
}

/// What the driver counted (tests/local-stack/driver.mjs's header).
#[derive(Debug, Default)]
pub struct DriverCounts {
    /// Invocations through the driver, per function.
    pub invocations: BTreeMap<String, u64>,
    /// Per execution: states entered plus retries (Step Functions' billed transitions).
    pub transitions: BTreeMap<String, u64>,
    /// Executions that had not ended when the file was written.
    pub running: usize,
}

pub fn driver_counts(dir: &Path) -> anyhow::Result<DriverCounts> {
    let path = dir.join("driver-counts.json");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "reading {} (a driver without the volume bench's counts?)",
            path.display()
        )
    })?;
    let json: Value = serde_json::from_str(&text).with_context(|| path.display().to_string())?;
    let mut counts = DriverCounts::default();
    for (function, n) in json["invocations"].as_object().into_iter().flatten() {
        counts
            .invocations
            .insert(function.clone(), n.as_u64().unwrap_or(0));
    }
    for (execution, seen) in json["executions"].as_object().into_iter().flatten() {
        let n = |field: &str| seen[field].as_u64().unwrap_or(0);
        counts
            .transitions
            .insert(execution.clone(), n("states") + n("retries"));
        if seen["outcome"] == "running" {
            counts.running += 1;
        }
    }
    Ok(counts)
}

/// A function process's peak resident set and how often it exited (its restart loop's
/// `exits/<function>` lines): a restarted function's peak is its last process's only.
#[derive(Debug)]
pub struct FunctionProcess {
    pub function: String,
    pub pid: u32,
    pub vmhwm_kib: u64,
    pub exits: usize,
}

/// Every function process of the run (`pids/<function>`, written by the restart loop).
pub fn function_processes(dir: &Path) -> anyhow::Result<Vec<FunctionProcess>> {
    let mut processes = Vec::new();
    let pids = dir.join("pids");
    for entry in std::fs::read_dir(&pids).with_context(|| format!("listing {}", pids.display()))? {
        let path = entry?.path();
        let Some(function) = path.file_name().and_then(|f| f.to_str()).map(str::to_owned) else {
            continue;
        };
        let text = std::fs::read_to_string(&path)?;
        let Ok(pid) = text.trim().parse::<u32>() else {
            bail!("{}: {text:?} is no pid", path.display());
        };
        let exits = std::fs::read_to_string(dir.join("exits").join(&function))
            .map(|t| t.lines().count())
            .unwrap_or(0);
        processes.push(FunctionProcess {
            vmhwm_kib: crate::vmhwm_kib(pid)
                .with_context(|| format!("{function} (pid {pid}) is gone"))?,
            function,
            pid,
            exits,
        });
    }
    processes.sort_by(|a, b| a.function.cmp(&b.function));
    Ok(processes)
}
