//! The one place secrets (tokens, upload URLs) are turned into stored strings and back.
//!
//! The adapters crate's `KmsCodec` seals them with a KMS key (the deployed stack, and the
//! local stack on moto's KMS); [`PlainCodec`] keeps them as they are (unit tests, or no key
//! configured). Nothing else in the stores reads or writes a secret attribute directly.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

use super::StoreError;

/// Seals a secret for storage and opens it again. `context` names what the secret is and
/// whose (e.g. `accounts/{open_id}/access_token`), so a sealing codec can bind the
/// ciphertext to it (a KMS encryption context) and refuse one copied to another item.
#[async_trait]
pub trait SecretCodec: Send + Sync {
    async fn seal(&self, context: &str, secret: &SecretString) -> Result<String, StoreError>;
    async fn open(&self, context: &str, stored: &str) -> Result<SecretString, StoreError>;
}

/// A secret as the store holds it, opened only when it is used: with a KMS codec every
/// open is a KMS `Decrypt`, and most reads of an account never use its refresh token.
/// `Debug` shows nothing of it.
#[derive(Clone)]
pub struct SealedSecret {
    stored: String,
    context: String,
    codec: Arc<dyn SecretCodec>,
}

impl SealedSecret {
    /// `stored` as `codec` wrote it under `context`.
    pub fn new(codec: Arc<dyn SecretCodec>, context: String, stored: String) -> Self {
        SealedSecret {
            stored,
            context,
            codec,
        }
    }

    /// A secret held as it is ([`PlainCodec`]): in-memory stores and tests.
    pub fn plain(secret: &SecretString) -> Self {
        SealedSecret::new(
            Arc::new(PlainCodec),
            String::new(),
            secret.expose_secret().to_owned(),
        )
    }

    /// The secret itself.
    pub async fn open(&self) -> Result<SecretString, StoreError> {
        self.codec.open(&self.context, &self.stored).await
    }
}

impl fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealedSecret([redacted])")
    }
}

/// Stores secrets as they are.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlainCodec;

#[async_trait]
impl SecretCodec for PlainCodec {
    async fn seal(&self, _context: &str, secret: &SecretString) -> Result<String, StoreError> {
        Ok(secret.expose_secret().to_owned())
    }

    async fn open(&self, _context: &str, stored: &str) -> Result<SecretString, StoreError> {
        Ok(SecretString::from(stored.to_owned()))
    }
}

/// Remembers what `inner` opened, for the life of the process: a warm Lambda that reads the
/// same sealed token again (every status poll, creator info then init) pays one KMS `Decrypt`
/// for it, not one per read. A sealed value never changes meaning (new tokens are new
/// ciphertexts), so nothing goes stale; only values already opened in this process are held,
/// and the table is emptied when it reaches `capacity`.
pub struct OpenedCache<C> {
    inner: C,
    capacity: usize,
    opened: Mutex<HashMap<(String, String), SecretString>>,
}

impl<C> OpenedCache<C> {
    /// Plenty for one function's accounts and posts between cold starts.
    pub const DEFAULT_CAPACITY: usize = 256;

    pub fn new(inner: C) -> Self {
        OpenedCache {
            inner,
            capacity: Self::DEFAULT_CAPACITY,
            opened: Mutex::new(HashMap::new()),
        }
    }

    fn table(&self) -> MutexGuard<'_, HashMap<(String, String), SecretString>> {
        // A panic while holding the lock cannot leave the map half-written.
        self.opened
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<C> fmt::Debug for OpenedCache<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenedCache")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl<C: SecretCodec> SecretCodec for OpenedCache<C> {
    async fn seal(&self, context: &str, secret: &SecretString) -> Result<String, StoreError> {
        self.inner.seal(context, secret).await
    }

    async fn open(&self, context: &str, stored: &str) -> Result<SecretString, StoreError> {
        let key = (context.to_owned(), stored.to_owned());
        if let Some(secret) = self.table().get(&key) {
            return Ok(secret.clone());
        }
        let secret = self.inner.open(context, stored).await?;
        let mut table = self.table();
        if table.len() >= self.capacity {
            table.clear();
        }
        table.insert(key, secret.clone());
        Ok(secret)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Seals by reversing the text and counts every open, as KMS would bill them.
    #[derive(Default)]
    struct CountingCodec {
        opens: AtomicUsize,
    }

    #[async_trait]
    impl SecretCodec for CountingCodec {
        async fn seal(&self, _context: &str, secret: &SecretString) -> Result<String, StoreError> {
            Ok(secret.expose_secret().chars().rev().collect())
        }

        async fn open(&self, context: &str, stored: &str) -> Result<SecretString, StoreError> {
            self.opens.fetch_add(1, Ordering::SeqCst);
            if context == "refuse" {
                return Err(StoreError::Corrupt {
                    entity: "sealed secret",
                    id: context.into(),
                    detail: "refused".into(),
                });
            }
            Ok(SecretString::from(stored.chars().rev().collect::<String>()))
        }
    }

    #[tokio::test]
    async fn a_value_is_opened_once_per_context_and_ciphertext() {
        let cache = OpenedCache::new(CountingCodec::default());
        let sealed = cache.seal("a/access_token", &"act.1".into()).await.unwrap();
        for _ in 0..3 {
            let opened = cache.open("a/access_token", &sealed).await.unwrap();
            assert_eq!(opened.expose_secret(), "act.1");
        }
        assert_eq!(cache.inner.opens.load(Ordering::SeqCst), 1);

        // Another context or another ciphertext is opened by the inner codec.
        cache.open("b/access_token", &sealed).await.unwrap();
        let rotated = cache.seal("a/access_token", &"act.2".into()).await.unwrap();
        let opened = cache.open("a/access_token", &rotated).await.unwrap();
        assert_eq!(opened.expose_secret(), "act.2");
        assert_eq!(cache.inner.opens.load(Ordering::SeqCst), 3);

        // A refusal is not remembered: it is asked again.
        assert!(cache.open("refuse", "x").await.is_err());
        assert!(cache.open("refuse", "x").await.is_err());
        assert_eq!(cache.inner.opens.load(Ordering::SeqCst), 5);
    }

    #[tokio::test]
    async fn the_table_never_grows_past_its_capacity() {
        let mut cache = OpenedCache::new(CountingCodec::default());
        cache.capacity = 4;
        for n in 0..10 {
            cache.open("ctx", &format!("v{n}")).await.unwrap();
            assert!(cache.table().len() <= 4);
        }
        assert!(!format!("{cache:?}").contains("v9"));
    }
}
