//! The handler against moto: a video whose S3 event was lost is claimed once; the payload's
//! overrides apply to that run only, and bad ones are refused before anything is swept.

use std::sync::Arc;

use lambda_runtime::{Context, Diagnostic};
use tiktok_publish_adapters::S3UploadListing;
use tiktok_publish_core::store::PostState;
use tiktok_publish_core::sweep::{INVALID_SWEEP_REQUEST, SweepSettings};
use tiktok_publish_core::trigger::TriggerOutcome;
use tiktok_publish_testkit::{PassMachine, TestStack, video};

use super::*;

#[tokio::test]
async fn a_video_whose_event_was_lost_is_claimed_once() {
    let stack = TestStack::start("sweepfn").await;
    let machine = PassMachine::create().await;
    let key = "uploads/open-sweep/clip.mp4";
    stack.put(key, video::tiny_mp4()).await;
    stack
        .put(
            &format!("{key}.json"),
            br#"{"privacy_level":"SELF_ONLY"}"#.to_vec(),
        )
        .await;
    let sweep = Sweep {
        intake: stack.intake(&machine).await,
        accounts: stack.accounts.clone(),
        listing: Arc::new(S3UploadListing::new(stack.s3.clone())),
        // The deployed default: a video counts as lost after 30 minutes.
        settings: SweepSettings::new(&stack.bucket),
    };
    let event = |payload| LambdaEvent::new(payload, Context::default());
    let scheduled = || {
        event(serde_json::json!({
            "source": "aws.events",
            "detail-type": "Scheduled Event",
            "detail": {}
        }))
    };

    // The schedule's event keeps the settings: the video is too young to be lost.
    let report = handler(&sweep, scheduled()).await.unwrap();
    assert_eq!(report.objects_listed, 2, "{report:?}");
    assert_eq!(
        report.videos_checked, 0,
        "too young to be looked at: {report:?}"
    );
    assert!(report.orphans.is_empty(), "{report:?}");
    assert!(machine.execution_names().await.is_empty());

    // Bad overrides are refused by name, and nothing runs.
    for bad in [
        serde_json::json!({"orphan_after_minutes": -1}),
        serde_json::json!({"orphan_after_minutes": "0"}),
        serde_json::json!({"orphan_after_minutes": 1.5}),
        serde_json::json!({"orphan_after_minutes": 72 * 60}),
        serde_json::json!({"stuck_after_minutes": 5}),
        serde_json::json!([0]),
    ] {
        let refused = handler(&sweep, event(bad.clone())).await.unwrap_err();
        let diagnostic = Diagnostic::from(refused);
        assert_eq!(diagnostic.error_type, INVALID_SWEEP_REQUEST, "{bad}");
        assert!(
            diagnostic.error_message.contains("nothing was swept"),
            "{bad}: {}",
            diagnostic.error_message
        );
    }
    assert!(machine.execution_names().await.is_empty());

    // An operator sweeps at once: just uploaded counts as lost for this run.
    let at_once = || event(serde_json::json!({"orphan_after_minutes": 0}));
    let report = handler(&sweep, at_once()).await.unwrap();
    assert_eq!(report.videos_checked, 1, "the manifest is not a video");
    let [found] = report.orphans.as_slice() else {
        panic!("one orphan, got {report:?}");
    };
    let TriggerOutcome::Claimed {
        post_id,
        state,
        created,
    } = &found.outcome
    else {
        panic!("claimed, got {:?}", found.outcome);
    };
    assert_eq!((*state, *created), (PostState::Queued, true));
    assert_eq!(
        machine.execution_names().await,
        std::slice::from_ref(post_id)
    );

    let again = handler(&sweep, at_once()).await.unwrap();
    assert!(again.orphans.is_empty(), "{again:?}");
    assert_eq!(machine.execution_names().await.len(), 1);
}
