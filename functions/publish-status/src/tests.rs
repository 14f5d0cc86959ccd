//! The handler against moto and the strict fake TikTok.

use std::sync::Arc;

use fake_tiktok::{AccountSeed, FakeSettings, FakeTikTok};
use lambda_runtime::{Context, Diagnostic};
use secrecy::SecretString;
use test_support::{moto, unique_name};
use tiktok_publish_core::config::TikTokConfig;
use tiktok_publish_core::errors::ErrorKind;
use tiktok_publish_core::media::VideoLocation;
use tiktok_publish_core::media::s3::S3VideoSource;
use tiktok_publish_core::pipeline::options::parse_options_json;
use tiktok_publish_core::pipeline::{Pipeline, PipelineSettings};
use tiktok_publish_core::store::{
    AllowanceLimits, DynamoAllowanceStore, DynamoPostStore, DynamoTokenStore, PostRecord,
    PostSource, PostState, PostStore, TableNames, create_tables, unix_now,
};
use tiktok_publish_core::tiktok::{REQUIRED_SCOPES, TikTokClient};
use tiktok_publish_core::tokens::{TokenService, TokenSettings};

use super::*;

const REDIRECT_URI: &str = "http://127.0.0.1:9/oauth/callback";

struct Rig {
    fake: FakeTikTok,
    pipeline: LazyPipeline,
    posts: Arc<DynamoPostStore>,
    post: PostRecord,
}

/// A connected account, a small MP4 in a fresh bucket and its post, queued or initialised.
async fn rig(initialised: bool) -> Rig {
    let fake = FakeTikTok::start(FakeSettings::default()).await.unwrap();
    let moto = moto();
    let dynamodb = moto.dynamodb().await;
    let tables = TableNames::with_prefix(&unique_name("status"));
    create_tables(&dynamodb, &tables).await.unwrap();
    let s3 = moto.s3().await;
    let bucket = unique_name("videos");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    s3.put_object()
        .bucket(&bucket)
        .key("uploads/clip.mp4")
        .body(tiny_mp4().into())
        .send()
        .await
        .unwrap();

    let config = TikTokConfig::new(
        fake.settings().client_key.clone(),
        SecretString::from(fake.settings().client_secret.clone()),
    )
    .with_base_urls(fake.base_url(), fake.base_url());
    let tiktok = TikTokClient::new(config).unwrap();
    let posts = Arc::new(DynamoPostStore::new(dynamodb.clone(), &tables.posts));
    let tokens = TokenService::new(
        Arc::new(DynamoTokenStore::new(dynamodb.clone(), &tables.accounts)),
        Arc::new(tiktok.clone()),
        TokenSettings::default(),
    );
    let open_id = fake.seed_account(AccountSeed::default());
    let code = fake.mint_code(&open_id, &REQUIRED_SCOPES, REDIRECT_URI);
    tokens.connect(&code, REDIRECT_URI).await.unwrap();

    let options = parse_options_json(br#"{"privacy_level":"SELF_ONLY"}"#, unix_now()).unwrap();
    let location = VideoLocation {
        bucket,
        key: "uploads/clip.mp4".into(),
        version_id: None,
    };
    let post = PostRecord::new(
        open_id,
        PostSource::at(location),
        Some(options),
        PostState::Queued,
        unix_now(),
    );
    posts.create(&post).await.unwrap();
    let pipeline = Pipeline {
        posts: posts.clone(),
        tokens,
        tiktok,
        source: Arc::new(S3VideoSource::new(s3)),
        allowances: Arc::new(DynamoAllowanceStore::new(
            dynamodb,
            &tables.allowances,
            AllowanceLimits::default(),
        )),
        settings: PipelineSettings::default(),
    };
    if initialised {
        pipeline.init_upload(post.id.as_str()).await.unwrap();
    }
    Rig {
        fake,
        pipeline: LazyPipeline::ready(pipeline),
        posts,
        post,
    }
}

/// `ftyp`, a `moov` of one video track lasting 5 s, and a little `mdat`: enough for the probe.
fn tiny_mp4() -> Vec<u8> {
    fn boxed(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let len = u32::try_from(body.len() + 8).unwrap();
        [&len.to_be_bytes()[..], kind, body].concat()
    }
    let mut mvhd = vec![0u8; 100];
    mvhd[12..16].copy_from_slice(&1000u32.to_be_bytes());
    mvhd[16..20].copy_from_slice(&5000u32.to_be_bytes());
    let hdlr = [&[0u8; 8][..], b"vide", &[0u8; 13]].concat();
    let trak = boxed(b"trak", &boxed(b"mdia", &boxed(b"hdlr", &hdlr)));
    let moov = boxed(b"moov", &[boxed(b"mvhd", &mvhd), trak].concat());
    let ftyp = boxed(b"ftyp", b"isom\0\0\x02\0isomiso2mp41");
    [ftyp, moov, boxed(b"mdat", &[7u8; 4096])].concat()
}

fn event(payload: Value) -> LambdaEvent<Value> {
    LambdaEvent::new(payload, Context::default())
}

#[tokio::test]
async fn malformed_input_is_internal_and_changes_nothing() {
    let rig = rig(false).await;
    let id = rig.post.id.as_str();
    for payload in [
        serde_json::json!({"post_id": id}),
        serde_json::json!({"post_id": id, "action": "cancel"}),
        serde_json::json!({"post_id": id, "action": "record_failure"}),
        serde_json::json!({"post_id": id, "action": "record_failure", "error": "boom"}),
        serde_json::json!({"action": "status"}),
    ] {
        let err = handler(&rig.pipeline, event(payload.clone()))
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Internal, "{payload}: {err}");
        let diagnostic: Diagnostic = err.into();
        assert_eq!(diagnostic.error_type, "Internal");
    }
    assert_eq!(rig.fake.calls().len(), 1, "only the rig's code exchange");
    let post = rig.posts.get(&rig.post.id).await.unwrap().unwrap();
    assert_eq!(post.state, PostState::Queued);
    assert_eq!(post.history.len(), 1);
}

#[tokio::test]
async fn a_post_still_uploading_goes_back_to_upload_without_asking_tiktok() {
    let rig = rig(true).await;
    let calls = rig.fake.calls().len();
    let answer = handler(
        &rig.pipeline,
        event(serde_json::json!({"post_id": rig.post.id.as_str(), "action": "status"})),
    )
    .await
    .unwrap();
    let Answer::Status(status) = &answer else {
        panic!("{answer:?}");
    };
    assert!(!status.is_final && !status.uploaded);
    assert_eq!(status.wait_seconds, 0);
    let json = serde_json::to_value(&answer).unwrap();
    assert_eq!(json["final"], false);
    assert_eq!(json["uploaded"], false);
    assert_eq!(rig.fake.calls().len(), calls);
}

#[tokio::test]
async fn record_failure_fails_the_post_with_the_error_name() {
    let rig = rig(false).await;
    let answer = handler(
        &rig.pipeline,
        event(serde_json::json!({
            "post_id": rig.post.id.as_str(),
            "action": "record_failure",
            "error": {"Error": "TikTokUnavailable", "Cause": "TikTokUnavailable: HTTP 503"},
        })),
    )
    .await
    .unwrap();
    assert_eq!(
        answer,
        Answer::Recorded {
            post_id: rig.post.id.to_string()
        }
    );
    let post = rig.posts.get(&rig.post.id).await.unwrap().unwrap();
    assert_eq!(post.state, PostState::Failed);
    let failure = post.failure.unwrap();
    assert_eq!(failure.kind, "TikTokUnavailable");
    assert!(failure.reason.contains("HTTP 503"), "{}", failure.reason);
    assert!(failure.advice.is_some());
}
