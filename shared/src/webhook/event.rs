//! A verified body, parsed into what it means to us.

use serde::Deserialize;

use crate::store::{UnixTime, WebhookFinal, WebhookFinalKind};

use super::WebhookError;

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
    /// A final outcome of an upload.
    PublishFinal(WebhookFinal),
    /// The creator disconnected the app.
    AuthorizationRemoved,
    /// Acknowledged, not acted on.
    Ignored,
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

/// Parses a verified body.
pub fn parse_event(body: &[u8]) -> Result<WebhookEvent, WebhookError> {
    let raw: RawEvent = serde_json::from_slice(body)
        .map_err(|e| malformed(format!("not the JSON of a TikTok event: {e}")))?;
    let final_kind = match raw.event.as_str() {
        "post.publish.complete" | "post.publish.publicly_available" => {
            Some(WebhookFinalKind::Complete)
        }
        "post.publish.failed" => Some(WebhookFinalKind::Failed),
        "post.publish.inbox_delivered" => Some(WebhookFinalKind::InboxDelivered),
        _ => None,
    };
    let needs_account = final_kind.is_some() || raw.event == "authorization.removed";
    if needs_account && raw.user_openid.trim().is_empty() {
        return Err(malformed(format!("{} without user_openid", raw.event)));
    }
    let kind = match final_kind {
        Some(kind) => {
            let content: RawContent = match raw.content.as_deref().map(str::trim) {
                None | Some("") => {
                    return Err(malformed(format!("{} without content", raw.event)));
                }
                Some(text) => serde_json::from_str(text)
                    .map_err(|e| malformed(format!("content is not a JSON object: {e}")))?,
            };
            let publish_id = content
                .publish_id
                .filter(|p| !p.trim().is_empty())
                .ok_or_else(|| malformed(format!("{} without content.publish_id", raw.event)))?;
            let public_post_id = match content.post_id {
                None | Some(serde_json::Value::Null) => None,
                Some(serde_json::Value::Number(n)) => Some(n.to_string()),
                Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Some(s),
                Some(other) => {
                    return Err(malformed(format!(
                        "content.post_id is neither a number nor a string: {other}"
                    )));
                }
            };
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
