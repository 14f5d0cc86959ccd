//! Cost per post: what one post uses (state transitions, Lambda invocations with their
//! durations and memory settings, DynamoDB reads and writes, S3, Secrets Manager and KMS
//! requests) and what that costs at us-east-1 prices.
//!
//! `cargo build --release -p upload-init -p chunk-upload -p publish-status`
//! `cargo run --release -p publish-bench --bin cost-per-post [-- --processing-secs 30 --upload-mbps 20]`
//!
//! A 10 MB and a 300 MB post are taken through the real task binaries (each started cold,
//! so every one reads the client secret: the worst case) against moto, through a proxy that
//! counts every AWS request by operation, and the strict fake TikTok. The counts per
//! invocation, and per chunk (the difference between the two posts), then give the 4 GB
//! post from its chunk plan. What a local run cannot give is assumed and printed: TikTok's
//! processing time (`--processing-secs` for 10 MB, scaled by TikTok's "about 30 s per
//! 512 MB" above that), the Lambda-to-TikTok upload rate (`--upload-mbps`), and how long the
//! entry Lambda (s3-trigger or posts-api) runs. State transitions follow the state machine
//! (infra/statemachine/publish.asl.json): Init, InitReady, Upload, then Pause, Status, Route
//! per status fetch (and per extra upload invocation, plus Upload), then Published.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use publish_bench::chain::{
    Step, create_client_secret, create_sealing_key, memory_mb, queue_sealed_post, run_post,
};
use publish_bench::servers::CountingProxy;
use publish_bench::{exit_code, machine_summary, median, runtime};
use tiktok_publish_core::pipeline::status_poll_interval;
use tiktok_publish_core::tiktok::chunk_plan::{ChunkPlan, ChunkPolicy};
use tiktok_publish_testkit::TestStack;
use tiktok_publish_testkit::video::{mp4_header, pseudo_random_bytes, write_video};

/// us-east-1 list prices, as published by AWS and known to the author; not re-read on the
/// day of the run (the bench machine cannot reach AWS). See tests/bench/README.md.
mod prices {
    pub const READ_ON: &str =
        "AWS's published us-east-1 prices as known on 2025-06 (not re-read: no internet here)";
    /// Step Functions Standard: $0.025 per 1,000 state transitions.
    pub const PER_TRANSITION: f64 = 0.025 / 1000.0;
    /// Lambda, arm64: $0.20 per million requests, $0.0000133334 per GB-second.
    pub const PER_INVOCATION: f64 = 0.20 / 1e6;
    pub const PER_GB_SECOND_ARM: f64 = 0.000_013_333_4;
    /// DynamoDB on-demand: $0.625 per million write request units, $0.125 per million read
    /// request units.
    pub const PER_WRU: f64 = 0.625 / 1e6;
    pub const PER_RRU: f64 = 0.125 / 1e6;
    /// S3 Standard: GET/HEAD $0.0004 per 1,000; PUT/POST/LIST $0.005 per 1,000.
    pub const PER_S3_GET: f64 = 0.0004 / 1000.0;
    pub const PER_S3_PUT: f64 = 0.005 / 1000.0;
    /// Secrets Manager: $0.05 per 10,000 API calls. KMS: $0.03 per 10,000 requests.
    pub const PER_SECRET_CALL: f64 = 0.05 / 10_000.0;
    pub const PER_KMS_CALL: f64 = 0.03 / 10_000.0;
    /// Data transfer out to the internet (Lambda to TikTok): $0.09 per GB (first 10 TB a
    /// month, after the account's free 100 GB).
    pub const PER_GB_OUT: f64 = 0.09;
}

/// How long the entry Lambda (s3-trigger or posts-api) is assumed to run: not measured here.
const ENTRY_LAMBDA: Duration = Duration::from_millis(100);

struct Options {
    processing_secs: f64,
    upload_mbps: f64,
}

fn options() -> anyhow::Result<Options> {
    let mut options = Options {
        processing_secs: 30.0,
        upload_mbps: 20.0,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--processing-secs" => options.processing_secs = value()?.parse()?,
            "--upload-mbps" => options.upload_mbps = value()?.parse()?,
            other => {
                bail!("unknown argument {other:?} (known: --processing-secs S, --upload-mbps R)")
            }
        }
    }
    Ok(options)
}

fn main() -> ExitCode {
    exit_code(
        "cost-per-post",
        runtime().and_then(|runtime| runtime.block_on(run())),
    )
}

/// AWS requests by service class, summed over some invocations.
#[derive(Debug, Default, Clone, Copy)]
struct Requests {
    dynamo_reads: f64,
    dynamo_writes: f64,
    /// TransactWriteItems / TransactGetItems count twice per item: counted separately.
    dynamo_transactions: f64,
    s3_gets: f64,
    s3_puts: f64,
    secrets: f64,
    kms: f64,
    other: f64,
}

impl Requests {
    fn from_counts(counts: &BTreeMap<String, u64>) -> Requests {
        let mut r = Requests::default();
        for (op, n) in counts {
            let n = *n as f64;
            let slot = match op.as_str() {
                "DynamoDB GetItem"
                | "DynamoDB Query"
                | "DynamoDB Scan"
                | "DynamoDB BatchGetItem" => &mut r.dynamo_reads,
                "DynamoDB PutItem"
                | "DynamoDB UpdateItem"
                | "DynamoDB DeleteItem"
                | "DynamoDB BatchWriteItem" => &mut r.dynamo_writes,
                "DynamoDB TransactWriteItems" | "DynamoDB TransactGetItems" => {
                    &mut r.dynamo_transactions
                }
                o if o.starts_with("S3 GET") || o.starts_with("S3 HEAD") => &mut r.s3_gets,
                o if o.starts_with("S3 ") => &mut r.s3_puts,
                o if o.starts_with("SecretsManager") => &mut r.secrets,
                o if o.starts_with("KMS") => &mut r.kms,
                _ => &mut r.other,
            };
            *slot += n;
        }
        r
    }

    fn add(self, o: Requests, times: f64) -> Requests {
        Requests {
            dynamo_reads: self.dynamo_reads + o.dynamo_reads * times,
            dynamo_writes: self.dynamo_writes + o.dynamo_writes * times,
            dynamo_transactions: self.dynamo_transactions + o.dynamo_transactions * times,
            s3_gets: self.s3_gets + o.s3_gets * times,
            s3_puts: self.s3_puts + o.s3_puts * times,
            secrets: self.secrets + o.secrets * times,
            kms: self.kms + o.kms * times,
            other: self.other + o.other * times,
        }
    }

    fn minus(self, o: Requests) -> Requests {
        self.add(o, -1.0)
    }
}

fn sum_counts<'a>(steps: impl Iterator<Item = &'a Step>) -> BTreeMap<String, u64> {
    let mut total = BTreeMap::new();
    for step in steps {
        for (op, n) in &step.aws {
            *total.entry(op.clone()).or_insert(0) += n;
        }
    }
    total
}

/// What one measured post gives the model.
struct Measured {
    chunks: u64,
    init: Requests,
    upload: Requests,
    /// A status fetch that finds TikTok still processing (warm).
    status_fetch: Requests,
    /// The fetch that finds the final status and records it (warm).
    status_final: Requests,
    init_ms: f64,
    upload_ms: f64,
    status_ms: f64,
    raw: BTreeMap<String, u64>,
}

async fn measure_post(
    stack: &TestStack,
    proxy: &CountingProxy,
    secret_arn: &str,
    sealing_key: &str,
    size: u64,
) -> anyhow::Result<Measured> {
    let key = format!("uploads/cost-{size}.mp4");
    let header = mp4_header(size, 30);
    write_video(
        &stack.s3,
        &stack.bucket,
        &key,
        "video/mp4",
        size,
        |offset, len| {
            let mut bytes = pseudo_random_bytes(0xC057, offset, len);
            if offset < header.len() as u64 {
                let from = usize::try_from(offset).unwrap_or(usize::MAX);
                let take = (header.len() - from).min(len);
                bytes[..take].copy_from_slice(&header[from..from + take]);
            }
            bytes
        },
    )
    .await
    .map_err(anyhow::Error::from_boxed)?;
    let post = queue_sealed_post(stack, &key, sealing_key).await?;
    let steps = run_post(
        stack,
        proxy,
        secret_arn,
        post.id.as_str(),
        &[("SEALING_KEY_ARN", sealing_key.to_owned())],
    )
    .await?;
    let of = |f: &'static str| steps.iter().filter(move |s| s.function == f);
    let status_steps: Vec<&Step> = of("publish-status").collect();
    // Secrets Manager is read once per cold start; counted apart (see `run`).
    let without_secret = |step: &Step| {
        let mut counts = step.aws.clone();
        counts.retain(|op, _| !op.starts_with("SecretsManager"));
        Requests::from_counts(&counts)
    };
    let (final_fetch, processing_fetches) = status_steps
        .split_last()
        .context("publish-status was never invoked")?;
    let status_final = without_secret(final_fetch);
    let status_fetch = if processing_fetches.is_empty() {
        status_final
    } else {
        processing_fetches
            .iter()
            .fold(Requests::default(), |sum, step| {
                sum.add(without_secret(step), 1.0 / processing_fetches.len() as f64)
            })
    };
    let plan = ChunkPlan::new(size, &ChunkPolicy::default())?;
    let durations = |f: &'static str| {
        median(
            &of(f)
                .map(|s| s.outcome.duration().as_secs_f64() * 1000.0)
                .collect::<Vec<_>>(),
        )
    };
    println!(
        "{size} bytes: {} invocations; TikTok calls {:?}",
        steps.len(),
        steps
            .iter()
            .flat_map(|s| s.tiktok.clone())
            .collect::<Vec<_>>()
    );
    for step in &steps {
        println!(
            "  {:<15} {:<5} {:>8.1} ms  {:?}",
            step.function,
            if step.cold { "cold" } else { "warm" },
            step.outcome.duration().as_secs_f64() * 1000.0,
            step.aws
        );
    }
    Ok(Measured {
        chunks: plan.total_chunk_count(),
        init: of("upload-init")
            .map(without_secret)
            .fold(Requests::default(), |a, r| a.add(r, 1.0)),
        upload: of("chunk-upload")
            .map(without_secret)
            .fold(Requests::default(), |a, r| a.add(r, 1.0)),
        // The first fetch is cold (reads the secret), later ones warm: an average fetch.
        status_fetch,
        status_final,
        init_ms: durations("upload-init"),
        upload_ms: durations("chunk-upload"),
        status_ms: durations("publish-status"),
        raw: sum_counts(steps.iter()),
    })
}

/// Status fetches until processing (`processing_secs` after the upload) is over, on the
/// pipeline's own poll schedule.
fn status_fetches(size: u64, processing_secs: f64) -> u64 {
    let mut elapsed = status_poll_interval(Duration::ZERO, size);
    let mut fetches = 0;
    loop {
        fetches += 1;
        if elapsed.as_secs_f64() >= processing_secs || fetches > 1000 {
            return fetches;
        }
        elapsed += status_poll_interval(elapsed, size);
    }
}

async fn run() -> anyhow::Result<bool> {
    let options = options()?;
    println!("machine: {}", machine_summary());
    let stack = TestStack::start("cost").await;
    let proxy = CountingProxy::start(test_support::moto().endpoint()).await?;
    let secret_arn = create_client_secret(
        &proxy,
        &test_support::unique_name("tiktok-client-secret"),
        &stack.fake.settings().client_secret,
    )
    .await?;
    let sealing_key = create_sealing_key(&proxy).await?;
    let small = measure_post(&stack, &proxy, &secret_arn, &sealing_key, 10_000_000).await?;
    let large = measure_post(&stack, &proxy, &secret_arn, &sealing_key, 300_000_000).await?;
    let violations = stack.fake.violations();
    if !violations.is_empty() {
        bail!("the fake saw violations: {violations:?}");
    }
    let other: u64 = small
        .raw
        .iter()
        .chain(large.raw.iter())
        .filter(|(op, _)| {
            !(op.starts_with("DynamoDB")
                || op.starts_with("S3")
                || op.starts_with("SecretsManager")
                || op.starts_with("KMS"))
        })
        .map(|(_, n)| n)
        .sum();
    println!("AWS requests other than DynamoDB, S3, Secrets Manager and KMS: {other}");

    // Per chunk: what the 300 MB upload did beyond the 10 MB one, per extra chunk.
    let extra_chunks = (large.chunks - small.chunks).max(1) as f64;
    let per_chunk = Requests::default().add(large.upload.minus(small.upload), 1.0 / extra_chunks);
    let upload_base = small.upload.minus(per_chunk);

    println!();
    println!("prices: {}", prices::READ_ON);
    println!(
        "  Step Functions ${:.6}/transition; Lambda arm64 ${:.7}/request, ${:.10}/GB-s; DynamoDB ${:.9}/WRU, ${:.9}/RRU;",
        prices::PER_TRANSITION,
        prices::PER_INVOCATION,
        prices::PER_GB_SECOND_ARM,
        prices::PER_WRU,
        prices::PER_RRU
    );
    println!(
        "  S3 ${:.7}/GET or HEAD, ${:.6}/PUT; Secrets Manager ${:.6}/call; KMS ${:.6}/call; transfer out ${:.2}/GB",
        prices::PER_S3_GET,
        prices::PER_S3_PUT,
        prices::PER_SECRET_CALL,
        prices::PER_KMS_CALL,
        prices::PER_GB_OUT
    );
    println!(
        "assumed: TikTok processes 10 MB in {} s (then {} s per 512 MB); Lambda to TikTok at {} MB/s; entry Lambda {} ms; items under 1 KB (1 WRU a write, 1 RRU a read); every task Lambda cold; one token refresh per post (1 GetSecretValue, 3 KMS, 2 writes) and a manifest to tag (1 S3 PUT), both worst cases; tokens and upload URLs sealed with KMS (SEALING_KEY_ARN, as deployed); the entry Lambda's own requests not counted",
        options.processing_secs,
        30,
        options.upload_mbps,
        ENTRY_LAMBDA.as_millis()
    );
    println!();
    println!(
        "{:<8} {:>6} {:>11} {:>8} {:>10} {:>7} {:>7} {:>6} {:>7} {:>5} {:>9} {:>11} {:>11} {:>11}",
        "post",
        "chunks",
        "transitions",
        "lambdas",
        "GB-s",
        "WRU",
        "RRU",
        "S3",
        "secrets",
        "KMS",
        "$ SFN",
        "$ no xfer",
        "$ xfer out",
        "$ total"
    );
    let mut goal_met = false;
    for (label, size) in [
        ("10 MB", 10_000_000u64),
        ("300 MB", 300_000_000),
        ("4 GB", 4_000_000_000),
    ] {
        let chunks = ChunkPlan::new(size, &ChunkPolicy::default())?.total_chunk_count();
        let processing = (options.processing_secs).max(30.0 * size as f64 / 512e6);
        let fetches = status_fetches(size, processing);
        let upload_secs = size as f64 / 1e6 / options.upload_mbps;
        // chunk-upload's time per invocation: the Lambda timeout (900 s) minus its reserve.
        let uploads = (upload_secs / 880.0).ceil().max(1.0) as u64;
        let transitions = 3 + 4 * (uploads - 1) + 3 * fetches + 1;
        let requests = Requests::default()
            .add(small.init, 1.0)
            .add(upload_base, uploads as f64)
            .add(per_chunk, chunks as f64)
            .add(small.status_fetch, (fetches - 1) as f64)
            .add(small.status_final, 1.0);
        // Worst case on top of what was measured: the post's upload-init refreshes the access
        // token (TikTok's last 24 h, so at most one refresh a day per account): the client
        // secret read once (only refreshes read it), the refresh token opened, both new
        // tokens sealed, the lease taken and the tokens saved. And the post came with a
        // manifest (an S3 drop), whose retention tag is one more PUT (the bench's posts come
        // without one).
        let requests = Requests {
            secrets: requests.secrets + 1.0,
            kms: requests.kms + 3.0,
            dynamo_writes: requests.dynamo_writes + 2.0,
            s3_puts: requests.s3_puts + 1.0,
            ..requests
        };
        let lambdas = 1 + 1 + uploads + fetches;
        let gb = |function: &str| f64::from(memory_mb(function)) / 1024.0;
        let gb_seconds = gb("s3-trigger") * ENTRY_LAMBDA.as_secs_f64()
            + gb("upload-init") * small.init_ms / 1000.0
            + gb("chunk-upload") * (upload_secs + uploads as f64 * small.upload_ms / 1000.0)
            + gb("publish-status") * fetches as f64 * small.status_ms / 1000.0;
        let sfn = transitions as f64 * prices::PER_TRANSITION;
        let no_transfer = sfn
            + lambdas as f64 * prices::PER_INVOCATION
            + gb_seconds * prices::PER_GB_SECOND_ARM
            + (requests.dynamo_writes + 2.0 * requests.dynamo_transactions) * prices::PER_WRU
            + requests.dynamo_reads * prices::PER_RRU
            + requests.s3_gets * prices::PER_S3_GET
            + requests.s3_puts * prices::PER_S3_PUT
            + requests.secrets * prices::PER_SECRET_CALL
            + requests.kms * prices::PER_KMS_CALL;
        let transfer = size as f64 / 1e9 * prices::PER_GB_OUT;
        println!(
            "{:<8} {:>6} {:>11} {:>8} {:>10.3} {:>7.1} {:>7.1} {:>6.0} {:>7.0} {:>5.0} {:>9.6} {:>11.6} {:>11.6} {:>11.6}",
            label,
            chunks,
            transitions,
            lambdas,
            gb_seconds,
            requests.dynamo_writes + 2.0 * requests.dynamo_transactions,
            requests.dynamo_reads,
            requests.s3_gets + requests.s3_puts,
            requests.secrets,
            requests.kms,
            sfn,
            no_transfer,
            transfer,
            no_transfer + transfer
        );
        if size == 10_000_000 {
            goal_met = transitions <= 10 && no_transfer < 0.0003;
            println!(
                "         ({fetches} status fetches, {uploads} chunk-upload invocation(s); upload {upload_secs:.1} s)"
            );
        } else {
            println!(
                "         ({fetches} status fetches, {uploads} chunk-upload invocation(s); upload {upload_secs:.1} s; processing {processing:.0} s assumed)"
            );
        }
    }
    println!();
    println!(
        "measured per invocation (local): upload-init {:.1} ms, chunk-upload {:.1} ms (10 MB), publish-status {:.1} ms",
        small.init_ms, small.upload_ms, small.status_ms
    );
    println!(
        "measured requests (GetSecretValue apart): upload-init {:?}; chunk-upload per invocation {:?}, per chunk {:?}; status fetch while processing {:?}; final status fetch {:?}",
        small.init, upload_base, per_chunk, small.status_fetch, small.status_final
    );
    println!(
        "goal: 10 MB post with 30 s processing <= 10 transitions and < $0.0003 (without data transfer out): {}",
        if goal_met { "yes" } else { "NO" }
    );
    Ok(goal_met)
}
