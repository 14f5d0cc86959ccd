//! [`OAuthStateStore`] in memory: single-use, expiring one-time tokens, kept by their
//! storage key as the oauth table keeps them.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use tiktok_publish_core::store::{OAuthStateStore, StoreError, UnixTime};
use tiktok_publish_domain::one_time::{
    ConsumeOutcome, OneTimeKind, OneTimeRecord, OneTimeToken, presented_key,
};

use crate::lock;

/// [`OAuthStateStore`] in memory.
#[derive(Debug, Default)]
pub struct MemoryOAuthStateStore {
    /// By storage key: the record and when it was used.
    tokens: Mutex<HashMap<String, (OneTimeRecord, Option<UnixTime>)>>,
}

impl MemoryOAuthStateStore {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl OAuthStateStore for MemoryOAuthStateStore {
    async fn put(&self, token: &OneTimeToken, record: &OneTimeRecord) -> Result<(), StoreError> {
        let mut tokens = lock(&self.tokens);
        let key = token.storage_key();
        if tokens.contains_key(&key) {
            return Err(StoreError::Conflict {
                entity: "one-time token",
                id: "(redacted)".into(),
                detail: "a token with this value already exists".into(),
            });
        }
        tokens.insert(key, (record.clone(), None));
        Ok(())
    }

    async fn consume(
        &self,
        kind: OneTimeKind,
        token: &str,
        now: UnixTime,
    ) -> Result<ConsumeOutcome, StoreError> {
        let Some(key) = presented_key(token) else {
            return Ok(ConsumeOutcome::Unknown);
        };
        let mut tokens = lock(&self.tokens);
        let Some((record, used_at)) = tokens.get_mut(&key) else {
            return Ok(ConsumeOutcome::Unknown);
        };
        Ok(if record.kind != kind {
            ConsumeOutcome::Unknown
        } else if used_at.is_some() {
            ConsumeOutcome::AlreadyUsed
        } else if record.expires_at <= now {
            ConsumeOutcome::Expired
        } else {
            *used_at = Some(now);
            ConsumeOutcome::Consumed(record.clone())
        })
    }
}
