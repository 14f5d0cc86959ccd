//! The handler over an in-memory oauth table: a link redeemed once redirects to TikTok with
//! the binding cookie, and everything else gets a page saying why not.

use std::collections::HashMap;
use std::sync::Arc;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use tiktok_publish_adapters::TikTokClient;
use tiktok_publish_core::config::{NoClientSecret, TikTokConfig};
use tiktok_publish_core::connect::{ConnectSettings, issue_connect_link};
use tiktok_publish_core::store::UnixTime;
use tiktok_publish_memory::MemoryOAuthStateStore;
use tiktok_publish_wiring::OAuthStart;

const NOW: UnixTime = 1_800_000_000;

fn app() -> OAuthStart {
    let config = TikTokConfig::with_secret_source("client-key-1", Arc::new(NoClientSecret))
        .with_base_urls("https://open.example", "https://auth.example");
    OAuthStart {
        oauth: Arc::new(MemoryOAuthStateStore::new()),
        tiktok: TikTokClient::new(config).unwrap(),
        settings: ConnectSettings::new("https://api.example.com").unwrap(),
    }
}

/// A request as lambda_http builds it from an API Gateway v2 event.
fn request(params: &[(&str, &str)]) -> Request {
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    for (name, value) in params {
        map.entry((*name).to_owned())
            .or_default()
            .push((*value).to_owned());
    }
    lambda_http::http::Request::builder()
        .method("GET")
        .uri("https://api.example.com/oauth/start")
        .body(Body::Empty)
        .unwrap()
        .with_query_string_parameters(map)
}

async fn link_token(app: &OAuthStart) -> String {
    let link = issue_connect_link(app.oauth.as_ref(), &app.settings, None, NOW)
        .await
        .unwrap();
    let url = url_param(link.expose(), "link");
    assert!(
        link.expose()
            .starts_with("https://api.example.com/oauth/start?link=")
    );
    url
}

fn url_param(url: &str, name: &str) -> String {
    let query = url.split_once('?').unwrap().1;
    query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .find(|(n, _)| *n == name)
        .unwrap()
        .1
        .to_owned()
}

fn body(response: &Response<Body>) -> String {
    match response.body() {
        Body::Text(text) => text.clone(),
        Body::Binary(bytes) => String::from_utf8(bytes.clone()).unwrap(),
        Body::Empty => String::new(),
        _ => panic!("unexpected body"),
    }
}

#[tokio::test]
async fn a_valid_link_redirects_to_tiktok_with_a_binding_cookie() {
    let app = app();
    let token = link_token(&app).await;
    let response = app.handle(request(&[("link", &token)]), NOW).await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()["location"].to_str().unwrap();
    assert!(location.starts_with("https://auth.example/v2/auth/authorize/?"));
    assert!(location.contains("client_key=client-key-1"));
    assert!(location.contains("redirect_uri=https%3A%2F%2Fapi.example.com%2Foauth%2Fcallback"));
    assert!(location.contains("scope=user.info.basic%2Cvideo.publish%2Cvideo.upload"));
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("__Host-tiktok-publish-oauth="));
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["referrer-policy"], "no-referrer");
}

#[tokio::test]
async fn a_replayed_link_is_gone() {
    let app = app();
    let token = link_token(&app).await;
    app.handle(request(&[("link", &token)]), NOW).await.unwrap();
    let again = app.handle(request(&[("link", &token)]), NOW).await.unwrap();
    assert_eq!(again.status(), StatusCode::GONE);
    assert!(body(&again).contains("tiktok-publish connect"));
    assert!(again.headers().get("set-cookie").is_none());
}

#[tokio::test]
async fn malformed_requests_get_a_page_not_a_redirect() {
    let app = app();
    let token = link_token(&app).await;
    let cases: [(&[(&str, &str)], StatusCode); 5] = [
        (&[], StatusCode::BAD_REQUEST),
        (&[("link", "")], StatusCode::BAD_REQUEST),
        (&[("other", "x")], StatusCode::BAD_REQUEST),
        (&[("link", "not-a-link")], StatusCode::FORBIDDEN),
        // Repeated: neither copy is redeemed, so the real one still works afterwards.
        (&[("link", &token), ("link", "x")], StatusCode::BAD_REQUEST),
    ];
    for (params, status) in cases {
        let response = app.handle(request(params), NOW).await.unwrap();
        assert_eq!(response.status(), status, "{params:?}");
        let html = body(&response);
        assert!(html.contains("Ask for a new link with <code>tiktok-publish connect</code>"));
        assert_eq!(
            response.headers()["content-type"],
            "text/html; charset=utf-8"
        );
    }
    let response = app.handle(request(&[("link", &token)]), NOW).await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
}

#[tokio::test]
async fn an_expired_link_is_gone() {
    let app = app();
    let token = link_token(&app).await;
    let later = NOW + app.settings.link_ttl_secs;
    let response = app
        .handle(request(&[("link", &token)]), later)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::GONE);
    assert!(body(&response).contains("expired"));
}

#[tokio::test]
async fn a_request_from_an_api_gateway_v2_event_is_understood() {
    let app = app();
    let token = link_token(&app).await;
    let event = serde_json::json!({
        "version": "2.0",
        "routeKey": "GET /oauth/start",
        "rawPath": "/oauth/start",
        "rawQueryString": format!("link={token}"),
        "headers": {"host": "api.example.com", "accept": "text/html"},
        "queryStringParameters": {"link": token},
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "api.example.com",
            "domainPrefix": "api", "requestId": "r", "routeKey": "GET /oauth/start",
            "stage": "$default", "time": "25/Nov/2026:12:00:00 +0000", "timeEpoch": 0,
            "http": {"method": "GET", "path": "/oauth/start", "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "test"}
        },
        "isBase64Encoded": false
    });
    let request = lambda_http::request::from_str(&event.to_string()).unwrap();
    let response = app.handle(request, NOW).await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
}
