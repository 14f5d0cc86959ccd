//! Posts refused before TikTok, each saying why.

use super::*;
use tiktok_publish_core::media::probe::{FrameRate, MediaRefusal, VideoCodec};
use tiktok_publish_core::store::Cause;
use tiktok_publish_domain::media_rules::DurationLimit;

/// The run failed on `PostRefused` before anything was sent to TikTok, and the post says why.
async fn assert_refused(rig: &Rig, id: &PostId, run: &Run, why: &[&str]) {
    assert_eq!(run.error().kind, ErrorKind::PostRefused, "{:?}", run.trace);
    assert_eq!(rig.inits(), 0, "nothing may reach TikTok's init");
    let post = rig.record(id).await;
    assert_eq!(post.state, PostState::Refused);
    let failure = post.failure.unwrap();
    assert_eq!(failure.kind.name(), "PostRefused");
    for needle in why {
        assert!(
            failure.reason.contains(needle),
            "{:?} does not say {needle:?}",
            failure.reason
        );
    }
    assert_eq!(rig.stack.fake.violations(), vec![]);
}

#[tokio::test]
async fn a_privacy_level_the_creator_does_not_offer_is_refused() {
    let rig = rig().await;
    let open_id = rig
        .stack
        .connect_account(AccountSeed {
            privacy_level_options: vec!["FOLLOWER_OF_CREATOR".into(), "SELF_ONLY".into()],
            ..AccountSeed::default()
        })
        .await;
    let video = rig.put_mp4("uploads/private.mp4", 1_000_000, 10).await;
    let id = rig
        .post(
            &open_id,
            video.location,
            options(r#"{"privacy_level":"PUBLIC_TO_EVERYONE"}"#),
        )
        .await;
    let run = rig.drive(&id, vec![]).await;
    assert_refused(
        &rig,
        &id,
        &run,
        &[
            "PUBLIC_TO_EVERYONE",
            "not offered",
            "FOLLOWER_OF_CREATOR, SELF_ONLY",
        ],
    )
    .await;
}

#[tokio::test]
async fn a_caption_over_2200_utf16_units_is_refused() {
    // The edge refuses it when the options are parsed...
    let title = format!("{}a", "😀".repeat(1100));
    let json = serde_json::json!({"privacy_level": "SELF_ONLY", "title": title});
    let err = parse_options_json(json.to_string().as_bytes(), unix_now()).unwrap_err();
    assert_eq!(err.field, "title");
    assert!(err.rule.contains("2201"), "{err}");

    // ...and a record that holds one anyway never reaches TikTok.
    let rig = rig().await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let video = rig.put_mp4("uploads/caption.mp4", 1_000_000, 10).await;
    let mut stored = options(r#"{"privacy_level":"SELF_ONLY"}"#).unwrap();
    stored.title = title;
    assert_eq!(stored.title.encode_utf16().count(), MAX_TITLE_UTF16 + 1);
    let id = rig.post(&open_id, video.location, Some(stored)).await;
    let run = rig.drive(&id, vec![]).await;
    assert_refused(&rig, &id, &run, &["title", "2201", "2200"]).await;
}

#[tokio::test]
async fn an_image_is_refused() {
    let rig = rig().await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.resize(20_000, 0);
    let location = rig.put("uploads/photo.mp4", png).await;
    let id = rig
        .post(
            &open_id,
            location,
            options(r#"{"privacy_level":"SELF_ONLY"}"#),
        )
        .await;
    let run = rig.drive(&id, vec![]).await;
    assert_refused(&rig, &id, &run, &["PNG"]).await;
}

#[tokio::test]
async fn an_empty_object_is_refused() {
    let rig = rig().await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let location = rig.put("uploads/empty.mp4", Vec::new()).await;
    let id = rig
        .post(
            &open_id,
            location,
            options(r#"{"privacy_level":"SELF_ONLY"}"#),
        )
        .await;
    let run = rig.drive(&id, vec![]).await;
    assert_refused(&rig, &id, &run, &["empty", "0 bytes"]).await;
}

#[tokio::test]
async fn a_video_longer_than_the_creator_may_post_is_refused() {
    let rig = rig().await;
    let open_id = rig
        .stack
        .connect_account(AccountSeed {
            max_video_post_duration_sec: 60,
            ..AccountSeed::default()
        })
        .await;
    let video = rig.put_mp4("uploads/long.mp4", 1_000_000, 61).await;
    let id = rig
        .post(
            &open_id,
            video.location,
            options(r#"{"privacy_level":"SELF_ONLY"}"#),
        )
        .await;
    let run = rig.drive(&id, vec![]).await;
    assert_refused(&rig, &id, &run, &["61 s long", "at most 60 s"]).await;
}

#[tokio::test]
async fn options_that_never_arrive_are_refused() {
    let rig = rig_with(PipelineSettings {
        options_wait: Duration::ZERO,
        ..PipelineSettings::default()
    })
    .await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let video = rig.put_mp4("uploads/bare.mp4", 1_000_000, 10).await;
    let id = rig.post(&open_id, video.location, None).await;
    let run = rig.drive(&id, vec![]).await;
    assert_refused(&rig, &id, &run, &["options never arrived"]).await;
    let advice = rig.record(&id).await.failure.unwrap().advice.unwrap();
    assert!(advice.contains("manifest"), "{advice}");
}

#[tokio::test]
async fn an_account_never_connected_refuses_the_post_asking_to_connect_it() {
    let rig = rig().await;
    let video = rig.put_mp4("uploads/stranger.mp4", 1_000_000, 10).await;
    let id = rig
        .post(
            "never-connected",
            video.location,
            options(r#"{"privacy_level":"SELF_ONLY"}"#),
        )
        .await;
    let run = rig.drive(&id, vec![]).await;
    assert_eq!(run.error().kind, ErrorKind::PostRefused);
    assert!(
        rig.stack.fake.calls().is_empty(),
        "nothing may reach TikTok"
    );

    let post = rig.record(&id).await;
    assert_eq!(post.state, PostState::Refused);
    let failure = post.failure.unwrap();
    assert_eq!(failure.kind.name(), "PostRefused");
    assert!(
        failure.reason.contains("never-connected")
            && failure.reason.contains("tiktok-publish connect"),
        "{}",
        failure.reason
    );
}

/// A real video made by `scripts/make-media-fixtures`.
macro_rules! media_fixture {
    ($name:literal) => {
        include_bytes!(concat!("../fixtures/media/", $name)).to_vec()
    };
}

/// The post was refused before TikTok with `refusal`, nothing reached TikTok (not even
/// creator_info: the media checks come first), and the video is still in the bucket.
async fn assert_video_refused(rig: &Rig, id: &PostId, run: &Run, key: &str, refusal: MediaRefusal) {
    assert_eq!(run.error().kind, ErrorKind::PostRefused, "{:?}", run.trace);
    let post = rig.record(id).await;
    assert_eq!(post.state, PostState::Refused);
    let failure = post.failure.unwrap();
    assert_eq!(failure.cause, Cause::VideoRefused { refusal });
    let fake = &rig.stack.fake;
    assert_eq!(rig.inits(), 0, "nothing may reach TikTok's init");
    assert_eq!(fake.call_count(Endpoint::CreatorInfo), 0);
    assert_eq!(fake.call_count(Endpoint::UploadChunk), 0);
    assert_eq!(fake.violations(), vec![]);
    let kept = rig
        .stack
        .s3
        .head_object()
        .bucket(&rig.stack.bucket)
        .key(key)
        .send()
        .await
        .expect("the refused video stays in the bucket");
    assert!(kept.content_length().unwrap_or(0) > 0);
}

#[tokio::test]
async fn a_120_fps_video_is_refused_before_tiktok_and_stays_in_the_bucket() {
    let rig = rig().await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let key = "uploads/fast.mp4";
    let location = rig
        .put(key, media_fixture!("h264-120fps-720x1280.mp4"))
        .await;
    let id = rig
        .post(
            &open_id,
            location,
            options(r#"{"privacy_level":"SELF_ONLY"}"#),
        )
        .await;
    let run = rig.drive(&id, vec![]).await;
    let refusal = MediaRefusal::FrameRate {
        fps: FrameRate::whole(120),
    };
    assert_video_refused(&rig, &id, &run, key, refusal).await;
}

#[tokio::test]
async fn an_av1_draft_is_refused_before_tiktok_and_stays_in_the_bucket() {
    let rig = rig().await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let key = "uploads/av1.mp4";
    let location = rig.put(key, media_fixture!("av1-30fps-720x1280.mp4")).await;
    let id = rig
        .post(&open_id, location, options(r#"{"mode":"draft"}"#))
        .await;
    let run = rig.drive(&id, vec![]).await;
    let refusal = MediaRefusal::Codec {
        codec: VideoCodec::Av1,
    };
    assert_video_refused(&rig, &id, &run, key, refusal).await;
}

#[tokio::test]
async fn an_iphone_hevc_mov_goes_through_to_the_inbox() {
    let rig = rig().await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let location = rig
        .put(
            "uploads/iphone.mov",
            media_fixture!("hevc-hvc1-30fps-720x1280.mov"),
        )
        .await;
    let id = rig
        .post(&open_id, location, options(r#"{"mode":"draft"}"#))
        .await;
    rig.drive(&id, vec![]).await.assert_published();
    assert_eq!(rig.record(&id).await.state, PostState::SentToInbox);
    assert_eq!(rig.stack.fake.call_count(Endpoint::InboxInit), 1);
    assert_eq!(rig.stack.fake.violations(), vec![]);
}

#[tokio::test]
async fn a_draft_longer_than_tiktoks_inbox_limit_is_refused_without_asking_creator_info() {
    let rig = rig().await;
    // The creator's own limit is longer: a draft is held to TikTok's inbox limit instead.
    let open_id = rig
        .stack
        .connect_account(AccountSeed {
            max_video_post_duration_sec: 3600,
            ..AccountSeed::default()
        })
        .await;
    let key = "uploads/long-draft.mp4";
    let video = rig.put_mp4(key, 1_000_000, 601).await;
    let id = rig
        .post(&open_id, video.location, options(r#"{"mode":"draft"}"#))
        .await;
    let run = rig.drive(&id, vec![]).await;
    let refusal = MediaRefusal::TooLong {
        seconds: 601,
        limit: DurationLimit::InboxUpload,
    };
    assert_video_refused(&rig, &id, &run, key, refusal).await;
}
