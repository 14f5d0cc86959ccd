//! The handler over whole event payloads (as AWS documents them, as moto sends them),
//! against moto's S3, DynamoDB and Step Functions control plane.

use std::sync::Arc;

use lambda_runtime::{Context, Diagnostic};
use serde_json::{Value, json};
use test_support::moto;
use tiktok_publish_adapters::S3VideoSource;
use tiktok_publish_core::errors::ErrorKind;
use tiktok_publish_core::intake::{Intake, IntakeError};
use tiktok_publish_core::store::{PostId, PostState, PostStore, StoreError};
use tiktok_publish_core::trigger::{
    DEFAULT_UPLOAD_PREFIX, EventError, KeyEncoding, TriggerSettings,
};
use tiktok_publish_testkit::{PassMachine, StackSettings, TestStack};

use super::event::fixtures::{aws_documented, moto_shaped};
use super::*;

const OPEN_ID: &str = "open-trigger";
const OPTIONS: &str = r#"{"privacy_level":"SELF_ONLY","title":"hello"}"#;

struct Rig {
    trigger: Trigger,
    stack: TestStack,
    machine: PassMachine,
}

async fn rig(versioned: bool, key_encoding: KeyEncoding) -> Rig {
    let settings = StackSettings {
        versioned,
        ..StackSettings::default()
    };
    let stack = TestStack::start_with("trigger", settings).await;
    let machine = PassMachine::create().await;
    let trigger = Trigger {
        intake: stack.intake(&machine).await,
        settings: TriggerSettings {
            prefix: DEFAULT_UPLOAD_PREFIX.to_owned(),
            bucket: Some(stack.bucket.clone()),
            key_encoding,
        },
    };
    Rig {
        trigger,
        stack,
        machine,
    }
}

impl Rig {
    async fn invoke(&self, payload: Value) -> Result<TriggerOutcome, TriggerError> {
        handler(
            &self.trigger,
            LambdaEvent {
                payload,
                context: Context::default(),
            },
        )
        .await
    }

    async fn account_posts(&self) -> usize {
        self.stack
            .posts
            .list_by_account(OPEN_ID, 10, None)
            .await
            .unwrap()
            .posts
            .len()
    }
}

fn claimed(outcome: &TriggerOutcome) -> (PostId, PostState, bool) {
    match outcome {
        TriggerOutcome::Claimed {
            post_id,
            state,
            created,
        } => (PostId::parse(post_id).unwrap(), *state, *created),
        other => panic!("expected a claim, got {other:?}"),
    }
}

#[tokio::test]
async fn the_documented_aws_event_claims_an_encoded_key_once() {
    let rig = rig(true, KeyEncoding::Url).await;
    let key = format!("uploads/{OPEN_ID}/my clip (1).mp4");
    let version = rig.stack.put(&key, "video").await.unwrap();
    rig.stack.put(&format!("{key}.json"), OPTIONS).await;
    // How S3 writes that key into an event: form URL-encoded.
    let encoded = format!("uploads/{OPEN_ID}/my+clip+%281%29.mp4");
    let payload = aws_documented(&rig.stack.bucket, &encoded, &version);

    let (id, state, created) = claimed(&rig.invoke(payload.clone()).await.unwrap());
    assert_eq!((state, created), (PostState::Queued, true));
    let post = rig.stack.posts.get(&id).await.unwrap().unwrap();
    assert_eq!(post.source.location.key, key);
    assert_eq!(post.source.location.version_id, Some(version));
    assert_eq!(post.options.unwrap().title, "hello");

    // EventBridge delivers at least once: the same event again changes nothing.
    let (again, state, created) = claimed(&rig.invoke(payload).await.unwrap());
    assert_eq!(
        (again.clone(), state, created),
        (id.clone(), PostState::Queued, false)
    );
    assert_eq!(rig.machine.execution_names().await, [id.to_string()]);
    assert_eq!(rig.account_posts().await, 1);
}

#[tokio::test]
async fn a_moto_event_claims_a_raw_key_in_an_unversioned_bucket() {
    let rig = rig(false, KeyEncoding::Raw).await;
    let key = format!("uploads/{OPEN_ID}/c++ 100%.mp4");
    assert_eq!(rig.stack.put(&key, "video").await, None);
    rig.stack.put(&format!("{key}.json"), OPTIONS).await;

    let outcome = rig
        .invoke(moto_shaped(&rig.stack.bucket, &key, None))
        .await
        .unwrap();
    let (id, state, created) = claimed(&outcome);
    assert_eq!((state, created), (PostState::Queued, true));
    let post = rig.stack.posts.get(&id).await.unwrap().unwrap();
    assert_eq!(post.source.location.key, key);
    assert_eq!(post.source.location.version_id, None);
    assert_eq!(rig.machine.execution_names().await, [id.to_string()]);
}

#[tokio::test]
async fn malformed_events_fail_as_internal_and_change_nothing() {
    let rig = rig(true, KeyEncoding::Url).await;
    let key = format!("uploads/{OPEN_ID}/clip.mp4");
    let version = rig.stack.put(&key, "video").await.unwrap();
    rig.stack.put(&format!("{key}.json"), OPTIONS).await;
    let good = aws_documented(&rig.stack.bucket, &key, &version);

    let mut no_detail = good.clone();
    no_detail.as_object_mut().unwrap().remove("detail");
    let mut deleted = good.clone();
    deleted["detail-type"] = json!("Object Deleted");
    let mut not_s3 = good.clone();
    not_s3["source"] = json!("custom.uploads");
    let mut no_bucket = good.clone();
    no_bucket["detail"]
        .as_object_mut()
        .unwrap()
        .remove("bucket");
    let mut bad_escape = good.clone();
    bad_escape["detail"]["object"]["key"] = json!(format!("uploads/{OPEN_ID}/100%.mp4"));
    let sqs_batch = json!({"Records": [{"body": good.to_string()}]});
    let cases = [
        (no_detail, "missing field `detail`"),
        (deleted, "\"Object Deleted\""),
        (not_s3, "\"custom.uploads\""),
        (no_bucket, "missing field `bucket`"),
        (bad_escape, "two hex digits"),
        (sqs_batch, "missing field"),
        (json!(null), "invalid type"),
    ];
    for (payload, says) in cases {
        let err = rig.invoke(payload.clone()).await.unwrap_err();
        let diagnostic = Diagnostic::from(err);
        assert_eq!(diagnostic.error_type, "Internal", "{payload}");
        assert!(
            diagnostic.error_message.contains(says)
                && diagnostic.error_message.contains("nothing was changed"),
            "{payload}: {}",
            diagnostic.error_message
        );
    }
    assert_eq!(rig.account_posts().await, 0);
    assert!(rig.machine.execution_names().await.is_empty());
}

#[tokio::test]
async fn events_of_other_buckets_and_prefixes_are_ignored() {
    let rig = rig(false, KeyEncoding::Url).await;
    let key = format!("uploads/{OPEN_ID}/clip.mp4");
    rig.stack.put(&key, "video").await;
    let other_bucket = rig
        .invoke(aws_documented("someone-elses", &key, "null"))
        .await;
    assert!(
        matches!(other_bucket, Ok(TriggerOutcome::Ignored { .. })),
        "{other_bucket:?}"
    );
    rig.stack.put("elsewhere/clip.mp4", "video").await;
    let outside = rig
        .invoke(aws_documented(
            &rig.stack.bucket,
            "elsewhere/clip.mp4",
            "null",
        ))
        .await;
    assert!(
        matches!(outside, Ok(TriggerOutcome::Ignored { .. })),
        "{outside:?}"
    );
    assert_eq!(rig.account_posts().await, 0);
    assert!(rig.machine.execution_names().await.is_empty());
}

#[tokio::test]
async fn an_unreachable_s3_fails_as_retryable() {
    let rig = rig(false, KeyEncoding::Url).await;
    let unreachable = aws_sdk_s3::config::Builder::from(&moto().sdk_config().await)
        .endpoint_url("http://127.0.0.1:1")
        .force_path_style(true)
        .build();
    let trigger = Trigger {
        intake: Intake {
            source: Arc::new(S3VideoSource::new(aws_sdk_s3::Client::from_conf(
                unreachable,
            ))),
            ..rig.trigger.intake.clone()
        },
        settings: TriggerSettings {
            bucket: None,
            ..rig.trigger.settings.clone()
        },
    };
    let payload = aws_documented(
        &rig.stack.bucket,
        &format!("uploads/{OPEN_ID}/clip.mp4"),
        "v1",
    );
    let err = handler(
        &trigger,
        LambdaEvent {
            payload,
            context: Context::default(),
        },
    )
    .await
    .unwrap_err();
    assert_eq!(Diagnostic::from(err).error_type, "AwsUnavailable");
}

#[test]
fn each_error_carries_its_stable_name() {
    let malformed = TriggerError::from(EventError::Shape {
        path: "detail".into(),
        reason: "missing".into(),
    });
    let executions = |retryable| {
        TriggerError::from(IntakeError::Executions {
            detail: "StartExecution failed".into(),
            retryable,
        })
    };
    let store = TriggerError::from(IntakeError::Store(StoreError::Unavailable {
        operation: "PutItem",
        detail: "throttled".into(),
        source: None,
    }));
    for (error, name) in [
        (malformed, "Internal"),
        (executions(true), "AwsUnavailable"),
        (executions(false), "Internal"),
        (store, "AwsUnavailable"),
    ] {
        let message = error.to_string();
        let diagnostic = Diagnostic::from(error);
        assert_eq!(diagnostic.error_type, name);
        assert_eq!(ErrorKind::from_name(name).map(ErrorKind::name), Some(name));
        assert_eq!(diagnostic.error_message, message);
    }
}
