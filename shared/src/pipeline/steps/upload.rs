//! The chunk-upload step: the chunks streamed to TikTok's upload URL within the time budget.

use std::time::{Duration, Instant};

use super::common::*;
use super::init::happened_since_init;
use crate::errors::{Classify, ErrorKind};
use crate::pipeline::{Pipeline, StepError, UploadOutput, status_poll_interval};
use crate::store::{Fact, PostRecord, PostState, unix_now};
use crate::tiktok::{ChunkPlan, PublishStatusKind};
use crate::transfer::{UploadProgress, upload_chunks_recording};

impl Pipeline {
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
        let ends = &self.ends;
        let post_id_ref = &post.id;
        let progress = upload_chunks_recording(
            self.tiktok.as_ref(),
            self.source.as_ref(),
            &object,
            &plan,
            start,
            upload_url,
            budget,
            async |chunks_done, bytes_done| {
                posts
                    .record_chunk_done(post_id_ref, publish_id, chunks_done, bytes_done, unix_now())
                    .await?;
                // Recorded after TikTok's answer: the chunk is in.
                ends.chunk_accepted(chunks_done, bytes_done);
                Ok(())
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

    pub(super) fn upload_was_tried(&self, post: &PostRecord) -> bool {
        happened_since_init(post, &Fact::ChunksSending)
    }

    pub(super) fn upload_url_refused(&self, post: &PostRecord) -> bool {
        happened_since_init(post, &Fact::UrlRefused)
    }

    /// Notes that chunks of this session are about to be sent, so that a retry after a
    /// crash asks TikTok where the upload stands instead of starting at chunk 0.
    pub(super) async fn mark_upload_tried(&self, post: &PostRecord) -> Result<(), StepError> {
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

    pub(super) fn first_poll(&self, plan: &ChunkPlan) -> u64 {
        secs(status_poll_interval(Duration::ZERO, plan.video_size()))
    }

    /// How long this invocation may spend sending chunks.
    pub(super) fn budget(&self, deadline: Option<Instant>) -> Duration {
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
}
