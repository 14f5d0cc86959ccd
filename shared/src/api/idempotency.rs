//! `Idempotency-Key` for `POST /posts`: the same key with the same body gets the first
//! answer again; with another body, a 409.
//!
//! One item per key in the oauth table (its `id` is a hash there already): `id` =
//! `idempotency#` + hex SHA-256 of (caller, key), `kind` = `idempotency` (so it can never pass
//! for a one-time token, whose ids are bare hashes and whose `consume` checks `kind`), the
//! body's SHA-256, and once answered the status and JSON. `expires_at` (the table's TTL
//! attribute) is 24 hours on.
//!
//! A request first *reserves* the key with a conditional put (free, expired, or reserved by
//! a request that died: `pending_until` passed without an answer), so two requests with one
//! key never both run; the answer replaces the reservation with a second conditional put.
//! A retryable failure (503, 500) releases the reservation so the caller's retry runs again.

use std::fmt;

use async_trait::async_trait;
use sha2::{Digest, Sha256};

use crate::store::{StoreError, UnixTime};

use super::error::ApiError;

/// How long an answer is remembered.
pub const IDEMPOTENCY_TTL_SECS: i64 = 24 * 3600;
/// How long a reservation holds without an answer (longer than the function's time-out).
pub const RESERVATION_SECS: i64 = 60;
/// The longest key accepted.
pub const MAX_KEY_LEN: usize = 255;

const ID_PREFIX: &str = "idempotency#";

/// A validated `Idempotency-Key`, scoped to the caller. `Debug` shows only its hash.
#[derive(Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    id: String,
}

impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("IdempotencyKey").field(&self.id).finish()
    }
}

impl IdempotencyKey {
    /// Reads the header's values (a header may arrive repeated): none → `None`; one value,
    /// or repeats of one value → that key; differing values → 400. `caller` (the IAM
    /// principal, when known) scopes the key, so two callers' keys never collide.
    pub fn from_header_values<'a>(
        values: impl IntoIterator<Item = &'a str>,
        caller: Option<&str>,
    ) -> Result<Option<IdempotencyKey>, ApiError> {
        let field = "Idempotency-Key";
        let mut key: Option<&str> = None;
        for value in values {
            let value = value.trim();
            match key {
                Some(seen) if seen != value => {
                    return Err(ApiError::invalid(
                        field,
                        "was sent more than once with different values",
                    ));
                }
                _ => key = Some(value),
            }
        }
        let Some(key) = key else {
            return Ok(None);
        };
        if key.is_empty() || key.len() > MAX_KEY_LEN {
            return Err(ApiError::invalid(
                field,
                format!("must be 1 to {MAX_KEY_LEN} characters"),
            ));
        }
        if !key.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            return Err(ApiError::invalid(
                field,
                "must be printable ASCII without spaces (a UUID is a good choice)",
            ));
        }
        let mut hasher = Sha256::new();
        // Length-prefixed, so (caller, key) pairs cannot slide into each other.
        for part in [caller.unwrap_or(""), key] {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part.as_bytes());
        }
        Ok(Some(IdempotencyKey {
            id: format!("{ID_PREFIX}{}", hex::encode(hasher.finalize())),
        }))
    }

    /// The stored item's id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// The SHA-256 of a request body, read as JSON when it is JSON (so key order and spacing
/// do not make "another body"), otherwise byte for byte.
pub fn body_fingerprint(body: &[u8]) -> String {
    let canonical = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|value| serde_json::to_vec(&value).ok());
    hex::encode(Sha256::digest(canonical.as_deref().unwrap_or(body)))
}

/// The first answer given under a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    pub status: u16,
    /// The JSON body, as sent.
    pub body: String,
}

/// What is stored under a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub body_sha256: String,
    /// `None` while the first request still runs.
    pub answer: Option<StoredAnswer>,
    pub pending_until: UnixTime,
    pub expires_at: UnixTime,
}

/// What [`IdempotencyStore::reserve`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// The caller holds the key: run the request, then `finish` or `release`.
    Reserved,
    /// Another request has (or had) the key.
    Taken(IdempotencyRecord),
}

/// Where idempotency keys are kept.
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Reserves the key for a request with this body, unless it is held: answered and not
    /// expired, or reserved by a request still within its reservation.
    async fn reserve(
        &self,
        key: &IdempotencyKey,
        body_sha256: &str,
        now: UnixTime,
    ) -> Result<Reservation, StoreError>;

    /// Stores the answer under the key the caller reserved (nothing happens when the
    /// reservation was lost meanwhile).
    async fn finish(
        &self,
        key: &IdempotencyKey,
        body_sha256: &str,
        answer: &StoredAnswer,
        now: UnixTime,
    ) -> Result<(), StoreError>;

    /// Gives up the reservation without an answer, so a retry runs the request again.
    async fn release(&self, key: &IdempotencyKey, body_sha256: &str) -> Result<(), StoreError>;
}

impl IdempotencyRecord {
    /// Whether the key is free again at `now`: its answer expired, or its reservation
    /// passed without an answer (the request died). Every store applies this rule in
    /// [`IdempotencyStore::reserve`].
    pub fn is_free(&self, now: UnixTime) -> bool {
        self.expires_at <= now || (self.answer.is_none() && self.pending_until <= now)
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

    #[test]
    fn keys_are_hashed_and_scoped_to_the_caller() {
        let a = key("k-1", Some("arn:a"));
        assert!(a.id().starts_with(ID_PREFIX));
        assert!(!a.id().contains("k-1"));
        assert_ne!(a, key("k-1", Some("arn:b")));
        assert_eq!(a, key("k-1", Some("arn:a")));
        assert_eq!(
            IdempotencyKey::from_header_values(["k", "k"], None).unwrap(),
            Some(key("k", None))
        );
        assert_eq!(IdempotencyKey::from_header_values([], None).unwrap(), None);
        for bad in [
            vec!["a", "b"],
            vec![""],
            vec!["has space"],
            vec![&*"x".repeat(256)],
        ] {
            let err = IdempotencyKey::from_header_values(bad.clone(), None).unwrap_err();
            assert_eq!(err.field.as_deref(), Some("Idempotency-Key"), "{bad:?}");
        }
    }

    #[test]
    fn fingerprints_ignore_json_layout() {
        assert_eq!(
            body_fingerprint(br#"{"a":1,"b":2}"#),
            body_fingerprint(b"{ \"b\": 2, \"a\": 1 }")
        );
        assert_ne!(
            body_fingerprint(br#"{"a":1}"#),
            body_fingerprint(br#"{"a":2}"#)
        );
        assert_ne!(body_fingerprint(b"{oops"), body_fingerprint(b"{oops "));
    }
}
