//! The Post to TikTok page (TikTok's Content Sharing Guidelines, point by point: see
//! docs/tiktok-audit.md), the upload signatures the page's uploader asks for, the post the
//! page makes once its upload completed.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;
use tiktok_publish_core::api::{ApiAnswer, ApiError};
use tiktok_publish_core::browser_upload::SignRequestBody;
use tiktok_publish_domain::options::MAX_SCHEDULE_AHEAD_SECS;
use tiktok_publish_domain::tiktok::{
    MAX_PHOTO_DESCRIPTION_UTF16, MAX_PHOTO_TITLE_UTF16, MAX_TITLE_UTF16,
};

use crate::app::Console;
use crate::pages::{self, html, privacy_label};
use crate::post_form::PostForm;
use crate::signin::SignedIn;

/// Errors the page's script reads, in the posts API's one shape
/// (`{"error": {"code", "message", "field"?}}`).
fn json_error(
    status: u16,
    code: &'static str,
    message: impl Into<String>,
    field: Option<&str>,
) -> Response {
    let mut error = ApiError::new(status, code, message);
    error.field = field.map(str::to_owned);
    answered(error.answer())
}

/// A posts API answer as the page's script reads it.
fn answered(answer: ApiAnswer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(answer.body)).into_response()
}

/// The CSRF token a script sent (the page's forms send theirs as a field).
fn presented_csrf(headers: &HeaderMap) -> &str {
    headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// An API failure as a page.
pub fn api_error_page(
    console: &Console,
    signed_in: &SignedIn,
    heading: &str,
    err: &ApiError,
) -> Response {
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    html(
        status,
        &pages::Message {
            site: console.page(&signed_in.session.email, signed_in.csrf()),
            heading,
            class: "error",
            message: err.message.clone(),
            link: Some(("/console/accounts", "Back to the accounts")),
        },
    )
}

#[derive(Deserialize)]
pub struct PostQuery {
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    media: Option<String>,
}

pub async fn page(
    State(console): State<Console>,
    signed_in: SignedIn,
    Query(query): Query<PostQuery>,
) -> Response {
    let open_id = match query.account.filter(|a| !a.is_empty()) {
        Some(open_id) => open_id,
        None => match console.api.account_views().await {
            // One account that can post: it is the one. Otherwise the Accounts page asks.
            Ok(accounts) => match accounts.as_slice() {
                [only] if !only.needs_reconnect => only.open_id.clone(),
                _ => return Redirect::to("/console/accounts").into_response(),
            },
            Err(err) => return api_error_page(&console, &signed_in, "Post to TikTok", &err),
        },
    };
    let photos = query.media.as_deref() == Some("photos");
    // Guideline 1: the creator's settings, fresh from TikTok each time the page opens.
    let creator = match console.api.creator_info_view(&open_id).await {
        Ok(creator) => creator,
        Err(err) => {
            let message = if err.code == "creator_cannot_post" || err.status == 429 {
                format!("{} Try again later.", err.message)
            } else {
                err.message.clone()
            };
            let err = ApiError { message, ..err };
            return api_error_page(&console, &signed_in, "You cannot post right now", &err);
        }
    };
    let creator_json = json!({
        "privacy_level_options": creator.privacy_level_options,
        "comment_disabled": creator.comment_disabled,
        "duet_disabled": creator.duet_disabled,
        "stitch_disabled": creator.stitch_disabled,
        "max_video_post_duration_sec": creator.max_video_post_duration_sec,
    })
    .to_string();
    let privacy_options = creator
        .privacy_level_options
        .iter()
        .map(|level| (level.clone(), privacy_label(level)))
        .collect();
    let page = pages::PostPage {
        site: console.page(&signed_in.session.email, signed_in.csrf()),
        creator_json,
        privacy_options,
        photos,
        media: if photos { "photos" } else { "video" },
        title_limit: if photos {
            MAX_PHOTO_TITLE_UTF16
        } else {
            MAX_TITLE_UTF16
        },
        description_limit: MAX_PHOTO_DESCRIPTION_UTF16,
        max_schedule_days: MAX_SCHEDULE_AHEAD_SECS / (24 * 3600),
        creator,
    };
    html(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct AccountQuery {
    account: String,
}

/// `POST /console/uploads/sign?account=`: one S3 request of the page's upload, presigned.
pub async fn sign_upload(
    State(console): State<Console>,
    signed_in: SignedIn,
    headers: HeaderMap,
    Query(query): Query<AccountQuery>,
    body: Result<Json<SignRequestBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    if signed_in.check_csrf(presented_csrf(&headers)).is_err() {
        return json_error(
            403,
            "csrf",
            "this request did not come from this console's page; reload it",
            None,
        );
    }
    let Json(body) = match body {
        Ok(body) => body,
        Err(rejection) => {
            return json_error(400, "invalid_body", rejection.body_text(), Some("body"));
        }
    };
    let step = match body.step() {
        Ok(step) => step,
        Err(refused) => {
            return json_error(
                400,
                "invalid_upload_request",
                refused.to_string(),
                refused.field(),
            );
        }
    };
    match console.uploads.sign(&query.account, step).await {
        Ok(signed) => Json(json!({"method": signed.method, "url": signed.url, "key": signed.key}))
            .into_response(),
        Err(refused) => {
            if refused.status() >= 500 {
                tracing::warn!(error = %refused, "an upload could not be signed");
            }
            json_error(
                refused.status(),
                "upload_refused",
                refused.to_string(),
                refused.field(),
            )
        }
    }
}

/// `POST /console/posts`: the post, made through the posts API's own checks; 303 to its page.
pub async fn create(
    State(console): State<Console>,
    signed_in: SignedIn,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if signed_in.check_csrf(presented_csrf(&headers)).is_err() {
        return json_error(
            403,
            "csrf",
            "this form did not come from this console's page; reload it",
            None,
        );
    }
    let form = PostForm::from_urlencoded(&body);
    let request =
        match form.create_request(|account, key| console.uploads.is_console_upload(account, key)) {
            Ok(request) => request,
            Err(refused) => {
                return json_error(400, "invalid_form", refused.message, Some(refused.field));
            }
        };
    let mut answer = console
        .api
        .create_post(request.to_string().as_bytes(), None)
        .await;
    match answer.body["id"].as_str() {
        Some(id) if answer.status < 300 => {
            tracing::info!(post_id = id, by = %signed_in.session.user_sub, "post made from the console");
            Redirect::to(&format!("/console/posts/{id}")).into_response()
        }
        _ => {
            crate::post_form::name_fields_as_the_form(&mut answer.body);
            answered(answer)
        }
    }
}
