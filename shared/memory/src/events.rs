//! [`OutcomeEvents`] in memory: every event sent, kept in order.

use std::sync::Mutex;

use async_trait::async_trait;

use tiktok_publish_core::events::{EventError, OutcomeEvent, OutcomeEvents};

/// [`OutcomeEvents`] kept in memory, for tests of code that sends events.
#[derive(Debug, Default)]
pub struct MemoryEvents {
    sent: Mutex<Vec<OutcomeEvent>>,
}

impl MemoryEvents {
    pub fn new() -> Self {
        MemoryEvents::default()
    }

    /// Everything sent so far, in order.
    pub fn sent(&self) -> Vec<OutcomeEvent> {
        self.sent
            .lock()
            .map(|sent| sent.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }
}

#[async_trait]
impl OutcomeEvents for MemoryEvents {
    async fn publish(&self, events: &[OutcomeEvent]) -> Result<(), EventError> {
        let mut sent = self
            .sent
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        sent.extend_from_slice(events);
        Ok(())
    }
}
