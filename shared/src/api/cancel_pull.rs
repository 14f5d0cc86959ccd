//! `DELETE /posts/{id}` on a pull TikTok is still downloading: TikTok's
//! `POST /v2/post/publish/cancel/`, which works "on a best-effort basis" (its Content Posting
//! API reference) and answers `publish_not_cancellable` once it has the media. Only a pull can
//! be cancelled there: an upload has no such call, and a post past its download finishes.

use std::sync::Arc;

use async_trait::async_trait;

use super::{ApiError, PostsApi};
use crate::errors::{Classify, ErrorKind};
use crate::setup::WiringError;
use crate::store::{Fact, PostRecord, PostState, PostUpdate, StoreError, unix_now};
use crate::tiktok::{PUBLISH_NOT_CANCELLABLE, TikTokError, TikTokPosting};
use crate::tokens::{TokenCallError, TokenError, TokenService};

/// What TikTok made of a cancel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullCancel {
    /// TikTok stopped the download; its webhook and status will say `publish_cancelled`.
    Cancelled,
    /// TikTok has the media already (or the publish is final): the post finishes.
    TooLate,
}

/// Why TikTok could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum CancelPullError {
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error(transparent)]
    TikTok(#[from] TikTokError),
    #[error(transparent)]
    Wiring(#[from] WiringError),
    /// A token refreshed a moment ago was refused too: the access is gone.
    #[error(
        "TikTok refused a freshly refreshed access token for {open_id}: the account must be connected again"
    )]
    RefusedAfterRefresh { open_id: String },
}

impl Classify for CancelPullError {
    fn kind(&self) -> ErrorKind {
        match self {
            CancelPullError::Token(e) => e.kind(),
            CancelPullError::TikTok(e) => e.kind(),
            CancelPullError::Wiring(e) => e.kind(),
            CancelPullError::RefusedAfterRefresh { .. } => ErrorKind::AccountNeedsReconnect,
        }
    }
}

/// TikTok's cancel for one publish of one account.
#[async_trait]
pub trait PullCanceller: Send + Sync {
    async fn cancel_pull(
        &self,
        open_id: &str,
        publish_id: &str,
    ) -> Result<PullCancel, CancelPullError>;
}

/// [`PullCanceller`] with the token service and TikTok's cancel; a token TikTok refuses
/// although it had not expired is refreshed once.
#[derive(Clone)]
pub struct TikTokPullCanceller {
    pub tokens: TokenService,
    pub tiktok: Arc<dyn TikTokPosting>,
}

#[async_trait]
impl PullCanceller for TikTokPullCanceller {
    #[tracing::instrument(skip(self))]
    async fn cancel_pull(
        &self,
        open_id: &str,
        publish_id: &str,
    ) -> Result<PullCancel, CancelPullError> {
        let tiktok = &self.tiktok;
        let answer = self
            .tokens
            .call_with_token(open_id, |token| async move {
                tiktok.cancel_publish(&token, publish_id).await
            })
            .await;
        match answer {
            Ok(()) => Ok(PullCancel::Cancelled),
            Err(TokenCallError::TikTok(TikTokError::Rejected { code, .. }))
                if code == PUBLISH_NOT_CANCELLABLE =>
            {
                Ok(PullCancel::TooLate)
            }
            Err(TokenCallError::Token(e)) => Err(e.into()),
            Err(TokenCallError::TikTok(e)) => Err(e.into()),
            Err(TokenCallError::RefusedAfterRefresh) => Err(CancelPullError::RefusedAfterRefresh {
                open_id: open_id.to_owned(),
            }),
        }
    }
}

impl PostsApi {
    /// Cancels `post`, a pull in `PROCESSING`, at TikTok first; the post is `CANCELLED` only
    /// once TikTok has stopped the download, so a refused cancel leaves it to finish.
    pub(super) async fn cancel_pull(&self, post: &PostRecord) -> Result<PostRecord, ApiError> {
        let Some(publish_id) = post.publish_id.as_deref() else {
            return Err(ApiError::internal(format!(
                "post {} is a pull in PROCESSING without a publish id",
                post.id
            )));
        };
        let answer = self
            .pull_canceller
            .cancel_pull(&post.open_id, publish_id)
            .await
            .map_err(|err| refused_by(post, err))?;
        if answer == PullCancel::TooLate {
            return Err(ApiError::conflict(
                "post_not_cancellable",
                format!(
                    "TikTok already has the media of post {}, so it cannot be cancelled any \
                     more: it will finish (follow it with GET /posts/{})",
                    post.id, post.id
                ),
            )
            .with_state(post.state));
        }
        let moved = self
            .posts()
            .transition(
                &post.id,
                &[PostState::Processing],
                PostState::Cancelled,
                PostUpdate::fact(Fact::PullCancelled),
                unix_now(),
            )
            .await;
        let cancelled = match moved {
            Ok(moved) => self.intake.ends.settle(moved).await,
            // The status step read TikTok's `publish_cancelled` first and cancelled it.
            Err(StoreError::StateConflict {
                found: PostState::Cancelled,
                ..
            }) => self.find_post(post.id.as_str()).await?,
            // TikTok had finished in between (the cancel is best-effort); the post is as it
            // ended.
            Err(StoreError::StateConflict { found, .. }) => {
                return Err(ApiError::conflict(
                    "post_not_cancellable",
                    format!(
                        "post {} ended {found} before TikTok could cancel it",
                        post.id
                    ),
                )
                .with_state(found));
            }
            Err(err) => return Err(err.into()),
        };
        let reason = Fact::PullCancelled.to_string();
        self.intake.executions.stop(&post.id, &reason).await?;
        tracing::info!(post_id = %post.id, "pull cancelled at TikTok");
        Ok(cancelled)
    }
}

/// The answer when TikTok could not be asked, or refused for another reason than the media
/// being there already: the post goes on either way.
fn refused_by(post: &PostRecord, err: CancelPullError) -> ApiError {
    match (&err, err.kind()) {
        (_, ErrorKind::AccountNeedsReconnect) => ApiError::conflict(
            "account_needs_reconnect",
            format!(
                "TikTok could not be asked to cancel post {} ({err}); connect the account {} \
                 again, or let the post finish",
                post.id, post.open_id
            ),
        )
        .with_state(post.state),
        (CancelPullError::TikTok(TikTokError::Rejected { .. }), _) => ApiError::conflict(
            "post_not_cancellable",
            format!(
                "TikTok refused to cancel post {} ({err}); it goes on (follow it with GET \
                 /posts/{})",
                post.id, post.id
            ),
        )
        .with_state(post.state),
        (_, kind) => ApiError::from_kind(kind, &err),
    }
}
