//! Post items as the version before typed facts and causes wrote them (the note and reason
//! strings only, exactly as that version wrote them), read through their wording
//! (`legacy::fact_from_note`, `legacy::cause_from_reason`), decided on, and written on.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use tiktok_publish_adapters::DynamoPostStore;
use tiktok_publish_core::api::retry::{retries_so_far, retry_verdict};
use tiktok_publish_core::ends::PostEnds;
use tiktok_publish_core::errors::ErrorKind;
use tiktok_publish_core::media::VideoLocation;
use tiktok_publish_core::store::{
    Cause, Fact, PostId, PostRecord, PostSource, PostState, PostStore, PostUpdate,
};

use crate::facts::{NOW, tables};

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
    let queued = PostEnds::silent()
        .settle(
            store
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
                .unwrap(),
        )
        .await;
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

#[tokio::test]
async fn a_fact_or_cause_of_a_later_version_is_read_from_its_text() {
    let (client, names) = tables().await;
    let store = DynamoPostStore::new(client.clone(), &names.posts);
    let future = || {
        AttributeValue::M(HashMap::from([(
            "type".to_owned(),
            AttributeValue::S("something_new".into()),
        )]))
    };
    let AttributeValue::M(mut entry) = old_entry("UPLOADING", NOW + 1, Some("upload initialised"))
    else {
        unreachable!("old_entry builds a map");
    };
    entry.insert("fact".to_owned(), future());
    let reason = "TikTok could not publish the video: internal";
    let id = put_old_item(
        &client,
        &names.posts,
        "uploads/open-1/from-the-future.mp4",
        "FAILED",
        vec![old_entry("QUEUED", NOW, None), AttributeValue::M(entry)],
        Some(("TikTokPostFailed", reason, None)),
    )
    .await;
    client
        .update_item()
        .table_name(&names.posts)
        .key("id", AttributeValue::S(id.to_string()))
        .update_expression("SET failure_cause = :c")
        .expression_attribute_values(":c", future())
        .send()
        .await
        .unwrap();
    let post = store.get(&id).await.unwrap().unwrap();
    assert_eq!(post.history[1].fact, Some(Fact::Initialised));
    assert_eq!(
        post.failure.unwrap().cause,
        Cause::TikTokFailed {
            fail_reason: "internal".into()
        }
    );
}
