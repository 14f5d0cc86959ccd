//! The publish steps end to end, driven the way the state machine drives them
//! (`infra/statemachine/publish.asl.json`), on the real DynamoDB stores and S3 source
//! (moto) and the strict fake TikTok.

use std::collections::HashMap;
use std::time::Duration;

use fake_tiktok::{AccountSeed, Endpoint, FakeSettings, Fault};
use secrecy::ExposeSecret;
use tiktok_publish_core::errors::ErrorKind;
use tiktok_publish_core::media::VideoLocation;
use tiktok_publish_core::pipeline::options::parse_options_json;
use tiktok_publish_core::pipeline::{
    FailureInput, Pipeline, PipelineSettings, StateMachineError, StepError,
};
use tiktok_publish_core::store::{
    PostId, PostOptions, PostRecord, PostSource, PostState, PostStore, TokenStore, unix_now,
};
use tiktok_publish_core::tiktok::MAX_TITLE_UTF16;
use tiktok_publish_testkit::video::{mp4_header, pseudo_random_bytes, write_video};
use tiktok_publish_testkit::{StackSettings, TestStack};

/// More task invocations than any run here needs; a run past it is looping.
const MAX_TASKS: usize = 60;

struct Rig {
    stack: TestStack,
    pipeline: Pipeline,
}

async fn rig() -> Rig {
    rig_with(PipelineSettings::default()).await
}

/// Its own tables, bucket and fake TikTok (whose processing takes 300 ms).
async fn rig_with(settings: PipelineSettings) -> Rig {
    let fake = FakeSettings {
        processing_time: Duration::from_millis(300),
        ..FakeSettings::default()
    };
    let stack = TestStack::start_with(
        "pipeline",
        StackSettings {
            fake,
            ..StackSettings::default()
        },
    )
    .await;
    Rig {
        pipeline: stack.pipeline(settings),
        stack,
    }
}

/// A video in the bucket: where, how big, the SHA-256 of its bytes.
struct Video {
    location: VideoLocation,
    sha256: String,
}

impl Rig {
    /// An MP4 of `size` bytes whose `mvhd` says it lasts `seconds`: headers, then an
    /// `mdat` of pseudo-random bytes. Written in 16 MiB parts, never held whole.
    async fn put_mp4(&self, key: &str, size: u64, seconds: u32) -> Video {
        let header = mp4_header(size, seconds);
        let part_bytes = |offset: u64, len: usize| {
            if offset == 0 {
                let rest = len - header.len();
                [
                    header.clone(),
                    pseudo_random_bytes(size, header.len() as u64, rest),
                ]
                .concat()
            } else {
                pseudo_random_bytes(size, offset, len)
            }
        };
        let stack = &self.stack;
        let written = write_video(&stack.s3, &stack.bucket, key, "video/mp4", size, part_bytes)
            .await
            .unwrap();
        Video {
            location: stack.location(key),
            sha256: written.sha256,
        }
    }

    async fn put(&self, key: &str, bytes: Vec<u8>) -> VideoLocation {
        self.stack.put(key, bytes).await;
        self.stack.location(key)
    }

    /// The post record the intake writes before it starts the run.
    async fn post(
        &self,
        open_id: &str,
        location: VideoLocation,
        options: Option<PostOptions>,
    ) -> PostId {
        let state = if options.is_some() {
            PostState::Queued
        } else {
            PostState::Received
        };
        let record = PostRecord::new(
            open_id,
            PostSource::at(location),
            options,
            state,
            unix_now(),
        );
        self.stack.posts.create(&record).await.unwrap();
        record.id
    }

    async fn record(&self, id: &PostId) -> PostRecord {
        self.stack.posts.get(id).await.unwrap().unwrap()
    }

    fn inits(&self) -> usize {
        let fake = &self.stack.fake;
        fake.call_count(Endpoint::DirectInit) + fake.call_count(Endpoint::InboxInit)
    }

    /// Runs the post the way the state machine would, injecting each fault just before the
    /// `nth` invocation (retries included, from 1) of its task.
    async fn drive(&self, id: &PostId, faults: Vec<(Task, usize, Fault)>) -> Run {
        drive(self, id, faults).await
    }
}

fn options(json: &str) -> Option<PostOptions> {
    Some(parse_options_json(json.as_bytes(), unix_now()).unwrap())
}

// ---------------------------------------------------------------------------------------------
// A small interpreter of the state machine's definition
// ---------------------------------------------------------------------------------------------

/// The Task states of the definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Task {
    Init,
    Upload,
    Status,
}

#[derive(Debug)]
enum Ending {
    /// `Published` (Succeed): the status was final.
    Published,
    /// `Duplicate` (Succeed): another run owns the post.
    Duplicate,
    /// `RecordFailure`, then `Failed` with this error.
    Failed(StepError),
}

#[derive(Debug)]
struct Run {
    ending: Ending,
    /// One line per task answer: `Init:ready`, `Upload:more`, `Status!TikTokRateLimited`, ...
    trace: Vec<String>,
}

impl Run {
    fn error(&self) -> &StepError {
        match &self.ending {
            Ending::Failed(error) => error,
            other => panic!("the run ended {other:?}, not failed: {:?}", self.trace),
        }
    }

    fn assert_published(&self) {
        assert!(
            matches!(self.ending, Ending::Published),
            "{:?}: {:?}",
            self.ending,
            self.trace
        );
    }

    fn count(&self, line: &str) -> usize {
        self.trace.iter().filter(|l| *l == line).count()
    }
}

/// The `Retry` of each task for `kind`: which retrier (they count separately) and its
/// `MaxAttempts`, as the definition has them.
fn retrier(task: Task, kind: ErrorKind) -> Option<(usize, u32)> {
    match kind {
        ErrorKind::TikTokRateLimited => Some((1, 5)),
        ErrorKind::TikTokUnavailable | ErrorKind::AwsUnavailable => Some((2, 6)),
        ErrorKind::AccessTokenInvalid if task != Task::Upload => Some((3, 1)),
        _ => None,
    }
}

enum Next {
    Go(Task),
    /// `WaitForInit`, then `Init` again.
    WaitForInit(u64),
    End,
}

async fn drive(rig: &Rig, id: &PostId, mut faults: Vec<(Task, usize, Fault)>) -> Run {
    let pipeline = &rig.pipeline;
    let post_id = id.as_str();
    let mut trace = Vec::new();
    let mut invocations: HashMap<Task, usize> = HashMap::new();
    let mut retries: HashMap<usize, u32> = HashMap::new();
    let mut task = Task::Init;
    for _ in 0..MAX_TASKS {
        let nth = invocations.entry(task).or_default();
        *nth += 1;
        let nth = *nth;
        faults.retain(|(at, when, fault)| {
            let due = *at == task && *when == nth;
            if due {
                rig.stack.fake.inject(fault.clone());
            }
            !due
        });
        let answer = match task {
            Task::Init => pipeline.init_upload(post_id).await.map(|out| {
                if out.ready {
                    trace.push("Init:ready".to_owned());
                    Next::Go(Task::Upload)
                } else {
                    trace.push(format!("Init:wait {}", out.wait_seconds));
                    Next::WaitForInit(out.wait_seconds)
                }
            }),
            // No deadline: what the local runtime's past deadline comes to.
            Task::Upload => pipeline.upload_chunks(post_id, None).await.map(|out| {
                trace.push(
                    if out.done {
                        "Upload:done"
                    } else {
                        "Upload:more"
                    }
                    .to_owned(),
                );
                Next::Go(Task::Status)
            }),
            Task::Status => pipeline.check_status(post_id).await.map(|out| {
                if out.is_final {
                    trace.push("Status:final".to_owned());
                    Next::End
                } else if !out.uploaded {
                    trace.push("Status:upload".to_owned());
                    Next::Go(Task::Upload)
                } else {
                    trace.push("Status:poll".to_owned());
                    Next::Go(Task::Status)
                }
            }),
        };
        let error = match answer {
            Ok(Next::End) => {
                return Run {
                    ending: Ending::Published,
                    trace,
                };
            }
            Ok(Next::WaitForInit(secs)) => {
                // Only short waits belong in a test.
                assert!(secs <= 2, "Init asked for a wait of {secs} s: {trace:?}");
                tokio::time::sleep(Duration::from_secs(secs)).await;
                retries.clear();
                continue;
            }
            Ok(Next::Go(next)) => {
                // Pause: polls loop quickly instead of waiting the whole interval; 250 ms
                // keeps the status fetches under TikTok's 30 a minute.
                if next != Task::Upload {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                retries.clear();
                task = next;
                continue;
            }
            Err(error) => error,
        };
        trace.push(format!("{task:?}!{}", error.kind));
        // Error messages are logged by the runtime and become the run's Cause.
        for secret in rig.stack.fake.secrets_issued() {
            assert!(!error.message.contains(&secret), "a secret in {error:?}");
        }
        if let Some((which, max)) = retrier(task, error.kind) {
            let used = retries.entry(which).or_default();
            if *used < max {
                *used += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        }
        retries.clear();
        match error.kind {
            ErrorKind::PostConflict => {
                return Run {
                    ending: Ending::Duplicate,
                    trace,
                };
            }
            ErrorKind::UploadUrlExpired if task != Task::Init => task = Task::Init,
            _ => {
                let input = FailureInput {
                    post_id: post_id.to_owned(),
                    error: StateMachineError {
                        error: error.kind.name().to_owned(),
                        cause: format!("{}: {}", error.kind.name(), error.message),
                    },
                };
                pipeline.record_failure(&input).await.unwrap();
                return Run {
                    ending: Ending::Failed(error),
                    trace,
                };
            }
        }
    }
    panic!("the run did not end within {MAX_TASKS} tasks: {trace:?}");
}

// ---------------------------------------------------------------------------------------------
// Posts that get through
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_direct_post_of_1_mb_is_published_byte_exact() {
    let rig = rig().await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let video = rig.put_mp4("uploads/clip.mp4", 1_000_000, 12).await;
    let id = rig
        .post(
            &open_id,
            video.location,
            options(r#"{"title":"hello #fyp","privacy_level":"PUBLIC_TO_EVERYONE"}"#),
        )
        .await;

    let run = rig.drive(&id, vec![]).await;
    run.assert_published();
    assert_eq!(&run.trace[..2], ["Init:ready", "Upload:done"]);

    let post = rig.record(&id).await;
    assert_eq!(post.state, PostState::Published);
    let publish = rig
        .stack
        .fake
        .publish(post.publish_id.as_deref().unwrap())
        .unwrap();
    assert_eq!(publish.video_sha256.as_deref(), Some(video.sha256.as_str()));
    assert_eq!(publish.chunks_taken, 1);
    let public_id = publish.post_id.unwrap().to_string();
    assert_eq!(post.outcome.unwrap().public_post_ids, vec![public_id]);
    assert_eq!(publish.post_info.unwrap()["title"], "hello #fyp");
    assert_eq!(rig.inits(), 1);
    assert_eq!(rig.stack.fake.violations(), vec![]);
}

#[tokio::test]
async fn a_scheduled_post_waits_for_its_time_then_a_second_run_is_a_duplicate() {
    let rig = rig().await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let video = rig.put_mp4("uploads/later.mp4", 1_000_000, 10).await;
    let mut scheduled = options(r#"{"privacy_level":"SELF_ONLY"}"#).unwrap();
    scheduled.publish_at = Some(unix_now() + 1);
    let id = rig.post(&open_id, video.location, Some(scheduled)).await;

    let run = rig.drive(&id, vec![]).await;
    run.assert_published();
    assert!(run.trace[0].starts_with("Init:wait "), "{:?}", run.trace);
    assert_eq!(run.count("Init:ready"), 1);

    // The same post started again (a duplicate event) stops quietly and sends nothing.
    let calls = rig.stack.fake.calls().len();
    let again = rig.drive(&id, vec![]).await;
    assert!(matches!(again.ending, Ending::Duplicate), "{again:?}");
    assert_eq!(rig.stack.fake.calls().len(), calls);
    assert_eq!(rig.record(&id).await.state, PostState::Published);
    assert_eq!(rig.stack.fake.violations(), vec![]);
}

#[tokio::test]
async fn a_draft_is_sent_to_the_creators_inbox() {
    let rig = rig().await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let video = rig.put_mp4("uploads/draft.mp4", 2_000_000, 30).await;
    let id = rig
        .post(&open_id, video.location, options(r#"{"mode":"draft"}"#))
        .await;

    rig.drive(&id, vec![]).await.assert_published();

    let post = rig.record(&id).await;
    assert_eq!(post.state, PostState::SentToInbox);
    assert_eq!(rig.stack.fake.call_count(Endpoint::InboxInit), 1);
    assert_eq!(rig.stack.fake.call_count(Endpoint::DirectInit), 0);
    let publish = rig
        .stack
        .fake
        .publish(post.publish_id.as_deref().unwrap())
        .unwrap();
    assert_eq!(publish.video_sha256.as_deref(), Some(video.sha256.as_str()));
    assert_eq!(rig.stack.fake.violations(), vec![]);
}

#[tokio::test]
async fn with_no_upload_budget_each_invocation_sends_one_chunk_in_order() {
    let rig = rig_with(PipelineSettings {
        upload_budget: Duration::ZERO,
        ..PipelineSettings::default()
    })
    .await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let video = rig.put_mp4("uploads/long.mp4", 100_000_000, 300).await;
    let id = rig
        .post(
            &open_id,
            video.location,
            options(r#"{"privacy_level":"SELF_ONLY"}"#),
        )
        .await;

    let run = rig.drive(&id, vec![]).await;
    run.assert_published();
    assert_eq!(
        &run.trace[..4],
        ["Init:ready", "Upload:more", "Status:upload", "Upload:done"]
    );

    let post = rig.record(&id).await;
    assert_eq!(post.state, PostState::Published);
    let publish = rig
        .stack
        .fake
        .publish(post.publish_id.as_deref().unwrap())
        .unwrap();
    assert_eq!(publish.plan.total_chunk_count, 2);
    assert_eq!(publish.video_sha256.as_deref(), Some(video.sha256.as_str()));
    assert_eq!(rig.stack.fake.call_count(Endpoint::UploadChunk), 2);
    assert_eq!(rig.stack.fake.violations(), vec![]);
}

#[tokio::test]
async fn a_chunk_cut_off_mid_body_is_resumed_from_tiktoks_count() {
    let rig = rig_with(PipelineSettings {
        upload_budget: Duration::ZERO,
        ..PipelineSettings::default()
    })
    .await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let video = rig.put_mp4("uploads/cut.mp4", 100_000_000, 300).await;
    let id = rig
        .post(
            &open_id,
            video.location,
            options(r#"{"privacy_level":"SELF_ONLY"}"#),
        )
        .await;

    let reset = Fault::ResetMidBody {
        after_bytes: 1_000_000,
        times: 1,
    };
    let run = rig.drive(&id, vec![(Task::Upload, 2, reset)]).await;
    run.assert_published();
    assert_eq!(run.count("Upload!TikTokUnavailable"), 1, "{:?}", run.trace);

    let post = rig.record(&id).await;
    let publish = rig
        .stack
        .fake
        .publish(post.publish_id.as_deref().unwrap())
        .unwrap();
    assert_eq!(publish.video_sha256.as_deref(), Some(video.sha256.as_str()));
    let taken = rig
        .stack
        .fake
        .calls()
        .iter()
        .filter(|c| c.endpoint == Endpoint::UploadChunk && matches!(c.status, 201 | 206))
        .count();
    assert_eq!(taken, 2, "each range is taken once");
    assert_eq!(rig.stack.fake.call_count(Endpoint::UploadChunk), 3);
    assert_eq!(rig.stack.fake.violations(), vec![]);
}

#[tokio::test]
async fn a_lost_answer_to_the_last_chunk_is_not_sent_again() {
    let rig = rig().await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let video = rig.put_mp4("uploads/lost.mp4", 1_000_000, 10).await;
    let id = rig
        .post(
            &open_id,
            video.location,
            options(r#"{"privacy_level":"SELF_ONLY"}"#),
        )
        .await;

    // TikTok takes the whole chunk, then the connection drops before its 201.
    let lost = Fault::ResetMidBody {
        after_bytes: 1_000_000,
        times: 1,
    };
    let run = rig.drive(&id, vec![(Task::Upload, 1, lost)]).await;
    run.assert_published();
    assert_eq!(run.count("Upload!TikTokUnavailable"), 1, "{:?}", run.trace);
    assert_eq!(rig.stack.fake.call_count(Endpoint::UploadChunk), 1);
    let post = rig.record(&id).await;
    let publish = rig
        .stack
        .fake
        .publish(post.publish_id.as_deref().unwrap())
        .unwrap();
    assert_eq!(publish.video_sha256.as_deref(), Some(video.sha256.as_str()));
    assert_eq!(rig.stack.fake.violations(), vec![]);
}

#[tokio::test]
async fn an_expired_upload_url_starts_the_upload_again_from_init() {
    let rig = rig().await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let video = rig.put_mp4("uploads/late.mp4", 1_000_000, 10).await;
    let id = rig
        .post(
            &open_id,
            video.location,
            options(r#"{"privacy_level":"SELF_ONLY"}"#),
        )
        .await;

    let expire = Fault::ExpireUploadUrl { publish_id: None };
    let run = rig.drive(&id, vec![(Task::Upload, 1, expire)]).await;
    run.assert_published();
    assert_eq!(
        &run.trace[..4],
        [
            "Init:ready",
            "Upload!UploadUrlExpired",
            "Init:ready",
            "Upload:done"
        ]
    );

    let publishes = rig.stack.fake.publishes_for(&open_id);
    assert_eq!(publishes.len(), 2);
    let complete: Vec<_> = publishes.iter().filter(|p| p.complete).collect();
    assert_eq!(complete.len(), 1, "exactly one upload completes");
    let post = rig.record(&id).await;
    assert_eq!(post.state, PostState::Published);
    assert_eq!(
        post.publish_id.as_deref(),
        Some(complete[0].publish_id.as_str())
    );
    assert_eq!(
        complete[0].video_sha256.as_deref(),
        Some(video.sha256.as_str())
    );
    assert_eq!(rig.stack.fake.violations(), vec![]);
}

#[tokio::test]
async fn an_access_token_expiring_mid_run_is_refreshed_once() {
    let rig = rig().await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let video = rig.put_mp4("uploads/token.mp4", 1_000_000, 10).await;
    let id = rig
        .post(
            &open_id,
            video.location,
            options(r#"{"privacy_level":"SELF_ONLY"}"#),
        )
        .await;
    let before = rig.stack.accounts.get(&open_id).await.unwrap().unwrap();
    let exchanges = rig.stack.fake.call_count(Endpoint::Token);

    let expire = Fault::ExpireAccessTokenNow {
        open_id: open_id.clone(),
    };
    rig.drive(&id, vec![(Task::Status, 1, expire)])
        .await
        .assert_published();

    assert_eq!(rig.stack.fake.call_count(Endpoint::Token), exchanges + 1);
    let after = rig.stack.accounts.get(&open_id).await.unwrap().unwrap();
    let current = rig.stack.fake.account(&open_id).unwrap();
    assert_eq!(
        after.access_token.expose_secret(),
        current.access_token.unwrap()
    );
    assert_eq!(
        after
            .refresh_token
            .as_ref()
            .unwrap()
            .open()
            .await
            .unwrap()
            .expose_secret(),
        current.refresh_token.unwrap()
    );
    assert_ne!(
        after.access_token.expose_secret(),
        before.access_token.expose_secret()
    );
    assert_eq!(rig.record(&id).await.state, PostState::Published);
    assert_eq!(rig.stack.fake.violations(), vec![]);
}

#[tokio::test]
async fn a_429_on_init_is_retried_and_the_post_goes_through() {
    let rig = rig().await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let video = rig.put_mp4("uploads/busy.mp4", 1_000_000, 10).await;
    let id = rig
        .post(
            &open_id,
            video.location,
            options(r#"{"privacy_level":"SELF_ONLY"}"#),
        )
        .await;

    let busy = Fault::HttpError {
        endpoint: Endpoint::DirectInit,
        status: 429,
        code: "rate_limit_exceeded".into(),
        times: 1,
    };
    let run = rig.drive(&id, vec![(Task::Init, 1, busy)]).await;
    run.assert_published();
    assert_eq!(&run.trace[..2], ["Init!TikTokRateLimited", "Init:ready"]);
    assert_eq!(rig.stack.fake.call_count(Endpoint::DirectInit), 2);
    assert_eq!(rig.stack.fake.publishes_for(&open_id).len(), 1);
    assert_eq!(rig.record(&id).await.state, PostState::Published);
    assert_eq!(rig.stack.fake.violations(), vec![]);
}

// ---------------------------------------------------------------------------------------------
// Posts that end badly
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn tiktok_failing_the_post_fails_it_with_the_reason_and_advice() {
    let rig = rig().await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let video = rig.put_mp4("uploads/spam.mp4", 1_000_000, 10).await;
    let id = rig
        .post(
            &open_id,
            video.location,
            options(r#"{"privacy_level":"SELF_ONLY"}"#),
        )
        .await;

    let fail = Fault::FailPost {
        open_id: open_id.clone(),
        fail_reason: "spam_risk_too_many_posts".into(),
    };
    let run = rig.drive(&id, vec![(Task::Init, 1, fail)]).await;
    assert_eq!(run.error().kind, ErrorKind::TikTokPostFailed);

    let post = rig.record(&id).await;
    assert_eq!(post.state, PostState::Failed);
    let failure = post.failure.unwrap();
    assert_eq!(failure.kind.name(), "TikTokPostFailed");
    assert!(
        failure.reason.contains("spam_risk_too_many_posts"),
        "{}",
        failure.reason
    );
    assert!(
        failure
            .advice
            .as_deref()
            .unwrap()
            .contains("daily post cap"),
        "{:?}",
        failure.advice
    );
    assert_eq!(rig.stack.fake.violations(), vec![]);
}

/// The run failed on `PostRefused` before anything was sent to TikTok, and the post says why.
async fn assert_refused(rig: &Rig, id: &PostId, run: &Run, why: &[&str]) {
    assert_eq!(run.error().kind, ErrorKind::PostRefused, "{:?}", run.trace);
    assert_eq!(rig.inits(), 0, "nothing may reach TikTok's init");
    let post = rig.record(id).await;
    assert_eq!(post.state, PostState::Refused);
    let failure = post.failure.unwrap();
    assert_eq!(failure.kind.name(), "PostRefused");
    for needle in why {
        assert!(
            failure.reason.contains(needle),
            "{:?} does not say {needle:?}",
            failure.reason
        );
    }
    assert_eq!(rig.stack.fake.violations(), vec![]);
}

#[tokio::test]
async fn a_privacy_level_the_creator_does_not_offer_is_refused() {
    let rig = rig().await;
    let open_id = rig
        .stack
        .connect_account(AccountSeed {
            privacy_level_options: vec!["FOLLOWER_OF_CREATOR".into(), "SELF_ONLY".into()],
            ..AccountSeed::default()
        })
        .await;
    let video = rig.put_mp4("uploads/private.mp4", 1_000_000, 10).await;
    let id = rig
        .post(
            &open_id,
            video.location,
            options(r#"{"privacy_level":"PUBLIC_TO_EVERYONE"}"#),
        )
        .await;
    let run = rig.drive(&id, vec![]).await;
    assert_refused(
        &rig,
        &id,
        &run,
        &[
            "PUBLIC_TO_EVERYONE",
            "not offered",
            "FOLLOWER_OF_CREATOR, SELF_ONLY",
        ],
    )
    .await;
}

#[tokio::test]
async fn a_caption_over_2200_utf16_units_is_refused() {
    // The edge refuses it when the options are parsed...
    let title = format!("{}a", "😀".repeat(1100));
    let json = serde_json::json!({"privacy_level": "SELF_ONLY", "title": title});
    let err = parse_options_json(json.to_string().as_bytes(), unix_now()).unwrap_err();
    assert_eq!(err.field, "title");
    assert!(err.rule.contains("2201"), "{err}");

    // ...and a record that holds one anyway never reaches TikTok.
    let rig = rig().await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let video = rig.put_mp4("uploads/caption.mp4", 1_000_000, 10).await;
    let mut stored = options(r#"{"privacy_level":"SELF_ONLY"}"#).unwrap();
    stored.title = title;
    assert_eq!(stored.title.encode_utf16().count(), MAX_TITLE_UTF16 + 1);
    let id = rig.post(&open_id, video.location, Some(stored)).await;
    let run = rig.drive(&id, vec![]).await;
    assert_refused(&rig, &id, &run, &["title", "2201", "2200"]).await;
}

#[tokio::test]
async fn an_image_is_refused() {
    let rig = rig().await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.resize(20_000, 0);
    let location = rig.put("uploads/photo.mp4", png).await;
    let id = rig
        .post(
            &open_id,
            location,
            options(r#"{"privacy_level":"SELF_ONLY"}"#),
        )
        .await;
    let run = rig.drive(&id, vec![]).await;
    assert_refused(&rig, &id, &run, &["PNG"]).await;
}

#[tokio::test]
async fn an_empty_object_is_refused() {
    let rig = rig().await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let location = rig.put("uploads/empty.mp4", Vec::new()).await;
    let id = rig
        .post(
            &open_id,
            location,
            options(r#"{"privacy_level":"SELF_ONLY"}"#),
        )
        .await;
    let run = rig.drive(&id, vec![]).await;
    assert_refused(&rig, &id, &run, &["empty", "0 bytes"]).await;
}

#[tokio::test]
async fn a_video_longer_than_the_creator_may_post_is_refused() {
    let rig = rig().await;
    let open_id = rig
        .stack
        .connect_account(AccountSeed {
            max_video_post_duration_sec: 60,
            ..AccountSeed::default()
        })
        .await;
    let video = rig.put_mp4("uploads/long.mp4", 1_000_000, 61).await;
    let id = rig
        .post(
            &open_id,
            video.location,
            options(r#"{"privacy_level":"SELF_ONLY"}"#),
        )
        .await;
    let run = rig.drive(&id, vec![]).await;
    assert_refused(&rig, &id, &run, &["61 s long", "at most 60 s"]).await;
}

#[tokio::test]
async fn options_that_never_arrive_are_refused() {
    let rig = rig_with(PipelineSettings {
        options_wait: Duration::ZERO,
        ..PipelineSettings::default()
    })
    .await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let video = rig.put_mp4("uploads/bare.mp4", 1_000_000, 10).await;
    let id = rig.post(&open_id, video.location, None).await;
    let run = rig.drive(&id, vec![]).await;
    assert_refused(&rig, &id, &run, &["options never arrived"]).await;
    let advice = rig.record(&id).await.failure.unwrap().advice.unwrap();
    assert!(advice.contains("manifest"), "{advice}");
}

#[tokio::test]
async fn an_account_never_connected_refuses_the_post_asking_to_connect_it() {
    let rig = rig().await;
    let video = rig.put_mp4("uploads/stranger.mp4", 1_000_000, 10).await;
    let id = rig
        .post(
            "never-connected",
            video.location,
            options(r#"{"privacy_level":"SELF_ONLY"}"#),
        )
        .await;
    let run = rig.drive(&id, vec![]).await;
    assert_eq!(run.error().kind, ErrorKind::PostRefused);
    assert!(
        rig.stack.fake.calls().is_empty(),
        "nothing may reach TikTok"
    );

    let post = rig.record(&id).await;
    assert_eq!(post.state, PostState::Refused);
    let failure = post.failure.unwrap();
    assert_eq!(failure.kind.name(), "PostRefused");
    assert!(
        failure.reason.contains("never-connected")
            && failure.reason.contains("tiktok-publish connect"),
        "{}",
        failure.reason
    );
}
