//! [`IdempotencyStore`] in memory, by the rules of the core's `api::idempotency`: a key is
//! reserved unless held, answered once, released on a retryable failure.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use tiktok_publish_core::api::idempotency::{
    IDEMPOTENCY_TTL_SECS, IdempotencyKey, IdempotencyRecord, IdempotencyStore, RESERVATION_SECS,
    Reservation, StoredAnswer,
};
use tiktok_publish_core::store::{StoreError, UnixTime};

/// [`IdempotencyStore`] in memory (unit tests, handler tests).
#[derive(Debug, Default)]
pub struct MemoryIdempotencyStore {
    records: Mutex<HashMap<String, IdempotencyRecord>>,
}

impl MemoryIdempotencyStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn records(&self) -> std::sync::MutexGuard<'_, HashMap<String, IdempotencyRecord>> {
        // A panic while holding the lock leaves plain data behind: keep using it.
        self.records.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl IdempotencyStore for MemoryIdempotencyStore {
    async fn reserve(
        &self,
        key: &IdempotencyKey,
        body_sha256: &str,
        now: UnixTime,
    ) -> Result<Reservation, StoreError> {
        let mut records = self.records();
        if let Some(record) = records.get(key.id())
            && !record.is_free(now)
        {
            return Ok(Reservation::Taken(record.clone()));
        }
        records.insert(
            key.id().to_owned(),
            IdempotencyRecord {
                body_sha256: body_sha256.to_owned(),
                answer: None,
                pending_until: now.saturating_add(RESERVATION_SECS),
                expires_at: now.saturating_add(IDEMPOTENCY_TTL_SECS),
            },
        );
        Ok(Reservation::Reserved)
    }

    async fn finish(
        &self,
        key: &IdempotencyKey,
        body_sha256: &str,
        answer: &StoredAnswer,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let mut records = self.records();
        if let Some(record) = records.get_mut(key.id())
            && record.body_sha256 == body_sha256
            && record.answer.is_none()
        {
            record.answer = Some(answer.clone());
            record.pending_until = now;
            record.expires_at = now.saturating_add(IDEMPOTENCY_TTL_SECS);
        }
        Ok(())
    }

    async fn release(&self, key: &IdempotencyKey, body_sha256: &str) -> Result<(), StoreError> {
        let mut records = self.records();
        if let Some(record) = records.get_mut(key.id())
            && record.body_sha256 == body_sha256
            && record.answer.is_none()
        {
            record.pending_until = 0;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(value: &str, caller: Option<&str>) -> IdempotencyKey {
        IdempotencyKey::from_header_values([value], caller)
            .unwrap()
            .unwrap()
    }

    #[tokio::test]
    async fn memory_reservations_follow_the_rules() {
        let store = MemoryIdempotencyStore::new();
        let k = key("k", None);
        assert_eq!(
            store.reserve(&k, "h", 100).await.unwrap(),
            Reservation::Reserved
        );
        assert!(matches!(
            store.reserve(&k, "h", 101).await.unwrap(),
            Reservation::Taken(_)
        ));
        store.release(&k, "h").await.unwrap();
        assert_eq!(
            store.reserve(&k, "h", 102).await.unwrap(),
            Reservation::Reserved
        );
        let answer = StoredAnswer {
            status: 201,
            body: "{}".into(),
        };
        store.finish(&k, "h", &answer, 103).await.unwrap();
        let Reservation::Taken(record) = store.reserve(&k, "other", 200).await.unwrap() else {
            panic!("an answered key is taken");
        };
        assert_eq!(record.answer, Some(answer));
        let later = 103 + IDEMPOTENCY_TTL_SECS;
        assert_eq!(
            store.reserve(&k, "other", later).await.unwrap(),
            Reservation::Reserved
        );
    }
}
