//! Routing alone: which route a method and path reach, and why none does.

use serde_json::json;
use tower::ServiceExt;

use super::tests::{api, event};
use super::*;

/// The route `method` on `path` reaches through the whole service (path made canonical,
/// then the router), or why none does; `param` is what API Gateway would give as the
/// route's path parameter.
async fn route(method: &Method, path: &str, param: Option<&str>) -> Result<Route, RouteError> {
    let parameters = match param {
        Some(value) => json!({"id": value, "open_id": value}),
        None => json!({}),
    };
    let request = event(method.as_str(), path, parameters, json!({}), None);
    let (api, _) = api();
    let response = service(api).oneshot(request).await.unwrap();
    if let Some(route) = response.extensions().get::<Route>() {
        return Ok(route.clone());
    }
    match response.extensions().get::<RouteError>() {
        Some(err) => Err(err.clone()),
        None => panic!("an answer with neither a route nor a route error: {response:?}"),
    }
}

#[tokio::test]
async fn routes_follow_method_and_path_however_the_path_arrives() {
    let get = Method::GET;
    for path in [
        "/posts/abc",
        "posts/abc",
        "/posts/abc/",
        "/lambda-url/posts-api/posts/abc",
    ] {
        assert_eq!(
            route(&get, path, None).await,
            Ok(Route::GetPost("abc".into())),
            "{path}"
        );
    }
    assert_eq!(
        route(&Method::POST, "posts", None).await,
        Ok(Route::CreatePost)
    );
    assert_eq!(
        route(&Method::DELETE, "/posts/abc", Some("from-gateway")).await,
        Ok(Route::CancelPost("from-gateway".into()))
    );
    assert_eq!(
        route(&get, "/accounts", None).await,
        Ok(Route::ListAccounts)
    );
    assert_eq!(
        route(&Method::POST, "/accounts/connect-link", None).await,
        Ok(Route::ConnectLink)
    );
    assert_eq!(
        route(&Method::DELETE, "/accounts/-a%2Eb", None).await,
        Ok(Route::DisconnectAccount("-a.b".into()))
    );
    assert_eq!(
        route(&get, "/accounts/open-1/creator-info", None).await,
        Ok(Route::CreatorInfo("open-1".into()))
    );
    assert_eq!(
        route(
            &get,
            "/lambda-url/posts-api/accounts/x/creator-info",
            Some("from-gateway")
        )
        .await,
        Ok(Route::CreatorInfo("from-gateway".into()))
    );
    assert_eq!(
        route(&Method::POST, "/posts/abc/retry", Some("from-gateway")).await,
        Ok(Route::RetryPost("from-gateway".into()))
    );
    assert_eq!(
        route(&get, "/posts/abc/retry", None)
            .await
            .unwrap_err()
            .status(),
        405
    );
    let wrong_method = route(&Method::PUT, "/posts/abc", None).await.unwrap_err();
    assert_eq!(wrong_method.status(), 405);
    assert!(wrong_method.to_string().contains("GET or DELETE"));
    assert_eq!(
        route(&get, "/posts/a/b", None).await.unwrap_err().status(),
        404
    );
    assert_eq!(route(&get, "/", None).await.unwrap_err().status(), 404);
}

#[tokio::test]
async fn a_405_names_the_paths_methods_in_its_variant() {
    let err = route(&Method::PATCH, "/posts/abc", None).await.unwrap_err();
    assert_eq!(
        err,
        RouteError::MethodNotAllowed {
            method: Method::PATCH,
            allowed: vec![Method::GET, Method::DELETE],
        }
    );
    assert_eq!(err.allow().as_deref(), Some("GET, DELETE"));
    let answer = err.answer();
    assert_eq!(answer.status, 405);
    assert_eq!(
        answer.headers,
        [("allow", "GET, DELETE".to_owned())],
        "{answer:?}"
    );
    assert_eq!(answer.body["error"]["code"], "method_not_allowed");
    let missing = route(&Method::GET, "/nowhere", None).await.unwrap_err();
    assert_eq!(missing.allow(), None);
    assert!(missing.answer().headers.is_empty());
}

#[tokio::test]
async fn edges_of_routing_answer_as_before_the_router() {
    // The static segment wins: its methods are POST only.
    let err = route(&Method::DELETE, "/accounts/connect-link", None)
        .await
        .unwrap_err();
    assert_eq!(err.allow().as_deref(), Some("POST"));
    // ...but a longer path still reaches the parameter's route.
    assert_eq!(
        route(&Method::GET, "/accounts/connect-link/creator-info", None).await,
        Ok(Route::CreatorInfo("connect-link".into()))
    );
    // HEAD was never offered: axum would run the GET handler for it.
    let head = route(&Method::HEAD, "/posts/abc", None).await.unwrap_err();
    assert_eq!(head.allow().as_deref(), Some("GET, DELETE"));
    // A segment that is not UTF-8 once decoded reaches the core as sent.
    assert_eq!(
        route(&Method::DELETE, "/accounts/%FF", None).await,
        Ok(Route::DisconnectAccount("%FF".into()))
    );
    assert_eq!(
        route(&Method::GET, "//posts//abc?x=1", None).await,
        Ok(Route::GetPost("abc".into()))
    );
    assert_eq!(
        route(&Method::GET, "/lambda-url/posts-api", None).await,
        Err(RouteError::NotFound {
            method: Method::GET,
            path: String::new()
        })
    );
}

#[tokio::test]
async fn answers_without_a_route_have_the_apis_shape_and_headers() {
    let (api, _) = api();
    let request = event("PUT", "/posts/abc", json!({}), json!({}), None);
    let response = service(api.clone()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET, DELETE");
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["error"]["code"], "method_not_allowed");
    assert_eq!(
        body["error"]["message"],
        "PUT is not allowed here; use GET or DELETE"
    );

    let request = event("GET", "/posts/abc/more", json!({}), json!({}), None);
    let response = service(api).oneshot(request).await.unwrap();
    assert_eq!(response.status(), 404);
    assert!(response.headers().get("allow").is_none());
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["error"]["code"], "route_not_found");
    assert_eq!(body["error"]["message"], "no route for GET /posts/abc/more");
}

/// A v2 `POST /posts` signed by `user_arn`, under Idempotency-Key `k-1`.
fn signed_create(user_arn: &str, body: &str) -> Request {
    let headers = json!({"idempotency-key": "k-1"});
    let mut request = event("POST", "/posts", json!({}), headers, Some(body));
    if let Some(RequestContext::ApiGatewayV2(context)) =
        request.extensions_mut().get_mut::<RequestContext>()
        && let Some(iam) = context.authorizer.as_mut().and_then(|a| a.iam.as_mut())
    {
        iam.user_arn = Some(user_arn.to_owned());
    }
    request
}

#[tokio::test]
async fn the_caller_from_the_request_context_scopes_idempotency_keys() {
    let (api, _) = api();
    let body = |key: &str| {
        json!({"account": "open-1", "key": key, "options": {"privacy_level": "SELF_ONLY"}})
            .to_string()
    };
    let send = |request| service(api.clone()).oneshot(request);
    let alice = "arn:aws:iam::123456789012:user/alice";
    let first = send(signed_create(alice, &body("uploads/open-1/clip.mp4")))
        .await
        .unwrap();
    assert_eq!(first.status(), 201);
    // The same caller reusing the key for another body is refused...
    let reused = send(signed_create(alice, &body("uploads/open-1/other.mp4")))
        .await
        .unwrap();
    let reused = axum::body::to_bytes(reused.into_body(), usize::MAX)
        .await
        .unwrap();
    let reused: serde_json::Value = serde_json::from_slice(&reused).unwrap();
    assert_eq!(reused["error"]["code"], "idempotency_key_reused");
    // ...another caller's same key is theirs (here: a video that does not exist).
    let bob = "arn:aws:iam::123456789012:user/bob";
    let other = send(signed_create(bob, &body("uploads/open-1/other.mp4")))
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
}

#[tokio::test]
async fn a_request_without_an_api_gateway_event_routes_on_its_uri() {
    let (api, _) = api();
    let request = Request::new(lambda_http::Body::Empty);
    let (mut parts, body) = request.into_parts();
    parts.uri = Uri::from_static("/accounts/");
    let response = service(api)
        .oneshot(Request::from_parts(parts, body))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.extensions().get::<Route>(),
        Some(&Route::ListAccounts)
    );
}
