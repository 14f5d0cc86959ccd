//! How a video becomes a post. Both entry points, the S3 trigger and the posts API, go
//! through [`Intake::claim`]: one conditional write on the post record (the post id derives
//! from account, bucket, key and object version) and one execution named after the post, so
//! the same video reaches TikTok once however often, and whichever way, it arrives.

use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;

use crate::ends::PostEnds;
use crate::errors::{Classify, ErrorKind};
use crate::media::{SourceError, VideoLocation, VideoObject, VideoSource};
use crate::store::{
    Cause, CreateOutcome, EndedPost, Fact, PostFailure, PostId, PostOptions, PostRecord,
    PostSource, PostState, PostStore, PostUpdate, StoreError, unix_now,
};
use tiktok_publish_domain::options::{OptionsError, parse_options_json};
pub use tiktok_publish_domain::upload::{UploadKey, manifest_key, parse_upload_key};

/// The largest options manifest read (captions are at most 2,200 UTF-16 units).
pub const MAX_MANIFEST_BYTES: u64 = 64 * 1024;

/// Why a video could not be claimed.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot start the post's execution: {detail}")]
    Executions { detail: String, retryable: bool },
    /// A photo post of no image, or of more than TikTok takes (the entry points check it
    /// first; this keeps the rule where the post is made).
    #[error("{0}")]
    PhotoCount(tiktok_publish_domain::photo_rules::PhotoRefusal),
}

impl Classify for IntakeError {
    fn kind(&self) -> ErrorKind {
        match self {
            IntakeError::Source(SourceError::NotFound { .. }) => ErrorKind::PostRefused,
            IntakeError::Source(e) => e.kind(),
            IntakeError::Store(e) => e.kind(),
            IntakeError::Executions {
                retryable: true, ..
            } => ErrorKind::AwsUnavailable,
            IntakeError::Executions { .. } => ErrorKind::Internal,
            IntakeError::PhotoCount(_) => ErrorKind::PostRefused,
        }
    }
}

/// The state machine's executions, one per post, named after it.
#[async_trait]
pub trait Executions: Send + Sync {
    /// Starts the execution for `post_id` (input `{"post_id": ...}`), named by the post.
    /// An execution of that name that exists already is not an error: it is this post's.
    async fn start(&self, post_id: &PostId) -> Result<(), IntakeError> {
        self.start_named(post_id, post_id.as_str()).await
    }

    /// The same under another `name` (a retry's attempt, `{post_id}-retryN`: Step Functions
    /// keeps a name for 90 days, so the post's own cannot start again).
    async fn start_named(&self, post_id: &PostId, name: &str) -> Result<(), IntakeError>;

    /// Stops the post's execution (a cancel); one already ended is not an error.
    async fn stop(&self, post_id: &PostId, cause: &str) -> Result<(), IntakeError>;
}

/// What a claim came to.
#[derive(Debug, Clone)]
pub struct Claim {
    pub post: PostRecord,
    /// `false` when a post for this video existed already (a repeated event or request).
    pub created: bool,
}

/// The entry point both the S3 trigger and the posts API use.
#[derive(Clone)]
pub struct Intake {
    pub posts: Arc<dyn PostStore>,
    /// What a post's end sets off; every service that ends posts reaches it through here.
    pub ends: PostEnds,
    pub source: Arc<dyn VideoSource>,
    pub executions: Arc<dyn Executions>,
}

impl Intake {
    /// Claims the video at `location` for the account and starts its execution.
    ///
    /// `options`: `Ok(Some)` queues the post; `Ok(None)` records it as waiting for options
    /// (the execution waits for them, then refuses); `Err` records it refused with the field
    /// and rule, and starts nothing. The object version comes from HeadObject when the
    /// location has none (moto's events carry none).
    #[tracing::instrument(skip(self, options), fields(bucket = %location.bucket, key = %location.key))]
    pub async fn claim(
        &self,
        open_id: &str,
        location: &VideoLocation,
        options: Result<Option<PostOptions>, OptionsError>,
    ) -> Result<Claim, IntakeError> {
        let object = self.source.head(location).await?;
        let now = unix_now();
        let (state, options, failure) = match options {
            Ok(Some(options)) => (PostState::Queued, Some(options), None),
            Ok(None) => (PostState::Received, None, None),
            Err(err) => {
                let failure = PostFailure::new(
                    Cause::OptionsInvalid {
                        field: err.field,
                        rule: err.rule,
                    },
                    Some("Fix the options manifest and upload the video again".to_owned()),
                );
                (PostState::Refused, None, Some(failure))
            }
        };
        let mut record = PostRecord::new(open_id, PostSource::from(&object), options, state, now);
        record.failure = failure;
        let claim = match self.posts.create(&record).await? {
            CreateOutcome::Created => Claim {
                // A post created final was refused at once (invalid options): its end.
                post: match EndedPost::created(&record) {
                    Some(ended) => self.ends.report(ended).await,
                    None => record,
                },
                created: true,
            },
            CreateOutcome::AlreadyExists(existing) => Claim {
                post: self.complete_options(*existing, &record).await?,
                created: false,
            },
        };
        tracing::info!(post_id = %claim.post.id, created = claim.created, state = %claim.post.state, "video claimed");
        // Starting again is harmless (the execution is named after the post) and covers a
        // crash between the record and the start.
        if !claim.post.state.is_final() {
            self.executions.start(&claim.post.id).await?;
        }
        Ok(claim)
    }

    /// A post that was waiting for its options gets them from a later arrival (the manifest
    /// after the video, or the API after the S3 drop).
    async fn complete_options(
        &self,
        existing: PostRecord,
        arrived: &PostRecord,
    ) -> Result<PostRecord, IntakeError> {
        let waiting = [PostState::Received, PostState::AwaitingOptions];
        let Some(options) = arrived.options.clone() else {
            return Ok(existing);
        };
        if existing.options.is_some() || !waiting.contains(&existing.state) {
            return Ok(existing);
        }
        let update = PostUpdate {
            fact: Some(Fact::OptionsArrived),
            options: Some(options),
            ..PostUpdate::default()
        };
        match self
            .posts
            .transition(
                &existing.id,
                &waiting,
                PostState::Queued,
                update,
                unix_now(),
            )
            .await
        {
            Ok(moved) => Ok(self.ends.settle(moved).await),
            // Another arrival won the race: read what it left.
            Err(StoreError::StateConflict { .. }) => {
                Ok(self.posts.get(&existing.id).await?.unwrap_or(existing))
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Reads and parses the options manifest at `location`: `Ok(None)` when there is none,
    /// `Ok(Some(Err))` when it is malformed (the post is refused with the reason).
    pub async fn read_manifest(
        &self,
        location: &VideoLocation,
    ) -> Result<Option<Result<PostOptions, OptionsError>>, IntakeError> {
        let object = match self.source.head(location).await {
            Ok(object) => object,
            Err(SourceError::NotFound { .. }) => return Ok(None),
            Err(err) => return Err(err.into()),
        };
        if object.size > MAX_MANIFEST_BYTES {
            return Ok(Some(Err(OptionsError::new(
                "manifest",
                format!(
                    "is {} bytes; at most {MAX_MANIFEST_BYTES} are read",
                    object.size
                ),
            ))));
        }
        let bytes = read_all(self.source.as_ref(), &object).await?;
        Ok(Some(parse_options_json(&bytes, unix_now())))
    }
}

/// The whole of a small object (a manifest, a photo), read into memory.
pub(crate) async fn read_all(
    source: &dyn VideoSource,
    object: &VideoObject,
) -> Result<Vec<u8>, SourceError> {
    if object.size == 0 {
        return Ok(Vec::new());
    }
    let mut stream = source.read_range(object, 0, object.size - 1).await?;
    let mut bytes = Vec::with_capacity(usize::try_from(object.size).unwrap_or(0));
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| SourceError::Unavailable {
            detail: format!(
                "reading s3://{}/{} failed: {e}",
                object.location.bucket, object.location.key
            ),
            source: Some(Box::new(e)),
        })?;
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}
