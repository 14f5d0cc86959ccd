//! What TikTok's webhook said about an upload, as the post record keeps it, and when a newer
//! event adds to what is kept (only forward: a success never moves back).

use serde::{Deserialize, Serialize};

use crate::time::UnixTime;

/// What a final webhook event said about an upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookFinalKind {
    /// `post.publish.complete` or `post.publish.publicly_available`.
    Complete,
    /// `post.publish.failed`.
    Failed,
    /// `post.publish.inbox_delivered`.
    InboxDelivered,
}

impl WebhookFinalKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            WebhookFinalKind::Complete => "complete",
            WebhookFinalKind::Failed => "failed",
            WebhookFinalKind::InboxDelivered => "inbox_delivered",
        }
    }

    pub fn parse(value: &str) -> Option<WebhookFinalKind> {
        [
            WebhookFinalKind::Complete,
            WebhookFinalKind::Failed,
            WebhookFinalKind::InboxDelivered,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == value)
    }
}

/// A final event from TikTok's webhook, recorded on the post so the status step can use it
/// instead of spending a status fetch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookFinal {
    /// The upload the event is about.
    pub publish_id: String,
    pub kind: WebhookFinalKind,
    /// TikTok's reason, for a failure.
    pub reason: Option<String>,
    /// The public post id (`post.publish.publicly_available`).
    pub public_post_id: Option<String>,
    /// When TikTok created the event (`create_time`, Unix seconds).
    pub event_time: UnixTime,
}

impl WebhookFinal {
    /// Whether `newer` adds something to this record: the same outcome learning its public
    /// post id, or a draft delivered to the inbox that its creator has since posted
    /// (`inbox_delivered`, then `complete`). Anything else is a repeat (TikTok retries
    /// deliveries) or a step back (the first final event wins, as the first final state
    /// does, and a posted draft never returns to the inbox).
    pub fn is_improved_by(&self, newer: &WebhookFinal) -> bool {
        if self.publish_id != newer.publish_id {
            return false;
        }
        match (self.kind, newer.kind) {
            (WebhookFinalKind::InboxDelivered, WebhookFinalKind::Complete) => true,
            (old, new) => {
                old == new && self.public_post_id.is_none() && newer.public_post_id.is_some()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_record_only_improves_forward() {
        let event = |kind, public_post_id: Option<&str>| WebhookFinal {
            publish_id: "p1".into(),
            kind,
            reason: None,
            public_post_id: public_post_id.map(str::to_owned),
            event_time: 1,
        };
        use WebhookFinalKind::*;
        let inbox = event(InboxDelivered, None);
        let complete = event(Complete, None);
        let public = event(Complete, Some("7"));
        // The creator posted the draft; it learns its public id.
        assert!(inbox.is_improved_by(&complete));
        assert!(inbox.is_improved_by(&public));
        assert!(complete.is_improved_by(&public));
        // Repeats and steps back change nothing.
        assert!(!complete.is_improved_by(&complete));
        assert!(!public.is_improved_by(&public));
        assert!(!public.is_improved_by(&complete));
        assert!(!complete.is_improved_by(&inbox));
        assert!(!complete.is_improved_by(&event(Failed, None)));
        assert!(!event(Failed, None).is_improved_by(&complete));
        // Another upload's event says nothing about this one.
        let other = WebhookFinal {
            publish_id: "p2".into(),
            ..complete.clone()
        };
        assert!(!inbox.is_improved_by(&other));
    }
}
