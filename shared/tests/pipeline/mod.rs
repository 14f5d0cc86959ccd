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

mod crashes;
mod faults;
mod photos;
mod published;
mod pull;
mod pull_cancel;
mod pull_front_door;
mod refusals;
mod scopes;

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
                if out.ready && out.pulled {
                    // InitReady: a pull has nothing to upload (Pause, then Status).
                    trace.push("Init:pulled".to_owned());
                    Next::Go(Task::Status)
                } else if out.ready {
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
                assert!(secs <= 3, "Init asked for a wait of {secs} s: {trace:?}");
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
