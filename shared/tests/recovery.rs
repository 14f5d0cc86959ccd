//! Recovery against moto and the strict fake: the sweep reports the posts it ends (one
//! event per end), and a post that starts again after its upload had begun (a
//! retry, a crash, an expired URL) asks TikTok where its publish stands before it uploads,
//! so it is never posted twice.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use fake_tiktok::{AccountSeed, Endpoint, FakeSettings, Fault};
use tiktok_publish_adapters::S3UploadListing;
use tiktok_publish_core::api::retry::retry_verdict;
use tiktok_publish_core::ends::PostEnds;
use tiktok_publish_core::errors::ErrorKind;
use tiktok_publish_core::events::{DetailType, OutcomeEvent};
use tiktok_publish_core::intake::manifest_key;
use tiktok_publish_core::pipeline::{Pipeline, PipelineSettings, StepError};
use tiktok_publish_core::store::{
    Fact, PostId, PostRecord, PostState, PostStore, PostUpdate, unix_now,
};
use tiktok_publish_core::sweep::{STUCK_REASON_PREFIX, Sweep, SweepSettings};
use tiktok_publish_core::tiktok::ChunkPolicy;
use tiktok_publish_core::tiktok::chunk_plan::{DEFAULT_MAX_VIDEO_SIZE, MIN_CHUNK_SIZE};
use tiktok_publish_core::trigger::TriggerOutcome;
use tiktok_publish_memory::MemoryEvents;
use tiktok_publish_testkit::video::{mp4_header, pseudo_random_bytes};
use tiktok_publish_testkit::{PassMachine, StackSettings, TestStack, video};

const OPTIONS: &str = r#"{"privacy_level":"SELF_ONLY","title":"recovered"}"#;

/// A stack whose fake processes an upload in 300 ms, a connected account, and the events
/// posts' ends sent.
struct Rig {
    stack: TestStack,
    open_id: String,
    events: Arc<MemoryEvents>,
    ends: PostEnds,
}

async fn rig(name: &str) -> Rig {
    let fake = FakeSettings {
        processing_time: Duration::from_millis(300),
        ..FakeSettings::default()
    };
    let stack = TestStack::start_with(
        name,
        StackSettings {
            fake,
            ..StackSettings::default()
        },
    )
    .await;
    let open_id = stack.connect_account(AccountSeed::default()).await;
    let events = Arc::new(MemoryEvents::new());
    let ends = PostEnds::new(events.clone());
    Rig {
        stack,
        open_id,
        events,
        ends,
    }
}

impl Rig {
    /// The pipeline as deployed: its writes that end a post send the event.
    fn pipeline(&self, settings: PipelineSettings) -> Pipeline {
        Pipeline {
            ends: self.ends.clone(),
            ..self.stack.pipeline(settings)
        }
    }

    async fn sweep(&self, machine: &PassMachine, settings: SweepSettings) -> Sweep {
        let mut intake = self.stack.intake(machine).await;
        intake.ends = self.ends.clone();
        Sweep {
            intake,
            accounts: self.stack.accounts.clone(),
            listing: Arc::new(S3UploadListing::new(self.stack.s3.clone())),
            settings,
        }
    }

    async fn record(&self, id: &PostId) -> PostRecord {
        self.stack.posts.get(id).await.unwrap().unwrap()
    }

    fn inits(&self) -> usize {
        self.stack.fake.call_count(Endpoint::DirectInit)
    }

    /// The (detail type, post id) of every event sent so far.
    fn sent(&self) -> Vec<(DetailType, String)> {
        self.events
            .sent()
            .into_iter()
            .filter_map(|event| match event {
                OutcomeEvent::Post {
                    detail_type,
                    detail,
                } => Some((detail_type, detail.post_id)),
                _ => None,
            })
            .collect()
    }

    /// What `POST /posts/{id}/retry` writes: the failed post queued again, its note saying
    /// which attempt.
    async fn retry(&self, id: &PostId) {
        let post = self.record(id).await;
        let update = PostUpdate {
            fact: Some(Fact::Retried {
                attempt: 1,
                after: post.failure.as_ref().map(|f| f.kind),
            }),
            clear_failure: true,
            ..PostUpdate::default()
        };
        let moved = self
            .stack
            .posts
            .transition(id, &[post.state], PostState::Queued, update, unix_now())
            .await
            .unwrap();
        self.ends.settle(moved).await;
    }
}

/// An MP4 of `size` bytes at `key`.
async fn put_mp4(stack: &TestStack, key: &str, size: u64) {
    let header = mp4_header(size, 10);
    let rest = pseudo_random_bytes(size, header.len() as u64, size as usize - header.len());
    stack.put(key, [header, rest].concat()).await;
}

/// Chunks of 5 MiB, so that an 11 MB video goes in two.
fn small_chunks() -> ChunkPolicy {
    ChunkPolicy::new(MIN_CHUNK_SIZE, DEFAULT_MAX_VIDEO_SIZE).unwrap()
}

/// Init, Upload and Status as the state machine chains them, to a final state or the first
/// error a step returns.
async fn run_to_end(pipeline: &Pipeline, id: &PostId) -> Result<(), StepError> {
    let id = id.as_str();
    let init = pipeline.init_upload(id).await?;
    assert!(init.ready, "{init:?}");
    for _ in 0..40 {
        if pipeline.upload_chunks(id, None).await?.done {
            break;
        }
    }
    for _ in 0..40 {
        if pipeline.check_status(id).await?.is_final {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("post {id} did not reach a final state");
}

/// Waits until the fake says the publish is done processing.
async fn until_processed(stack: &TestStack, publish_id: &str) {
    for _ in 0..40 {
        let publish = stack.fake.publish(publish_id).unwrap();
        if publish.status != fake_tiktok::PublishStatus::ProcessingUpload
            && publish.status != fake_tiktok::PublishStatus::ProcessingDownload
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("publish {publish_id} never finished processing");
}

#[tokio::test]
async fn a_post_failed_as_stuck_that_tiktok_published_is_not_uploaded_again_on_retry() {
    let rig = rig("stuckpub").await;
    let machine = PassMachine::create().await;
    let key = format!("uploads/{}/stuck.mp4", rig.open_id);
    rig.stack.put(&key, video::tiny_mp4()).await;
    let post = rig.stack.queued_post(&rig.open_id, &key, OPTIONS).await;
    let pipeline = rig.pipeline(PipelineSettings::default());

    // The upload completes, then the execution is lost before any status fetch.
    assert!(pipeline.init_upload(post.id.as_str()).await.unwrap().ready);
    assert!(
        pipeline
            .upload_chunks(post.id.as_str(), None)
            .await
            .unwrap()
            .done
    );
    let publish_id = rig.record(&post.id).await.publish_id.unwrap();
    until_processed(&rig.stack, &publish_id).await;
    assert_eq!(
        rig.stack.fake.publish(&publish_id).unwrap().status,
        fake_tiktok::PublishStatus::PublishComplete
    );

    // Hours later the sweep finds it PROCESSING and fails it as stuck, once, even when two
    // runs race for it.
    let settings = SweepSettings::new(&rig.stack.bucket);
    let later = unix_now() + settings.stuck_after_secs + 60;
    let sweep = rig.sweep(&machine, settings).await;
    let (first, second) = tokio::join!(sweep.run(later), sweep.run(later));
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(
        first.stuck.len() + second.stuck.len(),
        1,
        "{first:?} {second:?}"
    );
    let failed = rig.record(&post.id).await;
    assert_eq!(failed.state, PostState::Failed);
    assert!(
        failed
            .failure
            .as_ref()
            .unwrap()
            .reason
            .starts_with(STUCK_REASON_PREFIX)
    );
    let sent = rig.events.sent();
    let [OutcomeEvent::Post { detail, .. }] = sent.as_slice() else {
        panic!("one event: {sent:?}");
    };
    assert_eq!(detail.retryable, Some(true));

    // The retry asks TikTok first, though the upload URL is long stale by now: TikTok has
    // the video, so no init and no chunk again.
    rig.retry(&post.id).await;
    let chunks = rig.stack.fake.call_count(Endpoint::UploadChunk);
    let hours_later = rig.pipeline(PipelineSettings {
        upload_url_lifetime: Duration::ZERO,
        ..PipelineSettings::default()
    });
    run_to_end(&hours_later, &post.id).await.unwrap();
    assert_eq!(rig.inits(), 1);
    assert_eq!(rig.stack.fake.call_count(Endpoint::UploadChunk), chunks);
    assert_eq!(rig.stack.fake.publishes_for(&rig.open_id).len(), 1);
    let published = rig.record(&post.id).await;
    assert_eq!(published.state, PostState::Published);
    assert_eq!(published.publish_id.as_deref(), Some(publish_id.as_str()));
    assert!(
        published
            .history
            .iter()
            .any(|h| h.note.as_deref() == Some("TikTok already has the whole video")),
        "{:?}",
        published.history
    );
    assert_eq!(
        rig.sent(),
        [
            (DetailType::PostFailed, post.id.to_string()),
            (DetailType::PostPublished, post.id.to_string()),
        ]
    );
    assert_eq!(rig.stack.fake.violations(), vec![]);
}

#[tokio::test]
async fn a_retry_after_tiktok_failed_the_publish_inits_anew_and_publishes_once() {
    let rig = rig("failedpub").await;
    let key = format!("uploads/{}/fails.mp4", rig.open_id);
    rig.stack.put(&key, video::tiny_mp4()).await;
    let post = rig.stack.queued_post(&rig.open_id, &key, OPTIONS).await;
    let pipeline = rig.pipeline(PipelineSettings::default());
    rig.stack.fake.inject(Fault::FailPost {
        open_id: rig.open_id.clone(),
        fail_reason: "internal".into(),
    });

    let error = run_to_end(&pipeline, &post.id).await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::TikTokPostFailed);
    let dead = rig.record(&post.id).await.publish_id.unwrap();

    rig.retry(&post.id).await;
    run_to_end(&pipeline, &post.id).await.unwrap();
    assert_eq!(rig.inits(), 2, "the failed publish is dead: a new init");
    let publishes = rig.stack.fake.publishes_for(&rig.open_id);
    assert_eq!(publishes.len(), 2);
    assert_eq!(publishes[0].publish_id, dead);
    assert_eq!(publishes[0].status, fake_tiktok::PublishStatus::Failed);
    assert_eq!(
        publishes[1].status,
        fake_tiktok::PublishStatus::PublishComplete
    );
    let published = rig.record(&post.id).await;
    assert_eq!(published.state, PostState::Published);
    assert_eq!(
        published.publish_id.as_deref(),
        Some(publishes[1].publish_id.as_str())
    );
    assert_eq!(
        rig.sent(),
        [
            (DetailType::PostFailed, post.id.to_string()),
            (DetailType::PostPublished, post.id.to_string()),
        ]
    );
    assert_eq!(rig.stack.fake.violations(), vec![]);
}

#[tokio::test]
async fn a_half_uploaded_post_resumes_while_its_url_is_fresh_and_inits_anew_once_stale() {
    let rig = rig("halfway").await;
    let key = format!("uploads/{}/half.mp4", rig.open_id);
    // Two chunks of at least 5 MiB.
    put_mp4(&rig.stack, &key, 11_000_000).await;
    let post = rig.stack.queued_post(&rig.open_id, &key, OPTIONS).await;
    // 5 MiB chunks and no upload budget: each chunk-upload sends one of the two.
    let one_chunk = PipelineSettings {
        upload_budget: Duration::ZERO,
        chunk_policy: small_chunks(),
        ..PipelineSettings::default()
    };
    let pipeline = rig.pipeline(one_chunk.clone());
    let id = post.id.as_str();
    assert!(pipeline.init_upload(id).await.unwrap().ready);
    assert!(!pipeline.upload_chunks(id, None).await.unwrap().done);
    let first = rig.record(&post.id).await.publish_id.unwrap();
    assert_eq!(rig.stack.fake.publish(&first).unwrap().chunks_taken, 1);

    // The run is lost; a new one starts from init while the URL is fresh: same session.
    assert!(pipeline.init_upload(id).await.unwrap().ready);
    assert_eq!(rig.inits(), 1);
    assert_eq!(
        rig.record(&post.id).await.publish_id.as_deref(),
        Some(first.as_str())
    );

    // Past the URL's lifetime: bytes missing and a stale URL make a new init.
    let stale = rig.pipeline(PipelineSettings {
        upload_url_lifetime: Duration::ZERO,
        ..one_chunk
    });
    assert!(stale.init_upload(id).await.unwrap().ready);
    assert_eq!(rig.inits(), 2);
    let second = rig.record(&post.id).await.publish_id.unwrap();
    assert_ne!(second, first);
    run_to_end(&pipeline, &post.id).await.unwrap();

    let publishes = rig.stack.fake.publishes_for(&rig.open_id);
    let complete: Vec<_> = publishes.iter().filter(|p| p.complete).collect();
    assert_eq!(complete.len(), 1, "one upload completes: {publishes:?}");
    assert_eq!(complete[0].publish_id, second);
    assert_eq!(rig.record(&post.id).await.state, PostState::Published);
    assert_eq!(rig.stack.fake.violations(), vec![]);
}

#[tokio::test]
async fn a_retried_post_has_its_full_allowance_of_inits_again() {
    let rig = rig("inits").await;
    let key = format!("uploads/{}/inits.mp4", rig.open_id);
    put_mp4(&rig.stack, &key, 11_000_000).await;
    let post = rig.stack.queued_post(&rig.open_id, &key, OPTIONS).await;
    let id = post.id.as_str();
    // One init allowed, and every URL counts as stale: the second init is one too many.
    let settings = PipelineSettings {
        upload_budget: Duration::ZERO,
        chunk_policy: small_chunks(),
        upload_url_lifetime: Duration::ZERO,
        max_inits: 1,
        ..PipelineSettings::default()
    };
    let pipeline = rig.pipeline(settings);
    assert!(pipeline.init_upload(id).await.unwrap().ready);
    let error = pipeline.init_upload(id).await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::TikTokPostFailed);
    assert!(error.message.contains("started 1 times"), "{error:?}");
    assert_eq!(rig.record(&post.id).await.state, PostState::Failed);
    assert_eq!(rig.inits(), 1);

    rig.retry(&post.id).await;
    assert!(pipeline.init_upload(id).await.unwrap().ready);
    assert_eq!(rig.inits(), 2);
    assert_eq!(rig.record(&post.id).await.state, PostState::Uploading);
    // The allowance is per attempt, not unlimited.
    let error = pipeline.init_upload(id).await.unwrap_err();
    assert!(error.message.contains("started 1 times"), "{error:?}");
    assert_eq!(rig.inits(), 2);
}

#[tokio::test]
async fn an_orphan_refused_by_its_manifest_sends_its_event_from_the_store() {
    let rig = rig("orphanref").await;
    let machine = PassMachine::create().await;
    let key = format!("uploads/{}/bad.mp4", rig.open_id);
    rig.stack.put(&key, video::tiny_mp4()).await;
    rig.stack
        .put(
            &manifest_key(&key),
            br#"{"privacy_level":"EVERYONE_PLEASE"}"#.to_vec(),
        )
        .await;
    let sweep = rig
        .sweep(
            &machine,
            SweepSettings {
                orphan_after_secs: 0,
                ..SweepSettings::new(&rig.stack.bucket)
            },
        )
        .await;

    let report = sweep.run(unix_now() + 1).await.unwrap();
    let [found] = report.orphans.as_slice() else {
        panic!("one orphan: {report:?}");
    };
    let TriggerOutcome::Claimed { post_id, state, .. } = &found.outcome else {
        panic!("claimed: {:?}", found.outcome);
    };
    assert_eq!(*state, PostState::Refused);
    assert!(machine.execution_names().await.is_empty());
    assert_eq!(rig.sent(), [(DetailType::PostFailed, post_id.clone())]);

    let again = sweep.run(unix_now() + 2).await.unwrap();
    assert!(again.orphans.is_empty(), "{again:?}");
    assert_eq!(rig.sent().len(), 1);
}

/// Points the post's record at a publish id TikTok never issued, as if TikTok had forgotten
/// the real one.
async fn forget_publish(rig: &Rig, id: &PostId) {
    rig.stack
        .dynamodb
        .update_item()
        .table_name(&rig.stack.tables.posts)
        .key("id", AttributeValue::S(id.to_string()))
        .update_expression("SET publish_id = :p")
        .expression_attribute_values(":p", AttributeValue::S("v_pub_forgotten~v2.1".into()))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_forgotten_publish_after_every_byte_is_failed_for_a_person_not_uploaded_again() {
    let rig = rig("forgotten").await;
    let key = format!("uploads/{}/forgotten.mp4", rig.open_id);
    rig.stack.put(&key, video::tiny_mp4()).await;
    let post = rig.stack.queued_post(&rig.open_id, &key, OPTIONS).await;
    let pipeline = rig.pipeline(PipelineSettings::default());
    assert!(pipeline.init_upload(post.id.as_str()).await.unwrap().ready);
    assert!(
        pipeline
            .upload_chunks(post.id.as_str(), None)
            .await
            .unwrap()
            .done
    );
    forget_publish(&rig, &post.id).await;
    rig.retry(&post.id).await;

    let err = pipeline.init_upload(post.id.as_str()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::TikTokPostFailed, "{err:?}");
    assert_eq!(rig.inits(), 1, "a second upload could be a second post");
    let failed = rig.record(&post.id).await;
    assert_eq!(failed.state, PostState::Failed);
    let verdict = retry_verdict(&failed).unwrap_err();
    assert_eq!(verdict.code, "publish_outcome_unknown", "{verdict:?}");
    assert_eq!(rig.stack.fake.violations(), vec![]);
}

#[tokio::test]
async fn a_forgotten_publish_before_any_byte_inits_anew() {
    let rig = rig("forgotearly").await;
    let key = format!("uploads/{}/early.mp4", rig.open_id);
    rig.stack.put(&key, video::tiny_mp4()).await;
    let post = rig.stack.queued_post(&rig.open_id, &key, OPTIONS).await;
    let pipeline = rig.pipeline(PipelineSettings::default());
    assert!(pipeline.init_upload(post.id.as_str()).await.unwrap().ready);
    forget_publish(&rig, &post.id).await;

    // The execution starts over (a crash before the first chunk): nothing was sent, so a
    // new init is safe.
    run_to_end(&pipeline, &post.id).await.unwrap();
    assert_eq!(rig.inits(), 2);
    assert_eq!(rig.record(&post.id).await.state, PostState::Published);
    // Two publishes at TikTok, of which only the second ever got bytes and went live.
    let publishes = rig.stack.fake.publishes_for(&rig.open_id);
    assert_eq!(publishes.len(), 2);
    let live = publishes
        .iter()
        .filter(|p| p.status == fake_tiktok::PublishStatus::PublishComplete)
        .count();
    assert_eq!(live, 1, "{publishes:?}");
}
