//! [`RetentionTags`] on S3: an ended post's video and manifest tagged with its outcome, the
//! tag merged into the object's own tags (see `tiktok_publish_core::retention`).

use async_trait::async_trait;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::types::{Tag, Tagging};
use tiktok_publish_core::media::VideoLocation;
use tiktok_publish_core::retention::{
    ObjectTagged, RetentionOutcome, RetentionTags, TagError, TaggedObjects, merged_tags,
};
use tiktok_publish_domain::upload::DEFAULT_UPLOAD_PREFIX;
use tiktok_publish_domain::upload::manifest_key;

/// [`RetentionTags`] on S3.
#[derive(Debug, Clone)]
pub struct S3RetentionTags {
    client: aws_sdk_s3::Client,
    /// Only objects under it are tagged: the lifecycle rules (and the functions' tagging
    /// permission) cover this prefix alone.
    prefix: String,
}

impl S3RetentionTags {
    /// `client`: built with [`super::s3_client`] (path-style against moto). Tags
    /// objects under the default upload prefix (`uploads/`).
    pub fn new(client: aws_sdk_s3::Client) -> Self {
        S3RetentionTags {
            client,
            prefix: DEFAULT_UPLOAD_PREFIX.to_owned(),
        }
    }

    /// Tags objects under `prefix` instead (`UPLOAD_PREFIX`).
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Merges the tag into `key` at `version_id` (`None`: the current version).
    async fn tag_object(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        outcome: RetentionOutcome,
    ) -> Result<ObjectTagged, TagError> {
        let error = |operation, detail: String| TagError {
            operation,
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            detail,
        };
        let current = match self
            .client
            .get_object_tagging()
            .bucket(bucket)
            .key(key)
            .set_version_id(version_id.map(str::to_owned))
            .send()
            .await
        {
            Ok(current) => current,
            Err(err) if is_gone(&err) => return Ok(ObjectTagged::Gone),
            Err(err) => {
                return Err(error(
                    "read the tags of",
                    DisplayErrorContext(err).to_string(),
                ));
            }
        };
        let existing: Vec<(String, String)> = current
            .tag_set()
            .iter()
            .map(|tag| (tag.key().to_owned(), tag.value().to_owned()))
            .collect();
        let merged = match merged_tags(&existing, outcome) {
            Ok(merged) => merged,
            Err(report) => return Ok(report),
        };
        let tag_set = merged
            .into_iter()
            .map(|(key, value)| Tag::builder().key(key).value(value).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| error("build the tags of", e.to_string()))?;
        let tagging = Tagging::builder()
            .set_tag_set(Some(tag_set))
            .build()
            .map_err(|e| error("build the tags of", e.to_string()))?;
        // The write goes to the version just read (the current version of a manifest may
        // change in between: the tags read belong to the version read).
        let pinned = version_id.or(current.version_id()).map(str::to_owned);
        match self
            .client
            .put_object_tagging()
            .bucket(bucket)
            .key(key)
            .set_version_id(pinned)
            .tagging(tagging)
            .send()
            .await
        {
            Ok(_) => Ok(ObjectTagged::Tagged),
            Err(err) if is_gone(&err) => Ok(ObjectTagged::Gone),
            Err(err) => Err(error("tag", DisplayErrorContext(err).to_string())),
        }
    }
}

/// Whether S3 says the object or version is not there. A version that is a delete marker
/// answers 405 MethodNotAllowed to tagging: nothing to tag either.
fn is_gone<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    let status = err.raw_response().map(|r| r.status().as_u16());
    matches!(
        err.code(),
        Some("NoSuchKey" | "NoSuchVersion" | "NotFound" | "MethodNotAllowed")
    ) || (matches!(err, SdkError::ServiceError(_)) && status == Some(404))
}

#[async_trait]
impl RetentionTags for S3RetentionTags {
    async fn tag_ended(&self, video: &VideoLocation, outcome: RetentionOutcome) -> TaggedObjects {
        if !video.key.starts_with(&self.prefix) {
            return TaggedObjects {
                video: Ok(ObjectTagged::OutsidePrefix),
                manifest: Ok(ObjectTagged::OutsidePrefix),
            };
        }
        let manifest = manifest_key(&video.key);
        let (video, manifest) = futures::join!(
            self.tag_object(
                &video.bucket,
                &video.key,
                video.version_id.as_deref(),
                outcome
            ),
            self.tag_object(&video.bucket, &manifest, None, outcome),
        );
        TaggedObjects { video, manifest }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An S3 client whose every request fails (nothing listens on port 9).
    fn unreachable_s3() -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .endpoint_url("http://127.0.0.1:9")
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "k", "s", None, None, "test",
            ))
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    #[tokio::test]
    async fn keys_outside_the_upload_prefix_are_left_alone_without_a_request() {
        let tags = S3RetentionTags::new(unreachable_s3());
        let outside = VideoLocation {
            bucket: "videos".into(),
            key: "api/u1/clip.mp4".into(),
            version_id: Some("v1".into()),
        };
        let tagged = tags.tag_ended(&outside, RetentionOutcome::Published).await;
        assert!(
            matches!(tagged.video, Ok(ObjectTagged::OutsidePrefix)),
            "{tagged:?}"
        );
        assert!(
            matches!(tagged.manifest, Ok(ObjectTagged::OutsidePrefix)),
            "{tagged:?}"
        );

        // Under the prefix it does try, and says what failed.
        let inside = VideoLocation {
            key: "uploads/u1/clip.mp4".into(),
            ..outside
        };
        let tagged = tags.tag_ended(&inside, RetentionOutcome::Published).await;
        assert!(tagged.video.is_err(), "{tagged:?}");
    }
}
