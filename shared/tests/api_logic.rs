//! The posts API's logic (`api::PostsApi`) over the in-memory ports: idempotency keys,
//! accounts that cannot post, connect links, creator info.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use secrecy::SecretString;
use serde_json::json;

use tiktok_publish_core::api::PullCancel;
use tiktok_publish_core::api::idempotency::{Reservation, body_fingerprint};
use tiktok_publish_core::api::{
    CreatorInfoError, CreatorInfoSource, IdempotencyKey, PostsApi, RevokeError, Revoker,
};
use tiktok_publish_core::ends::PostEnds;
use tiktok_publish_core::intake::{Executions, Intake, IntakeError};
use tiktok_publish_core::media::{
    ByteStream, SourceError, VideoLocation, VideoObject, VideoSource,
};
use tiktok_publish_core::store::{
    AccountTokens, Fact, PostId, PostRecord, PostSource, PostState, PostUpdate, SealedSecret,
    unix_now,
};
use tiktok_publish_core::tiktok::CreatorInfo;
use tiktok_publish_memory::{
    MemoryIdempotencyStore, MemoryOAuthStateStore, MemoryPostStore, MemoryPullCanceller,
    MemoryTokenStore,
};

struct OneVideo;

#[async_trait]
impl VideoSource for OneVideo {
    async fn head(&self, location: &VideoLocation) -> Result<VideoObject, SourceError> {
        Ok(VideoObject {
            location: location.clone(),
            size: 10,
            content_type: None,
            etag: "e".into(),
        })
    }

    async fn read_range(&self, _: &VideoObject, _: u64, _: u64) -> Result<ByteStream, SourceError> {
        Err(SourceError::Refused {
            detail: "not read".into(),
        })
    }
}

/// Fails `failures` starts with a retryable error, then succeeds.
struct FlakyRuns {
    failures: Mutex<u32>,
}

#[async_trait]
impl Executions for FlakyRuns {
    async fn start_named(&self, _: &PostId, _: &str) -> Result<(), IntakeError> {
        let mut failures = self.failures.lock().unwrap();
        if *failures > 0 {
            *failures -= 1;
            return Err(IntakeError::Executions {
                detail: "throttled".into(),
                retryable: true,
            });
        }
        Ok(())
    }

    async fn stop(&self, _: &PostId, _: &str) -> Result<(), IntakeError> {
        Ok(())
    }
}

struct NoRevoke;

#[async_trait]
impl Revoker for NoRevoke {
    async fn revoke(&self, _: &str) -> Result<(), RevokeError> {
        Ok(())
    }
}

/// A creator offering only `SELF_ONLY`, counting how often it is asked.
#[derive(Default)]
struct PrivateCreator {
    asked: Mutex<u32>,
}

#[async_trait]
impl CreatorInfoSource for PrivateCreator {
    async fn creator_info(&self, _: &str) -> Result<CreatorInfo, CreatorInfoError> {
        *self.asked.lock().unwrap() += 1;
        Ok(CreatorInfo {
            creator_avatar_url: "https://example.com/a.png".into(),
            creator_username: "ann".into(),
            creator_nickname: "Ann".into(),
            privacy_level_options: vec!["SELF_ONLY".into()],
            comment_disabled: true,
            duet_disabled: false,
            stitch_disabled: false,
            max_video_post_duration_sec: 600,
        })
    }
}

fn api(start_failures: u32) -> PostsApi {
    let accounts = MemoryTokenStore::new();
    accounts.insert(account("o"));
    api_over(accounts, start_failures)
}

/// A connected account that can post (its tokens fresh, both posting scopes).
pub(crate) fn account(open_id: &str) -> AccountTokens {
    let now = unix_now();
    AccountTokens {
        open_id: open_id.into(),
        access_token: SecretString::from("a"),
        access_expires_at: now + 3600,
        refresh_token: Some(SealedSecret::plain(&SecretString::from("r"))),
        refresh_expires_at: now + 86_400,
        scopes: vec!["video.publish".into(), "video.upload".into()],
        nickname: None,
        username: None,
        avatar_url: None,
        profile_fetched_at: None,
        needs_reconnect: false,
        reconnect_reason: None,
        version: 1,
        lease_owner: None,
        lease_until: None,
        connected_at: now,
        updated_at: now,
    }
}

/// The API over memory ports with these accounts; its first `start_failures` execution
/// starts fail with a retryable error.
pub(crate) fn api_over(accounts: MemoryTokenStore, start_failures: u32) -> PostsApi {
    PostsApi {
        intake: Intake {
            posts: Arc::new(MemoryPostStore::new()),
            ends: PostEnds::silent(),
            source: Arc::new(OneVideo),
            executions: Arc::new(FlakyRuns {
                failures: Mutex::new(start_failures),
            }),
        },
        accounts: Arc::new(accounts),
        idempotency: Arc::new(MemoryIdempotencyStore::new()),
        revoker: Arc::new(NoRevoke),
        creator_info: Arc::new(PrivateCreator::default()),
        pull_canceller: Arc::new(MemoryPullCanceller::default()),
        oauth: Arc::new(MemoryOAuthStateStore::new()),
        connect: None,
        bucket: "b".into(),
    }
}

const BODY: &[u8] = br#"{"account":"o","key":"uploads/o/v.mp4","options":{"mode":"draft"}}"#;

fn key() -> IdempotencyKey {
    IdempotencyKey::from_header_values(["k"], None)
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn a_passing_failure_is_not_remembered_under_the_key() {
    let api = api(1);
    let failed = api.create_post(BODY, Some(&key())).await;
    assert_eq!(failed.status, 503, "{}", failed.body);
    assert!(failed.headers.contains(&("retry-after", "5".to_owned())));
    let retried = api.create_post(BODY, Some(&key())).await;
    // The record was written by the first attempt; the retry found and started it.
    assert_eq!(retried.status, 200, "{}", retried.body);
    assert_eq!(retried.body["state"], "QUEUED");
}

#[tokio::test]
async fn a_key_still_running_answers_409_with_retry_after() {
    let api = api(0);
    let reserved = api
        .idempotency
        .reserve(&key(), &body_fingerprint(BODY), unix_now())
        .await
        .unwrap();
    assert_eq!(reserved, Reservation::Reserved);
    let answer = api.create_post(BODY, Some(&key())).await;
    assert_eq!(answer.status, 409, "{}", answer.body);
    assert_eq!(answer.body["error"]["code"], "idempotency_key_in_progress");
    assert!(
        answer
            .headers
            .iter()
            .any(|(name, _)| *name == "retry-after")
    );
}

#[tokio::test]
async fn accounts_that_cannot_post_in_the_mode_are_refused_up_front() {
    let api = api(0);
    let direct =
        br#"{"account":"o","key":"uploads/o/v.mp4","options":{"privacy_level":"SELF_ONLY"}}"#;
    // Granted video.publish: fine.
    assert_eq!(api.create_post(direct, None).await.status, 201);
    api.accounts
        .mark_needs_reconnect("o", "refresh refused", None, unix_now())
        .await
        .unwrap();
    let answer = api.create_post(BODY, None).await;
    assert_eq!(answer.status, 409, "{}", answer.body);
    assert_eq!(answer.body["error"]["code"], "account_needs_reconnect");
    assert!(
        answer.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("refresh refused")
    );
}

#[tokio::test]
async fn connect_links_without_a_public_base_url_say_so() {
    let answer = api(0).connect_link(None).await;
    assert_eq!(answer.status, 500);
}

#[tokio::test]
async fn creator_info_is_asked_only_for_accounts_that_can_direct_post() {
    let api = api(0);
    let answer = api.creator_info("o").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["nickname"], "Ann");
    assert_eq!(answer.body["privacy_level_options"], json!(["SELF_ONLY"]));
    assert_eq!(answer.body["comment_disabled"], true);

    let unknown = api.creator_info("nobody").await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    assert_eq!(unknown.body["error"]["field"], "open_id");
    let bad = api.creator_info("a/b").await;
    assert_eq!(bad.status, 400, "{}", bad.body);

    api.accounts
        .mark_needs_reconnect("o", "refresh refused", None, unix_now())
        .await
        .unwrap();
    let answer = api.creator_info("o").await;
    assert_eq!(answer.status, 409, "{}", answer.body);
    assert_eq!(answer.body["error"]["code"], "account_needs_reconnect");
}

/// A post of account `o` in `PROCESSING` at TikTok's publish `p-1`: pulled by TikTok when
/// `pulled`, uploaded in chunks otherwise.
async fn processing_post(api: &PostsApi, pulled: bool) -> PostId {
    let now = unix_now();
    let location = VideoLocation {
        bucket: "b".into(),
        key: "uploads/o/v.mp4".into(),
        version_id: None,
    };
    let record = PostRecord::new("o", PostSource::at(location), None, PostState::Queued, now);
    let posts = api.intake.posts.as_ref();
    posts.create(&record).await.unwrap();
    let fact = if pulled {
        Fact::PullRequested {
            url_expires_at: now + 3600,
        }
    } else {
        Fact::Initialised
    };
    let _started = posts
        .transition(
            &record.id,
            &[PostState::Queued],
            PostState::Processing,
            PostUpdate::fact(fact),
            now,
        )
        .await
        .unwrap();
    posts.record_pull(&record.id, "p-1", now).await.unwrap();
    record.id
}

#[tokio::test]
async fn a_pull_tiktok_has_already_downloaded_is_left_to_finish() {
    let canceller = Arc::new(MemoryPullCanceller::default());
    let api = PostsApi {
        pull_canceller: canceller.clone(),
        ..api(0)
    };
    let id = processing_post(&api, true).await;

    let answer = api.cancel_post(id.as_str()).await;
    assert_eq!(answer.status, 409, "{}", answer.body);
    assert_eq!(answer.body["error"]["code"], "post_not_cancellable");
    assert_eq!(answer.body["error"]["state"], "PROCESSING");
    let message = answer.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("will finish"), "{message}");
    assert_eq!(canceller.asked(), vec![("o".to_owned(), "p-1".to_owned())]);
    let post = api.intake.posts.get(&id).await.unwrap().unwrap();
    assert_eq!(post.state, PostState::Processing, "it goes on");

    // Once TikTok cancels, the post is cancelled, with the fact that says how.
    canceller.set_answer(PullCancel::Cancelled);
    let answer = api.cancel_post(id.as_str()).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let post = api.intake.posts.get(&id).await.unwrap().unwrap();
    assert_eq!(post.state, PostState::Cancelled);
    assert_eq!(
        post.history.last().and_then(|h| h.fact.clone()),
        Some(Fact::PullCancelled)
    );
}

#[tokio::test]
async fn an_upload_in_processing_is_not_cancellable_and_tiktok_is_not_asked() {
    let canceller = Arc::new(MemoryPullCanceller::answering(PullCancel::Cancelled));
    let api = PostsApi {
        pull_canceller: canceller.clone(),
        ..api(0)
    };
    let id = processing_post(&api, false).await;

    let answer = api.cancel_post(id.as_str()).await;
    assert_eq!(answer.status, 409, "{}", answer.body);
    assert_eq!(answer.body["error"]["code"], "post_not_cancellable");
    assert!(
        canceller.asked().is_empty(),
        "an upload has no cancel at TikTok"
    );
}
