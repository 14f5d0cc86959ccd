//! A connected TikTok account as the token store keeps it, and the port its profile is
//! saved through.

use std::fmt;

use async_trait::async_trait;
use secrecy::SecretString;

use super::codec::SealedSecret;
use super::{StoreError, UnixTime};
pub use tiktok_publish_domain::account::{AccountProfile, AccountSummary};

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
    /// TikTok's display name (user info).
    pub nickname: Option<String>,
    /// The handle, without `@` (user info, with `user.info.profile` only).
    pub username: Option<String>,
    pub avatar_url: Option<String>,
    /// When user info last answered for this account; `None`: never.
    pub profile_fetched_at: Option<UnixTime>,
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

    /// Whether the profile was fetched less than `max_age_secs` before `now`.
    pub fn profile_is_fresh(&self, max_age_secs: i64, now: UnixTime) -> bool {
        self.profile_fetched_at
            .is_some_and(|at| at.saturating_add(max_age_secs) > now)
    }

    /// The profile as stored.
    pub fn profile(&self) -> AccountProfile {
        AccountProfile {
            nickname: self.nickname.clone(),
            username: self.username.clone(),
            avatar_url: self.avatar_url.clone(),
        }
    }

    /// Takes `profile` (fetched at `at`) in place of the stored one.
    pub fn set_profile(&mut self, profile: AccountProfile, at: UnixTime) {
        self.nickname = profile.nickname;
        self.username = profile.username;
        self.avatar_url = profile.avatar_url;
        self.profile_fetched_at = Some(at);
    }

    pub fn summary(&self) -> AccountSummary {
        AccountSummary {
            open_id: self.open_id.clone(),
            nickname: self.nickname.clone(),
            username: self.username.clone(),
            avatar_url: self.avatar_url.clone(),
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
            .field("username", &self.username)
            .field("profile_fetched_at", &self.profile_fetched_at)
            .field("needs_reconnect", &self.needs_reconnect)
            .field("reconnect_reason", &self.reconnect_reason)
            .field("version", &self.version)
            .field("lease_owner", &self.lease_owner)
            .field("lease_until", &self.lease_until)
            .finish_non_exhaustive()
    }
}

/// Where an account's profile (TikTok's user info) is saved. Apart from the token store's
/// writes on purpose: a profile is no token, so saving one never bumps the account's
/// `version` nor touches its lease, and cannot disturb a refresh in flight.
#[async_trait]
pub trait AccountProfiles: Send + Sync {
    /// Replaces the account's profile with `profile`, fetched at `fetched_at`. Returns
    /// `false` (and saves nothing) when the account does not exist (deleted meanwhile).
    async fn save_profile(
        &self,
        open_id: &str,
        profile: &AccountProfile,
        fetched_at: UnixTime,
    ) -> Result<bool, StoreError>;
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
            username: None,
            avatar_url: None,
            profile_fetched_at: None,
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
    fn a_profile_is_fresh_for_its_max_age_only() {
        let mut a = account();
        assert!(!a.profile_is_fresh(86_400, 0), "never fetched");
        let profile = AccountProfile {
            nickname: Some("Ann".into()),
            username: Some("ann".into()),
            avatar_url: None,
        };
        a.set_profile(profile.clone(), 1_000);
        assert!(a.profile_is_fresh(86_400, 87_399));
        assert!(!a.profile_is_fresh(86_400, 87_400));
        assert_eq!(a.profile(), profile);
        assert_eq!(a.summary().username.as_deref(), Some("ann"));
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
