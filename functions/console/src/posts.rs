//! The posts: the Posts page (newest first, filtered by account and kind of state, a page
//! at a time), a post's page (its status, live through htmx's polling, its history), and
//! its Retry and Cancel buttons (the posts API's own retry and cancel).

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tiktok_publish_core::api::{AccountView, PostActions, PostFilter, PostView, StateFilter};
use tiktok_publish_core::store::PostCursor;
use tiktok_publish_domain::state::PostState;
use tiktok_publish_domain::tiktok::PrivacyLevel;

use crate::app::Console;
use crate::pages::{self, html};
use crate::posting::api_error_page;
use crate::signin::{CsrfForm, SignedIn};
use crate::site::Site;

/// Posts per page of the Posts page.
const PAGE_SIZE: usize = 25;

/// The Posts page's query: its filters and where the page starts. Empty values are "any".
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    account: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    before: String,
}

/// One row of the Posts page.
pub struct PostRow {
    pub id: String,
    pub created_at: String,
    pub account: String,
    pub title: String,
    pub state: &'static str,
    pub state_label: &'static str,
    /// The public post's link (TikTok's id and the creator's handle).
    pub link: Option<String>,
}

#[derive(Template)]
#[template(path = "posts.html")]
pub struct PostsPage<'a> {
    pub site: Site<'a>,
    pub accounts: Vec<(String, String)>,
    pub account: String,
    pub states: Vec<(&'static str, &'static str)>,
    pub state: String,
    pub rows: Vec<PostRow>,
    /// The next page's query string, when there is one.
    pub older: Option<String>,
}

/// The account's name as a person knows it.
fn account_name(account: &AccountView) -> String {
    match (&account.nickname, &account.username) {
        (Some(nickname), Some(username)) => format!("{nickname} (@{username})"),
        (Some(nickname), None) => nickname.clone(),
        (None, Some(username)) => format!("@{username}"),
        (None, None) => account.open_id.clone(),
    }
}

/// The link to a public post on TikTok.
fn tiktok_link(username: &str, post_id: &str) -> String {
    format!("https://www.tiktok.com/@{username}/video/{post_id}")
}

fn row(post: &PostView, accounts: &HashMap<&str, &AccountView>) -> PostRow {
    let account = accounts.get(post.account.as_str());
    let title = post
        .options
        .as_ref()
        .map(|o| o.title.clone())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| post.key.rsplit('/').next().unwrap_or_default().to_owned());
    let link = account
        .and_then(|a| a.username.as_deref())
        .zip(post.public_post_ids.first())
        .map(|(username, id)| tiktok_link(username, id));
    PostRow {
        id: post.id.clone(),
        created_at: post.created_at.clone(),
        account: account.map_or_else(|| post.account.clone(), |a| account_name(a)),
        title,
        state: post.state.as_str(),
        state_label: state_label(post.state),
        link,
    }
}

/// A query string of the page's filters (and where it starts), each value encoded.
fn query_string(pairs: &[(&str, &str)]) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs.iter().filter(|(_, value)| !value.is_empty()) {
        query.append_pair(name, value);
    }
    query.finish()
}

/// `GET /console/posts`: the Posts page.
pub async fn list(
    State(console): State<Console>,
    signed_in: SignedIn,
    Query(query): Query<ListQuery>,
) -> Response {
    let bad_filter = |message: String| {
        let err = tiktok_publish_core::api::ApiError::new(400, "invalid_filter", message);
        api_error_page(&console, &signed_in, "Posts", &err)
    };
    let state = match query.state.as_str() {
        "" => None,
        name => match name.parse::<StateFilter>() {
            Ok(state) => Some(state),
            Err(err) => return bad_filter(err.to_string()),
        },
    };
    let before = match query.before.as_str() {
        "" => None,
        token => match PostCursor::parse(token) {
            Some(cursor) => Some(cursor),
            None => return bad_filter(format!("{token:?} is not a page of the Posts page")),
        },
    };
    let filter = PostFilter {
        account: Some(query.account.clone()).filter(|a| !a.is_empty()),
        state,
        before,
        limit: PAGE_SIZE,
    };
    let listed = match console.api.account_views().await {
        Ok(accounts) => console
            .api
            .list_posts(&filter, &accounts)
            .await
            .map(|page| (accounts, page)),
        Err(err) => Err(err),
    };
    let (accounts, page) = match listed {
        Ok(listed) => listed,
        Err(err) => return api_error_page(&console, &signed_in, "Posts", &err),
    };
    let by_id: HashMap<&str, &AccountView> =
        accounts.iter().map(|a| (a.open_id.as_str(), a)).collect();
    let rows = page.posts.iter().map(|post| row(post, &by_id)).collect();
    let older = page.next.map(|next| {
        query_string(&[
            ("account", &query.account),
            ("state", &query.state),
            ("before", &next.to_token()),
        ])
    });
    html(
        StatusCode::OK,
        &PostsPage {
            site: console.page(&signed_in.session.email, signed_in.csrf()),
            accounts: accounts
                .iter()
                .map(|a| (a.open_id.clone(), account_name(a)))
                .collect(),
            account: query.account,
            states: StateFilter::ALL
                .iter()
                .map(|s| (s.as_str(), s.label()))
                .collect(),
            state: query.state,
            rows,
            older,
        },
    )
}

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

/// The post's status section, with the buttons it has now (so that a post that fails
/// while its page is open shows Retry without a reload).
async fn status_fragment(
    console: &Console,
    signed_in: &SignedIn,
    post: &PostView,
    actions: PostActions,
) -> String {
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
        actions,
        csrf: signed_in.csrf(),
    };
    askama::Template::render(&fragment).unwrap_or_default()
}

/// What the post's page says after a button did its work (`?done=`).
#[derive(Debug, Default, Deserialize)]
pub struct DetailQuery {
    #[serde(default)]
    done: String,
}

/// A post page's buttons.
#[derive(Debug, Clone, Copy)]
enum Action {
    Retry,
    Cancel,
}

impl Action {
    const ALL: [Action; 2] = [Action::Retry, Action::Cancel];

    /// Its name in the post page's `?done=` once it did its work.
    fn done(self) -> &'static str {
        match self {
            Action::Retry => "retried",
            Action::Cancel => "cancelled",
        }
    }

    fn notice(self) -> &'static str {
        match self {
            Action::Retry => "The post was queued again: a new attempt starts now.",
            Action::Cancel => "The post was cancelled: nothing more will be sent to TikTok.",
        }
    }
}

fn done_notice(done: &str) -> Option<&'static str> {
    Action::ALL
        .into_iter()
        .find(|action| action.done() == done)
        .map(Action::notice)
}

pub async fn detail(
    State(console): State<Console>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Query(query): Query<DetailQuery>,
) -> Response {
    let notice = done_notice(&query.done).map(str::to_owned);
    detail_page(&console, &signed_in, &id, StatusCode::OK, notice, None).await
}

/// The post's page, with a notice (what a button did) or an error (why it did not).
async fn detail_page(
    console: &Console,
    signed_in: &SignedIn,
    id: &str,
    status_code: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let (post, actions) = match console.api.post_detail(id).await {
        Ok(found) => found,
        Err(err) => return api_error_page(console, signed_in, "Post", &err),
    };
    let status = status_fragment(console, signed_in, &post, actions).await;
    html(
        status_code,
        &pages::PostStatus {
            site: console.page(&signed_in.session.email, signed_in.csrf()),
            post: &post,
            status,
            notice,
            error,
        },
    )
}

/// `POST /console/posts/{id}/retry`: the posts API's retry; back to the post's page.
pub async fn retry(
    State(console): State<Console>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    act(&console, &signed_in, &id, &form, Action::Retry).await
}

/// `POST /console/posts/{id}/cancel`: the posts API's cancel; back to the post's page.
pub async fn cancel(
    State(console): State<Console>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    act(&console, &signed_in, &id, &form, Action::Cancel).await
}

/// A button pressed: 303 to the post's page saying it was done, or the post's page with the
/// API's reason and its status code.
async fn act(
    console: &Console,
    signed_in: &SignedIn,
    id: &str,
    form: &CsrfForm,
    action: Action,
) -> Response {
    if let Err(refused) = signed_in.check_csrf(&form.csrf) {
        return refused.into_response();
    }
    let answer = match action {
        Action::Retry => console.api.retry_post(id).await,
        Action::Cancel => console.api.cancel_post(id).await,
    };
    let done = action.done();
    if (200..300).contains(&answer.status) {
        tracing::info!(post_id = id, by = %signed_in.session.user_sub, done, "post changed from the console");
        // The API accepted the id: a post id (letters, digits, `-` and `_`).
        return Redirect::to(&format!("/console/posts/{id}?done={done}")).into_response();
    }
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let reason = answer.body["error"]["message"]
        .as_str()
        .unwrap_or("the request failed")
        .to_owned();
    detail_page(console, signed_in, id, status, None, Some(reason)).await
}

/// The status section alone, for htmx's polling.
pub async fn status(
    State(console): State<Console>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Response {
    match console.api.post_detail(&id).await {
        Ok((post, actions)) => {
            let body = status_fragment(&console, &signed_in, &post, actions).await;
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
