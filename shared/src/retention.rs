//! Retention tags: when a post ends, its video (the exact version the post read) and the
//! current version of its manifest are tagged with the outcome, so the bucket's lifecycle
//! rules (prefix `uploads/` AND the tag, see the template) expire each outcome after its
//! own number of days.
//!
//! The tag is merged into the object's tags (GetObject(Version)Tagging, then
//! PutObject(Version)Tagging): a user's tags stay. S3 allows 10 tags per object; when all
//! 10 are taken by others, nothing is replaced and the caller warns (the object then
//! falls under no outcome rule and is kept).
//!
//! Tagging follows an end that has happened: its failure is reported to the caller, which
//! logs it and leaves the post's outcome as it is.

use async_trait::async_trait;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::types::{Tag, Tagging};

use crate::media::VideoLocation;
use crate::store::PostState;
use tiktok_publish_domain::upload::DEFAULT_UPLOAD_PREFIX;
use tiktok_publish_domain::upload::manifest_key;

/// The tag key the lifecycle rules filter on.
pub const OUTCOME_TAG_KEY: &str = "tiktok-publish-outcome";
/// S3's limit on tags per object.
pub const MAX_TAGS_PER_OBJECT: usize = 10;

/// The outcome a video is kept for, as its tag value says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetentionOutcome {
    /// PUBLISHED and SENT_TO_INBOX.
    Published,
    /// REFUSED and CANCELLED.
    Refused,
    /// FAILED.
    Failed,
}

impl RetentionOutcome {
    /// The tag value for a post in `state`; `None` while the post is live.
    pub const fn of(state: PostState) -> Option<RetentionOutcome> {
        match state {
            PostState::Published | PostState::SentToInbox => Some(RetentionOutcome::Published),
            PostState::Refused | PostState::Cancelled => Some(RetentionOutcome::Refused),
            PostState::Failed => Some(RetentionOutcome::Failed),
            PostState::Received
            | PostState::AwaitingOptions
            | PostState::Queued
            | PostState::Uploading
            | PostState::Processing => None,
        }
    }

    pub const fn tag_value(self) -> &'static str {
        match self {
            RetentionOutcome::Published => "published",
            RetentionOutcome::Refused => "refused",
            RetentionOutcome::Failed => "failed",
        }
    }
}

/// What tagging did to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectTagged {
    /// The tag was written (added, or its value changed).
    Tagged,
    /// The object already carried this tag and value: nothing written.
    AlreadyTagged,
    /// The object carries 10 other tags: nothing replaced, nothing written.
    TagSetFull,
    /// The object (or that version) is gone, or there is no manifest: nothing to tag.
    Gone,
    /// The key is outside the upload prefix the lifecycle rules cover (a video posted
    /// through the API from elsewhere in the bucket): left to its owner, no request made.
    OutsidePrefix,
}

/// Why an object could not be tagged.
#[derive(Debug, thiserror::Error)]
#[error(
    "could not {operation} s3://{bucket}/{key}: {detail}; the function's role needs \
     s3:GetObjectTagging, s3:GetObjectVersionTagging, s3:PutObjectTagging and \
     s3:PutObjectVersionTagging on the uploads prefix"
)]
pub struct TagError {
    pub operation: &'static str,
    pub bucket: String,
    pub key: String,
    pub detail: String,
}

/// What tagging an ended post's objects did: the video, then its manifest.
#[derive(Debug)]
pub struct TaggedObjects {
    pub video: Result<ObjectTagged, TagError>,
    pub manifest: Result<ObjectTagged, TagError>,
}

/// Tags the objects of an ended post with its outcome.
#[async_trait]
pub trait RetentionTags: Send + Sync {
    /// Tags `video` (its version when it has one) and the current version of its manifest.
    async fn tag_ended(&self, video: &VideoLocation, outcome: RetentionOutcome) -> TaggedObjects;
}

/// [`RetentionTags`] that tags nothing (code and tests that do not touch the bucket).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoRetentionTags;

#[async_trait]
impl RetentionTags for NoRetentionTags {
    async fn tag_ended(&self, _: &VideoLocation, _: RetentionOutcome) -> TaggedObjects {
        TaggedObjects {
            video: Ok(ObjectTagged::Gone),
            manifest: Ok(ObjectTagged::Gone),
        }
    }
}

/// The tag set `existing` with the outcome tag merged in, or what to report instead.
pub fn merged_tags(
    existing: &[(String, String)],
    outcome: RetentionOutcome,
) -> Result<Vec<(String, String)>, ObjectTagged> {
    let value = outcome.tag_value();
    match existing.iter().position(|(key, _)| key == OUTCOME_TAG_KEY) {
        Some(at) if existing[at].1 == value => Err(ObjectTagged::AlreadyTagged),
        Some(at) => {
            let mut merged = existing.to_vec();
            merged[at].1 = value.to_owned();
            Ok(merged)
        }
        None if existing.len() >= MAX_TAGS_PER_OBJECT => Err(ObjectTagged::TagSetFull),
        None => {
            let mut merged = existing.to_vec();
            merged.push((OUTCOME_TAG_KEY.to_owned(), value.to_owned()));
            Ok(merged)
        }
    }
}

/// [`RetentionTags`] on S3.
#[derive(Debug, Clone)]
pub struct S3RetentionTags {
    client: aws_sdk_s3::Client,
    /// Only objects under it are tagged: the lifecycle rules (and the functions' tagging
    /// permission) cover this prefix alone.
    prefix: String,
}

impl S3RetentionTags {
    /// `client`: built with [`crate::media::s3::s3_client`] (path-style against moto). Tags
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

    fn tags(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

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

    #[test]
    fn each_final_state_gives_its_tag_and_a_live_one_none() {
        use PostState::*;
        let value = |state| RetentionOutcome::of(state).map(RetentionOutcome::tag_value);
        assert_eq!(value(Published), Some("published"));
        assert_eq!(value(SentToInbox), Some("published"));
        assert_eq!(value(Refused), Some("refused"));
        assert_eq!(value(Cancelled), Some("refused"));
        assert_eq!(value(Failed), Some("failed"));
        for live in [Received, AwaitingOptions, Queued, Uploading, Processing] {
            assert_eq!(value(live), None, "{live:?}");
        }
    }

    #[test]
    fn the_tag_is_merged_into_the_user_tags() {
        let merged = merged_tags(&tags(&[("team", "video")]), RetentionOutcome::Failed).unwrap();
        assert_eq!(
            merged,
            tags(&[("team", "video"), (OUTCOME_TAG_KEY, "failed")])
        );
        // A different outcome already there (a retried post) is replaced in place.
        let merged = merged_tags(
            &tags(&[(OUTCOME_TAG_KEY, "failed"), ("team", "video")]),
            RetentionOutcome::Published,
        )
        .unwrap();
        assert_eq!(
            merged,
            tags(&[(OUTCOME_TAG_KEY, "published"), ("team", "video")])
        );
        assert_eq!(
            merged_tags(
                &tags(&[(OUTCOME_TAG_KEY, "refused")]),
                RetentionOutcome::Refused
            ),
            Err(ObjectTagged::AlreadyTagged)
        );
    }

    #[test]
    fn a_full_tag_set_replaces_nothing_unless_the_tag_is_in_it() {
        let full: Vec<(String, String)> = (0..MAX_TAGS_PER_OBJECT)
            .map(|i| (format!("k{i}"), format!("v{i}")))
            .collect();
        assert_eq!(
            merged_tags(&full, RetentionOutcome::Published),
            Err(ObjectTagged::TagSetFull)
        );
        let mut with_ours = full[..MAX_TAGS_PER_OBJECT - 1].to_vec();
        with_ours.push((OUTCOME_TAG_KEY.to_owned(), "failed".to_owned()));
        let merged = merged_tags(&with_ours, RetentionOutcome::Published).unwrap();
        assert_eq!(merged.len(), MAX_TAGS_PER_OBJECT);
        assert_eq!(merged.last().unwrap().1, "published");
    }
}
