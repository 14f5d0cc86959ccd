//! The status step: TikTok's answer (or a verified webhook's) moves the post on; a draft
//! the creator posted from the inbox (a recorded `post.publish.complete`) moves on to
//! `PUBLISHED`.

use std::time::Duration;

use super::common::*;
use crate::errors::ErrorKind;
use crate::pipeline::{Pipeline, StatusOutput, StepError, status_poll_interval};
use crate::store::{
    Cause, Fact, PostOutcome, PostRecord, PostState, PostUpdate, StoreError, WebhookFinalKind,
    unix_now,
};
use crate::tiktok::{PUBLISH_CANCELLED, PrivacyLevel, PublishStatus, PublishStatusKind};

impl Pipeline {
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
            PostState::Published => return Ok(answer(true, 0)),
            PostState::SentToInbox => {
                self.follow_posted_draft(&post).await?;
                return Ok(answer(true, 0));
            }
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
            let moved = self
                .posts
                .transition(&post.id, &[PostState::Processing], to, update, unix_now())
                .await
                .map_err(StepError::from_error)?;
            let ended = self.ends.settle(moved).await;
            tracing::info!(state = %to, public_ids = ?status.public_post_ids, "post final");
            self.follow_posted_draft(&ended).await?;
            return Ok(answer(true, 0));
        }
        match status.status {
            PublishStatusKind::Failed
                if status.fail_reason.as_deref() == Some(PUBLISH_CANCELLED) =>
            {
                self.cancelled_at_tiktok(&post).await?;
                Ok(answer(true, 0))
            }
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
            _ => {
                self.record_download(&post, &status).await;
                Ok(answer(
                    false,
                    secs(status_poll_interval(processing_for, size)),
                ))
            }
        }
    }

    /// Keeps a pull's `downloaded_bytes` on the post, for `status` to show. Progress is
    /// only shown, never decided on, so a refused write (the post moved on) is let go.
    async fn record_download(&self, post: &PostRecord, status: &PublishStatus) {
        let (Some(downloaded), Some(publish_id)) =
            (status.downloaded_bytes, post.publish_id.as_deref())
        else {
            return;
        };
        if status.status != PublishStatusKind::ProcessingDownload
            || post.downloaded_bytes == Some(downloaded)
        {
            return;
        }
        if let Err(err) = self
            .posts
            .record_download(&post.id, publish_id, downloaded, unix_now())
            .await
        {
            tracing::info!(error = %err, "download progress not recorded");
        }
    }

    /// TikTok cancelled the pull at our request (`publish_cancelled`): the post is
    /// `CANCELLED`, as `DELETE /posts/{id}` would have left it had its own write not failed.
    async fn cancelled_at_tiktok(&self, post: &PostRecord) -> Result<(), StepError> {
        match self
            .posts
            .transition(
                &post.id,
                &[PostState::Processing],
                PostState::Cancelled,
                PostUpdate::fact(Fact::PullCancelled),
                unix_now(),
            )
            .await
        {
            Ok(moved) => {
                self.ends.settle(moved).await;
                tracing::info!("TikTok cancelled the pull: post cancelled");
                Ok(())
            }
            // The API moved it first.
            Err(StoreError::StateConflict {
                found: PostState::Cancelled,
                ..
            }) => Ok(()),
            Err(other) => Err(StepError::from_error(other)),
        }
    }

    /// Ends a processing post on the final event TikTok's webhook recorded for its current
    /// upload, without spending a status fetch. `None`: no usable event, fetch the status.
    /// A `post.publish.complete` for a public post without its post id is not enough (the
    /// id is what the user wants): the status fetch gets it.
    pub(super) async fn settle_from_webhook(
        &self,
        post: &PostRecord,
    ) -> Option<Result<(), StepError>> {
        let event = post.webhook_for_current_upload()?;
        let (to, fact) = match event.kind {
            WebhookFinalKind::Failed if event.reason.as_deref() == Some(PUBLISH_CANCELLED) => {
                return Some(self.cancelled_at_tiktok(post).await);
            }
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
        Some(match moved {
            Ok(moved) => {
                let ended = self.ends.settle(moved).await;
                tracing::info!(state = %to, "post final from the webhook's event; no status fetch");
                self.follow_posted_draft(&ended).await
            }
            Err(err) => Err(err),
        })
    }

    /// A draft in the inbox whose creator has posted it, as TikTok's webhook recorded
    /// (`post.publish.complete` for its upload), moves on to `PUBLISHED`. The webhook does
    /// that itself when it finds the post in the inbox; this covers an event recorded while
    /// the post was still processing, just before this step moved it to the inbox with the
    /// answer it had fetched. Nothing to do for any other post.
    async fn follow_posted_draft(&self, post: &PostRecord) -> Result<(), StepError> {
        let Some(event) = post
            .webhook_for_current_upload()
            .filter(|e| e.kind == WebhookFinalKind::Complete)
        else {
            return Ok(());
        };
        if post.state != PostState::SentToInbox {
            return Ok(());
        }
        let public_ids: Vec<String> = event.public_post_id.iter().cloned().collect();
        match self
            .ends
            .draft_posted(self.posts.as_ref(), post, &public_ids, true, unix_now())
            .await
        {
            // Another writer (the webhook) moved it first, and reported it.
            Ok(_) | Err(StoreError::StateConflict { .. }) => Ok(()),
            Err(other) => Err(StepError::from_error(other)),
        }
    }
}

/// What to do about TikTok's `fail_reason` values (the list is not documented in full).
pub(super) fn fail_reason_advice(reason: &str) -> Option<String> {
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
        "internal" => "A fault at TikTok; post it again",
        "video_pull_failed" => {
            "TikTok could not download the video from the front door: run \
             `tiktok-publish check-domain`, then retry"
        }
        _ => return None,
    };
    Some(advice.to_owned())
}
