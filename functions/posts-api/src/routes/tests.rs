//! The handler over real `lambda_http` requests (API Gateway HTTP API v2 events, as
//! deployed and as `cargo lambda watch` sends them) and in-memory ports.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use tiktok_publish_core::ends::PostEnds;

use async_trait::async_trait;
use lambda_http::Body;
use secrecy::SecretString;
use serde_json::{Value, json};
use tiktok_publish_core::api::{
    CreatorInfoError, CreatorInfoSource, PostsApi, RevokeError, Revoker,
};
use tiktok_publish_core::connect::ConnectSettings;
use tiktok_publish_core::errors::ErrorKind;
use tiktok_publish_core::intake::{Executions, Intake, IntakeError};
use tiktok_publish_core::media::{
    ByteStream, SourceError, VideoLocation, VideoObject, VideoSource,
};
use tiktok_publish_core::store::{
    AccountTokens, Cause, PostFailure, PostId, PostState, PostUpdate, unix_now,
};
use tiktok_publish_core::tiktok::{CreatorInfo, Endpoint, TikTokError};
use tiktok_publish_memory::{
    MemoryIdempotencyStore, MemoryOAuthStateStore, MemoryPostStore, MemoryPullCanceller,
    MemoryTokenStore,
};
use tower::ServiceExt;

use super::*;

const ACCOUNT: &str = "open-1";
const VIDEO: &str = "uploads/open-1/clip.mp4";

/// Objects that exist, each at version `v1`.
struct Videos(Vec<&'static str>);

#[async_trait]
impl VideoSource for Videos {
    async fn head(&self, location: &VideoLocation) -> Result<VideoObject, SourceError> {
        if !self.0.contains(&location.key.as_str()) {
            return Err(SourceError::NotFound {
                bucket: location.bucket.clone(),
                key: location.key.clone(),
            });
        }
        Ok(VideoObject {
            location: VideoLocation {
                version_id: Some("v1".into()),
                ..location.clone()
            },
            size: 1_000_000,
            content_type: Some("video/mp4".into()),
            etag: "\"etag\"".into(),
        })
    }

    async fn read_range(
        &self,
        _object: &VideoObject,
        _first: u64,
        _last: u64,
    ) -> Result<ByteStream, SourceError> {
        Err(SourceError::Refused {
            detail: "the API never reads videos".into(),
        })
    }
}

/// Execution names started and stopped; `starts` keeps every start, in order.
#[derive(Default)]
pub(super) struct Runs {
    started: Mutex<HashSet<String>>,
    starts: Mutex<Vec<String>>,
    stopped: Mutex<HashSet<String>>,
}

#[async_trait]
impl Executions for Runs {
    async fn start_named(&self, _post_id: &PostId, name: &str) -> Result<(), IntakeError> {
        self.started.lock().unwrap().insert(name.to_owned());
        self.starts.lock().unwrap().push(name.to_owned());
        Ok(())
    }

    async fn stop(&self, post_id: &PostId, _cause: &str) -> Result<(), IntakeError> {
        self.stopped.lock().unwrap().insert(post_id.to_string());
        Ok(())
    }
}

struct AlwaysRevokes;

#[async_trait]
impl Revoker for AlwaysRevokes {
    async fn revoke(&self, _open_id: &str) -> Result<(), RevokeError> {
        Ok(())
    }
}

/// A creator who may post only to themself, with comments off; `limited` answers as TikTok
/// does when its rate limit is hit.
#[derive(Default)]
struct Creators {
    asked: Mutex<Vec<String>>,
    limited: Mutex<bool>,
}

#[async_trait]
impl CreatorInfoSource for Creators {
    async fn creator_info(&self, open_id: &str) -> Result<CreatorInfo, CreatorInfoError> {
        self.asked.lock().unwrap().push(open_id.to_owned());
        if *self.limited.lock().unwrap() {
            return Err(CreatorInfoError::TikTok(TikTokError::RateLimited {
                endpoint: Endpoint::CreatorInfo,
                log_id: None,
            }));
        }
        Ok(CreatorInfo {
            creator_avatar_url: "https://example.com/avatar.png".into(),
            creator_username: "creator".into(),
            creator_nickname: "Creator".into(),
            privacy_level_options: vec!["SELF_ONLY".into()],
            comment_disabled: true,
            duet_disabled: false,
            stitch_disabled: false,
            max_video_post_duration_sec: 600,
        })
    }
}

fn account(open_id: &str) -> AccountTokens {
    let now = unix_now();
    AccountTokens {
        open_id: open_id.into(),
        access_token: SecretString::from("act.secret"),
        access_expires_at: now + 3600,
        refresh_token: Some(tiktok_publish_core::store::SealedSecret::plain(
            &SecretString::from("rft.secret"),
        )),
        refresh_expires_at: now + 86_400,
        scopes: vec![
            "user.info.basic".into(),
            "video.publish".into(),
            "video.upload".into(),
        ],
        nickname: Some("Creator".into()),
        username: None,
        avatar_url: None,
        profile_fetched_at: None,
        needs_reconnect: false,
        reconnect_reason: None,
        version: 1,
        lease_owner: None,
        lease_until: None,
        connected_at: now,
        updated_at: now,
    }
}

pub(super) fn api() -> (PostsApi, Arc<Runs>) {
    let (api, runs, _) = api_with_creators();
    (api, runs)
}

fn api_with_creators() -> (PostsApi, Arc<Runs>, Arc<Creators>) {
    let runs = Arc::new(Runs::default());
    let creators = Arc::new(Creators::default());
    let accounts = Arc::new(MemoryTokenStore::new());
    accounts.insert(account(ACCOUNT));
    let api = PostsApi {
        intake: Intake {
            posts: Arc::new(MemoryPostStore::new()),
            ends: PostEnds::silent(),
            source: Arc::new(Videos(vec![VIDEO])),
            executions: runs.clone(),
        },
        accounts,
        idempotency: Arc::new(MemoryIdempotencyStore::new()),
        revoker: Arc::new(AlwaysRevokes),
        creator_info: creators.clone(),
        pull_canceller: Arc::new(MemoryPullCanceller::default()),
        oauth: Arc::new(MemoryOAuthStateStore::new()),
        connect: Some(ConnectSettings::new("https://api.example.com").unwrap()),
        bucket: "videos".into(),
    };
    (api, runs, creators)
}

/// An API Gateway HTTP API (payload 2.0) event, as JSON, turned into a request the way
/// the runtime does it.
pub(super) fn event(
    method: &str,
    raw_path: &str,
    path_parameters: Value,
    headers: Value,
    body: Option<&str>,
) -> Request {
    let event = json!({
        "version": "2.0",
        "routeKey": format!("{method} /posts"),
        "rawPath": raw_path,
        "rawQueryString": "",
        "headers": headers,
        "pathParameters": path_parameters,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "authorizer": {"iam": {
                "accessKey": "AKIA", "accountId": "123456789012", "callerId": "AIDA",
                "principalOrgId": null,
                "userArn": "arn:aws:iam::123456789012:user/publisher", "userId": "AIDA"
            }},
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1",
                     "sourceIp": "192.0.2.1", "userAgent": "test"},
            "requestId": "req-1",
            "routeKey": format!("{method} /posts"),
            "stage": "$default",
            "time": "25/Nov/2026:12:00:00 +0000",
            "timeEpoch": 1_795_000_000_000_i64
        },
        "body": body,
        "isBase64Encoded": false
    });
    lambda_http::request::from_str(&event.to_string()).expect("a valid v2 event")
}

/// The request through the whole service, and the answer as `lambda_http` hands it to
/// the runtime.
async fn call(api: &PostsApi, request: Request) -> (u16, Value, Response<Body>) {
    let response = service(api.clone()).oneshot(request).await.unwrap();
    let response = lambda_http::IntoResponse::into_response(response).await;
    let body = match response.body() {
        Body::Text(text) => serde_json::from_str(text).unwrap(),
        other => panic!("expected a JSON text body, got {other:?}"),
    };
    (response.status().as_u16(), body, response)
}

fn post_body() -> String {
    json!({
        "account": ACCOUNT,
        "key": VIDEO,
        "options": {"title": "hello #tag", "privacy_level": "SELF_ONLY"}
    })
    .to_string()
}

fn create(headers: Value, body: &str) -> Request {
    event("POST", "/posts", json!({}), headers, Some(body))
}

#[tokio::test]
async fn a_v2_post_creates_one_post_and_a_repeat_finds_it() {
    let (api, runs) = api();
    let headers = json!({"content-type": "application/json; charset=utf-8"});
    let (status, first, response) = call(&api, create(headers.clone(), &post_body())).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "{first}"
    );
    assert_eq!(first["state"], "QUEUED");
    assert_eq!(first["version_id"], "v1");
    let id = first["id"].as_str().unwrap().to_owned();
    assert_eq!(response.headers()["location"], format!("/posts/{id}"));

    let (status, again, _) = call(&api, create(headers, &post_body())).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["id"], id.as_str());
    assert_eq!(*runs.started.lock().unwrap(), HashSet::from([id]));
}

#[tokio::test]
async fn malformed_and_unknown_bodies_name_the_field() {
    let (api, _) = api();
    let cases = [
        (r#"{"account": "open-1", "#, "body", "not valid JSON"),
        ("", "body", "not valid JSON"),
        (
            r#"{"account":"open-1","key":"uploads/open-1/clip.mp4","options":{},"extra":1}"#,
            "extra",
            "unknown field",
        ),
        (
            r#"{"key":"uploads/open-1/clip.mp4","options":{"privacy_level":"SELF_ONLY"}}"#,
            "account",
            "is required",
        ),
        (
            r#"{"account":"open-1","key":"uploads/open-1/clip.mp4","options":{"privacy_level":"PUBLIC"}}"#,
            "options.privacy_level",
            "must be one of",
        ),
    ];
    for (body, field, rule) in cases {
        let (status, answer, _) = call(&api, create(json!({}), body)).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{body}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(rule), "{body}: {answer}");
    }
    // `curl -d` labels JSON as a form: the body decides.
    let form = json!({"content-type": "application/x-www-form-urlencoded"});
    let (status, answer, _) = call(&api, create(form, &post_body())).await;
    assert_eq!(status, 201, "{answer}");
}

#[tokio::test]
async fn a_repeated_idempotency_key_must_repeat_one_value() {
    let (api, _) = api();
    // API Gateway joins repeats with commas; a JSON array is another way events carry them.
    for differing in [json!("k-1,k-2"), json!(["k-1", "k-2"])] {
        let (status, answer, _) = call(
            &api,
            create(json!({"idempotency-key": differing}), &post_body()),
        )
        .await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["error"]["field"], "Idempotency-Key");
    }
    let (status, first, _) = call(
        &api,
        create(json!({"idempotency-key": ["k-1", "k-1"]}), &post_body()),
    )
    .await;
    assert_eq!(status, 201, "{first}");
    let (status, replayed, response) = call(
        &api,
        create(json!({"idempotency-key": "k-1, k-1"}), &post_body()),
    )
    .await;
    assert_eq!((status, &replayed), (201, &first));
    assert_eq!(response.headers()["idempotent-replayed"], "true");
}

/// A key beyond printable ASCII, as text in the event's JSON, is refused by name like any
/// other bad key. (`cargo lambda watch` cannot forward such a header's Latin-1 bytes at all:
/// tests/schemathesis/hooks.py leaves those cases out, saying so.)
#[tokio::test]
async fn a_key_beyond_printable_ascii_is_refused_naming_the_header() {
    let (api, _) = api();
    for key in ["\u{d7}\u{f8}\u{c2}\u{9b}", "caf\u{e9}"] {
        let headers = json!({"idempotency-key": key});
        let (status, answer, _) = call(&api, create(headers, &post_body())).await;
        assert_eq!(status, 400, "{key:?}: {answer}");
        assert_eq!(answer["error"]["field"], "Idempotency-Key", "{key:?}");
    }
}

#[tokio::test]
async fn get_and_delete_take_the_id_from_path_parameters_or_the_path() {
    let (api, runs) = api();
    let (_, created, _) = call(&api, create(json!({}), &post_body())).await;
    let id = created["id"].as_str().unwrap();

    let with_params = event(
        "GET",
        &format!("/posts/{id}"),
        json!({"id": id}),
        json!({}),
        None,
    );
    let (status, view, _) = call(&api, with_params).await;
    assert_eq!((status, &view["id"]), (200, &created["id"]));
    // As `cargo lambda watch` without a router sends it: no parameters.
    let bare = event("GET", &format!("posts/{id}"), json!({}), json!({}), None);
    let (status, _, _) = call(&api, bare).await;
    assert_eq!(status, 200);

    let (status, answer, _) = call(
        &api,
        event("GET", "/posts/nope", json!({}), json!({}), None),
    )
    .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (404, Some("post_not_found"))
    );
    let (status, answer, _) = call(
        &api,
        event("GET", "/posts/a%20b", json!({}), json!({}), None),
    )
    .await;
    assert_eq!(
        (status, answer["error"]["field"].as_str()),
        (400, Some("id"))
    );

    let delete = event(
        "DELETE",
        &format!("/posts/{id}"),
        json!({"id": id}),
        json!({}),
        None,
    );
    let (status, cancelled, _) = call(&api, delete).await;
    assert_eq!((status, &cancelled["state"]), (200, &json!("CANCELLED")));
    assert!(runs.stopped.lock().unwrap().contains(id));
}

#[tokio::test]
async fn accounts_are_listed_and_connect_links_issued() {
    let (api, _) = api();
    let (status, answer, _) =
        call(&api, event("GET", "/accounts", json!({}), json!({}), None)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["accounts"][0]["open_id"], ACCOUNT);
    assert_eq!(answer["accounts"][0]["needs_reconnect"], false);
    assert!(!answer.to_string().contains("secret"), "{answer}");

    let (status, link, response) = call(
        &api,
        event("POST", "/accounts/connect-link", json!({}), json!({}), None),
    )
    .await;
    assert_eq!(status, 201, "{link}");
    let url = link["url"].as_str().unwrap();
    assert!(
        url.starts_with("https://api.example.com/oauth/start?link="),
        "{url}"
    );
    assert_eq!(response.headers()["cache-control"], "no-store");

    let (status, _, response) =
        call(&api, event("PUT", "/accounts", json!({}), json!({}), None)).await;
    assert_eq!(status, 405);
    assert_eq!(response.headers()["allow"], "GET");
    let put_post = event("PUT", "/posts/abc", json!({}), json!({}), None);
    let (_, _, response) = call(&api, put_post).await;
    assert_eq!(response.headers()["allow"], "GET, DELETE");
}

#[tokio::test]
async fn creator_info_answers_the_creators_settings_or_when_to_retry() {
    let (api, _, creators) = api_with_creators();
    let path = format!("/accounts/{ACCOUNT}/creator-info");
    let request = event("GET", &path, json!({"open_id": ACCOUNT}), json!({}), None);
    let (status, answer, response) = call(&api, request).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["nickname"], "Creator");
    assert_eq!(answer["privacy_level_options"], json!(["SELF_ONLY"]));
    assert_eq!(answer["comment_disabled"], true);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(*creators.asked.lock().unwrap(), vec![ACCOUNT.to_owned()]);

    let unknown = event(
        "GET",
        "/accounts/nobody/creator-info",
        json!({}),
        json!({}),
        None,
    );
    let (status, answer, _) = call(&api, unknown).await;
    assert_eq!(
        (status, &answer["error"]["code"]),
        (404, &json!("account_not_found"))
    );
    // Unknown accounts never reach TikTok.
    assert_eq!(creators.asked.lock().unwrap().len(), 1);

    *creators.limited.lock().unwrap() = true;
    let request = event("GET", &path, json!({}), json!({}), None);
    let (status, answer, response) = call(&api, request).await;
    assert_eq!(
        (status, &answer["error"]["code"]),
        (429, &json!("rate_limited"))
    );
    assert_eq!(response.headers()["retry-after"], "60");

    let post = event("POST", &path, json!({}), json!({}), None);
    let (status, _, response) = call(&api, post).await;
    assert_eq!(status, 405);
    assert_eq!(response.headers()["allow"], "GET");
}

#[tokio::test]
async fn a_failed_post_is_retried_once_under_a_new_execution_name() {
    let (api, runs) = api();
    let (_, created, _) = call(&api, create(json!({}), &post_body())).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let post_id = PostId::parse(&id).unwrap();
    let failure = PostFailure::new(
        Cause::Error {
            kind: ErrorKind::TikTokUnavailable,
            message: "TikTok answered 503".into(),
        },
        None,
    );
    PostEnds::silent()
        .settle(
            api.intake
                .posts
                .transition(
                    &post_id,
                    &[PostState::Queued],
                    PostState::Failed,
                    PostUpdate::failed(failure),
                    unix_now(),
                )
                .await
                .unwrap(),
        )
        .await;
    let retry = || {
        event(
            "POST",
            &format!("/posts/{id}/retry"),
            json!({"id": id}),
            json!({}),
            None,
        )
    };

    let (status, queued, _) = call(&api, retry()).await;
    assert_eq!(
        (status, &queued["state"]),
        (202, &json!("QUEUED")),
        "{queued}"
    );
    assert_eq!(queued["failure"], Value::Null);
    let states: Vec<_> = queued["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["state"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        states,
        ["QUEUED", "FAILED", "QUEUED"],
        "the history is kept"
    );
    // A repeated request starts the same attempt again, nothing more.
    let (status, _, _) = call(&api, retry()).await;
    assert_eq!(status, 200);
    let expected = format!("{id}-retry1");
    // The post's own execution, then the attempt twice.
    assert_eq!(
        runs.starts.lock().unwrap()[1..],
        [expected.clone(), expected]
    );
}

#[tokio::test]
async fn a_post_a_retry_cannot_fix_is_refused_saying_why() {
    let (api, runs) = api();
    let (_, created, _) = call(&api, create(json!({}), &post_body())).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let retry = || {
        event(
            "POST",
            &format!("/posts/{id}/retry"),
            json!({}),
            json!({}),
            None,
        )
    };

    let (status, answer, _) = call(&api, retry()).await;
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["error"]["code"], "post_not_retryable");
    assert_eq!(answer["error"]["state"], "QUEUED");

    let failure = PostFailure::new(
        Cause::Error {
            kind: ErrorKind::VideoChanged,
            message: "s3://videos/x was replaced".into(),
        },
        None,
    );
    PostEnds::silent()
        .settle(
            api.intake
                .posts
                .transition(
                    &PostId::parse(&id).unwrap(),
                    &[PostState::Queued],
                    PostState::Failed,
                    PostUpdate::failed(failure),
                    unix_now(),
                )
                .await
                .unwrap(),
        )
        .await;
    let (status, answer, _) = call(&api, retry()).await;
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["error"]["code"], "video_changed");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("upload it again")
    );
    // Only the post's own execution ever started.
    assert_eq!(*runs.starts.lock().unwrap(), std::slice::from_ref(&id));
    let (status, _, _) = call(
        &api,
        event("POST", "/posts/nope/retry", json!({}), json!({}), None),
    )
    .await;
    assert_eq!(status, 404);
}
