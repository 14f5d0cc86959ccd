//! Routing on method and path, and the JSON replies.
//!
//! The path is the one the handler sees: API Gateway's `rawPath` (`/posts/ID`), or what
//! `cargo lambda watch` leaves after stripping its `/lambda-url/posts-api` prefix. A
//! missing leading slash, a trailing slash and a left-over prefix are all tolerated.
//! Path parameters, when API Gateway (or watch's router) supplies them, are preferred to
//! our own decoding of the segment.

use std::convert::Infallible;

use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
use lambda_http::http::{HeaderValue, Method, StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use tiktok_publish_core::api::{ApiAnswer, ApiError, IdempotencyKey, PostsApi};

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    CreatePost,
    GetPost(String),
    CancelPost(String),
    RetryPost(String),
    ListAccounts,
    DisconnectAccount(String),
    ConnectLink,
    CreatorInfo(String),
}

/// Why a request has no route.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// No route has this path.
    #[error("no route for {method} /{path}")]
    NotFound { method: Method, path: String },
    /// The path has routes, none for this method: `allowed` are its methods.
    #[error("{method} is not allowed here; use {}", joined(allowed, " or "))]
    MethodNotAllowed {
        method: Method,
        allowed: &'static [Method],
    },
}

impl RouteError {
    pub fn status(&self) -> u16 {
        match self {
            RouteError::NotFound { .. } => 404,
            RouteError::MethodNotAllowed { .. } => 405,
        }
    }

    /// The `Allow` header a 405 carries: the path's methods.
    pub fn allow(&self) -> Option<String> {
        match self {
            RouteError::NotFound { .. } => None,
            RouteError::MethodNotAllowed { allowed, .. } => Some(joined(allowed, ", ")),
        }
    }

    /// The answer: the API's error shape, and the `Allow` header of a 405.
    pub fn answer(&self) -> ApiAnswer {
        let code = match self {
            RouteError::NotFound { .. } => "route_not_found",
            RouteError::MethodNotAllowed { .. } => "method_not_allowed",
        };
        let answer = ApiError::new(self.status(), code, self.to_string()).answer();
        match self.allow() {
            Some(allow) => answer.with_header("allow", allow),
            None => answer,
        }
    }
}

fn joined(methods: &[Method], separator: &str) -> String {
    let names: Vec<&str> = methods.iter().map(Method::as_str).collect();
    names.join(separator)
}

const GET: &[Method] = &[Method::GET];
const POST: &[Method] = &[Method::POST];
const DELETE: &[Method] = &[Method::DELETE];
const GET_DELETE: &[Method] = &[Method::GET, Method::DELETE];

/// The route of `method` on `path`, or why there is none (404, or 405 with the methods
/// the path has).
pub fn route(method: &Method, path: &str, param: Option<&str>) -> Result<Route, RouteError> {
    let mut segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if segments.len() >= 2 && segments[0] == "lambda-url" && segments[1] == "posts-api" {
        segments.drain(..2);
    }
    let id = |segment: &str| param.map_or_else(|| percent_decode(segment), str::to_owned);
    let (allowed, found): (&'static [Method], Option<Route>) = match segments.as_slice() {
        ["posts"] => (POST, (method == Method::POST).then_some(Route::CreatePost)),
        ["posts", post] => (
            GET_DELETE,
            match *method {
                Method::GET => Some(Route::GetPost(id(post))),
                Method::DELETE => Some(Route::CancelPost(id(post))),
                _ => None,
            },
        ),
        ["posts", post, "retry"] => (
            POST,
            (method == Method::POST).then(|| Route::RetryPost(id(post))),
        ),
        ["accounts"] => (GET, (method == Method::GET).then_some(Route::ListAccounts)),
        // A static segment wins over the parameter, as in API Gateway.
        ["accounts", "connect-link"] => {
            (POST, (method == Method::POST).then_some(Route::ConnectLink))
        }
        ["accounts", open_id] => (
            DELETE,
            (method == Method::DELETE).then(|| Route::DisconnectAccount(id(open_id))),
        ),
        ["accounts", open_id, "creator-info"] => (
            GET,
            (method == Method::GET).then(|| Route::CreatorInfo(id(open_id))),
        ),
        _ => {
            return Err(RouteError::NotFound {
                method: method.clone(),
                path: segments.join("/"),
            });
        }
    };
    found.ok_or_else(|| RouteError::MethodNotAllowed {
        method: method.clone(),
        allowed,
    })
}

/// The Lambda handler: every outcome is an HTTP answer, so it never fails.
pub async fn handle(api: &PostsApi, request: Request) -> Result<Response<Body>, Infallible> {
    let method = request.method().clone();
    let path = match request.raw_http_path() {
        "" => request.uri().path().to_owned(),
        raw => raw.to_owned(),
    };
    let param = request
        .path_parameters_ref()
        .and_then(|p| p.first("id").or_else(|| p.first("open_id")))
        .map(str::to_owned);
    let answer = match route(&method, &path, param.as_deref()) {
        Ok(route) => dispatch(api, route, &request).await,
        Err(err) => err.answer(),
    };
    tracing::info!(%method, status = answer.status, "request answered");
    Ok(reply(answer))
}

async fn dispatch(api: &PostsApi, route: Route, request: &Request) -> ApiAnswer {
    let caller = caller_arn(request);
    match route {
        // The body is parsed as JSON whatever its Content-Type says (`curl -d` sends a form
        // type): anything else is refused as "not valid JSON", naming the body.
        Route::CreatePost => {
            // API Gateway joins a repeated header's values with commas; keys have none.
            let values = request
                .headers()
                .get_all("idempotency-key")
                .iter()
                .map(|v| v.to_str().unwrap_or("\u{0}"))
                .flat_map(|v| v.split(','));
            match IdempotencyKey::from_header_values(values, caller.as_deref()) {
                Ok(key) => api.create_post(request.body().as_ref(), key.as_ref()).await,
                Err(err) => err.answer(),
            }
        }
        Route::GetPost(id) => api.get_post(&id).await,
        Route::CancelPost(id) => api.cancel_post(&id).await,
        Route::RetryPost(id) => api.retry_post(&id).await,
        Route::ListAccounts => api.list_accounts().await,
        Route::DisconnectAccount(open_id) => api.disconnect_account(&open_id).await,
        Route::ConnectLink => api.connect_link(caller.as_deref()).await,
        Route::CreatorInfo(open_id) => api.creator_info(&open_id).await,
    }
}

/// The IAM principal that signed the request (scopes idempotency keys, labels connect
/// links); absent locally, where IAM is not emulated.
fn caller_arn(request: &Request) -> Option<String> {
    match request.request_context_ref()? {
        RequestContext::ApiGatewayV2(ApiGatewayV2httpRequestContext {
            authorizer: Some(authorizer),
            ..
        }) => authorizer.iam.as_ref()?.user_arn.clone(),
        _ => None,
    }
}

fn reply(answer: ApiAnswer) -> Response<Body> {
    let body = answer.body.to_string();
    let mut response = Response::new(Body::Text(body));
    *response.status_mut() =
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for (name, value) in answer.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}

/// `%XX` decoding of one path segment; anything malformed stays as it is (the core then
/// refuses it as an id).
fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                let value = hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0);
                out.push(u8::try_from(value).unwrap_or(b'?'));
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| segment.to_owned())
}

#[cfg(test)]
mod route_tests;
#[cfg(test)]
mod tests;
