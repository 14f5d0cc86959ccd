//! The record of one post: what the post store keeps and users see.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::cause::Cause;
use crate::chunk_plan::ChunkPlan;
use crate::errors::ErrorKind;
use crate::fact::Fact;
pub use crate::photo_set::PhotoSet;
pub use crate::state::PostState;
use crate::tiktok::{PostMode, PrivacyLevel};
use crate::time::UnixTime;
use crate::video::{VideoLocation, VideoObject};
pub use crate::webhook::{WebhookFinal, WebhookFinalKind};

/// A post's id: the hex SHA-256 of (open_id, bucket, key, version), so the same video for
/// the same account always gets the same id. It is also the Step Functions execution name
/// (at most 80 characters of `[0-9A-Za-z_-]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct PostId(String);

/// The first field hashed into a photo post's id (a video's first field is an open id,
/// which never contains ':').
const PHOTO_ID_TAG: &str = "photos:v1";

/// Length-prefixed fields: ("a", "bc") and ("ab", "c") must not hash alike, nor a missing
/// value like an empty one.
fn hash_fields<'a>(hasher: &mut Sha256, fields: impl IntoIterator<Item = Option<&'a str>>) {
    for field in fields {
        match field {
            Some(value) => {
                hasher.update([1u8]);
                hasher.update((value.len() as u64).to_be_bytes());
                hasher.update(value.as_bytes());
            }
            None => hasher.update([0u8]),
        }
    }
}

/// Why a string is not a post id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a post id is 1 to 80 characters of 0-9, a-z, A-Z, '_' and '-'")]
pub struct PostIdError;

impl PostId {
    pub const MAX_LEN: usize = 80;

    /// The id of `location` posted to `open_id`.
    pub fn derive(open_id: &str, location: &VideoLocation) -> PostId {
        let mut hasher = Sha256::new();
        hash_fields(
            &mut hasher,
            [
                Some(open_id),
                Some(location.bucket.as_str()),
                Some(location.key.as_str()),
                location.version_id.as_deref(),
            ],
        );
        PostId(hex::encode(hasher.finalize()))
    }

    /// The id of the photo post of `photos` (in their order, each version pinned at intake)
    /// to `open_id`. Derived from the images rather than from a manifest object, so the same
    /// images make the same post whichever entry point (a manifest, the API, the CLI) asks,
    /// and however often; a new version of any image, or another order, is another post. A
    /// leading tag keeps it apart from every video's id.
    pub fn derive_photos(open_id: &str, photos: &PhotoSet) -> PostId {
        let mut hasher = Sha256::new();
        hash_fields(&mut hasher, [Some(PHOTO_ID_TAG), Some(open_id)]);
        for image in photos.images() {
            hash_fields(
                &mut hasher,
                [
                    Some(image.bucket.as_str()),
                    Some(image.key.as_str()),
                    image.version_id.as_deref(),
                ],
            );
        }
        PostId(hex::encode(hasher.finalize()))
    }

    /// [`PostId::parse`]'s rule as a regular expression (the API's document states it).
    pub const PATTERN: &str = "^[0-9A-Za-z_-]{1,80}$";

    /// A post id received from outside (an API path, a state machine input).
    pub fn parse(value: &str) -> Result<PostId, PostIdError> {
        let valid = !value.is_empty()
            && value.len() <= Self::MAX_LEN
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if valid {
            Ok(PostId(value.to_owned()))
        } else {
            Err(PostIdError)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PostId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PostId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        PostId::parse(&value).map_err(serde::de::Error::custom)
    }
}

/// What the user chose for the post (stored as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PostOptions {
    #[serde(default)]
    pub title: String,
    /// `None` for drafts (the creator chooses in the app); a Direct Post needs one, and
    /// TikTok's audit forbids defaulting it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy_level: Option<PrivacyLevel>,
    /// `None`: follow the creator's setting (off where the creator turned it off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_duet: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_comment: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_stitch: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_cover_timestamp_ms: Option<u64>,
    #[serde(default)]
    pub brand_content_toggle: bool,
    #[serde(default)]
    pub brand_organic_toggle: bool,
    #[serde(default)]
    pub is_aigc: bool,
    pub mode: PostMode,
    /// Not before this time (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    // `UnixTime` is an alias, which utoipa would name as a schema of its own.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub publish_at: Option<UnixTime>,
    /// How TikTok gets the video; `None`: the stack's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<crate::tiktok::VideoSource>,
    /// A photo post's text under the photos (empty for videos).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// A photo post: TikTok adds music.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub auto_add_music: bool,
    /// A photo post's cover (from 0); the first image when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo_cover_index: Option<usize>,
}

/// The video: its location, and what HeadObject said once it was looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostSource {
    pub location: VideoLocation,
    pub size: Option<u64>,
    pub content_type: Option<String>,
    pub etag: Option<String>,
}

impl PostSource {
    pub fn at(location: VideoLocation) -> PostSource {
        PostSource {
            location,
            size: None,
            content_type: None,
            etag: None,
        }
    }
}

impl From<&VideoObject> for PostSource {
    fn from(object: &VideoObject) -> Self {
        PostSource {
            location: object.location.clone(),
            size: Some(object.size),
            content_type: object.content_type.clone(),
            etag: Some(object.etag.clone()),
        }
    }
}

/// The numbers of the chunk plan declared at init.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanFields {
    pub video_size: u64,
    pub chunk_size: u64,
    pub total_chunk_count: u64,
}

impl From<&ChunkPlan> for PlanFields {
    fn from(plan: &ChunkPlan) -> Self {
        PlanFields {
            video_size: plan.video_size(),
            chunk_size: plan.chunk_size(),
            total_chunk_count: plan.total_chunk_count(),
        }
    }
}

/// The upload URL as the post store keeps it: sealed when the store seals secrets. Only the
/// step that sends chunks opens it (the post store's `open_upload_url`), so reading a
/// post (the API, status polls) never decrypts it.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredUploadUrl(String);

impl StoredUploadUrl {
    /// The stored form, as the store wrote it.
    pub fn new(stored: String) -> Self {
        StoredUploadUrl(stored)
    }

    pub fn as_stored(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for StoredUploadUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoredUploadUrl([redacted])")
    }
}

/// The upload in progress: the URL init gave (a secret: never logged) and how far it got.
#[derive(Debug, Clone)]
pub struct UploadSession {
    /// `None` once the post is final (the URL is dropped then).
    pub upload_url: Option<StoredUploadUrl>,
    pub issued_at: UnixTime,
    pub plan: PlanFields,
    pub chunks_done: u64,
    pub bytes_done: u64,
}

/// What TikTok made of the post.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PostOutcome {
    /// Often empty for a complete post (private, slow moderation); filled in later.
    pub public_post_ids: Vec<String>,
}

/// Why the post failed or was refused, and what the user can do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostFailure {
    pub kind: ErrorKind,
    /// What decisions match on.
    pub cause: Cause,
    /// The human reason: the cause's text when it was recorded (kept as stored).
    pub reason: String,
    pub advice: Option<String>,
}

impl PostFailure {
    /// The failure of `cause`: its kind, and its reason rendered.
    pub fn new(cause: Cause, advice: Option<String>) -> Self {
        PostFailure {
            kind: cause.kind(),
            reason: cause.to_string(),
            cause,
            advice,
        }
    }
}

/// One state change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub state: PostState,
    pub at: UnixTime,
    /// What decisions look for.
    pub fact: Option<Fact>,
    /// The human note: the fact's text when it was recorded (kept as stored).
    pub note: Option<String>,
}

impl HistoryEntry {
    /// The entry of a move to `state`, its note rendered from `fact`.
    pub fn new(state: PostState, at: UnixTime, fact: Option<Fact>) -> HistoryEntry {
        HistoryEntry {
            state,
            at,
            note: fact.as_ref().map(Fact::to_string),
            fact,
        }
    }
}

/// The whole record of one post.
#[derive(Debug, Clone)]
pub struct PostRecord {
    pub id: PostId,
    pub open_id: String,
    pub source: PostSource,
    /// `None` while awaiting options.
    pub options: Option<PostOptions>,
    pub state: PostState,
    pub publish_id: Option<String>,
    pub upload: Option<UploadSession>,
    pub outcome: Option<PostOutcome>,
    pub failure: Option<PostFailure>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
    pub history: Vec<HistoryEntry>,
    /// The final event TikTok's webhook reported for the current upload, if one arrived.
    pub webhook: Option<WebhookFinal>,
    /// How much of the current pull TikTok had downloaded at its last status
    /// (`PROCESSING_DOWNLOAD`'s `downloaded_bytes`); `None` for an upload, or before then.
    pub downloaded_bytes: Option<u64>,
    /// `Some` for a photo post: its images, in order (`source` is then the first of them).
    pub photos: Option<PhotoSet>,
}

impl PostRecord {
    /// A new record in `state`, its id derived from the account and the video.
    pub fn new(
        open_id: impl Into<String>,
        source: PostSource,
        options: Option<PostOptions>,
        state: PostState,
        now: UnixTime,
    ) -> PostRecord {
        let open_id = open_id.into();
        PostRecord {
            id: PostId::derive(&open_id, &source.location),
            open_id,
            source,
            options,
            state,
            publish_id: None,
            upload: None,
            outcome: None,
            failure: None,
            created_at: now,
            updated_at: now,
            history: vec![HistoryEntry::new(state, now, None)],
            webhook: None,
            downloaded_bytes: None,
            photos: None,
        }
    }

    /// Whether the post's current publish (since its last retry) is a pull: its latest init
    /// fact says so.
    pub fn is_pull(&self) -> bool {
        self.history
            .iter()
            .rev()
            .filter_map(|h| h.fact.as_ref())
            .take_while(|fact| !fact.is_retry())
            .find(|fact| matches!(fact, Fact::Initialised | Fact::PullRequested { .. }))
            .is_some_and(|fact| matches!(fact, Fact::PullRequested { .. }))
    }

    /// A new photo post in `state`, its id derived from the account and the images.
    pub fn new_photos(
        open_id: impl Into<String>,
        photos: PhotoSet,
        options: Option<PostOptions>,
        state: PostState,
        now: UnixTime,
    ) -> PostRecord {
        let open_id = open_id.into();
        let mut record = PostRecord::new(
            open_id.clone(),
            PostSource::at(photos.first().clone()),
            options,
            state,
            now,
        );
        record.id = PostId::derive_photos(&open_id, &photos);
        record.photos = Some(photos);
        record
    }

    /// Whether this is a photo post (a carousel) rather than a video.
    pub fn is_photo_post(&self) -> bool {
        self.photos.is_some()
    }

    /// The webhook's final event when it is about the post's current upload (an event of
    /// an upload replaced by a later init says nothing about this one).
    pub fn webhook_for_current_upload(&self) -> Option<&WebhookFinal> {
        self.webhook
            .as_ref()
            .filter(|event| self.publish_id.as_deref() == Some(event.publish_id.as_str()))
    }
}

/// What the post store's `create` found.
#[derive(Debug, Clone)]
pub enum CreateOutcome {
    Created,
    /// A record with that id exists (a second event for the same video): here it is.
    AlreadyExists(Box<PostRecord>),
}

/// Changes that ride along a state transition, in the same conditional write.
#[derive(Debug, Clone, Default)]
pub struct PostUpdate {
    /// Kept in the history entry (with the note it renders).
    pub fact: Option<Fact>,
    pub options: Option<PostOptions>,
    pub source: Option<PostSource>,
    pub outcome: Option<PostOutcome>,
    pub failure: Option<PostFailure>,
    /// Forget a failure recorded earlier (e.g. when a post is queued again).
    pub clear_failure: bool,
}

impl PostUpdate {
    pub fn fact(fact: Fact) -> PostUpdate {
        PostUpdate {
            fact: Some(fact),
            ..PostUpdate::default()
        }
    }

    /// The post fails: the failure is recorded, and its history entry says why.
    pub fn failed(failure: PostFailure) -> PostUpdate {
        PostUpdate {
            fact: Some(Fact::Failed {
                cause: failure.cause.clone(),
            }),
            failure: Some(failure),
            ..PostUpdate::default()
        }
    }
}

/// Where a listing stopped: pass it back to continue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostCursor {
    pub created_at: UnixTime,
    pub id: PostId,
}

impl PostCursor {
    /// A string form for APIs: `{created_at}.{id}`.
    pub fn to_token(&self) -> String {
        format!("{}.{}", self.created_at, self.id)
    }

    pub fn parse(token: &str) -> Option<PostCursor> {
        let (created_at, id) = token.split_once('.')?;
        Some(PostCursor {
            created_at: created_at.parse().ok()?,
            id: PostId::parse(id).ok()?,
        })
    }
}

/// One page of a listing.
#[derive(Debug, Clone)]
pub struct PostPage {
    pub posts: Vec<PostRecord>,
    pub next: Option<PostCursor>,
}

#[cfg(test)]
mod tests;
