//! Typed facts and causes through the posts table (moto): written as maps beside the note
//! and the reason, and read back as they were. (Items written before they existed:
//! `legacy_items.rs`.)

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use test_support::{moto, unique_name};
use tiktok_publish_adapters::{DynamoPostStore, TableNames, create_tables};
use tiktok_publish_core::ends::PostEnds;
use tiktok_publish_core::errors::ErrorKind;
use tiktok_publish_core::media::VideoLocation;
use tiktok_publish_core::store::{
    Cause, Fact, PostFailure, PostId, PostRecord, PostSource, PostState, PostStore, PostUpdate,
    WebhookFinal, WebhookFinalKind,
};
use tiktok_publish_core::tiktok::PrivacyLevel;
use tiktok_publish_domain::cause::Interaction;

pub(crate) const NOW: i64 = 1_800_000_000;

pub(crate) async fn tables() -> (Client, TableNames) {
    let client = moto().dynamodb().await;
    let names = TableNames::with_prefix(&unique_name("facts"));
    create_tables(&client, &names).await.unwrap();
    (client, names)
}

fn new_post(key: &str, state: PostState) -> PostRecord {
    PostRecord::new(
        "open-1",
        PostSource::at(VideoLocation {
            bucket: "videos".into(),
            key: key.into(),
            version_id: None,
        }),
        None,
        state,
        NOW,
    )
}

fn every_cause() -> Vec<Cause> {
    let creator = || "Fake Creator (@fake)".to_owned();
    vec![
        Cause::OptionsInvalid {
            field: "privacy_level".into(),
            rule: "must be one of SELF_ONLY".into(),
        },
        Cause::OptionsNeverArrived { waited_secs: 901 },
        Cause::NotConnected {
            open_id: "open-1".into(),
        },
        Cause::NoPrivacyLevel,
        Cause::TitleTooLong { utf16_units: 2201 },
        Cause::PrivacyLevelNotOffered {
            level: PrivacyLevel::PublicToEveryone,
            creator: creator(),
            offered: vec![],
        },
        Cause::InteractionDisabled {
            interaction: Interaction::Stitch,
            creator: creator(),
        },
        Cause::VideoTooLong {
            seconds: 601,
            creator: creator(),
            max_secs: 600,
        },
        Cause::CoverPastEnd {
            cover_ms: 99_000,
            duration_ms: 3_000,
        },
        Cause::VideoChanged {
            bucket: "videos".into(),
            key: "uploads/open-1/a.mp4".into(),
            recorded_etag: "\"e1\"".into(),
            found_etag: "\"e2\"".into(),
        },
        Cause::FreshTokenRefused,
        Cause::AuthorizationRemoved,
        Cause::TikTokRefused {
            code: "spam_risk_too_many_posts".into(),
            message: "TikTok refused video/init: spam_risk_too_many_posts: cap".into(),
        },
        Cause::TikTokFailed {
            fail_reason: "internal".into(),
        },
        Cause::PublishForgotten,
        Cause::ProcessingTimedOut { minutes: 120 },
        Cause::TooManyInits { inits: 4 },
        Cause::Stuck {
            state: PostState::Uploading,
            minutes: 47,
        },
        Cause::PipelineStopped {
            error: "States.Timeout".into(),
            detail: None,
        },
        Cause::PipelineStopped {
            error: "Lambda.Unknown".into(),
            detail: Some("{\"errorMessage\":\"crash\"}".into()),
        },
        Cause::Error {
            kind: ErrorKind::AwsUnavailable,
            message: "the store is unavailable during GetItem: throttled".into(),
        },
    ]
}

fn every_fact() -> Vec<Fact> {
    vec![
        Fact::OptionsAwaited,
        Fact::OptionsArrived,
        Fact::Initialised,
        Fact::UploadResumed,
        Fact::AlreadyAtTikTok,
        Fact::WholeVideoAtTikTok,
        Fact::ChunksSending,
        Fact::UploadComplete,
        Fact::UrlRefused,
        Fact::Published { via_webhook: true },
        Fact::SentToInbox { via_webhook: false },
        Fact::WebhookEvent {
            event: "post.publish.complete".into(),
        },
        Fact::Retried {
            attempt: 2,
            after: Some(ErrorKind::TikTokUnavailable),
        },
        Fact::Retried {
            attempt: 3,
            after: None,
        },
        Fact::CancelledByRequest,
        Fact::AccountDisconnected,
        Fact::Failed {
            cause: Cause::TooManyInits { inits: 4 },
        },
        Fact::Remark {
            note: "a note".into(),
        },
    ]
}

async fn raw_item(client: &Client, table: &str, id: &PostId) -> HashMap<String, AttributeValue> {
    client
        .get_item()
        .table_name(table)
        .key("id", AttributeValue::S(id.to_string()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap()
}

#[tokio::test]
async fn facts_and_causes_round_trip_as_maps_beside_their_text() {
    let (client, names) = tables().await;
    let store = DynamoPostStore::new(client.clone(), &names.posts);
    let post = new_post("uploads/open-1/typed.mp4", PostState::Uploading);
    store.create(&post).await.unwrap();

    for fact in every_fact() {
        PostEnds::silent()
            .settle(
                store
                    .transition(
                        &post.id,
                        &[PostState::Uploading],
                        PostState::Uploading,
                        PostUpdate::fact(fact),
                        NOW + 1,
                    )
                    .await
                    .unwrap(),
            )
            .await;
    }
    let event = WebhookFinal {
        publish_id: "v_pub_1".into(),
        kind: WebhookFinalKind::Failed,
        reason: Some("internal".into()),
        public_post_id: None,
        event_time: NOW,
    };
    client
        .update_item()
        .table_name(&names.posts)
        .key("id", AttributeValue::S(post.id.to_string()))
        .update_expression("SET publish_id = :p")
        .expression_attribute_values(":p", AttributeValue::S("v_pub_1".into()))
        .send()
        .await
        .unwrap();
    let webhook_fact = Fact::WebhookEvent {
        event: "post.publish.failed".into(),
    };
    store
        .record_webhook_event(
            &post.id,
            PostState::Uploading,
            None,
            &event,
            &webhook_fact,
            NOW + 2,
        )
        .await
        .unwrap();
    let read = store.get(&post.id).await.unwrap().unwrap();
    let mut expected = every_fact();
    expected.push(webhook_fact);
    let facts: Vec<&Fact> = read.history[1..]
        .iter()
        .map(|h| h.fact.as_ref().unwrap())
        .collect();
    assert_eq!(facts, expected.iter().collect::<Vec<_>>());
    for entry in &read.history[1..] {
        assert_eq!(entry.note, entry.fact.as_ref().map(Fact::to_string));
    }
    assert_eq!(read.history[0].fact, None);

    // Stored as a map tagged by `type`, beside the note.
    let item = raw_item(&client, &names.posts, &post.id).await;
    let AttributeValue::L(history) = &item["history"] else {
        panic!("history is a list");
    };
    let AttributeValue::M(retried) = &history[13] else {
        panic!("an entry is a map");
    };
    assert_eq!(
        retried["note"],
        AttributeValue::S("retry 2 after TikTokUnavailable".into())
    );
    let AttributeValue::M(fact) = &retried["fact"] else {
        panic!("the fact is a map: {retried:?}");
    };
    assert_eq!(fact["type"], AttributeValue::S("retried".into()));
    assert_eq!(fact["attempt"], AttributeValue::N("2".into()));

    // Every cause, recorded by a failing move and by record_failure, comes back as written.
    for (i, cause) in every_cause().into_iter().enumerate() {
        let failing = new_post(&format!("uploads/open-1/cause-{i}.mp4"), PostState::Queued);
        store.create(&failing).await.unwrap();
        let failure = PostFailure::new(cause.clone(), Some("what to do".into()));
        let failed = PostEnds::silent()
            .settle(
                store
                    .transition(
                        &failing.id,
                        &[PostState::Queued],
                        PostState::Failed,
                        PostUpdate::failed(failure.clone()),
                        NOW + 3,
                    )
                    .await
                    .unwrap(),
            )
            .await;
        assert_eq!(failed.failure.as_ref(), Some(&failure), "{cause:?}");
        let read = store.get(&failing.id).await.unwrap().unwrap();
        assert_eq!(read.failure.as_ref(), Some(&failure), "{cause:?}");
        assert_eq!(
            read.history.last().unwrap().fact,
            Some(Fact::Failed {
                cause: cause.clone()
            })
        );
        assert_eq!(
            read.history.last().unwrap().note,
            Some(failure.reason.clone())
        );
        let again = PostFailure::new(cause.clone(), None);
        store
            .record_failure(&failing.id, &again, NOW + 4)
            .await
            .unwrap();
        let read = store.get(&failing.id).await.unwrap().unwrap();
        assert_eq!(read.failure, Some(again), "{cause:?}");
        let item = raw_item(&client, &names.posts, &failing.id).await;
        let AttributeValue::M(stored) = &item["failure_cause"] else {
            panic!("failure_cause is a map: {item:?}");
        };
        assert!(
            matches!(&stored["type"], AttributeValue::S(_)),
            "{stored:?}"
        );
        assert_eq!(
            item["failure_kind"],
            AttributeValue::S(cause.kind().name().into())
        );
        assert!(!item.contains_key("failure_advice"));
    }

    // A record created whole (its failure and history in one item) reads back alike.
    let mut whole = new_post("uploads/open-1/whole.mp4", PostState::Refused);
    let failure = PostFailure::new(
        Cause::OptionsInvalid {
            field: "title".into(),
            rule: "too long".into(),
        },
        Some("Fix the options manifest and upload the video again".into()),
    );
    whole.failure = Some(failure.clone());
    store.create(&whole).await.unwrap();
    let read = store.get(&whole.id).await.unwrap().unwrap();
    assert_eq!(read.failure, Some(failure));
    assert_eq!(read.history, whole.history);
}
