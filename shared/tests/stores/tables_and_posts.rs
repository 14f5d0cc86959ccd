//! The tables and the posts store against moto.

use super::*;

// ---- tables --------------------------------------------------------------------------

#[tokio::test]
async fn create_tables_twice_is_harmless_and_oauth_items_expire_by_ttl() {
    let (client, names) = tables().await;
    create_tables(&client, &names).await.unwrap();
    let ttl = client
        .describe_time_to_live()
        .table_name(&names.oauth)
        .send()
        .await
        .unwrap();
    let description = ttl.time_to_live_description().unwrap();
    assert_eq!(description.attribute_name(), Some("expires_at"));
}

#[tokio::test]
async fn a_missing_table_is_a_misconfiguration_not_an_outage() {
    let client = moto().dynamodb().await;
    let store = DynamoTokenStore::new(client, unique_name("no-such-table"));
    let error = store.get("open").await.unwrap_err();
    assert!(matches!(error, StoreError::Refused { .. }), "{error:?}");
    assert_eq!(error.kind(), ErrorKind::Internal);
}

#[tokio::test]
async fn an_unreachable_dynamodb_is_unavailable() {
    let config = aws_sdk_dynamodb::config::Builder::from(&moto().sdk_config().await)
        .endpoint_url(format!("http://127.0.0.1:{}", test_support::free_port()))
        .build();
    let store = DynamoTokenStore::new(Client::from_conf(config), "accounts");
    let error = store.get("open").await.unwrap_err();
    assert!(matches!(error, StoreError::Unavailable { .. }), "{error:?}");
    assert_eq!(error.kind(), ErrorKind::AwsUnavailable);
}

// ---- posts ---------------------------------------------------------------------------

#[tokio::test]
async fn a_second_create_for_the_same_video_finds_the_first() {
    let (client, names) = tables().await;
    let store = DynamoPostStore::new(client, &names.posts);
    let first = new_post("open-1", "a.mp4", NOW);
    assert!(matches!(
        store.create(&first).await.unwrap(),
        CreateOutcome::Created
    ));
    let mut second = new_post("open-1", "a.mp4", NOW + 5);
    second.state = PostState::Queued;
    match store.create(&second).await.unwrap() {
        CreateOutcome::AlreadyExists(existing) => {
            assert_eq!(existing.id, first.id);
            assert_eq!(existing.state, PostState::Received);
            assert_eq!(existing.created_at, NOW);
        }
        CreateOutcome::Created => panic!("the second create must not win"),
    }
    let stored = store.get(&first.id).await.unwrap().unwrap();
    assert_eq!(stored.options, Some(options()));
    assert_eq!(stored.source, first.source);
    assert_eq!(stored.history.len(), 1);
    assert!(
        store
            .get(&PostId::parse("nope").unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_transition_from_an_unexpected_state_is_a_conflict() {
    let (client, names) = tables().await;
    let store = DynamoPostStore::new(client, &names.posts);
    let post = new_post("open-1", "b.mp4", NOW);
    store.create(&post).await.unwrap();

    let queued = PostEnds::silent()
        .settle(
            store
                .transition(
                    &post.id,
                    &[PostState::Received, PostState::AwaitingOptions],
                    PostState::Queued,
                    PostUpdate::fact(Fact::Remark {
                        note: "options complete".into(),
                    }),
                    NOW + 1,
                )
                .await
                .unwrap(),
        )
        .await;
    assert_eq!(queued.state, PostState::Queued);
    assert_eq!(queued.history.len(), 2);
    assert_eq!(queued.history[1].note.as_deref(), Some("options complete"));
    assert_eq!(queued.updated_at, NOW + 1);

    let error = store
        .transition(
            &post.id,
            &[PostState::Received],
            PostState::Cancelled,
            PostUpdate::default(),
            NOW + 2,
        )
        .await
        .unwrap_err();
    match &error {
        StoreError::StateConflict {
            found, expected, ..
        } => {
            assert_eq!(*found, PostState::Queued);
            assert_eq!(expected, &[PostState::Received]);
        }
        other => panic!("expected a state conflict, got {other:?}"),
    }
    assert_eq!(error.kind(), ErrorKind::PostConflict);

    let missing = PostId::derive("open-1", &video("missing.mp4"));
    let error = store
        .transition(
            &missing,
            &[PostState::Queued],
            PostState::Uploading,
            PostUpdate::default(),
            NOW,
        )
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::NotFound { .. }), "{error:?}");
}

#[tokio::test]
async fn two_runs_moving_the_same_post_cannot_both_win() {
    let (client, names) = tables().await;
    let store = Arc::new(DynamoPostStore::new(client, &names.posts));
    let post = new_post("open-1", "race.mp4", NOW);
    store.create(&post).await.unwrap();
    let runs = (0..8).map(|i| {
        let store = store.clone();
        let id = post.id.clone();
        tokio::spawn(async move {
            store
                .transition(
                    &id,
                    &[PostState::Received],
                    PostState::Queued,
                    PostUpdate::fact(Fact::Remark {
                        note: format!("run {i}"),
                    }),
                    NOW + 1,
                )
                .await
        })
    });
    let results = futures::future::join_all(runs).await;
    let winners = results
        .iter()
        .filter(|r| r.as_ref().unwrap().is_ok())
        .count();
    assert_eq!(winners, 1);
    for result in results {
        if let Err(error) = result.unwrap() {
            assert_eq!(error.kind(), ErrorKind::PostConflict);
        }
    }
    let stored = store.get(&post.id).await.unwrap().unwrap();
    assert_eq!(stored.history.len(), 2);
}

#[tokio::test]
async fn upload_progress_belongs_to_one_init_and_only_moves_forward() {
    let (client, names) = tables().await;
    let store = DynamoPostStore::new(client, &names.posts);
    let post = new_post("open-1", "c.mp4", NOW);
    store.create(&post).await.unwrap();
    PostEnds::silent()
        .settle(
            store
                .transition(
                    &post.id,
                    &[PostState::Received],
                    PostState::Uploading,
                    PostUpdate::default(),
                    NOW,
                )
                .await
                .unwrap(),
        )
        .await;
    let plan = ChunkPlan::new(100_000_000, &ChunkPolicy::default()).unwrap();
    let url = UploadUrl::new("https://upload.example/secret-upload-token".into());
    let record = store
        .record_init(&post.id, "pub-1", &url, NOW + 10, &plan, NOW + 10)
        .await
        .unwrap();
    assert_eq!(record.publish_id.as_deref(), Some("pub-1"));
    let upload = record.upload.as_ref().unwrap();
    let opened = store
        .open_upload_url(&post.id, upload.upload_url.as_ref().unwrap())
        .await
        .unwrap();
    assert_eq!(opened.expose(), url.expose());
    assert_eq!(upload.issued_at, NOW + 10);
    assert_eq!(upload.plan.total_chunk_count, plan.total_chunk_count());
    assert!(!format!("{record:?}").contains("secret-upload-token"));

    let chunk = plan.chunk_size();
    store
        .record_chunk_done(&post.id, "pub-1", 1, chunk, NOW + 11)
        .await
        .unwrap();
    // A retried step repeating its record is fine; going back or skipping past the plan
    // is not, nor is progress for another init.
    store
        .record_chunk_done(&post.id, "pub-1", 1, chunk, NOW + 12)
        .await
        .unwrap();
    let back = store
        .record_chunk_done(&post.id, "pub-1", 0, 0, NOW + 12)
        .await
        .unwrap_err();
    assert_eq!(back.kind(), ErrorKind::PostConflict);
    let stale = store
        .record_chunk_done(&post.id, "pub-0", 2, 2 * chunk, NOW + 12)
        .await
        .unwrap_err();
    assert_eq!(stale.kind(), ErrorKind::PostConflict);
    let beyond = store
        .record_chunk_done(
            &post.id,
            "pub-1",
            plan.total_chunk_count() + 1,
            plan.video_size(),
            NOW + 12,
        )
        .await
        .unwrap_err();
    assert_eq!(beyond.kind(), ErrorKind::PostConflict);

    let progressed = store.get(&post.id).await.unwrap().unwrap();
    assert_eq!(progressed.upload.as_ref().unwrap().chunks_done, 1);

    // A pull replaces the session: a new publish id, and nothing to upload.
    let pulled = store
        .record_pull(&post.id, "pub-pull", NOW + 15)
        .await
        .unwrap();
    assert_eq!(pulled.publish_id.as_deref(), Some("pub-pull"));
    assert!(pulled.upload.is_none(), "{pulled:?}");
    let reread = store.get(&post.id).await.unwrap().unwrap();
    assert_eq!(reread.publish_id.as_deref(), Some("pub-pull"));
    assert!(reread.upload.is_none(), "{reread:?}");

    // A new init is a new upload: progress starts again.
    let reinit = store
        .record_init(&post.id, "pub-2", &url, NOW + 20, &plan, NOW + 20)
        .await
        .unwrap();
    assert_eq!(reinit.upload.as_ref().unwrap().chunks_done, 0);
    assert_eq!(reinit.publish_id.as_deref(), Some("pub-2"));

    // A final post drops its upload URL and accepts no more inits.
    let done = PostEnds::silent()
        .settle(
            store
                .transition(
                    &post.id,
                    &[PostState::Uploading, PostState::Processing],
                    PostState::Published,
                    PostUpdate {
                        outcome: Some(PostOutcome {
                            public_post_ids: vec!["7299999999999999999".into()],
                        }),
                        ..PostUpdate::default()
                    },
                    NOW + 30,
                )
                .await
                .unwrap(),
        )
        .await;
    assert!(done.upload.as_ref().unwrap().upload_url.is_none());
    assert_eq!(
        done.outcome.unwrap().public_post_ids,
        vec!["7299999999999999999"]
    );
    let late_pull = store
        .record_pull(&post.id, "pub-4", NOW + 40)
        .await
        .unwrap_err();
    assert!(
        matches!(late_pull, StoreError::StateConflict { .. }),
        "{late_pull:?}"
    );
    let late = store
        .record_init(&post.id, "pub-3", &url, NOW + 40, &plan, NOW + 40)
        .await
        .unwrap_err();
    assert!(
        matches!(
            late,
            StoreError::StateConflict {
                found: PostState::Published,
                ..
            }
        ),
        "{late:?}"
    );
}

#[tokio::test]
async fn a_pulls_download_progress_is_kept_while_it_processes_and_dropped_by_a_new_init() {
    let (client, names) = tables().await;
    let store = DynamoPostStore::new(client, &names.posts);
    let post = new_post("open-1", "pulled.mp4", NOW);
    store.create(&post).await.unwrap();
    store
        .record_pull(&post.id, "pub-pull", NOW + 1)
        .await
        .unwrap();
    let early = store
        .record_download(&post.id, "pub-pull", 10, NOW + 2)
        .await
        .unwrap_err();
    assert_eq!(early.kind(), ErrorKind::PostConflict, "not processing yet");
    let _processing = store
        .transition(
            &post.id,
            &[PostState::Received],
            PostState::Processing,
            PostUpdate::default(),
            NOW + 3,
        )
        .await
        .unwrap();
    store
        .record_download(&post.id, "pub-pull", 1_000, NOW + 4)
        .await
        .unwrap();
    let other = store
        .record_download(&post.id, "pub-old", 2_000, NOW + 5)
        .await
        .unwrap_err();
    assert_eq!(other.kind(), ErrorKind::PostConflict, "another publish");
    let read = store.get(&post.id).await.unwrap().unwrap();
    assert_eq!(read.downloaded_bytes, Some(1_000));
    let pulled_again = store.record_pull(&post.id, "pub-2", NOW + 6).await.unwrap();
    assert_eq!(
        pulled_again.downloaded_bytes, None,
        "a new pull starts from nothing"
    );
}

#[tokio::test]
async fn failures_and_outcomes_are_recorded() {
    let (client, names) = tables().await;
    let store = DynamoPostStore::new(client, &names.posts);
    let post = new_post("open-1", "d.mp4", NOW);
    store.create(&post).await.unwrap();
    let failure = PostFailure::new(
        Cause::TikTokRefused {
            code: "spam_risk_too_many_posts".into(),
            message: "spam_risk_too_many_posts".into(),
        },
        Some("try again tomorrow".into()),
    );
    let failed = PostEnds::silent()
        .settle(
            store
                .transition(
                    &post.id,
                    &[PostState::Received],
                    PostState::Failed,
                    PostUpdate::failed(failure.clone()),
                    NOW + 1,
                )
                .await
                .unwrap(),
        )
        .await;
    assert_eq!(failed.failure, Some(failure));
    assert_eq!(failed.failure.unwrap().kind, ErrorKind::TikTokRejected);
    // Public ids may arrive after the post is final.
    let outcome = PostOutcome {
        public_post_ids: vec!["1".into(), "2".into()],
    };
    store
        .record_outcome(&post.id, &outcome, NOW + 2)
        .await
        .unwrap();
    let other = PostFailure::new(
        Cause::Error {
            kind: ErrorKind::Internal,
            message: "note".into(),
        },
        None,
    );
    store
        .record_failure(&post.id, &other, NOW + 3)
        .await
        .unwrap();
    let stored = store.get(&post.id).await.unwrap().unwrap();
    assert_eq!(stored.outcome, Some(outcome));
    assert_eq!(stored.failure, Some(other));
    let missing = PostId::derive("x", &video("none"));
    let error = store
        .record_outcome(&missing, &PostOutcome::default(), NOW)
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::NotFound { .. }), "{error:?}");
}

#[tokio::test]
async fn posts_are_listed_by_account_newest_first() {
    let (client, names) = tables().await;
    let store = DynamoPostStore::new(client, &names.posts);
    for i in 0..5 {
        store
            .create(&new_post("open-a", &format!("{i}.mp4"), NOW + i))
            .await
            .unwrap();
    }
    store
        .create(&new_post("open-b", "x.mp4", NOW))
        .await
        .unwrap();
    let first = store.list_by_account("open-a", 3, None).await.unwrap();
    let created: Vec<i64> = first.posts.iter().map(|p| p.created_at).collect();
    assert_eq!(created, vec![NOW + 4, NOW + 3, NOW + 2]);
    let cursor = first.next.expect("more to come");
    let rest = store
        .list_by_account("open-a", 3, Some(&cursor))
        .await
        .unwrap();
    let created: Vec<i64> = rest.posts.iter().map(|p| p.created_at).collect();
    assert_eq!(created, vec![NOW + 1, NOW]);
    assert!(rest.posts.iter().all(|p| p.open_id == "open-a"));
}
