//! What the S3 trigger does with one "Object Created" under the upload prefix.
//!
//! Videos and their options manifests (`{video key}.json`) arrive in either order, and each
//! arrival triggers. Whichever comes second completes the post: a video reads its manifest
//! (absent: the post waits for it, see `upload-init`); a manifest looks for its video
//! (absent: nothing yet, the video's own event will read the manifest). Every path ends in
//! [`Intake::claim`], whose conditional write and execution name make repeated and crossing
//! events harmless.

use serde::Serialize;

use crate::intake::{Intake, IntakeError};
use crate::media::{SourceError, VideoLocation};
use crate::store::{Cause, PostFailure, PostRecord, PostState, PostUpdate, StoreError, unix_now};
use tiktok_publish_domain::options::OptionsError;
use tiktok_publish_domain::upload::{UploadKey, manifest_key, parse_upload_key};

/// The documented upload prefix (`UPLOAD_PREFIX`): `uploads/{open_id}/...`.
pub use tiktok_publish_domain::upload::DEFAULT_UPLOAD_PREFIX;

/// What one event came to. Every variant is a success: the event needs no redelivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum TriggerOutcome {
    /// Not an upload of ours (outside the prefix, no account folder, ...).
    Ignored { key: String, reason: String },
    /// A manifest arrived before its video.
    AwaitingVideo { video_key: String },
    /// The video was deleted since the event was sent.
    VideoMissing { key: String },
    /// The video's post, as this event left it.
    Claimed {
        post_id: String,
        state: PostState,
        /// `false` when the post existed already (a repeated or crossing event).
        created: bool,
    },
}

impl TriggerOutcome {
    fn claimed(post: &PostRecord, created: bool) -> TriggerOutcome {
        TriggerOutcome::Claimed {
            post_id: post.id.to_string(),
            state: post.state,
            created,
        }
    }
}

/// Handles an object created at `bucket`/`key` (the key decoded, as S3 APIs take it).
///
/// `version_id` is the event's (S3 writes `"null"` for an unversioned object; moto may
/// leave it out): the claim pins the video to it, or to what HeadObject says when absent.
#[tracing::instrument(skip(intake), fields(post_id))]
pub async fn handle_object_created(
    intake: &Intake,
    prefix: &str,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
) -> Result<TriggerOutcome, IntakeError> {
    let outcome = match parse_upload_key(prefix, key) {
        None => ignored(key, format!("not under {prefix}{{open_id}}/")),
        Some(UploadKey::Video { open_id, key }) => {
            let version_id = version_id
                .filter(|v| !v.is_empty() && *v != "null")
                .map(str::to_owned);
            video_arrived(intake, &open_id, bucket, key, version_id).await?
        }
        Some(UploadKey::Manifest { open_id, video_key }) => {
            manifest_arrived(intake, &open_id, bucket, key, video_key).await?
        }
    };
    if let TriggerOutcome::Claimed { post_id, .. } = &outcome {
        tracing::Span::current().record("post_id", post_id.as_str());
    }
    tracing::info!(?outcome, "object created handled");
    Ok(outcome)
}

fn ignored(key: &str, reason: impl Into<String>) -> TriggerOutcome {
    TriggerOutcome::Ignored {
        key: key.to_owned(),
        reason: reason.into(),
    }
}

async fn video_arrived(
    intake: &Intake,
    open_id: &str,
    bucket: &str,
    key: String,
    version_id: Option<String>,
) -> Result<TriggerOutcome, IntakeError> {
    // The latest manifest, not a version: a newer one triggers too and must win.
    let manifest = VideoLocation {
        bucket: bucket.to_owned(),
        key: manifest_key(&key),
        version_id: None,
    };
    let options = intake.read_manifest(&manifest).await?.transpose();
    let video = VideoLocation {
        bucket: bucket.to_owned(),
        key,
        version_id,
    };
    match intake.claim(open_id, &video, options).await {
        Ok(claim) => Ok(TriggerOutcome::claimed(&claim.post, claim.created)),
        // Only the claim's HeadObject says NotFound, before anything is written: the video
        // was deleted (or that version replaced and removed) after its event left.
        Err(IntakeError::Source(SourceError::NotFound { .. })) => {
            Ok(TriggerOutcome::VideoMissing { key: video.key })
        }
        Err(err) => Err(err),
    }
}

async fn manifest_arrived(
    intake: &Intake,
    open_id: &str,
    bucket: &str,
    key: &str,
    video_key: String,
) -> Result<TriggerOutcome, IntakeError> {
    // Every `.json` key is read as a manifest, so no video key ends in `.json`: this
    // would be a manifest's manifest, and no video can ever come for it.
    if video_key.ends_with(".json") {
        return Ok(ignored(
            key,
            "a manifest of a .json object, which is never a video",
        ));
    }
    let manifest = VideoLocation {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        version_id: None,
    };
    let Some(options) = intake.read_manifest(&manifest).await? else {
        return Ok(ignored(key, "the manifest was deleted before it was read"));
    };
    let video = VideoLocation {
        bucket: bucket.to_owned(),
        key: video_key,
        version_id: None,
    };
    let refusal = options.as_ref().err().cloned();
    let claim = match intake.claim(open_id, &video, options.map(Some)).await {
        Ok(claim) => claim,
        // The claim's HeadObject comes before any write: no video yet, nothing written.
        Err(IntakeError::Source(SourceError::NotFound { .. })) => {
            return Ok(TriggerOutcome::AwaitingVideo {
                video_key: video.key,
            });
        }
        Err(err) => return Err(err),
    };
    let post = match refusal {
        // A post created by the video's event is waiting for exactly this manifest; the
        // claim only fills in good options, so a bad manifest is refused here, at once,
        // rather than when the wait runs out.
        Some(err) if !claim.created => refuse_waiting(intake, claim.post, &err).await?,
        _ => claim.post,
    };
    Ok(TriggerOutcome::claimed(&post, claim.created))
}

/// Refuses a post still waiting for its options because its manifest is malformed. A post
/// that has options, or has moved on, keeps what it has.
async fn refuse_waiting(
    intake: &Intake,
    post: PostRecord,
    err: &OptionsError,
) -> Result<PostRecord, IntakeError> {
    let waiting = [PostState::Received, PostState::AwaitingOptions];
    if post.options.is_some() || !waiting.contains(&post.state) {
        return Ok(post);
    }
    let failure = PostFailure::new(
        Cause::OptionsInvalid {
            field: err.field.clone(),
            rule: err.rule.clone(),
        },
        Some("Fix the options manifest and upload the video again".to_owned()),
    );
    match intake
        .posts
        .transition(
            &post.id,
            &waiting,
            PostState::Refused,
            PostUpdate::failed(failure),
            unix_now(),
        )
        .await
    {
        Ok(post) => Ok(post),
        // Another event moved it first (good options arrived, or the wait ran out).
        Err(StoreError::StateConflict { .. }) => {
            Ok(intake.posts.get(&post.id).await?.unwrap_or(post))
        }
        Err(err) => Err(err.into()),
    }
}
