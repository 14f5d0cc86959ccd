//! `POST /posts`, `GET /posts/{id}` and `DELETE /posts/{id}`: a post made from a video in
//! the bucket, or from images (`images`: a photo post), one post per video or set of images
//! however often it is asked, with or without an `Idempotency-Key`; read, or cancelled
//! before it has started uploading (or, for a pull, while TikTok is still downloading it:
//! [`super::cancel_pull`]).

use serde::Deserialize;

use super::accounts::check_open_id;
use super::idempotency::{Reservation, StoredAnswer, body_fingerprint};
use super::{ApiAnswer, ApiError, IdempotencyKey, PostsApi, answer_of, view_json};
use crate::intake::IntakeError;
use crate::media::{SourceError, VideoLocation};
use crate::store::{
    Fact, PostId, PostRecord, PostState, PostUpdate, StoreError, UnixTime, unix_now,
};
use tiktok_publish_domain::options::{OptionsInput, from_json};
use tiktok_publish_domain::photo_post::{image_entries, validate_photo_options};

/// States a post can be cancelled from: nothing has reached TikTok yet.
pub const CANCELLABLE: [PostState; 3] = [
    PostState::Received,
    PostState::AwaitingOptions,
    PostState::Queued,
];

const MAX_KEY_BYTES: usize = 1024;
const MAX_VERSION_LEN: usize = 1024;

/// The body of `POST /posts`: `account`, and `key` (a video) or `images` (a photo post).
/// Every field is optional to the parser so that a missing one is refused by name (400,
/// `field`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePostRequest {
    /// The `open_id` of a connected account.
    // OPEN_ID_PATTERN: utoipa takes only a literal here (posts-api's tests compare them).
    #[schema(required = true, nullable = false, pattern = r"^[!-.0-~]{1,128}$")]
    pub account: Option<String>,
    /// The object key in the video bucket.
    pub key: Option<String>,
    /// A photo post instead of a video: the keys of its images (1 to 35), in order. Read
    /// as JSON first, so a bad entry is named (`images[2]`).
    #[schema(value_type = Option<Vec<String>>)]
    pub images: Option<serde_json::Value>,
    /// A specific object version; the current one when absent.
    pub version_id: Option<String>,
    pub options: Option<OptionsInput>,
}

impl PostsApi {
    // ------------------------------------------------------------ POST /posts

    /// `POST /posts`. With an idempotency key, the first answer under the key is replayed
    /// for the same body and a different body is refused (409).
    #[tracing::instrument(skip_all, fields(idempotency_key = key.map(|k| k.id())))]
    pub async fn create_post(&self, body: &[u8], key: Option<&IdempotencyKey>) -> ApiAnswer {
        let Some(key) = key else {
            return answer_of(self.create_post_once(body).await);
        };
        let fingerprint = body_fingerprint(body);
        let taken = match self
            .idempotency
            .reserve(key, &fingerprint, unix_now())
            .await
        {
            Ok(Reservation::Reserved) => None,
            Ok(Reservation::Taken(record)) => Some(record),
            Err(err) => return ApiError::from(err).answer(),
        };
        if let Some(record) = taken {
            if record.body_sha256 != fingerprint {
                return ApiError::conflict(
                    "idempotency_key_reused",
                    "this Idempotency-Key was used with another body; use a new key for a new \
                     request",
                )
                .with_field("Idempotency-Key")
                .answer();
            }
            return match record.answer {
                Some(stored) => replay(&stored),
                None => ApiError {
                    retry_after: Some(2),
                    ..ApiError::conflict(
                        "idempotency_key_in_progress",
                        "a request with this Idempotency-Key is still running; retry shortly",
                    )
                    .with_field("Idempotency-Key")
                }
                .answer(),
            };
        }
        let answer = answer_of(self.create_post_once(body).await);
        // Passing failures are not remembered: the caller's retry must run again.
        let kept = if answer.status >= 500 {
            self.idempotency.release(key, &fingerprint).await
        } else {
            let stored = StoredAnswer {
                status: answer.status,
                body: answer.body.to_string(),
            };
            self.idempotency
                .finish(key, &fingerprint, &stored, unix_now())
                .await
        };
        if let Err(err) = kept {
            // The post itself is claimed idempotently, so a retry stays safe without it.
            tracing::warn!(error = %err, "could not record the idempotency key's answer");
        }
        answer
    }

    async fn create_post_once(&self, body: &[u8]) -> Result<ApiAnswer, ApiError> {
        let now = unix_now();
        let request: CreatePostRequest = from_json(body).map_err(|mut err| {
            // A syntax error is the body's fault, whichever field the parser was in.
            if err.not_json {
                err.field = "body".to_owned();
            }
            err
        })?;
        let account = required_field(
            request.account,
            "account",
            "the open_id of a connected TikTok account",
        )?;
        check_open_id(&account, "account")?;
        if let Some(images) = request.images {
            if request.key.is_some() {
                return Err(ApiError::invalid(
                    "images",
                    "give either key (a video) or images (a photo post), not both",
                ));
            }
            if request.version_id.is_some() {
                return Err(ApiError::invalid(
                    "version_id",
                    "is for a video's key; a photo post pins each image's current version",
                ));
            }
            return self
                .create_photo_post(account, images, request.options, now)
                .await;
        }
        let key = required_field(
            request.key,
            "key",
            "the key of the video in the video bucket, such as uploads/OPEN_ID/clip.mp4 \
             (or images, the keys of a photo post's images)",
        )?;
        self.check_key(&key, "key")?;
        if let Some(version) = &request.version_id
            && (version.is_empty() || version.len() > MAX_VERSION_LEN || has_control(version))
        {
            return Err(ApiError::invalid(
                "version_id",
                format!(
                    "must be an S3 version id (1 to {MAX_VERSION_LEN} printable characters) \
                     or left out"
                ),
            ));
        }
        let options = required_field(request.options, "options", "the post's options")?
            .validate("options.", now)?;
        self.check_account_can_post(&account, options.mode, now)
            .await?;

        let location = VideoLocation {
            bucket: self.bucket.clone(),
            key,
            version_id: request.version_id,
        };
        let claim = self
            .intake
            .claim(&account, &location, Ok(Some(options.clone())))
            .await?;
        if !claim.created && claim.post.options.as_ref() != Some(&options) {
            return Err(ApiError::conflict(
                "post_exists",
                format!(
                    "this video (this object version) was already posted to this account as \
                     post {} with other options, and is {}; to post it again, upload it \
                     again (a new object version)",
                    claim.post.id, claim.post.state
                ),
            )
            .with_field("key")
            .with_state(claim.post.state));
        }
        let status = if claim.created { 201 } else { 200 };
        Ok(ApiAnswer::json(status, view_json(&claim.post)?)
            .with_header("location", format!("/posts/{}", claim.post.id)))
    }

    /// A photo post of the images at `images` (a JSON array of keys), with `options`.
    async fn create_photo_post(
        &self,
        account: String,
        images: serde_json::Value,
        options: Option<OptionsInput>,
        now: UnixTime,
    ) -> Result<ApiAnswer, ApiError> {
        let keys = image_entries(Some(images), "")?;
        for (at, key) in keys.iter().enumerate() {
            self.check_key(key, &format!("images[{at}]"))?;
        }
        let options = required_field(options, "options", "the post's options")?;
        let options = validate_photo_options(options, "options.", now, keys.len())?;
        self.check_account_can_post(&account, options.mode, now)
            .await?;
        let locations: Vec<VideoLocation> = keys
            .into_iter()
            .map(|key| VideoLocation {
                bucket: self.bucket.clone(),
                key,
                version_id: None,
            })
            .collect();
        let claim = match self
            .intake
            .claim_photos(&account, &locations, Ok(options.clone()))
            .await
        {
            Ok(claim) => claim,
            Err(IntakeError::Source(SourceError::NotFound { bucket, key })) => {
                let at = locations.iter().position(|l| l.key == key).unwrap_or(0);
                return Err(ApiError::not_found(
                    "image_not_found",
                    format!(
                        "s3://{bucket}/{key} does not exist: upload the images first, then \
                         make the post"
                    ),
                )
                .with_field(format!("images[{at}]")));
            }
            Err(err) => return Err(err.into()),
        };
        if !claim.created && claim.post.options.as_ref() != Some(&options) {
            return Err(ApiError::conflict(
                "post_exists",
                format!(
                    "these images (these object versions, in this order) were already posted \
                     to this account as post {} with other options, and it is {}; to post them \
                     again, upload them again (new object versions)",
                    claim.post.id, claim.post.state
                ),
            )
            .with_field("images")
            .with_state(claim.post.state));
        }
        let status = if claim.created { 201 } else { 200 };
        Ok(ApiAnswer::json(status, view_json(&claim.post)?)
            .with_header("location", format!("/posts/{}", claim.post.id)))
    }

    fn check_key(&self, key: &str, field: &str) -> Result<(), ApiError> {
        let rule = |why: &str| {
            ApiError::invalid(
                field,
                format!(
                    "{why}; give the key of an object in the video bucket {}, such as \
                     uploads/OPEN_ID/clip.mp4",
                    self.bucket
                ),
            )
        };
        if key.is_empty() {
            return Err(rule("is empty"));
        }
        if key.len() > MAX_KEY_BYTES {
            return Err(rule("is longer than S3's 1024 bytes"));
        }
        if key.contains("://") {
            return Err(rule(
                "is a URL, not a key (videos are read from one bucket only)",
            ));
        }
        if key.starts_with('/') {
            return Err(rule("starts with '/'"));
        }
        if key.ends_with('/') {
            return Err(rule("names a folder, not an object"));
        }
        if has_control(key) {
            return Err(rule("contains control characters"));
        }
        Ok(())
    }

    // ------------------------------------------------------------ GET /posts/{id}

    /// `GET /posts/{id}`.
    #[tracing::instrument(skip(self))]
    pub async fn get_post(&self, id: &str) -> ApiAnswer {
        let answer = async {
            let post = self.find_post(id).await?;
            Ok(ApiAnswer::json(200, view_json(&post)?))
        };
        answer_of(answer.await.map_err(|err: ApiError| err.or_field("id")))
    }

    /// The post's view (the console's post page reads it typed).
    pub async fn post_view(&self, id: &str) -> Result<super::PostView, ApiError> {
        Ok(super::PostView::from(&self.find_post(id).await?))
    }

    pub(super) async fn find_post(&self, id: &str) -> Result<PostRecord, ApiError> {
        let id = PostId::parse(id).map_err(|e| ApiError::invalid("id", e.to_string()))?;
        self.posts().get(&id).await?.ok_or_else(|| {
            ApiError::not_found("post_not_found", format!("there is no post {id}")).with_field("id")
        })
    }

    // ------------------------------------------------------------ DELETE /posts/{id}

    /// `DELETE /posts/{id}`: cancels a post that has not started uploading; 409 with its
    /// state otherwise. Cancelling a cancelled post answers it again (and stops its
    /// execution again, in case the first attempt ended between the two).
    #[tracing::instrument(skip(self))]
    pub async fn cancel_post(&self, id: &str) -> ApiAnswer {
        let answer = async {
            let post = self.find_post(id).await?;
            let post = self.cancel(&post, Fact::CancelledByRequest).await?;
            Ok(ApiAnswer::json(200, view_json(&post)?))
        };
        answer_of(answer.await.map_err(|err: ApiError| err.or_field("id")))
    }

    /// Cancels the post; `why` (a cancellation's fact) goes into its history and becomes
    /// the reason its execution is stopped with.
    pub(super) async fn cancel(
        &self,
        post: &PostRecord,
        why: Fact,
    ) -> Result<PostRecord, ApiError> {
        let reason = why.to_string();
        let refused = |state: PostState| {
            ApiError::conflict(
                "post_not_cancellable",
                format!(
                    "post {} is {state}: only a post that has not started uploading \
                     (RECEIVED, AWAITING_OPTIONS or QUEUED), or one TikTok is still pulling \
                     from the front door, can be cancelled",
                    post.id
                ),
            )
            .with_state(state)
        };
        let cancelled = match post.state {
            PostState::Cancelled => post.clone(),
            // TikTok is still downloading a pull, or has it: TikTok decides.
            PostState::Processing if post.is_pull() && why == Fact::CancelledByRequest => {
                return self.cancel_pull(post).await;
            }
            state if !CANCELLABLE.contains(&state) => return Err(refused(state)),
            _ => match self
                .posts()
                .transition(
                    &post.id,
                    &CANCELLABLE,
                    PostState::Cancelled,
                    PostUpdate::fact(why),
                    unix_now(),
                )
                .await
            {
                Ok(moved) => self.intake.ends.settle(moved).await,
                // The pipeline moved it meanwhile (init started the upload).
                Err(StoreError::StateConflict { found, .. }) => return Err(refused(found)),
                Err(err) => return Err(err.into()),
            },
        };
        // Every step checks the record, so the run would stop by itself; stopping it now
        // spares its waits and makes the console say why.
        self.intake.executions.stop(&post.id, &reason).await?;
        tracing::info!(post_id = %post.id, reason, "post cancelled");
        Ok(cancelled)
    }
}

fn replay(stored: &StoredAnswer) -> ApiAnswer {
    match serde_json::from_str(&stored.body) {
        Ok(body) => ApiAnswer::json(stored.status, body).with_header("idempotent-replayed", "true"),
        Err(err) => {
            ApiError::internal(format!("stored idempotent answer is not JSON: {err}")).answer()
        }
    }
}

fn required_field<T>(value: Option<T>, field: &str, what: &str) -> Result<T, ApiError> {
    value.ok_or_else(|| ApiError::invalid(field, format!("is required: {what}")))
}

fn has_control(text: &str) -> bool {
    text.chars().any(char::is_control)
}
