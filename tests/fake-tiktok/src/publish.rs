//! What a test sees of a post: [`PublishSnapshot`] and the types it is made of.

use serde::{Deserialize, Serialize};

use crate::ChunkPlan;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PublishKind {
    Direct,
    Inbox,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PublishStatus {
    /// FILE_UPLOAD: while chunks arrive, and after the last one until processing ends.
    ProcessingUpload,
    /// PULL_FROM_URL only: while TikTok downloads, and after the download until processing
    /// ends (the mirror of FILE_UPLOAD's `ProcessingUpload`).
    ProcessingDownload,
    SendToUserInbox,
    PublishComplete,
    Failed,
}

impl PublishStatus {
    /// The value of `data.status` in a status fetch answer.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProcessingUpload => "PROCESSING_UPLOAD",
            Self::ProcessingDownload => "PROCESSING_DOWNLOAD",
            Self::SendToUserInbox => "SEND_TO_USER_INBOX",
            Self::PublishComplete => "PUBLISH_COMPLETE",
            Self::Failed => "FAILED",
        }
    }
}

/// How the media reaches TikTok (`source_info.source`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MediaSource {
    #[default]
    FileUpload,
    PullFromUrl,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MediaType {
    #[default]
    Video,
    Photo,
}

/// One file the fake downloaded for a PULL_FROM_URL post, whole.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PulledMedia {
    pub url: String,
    pub bytes: u64,
    /// Hex SHA-256 of the bytes downloaded.
    pub sha256: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PublishSnapshot {
    pub publish_id: String,
    pub open_id: String,
    /// `Inbox` for a video sent to the inbox and for a photo post in `MEDIA_UPLOAD` mode.
    pub kind: PublishKind,
    /// The `post_info` object as sent (Direct Post, and photo posts).
    pub post_info: Option<serde_json::Value>,
    #[serde(default)]
    pub source: MediaSource,
    #[serde(default)]
    pub media_type: MediaType,
    /// PULL_FROM_URL: the URLs given at init (one for a video, the photos in order).
    #[serde(default)]
    pub media_urls: Vec<String>,
    /// PULL_FROM_URL: bytes downloaded so far, over every URL.
    #[serde(default)]
    pub downloaded_bytes: u64,
    /// PULL_FROM_URL: each file downloaded whole, in order.
    #[serde(default)]
    pub pulled: Vec<PulledMedia>,
    /// FILE_UPLOAD's chunk plan; all zeros for PULL_FROM_URL.
    pub plan: ChunkPlan,
    /// Bytes of complete chunks taken.
    pub uploaded_bytes: u64,
    pub chunks_taken: u64,
    /// Every chunk arrived (the 201 was sent).
    pub complete: bool,
    pub status: PublishStatus,
    pub fail_reason: Option<String>,
    /// Hex SHA-256 of the whole video, once every byte arrived (uploaded or pulled).
    pub video_sha256: Option<String>,
    /// The public post id, once PUBLISH_COMPLETE and PUBLIC_TO_EVERYONE.
    pub post_id: Option<i64>,
}
