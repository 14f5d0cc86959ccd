//! The one place secrets (tokens, upload URLs) are turned into stored strings and back.
//!
//! Today the stored form is the plain value. Sealing them with KMS later means one new
//! [`SecretCodec`] implementation handed to the adapters' constructors; nothing else in the
//! stores reads or writes a secret attribute directly.

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

/// Stores secrets as they are (until the KMS issue lands).
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
