//! Resuming a post that has a publish id (a retry, a crash, an expired upload URL): what
//! TikTok's status says decides, and where it says too little, what the record proves.
//!
//! The one thing never done is a second upload that could become a second post. A FILE_UPLOAD
//! post goes live only when its last chunk arrives, and chunks go in order, each recorded
//! after TikTok's answer; so at most one chunk past the record can have reached TikTok.

use std::time::Duration;

use super::common::*;
use super::init::{INITIALISABLE, PublishAnswer, whole_video_sent};
use crate::pipeline::{InitOutput, Pipeline, StepError};
use crate::store::{Cause, Fact, PostRecord, PostState, UnixTime, UploadSession};
use crate::tiktok::{PublishStatus, PublishStatusKind};

/// How often a post whose last chunk may have reached TikTok asks its status again.
const UNCERTAIN_POLL: Duration = Duration::from_secs(60);

/// What the post's record proves about its upload session, for when TikTok's status says
/// `PROCESSING_UPLOAD` without `uploaded_bytes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UploadProof {
    /// No chunk of this session was ever sent: TikTok has nothing that could become a post.
    NothingSent,
    /// Every chunk was confirmed: TikTok has the whole video.
    WholeSent,
    /// The chunk that may have been in flight was not the last: the session cannot have
    /// completed.
    Incomplete,
    /// Every chunk but the last was confirmed, and the last may have been sent: the session
    /// may have completed.
    LastChunkUncertain { chunks_recorded: u64, total: u64 },
}

impl UploadProof {
    /// Reads `session`; `sending_started` is whether chunk-upload noted it began sending.
    pub(crate) fn of(session: &UploadSession, sending_started: bool) -> UploadProof {
        let total = session.plan.total_chunk_count;
        if session.bytes_done >= session.plan.video_size || session.chunks_done >= total {
            UploadProof::WholeSent
        } else if !sending_started && session.chunks_done == 0 && session.bytes_done == 0 {
            UploadProof::NothingSent
        } else if session.chunks_done + 1 < total {
            UploadProof::Incomplete
        } else {
            UploadProof::LastChunkUncertain {
                chunks_recorded: session.chunks_done,
                total,
            }
        }
    }
}

/// What to do with a session TikTok still reports as uploading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Uploading {
    /// Send the missing chunks on the same URL.
    Resume,
    /// TikTok has every byte: wait for its processing.
    Processing,
    /// The old session is dead and cannot become a post: initialise anew.
    NewInit,
    /// Ask TikTok again later: the last chunk may be in and processing.
    Wait,
    /// Too long uncertain: a person decides.
    GiveUp { chunks_recorded: u64, total: u64 },
}

impl Pipeline {
    /// A post that has a publish id: what TikTok says of it decides, whatever the upload
    /// URL's age.
    ///
    /// - TikTok has the whole video (`PUBLISH_COMPLETE`, `SEND_TO_USER_INBOX`, or
    ///   `PROCESSING_UPLOAD` with every byte, or a status TikTok added later): on to
    ///   processing, never uploading again. A second upload would be a second post, e.g. of
    ///   a post the sweep failed as stuck that TikTok did publish.
    /// - Bytes missing: the same session resumes while its URL is fresh and TikTok has not
    ///   refused it; otherwise a new init (`None`).
    /// - `PROCESSING_UPLOAD` without `uploaded_bytes`: the record decides ([`UploadProof`]).
    /// - `FAILED`, or a publish id TikTok does not know: that publish is dead, a new init.
    pub(super) async fn resume_session(
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
        let pull = post.is_pull();
        let ready = || InitOutput {
            post_id: post.id.to_string(),
            ready: true,
            wait_seconds: 0,
            pulled: pull,
        };
        let decision = match status.status {
            PublishStatusKind::Failed => {
                tracing::info!(
                    fail_reason = status.fail_reason.as_deref().unwrap_or("unknown"),
                    "the post's earlier publish failed at TikTok; initialising anew"
                );
                return Ok(None);
            }
            // A pull has no session of ours to resume: TikTok downloads it, or has it.
            PublishStatusKind::ProcessingUpload if !pull => self.uploading(post, &status, now),
            // Complete, in the inbox, or a status TikTok added later: TikTok has the video.
            _ => Uploading::Processing,
        };
        tracing::info!(?decision, "resuming a post TikTok reports as uploading");
        match decision {
            Uploading::NewInit => Ok(None),
            Uploading::Wait => Ok(Some(wait(&post.id, UNCERTAIN_POLL))),
            Uploading::GiveUp {
                chunks_recorded,
                total,
            } => {
                let cause = Cause::UploadOutcomeUnknown {
                    chunks_recorded,
                    total_chunks: total,
                };
                let advice = "Check the account's TikTok profile and inbox; if the video is \
                              not there, upload it again as a new post"
                    .to_owned();
                Err(self.fail(post, cause, Some(advice)).await)
            }
            Uploading::Resume => {
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
            // The status task settles the post.
            Uploading::Processing => {
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

    /// A session TikTok reports as `PROCESSING_UPLOAD`.
    fn uploading(&self, post: &PostRecord, status: &PublishStatus, now: UnixTime) -> Uploading {
        let Some(session) = post.upload.as_ref() else {
            // No session recorded (an older version's record): nothing proves bytes were
            // sent, and TikTok's count alone decides.
            return match (status.uploaded_bytes, post.source.size) {
                (Some(uploaded), Some(size)) if uploaded >= size => Uploading::Processing,
                _ => Uploading::NewInit,
            };
        };
        let size = session.plan.video_size;
        // A URL TikTok refused already (chunk-upload noted it) would only be handed to
        // chunk-upload again, and the run would loop Init -> Upload forever.
        let url_usable = now - session.issued_at < as_unix(self.settings.upload_url_lifetime)
            && !self.upload_url_refused(post);
        match status.uploaded_bytes {
            Some(uploaded) if uploaded >= size => Uploading::Processing,
            Some(_) if url_usable => Uploading::Resume,
            // Bytes missing and the URL dead: that session can never complete.
            Some(_) => Uploading::NewInit,
            None => {
                let proof = UploadProof::of(session, self.upload_was_tried(post));
                let url_dead_since = session.issued_at + as_unix(self.settings.upload_url_lifetime);
                let settled_by = url_dead_since + as_unix(self.settings.processing_deadline);
                decide_without_count(proof, url_usable, now >= settled_by)
            }
        }
    }

    /// A publish TikTok does not know (or a session without a publish id): a new init, unless
    /// every byte had been sent. TikTok may have published it and then forgotten the publish
    /// id (a retry days later): a new upload could be a second post, so a person decides.
    pub(super) async fn publish_forgotten(
        &self,
        post: &PostRecord,
    ) -> Result<Option<InitOutput>, StepError> {
        if !whole_video_sent(post) {
            tracing::info!("TikTok does not know the post's publish id; initialising anew");
            return Ok(None);
        }
        let advice = "Check the account's TikTok profile; if the video is not there, upload it \
                      again as a new post"
            .to_owned();
        Err(self.fail(post, Cause::PublishForgotten, Some(advice)).await)
    }
}

/// The decision when TikTok does not say how many bytes it has. `processing_over`: the URL
/// died longer ago than TikTok may take to process, so a video it had would be final by now.
fn decide_without_count(proof: UploadProof, url_usable: bool, processing_over: bool) -> Uploading {
    match proof {
        UploadProof::WholeSent => Uploading::Processing,
        // On the same URL TikTok's answers (416 and its Content-Range) correct the record.
        _ if url_usable => Uploading::Resume,
        UploadProof::NothingSent | UploadProof::Incomplete => Uploading::NewInit,
        UploadProof::LastChunkUncertain {
            chunks_recorded,
            total,
        } => {
            if processing_over {
                Uploading::GiveUp {
                    chunks_recorded,
                    total,
                }
            } else {
                Uploading::Wait
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::PlanFields;

    fn session(total: u64, chunks_done: u64) -> UploadSession {
        let chunk = 10;
        UploadSession {
            upload_url: None,
            issued_at: 0,
            plan: PlanFields {
                video_size: total * chunk,
                chunk_size: chunk,
                total_chunk_count: total,
            },
            chunks_done,
            bytes_done: chunks_done * chunk,
        }
    }

    #[test]
    fn the_record_proves_what_can_have_reached_tiktok() {
        assert_eq!(
            UploadProof::of(&session(3, 0), false),
            UploadProof::NothingSent
        );
        // Sending began: chunk 0 may be in; with one chunk, that is the whole video.
        assert_eq!(
            UploadProof::of(&session(1, 0), true),
            UploadProof::LastChunkUncertain {
                chunks_recorded: 0,
                total: 1
            }
        );
        assert_eq!(
            UploadProof::of(&session(3, 0), true),
            UploadProof::Incomplete
        );
        assert_eq!(
            UploadProof::of(&session(3, 1), true),
            UploadProof::Incomplete
        );
        assert_eq!(
            UploadProof::of(&session(3, 2), true),
            UploadProof::LastChunkUncertain {
                chunks_recorded: 2,
                total: 3
            }
        );
        assert_eq!(
            UploadProof::of(&session(3, 3), true),
            UploadProof::WholeSent
        );
    }

    #[test]
    fn without_tiktok_s_count_no_branch_starts_an_upload_that_could_be_a_second_post() {
        let uncertain = UploadProof::LastChunkUncertain {
            chunks_recorded: 2,
            total: 3,
        };
        let cases = [
            // (proof, URL usable, processing over) -> decision
            (UploadProof::NothingSent, false, false, Uploading::NewInit),
            (UploadProof::Incomplete, false, false, Uploading::NewInit),
            (UploadProof::WholeSent, false, false, Uploading::Processing),
            (UploadProof::WholeSent, true, false, Uploading::Processing),
            (uncertain, true, false, Uploading::Resume),
            (UploadProof::Incomplete, true, false, Uploading::Resume),
            (uncertain, false, false, Uploading::Wait),
            (
                uncertain,
                false,
                true,
                Uploading::GiveUp {
                    chunks_recorded: 2,
                    total: 3,
                },
            ),
        ];
        for (proof, usable, over, expected) in cases {
            assert_eq!(
                decide_without_count(proof, usable, over),
                expected,
                "{proof:?} usable={usable} over={over}"
            );
        }
    }
}
