//! The steps of publishing one post, as the state machine calls them.
//!
//! Each step reads the post record (the truth users see), does its part, moves the record
//! with a conditional write, and answers a small JSON object the state machine routes on.
//! No step puts a token or the upload URL into its answer: Step Functions logs them.
//!
//! Final failures are recorded on the post by the step that meets them (it knows the
//! detail); the state machine's `record_failure` task is the fallback for failures a step
//! could not record itself (a crash, a time-out, retries exhausted).

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::ends::PostEnds;
use crate::errors::{Classify, ErrorKind};
use crate::media::probe::ProbeError;
use crate::media::{PreparedPhotos, SourceError, VideoSource};
use crate::store::{AllowanceStore, Cause, PostStore};
use crate::tiktok::{ChunkPolicy, TikTokError, TikTokPosting, VideoSource as VideoSourceKind};
use crate::tokens::TokenService;
use crate::transfer::UploadFailed;
use tiktok_publish_domain::media_url::MediaUrlSigner;

pub use tiktok_publish_domain::options;
mod steps;

pub use steps::{FailureInput, StateMachineError, StatusAnswer, StatusTask};

/// Settings of the steps.
#[derive(Debug, Clone)]
pub struct PipelineSettings {
    pub chunk_policy: ChunkPolicy,
    /// How long one chunk-upload invocation may spend sending chunks when the Lambda
    /// deadline is unknown (the local runtime sends a past deadline).
    pub upload_budget: Duration,
    /// Time kept free before the Lambda deadline (recording progress, answering).
    pub deadline_reserve: Duration,
    /// Upload URLs live about an hour; past this age a fresh init is made instead.
    pub upload_url_lifetime: Duration,
    /// How long a video may wait for its options (manifest) before it is refused.
    pub options_wait: Duration,
    /// How often a post waiting for options looks again.
    pub options_poll: Duration,
    /// How long TikTok may take to process an upload before the post is failed.
    pub processing_deadline: Duration,
    /// How many times one post may be initialised (expired upload URLs) before it fails.
    pub max_inits: u32,
    /// The front door TikTok pulls videos from, when the stack has one.
    pub front_door: Option<FrontDoor>,
}

/// The stack's front door (docs/front-door.md): it signs the media URLs TikTok pulls.
#[derive(Debug, Clone)]
pub struct FrontDoor {
    pub signer: MediaUrlSigner,
    /// How a post goes when its options do not say: `PULL_FROM_URL` once a front door is
    /// configured, unless the stack's settings keep `FILE_UPLOAD`.
    pub default_source: VideoSourceKind,
}

impl Default for PipelineSettings {
    fn default() -> Self {
        PipelineSettings {
            chunk_policy: ChunkPolicy::default(),
            upload_budget: Duration::from_secs(600),
            deadline_reserve: Duration::from_secs(20),
            upload_url_lifetime: Duration::from_secs(55 * 60),
            options_wait: Duration::from_secs(15 * 60),
            options_poll: Duration::from_secs(30),
            processing_deadline: Duration::from_secs(2 * 3600),
            max_inits: 4,
            front_door: None,
        }
    }
}

/// Everything the steps talk to, built once per cold start.
#[derive(Clone)]
pub struct Pipeline {
    pub posts: Arc<dyn PostStore>,
    /// What a post's end sets off (events, metrics, retention tags).
    pub ends: PostEnds,
    pub tokens: TokenService,
    pub tiktok: Arc<dyn TikTokPosting>,
    pub source: Arc<dyn VideoSource>,
    /// Where converted photos are written (the bucket the front door serves).
    pub photos: Arc<dyn PreparedPhotos>,
    pub allowances: Arc<dyn AllowanceStore>,
    pub settings: PipelineSettings,
}

/// What every step takes: the post's id (the execution's input carries it along).
#[derive(Debug, Clone, Deserialize)]
pub struct StepInput {
    pub post_id: String,
}

/// `upload-init`'s answer. `ready: false` means "wait `wait_seconds`, then call again"
/// (scheduled time, options not yet arrived, or the account's call budget spent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitOutput {
    pub post_id: String,
    pub ready: bool,
    pub wait_seconds: u64,
    /// TikTok pulls the video: nothing to upload, the run goes straight to the status.
    #[serde(default)]
    pub pulled: bool,
}

/// `chunk-upload`'s answer: `done` once TikTok has the whole video.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadOutput {
    pub post_id: String,
    pub done: bool,
    pub wait_seconds: u64,
}

/// `publish-status`'s answer: `final` once the outcome is recorded; otherwise poll again
/// after `wait_seconds`. `uploaded: false` sends the run back to chunk-upload (one Wait
/// state serves both loops, which saves a billed transition per upload pause).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusOutput {
    pub post_id: String,
    #[serde(rename = "final")]
    pub is_final: bool,
    pub uploaded: bool,
    pub wait_seconds: u64,
}

/// A step's failure: its kind (the Lambda `errorType`), a message for people, and its
/// typed cause (what the post records when the failure is final).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct StepError {
    pub kind: ErrorKind,
    pub message: String,
    /// Boxed: a step's `Result` stays small.
    pub cause: Box<Cause>,
}

impl StepError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        StepError::caused(Cause::Error {
            kind,
            message: message.into(),
        })
    }

    /// The failure of `cause`: its kind, and its reason as the message.
    pub fn caused(cause: Cause) -> Self {
        StepError {
            kind: cause.kind(),
            message: cause.to_string(),
            cause: Box::new(cause),
        }
    }

    /// Any classified error, keeping its message (and TikTok's code, when TikTok refused).
    pub fn from_error<E: Classify + std::fmt::Display>(error: E) -> Self {
        StepError::caused(Cause::from_error(&error))
    }
}

impl Classify for StepError {
    fn kind(&self) -> ErrorKind {
        self.kind
    }

    fn tiktok_code(&self) -> Option<&str> {
        match self.cause.as_ref() {
            Cause::TikTokRefused { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// The errors the steps settle (see `Pipeline::settle`), each kept with its cause.
macro_rules! step_error_from {
    ($($error:ty),+ $(,)?) => {
        $(impl From<$error> for StepError {
            fn from(error: $error) -> Self {
                StepError::from_error(error)
            }
        })+
    };
}

step_error_from!(SourceError, ProbeError, TikTokError, UploadFailed);

impl From<StepError> for lambda_runtime::Diagnostic {
    fn from(error: StepError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: error.kind.name().to_owned(),
            error_message: error.message,
        }
    }
}

/// How long to wait before the next status fetch, from how long TikTok has been processing:
/// TikTok usually takes 10-30 s (minutes for GBs), and allows 30 fetches a minute per
/// account, which a burst of posts shares.
pub fn status_poll_interval(processing_for: Duration, video_size: u64) -> Duration {
    // About 30 s per 512 MB of processing before the first look (TikTok's own figures);
    // 15 s steps catch the typical 30 s in two fetches.
    let expected = 15 + video_size / 17_000_000;
    let secs = processing_for.as_secs();
    let wait = if secs < expected {
        expected - secs
    } else {
        // Back off as it takes longer: a third of the time spent, 15 s to 2 min.
        (secs / 3).clamp(15, 120)
    };
    Duration::from_secs(wait.min(300))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_errors_carry_their_stable_name_to_the_runtime() {
        for kind in ErrorKind::ALL {
            let diagnostic: lambda_runtime::Diagnostic = StepError::new(*kind, "why").into();
            assert_eq!(diagnostic.error_type, kind.name());
            assert_eq!(diagnostic.error_message, "why");
        }
    }

    #[test]
    fn status_polls_back_off_and_stay_bounded() {
        let small = 10_000_000;
        assert_eq!(
            status_poll_interval(Duration::ZERO, small),
            Duration::from_secs(15)
        );
        assert_eq!(
            status_poll_interval(Duration::from_secs(15), small),
            Duration::from_secs(15)
        );
        assert_eq!(
            status_poll_interval(Duration::from_secs(90), small),
            Duration::from_secs(30)
        );
        assert_eq!(
            status_poll_interval(Duration::from_secs(3600), small),
            Duration::from_secs(120)
        );
        // A 4 GB video is given TikTok's expected few minutes before the first look.
        let first = status_poll_interval(Duration::ZERO, 4_000_000_000);
        assert!(first >= Duration::from_secs(200), "{first:?}");
        let mut previous = Duration::ZERO;
        for secs in (30..7200).step_by(30) {
            let wait = status_poll_interval(Duration::from_secs(secs), small);
            assert!(wait >= previous && wait <= Duration::from_secs(120));
            previous = wait;
        }
    }
}
