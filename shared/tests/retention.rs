//! What a post's end sets off besides its event, on moto and the strict fake: the retention
//! tag on the post's exact video version and its manifest's current version (merged with
//! the user's tags), and the metric lines (EMF) of the end and of the chunks uploaded. A
//! tagging failure leaves the end as it was.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use fake_tiktok::{AccountSeed, FakeSettings};
use tiktok_publish_adapters::S3RetentionTags;
use tiktok_publish_core::ends::PostEnds;
use tiktok_publish_core::errors::ErrorKind;
use tiktok_publish_core::events::{DetailType, OutcomeEvent};
use tiktok_publish_core::intake::manifest_key;
use tiktok_publish_core::media::VideoLocation;
use tiktok_publish_core::metrics::{MetricName, Metrics};
use tiktok_publish_core::pipeline::options::parse_options_json;
use tiktok_publish_core::pipeline::{Pipeline, PipelineSettings};
use tiktok_publish_core::retention::OUTCOME_TAG_KEY;
use tiktok_publish_core::store::{
    Cause, Fact, PostFailure, PostId, PostRecord, PostSource, PostState, PostStore, PostUpdate,
    StoreError, unix_now,
};
use tiktok_publish_memory::{MemoryEvents, MemoryLines};
use tiktok_publish_testkit::video::tiny_mp4;
use tiktok_publish_testkit::{PassMachine, StackSettings, TestStack};

const OPTIONS: &str = r#"{"privacy_level":"SELF_ONLY","title":"a caption"}"#;

/// A versioned stack whose posts' ends are reported to memory (events, metric lines) and
/// tagged through S3 (moto).
struct Rig {
    stack: TestStack,
    events: Arc<MemoryEvents>,
    lines: Arc<MemoryLines>,
    ends: PostEnds,
}

async fn rig(name: &str) -> Rig {
    let stack = TestStack::start_with(
        name,
        StackSettings {
            fake: FakeSettings {
                processing_time: Duration::from_millis(200),
                ..FakeSettings::default()
            },
            versioned: true,
            bucket: None,
        },
    )
    .await;
    let events = Arc::new(MemoryEvents::new());
    let lines = Arc::new(MemoryLines::new());
    let ends = reporting(&events, &lines, stack.s3.clone());
    Rig {
        stack,
        events,
        lines,
        ends,
    }
}

/// Posts' ends reported to `events` and `lines`, tagged through `s3`.
fn reporting(
    events: &Arc<MemoryEvents>,
    lines: &Arc<MemoryLines>,
    s3: aws_sdk_s3::Client,
) -> PostEnds {
    PostEnds::new(events.clone())
        .with_metrics(Metrics::new("retention-test", lines.clone()))
        .with_tags(Arc::new(S3RetentionTags::new(s3)))
}

impl Rig {
    /// Puts `bytes` at `key` with the URL-encoded `tagging` (none when empty); its version.
    async fn put_tagged(&self, key: &str, bytes: Vec<u8>, tagging: &str) -> String {
        let mut put = self
            .stack
            .s3
            .put_object()
            .bucket(&self.stack.bucket)
            .key(key)
            .body(ByteStream::from(bytes));
        if !tagging.is_empty() {
            put = put.tagging(tagging);
        }
        put.send()
            .await
            .expect("PutObject on moto")
            .version_id()
            .expect("a versioned bucket gives version ids")
            .to_owned()
    }

    /// The tags of `key` at `version_id` (`None`: the current version), read from moto.
    async fn tags(&self, key: &str, version_id: Option<&str>) -> BTreeMap<String, String> {
        self.stack
            .s3
            .get_object_tagging()
            .bucket(&self.stack.bucket)
            .key(key)
            .set_version_id(version_id.map(str::to_owned))
            .send()
            .await
            .expect("GetObjectTagging on moto")
            .tag_set()
            .iter()
            .map(|tag| (tag.key().to_owned(), tag.value().to_owned()))
            .collect()
    }

    /// A queued post of `open_id` for the video at `key`, pinned to `version_id`.
    async fn queued_at(&self, open_id: &str, key: &str, version_id: Option<&str>) -> PostRecord {
        let location = VideoLocation {
            version_id: version_id.map(str::to_owned),
            ..self.stack.location(key)
        };
        let options = parse_options_json(OPTIONS.as_bytes(), unix_now()).unwrap();
        let post = PostRecord::new(
            open_id,
            PostSource::at(location),
            Some(options),
            PostState::Queued,
            unix_now() - 3,
        );
        self.stack.posts.create(&post).await.unwrap();
        post
    }

    fn pipeline(&self) -> Pipeline {
        let mut pipeline = self.stack.pipeline(PipelineSettings::default());
        pipeline.ends = self.ends.clone();
        pipeline
    }

    /// The kinds of the post events sent about `id`.
    fn events_about(&self, id: &PostId) -> Vec<DetailType> {
        self.events
            .sent()
            .into_iter()
            .filter_map(|event| match event {
                OutcomeEvent::Post {
                    detail_type,
                    detail,
                } if detail.post_id == id.as_str() => Some(detail_type),
                _ => None,
            })
            .collect()
    }
}

/// Runs the post's steps the way the state machine does, until it is final.
async fn drive(pipeline: &Pipeline, id: &PostId) {
    let post_id = id.as_str();
    for _ in 0..20 {
        if pipeline.init_upload(post_id).await.unwrap().ready {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let mut upload = true;
    for _ in 0..60 {
        if upload {
            pipeline.upload_chunks(post_id, None).await.unwrap();
        }
        let status = pipeline.check_status(post_id).await.unwrap();
        if status.is_final {
            return;
        }
        upload = !status.uploaded;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("post {id} did not end");
}

fn pairs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[tokio::test]
async fn a_published_post_tags_its_exact_version_and_manifest_and_emits_its_metrics() {
    let rig = rig("retention-published").await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let key = format!("uploads/{open_id}/clip.mp4");
    let video = tiny_mp4();
    // An earlier upload of the same key: a version the post never read.
    let earlier = rig.put_tagged(&key, video.clone(), "").await;
    let posted = rig.put_tagged(&key, video.clone(), "owner=alice").await;
    let manifest = manifest_key(&key);
    let old_manifest = rig.put_tagged(&manifest, OPTIONS.into(), "").await;
    let current_manifest = rig.put_tagged(&manifest, OPTIONS.into(), "").await;
    let post = rig.queued_at(&open_id, &key, Some(&posted)).await;

    drive(&rig.pipeline(), &post.id).await;
    // A status fetch on the ended post (a retried task) ends nothing again.
    rig.pipeline().check_status(post.id.as_str()).await.unwrap();

    let ended = rig.stack.posts.get(&post.id).await.unwrap().unwrap();
    assert_eq!(ended.state, PostState::Published);
    assert_eq!(
        rig.tags(&key, Some(&posted)).await,
        pairs(&[("owner", "alice"), (OUTCOME_TAG_KEY, "published")]),
        "the post's version keeps the user's tag and gains the outcome"
    );
    assert_eq!(rig.tags(&key, Some(&earlier)).await, pairs(&[]));
    assert_eq!(
        rig.tags(&manifest, Some(&current_manifest)).await,
        pairs(&[(OUTCOME_TAG_KEY, "published")])
    );
    assert_eq!(rig.tags(&manifest, Some(&old_manifest)).await, pairs(&[]));
    assert_eq!(rig.events_about(&post.id), vec![DetailType::PostPublished]);

    let lines = rig.lines.parsed();
    assert_eq!(rig.lines.total(MetricName::PostsPublished), 1, "{lines:?}");
    assert_eq!(
        rig.lines.total(MetricName::BytesUploaded),
        u64::try_from(video.len()).unwrap()
    );
    let end = lines
        .iter()
        .find(|line| line.get("PostsPublished").is_some())
        .unwrap();
    assert_eq!(end["Stack"], "retention-test");
    assert_eq!(
        end["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "TikTokPublish"
    );
    let drop_to_live = end["DropToLiveSeconds"].as_u64().unwrap();
    let expected = u64::try_from(ended.updated_at - ended.created_at).unwrap();
    assert_eq!(drop_to_live, expected);
    assert!(drop_to_live >= 3, "{drop_to_live}");
    // Nothing the fake issued, nor the key or caption, is in a metric line.
    let secrets = rig.stack.fake.secrets_issued();
    for line in rig.lines.lines() {
        assert!(
            !line.contains("uploads/") && !line.contains("a caption"),
            "{line}"
        );
        for secret in &secrets {
            assert!(!line.contains(secret.as_str()), "a secret in {line}");
        }
    }
}

#[tokio::test]
async fn each_end_tags_its_outcome_once_and_a_full_tag_set_is_left_as_it_is() {
    let rig = rig("retention-ends").await;
    let open_id = "open-retention".to_owned();
    let failed_key = format!("uploads/{open_id}/failed.mp4");
    let failed_version = rig.put_tagged(&failed_key, tiny_mp4(), "").await;
    let cancelled_key = format!("uploads/{open_id}/cancelled.mp4");
    let cancelled_version = rig.put_tagged(&cancelled_key, tiny_mp4(), "").await;
    let full_key = format!("uploads/{open_id}/full.mp4");
    let ten_tags = (0..10)
        .map(|i| format!("k{i}=v{i}"))
        .collect::<Vec<_>>()
        .join("&");
    let full_version = rig.put_tagged(&full_key, tiny_mp4(), &ten_tags).await;

    let failed = rig
        .queued_at(&open_id, &failed_key, Some(&failed_version))
        .await;
    let cancelled = rig
        .queued_at(&open_id, &cancelled_key, Some(&cancelled_version))
        .await;
    // The user uploads the failed post's key again before it ends: the tag still goes to
    // the version the post read, not to the current one.
    let replacement = rig.put_tagged(&failed_key, tiny_mp4(), "").await;
    let full = rig
        .queued_at(&open_id, &full_key, Some(&full_version))
        .await;
    let end = |id: PostId, to: PostState| {
        let posts = rig.stack.posts.clone();
        let ends = rig.ends.clone();
        async move {
            let update = if to == PostState::Failed {
                PostUpdate::failed(PostFailure::new(
                    Cause::Error {
                        kind: ErrorKind::Internal,
                        message: "the task crashed".into(),
                    },
                    None,
                ))
            } else {
                PostUpdate::fact(Fact::Remark {
                    note: "ended by the test".into(),
                })
            };
            let moved = posts
                .transition(&id, &[PostState::Queued], to, update, unix_now())
                .await?;
            Ok::<_, StoreError>(ends.settle(moved).await)
        }
    };
    assert_eq!(
        end(failed.id.clone(), PostState::Failed)
            .await
            .unwrap()
            .state,
        PostState::Failed
    );
    assert_eq!(
        end(cancelled.id.clone(), PostState::Cancelled)
            .await
            .unwrap()
            .state,
        PostState::Cancelled
    );
    assert_eq!(
        end(full.id.clone(), PostState::Failed).await.unwrap().state,
        PostState::Failed
    );
    // A second end of the same post loses its conditional write: nothing more is set off.
    end(failed.id.clone(), PostState::Failed).await.unwrap_err();

    assert_eq!(
        rig.tags(&failed_key, Some(&failed_version)).await,
        pairs(&[(OUTCOME_TAG_KEY, "failed")])
    );
    assert_eq!(rig.tags(&failed_key, Some(&replacement)).await, pairs(&[]));
    assert_eq!(
        rig.tags(&cancelled_key, Some(&cancelled_version)).await,
        pairs(&[(OUTCOME_TAG_KEY, "refused")])
    );
    let expected_full: BTreeMap<String, String> = (0..10)
        .map(|i| (format!("k{i}"), format!("v{i}")))
        .collect();
    assert_eq!(
        rig.tags(&full_key, Some(&full_version)).await,
        expected_full,
        "10 user tags: nothing replaced"
    );
    // No manifest: nothing to tag, and no error. Two failed, one cancelled (no metric).
    assert_eq!(rig.lines.total(MetricName::PostsFailed), 2);
    assert_eq!(rig.lines.total(MetricName::PostsRefused), 0);
    assert_eq!(rig.lines.lines().len(), 2);
    assert_eq!(rig.events_about(&failed.id), vec![DetailType::PostFailed]);
}

#[tokio::test]
async fn a_refusal_at_creation_tags_the_video_refused() {
    let rig = rig("retention-refused").await;
    let key = "uploads/open-refused/bad.mp4";
    let version = rig.put_tagged(key, tiny_mp4(), "").await;
    let location = VideoLocation {
        version_id: Some(version.clone()),
        ..rig.stack.location(key)
    };
    // Intake refuses a video whose options are invalid in the record it creates.
    let machine = PassMachine::create().await;
    let mut intake = rig.stack.intake(&machine).await;
    intake.ends = rig.ends.clone();
    let invalid = || parse_options_json(br#"{"privacy_level":"NOBODY"}"#, unix_now()).map(Some);
    let refused = intake
        .claim("open-refused", &location, invalid())
        .await
        .unwrap()
        .post;
    assert_eq!(refused.state, PostState::Refused);
    // The same video claimed again (a redelivered event) sets nothing off.
    let again = intake.claim("open-refused", &location, invalid()).await;
    assert!(!again.unwrap().created);

    assert_eq!(
        rig.tags(key, Some(&version)).await,
        pairs(&[(OUTCOME_TAG_KEY, "refused")])
    );
    assert_eq!(rig.lines.total(MetricName::PostsRefused), 1);
    assert_eq!(rig.lines.lines().len(), 1);
    assert_eq!(rig.events_about(&refused.id), vec![DetailType::PostFailed]);
}

#[tokio::test]
async fn a_tagging_failure_leaves_the_end_as_it_was() {
    let rig = rig("retention-broken").await;
    let key = "uploads/open-broken/clip.mp4";
    let version = rig.put_tagged(key, tiny_mp4(), "owner=bob").await;
    // An S3 the tagger cannot reach (a port nothing listens on): every tagging call fails.
    let unreachable = aws_sdk_s3::Client::from_conf(
        rig.stack
            .s3
            .config()
            .to_builder()
            .endpoint_url("http://127.0.0.1:9")
            .build(),
    );
    let ends = reporting(&rig.events, &rig.lines, unreachable);
    let post = rig.queued_at("open-broken", key, Some(&version)).await;

    let moved = rig
        .stack
        .posts
        .transition(
            &post.id,
            &[PostState::Queued],
            PostState::Failed,
            PostUpdate::failed(PostFailure::new(
                Cause::Error {
                    kind: ErrorKind::Internal,
                    message: "the task crashed".into(),
                },
                None,
            )),
            unix_now(),
        )
        .await
        .expect("the write that ends the post");
    let ended = ends.settle(moved).await;
    assert_eq!(
        ended.state,
        PostState::Failed,
        "the end stands although tagging failed"
    );
    let stored = rig.stack.posts.get(&post.id).await.unwrap().unwrap();
    assert_eq!(stored.state, PostState::Failed);
    // The event and the metric went out all the same; the object is as the user left it.
    assert_eq!(rig.events_about(&post.id), vec![DetailType::PostFailed]);
    assert_eq!(rig.lines.total(MetricName::PostsFailed), 1);
    assert_eq!(
        rig.tags(key, Some(&version)).await,
        pairs(&[("owner", "bob")])
    );
}
