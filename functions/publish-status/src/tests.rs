//! The handler against moto and the strict fake TikTok.

use lambda_runtime::{Context, Diagnostic};
use tiktok_publish_core::errors::ErrorKind;
use tiktok_publish_core::store::{PostState, PostStore};
use tiktok_publish_testkit::TaskRig;

use super::*;

/// A connected account, a small MP4 in a fresh bucket and its post, queued or initialised.
async fn rig(initialised: bool) -> TaskRig {
    let rig = TaskRig::start("status").await;
    if initialised {
        rig.init_upload().await;
    }
    rig
}

fn event(payload: Value) -> LambdaEvent<Value> {
    LambdaEvent::new(payload, Context::default())
}

#[tokio::test]
async fn malformed_input_is_internal_and_changes_nothing() {
    let rig = rig(false).await;
    let id = rig.post.id.as_str();
    for payload in [
        serde_json::json!({"post_id": id}),
        serde_json::json!({"post_id": id, "action": "cancel"}),
        serde_json::json!({"post_id": id, "action": "record_failure"}),
        serde_json::json!({"post_id": id, "action": "record_failure", "error": "boom"}),
        serde_json::json!({"action": "status"}),
    ] {
        let err = handler(&rig.pipeline, event(payload.clone()))
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Internal, "{payload}: {err}");
        let diagnostic: Diagnostic = err.into();
        assert_eq!(diagnostic.error_type, "Internal");
    }
    assert_eq!(
        rig.stack.fake.calls().len(),
        1,
        "only the rig's code exchange"
    );
    let post = rig.stack.posts.get(&rig.post.id).await.unwrap().unwrap();
    assert_eq!(post.state, PostState::Queued);
    assert_eq!(post.history.len(), 1);
}

#[tokio::test]
async fn a_post_still_uploading_goes_back_to_upload_without_asking_tiktok() {
    let rig = rig(true).await;
    let calls = rig.stack.fake.calls().len();
    let answer = handler(
        &rig.pipeline,
        event(serde_json::json!({"post_id": rig.post.id.as_str(), "action": "status"})),
    )
    .await
    .unwrap();
    let StatusAnswer::Status(status) = &answer else {
        panic!("{answer:?}");
    };
    assert!(!status.is_final && !status.uploaded);
    assert_eq!(status.wait_seconds, 0);
    let json = serde_json::to_value(&answer).unwrap();
    assert_eq!(json["final"], false);
    assert_eq!(json["uploaded"], false);
    assert_eq!(rig.stack.fake.calls().len(), calls);
}

#[tokio::test]
async fn record_failure_fails_the_post_with_the_error_name() {
    let rig = rig(false).await;
    let answer = handler(
        &rig.pipeline,
        event(serde_json::json!({
            "post_id": rig.post.id.as_str(),
            "action": "record_failure",
            "error": {"Error": "TikTokUnavailable", "Cause": "TikTokUnavailable: HTTP 503"},
        })),
    )
    .await
    .unwrap();
    assert_eq!(
        answer,
        StatusAnswer::Recorded {
            post_id: rig.post.id.to_string()
        }
    );
    let post = rig.stack.posts.get(&rig.post.id).await.unwrap().unwrap();
    assert_eq!(post.state, PostState::Failed);
    let failure = post.failure.unwrap();
    assert_eq!(failure.kind.name(), "TikTokUnavailable");
    assert!(failure.reason.contains("HTTP 503"), "{}", failure.reason);
    assert!(failure.advice.is_some());
}
