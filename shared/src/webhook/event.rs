//! A verified body, parsed into what it means to us.

use serde::Deserialize;

use crate::store::{UnixTime, WebhookFinal, WebhookFinalKind};

use super::WebhookError;

/// `post.publish.no_longer_publicaly_available` as TikTok's Get Post Status page spells it
/// (as in `publicaly_available_post_id`).
pub const NO_LONGER_PUBLIC_EVENT: &str = "post.publish.no_longer_publicaly_available";
/// The same event spelt correctly, as some of TikTok's other pages and third-party guides
/// write it: accepted too, in case TikTok ever sends it so.
pub const NO_LONGER_PUBLIC_EVENT_CORRECTED: &str = "post.publish.no_longer_publicly_available";

/// A verified event, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    pub client_key: String,
    /// The event's name as TikTok sent it (`post.publish.complete`, ...).
    pub name: String,
    pub create_time: UnixTime,
    /// `user_openid`: the account.
    pub open_id: String,
    pub kind: EventKind,
}

/// What an event means to us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// A final outcome of an upload (for a draft already in the inbox, `Complete` means its
    /// creator posted it).
    PublishFinal(WebhookFinal),
    /// A published post left public view.
    NoLongerPublic(PublicityLost),
    /// The creator disconnected the app.
    AuthorizationRemoved,
    /// Acknowledged, not acted on.
    Ignored,
}

/// `post.publish.no_longer_publicaly_available`: the post of `publish_id` is no longer
/// publicly viewable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicityLost {
    pub publish_id: String,
    /// TikTok's public post id, when the event names it.
    pub public_post_id: Option<String>,
    /// The event's `create_time`: a repeated delivery carries the same.
    pub event_time: UnixTime,
}

/// The post events we act on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PostEvent {
    Final(WebhookFinalKind),
    NoLongerPublic,
}

impl PostEvent {
    fn of(name: &str) -> Option<PostEvent> {
        Some(match name {
            "post.publish.complete" | "post.publish.publicly_available" => {
                PostEvent::Final(WebhookFinalKind::Complete)
            }
            "post.publish.failed" => PostEvent::Final(WebhookFinalKind::Failed),
            "post.publish.inbox_delivered" => PostEvent::Final(WebhookFinalKind::InboxDelivered),
            NO_LONGER_PUBLIC_EVENT | NO_LONGER_PUBLIC_EVENT_CORRECTED => PostEvent::NoLongerPublic,
            _ => return None,
        })
    }
}

#[derive(Deserialize)]
struct RawEvent {
    client_key: String,
    event: String,
    create_time: i64,
    #[serde(default)]
    user_openid: String,
    /// A JSON object serialised into a string (TikTok's shape).
    #[serde(default)]
    content: Option<String>,
}

#[derive(Deserialize, Default)]
struct RawContent {
    #[serde(default)]
    publish_id: Option<String>,
    /// Why a post failed (`post.publish.failed`); `fail_reason` accepted too.
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    fail_reason: Option<String>,
    /// The public post id: TikTok sends an int64, sometimes as a string.
    #[serde(default)]
    post_id: Option<serde_json::Value>,
}

fn malformed(detail: impl Into<String>) -> WebhookError {
    WebhookError::Malformed(detail.into())
}

/// The post event's content: its publish id (required) and public post id (if any).
fn post_content(raw: &RawEvent) -> Result<(RawContent, String, Option<String>), WebhookError> {
    let content: RawContent = match raw.content.as_deref().map(str::trim) {
        None | Some("") => {
            return Err(malformed(format!("{} without content", raw.event)));
        }
        Some(text) => serde_json::from_str(text)
            .map_err(|e| malformed(format!("content is not a JSON object: {e}")))?,
    };
    let publish_id = content
        .publish_id
        .clone()
        .filter(|p| !p.trim().is_empty())
        .ok_or_else(|| malformed(format!("{} without content.publish_id", raw.event)))?;
    let public_post_id = match &content.post_id {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        Some(serde_json::Value::String(_)) => None,
        Some(other) => {
            return Err(malformed(format!(
                "content.post_id is neither a number nor a string: {other}"
            )));
        }
    };
    Ok((content, publish_id, public_post_id))
}

/// Parses a verified body.
pub fn parse_event(body: &[u8]) -> Result<WebhookEvent, WebhookError> {
    let raw: RawEvent = serde_json::from_slice(body)
        .map_err(|e| malformed(format!("not the JSON of a TikTok event: {e}")))?;
    let post_event = PostEvent::of(&raw.event);
    let needs_account = post_event.is_some() || raw.event == "authorization.removed";
    if needs_account && raw.user_openid.trim().is_empty() {
        return Err(malformed(format!("{} without user_openid", raw.event)));
    }
    let kind = match post_event {
        Some(PostEvent::Final(kind)) => {
            let (content, publish_id, public_post_id) = post_content(&raw)?;
            if raw.event == "post.publish.publicly_available" && public_post_id.is_none() {
                return Err(malformed(
                    "post.publish.publicly_available without content.post_id",
                ));
            }
            EventKind::PublishFinal(WebhookFinal {
                publish_id,
                kind,
                reason: (kind == WebhookFinalKind::Failed)
                    .then(|| content.reason.or(content.fail_reason))
                    .flatten(),
                public_post_id,
                event_time: raw.create_time,
            })
        }
        Some(PostEvent::NoLongerPublic) => {
            let (_, publish_id, public_post_id) = post_content(&raw)?;
            EventKind::NoLongerPublic(PublicityLost {
                publish_id,
                public_post_id,
                event_time: raw.create_time,
            })
        }
        None if raw.event == "authorization.removed" => EventKind::AuthorizationRemoved,
        None => EventKind::Ignored,
    };
    Ok(WebhookEvent {
        client_key: raw.client_key,
        name: raw.event,
        create_time: raw.create_time,
        open_id: raw.user_openid,
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(event: &str, content: serde_json::Value) -> Vec<u8> {
        serde_json::json!({
            "client_key": "k", "event": event, "create_time": 1_800_000_000,
            "user_openid": "open-1", "content": content.to_string(),
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn both_spellings_of_no_longer_public_are_understood() {
        for name in [NO_LONGER_PUBLIC_EVENT, NO_LONGER_PUBLIC_EVENT_CORRECTED] {
            let event = parse_event(&body(
                name,
                serde_json::json!({"publish_id": "p1", "post_id": 7_345_678_901_234_567_890u64,
                                   "publish_type": "DIRECT_PUBLISH"}),
            ))
            .unwrap();
            assert_eq!(
                event.kind,
                EventKind::NoLongerPublic(PublicityLost {
                    publish_id: "p1".into(),
                    public_post_id: Some("7345678901234567890".into()),
                    event_time: 1_800_000_000,
                }),
                "{name}"
            );
        }
        // The post id is optional; the publish id is not.
        let event = parse_event(&body(
            NO_LONGER_PUBLIC_EVENT,
            serde_json::json!({"publish_id": "p1"}),
        ))
        .unwrap();
        assert!(matches!(
            event.kind,
            EventKind::NoLongerPublic(PublicityLost {
                public_post_id: None,
                ..
            })
        ));
        assert!(matches!(
            parse_event(&body(NO_LONGER_PUBLIC_EVENT, serde_json::json!({}))),
            Err(WebhookError::Malformed(_))
        ));
    }

    #[test]
    fn unknown_events_are_ignored() {
        let event = parse_event(&body("video.publish.completed", serde_json::json!({}))).unwrap();
        assert_eq!(event.kind, EventKind::Ignored);
    }
}
