//! The HTTP client for TikTok's v2 OAuth and Content Posting API, and user info
//! (`user_info.rs`).
//!
//! One `reqwest::Client` (rustls, connection pool) per cold start; base URLs from
//! configuration so tests point it at the fake. Secrets go only into request bodies and
//! headers, never into errors or logs.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::{StatusCode, header};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use tiktok_publish_core::config::TikTokConfig;
use tiktok_publish_core::media::ByteStream;
use tiktok_publish_core::tiktok::{
    ChunkAccepted, ChunkPlan, ChunkRange, CreatorInfo, Endpoint, InitResponse, PhotoPostInfo,
    PhotoPostMode, PhotoSourceInfo, PostInfo, PublishStatus, PullInitResponse, PullSourceInfo,
    SourceInfo, TikTokAuthorize, TikTokCreators, TikTokError, TikTokPosting, TikTokRevoke,
    TikTokUpload, TokenGrant, UploadUrl,
};
use tiktok_publish_core::tokens::TokenRefresher;

mod answers;
#[cfg(test)]
mod tests;
mod user_info;

use answers::{oauth_failure, read_answer, read_envelope, transport, upload_failure};

/// TikTok's v2 API over HTTP: every TikTok port of the core.
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
                source: Some(Box::new(source)),
            })?;
        Ok(TikTokClient { http, config })
    }

    pub fn config(&self) -> &TikTokConfig {
        &self.config
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
        let response = self.send_json(endpoint, path, access_token, body).await?;
        read_envelope(endpoint, response).await
    }

    async fn send_json(
        &self,
        endpoint: Endpoint,
        path: &str,
        access_token: &SecretString,
        body: &serde_json::Value,
    ) -> Result<reqwest::Response, TikTokError> {
        self.http
            .post(self.api_url(path))
            .timeout(self.config.request_timeout)
            .bearer_auth(access_token.expose_secret())
            .header(header::CONTENT_TYPE, "application/json; charset=UTF-8")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| transport(endpoint, e))
    }
}

impl TikTokAuthorize for TikTokClient {
    /// The page TikTok shows the user to grant `scopes`; `state` comes back on the redirect.
    fn authorize_url(&self, redirect_uri: &str, state: &str, scopes: &[&str]) -> String {
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
}

#[async_trait]
impl TokenRefresher for TikTokClient {
    /// Refreshes. TikTok may rotate the refresh token: store what comes back, the old one
    /// is dead. A refused refresh means the account must be connected again.
    async fn refresh(&self, refresh_token: &SecretString) -> Result<TokenGrant, TikTokError> {
        let secret = self.config.client_secret.client_secret().await?;
        self.token_request(&[
            ("client_key", self.config.client_key.as_str()),
            ("client_secret", secret.expose_secret()),
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose_secret()),
        ])
        .await
    }

    /// Exchanges an authorization code (already URL-decoded once) for tokens.
    async fn exchange_code(
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
}

#[async_trait]
impl TikTokRevoke for TikTokClient {
    /// Revokes the account's access (when a user disconnects it from this system).
    async fn revoke(&self, access_token: &SecretString) -> Result<(), TikTokError> {
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
}

#[async_trait]
impl TikTokCreators for TikTokClient {
    /// The creator's current posting settings. TikTok requires this before a Direct Post.
    async fn creator_info(&self, access_token: &SecretString) -> Result<CreatorInfo, TikTokError> {
        self.post_json(
            Endpoint::CreatorInfo,
            "/v2/post/publish/creator_info/query/",
            access_token,
            &serde_json::json!({}),
        )
        .await
    }
}

#[async_trait]
impl TikTokUpload for TikTokClient {
    /// PUTs one chunk, its body streamed from `body` (never buffered), with the headers
    /// TikTok checks: Content-Type, Content-Length and an inclusive, zero-based
    /// Content-Range. `body` must yield exactly `chunk.len()` bytes.
    async fn upload_chunk(
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
        match response.status() {
            StatusCode::PARTIAL_CONTENT => Ok(ChunkAccepted::MoreExpected),
            StatusCode::CREATED => Ok(ChunkAccepted::UploadComplete),
            _ => Err(upload_failure(response).await),
        }
    }
}

#[async_trait]
impl TikTokPosting for TikTokClient {
    /// Direct Post init: the post goes live once its upload completes.
    async fn init_direct_post(
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
    async fn init_inbox(
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

    async fn init_direct_post_pull(
        &self,
        access_token: &SecretString,
        post_info: &PostInfo,
        source: &PullSourceInfo,
    ) -> Result<PullInitResponse, TikTokError> {
        let body = serde_json::json!({ "post_info": post_info, "source_info": source });
        self.post_json(
            Endpoint::DirectPostInit,
            "/v2/post/publish/video/init/",
            access_token,
            &body,
        )
        .await
    }

    async fn init_inbox_pull(
        &self,
        access_token: &SecretString,
        source: &PullSourceInfo,
    ) -> Result<PullInitResponse, TikTokError> {
        let body = serde_json::json!({ "source_info": source });
        self.post_json(
            Endpoint::InboxInit,
            "/v2/post/publish/inbox/video/init/",
            access_token,
            &body,
        )
        .await
    }

    async fn init_photo_post(
        &self,
        access_token: &SecretString,
        mode: PhotoPostMode,
        post_info: &PhotoPostInfo,
        source: &PhotoSourceInfo,
    ) -> Result<PullInitResponse, TikTokError> {
        let body = serde_json::json!({
            "media_type": "PHOTO",
            "post_mode": mode,
            "post_info": post_info,
            "source_info": source,
        });
        self.post_json(
            Endpoint::PhotoInit,
            "/v2/post/publish/content/init/",
            access_token,
            &body,
        )
        .await
    }

    async fn cancel_publish(
        &self,
        access_token: &SecretString,
        publish_id: &str,
    ) -> Result<(), TikTokError> {
        let body = serde_json::json!({ "publish_id": publish_id });
        let endpoint = Endpoint::Cancel;
        let response = self
            .send_json(endpoint, "/v2/post/publish/cancel/", access_token, &body)
            .await?;
        read_answer::<serde::de::IgnoredAny>(endpoint, response).await?;
        Ok(())
    }

    /// Where a post stands.
    async fn fetch_status(
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
}
