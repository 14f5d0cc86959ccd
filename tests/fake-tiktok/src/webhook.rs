//! Webhook delivery: when a webhook URL is set (`FakeSettings::webhook_url`, `--webhook-url`,
//! `POST /__fake/webhook`, [`crate::FakeTikTok::set_webhook_url`]), the fake POSTs TikTok's
//! events there, signed as TikTok signs them: `TikTok-Signature: t={unix},s={hex}` with `s`
//! the HMAC-SHA256 of `{t}.{body}` keyed with the client secret.
//!
//! - a post's outcome, once its processing time has passed after the last chunk (or the
//!   last byte pulled), at once for a pull that failed or was cancelled:
//!   `post.publish.complete` (and `post.publish.publicly_available` with the post id for a
//!   public Direct Post), `post.publish.inbox_delivered` for drafts, `post.publish.failed`
//!   with the reason;
//! - `authorization.removed` when a token of the account is revoked (`/v2/oauth/revoke/`);
//! - `post.publish.complete` (and `post.publish.publicly_available` with a post id, if the
//!   post is public) for a draft in the inbox when a test plays its creator posting it
//!   ([`FakeTikTok::creator_posts_draft`]). TikTok's Get Post Status page: "When uploading
//!   content, the event indicates that the TikTok user has created a post from the content
//!   you sent."
//!
//! Delivery is asynchronous and best effort (one try, as TikTok's first attempt): every
//! attempt is recorded ([`WebhookDelivery`]) for tests to look at. A test plays TikTok's
//! retries with [`FakeTikTok::redeliver`]: the same body under the same `TikTok-Signature`
//! header, since TikTok does not say that a retry is signed afresh ("TikTok retries the
//! delivery of event notification for up to 72 hours using exponential backoff", Webhooks
//! overview).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Sha256;

use crate::{FakeTikTok, PublishKind, PublishStatus, Shared};

/// How long one delivery may take before it counts as failed.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// Past the processing time, so a status fetch made when the event arrives agrees with it.
const AFTER_PROCESSING: Duration = Duration::from_millis(20);

/// One attempt to deliver an event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    /// `post.publish.complete`, `authorization.removed`, ...
    pub event: String,
    pub open_id: String,
    pub publish_id: Option<String>,
    /// The exact body sent (a JSON object whose `content` is a JSON string).
    pub body: String,
    /// The exact `TikTok-Signature` header sent (`t={unix},s={hex}`), so that a retry can
    /// send it again unchanged.
    pub signature: String,
    /// The receiver's HTTP status; `None` when it could not be reached.
    pub status: Option<u16>,
    /// Why the delivery failed to reach the receiver.
    pub error: Option<String>,
    #[serde(with = "crate::unix_ms")]
    pub at: SystemTime,
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The `TikTok-Signature` value for `body` signed at `timestamp` with `secret`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of every length"));
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    format!(
        "t={timestamp},s={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

struct Event {
    name: &'static str,
    open_id: String,
    publish_id: Option<String>,
    content: serde_json::Value,
}

/// Schedules the outcome events of a post whose last byte just arrived (uploaded or
/// pulled): they go once processing is over.
pub(crate) fn upload_completed(shared: &Arc<Shared>, publish_id: String) {
    let after = shared.settings.processing_time + AFTER_PROCESSING;
    outcome_after(shared, publish_id, after);
}

/// Sends the outcome events of a post that just ended without processing (a pull that
/// failed, a cancel: `post.publish.failed` with the reason).
pub(crate) fn publish_ended(shared: &Arc<Shared>, publish_id: String) {
    outcome_after(shared, publish_id, Duration::ZERO);
}

fn outcome_after(shared: &Arc<Shared>, publish_id: String, after: Duration) {
    if shared.lock().webhook_url.is_none() {
        return;
    }
    let shared = shared.clone();
    tokio::spawn(async move {
        tokio::time::sleep(after).await;
        let Some(snapshot) = shared
            .lock()
            .publish_snapshot(&shared.settings, &publish_id)
        else {
            return;
        };
        let publish_type = match snapshot.kind {
            PublishKind::Direct => "DIRECT_PUBLISH",
            PublishKind::Inbox => "INBOX_SHARE",
        };
        let event = |name, content| Event {
            name,
            open_id: snapshot.open_id.clone(),
            publish_id: Some(publish_id.clone()),
            content,
        };
        let base = json!({ "publish_id": publish_id, "publish_type": publish_type });
        let mut events = Vec::new();
        match snapshot.status {
            PublishStatus::Failed => {
                let mut content = base.clone();
                content["reason"] = snapshot.fail_reason.clone().unwrap_or_default().into();
                events.push(event("post.publish.failed", content));
            }
            PublishStatus::SendToUserInbox => {
                events.push(event("post.publish.inbox_delivered", base.clone()));
            }
            PublishStatus::PublishComplete => {
                events.push(event("post.publish.complete", base.clone()));
                if let Some(post_id) = snapshot.post_id {
                    let mut content = base.clone();
                    content["post_id"] = post_id.to_string().into();
                    events.push(event("post.publish.publicly_available", content));
                }
            }
            // Still processing (the processing time changed meanwhile): nothing final to say.
            PublishStatus::ProcessingUpload | PublishStatus::ProcessingDownload => {}
        }
        for event in events {
            deliver(&shared, event).await;
        }
    });
}

/// Sends `authorization.removed` for an account whose token was revoked.
pub(crate) fn authorization_removed(shared: &Arc<Shared>, open_id: String) {
    if shared.lock().webhook_url.is_none() {
        return;
    }
    let shared = shared.clone();
    tokio::spawn(async move {
        let event = Event {
            name: "authorization.removed",
            open_id,
            publish_id: None,
            // TikTok's documented reason codes (unsure of the full list): 1 = the user
            // disconnected the app.
            content: json!({ "reason": 1 }),
        };
        deliver(&shared, event).await;
    });
}

async fn deliver(shared: &Arc<Shared>, event: Event) {
    let now = unix_now();
    let body = json!({
        "client_key": shared.settings.client_key,
        "event": event.name,
        "create_time": now,
        "user_openid": event.open_id,
        "content": event.content.to_string(),
    })
    .to_string();
    let signature = signature(&shared.settings.client_secret, now, body.as_bytes());
    let attempt = WebhookDelivery {
        event: event.name.to_owned(),
        open_id: event.open_id,
        publish_id: event.publish_id,
        body,
        signature,
        status: None,
        error: None,
        at: SystemTime::now(),
    };
    send(shared, attempt).await;
}

/// POSTs `attempt`'s body under its signature to the webhook URL (nowhere when none is
/// set) and records the attempt with the receiver's answer.
async fn send(shared: &Arc<Shared>, mut attempt: WebhookDelivery) -> Option<WebhookDelivery> {
    let url = shared.lock().webhook_url.clone()?;
    let sent = reqwest::Client::new()
        .post(&url)
        .timeout(DELIVERY_TIMEOUT)
        .header("content-type", "application/json")
        .header("TikTok-Signature", attempt.signature.as_str())
        .body(attempt.body.clone())
        .send()
        .await;
    (attempt.status, attempt.error) = match sent {
        Ok(response) => (Some(response.status().as_u16()), None),
        Err(e) => (None, Some(e.to_string())),
    };
    attempt.at = SystemTime::now();
    tracing::info!(event = attempt.event, status = ?attempt.status, "webhook delivered");
    shared.lock().webhook_deliveries.push(attempt.clone());
    Some(attempt)
}

impl FakeTikTok {
    /// Delivers `original` again as TikTok's retry would: the same body under the same
    /// `TikTok-Signature` header (its `t` is the first attempt's). The new attempt is
    /// recorded and returned; `None` when no webhook URL is set.
    pub async fn redeliver(&self, original: &WebhookDelivery) -> Option<WebhookDelivery> {
        send(&self.shared, original.clone()).await
    }

    /// The creator posts the draft of `publish_id` from the inbox in the TikTok app: TikTok
    /// sends `post.publish.complete`, and `post.publish.publicly_available` with
    /// `public_post_id` when the post is public. Delivered now; returns the attempts, or
    /// `None` when `publish_id` is not a draft that reached the inbox. (The status fetch
    /// still answers `SEND_TO_USER_INBOX` for it: the fake's publish record is not changed.)
    pub async fn creator_posts_draft(
        &self,
        publish_id: &str,
        public_post_id: Option<i64>,
    ) -> Option<Vec<WebhookDelivery>> {
        let snapshot = self.publish(publish_id)?;
        if snapshot.kind != PublishKind::Inbox || snapshot.status != PublishStatus::SendToUserInbox
        {
            return None;
        }
        if let Some(publish) = self.shared.lock().publish_mut(publish_id) {
            publish.post_from_inbox(public_post_id);
        }
        let base = json!({ "publish_id": publish_id, "publish_type": "INBOX_SHARE" });
        let mut events = vec![Event {
            name: "post.publish.complete",
            open_id: snapshot.open_id.clone(),
            publish_id: Some(publish_id.to_owned()),
            content: base.clone(),
        }];
        if let Some(post_id) = public_post_id {
            let mut content = base;
            content["post_id"] = post_id.into();
            events.push(Event {
                name: "post.publish.publicly_available",
                open_id: snapshot.open_id,
                publish_id: Some(publish_id.to_owned()),
                content,
            });
        }
        let before = self.shared.lock().webhook_deliveries.len();
        for event in events {
            deliver(&self.shared, event).await;
        }
        Some(self.shared.lock().webhook_deliveries[before..].to_vec())
    }
}
