//! `POST /posts/{id}/retry`: a failed post starts again, through the same record and the
//! same steps, when the failure is one a new attempt can get past.
//!
//! [`retry_verdict`] decides from the recorded failure alone (it also fills the
//! `retryable` flag of `PostFailed` events):
//!
//! - retried: passing trouble (`TikTokRateLimited`, `TikTokUnavailable`, `AwsUnavailable`),
//!   `AccessTokenInvalid`, `UploadUrlExpired`, `AccountNeedsReconnect` and TikTok's
//!   `auth_removed` (once the account is connected again: checked before the retry),
//!   `TikTokPostFailed` for a fault at TikTok (`internal`, `video_pull_failed`, the daily
//!   cap, processing that never finished), a daily cap refused at init, a post stopped by the
//!   platform (a Lambda crash, a time-out) or failed by the sweep as stuck, and a post refused
//!   because its account was not connected (once it is);
//! - refused, saying why: anything refused for its content or options (`PostRefused`,
//!   TikTok's format, duration, spam and privacy refusals), `VideoChanged` (the new version
//!   is a new post: upload it), a ban, a post cancelled in TikTok, a known bug (`Internal`),
//!   and posts retried [`MAX_RETRIES`] times already.
//!
//! The post goes back to `QUEUED` (its history kept, its failure cleared; the history entry
//! says which attempt and after what) and a new execution starts, named
//! `{post_id}-retry{n}`: Step Functions keeps an execution's name for 90 days, so the
//! post's own name cannot start again. A repeated request for a post already queued by a
//! retry starts that same attempt again (harmless: same name, same input), which also
//! covers a crash between the write and the start.

use super::{ApiAnswer, ApiError, PostsApi, answer_of, view_json};
use crate::errors::ErrorKind;
use crate::pipeline::PUBLISH_FORGOTTEN_MARK;
use crate::store::{PostId, PostRecord, PostState, PostUpdate, StoreError, unix_now};
use crate::sweep::STUCK_REASON_PREFIX;

/// The history note of a retry starts with this, then the attempt number.
pub const RETRY_NOTE_PREFIX: &str = "retry ";
/// A post is retried at most this many times; after that, upload it again as a new post.
pub const MAX_RETRIES: usize = 5;

/// TikTok's `fail_reason`s that say the video or the account cannot be posted as it is.
const PERMANENT_FAIL_REASONS: [&str; 8] = [
    "file_format_check_failed",
    "duration_check_failed",
    "frame_rate_check_failed",
    "picture_size_check_failed",
    "spam_risk_user_banned_from_posting",
    "spam_risk_text",
    "spam_risk",
    "publish_cancelled",
];
/// Init refusals that pass with time (a daily cap, the app's active-user cap).
const PASSING_REJECTIONS: [&str; 2] = ["spam_risk_too_many_posts", "reached_active_user_cap"];
/// What the pipeline writes when a post's account holds no tokens (steps.rs).
const NOT_CONNECTED_MARK: &str = "is not connected";
/// What `record_failure` writes for an error the state machine caught.
const PIPELINE_STOPPED_PREFIX: &str = "the pipeline stopped on ";

/// Why a post cannot be retried: an API code and a message that says what to do instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotRetryable {
    pub code: &'static str,
    pub message: String,
}

impl NotRetryable {
    fn new(code: &'static str, message: impl Into<String>) -> NotRetryable {
        NotRetryable {
            code,
            message: message.into(),
        }
    }
}

/// How many times the post was retried already.
pub fn retries_so_far(post: &PostRecord) -> usize {
    post.history
        .iter()
        .filter(|h| is_retry_note(h.note.as_deref()))
        .count()
}

/// Whether a history note is a retry's (the pipeline counts its inits since the last one).
pub fn is_retry_note(note: Option<&str>) -> bool {
    note.is_some_and(|n| n.starts_with(RETRY_NOTE_PREFIX))
}

/// The name of the execution of retry number `attempt` (1 for the first retry).
pub fn attempt_execution_name(post_id: &PostId, attempt: usize) -> Result<String, ApiError> {
    let name = format!("{post_id}-retry{attempt}");
    if name.len() > PostId::MAX_LEN {
        return Err(ApiError::internal(format!(
            "post id {post_id} is too long to name a retry's execution"
        )));
    }
    Ok(name)
}

/// Whether a retry can get the post past what stopped it (its state and recorded failure;
/// whether its account can post now is checked separately).
pub fn retry_verdict(post: &PostRecord) -> Result<(), NotRetryable> {
    match post.state {
        PostState::Failed | PostState::Refused => {}
        PostState::Published | PostState::SentToInbox => {
            return Err(NotRetryable::new(
                "post_not_retryable",
                format!(
                    "post {} is {}: it reached TikTok already",
                    post.id, post.state
                ),
            ));
        }
        PostState::Cancelled => {
            return Err(NotRetryable::new(
                "post_not_retryable",
                format!(
                    "post {} was cancelled; to post the video, upload it again (a new version \
                     is a new post)",
                    post.id
                ),
            ));
        }
        state => {
            return Err(NotRetryable::new(
                "post_not_retryable",
                format!(
                    "post {} is {state}: it is still in progress; only FAILED or REFUSED posts \
                     can be retried",
                    post.id
                ),
            ));
        }
    }
    let retries = retries_so_far(post);
    if retries >= MAX_RETRIES {
        return Err(NotRetryable::new(
            "retry_limit_reached",
            format!(
                "post {} was retried {retries} times already; upload the video again to make \
                 a new post",
                post.id
            ),
        ));
    }
    let Some(failure) = &post.failure else {
        // A failure whose reason was never recorded: nothing says it is permanent.
        return if post.state == PostState::Failed {
            Ok(())
        } else {
            Err(NotRetryable::new(
                "post_refused",
                "the post was refused before reaching TikTok; upload it again with valid options",
            ))
        };
    };
    let reason = failure.reason.as_str();
    let refused = |code: &'static str, why: &str| {
        let advice = failure
            .advice
            .as_deref()
            .map(|a| format!(" {a}."))
            .unwrap_or_default();
        Err(NotRetryable::new(
            code,
            format!("{why} ({reason}); a retry would fail the same way.{advice}"),
        ))
    };
    if post.state == PostState::Refused {
        // The only refusal a retry fixes: the account was not connected, and may be now.
        return if reason.contains(NOT_CONNECTED_MARK) {
            Ok(())
        } else {
            refused(
                "post_refused",
                "the post was refused before reaching TikTok",
            )
        };
    }
    let Some(kind) = failure.error_kind() else {
        return Ok(());
    };
    match kind {
        ErrorKind::TikTokRateLimited
        | ErrorKind::TikTokUnavailable
        | ErrorKind::AwsUnavailable
        | ErrorKind::AccessTokenInvalid
        | ErrorKind::UploadUrlExpired
        | ErrorKind::AccountNeedsReconnect => Ok(()),
        ErrorKind::TikTokPostFailed if reason.starts_with(PUBLISH_FORGOTTEN_MARK) => refused(
            "publish_outcome_unknown",
            "TikTok forgot the upload after it had the whole video, so the post may be live \
             already; a retry could post it twice",
        ),
        ErrorKind::TikTokPostFailed => {
            // "TikTok could not publish the video: CODE"; other reasons (processing never
            // finished, uploads that kept restarting) are TikTok's trouble, not the video's.
            let code = reason.rsplit(": ").next().unwrap_or(reason);
            if PERMANENT_FAIL_REASONS.contains(&code) {
                refused("tiktok_refused_the_video", "TikTok refused the video")
            } else {
                Ok(())
            }
        }
        ErrorKind::TikTokRejected => {
            if PASSING_REJECTIONS.iter().any(|code| reason.contains(code)) {
                Ok(())
            } else {
                refused("tiktok_refused_the_post", "TikTok refused the post")
            }
        }
        ErrorKind::Internal
            if reason.starts_with(STUCK_REASON_PREFIX)
                || (reason.starts_with(PIPELINE_STOPPED_PREFIX)
                    && !reason[PIPELINE_STOPPED_PREFIX.len()..].starts_with("Internal")) =>
        {
            // Stuck, or stopped by the platform (States.Timeout, a Lambda crash).
            Ok(())
        }
        ErrorKind::Internal => refused(
            "post_not_retryable",
            "the post failed on a bug or a misconfiguration; fix that, then upload the video \
             again",
        ),
        ErrorKind::VideoChanged => refused(
            "video_changed",
            "the video was replaced or deleted while it was uploading; upload it again (the \
             new version is a new post)",
        ),
        ErrorKind::PostRefused => refused("post_refused", "the post was refused"),
        ErrorKind::PostConflict => refused(
            "post_not_retryable",
            "another run owned the post when it failed",
        ),
    }
}

impl PostsApi {
    /// `POST /posts/{id}/retry`: 202 with the post queued again (200 when it was queued by
    /// a retry already), 409 saying why not, 404 for an unknown post, 503 to try again.
    #[tracing::instrument(skip(self))]
    pub async fn retry_post(&self, id: &str) -> ApiAnswer {
        answer_of(self.retry(id).await)
    }

    async fn retry(&self, id: &str) -> Result<ApiAnswer, ApiError> {
        let post = self.find_post(id).await?;
        let retries = retries_so_far(&post);
        let queued_by_retry = post.state == PostState::Queued
            && is_retry_note(post.history.last().and_then(|h| h.note.as_deref()));
        if queued_by_retry {
            let name = attempt_execution_name(&post.id, retries)?;
            self.intake.executions.start_named(&post.id, &name).await?;
            return Ok(ApiAnswer::json(200, view_json(&post)?));
        }
        if let Err(refusal) = retry_verdict(&post) {
            return Err(ApiError::conflict(refusal.code, refusal.message).with_state(post.state));
        }
        let Some(options) = &post.options else {
            return Err(ApiError::conflict(
                "post_not_retryable",
                format!(
                    "post {} has no options; upload the video again with its options manifest",
                    post.id
                ),
            )
            .with_state(post.state));
        };
        // Retrying for an account that cannot post would only fail again.
        let now = unix_now();
        self.check_account_can_post(&post.open_id, options.mode, now)
            .await
            .map_err(|err| err.with_state(post.state))?;

        let attempt = retries + 1;
        let name = attempt_execution_name(&post.id, attempt)?;
        let after = post
            .failure
            .as_ref()
            .map_or_else(|| "an unrecorded failure".to_owned(), |f| f.kind.clone());
        let update = PostUpdate {
            note: Some(format!("{RETRY_NOTE_PREFIX}{attempt} after {after}")),
            clear_failure: true,
            ..PostUpdate::default()
        };
        let queued = match self
            .posts()
            .transition(&post.id, &[post.state], PostState::Queued, update, now)
            .await
        {
            Ok(queued) => queued,
            // Another retry (or anything else) moved it first.
            Err(StoreError::StateConflict { found, .. }) => {
                return Err(ApiError::conflict(
                    "post_not_retryable",
                    format!("post {} moved to {found} meanwhile; read it again", post.id),
                )
                .with_state(found));
            }
            Err(err) => return Err(err.into()),
        };
        // On failure the post stays QUEUED by this retry: the caller's next retry starts
        // this same attempt (see above).
        self.intake.executions.start_named(&post.id, &name).await?;
        tracing::info!(post_id = %post.id, attempt, execution = %name, "post retried");
        Ok(ApiAnswer::json(202, view_json(&queued)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::VideoLocation;
    use crate::store::{HistoryEntry, PostFailure, PostSource};

    fn failed(kind: ErrorKind, reason: &str) -> PostRecord {
        let mut post = PostRecord::new(
            "open-1",
            PostSource::at(VideoLocation {
                bucket: "b".into(),
                key: "uploads/open-1/a.mp4".into(),
                version_id: None,
            }),
            None,
            PostState::Failed,
            1,
        );
        post.failure = Some(PostFailure::new(kind, reason, None));
        post
    }

    #[test]
    fn passing_failures_are_retried_and_content_failures_refused() {
        let retried = [
            (ErrorKind::TikTokUnavailable, "TikTok answered 503"),
            (ErrorKind::TikTokRateLimited, "429"),
            (ErrorKind::AwsUnavailable, "throttled"),
            (ErrorKind::UploadUrlExpired, "expired"),
            (ErrorKind::AccountNeedsReconnect, "refresh refused"),
            (
                ErrorKind::TikTokPostFailed,
                "TikTok could not publish the video: internal",
            ),
            (
                ErrorKind::TikTokPostFailed,
                "TikTok could not publish the video: auth_removed",
            ),
            (
                ErrorKind::TikTokPostFailed,
                "TikTok did not finish processing within 120 minutes",
            ),
            (
                ErrorKind::TikTokRejected,
                "TikTok refused init: spam_risk_too_many_posts: cap",
            ),
            (
                ErrorKind::Internal,
                "the pipeline stopped on States.Timeout",
            ),
            (
                ErrorKind::Internal,
                &format!("{STUCK_REASON_PREFIX} in UPLOADING"),
            ),
        ];
        for (kind, reason) in retried {
            assert_eq!(
                retry_verdict(&failed(kind, reason)),
                Ok(()),
                "{kind} {reason}"
            );
        }
        let refused = [
            (ErrorKind::PostRefused, "bad options", "post_refused"),
            (ErrorKind::VideoChanged, "etag changed", "video_changed"),
            (
                ErrorKind::TikTokPostFailed,
                "TikTok could not publish the video: spam_risk",
                "tiktok_refused_the_video",
            ),
            (
                ErrorKind::TikTokPostFailed,
                "TikTok could not publish the video: duration_check_failed",
                "tiktok_refused_the_video",
            ),
            (
                ErrorKind::TikTokRejected,
                "TikTok refused init: privacy_level_option_mismatch: no",
                "tiktok_refused_the_post",
            ),
            (
                ErrorKind::Internal,
                "the pipeline stopped on Internal: bug",
                "post_not_retryable",
            ),
        ];
        for (kind, reason, code) in refused {
            let refusal = retry_verdict(&failed(kind, reason)).unwrap_err();
            assert_eq!(refusal.code, code, "{kind} {reason}");
            assert!(refusal.message.contains(reason), "{}", refusal.message);
        }
    }

    #[test]
    fn only_failed_or_refused_posts_are_retried_a_bounded_number_of_times() {
        for state in PostState::ALL {
            let mut post = failed(ErrorKind::TikTokUnavailable, "503");
            post.state = state;
            let verdict = retry_verdict(&post);
            match state {
                PostState::Failed => assert_eq!(verdict, Ok(())),
                _ => assert!(verdict.is_err(), "{state}"),
            }
        }
        let mut refused = failed(
            ErrorKind::PostRefused,
            "the TikTok account o is not connected (never connected, or disconnected)",
        );
        refused.state = PostState::Refused;
        assert_eq!(retry_verdict(&refused), Ok(()));

        let mut tired = failed(ErrorKind::TikTokUnavailable, "503");
        for n in 1..=MAX_RETRIES {
            tired.history.push(HistoryEntry {
                state: PostState::Queued,
                at: 2,
                note: Some(format!("{RETRY_NOTE_PREFIX}{n} after TikTokUnavailable")),
            });
        }
        assert_eq!(retries_so_far(&tired), MAX_RETRIES);
        assert_eq!(
            retry_verdict(&tired).unwrap_err().code,
            "retry_limit_reached"
        );
    }

    #[test]
    fn attempt_names_are_valid_execution_names() {
        let id = PostId::parse(&"a".repeat(64)).unwrap();
        let name = attempt_execution_name(&id, 3).unwrap();
        assert_eq!(name, format!("{}-retry3", "a".repeat(64)));
        assert!(PostId::parse(&name).is_ok());
        let long = PostId::parse(&"a".repeat(80)).unwrap();
        assert!(attempt_execution_name(&long, 1).is_err());
    }
}
