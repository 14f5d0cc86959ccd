//! What happened to a post at one step of its history, as a type: what the steps count and
//! look for (inits since the last retry, chunks already being sent, a refused upload URL,
//! the retries so far). Each fact renders the history note people read; that text is never
//! parsed back, except by [`crate::legacy`] for items written before facts were stored.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::cause::Cause;
use crate::errors::ErrorKind;
use crate::time::UnixTime;

/// One fact of a post's history. Stored beside the note it renders (`fact`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Fact {
    /// The video arrived without its options: the run waits for the manifest.
    OptionsAwaited,
    /// A waiting post got its options (the manifest, or the API after the S3 drop).
    OptionsArrived,
    /// TikTok gave a new upload session (publish id and upload URL).
    Initialised,
    /// TikTok was asked to pull the video from the front door (a new publish id, no upload
    /// session); the URL it got stays valid until `url_expires_at`.
    PullRequested { url_expires_at: UnixTime },
    /// TikTok refused to pull the video from the front door (its error `code`, e.g.
    /// `url_ownership_unverified`): the post is uploaded instead.
    PullRefused { code: String },
    /// TikTok refused an init of several chunks (`invalid_params`, as it has done for
    /// multi-chunk plans since 2026-08): the post is pulled from the front door instead.
    ChunkedInitRefused,
    /// The session in progress goes on (its URL still fresh, bytes still missing).
    UploadResumed,
    /// TikTok had the whole video already when the post was initialised again.
    AlreadyAtTikTok,
    /// TikTok had every chunk when chunk-upload looked.
    WholeVideoAtTikTok,
    /// Chunks of the current session are about to be sent.
    ChunksSending,
    /// The last chunk was accepted.
    UploadComplete,
    /// TikTok refused the session's upload URL: the next init makes a new session.
    UrlRefused,
    /// TikTok published the post (`via_webhook`: learned from its webhook's event).
    Published { via_webhook: bool },
    /// TikTok put the draft into the creator's inbox.
    SentToInbox { via_webhook: bool },
    /// The creator posted the draft from the inbox in the TikTok app (`via_webhook`:
    /// learned from TikTok's webhook's event): the post moved from `SENT_TO_INBOX` to
    /// `PUBLISHED`.
    DraftPosted { via_webhook: bool },
    /// TikTok took the published post out of public view
    /// (`post.publish.no_longer_publicaly_available`): `post_id` is TikTok's public post id
    /// when the event named it, `event_time` the event's `create_time` (a repeated delivery
    /// of the same event carries the same, so it is recorded once). The post stays
    /// `PUBLISHED`.
    NoLongerPublic {
        post_id: Option<String>,
        event_time: UnixTime,
    },
    /// TikTok's webhook reported a final event (`event`: its name) for the upload.
    WebhookEvent { event: String },
    /// The post was queued again by retry number `attempt`, after a failure of kind `after`
    /// (`None`: none was recorded).
    Retried {
        attempt: u32,
        after: Option<ErrorKind>,
    },
    /// Cancelled by `DELETE /posts/{id}`.
    CancelledByRequest,
    /// Cancelled while TikTok was still downloading it (`DELETE /posts/{id}` on a pull, or
    /// TikTok's `publish_cancelled` after such a request): TikTok stopped the download.
    PullCancelled,
    /// Cancelled because its account was disconnected.
    AccountDisconnected,
    /// The post failed or was refused: its note is the reason.
    Failed { cause: Cause },
    /// A note no decision reads: an older item's note of unknown wording (kept as written).
    Remark { note: String },
}

impl Fact {
    /// Whether this is a retry's fact (each retry has the full allowance of inits again).
    pub fn is_retry(&self) -> bool {
        matches!(self, Fact::Retried { .. })
    }
}

impl fmt::Display for Fact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Fact::OptionsAwaited => "waiting for the options manifest",
            Fact::OptionsArrived => "options arrived",
            Fact::Initialised => "upload initialised",
            Fact::UploadResumed => "upload resumed",
            Fact::PullRequested { .. } => "asked TikTok to pull the video from the front door",
            Fact::PullRefused { code } => {
                return write!(
                    f,
                    "TikTok refused to pull the video from the front door ({code}): uploading \
                     it instead"
                );
            }
            Fact::ChunkedInitRefused => {
                "TikTok refused the upload in several chunks: pulling it from the front door instead"
            }
            Fact::AlreadyAtTikTok => "TikTok already has the whole video",
            Fact::WholeVideoAtTikTok => "TikTok has the whole video",
            Fact::ChunksSending => "sending chunks",
            Fact::UploadComplete => "upload complete",
            Fact::UrlRefused => "TikTok refused the upload URL",
            Fact::Published { via_webhook: false } => "published",
            Fact::Published { via_webhook: true } => "published (TikTok webhook)",
            Fact::SentToInbox { via_webhook: false } => "sent to the creator's inbox",
            Fact::SentToInbox { via_webhook: true } => {
                "sent to the creator's inbox (TikTok webhook)"
            }
            Fact::DraftPosted { via_webhook: false } => "the creator posted the draft",
            Fact::DraftPosted { via_webhook: true } => {
                "the creator posted the draft (TikTok webhook)"
            }
            Fact::NoLongerPublic {
                post_id: Some(post_id),
                ..
            } => {
                return write!(
                    f,
                    "no longer publicly viewable on TikTok (post {post_id}; TikTok webhook)"
                );
            }
            Fact::NoLongerPublic { post_id: None, .. } => {
                "no longer publicly viewable on TikTok (TikTok webhook)"
            }
            Fact::CancelledByRequest => "cancelled by request",
            Fact::PullCancelled => {
                "cancelled by request while TikTok was downloading it: TikTok stopped the download"
            }
            Fact::AccountDisconnected => "account disconnected",
            Fact::WebhookEvent { event } => return write!(f, "TikTok webhook: {event}"),
            Fact::Retried { attempt, after } => {
                return match after {
                    Some(kind) => write!(f, "retry {attempt} after {kind}"),
                    None => write!(f, "retry {attempt} after an unrecorded failure"),
                };
            }
            Fact::Failed { cause } => return cause.fmt(f),
            Fact::Remark { note } => note,
        };
        f.write_str(text)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// One of each fact, with the note today's code writes for it.
    pub(crate) fn every_fact() -> Vec<(Fact, &'static str)> {
        vec![
            (Fact::OptionsAwaited, "waiting for the options manifest"),
            (Fact::OptionsArrived, "options arrived"),
            (Fact::Initialised, "upload initialised"),
            (Fact::UploadResumed, "upload resumed"),
            (
                Fact::PullRefused {
                    code: "url_ownership_unverified".into(),
                },
                "TikTok refused to pull the video from the front door (url_ownership_unverified): \
                 uploading it instead",
            ),
            (
                Fact::ChunkedInitRefused,
                "TikTok refused the upload in several chunks: pulling it from the front door instead",
            ),
            (
                Fact::PullRequested {
                    url_expires_at: 1_800_000_000,
                },
                "asked TikTok to pull the video from the front door",
            ),
            (Fact::AlreadyAtTikTok, "TikTok already has the whole video"),
            (Fact::WholeVideoAtTikTok, "TikTok has the whole video"),
            (Fact::ChunksSending, "sending chunks"),
            (Fact::UploadComplete, "upload complete"),
            (Fact::UrlRefused, "TikTok refused the upload URL"),
            (Fact::Published { via_webhook: false }, "published"),
            (
                Fact::Published { via_webhook: true },
                "published (TikTok webhook)",
            ),
            (
                Fact::SentToInbox { via_webhook: false },
                "sent to the creator's inbox",
            ),
            (
                Fact::SentToInbox { via_webhook: true },
                "sent to the creator's inbox (TikTok webhook)",
            ),
            (
                Fact::DraftPosted { via_webhook: false },
                "the creator posted the draft",
            ),
            (
                Fact::DraftPosted { via_webhook: true },
                "the creator posted the draft (TikTok webhook)",
            ),
            (
                Fact::NoLongerPublic {
                    post_id: Some("7345".into()),
                    event_time: 1_800_000_000,
                },
                "no longer publicly viewable on TikTok (post 7345; TikTok webhook)",
            ),
            (
                Fact::NoLongerPublic {
                    post_id: None,
                    event_time: 1_800_000_000,
                },
                "no longer publicly viewable on TikTok (TikTok webhook)",
            ),
            (
                Fact::WebhookEvent {
                    event: "post.publish.complete".into(),
                },
                "TikTok webhook: post.publish.complete",
            ),
            (
                Fact::Retried {
                    attempt: 2,
                    after: Some(ErrorKind::TikTokUnavailable),
                },
                "retry 2 after TikTokUnavailable",
            ),
            (
                Fact::Retried {
                    attempt: 1,
                    after: None,
                },
                "retry 1 after an unrecorded failure",
            ),
            (Fact::CancelledByRequest, "cancelled by request"),
            (
                Fact::PullCancelled,
                "cancelled by request while TikTok was downloading it: TikTok stopped the download",
            ),
            (Fact::AccountDisconnected, "account disconnected"),
            (
                Fact::Failed {
                    cause: Cause::TikTokFailed {
                        fail_reason: "internal".into(),
                    },
                },
                "TikTok could not publish the video: internal",
            ),
            (
                Fact::Remark {
                    note: "whatever was written".into(),
                },
                "whatever was written",
            ),
        ]
    }

    #[test]
    fn facts_render_the_notes_written_before_they_were_typed() {
        for (fact, note) in every_fact() {
            assert_eq!(fact.to_string(), note, "{fact:?}");
        }
    }

    #[test]
    fn facts_round_trip_through_json_with_their_tag() {
        for (fact, _) in every_fact() {
            let json = serde_json::to_value(&fact).unwrap();
            assert!(json["type"].is_string(), "{json}");
            assert_eq!(serde_json::from_value::<Fact>(json).unwrap(), fact);
        }
        let retried = Fact::Retried {
            attempt: 3,
            after: Some(ErrorKind::Internal),
        };
        assert_eq!(
            serde_json::to_value(&retried).unwrap(),
            serde_json::json!({"type": "retried", "attempt": 3, "after": "Internal"})
        );
    }
}
