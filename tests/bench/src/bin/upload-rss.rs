//! Peak memory (VmHWM) of uploading a 300 MB video from S3 (moto) to the fake TikTok.
//!
//! `cargo build --release -p chunk-upload` (the real handler binary, built without the
//! test kit), then `cargo run --release -p publish-bench --bin upload-rss`
//!
//! The goal's figures come from the real handler: `target/release/chunk-upload` started as
//! Lambda starts it, polling the bench's Runtime API emulator, given one `{"post_id"}` event
//! for a post that upload-init's step has initialised (its DynamoDB records in moto, its
//! upload URL at the fake), and measured once it has answered and waits for its next event.
//! Beside it, in child processes of this binary:
//!
//! The parent process starts moto and the fake TikTok, writes the video, then runs each case
//! in a fresh child process (this binary again, with `--child CASE`), so every figure is the
//! peak of one upload alone: neither the fake's memory nor an earlier case's high-water mark
//! counts. Cases: the production path (chunks streamed S3 → PUT) at the largest and the
//! smallest chunk size, the same with each chunk collected in memory first (what streaming
//! saves), and a baseline that builds the clients and calls init but uploads nothing.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use fake_tiktok::AccountSeed;
use futures::TryStreamExt;
use publish_bench::chain::queue_post;
use publish_bench::lambda::{Running, function_env, set_env, stack_tables};
use publish_bench::{exit_code, machine_summary, runtime, vmhwm_kib as process_vmhwm_kib};
use secrecy::SecretString;
use tiktok_publish_adapters::TikTokClient;
use tiktok_publish_adapters::{S3VideoSource, s3_client};
use tiktok_publish_core::config::TikTokConfig;
use tiktok_publish_core::media::{VideoLocation, VideoSource};
use tiktok_publish_core::pipeline::PipelineSettings;
use tiktok_publish_core::store::{PostState, PostStore};
use tiktok_publish_core::tiktok::chunk_plan::{
    ChunkPlan, ChunkPolicy, DEFAULT_MAX_VIDEO_SIZE, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE,
};
use tiktok_publish_core::tiktok::{TikTokPosting, TikTokUpload};
use tiktok_publish_core::transfer::{UploadProgress, upload_chunks, upload_content_type};
use tiktok_publish_testkit::TestStack;
use tiktok_publish_testkit::video::{mp4_header, pseudo_random_bytes, write_video};

const VIDEO_SIZE: u64 = 300_000_000;
const SEED: u64 = 0x5EED;
const MIB: f64 = 1024.0 * 1024.0;
/// The goals: a streamed upload fits a small Lambda whatever the chunk size.
const STREAMED_LIMIT_MIB: f64 = 32.0;
const STREAMED_SPREAD: f64 = 0.10;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    /// Clients built, HeadObject and init done, nothing uploaded.
    Baseline,
    /// The production path: `transfer::upload_chunks`.
    Streamed,
    /// Each chunk read whole into memory, then sent.
    Buffered,
}

struct Case {
    id: &'static str,
    label: &'static str,
    mode: Mode,
    target_chunk_size: u64,
}

const CASES: [Case; 5] = [
    Case {
        id: "baseline",
        label: "baseline (clients, head, init)",
        mode: Mode::Baseline,
        target_chunk_size: MAX_CHUNK_SIZE,
    },
    Case {
        id: "streamed-64mb",
        label: "streamed, 64,000,000 B chunks",
        mode: Mode::Streamed,
        target_chunk_size: MAX_CHUNK_SIZE,
    },
    Case {
        id: "streamed-5mib",
        label: "streamed, 5 MiB chunks",
        mode: Mode::Streamed,
        target_chunk_size: MIN_CHUNK_SIZE,
    },
    Case {
        id: "buffered-64mb",
        label: "buffered, 64,000,000 B chunks",
        mode: Mode::Buffered,
        target_chunk_size: MAX_CHUNK_SIZE,
    },
    Case {
        id: "buffered-5mib",
        label: "buffered, 5 MiB chunks",
        mode: Mode::Buffered,
        target_chunk_size: MIN_CHUNK_SIZE,
    },
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let result = runtime().and_then(|runtime| match args.get(1).map(String::as_str) {
        Some("--child") => match args.get(2).and_then(|id| CASES.iter().find(|c| c.id == id)) {
            Some(case) => runtime.block_on(child(case)),
            None => Err(anyhow::anyhow!("usage: upload-rss --child <case id>")),
        },
        None => runtime.block_on(parent()),
        Some(other) => Err(anyhow::anyhow!("unknown argument {other:?}")),
    });
    exit_code("upload-rss", result)
}

/// What a child reports on stdout: `publish_id=... vmhwm_kib=... upload_ms=...`.
struct Measured {
    publish_id: String,
    vmhwm_kib: u64,
    upload: Duration,
}

/// Case ids of the real handler binary's runs.
const LAMBDA_CASES: [(&str, &str, u64); 2] = [
    (
        "lambda-64mb",
        "chunk-upload binary, 64,000,000 B chunks",
        MAX_CHUNK_SIZE,
    ),
    (
        "lambda-5mib",
        "chunk-upload binary, 5 MiB chunks",
        MIN_CHUNK_SIZE,
    ),
];

/// One row of the results table.
struct Row {
    id: &'static str,
    label: String,
    vmhwm_kib: u64,
    upload: Option<Duration>,
}

async fn parent() -> anyhow::Result<bool> {
    let started = Instant::now();
    println!("machine: {}", machine_summary());
    let moto = test_support::moto();
    // A fake TikTok and fresh tables and bucket in moto, as the Lambdas' tests use them.
    let stack = TestStack::start("rss").await;
    let fake = &stack.fake;
    let key = "uploads/bench/video.mp4";
    // Byte `i` of the video depends only on `i` (the integration tests' generator), under an
    // MP4 header that upload-init's probe accepts.
    let header = mp4_header(VIDEO_SIZE, 60);
    let sha256 = write_video(
        &stack.s3,
        &stack.bucket,
        key,
        "video/mp4",
        VIDEO_SIZE,
        |offset, len| {
            let mut bytes = pseudo_random_bytes(SEED, offset, len);
            let header_len = header.len() as u64;
            if offset < header_len {
                let from = usize::try_from(offset).unwrap_or(usize::MAX);
                let take = (header.len() - from).min(len);
                bytes[..take].copy_from_slice(&header[from..from + take]);
            }
            bytes
        },
    )
    .await
    .map_err(anyhow::Error::from_boxed)?
    .sha256;
    println!(
        "video: {VIDEO_SIZE} bytes in moto (written in {:.1} s), sha256 {sha256}",
        started.elapsed().as_secs_f64()
    );

    let mut rows = Vec::new();
    for (id, label, target) in LAMBDA_CASES {
        let (idle_kib, peak_kib, upload) = lambda_case(&stack, key, target, &sha256).await?;
        if rows.is_empty() {
            rows.push(Row {
                id: "lambda-idle",
                label: "chunk-upload binary, ready, no event".into(),
                vmhwm_kib: idle_kib,
                upload: None,
            });
        }
        rows.push(Row {
            id,
            label: label.into(),
            vmhwm_kib: peak_kib,
            upload: Some(upload),
        });
    }

    let exe = std::env::current_exe().context("locate this binary")?;
    for case in &CASES {
        let open_id = fake.seed_account(AccountSeed::default());
        let tokens = fake.issue_tokens(&open_id, &["user.info.basic", "video.upload"]);
        // The fake lives in this process: wait for the child without blocking its runtime.
        let output = tokio::process::Command::new(&exe)
            .args(["--child", case.id])
            .env("BENCH_MOTO_ENDPOINT", moto.endpoint())
            .env("BENCH_TIKTOK_BASE_URL", fake.base_url())
            .env("BENCH_CLIENT_KEY", &fake.settings().client_key)
            .env("BENCH_CLIENT_SECRET", &fake.settings().client_secret)
            .env("BENCH_ACCESS_TOKEN", &tokens.access_token)
            .env("BENCH_BUCKET", &stack.bucket)
            .env("BENCH_KEY", key)
            .output()
            .await
            .with_context(|| format!("run case {}", case.id))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            bail!(
                "case {} failed ({}): {}{}",
                case.id,
                output.status,
                stdout,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let measured =
            parse_report(&stdout).with_context(|| format!("case {}: {stdout}", case.id))?;
        if case.mode != Mode::Baseline {
            let publish = fake
                .publish(&measured.publish_id)
                .context("the fake does not know the publish")?;
            if publish.video_sha256.as_deref() != Some(sha256.as_str()) {
                bail!("case {}: the fake got other bytes: {publish:?}", case.id);
            }
        }
        rows.push(Row {
            id: case.id,
            label: format!("in-bench child: {}", case.label),
            vmhwm_kib: measured.vmhwm_kib,
            upload: (case.mode != Mode::Baseline).then_some(measured.upload),
        });
    }
    let violations = fake.violations();
    if !violations.is_empty() {
        bail!("the fake saw violations: {violations:?}");
    }

    println!();
    println!(
        "{:<52} {:>14} {:>10} {:>10}",
        "case", "peak RSS", "upload", "MB/s"
    );
    for row in &rows {
        let (time, rate) = match row.upload {
            Some(upload) if !upload.is_zero() => (
                format!("{:.2} s", upload.as_secs_f64()),
                format!("{:.0}", VIDEO_SIZE as f64 / 1e6 / upload.as_secs_f64()),
            ),
            _ => ("-".to_owned(), "-".to_owned()),
        };
        println!(
            "{:<52} {:>10.1} MiB {:>10} {:>10}",
            row.label,
            row.vmhwm_kib as f64 / 1024.0,
            time,
            rate
        );
    }
    let peak = |id: &str| {
        rows.iter()
            .find(|r| r.id == id)
            .map(|r| r.vmhwm_kib as f64 * 1024.0)
            .unwrap_or(f64::NAN)
    };
    let (l64, l5) = (peak("lambda-64mb"), peak("lambda-5mib"));
    let (s64, s5) = (peak("streamed-64mb"), peak("streamed-5mib"));
    let (b64, b5) = (peak("buffered-64mb"), peak("buffered-5mib"));
    println!();
    println!(
        "buffered / streamed (in-bench), 64,000,000 B chunks: {:.2}x",
        b64 / s64
    );
    println!(
        "buffered / streamed (in-bench), 5 MiB chunks:        {:.2}x",
        b5 / s5
    );
    println!(
        "buffered (in-bench) / chunk-upload binary, 64,000,000 B chunks: {:.2}x",
        b64 / l64
    );
    println!(
        "chunk-upload binary, 64,000,000 B / 5 MiB chunks:    {:.3}",
        l64 / l5
    );
    let under = l64 / MIB < STREAMED_LIMIT_MIB && l5 / MIB < STREAMED_LIMIT_MIB;
    let spread = (l64 - l5).abs() / l64.min(l5);
    let close = spread <= STREAMED_SPREAD;
    println!();
    println!(
        "goal: the chunk-upload binary under {STREAMED_LIMIT_MIB} MiB at both chunk sizes: {}",
        if under { "yes" } else { "NO" }
    );
    println!(
        "goal: its two peaks within {:.0}% of each other ({:.1}% apart): {}",
        STREAMED_SPREAD * 100.0,
        spread * 100.0,
        if close { "yes" } else { "NO" }
    );
    println!("total time {:.1} s", started.elapsed().as_secs_f64());
    Ok(under && close)
}

/// The real handler binary uploads the video of a fresh post planned with `target` chunks:
/// its peak RSS when ready (before the event), after the event, and the invocation's time.
async fn lambda_case(
    stack: &TestStack,
    key: &str,
    target: u64,
    sha256: &str,
) -> anyhow::Result<(u64, u64, Duration)> {
    let post = queue_post(stack, key).await;
    let settings = PipelineSettings {
        chunk_policy: ChunkPolicy::new(target, DEFAULT_MAX_VIDEO_SIZE)?,
        ..PipelineSettings::default()
    };
    let init = stack
        .pipeline(settings)
        .init_upload(post.id.as_str())
        .await
        .map_err(|e| anyhow::anyhow!("upload-init's step failed: {e}"))?;
    if !init.ready {
        bail!("upload-init's step did not initialise the post: {init:?}");
    }
    let mut env = function_env(
        "chunk-upload",
        256,
        test_support::moto().endpoint(),
        &stack.fake.base_url(),
        &stack_tables(stack),
    );
    env.retain(|(name, _)| name != "TIKTOK_CLIENT_SECRET_ARN");
    set_env(
        &mut env,
        "TIKTOK_CLIENT_KEY",
        &stack.fake.settings().client_key,
    );
    set_env(
        &mut env,
        "TIKTOK_CLIENT_SECRET",
        &stack.fake.settings().client_secret,
    );
    let mut running = Running::start("chunk-upload", &env).await?;
    let idle = process_vmhwm_kib(running.pid()?)?;
    let outcome = running
        .invoke(
            serde_json::json!({"post_id": post.id.as_str()}),
            Duration::from_secs(900),
        )
        .await?;
    // Idle again, waiting for its next event: the high-water mark covers the whole upload.
    let peak = process_vmhwm_kib(running.pid()?)?;
    running.stop().await?;
    if !outcome.ok || outcome.body["done"] != serde_json::json!(true) {
        bail!("chunk-upload did not finish the upload: {}", outcome.body);
    }
    let record = stack
        .posts
        .get(&post.id)
        .await?
        .context("the post is gone")?;
    if record.state != PostState::Processing {
        bail!("the post is {} after the upload", record.state);
    }
    let publish_id = record.publish_id.context("the post has no publish id")?;
    let publish = stack
        .fake
        .publish(&publish_id)
        .context("the fake does not know the publish")?;
    if publish.video_sha256.as_deref() != Some(sha256) {
        bail!("the fake got other bytes from chunk-upload: {publish:?}");
    }
    Ok((idle, peak, outcome.duration()))
}

fn parse_report(stdout: &str) -> anyhow::Result<Measured> {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("publish_id="))
        .context("no report line")?;
    let field = |name: &str| {
        line.split_whitespace()
            .find_map(|f| f.strip_prefix(name))
            .with_context(|| format!("no {name}"))
    };
    Ok(Measured {
        publish_id: field("publish_id=")?.to_owned(),
        vmhwm_kib: field("vmhwm_kib=")?.parse()?,
        upload: Duration::from_millis(field("upload_ms=")?.parse()?),
    })
}

fn env(name: &str) -> anyhow::Result<String> {
    std::env::var(name).with_context(|| format!("{name} is not set"))
}

/// One upload, as a Lambda would do it, then this process's peak RSS.
async fn child(case: &Case) -> anyhow::Result<bool> {
    let endpoint = env("BENCH_MOTO_ENDPOINT")?;
    let sdk_config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing", "testing", None, None, "bench",
        ))
        .load()
        .await;
    let source = S3VideoSource::new(s3_client(&sdk_config));
    let base_url = env("BENCH_TIKTOK_BASE_URL")?;
    let config = TikTokConfig::new(
        env("BENCH_CLIENT_KEY")?,
        SecretString::from(env("BENCH_CLIENT_SECRET")?),
    )
    .with_base_urls(base_url.clone(), base_url);
    let tiktok = TikTokClient::new(config)?;
    let token = SecretString::from(env("BENCH_ACCESS_TOKEN")?);

    let location = VideoLocation {
        bucket: env("BENCH_BUCKET")?,
        key: env("BENCH_KEY")?,
        version_id: None,
    };
    let object = source.head(&location).await?;
    let policy = ChunkPolicy::new(case.target_chunk_size, DEFAULT_MAX_VIDEO_SIZE)?;
    let plan = ChunkPlan::new(object.size, &policy)?;
    let init = tiktok.init_inbox(&token, &plan).await?;

    let started = Instant::now();
    match case.mode {
        Mode::Baseline => {}
        Mode::Streamed => {
            let progress = upload_chunks(
                &tiktok,
                &source,
                &object,
                &plan,
                0,
                &init.upload_url,
                Duration::from_secs(3600),
            )
            .await?;
            if progress != UploadProgress::Complete {
                bail!("upload stopped at {progress:?}");
            }
        }
        Mode::Buffered => {
            for chunk in plan.chunks() {
                let stream = source.read_range(&object, chunk.first, chunk.last).await?;
                let mut whole = Vec::with_capacity(usize::try_from(chunk.len())?);
                let mut stream = stream;
                while let Some(bytes) = stream.try_next().await? {
                    whole.extend_from_slice(&bytes);
                }
                let body = Bytes::from(whole);
                let body: tiktok_publish_core::media::ByteStream =
                    Box::pin(futures::stream::once(async move { Ok(body) }));
                tiktok
                    .upload_chunk(
                        &init.upload_url,
                        chunk,
                        plan.video_size(),
                        upload_content_type(&object),
                        body,
                    )
                    .await?;
            }
        }
    }
    let upload = started.elapsed();
    println!(
        "publish_id={} vmhwm_kib={} upload_ms={} chunks={}",
        init.publish_id,
        vmhwm_kib()?,
        upload.as_millis(),
        plan.total_chunk_count()
    );
    Ok(true)
}

/// The process's peak resident set size, from the kernel.
fn vmhwm_kib() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .context("no VmHWM in /proc/self/status")?;
    line.split_whitespace()
        .nth(1)
        .context("empty VmHWM")?
        .parse()
        .context("VmHWM is not a number")
}
