//! The S3 trigger's decisions (`trigger::handle_object_created`) and `Intake` against moto:
//! S3, the posts table and Step Functions' control plane (executions listed, never run).

use tiktok_publish_core::errors::ErrorKind;
use tiktok_publish_core::intake::Intake;
use tiktok_publish_core::media::VideoLocation;
use tiktok_publish_core::pipeline::options::parse_options_json;
use tiktok_publish_core::store::{PostId, PostRecord, PostState, PostStore, unix_now};
use tiktok_publish_core::trigger::{DEFAULT_UPLOAD_PREFIX, TriggerOutcome, handle_object_created};
use tiktok_publish_testkit::{PassMachine, StackSettings, TestStack};

const OPEN_ID: &str = "open-intake";
const OPTIONS: &str = r#"{"privacy_level":"SELF_ONLY","title":"from the manifest"}"#;

struct Rig {
    intake: Intake,
    stack: TestStack,
    machine: PassMachine,
}

async fn rig(versioned: bool) -> Rig {
    let settings = StackSettings {
        versioned,
        ..StackSettings::default()
    };
    let stack = TestStack::start_with("intake", settings).await;
    let machine = PassMachine::create().await;
    Rig {
        intake: stack.intake(&machine).await,
        stack,
        machine,
    }
}

fn video_key(name: &str) -> String {
    format!("uploads/{OPEN_ID}/{name}")
}

impl Rig {
    /// What the Lambda does with the event of `key` (moto's events carry no usable version).
    async fn event(&self, key: &str, version_id: Option<&str>) -> TriggerOutcome {
        handle_object_created(
            &self.intake,
            DEFAULT_UPLOAD_PREFIX,
            &self.stack.bucket,
            key,
            version_id,
        )
        .await
        .unwrap()
    }

    async fn account_posts(&self) -> Vec<PostRecord> {
        self.stack
            .posts
            .list_by_account(OPEN_ID, 20, None)
            .await
            .unwrap()
            .posts
    }

    async fn post(&self, outcome: &TriggerOutcome) -> PostRecord {
        let TriggerOutcome::Claimed { post_id, .. } = outcome else {
            panic!("expected a claim, got {outcome:?}");
        };
        let id = PostId::parse(post_id).unwrap();
        self.stack.posts.get(&id).await.unwrap().unwrap()
    }

    async fn exists(&self, key: &str) -> bool {
        self.stack
            .s3
            .head_object()
            .bucket(&self.stack.bucket)
            .key(key)
            .send()
            .await
            .is_ok()
    }
}

fn created(outcome: &TriggerOutcome) -> bool {
    matches!(outcome, TriggerOutcome::Claimed { created: true, .. })
}

#[tokio::test]
async fn a_video_with_its_manifest_is_queued_with_one_execution_named_after_the_post() {
    let rig = rig(true).await;
    let key = video_key("clip.mp4");
    let version = rig.stack.put(&key, "video").await;
    rig.stack.put(&format!("{key}.json"), OPTIONS).await;

    let outcome = rig.event(&key, version.as_deref()).await;
    assert!(created(&outcome), "{outcome:?}");
    let post = rig.post(&outcome).await;
    assert_eq!(post.state, PostState::Queued);
    assert_eq!(post.open_id, OPEN_ID);
    assert_eq!(post.options.unwrap().title, "from the manifest");
    assert_eq!(post.source.location.version_id, version);
    assert_eq!(rig.machine.execution_names().await, [post.id.to_string()]);
}

#[tokio::test]
async fn duplicate_s3_event_starts_one_post_and_one_execution() {
    let rig = rig(true).await;
    let key = video_key("twice.mp4");
    let version = rig.stack.put(&key, "video").await;
    rig.stack.put(&format!("{key}.json"), OPTIONS).await;

    let first = rig.event(&key, version.as_deref()).await;
    let second = rig.event(&key, version.as_deref()).await;
    // moto's events carry no version: HeadObject's gives the same post.
    let versionless = rig.event(&key, None).await;
    assert!(created(&first));
    for repeat in [&second, &versionless] {
        assert!(!created(repeat), "{repeat:?}");
        assert_eq!(rig.post(repeat).await.id, rig.post(&first).await.id);
    }
    assert_eq!(rig.account_posts().await.len(), 1);
    assert_eq!(rig.machine.execution_names().await.len(), 1);
}

#[tokio::test]
async fn a_manifest_after_its_video_completes_the_waiting_post() {
    let rig = rig(false).await;
    let key = video_key("late options.mp4");
    rig.stack.put(&key, "video").await;

    let video_event = rig.event(&key, None).await;
    let waiting = rig.post(&video_event).await;
    assert_eq!(waiting.state, PostState::Received);
    assert!(waiting.options.is_none());
    assert_eq!(
        rig.machine.execution_names().await,
        [waiting.id.to_string()]
    );

    let manifest = format!("{key}.json");
    rig.stack.put(&manifest, OPTIONS).await;
    let manifest_event = rig.event(&manifest, None).await;
    assert!(!created(&manifest_event), "{manifest_event:?}");
    let post = rig.post(&manifest_event).await;
    assert_eq!(post.id, waiting.id);
    assert_eq!(post.state, PostState::Queued);
    assert_eq!(post.options.unwrap().title, "from the manifest");
    assert_eq!(
        rig.machine.execution_names().await,
        [waiting.id.to_string()]
    );
}

#[tokio::test]
async fn a_manifest_before_its_video_waits_for_the_video_event() {
    let rig = rig(true).await;
    let key = video_key("early.mp4");
    let manifest = format!("{key}.json");
    rig.stack.put(&manifest, OPTIONS).await;

    let manifest_event = rig.event(&manifest, None).await;
    assert_eq!(
        manifest_event,
        TriggerOutcome::AwaitingVideo {
            video_key: key.clone()
        }
    );
    assert!(rig.account_posts().await.is_empty());
    assert!(rig.machine.execution_names().await.is_empty());

    let version = rig.stack.put(&key, "video").await;
    let video_event = rig.event(&key, version.as_deref()).await;
    let post = rig.post(&video_event).await;
    assert_eq!(post.state, PostState::Queued);
    assert_eq!(rig.machine.execution_names().await, [post.id.to_string()]);
}

#[tokio::test]
async fn a_malformed_manifest_refuses_the_post_naming_the_field_and_keeps_the_video() {
    let rig = rig(true).await;
    let key = video_key("bad.mp4");
    rig.stack
        .put(&format!("{key}.json"), r#"{"privacy_level":"PUBLIC"}"#)
        .await;
    let version = rig.stack.put(&key, "video").await;

    let outcome = rig.event(&key, version.as_deref()).await;
    let post = rig.post(&outcome).await;
    assert_eq!(post.state, PostState::Refused);
    let failure = post.failure.unwrap();
    assert_eq!(failure.kind, ErrorKind::PostRefused);
    assert!(
        failure.reason.contains("privacy_level"),
        "{}",
        failure.reason
    );
    assert!(rig.machine.execution_names().await.is_empty());
    assert!(rig.exists(&key).await);
}

#[tokio::test]
async fn a_malformed_manifest_after_its_video_refuses_the_waiting_post_at_once() {
    let rig = rig(false).await;
    let key = video_key("bad later.mp4");
    rig.stack.put(&key, "video").await;
    let waiting = rig.post(&rig.event(&key, None).await).await;
    assert_eq!(waiting.state, PostState::Received);

    let manifest = format!("{key}.json");
    rig.stack
        .put(&manifest, r#"{"privacy_level":"SELF_ONLY","titel":"typo"}"#)
        .await;
    let post = rig.post(&rig.event(&manifest, None).await).await;
    assert_eq!(post.id, waiting.id);
    assert_eq!(post.state, PostState::Refused);
    let reason = post.failure.unwrap().reason;
    assert!(reason.contains("titel"), "{reason}");
    // The run started for the waiting post finds it final at its next step.
    assert_eq!(
        rig.machine.execution_names().await,
        [waiting.id.to_string()]
    );
    assert!(rig.exists(&key).await);
}

#[tokio::test]
async fn keys_outside_the_prefix_do_nothing() {
    let rig = rig(false).await;
    for key in [
        format!("other/{OPEN_ID}/clip.mp4"),
        "uploads/clip.mp4".to_owned(),
        format!("uploads/{OPEN_ID}/clip.mp4.json.json"),
    ] {
        rig.stack.put(&key, "{}").await;
        let outcome = rig.event(&key, None).await;
        assert!(
            matches!(outcome, TriggerOutcome::Ignored { .. }),
            "{key}: {outcome:?}"
        );
    }
    assert!(rig.account_posts().await.is_empty());
    assert!(rig.machine.execution_names().await.is_empty());
}

#[tokio::test]
async fn a_video_deleted_before_its_event_is_handled_is_skipped() {
    let rig = rig(false).await;
    let key = video_key("gone.mp4");
    let outcome = rig.event(&key, None).await;
    assert_eq!(outcome, TriggerOutcome::VideoMissing { key });
    assert!(rig.account_posts().await.is_empty());
    assert!(rig.machine.execution_names().await.is_empty());
}

#[tokio::test]
async fn the_same_video_through_the_api_after_an_s3_event_is_one_post() {
    let rig = rig(true).await;
    let key = video_key("both ways.mp4");
    let version = rig.stack.put(&key, "video").await;
    let from_s3 = rig.post(&rig.event(&key, version.as_deref()).await).await;
    assert_eq!(from_s3.state, PostState::Received);

    let options = parse_options_json(OPTIONS.as_bytes(), unix_now()).unwrap();
    let location = VideoLocation {
        bucket: rig.stack.bucket.clone(),
        key: key.clone(),
        version_id: None,
    };
    let from_api = rig
        .intake
        .claim(OPEN_ID, &location, Ok(Some(options)))
        .await
        .unwrap();
    assert!(!from_api.created);
    assert_eq!(from_api.post.id, from_s3.id);
    assert_eq!(from_api.post.state, PostState::Queued);
    assert_eq!(rig.account_posts().await.len(), 1);
    assert_eq!(
        rig.machine.execution_names().await,
        [from_s3.id.to_string()]
    );
}
