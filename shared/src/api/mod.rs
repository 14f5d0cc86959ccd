//! The posts API (HTTP, IAM-authorised), as functions over the ports; the `posts-api`
//! Lambda only routes and shapes replies.
//!
//! - `POST /posts` ([`PostsApi::create_post`]): validates the body and claims the video
//!   through [`Intake::claim`], the same conditional write the S3 trigger uses, so a video
//!   reaches TikTok once however it arrives. Honours `Idempotency-Key` ([`idempotency`]).
//! - `GET /posts/{id}` ([`PostsApi::get_post`]): the post's [`PostView`].
//! - `DELETE /posts/{id}` ([`PostsApi::cancel_post`]): cancels a post that has not started
//!   uploading (conditional transition to `CANCELLED`, then `StopExecution`).
//! - `POST /posts/{id}/retry` ([`PostsApi::retry_post`], [`retry`]): starts a failed post
//!   again when a retry can get past its failure, refusing (409) and saying why otherwise.
//! - `GET /accounts/{open_id}/creator-info` ([`PostsApi::creator_info`]): the creator's
//!   posting settings fresh from TikTok ([`creator`]), which a posting screen must show.
//! - `GET /accounts` ([`PostsApi::list_accounts`]), `DELETE /accounts/{open_id}`
//!   ([`PostsApi::disconnect_account`]): revoke at TikTok, cancel the account's queued
//!   posts, forget the account.
//!
//! Every failure answers `{"error": {"code", "message", "field"?, "state"?}}` ([`ApiError`]).
//!
//! ```text
//! POST /posts   {"account": OPEN_ID, "key": "uploads/...", "version_id"?: "...",
//!                "options": {title, privacy_level, disable_duet, disable_comment,
//!                            disable_stitch, video_cover_timestamp_ms, brand_content_toggle,
//!                            brand_organic_toggle, is_aigc, mode, publish_at}}
//!   201 new post / 200 the existing post of that video (same options)   body: PostView
//!   400 field + rule · 404 video_not_found, account_not_found · 409 post_exists (other
//!   options), account_needs_reconnect, idempotency_key_reused, idempotency_key_in_progress
//!   503 + Retry-After
//! GET /posts/{id}        200 PostView · 400 id · 404 post_not_found
//! DELETE /posts/{id}     200 PostView (CANCELLED) · 409 post_not_cancellable + state · 404
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

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::OnceCell;

use crate::config::{ConfigError, required};
use crate::connect::{ConnectSettings, issue_connect_link};
use crate::errors::{Classify, Remedy};
use crate::intake::{Intake, SfnExecutions};
use crate::media::VideoLocation;
use crate::media::s3::S3VideoSource;
use crate::store::{
    Fact, OAuthStateStore, PostId, PostRecord, PostState, PostStore, PostUpdate, StoreError,
    TokenStore, UnixTime, unix_now,
};
use crate::tiktok::{CreatorInfo, PostMode, TikTokClient, TikTokError};
use crate::tokens::{TokenError, TokenService};
use crate::wiring::{Parts, WiringError};
use tiktok_publish_domain::options::{OptionsInput, from_json};

pub mod creator;
pub mod error;
pub mod idempotency;
pub mod retry;
pub use tiktok_publish_domain::view;

pub use creator::{CreatorInfoError, CreatorInfoSource, CreatorInfoView, TikTokCreatorInfo};
pub use error::{ApiAnswer, ApiError};
pub use idempotency::{
    DynamoIdempotencyStore, IdempotencyKey, IdempotencyStore, MemoryIdempotencyStore,
};
pub use retry::retry_verdict;
pub use view::{AccountView, PostView};

use idempotency::{Reservation, StoredAnswer, body_fingerprint};

/// States a post can be cancelled from: nothing has reached TikTok yet.
pub const CANCELLABLE: [PostState; 3] = [
    PostState::Received,
    PostState::AwaitingOptions,
    PostState::Queued,
];

const MAX_KEY_BYTES: usize = 1024;
const MAX_OPEN_ID_LEN: usize = 128;
const MAX_VERSION_LEN: usize = 1024;

/// The body of `POST /posts`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePostRequest {
    /// The `open_id` of a connected account.
    pub account: Option<String>,
    /// The object key in the video bucket.
    pub key: Option<String>,
    /// A specific object version; the current one when absent.
    pub version_id: Option<String>,
    pub options: Option<OptionsInput>,
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

/// [`Revoker`] with the token service and the TikTok client.
#[derive(Clone, Debug)]
pub struct TikTokRevoker {
    pub tokens: TokenService,
    pub tiktok: TikTokClient,
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

/// TikTok's side of the API ([`Revoker`], [`CreatorInfoSource`]) built on first use: the
/// client secret is fetched only when a route needs TikTok, not on every cold start.
pub struct LazyTikTok {
    parts: Parts,
    inner: OnceCell<(TikTokRevoker, TikTokCreatorInfo)>,
}

impl LazyTikTok {
    pub fn new(parts: Parts) -> Self {
        LazyTikTok {
            parts,
            inner: OnceCell::new(),
        }
    }

    async fn get(&self) -> Result<&(TikTokRevoker, TikTokCreatorInfo), WiringError> {
        self.inner
            .get_or_try_init(|| async {
                let tiktok = self.parts.tiktok().await?;
                let tokens = self.parts.token_service(&tiktok)?;
                let creator = TikTokCreatorInfo {
                    tokens: tokens.clone(),
                    tiktok: tiktok.clone(),
                    allowances: self.parts.allowances.clone(),
                };
                Ok::<_, WiringError>((TikTokRevoker { tokens, tiktok }, creator))
            })
            .await
    }
}

#[async_trait]
impl Revoker for LazyTikTok {
    async fn revoke(&self, open_id: &str) -> Result<(), RevokeError> {
        self.get().await?.0.revoke(open_id).await
    }
}

#[async_trait]
impl CreatorInfoSource for LazyTikTok {
    async fn creator_info(&self, open_id: &str) -> Result<CreatorInfo, CreatorInfoError> {
        self.get().await?.1.creator_info(open_id).await
    }
}

/// The API's parts.
#[derive(Clone)]
pub struct PostsApi {
    pub intake: Intake,
    pub accounts: Arc<dyn TokenStore>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub revoker: Arc<dyn Revoker>,
    /// Fresh creator info (`GET /accounts/{open_id}/creator-info`).
    pub creator_info: Arc<dyn CreatorInfoSource>,
    /// Where connect links are stored (the oauth table).
    pub oauth: Arc<dyn OAuthStateStore>,
    /// `None` when `PUBLIC_BASE_URL` is not set: connect links then answer 500 saying so,
    /// while the rest of the API works.
    pub connect: Option<ConnectSettings>,
    /// `VIDEO_BUCKET`: the only bucket posts are read from.
    pub bucket: String,
}

impl PostsApi {
    /// The deployed wiring: DynamoDB stores, S3, Step Functions (`STATE_MACHINE_ARN`), the
    /// video bucket (`VIDEO_BUCKET`), idempotency keys in the oauth table.
    pub fn from_parts(parts: &Parts) -> Result<PostsApi, ConfigError> {
        let sfn = aws_sdk_sfn::Client::new(&parts.sdk);
        let tiktok = Arc::new(LazyTikTok::new(parts.clone()));
        Ok(PostsApi {
            intake: Intake {
                // A cancel, a disconnect's cancels and a refused POST /posts send their events.
                posts: parts.outcome_posts(),
                source: Arc::new(S3VideoSource::new(parts.s3.clone())),
                executions: Arc::new(SfnExecutions::new(sfn, required("STATE_MACHINE_ARN")?)),
            },
            accounts: parts.accounts.clone(),
            idempotency: Arc::new(DynamoIdempotencyStore::new(
                parts.dynamodb.clone(),
                parts.tables.oauth.clone(),
            )),
            revoker: tiktok.clone(),
            creator_info: tiktok,
            oauth: parts.oauth.clone(),
            connect: match ConnectSettings::from_env() {
                Ok(settings) => Some(settings),
                Err(ConfigError::Missing { .. }) => None,
                Err(err) => return Err(err),
            },
            bucket: required("VIDEO_BUCKET")?,
        })
    }

    fn posts(&self) -> &dyn PostStore {
        self.intake.posts.as_ref()
    }

    // ------------------------------------------------------------ POST /posts

    /// `POST /posts`. With an idempotency key, the first answer under the key is replayed
    /// for the same body and a different body is refused (409).
    #[tracing::instrument(skip_all, fields(idempotency_key = key.map(|k| k.id())))]
    pub async fn create_post(&self, body: &[u8], key: Option<&IdempotencyKey>) -> ApiAnswer {
        let Some(key) = key else {
            return answer_of(self.create_post_once(body).await);
        };
        let fingerprint = body_fingerprint(body);
        let taken = match self
            .idempotency
            .reserve(key, &fingerprint, unix_now())
            .await
        {
            Ok(Reservation::Reserved) => None,
            Ok(Reservation::Taken(record)) => Some(record),
            Err(err) => return ApiError::from(err).answer(),
        };
        if let Some(record) = taken {
            if record.body_sha256 != fingerprint {
                return ApiError::conflict(
                    "idempotency_key_reused",
                    "this Idempotency-Key was used with another body; use a new key for a new \
                     request",
                )
                .with_field("Idempotency-Key")
                .answer();
            }
            return match record.answer {
                Some(stored) => replay(&stored),
                None => ApiError {
                    retry_after: Some(2),
                    ..ApiError::conflict(
                        "idempotency_key_in_progress",
                        "a request with this Idempotency-Key is still running; retry shortly",
                    )
                }
                .answer(),
            };
        }
        let answer = answer_of(self.create_post_once(body).await);
        // Passing failures are not remembered: the caller's retry must run again.
        let kept = if answer.status >= 500 {
            self.idempotency.release(key, &fingerprint).await
        } else {
            let stored = StoredAnswer {
                status: answer.status,
                body: answer.body.to_string(),
            };
            self.idempotency
                .finish(key, &fingerprint, &stored, unix_now())
                .await
        };
        if let Err(err) = kept {
            // The post itself is claimed idempotently, so a retry stays safe without it.
            tracing::warn!(error = %err, "could not record the idempotency key's answer");
        }
        answer
    }

    async fn create_post_once(&self, body: &[u8]) -> Result<ApiAnswer, ApiError> {
        let now = unix_now();
        let request: CreatePostRequest = from_json(body).map_err(|mut err| {
            // A syntax error is the body's fault, whichever field the parser was in.
            if err.not_json {
                err.field = "body".to_owned();
            }
            err
        })?;
        let account = required_field(
            request.account,
            "account",
            "the open_id of a connected TikTok account",
        )?;
        check_open_id(&account, "account")?;
        let key = required_field(
            request.key,
            "key",
            "the key of the video in the video bucket, such as uploads/OPEN_ID/clip.mp4",
        )?;
        self.check_key(&key)?;
        if let Some(version) = &request.version_id
            && (version.is_empty() || version.len() > MAX_VERSION_LEN || has_control(version))
        {
            return Err(ApiError::invalid(
                "version_id",
                format!(
                    "must be an S3 version id (1 to {MAX_VERSION_LEN} printable characters) \
                     or left out"
                ),
            ));
        }
        let options = required_field(request.options, "options", "the post's options")?
            .validate("options.", now)?;
        self.check_account_can_post(&account, options.mode, now)
            .await?;

        let location = VideoLocation {
            bucket: self.bucket.clone(),
            key,
            version_id: request.version_id,
        };
        let claim = self
            .intake
            .claim(&account, &location, Ok(Some(options.clone())))
            .await?;
        if !claim.created && claim.post.options.as_ref() != Some(&options) {
            return Err(ApiError::conflict(
                "post_exists",
                format!(
                    "this video (this object version) was already posted to this account as \
                     post {} with other options, and is {}; to post it again, upload it \
                     again (a new object version)",
                    claim.post.id, claim.post.state
                ),
            )
            .with_state(claim.post.state));
        }
        let status = if claim.created { 201 } else { 200 };
        Ok(ApiAnswer::json(status, view_json(&claim.post)?)
            .with_header("location", format!("/posts/{}", claim.post.id)))
    }

    fn check_key(&self, key: &str) -> Result<(), ApiError> {
        let rule = |why: &str| {
            ApiError::invalid(
                "key",
                format!(
                    "{why}; give the key of an object in the video bucket {}, such as \
                     uploads/OPEN_ID/clip.mp4",
                    self.bucket
                ),
            )
        };
        if key.is_empty() {
            return Err(rule("is empty"));
        }
        if key.len() > MAX_KEY_BYTES {
            return Err(rule("is longer than S3's 1024 bytes"));
        }
        if key.contains("://") {
            return Err(rule(
                "is a URL, not a key (videos are read from one bucket only)",
            ));
        }
        if key.starts_with('/') {
            return Err(rule("starts with '/'"));
        }
        if key.ends_with('/') {
            return Err(rule("names a folder, not an object"));
        }
        if has_control(key) {
            return Err(rule("contains control characters"));
        }
        Ok(())
    }

    /// A post for an unknown account, or one that cannot post in this mode, would only fail
    /// later in the pipeline: refuse it now, with the reason.
    async fn check_account_can_post(
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
        let scope = match mode {
            PostMode::DirectPost => "video.publish",
            PostMode::Draft => "video.upload",
        };
        let reason = if account.summary().must_reconnect(now) {
            view.reconnect_reason
                .unwrap_or_else(|| "its tokens can no longer be renewed".to_owned())
        } else if view.missing_scopes.iter().any(|s| s == scope) {
            format!("it did not grant the {scope} scope this post needs")
        } else {
            return Ok(());
        };
        Err(ApiError::conflict(
            "account_needs_reconnect",
            format!("the TikTok account {open_id} must be connected again: {reason}"),
        )
        .with_field("account"))
    }

    // ------------------------------------------------------------ GET /posts/{id}

    /// `GET /posts/{id}`.
    #[tracing::instrument(skip(self))]
    pub async fn get_post(&self, id: &str) -> ApiAnswer {
        answer_of(
            async {
                let post = self.find_post(id).await?;
                Ok(ApiAnswer::json(200, view_json(&post)?))
            }
            .await,
        )
    }

    async fn find_post(&self, id: &str) -> Result<PostRecord, ApiError> {
        let id = PostId::parse(id).map_err(|e| ApiError::invalid("id", e.to_string()))?;
        self.posts()
            .get(&id)
            .await?
            .ok_or_else(|| ApiError::not_found("post_not_found", format!("there is no post {id}")))
    }

    // ------------------------------------------------------------ DELETE /posts/{id}

    /// `DELETE /posts/{id}`: cancels a post that has not started uploading; 409 with its
    /// state otherwise. Cancelling a cancelled post answers it again (and stops its
    /// execution again, in case the first attempt ended between the two).
    #[tracing::instrument(skip(self))]
    pub async fn cancel_post(&self, id: &str) -> ApiAnswer {
        answer_of(
            async {
                let post = self.find_post(id).await?;
                let post = self.cancel(&post, Fact::CancelledByRequest).await?;
                Ok(ApiAnswer::json(200, view_json(&post)?))
            }
            .await,
        )
    }

    /// Cancels the post; `why` (a cancellation's fact) goes into its history and becomes
    /// the reason its execution is stopped with.
    async fn cancel(&self, post: &PostRecord, why: Fact) -> Result<PostRecord, ApiError> {
        let reason = why.to_string();
        let refused = |state: PostState| {
            ApiError::conflict(
                "post_not_cancellable",
                format!(
                    "post {} is {state}: only a post that has not started uploading \
                     (RECEIVED, AWAITING_OPTIONS or QUEUED) can be cancelled",
                    post.id
                ),
            )
            .with_state(state)
        };
        let cancelled = match post.state {
            PostState::Cancelled => post.clone(),
            state if !CANCELLABLE.contains(&state) => return Err(refused(state)),
            _ => match self
                .posts()
                .transition(
                    &post.id,
                    &CANCELLABLE,
                    PostState::Cancelled,
                    PostUpdate::fact(why),
                    unix_now(),
                )
                .await
            {
                Ok(post) => post,
                // The pipeline moved it meanwhile (init started the upload).
                Err(StoreError::StateConflict { found, .. }) => return Err(refused(found)),
                Err(err) => return Err(err.into()),
            },
        };
        // Every step checks the record, so the run would stop by itself; stopping it now
        // spares its waits and makes the console say why.
        self.intake.executions.stop(&post.id, &reason).await?;
        tracing::info!(post_id = %post.id, reason, "post cancelled");
        Ok(cancelled)
    }

    // ------------------------------------------------------------ accounts

    /// `POST /accounts/connect-link`: a single-use link whose holder can connect one TikTok
    /// account. It is the answer's purpose, so it is in the body; it is never logged.
    /// `caller` (the IAM principal) is kept with the link.
    pub async fn connect_link(&self, caller: Option<&str>) -> ApiAnswer {
        let Some(settings) = &self.connect else {
            return ApiError::internal("PUBLIC_BASE_URL is not set: connect links need it")
                .answer();
        };
        match issue_connect_link(self.oauth.as_ref(), settings, caller, unix_now()).await {
            Ok(link) => ApiAnswer::json(
                201,
                json!({
                    "url": link.expose(),
                    "expires_at": view::rfc3339(link.expires_at),
                }),
            )
            .with_header("cache-control", "no-store"),
            Err(err) => ApiError::from_kind(err.kind(), &err).answer(),
        }
    }

    /// `GET /accounts/{open_id}/creator-info`: the creator's posting settings, fresh from
    /// TikTok. An account that cannot Direct Post (unknown, to be reconnected, without
    /// `video.publish`) is refused before TikTok is asked.
    #[tracing::instrument(skip(self))]
    pub async fn creator_info(&self, open_id: &str) -> ApiAnswer {
        answer_of(
            async {
                check_open_id(open_id, "open_id")?;
                self.check_account_can_post(open_id, PostMode::DirectPost, unix_now())
                    .await
                    .map_err(|err| err.with_field("open_id"))?;
                let info = self
                    .creator_info
                    .creator_info(open_id)
                    .await
                    .map_err(|err| err.to_api_error(open_id))?;
                let view = CreatorInfoView::new(open_id, &info);
                Ok(ApiAnswer::json(
                    200,
                    serde_json::to_value(view).map_err(ApiError::internal)?,
                ))
            }
            .await,
        )
    }

    /// `GET /accounts`: every connected account and whether it must be reconnected.
    pub async fn list_accounts(&self) -> ApiAnswer {
        answer_of(
            async {
                let now = unix_now();
                let mut accounts: Vec<AccountView> = self
                    .accounts
                    .list()
                    .await?
                    .iter()
                    .map(|a| AccountView::new(a, now))
                    .collect();
                accounts.sort_by(|a, b| a.open_id.cmp(&b.open_id));
                Ok(ApiAnswer::json(200, json!({ "accounts": accounts })))
            }
            .await,
        )
    }

    /// `DELETE /accounts/{open_id}`: revokes the account's access at TikTok (a refusal is
    /// reported, not fatal; passing trouble answers 503 before anything changed), cancels
    /// its posts that have not started uploading, then forgets it.
    #[tracing::instrument(skip(self))]
    pub async fn disconnect_account(&self, open_id: &str) -> ApiAnswer {
        answer_of(self.disconnect(open_id).await)
    }

    async fn disconnect(&self, open_id: &str) -> Result<ApiAnswer, ApiError> {
        check_open_id(open_id, "open_id")?;
        if self.accounts.get(open_id).await?.is_none() {
            return Err(ApiError::not_found(
                "account_not_found",
                format!("no connected TikTok account has open_id {open_id:?}"),
            ));
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
        Ok(ApiAnswer::json(
            200,
            json!({
                "open_id": open_id,
                "revoked": revoke_note.is_none(),
                "revoke_note": revoke_note,
                "cancelled_posts": cancelled,
                // Already uploading: they fail on their own once the token is gone.
                "posts_in_flight": in_flight,
            }),
        ))
    }
}

fn answer_of(result: Result<ApiAnswer, ApiError>) -> ApiAnswer {
    result.unwrap_or_else(|err| err.answer())
}

fn replay(stored: &StoredAnswer) -> ApiAnswer {
    match serde_json::from_str(&stored.body) {
        Ok(body) => ApiAnswer::json(stored.status, body).with_header("idempotent-replayed", "true"),
        Err(err) => {
            ApiError::internal(format!("stored idempotent answer is not JSON: {err}")).answer()
        }
    }
}

fn view_json(post: &PostRecord) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(PostView::from(post)).map_err(ApiError::internal)
}

fn required_field<T>(value: Option<T>, field: &str, what: &str) -> Result<T, ApiError> {
    value.ok_or_else(|| ApiError::invalid(field, format!("is required: {what}")))
}

fn has_control(text: &str) -> bool {
    text.chars().any(char::is_control)
}

fn check_open_id(open_id: &str, field: &str) -> Result<(), ApiError> {
    let valid = !open_id.is_empty()
        && open_id.len() <= MAX_OPEN_ID_LEN
        && !open_id
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '/');
    if valid {
        Ok(())
    } else {
        Err(ApiError::invalid(
            field,
            format!(
                "must be a TikTok open_id (1 to {MAX_OPEN_ID_LEN} characters, no spaces or '/')"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use secrecy::SecretString;

    use super::*;
    use crate::intake::{Executions, IntakeError};
    use crate::media::{ByteStream, SourceError, VideoObject, VideoSource};
    use crate::store::AccountTokens;
    use crate::store::memory::{MemoryPostStore, MemoryTokenStore};

    struct OneVideo;

    #[async_trait]
    impl VideoSource for OneVideo {
        async fn head(&self, location: &VideoLocation) -> Result<VideoObject, SourceError> {
            Ok(VideoObject {
                location: location.clone(),
                size: 10,
                content_type: None,
                etag: "e".into(),
            })
        }

        async fn read_range(
            &self,
            _: &VideoObject,
            _: u64,
            _: u64,
        ) -> Result<ByteStream, SourceError> {
            Err(SourceError::Refused {
                detail: "not read".into(),
            })
        }
    }

    /// Fails `failures` starts with a retryable error, then succeeds.
    struct FlakyRuns {
        failures: Mutex<u32>,
    }

    #[async_trait]
    impl Executions for FlakyRuns {
        async fn start_named(&self, _: &PostId, _: &str) -> Result<(), IntakeError> {
            let mut failures = self.failures.lock().unwrap();
            if *failures > 0 {
                *failures -= 1;
                return Err(IntakeError::Executions {
                    detail: "throttled".into(),
                    retryable: true,
                });
            }
            Ok(())
        }

        async fn stop(&self, _: &PostId, _: &str) -> Result<(), IntakeError> {
            Ok(())
        }
    }

    struct NoRevoke;

    #[async_trait]
    impl Revoker for NoRevoke {
        async fn revoke(&self, _: &str) -> Result<(), RevokeError> {
            Ok(())
        }
    }

    /// A creator offering only `SELF_ONLY`, counting how often it is asked.
    #[derive(Default)]
    struct PrivateCreator {
        asked: Mutex<u32>,
    }

    #[async_trait]
    impl CreatorInfoSource for PrivateCreator {
        async fn creator_info(&self, _: &str) -> Result<CreatorInfo, CreatorInfoError> {
            *self.asked.lock().unwrap() += 1;
            Ok(CreatorInfo {
                creator_avatar_url: "https://example.com/a.png".into(),
                creator_username: "ann".into(),
                creator_nickname: "Ann".into(),
                privacy_level_options: vec!["SELF_ONLY".into()],
                comment_disabled: true,
                duet_disabled: false,
                stitch_disabled: false,
                max_video_post_duration_sec: 600,
            })
        }
    }

    fn api(start_failures: u32) -> PostsApi {
        let accounts = MemoryTokenStore::new();
        let now = unix_now();
        accounts.insert(AccountTokens {
            open_id: "o".into(),
            access_token: SecretString::from("a"),
            access_expires_at: now + 3600,
            refresh_token: Some(crate::store::SealedSecret::plain(&SecretString::from("r"))),
            refresh_expires_at: now + 86_400,
            scopes: vec!["video.publish".into(), "video.upload".into()],
            nickname: None,
            needs_reconnect: false,
            reconnect_reason: None,
            version: 1,
            lease_owner: None,
            lease_until: None,
            connected_at: now,
            updated_at: now,
        });
        PostsApi {
            intake: Intake {
                posts: Arc::new(MemoryPostStore::new()),
                source: Arc::new(OneVideo),
                executions: Arc::new(FlakyRuns {
                    failures: Mutex::new(start_failures),
                }),
            },
            accounts: Arc::new(accounts),
            idempotency: Arc::new(MemoryIdempotencyStore::new()),
            revoker: Arc::new(NoRevoke),
            creator_info: Arc::new(PrivateCreator::default()),
            oauth: Arc::new(crate::store::memory::MemoryOAuthStateStore::new()),
            connect: None,
            bucket: "b".into(),
        }
    }

    const BODY: &[u8] = br#"{"account":"o","key":"uploads/o/v.mp4","options":{"mode":"draft"}}"#;

    fn key() -> IdempotencyKey {
        IdempotencyKey::from_header_values(["k"], None)
            .unwrap()
            .unwrap()
    }

    #[tokio::test]
    async fn a_passing_failure_is_not_remembered_under_the_key() {
        let api = api(1);
        let failed = api.create_post(BODY, Some(&key())).await;
        assert_eq!(failed.status, 503, "{}", failed.body);
        assert!(failed.headers.contains(&("retry-after", "5".to_owned())));
        let retried = api.create_post(BODY, Some(&key())).await;
        // The record was written by the first attempt; the retry found and started it.
        assert_eq!(retried.status, 200, "{}", retried.body);
        assert_eq!(retried.body["state"], "QUEUED");
    }

    #[tokio::test]
    async fn a_key_still_running_answers_409_with_retry_after() {
        let api = api(0);
        let reserved = api
            .idempotency
            .reserve(&key(), &body_fingerprint(BODY), unix_now())
            .await
            .unwrap();
        assert_eq!(reserved, Reservation::Reserved);
        let answer = api.create_post(BODY, Some(&key())).await;
        assert_eq!(answer.status, 409, "{}", answer.body);
        assert_eq!(answer.body["error"]["code"], "idempotency_key_in_progress");
        assert!(
            answer
                .headers
                .iter()
                .any(|(name, _)| *name == "retry-after")
        );
    }

    #[tokio::test]
    async fn accounts_that_cannot_post_in_the_mode_are_refused_up_front() {
        let api = api(0);
        let direct =
            br#"{"account":"o","key":"uploads/o/v.mp4","options":{"privacy_level":"SELF_ONLY"}}"#;
        // Granted video.publish: fine.
        assert_eq!(api.create_post(direct, None).await.status, 201);
        api.accounts
            .mark_needs_reconnect("o", "refresh refused", None, unix_now())
            .await
            .unwrap();
        let answer = api.create_post(BODY, None).await;
        assert_eq!(answer.status, 409, "{}", answer.body);
        assert_eq!(answer.body["error"]["code"], "account_needs_reconnect");
        assert!(
            answer.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("refresh refused")
        );
    }

    #[tokio::test]
    async fn connect_links_without_a_public_base_url_say_so() {
        let answer = api(0).connect_link(None).await;
        assert_eq!(answer.status, 500);
    }

    #[tokio::test]
    async fn creator_info_is_asked_only_for_accounts_that_can_direct_post() {
        let api = api(0);
        let answer = api.creator_info("o").await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.body["nickname"], "Ann");
        assert_eq!(answer.body["privacy_level_options"], json!(["SELF_ONLY"]));
        assert_eq!(answer.body["comment_disabled"], true);

        let unknown = api.creator_info("nobody").await;
        assert_eq!(unknown.status, 404, "{}", unknown.body);
        assert_eq!(unknown.body["error"]["field"], "open_id");
        let bad = api.creator_info("a/b").await;
        assert_eq!(bad.status, 400, "{}", bad.body);

        api.accounts
            .mark_needs_reconnect("o", "refresh refused", None, unix_now())
            .await
            .unwrap();
        let answer = api.creator_info("o").await;
        assert_eq!(answer.status, 409, "{}", answer.body);
        assert_eq!(answer.body["error"]["code"], "account_needs_reconnect");
    }
}
