//! Volume: 100 posts on 10 accounts through the whole local stack (the real handlers, the
//! real state machine definition, moto, the strict fake TikTok), 1 to 200 MB, half dropped
//! into S3 and half through the API, 10 of them sent twice. It says whether each video was
//! published exactly once, and prints the 429s, the fake's contract violations, the wall
//! time, drop-to-live percentiles, each function's peak RSS and invocations, state
//! transitions and the cost per post (tests/bench/README.md part 7).
//!
//! On a fresh stack that counts the functions' AWS calls:
//! `LOCAL_STACK_AWS_FAULTS=none LOCAL_STACK_QUIET=1 scripts/local-stack run -- target/debug/volume-bench`
//! (after `cargo build -p publish-bench --features local-stack --bin volume-bench`;
//! `-- --posts 10 --accounts 2` for a short try).

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use e2e::{FINAL_STATES, Stack};
use publish_bench::cost::Requests;
use publish_bench::volume::drops::{Dropped, Sent, drop_all};
use publish_bench::volume::stack::{
    Recorded, aws_operations, driver_counts, function_processes, records_of, run_dir,
};
use publish_bench::volume::{
    Door, PerPost, busiest_window, counts_between, drop_to_live, plan, usage_of,
};
use publish_bench::{exit_code, machine_summary, percentile, runtime};
use serde_json::{Value, json};

/// How long every post may take to become final, from the first drop.
const ALL_FINAL_WITHIN: Duration = Duration::from_secs(45 * 60);
/// The bench's poll of the posts table (moto, directly).
const POLL_EVERY: Duration = Duration::from_secs(2);

struct Options {
    posts: usize,
    accounts: usize,
    /// Videos being written to the bucket at once.
    concurrency: usize,
}

fn options() -> anyhow::Result<Options> {
    let mut options = Options {
        posts: 100,
        accounts: 10,
        concurrency: 4,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let slot = match arg.as_str() {
            "--posts" => &mut options.posts,
            "--accounts" => &mut options.accounts,
            "--concurrency" => &mut options.concurrency,
            other => {
                bail!("unknown argument {other:?} (known: --posts, --accounts, --concurrency)")
            }
        };
        *slot = args
            .next()
            .with_context(|| format!("{arg} needs a value"))?
            .parse()
            .with_context(|| arg.clone())?;
    }
    ensure!(
        options.posts >= options.accounts && options.accounts > 0 && options.concurrency > 0,
        "need at least one post per account, one account and a concurrency of one"
    );
    Ok(options)
}

fn main() -> ExitCode {
    exit_code("volume-bench", runtime().and_then(|rt| rt.block_on(run())))
}

/// Polls the posts table until every dropped video's post is final; its records by key (a
/// key with none: lost so far). Returns when all are final or at the deadline.
async fn wait_all_final(
    stack: &Stack,
    accounts: &[String],
    dropped: &[Dropped],
    deadline: Instant,
) -> anyhow::Result<BTreeMap<String, Vec<Recorded>>> {
    loop {
        let mut by_key: BTreeMap<String, Vec<Recorded>> = BTreeMap::new();
        for open_id in accounts {
            for record in records_of(stack, open_id).await? {
                by_key.entry(record.key.clone()).or_default().push(record);
            }
        }
        let open = dropped
            .iter()
            .filter(|d| {
                by_key.get(&d.key).is_none_or(|records| {
                    records
                        .iter()
                        .any(|r| !FINAL_STATES.contains(&r.state.as_str()))
                })
            })
            .count();
        if open == 0 || Instant::now() >= deadline {
            if open > 0 {
                eprintln!("volume-bench: {open} post(s) not final at the deadline");
            }
            return Ok(by_key);
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// One line per video that was not published exactly once; empty when all were.
async fn not_published_once(
    stack: &Stack,
    accounts: &[String],
    dropped: &[Dropped],
    records: &BTreeMap<String, Vec<Recorded>>,
) -> anyhow::Result<(Vec<String>, usize)> {
    let mut problems = Vec::new();
    let mut lost = 0;
    for open_id in accounts {
        let publishes = stack.publishes_of(open_id).await?;
        let mine: Vec<&Dropped> = dropped.iter().filter(|d| &d.open_id == open_id).collect();
        if publishes.len() != mine.len() {
            problems.push(format!(
                "{open_id}: {} publishes at TikTok for {} videos",
                publishes.len(),
                mine.len()
            ));
        }
        for video in mine {
            let n = video.planned.n;
            let found = records.get(&video.key).map_or(&[][..], Vec::as_slice);
            let [record] = found else {
                problems.push(format!("post {n}: {} post records", found.len()));
                lost += usize::from(found.is_empty());
                continue;
            };
            if record.state != "PUBLISHED" {
                problems.push(format!("post {n} ({}): {}", record.id, record.state));
                lost += 1;
            }
            if video.api_id.as_ref().is_some_and(|id| id != &record.id) {
                problems.push(format!("post {n}: the API answered another id"));
            }
            let at_tiktok: Vec<&Value> = publishes
                .iter()
                .filter(|p| p["video_sha256"].as_str() == Some(video.sha256.as_str()))
                .collect();
            match at_tiktok.as_slice() {
                [publish]
                    if publish["complete"] == true
                        && publish["publish_id"].as_str() == record.publish_id.as_deref() => {}
                other => problems.push(format!(
                    "post {n}: {} publishes with its SHA-256 at TikTok: {other:?}",
                    other.len()
                )),
            }
        }
    }
    Ok((problems, lost))
}

async fn run() -> anyhow::Result<bool> {
    let options = options()?;
    let bench_started = Instant::now();
    let stack = Arc::new(Stack::connect().await?);
    let dir = run_dir(&stack)?;
    println!("volume-bench on {}", machine_summary());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "load average at the start (1, 5, 15 min): {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "local stack {} (its functions and the fake are debug builds, target/debug; one instance per function)",
        stack.run_id
    );
    let plan = plan(options.posts, options.accounts);
    let total_bytes: u64 = plan.iter().map(|p| p.size).sum();
    println!(
        "{} posts on {} accounts, {:.1} MB to {:.1} MB (log-uniform), {:.2} GB in all; {} through S3, {} through the API; {} sent twice",
        plan.len(),
        options.accounts,
        plan.iter().map(|p| p.size).min().unwrap_or(0) as f64 / 1e6,
        plan.iter().map(|p| p.size).max().unwrap_or(0) as f64 / 1e6,
        total_bytes as f64 / 1e9,
        plan.iter().filter(|p| p.door == Door::S3).count(),
        plan.iter().filter(|p| p.door == Door::Api).count(),
        plan.iter().filter(|p| p.twice).count(),
    );

    let mut accounts = Vec::new();
    for a in 0..options.accounts {
        let seed = json!({"nickname": format!("Volume {a}"), "username": format!("volume.{a}")});
        accounts.push(stack.connect_creator(seed).await?);
    }
    let aws_before = aws_operations(&stack).await?;

    let sent = Arc::new(Sent::default());
    let started = Instant::now();
    let dropped = drop_all(&stack, &sent, &plan, &accounts, options.concurrency).await?;
    let all_dropped = started.elapsed();
    let records = wait_all_final(&stack, &accounts, &dropped, started + ALL_FINAL_WITHIN).await?;
    let wall = started.elapsed();
    // The driver writes its counts within a second of a change.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let aws = counts_between(&aws_before, &aws_operations(&stack).await?);
    let driver = driver_counts(&dir)?;

    let (problems, lost) = not_published_once(&stack, &accounts, &dropped, &records).await?;
    let calls = stack.fake_get("/__fake/calls").await?;
    let calls = calls
        .as_array()
        .context("the fake's calls are not a list")?;
    let rate_limited = calls.iter().filter(|c| c["status"] == 429).count();
    let violations = stack.violations().await?;

    println!();
    println!(
        "published exactly once: {} ({} of {} videos: one post record, one complete publish at the fake with the video's SHA-256, no other publish)",
        if problems.is_empty() { "yes" } else { "NO" },
        dropped.len() - problems.len().min(dropped.len()),
        dropped.len()
    );
    for problem in &problems {
        println!("  {problem}");
    }
    println!("lost: {lost}");
    println!(
        "429s answered by the fake: {rate_limited} (of {} calls it recorded)",
        calls.len()
    );
    print_busiest_minutes(calls, &accounts);
    println!("contract violations at the fake: {}", violations.len());
    for violation in &violations {
        println!("  {violation}");
    }
    println!(
        "wall time: {:.1} s from the first drop until every post was final (all videos written after {:.1} s; the bench polls the posts table every {} s); {:.1} s with the {} accounts' connection",
        wall.as_secs_f64(),
        all_dropped.as_secs_f64(),
        POLL_EVERY.as_secs(),
        bench_started.elapsed().as_secs_f64(),
        options.accounts
    );
    print_drop_to_live(&dropped, &records);
    print_functions(&dir, &driver, &sent, options.accounts)?;

    let transitions: u64 = driver.transitions.values().sum();
    let task_and_trigger: u64 = driver.invocations.values().sum();
    let bench_sent =
        sent.posts_api.load(Ordering::Relaxed) + sent.s3_trigger.load(Ordering::Relaxed);
    let posts = dropped.len();
    println!(
        "state transitions: {transitions} over {} executions ({} still running), {:.2} per post (states entered + retries, counted by the driver)",
        driver.transitions.len(),
        driver.running,
        transitions as f64 / posts as f64
    );
    let mut per_execution: BTreeMap<u64, usize> = BTreeMap::new();
    for n in driver.transitions.values() {
        *per_execution.entry(*n).or_default() += 1;
    }
    let spread: Vec<String> = per_execution
        .iter()
        .map(|(n, executions)| format!("{n} × {executions}"))
        .collect();
    println!(
        "transitions per execution: {} (7 is one Init, one upload, one status fetch; each hold by the allowance adds WaitForInit, Init and InitReady; each extra status fetch Pause, Status and Route)",
        spread.join(", ")
    );
    let usage = usage_of(
        transitions,
        task_and_trigger + bench_sent,
        Requests::from_counts(&aws),
        total_bytes,
    );
    let per_post = PerPost::of(&usage, posts);
    let aws_calls: Vec<String> = aws.iter().map(|(op, n)| format!("{op} {n}")).collect();
    println!(
        "AWS calls of the functions from the first drop to the end (fault proxy, no faults): {}",
        aws_calls.join(", ")
    );
    println!(
        "cost per post (prices: {}): Step Functions ${:.6}; without transfer ${:.6} (transitions, Lambda requests, DynamoDB, S3, Secrets Manager, KMS; Lambda GB-s not counted: local debug durations); transfer out ${:.6} (mean {:.1} MB at ${}/GB); total ${:.6}",
        publish_bench::cost::prices::READ_ON,
        per_post.step_functions,
        per_post.without_transfer,
        per_post.transfer,
        total_bytes as f64 / posts as f64 / 1e6,
        publish_bench::cost::prices::PER_GB_OUT,
        per_post.without_transfer + per_post.transfer
    );
    let met = problems.is_empty() && lost == 0 && rate_limited == 0 && violations.is_empty();
    println!(
        "goal (every post published once, 0 lost, 0 × 429, 0 violations): {}",
        if met { "met" } else { "NOT met" }
    );
    Ok(met)
}

/// How close each of TikTok's per-account limits came to being reached: the most calls of
/// one account within any 60 s, against the fake's limit (its defaults, as the stack starts it).
fn print_busiest_minutes(calls: &[Value], accounts: &[String]) {
    let limits = fake_tiktok::RateLimits::default();
    let groups = [
        (
            "video inits",
            &["DirectInit", "InboxInit"][..],
            limits.init_per_minute,
        ),
        (
            "creator_info",
            &["CreatorInfo"][..],
            limits.creator_info_per_minute,
        ),
        (
            "status fetches",
            &["StatusFetch"][..],
            limits.status_per_minute,
        ),
    ];
    let busiest: Vec<String> = groups
        .iter()
        .map(|(name, endpoints, limit)| {
            let most = accounts
                .iter()
                .map(|open_id| {
                    let times = calls
                        .iter()
                        .filter(|c| c["open_id"].as_str() == Some(open_id.as_str()))
                        .filter(|c| endpoints.iter().any(|e| c["endpoint"] == *e))
                        .filter_map(|c| c["at"].as_i64())
                        .collect();
                    busiest_window(times, 60_000)
                })
                .max()
                .unwrap_or(0);
            format!("{most} {name} (limit {limit})")
        })
        .collect();
    println!(
        "busiest minute of one account at the fake: {}",
        busiest.join(", ")
    );
}

fn print_drop_to_live(dropped: &[Dropped], records: &BTreeMap<String, Vec<Recorded>>) {
    let mut times: Vec<Duration> = dropped
        .iter()
        .filter_map(|d| {
            let published_at = records.get(&d.key)?.first()?.published_at?;
            Some(drop_to_live(d.dropped_at, published_at))
        })
        .collect();
    times.sort();
    println!(
        "drop to live ({} posts): p50 {:.0} s, p90 {:.0} s, max {:.0} s (from the video's PutObject returning, or just before POST /posts, to the post's PUBLISHED history entry, which the store keeps to the second)",
        times.len(),
        percentile(&times, 0.5).as_secs_f64(),
        percentile(&times, 0.9).as_secs_f64(),
        times.last().copied().unwrap_or_default().as_secs_f64()
    );
}

fn print_functions(
    dir: &std::path::Path,
    driver: &publish_bench::volume::stack::DriverCounts,
    sent: &Sent,
    accounts: usize,
) -> anyhow::Result<()> {
    println!(
        "functions (peak RSS: VmHWM of the process in pids/<function> at the end; invocations during the whole run):"
    );
    for process in function_processes(dir)? {
        let name = process.function.as_str();
        let through_driver = driver.invocations.get(name).copied().unwrap_or(0);
        let invocations = match name {
            "posts-api" => format!(
                "{} (the bench's {} POST /posts and {accounts} connect links)",
                sent.posts_api.load(Ordering::Relaxed) + accounts as u64,
                sent.posts_api.load(Ordering::Relaxed)
            ),
            "oauth-start" | "oauth-callback" => format!("{accounts} (one per account connected)"),
            "s3-trigger" => format!(
                "{} ({through_driver} by the driver's event pump, {} by the bench's redeliveries)",
                through_driver + sent.s3_trigger.load(Ordering::Relaxed),
                sent.s3_trigger.load(Ordering::Relaxed)
            ),
            _ => format!("{through_driver}"),
        };
        println!(
            "  {name:<16} {:>7.1} MiB  invocations {invocations}{}",
            process.vmhwm_kib as f64 / 1024.0,
            if process.exits > 0 {
                format!(
                    " (restarted {} time(s): the last process's peak)",
                    process.exits
                )
            } else {
                String::new()
            }
        );
    }
    Ok(())
}
