//! The S3 video source against moto: HeadObject, ranged reads, and pinning to the object
//! HeadObject saw. Also the test-video helpers `transfer.rs` shares.

use futures::TryStreamExt;
use tiktok_publish_adapters::S3VideoSource;
use tiktok_publish_core::errors::{Classify, ErrorKind};
use tiktok_publish_core::media::{SourceError, VideoLocation, VideoObject, VideoSource};
pub use tiktok_publish_testkit::new_bucket;
use tiktok_publish_testkit::video::{pseudo_random_bytes, write_video};

/// A video put into moto: where it is and the SHA-256 of its bytes.
#[derive(Debug, Clone)]
pub struct TestVideo {
    pub location: VideoLocation,
    pub size: u64,
    pub sha256: String,
    pub etag: String,
    pub version_id: Option<String>,
}

/// Writes `size` bytes of video `seed` ([`pseudo_random_bytes`]) to `bucket/key`, one part
/// at a time.
pub async fn put_video(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    size: u64,
    seed: u64,
    content_type: &str,
) -> TestVideo {
    let written = write_video(s3, bucket, key, content_type, size, |offset, len| {
        pseudo_random_bytes(seed, offset, len)
    })
    .await
    .unwrap();
    TestVideo {
        location: VideoLocation {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            version_id: None,
        },
        size,
        sha256: written.sha256,
        etag: written.etag,
        version_id: written.version_id.filter(|v| v != "null"),
    }
}

pub async fn s3() -> aws_sdk_s3::Client {
    test_support::moto().s3().await
}

async fn read_all(
    source: &S3VideoSource,
    object: &VideoObject,
    first: u64,
    last: u64,
) -> Result<Vec<u8>, SourceError> {
    let stream = source.read_range(object, first, last).await?;
    let chunks: Vec<bytes::Bytes> = stream.try_collect().await.unwrap();
    Ok(chunks.concat())
}

#[tokio::test]
async fn head_reports_size_etag_and_version_on_a_versioned_bucket() {
    let s3 = s3().await;
    let bucket = new_bucket(&s3, true).await;
    let video = put_video(&s3, &bucket, "in/clip.mp4", 1_000, 1, "video/mp4").await;
    assert!(video.version_id.is_some(), "moto gave no version id");

    let object = S3VideoSource::new(s3).head(&video.location).await.unwrap();
    assert_eq!(object.size, 1_000);
    assert_eq!(object.etag, video.etag);
    assert_eq!(object.location.version_id, video.version_id);
    assert_eq!(object.content_type.as_deref(), Some("video/mp4"));
    assert_eq!(object.location.key, "in/clip.mp4");
}

#[tokio::test]
async fn head_on_an_unversioned_bucket_has_no_version() {
    let s3 = s3().await;
    let bucket = new_bucket(&s3, false).await;
    let video = put_video(&s3, &bucket, "clip.mov", 4_321, 2, "video/quicktime").await;

    let object = S3VideoSource::new(s3).head(&video.location).await.unwrap();
    assert_eq!(
        (object.size, object.etag.as_str()),
        (4_321, video.etag.as_str())
    );
    assert_eq!(object.location.version_id, None);
}

#[tokio::test]
async fn ranged_reads_are_byte_exact_at_every_edge() {
    let s3 = s3().await;
    let bucket = new_bucket(&s3, true).await;
    let size: u64 = 3 * 1024 * 1024 + 7;
    let video = put_video(&s3, &bucket, "edges.mp4", size, 3, "video/mp4").await;
    let source = S3VideoSource::new(s3);
    let object = source.head(&video.location).await.unwrap();

    for (first, last) in [
        (0, 0),
        (0, size - 1),
        (size - 1, size - 1),
        (1, 1_000),
        (size - 1_000, size - 1),
        (1_048_575, 2_097_152),
        (7, 8),
    ] {
        let got = read_all(&source, &object, first, last).await.unwrap();
        let want = pseudo_random_bytes(3, first, (last - first + 1) as usize);
        assert!(got == want, "bytes {first}-{last} differ");
    }
}

#[tokio::test]
async fn a_range_outside_the_object_is_refused_before_any_request() {
    let s3 = s3().await;
    let bucket = new_bucket(&s3, false).await;
    let video = put_video(&s3, &bucket, "small.mp4", 100, 4, "video/mp4").await;
    let source = S3VideoSource::new(s3);
    let object = source.head(&video.location).await.unwrap();
    for (first, last) in [(0, 100), (50, 49)] {
        let err = source.read_range(&object, first, last).await.err().unwrap();
        assert!(matches!(err, SourceError::Refused { .. }), "{err}");
    }
}

async fn replaced_between_head_and_read_is_changed(versioned: bool, same_bytes: bool) {
    let s3 = s3().await;
    let bucket = new_bucket(&s3, versioned).await;
    let video = put_video(&s3, &bucket, "replaced.mp4", 2_000, 5, "video/mp4").await;
    let source = S3VideoSource::new(s3.clone());
    let object = source.head(&video.location).await.unwrap();
    // The first chunk goes out fine...
    assert_eq!(
        read_all(&source, &object, 0, 999).await.unwrap().len(),
        1_000
    );

    // ...then the user uploads another video under the same key.
    let seed = if same_bytes { 5 } else { 6 };
    put_video(&s3, &bucket, "replaced.mp4", 2_000, seed, "video/mp4").await;

    let err = source
        .read_range(&object, 1_000, 1_999)
        .await
        .err()
        .unwrap();
    assert!(matches!(err, SourceError::Changed { .. }), "{err}");
    assert_eq!(err.kind(), ErrorKind::VideoChanged);
}

#[tokio::test]
async fn a_replaced_object_is_changed_on_a_versioned_bucket() {
    replaced_between_head_and_read_is_changed(true, false).await;
}

#[tokio::test]
async fn a_replaced_object_is_changed_on_an_unversioned_bucket() {
    replaced_between_head_and_read_is_changed(false, false).await;
}

#[tokio::test]
async fn a_re_upload_of_the_same_bytes_is_a_new_version_and_changed() {
    replaced_between_head_and_read_is_changed(true, true).await;
}

#[tokio::test]
async fn a_location_naming_a_superseded_version_reads_as_changed() {
    let s3 = s3().await;
    let bucket = new_bucket(&s3, true).await;
    let old = put_video(&s3, &bucket, "v.mp4", 1_500, 7, "video/mp4").await;
    put_video(&s3, &bucket, "v.mp4", 2_500, 8, "video/mp4").await;
    let source = S3VideoSource::new(s3);

    let location = VideoLocation {
        version_id: old.version_id.clone(),
        ..old.location.clone()
    };
    let object = source.head(&location).await.unwrap();
    assert_eq!(
        (object.size, &object.location.version_id),
        (1_500, &old.version_id)
    );
    let err = source.read_range(&object, 0, 99).await.err().unwrap();
    assert!(matches!(err, SourceError::Changed { .. }), "{err}");
}

#[tokio::test]
async fn a_missing_key_is_not_found() {
    let s3 = s3().await;
    let bucket = new_bucket(&s3, false).await;
    let source = S3VideoSource::new(s3);
    let location = VideoLocation {
        bucket: bucket.clone(),
        key: "nothing-here.mp4".into(),
        version_id: None,
    };
    let err = source.head(&location).await.unwrap_err();
    assert!(matches!(err, SourceError::NotFound { .. }), "{err}");
    assert_eq!(err.kind(), ErrorKind::VideoChanged);
}

#[tokio::test]
async fn an_object_deleted_after_head_is_not_found() {
    for versioned in [false, true] {
        let s3 = s3().await;
        let bucket = new_bucket(&s3, versioned).await;
        let video = put_video(&s3, &bucket, "gone.mp4", 500, 9, "video/mp4").await;
        let source = S3VideoSource::new(s3.clone());
        let object = source.head(&video.location).await.unwrap();
        s3.delete_object()
            .bucket(&bucket)
            .key("gone.mp4")
            .send()
            .await
            .unwrap();
        let err = source.read_range(&object, 0, 499).await.err().unwrap();
        assert!(
            matches!(err, SourceError::NotFound { .. }),
            "versioned={versioned}: {err}"
        );
    }
}

#[tokio::test]
async fn an_unreachable_s3_is_unavailable() {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(format!("http://127.0.0.1:{}", test_support::free_port()))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await;
    let source = S3VideoSource::new(tiktok_publish_adapters::s3_client(&config));
    let location = VideoLocation {
        bucket: "b".into(),
        key: "k.mp4".into(),
        version_id: None,
    };
    let err = source.head(&location).await.unwrap_err();
    assert!(matches!(err, SourceError::Unavailable { .. }), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::AwsUnavailable);
}

#[tokio::test]
async fn s3_client_uses_path_style_against_an_overridden_endpoint() {
    let moto = test_support::moto();
    let s3 = tiktok_publish_adapters::s3_client(&moto.sdk_config().await);
    let bucket = new_bucket(&s3, false).await;
    let video = put_video(&s3, &bucket, "p.webm", 10, 10, "video/webm").await;
    let object = S3VideoSource::new(s3).head(&video.location).await.unwrap();
    assert_eq!(object.size, 10);
}
