//! `GET /accounts/{open_id}/creator-info`: the creator's posting settings, fresh from TikTok.
//!
//! TikTok's Direct Post rules (reference section 6) want the posting screen to query
//! creator_info when it opens: the nickname says which account, `privacy_level_options` fills
//! the privacy choice, and the disabled switches grey out comment, duet and stitch. The CLI
//! asks this route before it uploads anything. Each answer spends one call of the account's
//! creator_info budget (the allowances table, shared with the pipeline's init), so a busy
//! terminal cannot push the pipeline into TikTok's rate limit.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::errors::{Classify, ErrorKind};
use crate::setup::WiringError;
use crate::store::{AllowanceStore, Spend, StoreError, TikTokCall, unix_now_ms};
use crate::tiktok::{CreatorInfo, TikTokCreators, TikTokError};
use crate::tokens::{TokenError, TokenService};

use super::error::ApiError;

/// How long to tell a caller to wait after TikTok itself answered 429 (its window is a minute).
pub const TIKTOK_RATE_LIMIT_RETRY_SECS: u64 = 60;

/// The creator's posting settings as the API shows them (and the CLI reads them: a field an
/// older stack does not send reads as empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CreatorInfoView {
    pub open_id: String,
    #[serde(default)]
    pub nickname: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub avatar_url: String,
    /// The privacy levels the creator may use now, as TikTok sent them (no default among them).
    #[serde(default)]
    pub privacy_level_options: Vec<String>,
    /// The creator turned comments off in TikTok: a post must turn them off too.
    #[serde(default)]
    pub comment_disabled: bool,
    #[serde(default)]
    pub duet_disabled: bool,
    #[serde(default)]
    pub stitch_disabled: bool,
    #[serde(default)]
    pub max_video_post_duration_sec: u32,
}

impl CreatorInfoView {
    pub fn new(open_id: &str, info: &CreatorInfo) -> CreatorInfoView {
        CreatorInfoView {
            open_id: open_id.to_owned(),
            nickname: info.creator_nickname.clone(),
            username: info.creator_username.clone(),
            avatar_url: info.creator_avatar_url.clone(),
            privacy_level_options: info.privacy_level_options.clone(),
            comment_disabled: info.comment_disabled,
            duet_disabled: info.duet_disabled,
            stitch_disabled: info.stitch_disabled,
            max_video_post_duration_sec: info.max_video_post_duration_sec,
        }
    }

    /// "Nickname (@username)", or whichever of the two TikTok sent.
    pub fn display_name(&self) -> String {
        match (self.nickname.is_empty(), self.username.is_empty()) {
            (false, false) => format!("{} (@{})", self.nickname, self.username),
            (false, true) => self.nickname.clone(),
            (true, false) => format!("@{}", self.username),
            (true, true) => self.open_id.clone(),
        }
    }
}

/// Why no creator info could be had.
#[derive(Debug, thiserror::Error)]
pub enum CreatorInfoError {
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error(transparent)]
    TikTok(#[from] TikTokError),
    /// The account's creator_info budget is spent for now (nothing was sent to TikTok).
    #[error(
        "this account's creator_info calls are at TikTok's limit (20 a minute); retry in {} s",
        .retry_after.as_secs().max(1)
    )]
    Budget { retry_after: Duration },
    /// A token refreshed a moment ago was refused too: the access is gone.
    #[error(
        "TikTok refused a freshly refreshed access token for {open_id}: the account must be connected again"
    )]
    RefusedAfterRefresh { open_id: String },
    #[error("the allowances table failed: {0}")]
    Allowances(#[from] StoreError),
    #[error(transparent)]
    Wiring(#[from] WiringError),
}

impl Classify for CreatorInfoError {
    fn kind(&self) -> ErrorKind {
        match self {
            CreatorInfoError::Token(e) => e.kind(),
            CreatorInfoError::TikTok(e) => e.kind(),
            CreatorInfoError::Budget { .. } => ErrorKind::TikTokRateLimited,
            CreatorInfoError::RefusedAfterRefresh { .. } => ErrorKind::AccountNeedsReconnect,
            CreatorInfoError::Allowances(e) => e.kind(),
            CreatorInfoError::Wiring(e) => e.kind(),
        }
    }
}

impl CreatorInfoError {
    /// The answer this failure gets for the account `open_id`: what the caller can do.
    pub fn to_api_error(&self, open_id: &str) -> ApiError {
        let reconnect = |reason: &dyn std::fmt::Display| {
            ApiError::conflict(
                "account_needs_reconnect",
                format!(
                    "the TikTok account {open_id} must be connected again ({reason}): get a \
                     connect link (POST /accounts/connect-link, `tiktok-publish connect`) and \
                     open it as that TikTok user"
                ),
            )
            .with_field("open_id")
        };
        let rate_limited = |retry_after: u64, detail: &dyn std::fmt::Display| ApiError {
            retry_after: Some(retry_after),
            ..ApiError::new(
                429,
                "rate_limited",
                format!("{detail}; retry in {retry_after} s"),
            )
        };
        match self {
            CreatorInfoError::Token(TokenError::NotConnected { .. }) => ApiError::not_found(
                "account_not_found",
                format!(
                    "no connected TikTok account has open_id {open_id:?}: connect it first \
                     (POST /accounts/connect-link, `tiktok-publish connect`)"
                ),
            )
            .with_field("open_id"),
            CreatorInfoError::Token(TokenError::NeedsReconnect { reason, .. })
            | CreatorInfoError::TikTok(TikTokError::NeedsReconnect { reason, .. }) => {
                reconnect(reason)
            }
            CreatorInfoError::RefusedAfterRefresh { .. } => {
                reconnect(&"TikTok refuses its access token")
            }
            CreatorInfoError::TikTok(e @ TikTokError::Rejected { code, .. })
                if code == "scope_not_authorized" =>
            {
                reconnect(e)
            }
            CreatorInfoError::Budget { retry_after } => {
                // Round up: a caller retrying on the second must find the budget refilled.
                let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                rate_limited(
                    secs.max(1),
                    &"this account's creator_info calls are at TikTok's limit (20 a minute)",
                )
            }
            CreatorInfoError::TikTok(e @ TikTokError::RateLimited { .. }) => {
                rate_limited(TIKTOK_RATE_LIMIT_RETRY_SECS, e)
            }
            // TikTok says this creator cannot post now (banned, daily cap, ...): its message
            // carries the advice.
            CreatorInfoError::TikTok(e @ TikTokError::Rejected { .. }) => {
                ApiError::conflict("creator_cannot_post", e.to_string())
            }
            _ => ApiError::from_kind(self.kind(), self),
        }
    }
}

/// Fresh creator info for a connected account.
#[async_trait]
pub trait CreatorInfoSource: Send + Sync {
    async fn creator_info(&self, open_id: &str) -> Result<CreatorInfo, CreatorInfoError>;
}

/// [`CreatorInfoSource`] over TikTok: spends the account's budget, then queries with a fresh
/// token; a token TikTok refuses although it had not expired is refreshed once.
#[derive(Clone)]
pub struct TikTokCreatorInfo {
    pub tokens: TokenService,
    pub tiktok: Arc<dyn TikTokCreators>,
    pub allowances: Arc<dyn AllowanceStore>,
}

#[async_trait]
impl CreatorInfoSource for TikTokCreatorInfo {
    #[tracing::instrument(skip(self))]
    async fn creator_info(&self, open_id: &str) -> Result<CreatorInfo, CreatorInfoError> {
        // The token first: an unknown or disconnected account must not spend the budget.
        let token = self.tokens.fresh_access_token(open_id).await?;
        if let Spend::WaitFor(retry_after) = self
            .allowances
            .try_spend(open_id, TikTokCall::CreatorInfo, unix_now_ms())
            .await?
        {
            return Err(CreatorInfoError::Budget { retry_after });
        }
        match self.query(token.secret()).await {
            Err(TikTokError::AccessTokenInvalid { .. }) => {
                let token = self.tokens.force_refresh(open_id, token.secret()).await?;
                self.query(token.secret()).await.map_err(|e| match e {
                    TikTokError::AccessTokenInvalid { .. } => {
                        CreatorInfoError::RefusedAfterRefresh {
                            open_id: open_id.to_owned(),
                        }
                    }
                    other => other.into(),
                })
            }
            other => Ok(other?),
        }
    }
}

impl TikTokCreatorInfo {
    async fn query(&self, token: &SecretString) -> Result<CreatorInfo, TikTokError> {
        self.tiktok.creator_info(token).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to_api(err: CreatorInfoError) -> ApiError {
        err.to_api_error("o")
    }

    #[test]
    fn each_failure_says_what_to_do() {
        let not_connected = to_api(CreatorInfoError::Token(TokenError::NotConnected {
            open_id: "o".into(),
        }));
        assert_eq!(
            (not_connected.status, not_connected.code),
            (404, "account_not_found")
        );
        assert!(not_connected.message.contains("tiktok-publish connect"));

        let reconnect = to_api(CreatorInfoError::Token(TokenError::NeedsReconnect {
            open_id: "o".into(),
            reason: "refresh token expired".into(),
        }));
        assert_eq!(
            (reconnect.status, reconnect.code),
            (409, "account_needs_reconnect")
        );
        assert!(reconnect.message.contains("refresh token expired"));

        let budget = to_api(CreatorInfoError::Budget {
            retry_after: Duration::from_millis(2_500),
        });
        assert_eq!((budget.status, budget.retry_after), (429, Some(3)));

        let limited = to_api(CreatorInfoError::TikTok(TikTokError::RateLimited {
            endpoint: crate::tiktok::Endpoint::CreatorInfo,
            log_id: None,
        }));
        assert_eq!(
            (limited.status, limited.retry_after),
            (429, Some(TIKTOK_RATE_LIMIT_RETRY_SECS))
        );

        let banned = to_api(CreatorInfoError::TikTok(TikTokError::Rejected {
            endpoint: crate::tiktok::Endpoint::CreatorInfo,
            status: 403,
            code: "spam_risk_user_banned_from_posting".into(),
            message: "banned".into(),
            log_id: None,
        }));
        assert_eq!((banned.status, banned.code), (409, "creator_cannot_post"));
        assert!(
            banned.message.contains("resolve it with TikTok"),
            "{banned}"
        );

        let unavailable = to_api(CreatorInfoError::Token(TokenError::RefreshStalled {
            open_id: "o".into(),
        }));
        assert_eq!(unavailable.status, 503);
    }
}
