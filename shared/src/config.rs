//! Settings read from the environment, once per cold start.

use std::time::Duration;

use secrecy::SecretString;

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
    pub client_secret: SecretString,
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

    /// Reads `TIKTOK_API_BASE_URL`, `TIKTOK_AUTH_BASE_URL` and `TIKTOK_CLIENT_KEY`; the
    /// secret is passed in because where it lives differs (Secrets Manager in AWS).
    pub fn from_env(client_secret: SecretString) -> Result<Self, ConfigError> {
        let client_key = required("TIKTOK_CLIENT_KEY")?;
        let api = optional("TIKTOK_API_BASE_URL").unwrap_or_else(|| DEFAULT_API_BASE_URL.into());
        let auth = optional("TIKTOK_AUTH_BASE_URL").unwrap_or_else(|| DEFAULT_AUTH_BASE_URL.into());
        for (name, value) in [
            ("TIKTOK_API_BASE_URL", &api),
            ("TIKTOK_AUTH_BASE_URL", &auth),
        ] {
            url::Url::parse(value).map_err(|e| ConfigError::Invalid {
                name,
                reason: e.to_string(),
            })?;
        }
        Ok(TikTokConfig::new(client_key, client_secret).with_base_urls(api, auth))
    }
}

fn trim_slash(mut url: String) -> String {
    while url.ends_with('/') {
        url.pop();
    }
    url
}

/// A setting that is missing or malformed.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("the setting {name} is required but not set")]
    Missing { name: &'static str },
    #[error("the setting {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

pub fn required(name: &'static str) -> Result<String, ConfigError> {
    optional(name).ok_or(ConfigError::Missing { name })
}

pub fn optional(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A numeric setting with a default.
pub fn number_or(name: &'static str, default: u64) -> Result<u64, ConfigError> {
    match optional(name) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| ConfigError::Invalid {
            name,
            reason: format!("{v:?} is not a whole number"),
        }),
    }
}
