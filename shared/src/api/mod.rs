//! The posts API (HTTP, IAM-authorised), as functions over the ports; the `posts-api`
//! Lambda only routes and shapes replies.
//!
//! - `POST /posts` ([`PostsApi::create_post`]): validates the body and claims the video
//!   through [`Intake::claim`], the same conditional write the S3 trigger uses, so a video
//!   reaches TikTok once however it arrives. Honours `Idempotency-Key` ([`idempotency`]).
//! - `GET /posts/{id}` ([`PostsApi::get_post`]): the post's [`PostView`].
//! - `DELETE /posts/{id}` ([`PostsApi::cancel_post`]): cancels a post that has not started
//!   uploading (conditional transition to `CANCELLED`, then `StopExecution`), or a pull
//!   TikTok is still downloading ([`cancel_pull`]: TikTok's cancel first).
//! - `POST /posts/{id}/retry` ([`PostsApi::retry_post`], [`retry`]): starts a failed post
//!   again when a retry can get past its failure, refusing (409) and saying why otherwise.
//! - `GET /accounts/{open_id}/creator-info` ([`PostsApi::creator_info`]): the creator's
//!   posting settings fresh from TikTok ([`creator`]), which a posting screen must show.
//! - `GET /accounts` ([`PostsApi::list_accounts`]), `DELETE /accounts/{open_id}`
//!   ([`PostsApi::disconnect_account`]): revoke at TikTok, cancel the account's queued
//!   posts, forget the account.
//!
//! - The console's Posts page ([`PostsApi::list_posts`], [`listing`]): newest first,
//!   across the accounts or for one, by kind of state, a page at a time.
//!
//! The requests live by what they act on: [`posts`] (create, get, cancel), [`retry`],
//! [`accounts`] (list, disconnect, connect links, creator info); [`error`] holds the one
//! answer shape. Their public names are re-exported here.
//!
//! Every failure answers `{"error": {"code", "message", "field"?, "state"?}}` ([`ApiError`]).
//!
//! ```text
//! POST /posts   {"account": OPEN_ID, "key": "uploads/...", "version_id"?: "...",
//!                "options": {title, privacy_level, allow_duet, allow_comment, allow_stitch
//!                            (or TikTok's disable_*; all off when left out),
//!                            video_cover_timestamp_ms, brand_content_toggle,
//!                            brand_organic_toggle, is_aigc, mode, publish_at}}
//!   201 new post / 200 the existing post of that video (same options)   body: PostView
//!   400 field + rule · 404 video_not_found, account_not_found · 409 post_exists (other
//!   options), account_needs_reconnect, idempotency_key_reused, idempotency_key_in_progress
//!   503 + Retry-After
//! GET /posts/{id}        200 PostView · 400 id · 404 post_not_found
//! DELETE /posts/{id}     200 PostView (CANCELLED) · 409 post_not_cancellable + state
//!                        (a pull TikTok has the media of: it finishes) · 404 · 503
//! POST /posts/{id}/retry 202 PostView (QUEUED again) · 200 (queued by a retry already)
//!                        · 409 post_not_retryable, post_refused, video_changed,
//!                        tiktok_refused_the_video/_post, retry_limit_reached,
//!                        account_needs_reconnect (+ state) · 404 · 503
//! GET /accounts          200 {"accounts": [AccountView]}
//! DELETE /accounts/{id}  200 {open_id, revoked, revoke_note, cancelled_posts,
//!                        posts_in_flight} · 404 account_not_found · 503 (nothing changed)
//! POST /accounts/connect-link   201 {url, expires_at}
//! GET /accounts/{id}/creator-info   200 CreatorInfoView · 404 account_not_found · 409
//!                        account_needs_reconnect, creator_cannot_post · 429 + Retry-After
//!                        (rate_limited) · 503
//! ```

use std::sync::Arc;

use crate::connect::ConnectSettings;
use crate::intake::Intake;
use crate::store::{OAuthStateStore, PostRecord, PostStore, TokenStore};

mod accounts;
pub mod cancel_pull;
pub mod creator;
pub mod error;
pub mod idempotency;
pub mod listing;
mod posts;
pub mod retry;
pub use tiktok_publish_domain::view;

pub use accounts::{
    AccountList, ConnectLinkView, Disconnected, OPEN_ID_PATTERN, RevokeError, Revoker,
    TikTokRevoker,
};
pub use cancel_pull::{CancelPullError, PullCancel, PullCanceller, TikTokPullCanceller};
pub use creator::{CreatorInfoError, CreatorInfoSource, CreatorInfoView, TikTokCreatorInfo};
pub use error::{ApiAnswer, ApiError, ErrorBody};
pub use idempotency::{IdempotencyKey, IdempotencyStore};
pub use listing::{PostActions, PostFilter, PostList, StateFilter};
pub use posts::{CANCELLABLE, CreatePostRequest};
pub use retry::retry_verdict;
pub use view::{AccountView, PostView};

/// The API's parts.
#[derive(Clone)]
pub struct PostsApi {
    pub intake: Intake,
    pub accounts: Arc<dyn TokenStore>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub revoker: Arc<dyn Revoker>,
    /// Fresh creator info (`GET /accounts/{open_id}/creator-info`).
    pub creator_info: Arc<dyn CreatorInfoSource>,
    /// TikTok's cancel, for a pull still downloading (`DELETE /posts/{id}`).
    pub pull_canceller: Arc<dyn PullCanceller>,
    /// Where connect links are stored (the oauth table).
    pub oauth: Arc<dyn OAuthStateStore>,
    /// `None` when `PUBLIC_BASE_URL` is not set: connect links then answer 500 saying so,
    /// while the rest of the API works.
    pub connect: Option<ConnectSettings>,
    /// `VIDEO_BUCKET`: the only bucket posts are read from.
    pub bucket: String,
}

impl PostsApi {
    fn posts(&self) -> &dyn PostStore {
        self.intake.posts.as_ref()
    }
}

fn answer_of(result: Result<ApiAnswer, ApiError>) -> ApiAnswer {
    result.unwrap_or_else(|err| err.answer())
}

/// A JSON answer of one of the API's bodies (plain data: serializing it cannot fail, and
/// would answer 500 if it did).
fn answer_json(status: u16, body: &impl serde::Serialize) -> ApiAnswer {
    match serde_json::to_value(body) {
        Ok(body) => ApiAnswer::json(status, body),
        Err(err) => ApiError::internal(err).answer(),
    }
}

fn view_json(post: &PostRecord) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(PostView::from(post)).map_err(ApiError::internal)
}
