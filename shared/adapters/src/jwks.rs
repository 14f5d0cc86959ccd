//! [`HttpJwks`]: a user pool's public keys, fetched from its `/.well-known/jwks.json`
//! (`https://cognito-idp.{region}.amazonaws.com/{pool}/.well-known/jwks.json`; moto serves
//! the same path). The verifier in the core keeps what it fetched; this only fetches.

use std::time::Duration;

use async_trait::async_trait;
use url::Url;

use tiktok_publish_core::console::{JwkSet, JwksError, JwksSource};

/// How long one fetch of the keys may take: a sign-in waits for it.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// `JwksSource` over HTTP.
#[derive(Debug, Clone)]
pub struct HttpJwks {
    http: reqwest::Client,
    url: Url,
}

impl HttpJwks {
    /// The keys at `url` (a setting).
    pub fn new(url: Url) -> Result<Self, JwksError> {
        let http = reqwest::Client::builder()
            .connect_timeout(FETCH_TIMEOUT)
            .timeout(FETCH_TIMEOUT)
            .user_agent(concat!("tiktok-publish/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| JwksError::Unusable {
                detail: format!("cannot build the HTTP client: {e}"),
            })?;
        Ok(HttpJwks { http, url })
    }

    pub fn url(&self) -> &Url {
        &self.url
    }
}

#[async_trait]
impl JwksSource for HttpJwks {
    async fn fetch(&self) -> Result<JwkSet, JwksError> {
        let response =
            self.http
                .get(self.url.clone())
                .send()
                .await
                .map_err(|e| JwksError::Unavailable {
                    detail: format!("GET {}: {e}", self.url),
                })?;
        let status = response.status();
        if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(JwksError::Unavailable {
                detail: format!("GET {} answered {status}", self.url),
            });
        }
        if !status.is_success() {
            return Err(JwksError::Unusable {
                detail: format!("GET {} answered {status}", self.url),
            });
        }
        let body = response.bytes().await.map_err(|e| JwksError::Unavailable {
            detail: format!("reading {}: {e}", self.url),
        })?;
        serde_json::from_slice(&body).map_err(|e| JwksError::Unusable {
            detail: format!("{} is not a JWKS: {e}", self.url),
        })
    }
}
