//! The table of checks, one test a row, on real files made by `scripts/make-media-fixtures`
//! (ffmpeg): each asserts the typed refusal and the value measured, never the wording.

use std::time::Duration;

use bytes::Bytes;

use super::*;
use crate::media::probe::{Container, FrameRate, ProbeError, ProbeLimits, VideoCodec, probe};
use crate::media::{ByteStream, SourceError, VideoLocation, VideoObject, VideoSource};
use tiktok_publish_domain::cause::Cause;
use tiktok_publish_domain::media_rules::INBOX_UPLOAD_MAX_SECS;

/// A committed fixture's bytes.
macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/media/",
            $name
        ))
    };
}

/// One file in memory, read by range as S3 would serve it.
struct InMemory(&'static [u8]);

#[async_trait::async_trait]
impl VideoSource for InMemory {
    async fn head(&self, location: &VideoLocation) -> Result<VideoObject, SourceError> {
        Ok(VideoObject {
            location: location.clone(),
            size: self.0.len() as u64,
            content_type: None,
            etag: "\"fixture\"".into(),
        })
    }

    async fn read_range(
        &self,
        _object: &VideoObject,
        first: u64,
        last: u64,
    ) -> Result<ByteStream, SourceError> {
        let bytes = Bytes::from_static(&self.0[first as usize..=last as usize]);
        Ok(Box::pin(futures::stream::iter([Ok(bytes)])))
    }
}

async fn probed(bytes: &'static [u8]) -> Result<VideoProbe, ProbeError> {
    let source = InMemory(bytes);
    let location = VideoLocation {
        bucket: "videos".into(),
        key: "uploads/fixture".into(),
        version_id: None,
    };
    let object = source.head(&location).await.unwrap();
    probe(&source, &object, &ProbeLimits::default()).await
}

/// The refusal of a file the probe reads as a video, from the table's header rules.
async fn refusal_of(bytes: &'static [u8]) -> MediaRefusal {
    let video = probed(bytes).await.unwrap();
    fits_tiktok(&video, None).unwrap_err()
}

/// The refusal of a file the probe says is no video at all.
async fn not_a_video(bytes: &'static [u8]) -> MediaRefusal {
    match probed(bytes).await {
        Err(ProbeError::NotAVideo { refusal }) => refusal,
        other => panic!("expected NotAVideo, got {other:?}"),
    }
}

#[tokio::test]
async fn h264_mp4_at_30_fps_and_720x1280_is_accepted() {
    let video = probed(fixture!("h264-30fps-720x1280.mp4")).await.unwrap();
    assert_eq!(video.container, Container::Mp4);
    assert_eq!(video.codec, Some(VideoCodec::H264));
    assert_eq!(video.frame_rate, Some(FrameRate::whole(30)));
    assert_eq!((video.width, video.height), (Some(720), Some(1280)));
    assert_eq!(video.duration, Some(Duration::from_millis(200)));
    assert_eq!(
        fits_tiktok(&video, Some(&DurationLimit::InboxUpload)),
        Ok(())
    );
}

#[tokio::test]
async fn hevc_in_mov_tagged_hvc1_as_iphones_write_it_is_accepted() {
    let video = probed(fixture!("hevc-hvc1-30fps-720x1280.mov"))
        .await
        .unwrap();
    assert_eq!(video.container, Container::QuickTime);
    assert_eq!(video.codec, Some(VideoCodec::H265));
    assert_eq!(video.frame_rate, Some(FrameRate::whole(30)));
    assert_eq!((video.width, video.height), (Some(720), Some(1280)));
    assert_eq!(fits_tiktok(&video, None), Ok(()));
}

#[tokio::test]
async fn vp9_in_webm_is_accepted() {
    let video = probed(fixture!("vp9-30fps-640x360.webm")).await.unwrap();
    assert_eq!(video.container, Container::WebM);
    assert_eq!(video.codec, Some(VideoCodec::Vp9));
    assert_eq!(video.frame_rate, Some(FrameRate::whole(30)));
    assert_eq!((video.width, video.height), (Some(640), Some(360)));
    assert!(video.duration.is_some_and(|d| d <= Duration::from_secs(1)));
    assert_eq!(
        fits_tiktok(&video, Some(&DurationLimit::InboxUpload)),
        Ok(())
    );
}

#[tokio::test]
async fn av1_in_mp4_is_refused_naming_the_codec() {
    assert_eq!(
        refusal_of(fixture!("av1-30fps-720x1280.mp4")).await,
        MediaRefusal::Codec {
            codec: VideoCodec::Av1
        }
    );
}

#[tokio::test]
async fn a_120_fps_video_is_refused_naming_its_frame_rate() {
    assert_eq!(
        refusal_of(fixture!("h264-120fps-720x1280.mp4")).await,
        MediaRefusal::FrameRate {
            fps: FrameRate::whole(120)
        }
    );
}

#[tokio::test]
async fn a_240x426_video_is_refused_naming_its_size() {
    assert_eq!(
        refusal_of(fixture!("h264-30fps-240x426.mp4")).await,
        MediaRefusal::PictureSize {
            width: 240,
            height: 426
        }
    );
}

#[tokio::test]
async fn a_5000x5000_video_is_refused_naming_its_size() {
    assert_eq!(
        refusal_of(fixture!("h264-30fps-5000x5000.mp4")).await,
        MediaRefusal::PictureSize {
            width: 5000,
            height: 5000
        }
    );
}

#[tokio::test]
async fn an_audio_only_file_is_refused_naming_its_tracks() {
    assert_eq!(
        not_a_video(fixture!("audio-only.mp4")).await,
        MediaRefusal::NoVideoTrack {
            container: "MP4".into(),
            tracks: vec!["soun".into()]
        }
    );
}

#[tokio::test]
async fn a_truncated_file_is_refused_naming_the_box_cut_off() {
    let bytes = fixture!("truncated.mp4");
    match not_a_video(bytes).await {
        MediaRefusal::Truncated {
            box_type: Some(kind),
            declared: Some(declared),
            at,
            available,
        } => {
            assert_eq!(kind, "mdat");
            assert_eq!(at + available, bytes.len() as u64);
            assert!(declared > available, "{declared} <= {available}");
        }
        other => panic!("expected Truncated, got {other:?}"),
    }
}

#[tokio::test]
async fn a_draft_longer_than_tiktoks_inbox_limit_is_refused() {
    let mut video = probed(fixture!("h264-30fps-720x1280.mp4")).await.unwrap();
    video.duration = Some(Duration::from_secs(INBOX_UPLOAD_MAX_SECS + 1));
    assert_eq!(
        fits_tiktok(&video, Some(&DurationLimit::InboxUpload)),
        Err(MediaRefusal::TooLong {
            seconds: INBOX_UPLOAD_MAX_SECS + 1,
            limit: DurationLimit::InboxUpload
        })
    );
    // A direct post's limit is the creator's, checked once creator_info has answered.
    let creator = DurationLimit::Creator {
        creator: "Ana (@ana)".into(),
        max_secs: 900,
    };
    assert_eq!(fits_tiktok(&video, None), Ok(()));
    assert_eq!(duration_fits_limit(&video, &creator), Ok(()));
}

#[tokio::test]
async fn what_the_headers_do_not_say_is_left_to_tiktok() {
    let mut video = probed(fixture!("h264-30fps-720x1280.mp4")).await.unwrap();
    video.codec = None;
    video.frame_rate = None;
    video.width = None;
    video.height = None;
    video.duration = None;
    assert_eq!(
        fits_tiktok(&video, Some(&DurationLimit::InboxUpload)),
        Ok(())
    );
}

#[test]
fn a_creators_duration_limit_keeps_its_cause_and_other_refusals_are_video_refused() {
    let creator = DurationLimit::Creator {
        creator: "Ana (@ana)".into(),
        max_secs: 60,
    };
    assert_eq!(
        Cause::from(MediaRefusal::TooLong {
            seconds: 75,
            limit: creator
        }),
        Cause::VideoTooLong {
            seconds: 75,
            creator: "Ana (@ana)".into(),
            max_secs: 60
        }
    );
    let inbox = MediaRefusal::TooLong {
        seconds: 700,
        limit: DurationLimit::InboxUpload,
    };
    assert_eq!(
        Cause::from(inbox.clone()),
        Cause::VideoRefused { refusal: inbox }
    );
}
