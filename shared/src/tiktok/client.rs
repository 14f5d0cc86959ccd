//! The HTTP client for TikTok's v2 OAuth and Content Posting API.
//!
//! One `reqwest::Client` (rustls, connection pool) per cold start; base URLs from
//! configuration so tests point it at the fake. Secrets go only into request bodies and
//! headers, never into errors or logs.

use std::time::Duration;

use reqwest::{Response, StatusCode, header};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::chunk_plan::{ChunkPlan, ChunkRange};
use super::error::{Endpoint, TikTokError};
use super::types::{
    CreatorInfo, InitResponse, PostInfo, PublishStatus, SourceInfo, TokenGrant, UploadUrl,
};
use crate::config::TikTokConfig;
use crate::media::ByteStream;

/// How TikTok answered an accepted chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkAccepted {
    /// 206 Partial Content: taken, more chunks expected.
    MoreExpected,
    /// 201 Created: the whole video has arrived.
    UploadComplete,
}

/// TikTok's v2 API.
#[derive(Clone)]
pub struct TikTokClient {
    http: reqwest::Client,
    config: TikTokConfig,
}

impl std::fmt::Debug for TikTokClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TikTokClient")
            .field("api_base_url", &self.config.api_base_url)
            .finish_non_exhaustive()
    }
}

/// TikTok's JSON envelope: `{ "data": ..., "error": { "code", "message", "log_id" } }`.
#[derive(Deserialize)]
struct Envelope<T> {
    data: Option<T>,
    error: Option<ApiError>,
}

#[derive(Deserialize, Default)]
struct ApiError {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    log_id: Option<String>,
}

/// The OAuth token endpoint's error answer (top level, not enveloped).
#[derive(Deserialize)]
struct OAuthError {
    error: String,
    #[serde(default)]
    error_description: String,
    #[serde(default)]
    log_id: Option<String>,
}

impl TikTokClient {
    pub fn new(config: TikTokConfig) -> Result<Self, TikTokError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            // Applies per read, so a slow but moving upload is fine and a stalled one fails.
            .read_timeout(config.upload_stall_timeout.max(config.request_timeout))
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!("tiktok-publish/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| TikTokError::Unavailable {
                endpoint: Endpoint::Token,
                detail: "cannot build the HTTP client".into(),
                status: None,
                log_id: None,
                source: Some(source),
            })?;
        Ok(TikTokClient { http, config })
    }

    pub fn config(&self) -> &TikTokConfig {
        &self.config
    }

    /// The page TikTok shows the user to grant `scopes`; `state` comes back on the redirect.
    pub fn authorize_url(&self, redirect_uri: &str, state: &str, scopes: &[&str]) -> String {
        let mut url =
            match url::Url::parse(&format!("{}/v2/auth/authorize/", self.config.auth_base_url)) {
                Ok(url) => url,
                // The base URL was validated when the configuration was read.
                Err(_) => return String::new(),
            };
        url.query_pairs_mut()
            .append_pair("client_key", &self.config.client_key)
            .append_pair("scope", &scopes.join(","))
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("state", state);
        url.into()
    }

    /// Exchanges an authorization code (already URL-decoded once) for tokens.
    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
    ) -> Result<TokenGrant, TikTokError> {
        let secret = self.config.client_secret.client_secret().await?;
        self.token_request(&[
            ("client_key", self.config.client_key.as_str()),
            ("client_secret", secret.expose_secret()),
            ("code", code),
            ("grant_type", "authorization_code"),
            ("redirect_uri", redirect_uri),
        ])
        .await
    }

    /// Refreshes. TikTok may rotate the refresh token: store what comes back, the old one
    /// is dead. A refused refresh means the account must be connected again.
    pub async fn refresh(&self, refresh_token: &SecretString) -> Result<TokenGrant, TikTokError> {
        let secret = self.config.client_secret.client_secret().await?;
        self.token_request(&[
            ("client_key", self.config.client_key.as_str()),
            ("client_secret", secret.expose_secret()),
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose_secret()),
        ])
        .await
    }

    /// Revokes the account's access (when a user disconnects it from this system).
    pub async fn revoke(&self, access_token: &SecretString) -> Result<(), TikTokError> {
        let endpoint = Endpoint::Revoke;
        let secret = self.config.client_secret.client_secret().await?;
        let response = self
            .http
            .post(self.api_url("/v2/oauth/revoke/"))
            .timeout(self.config.request_timeout)
            .form(&[
                ("client_key", self.config.client_key.as_str()),
                ("client_secret", secret.expose_secret()),
                ("token", access_token.expose_secret()),
            ])
            .send()
            .await
            .map_err(|e| transport(endpoint, e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body = response.bytes().await.map_err(|e| transport(endpoint, e))?;
        Err(oauth_failure(endpoint, status, &body))
    }

    /// The creator's current posting settings. TikTok requires this before a Direct Post.
    pub async fn creator_info(
        &self,
        access_token: &SecretString,
    ) -> Result<CreatorInfo, TikTokError> {
        self.post_json(
            Endpoint::CreatorInfo,
            "/v2/post/publish/creator_info/query/",
            access_token,
            &serde_json::json!({}),
        )
        .await
    }

    /// Direct Post init: the post goes live once its upload completes.
    pub async fn init_direct_post(
        &self,
        access_token: &SecretString,
        post_info: &PostInfo,
        plan: &ChunkPlan,
    ) -> Result<InitResponse, TikTokError> {
        let body = serde_json::json!({
            "post_info": post_info,
            "source_info": SourceInfo::from(plan),
        });
        self.post_json(
            Endpoint::DirectPostInit,
            "/v2/post/publish/video/init/",
            access_token,
            &body,
        )
        .await
    }

    /// Upload to inbox: the creator finishes the post as a draft in the TikTok app.
    pub async fn init_inbox(
        &self,
        access_token: &SecretString,
        plan: &ChunkPlan,
    ) -> Result<InitResponse, TikTokError> {
        let body = serde_json::json!({ "source_info": SourceInfo::from(plan) });
        self.post_json(
            Endpoint::InboxInit,
            "/v2/post/publish/inbox/video/init/",
            access_token,
            &body,
        )
        .await
    }

    /// Where a post stands.
    pub async fn fetch_status(
        &self,
        access_token: &SecretString,
        publish_id: &str,
    ) -> Result<PublishStatus, TikTokError> {
        let body = serde_json::json!({ "publish_id": publish_id });
        self.post_json(
            Endpoint::StatusFetch,
            "/v2/post/publish/status/fetch/",
            access_token,
            &body,
        )
        .await
    }

    /// PUTs one chunk, its body streamed from `body` (never buffered), with the headers
    /// TikTok checks: Content-Type, Content-Length and an inclusive, zero-based
    /// Content-Range. `body` must yield exactly `chunk.len()` bytes.
    pub async fn upload_chunk(
        &self,
        upload_url: &UploadUrl,
        chunk: ChunkRange,
        video_size: u64,
        content_type: &str,
        body: ByteStream,
    ) -> Result<ChunkAccepted, TikTokError> {
        let endpoint = Endpoint::UploadChunk;
        let response = self
            .http
            .put(upload_url.expose())
            .timeout(self.upload_deadline(chunk.len()))
            .header(header::CONTENT_TYPE, content_type)
            // An explicit length makes hyper frame the stream by length, not chunked encoding.
            .header(header::CONTENT_LENGTH, chunk.len())
            .header(header::CONTENT_RANGE, chunk.content_range(video_size))
            .body(reqwest::Body::wrap_stream(body))
            .send()
            .await
            .map_err(|e| transport(endpoint, e))?;
        let status = response.status();
        match status {
            StatusCode::PARTIAL_CONTENT => Ok(ChunkAccepted::MoreExpected),
            StatusCode::CREATED => Ok(ChunkAccepted::UploadComplete),
            StatusCode::FORBIDDEN | StatusCode::NOT_FOUND | StatusCode::GONE => {
                Err(TikTokError::UploadUrlExpired {
                    status: status.as_u16(),
                })
            }
            _ => {
                let body = response.bytes().await.map_err(|e| transport(endpoint, e))?;
                Err(api_failure(endpoint, status, &body))
            }
        }
    }

    /// The longest one chunk may take: the stall allowance plus the chunk at a floor of
    /// 1 MB/s, so a slow link still finishes while a dead one is given up on.
    fn upload_deadline(&self, chunk_len: u64) -> Duration {
        self.config.upload_stall_timeout + Duration::from_secs(chunk_len / 1_000_000)
    }

    fn api_url(&self, path: &str) -> String {
        format!("{}{}", self.config.api_base_url, path)
    }

    async fn token_request(&self, form: &[(&str, &str)]) -> Result<TokenGrant, TikTokError> {
        let endpoint = Endpoint::Token;
        let response = self
            .http
            .post(self.api_url("/v2/oauth/token/"))
            .timeout(self.config.request_timeout)
            .form(form)
            .send()
            .await
            .map_err(|e| transport(endpoint, e))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| transport(endpoint, e))?;
        if status.is_success() {
            // TikTok answers some token errors with 200 and an `error` field.
            if let Ok(grant) = serde_json::from_slice::<TokenGrant>(&body) {
                return Ok(grant);
            }
        }
        Err(oauth_failure(endpoint, status, &body))
    }

    async fn post_json<T: DeserializeOwned>(
        &self,
        endpoint: Endpoint,
        path: &str,
        access_token: &SecretString,
        body: &serde_json::Value,
    ) -> Result<T, TikTokError> {
        let response = self
            .http
            .post(self.api_url(path))
            .timeout(self.config.request_timeout)
            .bearer_auth(access_token.expose_secret())
            .header(header::CONTENT_TYPE, "application/json; charset=UTF-8")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| transport(endpoint, e))?;
        read_envelope(endpoint, response).await
    }
}

async fn read_envelope<T: DeserializeOwned>(
    endpoint: Endpoint,
    response: Response,
) -> Result<T, TikTokError> {
    let status = response.status();
    let body = response.bytes().await.map_err(|e| transport(endpoint, e))?;
    if status.is_success() {
        let envelope: Envelope<T> =
            serde_json::from_slice(&body).map_err(|e| TikTokError::Protocol {
                endpoint,
                status: status.as_u16(),
                detail: format!("the answer is not TikTok's envelope: {e}"),
            })?;
        let error = envelope.error.unwrap_or_default();
        if error.code.is_empty() || error.code == "ok" {
            return envelope.data.ok_or_else(|| TikTokError::Protocol {
                endpoint,
                status: status.as_u16(),
                detail: "the answer has no data".into(),
            });
        }
        return Err(classify(endpoint, status, error));
    }
    Err(api_failure(endpoint, status, &body))
}

/// A non-2xx answer of the Content Posting API (or the upload URL).
fn api_failure(endpoint: Endpoint, status: StatusCode, body: &[u8]) -> TikTokError {
    let error = serde_json::from_slice::<Envelope<serde_json::Value>>(body)
        .ok()
        .and_then(|e| e.error)
        .unwrap_or_default();
    classify(endpoint, status, error)
}

/// Maps TikTok's code and HTTP status to what the caller must do.
fn classify(endpoint: Endpoint, status: StatusCode, error: ApiError) -> TikTokError {
    let ApiError {
        code,
        message,
        log_id,
    } = error;
    match code.as_str() {
        "rate_limit_exceeded" => return TikTokError::RateLimited { endpoint, log_id },
        "access_token_invalid" => return TikTokError::AccessTokenInvalid { endpoint, log_id },
        "scope_not_authorized" => {
            return TikTokError::NeedsReconnect {
                reason: "the account has not granted the scope this post needs \
                         (video.publish for direct posts, video.upload for drafts)"
                    .into(),
                log_id,
            };
        }
        _ => {}
    }
    if status == StatusCode::TOO_MANY_REQUESTS {
        return TikTokError::RateLimited { endpoint, log_id };
    }
    if status == StatusCode::UNAUTHORIZED {
        return TikTokError::AccessTokenInvalid { endpoint, log_id };
    }
    if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
        return TikTokError::Unavailable {
            endpoint,
            detail: if code.is_empty() {
                format!("HTTP {status}")
            } else {
                format!("{code}: {message}")
            },
            status: Some(status.as_u16()),
            log_id,
            source: None,
        };
    }
    if code.is_empty() {
        return TikTokError::Protocol {
            endpoint,
            status: status.as_u16(),
            detail: "an error answer without TikTok's error code".into(),
        };
    }
    TikTokError::Rejected {
        endpoint,
        status: status.as_u16(),
        code,
        message,
        log_id,
    }
}

/// A failed token or revoke call. `invalid_grant` on a refresh means the refresh token is
/// dead (expired, revoked or rotated out): only the owner reconnecting fixes it.
fn oauth_failure(endpoint: Endpoint, status: StatusCode, body: &[u8]) -> TikTokError {
    if status == StatusCode::TOO_MANY_REQUESTS {
        return TikTokError::RateLimited {
            endpoint,
            log_id: None,
        };
    }
    if status.is_server_error() {
        return TikTokError::Unavailable {
            endpoint,
            detail: format!("HTTP {status}"),
            status: Some(status.as_u16()),
            log_id: None,
            source: None,
        };
    }
    match serde_json::from_slice::<OAuthError>(body) {
        Ok(OAuthError {
            error,
            error_description,
            log_id,
        }) => match error.as_str() {
            "invalid_grant" => TikTokError::NeedsReconnect {
                reason: format!(
                    "TikTok refused the grant ({error_description}); connect the account again"
                ),
                log_id,
            },
            "rate_limit_exceeded" => TikTokError::RateLimited { endpoint, log_id },
            _ => TikTokError::Rejected {
                endpoint,
                status: status.as_u16(),
                code: error,
                message: error_description,
                log_id,
            },
        },
        // Some answers come enveloped like the posting API.
        Err(_) => api_failure(endpoint, status, body),
    }
}

fn transport(endpoint: Endpoint, source: reqwest::Error) -> TikTokError {
    let detail = if source.is_timeout() {
        "the request timed out"
    } else if source.is_connect() {
        "could not connect"
    } else if source.is_body() || source.is_request() {
        "the connection failed while sending"
    } else if source.is_decode() {
        "the answer could not be read"
    } else {
        "the connection failed"
    };
    // reqwest's Display includes the URL, which for uploads is a secret.
    TikTokError::Unavailable {
        endpoint,
        detail: detail.into(),
        status: None,
        log_id: None,
        source: Some(source.without_url()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::{Classify, ErrorKind};

    fn failure(status: u16, body: &str) -> TikTokError {
        api_failure(
            Endpoint::DirectPostInit,
            StatusCode::from_u16(status).unwrap(),
            body.as_bytes(),
        )
    }

    fn envelope(code: &str) -> String {
        format!(r#"{{"data":{{}},"error":{{"code":"{code}","message":"m","log_id":"L1"}}}}"#)
    }

    #[test]
    fn tiktok_codes_map_to_what_the_caller_must_do() {
        let cases = [
            (429, "rate_limit_exceeded", ErrorKind::TikTokRateLimited),
            (401, "access_token_invalid", ErrorKind::AccessTokenInvalid),
            (
                401,
                "scope_not_authorized",
                ErrorKind::AccountNeedsReconnect,
            ),
            (
                400,
                "privacy_level_option_mismatch",
                ErrorKind::TikTokRejected,
            ),
            (400, "invalid_params", ErrorKind::TikTokRejected),
            (400, "invalid_param", ErrorKind::TikTokRejected),
            (403, "spam_risk_too_many_posts", ErrorKind::TikTokRejected),
            (
                403,
                "unaudited_client_can_only_post_to_private_accounts",
                ErrorKind::TikTokRejected,
            ),
            (500, "internal_error", ErrorKind::TikTokUnavailable),
            (503, "", ErrorKind::TikTokUnavailable),
        ];
        for (status, code, kind) in cases {
            let err = failure(status, &envelope(code));
            assert_eq!(err.kind(), kind, "{status} {code}: {err}");
        }
        let err = failure(
            403,
            &envelope("unaudited_client_can_only_post_to_private_accounts"),
        );
        assert_eq!(err.log_id(), Some("L1"));
        assert!(
            err.to_string().contains("account itself must be private"),
            "{err}"
        );
    }

    #[test]
    fn a_garbled_error_answer_is_retried_not_trusted() {
        assert_eq!(failure(400, "<html>").kind(), ErrorKind::TikTokUnavailable);
        assert_eq!(failure(502, "<html>").kind(), ErrorKind::TikTokUnavailable);
    }

    #[test]
    fn a_refused_refresh_needs_reconnect() {
        let body = br#"{"error":"invalid_grant","error_description":"Refresh token is invalid","log_id":"x"}"#;
        let err = oauth_failure(Endpoint::Token, StatusCode::BAD_REQUEST, body);
        assert_eq!(err.kind(), ErrorKind::AccountNeedsReconnect);
        let body = br#"{"error":"invalid_client","error_description":"bad secret","log_id":"x"}"#;
        let err = oauth_failure(Endpoint::Token, StatusCode::UNAUTHORIZED, body);
        assert_eq!(err.kind(), ErrorKind::TikTokRejected);
    }

    #[test]
    fn authorize_url_carries_every_parameter_encoded() {
        let config = TikTokConfig::new("key 1", SecretString::from("s"))
            .with_base_urls("https://api.example", "https://auth.example/");
        let client = TikTokClient::new(config).unwrap();
        let url = client.authorize_url(
            "https://cb.example/oauth/callback?x=1",
            "st&ate",
            &["video.publish", "video.upload"],
        );
        let parsed = url::Url::parse(&url).unwrap();
        assert_eq!(parsed.path(), "/v2/auth/authorize/");
        let query: std::collections::HashMap<_, _> = parsed.query_pairs().into_owned().collect();
        assert_eq!(query["client_key"], "key 1");
        assert_eq!(query["scope"], "video.publish,video.upload");
        assert_eq!(query["response_type"], "code");
        assert_eq!(
            query["redirect_uri"],
            "https://cb.example/oauth/callback?x=1"
        );
        assert_eq!(query["state"], "st&ate");
    }
}
