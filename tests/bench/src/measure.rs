//! One post measured for `cost-per-post`: a video written to the stack's bucket, a sealed
//! account's post taken through the real task binaries ([`run_post`]), and what each
//! invocation asked of AWS, sorted into what the cost model needs.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, bail};
use fake_tiktok::Endpoint;
use serde_json::Value;
use tiktok_publish_core::store::PostStore;
use tiktok_publish_core::tiktok::chunk_plan::{ChunkPlan, ChunkPolicy};
use tiktok_publish_testkit::TestStack;
use tiktok_publish_testkit::video::{mp4_header, pseudo_random_bytes, write_video};

use crate::chain::{Step, queue_sealed_post, run_post};
use crate::cost::Requests;
use crate::front_door::FrontDoorStack;
use crate::median;
use crate::servers::CountingProxy;

/// What one measured post gives the model.
pub struct Measured {
    pub size: u64,
    pub chunks: u64,
    pub init: Requests,
    pub upload: Requests,
    /// A status fetch that finds TikTok still busy (the mean of those; the first is cold).
    pub status_fetch: Requests,
    /// The fetch that finds the final status and records it (warm).
    pub status_final: Requests,
    /// GetSecretValue calls over the whole post (kept out of the other fields).
    pub secret_reads: f64,
    pub init_ms: f64,
    pub upload_ms: f64,
    pub status_ms: f64,
    /// publish-status invocations in the run.
    pub status_invocations: usize,
    /// upload-init's `wait_seconds`: for a pull, the wait before the first status fetch.
    pub init_wait: Duration,
    pub raw: BTreeMap<String, u64>,
}

/// What TikTok (the fake) did for a pull, checked against the video.
pub struct Pulled {
    pub measured: Measured,
    /// Files the fake downloaded from the front door: one GET each, so one CloudFront
    /// request, one function invocation and, on a cache miss, one S3 GET at the origin.
    pub files: u64,
    pub bytes: u64,
}

/// A video of `size` bytes at `key` in the stack's bucket: an MP4 header, then
/// deterministic bytes.
async fn write_cost_video(stack: &TestStack, key: &str, size: u64) -> anyhow::Result<()> {
    let header = mp4_header(size, 30);
    write_video(
        &stack.s3,
        &stack.bucket,
        key,
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
    Ok(())
}

/// A `size`-byte post by FILE_UPLOAD: Init, Upload, Status.
pub async fn measure_upload(
    stack: &TestStack,
    proxy: &CountingProxy,
    secret_arn: &str,
    sealing_key: &str,
    size: u64,
) -> anyhow::Result<Measured> {
    let key = format!("uploads/cost-{size}.mp4");
    write_cost_video(stack, &key, size).await?;
    let post = queue_sealed_post(stack, &key, sealing_key).await?;
    let env = [("SEALING_KEY_ARN", sealing_key.to_owned())];
    let steps = run_post(stack, proxy, secret_arn, post.id.as_str(), &env).await?;
    summarise(size, &steps)
}

/// A `size`-byte post by PULL_FROM_URL through `door`: Init (with the front door's settings),
/// then Status until final; TikTok (the fake) downloads the video from the media origin.
pub async fn measure_pull(
    door: &FrontDoorStack,
    proxy: &CountingProxy,
    secret_arn: &str,
    sealing_key: &str,
    size: u64,
) -> anyhow::Result<Pulled> {
    let stack = &door.stack;
    let key = format!("uploads/cost-pull-{size}.mp4");
    write_cost_video(stack, &key, size).await?;
    let post = queue_sealed_post(stack, &key, sealing_key).await?;
    let mut env = door.lambda_env();
    env.push(("SEALING_KEY_ARN", sealing_key.to_owned()));
    let steps = run_post(stack, proxy, secret_arn, post.id.as_str(), &env).await?;
    if steps.iter().any(|s| s.function == "chunk-upload") {
        bail!(
            "upload-init did not ask TikTok to pull the video: it answered {}",
            steps[0].outcome.body
        );
    }
    if stack.fake.call_count(Endpoint::UploadChunk) != 0 {
        bail!("a pull sent chunks to TikTok");
    }
    let record = stack
        .posts
        .get(&post.id)
        .await
        .map_err(|e| anyhow::anyhow!("read the pulled post: {e}"))?
        .context("the pulled post is gone")?;
    let publish_id = record
        .publish_id
        .context("the pulled post has no publish id")?;
    let pulled = stack.fake.pulled(&publish_id);
    let bytes: u64 = pulled.iter().map(|file| file.bytes).sum();
    if pulled.len() != 1 || bytes != size {
        bail!("TikTok should have pulled the {size}-byte video once, not {pulled:?}");
    }
    Ok(Pulled {
        measured: summarise(size, &steps)?,
        files: pulled.len() as u64,
        bytes,
    })
}

fn summarise(size: u64, steps: &[Step]) -> anyhow::Result<Measured> {
    let of = |f: &'static str| steps.iter().filter(move |s| s.function == f);
    let status_steps: Vec<&Step> = of("publish-status").collect();
    // Secrets Manager is read once per cold start at most; counted apart.
    let without_secret = |step: &Step| {
        let mut counts = step.aws.clone();
        counts.retain(|op, _| !op.starts_with("SecretsManager"));
        Requests::from_counts(&counts)
    };
    let (final_fetch, busy_fetches) = status_steps
        .split_last()
        .context("publish-status was never invoked")?;
    let status_final = without_secret(final_fetch);
    let status_fetch = if busy_fetches.is_empty() {
        status_final
    } else {
        busy_fetches.iter().fold(Requests::default(), |sum, step| {
            sum.add(without_secret(step), 1.0 / busy_fetches.len() as f64)
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
    let init_wait = of("upload-init")
        .next_back()
        .and_then(|s| s.outcome.body.get("wait_seconds").and_then(Value::as_u64))
        .map(Duration::from_secs)
        .context("upload-init gave no wait_seconds")?;
    println!(
        "{size} bytes: {} invocations; TikTok calls {:?}",
        steps.len(),
        steps
            .iter()
            .flat_map(|s| s.tiktok.clone())
            .collect::<Vec<_>>()
    );
    for step in steps {
        println!(
            "  {:<15} {:<5} {:>8.1} ms  {:?}",
            step.function,
            if step.cold { "cold" } else { "warm" },
            step.outcome.duration().as_secs_f64() * 1000.0,
            step.aws
        );
    }
    let sum = |f: &'static str| {
        of(f)
            .map(without_secret)
            .fold(Requests::default(), |a, r| a.add(r, 1.0))
    };
    let raw = sum_counts(steps);
    Ok(Measured {
        size,
        chunks: plan.total_chunk_count(),
        init: sum("upload-init"),
        upload: sum("chunk-upload"),
        status_fetch,
        status_final,
        secret_reads: Requests::from_counts(&raw).secrets,
        init_ms: durations("upload-init"),
        upload_ms: durations("chunk-upload"),
        status_ms: durations("publish-status"),
        status_invocations: status_steps.len(),
        init_wait,
        raw,
    })
}

fn sum_counts(steps: &[Step]) -> BTreeMap<String, u64> {
    let mut total = BTreeMap::new();
    for step in steps {
        for (op, n) in &step.aws {
            *total.entry(op.clone()).or_insert(0) += n;
        }
    }
    total
}
