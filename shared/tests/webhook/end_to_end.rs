//! End to end: the fake TikTok sends the events and the pipeline acts on them.

use super::rig::rig;
use super::*;
use tiktok_publish_core::tiktok::TikTokRevoke;

#[tokio::test]
async fn a_recorded_completion_ends_the_post_without_a_status_fetch() {
    let rig = rig("webhook-complete").await;
    let id = rig
        .uploaded_post("uploads/private.mp4", r#"{"privacy_level":"SELF_ONLY"}"#)
        .await;
    rig.await_deliveries(1).await;
    let post = rig.stack.posts.get(&id).await.unwrap().unwrap();
    assert_eq!(
        post.webhook_for_current_upload().map(|e| e.kind),
        Some(WebhookFinalKind::Complete)
    );
    let fetches = rig.status_fetches();
    let status = rig.pipeline.check_status(id.as_str()).await.unwrap();
    assert!(status.is_final);
    assert_eq!(rig.status_fetches(), fetches, "no status fetch was spent");
    assert_eq!(fetches, 0);
    let post = rig.stack.posts.get(&id).await.unwrap().unwrap();
    assert_eq!(post.state, PostState::Published);
    assert_eq!(
        rig.stack.fake.webhook_deliveries()[0].event,
        "post.publish.complete"
    );
    assert!(
        rig.stack.fake.violations().is_empty(),
        "{:?}",
        rig.stack.fake.violations()
    );
}

#[tokio::test]
async fn a_public_post_ends_with_the_post_id_the_webhook_gave() {
    let rig = rig("webhook-public").await;
    let id = rig
        .uploaded_post(
            "uploads/public.mp4",
            r#"{"privacy_level":"PUBLIC_TO_EVERYONE"}"#,
        )
        .await;
    // complete, then publicly_available with the id.
    rig.await_deliveries(2).await;
    let status = rig.pipeline.check_status(id.as_str()).await.unwrap();
    assert!(status.is_final);
    assert_eq!(rig.status_fetches(), 0);
    let post = rig.stack.posts.get(&id).await.unwrap().unwrap();
    assert_eq!(post.state, PostState::Published);
    let publish_id = post.publish_id.clone().unwrap();
    let at_fake = rig
        .stack
        .fake
        .publish(&publish_id)
        .unwrap()
        .post_id
        .unwrap();
    assert_eq!(
        post.outcome.unwrap().public_post_ids,
        vec![at_fake.to_string()]
    );
}

#[tokio::test]
async fn a_public_completion_without_its_id_still_asks_tiktok() {
    let rig = rig("webhook-public-noid").await;
    // No delivery: the event is recorded by hand, as if publicly_available never came.
    rig.stack.fake.set_webhook_url(None);
    let id = rig
        .uploaded_post(
            "uploads/public.mp4",
            r#"{"privacy_level":"PUBLIC_TO_EVERYONE"}"#,
        )
        .await;
    let post = rig.stack.posts.get(&id).await.unwrap().unwrap();
    let event = WebhookFinal {
        publish_id: post.publish_id.clone().unwrap(),
        kind: WebhookFinalKind::Complete,
        reason: None,
        public_post_id: None,
        event_time: unix_now(),
    };
    rig.stack
        .posts
        .record_webhook_event(
            &id,
            post.state,
            None,
            &event,
            &Fact::WebhookEvent {
                event: "test".into(),
            },
            unix_now(),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status = rig.pipeline.check_status(id.as_str()).await.unwrap();
    assert!(status.is_final);
    assert_eq!(
        rig.status_fetches(),
        1,
        "the id comes from the status fetch"
    );
    let post = rig.stack.posts.get(&id).await.unwrap().unwrap();
    assert_eq!(post.outcome.unwrap().public_post_ids.len(), 1);
}

#[tokio::test]
async fn a_recorded_failure_fails_the_post_without_a_status_fetch() {
    let rig = rig("webhook-failed").await;
    rig.stack.fake.inject(Fault::FailPost {
        open_id: rig.open_id.clone(),
        fail_reason: "frame_rate_check_failed".into(),
    });
    let id = rig
        .uploaded_post("uploads/bad.mp4", r#"{"privacy_level":"SELF_ONLY"}"#)
        .await;
    rig.await_deliveries(1).await;
    let error = rig.pipeline.check_status(id.as_str()).await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::TikTokPostFailed);
    assert_eq!(rig.status_fetches(), 0);
    let post = rig.stack.posts.get(&id).await.unwrap().unwrap();
    assert_eq!(post.state, PostState::Failed);
    let failure = post.failure.unwrap();
    assert!(
        failure.reason.contains("frame_rate_check_failed"),
        "{failure:?}"
    );
    assert!(failure.advice.is_some());
}

#[tokio::test]
async fn a_draft_ends_in_the_inbox_on_the_webhook() {
    let rig = rig("webhook-inbox").await;
    let id = rig
        .uploaded_post("uploads/draft.mp4", r#"{"mode":"draft"}"#)
        .await;
    rig.await_deliveries(1).await;
    assert_eq!(
        rig.stack.fake.webhook_deliveries()[0].event,
        "post.publish.inbox_delivered"
    );
    let status = rig.pipeline.check_status(id.as_str()).await.unwrap();
    assert!(status.is_final);
    assert_eq!(rig.status_fetches(), 0);
    let post = rig.stack.posts.get(&id).await.unwrap().unwrap();
    assert_eq!(post.state, PostState::SentToInbox);
}

#[tokio::test]
async fn authorization_removed_flags_the_account_and_stops_its_waiting_posts() {
    let rig = rig("webhook-removed").await;
    let stack = &rig.stack;
    let uploading = {
        stack.put("uploads/uploading.mp4", tiny_mp4()).await;
        let post = stack
            .queued_post(
                &rig.open_id,
                "uploads/uploading.mp4",
                r#"{"privacy_level":"SELF_ONLY"}"#,
            )
            .await;
        rig.pipeline.init_upload(post.id.as_str()).await.unwrap();
        post.id
    };
    stack.put("uploads/queued.mp4", tiny_mp4()).await;
    let queued = stack
        .queued_post(
            &rig.open_id,
            "uploads/queued.mp4",
            r#"{"privacy_level":"SELF_ONLY"}"#,
        )
        .await
        .id;
    let received = PostRecord::new(
        rig.open_id.clone(),
        PostSource::at(stack.location("uploads/received.mp4")),
        None,
        PostState::Received,
        unix_now(),
    );
    stack.posts.create(&received).await.unwrap();

    // The creator disconnects the app: TikTok revokes the token and tells us.
    let account = stack.accounts.get(&rig.open_id).await.unwrap().unwrap();
    stack.tiktok.revoke(&account.access_token).await.unwrap();
    rig.await_deliveries(1).await;
    assert_eq!(
        stack.fake.webhook_deliveries()[0].event,
        "authorization.removed"
    );

    let account = stack.accounts.get(&rig.open_id).await.unwrap().unwrap();
    assert!(account.needs_reconnect);
    for id in [&queued, &received.id] {
        let post = stack.posts.get(id).await.unwrap().unwrap();
        assert_eq!(post.state, PostState::Failed);
        let failure = post.failure.unwrap();
        assert_eq!(failure.kind, ErrorKind::AccountNeedsReconnect);
        assert_eq!(
            failure.advice.as_deref(),
            Some(AUTHORIZATION_REMOVED_ADVICE)
        );
    }
    let post = stack.posts.get(&uploading).await.unwrap().unwrap();
    assert_eq!(
        post.state,
        PostState::Uploading,
        "an upload under way is left alone"
    );
    // One AccountNeedsReconnect for the mark, one PostFailed for each post it stopped.
    let sent: Vec<DetailType> = rig
        .events
        .sent()
        .iter()
        .map(OutcomeEvent::detail_type)
        .collect();
    let reconnects = sent
        .iter()
        .filter(|t| **t == DetailType::AccountNeedsReconnect)
        .count();
    let failed = sent
        .iter()
        .filter(|t| **t == DetailType::PostFailed)
        .count();
    assert_eq!((reconnects, failed), (1, 2), "{sent:?}");

    // The stopped post's run meets a final post and ends quietly.
    let error = rig.pipeline.init_upload(queued.as_str()).await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::PostConflict);
    assert!(
        stack.fake.violations().is_empty(),
        "{:?}",
        stack.fake.violations()
    );
}

#[tokio::test]
async fn the_fake_signs_what_the_core_verifies() {
    // The fake's signer and the core's are two implementations: they must agree.
    let body = complete_body();
    let fake = fake_tiktok::webhook_signature("our-secret", NOW, &body);
    assert_eq!(Some(fake.clone()), our_signature(NOW, &body));
    let (result, _) = deliver(Some(fake), &body).await;
    assert!(result.is_ok(), "{result:?}");
}
