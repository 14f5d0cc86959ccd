//! Faults survived: cut chunks, lost answers, expired URLs, token expiry, 429s, TikTok failing the post.

use super::*;
use tiktok_publish_core::store::Cause;
use tiktok_publish_core::tiktok::chunk_plan::{
    ChunkPolicy, DEFAULT_MAX_VIDEO_SIZE, MIN_CHUNK_SIZE,
};

#[tokio::test]
async fn a_chunk_cut_off_mid_body_is_resumed_from_tiktoks_count() {
    let rig = rig_with(PipelineSettings {
        upload_budget: Duration::ZERO,
        ..PipelineSettings::default()
    })
    .await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let video = rig.put_mp4("uploads/cut.mp4", 100_000_000, 300).await;
    let id = rig
        .post(
            &open_id,
            video.location,
            options(r#"{"privacy_level":"SELF_ONLY"}"#),
        )
        .await;

    let reset = Fault::ResetMidBody {
        after_bytes: 1_000_000,
        times: 1,
    };
    let run = rig.drive(&id, vec![(Task::Upload, 2, reset)]).await;
    run.assert_published();
    assert_eq!(run.count("Upload!TikTokUnavailable"), 1, "{:?}", run.trace);

    let post = rig.record(&id).await;
    let publish = rig
        .stack
        .fake
        .publish(post.publish_id.as_deref().unwrap())
        .unwrap();
    assert_eq!(publish.video_sha256.as_deref(), Some(video.sha256.as_str()));
    let taken = rig
        .stack
        .fake
        .calls()
        .iter()
        .filter(|c| c.endpoint == Endpoint::UploadChunk && matches!(c.status, 201 | 206))
        .count();
    assert_eq!(taken, 2, "each range is taken once");
    assert_eq!(rig.stack.fake.call_count(Endpoint::UploadChunk), 3);
    assert_eq!(rig.stack.fake.violations(), vec![]);
}

#[tokio::test]
async fn a_lost_answer_to_the_last_chunk_is_not_sent_again() {
    let rig = rig().await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let video = rig.put_mp4("uploads/lost.mp4", 1_000_000, 10).await;
    let id = rig
        .post(
            &open_id,
            video.location,
            options(r#"{"privacy_level":"SELF_ONLY"}"#),
        )
        .await;

    // TikTok takes the whole chunk, then the connection drops before its 201.
    let lost = Fault::ResetMidBody {
        after_bytes: 1_000_000,
        times: 1,
    };
    let run = rig.drive(&id, vec![(Task::Upload, 1, lost)]).await;
    run.assert_published();
    assert_eq!(run.count("Upload!TikTokUnavailable"), 1, "{:?}", run.trace);
    assert_eq!(rig.stack.fake.call_count(Endpoint::UploadChunk), 1);
    let post = rig.record(&id).await;
    let publish = rig
        .stack
        .fake
        .publish(post.publish_id.as_deref().unwrap())
        .unwrap();
    assert_eq!(publish.video_sha256.as_deref(), Some(video.sha256.as_str()));
    assert_eq!(rig.stack.fake.violations(), vec![]);
}

#[tokio::test]
async fn an_expired_upload_url_starts_the_upload_again_from_init() {
    let rig = rig().await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let video = rig.put_mp4("uploads/late.mp4", 1_000_000, 10).await;
    let id = rig
        .post(
            &open_id,
            video.location,
            options(r#"{"privacy_level":"SELF_ONLY"}"#),
        )
        .await;

    let expire = Fault::ExpireUploadUrl { publish_id: None };
    let run = rig.drive(&id, vec![(Task::Upload, 1, expire)]).await;
    run.assert_published();
    assert_eq!(
        &run.trace[..4],
        [
            "Init:ready",
            "Upload!UploadUrlExpired",
            "Init:ready",
            "Upload:done"
        ]
    );

    let publishes = rig.stack.fake.publishes_for(&open_id);
    assert_eq!(publishes.len(), 2);
    let complete: Vec<_> = publishes.iter().filter(|p| p.complete).collect();
    assert_eq!(complete.len(), 1, "exactly one upload completes");
    let post = rig.record(&id).await;
    assert_eq!(post.state, PostState::Published);
    assert_eq!(
        post.publish_id.as_deref(),
        Some(complete[0].publish_id.as_str())
    );
    assert_eq!(
        complete[0].video_sha256.as_deref(),
        Some(video.sha256.as_str())
    );
    assert_eq!(rig.stack.fake.violations(), vec![]);
}

#[tokio::test]
async fn an_access_token_expiring_mid_run_is_refreshed_once() {
    let rig = rig().await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let video = rig.put_mp4("uploads/token.mp4", 1_000_000, 10).await;
    let id = rig
        .post(
            &open_id,
            video.location,
            options(r#"{"privacy_level":"SELF_ONLY"}"#),
        )
        .await;
    let before = rig.stack.accounts.get(&open_id).await.unwrap().unwrap();
    let exchanges = rig.stack.fake.call_count(Endpoint::Token);

    let expire = Fault::ExpireAccessTokenNow {
        open_id: open_id.clone(),
    };
    rig.drive(&id, vec![(Task::Status, 1, expire)])
        .await
        .assert_published();

    assert_eq!(rig.stack.fake.call_count(Endpoint::Token), exchanges + 1);
    let after = rig.stack.accounts.get(&open_id).await.unwrap().unwrap();
    let current = rig.stack.fake.account(&open_id).unwrap();
    assert_eq!(
        after.access_token.expose_secret(),
        current.access_token.unwrap()
    );
    assert_eq!(
        after
            .refresh_token
            .as_ref()
            .unwrap()
            .open()
            .await
            .unwrap()
            .expose_secret(),
        current.refresh_token.unwrap()
    );
    assert_ne!(
        after.access_token.expose_secret(),
        before.access_token.expose_secret()
    );
    assert_eq!(rig.record(&id).await.state, PostState::Published);
    assert_eq!(rig.stack.fake.violations(), vec![]);
}

#[tokio::test]
async fn a_429_on_init_is_retried_and_the_post_goes_through() {
    let rig = rig().await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let video = rig.put_mp4("uploads/busy.mp4", 1_000_000, 10).await;
    let id = rig
        .post(
            &open_id,
            video.location,
            options(r#"{"privacy_level":"SELF_ONLY"}"#),
        )
        .await;

    let busy = Fault::HttpError {
        endpoint: Endpoint::DirectInit,
        status: 429,
        code: "rate_limit_exceeded".into(),
        times: 1,
    };
    let run = rig.drive(&id, vec![(Task::Init, 1, busy)]).await;
    run.assert_published();
    assert_eq!(&run.trace[..2], ["Init!TikTokRateLimited", "Init:ready"]);
    assert_eq!(rig.stack.fake.call_count(Endpoint::DirectInit), 2);
    assert_eq!(rig.stack.fake.publishes_for(&open_id).len(), 1);
    assert_eq!(rig.record(&id).await.state, PostState::Published);
    assert_eq!(rig.stack.fake.violations(), vec![]);
}

#[tokio::test]
async fn a_chunk_tiktok_lost_is_sent_again_from_the_416_and_the_post_completes() {
    let rig = rig_with(PipelineSettings {
        chunk_policy: ChunkPolicy::new(MIN_CHUNK_SIZE, DEFAULT_MAX_VIDEO_SIZE).unwrap(),
        ..PipelineSettings::default()
    })
    .await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let video = rig.put_mp4("uploads/lost-chunk.mp4", 17_000_000, 10).await;
    let id = rig
        .post(
            &open_id,
            video.location,
            options(r#"{"privacy_level":"SELF_ONLY"}"#),
        )
        .await;

    // TikTok answers 206 to the second chunk, then lacks it: the third gets a 416.
    let lose = Fault::DropChunk {
        open_id: open_id.clone(),
        chunk: 1,
    };
    let run = rig.drive(&id, vec![(Task::Upload, 1, lose)]).await;
    run.assert_published();
    assert_eq!(
        &run.trace[..2],
        ["Init:ready", "Upload:done"],
        "resynchronised within the step"
    );

    let post = rig.record(&id).await;
    let publish = rig
        .stack
        .fake
        .publish(post.publish_id.as_deref().unwrap())
        .unwrap();
    assert_eq!(publish.chunks_taken, 3);
    assert_eq!(publish.video_sha256.as_deref(), Some(video.sha256.as_str()));
    let statuses: Vec<u16> = rig
        .stack
        .fake
        .calls()
        .iter()
        .filter(|c| c.endpoint == Endpoint::UploadChunk)
        .map(|c| c.status)
        .collect();
    assert_eq!(statuses, [206, 206, 416, 206, 201]);
    let upload = post.upload.unwrap();
    assert_eq!((upload.chunks_done, upload.bytes_done), (3, 17_000_000));
    assert_eq!(rig.stack.fake.violations(), vec![]);
}

// ---------------------------------------------------------------------------------------------
// Posts that end badly
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn tiktok_failing_the_post_fails_it_with_the_reason_and_advice() {
    let rig = rig().await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let video = rig.put_mp4("uploads/spam.mp4", 1_000_000, 10).await;
    let id = rig
        .post(
            &open_id,
            video.location,
            options(r#"{"privacy_level":"SELF_ONLY"}"#),
        )
        .await;

    let fail = Fault::FailPost {
        open_id: open_id.clone(),
        fail_reason: "spam_risk_too_many_posts".into(),
    };
    let run = rig.drive(&id, vec![(Task::Init, 1, fail)]).await;
    assert_eq!(run.error().kind, ErrorKind::TikTokPostFailed);

    let post = rig.record(&id).await;
    assert_eq!(post.state, PostState::Failed);
    let failure = post.failure.unwrap();
    assert_eq!(failure.kind.name(), "TikTokPostFailed");
    assert!(
        failure.reason.contains("spam_risk_too_many_posts"),
        "{}",
        failure.reason
    );
    assert!(
        failure
            .advice
            .as_deref()
            .unwrap()
            .contains("daily post cap"),
        "{:?}",
        failure.advice
    );
    assert_eq!(rig.stack.fake.violations(), vec![]);
}

#[tokio::test]
async fn a_creator_who_cannot_post_is_refused_with_tiktoks_code_and_no_init() {
    let rig = rig().await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let video = rig.put_mp4("uploads/capped.mp4", 1_000_000, 10).await;
    let id = rig
        .post(
            &open_id,
            video.location,
            options(r#"{"privacy_level":"SELF_ONLY"}"#),
        )
        .await;

    // creator_info answers HTTP 200 with `reached_active_user_cap` instead of `ok`.
    let capped = Fault::CreatorCannotPost {
        open_id: open_id.clone(),
        code: "reached_active_user_cap".into(),
    };
    let run = rig.drive(&id, vec![(Task::Init, 1, capped)]).await;

    assert_eq!(run.error().kind, ErrorKind::TikTokRejected);
    assert_eq!(rig.inits(), 0, "nothing was initialised");
    let failure = rig.record(&id).await.failure.unwrap();
    assert_eq!(failure.kind, ErrorKind::TikTokRejected);
    assert!(
        matches!(&failure.cause, Cause::TikTokRefused { code, .. } if code == "reached_active_user_cap"),
        "{:?}",
        failure.cause
    );
    assert_eq!(rig.stack.fake.violations(), vec![]);
}
