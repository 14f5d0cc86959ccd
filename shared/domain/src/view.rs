//! What callers see of posts and accounts. Built field by field from the records, so a
//! secret added to a record later (the upload URL is one today) never leaks by default.

use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::account::AccountSummary;
use crate::post::{PostOptions, PostRecord, PostState};
use crate::tiktok::{DIRECT_POST_SCOPE, DRAFT_SCOPE, REQUIRED_SCOPES};
use crate::time::UnixTime;

/// A Unix time as RFC 3339 (`2026-11-25T12:00:00Z`); out-of-range values print as seconds.
pub fn rfc3339(at: UnixTime) -> String {
    OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| at.to_string())
}

/// One post as the API shows it. Never the upload URL.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PostView {
    pub id: String,
    pub account: String,
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
    pub size: Option<u64>,
    pub state: PostState,
    /// No step will move the post any more.
    #[serde(rename = "final")]
    pub is_final: bool,
    pub options: Option<PostOptions>,
    pub publish_at: Option<String>,
    pub progress: Option<ProgressView>,
    /// How much of a pull TikTok had downloaded at the last status (`PROCESSING_DOWNLOAD`);
    /// `None` for an upload.
    pub downloaded_bytes: Option<u64>,
    /// TikTok's id of the upload (not a secret: it only works with the account's token).
    pub publish_id: Option<String>,
    pub public_post_ids: Vec<String>,
    pub failure: Option<FailureView>,
    pub history: Vec<HistoryView>,
    pub created_at: String,
    pub updated_at: String,
    /// `video`, or `photos` for a photo post (a carousel).
    pub media: MediaKind,
    /// A photo post's images in order (`bucket`/`key` above name the first); absent for a
    /// video.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<ImageView>>,
}

/// What a post publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Video,
    Photos,
}

/// One image of a photo post, pinned to the version the post was made of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImageView {
    pub key: String,
    pub version_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProgressView {
    pub chunks_done: u64,
    pub chunks_total: u64,
    pub bytes_done: u64,
    pub bytes_total: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FailureView {
    pub kind: String,
    pub reason: String,
    pub advice: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryView {
    pub state: PostState,
    pub at: String,
    pub note: Option<String>,
}

impl From<&PostRecord> for PostView {
    fn from(post: &PostRecord) -> Self {
        let location = &post.source.location;
        PostView {
            id: post.id.to_string(),
            account: post.open_id.clone(),
            bucket: location.bucket.clone(),
            key: location.key.clone(),
            version_id: location.version_id.clone(),
            size: post.source.size,
            state: post.state,
            is_final: post.state.is_final(),
            options: post.options.clone(),
            publish_at: post
                .options
                .as_ref()
                .and_then(|o| o.publish_at)
                .map(rfc3339),
            progress: post.upload.as_ref().map(|u| ProgressView {
                chunks_done: u.chunks_done,
                chunks_total: u.plan.total_chunk_count,
                bytes_done: u.bytes_done,
                bytes_total: u.plan.video_size,
            }),
            downloaded_bytes: post.downloaded_bytes,
            publish_id: post.publish_id.clone(),
            public_post_ids: post
                .outcome
                .as_ref()
                .map(|o| o.public_post_ids.clone())
                .unwrap_or_default(),
            failure: post.failure.as_ref().map(|f| FailureView {
                kind: f.kind.name().to_owned(),
                reason: f.reason.clone(),
                advice: f.advice.clone(),
            }),
            history: post
                .history
                .iter()
                .map(|h| HistoryView {
                    state: h.state,
                    at: rfc3339(h.at),
                    note: h.note.clone(),
                })
                .collect(),
            created_at: rfc3339(post.created_at),
            updated_at: rfc3339(post.updated_at),
            media: if post.is_photo_post() {
                MediaKind::Photos
            } else {
                MediaKind::Video
            },
            images: post.photos.as_ref().map(|photos| {
                photos
                    .images()
                    .iter()
                    .map(|image| ImageView {
                        key: image.key.clone(),
                        version_id: image.version_id.clone(),
                    })
                    .collect()
            }),
        }
    }
}

/// One connected account, without its tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountView {
    pub open_id: String,
    /// TikTok's display name, from user info at connect (and at most daily after refreshes).
    pub nickname: Option<String>,
    /// The handle without `@` (only when the account granted `user.info.profile`).
    pub username: Option<String>,
    pub avatar_url: Option<String>,
    pub scopes: Vec<String>,
    /// Its owner must connect it again before it can post (flagged, refresh token gone or
    /// expired, or a required scope missing).
    pub needs_reconnect: bool,
    pub reconnect_reason: Option<String>,
    pub missing_scopes: Vec<String>,
    /// It granted `video.upload` without `video.publish`: it posts drafts to its inbox, and
    /// a direct post for it is refused.
    pub drafts_only: bool,
    pub access_expires_at: String,
    pub refresh_expires_at: String,
    pub connected_at: String,
    pub updated_at: String,
}

impl AccountView {
    pub fn new(account: &AccountSummary, now: UnixTime) -> AccountView {
        let missing: Vec<String> = account
            .missing_scopes(&REQUIRED_SCOPES)
            .into_iter()
            .map(str::to_owned)
            .collect();
        // Without `video.upload` nothing can be posted; without `video.publish` (or the
        // profile scope) drafts still can.
        let cannot_post = missing.iter().any(|scope| scope == DRAFT_SCOPE);
        let needs_reconnect = account.must_reconnect(now) || cannot_post;
        let reconnect_reason = account.reconnect_reason.clone().or_else(|| {
            if !account.has_refresh_token {
                Some("TikTok gave no refresh token".to_owned())
            } else if account.refresh_expires_at <= now {
                Some("the refresh token has expired".to_owned())
            } else if cannot_post {
                Some(format!("scopes not granted: {}", missing.join(", ")))
            } else {
                None
            }
        });
        AccountView {
            open_id: account.open_id.clone(),
            nickname: account.nickname.clone(),
            username: account.username.clone(),
            avatar_url: account.avatar_url.clone(),
            scopes: account.scopes.clone(),
            needs_reconnect,
            reconnect_reason: reconnect_reason.filter(|_| needs_reconnect),
            drafts_only: missing.iter().any(|scope| scope == DIRECT_POST_SCOPE),
            missing_scopes: missing,
            access_expires_at: rfc3339(account.access_expires_at),
            refresh_expires_at: rfc3339(account.refresh_expires_at),
            connected_at: rfc3339(account.connected_at),
            updated_at: rfc3339(account.updated_at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::post::{PlanFields, PostSource, StoredUploadUrl, UploadSession};
    use crate::video::VideoLocation;

    #[test]
    fn the_view_never_carries_the_upload_url() {
        let location = VideoLocation {
            bucket: "b".into(),
            key: "uploads/a/v.mp4".into(),
            version_id: Some("v1".into()),
        };
        let mut post =
            PostRecord::new("a", PostSource::at(location), None, PostState::Uploading, 0);
        post.upload = Some(UploadSession {
            upload_url: Some(StoredUploadUrl::new(
                "https://upload.example/secret-upload".into(),
            )),
            issued_at: 0,
            plan: PlanFields {
                video_size: 10,
                chunk_size: 10,
                total_chunk_count: 1,
            },
            chunks_done: 0,
            bytes_done: 0,
        });
        let json = serde_json::to_string(&PostView::from(&post)).unwrap();
        assert!(!json.contains("secret-upload"), "{json}");
        assert!(json.contains("\"chunks_total\":1"), "{json}");
        assert!(
            json.contains("\"created_at\":\"1970-01-01T00:00:00Z\""),
            "{json}"
        );
    }

    #[test]
    fn accounts_missing_a_scope_need_reconnecting() {
        let account = AccountSummary {
            open_id: "a".into(),
            nickname: None,
            username: None,
            avatar_url: None,
            scopes: vec!["video.publish".into()],
            needs_reconnect: false,
            reconnect_reason: None,
            access_expires_at: 100,
            refresh_expires_at: 1_000,
            has_refresh_token: true,
            connected_at: 0,
            updated_at: 0,
        };
        let view = AccountView::new(&account, 10);
        assert!(view.needs_reconnect);
        assert!(!view.drafts_only);
        assert_eq!(view.missing_scopes, ["user.info.basic", "video.upload"]);
        assert!(view.reconnect_reason.is_some());
    }

    #[test]
    fn an_account_without_video_publish_posts_drafts_without_reconnecting() {
        let account = AccountSummary {
            open_id: "a".into(),
            nickname: None,
            username: None,
            avatar_url: None,
            scopes: vec!["user.info.basic".into(), "video.upload".into()],
            needs_reconnect: false,
            reconnect_reason: None,
            access_expires_at: 100,
            refresh_expires_at: 1_000,
            has_refresh_token: true,
            connected_at: 0,
            updated_at: 0,
        };
        let view = AccountView::new(&account, 10);
        assert!(!view.needs_reconnect);
        assert!(view.drafts_only);
        assert_eq!(view.missing_scopes, ["video.publish"]);
        assert_eq!(view.reconnect_reason, None);
    }
}
