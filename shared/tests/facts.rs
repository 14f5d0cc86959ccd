//! Typed facts and causes through the posts table (moto): written as maps beside the note
//! and the reason, read back as they were; and items written before they existed (the note
//! and reason strings only, exactly as that version wrote them) read through their wording.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use test_support::{moto, unique_name};
use tiktok_publish_core::api::retry::{retries_so_far, retry_verdict};
use tiktok_publish_core::errors::ErrorKind;
use tiktok_publish_core::media::VideoLocation;
use tiktok_publish_core::store::{
    Cause, DynamoPostStore, Fact, PostFailure, PostId, PostRecord, PostSource, PostState,
    PostStore, PostUpdate, TableNames, WebhookFinal, WebhookFinalKind, create_tables,
};
use tiktok_publish_core::tiktok::PrivacyLevel;
use tiktok_publish_domain::cause::Interaction;

const NOW: i64 = 1_800_000_000;

async fn tables() -> (Client, TableNames) {
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
        store
            .transition(
                &post.id,
                &[PostState::Uploading],
                PostState::Uploading,
                PostUpdate::fact(fact),
                NOW + 1,
            )
            .await
            .unwrap();
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
        let failed = store
            .transition(
                &failing.id,
                &[PostState::Queued],
                PostState::Failed,
                PostUpdate::failed(failure.clone()),
                NOW + 3,
            )
            .await
            .unwrap();
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

/// The attributes of a history entry as the version before typed facts wrote them.
fn old_entry(state: &str, at: i64, note: Option<&str>) -> AttributeValue {
    let mut entry = HashMap::from([
        ("state".to_owned(), AttributeValue::S(state.into())),
        ("at".to_owned(), AttributeValue::N(at.to_string())),
    ]);
    if let Some(note) = note {
        entry.insert("note".to_owned(), AttributeValue::S(note.into()));
    }
    AttributeValue::M(entry)
}

/// A post item as the version before typed facts wrote it: no `fact`, no `failure_cause`.
async fn put_old_item(
    client: &Client,
    table: &str,
    key: &str,
    state: &str,
    history: Vec<AttributeValue>,
    failure: Option<(&str, &str, Option<&str>)>,
) -> PostId {
    let id = PostRecord::new(
        "open-1",
        PostSource::at(VideoLocation {
            bucket: "videos".into(),
            key: key.into(),
            version_id: None,
        }),
        None,
        PostState::Received,
        NOW,
    )
    .id;
    let s = |v: &str| AttributeValue::S(v.into());
    let mut item = HashMap::from([
        ("id".to_owned(), s(id.as_str())),
        ("open_id".to_owned(), s("open-1")),
        ("state".to_owned(), s(state)),
        ("bucket".to_owned(), s("videos")),
        ("key".to_owned(), s(key)),
        (
            "options".to_owned(),
            s(r#"{"title":"hi","privacy_level":"SELF_ONLY","mode":"direct_post"}"#),
        ),
        ("created_at".to_owned(), AttributeValue::N(NOW.to_string())),
        (
            "updated_at".to_owned(),
            AttributeValue::N((NOW + 99).to_string()),
        ),
        ("history".to_owned(), AttributeValue::L(history)),
    ]);
    if let Some((kind, reason, advice)) = failure {
        item.insert("failure_kind".to_owned(), s(kind));
        item.insert("failure_reason".to_owned(), s(reason));
        if let Some(advice) = advice {
            item.insert("failure_advice".to_owned(), s(advice));
        }
    }
    client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
    id
}

#[tokio::test]
async fn items_written_before_facts_are_understood_from_their_wording() {
    let (client, names) = tables().await;
    let store = DynamoPostStore::new(client.clone(), &names.posts);

    // Stuck, retried, then failed by TikTok: every note as that version wrote it.
    let stuck = "the post was stuck in UPLOADING for 47 minutes without a change (its \
                 execution ended or stalled without settling it)";
    let failed_at_tiktok = "TikTok could not publish the video: spam_risk_too_many_posts";
    let retried = put_old_item(
        &client,
        &names.posts,
        "uploads/open-1/old-retried.mp4",
        "FAILED",
        vec![
            old_entry("RECEIVED", NOW, None),
            old_entry(
                "AWAITING_OPTIONS",
                NOW + 1,
                Some("waiting for the options manifest"),
            ),
            old_entry("QUEUED", NOW + 2, Some("options arrived")),
            old_entry("UPLOADING", NOW + 3, Some("upload initialised")),
            old_entry("UPLOADING", NOW + 4, Some("sending chunks")),
            old_entry("UPLOADING", NOW + 5, Some("TikTok refused the upload URL")),
            old_entry("UPLOADING", NOW + 6, Some("upload initialised")),
            old_entry("FAILED", NOW + 7, Some(stuck)),
            old_entry("QUEUED", NOW + 8, Some("retry 1 after Internal")),
            old_entry("UPLOADING", NOW + 9, Some("upload resumed")),
            old_entry("PROCESSING", NOW + 10, Some("upload complete")),
            old_entry(
                "PROCESSING",
                NOW + 11,
                Some("TikTok webhook: post.publish.failed"),
            ),
            old_entry("FAILED", NOW + 12, Some(failed_at_tiktok)),
        ],
        Some((
            "TikTokPostFailed",
            failed_at_tiktok,
            Some("The creator reached TikTok's daily post cap; try again tomorrow"),
        )),
    )
    .await;
    let post = store.get(&retried).await.unwrap().unwrap();
    let facts: Vec<Option<Fact>> = post.history.iter().map(|h| h.fact.clone()).collect();
    assert_eq!(
        facts,
        [
            None,
            Some(Fact::OptionsAwaited),
            Some(Fact::OptionsArrived),
            Some(Fact::Initialised),
            Some(Fact::ChunksSending),
            Some(Fact::UrlRefused),
            Some(Fact::Initialised),
            Some(Fact::Failed {
                cause: Cause::Stuck {
                    state: PostState::Uploading,
                    minutes: 47
                }
            }),
            Some(Fact::Retried {
                attempt: 1,
                after: Some(ErrorKind::Internal)
            }),
            Some(Fact::UploadResumed),
            Some(Fact::UploadComplete),
            Some(Fact::WebhookEvent {
                event: "post.publish.failed".into()
            }),
            Some(Fact::Failed {
                cause: Cause::TikTokFailed {
                    fail_reason: "spam_risk_too_many_posts".into()
                }
            }),
        ]
    );
    // The notes are kept as written.
    assert_eq!(post.history[7].note.as_deref(), Some(stuck));
    let failure = post.failure.clone().unwrap();
    assert_eq!(failure.kind, ErrorKind::TikTokPostFailed);
    assert_eq!(failure.reason, failed_at_tiktok);
    assert_eq!(
        failure.cause,
        Cause::TikTokFailed {
            fail_reason: "spam_risk_too_many_posts".into()
        }
    );
    // Decisions on the old item: one retry so far, and the daily cap passes.
    assert_eq!(retries_so_far(&post), 1);
    assert_eq!(retry_verdict(&post), Ok(()));

    // Written on by this version: the old entries keep their notes, the new one its fact.
    let queued = store
        .transition(
            &retried,
            &[PostState::Failed],
            PostState::Queued,
            PostUpdate {
                fact: Some(Fact::Retried {
                    attempt: 2,
                    after: Some(failure.kind),
                }),
                clear_failure: true,
                ..PostUpdate::default()
            },
            NOW + 13,
        )
        .await
        .unwrap();
    assert_eq!(queued.failure, None);
    assert_eq!(retries_so_far(&queued), 2);
    assert_eq!(
        queued.history.last().unwrap().note.as_deref(),
        Some("retry 2 after TikTokPostFailed")
    );
    assert_eq!(queued.history[..13], post.history[..]);

    // Refused for want of a connection: a retry may fix it once the account is connected.
    let not_connected = "the TikTok account open-1 is not connected (never connected, or \
                         disconnected): connect it with `tiktok-publish connect`, then post again";
    let refused = put_old_item(
        &client,
        &names.posts,
        "uploads/open-1/old-refused.mp4",
        "REFUSED",
        vec![
            old_entry("QUEUED", NOW, None),
            old_entry("REFUSED", NOW + 1, Some(not_connected)),
        ],
        Some(("PostRefused", not_connected, None)),
    )
    .await;
    let post = store.get(&refused).await.unwrap().unwrap();
    let cause = Cause::NotConnected {
        open_id: "open-1".into(),
    };
    assert_eq!(post.failure.as_ref().map(|f| &f.cause), Some(&cause));
    assert_eq!(post.history[1].fact, Some(Fact::Failed { cause }));
    assert_eq!(retry_verdict(&post), Ok(()));

    // A publish TikTok forgot: only a person can tell whether it went live.
    let forgotten = "TikTok no longer knows the post's publish after the whole video was sent, \
                     so it may be live already";
    let advice = "Check the account's TikTok profile; if the video is not there, upload it \
                  again as a new post";
    let unknown = put_old_item(
        &client,
        &names.posts,
        "uploads/open-1/old-forgotten.mp4",
        "FAILED",
        vec![
            old_entry("QUEUED", NOW, None),
            old_entry("PROCESSING", NOW + 1, Some("TikTok has the whole video")),
            old_entry("FAILED", NOW + 2, Some(forgotten)),
        ],
        Some(("TikTokPostFailed", forgotten, Some(advice))),
    )
    .await;
    let post = store.get(&unknown).await.unwrap().unwrap();
    assert_eq!(
        post.failure.as_ref().unwrap().cause,
        Cause::PublishForgotten
    );
    assert_eq!(post.history[1].fact, Some(Fact::WholeVideoAtTikTok));
    assert_eq!(
        retry_verdict(&post).unwrap_err().code,
        "publish_outcome_unknown"
    );

    // Stopped by the platform, and refused at init for the daily cap: both pass.
    let cases = [
        (
            "old-timeout",
            "Internal",
            "the pipeline stopped on States.Timeout",
            Cause::PipelineStopped {
                error: "States.Timeout".into(),
                detail: None,
            },
        ),
        (
            "old-cap",
            "TikTokRejected",
            "TikTok refused video/init: spam_risk_too_many_posts: too many. The creator \
             reached TikTok's daily post cap for API posts; try again tomorrow",
            Cause::TikTokRefused {
                code: "spam_risk_too_many_posts".into(),
                message: "TikTok refused video/init: spam_risk_too_many_posts: too many. The \
                          creator reached TikTok's daily post cap for API posts; try again \
                          tomorrow"
                    .into(),
            },
        ),
    ];
    for (name, kind, reason, cause) in cases {
        let id = put_old_item(
            &client,
            &names.posts,
            &format!("uploads/open-1/{name}.mp4"),
            "FAILED",
            vec![
                old_entry("QUEUED", NOW, None),
                old_entry("FAILED", NOW + 1, Some(reason)),
            ],
            Some((kind, reason, None)),
        )
        .await;
        let post = store.get(&id).await.unwrap().unwrap();
        assert_eq!(post.failure.as_ref().unwrap().cause, cause, "{name}");
        assert_eq!(post.history[1].fact, Some(Fact::Failed { cause }), "{name}");
        assert_eq!(retry_verdict(&post), Ok(()), "{name}");
    }
    // Ended without a failure: cancelled, published, in the inbox.
    let ended = [
        (
            "CANCELLED",
            "cancelled by request",
            Fact::CancelledByRequest,
        ),
        (
            "CANCELLED",
            "account disconnected",
            Fact::AccountDisconnected,
        ),
        (
            "PUBLISHED",
            "published (TikTok webhook)",
            Fact::Published { via_webhook: true },
        ),
        (
            "SENT_TO_INBOX",
            "sent to the creator's inbox",
            Fact::SentToInbox { via_webhook: false },
        ),
    ];
    for (i, (state, note, fact)) in ended.into_iter().enumerate() {
        let id = put_old_item(
            &client,
            &names.posts,
            &format!("uploads/open-1/old-ended-{i}.mp4"),
            state,
            vec![
                old_entry("QUEUED", NOW, None),
                old_entry(state, NOW + 1, Some(note)),
            ],
            None,
        )
        .await;
        let post = store.get(&id).await.unwrap().unwrap();
        assert_eq!(post.history[1].fact, Some(fact), "{note}");
        assert_eq!(post.history[1].note.as_deref(), Some(note));
    }
    // Listing reads old items the same way.
    let page = store.list_by_account("open-1", 100, None).await.unwrap();
    let understood = |p: &PostRecord| {
        p.history
            .iter()
            .all(|h| h.note.is_none() == h.fact.is_none())
    };
    assert!(page.posts.iter().all(understood));
    assert_eq!(page.posts.len(), 9);
}
