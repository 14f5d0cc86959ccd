//! Why a post failed or was refused, as a type: what decisions (a retry's verdict, an
//! event's `retryable`) match on. Each cause renders the human reason people read (the API's
//! `failure.reason`, the CLI, events); that text is never parsed back, except by
//! [`crate::legacy`] for items written before causes were stored.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::errors::{Classify, ErrorKind};
use crate::media_rules::{DurationLimit, MediaRefusal};
use crate::photo_rules::PhotoRefusal;
use crate::state::PostState;
use crate::tiktok::{DIRECT_POST_SCOPE, MAX_TITLE_UTF16, PrivacyLevel};

/// The reason of a post failed as stuck starts with this.
pub const STUCK_PREFIX: &str = "the post was stuck";
/// The reason of a post whose publish TikTok forgot after it had every byte.
pub const PUBLISH_FORGOTTEN_TEXT: &str = "TikTok no longer knows the post's publish after the whole video was sent, so it may be live already";
/// The reason of posts stopped because the creator removed the app's access.
pub const AUTHORIZATION_REMOVED_TEXT: &str =
    "the creator removed this app's access to the TikTok account";
/// The reason of a post whose freshly refreshed access token TikTok refused.
pub const FRESH_TOKEN_REFUSED_TEXT: &str =
    "TikTok refused a freshly refreshed access token: connect the account again";

/// A creator's switch that a post may not turn back on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interaction {
    Duet,
    Comment,
    Stitch,
}

impl Interaction {
    pub const ALL: [Interaction; 3] =
        [Interaction::Duet, Interaction::Comment, Interaction::Stitch];

    /// The name in `disable_{name}` and in the reason.
    pub const fn as_str(self) -> &'static str {
        match self {
            Interaction::Duet => "duet",
            Interaction::Comment => "comment",
            Interaction::Stitch => "stitch",
        }
    }
}

/// Why a post failed or was refused. Stored beside the reason it renders (`failure_cause`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Cause {
    /// The options (API body or manifest) broke a rule.
    OptionsInvalid { field: String, rule: String },
    /// No options manifest arrived within the wait.
    OptionsNeverArrived { waited_secs: u64 },
    /// The post's account holds no tokens (never connected, or disconnected).
    NotConnected { open_id: String },
    /// A direct post without a privacy level.
    NoPrivacyLevel,
    /// A title longer than TikTok takes (an older version's options).
    TitleTooLong { utf16_units: usize },
    /// The creator is not offered the post's privacy level now.
    PrivacyLevelNotOffered {
        level: PrivacyLevel,
        creator: String,
        offered: Vec<String>,
    },
    /// The post turns on an interaction the creator has turned off.
    InteractionDisabled {
        interaction: Interaction,
        creator: String,
    },
    /// The video is longer than the creator may post.
    VideoTooLong {
        seconds: u64,
        creator: String,
        max_secs: u64,
    },
    /// The cover frame is past the end of the video.
    CoverPastEnd { cover_ms: u64, duration_ms: u64 },
    /// The video breaks one of TikTok's media rules (or is no video at all), told from its
    /// headers before anything was sent. A creator's duration limit stays [`Cause::VideoTooLong`].
    VideoRefused { refusal: MediaRefusal },
    /// The S3 object was replaced since the post was made.
    VideoChanged {
        bucket: String,
        key: String,
        recorded_etag: String,
        found_etag: String,
    },
    /// TikTok refused an access token it had just issued by a refresh.
    FreshTokenRefused,
    /// The creator removed this app's access (TikTok's `authorization.removed`).
    AuthorizationRemoved,
    /// TikTok refused a request with an error code (`message`: the whole refusal).
    TikTokRefused { code: String, message: String },
    /// TikTok's status of the upload ended `FAILED` with this `fail_reason`.
    TikTokFailed { fail_reason: String },
    /// TikTok forgot the publish after it had every byte: the post may be live already.
    PublishForgotten,
    /// TikTok did not finish processing within the deadline.
    ProcessingTimedOut { minutes: u64 },
    /// The upload was initialised the allowed number of times without completing.
    TooManyInits { inits: u64 },
    /// The sweep found the post unchanged for too long and failed it.
    Stuck { state: PostState, minutes: i64 },
    /// The state machine caught an error (`error`: its name, an [`ErrorKind`] or a
    /// platform error such as `States.Timeout`) that the step could not record itself.
    PipelineStopped {
        error: String,
        detail: Option<String>,
    },
    /// The account did not grant the scope the post's mode needs (an account connected
    /// with `video.upload` only posts drafts).
    ScopeNotGranted { scope: String },
    /// The post asks TikTok to pull its media (a photo post always does, a video with
    /// `source: PULL_FROM_URL`), and the stack has no front door to pull it from.
    FrontDoorMissing,
    /// One image of a photo post cannot be posted, even converted (`image`: from 1, as
    /// people count; `key`: where it is).
    PhotoRefused {
        image: usize,
        key: String,
        refusal: PhotoRefusal,
    },
    /// After a crash, the last chunk may have been sent, TikTok's status does not say how
    /// much it has, and its upload URL is dead: a new upload could be a second post.
    UploadOutcomeUnknown {
        chunks_recorded: u64,
        total_chunks: u64,
    },
    /// Any other error a step met, in the error's own words.
    Error { kind: ErrorKind, message: String },
}

impl Cause {
    /// The cause of a classified error: its kind and message, and TikTok's code when TikTok
    /// refused with one.
    pub fn from_error<E: Classify + fmt::Display + ?Sized>(error: &E) -> Cause {
        let kind = error.kind();
        let message = error.to_string();
        match error.tiktok_code() {
            Some(code) if kind == ErrorKind::TikTokRejected => Cause::TikTokRefused {
                code: code.to_owned(),
                message,
            },
            _ => Cause::Error { kind, message },
        }
    }

    /// The stable kind of failure (the failure's `kind`, the Lambda `errorType`).
    pub fn kind(&self) -> ErrorKind {
        match self {
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
            | Cause::VideoRefused { .. } => ErrorKind::PostRefused,
            Cause::VideoChanged { .. } => ErrorKind::VideoChanged,
            Cause::FreshTokenRefused | Cause::AuthorizationRemoved => {
                ErrorKind::AccountNeedsReconnect
            }
            Cause::TikTokRefused { .. } => ErrorKind::TikTokRejected,
            Cause::TikTokFailed { .. }
            | Cause::PublishForgotten
            | Cause::ProcessingTimedOut { .. }
            | Cause::TooManyInits { .. }
            | Cause::UploadOutcomeUnknown { .. } => ErrorKind::TikTokPostFailed,
            Cause::Stuck { .. } => ErrorKind::Internal,
            Cause::PipelineStopped { error, .. } => {
                ErrorKind::from_name(error).unwrap_or(ErrorKind::Internal)
            }
            Cause::Error { kind, .. } => *kind,
        }
    }
}

impl From<MediaRefusal> for Cause {
    /// A creator's duration limit keeps the cause it always had, so stored failures and
    /// their retry verdicts read the same.
    fn from(refusal: MediaRefusal) -> Cause {
        match refusal {
            MediaRefusal::TooLong {
                seconds,
                limit: DurationLimit::Creator { creator, max_secs },
            } => Cause::VideoTooLong {
                seconds,
                creator,
                max_secs,
            },
            refusal => Cause::VideoRefused { refusal },
        }
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::OptionsInvalid { field, rule } => {
                write!(f, "the post's options are invalid: {field}: {rule}")
            }
            Cause::OptionsNeverArrived { waited_secs } => write!(
                f,
                "the post's options never arrived (waited {waited_secs} s for the manifest \
                 beside the video)"
            ),
            Cause::NotConnected { open_id } => write!(
                f,
                "the TikTok account {open_id} is not connected (never connected, or \
                 disconnected): connect it with `tiktok-publish connect`, then post again"
            ),
            Cause::NoPrivacyLevel => f.write_str("privacy_level: a direct post needs one"),
            Cause::TitleTooLong { utf16_units } => write!(
                f,
                "title: is {utf16_units} UTF-16 code units long; TikTok takes at most \
                 {MAX_TITLE_UTF16}"
            ),
            Cause::PrivacyLevelNotOffered {
                level,
                creator,
                offered,
            } => write!(
                f,
                "privacy_level {level} is not offered to {creator} now; choose one of: {}",
                offered.join(", ")
            ),
            Cause::InteractionDisabled {
                interaction,
                creator,
            } => {
                let name = interaction.as_str();
                write!(
                    f,
                    "disable_{name} is false, but {creator} has turned {name}s off in TikTok; \
                     set it to true or leave it out"
                )
            }
            Cause::VideoTooLong {
                seconds,
                creator,
                max_secs,
            } => write!(
                f,
                "the video is {seconds} s long; {creator} may post at most {max_secs} s"
            ),
            Cause::CoverPastEnd {
                cover_ms,
                duration_ms,
            } => write!(
                f,
                "video_cover_timestamp_ms {cover_ms} is past the end of the video \
                 ({duration_ms} ms)"
            ),
            Cause::VideoRefused { refusal } if refusal.is_no_video() => {
                write!(f, "not a video TikTok accepts: {refusal}")
            }
            Cause::VideoRefused { refusal } => write!(f, "{refusal}"),
            Cause::PhotoRefused {
                image,
                key,
                refusal,
            } => write!(f, "photo {image} ({key}) cannot be posted: {refusal}"),
            Cause::VideoChanged {
                bucket,
                key,
                recorded_etag,
                found_etag,
            } => write!(
                f,
                "s3://{bucket}/{key} changed after the post was made (ETag {recorded_etag} \
                 became {found_etag})"
            ),
            Cause::FreshTokenRefused => f.write_str(FRESH_TOKEN_REFUSED_TEXT),
            Cause::AuthorizationRemoved => f.write_str(AUTHORIZATION_REMOVED_TEXT),
            Cause::TikTokRefused { message, .. } | Cause::Error { message, .. } => {
                f.write_str(message)
            }
            Cause::TikTokFailed { fail_reason } => {
                write!(f, "TikTok could not publish the video: {fail_reason}")
            }
            Cause::PublishForgotten => f.write_str(PUBLISH_FORGOTTEN_TEXT),
            Cause::ProcessingTimedOut { minutes } => write!(
                f,
                "TikTok did not finish processing within {minutes} minutes"
            ),
            Cause::TooManyInits { inits } => {
                write!(f, "the upload was started {inits} times without completing")
            }
            Cause::Stuck { state, minutes } => write!(
                f,
                "{STUCK_PREFIX} in {state} for {minutes} minutes without a change (its \
                 execution ended or stalled without settling it)"
            ),
            Cause::FrontDoorMissing => f.write_str(
                "the post asks TikTok to pull its media (a photo post, or a video with source \
                 PULL_FROM_URL), and the stack has no front door to pull it from: deploy it \
                 with DomainName and CertificateArn (docs/front-door.md); a video can go with \
                 source FILE_UPLOAD instead",
            ),
            Cause::ScopeNotGranted { scope } => write!(
                f,
                "the TikTok account did not grant the {scope} scope this post needs: connect \
                 it again and leave {scope} on{}",
                if scope == DIRECT_POST_SCOPE {
                    ", or post it as a draft (mode \"draft\")"
                } else {
                    ""
                }
            ),
            Cause::UploadOutcomeUnknown {
                chunks_recorded,
                total_chunks,
            } => write!(
                f,
                "the upload stopped after {chunks_recorded} of {total_chunks} chunks were \
                 confirmed, the last one may have reached TikTok, and TikTok's status does not \
                 say: uploading again could post the video twice"
            ),
            Cause::PipelineStopped { error, detail } => match detail {
                None => write!(f, "the pipeline stopped on {error}"),
                Some(detail) => write!(f, "the pipeline stopped on {error}: {detail}"),
            },
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::media_rules::FrameRate;

    /// One of each cause, with the reason today's code writes for it.
    pub(crate) fn every_cause() -> Vec<(Cause, &'static str)> {
        vec![
            (
                Cause::OptionsInvalid {
                    field: "privacy_level".into(),
                    rule: "must be one of PUBLIC_TO_EVERYONE, SELF_ONLY".into(),
                },
                "the post's options are invalid: privacy_level: must be one of \
                 PUBLIC_TO_EVERYONE, SELF_ONLY",
            ),
            (
                Cause::OptionsNeverArrived { waited_secs: 900 },
                "the post's options never arrived (waited 900 s for the manifest beside the \
                 video)",
            ),
            (
                Cause::NotConnected {
                    open_id: "open-1".into(),
                },
                "the TikTok account open-1 is not connected (never connected, or \
                 disconnected): connect it with `tiktok-publish connect`, then post again",
            ),
            (
                Cause::NoPrivacyLevel,
                "privacy_level: a direct post needs one",
            ),
            (
                Cause::TitleTooLong { utf16_units: 2201 },
                "title: is 2201 UTF-16 code units long; TikTok takes at most 2200",
            ),
            (
                Cause::PrivacyLevelNotOffered {
                    level: PrivacyLevel::PublicToEveryone,
                    creator: "Ana (@ana)".into(),
                    offered: vec!["SELF_ONLY".into(), "FOLLOWER_OF_CREATOR".into()],
                },
                "privacy_level PUBLIC_TO_EVERYONE is not offered to Ana (@ana) now; choose \
                 one of: SELF_ONLY, FOLLOWER_OF_CREATOR",
            ),
            (
                Cause::InteractionDisabled {
                    interaction: Interaction::Duet,
                    creator: "this creator".into(),
                },
                "disable_duet is false, but this creator has turned duets off in TikTok; set \
                 it to true or leave it out",
            ),
            (
                Cause::VideoTooLong {
                    seconds: 75,
                    creator: "Ana (@ana)".into(),
                    max_secs: 60,
                },
                "the video is 75 s long; Ana (@ana) may post at most 60 s",
            ),
            (
                Cause::CoverPastEnd {
                    cover_ms: 9000,
                    duration_ms: 5000,
                },
                "video_cover_timestamp_ms 9000 is past the end of the video (5000 ms)",
            ),
            (
                Cause::VideoRefused {
                    refusal: MediaRefusal::FrameRate {
                        fps: FrameRate::whole(120),
                    },
                },
                "frame rate 120 fps: TikTok takes 23 to 60 fps; re-encode at 30 or 60",
            ),
            (
                Cause::VideoRefused {
                    refusal: MediaRefusal::NoVideoTrack {
                        container: "MP4".into(),
                        tracks: vec!["soun".into()],
                    },
                },
                "not a video TikTok accepts: the MP4 has no video track (its tracks are: \
                 soun); an audio-only file?",
            ),
            (
                Cause::VideoChanged {
                    bucket: "videos".into(),
                    key: "uploads/open-1/a.mp4".into(),
                    recorded_etag: "\"e1\"".into(),
                    found_etag: "\"e2\"".into(),
                },
                "s3://videos/uploads/open-1/a.mp4 changed after the post was made (ETag \
                 \"e1\" became \"e2\")",
            ),
            (
                Cause::FreshTokenRefused,
                "TikTok refused a freshly refreshed access token: connect the account again",
            ),
            (
                Cause::AuthorizationRemoved,
                "the creator removed this app's access to the TikTok account",
            ),
            (
                Cause::TikTokRefused {
                    code: "spam_risk_too_many_posts".into(),
                    message: "TikTok refused init: spam_risk_too_many_posts: cap".into(),
                },
                "TikTok refused init: spam_risk_too_many_posts: cap",
            ),
            (
                Cause::TikTokFailed {
                    fail_reason: "spam_risk".into(),
                },
                "TikTok could not publish the video: spam_risk",
            ),
            (
                Cause::PublishForgotten,
                "TikTok no longer knows the post's publish after the whole video was sent, so \
                 it may be live already",
            ),
            (
                Cause::ProcessingTimedOut { minutes: 120 },
                "TikTok did not finish processing within 120 minutes",
            ),
            (
                Cause::TooManyInits { inits: 4 },
                "the upload was started 4 times without completing",
            ),
            (
                Cause::Stuck {
                    state: PostState::Uploading,
                    minutes: 42,
                },
                "the post was stuck in UPLOADING for 42 minutes without a change (its \
                 execution ended or stalled without settling it)",
            ),
            (
                Cause::PipelineStopped {
                    error: "States.Timeout".into(),
                    detail: None,
                },
                "the pipeline stopped on States.Timeout",
            ),
            (
                Cause::PipelineStopped {
                    error: "Internal".into(),
                    detail: Some("bug".into()),
                },
                "the pipeline stopped on Internal: bug",
            ),
            (
                Cause::ScopeNotGranted {
                    scope: "video.publish".into(),
                },
                "the TikTok account did not grant the video.publish scope this post needs: \
                 connect it again and leave video.publish on, or post it as a draft (mode \
                 \"draft\")",
            ),
            (
                Cause::PhotoRefused {
                    image: 2,
                    key: "uploads/a/b.gif".into(),
                    refusal: PhotoRefusal::Format {
                        found: "GIF".into(),
                    },
                },
                "photo 2 (uploads/a/b.gif) cannot be posted: GIF: TikTok takes JPEG and WebP \
                 photos (a PNG is converted); save it as JPEG and post again",
            ),
            (
                Cause::FrontDoorMissing,
                "the post asks TikTok to pull its media (a photo post, or a video with source \
                 PULL_FROM_URL), and the stack has no front door to pull it from: deploy it \
                 with DomainName and CertificateArn (docs/front-door.md); a video can go with \
                 source FILE_UPLOAD instead",
            ),
            (
                Cause::UploadOutcomeUnknown {
                    chunks_recorded: 2,
                    total_chunks: 3,
                },
                "the upload stopped after 2 of 3 chunks were confirmed, the last one may have \
                 reached TikTok, and TikTok's status does not say: uploading again could post \
                 the video twice",
            ),
            (
                Cause::Error {
                    kind: ErrorKind::TikTokUnavailable,
                    message: "TikTok is unavailable on /v2/post/publish/status/fetch/: HTTP 503"
                        .into(),
                },
                "TikTok is unavailable on /v2/post/publish/status/fetch/: HTTP 503",
            ),
        ]
    }

    #[test]
    fn causes_render_the_reasons_written_before_they_were_typed() {
        for (cause, reason) in every_cause() {
            assert_eq!(cause.to_string(), reason, "{cause:?}");
        }
    }

    #[test]
    fn causes_round_trip_through_json_with_their_tag() {
        for (cause, _) in every_cause() {
            let json = serde_json::to_value(&cause).unwrap();
            assert!(json["type"].is_string(), "{json}");
            assert_eq!(serde_json::from_value::<Cause>(json).unwrap(), cause);
        }
    }

    #[test]
    fn each_cause_has_the_kind_it_was_recorded_with() {
        let kinds: Vec<ErrorKind> = every_cause().iter().map(|(c, _)| c.kind()).collect();
        use ErrorKind::*;
        assert_eq!(
            kinds,
            [
                PostRefused,
                PostRefused,
                PostRefused,
                PostRefused,
                PostRefused,
                PostRefused,
                PostRefused,
                PostRefused,
                PostRefused,
                PostRefused,
                PostRefused,
                VideoChanged,
                AccountNeedsReconnect,
                AccountNeedsReconnect,
                TikTokRejected,
                TikTokPostFailed,
                TikTokPostFailed,
                TikTokPostFailed,
                TikTokPostFailed,
                Internal,
                Internal,
                Internal,
                PostRefused,
                PostRefused,
                PostRefused,
                TikTokPostFailed,
                TikTokUnavailable,
            ]
        );
        let stopped = Cause::PipelineStopped {
            error: "TikTokUnavailable".into(),
            detail: None,
        };
        assert_eq!(stopped.kind(), TikTokUnavailable);
    }

    #[derive(Debug, thiserror::Error)]
    #[error("TikTok refused init: {0}: no")]
    struct Refusal(&'static str);

    impl Classify for Refusal {
        fn kind(&self) -> ErrorKind {
            ErrorKind::TikTokRejected
        }
        fn tiktok_code(&self) -> Option<&str> {
            Some(self.0)
        }
    }

    #[test]
    fn an_error_keeps_tiktoks_code_when_tiktok_refused() {
        assert_eq!(
            Cause::from_error(&Refusal("spam_risk_too_many_posts")),
            Cause::TikTokRefused {
                code: "spam_risk_too_many_posts".into(),
                message: "TikTok refused init: spam_risk_too_many_posts: no".into(),
            }
        );
    }
}
