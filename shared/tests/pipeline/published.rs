//! Posts that go through: direct, scheduled, drafts, one chunk per invocation.

use super::*;

#[tokio::test]
async fn a_direct_post_of_1_mb_is_published_byte_exact() {
    let rig = rig().await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let video = rig.put_mp4("uploads/clip.mp4", 1_000_000, 12).await;
    let id = rig
        .post(
            &open_id,
            video.location,
            options(r#"{"title":"hello #fyp","privacy_level":"PUBLIC_TO_EVERYONE"}"#),
        )
        .await;

    let run = rig.drive(&id, vec![]).await;
    run.assert_published();
    assert_eq!(&run.trace[..2], ["Init:ready", "Upload:done"]);

    let post = rig.record(&id).await;
    assert_eq!(post.state, PostState::Published);
    let publish = rig
        .stack
        .fake
        .publish(post.publish_id.as_deref().unwrap())
        .unwrap();
    assert_eq!(publish.video_sha256.as_deref(), Some(video.sha256.as_str()));
    assert_eq!(publish.chunks_taken, 1);
    let public_id = publish.post_id.unwrap().to_string();
    assert_eq!(post.outcome.unwrap().public_post_ids, vec![public_id]);
    assert_eq!(publish.post_info.unwrap()["title"], "hello #fyp");
    assert_eq!(rig.inits(), 1);
    assert_eq!(rig.stack.fake.violations(), vec![]);
}

#[tokio::test]
async fn a_scheduled_post_waits_for_its_time_then_a_second_run_is_a_duplicate() {
    let rig = rig().await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let video = rig.put_mp4("uploads/later.mp4", 1_000_000, 10).await;
    let mut scheduled = options(r#"{"privacy_level":"SELF_ONLY"}"#).unwrap();
    // Far enough ahead that a loaded machine still reaches the first init before it.
    scheduled.publish_at = Some(unix_now() + 3);
    let id = rig.post(&open_id, video.location, Some(scheduled)).await;

    let run = rig.drive(&id, vec![]).await;
    run.assert_published();
    assert!(run.trace[0].starts_with("Init:wait "), "{:?}", run.trace);
    assert_eq!(run.count("Init:ready"), 1);

    // The same post started again (a duplicate event) stops quietly and sends nothing.
    let calls = rig.stack.fake.calls().len();
    let again = rig.drive(&id, vec![]).await;
    assert!(matches!(again.ending, Ending::Duplicate), "{again:?}");
    assert_eq!(rig.stack.fake.calls().len(), calls);
    assert_eq!(rig.record(&id).await.state, PostState::Published);
    assert_eq!(rig.stack.fake.violations(), vec![]);
}

#[tokio::test]
async fn a_draft_is_sent_to_the_creators_inbox() {
    let rig = rig().await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let video = rig.put_mp4("uploads/draft.mp4", 2_000_000, 30).await;
    let id = rig
        .post(&open_id, video.location, options(r#"{"mode":"draft"}"#))
        .await;

    rig.drive(&id, vec![]).await.assert_published();

    let post = rig.record(&id).await;
    assert_eq!(post.state, PostState::SentToInbox);
    assert_eq!(rig.stack.fake.call_count(Endpoint::InboxInit), 1);
    assert_eq!(rig.stack.fake.call_count(Endpoint::DirectInit), 0);
    let publish = rig
        .stack
        .fake
        .publish(post.publish_id.as_deref().unwrap())
        .unwrap();
    assert_eq!(publish.video_sha256.as_deref(), Some(video.sha256.as_str()));
    assert_eq!(rig.stack.fake.violations(), vec![]);
}

#[tokio::test]
async fn with_no_upload_budget_each_invocation_sends_one_chunk_in_order() {
    let rig = rig_with(PipelineSettings {
        upload_budget: Duration::ZERO,
        ..PipelineSettings::default()
    })
    .await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let video = rig.put_mp4("uploads/long.mp4", 100_000_000, 300).await;
    let id = rig
        .post(
            &open_id,
            video.location,
            options(r#"{"privacy_level":"SELF_ONLY"}"#),
        )
        .await;

    let run = rig.drive(&id, vec![]).await;
    run.assert_published();
    assert_eq!(
        &run.trace[..4],
        ["Init:ready", "Upload:more", "Status:upload", "Upload:done"]
    );

    let post = rig.record(&id).await;
    assert_eq!(post.state, PostState::Published);
    let publish = rig
        .stack
        .fake
        .publish(post.publish_id.as_deref().unwrap())
        .unwrap();
    assert_eq!(publish.plan.total_chunk_count, 2);
    assert_eq!(publish.video_sha256.as_deref(), Some(video.sha256.as_str()));
    assert_eq!(rig.stack.fake.call_count(Endpoint::UploadChunk), 2);
    assert_eq!(rig.stack.fake.violations(), vec![]);
}
