//! The handler over in-memory stores and a stand-in for TikTok's token endpoint: a good
//! callback connects the account; anything else gets a page and stores nothing.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use secrecy::SecretString;
use tiktok_publish_adapters::TikTokClient;
use tiktok_publish_core::config::TikTokConfig;
use tiktok_publish_core::connect::{
    ConnectSettings, StartOutcome, issue_connect_link, start_connect,
};
use tiktok_publish_core::store::{TokenStore, UnixTime};
use tiktok_publish_core::tiktok::{TikTokError, TokenGrant};
use tiktok_publish_core::tokens::{TokenRefresher, TokenService, TokenSettings};
use tiktok_publish_memory::{MemoryOAuthStateStore, MemoryTokenStore};
use tiktok_publish_wiring::OAuthCallback;

const NOW: UnixTime = 1_800_000_000;
const GOOD_CODE: &str = "code*3!abc.va";

/// TikTok's token endpoint: knows one code (exactly as TikTok issued it).
struct Exchange;

#[async_trait]
impl TokenRefresher for Exchange {
    async fn refresh(&self, _: &SecretString) -> Result<TokenGrant, TikTokError> {
        unreachable!("the callback never refreshes")
    }

    async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
    ) -> Result<TokenGrant, TikTokError> {
        assert_eq!(redirect_uri, "https://api.example.com/oauth/callback");
        if code != GOOD_CODE {
            return Err(TikTokError::NeedsReconnect {
                reason: "invalid_grant".into(),
                log_id: None,
            });
        }
        Ok(TokenGrant {
            open_id: "open-1".into(),
            access_token: SecretString::from("act.1"),
            expires_in: 86_400,
            refresh_token: SecretString::from("rft.1"),
            refresh_expires_in: 31_536_000,
            scope: "user.info.basic,video.publish,video.upload".into(),
            token_type: "Bearer".into(),
        })
    }
}

struct Harness {
    app: OAuthCallback,
    accounts: Arc<MemoryTokenStore>,
    tiktok: TikTokClient,
}

fn harness() -> Harness {
    let accounts = Arc::new(MemoryTokenStore::new());
    let tokens = TokenService::new(
        accounts.clone(),
        Arc::new(Exchange),
        TokenSettings::default(),
    );
    let config = TikTokConfig::new("client-key-1", SecretString::from(String::new()))
        .with_base_urls("https://open.example", "https://auth.example");
    Harness {
        app: OAuthCallback::with_token_service(
            Arc::new(MemoryOAuthStateStore::new()),
            ConnectSettings::new("https://api.example.com").unwrap(),
            tokens,
        ),
        accounts,
        tiktok: TikTokClient::new(config).unwrap(),
    }
}

/// A started flow: the state (from the authorize URL) and the binding cookie's nonce.
async fn started(h: &Harness) -> (String, String) {
    let link = issue_connect_link(h.app.oauth.as_ref(), &h.app.settings, None, NOW)
        .await
        .unwrap();
    let token = param(link.expose(), "link");
    let outcome = start_connect(
        h.app.oauth.as_ref(),
        &h.tiktok,
        &h.app.settings,
        Some(&token),
        NOW,
    )
    .await
    .unwrap();
    let StartOutcome::Redirect(redirect) = outcome else {
        panic!("not redirected: {outcome:?}");
    };
    let nonce = redirect
        .set_cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    (param(&redirect.location, "state"), nonce)
}

fn param(url: &str, name: &str) -> String {
    url.split_once('?')
        .unwrap()
        .1
        .split('&')
        .filter_map(|p| p.split_once('='))
        .find(|(n, _)| *n == name)
        .unwrap()
        .1
        .to_owned()
}

/// A request as lambda_http builds it from an API Gateway v2 event (the event's
/// `cookies` array becomes one `cookie` header).
fn request(params: &[(&str, &str)], cookie: Option<&str>) -> Request {
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    for (name, value) in params {
        map.entry((*name).to_owned())
            .or_default()
            .push((*value).to_owned());
    }
    let mut builder = lambda_http::http::Request::builder()
        .method("GET")
        .uri("https://api.example.com/oauth/callback");
    if let Some(cookie) = cookie {
        builder = builder.header("cookie", cookie);
    }
    builder
        .body(Body::Empty)
        .unwrap()
        .with_query_string_parameters(map)
}

fn body(response: &Response<Body>) -> String {
    match response.body() {
        Body::Text(text) => text.clone(),
        Body::Binary(bytes) => String::from_utf8(bytes.clone()).unwrap(),
        Body::Empty => String::new(),
        _ => panic!("unexpected body"),
    }
}

fn cookie_header(nonce: &str) -> String {
    format!("theme=dark; __Host-tiktok-publish-oauth={nonce}")
}

#[tokio::test]
async fn a_good_callback_connects_the_account() {
    let h = harness();
    let (state, nonce) = started(&h).await;
    let cookie = cookie_header(&nonce);
    let params = [
        ("code", GOOD_CODE),
        ("scopes", "user.info.basic,video.publish,video.upload"),
        ("state", state.as_str()),
    ];
    let response = h
        .app
        .handle(request(&params, Some(&cookie)), NOW)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let html = body(&response);
    assert!(html.contains("open-1"), "{html}");
    assert!(!html.contains(GOOD_CODE) && !html.contains(&state));
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(set_cookie.contains("Max-Age=0"));
    assert!(h.accounts.get("open-1").await.unwrap().is_some());
}

#[tokio::test]
async fn a_callback_from_an_api_gateway_v2_event_is_understood() {
    let h = harness();
    let (state, nonce) = started(&h).await;
    // The raw query as TikTok sends it: the code percent-encoded once.
    let raw = format!(
        "code=code%2A3%21abc.va&scopes=user.info.basic%2Cvideo.publish%2Cvideo.upload&state={state}"
    );
    let event = serde_json::json!({
        "version": "2.0",
        "routeKey": "GET /oauth/callback",
        "rawPath": "/oauth/callback",
        "rawQueryString": raw,
        "cookies": ["theme=dark", format!("__Host-tiktok-publish-oauth={nonce}")],
        "headers": {"host": "api.example.com"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "api.example.com",
            "domainPrefix": "api", "requestId": "r", "routeKey": "GET /oauth/callback",
            "stage": "$default", "time": "25/Nov/2026:12:00:00 +0000", "timeEpoch": 0,
            "http": {"method": "GET", "path": "/oauth/callback", "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "test"}
        },
        "isBase64Encoded": false
    });
    let request = lambda_http::request::from_str(&event.to_string()).unwrap();
    let response = h.app.handle(request, NOW).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{}", body(&response));
    assert!(h.accounts.get("open-1").await.unwrap().is_some());
}

#[tokio::test]
async fn malformed_callbacks_get_a_page_and_store_nothing() {
    let h = harness();
    let (state, nonce) = started(&h).await;
    let cookie = cookie_header(&nonce);
    let scopes = "video.publish,video.upload";
    type Case<'a> = (Vec<(&'a str, &'a str)>, StatusCode, &'a str);
    let cases: Vec<Case> = vec![
        (vec![], StatusCode::BAD_REQUEST, "does not come from"),
        (
            vec![("code", GOOD_CODE), ("State", &state)],
            StatusCode::BAD_REQUEST,
            "does not come from",
        ),
        (
            vec![("state", "forged"), ("code", GOOD_CODE), ("scopes", scopes)],
            StatusCode::FORBIDDEN,
            "not started by",
        ),
        // Repeated parameters are refused before the state is looked at.
        (
            vec![("state", &state), ("state", "x"), ("code", GOOD_CODE)],
            StatusCode::BAD_REQUEST,
            "more than once",
        ),
        (
            vec![("state", &state), ("code", GOOD_CODE), ("code", "x")],
            StatusCode::BAD_REQUEST,
            "more than once",
        ),
    ];
    for (params, status, says) in cases {
        let response = h
            .app
            .handle(request(&params, Some(&cookie)), NOW)
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{params:?}");
        assert!(
            body(&response).contains(says),
            "{params:?}: {}",
            body(&response)
        );
    }
    assert!(h.accounts.list().await.unwrap().is_empty());
    // The real state survived the malformed attempts.
    let params = [
        ("state", state.as_str()),
        ("code", GOOD_CODE),
        ("scopes", scopes),
    ];
    let response = h
        .app
        .handle(request(&params, Some(&cookie)), NOW)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_callback_without_the_cookie_is_refused() {
    let h = harness();
    let (state, _) = started(&h).await;
    let params = [
        ("state", state.as_str()),
        ("code", GOOD_CODE),
        ("scopes", "video.publish,video.upload"),
    ];
    let response = h
        .app
        .handle(request(&params, Some("theme=dark")), NOW)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(body(&response).contains("another browser"));
    assert!(h.accounts.list().await.unwrap().is_empty());
}

#[tokio::test]
async fn tiktok_errors_are_escaped_and_declines_are_plain() {
    let h = harness();
    let (state, nonce) = started(&h).await;
    let cookie = cookie_header(&nonce);
    let params = [
        ("state", state.as_str()),
        ("error", "server_error"),
        ("error_description", "<script>alert(1)</script>"),
    ];
    let response = h
        .app
        .handle(request(&params, Some(&cookie)), NOW)
        .await
        .unwrap();
    let html = body(&response);
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    // askama escapes `<` as `&#60;` (the same character as `&lt;`).
    assert!(!html.contains("<script>") && html.contains("&#60;script&#62;"));

    let (state, nonce) = started(&h).await;
    let cookie = cookie_header(&nonce);
    let params = [("state", state.as_str()), ("error", "access_denied")];
    let response = h
        .app
        .handle(request(&params, Some(&cookie)), NOW)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(body(&response).contains("You declined"));
    assert!(h.accounts.list().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_refused_code_says_so() {
    let h = harness();
    let (state, nonce) = started(&h).await;
    let cookie = cookie_header(&nonce);
    // Decoded twice by mistake somewhere upstream: TikTok would not know this code.
    let params = [
        ("state", state.as_str()),
        ("code", "code%2A3%21abc.va"),
        ("scopes", "video.publish,video.upload"),
    ];
    let response = h
        .app
        .handle(request(&params, Some(&cookie)), NOW)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert!(body(&response).contains("refused the authorization code"));
}
