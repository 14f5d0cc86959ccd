//! The TikTok-facing routes and their answers, and OAuth (authorize, token, revoke). The
//! Content Posting JSON calls live in `posting.rs` (photos and cancel in `photo.rs`), uploads
//! in `upload.rs`, the test control API in `control.rs`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{RawQuery, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::{Value, json};

use crate::state::{Reject, State, log_id};
use crate::{Endpoint, FakeSettings, Shared, ViolationKind};

const JSON_CONTENT_TYPE: &str = "application/json; charset=UTF-8";
pub(crate) const MAX_JSON_BODY: usize = 1024 * 1024;
const LOGIN_COOKIE: &str = "fake_tiktok_login";

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v2/auth/authorize/", get(authorize))
        .route("/v2/auth/authorize/decision", get(decision))
        .route("/v2/oauth/token/", post(token))
        .route("/v2/oauth/revoke/", post(revoke))
        .route(
            "/v2/post/publish/creator_info/query/",
            post(crate::posting::creator_info),
        )
        .route(
            "/v2/post/publish/video/init/",
            post(crate::posting::direct_init),
        )
        .route(
            "/v2/post/publish/inbox/video/init/",
            post(crate::posting::inbox_init),
        )
        .route(
            "/v2/post/publish/status/fetch/",
            post(crate::posting::status_fetch),
        )
        .route(
            "/v2/post/publish/content/init/",
            post(crate::photo::content_init),
        )
        .route("/v2/post/publish/cancel/", post(crate::photo::cancel))
        .route("/upload/", put(crate::upload::put_chunk))
        .route("/v2/user/info/", get(crate::user::user_info))
        .merge(crate::control::router())
        .fallback(unknown_route)
        .with_state(shared)
}

// ---- answers ----

fn with_json(status: u16, body: &Value, log_id: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    if let Ok(value) = HeaderValue::from_str(log_id) {
        headers.insert("x-tt-logid", value);
    }
    response
}

/// Success in the Content Posting envelope; `Value::Null` leaves `data` out (cancel's
/// answer is the `error` object alone).
pub(crate) fn envelope_ok(data: Value) -> Response {
    let log_id = log_id();
    let mut body = json!({"error": {"code": "ok", "message": "", "log_id": log_id}});
    if !data.is_null() {
        body["data"] = data;
    }
    with_json(200, &body, &log_id)
}

/// Refusal in the Content Posting envelope.
pub(crate) fn envelope_err(reject: &Reject) -> Response {
    let log_id = log_id();
    let body = json!({
        "data": {},
        "error": {"code": reject.code, "message": reject.message, "log_id": log_id},
    });
    with_json(reject.status, &body, &log_id)
}

/// Refusal in the OAuth shape (top-level fields).
fn oauth_err(reject: &Reject) -> Response {
    let log_id = log_id();
    let body = json!({
        "error": reject.code,
        "error_description": reject.message,
        "log_id": log_id,
    });
    with_json(reject.status, &body, &log_id)
}

fn finish(
    shared: &Shared,
    endpoint: Endpoint,
    open_id: Option<String>,
    response: Response,
) -> Response {
    shared
        .lock()
        .record_call(endpoint, open_id, response.status().as_u16());
    response
}

async fn unknown_route(AxState(shared): AxState<Arc<Shared>>, uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/v2/") {
        shared.lock().violate(
            ViolationKind::BadRequest,
            format!("no such TikTok endpoint: {}", uri.path()),
        );
    }
    envelope_err(&Reject::new(404, "not_found", "Not found."))
}

// ---- request helpers ----

/// First value of each parameter of a form-encoded string.
fn form_params(raw: &[u8]) -> HashMap<String, String> {
    let mut params = HashMap::new();
    for (key, value) in url::form_urlencoded::parse(raw) {
        params.entry(key.into_owned()).or_insert(value.into_owned());
    }
    params
}

pub(crate) fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub(crate) fn media_type_is(value: Option<&str>, wanted: &str) -> bool {
    let Some(value) = value else { return false };
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case(wanted) {
        return false;
    }
    parts.all(|param| {
        let (name, val) = param.split_once('=').unwrap_or((param, ""));
        !name.trim().eq_ignore_ascii_case("charset")
            || val.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
    })
}

pub(crate) fn bearer(headers: &HeaderMap) -> Option<String> {
    header_str(headers, header::AUTHORIZATION)?
        .strip_prefix("Bearer ")
        .map(|t| t.trim().to_string())
}

pub(crate) async fn read_body(body: Body, limit: usize) -> Option<bytes::Bytes> {
    axum::body::to_bytes(body, limit).await.ok()
}

// ---- OAuth: authorize ----

struct AuthorizeRequest {
    redirect_uri: String,
    scopes: Vec<String>,
    state: Option<String>,
    raw: HashMap<String, String>,
}

fn parse_authorize(
    state: &mut State,
    settings: &FakeSettings,
    params: HashMap<String, String>,
) -> Result<AuthorizeRequest, String> {
    let client_key = params
        .get("client_key")
        .map(String::as_str)
        .unwrap_or_default();
    if client_key != settings.client_key {
        return Err(format!("unknown client_key {client_key:?}"));
    }
    if params.get("response_type").map(String::as_str) != Some("code") {
        return Err("response_type must be code".into());
    }
    let redirect_uri = params.get("redirect_uri").cloned().unwrap_or_default();
    let allowed = if settings.allowed_redirect_uris.is_empty() {
        url::Url::parse(&redirect_uri).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
    } else {
        settings.allowed_redirect_uris.contains(&redirect_uri)
    };
    if !allowed {
        return Err(format!("redirect_uri {redirect_uri:?} is not registered"));
    }
    let scope = params.get("scope").cloned().unwrap_or_default();
    let scopes: Vec<String> = scope.split(',').map(str::to_string).collect();
    let well_formed = |s: &String| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '_')
    };
    if !scopes.iter().all(well_formed) {
        return Err(format!(
            "scope {scope:?} is not a comma-separated list of scopes"
        ));
    }
    let csrf = params.get("state").cloned().filter(|s| !s.is_empty());
    if csrf.is_none() {
        state.violate(
            ViolationKind::BadRequest,
            "authorize request without state (CSRF token)",
        );
    }
    Ok(AuthorizeRequest {
        redirect_uri,
        scopes,
        state: csrf,
        raw: params,
    })
}

fn login_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == LOGIN_COOKIE)
        .map(|(_, value)| value.to_string())
}

fn redirect_to(redirect_uri: &str, pairs: &[(&str, &str)]) -> Response {
    let Ok(mut url) = url::Url::parse(redirect_uri) else {
        return (StatusCode::BAD_REQUEST, "invalid redirect_uri").into_response();
    };
    {
        let mut query = url.query_pairs_mut();
        for (key, value) in pairs {
            query.append_pair(key, value);
        }
    }
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(location) = HeaderValue::from_str(url.as_str()) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// The user clicked Authorize: the cookie's account, or a brand-new one.
fn approve(shared: &Shared, headers: &HeaderMap, request: &AuthorizeRequest) -> (String, Response) {
    let mut state = shared.lock();
    let open_id = match login_cookie(headers) {
        Some(open_id) if state.has_account(&open_id) => open_id,
        _ => state.seed_account(crate::AccountSeed::default()),
    };
    let code = state.mint_code(
        &shared.settings,
        &open_id,
        request.scopes.clone(),
        &request.redirect_uri,
    );
    drop(state);
    let scopes = request.scopes.join(",");
    let mut pairs = vec![("code", code.as_str()), ("scopes", scopes.as_str())];
    if let Some(csrf) = &request.state {
        pairs.push(("state", csrf));
    }
    (open_id, redirect_to(&request.redirect_uri, &pairs))
}

fn deny(request: &AuthorizeRequest) -> Response {
    let mut pairs = vec![
        ("error", "access_denied"),
        (
            "error_description",
            "The user denied the authorization request.",
        ),
    ];
    if let Some(csrf) = &request.state {
        pairs.push(("state", csrf));
    }
    redirect_to(&request.redirect_uri, &pairs)
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn consent_page(settings: &FakeSettings, request: &AuthorizeRequest) -> Response {
    let mut hidden = String::new();
    let mut params: Vec<(&String, &String)> = request.raw.iter().collect();
    params.sort();
    for (name, value) in params {
        hidden.push_str(&format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
            html_escape(name),
            html_escape(value),
        ));
    }
    let scopes: String = request
        .scopes
        .iter()
        .map(|s| format!("<li>{}</li>", html_escape(s)))
        .collect();
    let page = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Authorize {app}</title></head>\n\
         <body><h1>{app} would like to access your TikTok account</h1>\n<ul>{scopes}</ul>\n\
         <form method=\"get\" action=\"/v2/auth/authorize/decision\">\n{hidden}\
         <button type=\"submit\" name=\"decision\" value=\"authorize\">Authorize</button>\n\
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\n\
         </form></body></html>\n",
        app = html_escape(&settings.app_name),
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
}

fn authorize_refused(detail: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("This authorization request is invalid: {detail}\n"),
    )
        .into_response()
}

async fn authorize(
    AxState(shared): AxState<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = form_params(query.unwrap_or_default().as_bytes());
    let fault = shared.lock().take_http_fault(Endpoint::Authorize, None);
    if let Some(reject) = fault {
        return finish(&shared, Endpoint::Authorize, None, envelope_err(&reject));
    }
    let parsed = {
        let mut state = shared.lock();
        let parsed = parse_authorize(&mut state, &shared.settings, params);
        if let Err(detail) = &parsed {
            state.violate(ViolationKind::BadRequest, format!("authorize: {detail}"));
        }
        parsed
    };
    let request = match parsed {
        Ok(request) => request,
        Err(detail) => {
            return finish(
                &shared,
                Endpoint::Authorize,
                None,
                authorize_refused(detail),
            );
        }
    };
    let wants_html = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/html"));
    if wants_html {
        let page = consent_page(&shared.settings, &request);
        return finish(&shared, Endpoint::Authorize, None, page);
    }
    let (open_id, response) = approve(&shared, &headers, &request);
    finish(&shared, Endpoint::Authorize, Some(open_id), response)
}

/// The consent page's form: the original authorize params plus `decision`.
async fn decision(
    AxState(shared): AxState<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let mut params = form_params(query.unwrap_or_default().as_bytes());
    let choice = params.remove("decision").unwrap_or_default();
    let parsed = {
        let mut state = shared.lock();
        let parsed = parse_authorize(&mut state, &shared.settings, params);
        if let Err(detail) = &parsed {
            state.violate(ViolationKind::BadRequest, format!("authorize: {detail}"));
        }
        parsed
    };
    let request = match parsed {
        Ok(request) => request,
        Err(detail) => {
            return finish(
                &shared,
                Endpoint::Authorize,
                None,
                authorize_refused(detail),
            );
        }
    };
    if choice == "authorize" {
        let (open_id, response) = approve(&shared, &headers, &request);
        finish(&shared, Endpoint::Authorize, Some(open_id), response)
    } else {
        finish(&shared, Endpoint::Authorize, None, deny(&request))
    }
}

// ---- OAuth: token and revoke ----

/// Checks the form Content-Type and client credentials shared by token and revoke.
async fn oauth_form(
    shared: &Shared,
    endpoint: Endpoint,
    headers: &HeaderMap,
    body: Body,
) -> Result<HashMap<String, String>, Reject> {
    if let Some(reject) = shared.lock().take_http_fault(endpoint, None) {
        return Err(reject);
    }
    let content_type = header_str(headers, header::CONTENT_TYPE);
    if !media_type_is(content_type, "application/x-www-form-urlencoded") {
        shared.lock().violate(
            ViolationKind::BadContentType,
            format!("{endpoint:?} with Content-Type {content_type:?}, not form-encoded"),
        );
        return Err(Reject::new(
            400,
            "invalid_request",
            "Content-Type must be application/x-www-form-urlencoded.",
        ));
    }
    let Some(raw) = read_body(body, MAX_JSON_BODY).await else {
        shared.lock().violate(
            ViolationKind::BadRequest,
            format!("{endpoint:?}: unreadable body"),
        );
        return Err(Reject::new(
            400,
            "invalid_request",
            "The request body is invalid.",
        ));
    };
    let params = form_params(&raw);
    let settings = &shared.settings;
    let mut state = shared.lock();
    let client_key = params.get("client_key").map(String::as_str);
    let client_secret = params.get("client_secret").map(String::as_str);
    if client_key.is_none() || client_secret.is_none() {
        state.violate(
            ViolationKind::BadRequest,
            format!("{endpoint:?} without client_key or client_secret"),
        );
        return Err(Reject::new(
            400,
            "invalid_request",
            "client_key and client_secret are required.",
        ));
    }
    if client_key != Some(settings.client_key.as_str())
        || client_secret != Some(settings.client_secret.as_str())
    {
        state.violate(
            ViolationKind::BadRequest,
            format!("{endpoint:?} with a wrong client_key or client_secret"),
        );
        return Err(Reject::new(
            401,
            "invalid_client",
            "Client key or secret is invalid.",
        ));
    }
    Ok(params)
}

fn required<'a>(
    state: &mut State,
    params: &'a HashMap<String, String>,
    name: &str,
) -> Result<&'a str, Reject> {
    match params.get(name).map(String::as_str) {
        Some(value) if !value.is_empty() => Ok(value),
        _ => {
            state.violate(
                ViolationKind::BadRequest,
                format!("token request without {name}"),
            );
            Err(Reject::new(
                400,
                "invalid_request",
                format!("{name} is required."),
            ))
        }
    }
}

async fn token(AxState(shared): AxState<Arc<Shared>>, headers: HeaderMap, body: Body) -> Response {
    let params = match oauth_form(&shared, Endpoint::Token, &headers, body).await {
        Ok(params) => params,
        Err(reject) => return finish(&shared, Endpoint::Token, None, oauth_err(&reject)),
    };
    let issued = {
        let settings = &shared.settings;
        let mut state = shared.lock();
        match params.get("grant_type").map(String::as_str) {
            Some("authorization_code") => required(&mut state, &params, "code")
                .and_then(|code| Ok((code, required(&mut state, &params, "redirect_uri")?)))
                .and_then(|(code, redirect_uri)| {
                    state.redeem_code(settings, code, &settings.client_key, redirect_uri)
                }),
            Some("refresh_token") => required(&mut state, &params, "refresh_token")
                .and_then(|refresh_token| state.refresh(settings, refresh_token)),
            other => {
                state.violate(
                    ViolationKind::BadRequest,
                    format!("unsupported grant_type {other:?}"),
                );
                Err(Reject::new(
                    400,
                    "unsupported_grant_type",
                    "The grant type is not supported.",
                ))
            }
        }
    };
    match issued {
        Ok(tokens) => {
            let open_id = tokens.open_id.clone();
            let body = json!({
                "access_token": tokens.access_token,
                "expires_in": tokens.expires_in,
                "open_id": tokens.open_id,
                "refresh_token": tokens.refresh_token,
                "refresh_expires_in": tokens.refresh_expires_in,
                "scope": tokens.scope,
                "token_type": "Bearer",
            });
            let response = with_json(200, &body, &log_id());
            finish(&shared, Endpoint::Token, Some(open_id), response)
        }
        Err(reject) => finish(&shared, Endpoint::Token, None, oauth_err(&reject)),
    }
}

async fn revoke(AxState(shared): AxState<Arc<Shared>>, headers: HeaderMap, body: Body) -> Response {
    let params = match oauth_form(&shared, Endpoint::Revoke, &headers, body).await {
        Ok(params) => params,
        Err(reject) => return finish(&shared, Endpoint::Revoke, None, oauth_err(&reject)),
    };
    let revoked = {
        let mut state = shared.lock();
        required(&mut state, &params, "token").map(|token| state.revoke(token))
    };
    if let Ok(Some(open_id)) = &revoked {
        crate::webhook::authorization_removed(&shared, open_id.clone());
    }
    match revoked {
        // Revoking an unknown or already revoked token is not an error at TikTok either.
        Ok(open_id) => finish(
            &shared,
            Endpoint::Revoke,
            open_id,
            with_json(200, &json!({}), &log_id()),
        ),
        Err(reject) => finish(&shared, Endpoint::Revoke, None, oauth_err(&reject)),
    }
}
