//! `/__fake/...`: the test-control API for out-of-process use (the local stack), thin JSON
//! wrappers over the same functions as the Rust API. Calls here are not recorded.

use std::sync::Arc;

use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::{AccountSeed, Fault, Shared};

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/__fake/accounts", post(seed_account))
        .route("/__fake/accounts/{open_id}", get(account))
        .route("/__fake/accounts/{open_id}/publishes", get(publishes_for))
        .route("/__fake/violations", get(violations))
        .route("/__fake/calls", get(calls))
        .route("/__fake/faults", post(inject))
        .route("/__fake/publishes/{publish_id}", get(publish))
        .route("/__fake/codes", post(mint_code))
        .route("/__fake/tokens", post(issue_tokens))
        .route("/__fake/webhook", post(set_webhook_url))
        .route("/__fake/webhooks", get(webhook_deliveries))
        .route("/__fake/secrets", get(secrets))
        .route(
            "/__fake/verified",
            get(verified).post(verify).put(replace_verified),
        )
        .route("/__fake/publishes/{publish_id}/pulled", get(pulled))
}

#[derive(Deserialize, serde::Serialize)]
struct Verified {
    #[serde(default)]
    domains: Vec<String>,
    #[serde(default)]
    url_prefixes: Vec<String>,
}

/// The domains and URL prefixes the app has verified (PULL_FROM_URL).
async fn verified(AxState(shared): AxState<Arc<Shared>>) -> Response {
    let (domains, url_prefixes) = shared.lock().verified();
    Json(Verified {
        domains,
        url_prefixes,
    })
    .into_response()
}

/// `{"domains": [...], "url_prefixes": [...]}`: verified from now on, added to the rest.
/// 400 (and nothing added) when one is not a domain or not TikTok's prefix form.
async fn verify(AxState(shared): AxState<Arc<Shared>>, Json(request): Json<Verified>) -> Response {
    let mut state = shared.lock();
    let (domains, prefixes) = state.verified();
    let added = request
        .domains
        .iter()
        .try_for_each(|d| state.verify_domain(d))
        .and_then(|()| {
            request
                .url_prefixes
                .iter()
                .try_for_each(|p| state.verify_url_prefix(p))
        });
    match added {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(why) => {
            state.set_verified(domains, prefixes);
            (StatusCode::BAD_REQUEST, why).into_response()
        }
    }
}

/// `{"domains": [...], "url_prefixes": [...]}`: exactly these are verified from now on (an
/// empty list un-verifies everything, as removing them in TikTok's portal would). 400 (and
/// nothing changed) when one is not a domain or not TikTok's prefix form.
async fn replace_verified(
    AxState(shared): AxState<Arc<Shared>>,
    Json(request): Json<Verified>,
) -> Response {
    let mut state = shared.lock();
    let (domains, prefixes) = state.verified();
    state.set_verified(Vec::new(), Vec::new());
    let replaced = request
        .domains
        .iter()
        .try_for_each(|d| state.verify_domain(d))
        .and_then(|()| {
            request
                .url_prefixes
                .iter()
                .try_for_each(|p| state.verify_url_prefix(p))
        });
    match replaced {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(why) => {
            state.set_verified(domains, prefixes);
            (StatusCode::BAD_REQUEST, why).into_response()
        }
    }
}

/// What the fake downloaded for a PULL_FROM_URL post (`FakeTikTok::pulled`).
async fn pulled(AxState(shared): AxState<Arc<Shared>>, Path(publish_id): Path<String>) -> Response {
    match shared
        .lock()
        .publish_snapshot(&shared.settings, &publish_id)
    {
        Some(snapshot) => Json(snapshot.pulled).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Every secret the fake issued (codes, tokens, upload URLs and tokens, the client secret),
/// for leak tests (see `FakeTikTok::secrets_issued`).
async fn secrets(AxState(shared): AxState<Arc<Shared>>) -> Response {
    let mut all = vec![shared.settings.client_secret.clone()];
    all.extend(shared.lock().secrets.iter().cloned());
    Json(all).into_response()
}

async fn seed_account(
    AxState(shared): AxState<Arc<Shared>>,
    Json(seed): Json<AccountSeed>,
) -> Response {
    let open_id = shared.lock().seed_account(seed);
    Json(json!({ "open_id": open_id })).into_response()
}

async fn account(AxState(shared): AxState<Arc<Shared>>, Path(open_id): Path<String>) -> Response {
    match shared.lock().account_snapshot(&open_id) {
        Some(snapshot) => Json(snapshot).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Every publish of the account, oldest first (an unknown account has none).
async fn publishes_for(
    AxState(shared): AxState<Arc<Shared>>,
    Path(open_id): Path<String>,
) -> Response {
    Json(shared.lock().publishes_for(&shared.settings, &open_id)).into_response()
}

async fn violations(AxState(shared): AxState<Arc<Shared>>) -> Response {
    Json(shared.lock().violations.clone()).into_response()
}

async fn calls(AxState(shared): AxState<Arc<Shared>>) -> Response {
    Json(shared.lock().calls.clone()).into_response()
}

async fn inject(AxState(shared): AxState<Arc<Shared>>, Json(fault): Json<Fault>) -> Response {
    shared.lock().inject(fault);
    StatusCode::NO_CONTENT.into_response()
}

async fn publish(
    AxState(shared): AxState<Arc<Shared>>,
    Path(publish_id): Path<String>,
) -> Response {
    match shared
        .lock()
        .publish_snapshot(&shared.settings, &publish_id)
    {
        Some(snapshot) => Json(snapshot).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[derive(Deserialize)]
struct CodeRequest {
    open_id: String,
    scopes: Vec<String>,
    redirect_uri: String,
}

async fn mint_code(
    AxState(shared): AxState<Arc<Shared>>,
    Json(request): Json<CodeRequest>,
) -> Response {
    let code = shared.lock().mint_code(
        &shared.settings,
        &request.open_id,
        request.scopes,
        &request.redirect_uri,
    );
    Json(json!({ "code": code })).into_response()
}

#[derive(Deserialize)]
struct TokenRequest {
    open_id: String,
    scopes: Vec<String>,
}

async fn issue_tokens(
    AxState(shared): AxState<Arc<Shared>>,
    Json(request): Json<TokenRequest>,
) -> Response {
    let tokens = shared
        .lock()
        .grant(&shared.settings, &request.open_id, request.scopes);
    Json(tokens).into_response()
}

#[derive(Deserialize)]
struct WebhookTarget {
    /// `null` stops delivery.
    url: Option<String>,
}

/// `{"url": "http://..."}`: where webhook events go from now on.
async fn set_webhook_url(
    AxState(shared): AxState<Arc<Shared>>,
    Json(target): Json<WebhookTarget>,
) -> Response {
    if let Some(url) = &target.url
        && url::Url::parse(url).is_err()
    {
        return (StatusCode::BAD_REQUEST, format!("{url:?} is not a URL")).into_response();
    }
    shared.lock().webhook_url = target.url;
    StatusCode::NO_CONTENT.into_response()
}

async fn webhook_deliveries(AxState(shared): AxState<Arc<Shared>>) -> Response {
    Json(shared.lock().webhook_deliveries.clone()).into_response()
}
