//! A connected TikTok account as the token store keeps it.

use std::fmt;

use secrecy::SecretString;

use super::UnixTime;
use super::codec::SealedSecret;
pub use tiktok_publish_domain::account::AccountSummary;

/// Everything stored about one account, tokens included. `Debug` redacts the tokens.
#[derive(Clone)]
pub struct AccountTokens {
    pub open_id: String,
    pub access_token: SecretString,
    /// When the access token expires.
    pub access_expires_at: UnixTime,
    /// `None` when TikTok never gave one: the account cannot be refreshed. Kept sealed until
    /// a refresh needs it.
    pub refresh_token: Option<SealedSecret>,
    pub refresh_expires_at: UnixTime,
    pub scopes: Vec<String>,
    pub nickname: Option<String>,
    pub needs_reconnect: bool,
    pub reconnect_reason: Option<String>,
    /// +1 on every token write; a lease is taken on a version, so a lease holder knows
    /// nobody saved newer tokens meanwhile.
    pub version: u64,
    pub lease_owner: Option<String>,
    pub lease_until: Option<UnixTime>,
    pub connected_at: UnixTime,
    pub updated_at: UnixTime,
}

impl AccountTokens {
    /// Whether the access token stays valid for at least `margin_secs` after `now`.
    pub fn access_valid_for(&self, margin_secs: i64, now: UnixTime) -> bool {
        self.access_expires_at > now.saturating_add(margin_secs)
    }

    /// The refresh token, when there is one that has not expired.
    pub fn usable_refresh_token(&self, now: UnixTime) -> Option<&SealedSecret> {
        self.refresh_token
            .as_ref()
            .filter(|_| self.refresh_expires_at > now)
    }

    /// Whether someone holds the refresh lease at `now`.
    pub fn lease_is_live(&self, now: UnixTime) -> bool {
        self.lease_owner.is_some() && self.lease_until.is_some_and(|until| until > now)
    }

    pub fn summary(&self) -> AccountSummary {
        AccountSummary {
            open_id: self.open_id.clone(),
            nickname: self.nickname.clone(),
            scopes: self.scopes.clone(),
            needs_reconnect: self.needs_reconnect,
            reconnect_reason: self.reconnect_reason.clone(),
            access_expires_at: self.access_expires_at,
            refresh_expires_at: self.refresh_expires_at,
            has_refresh_token: self.refresh_token.is_some(),
            connected_at: self.connected_at,
            updated_at: self.updated_at,
        }
    }
}

impl fmt::Debug for AccountTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountTokens")
            .field("open_id", &self.open_id)
            .field("access_token", &"[redacted]")
            .field("access_expires_at", &self.access_expires_at)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("refresh_expires_at", &self.refresh_expires_at)
            .field("scopes", &self.scopes)
            .field("nickname", &self.nickname)
            .field("needs_reconnect", &self.needs_reconnect)
            .field("reconnect_reason", &self.reconnect_reason)
            .field("version", &self.version)
            .field("lease_owner", &self.lease_owner)
            .field("lease_until", &self.lease_until)
            .finish_non_exhaustive()
    }
}

/// What [`super::TokenStore::try_take_refresh_lease`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseOutcome {
    /// The caller holds the lease: it alone may refresh.
    Taken,
    /// Someone else holds it, the version moved, or the account is flagged or gone: read
    /// the account again.
    Busy,
}

/// What [`super::TokenStore::save_refreshed`] did.
#[derive(Debug, Clone)]
pub enum RefreshSaved {
    Saved(Box<AccountTokens>),
    /// The lease was lost (expired and taken, or cleared by a reconnect): nothing saved.
    LeaseLost,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> AccountTokens {
        AccountTokens {
            open_id: "o".into(),
            access_token: SecretString::from("act.secret-access"),
            access_expires_at: 1_000,
            refresh_token: Some(SealedSecret::plain(&SecretString::from(
                "rft.secret-refresh",
            ))),
            refresh_expires_at: 10_000,
            scopes: vec!["video.publish".into()],
            nickname: None,
            needs_reconnect: false,
            reconnect_reason: None,
            version: 1,
            lease_owner: None,
            lease_until: None,
            connected_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn debug_never_shows_tokens() {
        let text = format!("{:?}", account());
        assert!(!text.contains("secret-access"));
        assert!(!text.contains("secret-refresh"));
    }

    #[test]
    fn validity_respects_the_margin() {
        let a = account();
        assert!(a.access_valid_for(300, 600));
        assert!(!a.access_valid_for(300, 700));
        assert!(a.usable_refresh_token(9_999).is_some());
        assert!(a.usable_refresh_token(10_000).is_none());
    }

    #[test]
    fn summary_says_when_to_reconnect() {
        let mut a = account();
        assert!(!a.summary().must_reconnect(5_000));
        assert!(a.summary().must_reconnect(10_000));
        a.refresh_token = None;
        assert!(a.summary().must_reconnect(5_000));
        assert_eq!(
            account()
                .summary()
                .missing_scopes(&["video.publish", "video.upload"]),
            vec!["video.upload"]
        );
    }
}
