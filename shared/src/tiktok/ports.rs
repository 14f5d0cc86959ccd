//! The ports the services ask TikTok through, one per use: the OAuth start builds a URL, the
//! accounts API revokes, creator info queries, the pipeline posts and uploads, the token
//! service reads who the account is (user info). The HTTP client
//! that implements them all (`TikTokClient`) is in the adapters crate; tests put fakes in.
//! Token exchange and refresh are [`crate::tokens::TokenRefresher`].

use async_trait::async_trait;
use secrecy::SecretString;

use super::chunk_plan::{ChunkPlan, ChunkRange};
use super::error::TikTokError;
use super::types::{
    CreatorInfo, InitResponse, PhotoPostInfo, PhotoPostMode, PhotoSourceInfo, PostInfo,
    PublishStatus, PullInitResponse, PullSourceInfo, UploadUrl,
};
use crate::media::ByteStream;
use tiktok_publish_domain::account::AccountProfile;

/// How TikTok answered an accepted chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkAccepted {
    /// 206 Partial Content: taken, more chunks expected.
    MoreExpected,
    /// 201 Created: the whole video has arrived.
    UploadComplete,
}

/// TikTok's authorization page (no call is made, no secret is needed).
pub trait TikTokAuthorize: Send + Sync {
    /// The page TikTok shows the user to grant `scopes`; `state` comes back on the redirect.
    fn authorize_url(&self, redirect_uri: &str, state: &str, scopes: &[&str]) -> String;
}

/// Revoking an account's access (when a user disconnects it from this system).
#[async_trait]
pub trait TikTokRevoke: Send + Sync {
    async fn revoke(&self, access_token: &SecretString) -> Result<(), TikTokError>;
}

/// The creator's current posting settings. TikTok requires them before a Direct Post.
#[async_trait]
pub trait TikTokCreators: Send + Sync {
    async fn creator_info(&self, access_token: &SecretString) -> Result<CreatorInfo, TikTokError>;
}

/// One chunk PUT to an upload URL.
#[async_trait]
pub trait TikTokUpload: Send + Sync {
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
    ) -> Result<ChunkAccepted, TikTokError>;
}

/// What the pipeline's steps ask TikTok: creator info, init (Direct Post or inbox), the
/// chunks, and where a post stands.
#[async_trait]
pub trait TikTokPosting: TikTokCreators + TikTokUpload {
    /// Direct Post init: the post goes live once its upload completes.
    async fn init_direct_post(
        &self,
        access_token: &SecretString,
        post_info: &PostInfo,
        plan: &ChunkPlan,
    ) -> Result<InitResponse, TikTokError>;

    /// Upload to inbox: the creator finishes the post as a draft in the TikTok app.
    async fn init_inbox(
        &self,
        access_token: &SecretString,
        plan: &ChunkPlan,
    ) -> Result<InitResponse, TikTokError>;

    /// Direct Post init of a pull: TikTok downloads the video from the front door
    /// (`source_info.source = PULL_FROM_URL`); there is nothing to upload.
    async fn init_direct_post_pull(
        &self,
        access_token: &SecretString,
        post_info: &PostInfo,
        source: &PullSourceInfo,
    ) -> Result<PullInitResponse, TikTokError>;

    /// Upload to inbox by pull: TikTok downloads the draft from the front door.
    async fn init_inbox_pull(
        &self,
        access_token: &SecretString,
        source: &PullSourceInfo,
    ) -> Result<PullInitResponse, TikTokError>;

    /// A photo post (`media_type: PHOTO`): TikTok pulls the images from the front door.
    async fn init_photo_post(
        &self,
        access_token: &SecretString,
        mode: PhotoPostMode,
        post_info: &PhotoPostInfo,
        source: &PhotoSourceInfo,
    ) -> Result<PullInitResponse, TikTokError>;

    /// Cancels a pull still downloading (best-effort: TikTok answers
    /// `publish_not_cancellable` once it has the media).
    async fn cancel_publish(
        &self,
        access_token: &SecretString,
        publish_id: &str,
    ) -> Result<(), TikTokError>;

    /// Where a post stands.
    async fn fetch_status(
        &self,
        access_token: &SecretString,
        publish_id: &str,
    ) -> Result<PublishStatus, TikTokError>;
}

/// A field of `GET /v2/user/info/` this system asks for, with the scope TikTok wants for it
/// (TikTok's Get User Info page, and its 2024 scope migration notice for `username`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserInfoField {
    OpenId,
    AvatarUrl,
    DisplayName,
    Username,
}

impl UserInfoField {
    /// Its name in the `fields` query parameter.
    pub const fn as_str(self) -> &'static str {
        match self {
            UserInfoField::OpenId => "open_id",
            UserInfoField::AvatarUrl => "avatar_url",
            UserInfoField::DisplayName => "display_name",
            UserInfoField::Username => "username",
        }
    }

    /// The scope the user must have granted for TikTok to answer this field.
    pub const fn scope(self) -> &'static str {
        match self {
            UserInfoField::OpenId | UserInfoField::AvatarUrl | UserInfoField::DisplayName => {
                "user.info.basic"
            }
            UserInfoField::Username => "user.info.profile",
        }
    }

    /// The fields an account that granted `scopes` may be asked: asking for one whose
    /// scope is missing makes TikTok refuse the whole call.
    pub fn allowed_by(scopes: &[String]) -> Vec<UserInfoField> {
        [
            UserInfoField::OpenId,
            UserInfoField::AvatarUrl,
            UserInfoField::DisplayName,
            UserInfoField::Username,
        ]
        .into_iter()
        .filter(|field| scopes.iter().any(|granted| granted == field.scope()))
        .collect()
    }
}

/// What user info answered about the token's owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    /// Empty when TikTok left it out.
    pub open_id: String,
    pub profile: AccountProfile,
}

/// TikTok's user info (`GET /v2/user/info/`): who the account is, to show it.
#[async_trait]
pub trait TikTokUserInfo: Send + Sync {
    /// The token owner's `fields` (none may be left empty: `fields` is required).
    async fn user_info(
        &self,
        access_token: &SecretString,
        fields: &[UserInfoField],
    ) -> Result<UserInfo, TikTokError>;
}
