//! The handler against moto and the strict fake TikTok.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fake_tiktok::Endpoint;
use lambda_runtime::{Context, Diagnostic};
use tiktok_publish_core::errors::ErrorKind;
use tiktok_publish_core::store::{PostState, PostStore};
use tiktok_publish_testkit::TaskRig;
use tiktok_publish_testkit::video::tiny_mp4;

use super::*;

/// A connected account, a small MP4 in a fresh bucket and its post, initialised at TikTok.
async fn rig() -> TaskRig {
    let rig = TaskRig::start("upload").await;
    rig.init_upload().await;
    rig
}

fn event(payload: Value) -> LambdaEvent<Value> {
    LambdaEvent::new(payload, Context::default())
}

#[test]
fn only_a_deadline_ahead_counts() {
    let mut context = Context::default();
    assert_eq!(
        deadline(&context),
        None,
        "the local runtime's deadline in 1970"
    );
    let in_a_minute = SystemTime::now() + Duration::from_secs(60);
    context.deadline =
        u64::try_from(in_a_minute.duration_since(UNIX_EPOCH).unwrap().as_millis()).unwrap();
    let left = deadline(&context).unwrap() - Instant::now();
    assert!(
        left > Duration::from_secs(55) && left <= Duration::from_secs(60),
        "{left:?}"
    );
}

#[tokio::test]
async fn malformed_input_is_internal_and_changes_nothing() {
    let rig = rig().await;
    let calls = rig.stack.fake.calls().len();
    for payload in [
        serde_json::json!({}),
        serde_json::json!({"post_id": null}),
        serde_json::json!("post"),
        serde_json::json!({"post_id": ""}),
    ] {
        let err = handler(&rig.pipeline, event(payload.clone()))
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Internal, "{payload}: {err}");
        let diagnostic: Diagnostic = err.into();
        assert_eq!(diagnostic.error_type, "Internal");
    }
    assert_eq!(rig.stack.fake.calls().len(), calls);
    assert_eq!(rig.stack.fake.call_count(Endpoint::UploadChunk), 0);
    let post = rig.stack.posts.get(&rig.post.id).await.unwrap().unwrap();
    assert_eq!(post.state, PostState::Uploading);
}

#[tokio::test]
async fn an_initialised_post_is_uploaded_whole() {
    let rig = rig().await;
    let answer = handler(
        &rig.pipeline,
        event(serde_json::json!({"post_id": rig.post.id.as_str()})),
    )
    .await
    .unwrap();
    assert_eq!(answer.post_id, rig.post.id.as_str());
    assert!(answer.done);
    assert!(answer.wait_seconds > 0, "the first status fetch waits");
    let post = rig.stack.posts.get(&rig.post.id).await.unwrap().unwrap();
    assert_eq!(post.state, PostState::Processing);
    let publish = rig
        .stack
        .fake
        .publish(post.publish_id.as_deref().unwrap())
        .unwrap();
    assert!(publish.complete);
    assert_eq!(publish.uploaded_bytes, tiny_mp4().len() as u64);
    assert_eq!(rig.stack.fake.violations(), vec![]);
}
