//! Unit tests of the in-memory stores.

use tiktok_publish_core::ends::PostEnds;
use tiktok_publish_core::errors::{Classify, ErrorKind};
use tiktok_publish_core::media::VideoLocation;
use tiktok_publish_core::store::{
    AllowanceLimits, AllowanceStore, ConsumeOutcome, CreateOutcome, OAuthStateStore, OneTimeKind,
    OneTimeRecord, PostRecord, PostSource, PostState, PostStore, PostUpdate, Spend, TikTokCall,
    UnixMillis, UnixTime,
};
use tiktok_publish_core::tiktok::{ChunkPlan, ChunkPolicy, UploadUrl};

use super::*;

const NOW: UnixTime = 1_800_000_000;

fn post(key: &str, created_at: UnixTime) -> PostRecord {
    PostRecord::new(
        "open-1",
        PostSource::at(VideoLocation {
            bucket: "b".into(),
            key: key.into(),
            version_id: None,
        }),
        None,
        PostState::Received,
        created_at,
    )
}

#[tokio::test]
async fn one_time_tokens_are_single_use_and_expire() {
    let store = MemoryOAuthStateStore::new();
    let record = OneTimeRecord::new(OneTimeKind::OAuthState, NOW, 60);
    let token = store.issue(&record).await.unwrap();
    assert!(store.put(&token, &record).await.is_err());
    let use_at = |now| store.consume(OneTimeKind::OAuthState, token.expose(), now);
    assert_eq!(use_at(NOW + 60).await.unwrap(), ConsumeOutcome::Expired);
    assert_eq!(
        use_at(NOW + 59).await.unwrap(),
        ConsumeOutcome::Consumed(record)
    );
    assert_eq!(use_at(NOW + 59).await.unwrap(), ConsumeOutcome::AlreadyUsed);
    assert_eq!(
        store
            .consume(OneTimeKind::ConnectLink, token.expose(), NOW)
            .await
            .unwrap(),
        ConsumeOutcome::Unknown
    );
}

#[tokio::test]
async fn posts_move_only_from_the_expected_state() {
    let store = MemoryPostStore::new();
    let record = post("a", NOW);
    assert!(matches!(
        store.create(&record).await.unwrap(),
        CreateOutcome::Created
    ));
    assert!(matches!(
        store.create(&record).await.unwrap(),
        CreateOutcome::AlreadyExists(_)
    ));
    let id = &record.id;
    let (moved, ended) = store
        .transition(
            id,
            &[PostState::Received],
            PostState::Uploading,
            PostUpdate::default(),
            NOW,
        )
        .await
        .unwrap()
        .into_parts();
    assert!(ended.is_none(), "a move between live states ends nothing");
    assert_eq!(moved.history.len(), 2);
    let error = store
        .transition(
            id,
            &[PostState::Received],
            PostState::Queued,
            PostUpdate::default(),
            NOW,
        )
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PostConflict);

    let plan = ChunkPlan::new(1_000, &ChunkPolicy::default()).unwrap();
    let url = UploadUrl::new("https://upload.example/u".into());
    store
        .record_init(id, "pub-1", &url, NOW, &plan, NOW)
        .await
        .unwrap();
    store
        .record_chunk_done(id, "pub-1", 1, 1_000, NOW)
        .await
        .unwrap();
    store
        .record_chunk_done(id, "pub-1", 1, 1_000, NOW)
        .await
        .unwrap();
    assert!(
        store
            .record_chunk_done(id, "pub-0", 1, 1_000, NOW)
            .await
            .is_err()
    );
    assert!(
        store
            .record_chunk_done(id, "pub-1", 2, 2_000, NOW)
            .await
            .is_err()
    );
    let (_, ended) = store
        .transition(
            id,
            &[PostState::Uploading],
            PostState::Published,
            PostUpdate::default(),
            NOW,
        )
        .await
        .unwrap()
        .into_parts();
    let done = PostEnds::silent()
        .report(ended.expect("a move to a final state ends the post"))
        .await;
    assert!(done.upload.unwrap().upload_url.is_none());
    assert!(
        store
            .record_init(id, "pub-2", &url, NOW, &plan, NOW)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn listings_page_newest_first() {
    let store = MemoryPostStore::new();
    for i in 0..3 {
        store.create(&post(&i.to_string(), NOW + i)).await.unwrap();
    }
    let page = store.list_by_account("open-1", 2, None).await.unwrap();
    assert_eq!(page.posts.len(), 2);
    assert_eq!(page.posts[0].created_at, NOW + 2);
    let rest = store
        .list_by_account("open-1", 2, page.next.as_ref())
        .await
        .unwrap();
    assert_eq!(rest.posts.len(), 1);
    assert_eq!(rest.posts[0].created_at, NOW);
    assert!(rest.next.is_none());
}

const NOW_MS: UnixMillis = 1_800_000_000_000;

#[tokio::test]
async fn allowances_grant_the_limit_then_say_how_long_to_wait() {
    let store = MemoryAllowanceStore::new(AllowanceLimits::default());
    for i in 0..6 {
        assert_eq!(
            store
                .try_spend("open-1", TikTokCall::Init, NOW_MS + i)
                .await
                .unwrap(),
            Spend::Granted
        );
    }
    // The first call leaves a 62 s window (60 s + the 2 s margin) at NOW_MS + 62 s.
    assert_eq!(
        store
            .try_spend("open-1", TikTokCall::Init, NOW_MS + 2_000)
            .await
            .unwrap(),
        Spend::WaitFor(std::time::Duration::from_secs(60))
    );
    assert_eq!(store.counted("open-1", TikTokCall::Init).len(), 6);
    assert_eq!(
        store
            .try_spend("open-1", TikTokCall::Init, NOW_MS + 62_000)
            .await
            .unwrap(),
        Spend::Granted
    );
    assert_eq!(
        store.counted("open-1", TikTokCall::Init),
        vec![
            NOW_MS + 1,
            NOW_MS + 2,
            NOW_MS + 3,
            NOW_MS + 4,
            NOW_MS + 5,
            NOW_MS + 62_000
        ]
    );
}

#[tokio::test]
async fn allowances_are_per_account_and_per_call() {
    let limits = AllowanceLimits {
        init_per_minute: 1,
        status_fetch_per_minute: 1,
        creator_info_per_minute: 1,
        ..AllowanceLimits::default()
    };
    let store = MemoryAllowanceStore::new(limits);
    for (open_id, call) in [
        ("open-1", TikTokCall::Init),
        ("open-1", TikTokCall::StatusFetch),
        ("open-1", TikTokCall::CreatorInfo),
        ("open-2", TikTokCall::Init),
    ] {
        assert_eq!(
            store.try_spend(open_id, call, NOW_MS).await.unwrap(),
            Spend::Granted,
            "{open_id} {call}"
        );
    }
    assert!(matches!(
        store
            .try_spend("open-1", TikTokCall::Init, NOW_MS)
            .await
            .unwrap(),
        Spend::WaitFor(_)
    ));
}
