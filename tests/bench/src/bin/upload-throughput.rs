//! Throughput of the chunk-upload path (ranged S3 GET → PUT to the upload URL) for a 1 GiB
//! video, beside a bare HTTP client moving the same bytes between the same servers.
//!
//! `cargo run --release -p publish-bench --bin upload-throughput [-- --rounds N --size BYTES]`
//!
//! Both servers are the bench's own ([`FastS3`]: the object in memory, sent as zero-copy
//! slices; [`UploadSink`]: TikTok's chunk protocol, every byte compared with the video), on
//! a runtime of their own, so what differs between the cases is only the client side:
//!
//! - `baseline`: reqwest, `GET` with `Range` then `PUT` of that body, chunk after chunk;
//!   no project code between the bytes.
//! - `project`: `transfer::upload_chunks`, as chunk-upload runs it (the AWS SDK's
//!   GetObject pinned by If-Match, the core's length checks, the TikTok client's PUT).
//! - `prefetch`: the same project pieces, but the next chunk's GET is opened (and its first
//!   frames read into a small bounded queue) while the current chunk is still being sent.
//!
//! Cases alternate within each round (the order rotates), one warm-up round is not
//! counted, and the figures are medians over the rounds.

use std::io;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use futures::StreamExt;
use publish_bench::servers::{FastS3, UploadSink};
use publish_bench::{exit_code, machine_summary, median, process_cpu_seconds};
use secrecy::SecretString;
use tiktok_publish_adapters::TikTokClient;
use tiktok_publish_adapters::{S3VideoSource, s3_client};
use tiktok_publish_core::config::TikTokConfig;
use tiktok_publish_core::media::{ByteStream, VideoLocation, VideoObject, VideoSource};
use tiktok_publish_core::tiktok::chunk_plan::{ChunkPlan, ChunkPolicy};
use tiktok_publish_core::tiktok::{ChunkAccepted, TikTokUpload, UploadUrl};
use tiktok_publish_core::transfer::{UploadProgress, upload_chunks, upload_content_type};
use tiktok_publish_testkit::video::pseudo_random_bytes;
use tokio::sync::mpsc;

const GIB: u64 = 1024 * 1024 * 1024;
const SEED: u64 = 0x7412;
const BUCKET: &str = "bench";
const KEY: &str = "uploads/bench/video.mp4";
/// The goal: the project's path reaches at least this share of the bare client's rate.
const GOAL_RATIO: f64 = 0.95;
/// Frames the prefetching reader may hold ahead of the PUT (each at most one read of the
/// HTTP client: tens to hundreds of KiB).
const PREFETCH_FRAMES: usize = 32;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Case {
    Baseline,
    Project,
    Prefetch,
}

impl Case {
    const ALL: [Case; 3] = [Case::Baseline, Case::Project, Case::Prefetch];

    fn name(self) -> &'static str {
        match self {
            Case::Baseline => "baseline (bare reqwest GET range -> PUT)",
            Case::Project => "project (transfer::upload_chunks)",
            Case::Prefetch => "project pieces + prefetch of the next range",
        }
    }

    fn id(self) -> &'static str {
        match self {
            Case::Baseline => "baseline",
            Case::Project => "project",
            Case::Prefetch => "prefetch",
        }
    }
}

struct Options {
    rounds: usize,
    size: u64,
}

fn options() -> anyhow::Result<Options> {
    let mut options = Options {
        rounds: 5,
        size: GIB,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--rounds" => options.rounds = value()?.parse().context("--rounds")?,
            "--size" => options.size = value()?.parse().context("--size")?,
            other => bail!("unknown argument {other:?} (known: --rounds N, --size BYTES)"),
        }
    }
    if options.rounds == 0 {
        bail!("--rounds must be at least 1");
    }
    Ok(options)
}

fn main() -> ExitCode {
    exit_code("upload-throughput", run())
}

/// Everything a case needs, built once as a Lambda builds its clients at cold start.
struct Rig {
    s3: FastS3,
    sink: UploadSink,
    bare: reqwest::Client,
    source: S3VideoSource,
    tiktok: TikTokClient,
    object: VideoObject,
    plan: ChunkPlan,
}

fn run() -> anyhow::Result<bool> {
    let options = options()?;
    println!("machine: {}", machine_summary());
    let started = Instant::now();
    let size = usize::try_from(options.size).context("--size does not fit in memory")?;
    let video = Bytes::from(pseudo_random_bytes(SEED, 0, size));
    println!(
        "video: {} bytes generated in {:.1} s",
        options.size,
        started.elapsed().as_secs_f64()
    );

    // The servers get their own threads, so the client side is scheduled as it would be
    // alone; on a 2-core machine they still share the CPU with it.
    let servers = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bench-servers")
        .enable_all()
        .build()
        .context("start the servers' runtime")?;
    let (s3, sink) = servers.block_on(async {
        let s3 = FastS3::start(BUCKET, KEY, video.clone()).await?;
        let sink = UploadSink::start(video.clone()).await?;
        anyhow::Ok((s3, sink))
    })?;
    let clients = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the clients' runtime")?;
    let result = clients.block_on(measure(&options, s3, sink));
    servers.shutdown_background();
    result
}

async fn rig(s3: FastS3, sink: UploadSink, size: u64) -> anyhow::Result<Rig> {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(s3.endpoint())
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "bench", "bench", None, None, "bench",
        ))
        .load()
        .await;
    let source = S3VideoSource::new(s3_client(&sdk));
    let tiktok = TikTokClient::new(
        TikTokConfig::new("bench".to_owned(), SecretString::from("bench".to_owned()))
            .with_base_urls(sink.url("unused"), sink.url("unused")),
    )?;
    let object = source
        .head(&VideoLocation {
            bucket: BUCKET.into(),
            key: KEY.into(),
            version_id: None,
        })
        .await?;
    if object.size != size {
        bail!("HeadObject says {} bytes, not {size}", object.size);
    }
    let plan = ChunkPlan::new(size, &ChunkPolicy::default())?;
    Ok(Rig {
        s3,
        sink,
        bare: reqwest::Client::builder()
            .build()
            .context("build the bare client")?,
        source,
        tiktok,
        object,
        plan,
    })
}

async fn measure(options: &Options, s3: FastS3, sink: UploadSink) -> anyhow::Result<bool> {
    let rig = rig(s3, sink, options.size).await?;
    println!(
        "plan: {} chunks of {} bytes (default chunk policy); {} rounds after 1 warm-up round",
        rig.plan.total_chunk_count(),
        rig.plan.chunk_size(),
        options.rounds
    );
    let mut rates: Vec<(Case, Vec<f64>, Vec<f64>)> = Case::ALL
        .iter()
        .map(|c| (*c, Vec::new(), Vec::new()))
        .collect();
    for round in 0..=options.rounds {
        for offset in 0..Case::ALL.len() {
            let case = Case::ALL[(round + offset) % Case::ALL.len()];
            let id = format!("{}-{round}", case.id());
            let url = UploadUrl::new(rig.sink.url(&id));
            let cpu_before = process_cpu_seconds();
            let t0 = Instant::now();
            match case {
                Case::Baseline => bare_copy(&rig, &url).await?,
                Case::Project => project_copy(&rig, &url).await?,
                Case::Prefetch => prefetch_copy(&rig, &url).await?,
            }
            let elapsed = t0.elapsed();
            let cpu = process_cpu_seconds() - cpu_before;
            if !rig.sink.complete(&id) {
                bail!("{id}: the sink does not have the whole video");
            }
            let rate = options.size as f64 / 1e6 / elapsed.as_secs_f64();
            if round == 0 {
                println!("warm-up {:<9} {rate:>7.0} MB/s", case.id());
                continue;
            }
            println!(
                "round {round} {:<9} {rate:>7.0} MB/s  {:.2} s  CPU {:.2} s",
                case.id(),
                elapsed.as_secs_f64(),
                cpu
            );
            if let Some(entry) = rates.iter_mut().find(|(c, _, _)| *c == case) {
                entry.1.push(rate);
                entry.2.push(cpu / (options.size as f64 / GIB as f64));
            }
        }
    }
    let violations = rig.sink.violations();
    if !violations.is_empty() {
        bail!("the sink saw protocol breaches or wrong bytes: {violations:?}");
    }

    let median_of = |case: Case| {
        rates
            .iter()
            .find(|(c, _, _)| *c == case)
            .map_or(f64::NAN, |(_, r, _)| median(r))
    };
    println!();
    println!(
        "{:<46} {:>10} {:>10} {:>10} {:>16}",
        "case", "median", "min", "max", "CPU s per GiB"
    );
    for (case, r, cpu) in &rates {
        let min = r.iter().copied().fold(f64::INFINITY, f64::min);
        let max = r.iter().copied().fold(0.0, f64::max);
        println!(
            "{:<46} {:>5.0} MB/s {:>5.0} MB/s {:>5.0} MB/s {:>16.2}",
            case.name(),
            median(r),
            min,
            max,
            median(cpu)
        );
    }
    let (baseline, project, prefetch) = (
        median_of(Case::Baseline),
        median_of(Case::Project),
        median_of(Case::Prefetch),
    );
    // Each round runs the cases back to back: the ratio within a round cancels most of
    // what other processes on the machine do to all of them.
    let per_round = |case: Case, of: usize| -> Vec<f64> {
        rates
            .iter()
            .find(|(c, _, _)| *c == case)
            .map(|(_, r, cpu)| if of == 0 { r.clone() } else { cpu.clone() })
            .unwrap_or_default()
    };
    let paired = |a: Case, b: Case, of: usize| {
        let (a, b) = (per_round(a, of), per_round(b, of));
        median(&a.iter().zip(&b).map(|(x, y)| x / y).collect::<Vec<_>>())
    };
    let ratio = paired(Case::Project, Case::Baseline, 0);
    println!();
    println!(
        "project / baseline, rate:  ratio of medians {:.3}; median of per-round ratios {:.3} ({:+.1}%)",
        project / baseline,
        ratio,
        (ratio - 1.0) * 100.0
    );
    println!(
        "prefetch / project, rate:  ratio of medians {:.3}; median of per-round ratios {:.3}",
        prefetch / project,
        paired(Case::Prefetch, Case::Project, 0)
    );
    println!(
        "CPU per GiB (whole process, servers included): project / baseline {:.3}, prefetch / project {:.3}",
        paired(Case::Project, Case::Baseline, 1),
        paired(Case::Prefetch, Case::Project, 1)
    );
    println!("S3 GETs served: {}", rig.s3.gets());
    let met = ratio >= GOAL_RATIO;
    println!(
        "goal: project >= {:.0}% of baseline (median of per-round ratios): {}",
        GOAL_RATIO * 100.0,
        if met { "yes" } else { "NO" }
    );
    Ok(met)
}

fn check_answer(index: u64, total: u64, status: reqwest::StatusCode) -> anyhow::Result<()> {
    let expected = if index + 1 == total {
        reqwest::StatusCode::CREATED
    } else {
        reqwest::StatusCode::PARTIAL_CONTENT
    };
    if status != expected {
        bail!("chunk {index}: the sink answered {status}, expected {expected}");
    }
    Ok(())
}

/// The baseline: no project code between the bytes.
async fn bare_copy(rig: &Rig, url: &UploadUrl) -> anyhow::Result<()> {
    let total = rig.plan.total_chunk_count();
    for (index, chunk) in rig.plan.chunks().enumerate() {
        let got = rig
            .bare
            .get(rig.s3.object_url())
            .header(reqwest::header::RANGE, chunk.http_range())
            .send()
            .await?
            .error_for_status()?;
        let sent = rig
            .bare
            .put(url.expose())
            .header(reqwest::header::CONTENT_TYPE, "video/mp4")
            .header(reqwest::header::CONTENT_LENGTH, chunk.len())
            .header(
                reqwest::header::CONTENT_RANGE,
                chunk.content_range(rig.plan.video_size()),
            )
            .body(reqwest::Body::wrap_stream(got.bytes_stream()))
            .send()
            .await?;
        check_answer(index as u64, total, sent.status())?;
    }
    Ok(())
}

/// The production path, exactly as chunk-upload calls it.
async fn project_copy(rig: &Rig, url: &UploadUrl) -> anyhow::Result<()> {
    let progress = upload_chunks(
        &rig.tiktok,
        &rig.source,
        &rig.object,
        &rig.plan,
        0,
        url,
        Duration::from_secs(3600),
    )
    .await?;
    if progress != UploadProgress::Complete {
        bail!("the upload stopped at {progress:?}");
    }
    Ok(())
}

/// A reader task opens each chunk's ranged GET as soon as the previous chunk has been read
/// (not sent), and hands its frames through a bounded queue to the PUT.
async fn prefetch_copy(rig: &Rig, url: &UploadUrl) -> anyhow::Result<()> {
    // One chunk may wait ready while the current one is sent.
    let (chunks_tx, mut chunks_rx) = mpsc::channel::<mpsc::Receiver<io::Result<Bytes>>>(1);
    let source = rig.source.clone();
    let object = rig.object.clone();
    let plan = rig.plan;
    let reader = tokio::spawn(async move {
        for chunk in plan.chunks() {
            let (frames_tx, frames_rx) = mpsc::channel(PREFETCH_FRAMES);
            if chunks_tx.send(frames_rx).await.is_err() {
                return Ok(());
            }
            let mut body = source.read_range(&object, chunk.first, chunk.last).await?;
            while let Some(frame) = body.next().await {
                if frames_tx.send(frame).await.is_err() {
                    return Ok(());
                }
            }
        }
        anyhow::Ok(())
    });
    let total = rig.plan.total_chunk_count();
    for (index, chunk) in rig.plan.chunks().enumerate() {
        let Some(frames) = chunks_rx.recv().await else {
            break;
        };
        let body: ByteStream = Box::pin(futures::stream::unfold(frames, |mut rx| async move {
            rx.recv().await.map(|frame| (frame, rx))
        }));
        let answer = rig
            .tiktok
            .upload_chunk(
                url,
                chunk,
                rig.plan.video_size(),
                upload_content_type(&rig.object),
                body,
            )
            .await?;
        let expected = if index as u64 + 1 == total {
            ChunkAccepted::UploadComplete
        } else {
            ChunkAccepted::MoreExpected
        };
        if answer != expected {
            bail!("chunk {index}: answered {answer:?}, expected {expected:?}");
        }
    }
    reader.await.context("the prefetching reader panicked")??;
    Ok(())
}
