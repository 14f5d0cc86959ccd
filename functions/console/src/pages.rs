//! The console's pages: askama templates under `templates/`, checked at compile time and
//! HTML-escaping every value they are given.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tiktok_publish_core::api::{AccountView, CreatorInfoView, PostActions, PostView};

use crate::site::Site;

#[derive(Template)]
#[template(path = "landing.html")]
pub struct Landing<'a> {
    pub site: Site<'a>,
}

#[derive(Template)]
#[template(path = "terms.html")]
pub struct Terms<'a> {
    pub site: Site<'a>,
}

#[derive(Template)]
#[template(path = "privacy.html")]
pub struct Privacy<'a> {
    pub site: Site<'a>,
}

#[derive(Template)]
#[template(path = "sign_in.html")]
pub struct SignIn<'a> {
    pub site: Site<'a>,
    pub form_csrf: String,
    pub email: String,
    pub notice: Option<String>,
    pub error: Option<String>,
}

/// The new-password and authenticator-code steps of a sign-in.
#[derive(Template)]
#[template(path = "challenge.html")]
pub struct Challenge<'a> {
    pub site: Site<'a>,
    pub heading: &'static str,
    pub action: &'static str,
    pub new_password: bool,
    pub form_csrf: String,
    pub username: String,
    /// Cognito's challenge session: it proves the password step passed, and is sent back
    /// with the answer (a hidden field: the page is `no-store`).
    pub session: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct Message<'a> {
    pub site: Site<'a>,
    pub heading: &'a str,
    pub class: &'static str,
    pub message: String,
    pub link: Option<(&'a str, &'a str)>,
}

#[derive(Template)]
#[template(path = "accounts.html")]
pub struct Accounts<'a> {
    pub site: Site<'a>,
    pub accounts: Vec<AccountView>,
    pub notice: Option<String>,
}

#[derive(Template)]
#[template(path = "post.html")]
pub struct PostPage<'a> {
    pub site: Site<'a>,
    pub creator: CreatorInfoView,
    /// What post.js reads: the creator's settings as JSON (escaped into the attribute).
    pub creator_json: String,
    pub photos: bool,
    pub media: &'static str,
    /// TikTok's title limit for this media (UTF-16 units), and a photo post's description's.
    pub title_limit: usize,
    pub description_limit: usize,
    /// How far ahead a post may be scheduled (the posts API's limit).
    pub max_schedule_days: i64,
    /// The creator's privacy levels with their labels, in TikTok's order; no default.
    pub privacy_options: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "status_fragment.html")]
pub struct StatusFragment<'a> {
    pub post: &'a PostView,
    pub state: String,
    pub state_label: &'static str,
    pub title: Option<String>,
    pub progress: Option<String>,
    pub username: Option<String>,
    pub private_without_id: bool,
    pub failure: Option<String>,
    /// Which buttons the post has now.
    pub actions: PostActions,
    /// The session's CSRF token, for the buttons' forms.
    pub csrf: String,
}

#[derive(Template)]
#[template(path = "post_status.html")]
pub struct PostStatus<'a> {
    pub site: Site<'a>,
    pub post: &'a PostView,
    /// The rendered [`StatusFragment`] (escaped there).
    pub status: String,
    /// What a button did.
    pub notice: Option<String>,
    /// Why a button's request was refused.
    pub error: Option<String>,
}

/// A rendered page as an HTML answer that no cache keeps.
pub fn html(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => {
            let mut response = (status, body).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(err) => {
            tracing::error!(error = %err, "a page failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page failed to render",
            )
                .into_response()
        }
    }
}

/// TikTok's privacy levels as the Post page names them; unknown ones keep their name.
pub fn privacy_label(level: &str) -> String {
    match level {
        "PUBLIC_TO_EVERYONE" => "Everyone",
        "MUTUAL_FOLLOW_FRIENDS" => "Friends",
        "FOLLOWER_OF_CREATOR" => "Followers",
        "SELF_ONLY" => "Only me",
        other => other,
    }
    .to_owned()
}
