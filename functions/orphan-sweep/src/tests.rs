//! The handler against moto: a video whose S3 event was lost is claimed once.

use std::sync::Arc;

use lambda_runtime::Context;
use tiktok_publish_core::events::MemoryEvents;
use tiktok_publish_core::store::PostState;
use tiktok_publish_core::sweep::{S3UploadListing, SweepSettings};
use tiktok_publish_core::testing::{PassMachine, TestStack, video};
use tiktok_publish_core::trigger::TriggerOutcome;

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
        events: Arc::new(MemoryEvents::new()),
        settings: SweepSettings {
            // Just uploaded counts as lost here; the deployed default waits 30 minutes.
            orphan_after_secs: 0,
            ..SweepSettings::new(&stack.bucket)
        },
    };
    let event = || {
        LambdaEvent::new(
            serde_json::json!({"source": "aws.events"}),
            Context::default(),
        )
    };

    let report = handler(&sweep, event()).await.unwrap();
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

    let again = handler(&sweep, event()).await.unwrap();
    assert!(again.orphans.is_empty(), "{again:?}");
    assert_eq!(machine.execution_names().await.len(), 1);
}
