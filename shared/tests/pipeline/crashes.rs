//! After a crash, TikTok's status says `PROCESSING_UPLOAD` without `uploaded_bytes` and the
//! upload URL is stale: what the record proves decides, and no branch starts an upload that
//! could become a second post (`shared/src/pipeline/steps/resume.rs`).

use tiktok_publish_core::store::Cause;

use super::*;

/// A pipeline over the same stack whose upload URLs are stale at once, and whose
/// processing deadline is `processing_deadline`.
fn after_the_url_died(rig: &Rig, processing_deadline: Duration) -> Pipeline {
    rig.stack.pipeline(PipelineSettings {
        upload_url_lifetime: Duration::ZERO,
        processing_deadline,
        ..PipelineSettings::default()
    })
}

/// An account whose status answers leave `uploaded_bytes` out, and a direct post of 1 MB
/// (one chunk) initialised once.
async fn initialised_post(rig: &Rig, name: &str) -> (String, PostId) {
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    rig.stack.fake.inject(Fault::OmitUploadedBytes {
        open_id: open_id.clone(),
    });
    let video = rig
        .put_mp4(&format!("uploads/{name}.mp4"), 1_000_000, 10)
        .await;
    let id = rig
        .post(
            &open_id,
            video.location,
            options(r#"{"privacy_level":"SELF_ONLY"}"#),
        )
        .await;
    let ready = rig.pipeline.init_upload(id.as_str()).await.unwrap();
    assert!(ready.ready);
    (open_id, id)
}

#[tokio::test]
async fn nothing_sent_and_the_url_stale_initialises_anew_and_posts_once() {
    let rig = rig().await;
    let (open_id, id) = initialised_post(&rig, "nothing-sent").await;

    // No chunk was ever sent: nothing at TikTok can become a post.
    let again = after_the_url_died(&rig, Duration::from_secs(3600));
    assert!(again.init_upload(id.as_str()).await.unwrap().ready);
    assert_eq!(rig.stack.fake.call_count(Endpoint::DirectInit), 2);

    rig.drive(&id, vec![]).await.assert_published();
    let complete = rig
        .stack
        .fake
        .publishes_for(&open_id)
        .into_iter()
        .filter(|p| p.complete)
        .count();
    assert_eq!(complete, 1, "one upload completed");
    assert_eq!(rig.stack.fake.violations(), vec![]);
}

#[tokio::test]
async fn the_last_chunk_maybe_sent_waits_then_fails_for_a_person_without_uploading_again() {
    let rig = rig().await;
    let (open_id, id) = initialised_post(&rig, "last-chunk").await;
    // The only chunk is cut mid-body: sending began, nothing was confirmed.
    rig.stack.fake.inject(Fault::ForAccount {
        open_id,
        fault: Box::new(Fault::ResetMidBody {
            after_bytes: 1000,
            times: 1,
        }),
    });
    assert!(rig.pipeline.upload_chunks(id.as_str(), None).await.is_err());
    let chunk_puts = rig.stack.fake.call_count(Endpoint::UploadChunk);

    // Within TikTok's processing time a whole video would still be turning final: ask again.
    let waiting = after_the_url_died(&rig, Duration::from_secs(3600));
    let answer = waiting.init_upload(id.as_str()).await.unwrap();
    assert!(!answer.ready && answer.wait_seconds > 0, "{answer:?}");

    // Past it, a person decides.
    let past = after_the_url_died(&rig, Duration::ZERO);
    let error = past.init_upload(id.as_str()).await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::TikTokPostFailed);
    let post = rig.record(&id).await;
    assert_eq!(post.state, PostState::Failed);
    assert_eq!(
        post.failure.unwrap().cause,
        Cause::UploadOutcomeUnknown {
            chunks_recorded: 0,
            total_chunks: 1
        }
    );
    let fake = &rig.stack.fake;
    assert_eq!(fake.call_count(Endpoint::DirectInit), 1, "no second init");
    assert_eq!(
        fake.call_count(Endpoint::UploadChunk),
        chunk_puts,
        "no chunk sent again"
    );
    assert_eq!(fake.violations(), vec![]);
}
