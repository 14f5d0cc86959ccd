//! [`AllowanceStore`] in memory.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use tiktok_publish_core::store::{AllowanceStore, StoreError};
use tiktok_publish_domain::allowance::{
    AllowanceLimits, Spend, TikTokCall, UnixMillis, WindowOutcome, spend_in_window,
};

use crate::lock;

/// [`AllowanceStore`] in memory: the same window arithmetic as DynamoDB, under one lock.
#[derive(Debug, Default)]
pub struct MemoryAllowanceStore {
    limits: AllowanceLimits,
    /// The calls counted per account and kind, oldest first.
    windows: Mutex<HashMap<(String, TikTokCall), Vec<UnixMillis>>>,
}

impl MemoryAllowanceStore {
    pub fn new(limits: AllowanceLimits) -> Self {
        MemoryAllowanceStore {
            limits,
            windows: Mutex::default(),
        }
    }

    /// The calls counted for the account and kind (test assertions).
    pub fn counted(&self, open_id: &str, call: TikTokCall) -> Vec<UnixMillis> {
        lock(&self.windows)
            .get(&(open_id.to_owned(), call))
            .cloned()
            .unwrap_or_default()
    }
}

#[async_trait]
impl AllowanceStore for MemoryAllowanceStore {
    async fn try_spend(
        &self,
        open_id: &str,
        call: TikTokCall,
        now_ms: UnixMillis,
    ) -> Result<Spend, StoreError> {
        let mut windows = lock(&self.windows);
        let calls = windows.entry((open_id.to_owned(), call)).or_default();
        match spend_in_window(calls, now_ms, self.limits.limit(call), self.limits.window()) {
            WindowOutcome::Granted(kept) => {
                *calls = kept;
                Ok(Spend::Granted)
            }
            WindowOutcome::WaitFor(wait) => Ok(Spend::WaitFor(wait)),
        }
    }
}
