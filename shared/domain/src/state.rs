//! Where a post is in its life, and the moves allowed between states.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where a post is in its life (see `design.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

    /// The run is over: no step of the pipeline works on the post any more. A final state
    /// is not always the last one: a retry queues a failed post again, and a draft in the
    /// inbox becomes published when its creator posts it (see [`PostState::may_move_to`]).
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

impl PostState {
    /// Whether a write may move a post from `self` to `to`. A success is never undone: a
    /// published post stays published (a later fact, such as TikTok taking it out of public
    /// view, is recorded beside it as a move to `PUBLISHED` again), and a draft in the inbox
    /// only moves on, to `PUBLISHED`, when its creator posts it in the TikTok app. Every
    /// other state may move as its step decides (a failure is retried, for instance).
    pub const fn may_move_to(self, to: PostState) -> bool {
        match self {
            PostState::Published => matches!(to, PostState::Published),
            PostState::SentToInbox => matches!(to, PostState::SentToInbox | PostState::Published),
            _ => true,
        }
    }
}

impl fmt::Display for PostState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_success_only_moves_forward() {
        use PostState::*;
        assert!(SentToInbox.may_move_to(Published));
        assert!(Published.may_move_to(Published));
        for to in PostState::ALL {
            assert_eq!(Published.may_move_to(to), to == Published, "{to}");
            assert_eq!(
                SentToInbox.may_move_to(to),
                matches!(to, SentToInbox | Published),
                "{to}"
            );
        }
        // A failure is retried; a live post moves as its steps decide.
        assert!(Failed.may_move_to(Queued));
        assert!(Processing.may_move_to(SentToInbox));
    }
}
