//! The four tasks of the state machine: init, chunk upload, status, record failure.

use std::future::Future;
use std::time::{Duration, Instant};

use secrecy::SecretString;
use serde::Deserialize;

use super::{InitOutput, Pipeline, StatusOutput, StepError, UploadOutput, status_poll_interval};
use crate::errors::{Classify, ErrorKind};
use crate::media::VideoObject;
use crate::media::probe::{ProbeLimits, probe};
use crate::store::{
    Cause, Fact, PostFailure, PostId, PostOutcome, PostRecord, PostSource, PostState, PostUpdate,
    Spend, StoreError, TikTokCall, UnixTime, WebhookFinalKind, unix_now, unix_now_ms,
};
use crate::tiktok::{
    ChunkPlan, CreatorInfo, MAX_TITLE_UTF16, PostInfo, PostMode, PrivacyLevel, PublishStatus,
    PublishStatusKind, TikTokError, utf16_len,
};
use crate::tokens::{AccessToken, TokenError};
use crate::transfer::{UploadProgress, upload_chunks_recording};
use tiktok_publish_domain::cause::Interaction;

/// The error a Catch hands to `record_failure`: `{"Error": ..., "Cause": ...}`.
#[derive(Debug, Clone, Deserialize)]
pub struct StateMachineError {
    #[serde(rename = "Error", default)]
    pub error: String,
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

/// `record_failure`'s input.
#[derive(Debug, Clone, Deserialize)]
pub struct FailureInput {
    pub post_id: String,
    pub error: StateMachineError,
}

/// States in which a post may be initialised (again, after an expired upload URL).
const INITIALISABLE: [PostState; 4] = [
    PostState::Received,
    PostState::AwaitingOptions,
    PostState::Queued,
    PostState::Uploading,
];

/// Whole seconds for a Wait state, rounded up (a wait cut short only waits again).
fn secs(duration: Duration) -> u64 {
    duration.as_millis().div_ceil(1000).max(1) as u64
}

fn as_unix(duration: Duration) -> UnixTime {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

fn wait(post_id: &PostId, for_: Duration) -> InitOutput {
    InitOutput {
        post_id: post_id.to_string(),
        ready: false,
        wait_seconds: secs(for_),
    }
}

impl Pipeline {
    async fn load(&self, post_id: &str) -> Result<PostRecord, StepError> {
        let id = PostId::parse(post_id).map_err(|_| {
            StepError::new(ErrorKind::Internal, format!("{post_id:?} is not a post id"))
        })?;
        self.posts
            .get(&id)
            .await
            .map_err(StepError::from_error)?
            .ok_or_else(|| StepError::new(ErrorKind::Internal, format!("post {id} does not exist")))
    }

    /// Records a final failure on the post and returns it as the step's error.
    async fn fail(&self, post: &PostRecord, cause: Cause, advice: Option<String>) -> StepError {
        let kind = cause.kind();
        let to = if post.publish_id.is_none() && kind == ErrorKind::PostRefused {
            PostState::Refused
        } else {
            PostState::Failed
        };
        let from: Vec<PostState> = PostState::ALL
            .iter()
            .copied()
            .filter(|s| !s.is_final())
            .collect();
        let error = StepError::caused(cause.clone());
        let failure = PostFailure::new(cause, advice);
        if let Err(err) = self
            .posts
            .transition(&post.id, &from, to, PostUpdate::failed(failure), unix_now())
            .await
        {
            // The state machine's record_failure task will try again.
            tracing::warn!(error = %err, "could not record the failure on the post");
        }
        error
    }

    /// Fails the post when `error` is final; passes retryable errors through untouched.
    async fn settle(
        &self,
        post: &PostRecord,
        error: impl Into<StepError>,
        advice: Option<String>,
    ) -> StepError {
        let error: StepError = error.into();
        let kind = error.kind;
        let is_final = match kind.remedy() {
            crate::errors::Remedy::GiveUp => kind != ErrorKind::PostConflict,
            crate::errors::Remedy::Reconnect => true,
            _ => false,
        };
        if is_final {
            // Without advice of its own, the post still says what to do (e.g. reconnect).
            let advice = advice.or_else(|| retry_advice(kind));
            return self.fail(post, *error.cause, advice).await;
        }
        error
    }

    /// Spends one call of the account's TikTok budget, or says how long to wait.
    async fn spend(&self, open_id: &str, call: TikTokCall) -> Result<Option<Duration>, StepError> {
        match self
            .allowances
            .try_spend(open_id, call, unix_now_ms())
            .await
            .map_err(StepError::from_error)?
        {
            Spend::Granted => Ok(None),
            Spend::WaitFor(duration) => Ok(Some(duration)),
        }
    }

    /// Runs a TikTok call with a fresh token; when TikTok refuses a token we thought was
    /// good (revoked, or expired early), refreshes it once and tries again.
    async fn with_token<T, F, Fut>(&self, open_id: &str, call: F) -> Result<T, StepError>
    where
        F: Fn(SecretString) -> Fut,
        Fut: Future<Output = Result<T, TikTokError>>,
    {
        let token: AccessToken =
            self.tokens
                .fresh_access_token(open_id)
                .await
                .map_err(|e| match e {
                    // Nothing can reach TikTok for an account we hold no tokens for: the post is
                    // refused (bad input), not failed, and says how to fix it.
                    TokenError::NotConnected { open_id } => {
                        StepError::caused(Cause::NotConnected { open_id })
                    }
                    other => StepError::from_error(other),
                })?;
        match call(token.secret().clone()).await {
            Err(TikTokError::AccessTokenInvalid { .. }) => {
                let token = self
                    .tokens
                    .force_refresh(open_id, token.secret())
                    .await
                    .map_err(StepError::from_error)?;
                call(token.secret().clone()).await.map_err(|e| match e {
                    TikTokError::AccessTokenInvalid { .. } => {
                        StepError::caused(Cause::FreshTokenRefused)
                    }
                    other => StepError::from_error(other),
                })
            }
            other => other.map_err(StepError::from_error),
        }
    }

    /// The video as it is now, which must be the one the post was made for.
    async fn pinned_object(&self, post: &PostRecord) -> Result<VideoObject, StepError> {
        let object = match self.source.head(&post.source.location).await {
            Ok(object) => object,
            Err(err) => return Err(self.settle(post, err, None).await),
        };
        if let Some(etag) = &post.source.etag
            && etag != &object.etag
        {
            let cause = Cause::VideoChanged {
                bucket: object.location.bucket.clone(),
                key: object.location.key.clone(),
                recorded_etag: etag.clone(),
                found_etag: object.etag.clone(),
            };
            return Err(self.fail(post, cause, None).await);
        }
        Ok(object)
    }

    /// `upload-init`: checks the post against the creator's settings and the video, plans
    /// the chunks, calls the right init, and records the publish id at once.
    #[tracing::instrument(skip(self), fields(post_id = %post_id))]
    pub async fn init_upload(&self, post_id: &str) -> Result<InitOutput, StepError> {
        let post = self.load(post_id).await?;
        let now = unix_now();
        if !INITIALISABLE.contains(&post.state) {
            return Err(StepError::new(
                ErrorKind::PostConflict,
                format!("post {} is {}; nothing to initialise", post.id, post.state),
            ));
        }
        let Some(options) = post.options.clone() else {
            let waited = Duration::from_secs(u64::try_from(now - post.created_at).unwrap_or(0));
            if waited >= self.settings.options_wait {
                let cause = Cause::OptionsNeverArrived {
                    waited_secs: waited.as_secs(),
                };
                let advice = "Upload the options manifest (VIDEO_KEY.json) together with the video, then upload the video again".to_owned();
                return Err(self.fail(&post, cause, Some(advice)).await);
            }
            if post.state == PostState::Received {
                self.move_post(
                    &post,
                    &[PostState::Received],
                    PostState::AwaitingOptions,
                    Fact::OptionsAwaited,
                )
                .await?;
            }
            return Ok(wait(&post.id, self.settings.options_poll));
        };
        if let Some(at) = options.publish_at
            && at > now
        {
            return Ok(wait(
                &post.id,
                Duration::from_secs(u64::try_from(at - now).unwrap_or(0)),
            ));
        }
        // A post with a publish id (a retry, a crash, an expired URL) may have reached
        // TikTok already: TikTok's status decides before any new init or chunk.
        if post.publish_id.is_some()
            && let Some(output) = self.resume_session(&post, now).await?
        {
            return Ok(output);
        }
        let inits = inits_since_last_retry(&post);
        if inits >= self.settings.max_inits as usize {
            let cause = Cause::TooManyInits {
                inits: inits as u64,
            };
            // Not a retried name: the retry would find the post final and end quietly.
            return Err(self.fail(&post, cause, None).await);
        }

        let object = self.pinned_object(&post).await?;
        let video = match probe(self.source.as_ref(), &object, &ProbeLimits::default()).await {
            Ok(video) => video,
            Err(err) => return Err(self.settle(&post, err, None).await),
        };
        let plan = match ChunkPlan::new(object.size, &self.settings.chunk_policy) {
            Ok(plan) => plan,
            Err(err) => {
                let cause = Cause::Error {
                    kind: ErrorKind::PostRefused,
                    message: err.to_string(),
                };
                return Err(self.fail(&post, cause, None).await);
            }
        };

        if let Some(wait_for) = self.spend(&post.open_id, TikTokCall::CreatorInfo).await? {
            return Ok(wait(&post.id, wait_for));
        }
        let tiktok = &self.tiktok;
        let creator = match self
            .with_token(&post.open_id, |token| async move {
                tiktok.creator_info(&token).await
            })
            .await
        {
            Ok(creator) => creator,
            Err(err) => return Err(self.settle(&post, err, None).await),
        };
        let post_info = match options.mode {
            PostMode::Draft => None,
            PostMode::DirectPost => match post_info_for(&options, &creator) {
                Ok(info) => Some(info),
                Err(cause) => return Err(self.fail(&post, cause, None).await),
            },
        };
        if let Some(duration) = video.duration {
            let max = u64::from(creator.max_video_post_duration_sec);
            if max > 0 && duration.as_secs_f64() > max as f64 {
                let cause = Cause::VideoTooLong {
                    // As `{:.0}` rounds it.
                    seconds: duration.as_secs_f64().round_ties_even() as u64,
                    creator: creator_name(&creator),
                    max_secs: max,
                };
                return Err(self.fail(&post, cause, None).await);
            }
            if let Some(cover) = options.video_cover_timestamp_ms
                && u128::from(cover) > duration.as_millis()
            {
                let cause = Cause::CoverPastEnd {
                    cover_ms: cover,
                    duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
                };
                return Err(self.fail(&post, cause, None).await);
            }
        }

        if let Some(wait_for) = self.spend(&post.open_id, TikTokCall::Init).await? {
            return Ok(wait(&post.id, wait_for));
        }
        let answer = self
            .with_token(&post.open_id, |token| {
                let post_info = post_info.clone();
                async move {
                    match post_info {
                        Some(info) => tiktok.init_direct_post(&token, &info, &plan).await,
                        None => tiktok.init_inbox(&token, &plan).await,
                    }
                }
            })
            .await;
        let init = match answer {
            Ok(init) => init,
            Err(err) => return Err(self.settle(&post, err, None).await),
        };
        let issued_at = unix_now();
        self.posts
            .record_init(
                &post.id,
                &init.publish_id,
                &init.upload_url,
                issued_at,
                &plan,
                issued_at,
            )
            .await
            .map_err(StepError::from_error)?;
        if post.state != PostState::Uploading {
            let update = PostUpdate {
                fact: Some(Fact::Initialised),
                source: Some(PostSource::from(&object)),
                ..PostUpdate::default()
            };
            self.posts
                .transition(
                    &post.id,
                    &INITIALISABLE,
                    PostState::Uploading,
                    update,
                    issued_at,
                )
                .await
                .map_err(StepError::from_error)?;
        } else {
            self.posts
                .transition(
                    &post.id,
                    &[PostState::Uploading],
                    PostState::Uploading,
                    PostUpdate::fact(Fact::Initialised),
                    issued_at,
                )
                .await
                .map_err(StepError::from_error)?;
        }
        tracing::info!(publish_id = %init.publish_id, chunks = plan.total_chunk_count(), "upload initialised");
        Ok(InitOutput {
            post_id: post.id.to_string(),
            ready: true,
            wait_seconds: 0,
        })
    }

    /// A post that has a publish id: what TikTok says of it decides, whatever the upload
    /// URL's age.
    ///
    /// - TikTok has the whole video (`PUBLISH_COMPLETE`, `SEND_TO_USER_INBOX`,
    ///   `PROCESSING_DOWNLOAD`, or `PROCESSING_UPLOAD` with every byte): on to processing,
    ///   never uploading again. A second upload would be a second post, e.g. of a post the
    ///   sweep failed as stuck that TikTok did publish.
    /// - Bytes missing: the same session resumes while its URL is fresh and TikTok has not
    ///   refused it; otherwise a new init (`None`).
    /// - `FAILED`, or a publish id TikTok does not know: that publish is dead, a new init.
    async fn resume_session(
        &self,
        post: &PostRecord,
        now: UnixTime,
    ) -> Result<Option<InitOutput>, StepError> {
        let answer = match post.publish_id.as_deref() {
            Some(publish_id) => self.publish_status(post, publish_id).await?,
            None => return self.publish_forgotten(post).await,
        };
        let status = match answer {
            PublishAnswer::Status(status) => status,
            PublishAnswer::Wait => return Ok(Some(wait(&post.id, Duration::from_secs(5)))),
            PublishAnswer::Unknown(_) => return self.publish_forgotten(post).await,
        };
        let ready = || InitOutput {
            post_id: post.id.to_string(),
            ready: true,
            wait_seconds: 0,
        };
        let video_size = post
            .upload
            .as_ref()
            .map(|session| session.plan.video_size)
            .or(post.source.size);
        let bytes_missing = status.status == PublishStatusKind::ProcessingUpload
            && video_size.is_none_or(|size| status.uploaded_bytes.unwrap_or(0) < size);
        match status.status {
            PublishStatusKind::Failed => {
                tracing::info!(
                    fail_reason = status.fail_reason.as_deref().unwrap_or("unknown"),
                    "the post's earlier publish failed at TikTok; initialising anew"
                );
                Ok(None)
            }
            PublishStatusKind::ProcessingUpload if bytes_missing => {
                let fresh = post.upload.as_ref().is_some_and(|session| {
                    now - session.issued_at < as_unix(self.settings.upload_url_lifetime)
                });
                // A URL TikTok refused already (chunk-upload noted it) would only be handed
                // to chunk-upload again, and the run would loop Init -> Upload forever.
                if !fresh || self.upload_url_refused(post) {
                    return Ok(None);
                }
                if post.state != PostState::Uploading {
                    self.move_post(
                        post,
                        &INITIALISABLE,
                        PostState::Uploading,
                        Fact::UploadResumed,
                    )
                    .await?;
                }
                Ok(Some(ready()))
            }
            // Complete, in the inbox, downloading, every byte uploaded, or a status TikTok
            // added later: TikTok has the video. The status task settles the post.
            _ => {
                self.move_post(
                    post,
                    &INITIALISABLE,
                    PostState::Processing,
                    Fact::AlreadyAtTikTok,
                )
                .await?;
                Ok(Some(ready()))
            }
        }
    }

    /// A publish TikTok does not know (or a session without a publish id): a new init, unless
    /// every byte had been sent. TikTok may have published it and then forgotten the publish
    /// id (a retry days later): a new upload could be a second post, so a person decides.
    async fn publish_forgotten(&self, post: &PostRecord) -> Result<Option<InitOutput>, StepError> {
        if !whole_video_sent(post) {
            tracing::info!("TikTok does not know the post's publish id; initialising anew");
            return Ok(None);
        }
        let advice = "Check the account's TikTok profile; if the video is not there, upload it \
                      again as a new post"
            .to_owned();
        Err(self.fail(post, Cause::PublishForgotten, Some(advice)).await)
    }

    /// TikTok's status of `publish_id`, one status call of the account's budget. A publish
    /// id TikTok does not know is an answer (its refusal kept), for the caller to read.
    async fn publish_status(
        &self,
        post: &PostRecord,
        publish_id: &str,
    ) -> Result<PublishAnswer, StepError> {
        if self
            .spend(&post.open_id, TikTokCall::StatusFetch)
            .await?
            .is_some()
        {
            return Ok(PublishAnswer::Wait);
        }
        let tiktok = &self.tiktok;
        let status = self
            .with_token(&post.open_id, |token| async move {
                match tiktok.fetch_status(&token, publish_id).await {
                    Ok(status) => Ok(PublishAnswer::Status(status)),
                    Err(err) if err.code() == Some(UNKNOWN_PUBLISH_ID) => {
                        Ok(PublishAnswer::Unknown(err))
                    }
                    Err(err) => Err(err),
                }
            })
            .await;
        match status {
            Ok(answer) => Ok(answer),
            Err(err) => Err(self.settle(post, err, None).await),
        }
    }

    /// TikTok's status for the post's publish id, or `None` when the budget says wait; a
    /// publish id TikTok does not know fails the post like any refusal.
    async fn tiktok_status(&self, post: &PostRecord) -> Result<Option<PublishStatus>, StepError> {
        let Some(publish_id) = post.publish_id.as_deref() else {
            return Err(StepError::new(
                ErrorKind::Internal,
                format!("post {} has no publish id", post.id),
            ));
        };
        match self.publish_status(post, publish_id).await? {
            PublishAnswer::Status(status) => Ok(Some(status)),
            PublishAnswer::Wait => Ok(None),
            PublishAnswer::Unknown(err) => Err(self.settle(post, err, None).await),
        }
    }

    async fn move_post(
        &self,
        post: &PostRecord,
        from: &[PostState],
        to: PostState,
        fact: Fact,
    ) -> Result<PostRecord, StepError> {
        self.posts
            .transition(&post.id, from, to, PostUpdate::fact(fact), unix_now())
            .await
            .map_err(StepError::from_error)
    }

    /// `chunk-upload`: sends chunks in order from where TikTok says the upload stands, for
    /// as long as the invocation's time allows.
    #[tracing::instrument(skip(self, deadline), fields(post_id = %post_id))]
    pub async fn upload_chunks(
        &self,
        post_id: &str,
        deadline: Option<Instant>,
    ) -> Result<UploadOutput, StepError> {
        let post = self.load(post_id).await?;
        let done = |wait_seconds| UploadOutput {
            post_id: post.id.to_string(),
            done: true,
            wait_seconds,
        };
        match post.state {
            PostState::Uploading => {}
            PostState::Processing => return Ok(done(0)),
            state => {
                return Err(StepError::new(
                    ErrorKind::PostConflict,
                    format!("post {} is {state}; nothing to upload", post.id),
                ));
            }
        }
        let (Some(session), Some(publish_id)) = (&post.upload, &post.publish_id) else {
            return Err(StepError::new(
                ErrorKind::Internal,
                format!("post {} is uploading without an upload session", post.id),
            ));
        };
        let Some(stored_url) = &session.upload_url else {
            return Err(StepError::new(
                ErrorKind::Internal,
                "the upload URL is missing",
            ));
        };
        if unix_now() - session.issued_at >= as_unix(self.settings.upload_url_lifetime) {
            return Err(StepError::new(
                ErrorKind::UploadUrlExpired,
                "the upload URL is about to expire; the upload starts again from init",
            ));
        }
        let plan = ChunkPlan::from_parts(
            session.plan.video_size,
            session.plan.chunk_size,
            session.plan.total_chunk_count,
        )
        .map_err(|e| StepError::new(ErrorKind::Internal, e.to_string()))?;

        // After a crash the record may lag behind TikTok: TikTok's count decides, so no
        // chunk is sent twice or out of order.
        let start =
            if session.chunks_done == 0 && session.bytes_done == 0 && !self.upload_was_tried(&post)
            {
                0
            } else {
                let Some(status) = self.tiktok_status(&post).await? else {
                    return Ok(UploadOutput {
                        post_id: post.id.to_string(),
                        done: false,
                        wait_seconds: 5,
                    });
                };
                if status.status == PublishStatusKind::ProcessingUpload {
                    let uploaded = status.uploaded_bytes.unwrap_or(session.bytes_done);
                    plan.chunk_starting_at(uploaded)
                        .unwrap_or(session.chunks_done)
                } else {
                    // Past uploading: TikTok has every chunk.
                    plan.total_chunk_count()
                }
            };
        if start >= plan.total_chunk_count() {
            self.move_post(
                &post,
                &[PostState::Uploading],
                PostState::Processing,
                Fact::WholeVideoAtTikTok,
            )
            .await?;
            return Ok(done(self.first_poll(&plan)));
        }
        let upload_url = &self
            .posts
            .open_upload_url(&post.id, stored_url)
            .await
            .map_err(StepError::from_error)?;
        self.mark_upload_tried(&post).await?;

        let object = self.pinned_object(&post).await?;
        let budget = self.budget(deadline);
        let posts = &self.posts;
        let post_id_ref = &post.id;
        let progress = upload_chunks_recording(
            &self.tiktok,
            self.source.as_ref(),
            &object,
            &plan,
            start,
            upload_url,
            budget,
            async |chunks_done, bytes_done| {
                posts
                    .record_chunk_done(post_id_ref, publish_id, chunks_done, bytes_done, unix_now())
                    .await
            },
        )
        .await;
        match progress {
            Ok(UploadProgress::Complete) => {
                self.move_post(
                    &post,
                    &[PostState::Uploading],
                    PostState::Processing,
                    Fact::UploadComplete,
                )
                .await?;
                tracing::info!("upload complete");
                Ok(done(self.first_poll(&plan)))
            }
            Ok(UploadProgress::Paused { next_index }) => {
                tracing::info!(next_index, "paused between chunks");
                Ok(UploadOutput {
                    post_id: post.id.to_string(),
                    done: false,
                    wait_seconds: 0,
                })
            }
            Err(failed) if failed.kind() == ErrorKind::UploadUrlExpired => {
                // Init must make a new session rather than resume this one.
                self.move_post(
                    &post,
                    &[PostState::Uploading],
                    PostState::Uploading,
                    Fact::UrlRefused,
                )
                .await?;
                Err(StepError::from_error(failed))
            }
            Err(failed) => Err(self.settle(&post, failed, None).await),
        }
    }

    fn upload_was_tried(&self, post: &PostRecord) -> bool {
        happened_since_init(post, &Fact::ChunksSending)
    }

    fn upload_url_refused(&self, post: &PostRecord) -> bool {
        happened_since_init(post, &Fact::UrlRefused)
    }

    /// Notes that chunks of this session are about to be sent, so that a retry after a
    /// crash asks TikTok where the upload stands instead of starting at chunk 0.
    async fn mark_upload_tried(&self, post: &PostRecord) -> Result<(), StepError> {
        if self.upload_was_tried(post) {
            return Ok(());
        }
        self.move_post(
            post,
            &[PostState::Uploading],
            PostState::Uploading,
            Fact::ChunksSending,
        )
        .await
        .map(|_| ())
    }

    fn first_poll(&self, plan: &ChunkPlan) -> u64 {
        secs(status_poll_interval(Duration::ZERO, plan.video_size()))
    }

    /// How long this invocation may spend sending chunks.
    fn budget(&self, deadline: Option<Instant>) -> Duration {
        let now = Instant::now();
        match deadline {
            // A deadline already past is what the local runtime sends: unknown.
            Some(deadline) if deadline > now => deadline
                .saturating_duration_since(now)
                .saturating_sub(self.settings.deadline_reserve)
                .min(self.settings.upload_budget),
            _ => self.settings.upload_budget,
        }
    }

    /// `publish-status`: fetches TikTok's status and, when final, records the outcome.
    #[tracing::instrument(skip(self), fields(post_id = %post_id))]
    pub async fn check_status(&self, post_id: &str) -> Result<StatusOutput, StepError> {
        let post = self.load(post_id).await?;
        let answer = |is_final, wait_seconds| StatusOutput {
            post_id: post.id.to_string(),
            is_final,
            uploaded: true,
            wait_seconds,
        };
        match post.state {
            PostState::Processing => {}
            PostState::Published | PostState::SentToInbox => return Ok(answer(true, 0)),
            // chunk-upload paused between chunks: back to it.
            PostState::Uploading => {
                return Ok(StatusOutput {
                    uploaded: false,
                    ..answer(false, 0)
                });
            }
            state => {
                return Err(StepError::new(
                    ErrorKind::PostConflict,
                    format!("post {} is {state}; no status to fetch", post.id),
                ));
            }
        }
        let processing_since = post
            .history
            .iter()
            .rev()
            .find(|h| h.state == PostState::Processing)
            .map_or(post.updated_at, |h| h.at);
        let processing_for =
            Duration::from_secs(u64::try_from(unix_now() - processing_since).unwrap_or(0));
        let size = post.source.size.unwrap_or(0);
        if let Some(result) = self.settle_from_webhook(&post).await {
            return result.map(|()| answer(true, 0));
        }
        let Some(status) = self.tiktok_status(&post).await? else {
            return Ok(answer(false, 5));
        };
        let done = match status.status {
            PublishStatusKind::PublishComplete => {
                Some((PostState::Published, Fact::Published { via_webhook: false }))
            }
            PublishStatusKind::SendToUserInbox => Some((
                PostState::SentToInbox,
                Fact::SentToInbox { via_webhook: false },
            )),
            _ => None,
        };
        if let Some((to, fact)) = done {
            let update = PostUpdate {
                fact: Some(fact),
                outcome: Some(PostOutcome {
                    public_post_ids: status.public_post_ids.clone(),
                }),
                ..PostUpdate::default()
            };
            self.posts
                .transition(&post.id, &[PostState::Processing], to, update, unix_now())
                .await
                .map_err(StepError::from_error)?;
            tracing::info!(state = %to, public_ids = ?status.public_post_ids, "post final");
            return Ok(answer(true, 0));
        }
        match status.status {
            PublishStatusKind::Failed => {
                let fail_reason = status
                    .fail_reason
                    .clone()
                    .unwrap_or_else(|| "unknown".into());
                let advice = fail_reason_advice(&fail_reason);
                Err(self
                    .fail(&post, Cause::TikTokFailed { fail_reason }, advice)
                    .await)
            }
            _ if processing_for > self.settings.processing_deadline => {
                let cause = Cause::ProcessingTimedOut {
                    minutes: self.settings.processing_deadline.as_secs() / 60,
                };
                Err(self.fail(&post, cause, None).await)
            }
            _ => Ok(answer(
                false,
                secs(status_poll_interval(processing_for, size)),
            )),
        }
    }

    /// Ends a processing post on the final event TikTok's webhook recorded for its current
    /// upload, without spending a status fetch. `None`: no usable event, fetch the status.
    /// A `post.publish.complete` for a public post without its post id is not enough (the
    /// id is what the user wants): the status fetch gets it.
    async fn settle_from_webhook(&self, post: &PostRecord) -> Option<Result<(), StepError>> {
        let event = post.webhook_for_current_upload()?;
        let (to, fact) = match event.kind {
            WebhookFinalKind::Failed => {
                let fail_reason = event.reason.clone().unwrap_or_else(|| "unknown".into());
                let advice = fail_reason_advice(&fail_reason);
                return Some(Err(self
                    .fail(post, Cause::TikTokFailed { fail_reason }, advice)
                    .await));
            }
            WebhookFinalKind::InboxDelivered => (
                PostState::SentToInbox,
                Fact::SentToInbox { via_webhook: true },
            ),
            WebhookFinalKind::Complete => {
                let public = post.options.as_ref().and_then(|o| o.privacy_level)
                    == Some(PrivacyLevel::PublicToEveryone);
                if public && event.public_post_id.is_none() {
                    return None;
                }
                (PostState::Published, Fact::Published { via_webhook: true })
            }
        };
        let update = PostUpdate {
            fact: Some(fact),
            outcome: Some(PostOutcome {
                public_post_ids: event.public_post_id.iter().cloned().collect(),
            }),
            ..PostUpdate::default()
        };
        let moved = self
            .posts
            .transition(&post.id, &[PostState::Processing], to, update, unix_now())
            .await
            .map_err(StepError::from_error);
        if moved.is_ok() {
            tracing::info!(state = %to, "post final from the webhook's event; no status fetch");
        }
        Some(moved.map(|_| ()))
    }

    /// The state machine's last resort: records a failure a step could not record itself.
    /// A post already final keeps what it has.
    #[tracing::instrument(skip(self, input), fields(post_id = %input.post_id, error = %input.error.error))]
    pub async fn record_failure(&self, input: &FailureInput) -> Result<(), StepError> {
        let post = self.load(&input.post_id).await?;
        if post.state.is_final() {
            return Ok(());
        }
        let detail = (!input.error.cause.is_empty()).then(|| {
            let mut detail = input.error.cause.clone();
            detail.truncate(detail.floor_char_boundary(1000));
            detail
        });
        let cause = Cause::PipelineStopped {
            error: input.error.error.clone(),
            detail,
        };
        let advice = retry_advice(cause.kind());
        let failure = PostFailure::new(cause, advice);
        let from: Vec<PostState> = PostState::ALL
            .iter()
            .copied()
            .filter(|s| !s.is_final())
            .collect();
        match self
            .posts
            .transition(
                &post.id,
                &from,
                PostState::Failed,
                PostUpdate::failed(failure),
                unix_now(),
            )
            .await
        {
            Ok(_) | Err(StoreError::StateConflict { .. }) => Ok(()),
            Err(err) => Err(StepError::from_error(err)),
        }
    }
}

/// What TikTok's status says of a publish id, seen before deciding to init again.
enum PublishAnswer {
    Status(PublishStatus),
    /// The status budget is spent: wait, then ask again.
    Wait,
    /// TikTok does not know the publish id (`invalid_publish_id`): its refusal.
    Unknown(TikTokError),
}

/// TikTok's error code for a publish id it does not know.
const UNKNOWN_PUBLISH_ID: &str = "invalid_publish_id";

/// Whether every byte reached TikTok (recorded chunk by chunk) or TikTok was processing it.
fn whole_video_sent(post: &PostRecord) -> bool {
    let all_chunks = post
        .upload
        .as_ref()
        .is_some_and(|session| session.bytes_done >= session.plan.video_size);
    all_chunks
        || post.state == PostState::Processing
        || post
            .history
            .iter()
            .any(|h| h.state == PostState::Processing)
}

/// The inits since the post was last retried: each retry has the full allowance again.
fn inits_since_last_retry(post: &PostRecord) -> usize {
    post.history
        .iter()
        .rev()
        .filter_map(|h| h.fact.as_ref())
        .take_while(|fact| !fact.is_retry())
        .filter(|fact| **fact == Fact::Initialised)
        .count()
}

/// Whether the current upload session (since the last init) has this fact in its history.
fn happened_since_init(post: &PostRecord, fact: &Fact) -> bool {
    post.history
        .iter()
        .rev()
        .filter_map(|h| h.fact.as_ref())
        .take_while(|f| **f != Fact::Initialised)
        .any(|f| f == fact)
}

fn creator_name(creator: &CreatorInfo) -> String {
    if creator.creator_nickname.is_empty() {
        "this creator".to_owned()
    } else {
        format!(
            "{} (@{})",
            creator.creator_nickname, creator.creator_username
        )
    }
}

/// The `post_info` TikTok gets, or why the options do not fit what the creator allows now.
fn post_info_for(
    options: &crate::store::PostOptions,
    creator: &CreatorInfo,
) -> Result<PostInfo, Cause> {
    let Some(level) = options.privacy_level else {
        return Err(Cause::NoPrivacyLevel);
    };
    // The options parser refuses these, but a record may hold options it never saw (an
    // older version wrote them): TikTok would refuse the init, and count it.
    let title_len = utf16_len(&options.title);
    if title_len > MAX_TITLE_UTF16 {
        return Err(Cause::TitleTooLong {
            utf16_units: title_len,
        });
    }
    if !creator.offers(level) {
        return Err(Cause::PrivacyLevelNotOffered {
            level,
            creator: creator_name(creator),
            offered: creator.privacy_level_options.clone(),
        });
    }
    let switch = |interaction: Interaction,
                  wanted: Option<bool>,
                  creator_disabled: bool|
     -> Result<bool, Cause> {
        match wanted {
            Some(false) if creator_disabled => Err(Cause::InteractionDisabled {
                interaction,
                creator: creator_name(creator),
            }),
            Some(disable) => Ok(disable),
            None => Ok(creator_disabled),
        }
    };
    Ok(PostInfo {
        title: options.title.clone(),
        privacy_level: level,
        disable_duet: switch(
            Interaction::Duet,
            options.disable_duet,
            creator.duet_disabled,
        )?,
        disable_comment: switch(
            Interaction::Comment,
            options.disable_comment,
            creator.comment_disabled,
        )?,
        disable_stitch: switch(
            Interaction::Stitch,
            options.disable_stitch,
            creator.stitch_disabled,
        )?,
        video_cover_timestamp_ms: options.video_cover_timestamp_ms,
        brand_content_toggle: options.brand_content_toggle,
        brand_organic_toggle: options.brand_organic_toggle,
        is_aigc: options.is_aigc,
    })
}

/// What to do about TikTok's `fail_reason` values (the list is not documented in full).
fn fail_reason_advice(reason: &str) -> Option<String> {
    let advice = match reason {
        "file_format_check_failed" => {
            "TikTok takes MP4 (recommended), WebM or MOV with H.264, H.265, VP8 or VP9"
        }
        "duration_check_failed" => {
            "The video is too long or too short for this creator (at least about 3 s, at most what creator info allows)"
        }
        "frame_rate_check_failed" => "TikTok takes 23 to 60 frames per second",
        "picture_size_check_failed" => "Both sides must be between 360 and 4096 pixels",
        "spam_risk_too_many_posts" => {
            "The creator reached TikTok's daily post cap; try again tomorrow"
        }
        "spam_risk_user_banned_from_posting" => "TikTok has banned this account from posting",
        "spam_risk_text" | "spam_risk" => "TikTok flagged the post as spam; change the caption",
        "auth_removed" => "The creator removed this app's access; connect the account again",
        "publish_cancelled" => "The post was cancelled in TikTok",
        "internal" | "video_pull_failed" => "A fault at TikTok; post it again",
        _ => return None,
    };
    Some(advice.to_owned())
}

fn retry_advice(kind: ErrorKind) -> Option<String> {
    match kind.remedy() {
        crate::errors::Remedy::Retry => {
            Some("TikTok or AWS kept failing; post it again later".to_owned())
        }
        crate::errors::Remedy::Reconnect => {
            Some("Connect the TikTok account again, then post it again".to_owned())
        }
        _ => None,
    }
}
