//! Outcome events: how the people who run this learn, without reading logs, that a post
//! ended (published, failed with the reason and what to do, cancelled) or that an account
//! must be connected again before its posts fail.
//!
//! A post's end is reported once ([`crate::ends`]); the one later event is a draft's: when
//! the creator posts a draft that reached the inbox, `PostPublished` goes out again with
//! `state` `PUBLISHED` (once: only the write that moved it sends it).
//!
//! Every event goes to EventBridge (the adapters crate's `EventBridgeEvents`) with source
//! [`EVENT_SOURCE`] and one of the detail types
//! below; its `detail` is JSON, versioned by `schema_version`. Nothing secret is ever in an
//! event: no token, code, client secret or upload URL (the types below have no field that
//! could hold one).
//!
//! ```text
//! detail-type PostPublished | PostFailed | PostCancelled          detail: PostEventDetail
//! {
//!   "schema_version": 1,
//!   "post_id": "64 hex",            "account": "open_id",
//!   "state": "PUBLISHED" | "SENT_TO_INBOX" | "FAILED" | "REFUSED" | "CANCELLED",
//!   "mode": "direct_post" | "draft" | null,
//!   "bucket": "...", "key": "uploads/OPEN_ID/clip.mp4", "version_id": "..." | null,
//!   "error_kind": "TikTokPostFailed" | ... | null,   (PostFailed, PostCancelled)
//!   "reason": "..." | null,  "advice": "what to do" | null,
//!   "retryable": true | false | null,                 (PostFailed: whether POST /posts/{id}/retry may help)
//!   "publish_id": "..." | null,  "tiktok_post_ids": ["..."],
//!   "created_at": "RFC 3339",  "ended_at": "RFC 3339"
//! }
//! detail-type AccountNeedsReconnect                                detail: ReconnectEventDetail
//! {
//!   "schema_version": 1,
//!   "account": "open_id",  "nickname": "..." | null,
//!   "why": "refresh_token_expiring" | "refresh_refused" | "no_refresh_token" | "refresh_token_expired",
//!   "reason": "...",  "advice": "what to do",
//!   "refresh_expires_at": "RFC 3339" | null,  "days_left": 12 | null,
//!   "checked_at": "RFC 3339"
//! }
//! ```

use async_trait::async_trait;
use serde::Serialize;

use crate::errors::{Classify, ErrorKind};
use crate::store::{AccountSummary, PostRecord, PostState, UnixTime};
use crate::tiktok::PostMode;
use tiktok_publish_domain::view::rfc3339;

/// The `source` of every event this system sends.
pub const EVENT_SOURCE: &str = "tiktok-publish";
/// The version of the `detail` schemas; raised on any change a consumer could notice.
pub const SCHEMA_VERSION: u32 = 1;

/// The `detail-type` of an event: what happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum DetailType {
    /// The post is live (`PUBLISHED`) or in the creator's inbox (`SENT_TO_INBOX`). A draft
    /// sends it twice at most: on reaching the inbox, and once more (`PUBLISHED`, same
    /// `post_id`) when its creator posts it in the TikTok app.
    PostPublished,
    /// The post ended `FAILED` or `REFUSED`: see `reason` and `advice`.
    PostFailed,
    /// The post was cancelled (by request, or its account was disconnected).
    PostCancelled,
    /// The account must be connected again, or soon will.
    AccountNeedsReconnect,
}

impl DetailType {
    pub const ALL: [DetailType; 4] = [
        DetailType::PostPublished,
        DetailType::PostFailed,
        DetailType::PostCancelled,
        DetailType::AccountNeedsReconnect,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            DetailType::PostPublished => "PostPublished",
            DetailType::PostFailed => "PostFailed",
            DetailType::PostCancelled => "PostCancelled",
            DetailType::AccountNeedsReconnect => "AccountNeedsReconnect",
        }
    }

    /// The detail type of a post's end; `None` while the post is not final.
    pub const fn of_state(state: PostState) -> Option<DetailType> {
        match state {
            PostState::Published | PostState::SentToInbox => Some(DetailType::PostPublished),
            PostState::Failed | PostState::Refused => Some(DetailType::PostFailed),
            PostState::Cancelled => Some(DetailType::PostCancelled),
            PostState::Received
            | PostState::AwaitingOptions
            | PostState::Queued
            | PostState::Uploading
            | PostState::Processing => None,
        }
    }
}

/// The `detail` of `PostPublished`, `PostFailed` and `PostCancelled`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PostEventDetail {
    pub schema_version: u32,
    pub post_id: String,
    pub account: String,
    pub state: PostState,
    pub mode: Option<PostMode>,
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
    pub error_kind: Option<String>,
    pub reason: Option<String>,
    pub advice: Option<String>,
    /// For `PostFailed`: whether a retry (`POST /posts/{id}/retry`) may succeed.
    pub retryable: Option<bool>,
    pub publish_id: Option<String>,
    pub tiktok_post_ids: Vec<String>,
    pub created_at: String,
    pub ended_at: String,
}

/// Why an account needs its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReconnectWhy {
    /// The refresh token lapses within the warning window (TikTok's last 365 days).
    RefreshTokenExpiring,
    /// The refresh token has lapsed already.
    RefreshTokenExpired,
    /// A refresh was refused (revoked access, removed app): marked `needs_reconnect`.
    RefreshRefused,
    /// The account holds no refresh token at all.
    NoRefreshToken,
}

/// The `detail` of `AccountNeedsReconnect`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReconnectEventDetail {
    pub schema_version: u32,
    pub account: String,
    pub nickname: Option<String>,
    pub why: ReconnectWhy,
    pub reason: String,
    pub advice: String,
    pub refresh_expires_at: Option<String>,
    pub days_left: Option<i64>,
    pub checked_at: String,
}

/// One event, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutcomeEvent {
    Post {
        detail_type: DetailType,
        detail: PostEventDetail,
    },
    Reconnect(ReconnectEventDetail),
}

impl OutcomeEvent {
    /// The event of a post's end, or `None` while it is not final. `retryable` says
    /// whether a retry may help (see the domain's `retry::retry_verdict`); it is kept only on
    /// `PostFailed`.
    pub fn post_ended(post: &PostRecord, retryable: Option<bool>) -> Option<OutcomeEvent> {
        let detail_type = DetailType::of_state(post.state)?;
        let failure = post.failure.as_ref();
        let ended_at = post
            .history
            .iter()
            .rev()
            .find(|entry| entry.state == post.state)
            .map_or(post.updated_at, |entry| entry.at);
        let detail = PostEventDetail {
            schema_version: SCHEMA_VERSION,
            post_id: post.id.to_string(),
            account: post.open_id.clone(),
            state: post.state,
            mode: post.options.as_ref().map(|o| o.mode),
            bucket: post.source.location.bucket.clone(),
            key: post.source.location.key.clone(),
            version_id: post.source.location.version_id.clone(),
            // A published post may carry the failure of an attempt before a retry: only
            // ends that are not successes report one.
            error_kind: failure
                .filter(|_| detail_type != DetailType::PostPublished)
                .map(|f| f.kind.name().to_owned()),
            reason: match (detail_type, failure) {
                (DetailType::PostPublished, _) => None,
                (_, Some(f)) => Some(f.reason.clone()),
                (_, None) => post.history.last().and_then(|h| h.note.clone()),
            },
            advice: failure
                .filter(|_| detail_type != DetailType::PostPublished)
                .and_then(|f| f.advice.clone()),
            retryable: retryable.filter(|_| detail_type == DetailType::PostFailed),
            publish_id: post.publish_id.clone(),
            tiktok_post_ids: post
                .outcome
                .as_ref()
                .map(|o| o.public_post_ids.clone())
                .unwrap_or_default(),
            created_at: rfc3339(post.created_at),
            ended_at: rfc3339(ended_at),
        };
        Some(OutcomeEvent::Post {
            detail_type,
            detail,
        })
    }

    /// The warning for an account that must be connected again, or soon must: `None` when
    /// its refresh token lasts beyond `warn_within_secs` and nothing is wrong with it.
    pub fn account_needs_reconnect(
        account: &AccountSummary,
        warn_within_secs: i64,
        now: UnixTime,
    ) -> Option<OutcomeEvent> {
        let days_left = (account.refresh_expires_at - now).div_euclid(86_400);
        let expiry = Some(rfc3339(account.refresh_expires_at));
        let connect = "Connect the account again (`tiktok-publish connect`, or send its owner a \
                       link from POST /accounts/connect-link)";
        let (why, reason, advice, expires, days) = if account.needs_reconnect {
            (
                ReconnectWhy::RefreshRefused,
                account
                    .reconnect_reason
                    .clone()
                    .unwrap_or_else(|| "TikTok refused to renew its tokens".to_owned()),
                format!("{connect}: its posts fail until then"),
                None,
                None,
            )
        } else if !account.has_refresh_token {
            (
                ReconnectWhy::NoRefreshToken,
                "no refresh token is stored: its access cannot be renewed".to_owned(),
                format!("{connect}: its posts fail once the access token lapses"),
                None,
                None,
            )
        } else if account.refresh_expires_at <= now {
            (
                ReconnectWhy::RefreshTokenExpired,
                "its refresh token has lapsed (TikTok's last 365 days)".to_owned(),
                format!("{connect}: its posts fail until then"),
                expiry,
                Some(0),
            )
        } else if account.refresh_expires_at - now <= warn_within_secs {
            (
                ReconnectWhy::RefreshTokenExpiring,
                format!("its refresh token lapses in {days_left} days (TikTok's last 365 days)"),
                format!("{connect} before then: its posts fail once it lapses"),
                expiry,
                Some(days_left),
            )
        } else {
            return None;
        };
        Some(OutcomeEvent::Reconnect(ReconnectEventDetail {
            schema_version: SCHEMA_VERSION,
            account: account.open_id.clone(),
            nickname: account.nickname.clone(),
            why,
            reason,
            advice,
            refresh_expires_at: expires,
            days_left: days,
            checked_at: rfc3339(now),
        }))
    }

    pub fn detail_type(&self) -> DetailType {
        match self {
            OutcomeEvent::Post { detail_type, .. } => *detail_type,
            OutcomeEvent::Reconnect(_) => DetailType::AccountNeedsReconnect,
        }
    }

    /// The `detail`, as sent.
    pub fn detail_json(&self) -> Result<String, EventError> {
        let json = match self {
            OutcomeEvent::Post { detail, .. } => serde_json::to_string(detail),
            OutcomeEvent::Reconnect(detail) => serde_json::to_string(detail),
        };
        json.map_err(|e| EventError::Refused {
            detail: format!("the event detail does not serialise: {e}"),
        })
    }

    /// The post or account the event is about (for logs).
    pub fn subject(&self) -> &str {
        match self {
            OutcomeEvent::Post { detail, .. } => &detail.post_id,
            OutcomeEvent::Reconnect(detail) => &detail.account,
        }
    }
}

/// Why events were not (all) sent.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// Throttling, a 5xx, a time-out, or some entries failed: send the events again.
    #[error("EventBridge is unavailable: {detail}; send the events again")]
    Unavailable { detail: String },
    /// The request was refused (missing bus, access denied): fix the deployment.
    #[error("EventBridge refused the events: {detail}; check EVENT_BUS_NAME and the role")]
    Refused { detail: String },
}

impl Classify for EventError {
    fn kind(&self) -> ErrorKind {
        match self {
            EventError::Unavailable { .. } => ErrorKind::AwsUnavailable,
            EventError::Refused { .. } => ErrorKind::Internal,
        }
    }
}

/// Where outcome events go.
#[async_trait]
pub trait OutcomeEvents: Send + Sync {
    /// Sends every event; on error, some may have been sent (consumers must tolerate a
    /// repeat: key on `post_id` + `detail-type`, or `account` + day).
    async fn publish(&self, events: &[OutcomeEvent]) -> Result<(), EventError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::VideoLocation;
    use crate::store::{Cause, PostFailure, PostOutcome, PostSource};

    fn post(state: PostState) -> PostRecord {
        let mut post = PostRecord::new(
            "open-1",
            PostSource::at(VideoLocation {
                bucket: "videos".into(),
                key: "uploads/open-1/a.mp4".into(),
                version_id: None,
            }),
            None,
            state,
            1_700_000_000,
        );
        post.publish_id = Some("pub-1".into());
        post
    }

    fn account(refresh_in: i64, needs_reconnect: bool) -> AccountSummary {
        AccountSummary {
            open_id: "open-1".into(),
            nickname: Some("Ann".into()),
            username: None,
            avatar_url: None,
            scopes: vec![],
            needs_reconnect,
            reconnect_reason: needs_reconnect.then(|| "refresh refused: invalid_grant".into()),
            access_expires_at: 0,
            refresh_expires_at: 1_700_000_000 + refresh_in,
            has_refresh_token: true,
            connected_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn only_final_states_make_events_each_with_its_detail_type() {
        for state in PostState::ALL {
            let event = OutcomeEvent::post_ended(&post(state), None);
            assert_eq!(event.is_some(), state.is_final(), "{state}");
        }
        let names: Vec<_> = DetailType::ALL.iter().map(|d| d.as_str()).collect();
        assert_eq!(
            names,
            [
                "PostPublished",
                "PostFailed",
                "PostCancelled",
                "AccountNeedsReconnect"
            ]
        );
    }

    #[test]
    fn a_failed_post_says_why_and_what_to_do() {
        let mut failed = post(PostState::Failed);
        failed.failure = Some(PostFailure::new(
            Cause::TikTokFailed {
                fail_reason: "internal".into(),
            },
            Some("A fault at TikTok; post it again".into()),
        ));
        let event = OutcomeEvent::post_ended(&failed, Some(true)).unwrap();
        assert_eq!(event.detail_type(), DetailType::PostFailed);
        let detail: serde_json::Value =
            serde_json::from_str(&event.detail_json().unwrap()).unwrap();
        assert_eq!(detail["schema_version"], 1);
        assert_eq!(detail["state"], "FAILED");
        assert_eq!(detail["error_kind"], "TikTokPostFailed");
        assert_eq!(detail["advice"], "A fault at TikTok; post it again");
        assert_eq!(detail["retryable"], true);
        assert_eq!(detail["created_at"], "2023-11-14T22:13:20Z");
    }

    #[test]
    fn a_published_post_carries_its_tiktok_ids_and_no_old_failure() {
        let mut published = post(PostState::Published);
        published.failure = Some(PostFailure::new(
            Cause::Error {
                kind: ErrorKind::TikTokUnavailable,
                message: "x".into(),
            },
            None,
        ));
        published.outcome = Some(PostOutcome {
            public_post_ids: vec!["7300".into()],
        });
        let event = OutcomeEvent::post_ended(&published, Some(true)).unwrap();
        let OutcomeEvent::Post { detail, .. } = &event else {
            panic!("a post event");
        };
        assert_eq!(detail.tiktok_post_ids, ["7300"]);
        assert_eq!(detail.error_kind, None);
        assert_eq!(detail.reason, None);
        assert_eq!(detail.retryable, None);
    }

    #[test]
    fn accounts_are_warned_inside_the_window_or_when_flagged() {
        let day = 86_400;
        let now = 1_700_000_000;
        assert_eq!(
            OutcomeEvent::account_needs_reconnect(&account(30 * day, false), 14 * day, now),
            None
        );
        let Some(OutcomeEvent::Reconnect(soon)) =
            OutcomeEvent::account_needs_reconnect(&account(10 * day + 5, false), 14 * day, now)
        else {
            panic!("a warning");
        };
        assert_eq!(soon.why, ReconnectWhy::RefreshTokenExpiring);
        assert_eq!(soon.days_left, Some(10));
        let Some(OutcomeEvent::Reconnect(flagged)) =
            OutcomeEvent::account_needs_reconnect(&account(300 * day, true), 14 * day, now)
        else {
            panic!("a warning");
        };
        assert_eq!(flagged.why, ReconnectWhy::RefreshRefused);
        assert!(flagged.reason.contains("invalid_grant"));
        let Some(OutcomeEvent::Reconnect(lapsed)) =
            OutcomeEvent::account_needs_reconnect(&account(-5, false), 14 * day, now)
        else {
            panic!("a warning");
        };
        assert_eq!(lapsed.why, ReconnectWhy::RefreshTokenExpired);
    }
}
