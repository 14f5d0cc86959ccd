//! The init step: the creator's checks, TikTok's init, and resuming what a crash left.

use std::time::Duration;

use super::common::*;
use super::pull::{
    Route, URL_OWNERSHIP_UNVERIFIED, is_invalid_params, media_url_expiry, refusal_code,
};
use crate::errors::ErrorKind;
use crate::media::check::{duration_fits_limit, fits_tiktok};
use crate::media::probe::{ProbeError, ProbeLimits, probe};
use crate::pipeline::{InitOutput, Pipeline, StepError};
use crate::store::{
    Cause, Fact, PostRecord, PostSource, PostState, PostUpdate, TikTokCall, unix_now,
};
use crate::tiktok::error::advice;
use crate::tiktok::{
    ChunkPlan, CreatorInfo, DIRECT_POST_SCOPE, MAX_TITLE_UTF16, PostInfo, PostMode, PublishStatus,
    TikTokError, utf16_len,
};
use crate::tokens::TokenError;
use tiktok_publish_domain::cause::Interaction;
use tiktok_publish_domain::media_rules::DurationLimit;

/// States in which a post may be initialised (again, after an expired upload URL).
pub(super) const INITIALISABLE: [PostState; 4] = [
    PostState::Received,
    PostState::AwaitingOptions,
    PostState::Queued,
    PostState::Uploading,
];

impl Pipeline {
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

        // A direct post needs `video.publish`; an account that granted only `video.upload`
        // posts drafts. Refused here, not by TikTok: its refusal would cost a counted init.
        let may_direct_post = match self.tokens.granted_scopes(&post.open_id).await {
            Ok(scopes) => scopes.iter().any(|scope| scope == DIRECT_POST_SCOPE),
            Err(TokenError::NotConnected { open_id }) => {
                let refusal = StepError::caused(Cause::NotConnected { open_id });
                return Err(self.settle(&post, refusal, None).await);
            }
            Err(err) => return Err(StepError::from_error(err)),
        };
        if options.mode == PostMode::DirectPost && !may_direct_post {
            let cause = Cause::ScopeNotGranted {
                scope: DIRECT_POST_SCOPE.to_owned(),
            };
            return Err(self.fail(&post, cause, None).await);
        }

        if let Some(photos) = &post.photos {
            return self.init_photos(&post, photos, &options).await;
        }

        // Refused before any call when the options ask for a pull the stack cannot serve.
        let route = match self.route_for(&post, &options) {
            Ok(route) => route,
            Err(cause) => return Err(self.fail(&post, cause, None).await),
        };

        let object = self.pinned_object(&post).await?;
        let video = match probe(self.source.as_ref(), &object, &ProbeLimits::default()).await {
            Ok(video) => video,
            Err(ProbeError::NotAVideo { refusal }) => {
                return Err(self.fail(&post, refusal.into(), None).await);
            }
            Err(err) => return Err(self.settle(&post, err, None).await),
        };
        // Codec, frame rate and size; a draft's duration too (TikTok's inbox limit). A direct
        // post's duration waits for the creator's limit, below.
        let draft_limit = (options.mode == PostMode::Draft).then_some(DurationLimit::InboxUpload);
        if let Err(refusal) = fits_tiktok(&video, draft_limit.as_ref()) {
            return Err(self.fail(&post, refusal.into(), None).await);
        }
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

        let tiktok = &self.tiktok;
        // TikTok's creator_info needs `video.publish`: a draft of an account without it goes
        // without (its length was checked against TikTok's inbox limit above).
        let creator = if may_direct_post {
            if let Some(wait_for) = self.spend(&post.open_id, TikTokCall::CreatorInfo).await? {
                return Ok(wait(&post.id, wait_for));
            }
            match self
                .with_token(&post.open_id, |token| async move {
                    tiktok.creator_info(&token).await
                })
                .await
            {
                Ok(creator) => Some(creator),
                Err(err) => return Err(self.settle(&post, err, None).await),
            }
        } else {
            None
        };
        let post_info = match (options.mode, &creator) {
            (PostMode::DirectPost, Some(creator)) => match post_info_for(&options, creator) {
                Ok(info) => Some(info),
                Err(cause) => return Err(self.fail(&post, cause, None).await),
            },
            _ => None,
        };
        if let Some(duration) = video.duration {
            if let Some(creator) = &creator
                && options.mode == PostMode::DirectPost
            {
                let limit = DurationLimit::Creator {
                    creator: creator_name(creator),
                    max_secs: u64::from(creator.max_video_post_duration_sec),
                };
                if let Err(refusal) = duration_fits_limit(&video, &limit) {
                    return Err(self.fail(&post, refusal.into(), None).await);
                }
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
        if let Route::Pull(door) = route {
            let expires_at = media_url_expiry();
            match self.media_url(&post, &object, door, expires_at) {
                Ok(Some(url)) => match self.ask_pull(&post, post_info.clone(), url).await {
                    Ok(init) => {
                        let source = Some(PostSource::from(&object));
                        return self.record_pulled(&post, source, &init, expires_at).await;
                    }
                    // Not verified with TikTok: uploaded instead, unless the options insist on
                    // a pull (the refusal then says how to verify the domain).
                    Err(err)
                        if refusal_code(&err) == Some(URL_OWNERSHIP_UNVERIFIED)
                            && options.source.is_none() =>
                    {
                        let fact = Fact::PullRefused {
                            code: URL_OWNERSHIP_UNVERIFIED.to_owned(),
                        };
                        self.move_post(&post, &INITIALISABLE, post.state, fact)
                            .await?;
                        tracing::warn!("TikTok has not verified the front door; uploading instead");
                        if let Some(wait_for) = self.spend(&post.open_id, TikTokCall::Init).await? {
                            return Ok(wait(&post.id, wait_for));
                        }
                    }
                    Err(err) => {
                        let advice = refusal_code(&err).and_then(advice).map(str::to_owned);
                        return Err(self.settle(&post, err, advice).await);
                    }
                },
                Ok(None) => {}
                Err(cause) => return Err(self.fail(&post, cause, None).await),
            }
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
            // TikTok has refused inits of several chunks since 2026-08; with a front door,
            // the post is pulled instead (once: the fact turns the route for the next init).
            Err(err)
                if is_invalid_params(refusal_code(&err))
                    && plan.total_chunk_count() > 1
                    && self.settings.front_door.is_some()
                    && options.source.is_none() =>
            {
                self.move_post(&post, &INITIALISABLE, post.state, Fact::ChunkedInitRefused)
                    .await?;
                tracing::warn!(
                    chunks = plan.total_chunk_count(),
                    "TikTok refused a chunked init; pulling instead"
                );
                return Ok(wait(&post.id, std::time::Duration::from_secs(1)));
            }
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
            let moved = self
                .posts
                .transition(
                    &post.id,
                    &INITIALISABLE,
                    PostState::Uploading,
                    update,
                    issued_at,
                )
                .await
                .map_err(StepError::from_error)?;
            self.ends.settle(moved).await;
        } else {
            let moved = self
                .posts
                .transition(
                    &post.id,
                    &[PostState::Uploading],
                    PostState::Uploading,
                    PostUpdate::fact(Fact::Initialised),
                    issued_at,
                )
                .await
                .map_err(StepError::from_error)?;
            self.ends.settle(moved).await;
        }
        tracing::info!(publish_id = %init.publish_id, chunks = plan.total_chunk_count(), "upload initialised");
        Ok(InitOutput {
            post_id: post.id.to_string(),
            ready: true,
            wait_seconds: 0,
            pulled: false,
        })
    }

    /// TikTok's status of `publish_id`, one status call of the account's budget. A publish
    /// id TikTok does not know is an answer (its refusal kept), for the caller to read.
    pub(super) async fn publish_status(
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
    pub(super) async fn tiktok_status(
        &self,
        post: &PostRecord,
    ) -> Result<Option<PublishStatus>, StepError> {
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
}

/// What TikTok's status says of a publish id, seen before deciding to init again.
pub(super) enum PublishAnswer {
    Status(PublishStatus),
    /// The status budget is spent: wait, then ask again.
    Wait,
    /// TikTok does not know the publish id (`invalid_publish_id`): its refusal.
    Unknown(TikTokError),
}

/// TikTok's error code for a publish id it does not know.
pub(super) const UNKNOWN_PUBLISH_ID: &str = "invalid_publish_id";

/// Whether every byte reached TikTok (recorded chunk by chunk, or pulled by TikTok itself)
/// or TikTok was processing it.
pub(super) fn whole_video_sent(post: &PostRecord) -> bool {
    if post.is_pull() {
        // TikTok fetches a pulled video whole: once asked, it may have all of it.
        return true;
    }
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
pub(super) fn inits_since_last_retry(post: &PostRecord) -> usize {
    post.history
        .iter()
        .rev()
        .filter_map(|h| h.fact.as_ref())
        .take_while(|fact| !fact.is_retry())
        .filter(|fact| matches!(fact, Fact::Initialised | Fact::PullRequested { .. }))
        .count()
}

/// Whether the current upload session (since the last init) has this fact in its history.
pub(super) fn happened_since_init(post: &PostRecord, fact: &Fact) -> bool {
    post.history
        .iter()
        .rev()
        .filter_map(|h| h.fact.as_ref())
        .take_while(|f| !matches!(f, Fact::Initialised | Fact::PullRequested { .. }))
        .any(|f| f == fact)
}

pub(super) fn creator_name(creator: &CreatorInfo) -> String {
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
pub(super) fn post_info_for(
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
            // Off unless the options turn it on: TikTok's Content Sharing Guidelines say
            // "none should be checked by default".
            None => Ok(true),
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
