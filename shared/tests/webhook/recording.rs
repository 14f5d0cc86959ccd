//! Recording events on the posts table (moto): idempotent, and only over what was read.

use super::*;

#[tokio::test]
async fn recording_is_idempotent_and_learns_the_public_id_once() {
    let stack = TestStack::start("webhook-record").await;
    let posts = stack.posts.as_ref();
    // Older posts of the account in front of it, so the search goes past one page.
    let id = processing_post(posts, "uploads/target.mp4", NOW - 3600).await;
    for i in 0..60 {
        let other = PostRecord::new(
            OPEN_ID,
            PostSource::at(stack.location(&format!("uploads/other-{i}.mp4"))),
            None,
            PostState::Queued,
            NOW - 60 + i,
        );
        posts.create(&other).await.unwrap();
    }
    let tokens = stack.accounts.as_ref();
    let complete = complete_body();
    let signed = |body: &[u8]| our_signature(NOW, body);

    let first = receive(
        &settings(),
        posts,
        &PostEnds::silent(),
        tokens,
        signed(&complete).as_deref(),
        &complete,
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(
        first,
        WebhookOutcome::Recorded {
            post_id: id.clone()
        }
    );
    // TikTok delivers it again.
    let again = receive(
        &settings(),
        posts,
        &PostEnds::silent(),
        tokens,
        signed(&complete).as_deref(),
        &complete,
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(
        again,
        WebhookOutcome::AlreadyRecorded {
            post_id: id.clone()
        }
    );
    let post = posts.get(&id).await.unwrap().unwrap();
    let webhook_notes = |post: &PostRecord| {
        post.history
            .iter()
            .filter(|h| {
                h.note
                    .as_deref()
                    .is_some_and(|n| n.starts_with("TikTok webhook"))
            })
            .count()
    };
    assert_eq!(webhook_notes(&post), 1);
    assert_eq!(
        post.webhook,
        Some(WebhookFinal {
            publish_id: PUBLISH_ID.into(),
            kind: WebhookFinalKind::Complete,
            reason: None,
            public_post_id: None,
            event_time: NOW,
        })
    );

    // The public id arrives later: it improves the record, once.
    let public = event_body(
        "our-key",
        "post.publish.publicly_available",
        serde_json::json!({"publish_id": PUBLISH_ID, "post_id": 7_345_678_901_234_567_890u64}),
    );
    for expected in [
        WebhookOutcome::Recorded {
            post_id: id.clone(),
        },
        WebhookOutcome::AlreadyRecorded {
            post_id: id.clone(),
        },
    ] {
        let outcome = receive(
            &settings(),
            posts,
            &PostEnds::silent(),
            tokens,
            signed(&public).as_deref(),
            &public,
            NOW,
        )
        .await
        .unwrap();
        assert_eq!(outcome, expected);
    }
    let post = posts.get(&id).await.unwrap().unwrap();
    assert_eq!(webhook_notes(&post), 2);
    let event = post.webhook.unwrap();
    assert_eq!(event.public_post_id.as_deref(), Some("7345678901234567890"));
    assert_eq!(
        post.state,
        PostState::Processing,
        "the status step moves it"
    );

    // A contradicting event later (failed after complete) does not overwrite the first.
    let failed = event_body(
        "our-key",
        "post.publish.failed",
        serde_json::json!({"publish_id": PUBLISH_ID, "reason": "internal"}),
    );
    let outcome = receive(
        &settings(),
        posts,
        &PostEnds::silent(),
        tokens,
        signed(&failed).as_deref(),
        &failed,
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(
        outcome,
        WebhookOutcome::AlreadyRecorded {
            post_id: id.clone()
        }
    );
}

#[tokio::test]
async fn a_published_post_learns_its_public_id_from_a_late_event() {
    let posts = MemoryPostStore::new();
    let tokens = MemoryTokenStore::new();
    let id = processing_post(&posts, "uploads/late.mp4", NOW - 600).await;
    // Published by a status fetch before moderation made it public.
    PostEnds::silent()
        .settle(
            posts
                .transition(
                    &id,
                    &[PostState::Processing],
                    PostState::Published,
                    Default::default(),
                    NOW - 500,
                )
                .await
                .unwrap(),
        )
        .await;
    let public = event_body(
        "our-key",
        "post.publish.publicly_available",
        serde_json::json!({"publish_id": PUBLISH_ID, "post_id": "7345"}),
    );
    let outcome = receive(
        &settings(),
        &posts,
        &PostEnds::silent(),
        &tokens,
        our_signature(NOW, &public).as_deref(),
        &public,
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(
        outcome,
        WebhookOutcome::Recorded {
            post_id: id.clone()
        }
    );
    let post = posts.get(&id).await.unwrap().unwrap();
    assert_eq!(post.state, PostState::Published);
    assert_eq!(
        post.outcome.unwrap().public_post_ids,
        vec!["7345".to_owned()]
    );
}

#[tokio::test]
async fn the_store_records_only_over_what_was_read() {
    let stack = TestStack::start("webhook-race").await;
    let posts = stack.posts.as_ref();
    let id = processing_post(posts, "uploads/race.mp4", NOW).await;
    let event = WebhookFinal {
        publish_id: PUBLISH_ID.into(),
        kind: WebhookFinalKind::Failed,
        reason: Some("internal".into()),
        public_post_id: None,
        event_time: NOW,
    };
    posts
        .record_webhook_event(
            &id,
            PostState::Processing,
            None,
            &event,
            &remark("first"),
            NOW,
        )
        .await
        .unwrap();
    // A second writer that read the post before the first wrote loses.
    let lost = posts
        .record_webhook_event(
            &id,
            PostState::Processing,
            None,
            &event,
            &remark("second"),
            NOW,
        )
        .await;
    assert!(matches!(lost, Err(StoreError::Conflict { .. })), "{lost:?}");
    // So does one that believes the post is in another state, or at another upload.
    let other_upload = WebhookFinal {
        publish_id: "v_pub_file~other".into(),
        ..event.clone()
    };
    for (state, seen, new) in [
        (PostState::Uploading, Some(&event), &event),
        (PostState::Processing, Some(&event), &other_upload),
    ] {
        let refused = posts
            .record_webhook_event(&id, state, seen, new, &remark("third"), NOW)
            .await;
        assert!(
            matches!(refused, Err(StoreError::Conflict { .. })),
            "{refused:?}"
        );
    }
    let post = posts.get(&id).await.unwrap().unwrap();
    assert_eq!(post.webhook, Some(event));
    assert_eq!(post.history.last().unwrap().note.as_deref(), Some("first"));
}

/// A published post of [`OPEN_ID`] at the upload [`PUBLISH_ID`], in `posts`.
async fn published_post(posts: &dyn PostStore, key: &str) -> PostId {
    let id = processing_post(posts, key, NOW - 600).await;
    PostEnds::silent()
        .settle(
            posts
                .transition(
                    &id,
                    &[PostState::Processing],
                    PostState::Published,
                    Default::default(),
                    NOW - 500,
                )
                .await
                .unwrap(),
        )
        .await;
    id
}

#[tokio::test]
async fn a_post_out_of_public_view_is_noted_once_and_stays_published() {
    let posts = MemoryPostStore::new();
    let tokens = MemoryTokenStore::new();
    let events = Arc::new(MemoryEvents::new());
    let ends = PostEnds::new(events.clone());
    let id = published_post(&posts, "uploads/hidden.mp4").await;
    let content = serde_json::json!({
        "publish_id": PUBLISH_ID, "post_id": 7_345_678_901_234_567_890u64,
        "publish_type": "DIRECT_PUBLISH",
    });
    // TikTok's spelling, then a repeat, then the same event spelt correctly.
    let mut outcomes = Vec::new();
    for name in [
        NO_LONGER_PUBLIC_EVENT,
        NO_LONGER_PUBLIC_EVENT,
        NO_LONGER_PUBLIC_EVENT_CORRECTED,
    ] {
        let body = event_body("our-key", name, content.clone());
        let outcome = receive(
            &settings(),
            &posts,
            &ends,
            &tokens,
            our_signature(NOW, &body).as_deref(),
            &body,
            NOW,
        )
        .await
        .unwrap();
        outcomes.push(outcome);
    }
    assert_eq!(
        outcomes,
        vec![
            WebhookOutcome::Recorded {
                post_id: id.clone()
            },
            WebhookOutcome::AlreadyRecorded {
                post_id: id.clone()
            },
            WebhookOutcome::AlreadyRecorded {
                post_id: id.clone()
            },
        ]
    );
    let post = posts.get(&id).await.unwrap().unwrap();
    assert_eq!(post.state, PostState::Published);
    let noted: Vec<&Fact> = post
        .history
        .iter()
        .filter_map(|h| h.fact.as_ref())
        .filter(|f| matches!(f, Fact::NoLongerPublic { .. }))
        .collect();
    assert_eq!(
        noted,
        vec![&Fact::NoLongerPublic {
            post_id: Some("7345678901234567890".into()),
            event_time: NOW,
        }]
    );
    assert!(events.sent().is_empty(), "no end, no event");

    // A later event (public again, then hidden again) is a new fact.
    let later = serde_json::json!({
        "client_key": "our-key", "event": NO_LONGER_PUBLIC_EVENT, "create_time": NOW + 60,
        "user_openid": OPEN_ID, "content": content.to_string(),
    })
    .to_string()
    .into_bytes();
    let outcome = receive(
        &settings(),
        &posts,
        &ends,
        &tokens,
        our_signature(NOW + 60, &later).as_deref(),
        &later,
        NOW + 60,
    )
    .await
    .unwrap();
    assert_eq!(outcome, WebhookOutcome::Recorded { post_id: id });
}

#[tokio::test]
async fn a_success_never_moves_back_in_either_store() {
    let stack = TestStack::start("webhook-forward").await;
    let memory = MemoryPostStore::new();
    let stores: [(&str, &dyn PostStore); 2] =
        [("dynamodb", stack.posts.as_ref()), ("memory", &memory)];
    for (name, posts) in stores {
        let id = processing_post(posts, "uploads/forward.mp4", NOW).await;
        let moved = posts
            .transition(
                &id,
                &[PostState::Processing],
                PostState::SentToInbox,
                Default::default(),
                NOW,
            )
            .await
            .unwrap();
        PostEnds::silent().settle(moved).await;
        for (from, to) in [
            (PostState::SentToInbox, PostState::Processing),
            (PostState::SentToInbox, PostState::Failed),
            (PostState::SentToInbox, PostState::Queued),
        ] {
            let refused = posts
                .transition(&id, &[from], to, Default::default(), NOW)
                .await;
            assert!(
                matches!(
                    refused,
                    Err(StoreError::StateConflict {
                        found: PostState::SentToInbox,
                        ..
                    })
                ),
                "{name}: {from} -> {to}: {refused:?}"
            );
        }
        // The one move forward: the creator posted the draft.
        let moved = posts
            .transition(
                &id,
                &[PostState::SentToInbox],
                PostState::Published,
                Default::default(),
                NOW,
            )
            .await
            .unwrap();
        assert!(!moved.ended(), "{name}: its end was the inbox");
        PostEnds::silent().settle(moved).await;
        for to in [
            PostState::SentToInbox,
            PostState::Processing,
            PostState::Failed,
        ] {
            let refused = posts
                .transition(
                    &id,
                    &[PostState::Published, PostState::SentToInbox],
                    to,
                    Default::default(),
                    NOW,
                )
                .await;
            assert!(
                matches!(
                    refused,
                    Err(StoreError::StateConflict {
                        found: PostState::Published,
                        ..
                    })
                ),
                "{name}: PUBLISHED -> {to}: {refused:?}"
            );
        }
        let post = posts.get(&id).await.unwrap().unwrap();
        assert_eq!(post.state, PostState::Published, "{name}");
    }
}

#[tokio::test]
async fn every_post_made_from_one_draft_adds_its_public_id_once() {
    // TikTok: "It's possible for the user to make multiple posts from the content
    // associated with one publish_id."
    let posts = MemoryPostStore::new();
    let tokens = MemoryTokenStore::new();
    let id = published_post(&posts, "uploads/twice.mp4").await;
    let mut outcomes = Vec::new();
    for post_id in ["7001", "7002", "7002"] {
        let body = event_body(
            "our-key",
            "post.publish.publicly_available",
            serde_json::json!({"publish_id": PUBLISH_ID, "post_id": post_id}),
        );
        let outcome = receive(
            &settings(),
            &posts,
            &PostEnds::silent(),
            &tokens,
            our_signature(NOW, &body).as_deref(),
            &body,
            NOW,
        )
        .await
        .unwrap();
        outcomes.push(outcome);
    }
    let recorded = WebhookOutcome::Recorded {
        post_id: id.clone(),
    };
    let again = WebhookOutcome::AlreadyRecorded {
        post_id: id.clone(),
    };
    assert_eq!(outcomes, vec![recorded.clone(), recorded, again]);
    let post = posts.get(&id).await.unwrap().unwrap();
    assert_eq!(post.state, PostState::Published);
    assert_eq!(post.outcome.unwrap().public_post_ids, ["7001", "7002"]);
}

#[tokio::test]
async fn tiktoks_cancelled_event_leaves_a_cancelled_post_cancelled() {
    let posts = MemoryPostStore::new();
    let tokens = MemoryTokenStore::new();
    let id = processing_post(&posts, "uploads/cancelled.mp4", NOW - 60).await;
    // `DELETE /posts/{id}` had TikTok cancel the pull, then cancelled the post.
    PostEnds::silent()
        .settle(
            posts
                .transition(
                    &id,
                    &[PostState::Processing],
                    PostState::Cancelled,
                    PostUpdate::fact(Fact::PullCancelled),
                    NOW - 30,
                )
                .await
                .unwrap(),
        )
        .await;
    let cancelled = event_body(
        "our-key",
        "post.publish.failed",
        serde_json::json!({"publish_id": PUBLISH_ID, "reason": "publish_cancelled"}),
    );
    receive(
        &settings(),
        &posts,
        &PostEnds::silent(),
        &tokens,
        our_signature(NOW, &cancelled).as_deref(),
        &cancelled,
        NOW,
    )
    .await
    .unwrap();
    let post = posts.get(&id).await.unwrap().unwrap();
    assert_eq!(post.state, PostState::Cancelled);
    assert!(post.failure.is_none(), "{:?}", post.failure);
}
