//! The one place secrets (tokens, upload URLs) are turned into stored strings and back.
//!
//! [`KmsCodec`] seals them with a KMS key (the deployed stack, and the local stack on moto's
//! KMS); [`PlainCodec`] keeps them as they are (unit tests, or no key configured). Nothing
//! else in the stores reads or writes a secret attribute directly.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use aws_smithy_types::Blob;
use base64::Engine as _;
use base64::prelude::BASE64_STANDARD;
use secrecy::{ExposeSecret, SecretString};

use super::StoreError;
use super::dynamo::sdk_error;

/// Seals a secret for storage and opens it again. `context` names what the secret is and
/// whose (e.g. `accounts/{open_id}/access_token`), so a sealing codec can bind the
/// ciphertext to it (a KMS encryption context) and refuse one copied to another item.
#[async_trait]
pub trait SecretCodec: Send + Sync {
    async fn seal(&self, context: &str, secret: &SecretString) -> Result<String, StoreError>;
    async fn open(&self, context: &str, stored: &str) -> Result<SecretString, StoreError>;
}

/// A secret as the store holds it, opened only when it is used: with [`KmsCodec`] every
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

/// The prefix of a value [`KmsCodec`] sealed. A stored value without it was written before
/// sealing was turned on: it is read as it is and sealed the next time it is written (tokens
/// at their next refresh, upload URLs at the next init).
const KMS_SEALED_PREFIX: &str = "kms1:";

/// The encryption-context key that binds a ciphertext to the item it was sealed for. The
/// template's IAM policies condition `kms:Encrypt`/`kms:Decrypt` on it
/// (`kms:EncryptionContext:tiktok-publish:secret`), so each function can open only the kinds
/// of secret it needs.
pub const KMS_CONTEXT_KEY: &str = "tiktok-publish:secret";

/// Seals each secret with KMS `Encrypt` under one key, with the secret's context (for example
/// `accounts/{open_id}/refresh_token`) as its encryption context: a reader of the table learns
/// nothing, and a ciphertext copied onto another item does not open there (KMS refuses the
/// context). Tokens and upload URLs are far below `Encrypt`'s 4 KB limit, so no data key is
/// needed.
#[derive(Debug, Clone)]
pub struct KmsCodec {
    client: aws_sdk_kms::Client,
    key_id: String,
}

impl KmsCodec {
    /// `key_id`: the key's ARN, id or alias.
    pub fn new(client: aws_sdk_kms::Client, key_id: impl Into<String>) -> Self {
        KmsCodec {
            client,
            key_id: key_id.into(),
        }
    }
}

#[async_trait]
impl SecretCodec for KmsCodec {
    async fn seal(&self, context: &str, secret: &SecretString) -> Result<String, StoreError> {
        let answer = self
            .client
            .encrypt()
            .key_id(&self.key_id)
            .plaintext(Blob::new(secret.expose_secret().as_bytes()))
            .encryption_context(KMS_CONTEXT_KEY, context)
            .send()
            .await
            .map_err(|e| sdk_error("kms:Encrypt", e))?;
        let ciphertext = answer
            .ciphertext_blob()
            .ok_or_else(|| StoreError::Refused {
                operation: "kms:Encrypt",
                detail: "KMS answered without a ciphertext".into(),
                source: None,
            })?;
        Ok(format!(
            "{KMS_SEALED_PREFIX}{}",
            BASE64_STANDARD.encode(ciphertext.as_ref())
        ))
    }

    async fn open(&self, context: &str, stored: &str) -> Result<SecretString, StoreError> {
        let Some(encoded) = stored.strip_prefix(KMS_SEALED_PREFIX) else {
            // Written before sealing was turned on.
            return Ok(SecretString::from(stored.to_owned()));
        };
        let unreadable = |detail: &str| StoreError::Corrupt {
            entity: "sealed secret",
            id: context.to_owned(),
            detail: detail.to_owned(),
        };
        let ciphertext = BASE64_STANDARD
            .decode(encoded)
            .map_err(|_| unreadable("the sealed value is not base64"))?;
        let answer = match self
            .client
            .decrypt()
            .key_id(&self.key_id)
            .ciphertext_blob(Blob::new(ciphertext))
            .encryption_context(KMS_CONTEXT_KEY, context)
            .send()
            .await
        {
            Ok(answer) => answer,
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_invalid_ciphertext_exception()) =>
            {
                return Err(unreadable(
                    "KMS refused the ciphertext: it was sealed for another item or altered",
                ));
            }
            Err(err) => return Err(sdk_error("kms:Decrypt", err)),
        };
        let plaintext = answer
            .plaintext()
            .ok_or_else(|| unreadable("KMS answered without a plaintext"))?;
        let text = std::str::from_utf8(plaintext.as_ref())
            .map_err(|_| unreadable("the opened secret is not UTF-8"))?;
        Ok(SecretString::from(text.to_owned()))
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
