//! Videos TikTok pulls from the front door (`PULL_FROM_URL`): which posts go that way, and
//! the init that asks TikTok to download one. There is no upload session: the publish id is
//! saved the moment init answers, and the post moves straight to `PROCESSING`.

use super::init::INITIALISABLE;
use crate::errors::ErrorKind;
use crate::media::VideoObject;
use crate::pipeline::{FrontDoor, InitOutput, Pipeline, StepError};
use crate::store::{
    Cause, Fact, PostOptions, PostRecord, PostSource, PostState, PostUpdate, unix_now,
};
use crate::tiktok::{MediaUrl, PostInfo, PullInitResponse, PullSourceInfo, VideoSource};
use tiktok_publish_domain::media_url::MEDIA_URL_LIFETIME_SECS;

/// Seconds from a pull's init to its first status poll.
const FIRST_PULL_POLL_SECS: u64 = 5;

/// How one post reaches TikTok.
#[derive(Debug)]
pub(super) enum Route<'a> {
    Upload,
    Pull(&'a FrontDoor),
}

impl Pipeline {
    /// The route the post's options (or the stack's default) choose. A pull asked for
    /// without a front door is refused: the stack cannot serve the URL TikTok would need.
    /// Where the options leave it open, what TikTok refused since the last retry turns the
    /// route: a refused pull goes by upload, a refused chunked upload by pull.
    pub(super) fn route_for(
        &self,
        post: &PostRecord,
        options: &PostOptions,
    ) -> Result<Route<'_>, Cause> {
        let front_door = self.settings.front_door.as_ref();
        let refused = |wanted: &Fact| {
            post.history
                .iter()
                .rev()
                .filter_map(|h| h.fact.as_ref())
                .take_while(|fact| !fact.is_retry())
                .any(|fact| std::mem::discriminant(fact) == std::mem::discriminant(wanted))
        };
        let wanted = match options.source {
            Some(source) => source,
            None if refused(&Fact::PullRefused {
                code: String::new(),
            }) =>
            {
                VideoSource::FileUpload
            }
            None if front_door.is_some() && refused(&Fact::ChunkedInitRefused) => {
                VideoSource::PullFromUrl
            }
            None => front_door.map_or(VideoSource::FileUpload, |door| door.default_source),
        };
        match (wanted, front_door) {
            (VideoSource::FileUpload, _) => Ok(Route::Upload),
            (VideoSource::PullFromUrl, Some(door)) => Ok(Route::Pull(door)),
            (VideoSource::PullFromUrl, None) => Err(Cause::FrontDoorMissing),
        }
    }

    /// Signs a media URL for the post's exact video version; `None` when the front door
    /// cannot serve it (an object outside `uploads/`, or no version id), so the post goes
    /// by upload instead, unless its options asked for a pull, which then fails.
    pub(super) fn media_url(
        &self,
        post: &PostRecord,
        object: &VideoObject,
        door: &FrontDoor,
        expires_at: i64,
    ) -> Result<Option<MediaUrl>, Cause> {
        let version = object.location.version_id.as_deref().unwrap_or_default();
        match door.signer.sign(&object.location.key, version, expires_at) {
            Ok(url) => Ok(Some(MediaUrl::new(url))),
            Err(err)
                if post.options.as_ref().and_then(|o| o.source)
                    == Some(VideoSource::PullFromUrl) =>
            {
                Err(Cause::Error {
                    kind: ErrorKind::PostRefused,
                    message: format!("TikTok cannot pull this video: {err}"),
                })
            }
            Err(err) => {
                tracing::warn!(error = %err, "the front door cannot serve this video; uploading it instead");
                Ok(None)
            }
        }
    }

    /// Asks TikTok to pull the video (a direct post with `post_info`, else a draft). The
    /// error is the caller's to settle or to fall back from.
    pub(super) async fn ask_pull(
        &self,
        post: &PostRecord,
        post_info: Option<PostInfo>,
        video_url: MediaUrl,
    ) -> Result<PullInitResponse, StepError> {
        let tiktok = &self.tiktok;
        let source = PullSourceInfo { video_url };
        self.with_token(&post.open_id, |token| {
            let post_info = post_info.clone();
            let source = source.clone();
            async move {
                match post_info {
                    Some(info) => tiktok.init_direct_post_pull(&token, &info, &source).await,
                    None => tiktok.init_inbox_pull(&token, &source).await,
                }
            }
        })
        .await
    }

    /// Saves a pull's publish id at once and moves the post to `PROCESSING` (`source`: the
    /// video as it was pulled; `None` for a photo post, whose images stay as recorded).
    pub(super) async fn record_pulled(
        &self,
        post: &PostRecord,
        source: Option<PostSource>,
        init: &PullInitResponse,
        url_expires_at: i64,
    ) -> Result<InitOutput, StepError> {
        let now = unix_now();
        self.posts
            .record_pull(&post.id, &init.publish_id, now)
            .await
            .map_err(StepError::from_error)?;
        let update = PostUpdate {
            fact: Some(Fact::PullRequested { url_expires_at }),
            source,
            ..PostUpdate::default()
        };
        let moved = self
            .posts
            .transition(&post.id, &INITIALISABLE, PostState::Processing, update, now)
            .await
            .map_err(StepError::from_error)?;
        self.ends.settle(moved).await;
        tracing::info!(publish_id = %init.publish_id, "TikTok asked to pull the media");
        Ok(InitOutput {
            post_id: post.id.to_string(),
            ready: true,
            // The first status poll: TikTok has only started downloading.
            wait_seconds: FIRST_PULL_POLL_SECS,
            pulled: true,
        })
    }
}

/// TikTok's error code on a refused init, when the refusal carried one.
pub(super) fn refusal_code(error: &StepError) -> Option<&str> {
    match error.cause.as_ref() {
        Cause::TikTokRefused { code, .. } => Some(code),
        _ => None,
    }
}

/// TikTok's code for a pull from a URL whose domain or prefix the app has not verified.
pub(super) const URL_OWNERSHIP_UNVERIFIED: &str = "url_ownership_unverified";
/// Whether `code` is TikTok's refusal of request parameters (a multi-chunk plan, since
/// 2026-08). Its pages spell it both `invalid_params` and `invalid_param`.
pub(super) fn is_invalid_params(code: Option<&str>) -> bool {
    matches!(code, Some("invalid_params" | "invalid_param"))
}

/// The media URL's expiry for a pull asked for now.
pub(super) fn media_url_expiry() -> i64 {
    unix_now() + MEDIA_URL_LIFETIME_SECS
}
