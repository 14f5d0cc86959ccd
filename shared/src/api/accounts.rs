//! The connected accounts: `GET /accounts`, `DELETE /accounts/{open_id}` (revoke at
//! TikTok, cancel the account's queued posts, forget it), `POST /accounts/connect-link`
//! and `GET /accounts/{open_id}/creator-info`; and whether an account can post at all.

use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;
use utoipa::ToSchema;

use super::{
    AccountView, ApiAnswer, ApiError, CANCELLABLE, CreatorInfoView, PostsApi, answer_json,
    answer_of, view,
};
use crate::connect::{ConnectLink, issue_connect_link};
use crate::errors::{Classify, Remedy};
use crate::setup::WiringError;
use crate::store::{Fact, UnixTime, unix_now};
use crate::tiktok::{PostMode, TikTokError, TikTokRevoke};
use crate::tokens::{TokenError, TokenService};

const MAX_OPEN_ID_LEN: usize = 128;

/// `GET /accounts`: every connected account, by open_id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AccountList {
    pub accounts: Vec<AccountView>,
}

/// `POST /accounts/connect-link`: a single-use link whose holder can connect one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ConnectLinkView {
    pub url: String,
    /// RFC 3339.
    pub expires_at: String,
}

/// `DELETE /accounts/{open_id}`: what the disconnection did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Disconnected {
    pub open_id: String,
    /// TikTok revoked the app's access.
    pub revoked: bool,
    /// Why TikTok did not revoke it, and what its owner can do; absent when it did.
    pub revoke_note: Option<String>,
    /// The account's posts cancelled before they started uploading.
    pub cancelled_posts: Vec<String>,
    /// Already uploading: they fail on their own once the token is gone.
    pub posts_in_flight: Vec<String>,
}

/// TikTok's revoke for one account, with a token fresh enough to be accepted.
#[async_trait]
pub trait Revoker: Send + Sync {
    async fn revoke(&self, open_id: &str) -> Result<(), RevokeError>;
}

/// Why a revoke did not happen.
#[derive(Debug, thiserror::Error)]
pub enum RevokeError {
    #[error("no usable access token to revoke: {0}")]
    NoToken(#[source] TokenError),
    #[error(transparent)]
    TikTok(#[from] TikTokError),
    #[error(transparent)]
    Wiring(#[from] WiringError),
}

impl RevokeError {
    /// Whether the disconnection must stop and be retried (nothing has changed yet) rather
    /// than go on without the revoke. Only passing trouble stops it: a refused revoke, or
    /// an account whose token is dead already, has nothing left to revoke worth waiting for.
    fn must_retry(&self) -> Option<ApiError> {
        let kind = match self {
            RevokeError::NoToken(e) => e.kind(),
            RevokeError::TikTok(e) => e.kind(),
            RevokeError::Wiring(e) => e.kind(),
        };
        match (self, kind.remedy()) {
            (_, Remedy::Retry) => Some(ApiError::from_kind(kind, self)),
            // A deployment without its client secret cannot revoke anything: say so.
            (RevokeError::Wiring(_), _) => Some(ApiError::internal(self)),
            _ => None,
        }
    }
}

/// [`Revoker`] with the token service and TikTok's revoke.
#[derive(Clone)]
pub struct TikTokRevoker {
    pub tokens: TokenService,
    pub tiktok: Arc<dyn TikTokRevoke>,
}

impl std::fmt::Debug for TikTokRevoker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TikTokRevoker")
            .field("tokens", &self.tokens)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Revoker for TikTokRevoker {
    async fn revoke(&self, open_id: &str) -> Result<(), RevokeError> {
        let token = self
            .tokens
            .fresh_access_token(open_id)
            .await
            .map_err(RevokeError::NoToken)?;
        self.tiktok.revoke(token.secret()).await?;
        Ok(())
    }
}

impl PostsApi {
    /// A post for an unknown account, or one that cannot post in this mode, would only fail
    /// later in the pipeline: refuse it now, with the reason.
    pub(super) async fn check_account_can_post(
        &self,
        open_id: &str,
        mode: PostMode,
        now: UnixTime,
    ) -> Result<(), ApiError> {
        let Some(account) = self.accounts.get(open_id).await? else {
            return Err(ApiError::not_found(
                "account_not_found",
                format!("no connected TikTok account has open_id {open_id:?}; connect it first"),
            )
            .with_field("account"));
        };
        let view = AccountView::new(&account.summary(), now);
        let scope = mode.scope();
        let reason = if account.summary().must_reconnect(now) {
            view.reconnect_reason
                .unwrap_or_else(|| "its tokens can no longer be renewed".to_owned())
        } else if view.missing_scopes.iter().any(|s| s == scope) {
            match mode {
                PostMode::DirectPost => format!(
                    "it did not grant the {scope} scope a direct post needs (it can post \
                     drafts: mode \"draft\")"
                ),
                PostMode::Draft => format!("it did not grant the {scope} scope this post needs"),
            }
        } else {
            return Ok(());
        };
        Err(ApiError::conflict(
            "account_needs_reconnect",
            format!("the TikTok account {open_id} must be connected again: {reason}"),
        )
        .with_field("account"))
    }

    /// `POST /accounts/connect-link`: a single-use link whose holder can connect one TikTok
    /// account. It is the answer's purpose, so it is in the body; it is never logged.
    /// `caller` (the IAM principal) is kept with the link.
    pub async fn connect_link(&self, caller: Option<&str>) -> ApiAnswer {
        match self.new_connect_link(caller).await {
            Ok(link) => {
                let view = ConnectLinkView {
                    url: link.expose().to_owned(),
                    expires_at: view::rfc3339(link.expires_at),
                };
                answer_json(201, &view).with_header("cache-control", "no-store")
            }
            Err(err) => err.answer(),
        }
    }

    /// A single-use connect link, typed (the console redirects to it).
    pub async fn new_connect_link(&self, caller: Option<&str>) -> Result<ConnectLink, ApiError> {
        let Some(settings) = &self.connect else {
            return Err(ApiError::internal(
                "PUBLIC_BASE_URL is not set: connect links need it",
            ));
        };
        issue_connect_link(self.oauth.as_ref(), settings, caller, unix_now())
            .await
            .map_err(|err| ApiError::from_kind(err.kind(), &err))
    }

    /// `GET /accounts/{open_id}/creator-info`: the creator's posting settings, fresh from
    /// TikTok. An account that cannot Direct Post (unknown, to be reconnected, without
    /// `video.publish`) is refused before TikTok is asked.
    #[tracing::instrument(skip(self))]
    pub async fn creator_info(&self, open_id: &str) -> ApiAnswer {
        answer_of(
            async {
                let view = self.creator_info_view(open_id).await?;
                Ok(answer_json(200, &view))
            }
            .await
            .map_err(|err: ApiError| err.or_field("open_id")),
        )
    }

    /// The creator's posting settings, typed (the console's Post page renders them).
    pub async fn creator_info_view(&self, open_id: &str) -> Result<CreatorInfoView, ApiError> {
        check_open_id(open_id, "open_id")?;
        self.check_account_can_post(open_id, PostMode::DirectPost, unix_now())
            .await
            .map_err(|err| err.with_field("open_id"))?;
        let info = self
            .creator_info
            .creator_info(open_id)
            .await
            .map_err(|err| err.to_api_error(open_id))?;
        Ok(CreatorInfoView::new(open_id, &info))
    }

    /// `GET /accounts`: every connected account and whether it must be reconnected.
    pub async fn list_accounts(&self) -> ApiAnswer {
        answer_of(
            async {
                let accounts = self.account_views().await?;
                Ok(answer_json(200, &AccountList { accounts }))
            }
            .await,
        )
    }

    /// Every connected account, by open_id, typed (the console's Accounts page).
    pub async fn account_views(&self) -> Result<Vec<AccountView>, ApiError> {
        let now = unix_now();
        let mut accounts: Vec<AccountView> = self
            .accounts
            .list()
            .await?
            .iter()
            .map(|a| AccountView::new(a, now))
            .collect();
        accounts.sort_by(|a, b| a.open_id.cmp(&b.open_id));
        Ok(accounts)
    }

    /// `DELETE /accounts/{open_id}`: revokes the account's access at TikTok (a refusal is
    /// reported, not fatal; passing trouble answers 503 before anything changed), cancels
    /// its posts that have not started uploading, then forgets it.
    #[tracing::instrument(skip(self))]
    pub async fn disconnect_account(&self, open_id: &str) -> ApiAnswer {
        answer_of(
            self.disconnect(open_id)
                .await
                .map_err(|err: ApiError| err.or_field("open_id")),
        )
    }

    async fn disconnect(&self, open_id: &str) -> Result<ApiAnswer, ApiError> {
        check_open_id(open_id, "open_id")?;
        if self.accounts.get(open_id).await?.is_none() {
            return Err(ApiError::not_found(
                "account_not_found",
                format!("no connected TikTok account has open_id {open_id:?}"),
            )
            .with_field("open_id"));
        }
        let revoke_note = match self.revoker.revoke(open_id).await {
            Ok(()) => None,
            Err(err) => {
                if let Some(stop) = err.must_retry() {
                    return Err(stop);
                }
                tracing::warn!(open_id, error = %err, "revoke refused; disconnecting anyway");
                Some(format!(
                    "TikTok did not revoke the access ({err}); the account is forgotten here \
                     anyway. Its owner can remove the app in TikTok's settings \
                     (Security and login > Manage app permissions)."
                ))
            }
        };

        let mut cancelled = Vec::new();
        let mut in_flight = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .posts()
                .list_by_account(open_id, 100, after.as_ref())
                .await?;
            for post in &page.posts {
                if CANCELLABLE.contains(&post.state) {
                    match self.cancel(post, Fact::AccountDisconnected).await {
                        Ok(_) => cancelled.push(post.id.to_string()),
                        Err(err) if err.status == 409 => in_flight.push(post.id.to_string()),
                        Err(err) => return Err(err),
                    }
                } else if !post.state.is_final() {
                    in_flight.push(post.id.to_string());
                }
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }

        self.accounts.delete(open_id).await?;
        tracing::info!(
            open_id,
            revoked = revoke_note.is_none(),
            cancelled = cancelled.len(),
            in_flight = in_flight.len(),
            "account disconnected"
        );
        let disconnected = Disconnected {
            open_id: open_id.to_owned(),
            revoked: revoke_note.is_none(),
            revoke_note,
            cancelled_posts: cancelled,
            posts_in_flight: in_flight,
        };
        Ok(answer_json(200, &disconnected))
    }
}

/// What an open_id may be, as the API's document states it (`OPEN_ID_PATTERN`): TikTok's
/// are printable ASCII; '/' would split a path.
pub const OPEN_ID_PATTERN: &str = r"^[!-.0-~]{1,128}$";

pub(super) fn check_open_id(open_id: &str, field: &str) -> Result<(), ApiError> {
    let valid = !open_id.is_empty()
        && open_id.len() <= MAX_OPEN_ID_LEN
        && open_id.bytes().all(|b| b.is_ascii_graphic() && b != b'/');
    if valid {
        Ok(())
    } else {
        Err(ApiError::invalid(
            field,
            format!(
                "must be a TikTok open_id (1 to {MAX_OPEN_ID_LEN} printable ASCII characters, \
                 no spaces or '/')"
            ),
        ))
    }
}
