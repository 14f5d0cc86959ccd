//! The init of a photo post (a carousel): TikTok takes photos only by pulling them
//! (`PULL_FROM_URL`), so the stack needs its front door. Each image is read and made ready
//! (`media::photo`: a PNG or an image over TikTok's caps is written again as JPEG, under
//! the account's `.tiktok-prepared/` folder, which the front door serves and the S3 trigger
//! ignores), its media URL signed, and TikTok asked to pull them all. From there the post
//! goes on as a pulled video does: `PROCESSING`, then status polling.

use super::common::*;
use super::init::creator_name;
use super::pull::{URL_OWNERSHIP_UNVERIFIED, media_url_expiry, refusal_code};
use crate::errors::ErrorKind;
use crate::intake::read_all;
use crate::media::photo::{Conversion, prepare_photo};
use crate::pipeline::{FrontDoor, InitOutput, Pipeline, StepError};
use crate::store::{Cause, PhotoSet, PostOptions, PostRecord, TikTokCall};
use crate::tiktok::error::advice;
use crate::tiktok::{
    CreatorInfo, MAX_PHOTO_TITLE_UTF16, MediaUrl, PhotoPostInfo, PhotoPostMode, PhotoSourceInfo,
    PostMode, utf16_len,
};
use tiktok_publish_domain::cause::Interaction;
use tiktok_publish_domain::media_url::SERVED_PREFIX;
use tiktok_publish_domain::photo_post::PREPARED_FOLDER;
use tiktok_publish_domain::photo_rules::{MAX_SOURCE_BYTES, PhotoRefusal};
use tiktok_publish_domain::video::VideoLocation;

/// What to do about `url_ownership_unverified` on a photo post (a video could be uploaded
/// instead; photos cannot).
const PHOTO_URL_UNVERIFIED_ADVICE: &str = "Verify the front door's domain, or its media prefix \
     (the MediaUrlPrefix output), in TikTok's developer portal (docs/front-door.md), then \
     retry: TikTok takes photo posts only by pulling them from a verified URL";

impl Pipeline {
    /// Initialises the photo post `post`, once init_upload has checked its state, schedule,
    /// earlier publish and the account's scopes.
    pub(super) async fn init_photos(
        &self,
        post: &PostRecord,
        photos: &PhotoSet,
        options: &PostOptions,
    ) -> Result<InitOutput, StepError> {
        let Some(door) = self.settings.front_door.as_ref() else {
            return Err(self.fail(post, Cause::FrontDoorMissing, None).await);
        };
        // Every image is read and checked before TikTok is asked anything: a refused image
        // costs no call of the account's budget.
        let mut ready = Vec::with_capacity(photos.images().len());
        for (at, image) in photos.images().iter().enumerate() {
            ready.push(self.ready_photo(post, at, image).await?);
        }

        let tiktok = &self.tiktok;
        let post_info = match options.mode {
            PostMode::DirectPost => {
                if let Some(wait_for) = self.spend(&post.open_id, TikTokCall::CreatorInfo).await? {
                    return Ok(wait(&post.id, wait_for));
                }
                let creator = match self
                    .with_token(&post.open_id, |token| async move {
                        tiktok.creator_info(&token).await
                    })
                    .await
                {
                    Ok(creator) => creator,
                    Err(err) => return Err(self.settle(post, err, None).await),
                };
                match photo_post_info(options, &creator) {
                    Ok(info) => info,
                    Err(cause) => return Err(self.fail(post, cause, None).await),
                }
            }
            PostMode::Draft => draft_post_info(options),
        };
        // init_upload refused a direct post of an account without `video.publish` already.
        let mode = match options.mode {
            PostMode::DirectPost => PhotoPostMode::DirectPost,
            PostMode::Draft => PhotoPostMode::MediaUpload,
        };

        if let Some(wait_for) = self.spend(&post.open_id, TikTokCall::Init).await? {
            return Ok(wait(&post.id, wait_for));
        }
        let expires_at = media_url_expiry();
        let mut urls = Vec::with_capacity(ready.len());
        for (at, location) in ready.iter().enumerate() {
            match sign(door, location, expires_at) {
                Ok(url) => urls.push(url),
                Err(message) => {
                    let cause = Cause::Error {
                        kind: ErrorKind::PostRefused,
                        message: format!("TikTok cannot pull photo {}: {message}", at + 1),
                    };
                    return Err(self.fail(post, cause, None).await);
                }
            }
        }
        let source = PhotoSourceInfo {
            photo_images: urls,
            photo_cover_index: options.photo_cover_index.unwrap_or(0),
        };
        let answer = self
            .with_token(&post.open_id, |token| {
                let (post_info, source) = (&post_info, &source);
                async move {
                    tiktok
                        .init_photo_post(&token, mode, post_info, source)
                        .await
                }
            })
            .await;
        match answer {
            Ok(init) => {
                tracing::info!(photos = ready.len(), "TikTok asked to pull the photos");
                self.record_pulled(post, None, &init, expires_at).await
            }
            Err(err) => {
                let advice = match refusal_code(&err) {
                    Some(URL_OWNERSHIP_UNVERIFIED) => Some(PHOTO_URL_UNVERIFIED_ADVICE),
                    code => code.and_then(advice),
                };
                Err(self.settle(post, err, advice.map(str::to_owned)).await)
            }
        }
    }

    /// Reads image `at` (from 0) of the post and makes it a photo TikTok takes: where it
    /// is as it is, or where its converted JPEG was written.
    async fn ready_photo(
        &self,
        post: &PostRecord,
        at: usize,
        image: &VideoLocation,
    ) -> Result<VideoLocation, StepError> {
        let refuse = |refusal: PhotoRefusal| Cause::PhotoRefused {
            image: at + 1,
            key: image.key.clone(),
            refusal,
        };
        let object = match self.source.head(image).await {
            Ok(object) => object,
            Err(err) => return Err(self.settle(post, err, None).await),
        };
        // Not read at all past what the stack converts.
        if object.size > MAX_SOURCE_BYTES {
            let cause = refuse(PhotoRefusal::TooLarge { bytes: object.size });
            return Err(self.fail(post, cause, None).await);
        }
        let bytes = match read_all(self.source.as_ref(), &object).await {
            Ok(bytes) => bytes,
            Err(err) => return Err(self.settle(post, err, None).await),
        };
        // Decoding and encoding are CPU-bound: off the async workers.
        let prepared = tokio::task::spawn_blocking(move || prepare_photo(&bytes))
            .await
            .map_err(|e| {
                StepError::new(
                    ErrorKind::Internal,
                    format!("preparing photo {} stopped: {e}", at + 1),
                )
            })?;
        let photo = match prepared {
            Ok(photo) => photo,
            Err(refusal) => return Err(self.fail(post, refuse(refusal), None).await),
        };
        if photo.conversion == Conversion::None {
            return Ok(object.location);
        }
        let key = prepared_key(post, at);
        tracing::info!(photo = at + 1, conversion = ?photo.conversion, "photo converted for TikTok");
        match self
            .photos
            .put_photo(
                &image.bucket,
                &key,
                photo.bytes,
                photo.format.content_type(),
            )
            .await
        {
            Ok(written) => Ok(written),
            Err(err) => Err(self.settle(post, err, None).await),
        }
    }
}

/// Where photo `at` (from 0) of `post` is written once converted: under the account's
/// upload folder (the front door serves `uploads/`), with an image name (the S3 trigger
/// ignores images), one folder per post.
fn prepared_key(post: &PostRecord, at: usize) -> String {
    format!(
        "{SERVED_PREFIX}{}/{PREPARED_FOLDER}/{}/{}.jpg",
        post.open_id,
        post.id,
        at + 1
    )
}

/// The signed media URL of one photo's exact version, or why the front door cannot serve it.
fn sign(door: &FrontDoor, location: &VideoLocation, expires_at: i64) -> Result<MediaUrl, String> {
    let version = location.version_id.as_deref().unwrap_or_default();
    door.signer
        .sign(&location.key, version, expires_at)
        .map(MediaUrl::new)
        .map_err(|err| err.to_string())
}

/// A draft's `post_info`: its title and description; the creator chooses the rest in the app
/// (TikTok's switches "only work for" direct posts).
fn draft_post_info(options: &PostOptions) -> PhotoPostInfo {
    PhotoPostInfo {
        title: options.title.clone(),
        description: options.description.clone(),
        privacy_level: None,
        disable_comment: true,
        auto_add_music: false,
        brand_content_toggle: false,
        brand_organic_toggle: false,
    }
}

/// A direct photo post's `post_info`, or why the options do not fit what the creator allows
/// now. Comment is a photo post's only interaction switch: off unless the options turn it on.
fn photo_post_info(options: &PostOptions, creator: &CreatorInfo) -> Result<PhotoPostInfo, Cause> {
    let Some(level) = options.privacy_level else {
        return Err(Cause::NoPrivacyLevel);
    };
    let title_len = utf16_len(&options.title);
    if title_len > MAX_PHOTO_TITLE_UTF16 {
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
    let disable_comment = match options.disable_comment {
        Some(false) if creator.comment_disabled => {
            return Err(Cause::InteractionDisabled {
                interaction: Interaction::Comment,
                creator: creator_name(creator),
            });
        }
        Some(disable) => disable,
        None => true,
    };
    Ok(PhotoPostInfo {
        title: options.title.clone(),
        description: options.description.clone(),
        privacy_level: Some(level),
        disable_comment,
        auto_add_music: options.auto_add_music,
        brand_content_toggle: options.brand_content_toggle,
        brand_organic_toggle: options.brand_organic_toggle,
    })
}
