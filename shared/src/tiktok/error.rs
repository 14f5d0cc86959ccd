//! One error for everything TikTok (or the road to it) can answer, saying what to do.

use crate::errors::{Classify, ErrorKind};

/// Which TikTok call failed (for messages and rate-limit budgets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Token,
    Revoke,
    CreatorInfo,
    DirectPostInit,
    InboxInit,
    UploadChunk,
    StatusFetch,
    UserInfo,
    PhotoInit,
    Cancel,
}

impl Endpoint {
    pub const fn as_str(self) -> &'static str {
        match self {
            Endpoint::Token => "oauth/token",
            Endpoint::Revoke => "oauth/revoke",
            Endpoint::CreatorInfo => "creator_info/query",
            Endpoint::DirectPostInit => "video/init",
            Endpoint::InboxInit => "inbox/video/init",
            Endpoint::UploadChunk => "upload chunk",
            Endpoint::StatusFetch => "status/fetch",
            Endpoint::UserInfo => "user/info",
            Endpoint::PhotoInit => "content/init",
            Endpoint::Cancel => "publish/cancel",
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed TikTok call. `log_id` is TikTok's request id: quote it to TikTok support.
#[derive(Debug, thiserror::Error)]
pub enum TikTokError {
    /// 429 `rate_limit_exceeded`: back off and retry.
    #[error("TikTok's rate limit was hit on {endpoint} (log_id {log_id:?}); retry after a pause")]
    RateLimited {
        endpoint: Endpoint,
        log_id: Option<String>,
    },

    /// 5xx, or the connection failed, was reset or timed out: retry with backoff.
    #[error("TikTok is unavailable on {endpoint}: {detail}")]
    Unavailable {
        endpoint: Endpoint,
        detail: String,
        status: Option<u16>,
        log_id: Option<String>,
        /// The transport's own error (the HTTP client's, its URL removed: an upload URL is
        /// a secret), boxed so this crate does not depend on the client.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    /// 401 `access_token_invalid`: refresh the token; if it persists, reconnect.
    #[error("TikTok refused the access token on {endpoint} (expired or revoked)")]
    AccessTokenInvalid {
        endpoint: Endpoint,
        log_id: Option<String>,
    },

    /// The account must be connected again: a refused refresh token, a missing scope.
    #[error("the TikTok account must be connected again: {reason}")]
    NeedsReconnect {
        reason: String,
        log_id: Option<String>,
    },

    /// The upload URL expired (about an hour after init) or is unknown: init again.
    #[error(
        "the upload URL is no longer valid (HTTP {status}); the upload must start again from init"
    )]
    UploadUrlExpired { status: u16 },

    /// 416 on a chunk: not the range TikTok expects. Its `Content-Range` says it holds the
    /// first `received_bytes` bytes of `video_size`: send what it lacks, from there.
    #[error(
        "TikTok expects another range: it holds {received_bytes} of {video_size} bytes; \
         the upload resumes from there"
    )]
    UploadRangeMismatch {
        received_bytes: u64,
        video_size: u64,
    },

    /// 400 on a chunk: TikTok found its headers or length wrong. The Media Transfer Guide's
    /// upload answers carry no error code, so the status is all there is.
    #[error("TikTok refused a chunk's headers or length (HTTP {status})")]
    UploadChunkRefused { status: u16 },

    /// TikTok said no; retrying will not help.
    #[error("TikTok refused {endpoint}: {code}: {message}{}", advice_suffix(code))]
    Rejected {
        endpoint: Endpoint,
        status: u16,
        code: String,
        message: String,
        log_id: Option<String>,
    },

    /// The app's client secret could not be read, so the request was not sent.
    #[error("{0}")]
    ClientSecret(#[from] crate::config::SecretUnavailable),

    /// An answer that does not follow TikTok's documented shape.
    #[error("unexpected answer from TikTok on {endpoint} (HTTP {status}): {detail}")]
    Protocol {
        endpoint: Endpoint,
        status: u16,
        detail: String,
    },
}

fn advice_suffix(code: &str) -> String {
    advice(code).map(|a| format!(". {a}")).unwrap_or_default()
}

/// What a person should do about a TikTok error code, where we know.
pub fn advice(code: &str) -> Option<&'static str> {
    Some(match code {
        "privacy_level_option_mismatch" => {
            "Choose one of the privacy levels the creator offers now (see creator info)"
        }
        "unaudited_client_can_only_post_to_private_accounts" => {
            "This TikTok app has not passed TikTok's audit: the creator's account itself must be \
             private (setting the post to SELF_ONLY is not enough), or get the app audited"
        }
        "spam_risk_too_many_posts" => {
            "The creator reached TikTok's daily post cap for API posts; try again tomorrow"
        }
        "spam_risk_too_many_pending_share" => {
            "The creator has 5 drafts pending in the TikTok inbox (the 24-hour limit); \
             finish or discard them in the app"
        }
        "spam_risk_user_banned_from_posting" => {
            "TikTok has banned this account from posting; the creator must resolve it with TikTok"
        }
        "reached_active_user_cap" => {
            "The TikTok app reached its daily active-user cap; try again tomorrow or ask TikTok \
             to raise it"
        }
        "scope_not_authorized" => "Reconnect the account and grant video.publish and video.upload",
        "invalid_params" | "invalid_param" => {
            "TikTok found a request parameter invalid (often the caption, the cover timestamp \
             or the chunk plan); check the post's options"
        }
        "url_ownership_unverified" => {
            "Verify the front door's domain, or its media prefix (the MediaUrlPrefix output), \
             in TikTok's developer portal (docs/front-door.md), then retry; or post with source \
             FILE_UPLOAD"
        }
        _ => return None,
    })
}

impl TikTokError {
    /// TikTok's error code, when it sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            TikTokError::Rejected { code, .. } => Some(code),
            TikTokError::RateLimited { .. } => Some("rate_limit_exceeded"),
            TikTokError::AccessTokenInvalid { .. } => Some("access_token_invalid"),
            _ => None,
        }
    }

    pub fn log_id(&self) -> Option<&str> {
        match self {
            TikTokError::RateLimited { log_id, .. }
            | TikTokError::Unavailable { log_id, .. }
            | TikTokError::AccessTokenInvalid { log_id, .. }
            | TikTokError::NeedsReconnect { log_id, .. }
            | TikTokError::Rejected { log_id, .. } => log_id.as_deref(),
            TikTokError::UploadUrlExpired { .. }
            | TikTokError::UploadRangeMismatch { .. }
            | TikTokError::UploadChunkRefused { .. }
            | TikTokError::Protocol { .. }
            | TikTokError::ClientSecret(_) => None,
        }
    }
}

impl Classify for TikTokError {
    fn kind(&self) -> ErrorKind {
        match self {
            TikTokError::RateLimited { .. } => ErrorKind::TikTokRateLimited,
            TikTokError::Unavailable { .. } => ErrorKind::TikTokUnavailable,
            TikTokError::AccessTokenInvalid { .. } => ErrorKind::AccessTokenInvalid,
            TikTokError::NeedsReconnect { .. } => ErrorKind::AccountNeedsReconnect,
            TikTokError::UploadUrlExpired { .. } => ErrorKind::UploadUrlExpired,
            // The transfer resynchronises from it; one that escapes is retried, and the
            // retry asks TikTok's status where the upload stands.
            TikTokError::UploadRangeMismatch { .. } => ErrorKind::TikTokUnavailable,
            // Our headers were wrong: a bug a retry does not fix.
            TikTokError::UploadChunkRefused { .. } => ErrorKind::Internal,
            TikTokError::Rejected { .. } => ErrorKind::TikTokRejected,
            // A malformed 2xx answer may be a proxy hiccup; a malformed error answer is
            // still an error. Either way a bounded retry is the safe reading.
            TikTokError::Protocol { .. } => ErrorKind::TikTokUnavailable,
            TikTokError::ClientSecret(e) if e.retryable => ErrorKind::AwsUnavailable,
            TikTokError::ClientSecret(_) => ErrorKind::Internal,
        }
    }

    fn tiktok_code(&self) -> Option<&str> {
        self.code()
    }
}
