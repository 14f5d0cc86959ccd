//! A draft sent to the inbox is not the end: when its creator posts it in the TikTok app,
//! TikTok sends `post.publish.complete` (and `post.publish.publicly_available` with the post
//! id for a public post). The post moves on to `PUBLISHED`, on the same record, and
//! `PostPublished` is sent then, once; repeats change nothing and nothing moves back.

use super::rig::{Rig, rig};
use super::*;

const PUBLIC_POST_ID: i64 = 7_345_678_901_234_567_890;

/// A draft uploaded and, by the status step, in the creator's inbox.
async fn draft_in_inbox(rig: &Rig, key: &str) -> (PostId, String) {
    let id = rig.uploaded_post(key, r#"{"mode":"draft"}"#).await;
    rig.await_deliveries(1).await;
    let status = rig
        .reporting_pipeline()
        .check_status(id.as_str())
        .await
        .unwrap();
    assert!(status.is_final);
    let post = rig.stack.posts.get(&id).await.unwrap().unwrap();
    assert_eq!(post.state, PostState::SentToInbox);
    (id, post.publish_id.unwrap())
}

fn has_fact(post: &PostRecord, fact: &Fact) -> bool {
    post.history.iter().any(|h| h.fact.as_ref() == Some(fact))
}

#[tokio::test]
async fn a_draft_posted_later_is_published_once_with_its_post_id() {
    let rig = rig("webhook-draft-posted").await;
    let (id, publish_id) = draft_in_inbox(&rig, "uploads/draft.mp4").await;
    assert_eq!(published_events(&rig.events), vec![PostState::SentToInbox]);

    let sent = rig
        .stack
        .fake
        .creator_posts_draft(&publish_id, Some(PUBLIC_POST_ID))
        .await
        .unwrap();
    let names: Vec<&str> = sent.iter().map(|d| d.event.as_str()).collect();
    assert_eq!(
        names,
        ["post.publish.complete", "post.publish.publicly_available"]
    );
    for delivery in &sent {
        assert_eq!(delivery.status, Some(200), "{delivery:?}");
    }
    let post = rig.stack.posts.get(&id).await.unwrap().unwrap();
    assert_eq!(post.state, PostState::Published);
    assert_eq!(post.publish_id.as_deref(), Some(publish_id.as_str()));
    assert_eq!(
        post.outcome.as_ref().unwrap().public_post_ids,
        vec![PUBLIC_POST_ID.to_string()]
    );
    assert!(has_fact(&post, &Fact::DraftPosted { via_webhook: true }));
    assert_eq!(
        published_events(&rig.events),
        vec![PostState::SentToInbox, PostState::Published]
    );

    // Every event again, 71 hours later under its first signature (TikTok's retries), and
    // the status step run again: nothing changes, nothing moves back to the inbox.
    rig.set_clock_ahead(71 * HOUR);
    for original in rig.stack.fake.webhook_deliveries() {
        let retry = rig.stack.fake.redeliver(&original).await.unwrap();
        assert_eq!(retry.status, Some(200), "{retry:?}");
    }
    let status = rig
        .reporting_pipeline()
        .check_status(id.as_str())
        .await
        .unwrap();
    assert!(status.is_final);
    let after = rig.stack.posts.get(&id).await.unwrap().unwrap();
    assert_unchanged(&post, &after);
    assert_eq!(
        published_events(&rig.events),
        vec![PostState::SentToInbox, PostState::Published]
    );
    assert!(
        rig.stack.fake.violations().is_empty(),
        "{:?}",
        rig.stack.fake.violations()
    );
}

#[tokio::test]
async fn a_draft_posted_before_the_status_step_ran_goes_straight_to_published() {
    let rig = rig("webhook-draft-early").await;
    let id = rig
        .uploaded_post("uploads/early.mp4", r#"{"mode":"draft"}"#)
        .await;
    rig.await_deliveries(1).await;
    let publish_id = rig
        .stack
        .posts
        .get(&id)
        .await
        .unwrap()
        .unwrap()
        .publish_id
        .unwrap();
    // Still processing for us: inbox_delivered was recorded, then the creator posted it.
    let sent = rig
        .stack
        .fake
        .creator_posts_draft(&publish_id, None)
        .await
        .unwrap();
    assert_eq!(sent[0].status, Some(200));
    let post = rig.stack.posts.get(&id).await.unwrap().unwrap();
    assert_eq!(post.state, PostState::Processing);
    assert_eq!(
        post.webhook_for_current_upload().map(|e| e.kind),
        Some(WebhookFinalKind::Complete)
    );
    let status = rig
        .reporting_pipeline()
        .check_status(id.as_str())
        .await
        .unwrap();
    assert!(status.is_final);
    assert_eq!(rig.status_fetches(), 0);
    let post = rig.stack.posts.get(&id).await.unwrap().unwrap();
    assert_eq!(post.state, PostState::Published);
    assert_eq!(published_events(&rig.events), vec![PostState::Published]);
}

#[tokio::test]
async fn the_status_step_publishes_a_draft_whose_posting_was_recorded_as_it_reached_the_inbox() {
    let rig = rig("webhook-draft-status").await;
    // No delivery reaches us: the status step fetches TikTok's answer.
    rig.stack.fake.set_webhook_url(None);
    let id = rig
        .uploaded_post("uploads/raced.mp4", r#"{"mode":"draft"}"#)
        .await;
    let pipeline = rig.reporting_pipeline();
    let mut final_status = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if pipeline.check_status(id.as_str()).await.unwrap().is_final {
            final_status = true;
            break;
        }
    }
    assert!(final_status);
    let post = rig.stack.posts.get(&id).await.unwrap().unwrap();
    assert_eq!(post.state, PostState::SentToInbox);
    // The webhook recorded `post.publish.complete` while the post was processing, just
    // before the status step moved it to the inbox with the answer it had fetched.
    let complete = WebhookFinal {
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
            PostState::SentToInbox,
            None,
            &complete,
            &Fact::WebhookEvent {
                event: "post.publish.complete".into(),
            },
            unix_now(),
        )
        .await
        .unwrap();
    for _ in 0..2 {
        let status = pipeline.check_status(id.as_str()).await.unwrap();
        assert!(status.is_final);
    }
    let post = rig.stack.posts.get(&id).await.unwrap().unwrap();
    assert_eq!(post.state, PostState::Published);
    assert!(has_fact(&post, &Fact::DraftPosted { via_webhook: true }));
    assert_eq!(
        published_events(&rig.events),
        vec![PostState::SentToInbox, PostState::Published]
    );
}
