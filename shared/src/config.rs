//! Where TikTok is and who we are to it, and where the client secret comes from. Plain
//! typed settings: the wiring (`tiktok_publish_wiring::settings`) reads them from the
//! environment, once per cold start.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;

/// The app's client secret, asked for only when a request needs it: a code exchange, a
/// refresh or a revocation. Most TikTok calls (creator info, init, status) carry only the
/// account's access token, so a Lambda that never refreshes never reads Secrets Manager.
#[async_trait]
pub trait ClientSecretSource: Send + Sync + fmt::Debug {
    async fn client_secret(&self) -> Result<SecretString, SecretUnavailable>;
}

/// Why the client secret could not be had.
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot read the TikTok client secret: {detail}")]
pub struct SecretUnavailable {
    pub detail: String,
    /// Passing trouble (Secrets Manager throttled or unreachable), not a missing setting.
    pub retryable: bool,
}

/// A secret known up front (local runs, tests).
#[async_trait]
impl ClientSecretSource for SecretString {
    async fn client_secret(&self) -> Result<SecretString, SecretUnavailable> {
        Ok(self.clone())
    }
}

/// For a function that is given no client secret (oauth-start only builds authorize URLs).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoClientSecret;

#[async_trait]
impl ClientSecretSource for NoClientSecret {
    async fn client_secret(&self) -> Result<SecretString, SecretUnavailable> {
        Err(SecretUnavailable {
            detail: "this function is given no client secret".into(),
            retryable: false,
        })
    }
}

/// Where TikTok is and who we are to it.
#[derive(Debug, Clone)]
pub struct TikTokConfig {
    /// `TIKTOK_API_BASE_URL`, default `https://open.tiktokapis.com`.
    pub api_base_url: String,
    /// `TIKTOK_AUTH_BASE_URL`, default `https://www.tiktok.com`.
    pub auth_base_url: String,
    /// `TIKTOK_CLIENT_KEY`.
    pub client_key: String,
    /// The client secret; in AWS it comes from Secrets Manager on first use.
    pub client_secret: Arc<dyn ClientSecretSource>,
    /// Time-out of one JSON call to TikTok.
    pub request_timeout: Duration,
    /// Time-out for TikTok to answer a chunk PUT once its body is sent, and the longest a
    /// chunk body may stall before the upload is abandoned.
    pub upload_stall_timeout: Duration,
}

pub const DEFAULT_API_BASE_URL: &str = "https://open.tiktokapis.com";
pub const DEFAULT_AUTH_BASE_URL: &str = "https://www.tiktok.com";

impl TikTokConfig {
    /// A configuration with TikTok's real hosts and default time-outs.
    pub fn new(client_key: impl Into<String>, client_secret: SecretString) -> Self {
        TikTokConfig::with_secret_source(client_key, Arc::new(client_secret))
    }

    /// The same, the secret read from `client_secret` when a request first needs it.
    pub fn with_secret_source(
        client_key: impl Into<String>,
        client_secret: Arc<dyn ClientSecretSource>,
    ) -> Self {
        TikTokConfig {
            api_base_url: DEFAULT_API_BASE_URL.to_owned(),
            auth_base_url: DEFAULT_AUTH_BASE_URL.to_owned(),
            client_key: client_key.into(),
            client_secret,
            request_timeout: Duration::from_secs(30),
            upload_stall_timeout: Duration::from_secs(60),
        }
    }

    /// Same hosts for API and authorize page (a stand-in such as the fake TikTok).
    pub fn with_base_urls(mut self, api: impl Into<String>, auth: impl Into<String>) -> Self {
        self.api_base_url = trim_slash(api.into());
        self.auth_base_url = trim_slash(auth.into());
        self
    }
}

fn trim_slash(mut url: String) -> String {
    while url.ends_with('/') {
        url.pop();
    }
    url
}

pub use tiktok_publish_domain::setting::ConfigError;
