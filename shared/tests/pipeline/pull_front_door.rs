//! Videos TikTok pulls through the front door: the local media origin (the template's
//! CloudFront Function in Node, https with a test authority) in front of the bucket in moto,
//! and the fake TikTok downloading from it as TikTok does (no redirect, verified prefixes
//! only).

use std::net::{IpAddr, Ipv4Addr};

use secrecy::SecretString;
use sha2::Digest;
use test_support::{MEDIA_HOST, MediaOrigin, unique_name};
use tiktok_publish_core::errors::Classify;
use tiktok_publish_core::media::photo::prepare_photo;
use tiktok_publish_core::pipeline::FrontDoor;
use tiktok_publish_core::store::{Cause, Fact};
use tiktok_publish_core::tiktok::chunk_plan::{
    ChunkPolicy, DEFAULT_MAX_VIDEO_SIZE, MIN_CHUNK_SIZE,
};
use tiktok_publish_core::tiktok::{
    MediaUrl, PhotoPostInfo, PhotoPostMode, PhotoSourceInfo, PrivacyLevel, PublishStatusKind,
    TikTokPosting, VideoSource,
};
use tiktok_publish_domain::media_url::MediaUrlSigner;
use tiktok_publish_testkit::StackSettings;

use super::*;

pub(super) const SIGNING_KEY: &str =
    "pipeline-pull-signing-key-0123456789abcdefghijklmnopqrstuvwxyzAB";

/// A rig whose stack has a front door, and that front door. `verified`: whether the app has
/// verified the front door's media prefix with TikTok.
pub(super) async fn front_door_rig(verified: bool) -> (Rig, MediaOrigin) {
    front_door_rig_with(
        verified,
        PipelineSettings::default(),
        VideoSource::PullFromUrl,
    )
    .await
}

/// As [`front_door_rig`], with these settings and default source.
async fn front_door_rig_with(
    verified: bool,
    settings: PipelineSettings,
    default_source: VideoSource,
) -> (Rig, MediaOrigin) {
    let bucket = unique_name("pulled");
    let origin = MediaOrigin::start(&bucket, SIGNING_KEY, None).expect("the media origin starts");
    let fake = FakeSettings {
        processing_time: Duration::from_millis(300),
        trusted_ca_pems: vec![origin.ca_pem().expect("the origin's CA")],
        resolve: vec![(MEDIA_HOST.to_owned(), IpAddr::V4(Ipv4Addr::LOCALHOST))],
        ..FakeSettings::default()
    };
    let stack_settings = StackSettings {
        fake,
        versioned: true,
        bucket: Some(bucket),
    };
    let stack = TestStack::start_with("pulled", stack_settings).await;
    if verified {
        stack
            .fake
            .verify_url_prefix(&origin.media_url_prefix())
            .expect("the media prefix is a URL prefix TikTok takes");
    }
    let signer = MediaUrlSigner::new(&origin.host(), SecretString::from(SIGNING_KEY))
        .expect("the origin's host");
    let pipeline = stack.pipeline(PipelineSettings {
        front_door: Some(FrontDoor {
            signer,
            default_source,
        }),
        ..settings
    });
    (Rig { stack, pipeline }, origin)
}

fn pull_requested(post: &PostRecord) -> bool {
    post.history
        .iter()
        .any(|h| matches!(h.fact, Some(Fact::PullRequested { .. })))
}

#[tokio::test]
async fn a_video_is_pulled_by_tiktok_through_the_front_door_byte_exact() {
    let (rig, _origin) = front_door_rig(true).await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let video = rig
        .put_mp4("uploads/pulled clip #1.mp4", 3_000_000, 30)
        .await;
    let id = rig
        .post(
            &open_id,
            video.location,
            options(r#"{"privacy_level":"SELF_ONLY"}"#),
        )
        .await;

    let run = rig.drive(&id, vec![]).await;
    run.assert_published();
    assert_eq!(
        run.trace.first().map(String::as_str),
        Some("Init:pulled"),
        "{:?}",
        run.trace
    );

    let post = rig.record(&id).await;
    assert_eq!(post.state, PostState::Published);
    assert!(pull_requested(&post), "{:?}", post.history);
    assert!(post.upload.is_none(), "a pull has no upload session");
    let fake = &rig.stack.fake;
    let pulled = fake.pulled(post.publish_id.as_deref().expect("a publish id"));
    assert_eq!(pulled.len(), 1, "{pulled:?}");
    assert_eq!(pulled[0].bytes, 3_000_000);
    assert_eq!(pulled[0].sha256, video.sha256, "TikTok got the exact bytes");
    assert_eq!(fake.call_count(Endpoint::UploadChunk), 0);
    assert_eq!(fake.violations(), vec![]);
}

#[tokio::test]
async fn a_draft_is_pulled_into_the_creators_inbox() {
    let (rig, _origin) = front_door_rig(true).await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let video = rig.put_mp4("uploads/pulled-draft.mp4", 1_500_000, 20).await;
    let id = rig
        .post(&open_id, video.location, options(r#"{"mode":"draft"}"#))
        .await;

    rig.drive(&id, vec![]).await.assert_published();

    let post = rig.record(&id).await;
    assert_eq!(post.state, PostState::SentToInbox);
    let pulled = rig.stack.fake.pulled(post.publish_id.as_deref().unwrap());
    assert_eq!(
        pulled.iter().map(|p| p.sha256.clone()).collect::<Vec<_>>(),
        vec![video.sha256]
    );
    assert_eq!(rig.stack.fake.call_count(Endpoint::InboxInit), 1);
    assert_eq!(rig.stack.fake.violations(), vec![]);
}

#[tokio::test]
async fn the_options_can_keep_an_upload_on_a_stack_that_pulls() {
    let (rig, _origin) = front_door_rig(true).await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let video = rig.put_mp4("uploads/uploaded.mp4", 2_000_000, 30).await;
    let id = rig
        .post(
            &open_id,
            video.location,
            options(r#"{"privacy_level":"SELF_ONLY","source":"FILE_UPLOAD"}"#),
        )
        .await;

    rig.drive(&id, vec![]).await.assert_published();

    let post = rig.record(&id).await;
    assert!(!pull_requested(&post));
    assert!(
        rig.stack
            .fake
            .pulled(post.publish_id.as_deref().unwrap())
            .is_empty()
    );
    assert_eq!(rig.stack.fake.call_count(Endpoint::UploadChunk), 1);
    assert_eq!(rig.stack.fake.violations(), vec![]);
}

#[tokio::test]
async fn a_front_door_tiktok_has_not_verified_is_left_for_an_upload_and_noted() {
    let (rig, _origin) = front_door_rig(false).await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let video = rig.put_mp4("uploads/unverified.mp4", 2_000_000, 30).await;
    let id = rig
        .post(
            &open_id,
            video.location,
            options(r#"{"privacy_level":"SELF_ONLY"}"#),
        )
        .await;

    rig.drive(&id, vec![]).await.assert_published();

    let post = rig.record(&id).await;
    assert_eq!(post.state, PostState::Published);
    let refused = post.history.iter().find_map(|h| match &h.fact {
        Some(Fact::PullRefused { code }) => Some(code.clone()),
        _ => None,
    });
    assert_eq!(refused.as_deref(), Some("url_ownership_unverified"));
    let fake = &rig.stack.fake;
    assert!(fake.pulled(post.publish_id.as_deref().unwrap()).is_empty());
    assert_eq!(
        fake.call_count(Endpoint::DirectInit),
        2,
        "the refused pull, then the upload"
    );
    assert_eq!(fake.call_count(Endpoint::UploadChunk), 1);
    assert_eq!(fake.violations(), vec![]);
}

#[tokio::test]
async fn a_pull_the_options_insist_on_fails_with_tiktoks_code_and_advice() {
    let (rig, _origin) = front_door_rig(false).await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let video = rig.put_mp4("uploads/must-pull.mp4", 2_000_000, 30).await;
    let id = rig
        .post(
            &open_id,
            video.location,
            options(r#"{"privacy_level":"SELF_ONLY","source":"PULL_FROM_URL"}"#),
        )
        .await;

    let run = rig.drive(&id, vec![]).await;
    assert_eq!(
        run.error().kind,
        ErrorKind::TikTokRejected,
        "{:?}",
        run.trace
    );

    let post = rig.record(&id).await;
    assert_eq!(post.state, PostState::Failed);
    let failure = post.failure.expect("the failure is recorded");
    assert!(
        matches!(&failure.cause, Cause::TikTokRefused { code, .. } if code == "url_ownership_unverified"),
        "{:?}",
        failure.cause
    );
    assert!(
        failure
            .advice
            .as_deref()
            .is_some_and(|a| a.contains("MediaUrlPrefix")),
        "{:?}",
        failure.advice
    );
    assert_eq!(rig.stack.fake.call_count(Endpoint::UploadChunk), 0);
    assert_eq!(rig.stack.fake.violations(), vec![]);
}

#[tokio::test]
async fn a_refused_chunked_init_is_pulled_instead_once() {
    refused_chunked_init_is_pulled("invalid_params").await;
}

/// TikTok's pages spell the code both ways.
#[tokio::test]
async fn a_chunked_init_refused_as_invalid_param_is_pulled_too() {
    refused_chunked_init_is_pulled("invalid_param").await;
}

async fn refused_chunked_init_is_pulled(code: &str) {
    let settings = PipelineSettings {
        chunk_policy: ChunkPolicy::new(MIN_CHUNK_SIZE, DEFAULT_MAX_VIDEO_SIZE).unwrap(),
        ..PipelineSettings::default()
    };
    let (rig, _origin) = front_door_rig_with(true, settings, VideoSource::FileUpload).await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let video = rig.put_mp4("uploads/chunked.mp4", 17_000_000, 10).await;
    let id = rig
        .post(
            &open_id,
            video.location,
            // A stack that uploads by default: the refusal is what turns it to a pull.
            options(r#"{"privacy_level":"SELF_ONLY"}"#),
        )
        .await;
    rig.stack.fake.inject(Fault::HttpError {
        endpoint: Endpoint::DirectInit,
        status: 400,
        code: code.into(),
        times: 1,
    });

    rig.drive(&id, vec![]).await.assert_published();

    let post = rig.record(&id).await;
    let facts: Vec<&Fact> = post
        .history
        .iter()
        .filter_map(|h| h.fact.as_ref())
        .collect();
    assert!(facts.contains(&&Fact::ChunkedInitRefused), "{facts:?}");
    assert!(pull_requested(&post));
    let pulled = rig.stack.fake.pulled(post.publish_id.as_deref().unwrap());
    assert_eq!(pulled.len(), 1);
    assert_eq!(pulled[0].sha256, video.sha256);
    assert_eq!(rig.stack.fake.call_count(Endpoint::UploadChunk), 0);
    assert_eq!(rig.stack.fake.violations(), vec![]);
}

/// An image of `width` x `height` in `format`, with a gradient to encode.
pub(super) fn image_file(width: u32, height: u32, format: image::ImageFormat) -> Vec<u8> {
    let pixels = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x * y) % 256) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(pixels)
        .write_to(&mut out, format)
        .expect("encodes");
    out.into_inner()
}

/// Puts `bytes` under `key`; the signed media URL of that version.
async fn put_photo(rig: &Rig, signer: &MediaUrlSigner, key: &str, bytes: Vec<u8>) -> MediaUrl {
    let put = rig
        .stack
        .s3
        .put_object()
        .bucket(&rig.stack.bucket)
        .key(key)
        .body(bytes.into())
        .send()
        .await
        .expect("PutObject");
    let version = put.version_id().expect("a versioned bucket");
    MediaUrl::new(
        signer
            .sign(key, version, unix_now() + 600)
            .expect("a served key"),
    )
}

#[tokio::test]
async fn a_carousel_with_a_converted_png_is_pulled_and_a_finished_pull_is_not_cancellable() {
    let (rig, origin) = front_door_rig(true).await;
    let signer = MediaUrlSigner::new(&origin.host(), SecretString::from(SIGNING_KEY)).unwrap();
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    // TikTok takes no PNG: the stack writes it again as JPEG first.
    let png = image_file(800, 600, image::ImageFormat::Png);
    let converted = prepare_photo(&png).expect("a PNG converts");
    let photos = [
        (
            "uploads/carousel/1.jpg",
            image_file(1080, 1350, image::ImageFormat::Jpeg),
        ),
        (
            "uploads/carousel/2.webp",
            image_file(1080, 1080, image::ImageFormat::WebP),
        ),
        ("uploads/carousel/3.jpg", converted.bytes),
    ];
    let mut urls = Vec::new();
    let mut hashes = Vec::new();
    for (key, bytes) in photos {
        hashes.push(hex::encode(sha2::Sha256::digest(&bytes)));
        urls.push(put_photo(&rig, &signer, key, bytes).await);
    }
    let token = rig
        .stack
        .tokens()
        .fresh_access_token(&open_id)
        .await
        .expect("a token");
    let token = token.secret();
    let tiktok = &rig.stack.tiktok;
    let info = PhotoPostInfo {
        title: "three photos".into(),
        description: "a carousel from the stack".into(),
        privacy_level: Some(PrivacyLevel::SelfOnly),
        disable_comment: true,
        auto_add_music: true,
        brand_content_toggle: false,
        brand_organic_toggle: false,
    };
    let source = PhotoSourceInfo {
        photo_images: urls,
        photo_cover_index: 1,
    };
    let init = tiktok
        .init_photo_post(token, PhotoPostMode::DirectPost, &info, &source)
        .await
        .expect("TikTok takes the carousel");
    let mut status = None;
    for _ in 0..100 {
        let now = tiktok
            .fetch_status(token, &init.publish_id)
            .await
            .expect("status");
        if now.status.is_final() {
            status = Some(now);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status = status.expect("the carousel reaches a final status");
    assert_eq!(
        status.status,
        PublishStatusKind::PublishComplete,
        "{status:?}"
    );
    let pulled: Vec<String> = rig
        .stack
        .fake
        .pulled(&init.publish_id)
        .into_iter()
        .map(|p| p.sha256)
        .collect();
    assert_eq!(
        pulled, hashes,
        "TikTok pulled each photo, byte-exact, in order"
    );

    // Cancel is only for a pull still downloading: TikTok's code says so, and it is a refusal.
    let refused = tiktok
        .cancel_publish(token, &init.publish_id)
        .await
        .expect_err("a finished pull cannot be cancelled");
    assert_eq!(refused.code(), Some("publish_not_cancellable"));
    assert_eq!(refused.kind(), ErrorKind::TikTokRejected, "{refused:?}");
    assert_eq!(rig.stack.fake.violations(), vec![]);
}
