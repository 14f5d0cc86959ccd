//! The notes and reasons below are written out literally, as the version before typed facts
//! and causes wrote them (its format strings filled in), not rendered from the types.

use super::*;

#[test]
fn every_note_of_the_old_wording_has_its_fact() {
    let notes = [
        ("waiting for the options manifest", Fact::OptionsAwaited),
        ("options arrived", Fact::OptionsArrived),
        ("upload initialised", Fact::Initialised),
        ("upload resumed", Fact::UploadResumed),
        ("TikTok already has the whole video", Fact::AlreadyAtTikTok),
        ("TikTok has the whole video", Fact::WholeVideoAtTikTok),
        ("sending chunks", Fact::ChunksSending),
        ("upload complete", Fact::UploadComplete),
        ("TikTok refused the upload URL", Fact::UrlRefused),
        ("published", Fact::Published { via_webhook: false }),
        (
            "published (TikTok webhook)",
            Fact::Published { via_webhook: true },
        ),
        (
            "sent to the creator's inbox",
            Fact::SentToInbox { via_webhook: false },
        ),
        (
            "sent to the creator's inbox (TikTok webhook)",
            Fact::SentToInbox { via_webhook: true },
        ),
        (
            "TikTok webhook: post.publish.inbox_delivered",
            Fact::WebhookEvent {
                event: "post.publish.inbox_delivered".into(),
            },
        ),
        (
            "retry 1 after TikTokUnavailable",
            Fact::Retried {
                attempt: 1,
                after: Some(ErrorKind::TikTokUnavailable),
            },
        ),
        (
            "retry 3 after an unrecorded failure",
            Fact::Retried {
                attempt: 3,
                after: None,
            },
        ),
        ("cancelled by request", Fact::CancelledByRequest),
        ("account disconnected", Fact::AccountDisconnected),
        (
            "something a person wrote",
            Fact::Remark {
                note: "something a person wrote".into(),
            },
        ),
    ];
    for (note, fact) in notes {
        assert_eq!(
            fact_from_note(PostState::Uploading, note, None),
            fact,
            "{note}"
        );
        // Each old note is what the fact still renders.
        if !matches!(fact, Fact::Remark { .. }) {
            assert_eq!(fact.to_string(), note);
        }
    }
}

#[test]
fn the_note_of_a_failing_move_is_the_failures_reason() {
    let reason = "TikTok could not publish the video: internal";
    let failure = PostFailure {
        kind: ErrorKind::TikTokPostFailed,
        cause: cause_from_reason(ErrorKind::TikTokPostFailed, reason),
        reason: reason.into(),
        advice: Some("A fault at TikTok; post it again".into()),
    };
    let fact = fact_from_note(PostState::Failed, reason, Some(&failure));
    assert_eq!(
        fact,
        Fact::Failed {
            cause: Cause::TikTokFailed {
                fail_reason: "internal".into()
            }
        }
    );
    // An earlier attempt's failure (cleared by a retry) is still known by its wording.
    let earlier = fact_from_note(
        PostState::Failed,
        "the pipeline stopped on States.Timeout",
        Some(&failure),
    );
    assert_eq!(
        earlier,
        Fact::Failed {
            cause: Cause::PipelineStopped {
                error: "States.Timeout".into(),
                detail: None
            }
        }
    );
    // The same words outside a failure are only a remark.
    assert!(matches!(
        fact_from_note(PostState::Queued, reason, None),
        Fact::Remark { .. }
    ));
}

#[test]
fn every_reason_of_the_old_wording_has_its_cause() {
    use ErrorKind::*;
    let reasons: Vec<(ErrorKind, &str, Cause)> = vec![
        (
            PostRefused,
            "the post's options are invalid: privacy_level: must be one of \
             PUBLIC_TO_EVERYONE, MUTUAL_FOLLOW_FRIENDS, FOLLOWER_OF_CREATOR, SELF_ONLY",
            Cause::OptionsInvalid {
                field: "privacy_level".into(),
                rule: "must be one of PUBLIC_TO_EVERYONE, MUTUAL_FOLLOW_FRIENDS, \
                       FOLLOWER_OF_CREATOR, SELF_ONLY"
                    .into(),
            },
        ),
        (
            PostRefused,
            "the post's options never arrived (waited 901 s for the manifest beside the video)",
            Cause::OptionsNeverArrived { waited_secs: 901 },
        ),
        (
            PostRefused,
            "the TikTok account never-connected is not connected (never connected, or \
             disconnected): connect it with `tiktok-publish connect`, then post again",
            Cause::NotConnected {
                open_id: "never-connected".into(),
            },
        ),
        (
            PostRefused,
            "privacy_level: a direct post needs one",
            Cause::NoPrivacyLevel,
        ),
        (
            PostRefused,
            "title: is 2201 UTF-16 code units long; TikTok takes at most 2200",
            Cause::TitleTooLong { utf16_units: 2201 },
        ),
        (
            PostRefused,
            "privacy_level PUBLIC_TO_EVERYONE is not offered to Fake Creator (@fake) now; \
             choose one of: SELF_ONLY, MUTUAL_FOLLOW_FRIENDS",
            Cause::PrivacyLevelNotOffered {
                level: PrivacyLevel::PublicToEveryone,
                creator: "Fake Creator (@fake)".into(),
                offered: vec!["SELF_ONLY".into(), "MUTUAL_FOLLOW_FRIENDS".into()],
            },
        ),
        (
            PostRefused,
            "disable_comment is false, but this creator has turned comments off in TikTok; set \
             it to true or leave it out",
            Cause::InteractionDisabled {
                interaction: Interaction::Comment,
                creator: "this creator".into(),
            },
        ),
        (
            PostRefused,
            "the video is 601 s long; Fake Creator (@fake) may post at most 600 s",
            Cause::VideoTooLong {
                seconds: 601,
                creator: "Fake Creator (@fake)".into(),
                max_secs: 600,
            },
        ),
        (
            PostRefused,
            "video_cover_timestamp_ms 99000 is past the end of the video (3000 ms)",
            Cause::CoverPastEnd {
                cover_ms: 99000,
                duration_ms: 3000,
            },
        ),
        (
            VideoChanged,
            "s3://videos/uploads/open-1/clip.mp4 changed after the post was made (ETag \
             \"9b2cf535f27731c974343645a3985328\" became \"6d0bb00954ceb7fbee436bb55a8397a9\")",
            Cause::VideoChanged {
                bucket: "videos".into(),
                key: "uploads/open-1/clip.mp4".into(),
                recorded_etag: "\"9b2cf535f27731c974343645a3985328\"".into(),
                found_etag: "\"6d0bb00954ceb7fbee436bb55a8397a9\"".into(),
            },
        ),
        (
            AccountNeedsReconnect,
            "TikTok refused a freshly refreshed access token: connect the account again",
            Cause::FreshTokenRefused,
        ),
        (
            AccountNeedsReconnect,
            "the creator removed this app's access to the TikTok account",
            Cause::AuthorizationRemoved,
        ),
        (
            TikTokRejected,
            "TikTok refused video/init: spam_risk_too_many_posts: too many posts. The creator \
             reached TikTok's daily post cap for API posts; try again tomorrow",
            Cause::TikTokRefused {
                code: "spam_risk_too_many_posts".into(),
                message: "TikTok refused video/init: spam_risk_too_many_posts: too many posts. \
                          The creator reached TikTok's daily post cap for API posts; try again \
                          tomorrow"
                    .into(),
            },
        ),
        (
            TikTokRejected,
            "TikTok refused video/init: privacy_level_option_mismatch: no. Choose one of the \
             privacy levels the creator offers now (see creator info)",
            Cause::TikTokRefused {
                code: "privacy_level_option_mismatch".into(),
                message: "TikTok refused video/init: privacy_level_option_mismatch: no. Choose \
                          one of the privacy levels the creator offers now (see creator info)"
                    .into(),
            },
        ),
        (
            TikTokRejected,
            "TikTok's token endpoint failed: TikTok refused creator_info/query: \
             reached_active_user_cap: cap",
            Cause::TikTokRefused {
                code: "reached_active_user_cap".into(),
                message: "TikTok's token endpoint failed: TikTok refused creator_info/query: \
                          reached_active_user_cap: cap"
                    .into(),
            },
        ),
        (
            TikTokPostFailed,
            "TikTok could not publish the video: frame_rate_check_failed",
            Cause::TikTokFailed {
                fail_reason: "frame_rate_check_failed".into(),
            },
        ),
        (
            TikTokPostFailed,
            "TikTok no longer knows the post's publish after the whole video was sent, so it \
             may be live already",
            Cause::PublishForgotten,
        ),
        (
            TikTokPostFailed,
            "TikTok did not finish processing within 120 minutes",
            Cause::ProcessingTimedOut { minutes: 120 },
        ),
        (
            TikTokPostFailed,
            "the upload was started 4 times without completing",
            Cause::TooManyInits { inits: 4 },
        ),
        (
            Internal,
            "the post was stuck in UPLOADING for 47 minutes without a change (its execution \
             ended or stalled without settling it)",
            Cause::Stuck {
                state: PostState::Uploading,
                minutes: 47,
            },
        ),
        (
            Internal,
            "the pipeline stopped on States.Timeout",
            Cause::PipelineStopped {
                error: "States.Timeout".into(),
                detail: None,
            },
        ),
        (
            Internal,
            "the pipeline stopped on Lambda.Unknown: {\"errorMessage\":\"crash\"}",
            Cause::PipelineStopped {
                error: "Lambda.Unknown".into(),
                detail: Some("{\"errorMessage\":\"crash\"}".into()),
            },
        ),
        (
            TikTokUnavailable,
            "the pipeline stopped on TikTokUnavailable: TikTok is unavailable on status/fetch: \
             HTTP 503",
            Cause::PipelineStopped {
                error: "TikTokUnavailable".into(),
                detail: Some("TikTok is unavailable on status/fetch: HTTP 503".into()),
            },
        ),
        // Reasons in an error's own words keep them, with their kind.
        (
            TikTokUnavailable,
            "TikTok is unavailable on status/fetch: HTTP 503",
            Cause::Error {
                kind: TikTokUnavailable,
                message: "TikTok is unavailable on status/fetch: HTTP 503".into(),
            },
        ),
        (
            PostRefused,
            "the object is not a video: it is an image (HEIC)",
            Cause::Error {
                kind: PostRefused,
                message: "the object is not a video: it is an image (HEIC)".into(),
            },
        ),
        (
            TikTokRejected,
            "TikTok refused something without a code",
            Cause::Error {
                kind: TikTokRejected,
                message: "TikTok refused something without a code".into(),
            },
        ),
    ];
    for (kind, reason, cause) in reasons {
        assert_eq!(cause_from_reason(kind, reason), cause, "{reason}");
        assert_eq!(cause.kind(), kind, "{reason}");
        assert_eq!(
            cause.to_string(),
            reason,
            "the cause renders the old reason"
        );
    }
}

#[test]
fn a_reason_recorded_with_another_kind_keeps_that_kind() {
    // The wording of a stuck post, recorded as something else: the kind wins.
    let reason = "the post was stuck in QUEUED for 5 minutes without a change (its execution \
                  ended or stalled without settling it)";
    assert_eq!(
        cause_from_reason(ErrorKind::PostConflict, reason),
        Cause::Error {
            kind: ErrorKind::PostConflict,
            message: reason.into(),
        }
    );
}
