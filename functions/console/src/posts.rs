//! The posts the console made or shows: a post's page (its status, live through htmx's
//! polling, and its history).

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use tiktok_publish_core::api::PostView;
use tiktok_publish_domain::state::PostState;
use tiktok_publish_domain::tiktok::PrivacyLevel;

use crate::app::Console;
use crate::pages::{self, html};
use crate::posting::api_error_page;
use crate::signin::SignedIn;

fn state_label(state: PostState) -> &'static str {
    match state {
        PostState::Received | PostState::AwaitingOptions | PostState::Queued => "Waiting to upload",
        PostState::Uploading => "Uploading to TikTok",
        PostState::Processing => "TikTok is processing it",
        PostState::Published => "Published",
        PostState::SentToInbox => "Sent to the TikTok inbox",
        PostState::Refused => "Refused",
        PostState::Failed => "Failed",
        PostState::Cancelled => "Cancelled",
    }
}

async fn status_fragment(console: &Console, post: &PostView) -> String {
    // The link needs the creator's handle; only a post with a public id has a link, so the
    // accounts are read then, not on every poll.
    let username = if post.public_post_ids.is_empty() {
        None
    } else {
        console
            .api
            .account_views()
            .await
            .ok()
            .and_then(|accounts| accounts.into_iter().find(|a| a.open_id == post.account))
            .and_then(|account| account.username)
    };
    let options = post.options.as_ref();
    let private = options.is_some_and(|o| o.privacy_level == Some(PrivacyLevel::SelfOnly));
    let fragment = pages::StatusFragment {
        post,
        state: post.state.as_str().to_owned(),
        state_label: state_label(post.state),
        title: options.map(|o| o.title.clone()).filter(|t| !t.is_empty()),
        progress: post.progress.as_ref().map(|p| {
            format!(
                "Uploaded {} of {} bytes to TikTok",
                p.bytes_done, p.bytes_total
            )
        }),
        username,
        private_without_id: private && post.is_final && post.public_post_ids.is_empty(),
        failure: post.failure.as_ref().map(|f| match &f.advice {
            Some(advice) => format!("{} {advice}", f.reason),
            None => f.reason.clone(),
        }),
    };
    askama::Template::render(&fragment).unwrap_or_default()
}

pub async fn detail(
    State(console): State<Console>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Response {
    let post = match console.api.post_view(&id).await {
        Ok(post) => post,
        Err(err) => return api_error_page(&console, &signed_in, "Post", &err),
    };
    let status = status_fragment(&console, &post).await;
    html(
        StatusCode::OK,
        &pages::PostStatus {
            site: console.page(&signed_in.session.email, signed_in.csrf()),
            post: &post,
            status,
        },
    )
}

/// The status section alone, for htmx's polling.
pub async fn status(
    State(console): State<Console>,
    _signed_in: SignedIn,
    Path(id): Path<String>,
) -> Response {
    match console.api.post_view(&id).await {
        Ok(post) => {
            let body = status_fragment(&console, &post).await;
            (
                [
                    (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                body,
            )
                .into_response()
        }
        Err(err) => (
            StatusCode::from_u16(err.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            err.message,
        )
            .into_response(),
    }
}
