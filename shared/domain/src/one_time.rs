//! One-time tokens: OAuth `state` values and connect links. Random, single use, expiring.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::time::UnixTime;

/// What a one-time token is for; a token of one kind never passes for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OneTimeKind {
    /// The `state` of an OAuth authorize redirect (CSRF protection).
    OAuthState,
    /// A short-lived link that lets someone start connecting an account.
    ConnectLink,
}

impl OneTimeKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            OneTimeKind::OAuthState => "oauth_state",
            OneTimeKind::ConnectLink => "connect_link",
        }
    }

    pub fn parse(value: &str) -> Option<OneTimeKind> {
        [OneTimeKind::OAuthState, OneTimeKind::ConnectLink]
            .into_iter()
            .find(|k| k.as_str() == value)
    }
}

impl fmt::Display for OneTimeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A fresh random token: 32 bytes (256 bits) as 64 hex characters. `Debug` redacts it.
#[derive(Clone)]
pub struct OneTimeToken(SecretString);

/// Longest token `consume` bothers hashing: anything longer was never issued.
const MAX_TOKEN_LEN: usize = 128;

impl OneTimeToken {
    pub fn generate() -> OneTimeToken {
        let bytes: [u8; 32] = rand::random();
        OneTimeToken(SecretString::from(hex::encode(bytes)))
    }

    /// The value to put in the URL.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The key it is stored under. Only the hash is stored, so reading the table does not
    /// yield a usable connect link.
    pub fn storage_key(&self) -> String {
        storage_key(self.expose())
    }
}

/// The stored key of a presented token, or `None` when it cannot be one we issued.
pub fn presented_key(token: &str) -> Option<String> {
    (!token.is_empty() && token.len() <= MAX_TOKEN_LEN).then(|| storage_key(token))
}

fn storage_key(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl fmt::Debug for OneTimeToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OneTimeToken([redacted])")
    }
}

/// What is stored with a one-time token: whatever the flow needs back when it is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneTimeRecord {
    pub kind: OneTimeKind,
    /// The `redirect_uri` sent to the authorize page: the code exchange must repeat it.
    pub redirect_uri: Option<String>,
    /// Where to send the browser when the flow ends.
    pub return_to: Option<String>,
    /// A value the flow must present again (e.g. the hash of a cookie set on the browser
    /// that started it), binding the callback to that browser.
    pub binding: Option<String>,
    /// Free text: who asked for a connect link, or which flow started the state.
    pub note: Option<String>,
    pub created_at: UnixTime,
    /// After this the token is refused, even while the item awaits TTL deletion.
    pub expires_at: UnixTime,
}

impl OneTimeRecord {
    /// A bare record of `kind` valid for `ttl_secs` from `now`.
    pub fn new(kind: OneTimeKind, now: UnixTime, ttl_secs: i64) -> OneTimeRecord {
        OneTimeRecord {
            kind,
            redirect_uri: None,
            return_to: None,
            binding: None,
            note: None,
            created_at: now,
            expires_at: now.saturating_add(ttl_secs),
        }
    }
}

/// What the OAuth state store's `consume` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsumeOutcome {
    /// First use, in time: here is what was stored with it.
    Consumed(OneTimeRecord),
    /// Never issued (or already deleted by TTL), or issued for another kind.
    Unknown,
    /// Issued but past its expiry.
    Expired,
    /// Already used once.
    AlreadyUsed,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_redacted() {
        let a = OneTimeToken::generate();
        let b = OneTimeToken::generate();
        assert_eq!(a.expose().len(), 64);
        assert_ne!(a.expose(), b.expose());
        assert!(!format!("{a:?}").contains(a.expose()));
        assert_ne!(a.storage_key(), a.expose());
        assert_eq!(presented_key(a.expose()), Some(a.storage_key()));
        assert_eq!(presented_key(""), None);
        assert_eq!(presented_key(&"x".repeat(500)), None);
    }

    #[test]
    fn kinds_round_trip() {
        for kind in [OneTimeKind::OAuthState, OneTimeKind::ConnectLink] {
            assert_eq!(OneTimeKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(OneTimeKind::parse("other"), None);
    }
}
