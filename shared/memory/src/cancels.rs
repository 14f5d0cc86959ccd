//! The posts API's `PullCanceller` in memory: TikTok's answer to each cancel, given by the
//! test, and every cancel asked kept in order.

use std::sync::Mutex;

use async_trait::async_trait;
use tiktok_publish_core::api::{CancelPullError, PullCancel, PullCanceller};

use crate::lock;

/// Answers every cancel with the answer set last ([`PullCancel::TooLate`] at first), and
/// keeps the `(open_id, publish_id)` of each.
pub struct MemoryPullCanceller {
    answer: Mutex<PullCancel>,
    asked: Mutex<Vec<(String, String)>>,
}

impl Default for MemoryPullCanceller {
    fn default() -> Self {
        MemoryPullCanceller::answering(PullCancel::TooLate)
    }
}

impl MemoryPullCanceller {
    pub fn answering(answer: PullCancel) -> Self {
        MemoryPullCanceller {
            answer: Mutex::new(answer),
            asked: Mutex::new(Vec::new()),
        }
    }

    pub fn set_answer(&self, answer: PullCancel) {
        *lock(&self.answer) = answer;
    }

    /// The cancels asked so far, as `(open_id, publish_id)`.
    pub fn asked(&self) -> Vec<(String, String)> {
        lock(&self.asked).clone()
    }
}

#[async_trait]
impl PullCanceller for MemoryPullCanceller {
    async fn cancel_pull(
        &self,
        open_id: &str,
        publish_id: &str,
    ) -> Result<PullCancel, CancelPullError> {
        lock(&self.asked).push((open_id.to_owned(), publish_id.to_owned()));
        Ok(*lock(&self.answer))
    }
}
