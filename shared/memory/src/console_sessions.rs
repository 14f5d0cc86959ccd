//! `SessionStore` in memory, with the sessions table's conditions: `put` refuses an
//! existing key, `replace_access` a missing row.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use secrecy::SecretString;

use tiktok_publish_core::console::{SessionRecord, SessionStore};
use tiktok_publish_core::store::{SealedSecret, StoreError, UnixTime};

use crate::lock;

const ENTITY: &str = "console session";

/// A row as the table would keep it: the refresh token opened and held (as sealed with
/// the plain codec).
#[derive(Clone)]
struct Row {
    record: SessionRecord,
    refresh_token: SecretString,
}

/// `SessionStore` in memory.
#[derive(Default)]
pub struct MemorySessionStore {
    rows: Mutex<HashMap<String, Row>>,
    down: AtomicBool,
}

impl std::fmt::Debug for MemorySessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemorySessionStore")
            .field("rows", &lock(&self.rows).len())
            .finish_non_exhaustive()
    }
}

impl MemorySessionStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a row with this key is there.
    pub fn contains(&self, session_hash: &str) -> bool {
        lock(&self.rows).contains_key(session_hash)
    }

    /// How many rows there are.
    pub fn len(&self) -> usize {
        lock(&self.rows).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// While `down`, every call fails as [`StoreError::Unavailable`].
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    fn check_up(&self, operation: &'static str) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable {
                operation,
                detail: "the test switched the sessions table off".into(),
                source: None,
            });
        }
        Ok(())
    }
}

#[async_trait]
impl SessionStore for MemorySessionStore {
    async fn put(&self, record: &SessionRecord) -> Result<(), StoreError> {
        self.check_up("PutItem")?;
        let refresh_token = record.refresh_token.open().await?;
        let mut rows = lock(&self.rows);
        if rows.contains_key(&record.session_hash) {
            return Err(StoreError::Conflict {
                entity: ENTITY,
                id: "(redacted)".into(),
                detail: "a session with this id already exists".into(),
            });
        }
        rows.insert(
            record.session_hash.clone(),
            Row {
                record: record.clone(),
                refresh_token,
            },
        );
        Ok(())
    }

    async fn get(&self, session_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
        self.check_up("GetItem")?;
        Ok(lock(&self.rows).get(session_hash).map(|row| SessionRecord {
            refresh_token: SealedSecret::plain(&row.refresh_token),
            ..row.record.clone()
        }))
    }

    async fn replace_access(
        &self,
        session_hash: &str,
        access_token: &SecretString,
        access_expires_at: UnixTime,
    ) -> Result<(), StoreError> {
        self.check_up("UpdateItem")?;
        let mut rows = lock(&self.rows);
        let row = rows.get_mut(session_hash).ok_or(StoreError::NotFound {
            entity: ENTITY,
            id: "(redacted)".into(),
        })?;
        row.record.access_token = access_token.clone();
        row.record.access_expires_at = access_expires_at;
        Ok(())
    }

    async fn delete(&self, session_hash: &str) -> Result<(), StoreError> {
        self.check_up("DeleteItem")?;
        lock(&self.rows).remove(session_hash);
        Ok(())
    }
}
