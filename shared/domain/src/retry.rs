//! Whether a failed post may start again (`POST /posts/{id}/retry`, and the `retryable` flag
//! of `PostFailed` events): a `match` on the recorded [`Cause`], never on its wording.
//!
//! - retried: passing trouble (`TikTokRateLimited`, `TikTokUnavailable`, `AwsUnavailable`),
//!   `AccessTokenInvalid`, `UploadUrlExpired`, `AccountNeedsReconnect` and TikTok's
//!   `auth_removed` (once the account is connected again: checked before the retry), a
//!   failure at TikTok (`internal`, `video_pull_failed`, the daily cap, processing that never
//!   finished, uploads that kept restarting), a daily cap refused at init, a post stopped by
//!   the platform (a Lambda crash, a time-out) or failed by the sweep as stuck, and a post
//!   refused because its account was not connected (once it is);
//! - refused, saying why: anything refused for its content or options, TikTok's format,
//!   duration, spam and privacy refusals, `VideoChanged` (the new version is a new post:
//!   upload it), a ban, a post cancelled in TikTok, a known bug (`Internal`), a publish TikTok
//!   forgot after it had every byte (it may be live), and posts retried [`MAX_RETRIES`]
//!   times already.

use crate::cause::Cause;
use crate::errors::ErrorKind;
use crate::post::{PostFailure, PostRecord, PostState};

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
pub(crate) const PASSING_REJECTIONS: [&str; 2] =
    ["spam_risk_too_many_posts", "reached_active_user_cap"];

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
        .filter(|h| h.fact.as_ref().is_some_and(|f| f.is_retry()))
        .count()
}

/// Whether the post's last move was a retry's (it is queued by that retry).
pub fn queued_by_retry(post: &PostRecord) -> bool {
    post.state == PostState::Queued
        && post
            .history
            .last()
            .and_then(|h| h.fact.as_ref())
            .is_some_and(|f| f.is_retry())
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
    if post.state == PostState::Refused {
        // The only refusals a retry fixes: the account was not connected, or had not
        // granted the scope, or the stack had no front door, and may be (or have) now.
        return match failure.cause {
            Cause::NotConnected { .. }
            | Cause::ScopeNotGranted { .. }
            | Cause::FrontDoorMissing => Ok(()),
            _ => refused(
                failure,
                "post_refused",
                "the post was refused before reaching TikTok",
            ),
        };
    }
    match &failure.cause {
        Cause::PublishForgotten => refused(
            failure,
            "publish_outcome_unknown",
            "TikTok forgot the upload after it had the whole video, so the post may be live \
             already; a retry could post it twice",
        ),
        Cause::UploadOutcomeUnknown { .. } => refused(
            failure,
            "publish_outcome_unknown",
            "the whole video may have reached TikTok before the upload stopped, so the post \
             may be live already; a retry could post it twice",
        ),
        Cause::TikTokFailed { fail_reason }
            if PERMANENT_FAIL_REASONS.contains(&fail_reason.as_str()) =>
        {
            refused(
                failure,
                "tiktok_refused_the_video",
                "TikTok refused the video",
            )
        }
        // TikTok's trouble, not the video's.
        Cause::TikTokFailed { .. }
        | Cause::ProcessingTimedOut { .. }
        | Cause::TooManyInits { .. } => Ok(()),
        Cause::TikTokRefused { code, .. } if PASSING_REJECTIONS.contains(&code.as_str()) => Ok(()),
        Cause::TikTokRefused { .. } => refused(
            failure,
            "tiktok_refused_the_post",
            "TikTok refused the post",
        ),
        Cause::Stuck { .. } => Ok(()),
        Cause::PipelineStopped { error, .. } => match ErrorKind::from_name(error) {
            // Stopped by the platform (States.Timeout, a Lambda crash).
            None => Ok(()),
            Some(kind) => verdict_of_kind(failure, kind),
        },
        Cause::FreshTokenRefused | Cause::AuthorizationRemoved => Ok(()),
        Cause::VideoChanged { .. } => verdict_of_kind(failure, ErrorKind::VideoChanged),
        Cause::OptionsInvalid { .. }
        | Cause::OptionsNeverArrived { .. }
        | Cause::NotConnected { .. }
        | Cause::NoPrivacyLevel
        | Cause::TitleTooLong { .. }
        | Cause::PrivacyLevelNotOffered { .. }
        | Cause::InteractionDisabled { .. }
        | Cause::VideoTooLong { .. }
        | Cause::CoverPastEnd { .. }
        | Cause::ScopeNotGranted { .. }
        | Cause::FrontDoorMissing
        | Cause::PhotoRefused { .. }
        | Cause::VideoRefused { .. } => verdict_of_kind(failure, ErrorKind::PostRefused),
        Cause::Error { kind, .. } => verdict_of_kind(failure, *kind),
    }
}

/// The verdict on a failure known by its kind alone.
fn verdict_of_kind(failure: &PostFailure, kind: ErrorKind) -> Result<(), NotRetryable> {
    match kind {
        ErrorKind::TikTokRateLimited
        | ErrorKind::TikTokUnavailable
        | ErrorKind::AwsUnavailable
        | ErrorKind::AccessTokenInvalid
        | ErrorKind::UploadUrlExpired
        | ErrorKind::AccountNeedsReconnect
        // Nothing says the video is at fault.
        | ErrorKind::TikTokPostFailed => Ok(()),
        ErrorKind::TikTokRejected => {
            refused(failure, "tiktok_refused_the_post", "TikTok refused the post")
        }
        ErrorKind::Internal => refused(
            failure,
            "post_not_retryable",
            "the post failed on a bug or a misconfiguration; fix that, then upload the video \
             again",
        ),
        ErrorKind::VideoChanged => refused(
            failure,
            "video_changed",
            "the video was replaced or deleted while it was uploading; upload it again (the \
             new version is a new post)",
        ),
        ErrorKind::PostRefused => refused(failure, "post_refused", "the post was refused"),
        ErrorKind::PostConflict => refused(
            failure,
            "post_not_retryable",
            "another run owned the post when it failed",
        ),
    }
}

fn refused(failure: &PostFailure, code: &'static str, why: &str) -> Result<(), NotRetryable> {
    let advice = failure
        .advice
        .as_deref()
        .map(|a| format!(" {a}."))
        .unwrap_or_default();
    Err(NotRetryable::new(
        code,
        format!(
            "{why} ({}); a retry would fail the same way.{advice}",
            failure.reason
        ),
    ))
}

#[cfg(test)]
#[path = "retry_tests.rs"]
mod tests;
