//! [`KmsCodec`]: the [`SecretCodec`] that seals secrets (tokens, upload URLs) with a KMS key
//! (the deployed stack, and the local stack on moto's KMS).

use async_trait::async_trait;
use aws_smithy_types::Blob;
use base64::Engine as _;
use base64::prelude::BASE64_STANDARD;
use secrecy::{ExposeSecret, SecretString};
use tiktok_publish_core::store::{SecretCodec, StoreError};

use crate::dynamo::sdk_error;

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
