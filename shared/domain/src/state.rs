//! Where a post is in its life, and the moves allowed between states.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where a post is in its life (see `design.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PostState {
    Received,
    AwaitingOptions,
    Queued,
    Uploading,
    Processing,
    Published,
    SentToInbox,
    Refused,
    Failed,
    Cancelled,
}

impl PostState {
    pub const ALL: [PostState; 10] = [
        PostState::Received,
        PostState::AwaitingOptions,
        PostState::Queued,
        PostState::Uploading,
        PostState::Processing,
        PostState::Published,
        PostState::SentToInbox,
        PostState::Refused,
        PostState::Failed,
        PostState::Cancelled,
    ];

    pub const FINAL: [PostState; 5] = [
        PostState::Published,
        PostState::SentToInbox,
        PostState::Refused,
        PostState::Failed,
        PostState::Cancelled,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            PostState::Received => "RECEIVED",
            PostState::AwaitingOptions => "AWAITING_OPTIONS",
            PostState::Queued => "QUEUED",
            PostState::Uploading => "UPLOADING",
            PostState::Processing => "PROCESSING",
            PostState::Published => "PUBLISHED",
            PostState::SentToInbox => "SENT_TO_INBOX",
            PostState::Refused => "REFUSED",
            PostState::Failed => "FAILED",
            PostState::Cancelled => "CANCELLED",
        }
    }

    pub fn parse(value: &str) -> Option<PostState> {
        PostState::ALL.into_iter().find(|s| s.as_str() == value)
    }

    /// No step moves a post out of a final state.
    pub const fn is_final(self) -> bool {
        matches!(
            self,
            PostState::Published
                | PostState::SentToInbox
                | PostState::Refused
                | PostState::Failed
                | PostState::Cancelled
        )
    }
}

impl fmt::Display for PostState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
