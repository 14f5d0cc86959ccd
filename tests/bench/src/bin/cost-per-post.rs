//! Cost per post: what one post uses (state transitions, Lambda invocations with their
//! durations and memory settings, DynamoDB reads and writes, S3, Secrets Manager and KMS
//! requests) and what that costs at us-east-1 prices.
//!
//! `cargo build --release -p upload-init -p chunk-upload -p publish-status`
//! `cargo run --release -p publish-bench --bin cost-per-post [-- --processing-secs 30 --upload-mbps 20 --pull-mbps 20]`
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
//!
//! The 300 MB post is then measured a second time by PULL_FROM_URL: a stack with a front
//! door (the project's media origin in front of the bucket, the CloudFront Function's
//! checks), upload-init with the front door's settings asks TikTok to pull, no chunk-upload,
//! publish-status until final, while the fake TikTok downloads the video from the origin.
//! Both are printed side by side with their ratio: the pull's transfer out leaves through
//! CloudFront (at its price, plus its requests and function invocations, S3 to CloudFront
//! free); the upload's leaves Lambda at the internet price. TikTok's download rate
//! (`--pull-mbps`) is assumed.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use publish_bench::chain::{create_client_secret, create_sealing_key, memory_mb};
use publish_bench::cost::{
    Requests, Usage, prices, pull_status_fetches, transitions, upload_status_fetches,
};
use publish_bench::front_door::FrontDoorStack;
use publish_bench::measure::{Measured, Pulled, measure_pull, measure_upload};
use publish_bench::servers::CountingProxy;
use publish_bench::{exit_code, machine_summary, runtime};
use tiktok_publish_core::tiktok::chunk_plan::{ChunkPlan, ChunkPolicy};
use tiktok_publish_testkit::TestStack;

/// How long the entry Lambda (s3-trigger or posts-api) is assumed to run: not measured here.
const ENTRY_LAMBDA: Duration = Duration::from_millis(100);

/// The post measured both ways, FILE_UPLOAD and PULL_FROM_URL.
const COMPARED_SIZE: u64 = 300_000_000;

struct Options {
    processing_secs: f64,
    upload_mbps: f64,
    pull_mbps: f64,
}

fn options() -> anyhow::Result<Options> {
    let mut options = Options {
        processing_secs: 30.0,
        upload_mbps: 20.0,
        pull_mbps: 20.0,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--processing-secs" => options.processing_secs = value()?.parse()?,
            "--upload-mbps" => options.upload_mbps = value()?.parse()?,
            "--pull-mbps" => options.pull_mbps = value()?.parse()?,
            other => bail!(
                "unknown argument {other:?} (known: --processing-secs S, --upload-mbps R, --pull-mbps R)"
            ),
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

/// TikTok's processing time for `size` bytes: the assumed time for 10 MB, or TikTok's
/// "about 30 s per 512 MB" when that is longer.
fn processing_secs(options: &Options, size: u64) -> f64 {
    options.processing_secs.max(30.0 * size as f64 / 512e6)
}

/// A function's memory setting in GB.
fn gb(function: &str) -> f64 {
    f64::from(memory_mb(function)) / 1024.0
}

/// A FILE_UPLOAD post of any size, from the two measured: per invocation from the 10 MB
/// post, per chunk from what the 300 MB upload did beyond it.
struct UploadModel<'a> {
    small: &'a Measured,
    per_chunk: Requests,
    upload_base: Requests,
}

/// What the model gives for one post, with the figures its row note prints.
struct Modelled {
    usage: Usage,
    chunks: u64,
    fetches: u64,
    uploads: u64,
    upload_secs: f64,
    processing: f64,
}

impl<'a> UploadModel<'a> {
    fn new(small: &'a Measured, large: &Measured) -> UploadModel<'a> {
        let extra_chunks = (large.chunks - small.chunks).max(1) as f64;
        let per_chunk =
            Requests::default().add(large.upload.minus(small.upload), 1.0 / extra_chunks);
        UploadModel {
            small,
            per_chunk,
            upload_base: small.upload.minus(per_chunk),
        }
    }

    fn post(&self, options: &Options, size: u64) -> anyhow::Result<Modelled> {
        let small = self.small;
        let chunks = ChunkPlan::new(size, &ChunkPolicy::default())?.total_chunk_count();
        let processing = processing_secs(options, size);
        let fetches = upload_status_fetches(size, processing);
        let upload_secs = size as f64 / 1e6 / options.upload_mbps;
        // chunk-upload's time per invocation: the Lambda timeout (900 s) minus its reserve.
        let uploads = (upload_secs / 880.0).ceil().max(1.0) as u64;
        let requests = Requests::default()
            .add(small.init, 1.0)
            .add(self.upload_base, uploads as f64)
            .add(self.per_chunk, chunks as f64)
            .add(small.status_fetch, (fetches - 1) as f64)
            .add(small.status_final, 1.0)
            .with_refresh_and_manifest();
        let gb_seconds = gb("s3-trigger") * ENTRY_LAMBDA.as_secs_f64()
            + gb("upload-init") * small.init_ms / 1000.0
            + gb("chunk-upload") * (upload_secs + uploads as f64 * small.upload_ms / 1000.0)
            + gb("publish-status") * fetches as f64 * small.status_ms / 1000.0;
        let usage = Usage {
            transitions: transitions::upload(uploads, fetches),
            lambdas: 1 + 1 + uploads + fetches,
            gb_seconds,
            requests,
            lambda_gb_out: size as f64 / 1e9,
            ..Usage::default()
        };
        Ok(Modelled {
            usage,
            chunks,
            fetches,
            uploads,
            upload_secs,
            processing,
        })
    }
}

/// A PULL_FROM_URL post of the size pulled, from the pull measured: upload-init once, the
/// status fetches TikTok's download and processing take, and the front door's share.
fn pull_post(options: &Options, pulled: &Pulled) -> Modelled {
    let m = &pulled.measured;
    let download_secs = m.size as f64 / 1e6 / options.pull_mbps;
    let processing = processing_secs(options, m.size);
    let fetches = pull_status_fetches(m.size, m.init_wait, download_secs + processing);
    let mut requests = Requests::default()
        .add(m.init, 1.0)
        .add(m.status_fetch, (fetches - 1) as f64)
        .add(m.status_final, 1.0)
        .with_refresh_and_manifest();
    // The media signing key, read at each cold start (upload-init and publish-status).
    requests.secrets += m.secret_reads;
    // Derived, not counted: CloudFront reads the bucket once per file TikTok downloads (each
    // URL is signed for one post, so never cached before).
    requests.s3_gets += pulled.files as f64;
    let gb_seconds = gb("s3-trigger") * ENTRY_LAMBDA.as_secs_f64()
        + gb("upload-init") * m.init_ms / 1000.0
        + gb("publish-status") * fetches as f64 * m.status_ms / 1000.0;
    Modelled {
        usage: Usage {
            transitions: transitions::pull(fetches),
            lambdas: 1 + 1 + fetches,
            gb_seconds,
            requests,
            cloudfront_requests: pulled.files as f64,
            cloudfront_gb_out: pulled.bytes as f64 / 1e9,
            ..Usage::default()
        },
        chunks: 0,
        fetches,
        uploads: 0,
        upload_secs: download_secs,
        processing,
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
    let small = measure_upload(&stack, &proxy, &secret_arn, &sealing_key, 10_000_000).await?;
    let large = measure_upload(&stack, &proxy, &secret_arn, &sealing_key, COMPARED_SIZE).await?;
    let door = FrontDoorStack::start("cost-pull", &proxy).await?;
    let pulled = measure_pull(&door, &proxy, &secret_arn, &sealing_key, COMPARED_SIZE).await?;
    for fake in [&stack.fake, &door.stack.fake] {
        let violations = fake.violations();
        if !violations.is_empty() {
            bail!("the fake saw violations: {violations:?}");
        }
    }
    let other: u64 = [&small.raw, &large.raw, &pulled.measured.raw]
        .into_iter()
        .flatten()
        .filter(|(op, _)| {
            !(op.starts_with("DynamoDB")
                || op.starts_with("S3")
                || op.starts_with("SecretsManager")
                || op.starts_with("KMS"))
        })
        .map(|(_, n)| n)
        .sum();
    println!("AWS requests other than DynamoDB, S3, Secrets Manager and KMS: {other}");

    let model = UploadModel::new(&small, &large);
    print_prices(&options);
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
    let mut uploaded = None;
    for (label, size) in [
        ("10 MB", 10_000_000u64),
        ("300 MB", COMPARED_SIZE),
        ("4 GB", 4_000_000_000),
    ] {
        let post = model.post(&options, size)?;
        let usage = post.usage;
        let r = &usage.requests;
        println!(
            "{:<8} {:>6} {:>11} {:>8} {:>10.3} {:>7.1} {:>7.1} {:>6.0} {:>7.0} {:>5.0} {:>9.6} {:>11.6} {:>11.6} {:>11.6}",
            label,
            post.chunks,
            usage.transitions,
            usage.lambdas,
            usage.gb_seconds,
            r.wru(),
            r.dynamo_reads,
            r.s3_gets + r.s3_puts,
            r.secrets,
            r.kms,
            usage.step_functions(),
            usage.without_transfer(),
            usage.transfer(),
            usage.total()
        );
        let (fetches, uploads, upload_secs) = (post.fetches, post.uploads, post.upload_secs);
        if size == 10_000_000 {
            goal_met = usage.transitions <= 10 && usage.without_transfer() < 0.0003;
            println!(
                "         ({fetches} status fetches, {uploads} chunk-upload invocation(s); upload {upload_secs:.1} s)"
            );
        } else {
            println!(
                "         ({fetches} status fetches, {uploads} chunk-upload invocation(s); upload {upload_secs:.1} s; processing {:.0} s assumed)",
                post.processing
            );
        }
        if size == COMPARED_SIZE {
            uploaded = Some(post);
        }
    }
    println!();
    println!(
        "measured per invocation (local): upload-init {:.1} ms, chunk-upload {:.1} ms (10 MB), publish-status {:.1} ms",
        small.init_ms, small.upload_ms, small.status_ms
    );
    println!(
        "measured requests (GetSecretValue apart): upload-init {:?}; chunk-upload per invocation {:?}, per chunk {:?}; status fetch while processing {:?}; final status fetch {:?}",
        small.init, model.upload_base, model.per_chunk, small.status_fetch, small.status_final
    );
    let uploaded = uploaded.context("the 300 MB post was not modelled")?;
    print_comparison(&options, &uploaded, &pulled);
    println!(
        "goal: 10 MB post with 30 s processing <= 10 transitions and < $0.0003 (without data transfer out): {}",
        if goal_met { "yes" } else { "NO" }
    );
    Ok(goal_met)
}

fn print_prices(options: &Options) {
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
        "  CloudFront: transfer out ${:.3}/GB (S3 to CloudFront free), ${:.7}/HTTPS request, ${:.7}/function invocation; no free tier counted",
        prices::PER_GB_CLOUDFRONT,
        prices::PER_CLOUDFRONT_HTTPS_REQUEST,
        prices::PER_CLOUDFRONT_FUNCTION
    );
    println!(
        "assumed: TikTok processes 10 MB in {} s (then {} s per 512 MB); Lambda to TikTok at {} MB/s; entry Lambda {} ms; items under 1 KB (1 WRU a write, 1 RRU a read); every task Lambda cold; one token refresh per post (1 GetSecretValue, 3 KMS, 2 writes) and a manifest to tag (1 S3 PUT), both worst cases; tokens and upload URLs sealed with KMS (SEALING_KEY_ARN, as deployed); the entry Lambda's own requests not counted",
        options.processing_secs,
        30,
        options.upload_mbps,
        ENTRY_LAMBDA.as_millis()
    );
}

/// The 300 MB post both ways, side by side, and what the pull used.
fn print_comparison(options: &Options, uploaded: &Modelled, pulled: &Pulled) {
    let pull = pull_post(options, pulled);
    let m = &pulled.measured;
    println!();
    println!(
        "300 MB, FILE_UPLOAD versus PULL_FROM_URL (pull measured through upload-init and publish-status with FRONT_DOOR_HOST, MEDIA_SIGNING_KEY_ARN, VIDEO_SOURCE_DEFAULT=PULL_FROM_URL; the fake TikTok downloaded {} file(s), {} bytes, from the media origin):",
        pulled.files, pulled.bytes
    );
    println!(
        "{:<12} {:>11} {:>8} {:>8} {:>6} {:>5} {:>5} {:>7} {:>4} {:>6} {:>5} {:>9} {:>11} {:>11} {:>11}",
        "source",
        "transitions",
        "lambdas",
        "GB-s",
        "WRU",
        "RRU",
        "S3",
        "secrets",
        "KMS",
        "CF req",
        "CF fn",
        "$ SFN",
        "$ no xfer",
        "$ xfer out",
        "$ total"
    );
    for (label, usage) in [
        ("FILE_UPLOAD", &uploaded.usage),
        ("PULL_FROM_URL", &pull.usage),
    ] {
        let r = &usage.requests;
        println!(
            "{:<12} {:>11} {:>8} {:>8.3} {:>6.1} {:>5.1} {:>5.0} {:>7.0} {:>4.0} {:>6.0} {:>5.0} {:>9.6} {:>11.6} {:>11.6} {:>11.6}",
            label,
            usage.transitions,
            usage.lambdas,
            usage.gb_seconds,
            r.wru(),
            r.dynamo_reads,
            r.s3_gets + r.s3_puts,
            r.secrets,
            r.kms,
            usage.cloudfront_requests,
            usage.cloudfront_requests,
            usage.step_functions(),
            usage.without_transfer(),
            usage.transfer(),
            usage.total()
        );
    }
    let ratio = |pull: f64, upload: f64| pull / upload;
    println!(
        "ratio PULL_FROM_URL / FILE_UPLOAD: total {:.3}, without transfer {:.3}, transfer {:.3}, GB-s {:.3}",
        ratio(pull.usage.total(), uploaded.usage.total()),
        ratio(
            pull.usage.without_transfer(),
            uploaded.usage.without_transfer()
        ),
        ratio(pull.usage.transfer(), uploaded.usage.transfer()),
        ratio(pull.usage.gb_seconds, uploaded.usage.gb_seconds)
    );
    println!(
        "         (FILE_UPLOAD: {} status fetches, Lambda to TikTok {:.1} s, transfer out at ${:.3}/GB; PULL_FROM_URL: {} status fetches, the first {} s after init, TikTok downloading {:.1} s at {} MB/s then processing {:.0} s, both assumed; transfer out at CloudFront's ${:.3}/GB)",
        uploaded.fetches,
        uploaded.upload_secs,
        prices::PER_GB_OUT,
        pull.fetches,
        m.init_wait.as_secs(),
        pull.upload_secs,
        options.pull_mbps,
        pull.processing,
        prices::PER_GB_CLOUDFRONT
    );
    println!(
        "pull measured (local): upload-init {:.1} ms, publish-status {:.1} ms (median of {} fetches); GetSecretValue {} (the media signing key, once per cold start); requests (GetSecretValue apart): upload-init {:?}; status fetch while TikTok downloads or processes {:?}; final status fetch {:?}",
        m.init_ms,
        m.status_ms,
        m.status_invocations,
        m.secret_reads,
        m.init,
        m.status_fetch,
        m.status_final
    );
    println!(
        "front door (derived, not counted): {} CloudFront HTTPS request(s), {} CloudFront Function invocation(s), {} S3 GET(s) by CloudFront at the origin: the fake makes one GET per file and takes only 200 (the media origin's log above shows each)",
        pulled.files, pulled.files, pulled.files
    );
}
