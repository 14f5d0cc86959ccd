//! The handler over in-memory stores: what TikTok gets back, and that a refused request
//! records nothing.

use std::sync::Arc;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request};
use secrecy::SecretString;
use tiktok_publish_core::config::NoClientSecret;
use tiktok_publish_core::ends::PostEnds;
use tiktok_publish_core::media::VideoLocation;
use tiktok_publish_core::store::{
    PostId, PostRecord, PostSource, PostState, PostStore, UnixTime, WebhookFinalKind,
};
use tiktok_publish_core::tiktok::{ChunkPlan, ChunkPolicy, UploadUrl};
use tiktok_publish_core::webhook::{WebhookSettings, sign};
use tiktok_publish_memory::{MemoryPostStore, MemoryTokenStore};
use tiktok_publish_wiring::{Settings, TikTokWebhook};

const NOW: UnixTime = 1_800_000_000;
const OPEN_ID: &str = "open-1";
const PUBLISH_ID: &str = "v_pub_file~v2-1.123";

fn settings() -> WebhookSettings {
    WebhookSettings::new("our-key", SecretString::from("our-secret".to_owned()))
}

/// An app whose settings are ready (no Secrets Manager), and one processing post.
async fn app() -> (TikTokWebhook, Arc<MemoryPostStore>, PostId) {
    let posts = Arc::new(MemoryPostStore::new());
    let record = PostRecord::new(
        OPEN_ID,
        PostSource::at(VideoLocation {
            bucket: "videos".into(),
            key: "uploads/a.mp4".into(),
            version_id: None,
        }),
        None,
        PostState::Queued,
        NOW - 60,
    );
    posts.create(&record).await.unwrap();
    let plan = ChunkPlan::new(1_000_000, &ChunkPolicy::default()).unwrap();
    let url = UploadUrl::new("http://upload.invalid/u".into());
    posts
        .record_init(&record.id, PUBLISH_ID, &url, NOW - 50, &plan, NOW - 50)
        .await
        .unwrap();
    PostEnds::silent()
        .settle(
            posts
                .transition(
                    &record.id,
                    &[PostState::Queued],
                    PostState::Processing,
                    Default::default(),
                    NOW - 40,
                )
                .await
                .unwrap(),
        )
        .await;
    let app = TikTokWebhook::with_settings(
        posts.clone(),
        PostEnds::silent(),
        Arc::new(MemoryTokenStore::new()),
        settings(),
    );
    (app, posts, record.id)
}

fn complete_event() -> Vec<u8> {
    serde_json::json!({
        "client_key": "our-key",
        "event": "post.publish.complete",
        "create_time": NOW - 1,
        "user_openid": OPEN_ID,
        "content": serde_json::json!({"publish_id": PUBLISH_ID, "publish_type": "DIRECT_PUBLISH"}).to_string(),
    })
    .to_string()
    .into_bytes()
}

fn request(signature: Option<String>, body: Vec<u8>) -> Request {
    let mut builder = lambda_http::http::Request::builder()
        .method("POST")
        .uri("/webhooks/tiktok")
        .header("content-type", "application/json");
    if let Some(signature) = signature {
        builder = builder.header("TikTok-Signature", signature);
    }
    builder.body(Body::from(body)).unwrap()
}

async fn call(app: &TikTokWebhook, request: Request) -> (StatusCode, serde_json::Value) {
    let response = app.handle(request, NOW).await.unwrap();
    let status = response.status();
    let body: serde_json::Value = serde_json::from_slice(response.body().as_ref()).unwrap();
    (status, body)
}

#[tokio::test]
async fn a_signed_final_event_is_recorded_on_its_post() {
    let (app, posts, id) = app().await;
    let body = complete_event();
    let signature = sign(&settings().client_secret, NOW - 1, &body);
    let (status, answer) = call(&app, request(Some(signature), body)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["outcome"], "recorded");
    let post = posts.get(&id).await.unwrap().unwrap();
    let event = post
        .webhook_for_current_upload()
        .expect("the event on the post");
    assert_eq!(event.kind, WebhookFinalKind::Complete);
    assert_eq!(
        post.state,
        PostState::Processing,
        "the status step moves it"
    );
}

#[tokio::test]
async fn an_unsigned_request_is_refused_without_fetching_the_secret() {
    let (app, posts, id) = app().await;
    // No settings and no secret source: a 503 here would mean the secret was asked for.
    let app = TikTokWebhook::new(
        app.posts,
        app.ends,
        app.tokens,
        Arc::new(NoClientSecret),
        Settings::from_pairs([("TIKTOK_CLIENT_KEY", "k")]),
    );
    let (status, answer) = call(&app, request(None, complete_event())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("TikTok-Signature")
    );
    assert!(posts.get(&id).await.unwrap().unwrap().webhook.is_none());
}

#[tokio::test]
async fn a_wrong_signature_is_refused_and_records_nothing() {
    let (app, posts, id) = app().await;
    let body = complete_event();
    let forged = sign(&SecretString::from("not-our-secret".to_owned()), NOW, &body);
    let (status, answer) = call(&app, request(Some(forged), body)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(answer["error"].as_str().unwrap().contains("does not match"));
    assert!(posts.get(&id).await.unwrap().unwrap().webhook.is_none());
}

#[tokio::test]
async fn a_malformed_event_with_a_good_signature_is_a_bad_request() {
    let (app, posts, id) = app().await;
    let body = br#"{"client_key":"our-key","event":"post.publish.complete"}"#.to_vec();
    let signature = sign(&settings().client_secret, NOW, &body);
    let (status, answer) = call(&app, request(Some(signature), body)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(answer["error"].as_str().unwrap().contains("malformed"));
    assert!(posts.get(&id).await.unwrap().unwrap().webhook.is_none());
}

#[tokio::test]
async fn a_valid_event_for_an_unknown_upload_is_acknowledged() {
    let (app, _posts, _id) = app().await;
    let body = String::from_utf8(complete_event())
        .unwrap()
        .replace(PUBLISH_ID, "v_pub_file~other")
        .into_bytes();
    let signature = sign(&settings().client_secret, NOW, &body);
    let (status, answer) = call(&app, request(Some(signature), body)).await;
    assert_eq!(status, StatusCode::OK, "TikTok would retry anything else");
    assert_eq!(answer["outcome"], "no_matching_post");
}
