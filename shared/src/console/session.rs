//! Console sessions: the opaque id the browser holds in its cookie, and the port of the
//! sessions table that holds everything else (Cognito's tokens stay on the server).

use std::fmt;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::store::{SealedSecret, StoreError, UnixTime};

/// Random bytes in a session id (and in a CSRF token): 256 bits.
const ID_BYTES: usize = 32;
/// Their unpadded base64url length.
const ID_CHARS: usize = 43;

/// The secret a browser presents to resume its session (the cookie's value). The table
/// never holds it: only [`SessionId::storage_key`]. `Debug` redacts it.
#[derive(Clone)]
pub struct SessionId(SecretString);

/// A cookie value that cannot be a session id we issued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a session id")]
pub struct NotASessionId;

impl SessionId {
    /// A fresh id of 256 random bits.
    pub fn generate() -> SessionId {
        SessionId(random_token())
    }

    /// A cookie's value, accepted only in the exact form [`SessionId::generate`] makes
    /// (43 base64url characters that decode to 32 bytes).
    pub fn parse(value: &str) -> Result<SessionId, NotASessionId> {
        if value.len() != ID_CHARS {
            return Err(NotASessionId);
        }
        // The decoder refuses other alphabets, padding and non-zero trailing bits, so each id
        // has one spelling.
        match URL_SAFE_NO_PAD.decode(value) {
            Ok(bytes) if bytes.len() == ID_BYTES => Ok(SessionId(value.to_owned().into())),
            _ => Err(NotASessionId),
        }
    }

    /// The value to put in the cookie.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The key of the session's row: hex SHA-256 of the id, so reading the table does not
    /// give a usable cookie.
    pub fn storage_key(&self) -> String {
        hex::encode(Sha256::digest(self.expose().as_bytes()))
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId([redacted])")
    }
}

/// 256 random bits as unpadded base64url (session ids, CSRF tokens).
pub(crate) fn random_token() -> SecretString {
    let bytes: [u8; ID_BYTES] = rand::random();
    SecretString::from(URL_SAFE_NO_PAD.encode(bytes))
}

/// One row of the sessions table. `Debug` redacts the secrets.
#[derive(Clone)]
pub struct SessionRecord {
    /// [`SessionId::storage_key`] of the session's id.
    pub session_hash: String,
    pub user_sub: String,
    pub email: String,
    pub access_token: SecretString,
    /// The access token's `exp`.
    pub access_expires_at: UnixTime,
    /// Opened only when the access token must be refreshed. A store's `put` opens the
    /// value it is given and seals it with its own codec.
    pub refresh_token: SealedSecret,
    /// Put into the console's forms and compared with what they send back.
    pub csrf_token: SecretString,
    pub created_at: UnixTime,
    /// The end of the session (the table's TTL attribute, which DynamoDB honours late:
    /// readers check it too).
    pub expires_at: UnixTime,
}

impl fmt::Debug for SessionRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionRecord")
            .field("user_sub", &self.user_sub)
            .field("email", &self.email)
            .field("access_expires_at", &self.access_expires_at)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The sessions table. Keys are [`SessionId::storage_key`]s.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Writes a new session (refused with [`StoreError::Conflict`] if its key exists).
    async fn put(&self, record: &SessionRecord) -> Result<(), StoreError>;

    /// The session, if the row is there (expired or not: the caller checks `expires_at`).
    async fn get(&self, session_hash: &str) -> Result<Option<SessionRecord>, StoreError>;

    /// Saves a refreshed access token; [`StoreError::NotFound`] when the row is gone (the
    /// session was signed out meanwhile), so a refresh never brings a session back.
    async fn replace_access(
        &self,
        session_hash: &str,
        access_token: &SecretString,
        access_expires_at: UnixTime,
    ) -> Result<(), StoreError>;

    /// Forgets the session (nothing happens when it is already gone).
    async fn delete(&self, session_hash: &str) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_id_parses_back_and_hashes_to_hex() {
        let id = SessionId::generate();
        assert_eq!(id.expose().len(), ID_CHARS);
        let parsed = SessionId::parse(id.expose()).unwrap();
        assert_eq!(parsed.storage_key(), id.storage_key());
        assert_eq!(id.storage_key().len(), 64);
        assert_ne!(id.storage_key(), SessionId::generate().storage_key());
        assert_eq!(format!("{id:?}"), "SessionId([redacted])");
    }

    #[test]
    fn only_the_exact_form_is_a_session_id() {
        let good = "A".repeat(42) + "A";
        assert!(SessionId::parse(&good).is_ok());
        for bad in [
            String::new(),
            "A".repeat(42),
            "A".repeat(44),
            "A".repeat(42) + "=",
            "A".repeat(42) + "+",
            "A".repeat(42) + "/",
            // Non-zero trailing bits: a second spelling of an id.
            "A".repeat(42) + "B",
            "é".repeat(21) + "A",
        ] {
            assert_eq!(
                SessionId::parse(&bad).unwrap_err(),
                NotASessionId,
                "{bad:?}"
            );
        }
    }
}
