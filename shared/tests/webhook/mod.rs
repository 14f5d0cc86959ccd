//! TikTok's webhook: signature checks (good, unsigned, forged, stale, future, malformed,
//! another app's), recording on the real posts table (moto), the status step using a
//! recorded event instead of a status fetch, `authorization.removed`, TikTok's retries
//! (the original signature 71 hours later, taken and changing nothing), drafts posted from
//! the inbox later, and posts taken out of public view. The events of the
//! end-to-end cases are sent by the strict fake TikTok itself, signed with its client secret,
//! to a small receiver that hands them to [`receive`] as the Lambda does.

use std::sync::Arc;
use std::time::Duration;

use fake_tiktok::{AccountSeed, Endpoint, FakeSettings, Fault};
use secrecy::SecretString;
use tiktok_publish_core::ends::PostEnds;
use tiktok_publish_core::errors::ErrorKind;
use tiktok_publish_core::events::{DetailType, OutcomeEvent};
use tiktok_publish_core::media::VideoLocation;
use tiktok_publish_core::pipeline::{Pipeline, PipelineSettings};
use tiktok_publish_core::store::{
    Fact, PostId, PostRecord, PostSource, PostState, PostStore, PostUpdate, StoreError, TokenStore,
    UnixTime, WebhookFinal, WebhookFinalKind, unix_now,
};
use tiktok_publish_core::tiktok::{ChunkPlan, ChunkPolicy, UploadUrl};
use tiktok_publish_core::webhook::{
    AUTHORIZATION_REMOVED_ADVICE, DEFAULT_MAX_AGE_SECS, NO_LONGER_PUBLIC_EVENT,
    NO_LONGER_PUBLIC_EVENT_CORRECTED, WebhookError, WebhookOutcome, WebhookSettings, receive, sign,
};
use tiktok_publish_memory::{MemoryEvents, MemoryPostStore, MemoryTokenStore};
use tiktok_publish_testkit::video::tiny_mp4;
use tiktok_publish_testkit::{StackSettings, TestStack};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

mod drafts;
mod end_to_end;
mod recording;
mod retries;
mod rig;
mod verification;

const NOW: UnixTime = 1_800_000_000;
const OPEN_ID: &str = "open-webhook";
const PUBLISH_ID: &str = "v_pub_file~v2-1.7";
const HOUR: i64 = 3600;
/// How old a signature may be by default: 72 hours and 10 minutes.
const MAX_AGE: i64 = DEFAULT_MAX_AGE_SECS as i64;

// ---------------------------------------------------------------------------------------------
// Verification, on in-memory stores
// ---------------------------------------------------------------------------------------------

/// A history fact carrying only its note.
fn remark(note: &str) -> Fact {
    Fact::Remark { note: note.into() }
}

fn settings() -> WebhookSettings {
    WebhookSettings::new("our-key", SecretString::from("our-secret".to_owned()))
}

fn event_body(client_key: &str, event: &str, content: serde_json::Value) -> Vec<u8> {
    serde_json::json!({
        "client_key": client_key,
        "event": event,
        "create_time": NOW,
        "user_openid": OPEN_ID,
        "content": content.to_string(),
    })
    .to_string()
    .into_bytes()
}

fn complete_body() -> Vec<u8> {
    event_body(
        "our-key",
        "post.publish.complete",
        serde_json::json!({"publish_id": PUBLISH_ID, "publish_type": "DIRECT_PUBLISH"}),
    )
}

/// A post of [`OPEN_ID`] processing the upload [`PUBLISH_ID`], in `posts`.
async fn processing_post(posts: &dyn PostStore, key: &str, created_at: UnixTime) -> PostId {
    let record = PostRecord::new(
        OPEN_ID,
        PostSource::at(VideoLocation {
            bucket: "videos".into(),
            key: key.into(),
            version_id: None,
        }),
        None,
        PostState::Queued,
        created_at,
    );
    posts.create(&record).await.unwrap();
    let plan = ChunkPlan::new(1_000_000, &ChunkPolicy::default()).unwrap();
    let url = UploadUrl::new("http://upload.invalid/u".into());
    posts
        .record_init(&record.id, PUBLISH_ID, &url, created_at, &plan, created_at)
        .await
        .unwrap();
    PostEnds::silent()
        .settle(
            posts
                .transition(
                    &record.id,
                    &[PostState::Queued],
                    PostState::Processing,
                    Default::default(),
                    created_at,
                )
                .await
                .unwrap(),
        )
        .await;
    record.id
}

/// Delivers `body` signed at `signed_at` (`None`: unsigned) to a fresh memory rig; what
/// `receive` answered and whether anything was recorded on the post.
async fn deliver(
    signature: Option<String>,
    body: &[u8],
) -> (Result<WebhookOutcome, WebhookError>, bool) {
    let posts = MemoryPostStore::new();
    let tokens = MemoryTokenStore::new();
    let id = processing_post(&posts, "uploads/a.mp4", NOW - 60).await;
    let result = receive(
        &settings(),
        &posts,
        &PostEnds::silent(),
        &tokens,
        signature.as_deref(),
        body,
        NOW,
    )
    .await;
    let post = posts.get(&id).await.unwrap().unwrap();
    let recorded = post.webhook.is_some() || post.history.len() > 2;
    (result, recorded)
}

fn our_signature(at: UnixTime, body: &[u8]) -> Option<String> {
    Some(sign(&settings().client_secret, at, body))
}

/// What a replay must leave as it was: everything the posts table keeps of the post.
fn assert_unchanged(before: &PostRecord, after: &PostRecord) {
    assert_eq!(after.state, before.state);
    assert_eq!(after.history, before.history);
    assert_eq!(after.webhook, before.webhook);
    assert_eq!(after.outcome, before.outcome);
    assert_eq!(after.failure, before.failure);
    assert_eq!(after.publish_id, before.publish_id);
    assert_eq!(after.updated_at, before.updated_at);
}

/// The state each `PostPublished` event sent so far carried, oldest first.
fn published_events(events: &MemoryEvents) -> Vec<PostState> {
    events
        .sent()
        .iter()
        .filter_map(|event| match event {
            OutcomeEvent::Post {
                detail_type: DetailType::PostPublished,
                detail,
            } => Some(detail.state),
            _ => None,
        })
        .collect()
}
