//! The stable error names: the contract between the Rust core and the state machine.
//!
//! Every failure the core reports maps to exactly one [`ErrorKind`]. Its [`ErrorKind::name`]
//! becomes the Lambda `errorType`, which the state machine's `Retry`/`Catch` match with
//! `ErrorEquals`. Renaming one is a breaking change to `infra/statemachine/*.asl.json`.

use std::fmt;

/// What whoever receives the failure must do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Remedy {
    /// Try the same step again after a backoff with jitter.
    Retry,
    /// Refresh the access token, then try again; if that fails, reconnect.
    RefreshToken,
    /// The upload cannot continue on this upload URL: start again from init.
    Reinit,
    /// The account must be connected again by its owner; the post fails with that reason.
    Reconnect,
    /// Final: record the reason on the post and stop.
    GiveUp,
}

macro_rules! error_kinds {
    ($($(#[$doc:meta])* $variant:ident => $remedy:ident),+ $(,)?) => {
        /// The kinds of failure, each with a stable name and a [`Remedy`]. Serialized as
        /// its name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum ErrorKind {
            $($(#[$doc])* $variant,)+
        }

        impl ErrorKind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [ErrorKind] = &[$(ErrorKind::$variant,)+];

            /// The stable name, used as the Lambda `errorType`.
            pub const fn name(self) -> &'static str {
                match self {
                    $(ErrorKind::$variant => stringify!($variant),)+
                }
            }

            /// What the receiver must do.
            pub const fn remedy(self) -> Remedy {
                match self {
                    $(ErrorKind::$variant => Remedy::$remedy,)+
                }
            }
        }
    };
}

error_kinds! {
    /// TikTok answered 429 `rate_limit_exceeded`.
    TikTokRateLimited => Retry,
    /// TikTok answered 5xx, or the connection failed, reset or timed out.
    TikTokUnavailable => Retry,
    /// S3 or DynamoDB failed in a way that may pass (throttling, 5xx, network).
    AwsUnavailable => Retry,
    /// TikTok refused the access token (expired or revoked).
    AccessTokenInvalid => RefreshToken,
    /// The upload URL expired or is no longer known to TikTok.
    UploadUrlExpired => Reinit,
    /// The refresh token was refused, the scope is missing, or the account was never
    /// connected: its owner must connect it again.
    AccountNeedsReconnect => Reconnect,
    /// Bad input (options, object, size) caught before anything reached TikTok.
    PostRefused => GiveUp,
    /// TikTok said no to a request (privacy level, spam risk, audit limits, ...).
    TikTokRejected => GiveUp,
    /// TikTok's status for the post ended `FAILED`.
    TikTokPostFailed => GiveUp,
    /// The S3 object was replaced or deleted while it was being uploaded.
    VideoChanged => GiveUp,
    /// Another run already owns this post (a duplicate event or request): stop quietly.
    PostConflict => GiveUp,
    /// A bug or a misconfiguration: nothing a retry fixes.
    Internal => GiveUp,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl ErrorKind {
    /// The kind with this name, if any (used when reading a recorded failure back).
    pub fn from_name(name: &str) -> Option<ErrorKind> {
        ErrorKind::ALL
            .iter()
            .copied()
            .find(|kind| kind.name() == name)
    }
}

/// Anything that can say which [`ErrorKind`] it is.
pub trait Classify {
    fn kind(&self) -> ErrorKind;

    /// TikTok's error code, when the error is (or wraps) a refusal TikTok answered with one:
    /// a failure's [`Cause`](crate::cause::Cause) keeps it, so decisions never read it out
    /// of the message.
    fn tiktok_code(&self) -> Option<&str> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique_and_round_trip() {
        let names: HashSet<_> = ErrorKind::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(names.len(), ErrorKind::ALL.len());
        for kind in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_name(kind.name()), Some(*kind));
            assert!(kind.name().chars().all(|c| c.is_ascii_alphanumeric()));
        }
        assert_eq!(ErrorKind::from_name("States.ALL"), None);
    }

    #[test]
    fn kinds_serialize_as_their_names() {
        for kind in ErrorKind::ALL {
            let json = serde_json::to_value(kind).unwrap();
            assert_eq!(json, serde_json::Value::String(kind.name().to_owned()));
            assert_eq!(serde_json::from_value::<ErrorKind>(json).unwrap(), *kind);
        }
    }

    #[test]
    fn retryable_kinds_are_the_transient_ones() {
        let retryable: Vec<_> = ErrorKind::ALL
            .iter()
            .filter(|k| k.remedy() == Remedy::Retry)
            .map(|k| k.name())
            .collect();
        assert_eq!(
            retryable,
            ["TikTokRateLimited", "TikTokUnavailable", "AwsUnavailable"]
        );
    }
}
