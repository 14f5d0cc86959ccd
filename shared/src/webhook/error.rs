//! Why an event was refused (nothing was recorded), or could not be recorded, and the HTTP
//! status TikTok gets for each.

use crate::store::StoreError;

/// Why an event was refused (nothing was recorded), or could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error(
        "the request has no TikTok-Signature header: only events signed by TikTok are accepted"
    )]
    Unsigned,
    #[error(
        "the TikTok-Signature header is malformed ({0}): expected t=<unix seconds>,s=<hex HMAC-SHA256>"
    )]
    MalformedSignature(&'static str),
    #[error(
        "the signature does not match the body: the event was not signed with this app's client secret"
    )]
    BadSignature,
    #[error(
        "the signature is {age_secs} s old; events signed more than {max_secs} s ago are refused (TikTok retries a delivery for 72 hours at most)"
    )]
    Stale { age_secs: i64, max_secs: u64 },
    #[error(
        "the signature is dated {ahead_secs} s ahead; more than {max_secs} s ahead is refused (check the clocks)"
    )]
    FromTheFuture { ahead_secs: i64, max_secs: u64 },
    #[error("the event is malformed: {0}")]
    Malformed(String),
    #[error("the event is for client_key {found:?}, not this app's")]
    WrongClientKey { found: String },
    #[error("the event could not be recorded ({0}); TikTok will deliver it again")]
    Store(#[from] StoreError),
}

impl WebhookError {
    /// The HTTP status TikTok gets: 401 for anything about the signature, 400 for a
    /// malformed event, 503 when recording failed (TikTok retries it).
    pub fn http_status(&self) -> u16 {
        match self {
            WebhookError::Unsigned
            | WebhookError::MalformedSignature(_)
            | WebhookError::BadSignature
            | WebhookError::Stale { .. }
            | WebhookError::FromTheFuture { .. } => 401,
            WebhookError::Malformed(_) | WebhookError::WrongClientKey { .. } => 400,
            WebhookError::Store(_) => 503,
        }
    }
}
