//! The handlers, one per operation, each with its OpenAPI description (`#[utoipa::path]`):
//! the router ([`crate::routes`]) and the document ([`crate::openapi`]) are both built from
//! these, so a route cannot exist undocumented. Answers common to every operation (405, 500,
//! 503) are added to the document by [`crate::openapi`]. utoipa takes only literals for
//! patterns: [`PostPath`]'s and [`AccountPath`]'s are `PostId::PATTERN` and
//! `OPEN_ID_PATTERN`, which the tests compare.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use axum::response::Response;
use tiktok_publish_core::api::{
    AccountList, ApiError, ConnectLinkView, CreatePostRequest, CreatorInfoView, Disconnected,
    ErrorBody, IdempotencyKey, PostView, PostsApi,
};

use crate::routes::{Caller, PathParam, Route, answered};

/// The post a path names (`/posts/{id}`...); [`PathParam`] reads it.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // A description of the path only.
struct PostPath {
    /// The post's id.
    #[param(pattern = r"^[0-9A-Za-z_-]{1,80}$")]
    id: String,
}

/// The account a path names (`/accounts/{open_id}`...); [`PathParam`] reads it.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // A description of the path only.
struct AccountPath {
    /// The account's TikTok open_id.
    #[param(pattern = r"^[!-.0-~]{1,128}$")]
    open_id: String,
}

/// What an operation on the post its path names refuses.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // Descriptions only: the core answers with an ErrorBody.
enum PostRefusals {
    /// `id` is not a post id
    #[response(status = 400)]
    NotAnId(ErrorBody),
    /// `post_not_found` (`id`)
    #[response(status = 404)]
    NotFound(ErrorBody),
}

/// What an operation on the account its path names refuses.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // Descriptions only: the core answers with an ErrorBody.
enum AccountRefusals {
    /// `open_id` is not an open_id
    #[response(status = 400)]
    NotAnOpenId(ErrorBody),
    /// `account_not_found` (`open_id`)
    #[response(status = 404)]
    NotFound(ErrorBody),
}

/// Creates a post of a video (`key`) or of images (`images`) in the bucket.
///
/// One post per video (object version) or set of images and account, however often it is
/// asked: the same request again answers the existing post (200).
#[utoipa::path(
    post,
    path = "/posts",
    params(
        ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255,
         pattern = r"^[\x21-\x7e]+$",
         description = "The same key with the same body replays the first answer; with \
                        another body it is refused (409). Scoped to the IAM caller."),
    ),
    request_body(content = CreatePostRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "The new post", body = PostView,
         headers(("Location" = String, description = "/posts/{id}"),
                 ("Idempotent-Replayed" = String, description = "`true` on a replay"))),
        (status = 200, description = "The existing post of this video, with the same options",
         body = PostView,
         headers(("Location" = String, description = "/posts/{id}"),
                 ("Idempotent-Replayed" = String, description = "`true` on a replay"))),
        (status = 400, description = "A field breaks a rule: `field` names it", body = ErrorBody),
        (status = 404, description = "`video_not_found` (`key`), `image_not_found` \
                                      (`images[n]`), `account_not_found` (`account`)",
         body = ErrorBody),
        (status = 409, description = "`post_exists` with other options, \
                                      `account_needs_reconnect`, `idempotency_key_reused`, \
                                      `idempotency_key_in_progress` (with Retry-After)",
         body = ErrorBody,
         headers(("Retry-After" = u64, description = "Seconds, for a key still in progress"))),
    ),
)]
pub async fn create_post(
    State(api): State<PostsApi>,
    Caller(caller): Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    // API Gateway joins a repeated header's values with commas; keys have none.
    let values = headers
        .get_all("idempotency-key")
        .iter()
        .map(|v| v.to_str().unwrap_or("\u{0}"))
        .flat_map(|v| v.split(','));
    let answer = match (
        IdempotencyKey::from_header_values(values, caller.as_deref()),
        body,
    ) {
        // The body is parsed as JSON whatever its Content-Type says (`curl -d` sends a form
        // type): anything else is refused as "not valid JSON", naming the body.
        (Ok(key), Ok(body)) => api.create_post(&body, key.as_ref()).await,
        (Err(err), _) => err.answer(),
        (_, Err(unreadable)) => ApiError::invalid("body", unreadable.body_text()).answer(),
    };
    answered(Route::CreatePost, answer)
}

/// The post: its state, options, progress, failure and history.
#[utoipa::path(
    get,
    path = "/posts/{id}",
    params(PostPath),
    responses(
        (status = 200, description = "The post", body = PostView),
        PostRefusals,
    ),
)]
pub async fn get_post(State(api): State<PostsApi>, PathParam(id): PathParam) -> Response {
    let answer = api.get_post(&id).await;
    answered(Route::GetPost(id), answer)
}

/// Cancels a post that has not started uploading, or a pull TikTok is still downloading.
#[utoipa::path(
    delete,
    path = "/posts/{id}",
    params(PostPath),
    responses(
        (status = 200, description = "The post, CANCELLED", body = PostView),
        PostRefusals,
        (status = 409, description = "`post_not_cancellable`, with the post's `state`",
         body = ErrorBody),
    ),
)]
pub async fn cancel_post(State(api): State<PostsApi>, PathParam(id): PathParam) -> Response {
    let answer = api.cancel_post(&id).await;
    answered(Route::CancelPost(id), answer)
}

/// Starts a failed post again, or says why a retry cannot help.
#[utoipa::path(
    post,
    path = "/posts/{id}/retry",
    params(PostPath),
    responses(
        (status = 202, description = "The post, QUEUED again", body = PostView),
        (status = 200, description = "The post, queued by a retry already", body = PostView),
        PostRefusals,
        (status = 409, description = "Why a retry cannot help (`post_not_retryable`, \
                                      `retry_limit_reached`, ...), with the post's `state`",
         body = ErrorBody),
    ),
)]
pub async fn retry_post(State(api): State<PostsApi>, PathParam(id): PathParam) -> Response {
    let answer = api.retry_post(&id).await;
    answered(Route::RetryPost(id), answer)
}

/// Every connected account, and whether it must be connected again.
#[utoipa::path(
    get,
    path = "/accounts",
    responses((status = 200, description = "The accounts, by open_id", body = AccountList)),
)]
pub async fn list_accounts(State(api): State<PostsApi>) -> Response {
    answered(Route::ListAccounts, api.list_accounts().await)
}

/// Revokes the account's access at TikTok, cancels its queued posts and forgets it.
#[utoipa::path(
    delete,
    path = "/accounts/{open_id}",
    params(AccountPath),
    responses(
        (status = 200, description = "What the disconnection did", body = Disconnected),
        AccountRefusals,
    ),
)]
pub async fn disconnect_account(
    State(api): State<PostsApi>,
    PathParam(open_id): PathParam,
) -> Response {
    let answer = api.disconnect_account(&open_id).await;
    answered(Route::DisconnectAccount(open_id), answer)
}

/// A single-use link whose holder can connect one TikTok account.
#[utoipa::path(
    post,
    path = "/accounts/connect-link",
    responses((status = 201, description = "The link", body = ConnectLinkView)),
)]
pub async fn connect_link(State(api): State<PostsApi>, Caller(caller): Caller) -> Response {
    answered(
        Route::ConnectLink,
        api.connect_link(caller.as_deref()).await,
    )
}

/// The creator's posting settings, fresh from TikTok: what a posting screen must show.
#[utoipa::path(
    get,
    path = "/accounts/{open_id}/creator-info",
    params(AccountPath),
    responses(
        (status = 200, description = "The creator's settings", body = CreatorInfoView),
        AccountRefusals,
        (status = 409, description = "`account_needs_reconnect`, `creator_cannot_post` \
                                      (`open_id`)", body = ErrorBody),
        (status = 429, description = "`rate_limited`: TikTok's limit for this account",
         body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds"))),
    ),
)]
pub async fn creator_info(State(api): State<PostsApi>, PathParam(open_id): PathParam) -> Response {
    let answer = api.creator_info(&open_id).await;
    answered(Route::CreatorInfo(open_id), answer)
}
