//! Operations against moto and the strict fake: outcome events read back from an SQS queue
//! subscribed to an EventBridge bus, the orphan sweep, stuck posts, reconnect warnings, and
//! retries that publish once or are refused.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName;
use fake_tiktok::AccountSeed;
use serde_json::Value;
use test_support::{moto, unique_name};
use tiktok_publish_adapters::{EventBridgeEvents, S3UploadListing};
use tiktok_publish_core::api::PostsApi;
use tiktok_publish_core::api::view::rfc3339;
use tiktok_publish_core::ends::PostEnds;
use tiktok_publish_core::errors::ErrorKind;
use tiktok_publish_core::events::{DetailType, EVENT_SOURCE, OutcomeEvent, OutcomeEvents};
use tiktok_publish_core::intake::manifest_key;
use tiktok_publish_core::pipeline::PipelineSettings;
use tiktok_publish_core::reconnect::ReconnectCheck;
use tiktok_publish_core::store::{
    Cause, PostFailure, PostId, PostRecord, PostState, PostStore, PostUpdate, TokenStore, unix_now,
};
use tiktok_publish_core::sweep::{STUCK_REASON_PREFIX, Sweep, SweepSettings};
use tiktok_publish_core::trigger::TriggerOutcome;
use tiktok_publish_memory::MemoryEvents;
use tiktok_publish_testkit::{PassMachine, TestStack, video};

const OPTIONS: &str = r#"{"privacy_level":"SELF_ONLY","title":"swept"}"#;

/// A bus with a rule sending this system's events to a fresh queue, as an operator
/// would subscribe.
struct Subscribed {
    events: EventBridgeEvents,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
}

async fn subscribed_queue() -> Subscribed {
    let sdk = moto().sdk_config().await;
    let eventbridge = aws_sdk_eventbridge::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let bus = unique_name("outcomes");
    eventbridge
        .create_event_bus()
        .name(&bus)
        .send()
        .await
        .expect("CreateEventBus on moto");
    let queue_url = sqs
        .create_queue()
        .queue_name(unique_name("outcomes"))
        .send()
        .await
        .expect("CreateQueue on moto")
        .queue_url()
        .expect("a queue URL")
        .to_owned();
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("GetQueueAttributes on moto")
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .expect("the queue's ARN");
    let rule = unique_name("outcomes");
    eventbridge
        .put_rule()
        .name(&rule)
        .event_bus_name(&bus)
        .event_pattern(serde_json::json!({ "source": [EVENT_SOURCE] }).to_string())
        .send()
        .await
        .expect("PutRule on moto");
    eventbridge
        .put_targets()
        .rule(&rule)
        .event_bus_name(&bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(queue_arn)
                .build()
                .expect("a target"),
        )
        .send()
        .await
        .expect("PutTargets on moto");
    Subscribed {
        events: EventBridgeEvents::new(eventbridge, bus),
        sqs,
        queue_url,
    }
}

impl Subscribed {
    /// Every event delivered so far (EventBridge's envelope, parsed).
    async fn received(&self, expected: usize) -> Vec<Value> {
        let mut received = Vec::new();
        for _ in 0..20 {
            let answer = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .expect("ReceiveMessage on moto");
            for message in answer.messages() {
                let body = message.body().expect("a message body");
                received.push(serde_json::from_str(body).expect("an EventBridge event"));
            }
            if received.len() >= expected {
                break;
            }
        }
        received
    }
}

fn post_in(state: PostState, stack: &TestStack, key: &str) -> PostRecord {
    let mut post = PostRecord::new(
        "open-events",
        tiktok_publish_core::store::PostSource::at(stack.location(key)),
        None,
        state,
        unix_now(),
    );
    post.publish_id = Some("p-1".into());
    post
}

#[tokio::test]
async fn each_outcome_reaches_a_queue_subscribed_to_the_bus_without_secrets() {
    let stack = TestStack::start("events").await;
    let subscribed = subscribed_queue().await;
    let mut failed = post_in(PostState::Failed, &stack, "uploads/o/f.mp4");
    failed.failure = Some(PostFailure::new(
        Cause::TikTokFailed {
            fail_reason: "file_format_check_failed".into(),
        },
        Some("TikTok takes MP4".into()),
    ));
    let mut published = post_in(PostState::Published, &stack, "uploads/o/p.mp4");
    published.outcome = Some(tiktok_publish_core::store::PostOutcome {
        public_post_ids: vec!["7311".into()],
    });
    let cancelled = post_in(PostState::Cancelled, &stack, "uploads/o/c.mp4");
    let open_id = stack.connect_account(AccountSeed::default()).await;
    let account = stack
        .accounts
        .list()
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.open_id == open_id)
        .unwrap();
    let mut events: Vec<OutcomeEvent> = [&published, &failed, &cancelled]
        .into_iter()
        .map(|post| OutcomeEvent::post_ended(post, Some(false)).unwrap())
        .collect();
    events.push(OutcomeEvent::account_needs_reconnect(&account, 400 * 86_400, unix_now()).unwrap());

    subscribed.events.publish(&events).await.unwrap();
    let received = subscribed.received(4).await;
    let mut types: Vec<&str> = received
        .iter()
        .map(|e| e["detail-type"].as_str().unwrap())
        .collect();
    types.sort_unstable();
    assert_eq!(
        types,
        [
            "AccountNeedsReconnect",
            "PostCancelled",
            "PostFailed",
            "PostPublished"
        ]
    );
    for event in &received {
        assert_eq!(event["source"], EVENT_SOURCE);
        assert_eq!(event["detail"]["schema_version"], 1);
        let text = event.to_string();
        for secret in stack.fake.secrets_issued() {
            assert!(!text.contains(&secret), "a secret in {text}");
        }
    }
    let failed_event = received
        .iter()
        .find(|e| e["detail-type"] == DetailType::PostFailed.as_str())
        .unwrap();
    assert_eq!(failed_event["detail"]["post_id"], failed.id.as_str());
    assert_eq!(failed_event["detail"]["error_kind"], "TikTokPostFailed");
    assert_eq!(failed_event["detail"]["advice"], "TikTok takes MP4");
    let published_event = received
        .iter()
        .find(|e| e["detail-type"] == "PostPublished")
        .unwrap();
    assert_eq!(published_event["detail"]["tiktok_post_ids"][0], "7311");
}

/// A sweep over this stack's bucket and tables, wired as deployed: its posts store sends
/// the outcome events (kept in memory here).
async fn sweep(
    stack: &TestStack,
    machine: &PassMachine,
    settings: SweepSettings,
) -> (Sweep, Arc<MemoryEvents>) {
    let events = Arc::new(MemoryEvents::new());
    let mut intake = stack.intake(machine).await;
    intake.ends = PostEnds::new(events.clone());
    let sweep = Sweep {
        intake,
        accounts: stack.accounts.clone(),
        listing: Arc::new(S3UploadListing::new(stack.s3.clone())),
        settings,
    };
    (sweep, events)
}

#[tokio::test]
async fn a_video_whose_event_was_lost_is_swept_and_published_once() {
    let stack = TestStack::start("sweep").await;
    let machine = PassMachine::create().await;
    let open_id = stack.connect_account(AccountSeed::default()).await;
    let key = format!("uploads/{open_id}/lost.mp4");
    stack.put(&key, video::tiny_mp4()).await;
    stack
        .put(&manifest_key(&key), OPTIONS.as_bytes().to_vec())
        .await;
    // A video without an account folder: the trigger ignores it, so does the sweep.
    stack.put("uploads/stray.mp4", video::tiny_mp4()).await;

    let now = unix_now();
    let young = SweepSettings {
        orphan_after_secs: 600,
        ..SweepSettings::new(&stack.bucket)
    };
    let (early, _) = sweep(&stack, &machine, young).await;
    let report = early.run(now).await.unwrap();
    assert!(
        report.orphans.is_empty(),
        "too young to be lost: {report:?}"
    );

    let settings = SweepSettings::new(&stack.bucket);
    let (sweep, _) = sweep(&stack, &machine, settings).await;
    // Half an hour later the event has not come: the video is an orphan.
    let later = now + 31 * 60;
    let report = sweep.run(later).await.unwrap();
    assert_eq!(report.objects_listed, 3);
    assert_eq!(report.videos_checked, 1, "{report:?}");
    let [found] = report.orphans.as_slice() else {
        panic!("one orphan: {report:?}");
    };
    let TriggerOutcome::Claimed {
        post_id,
        state,
        created: true,
    } = &found.outcome
    else {
        panic!("claimed: {:?}", found.outcome);
    };
    assert_eq!(*state, PostState::Queued);
    assert_eq!(
        machine.execution_names().await,
        std::slice::from_ref(post_id)
    );

    // The execution the claim started runs the post to the end, once.
    let id = PostId::parse(post_id).unwrap();
    run_post(&stack, &id).await;
    assert_eq!(stack.fake.publishes_for(&open_id).len(), 1);
    let again = sweep.run(later + 60).await.unwrap();
    assert!(
        again.orphans.is_empty() && again.stuck.is_empty(),
        "{again:?}"
    );
    assert_eq!(machine.execution_names().await.len(), 1);
}

#[tokio::test]
async fn a_post_stuck_past_its_deadline_is_failed_with_a_reason_and_an_event() {
    let stack = TestStack::start("stuck").await;
    let machine = PassMachine::create().await;
    let open_id = stack.connect_account(AccountSeed::default()).await;
    let stuck = stack
        .queued_post(&open_id, &format!("uploads/{open_id}/stuck.mp4"), OPTIONS)
        .await;
    // Scheduled 200 days ahead: waiting, not stuck.
    let later = serde_json::json!({
        "privacy_level": "SELF_ONLY",
        "publish_at": rfc3339(unix_now() + 200 * 86_400),
    })
    .to_string();
    let scheduled = stack
        .queued_post(&open_id, &format!("uploads/{open_id}/later.mp4"), &later)
        .await;
    let settings = SweepSettings::new(&stack.bucket);
    let deadline = stuck.updated_at + settings.stuck_after_secs;
    let (sweep, events) = sweep(&stack, &machine, settings).await;

    let report = sweep.run(deadline - 60).await.unwrap();
    assert!(report.stuck.is_empty(), "not stuck yet: {report:?}");
    let report = sweep.run(deadline + 60).await.unwrap();
    assert_eq!(report.posts_checked, 2);
    let [failed] = report.stuck.as_slice() else {
        panic!("one stuck post: {report:?}");
    };
    assert_eq!(
        (failed.post_id.as_str(), failed.was),
        (stuck.id.as_str(), PostState::Queued)
    );

    let post = stack.posts.get(&stuck.id).await.unwrap().unwrap();
    assert_eq!(post.state, PostState::Failed);
    let failure = post.failure.unwrap();
    assert!(
        failure.reason.starts_with(STUCK_REASON_PREFIX),
        "{}",
        failure.reason
    );
    assert!(failure.advice.unwrap().contains("retry"));
    let waiting = stack.posts.get(&scheduled.id).await.unwrap().unwrap();
    assert_eq!(
        waiting.state,
        PostState::Queued,
        "waiting for publish_at is not stuck"
    );

    let sent = events.sent();
    let [
        OutcomeEvent::Post {
            detail_type,
            detail,
        },
    ] = sent.as_slice()
    else {
        panic!("one event: {:?}", events.sent());
    };
    assert_eq!(*detail_type, DetailType::PostFailed);
    assert_eq!(detail.post_id, stuck.id.as_str());
    assert_eq!(detail.retryable, Some(true));
}

#[tokio::test]
async fn an_account_whose_refresh_token_nears_expiry_is_warned() {
    let stack = TestStack::start("warn").await;
    let open_id = stack.connect_account(AccountSeed::default()).await;
    let events = Arc::new(MemoryEvents::new());
    let check = ReconnectCheck {
        accounts: stack.accounts.clone(),
        warnings: stack.accounts.clone(),
        events: events.clone(),
        warn_days: 14,
    };
    assert!(check.run(unix_now()).await.unwrap().warned.is_empty());
    // 355 days on, the 365-day refresh token has ten left.
    let report = check.run(unix_now() + 355 * 86_400).await.unwrap();
    assert_eq!(report.warned, [open_id]);
    let sent = events.sent();
    let [OutcomeEvent::Reconnect(warning)] = sent.as_slice() else {
        panic!("one warning: {:?}", events.sent());
    };
    assert!(matches!(warning.days_left, Some(9 | 10)), "{warning:?}");
    assert!(warning.advice.contains("connect"));
}

/// The posts API over this stack, retries started on `machine`.
async fn api(stack: &TestStack, machine: &PassMachine) -> PostsApi {
    stack.posts_api(stack.intake(machine).await)
}

async fn fail(stack: &TestStack, id: &PostId, cause: Cause) {
    PostEnds::silent()
        .settle(
            stack
                .posts
                .transition(
                    id,
                    &[PostState::Queued],
                    PostState::Failed,
                    PostUpdate::failed(PostFailure::new(cause, None)),
                    unix_now(),
                )
                .await
                .unwrap(),
        )
        .await;
}

/// Runs the Init, Upload and Status tasks as the state machine does, to a final state.
async fn run_post(stack: &TestStack, id: &PostId) {
    let pipeline = stack.pipeline(PipelineSettings::default());
    let ready = pipeline.init_upload(id.as_str()).await.expect("init");
    assert!(ready.ready, "{ready:?}");
    for _ in 0..40 {
        let upload = pipeline
            .upload_chunks(id.as_str(), None)
            .await
            .expect("upload");
        if upload.done {
            break;
        }
    }
    for _ in 0..40 {
        let status = pipeline.check_status(id.as_str()).await.expect("status");
        if status.is_final {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("post {id} did not reach a final state");
}

#[tokio::test]
async fn a_retried_post_publishes_once_and_a_hopeless_one_is_refused() {
    let stack = TestStack::start("retry").await;
    let machine = PassMachine::create().await;
    let api = api(&stack, &machine).await;
    let open_id = stack.connect_account(AccountSeed::default()).await;
    let key = format!("uploads/{open_id}/retry.mp4");
    stack.put(&key, video::tiny_mp4()).await;
    let post = stack.queued_post(&open_id, &key, OPTIONS).await;
    fail(
        &stack,
        &post.id,
        Cause::Error {
            kind: ErrorKind::TikTokUnavailable,
            message: "TikTok answered 503 five times".into(),
        },
    )
    .await;

    let answer = api.retry_post(post.id.as_str()).await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    assert_eq!(answer.body["state"], "QUEUED");
    let answer = api.retry_post(post.id.as_str()).await;
    assert_eq!(
        answer.status, 200,
        "a repeat starts the same attempt: {}",
        answer.body
    );
    assert_eq!(
        machine.execution_names().await,
        [format!("{}-retry1", post.id)]
    );
    run_post(&stack, &post.id).await;
    let published = stack.posts.get(&post.id).await.unwrap().unwrap();
    assert_eq!(published.state, PostState::Published);
    assert_eq!(stack.fake.publishes_for(&open_id).len(), 1);
    let states: Vec<PostState> = published.history.iter().map(|h| h.state).collect();
    assert_eq!(
        &states[..3],
        [PostState::Queued, PostState::Failed, PostState::Queued]
    );
    let answer = api.retry_post(post.id.as_str()).await;
    assert_eq!(answer.status, 409, "{}", answer.body);
    assert_eq!(answer.body["error"]["state"], "PUBLISHED");

    let spam_key = format!("uploads/{open_id}/spam.mp4");
    let hopeless = stack.queued_post(&open_id, &spam_key, OPTIONS).await;
    fail(
        &stack,
        &hopeless.id,
        Cause::TikTokFailed {
            fail_reason: "spam_risk_text".into(),
        },
    )
    .await;
    let answer = api.retry_post(hopeless.id.as_str()).await;
    assert_eq!(answer.status, 409, "{}", answer.body);
    assert_eq!(answer.body["error"]["code"], "tiktok_refused_the_video");
    assert!(
        answer.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("spam_risk_text")
    );
    let refused = stack.posts.get(&hopeless.id).await.unwrap().unwrap();
    assert_eq!(refused.state, PostState::Failed);

    // Waiting for a reconnection: refused until the account can post again.
    let reconnect_key = format!("uploads/{open_id}/reconnect.mp4");
    stack.put(&reconnect_key, video::tiny_mp4()).await;
    let waiting = stack.queued_post(&open_id, &reconnect_key, OPTIONS).await;
    fail(
        &stack,
        &waiting.id,
        Cause::Error {
            kind: ErrorKind::AccountNeedsReconnect,
            message: "refresh refused".into(),
        },
    )
    .await;
    stack
        .accounts
        .mark_needs_reconnect(&open_id, "refresh refused: invalid_grant", None, unix_now())
        .await
        .unwrap();
    let answer = api.retry_post(waiting.id.as_str()).await;
    assert_eq!(answer.status, 409, "{}", answer.body);
    assert_eq!(answer.body["error"]["code"], "account_needs_reconnect");
    assert_eq!(
        machine.execution_names().await.len(),
        1,
        "nothing else started"
    );
}
