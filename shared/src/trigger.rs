//! What the S3 trigger does with one "Object Created" under the upload prefix.
//!
//! Videos and their options manifests (`{video key}.json`) arrive in either order, and each
//! arrival triggers. Whichever comes second completes the post: a video reads its manifest
//! (absent: the post waits for it, see `upload-init`); a manifest looks for its video
//! (absent: nothing yet, the video's own event will read the manifest). Every path ends in
//! [`Intake::claim`] (a photo manifest, `NAME.photos.json`, in [`Intake::claim_photos`];
//! images on their own set nothing off), whose conditional write and execution name make repeated and crossing
//! events harmless.
//!
//! [`Trigger`] is the service the `s3-trigger` Lambda runs: the event's object (its key
//! decoded as [`KeyEncoding`] says), checked against the bucket, then handled as above.
//! [`TriggerError`] is its boundary error, with the stable name the runtime reports.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;
use serde::Serialize;

use crate::errors::{Classify, ErrorKind};
use crate::intake::{Intake, IntakeError};
use crate::media::{SourceError, VideoLocation};
use crate::photo_intake::PhotoManifestRead;
use crate::store::{Cause, PostFailure, PostRecord, PostState, PostUpdate, StoreError, unix_now};
use tiktok_publish_domain::options::OptionsError;
use tiktok_publish_domain::photo_post::{is_image_key, resolve_image_key};
use tiktok_publish_domain::upload::{UploadKey, manifest_key, parse_upload_key};

/// The documented upload prefix (`UPLOAD_PREFIX`): `uploads/{open_id}/...`.
pub use tiktok_publish_domain::upload::DEFAULT_UPLOAD_PREFIX;

/// The `source` of S3's EventBridge events.
pub const S3_EVENT_SOURCE: &str = "aws.s3";
/// The `detail-type` of the events the trigger acts on.
pub const OBJECT_CREATED: &str = "Object Created";

/// The S3 trigger's service, built once per cold start.
#[derive(Clone)]
pub struct Trigger {
    pub intake: Intake,
    pub settings: TriggerSettings,
}

/// How the trigger reads events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggerSettings {
    /// `UPLOAD_PREFIX`.
    pub prefix: String,
    /// `VIDEO_BUCKET`: events of other buckets are ignored (the rule filters on it too).
    pub bucket: Option<String>,
    /// `S3_EVENT_KEY_ENCODING`: `url` as AWS sends keys (the default), `raw` as moto does.
    pub key_encoding: KeyEncoding,
}

/// The object an "Object Created" event names, its key decoded as the S3 API takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedObject {
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
}

/// How the event's keys are encoded (`S3_EVENT_KEY_ENCODING`). S3 URL-encodes the object key
/// in its event notifications, form-style ("red flower.jpg" becomes "red+flower.jpg"), and
/// AWS's own Powertools read the EventBridge detail's key the same way (`unquote_plus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyEncoding {
    /// AWS: form URL-encoding (`+` for a space, `%XX` for other bytes). The default.
    #[default]
    Url,
    /// moto: the key as it is.
    Raw,
}

impl KeyEncoding {
    pub fn decode(self, key: &str) -> Result<String, EventError> {
        match self {
            KeyEncoding::Raw => Ok(key.to_owned()),
            KeyEncoding::Url => form_url_decode(key),
        }
    }
}

/// `application/x-www-form-urlencoded` decoding of one value (`+` is a space). Strict:
/// `percent_decode` keeps a `%` that starts no escape as it is, but S3 never writes one (it
/// writes `%25`), so such a key is not what we think it is and is refused.
fn form_url_decode(encoded: &str) -> Result<String, EventError> {
    let refuse = |reason: String| EventError::Key {
        key: encoded.to_owned(),
        reason,
    };
    if let Some(at) = stray_percent(encoded) {
        return Err(refuse(format!(
            "'%' at byte {at} is not followed by two hex digits"
        )));
    }
    // Replaced before decoding, so an encoded plus (`%2B`) stays a plus.
    let spaced = encoded.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .map(Cow::into_owned)
        .map_err(|_| refuse("it does not decode to UTF-8".into()))
}

/// Where the first `%` not followed by two hex digits is, if any.
fn stray_percent(encoded: &str) -> Option<usize> {
    let bytes = encoded.as_bytes();
    encoded.match_indices('%').map(|(at, _)| at).find(|at| {
        !bytes
            .get(at + 1..at + 3)
            .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    })
}

/// Why a payload is not an "Object Created" event the trigger can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error(
        "the payload is not an EventBridge event with an S3 object detail: at {path}: {reason}"
    )]
    Shape { path: String, reason: String },
    #[error(
        "expected source {S3_EVENT_SOURCE:?} and detail-type {OBJECT_CREATED:?}, got {event_source:?} and {detail_type:?}"
    )]
    NotObjectCreated {
        // Not `source`: thiserror reads a field of that name as the underlying error.
        event_source: String,
        detail_type: String,
    },
    #[error("the object key {key:?} is not URL-encoded as S3 encodes event keys: {reason}")]
    Key { key: String, reason: String },
}

/// Why an event was not handled.
#[derive(Debug, thiserror::Error)]
pub enum TriggerError {
    /// Not an S3 "Object Created" event: a misrouted or corrupted event no retry fixes.
    #[error("refused the event, nothing was changed: {0}")]
    MalformedEvent(#[from] EventError),
    #[error(transparent)]
    Intake(#[from] IntakeError),
}

impl Classify for TriggerError {
    fn kind(&self) -> ErrorKind {
        match self {
            TriggerError::MalformedEvent(_) => ErrorKind::Internal,
            TriggerError::Intake(err) => err.kind(),
        }
    }
}

impl From<TriggerError> for lambda_runtime::Diagnostic {
    fn from(error: TriggerError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: error.kind().name().to_owned(),
            error_message: error.to_string(),
        }
    }
}

impl Trigger {
    /// Handles the object an event names; an object of another bucket than `VIDEO_BUCKET`
    /// is ignored.
    pub async fn object_created(
        &self,
        object: CreatedObject,
    ) -> Result<TriggerOutcome, IntakeError> {
        if let Some(expected) = &self.settings.bucket
            && object.bucket != *expected
        {
            tracing::warn!(bucket = %object.bucket, "event of another bucket ignored");
            return Ok(TriggerOutcome::Ignored {
                key: object.key,
                reason: format!("bucket {} is not {expected}", object.bucket),
            });
        }
        handle_object_created(
            &self.intake,
            &self.settings.prefix,
            &object.bucket,
            &object.key,
            object.version_id.as_deref(),
        )
        .await
    }
}

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
    /// A photo manifest names an image that is not in the bucket (yet): nothing was
    /// written. Upload the images first and the manifest last.
    ImageMissing { key: String, image_key: String },
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
        // Images wait for the photo manifest that names them; the pipeline's converted
        // photos land here too, and must set nothing off.
        Some(UploadKey::Image { .. }) => ignored(
            key,
            "an image: a part of the photo post whose manifest (NAME.photos.json) names it",
        ),
        Some(UploadKey::PhotoManifest { open_id, key }) => {
            photo_manifest_arrived(intake, prefix, &open_id, bucket, &key).await?
        }
        Some(UploadKey::ConsoleUpload { .. }) => ignored(
            key,
            "a web console upload: the console starts its post with the options its page asked for",
        ),
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
    if is_image_key(&video_key) {
        return Ok(ignored(
            key,
            "a manifest of an image, which is never a video (a photo post's manifest is \
             NAME.photos.json)",
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

/// A photo manifest arrived: its images (pinned now) make the post. A manifest no post can
/// be made of (no usable `images`) is ignored with the field and the rule, since no post id
/// can be derived without its images.
async fn photo_manifest_arrived(
    intake: &Intake,
    prefix: &str,
    open_id: &str,
    bucket: &str,
    key: &str,
) -> Result<TriggerOutcome, IntakeError> {
    let manifest = VideoLocation {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        version_id: None,
    };
    let parsed = match intake.read_photo_manifest(&manifest).await? {
        PhotoManifestRead::Missing => {
            return Ok(ignored(key, "the manifest was deleted before it was read"));
        }
        PhotoManifestRead::Refused(err) => {
            tracing::warn!(field = %err.field, rule = %err.rule, "photo manifest refused");
            return Ok(ignored(
                key,
                format!("no photo post can be made of it: {err}"),
            ));
        }
        PhotoManifestRead::Parsed(parsed) => parsed,
    };
    let mut images = Vec::with_capacity(parsed.images.len());
    for (at, entry) in parsed.images.iter().enumerate() {
        match resolve_image_key(prefix, open_id, key, entry, &format!("images[{at}]")) {
            Ok(image_key) => images.push(VideoLocation {
                bucket: bucket.to_owned(),
                key: image_key,
                version_id: None,
            }),
            Err(err) => {
                tracing::warn!(field = %err.field, rule = %err.rule, "photo manifest refused");
                return Ok(ignored(
                    key,
                    format!("no photo post can be made of it: {err}"),
                ));
            }
        }
    }
    match intake.claim_photos(open_id, &images, parsed.options).await {
        Ok(claim) => Ok(TriggerOutcome::claimed(&claim.post, claim.created)),
        // Only the images' HeadObjects say NotFound, before anything is written.
        Err(IntakeError::Source(SourceError::NotFound { key: image_key, .. })) => {
            tracing::warn!(
                image_key,
                "a photo manifest names an image not in the bucket"
            );
            Ok(TriggerOutcome::ImageMissing {
                key: key.to_owned(),
                image_key,
            })
        }
        Err(err) => Err(err),
    }
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
        Ok(moved) => Ok(intake.ends.settle(moved).await),
        // Another event moved it first (good options arrived, or the wait ran out).
        Err(StoreError::StateConflict { .. }) => {
            Ok(intake.posts.get(&post.id).await?.unwrap_or(post))
        }
        Err(err) => Err(err.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_decoded_as_s3_encodes_them() {
        let cases = [
            ("uploads/abc/red+flower.jpg", "uploads/abc/red flower.jpg"),
            ("uploads/abc/c%2B%2B.mp4", "uploads/abc/c++.mp4"),
            ("uploads/abc/100%25.mp4", "uploads/abc/100%.mp4"),
            (
                "uploads/abc/caf%C3%A9+%281%29.mp4",
                "uploads/abc/café (1).mp4",
            ),
            ("uploads/abc/a%3Db%2Cc.mp4", "uploads/abc/a=b,c.mp4"),
        ];
        for (encoded, key) in cases {
            assert_eq!(KeyEncoding::Url.decode(encoded).unwrap(), key, "{encoded}");
            assert_eq!(KeyEncoding::Raw.decode(key).unwrap(), key);
        }
        for bad in [
            "uploads/a/100%.mp4",
            "uploads/a/%zz.mp4",
            "uploads/a/%4",
            "%FF",
        ] {
            let err = KeyEncoding::Url.decode(bad).unwrap_err();
            assert!(matches!(err, EventError::Key { .. }), "{bad}: {err}");
        }
    }
}
