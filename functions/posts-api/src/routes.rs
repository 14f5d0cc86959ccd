//! Routing on method and path with an axum [`Router`], and the JSON replies.
//!
//! The router matches the path the handler sees: API Gateway's `rawPath` (`/posts/ID`), or
//! what `cargo lambda watch` leaves after stripping its `/lambda-url/posts-api` prefix.
//! [`canonical_path`] makes it one form first, so a missing leading slash, a trailing
//! slash and a left-over prefix are all tolerated. The routes are the handlers' documented
//! operations ([`crate::handlers`], `docs/openapi.json`); the deployed HTTP API
//! (infra/template.yaml) and watch's router (the root Cargo.toml) send every method of
//! their paths here, so a wrong method gets this router's 405 with `Allow`. Path
//! parameters, when API Gateway (or watch's router) supplies them, are preferred to the
//! router's decoding of the segment ([`PathParam`]).

use std::convert::Infallible;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRequestParts, MatchedPath, RawPathParams};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use tiktok_publish_core::api::{ApiAnswer, ApiError, PostsApi};
use tower::util::MapRequest;
use utoipa::openapi::PathItem;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::{handlers, openapi};

/// What a request asked for; every answer of a route carries it in its extensions (the
/// log line names it, and tests read which route a request reached).
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

/// Why a request has no route; its answer carries it in its extensions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// No route has this path.
    #[error("no route for {method} /{path}")]
    NotFound { method: Method, path: String },
    /// The path has routes, none for this method: `allowed` are its methods.
    #[error("{method} is not allowed here; use {}", joined(allowed, " or "))]
    MethodNotAllowed {
        method: Method,
        allowed: Vec<Method>,
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
        let (code, field) = match self {
            RouteError::NotFound { .. } => ("route_not_found", "path"),
            RouteError::MethodNotAllowed { .. } => ("method_not_allowed", "method"),
        };
        let answer = ApiError::new(self.status(), code, self.to_string())
            .with_field(field)
            .answer();
        match self.allow() {
            Some(allow) => answer.with_header("allow", allow),
            None => answer,
        }
    }
}

impl IntoResponse for RouteError {
    fn into_response(self) -> Response {
        // The answer sets `Allow` itself, so axum leaves its own (which adds HEAD) out.
        let mut response = reply(self.answer());
        response.extensions_mut().insert(self);
        response
    }
}

fn joined(methods: &[Method], separator: &str) -> String {
    let names: Vec<&str> = methods.iter().map(Method::as_str).collect();
    names.join(separator)
}

/// What `lambda_http::run` serves: the path made canonical, then the router.
pub type PostsService = MapRequest<Router, fn(Request) -> Request>;

pub fn service(api: PostsApi) -> PostsService {
    // The path must be canonical before the router matches it, so this wraps the router
    // rather than being one of its layers (those run after routing).
    MapRequest::new(router(api), canonical_path as fn(Request) -> Request)
}

/// The routes, served.
pub fn router(api: PostsApi) -> Router {
    let (router, _) = documented_routes().split_for_parts();
    router
        .fallback(no_route)
        // Lambda's 6 MB payload limit bounds a body already; axum's 2 MB default would
        // answer a larger one in plain text instead of the API's error shape.
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn(log_answer))
        .with_state(api)
}

/// The routes and their OpenAPI paths, from the handlers' `#[utoipa::path]`s: one place for
/// both ([`crate::openapi::document`] completes the document). A static segment wins over
/// a parameter (`/accounts/connect-link`), as in API Gateway.
pub fn documented_routes() -> OpenApiRouter<PostsApi> {
    OpenApiRouter::with_openapi(openapi::base())
        .routes(only_documented(routes!(handlers::create_post)))
        .routes(only_documented(routes!(
            handlers::get_post,
            handlers::cancel_post
        )))
        .routes(only_documented(routes!(handlers::retry_post)))
        .routes(only_documented(routes!(handlers::list_accounts)))
        .routes(only_documented(routes!(handlers::connect_link)))
        .routes(only_documented(routes!(handlers::disconnect_account)))
        .routes(only_documented(routes!(handlers::creator_info)))
}

/// A path whose documented methods are the only ones served: any other answers 405 naming
/// them. HEAD is refused too: axum would answer it with the GET handler, a method this API
/// never offered.
fn only_documented(route: UtoipaMethodRouter<PostsApi>) -> UtoipaMethodRouter<PostsApi> {
    let allowed: Vec<Method> = route
        .1
        .paths
        .values()
        .flat_map(documented_methods)
        .collect();
    route.map(move |methods| {
        let refuse = move |method: Method| {
            let allowed = allowed.clone();
            async move { RouteError::MethodNotAllowed { method, allowed } }
        };
        methods.head(refuse.clone()).fallback(refuse)
    })
}

/// The methods a path documents, in a fixed order (GET, PUT, POST, DELETE, ...).
pub fn documented_methods(item: &PathItem) -> Vec<Method> {
    let operations = [
        (Method::GET, &item.get),
        (Method::PUT, &item.put),
        (Method::POST, &item.post),
        (Method::DELETE, &item.delete),
        (Method::OPTIONS, &item.options),
        (Method::HEAD, &item.head),
        (Method::PATCH, &item.patch),
        (Method::TRACE, &item.trace),
    ];
    operations
        .into_iter()
        .filter(|(_, operation)| operation.is_some())
        .map(|(method, _)| method)
        .collect()
}

async fn no_route(method: Method, uri: Uri) -> RouteError {
    let path = uri.path().trim_start_matches('/').to_owned();
    RouteError::NotFound { method, path }
}

async fn log_answer(request: axum::extract::Request, next: Next) -> Response {
    let method = request.method().clone();
    let response = next.run(request).await;
    let route = response.extensions().get::<Route>();
    tracing::info!(%method, status = response.status().as_u16(), ?route, "request answered");
    response
}

/// The request's path as the router matches it: `/` and the non-empty segments, without
/// watch's `/lambda-url/posts-api` prefix; the query string is kept.
fn canonical_path(mut request: Request) -> Request {
    let query = request.uri().query().map(str::to_owned);
    let canonical = |path: &str| -> Option<Uri> {
        let mut segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        if let ["lambda-url", "posts-api", ..] = segments.as_slice() {
            segments.drain(..2);
        }
        let mut canonical = format!("/{}", segments.join("/"));
        if let Some(query) = &query {
            canonical.push('?');
            canonical.push_str(query);
        }
        Uri::try_from(canonical).ok()
    };
    // `rawPath` as sent; the URI's path when that is missing (not an API Gateway event) or
    // holds what a URI may not (the URI's path is the same one, encoded).
    let uri = match request.raw_http_path() {
        "" => None,
        raw => canonical(raw),
    }
    .or_else(|| canonical(request.uri().path()));
    if let Some(uri) = uri {
        *request.uri_mut() = uri;
    }
    request
}

/// The IAM principal that signed the request (scopes idempotency keys, labels connect
/// links), from the API Gateway request context `lambda_http` puts in the request's
/// extensions; absent locally, where IAM is not emulated.
pub(crate) struct Caller(pub(crate) Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        let arn = match parts.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(ApiGatewayV2httpRequestContext {
                authorizer: Some(authorizer),
                ..
            })) => authorizer.iam.as_ref().and_then(|iam| iam.user_arn.clone()),
            _ => None,
        };
        Ok(Caller(arn))
    }
}

/// The route's one path parameter: API Gateway's (or watch's router's) value of the same
/// name when it supplies one, else the router's percent-decoding of the segment.
pub(crate) struct PathParam(pub(crate) String);

impl<S: Send + Sync> FromRequestParts<S> for PathParam {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        let Some((name, raw)) = parameter_segment(parts) else {
            let bug = ApiError::internal("a route without a path parameter asked for one");
            return Err(reply(bug.answer()));
        };
        if let Some(value) = parts.path_parameters_ref().and_then(|p| p.first(&name)) {
            return Ok(PathParam(value.to_owned()));
        }
        let decoded = RawPathParams::from_request_parts(parts, state).await;
        let value = match decoded.as_ref().ok().and_then(|p| p.iter().next()) {
            Some((_, value)) => value.to_owned(),
            // Not UTF-8 once decoded: passed on as sent, and the core refuses it as an id.
            None => raw,
        };
        Ok(PathParam(value))
    }
}

/// The name of the matched route's parameter and its segment as sent.
fn parameter_segment(parts: &Parts) -> Option<(String, String)> {
    let pattern = parts.extensions.get::<MatchedPath>()?.as_str();
    pattern
        .split('/')
        .zip(parts.uri.path().split('/'))
        .find_map(|(pattern, segment)| {
            let name = pattern.strip_prefix('{')?.strip_suffix('}')?;
            Some((name.to_owned(), segment.to_owned()))
        })
}

pub(crate) fn answered(route: Route, answer: ApiAnswer) -> Response {
    let mut response = reply(answer);
    response.extensions_mut().insert(route);
    response
}

fn reply(answer: ApiAnswer) -> Response {
    let mut response = Response::new(Body::from(answer.body.to_string()));
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

#[cfg(test)]
mod document_tests;
#[cfg(test)]
mod route_tests;
#[cfg(test)]
mod tests;
