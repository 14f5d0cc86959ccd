//! The handler against moto and the strict fake TikTok.

use fake_tiktok::Endpoint;
use lambda_runtime::{Context, Diagnostic};
use tiktok_publish_core::errors::ErrorKind;
use tiktok_publish_core::store::{PostState, PostStore};
use tiktok_publish_testkit::TaskRig;

use super::*;

/// A connected account, a small MP4 in a fresh bucket and its post, queued.
async fn rig() -> TaskRig {
    TaskRig::start("init").await
}

fn event(payload: Value) -> LambdaEvent<Value> {
    LambdaEvent::new(payload, Context::default())
}

#[tokio::test]
async fn malformed_input_is_internal_and_changes_nothing() {
    let rig = rig().await;
    for payload in [
        serde_json::json!({"postid": rig.post.id.as_str()}),
        serde_json::json!({"post_id": 42}),
        serde_json::json!(["not", "an", "object"]),
        serde_json::json!({"post_id": "../not a post id"}),
    ] {
        let err = handler(&rig.pipeline, event(payload.clone()))
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Internal, "{payload}: {err}");
        assert!(!err.message.is_empty());
        let diagnostic: Diagnostic = err.into();
        assert_eq!(diagnostic.error_type, "Internal");
    }
    // Only the code exchange of the rig reached TikTok, and the post did not move.
    assert_eq!(rig.stack.fake.calls().len(), 1);
    let post = rig.stack.posts.get(&rig.post.id).await.unwrap().unwrap();
    assert_eq!(post.state, PostState::Queued);
    assert_eq!(post.history.len(), 1);
}

#[tokio::test]
async fn a_queued_post_is_initialised_at_tiktok() {
    let rig = rig().await;
    let answer = handler(
        &rig.pipeline,
        event(serde_json::json!({"post_id": rig.post.id.as_str()})),
    )
    .await
    .unwrap();
    assert_eq!(
        answer,
        InitOutput {
            post_id: rig.post.id.to_string(),
            ready: true,
            wait_seconds: 0,
            pulled: false,
        }
    );
    assert_eq!(rig.stack.fake.call_count(Endpoint::DirectInit), 1);
    let post = rig.stack.posts.get(&rig.post.id).await.unwrap().unwrap();
    assert_eq!(post.state, PostState::Uploading);
    assert!(post.publish_id.is_some());
    assert_eq!(rig.stack.fake.violations(), vec![]);
    // The answer the state machine logs holds no secret.
    let logged = serde_json::to_string(&answer).unwrap();
    for secret in rig.stack.fake.secrets_issued() {
        assert!(!logged.contains(&secret));
    }
}
