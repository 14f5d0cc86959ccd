//! Who we are to TikTok and how strict the webhook's checks are (read from the environment
//! by the wiring: `TIKTOK_CLIENT_KEY`, `WEBHOOK_MAX_AGE_SECS`, `WEBHOOK_MAX_SKEW_SECS`,
//! `WEBHOOK_POST_SEARCH_LIMIT`).

use std::fmt;
use std::time::Duration;

use secrecy::SecretString;

use super::{DEFAULT_MAX_AGE_SECS, DEFAULT_MAX_SKEW_SECS, DEFAULT_POST_SEARCH_LIMIT};

/// Who we are to TikTok and how strict the checks are.
#[derive(Clone)]
pub struct WebhookSettings {
    /// Events for another client key are refused.
    pub client_key: String,
    /// The HMAC key of the signature.
    pub client_secret: SecretString,
    /// How old the signature's `t` may be. TikTok retries a failed delivery for up to 72
    /// hours and does not say that a retry is signed afresh, so anything shorter than that
    /// (and a margin for its backoff) loses late retries; recording is idempotent, so a
    /// replay of a verified event changes nothing.
    pub max_age: Duration,
    /// How far ahead of now the signature's `t` may be (clocks drift; TikTok never signs
    /// in the future).
    pub max_skew: Duration,
    /// How many of the account's newest posts are searched for a `publish_id`.
    pub post_search_limit: u32,
}

impl fmt::Debug for WebhookSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSettings")
            .field("client_key", &self.client_key)
            .field("client_secret", &"[redacted]")
            .field("max_age", &self.max_age)
            .field("max_skew", &self.max_skew)
            .field("post_search_limit", &self.post_search_limit)
            .finish()
    }
}

impl WebhookSettings {
    /// Default bounds for this app.
    pub fn new(client_key: impl Into<String>, client_secret: SecretString) -> Self {
        WebhookSettings {
            client_key: client_key.into(),
            client_secret,
            max_age: Duration::from_secs(DEFAULT_MAX_AGE_SECS),
            max_skew: Duration::from_secs(DEFAULT_MAX_SKEW_SECS),
            post_search_limit: DEFAULT_POST_SEARCH_LIMIT,
        }
    }
}
