//! Outcome events: every end of a post, and every account marked for reconnection, sends
//! exactly one event, whichever path ends it (pipeline steps, `record_failure`, intake,
//! the S3 trigger, the posts API), on the real DynamoDB stores (moto) and the fake TikTok.

use std::sync::Arc;
use std::time::Duration;

use fake_tiktok::{AccountSeed, Endpoint as FakeEndpoint, FakeSettings, Fault};
use tiktok_publish_core::api::PostsApi;
use tiktok_publish_core::api::retry::retry_verdict;
use tiktok_publish_core::connect::ConnectSettings;
use tiktok_publish_core::ends::PostEnds;
use tiktok_publish_core::errors::ErrorKind;
use tiktok_publish_core::events::{DetailType, OutcomeEvent, PostEventDetail, ReconnectWhy};
use tiktok_publish_core::intake::Intake;
use tiktok_publish_core::pipeline::options::{OptionsError, parse_options_json};
use tiktok_publish_core::pipeline::{
    FailureInput, Pipeline, PipelineSettings, StateMachineError, StepError,
};
use tiktok_publish_core::store::{PostId, PostRecord, PostSource, PostState, PostStore, unix_now};
use tiktok_publish_core::tokens::{TokenService, TokenSettings};
use tiktok_publish_core::trigger::{DEFAULT_UPLOAD_PREFIX, handle_object_created};
use tiktok_publish_memory::MemoryEvents;
use tiktok_publish_testkit::video::tiny_mp4;
use tiktok_publish_testkit::{PassMachine, StackSettings, TestStack};

/// A stack whose posts' ends and marked accounts send their events to `events`.
struct Rig {
    stack: TestStack,
    events: Arc<MemoryEvents>,
    posts: Arc<dyn PostStore>,
    pipeline: Pipeline,
}

async fn rig(settings: PipelineSettings) -> Rig {
    let fake = FakeSettings {
        processing_time: Duration::from_millis(200),
        ..FakeSettings::default()
    };
    let stack = TestStack::start_with(
        "outcomes",
        StackSettings {
            fake,
            ..StackSettings::default()
        },
    )
    .await;
    let events = Arc::new(MemoryEvents::new());
    let posts: Arc<dyn PostStore> = stack.posts.clone();
    let mut pipeline = stack.pipeline(settings);
    pipeline.ends = PostEnds::new(events.clone());
    pipeline.tokens = eventing_tokens(&stack, &events);
    Rig {
        stack,
        events,
        posts,
        pipeline,
    }
}

fn eventing_tokens(stack: &TestStack, events: &Arc<MemoryEvents>) -> TokenService {
    TokenService::new(
        stack.accounts.clone(),
        Arc::new(stack.tiktok.clone()),
        TokenSettings::default(),
    )
    .with_events(events.clone())
}

impl Rig {
    /// The tiny MP4 at `key`, a queued post with `options_json`.
    async fn queued(&self, open_id: &str, key: &str, options_json: &str) -> PostId {
        self.stack.put(key, tiny_mp4()).await;
        self.stack.queued_post(open_id, key, options_json).await.id
    }

    async fn record(&self, id: &PostId) -> PostRecord {
        self.stack.posts.get(id).await.unwrap().unwrap()
    }

    /// The post events sent so far about `id`.
    fn post_events(&self, id: &PostId) -> Vec<(DetailType, PostEventDetail)> {
        self.events
            .sent()
            .into_iter()
            .filter_map(|event| match event {
                OutcomeEvent::Post {
                    detail_type,
                    detail,
                } if detail.post_id == id.as_str() => Some((detail_type, detail)),
                _ => None,
            })
            .collect()
    }

    /// The one event about `id`, which must be of `detail_type`.
    fn only_event(&self, id: &PostId, detail_type: DetailType) -> PostEventDetail {
        let events = self.post_events(id);
        assert_eq!(events.len(), 1, "one event for post {id}: {events:?}");
        let (sent_type, detail) = events.into_iter().next().unwrap();
        assert_eq!(sent_type, detail_type, "{detail:?}");
        detail
    }

    /// No event sent carries anything the fake issued as a secret (tokens, codes, upload URLs).
    fn assert_no_secret_in_events(&self) {
        let secrets = self.stack.fake.secrets_issued();
        assert!(
            !secrets.is_empty(),
            "the fake issued tokens in every test here"
        );
        for event in self.events.sent() {
            let detail = event.detail_json().unwrap();
            for secret in &secrets {
                assert!(!detail.contains(secret.as_str()), "a secret in {detail}");
            }
        }
    }

    /// Runs the post's steps the way the state machine does, until final or a step fails.
    async fn drive(&self, id: &PostId) -> Result<(), StepError> {
        let post_id = id.as_str();
        for _ in 0..20 {
            let init = self.pipeline.init_upload(post_id).await?;
            if init.ready {
                break;
            }
            assert!(init.wait_seconds <= 2, "a long wait: {init:?}");
            tokio::time::sleep(Duration::from_secs(init.wait_seconds)).await;
        }
        let mut upload = true;
        for _ in 0..60 {
            if upload {
                self.pipeline.upload_chunks(post_id, None).await?;
            }
            let status = self.pipeline.check_status(post_id).await?;
            if status.is_final {
                return Ok(());
            }
            upload = !status.uploaded;
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!("post {id} did not end");
    }
}

#[tokio::test]
async fn a_published_post_and_a_draft_each_send_one_post_published() {
    let rig = rig(PipelineSettings::default()).await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let direct = rig
        .queued(
            &open_id,
            "uploads/a.mp4",
            r#"{"privacy_level":"SELF_ONLY"}"#,
        )
        .await;
    let draft = rig
        .queued(&open_id, "uploads/b.mp4", r#"{"mode":"draft"}"#)
        .await;

    rig.drive(&direct).await.unwrap();
    rig.drive(&draft).await.unwrap();
    // A status fetch on a post already final (a retried task) sends nothing more.
    rig.pipeline.check_status(direct.as_str()).await.unwrap();

    let published = rig.only_event(&direct, DetailType::PostPublished);
    assert_eq!(published.state, PostState::Published);
    assert_eq!(published.account, open_id);
    let record = rig.record(&direct).await;
    assert_eq!(published.publish_id, record.publish_id);
    assert_eq!(published.key, "uploads/a.mp4");
    assert_eq!(published.error_kind, None);
    assert_eq!(published.retryable, None);

    let inbox = rig.only_event(&draft, DetailType::PostPublished);
    assert_eq!(inbox.state, PostState::SentToInbox);
    assert_eq!(rig.events.sent().len(), 2);
    rig.assert_no_secret_in_events();
}

#[tokio::test]
async fn a_post_tiktok_fails_sends_one_post_failed_with_reason_and_retry_verdict() {
    let rig = rig(PipelineSettings::default()).await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let id = rig
        .queued(
            &open_id,
            "uploads/spam.mp4",
            r#"{"privacy_level":"SELF_ONLY"}"#,
        )
        .await;
    rig.stack.fake.inject(Fault::FailPost {
        open_id: open_id.clone(),
        fail_reason: "spam_risk_too_many_posts".into(),
    });

    let error = rig.drive(&id).await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::TikTokPostFailed);
    // The state machine's Catch then runs record_failure: the post is final already.
    rig.pipeline
        .record_failure(&FailureInput {
            post_id: id.to_string(),
            error: StateMachineError {
                error: error.kind.name().to_owned(),
                cause: error.message.clone(),
            },
        })
        .await
        .unwrap();

    let failed = rig.only_event(&id, DetailType::PostFailed);
    assert_eq!(failed.state, PostState::Failed);
    assert_eq!(failed.error_kind.as_deref(), Some("TikTokPostFailed"));
    let reason = failed.reason.as_deref().unwrap();
    assert!(reason.contains("spam_risk_too_many_posts"), "{reason}");
    assert!(failed.advice.as_deref().unwrap().contains("daily post cap"));
    let record = rig.record(&id).await;
    assert_eq!(failed.retryable, Some(retry_verdict(&record).is_ok()));
    rig.assert_no_secret_in_events();
}

#[tokio::test]
async fn record_failure_racing_itself_sends_one_post_failed() {
    let rig = rig(PipelineSettings::default()).await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let id = rig
        .queued(
            &open_id,
            "uploads/crash.mp4",
            r#"{"privacy_level":"SELF_ONLY"}"#,
        )
        .await;
    let input = FailureInput {
        post_id: id.to_string(),
        error: StateMachineError {
            error: "States.Timeout".into(),
            cause: "the task timed out".into(),
        },
    };
    let racers = (0..5).map(|_| rig.pipeline.record_failure(&input));
    for result in futures::future::join_all(racers).await {
        result.unwrap();
    }

    let failed = rig.only_event(&id, DetailType::PostFailed);
    assert_eq!(failed.state, PostState::Failed);
    assert!(failed.reason.unwrap().contains("States.Timeout"));
    // A crash or time-out is worth a retry: the event says so.
    assert_eq!(failed.retryable, Some(true));
}

#[tokio::test]
async fn options_that_never_arrive_send_one_post_failed_refused() {
    let rig = rig(PipelineSettings {
        options_wait: Duration::ZERO,
        ..PipelineSettings::default()
    })
    .await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    rig.stack.put("uploads/bare.mp4", tiny_mp4()).await;
    let post = PostRecord::new(
        &open_id,
        PostSource::at(rig.stack.location("uploads/bare.mp4")),
        None,
        PostState::Received,
        unix_now() - 5,
    );
    rig.posts.create(&post).await.unwrap();
    assert!(rig.events.sent().is_empty(), "a live post sends nothing");

    let error = rig.drive(&post.id).await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::PostRefused);
    let refused = rig.only_event(&post.id, DetailType::PostFailed);
    assert_eq!(refused.state, PostState::Refused);
    assert!(refused.reason.unwrap().contains("options never arrived"));
    assert!(refused.advice.unwrap().contains("manifest"));
    assert!(refused.retryable.is_some());
}

#[tokio::test]
async fn intake_and_trigger_refusals_send_one_post_failed_each() {
    let rig = rig(PipelineSettings::default()).await;
    let machine = PassMachine::create().await;
    let mut intake: Intake = rig.stack.intake(&machine).await;
    intake.ends = rig.pipeline.ends.clone();
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;

    // Invalid options given with the video (POST /posts, or manifest first): refused at once.
    rig.stack.put("uploads/bad.mp4", tiny_mp4()).await;
    let invalid = parse_options_json(br#"{"privacy_level":"NOBODY"}"#, unix_now())
        .map(Some)
        .unwrap_err();
    let location = rig.stack.location("uploads/bad.mp4");
    let claim = intake
        .claim(&open_id, &location, Err(invalid.clone()))
        .await
        .unwrap();
    assert_eq!(claim.post.state, PostState::Refused);
    // The same event again finds the post: no second event.
    intake
        .claim(&open_id, &location, Err::<Option<_>, OptionsError>(invalid))
        .await
        .unwrap();
    let refused = rig.only_event(&claim.post.id, DetailType::PostFailed);
    assert_eq!(refused.state, PostState::Refused);
    assert!(
        refused.reason.unwrap().contains("privacy_level"),
        "the field at fault"
    );

    // The video first (the post waits), then a malformed manifest: the trigger refuses it.
    let key = format!("uploads/{open_id}/late.mp4");
    rig.stack.put(&key, tiny_mp4()).await;
    let bucket = rig.stack.bucket.clone();
    handle_object_created(&intake, DEFAULT_UPLOAD_PREFIX, &bucket, &key, None)
        .await
        .unwrap();
    let waiting = rig.events.sent().len();
    let manifest = format!("{key}.json");
    rig.stack.put(&manifest, br#"{"title": 3}"#.to_vec()).await;
    handle_object_created(&intake, DEFAULT_UPLOAD_PREFIX, &bucket, &manifest, None)
        .await
        .unwrap();
    assert_eq!(rig.events.sent().len(), waiting + 1);
    let Some(OutcomeEvent::Post {
        detail_type,
        detail,
    }) = rig.events.sent().last().cloned()
    else {
        panic!("a post event");
    };
    assert_eq!(detail_type, DetailType::PostFailed);
    assert_eq!(detail.state, PostState::Refused);
    assert_eq!(detail.key, key);
    assert!(detail.reason.unwrap().contains("title"));
}

#[tokio::test]
async fn a_cancel_and_a_disconnect_send_one_post_cancelled_per_post() {
    let rig = rig(PipelineSettings::default()).await;
    let machine = PassMachine::create().await;
    let stack = &rig.stack;
    let mut intake = stack.intake(&machine).await;
    intake.ends = rig.pipeline.ends.clone();
    let api = PostsApi {
        connect: Some(ConnectSettings::new("https://api.example.com").unwrap()),
        ..stack.posts_api(intake)
    };
    let open_id = stack.connect_account(AccountSeed::default()).await;
    let cancelled = rig
        .queued(
            &open_id,
            "uploads/c.mp4",
            r#"{"privacy_level":"SELF_ONLY"}"#,
        )
        .await;
    let orphaned = rig
        .queued(
            &open_id,
            "uploads/d.mp4",
            r#"{"privacy_level":"SELF_ONLY"}"#,
        )
        .await;

    assert_eq!(api.cancel_post(cancelled.as_str()).await.status, 200);
    // Cancelling it again answers it again, and sends nothing more.
    assert_eq!(api.cancel_post(cancelled.as_str()).await.status, 200);
    let event = rig.only_event(&cancelled, DetailType::PostCancelled);
    assert_eq!(event.state, PostState::Cancelled);
    assert_eq!(event.reason.as_deref(), Some("cancelled by request"));

    assert_eq!(api.disconnect_account(&open_id).await.status, 200);
    let event = rig.only_event(&orphaned, DetailType::PostCancelled);
    assert_eq!(event.reason.as_deref(), Some("account disconnected"));
    assert_eq!(rig.post_events(&cancelled).len(), 1);
    assert_eq!(rig.events.sent().len(), 2);
    rig.assert_no_secret_in_events();
}

#[tokio::test]
async fn a_refused_refresh_sends_one_account_needs_reconnect() {
    let rig = rig(PipelineSettings::default()).await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let tokens = &rig.pipeline.tokens;
    let token = tokens.fresh_access_token(&open_id).await.unwrap();
    rig.stack.fake.inject(Fault::HttpError {
        endpoint: FakeEndpoint::Token,
        status: 400,
        code: "invalid_grant".into(),
        times: 1,
    });
    tokens
        .force_refresh(&open_id, token.secret())
        .await
        .unwrap_err();
    // Every later caller is refused without marking the account again.
    tokens.fresh_access_token(&open_id).await.unwrap_err();

    let sent = rig.events.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let OutcomeEvent::Reconnect(warning) = &sent[0] else {
        panic!("an AccountNeedsReconnect: {sent:?}");
    };
    assert_eq!(warning.account, open_id);
    assert_eq!(warning.why, ReconnectWhy::RefreshRefused);
    assert!(warning.advice.contains("Connect the account again"));
    rig.assert_no_secret_in_events();
}
