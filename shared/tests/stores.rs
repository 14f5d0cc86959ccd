//! The DynamoDB stores against moto: every decision is a conditional write that holds.

use std::sync::Arc;

use aws_sdk_dynamodb::Client;
use secrecy::{ExposeSecret, SecretString};
use test_support::{moto, unique_name};
use tiktok_publish_core::errors::{Classify, ErrorKind};
use tiktok_publish_core::media::VideoLocation;
use tiktok_publish_core::store::{
    Cause, ConsumeOutcome, CreateOutcome, DynamoOAuthStateStore, DynamoPostStore, DynamoTokenStore,
    Fact, LeaseOutcome, OAuthStateStore, OneTimeKind, OneTimeRecord, OneTimeToken, PostFailure,
    PostId, PostOptions, PostOutcome, PostRecord, PostSource, PostState, PostStore, PostUpdate,
    RefreshSaved, StoreError, TableNames, TokenStore, create_tables,
};
use tiktok_publish_core::tiktok::{ChunkPlan, ChunkPolicy, PostMode, TokenGrant, UploadUrl};

const NOW: i64 = 1_800_000_000;

async fn tables() -> (Client, TableNames) {
    let client = moto().dynamodb().await;
    let names = TableNames::with_prefix(&unique_name("stores"));
    create_tables(&client, &names).await.unwrap();
    (client, names)
}

fn grant(open_id: &str, access: &str, refresh: &str) -> TokenGrant {
    TokenGrant {
        open_id: open_id.into(),
        access_token: SecretString::from(access.to_owned()),
        expires_in: 86_400,
        refresh_token: SecretString::from(refresh.to_owned()),
        refresh_expires_in: 31_536_000,
        scope: "user.info.basic,video.publish,video.upload".into(),
        token_type: "Bearer".into(),
    }
}

fn video(key: &str) -> VideoLocation {
    VideoLocation {
        bucket: "videos".into(),
        key: key.into(),
        version_id: Some("v1".into()),
    }
}

fn options() -> PostOptions {
    PostOptions {
        title: "hello #world".into(),
        privacy_level: Some(tiktok_publish_core::tiktok::PrivacyLevel::SelfOnly),
        disable_duet: None,
        disable_comment: Some(true),
        disable_stitch: Some(false),
        video_cover_timestamp_ms: Some(1500),
        brand_content_toggle: false,
        brand_organic_toggle: true,
        is_aigc: false,
        mode: PostMode::DirectPost,
        publish_at: Some(NOW + 60),
    }
}

fn new_post(open_id: &str, key: &str, created_at: i64) -> PostRecord {
    PostRecord::new(
        open_id,
        PostSource::at(video(key)),
        Some(options()),
        PostState::Received,
        created_at,
    )
}

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

    let queued = store
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
        .unwrap();
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
    store
        .transition(
            &post.id,
            &[PostState::Received],
            PostState::Uploading,
            PostUpdate::default(),
            NOW,
        )
        .await
        .unwrap();
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

    // A new init is a new upload: progress starts again.
    let reinit = store
        .record_init(&post.id, "pub-2", &url, NOW + 20, &plan, NOW + 20)
        .await
        .unwrap();
    assert_eq!(reinit.upload.as_ref().unwrap().chunks_done, 0);
    assert_eq!(reinit.publish_id.as_deref(), Some("pub-2"));

    // A final post drops its upload URL and accepts no more inits.
    let done = store
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
        .unwrap();
    assert!(done.upload.as_ref().unwrap().upload_url.is_none());
    assert_eq!(
        done.outcome.unwrap().public_post_ids,
        vec!["7299999999999999999"]
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
    let failed = store
        .transition(
            &post.id,
            &[PostState::Received],
            PostState::Failed,
            PostUpdate::failed(failure.clone()),
            NOW + 1,
        )
        .await
        .unwrap();
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

// ---- one-time tokens -------------------------------------------------------------------

#[tokio::test]
async fn a_state_is_consumed_once() {
    let (client, names) = tables().await;
    let store = DynamoOAuthStateStore::new(client.clone(), &names.oauth);
    let token = OneTimeToken::generate();
    let mut record = OneTimeRecord::new(OneTimeKind::OAuthState, NOW, 600);
    record.redirect_uri = Some("https://example.com/oauth/callback".into());
    record.binding = Some("cookie-hash".into());
    store.put(&token, &record).await.unwrap();

    // The table holds only a hash of the token.
    let scan = client.scan().table_name(&names.oauth).send().await.unwrap();
    let dump = format!("{:?}", scan.items());
    assert!(!dump.contains(token.expose()));

    assert_eq!(
        store
            .consume(OneTimeKind::ConnectLink, token.expose(), NOW + 1)
            .await
            .unwrap(),
        ConsumeOutcome::Unknown,
        "a state is not a connect link"
    );
    assert_eq!(
        store
            .consume(OneTimeKind::OAuthState, token.expose(), NOW + 1)
            .await
            .unwrap(),
        ConsumeOutcome::Consumed(record)
    );
    assert_eq!(
        store
            .consume(OneTimeKind::OAuthState, token.expose(), NOW + 2)
            .await
            .unwrap(),
        ConsumeOutcome::AlreadyUsed
    );
    assert_eq!(
        store
            .consume(OneTimeKind::OAuthState, "forged", NOW + 2)
            .await
            .unwrap(),
        ConsumeOutcome::Unknown
    );
}

#[tokio::test]
async fn an_expired_state_is_refused_even_while_its_item_remains() {
    let (client, names) = tables().await;
    let store = DynamoOAuthStateStore::new(client, &names.oauth);
    let token = OneTimeToken::generate();
    store
        .put(
            &token,
            &OneTimeRecord::new(OneTimeKind::ConnectLink, NOW, 600),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .consume(OneTimeKind::ConnectLink, token.expose(), NOW + 600)
            .await
            .unwrap(),
        ConsumeOutcome::Expired
    );
    // Refused, not used up: still expired a moment later, never consumed.
    assert_eq!(
        store
            .consume(OneTimeKind::ConnectLink, token.expose(), NOW + 601)
            .await
            .unwrap(),
        ConsumeOutcome::Expired
    );
}

#[tokio::test]
async fn concurrent_uses_of_one_state_let_exactly_one_through() {
    let (client, names) = tables().await;
    let store = Arc::new(DynamoOAuthStateStore::new(client, &names.oauth));
    let token = OneTimeToken::generate();
    store
        .put(
            &token,
            &OneTimeRecord::new(OneTimeKind::OAuthState, NOW, 600),
        )
        .await
        .unwrap();
    let uses = (0..10).map(|_| {
        let store = store.clone();
        let value = token.expose().to_owned();
        tokio::spawn(async move {
            store
                .consume(OneTimeKind::OAuthState, &value, NOW + 1)
                .await
                .unwrap()
        })
    });
    let outcomes = futures::future::join_all(uses).await;
    let consumed = outcomes
        .iter()
        .filter(|o| matches!(o.as_ref().unwrap(), ConsumeOutcome::Consumed(_)))
        .count();
    assert_eq!(consumed, 1);
}

// ---- accounts --------------------------------------------------------------------------

#[tokio::test]
async fn a_reconnect_never_wipes_a_good_refresh_token() {
    let (client, names) = tables().await;
    let store = DynamoTokenStore::new(client, &names.accounts);
    let first = store
        .save_connection(&grant("open-1", "act.1", "rft.1"), Some("Creator"), NOW)
        .await
        .unwrap();
    assert_eq!(first.version, 1);
    assert_eq!(first.access_expires_at, NOW + 86_400);
    assert_eq!(first.nickname.as_deref(), Some("Creator"));
    assert_eq!(first.scopes.len(), 3);

    assert!(
        store
            .mark_needs_reconnect("open-1", "refresh refused", Some(1), NOW + 1)
            .await
            .unwrap()
    );
    let flagged = store.get("open-1").await.unwrap().unwrap();
    assert!(flagged.needs_reconnect);
    assert_eq!(flagged.reconnect_reason.as_deref(), Some("refresh refused"));

    // A grant without a refresh token keeps the stored one and clears the flag.
    let second = store
        .save_connection(&grant("open-1", "act.2", ""), None, NOW + 2)
        .await
        .unwrap();
    assert_eq!(second.version, 2);
    assert!(!second.needs_reconnect);
    assert!(second.reconnect_reason.is_none());
    assert_eq!(second.access_token.expose_secret(), "act.2");
    assert_eq!(
        second
            .refresh_token
            .as_ref()
            .unwrap()
            .open()
            .await
            .unwrap()
            .expose_secret(),
        "rft.1"
    );
    assert_eq!(second.refresh_expires_at, NOW + 31_536_000);
    assert_eq!(second.nickname.as_deref(), Some("Creator"));
    assert!(!format!("{second:?}").contains("act.2"));

    // A brand-new account without one has none (and must reconnect to refresh).
    let bare = store
        .save_connection(&grant("open-2", "act.x", ""), None, NOW)
        .await
        .unwrap();
    assert!(bare.refresh_token.is_none());

    let list = store.list().await.unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].open_id, "open-1");
    assert!(!list[0].must_reconnect(NOW + 3));
    assert!(list[1].must_reconnect(NOW + 3));

    assert!(store.delete("open-2").await.unwrap());
    assert!(!store.delete("open-2").await.unwrap());
    assert!(store.get("open-2").await.unwrap().is_none());
}

#[tokio::test]
async fn one_caller_at_a_time_holds_the_refresh_lease() {
    let (client, names) = tables().await;
    let store = Arc::new(DynamoTokenStore::new(client, &names.accounts));
    store
        .save_connection(&grant("open-1", "act.1", "rft.1"), None, NOW)
        .await
        .unwrap();

    let takers = (0..20).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            let owner = format!("owner-{i}");
            let outcome = store
                .try_take_refresh_lease("open-1", 1, &owner, NOW + 60, NOW)
                .await
                .unwrap();
            (owner, outcome)
        })
    });
    let outcomes: Vec<_> = futures::future::join_all(takers)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let winners: Vec<_> = outcomes
        .iter()
        .filter(|(_, o)| *o == LeaseOutcome::Taken)
        .collect();
    assert_eq!(winners.len(), 1);
    let winner = winners[0].0.clone();

    // Someone else cannot save under the winner's lease, nor release it.
    let thief = store
        .save_refreshed(
            "open-1",
            "thief",
            &grant("open-1", "act.t", "rft.t"),
            NOW + 1,
        )
        .await
        .unwrap();
    assert!(matches!(thief, RefreshSaved::LeaseLost));
    store.release_lease("open-1", "thief").await.unwrap();
    let held = store.get("open-1").await.unwrap().unwrap();
    assert_eq!(held.lease_owner.as_deref(), Some(winner.as_str()));

    // Once it expires (and the version still matches) another caller may take it over.
    assert_eq!(
        store
            .try_take_refresh_lease("open-1", 1, "late", NOW + 120, NOW + 59)
            .await
            .unwrap(),
        LeaseOutcome::Busy
    );
    assert_eq!(
        store
            .try_take_refresh_lease("open-1", 1, "late", NOW + 120, NOW + 60)
            .await
            .unwrap(),
        LeaseOutcome::Taken
    );
    // The first holder lost it: its save is refused.
    let lost = store
        .save_refreshed(
            "open-1",
            &winner,
            &grant("open-1", "act.w", "rft.w"),
            NOW + 61,
        )
        .await
        .unwrap();
    assert!(matches!(lost, RefreshSaved::LeaseLost));

    let RefreshSaved::Saved(saved) = store
        .save_refreshed(
            "open-1",
            "late",
            &grant("open-1", "act.2", "rft.2"),
            NOW + 62,
        )
        .await
        .unwrap()
    else {
        panic!("the holder's save must succeed");
    };
    assert_eq!(saved.version, 2);
    assert!(saved.lease_owner.is_none() && saved.lease_until.is_none());
    assert_eq!(
        saved
            .refresh_token
            .as_ref()
            .unwrap()
            .open()
            .await
            .unwrap()
            .expose_secret(),
        "rft.2"
    );

    // A lease taken on an old version is refused: someone saved newer tokens.
    assert_eq!(
        store
            .try_take_refresh_lease("open-1", 1, "stale", NOW + 200, NOW + 63)
            .await
            .unwrap(),
        LeaseOutcome::Busy
    );
    // A stale refusal does not flag an account that has newer tokens.
    assert!(
        !store
            .mark_needs_reconnect("open-1", "old token refused", Some(1), NOW + 64)
            .await
            .unwrap()
    );
    assert!(!store.get("open-1").await.unwrap().unwrap().needs_reconnect);
    // A flagged account is never leased for a refresh.
    store
        .mark_needs_reconnect("open-1", "refused", None, NOW + 65)
        .await
        .unwrap();
    assert_eq!(
        store
            .try_take_refresh_lease("open-1", 2, "any", NOW + 200, NOW + 66)
            .await
            .unwrap(),
        LeaseOutcome::Busy
    );
    assert_eq!(
        store
            .try_take_refresh_lease("nobody", 1, "any", NOW + 200, NOW + 66)
            .await
            .unwrap(),
        LeaseOutcome::Busy
    );
}
