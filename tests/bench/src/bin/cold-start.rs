//! Cold start of every Lambda binary: from process start to its first poll of the Runtime
//! API (ready for its first event), each binary's size, whether it reaches the network
//! before its first event, and the first invocations of the task Lambdas that call TikTok.
//!
//! `cargo build --release -p oauth-start -p oauth-callback -p posts-api -p s3-trigger \
//!    -p upload-init -p chunk-upload -p publish-status`
//! `cargo run --release -p publish-bench --bin cold-start [-- --rounds N --posts M]`
//!
//! Part 1 starts each binary `--rounds` times (the binaries alternate within a round) against
//! the bench's Runtime API emulator, with AWS and TikTok pointed at tripwires that record
//! every connection, and the client secret to be read from Secrets Manager (as in AWS).
//! Part 2 takes `--posts` small posts through upload-init, chunk-upload and publish-status,
//! each started cold, against moto (through a counting proxy) and the strict fake TikTok
//! (plain HTTP: no TLS set-up is included), and times each first invocation.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use publish_bench::chain::{
    Step, create_client_secret, create_sealing_key, queue_sealed_post, run_post,
};
use publish_bench::lambda::{Running, function_env, placeholder_tables};
use publish_bench::servers::{CountingProxy, Tripwire};
use publish_bench::{FUNCTIONS, exit_code, machine_summary, median, release_binary, runtime};
use tiktok_publish_testkit::TestStack;
use tiktok_publish_testkit::video::tiny_mp4;

/// The goal: median time to ready under this.
const READY_GOAL: Duration = Duration::from_millis(20);

struct Options {
    rounds: usize,
    posts: usize,
}

fn options() -> anyhow::Result<Options> {
    let mut options = Options {
        rounds: 21,
        posts: 5,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--rounds" => options.rounds = value()?.parse().context("--rounds")?,
            "--posts" => options.posts = value()?.parse().context("--posts")?,
            other => bail!("unknown argument {other:?} (known: --rounds N, --posts M)"),
        }
    }
    if options.rounds == 0 {
        bail!("--rounds must be at least 1");
    }
    Ok(options)
}

fn main() -> ExitCode {
    exit_code(
        "cold-start",
        runtime().and_then(|runtime| runtime.block_on(run())),
    )
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn run() -> anyhow::Result<bool> {
    let options = options()?;
    println!("machine: {}", machine_summary());
    let ready_met = ready_times(&options).await?;
    if options.posts > 0 {
        first_invocations(&options).await?;
    }
    Ok(ready_met)
}

/// Part 1: spawn → first poll, per binary; connections made before the first poll.
async fn ready_times(options: &Options) -> anyhow::Result<bool> {
    let aws = Tripwire::start().await?;
    let tiktok = Tripwire::start().await?;
    let mut ready: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut early_calls: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for round in 0..options.rounds {
        for offset in 0..FUNCTIONS.len() {
            let function = FUNCTIONS[(round + offset) % FUNCTIONS.len()];
            let env = function_env(
                function,
                128,
                &aws.url(),
                &tiktok.url(),
                &placeholder_tables(),
            );
            let started = Instant::now();
            let running = Running::start(function, &env).await?;
            // Give a call started just before the poll time to land on a tripwire.
            tokio::time::sleep(Duration::from_millis(20)).await;
            let first_poll = running.spawned + running.ready;
            for (wire, hits) in [("AWS", aws.hits()), ("TikTok", tiktok.hits())] {
                for (at, line) in hits {
                    if at >= started && at <= first_poll {
                        early_calls
                            .entry(function)
                            .or_default()
                            .push(format!("{wire}: {line}"));
                    }
                }
            }
            ready.entry(function).or_default().push(ms(running.ready));
            running.stop().await?;
        }
    }
    let hits_total = aws.hits().len() + tiktok.hits().len();

    println!();
    println!(
        "cold start to first poll, {} runs per binary (release build, {} MB memory setting ignored locally)",
        options.rounds, 128
    );
    println!(
        "{:<16} {:>10} {:>10} {:>10} {:>12} {:>22}",
        "function", "median", "min", "max", "size", "calls before 1st poll"
    );
    let mut all_met = true;
    for function in FUNCTIONS {
        let times = ready.get(function).cloned().unwrap_or_default();
        let size = std::fs::metadata(release_binary(function)?)?.len();
        let min = times.iter().copied().fold(f64::INFINITY, f64::min);
        let max = times.iter().copied().fold(0.0, f64::max);
        let med = median(&times);
        all_met &= med < ms(READY_GOAL);
        println!(
            "{:<16} {:>7.1} ms {:>7.1} ms {:>7.1} ms {:>9.1} MB {:>22}",
            function,
            med,
            min,
            max,
            size as f64 / 1e6,
            early_calls.get(function).map_or(0, Vec::len)
        );
    }
    for (function, calls) in &early_calls {
        println!("  {function} connected before its first poll: {calls:?}");
    }
    println!(
        "connections to the AWS and TikTok tripwires in all runs (before or after the first poll): {hits_total}"
    );
    println!(
        "goal: median under {} ms for every binary: {}",
        READY_GOAL.as_millis(),
        if all_met { "yes" } else { "NO" }
    );
    Ok(all_met && early_calls.is_empty())
}

/// Part 2: the first invocation of each task Lambda, cold, on small posts.
async fn first_invocations(options: &Options) -> anyhow::Result<()> {
    let stack = TestStack::start("coldstart").await;
    let proxy = CountingProxy::start(test_support::moto().endpoint()).await?;
    let secret_arn = create_client_secret(
        &proxy,
        &test_support::unique_name("tiktok-client-secret"),
        &stack.fake.settings().client_secret,
    )
    .await?;
    let sealing_key = create_sealing_key(&proxy).await?;
    let mut runs: Vec<Vec<Step>> = Vec::new();
    for n in 0..options.posts {
        let key = format!("uploads/cold-{n}.mp4");
        stack.put(&key, tiny_mp4()).await;
        let post = queue_sealed_post(&stack, &key, &sealing_key).await?;
        runs.push(
            run_post(
                &stack,
                &proxy,
                &secret_arn,
                post.id.as_str(),
                &[("SEALING_KEY_ARN", sealing_key.clone())],
            )
            .await?,
        );
    }
    let violations = stack.fake.violations();
    if !violations.is_empty() {
        bail!("the fake saw violations: {violations:?}");
    }

    println!();
    println!(
        "first invocations, each function started cold, {} posts (tiny MP4, moto + the fake over plain HTTP):",
        options.posts
    );
    println!(
        "{:<16} {:>10} {:>22}  calls in the first invocation (last post)",
        "function", "ready", "1st invocation median"
    );
    for function in ["upload-init", "chunk-upload", "publish-status"] {
        let firsts: Vec<&Step> = runs
            .iter()
            .filter_map(|steps| steps.iter().find(|s| s.function == function && s.cold))
            .collect();
        let ready: Vec<f64> = firsts.iter().filter_map(|s| s.ready.map(ms)).collect();
        let durations: Vec<f64> = firsts.iter().map(|s| ms(s.outcome.duration())).collect();
        let last = firsts.last();
        println!(
            "{:<16} {:>7.1} ms {:>19.1} ms  AWS {:?}; TikTok {:?}",
            function,
            median(&ready),
            median(&durations),
            last.map(|s| s.aws.clone()).unwrap_or_default(),
            last.map(|s| s.tiktok.clone()).unwrap_or_default(),
        );
    }
    let warm: Vec<f64> = runs
        .iter()
        .flat_map(|steps| steps.iter())
        .filter(|s| s.function == "publish-status" && !s.cold)
        .map(|s| ms(s.outcome.duration()))
        .collect();
    if !warm.is_empty() {
        println!(
            "publish-status, later (warm) invocations: median {:.1} ms over {}",
            median(&warm),
            warm.len()
        );
    }
    Ok(())
}
