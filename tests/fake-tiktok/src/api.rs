//! The TikTok-facing routes: OAuth (authorize, token, revoke) and the Content Posting JSON
//! calls. Uploads live in `upload.rs`, the test control API in `control.rs`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{RawQuery, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::{Value, json};

use crate::state::{RateBucket, Reject, State, https_on_domain, log_id};
use crate::{
    AccountSeed, ChunkPlan, Endpoint, FakeSettings, MediaType, PRIVACY_LEVELS, PublishKind, Shared,
    ViolationKind,
};

const JSON_CONTENT_TYPE: &str = "application/json; charset=UTF-8";
const MAX_JSON_BODY: usize = 1024 * 1024;
const MAX_TITLE_UTF16: usize = 2200;
const LOGIN_COOKIE: &str = "fake_tiktok_login";

const POST_INFO_FIELDS: &[&str] = &[
    "title",
    "privacy_level",
    "disable_duet",
    "disable_comment",
    "disable_stitch",
    "video_cover_timestamp_ms",
    "brand_content_toggle",
    "brand_organic_toggle",
    "is_aigc",
];
const SOURCE_INFO_FIELDS: &[&str] = &["source", "video_size", "chunk_size", "total_chunk_count"];
const PULL_SOURCE_INFO_FIELDS: &[&str] = &["source", "video_url"];

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v2/auth/authorize/", get(authorize))
        .route("/v2/auth/authorize/decision", get(decision))
        .route("/v2/oauth/token/", post(token))
        .route("/v2/oauth/revoke/", post(revoke))
        .route("/v2/post/publish/creator_info/query/", post(creator_info))
        .route("/v2/post/publish/video/init/", post(direct_init))
        .route("/v2/post/publish/inbox/video/init/", post(inbox_init))
        .route("/v2/post/publish/status/fetch/", post(status_fetch))
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

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn media_type_is(value: Option<&str>, wanted: &str) -> bool {
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

fn bearer(headers: &HeaderMap) -> Option<String> {
    header_str(headers, header::AUTHORIZATION)?
        .strip_prefix("Bearer ")
        .map(|t| t.trim().to_string())
}

async fn read_body(body: Body, limit: usize) -> Option<bytes::Bytes> {
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

// ---- Content Posting JSON calls ----

pub(crate) struct JsonRoute {
    pub endpoint: Endpoint,
    pub scopes: &'static [&'static str],
    /// `None`: not rate limited (cancel: TikTok gives no limit).
    pub bucket: Option<RateBucket>,
}

pub(crate) type JsonHandler = fn(&mut State, &Shared, &str, &[u8]) -> Result<Value, Reject>;

/// The checks every Content Posting call goes through, in TikTok's order: token, headers,
/// scope, rate limit; then the endpoint's own handler, all under one lock. Downloads the
/// handler queued (PULL_FROM_URL) start once the lock is released.
pub(crate) async fn json_call(
    shared: Arc<Shared>,
    route: JsonRoute,
    headers: HeaderMap,
    body: Body,
    handler: JsonHandler,
) -> Response {
    let raw = read_body(body, MAX_JSON_BODY).await;
    let token = bearer(&headers);
    let mut state = shared.lock();
    // Even a refused call is logged against the token's owner when the token is known.
    let owner = token.as_deref().and_then(|t| state.token_owner(t));
    let result = checked_call(
        &mut state,
        &shared,
        &route,
        token.as_deref(),
        &headers,
        raw.as_deref(),
    )
    .and_then(|open_id| {
        handler(
            &mut state,
            &shared,
            &open_id,
            raw.as_deref().unwrap_or_default(),
        )
    });
    let response = match result {
        Ok(data) => envelope_ok(data),
        Err(reject) => envelope_err(&reject),
    };
    state.record_call(route.endpoint, owner, response.status().as_u16());
    drop(state);
    crate::pull::start_pending(&shared);
    response
}

/// Returns the caller's open_id once the request may reach the endpoint's handler.
fn checked_call(
    state: &mut State,
    shared: &Shared,
    route: &JsonRoute,
    token: Option<&str>,
    headers: &HeaderMap,
    raw: Option<&[u8]>,
) -> Result<String, Reject> {
    let endpoint = route.endpoint;
    let caller = token.and_then(|t| state.token_owner(t));
    if let Some(reject) = state.take_http_fault(endpoint, caller.as_deref()) {
        return Err(reject);
    }
    state.expire_token_on_call(endpoint, token);
    let open_id = state.authenticate(token)?;
    let content_type = header_str(headers, header::CONTENT_TYPE);
    if !media_type_is(content_type, "application/json") {
        state.violate(
            ViolationKind::BadContentType,
            format!("{endpoint:?} with Content-Type {content_type:?}"),
        );
        return Err(Reject::invalid_params(
            "Content-Type must be application/json; charset=UTF-8.",
        ));
    }
    state.check_scope(token, route.scopes)?;
    let limits = &shared.settings.rate_limits;
    if let Some(bucket) = route.bucket {
        let limit = match bucket {
            RateBucket::Init => limits.init_per_minute,
            RateBucket::Status => limits.status_per_minute,
            RateBucket::CreatorInfo => limits.creator_info_per_minute,
            RateBucket::ContentInit => limits.content_init_per_minute,
        };
        state.rate_check(&open_id, bucket, limit)?;
    }
    if raw.is_none() {
        state.violate(
            ViolationKind::BadRequest,
            format!("{endpoint:?}: body too large or unreadable"),
        );
        return Err(Reject::invalid_params("The request body is invalid."));
    }
    Ok(open_id)
}

async fn creator_info(
    AxState(shared): AxState<Arc<Shared>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let route = JsonRoute {
        endpoint: Endpoint::CreatorInfo,
        scopes: &["video.publish"],
        bucket: Some(RateBucket::CreatorInfo),
    };
    json_call(shared, route, headers, body, |state, _, open_id, raw| {
        if !raw.iter().all(u8::is_ascii_whitespace) {
            let body = parse_object(state, raw)?;
            check_fields(state, &body, &[], "creator_info body")?;
        }
        // A creator who cannot post now is told so with HTTP 200 and a non-`ok` code.
        if let Some(refusal) = state.cannot_post(open_id, 200) {
            return Err(refusal);
        }
        state
            .creator_info(open_id)
            .ok_or_else(Reject::token_invalid)
    })
    .await
}

async fn direct_init(
    AxState(shared): AxState<Arc<Shared>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let route = JsonRoute {
        endpoint: Endpoint::DirectInit,
        scopes: &["video.publish"],
        bucket: Some(RateBucket::Init),
    };
    json_call(
        shared,
        route,
        headers,
        body,
        |state, shared, open_id, raw| {
            let body = parse_object(state, raw)?;
            check_fields(state, &body, &["post_info", "source_info"], "body")?;
            if let Some(refusal) = state.cannot_post(open_id, 403) {
                return Err(refusal);
            }
            let Some(post_info) = body.get("post_info").and_then(Value::as_object) else {
                return Err(bad(state, "Direct Post init without a post_info object"));
            };
            check_fields(state, post_info, POST_INFO_FIELDS, "post_info")?;
            let source = source_info(state, &shared.settings, &body)?;
            check_post_info(state, open_id, post_info)?;
            let post_info = Value::Object(post_info.clone());
            create_video(
                state,
                shared,
                open_id,
                PublishKind::Direct,
                Some(post_info),
                source,
            )
        },
    )
    .await
}

async fn inbox_init(
    AxState(shared): AxState<Arc<Shared>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let route = JsonRoute {
        endpoint: Endpoint::InboxInit,
        scopes: &["video.upload"],
        bucket: Some(RateBucket::Init),
    };
    json_call(
        shared,
        route,
        headers,
        body,
        |state, shared, open_id, raw| {
            let body = parse_object(state, raw)?;
            check_fields(state, &body, &["source_info"], "body")?;
            if let Some(refusal) = state.cannot_post(open_id, 403) {
                return Err(refusal);
            }
            let source = source_info(state, &shared.settings, &body)?;
            create_video(state, shared, open_id, PublishKind::Inbox, None, source)
        },
    )
    .await
}

async fn status_fetch(
    AxState(shared): AxState<Arc<Shared>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let route = JsonRoute {
        endpoint: Endpoint::StatusFetch,
        scopes: &["video.publish", "video.upload"],
        bucket: Some(RateBucket::Status),
    };
    json_call(
        shared,
        route,
        headers,
        body,
        |state, shared, open_id, raw| {
            let body = parse_object(state, raw)?;
            check_fields(state, &body, &["publish_id"], "body")?;
            let Some(publish_id) = body.get("publish_id").and_then(Value::as_str) else {
                return Err(bad(state, "status fetch without a publish_id string"));
            };
            state.status_data(&shared.settings, open_id, publish_id)
        },
    )
    .await
}

/// Creates the post of a video init: an upload session (`upload_url` in the answer), or a
/// pull from a verified URL (no `upload_url`: "This field is only for
/// `source=FILE_UPLOAD`").
fn create_video(
    state: &mut State,
    shared: &Shared,
    open_id: &str,
    kind: PublishKind,
    post_info: Option<Value>,
    source: Source,
) -> Result<Value, Reject> {
    match source {
        Source::File(plan) => {
            let (publish_id, upload_url) =
                state.create_publish(&shared.base_url, open_id, kind, post_info, plan);
            Ok(json!({"publish_id": publish_id, "upload_url": upload_url}))
        }
        Source::Pull(url) => {
            check_media_url(state, &url)?;
            let publish_id =
                state.create_pull_publish(open_id, kind, post_info, MediaType::Video, vec![url]);
            Ok(json!({ "publish_id": publish_id }))
        }
    }
}

/// A PULL_FROM_URL URL must be https, on a domain name, and under a domain or URL prefix
/// the app verified; else 403 `url_ownership_unverified`. Only a URL TikTok could never
/// take (not https, an IP address) is the client's violation: which domains the app
/// verified is configuration the client cannot see.
pub(crate) fn check_media_url(state: &mut State, raw: &str) -> Result<(), Reject> {
    let unverified = || {
        Reject::new(
            403,
            "url_ownership_unverified",
            "To use PULL_FROM_URL as the media transfer method, developer must verify the ownership of the URL prefix or domain.",
        )
    };
    match https_on_domain(raw) {
        Ok(url) if state.url_owned(&url) => Ok(()),
        Ok(_) => Err(unverified()),
        Err(why) => {
            state.violate(ViolationKind::BadMediaUrl, why);
            Err(unverified())
        }
    }
}

// ---- body validation ----

pub(crate) type Object = serde_json::Map<String, Value>;

/// How a video init's media arrives.
enum Source {
    File(ChunkPlan),
    Pull(String),
}

pub(crate) fn bad(state: &mut State, detail: impl Into<String>) -> Reject {
    let detail = detail.into();
    state.violate(ViolationKind::BadRequest, detail.clone());
    Reject::invalid_params(detail)
}

pub(crate) fn parse_object(state: &mut State, raw: &[u8]) -> Result<Object, Reject> {
    match serde_json::from_slice::<Value>(raw) {
        Ok(Value::Object(object)) => Ok(object),
        _ => Err(bad(state, "the body is not a JSON object")),
    }
}

/// TikTok refuses parameters it does not know.
pub(crate) fn check_fields(
    state: &mut State,
    object: &Object,
    known: &[&str],
    place: &str,
) -> Result<(), Reject> {
    match object.keys().find(|k| !known.contains(&k.as_str())) {
        None => Ok(()),
        Some(unknown) => {
            state.violate(
                ViolationKind::UnknownField,
                format!("unknown field {unknown:?} in {place}"),
            );
            Err(Reject::invalid_params(format!(
                "Invalid parameter: {unknown}"
            )))
        }
    }
}

fn source_info(
    state: &mut State,
    settings: &FakeSettings,
    body: &Object,
) -> Result<Source, Reject> {
    let Some(source) = body.get("source_info").and_then(Value::as_object) else {
        return Err(bad(state, "init without a source_info object"));
    };
    match source.get("source").and_then(Value::as_str) {
        Some("FILE_UPLOAD") => chunk_plan(state, settings, source).map(Source::File),
        Some("PULL_FROM_URL") => {
            check_fields(state, source, PULL_SOURCE_INFO_FIELDS, "source_info")?;
            match source.get("video_url").and_then(Value::as_str) {
                Some(url) => Ok(Source::Pull(url.to_owned())),
                None => Err(bad(state, "PULL_FROM_URL without a video_url string")),
            }
        }
        _ => Err(bad(
            state,
            "source_info.source is neither FILE_UPLOAD nor PULL_FROM_URL",
        )),
    }
}

fn chunk_plan(
    state: &mut State,
    settings: &FakeSettings,
    source: &Object,
) -> Result<ChunkPlan, Reject> {
    check_fields(state, source, SOURCE_INFO_FIELDS, "source_info")?;
    let number = |name: &str| source.get(name).and_then(Value::as_u64);
    let (Some(video_size), Some(chunk_size), Some(total_chunk_count)) = (
        number("video_size"),
        number("chunk_size"),
        number("total_chunk_count"),
    ) else {
        return Err(bad(
            state,
            "source_info needs non-negative integers video_size, chunk_size, total_chunk_count",
        ));
    };
    let plan = ChunkPlan {
        video_size,
        chunk_size,
        total_chunk_count,
    };
    if let Err(why) = plan.validate(settings.max_video_size, settings.max_last_chunk_size) {
        state.violate(ViolationKind::WrongChunkPlan, why);
        return Err(Reject::invalid_params("The chunk size is invalid"));
    }
    Ok(plan)
}

fn check_post_info(state: &mut State, open_id: &str, post: &Object) -> Result<(), Reject> {
    for name in [
        "disable_duet",
        "disable_comment",
        "disable_stitch",
        "brand_content_toggle",
        "brand_organic_toggle",
        "is_aigc",
    ] {
        if post.get(name).is_some_and(|v| !v.is_boolean()) {
            return Err(bad(state, format!("post_info.{name} is not a boolean")));
        }
    }
    if post
        .get("video_cover_timestamp_ms")
        .is_some_and(|v| v.as_u64().is_none())
    {
        return Err(bad(
            state,
            "post_info.video_cover_timestamp_ms is not a non-negative integer",
        ));
    }
    let title = match post.get("title") {
        None => "",
        Some(Value::String(title)) => title.as_str(),
        Some(_) => return Err(bad(state, "post_info.title is not a string")),
    };
    let units = title.encode_utf16().count();
    if units > MAX_TITLE_UTF16 {
        state.violate(
            ViolationKind::TitleTooLong,
            format!("title of {units} UTF-16 code units, over {MAX_TITLE_UTF16}"),
        );
        return Err(Reject::invalid_params("The title is too long."));
    }
    let (privacy, seed) = check_privacy(state, open_id, post)?;
    check_switches(
        state,
        post,
        &[
            (seed.comment_disabled, "disable_comment"),
            (seed.duet_disabled, "disable_duet"),
            (seed.stitch_disabled, "disable_stitch"),
        ],
    )?;
    check_branded(state, post, &privacy)
}

/// `privacy_level` must be one of the creator's `privacy_level_options`. Returns it with
/// the creator's settings.
pub(crate) fn check_privacy(
    state: &mut State,
    open_id: &str,
    post: &Object,
) -> Result<(String, AccountSeed), Reject> {
    let Some(privacy) = post.get("privacy_level").and_then(Value::as_str) else {
        return Err(bad(
            state,
            "post_info.privacy_level is missing or not a string",
        ));
    };
    if !PRIVACY_LEVELS.contains(&privacy) {
        return Err(bad(
            state,
            format!("privacy_level {privacy:?} does not exist"),
        ));
    }
    let Some(seed) = state.account_seed(open_id).cloned() else {
        return Err(Reject::token_invalid());
    };
    if !seed.privacy_level_options.iter().any(|o| o == privacy) {
        state.violate(
            ViolationKind::PrivacyLevelNotOffered,
            format!("privacy_level {privacy} is not in the creator's privacy_level_options"),
        );
        return Err(Reject::new(
            400,
            "privacy_level_option_mismatch",
            "privacy_level is not one of the creator's privacy_level_options.",
        ));
    }
    Ok((privacy.to_owned(), seed))
}

fn flag(post: &Object, name: &str) -> bool {
    post.get(name).and_then(Value::as_bool).unwrap_or(false)
}

/// An interaction the creator turned off must be turned off on the post too.
pub(crate) fn check_switches(
    state: &mut State,
    post: &Object,
    switches: &[(bool, &str)],
) -> Result<(), Reject> {
    for &(disabled, field) in switches {
        if disabled && !flag(post, field) {
            state.violate(
                ViolationKind::CreatorSwitchOverridden,
                format!("the creator turned this off but the post does not set {field}=true"),
            );
            return Err(Reject::invalid_params(format!(
                "{field} must be true: the creator has disabled it."
            )));
        }
    }
    Ok(())
}

/// Branded content cannot be private.
pub(crate) fn check_branded(state: &mut State, post: &Object, privacy: &str) -> Result<(), Reject> {
    if flag(post, "brand_content_toggle") && privacy == "SELF_ONLY" {
        return Err(bad(state, "branded content cannot be SELF_ONLY"));
    }
    Ok(())
}
