//! Typed requests and answers of TikTok's v2 API (see `tiktok-api.md`).

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize};

/// Who may see a post. TikTok offers each creator a subset (`privacy_level_options`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PrivacyLevel {
    PublicToEveryone,
    MutualFollowFriends,
    FollowerOfCreator,
    SelfOnly,
}

impl PrivacyLevel {
    pub const ALL: [PrivacyLevel; 4] = [
        PrivacyLevel::PublicToEveryone,
        PrivacyLevel::MutualFollowFriends,
        PrivacyLevel::FollowerOfCreator,
        PrivacyLevel::SelfOnly,
    ];

    /// TikTok's wire name, e.g. `PUBLIC_TO_EVERYONE`.
    pub const fn as_str(self) -> &'static str {
        match self {
            PrivacyLevel::PublicToEveryone => "PUBLIC_TO_EVERYONE",
            PrivacyLevel::MutualFollowFriends => "MUTUAL_FOLLOW_FRIENDS",
            PrivacyLevel::FollowerOfCreator => "FOLLOWER_OF_CREATOR",
            PrivacyLevel::SelfOnly => "SELF_ONLY",
        }
    }

    pub fn parse(value: &str) -> Option<PrivacyLevel> {
        PrivacyLevel::ALL.into_iter().find(|l| l.as_str() == value)
    }
}

impl fmt::Display for PrivacyLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The creator's current posting settings, from `creator_info/query`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatorInfo {
    #[serde(default)]
    pub creator_avatar_url: String,
    #[serde(default)]
    pub creator_username: String,
    #[serde(default)]
    pub creator_nickname: String,
    /// Levels TikTok may add later are kept as strings and never chosen by us.
    #[serde(default)]
    pub privacy_level_options: Vec<String>,
    #[serde(default)]
    pub comment_disabled: bool,
    #[serde(default)]
    pub duet_disabled: bool,
    #[serde(default)]
    pub stitch_disabled: bool,
    #[serde(default)]
    pub max_video_post_duration_sec: u32,
}

impl CreatorInfo {
    /// The privacy levels this creator may use now, among those we know.
    pub fn privacy_levels(&self) -> Vec<PrivacyLevel> {
        self.privacy_level_options
            .iter()
            .filter_map(|s| PrivacyLevel::parse(s))
            .collect()
    }

    pub fn offers(&self, level: PrivacyLevel) -> bool {
        self.privacy_level_options
            .iter()
            .any(|s| s == level.as_str())
    }
}

/// `post_info` of a Direct Post init: every field TikTok accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostInfo {
    /// Caption with #hashtags and @mentions: at most 2,200 UTF-16 code units.
    pub title: String,
    pub privacy_level: PrivacyLevel,
    pub disable_duet: bool,
    pub disable_comment: bool,
    pub disable_stitch: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_cover_timestamp_ms: Option<u64>,
    pub brand_content_toggle: bool,
    pub brand_organic_toggle: bool,
    pub is_aigc: bool,
}

/// `source_info` of both inits; always `FILE_UPLOAD` (S3 presigned URLs cannot be verified
/// for `PULL_FROM_URL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SourceInfo {
    pub source: &'static str,
    pub video_size: u64,
    pub chunk_size: u64,
    pub total_chunk_count: u64,
}

impl From<&crate::chunk_plan::ChunkPlan> for SourceInfo {
    fn from(plan: &crate::chunk_plan::ChunkPlan) -> Self {
        SourceInfo {
            source: "FILE_UPLOAD",
            video_size: plan.video_size(),
            chunk_size: plan.chunk_size(),
            total_chunk_count: plan.total_chunk_count(),
        }
    }
}

/// How TikTok gets the video: the stack sends it in chunks (`FILE_UPLOAD`), or TikTok
/// downloads it from the front door (`PULL_FROM_URL`, which needs the user's own verified
/// domain; see docs/front-door.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VideoSource {
    FileUpload,
    PullFromUrl,
}

impl VideoSource {
    pub const fn as_str(self) -> &'static str {
        match self {
            VideoSource::FileUpload => "FILE_UPLOAD",
            VideoSource::PullFromUrl => "PULL_FROM_URL",
        }
    }

    pub fn parse(value: &str) -> Option<VideoSource> {
        [VideoSource::FileUpload, VideoSource::PullFromUrl]
            .into_iter()
            .find(|source| source.as_str() == value)
    }
}

impl fmt::Display for VideoSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A signed media URL of the front door (`media_url::MediaUrlSigner`). Whoever holds it may
/// read that version of the video until it expires, so it is kept like a secret: its
/// `Debug` hides it, and it is never logged or stored; only TikTok's init body carries it.
#[derive(Clone)]
pub struct MediaUrl(SecretString);

impl MediaUrl {
    pub fn new(url: String) -> Self {
        MediaUrl(SecretString::from(url))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for MediaUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MediaUrl([redacted])")
    }
}

/// `source_info` of a pull: TikTok downloads the video from `video_url`.
#[derive(Debug, Clone)]
pub struct PullSourceInfo {
    pub video_url: MediaUrl,
}

impl Serialize for PullSourceInfo {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut info = serializer.serialize_struct("PullSourceInfo", 2)?;
        info.serialize_field("source", VideoSource::PullFromUrl.as_str())?;
        info.serialize_field("video_url", self.video_url.expose())?;
        info.end()
    }
}

/// What an init of a pull answers: only the publish id (there is nothing to upload).
#[derive(Debug, Clone, Deserialize)]
pub struct PullInitResponse {
    pub publish_id: String,
}

/// `post_mode` of a photo post: live on the account, or to the creator's inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PhotoPostMode {
    DirectPost,
    MediaUpload,
}

/// The most UTF-16 units of a photo post's title (TikTok's Photo Post page).
pub const MAX_PHOTO_TITLE_UTF16: usize = 90;
/// The most UTF-16 units of a photo post's description.
pub const MAX_PHOTO_DESCRIPTION_UTF16: usize = 4000;

/// `post_info` of a photo post. Comment is its only interaction switch, and a
/// `MEDIA_UPLOAD` takes none of the settings (the creator chooses them in the app).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhotoPostInfo {
    pub title: String,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub privacy_level: Option<PrivacyLevel>,
    pub disable_comment: bool,
    pub auto_add_music: bool,
    pub brand_content_toggle: bool,
    pub brand_organic_toggle: bool,
}

/// `source_info` of a photo post: TikTok pulls every image (1 to 35) from the front door;
/// `photo_cover_index` counts from 0.
#[derive(Debug, Clone)]
pub struct PhotoSourceInfo {
    pub photo_images: Vec<MediaUrl>,
    pub photo_cover_index: usize,
}

impl Serialize for PhotoSourceInfo {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let images: Vec<&str> = self.photo_images.iter().map(MediaUrl::expose).collect();
        let mut info = serializer.serialize_struct("PhotoSourceInfo", 3)?;
        info.serialize_field("source", VideoSource::PullFromUrl.as_str())?;
        info.serialize_field("photo_images", &images)?;
        info.serialize_field("photo_cover_index", &self.photo_cover_index)?;
        info.end()
    }
}

/// Where the post goes: live on the account, or to the creator's inbox as a draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PostMode {
    DirectPost,
    Draft,
}

/// The upload URL init returns. It grants writing to the post, so it is a secret: its
/// `Debug` hides it and it is never logged or put into state machine input.
#[derive(Clone)]
pub struct UploadUrl(SecretString);

impl UploadUrl {
    pub fn new(url: String) -> Self {
        UploadUrl(SecretString::from(url))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for UploadUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UploadUrl([redacted])")
    }
}

impl<'de> Deserialize<'de> for UploadUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(UploadUrl::new)
    }
}

/// What an init answers.
#[derive(Debug, Clone, Deserialize)]
pub struct InitResponse {
    pub publish_id: String,
    pub upload_url: UploadUrl,
}

/// `data.status` of a status fetch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PublishStatusKind {
    ProcessingUpload,
    ProcessingDownload,
    /// Final for drafts: the creator finishes the post in the app.
    SendToUserInbox,
    /// Final: the post is live (its public id may come later).
    PublishComplete,
    /// Final: see `fail_reason`.
    Failed,
    /// A status TikTok may add later: treated as still processing.
    #[serde(other)]
    Unknown,
}

impl PublishStatusKind {
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            PublishStatusKind::SendToUserInbox
                | PublishStatusKind::PublishComplete
                | PublishStatusKind::Failed
        )
    }
}

/// The `fail_reason` (status) and webhook reason TikTok gives a publish it cancelled at our
/// request (`POST /v2/post/publish/cancel/`).
pub const PUBLISH_CANCELLED: &str = "publish_cancelled";
/// The error code of a cancel TikTok cannot honour: it has the media already, or the publish
/// is final.
pub const PUBLISH_NOT_CANCELLABLE: &str = "publish_not_cancellable";

/// What a status fetch answers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PublishStatus {
    pub status: PublishStatusKind,
    #[serde(default)]
    pub fail_reason: Option<String>,
    /// TikTok's spelling. Often empty for a complete post (private, slow moderation).
    #[serde(
        default,
        rename = "publicaly_available_post_id",
        deserialize_with = "post_ids"
    )]
    pub public_post_ids: Vec<String>,
    #[serde(default)]
    pub uploaded_bytes: Option<u64>,
    #[serde(default)]
    pub downloaded_bytes: Option<u64>,
}

/// Post ids are int64 on the wire; kept as strings so no id is ever rounded, and accepted
/// as numbers or strings.
fn post_ids<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Number(u64),
        Text(String),
    }
    let ids: Option<Vec<Id>> = Option::deserialize(deserializer)?;
    Ok(ids
        .unwrap_or_default()
        .into_iter()
        .map(|id| match id {
            Id::Number(n) => n.to_string(),
            Id::Text(s) => s,
        })
        .collect())
}

/// Tokens from a code exchange or a refresh. Secrets are redacted in `Debug`.
#[derive(Debug, Clone, Deserialize)]
pub struct TokenGrant {
    pub open_id: String,
    pub access_token: SecretString,
    /// Seconds from now.
    pub expires_in: u64,
    pub refresh_token: SecretString,
    /// Seconds from now.
    pub refresh_expires_in: u64,
    /// Comma-separated scopes granted.
    #[serde(default)]
    pub scope: String,
    #[serde(default)]
    pub token_type: String,
}

impl TokenGrant {
    pub fn scopes(&self) -> Vec<String> {
        split_scopes(&self.scope)
    }
}

/// TikTok separates scopes with commas (and sometimes spaces).
pub fn split_scopes(scopes: &str) -> Vec<String> {
    scopes
        .split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The scopes this system asks for: posting directly needs `video.publish`, drafts
/// `video.upload`, and the nickname shown before posting `user.info.basic`.
pub const REQUIRED_SCOPES: [&str; 3] = ["user.info.basic", "video.publish", "video.upload"];

/// The scope a Direct Post needs.
pub const DIRECT_POST_SCOPE: &str = "video.publish";
/// The scope an upload to the inbox (a draft) needs, and all an account needs to connect:
/// an account that granted only this one posts drafts.
pub const DRAFT_SCOPE: &str = "video.upload";

impl PostMode {
    /// The scope TikTok asks of a post in this mode.
    pub const fn scope(self) -> &'static str {
        match self {
            PostMode::DirectPost => DIRECT_POST_SCOPE,
            PostMode::Draft => DRAFT_SCOPE,
        }
    }
}

/// How many UTF-16 code units TikTok counts in a caption.
pub fn utf16_len(text: &str) -> usize {
    text.encode_utf16().count()
}

/// The longest caption TikTok accepts, in UTF-16 code units.
pub const MAX_TITLE_UTF16: usize = 2200;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_reads_every_value_and_keeps_big_post_ids_exact() {
        let json = r#"{"status":"PUBLISH_COMPLETE","publicaly_available_post_id":[7299999999999999999],"uploaded_bytes":10}"#;
        let status: PublishStatus = serde_json::from_str(json).unwrap();
        assert_eq!(status.status, PublishStatusKind::PublishComplete);
        assert_eq!(status.public_post_ids, vec!["7299999999999999999"]);
        for (wire, kind, is_final) in [
            (
                "PROCESSING_UPLOAD",
                PublishStatusKind::ProcessingUpload,
                false,
            ),
            (
                "PROCESSING_DOWNLOAD",
                PublishStatusKind::ProcessingDownload,
                false,
            ),
            (
                "SEND_TO_USER_INBOX",
                PublishStatusKind::SendToUserInbox,
                true,
            ),
            ("PUBLISH_COMPLETE", PublishStatusKind::PublishComplete, true),
            ("FAILED", PublishStatusKind::Failed, true),
            ("SOMETHING_NEW", PublishStatusKind::Unknown, false),
        ] {
            let status: PublishStatus =
                serde_json::from_str(&format!(r#"{{"status":"{wire}"}}"#)).unwrap();
            assert_eq!(status.status, kind);
            assert_eq!(status.status.is_final(), is_final);
        }
    }

    #[test]
    fn upload_url_debug_hides_the_url() {
        let url = UploadUrl::new("https://upload.example/secret-token".into());
        assert!(!format!("{url:?}").contains("secret-token"));
        assert_eq!(url.expose(), "https://upload.example/secret-token");
    }

    #[test]
    fn caption_length_counts_utf16_units() {
        assert_eq!(utf16_len("abc"), 3);
        assert_eq!(utf16_len("😀"), 2);
        assert_eq!(utf16_len("é"), 1);
    }

    #[test]
    fn post_info_omits_an_absent_cover_timestamp() {
        let info = PostInfo {
            title: "t".into(),
            privacy_level: PrivacyLevel::SelfOnly,
            disable_duet: false,
            disable_comment: false,
            disable_stitch: false,
            video_cover_timestamp_ms: None,
            brand_content_toggle: false,
            brand_organic_toggle: false,
            is_aigc: true,
        };
        let json = serde_json::to_value(&info).unwrap();
        assert_eq!(json["privacy_level"], "SELF_ONLY");
        assert!(json.get("video_cover_timestamp_ms").is_none());
    }
}
