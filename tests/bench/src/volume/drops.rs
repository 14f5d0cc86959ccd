//! The volume bench's drops: each planned video written to the bucket and its post started,
//! through S3 (manifest, then video, under the upload prefix) or the API (`POST /posts`), and
//! sent a second time when the plan says so.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, ensure};
use e2e::Stack;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use super::{Door, PlannedPost};

/// The length the test videos' MP4 header declares.
const VIDEO_SECONDS: u32 = 10;

/// The requests the bench sent to functions itself (watch's HTTP API and Invoke API): the
/// driver does not see them.
#[derive(Default)]
pub struct Sent {
    pub posts_api: AtomicU64,
    pub s3_trigger: AtomicU64,
}

/// A video in the bucket, its post started.
pub struct Dropped {
    pub planned: PlannedPost,
    pub open_id: String,
    pub key: String,
    pub sha256: String,
    /// Unix seconds: when the video's PutObject returned (S3), or just before `POST /posts`.
    pub dropped_at: f64,
    /// The id `POST /posts` answered (the API door).
    pub api_id: Option<String>,
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

async fn drop_post(
    stack: &Stack,
    sent: &Sent,
    planned: PlannedPost,
    open_id: String,
) -> anyhow::Result<Dropped> {
    let n = planned.n;
    let options = json!({"title": format!("volume {n}"), "privacy_level": "SELF_ONLY"});
    let name = format!("volume-{n:03}.mp4");
    let seed = 17_000 + n as u64;
    let (key, video, dropped_at, api_id) = match planned.door {
        Door::S3 => {
            let key = stack.upload_key(&open_id, &name);
            stack.put_manifest(&key, &options).await?;
            let video = stack
                .put_video(&key, planned.size, VIDEO_SECONDS, seed)
                .await?;
            let dropped_at = unix_now();
            if planned.twice {
                // The pump delivers the bucket's event; the same object's event comes twice
                // more with one id, as EventBridge redelivers (at least once).
                let event = stack.object_created_event(&key, planned.size, &format!("volume-{n}"));
                for _ in 0..2 {
                    sent.s3_trigger.fetch_add(1, Ordering::Relaxed);
                    let (status, answer) = stack.invoke("s3-trigger", &event).await?;
                    ensure!(status == 200, "s3-trigger answered {status}: {answer}");
                }
            }
            (key, video, dropped_at, None)
        }
        Door::Api => {
            let key = stack.api_key(&open_id, &name);
            let video = stack
                .put_video(&key, planned.size, VIDEO_SECONDS, seed)
                .await?;
            let body = json!({"account": open_id, "key": key, "options": options});
            let idempotency_key = format!("volume-{n}-{open_id}");
            let dropped_at = unix_now();
            let id = create_post(stack, sent, &body, &idempotency_key).await?;
            if planned.twice {
                let again = create_post(stack, sent, &body, &idempotency_key).await?;
                ensure!(again == id, "post {n} sent again became {again}, not {id}");
            }
            (key, video, dropped_at, Some(id))
        }
    };
    Ok(Dropped {
        planned,
        open_id,
        key,
        sha256: video.sha256,
        dropped_at,
        api_id,
    })
}

async fn create_post(
    stack: &Stack,
    sent: &Sent,
    body: &Value,
    idempotency_key: &str,
) -> anyhow::Result<String> {
    sent.posts_api.fetch_add(1, Ordering::Relaxed);
    let (status, answer) = stack.create_post(body, Some(idempotency_key)).await?;
    ensure!(
        status == 201 || status == 200,
        "POST /posts answered {status}: {answer}"
    );
    answer["id"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no id in {answer}"))
}

/// Drops every planned post, `concurrency` videos written at once, account by account:
/// each account's posts arrive back to back, faster than TikTok's 6 inits a minute, so the
/// system has to pace them within the account's allowance.
pub async fn drop_all(
    stack: &Arc<Stack>,
    sent: &Arc<Sent>,
    plan: &[PlannedPost],
    accounts: &[String],
    concurrency: usize,
) -> anyhow::Result<Vec<Dropped>> {
    let slots = Arc::new(Semaphore::new(concurrency));
    let mut tasks = tokio::task::JoinSet::new();
    let mut in_order: Vec<&PlannedPost> = plan.iter().collect();
    in_order.sort_by_key(|p| (p.account, p.n));
    for planned in in_order {
        let (stack, sent, slots) = (stack.clone(), sent.clone(), slots.clone());
        let (planned, open_id) = (*planned, accounts[planned.account].clone());
        let slot = slots.acquire_owned().await.context("the slots closed")?;
        tasks.spawn(async move {
            let dropped = drop_post(&stack, &sent, planned, open_id).await;
            drop(slot);
            dropped.with_context(|| format!("post {}", planned.n))
        });
    }
    let mut dropped = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        dropped.push(joined.context("a post's drop panicked")??);
    }
    dropped.sort_by_key(|d| d.planned.n);
    Ok(dropped)
}
