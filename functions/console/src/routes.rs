//! The console's routes, those of the deployed HTTP API (infra/template.yaml) and of the
//! local stack's router table (the root Cargo.toml), with the headers every answer
//! carries and the compression of what it sends.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use tower_http::compression::CompressionLayer;

use crate::app::Console;
use crate::pages::{self, html};
use crate::signin::{self, SignedIn};
use crate::site::Site;
use crate::{accounts, assets, forgot, posting, posts, security};

pub fn router(console: Console) -> Router {
    Router::new()
        .route("/about", get(landing))
        .route("/terms", get(terms))
        .route("/privacy", get(privacy))
        .route("/console", get(home))
        .route(
            "/console/sign-in",
            get(signin::sign_in_page).post(signin::sign_in),
        )
        .route("/console/new-password", post(signin::new_password))
        .route("/console/mfa", post(signin::mfa))
        .route("/console/sign-out", post(signin::sign_out))
        .route(
            "/console/forgot-password",
            get(forgot::page).post(forgot::send_code),
        )
        .route("/console/reset-password", post(forgot::reset))
        .route("/console/security", get(security::page))
        .route("/console/security/totp", post(security::start))
        .route("/console/security/totp/verify", post(security::verify))
        .route("/console/accounts", get(accounts::page))
        .route("/console/accounts/connect", post(accounts::connect))
        .route(
            "/console/accounts/{open_id}/disconnect",
            post(accounts::disconnect),
        )
        .route("/console/post", get(posting::page))
        .route("/console/uploads/sign", post(posting::sign_upload))
        .route("/console/posts", get(posts::list).post(posting::create))
        .route("/console/posts/{id}", get(posts::detail))
        .route("/console/posts/{id}/retry", post(posts::retry))
        .route("/console/posts/{id}/cancel", post(posts::cancel))
        .route("/console/posts/{id}/status", get(posts::status))
        .route("/console/assets/{file}", get(assets::serve))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            console.clone(),
            security_headers,
        ))
        .layer(CompressionLayer::new())
        .with_state(console)
}

/// What every answer carries: no framing, no sniffing, no referrer to other sites, and the
/// console's Content-Security-Policy.
async fn security_headers(
    State(console): State<Console>,
    request: axum::extract::Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        console.content_security_policy.clone(),
    );
    response
}

async fn landing(State(console): State<Console>) -> Response {
    html(
        StatusCode::OK,
        &pages::Landing {
            site: Site::public(&console.site),
        },
    )
}

async fn terms(State(console): State<Console>) -> Response {
    html(
        StatusCode::OK,
        &pages::Terms {
            site: Site::public(&console.site),
        },
    )
}

async fn privacy(State(console): State<Console>) -> Response {
    html(
        StatusCode::OK,
        &pages::Privacy {
            site: Site::public(&console.site),
        },
    )
}

async fn home(_signed_in: SignedIn) -> Redirect {
    Redirect::to("/console/post")
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "There is no such page.").into_response()
}
