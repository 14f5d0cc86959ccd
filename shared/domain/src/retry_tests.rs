use super::*;
use crate::cause::Interaction;
use crate::fact::Fact;
use crate::post::{HistoryEntry, PostSource};
use crate::tiktok::PrivacyLevel;
use crate::video::VideoLocation;

fn failed(cause: Cause) -> PostRecord {
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
    post.failure = Some(PostFailure::new(cause, None));
    post
}

fn error(kind: ErrorKind, message: &str) -> Cause {
    Cause::Error {
        kind,
        message: message.into(),
    }
}

fn tiktok_failed(fail_reason: &str) -> Cause {
    Cause::TikTokFailed {
        fail_reason: fail_reason.into(),
    }
}

fn tiktok_refused(code: &str, message: &str) -> Cause {
    Cause::TikTokRefused {
        code: code.into(),
        message: message.into(),
    }
}

#[test]
fn passing_failures_are_retried_and_content_failures_refused() {
    let retried = [
        error(ErrorKind::TikTokUnavailable, "TikTok answered 503"),
        error(ErrorKind::TikTokRateLimited, "429"),
        error(ErrorKind::AwsUnavailable, "throttled"),
        error(ErrorKind::UploadUrlExpired, "expired"),
        error(ErrorKind::AccountNeedsReconnect, "refresh refused"),
        tiktok_failed("internal"),
        tiktok_failed("auth_removed"),
        Cause::ProcessingTimedOut { minutes: 120 },
        tiktok_refused(
            "spam_risk_too_many_posts",
            "TikTok refused init: spam_risk_too_many_posts: cap",
        ),
        Cause::PipelineStopped {
            error: "States.Timeout".into(),
            detail: None,
        },
        Cause::Stuck {
            state: PostState::Uploading,
            minutes: 30,
        },
    ];
    for cause in retried {
        let (kind, reason) = (cause.kind(), cause.to_string());
        assert_eq!(retry_verdict(&failed(cause)), Ok(()), "{kind} {reason}");
    }
    let refused = [
        (error(ErrorKind::PostRefused, "bad options"), "post_refused"),
        (
            error(ErrorKind::VideoChanged, "etag changed"),
            "video_changed",
        ),
        (tiktok_failed("spam_risk"), "tiktok_refused_the_video"),
        (
            tiktok_failed("duration_check_failed"),
            "tiktok_refused_the_video",
        ),
        (
            tiktok_refused(
                "privacy_level_option_mismatch",
                "TikTok refused init: privacy_level_option_mismatch: no",
            ),
            "tiktok_refused_the_post",
        ),
        (
            Cause::PipelineStopped {
                error: "Internal".into(),
                detail: Some("bug".into()),
            },
            "post_not_retryable",
        ),
    ];
    for (cause, code) in refused {
        let (kind, reason) = (cause.kind(), cause.to_string());
        let refusal = retry_verdict(&failed(cause)).unwrap_err();
        assert_eq!(refusal.code, code, "{kind} {reason}");
        assert!(refusal.message.contains(&reason), "{}", refusal.message);
    }
}

#[test]
fn only_failed_or_refused_posts_are_retried_a_bounded_number_of_times() {
    for state in PostState::ALL {
        let mut post = failed(error(ErrorKind::TikTokUnavailable, "503"));
        post.state = state;
        let verdict = retry_verdict(&post);
        match state {
            PostState::Failed => assert_eq!(verdict, Ok(())),
            _ => assert!(verdict.is_err(), "{state}"),
        }
    }
    let mut refused = failed(Cause::NotConnected {
        open_id: "o".into(),
    });
    refused.state = PostState::Refused;
    assert_eq!(retry_verdict(&refused), Ok(()));
    let mut without_scope = failed(Cause::ScopeNotGranted {
        scope: "video.publish".into(),
    });
    without_scope.state = PostState::Refused;
    assert_eq!(retry_verdict(&without_scope), Ok(()));

    let mut tired = failed(error(ErrorKind::TikTokUnavailable, "503"));
    for n in 1..=MAX_RETRIES {
        tired.history.push(HistoryEntry::new(
            PostState::Queued,
            2,
            Some(Fact::Retried {
                attempt: n as u32,
                after: Some(ErrorKind::TikTokUnavailable),
            }),
        ));
    }
    assert_eq!(retries_so_far(&tired), MAX_RETRIES);
    assert_eq!(
        retry_verdict(&tired).unwrap_err().code,
        "retry_limit_reached"
    );
}

/// Every cause, failed and refused: the verdict of each, and the code of each refusal.
#[test]
fn each_cause_has_its_verdict() {
    let creator = || "Ana (@ana)".to_owned();
    let cases: Vec<(Cause, Option<&str>)> = vec![
        (
            Cause::OptionsInvalid {
                field: "title".into(),
                rule: "too long".into(),
            },
            Some("post_refused"),
        ),
        (
            Cause::OptionsNeverArrived { waited_secs: 900 },
            Some("post_refused"),
        ),
        // Failed (not refused) without tokens: it had reached TikTok before; as before.
        (
            Cause::NotConnected {
                open_id: "o".into(),
            },
            Some("post_refused"),
        ),
        (Cause::NoPrivacyLevel, Some("post_refused")),
        (
            Cause::TitleTooLong { utf16_units: 2201 },
            Some("post_refused"),
        ),
        (
            Cause::PrivacyLevelNotOffered {
                level: PrivacyLevel::PublicToEveryone,
                creator: creator(),
                offered: vec!["SELF_ONLY".into()],
            },
            Some("post_refused"),
        ),
        (
            Cause::InteractionDisabled {
                interaction: Interaction::Stitch,
                creator: creator(),
            },
            Some("post_refused"),
        ),
        (
            Cause::VideoTooLong {
                seconds: 90,
                creator: creator(),
                max_secs: 60,
            },
            Some("post_refused"),
        ),
        (
            Cause::CoverPastEnd {
                cover_ms: 9,
                duration_ms: 5,
            },
            Some("post_refused"),
        ),
        (
            Cause::VideoChanged {
                bucket: "b".into(),
                key: "k".into(),
                recorded_etag: "1".into(),
                found_etag: "2".into(),
            },
            Some("video_changed"),
        ),
        (Cause::FreshTokenRefused, None),
        (Cause::AuthorizationRemoved, None),
        (
            tiktok_refused("reached_active_user_cap", "TikTok refused init: cap"),
            None,
        ),
        (
            tiktok_refused("spam_risk_too_many_pending_share", "TikTok refused init"),
            Some("tiktok_refused_the_post"),
        ),
        (tiktok_failed("video_pull_failed"), None),
        (
            tiktok_failed("publish_cancelled"),
            Some("tiktok_refused_the_video"),
        ),
        (
            tiktok_failed("spam_risk_user_banned_from_posting"),
            Some("tiktok_refused_the_video"),
        ),
        (Cause::PublishForgotten, Some("publish_outcome_unknown")),
        (
            Cause::UploadOutcomeUnknown {
                chunks_recorded: 2,
                total_chunks: 3,
            },
            Some("publish_outcome_unknown"),
        ),
        (Cause::ProcessingTimedOut { minutes: 120 }, None),
        (Cause::TooManyInits { inits: 4 }, None),
        (
            Cause::Stuck {
                state: PostState::Processing,
                minutes: 90,
            },
            None,
        ),
        (
            Cause::PipelineStopped {
                error: "Lambda.Unknown".into(),
                detail: Some("crash".into()),
            },
            None,
        ),
        (
            Cause::PipelineStopped {
                error: "TikTokUnavailable".into(),
                detail: None,
            },
            None,
        ),
        (
            Cause::PipelineStopped {
                error: "VideoChanged".into(),
                detail: None,
            },
            Some("video_changed"),
        ),
        (error(ErrorKind::AccessTokenInvalid, "401"), None),
        (error(ErrorKind::TikTokPostFailed, "odd"), None),
        (
            error(ErrorKind::TikTokRejected, "no code"),
            Some("tiktok_refused_the_post"),
        ),
        (
            error(ErrorKind::Internal, "bug"),
            Some("post_not_retryable"),
        ),
        (
            error(ErrorKind::PostConflict, "owned"),
            Some("post_not_retryable"),
        ),
    ];
    for (cause, refusal) in cases {
        let verdict = retry_verdict(&failed(cause.clone()));
        assert_eq!(verdict.err().map(|e| e.code), refusal, "{cause:?}");

        // Refused before reaching TikTok: only a missing connection is worth a retry.
        let mut refused = failed(cause.clone());
        refused.state = PostState::Refused;
        let verdict = retry_verdict(&refused);
        match cause {
            Cause::NotConnected { .. } => assert_eq!(verdict, Ok(())),
            _ => assert_eq!(verdict.unwrap_err().code, "post_refused", "{cause:?}"),
        }
    }
}

#[test]
fn a_refusal_says_the_reason_as_recorded_and_the_advice() {
    let mut post = failed(Cause::PublishForgotten);
    let failure = post.failure.as_mut().unwrap();
    failure.reason = "as an older version wrote it".into();
    failure.advice = Some("Check the profile".into());
    let refusal = retry_verdict(&post).unwrap_err();
    assert!(
        refusal.message.contains("(as an older version wrote it)")
            && refusal.message.ends_with(" Check the profile."),
        "{}",
        refusal.message
    );
}

#[test]
fn a_post_queued_by_a_retry_is_known_by_its_last_fact() {
    let mut post = failed(error(ErrorKind::TikTokUnavailable, "503"));
    assert!(!queued_by_retry(&post));
    post.state = PostState::Queued;
    post.history.push(HistoryEntry::new(
        PostState::Queued,
        2,
        Some(Fact::Retried {
            attempt: 1,
            after: Some(ErrorKind::TikTokUnavailable),
        }),
    ));
    assert!(queued_by_retry(&post));
    // A note that merely reads like a retry's is not one.
    post.history.push(HistoryEntry::new(
        PostState::Queued,
        3,
        Some(Fact::Remark {
            note: "retry 2 after TikTokUnavailable".into(),
        }),
    ));
    assert!(!queued_by_retry(&post));
    assert_eq!(retries_so_far(&post), 1);
}
