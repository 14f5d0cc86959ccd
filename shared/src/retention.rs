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

use crate::media::VideoLocation;
use crate::store::PostState;

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

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
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
