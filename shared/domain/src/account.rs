//! A connected account as listings show it, without its tokens, and the profile TikTok's
//! user info gives it.

use crate::time::UnixTime;

/// Who the account is on TikTok, as `GET /v2/user/info/` last answered. Each field is
/// `None` when TikTok sent none (or an empty one).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct AccountProfile {
    /// TikTok's `display_name`: the name shown on the profile.
    pub nickname: Option<String>,
    /// The handle (without `@`); TikTok gives it only with the `user.info.profile` scope.
    pub username: Option<String>,
    /// The profile picture. TikTok's avatar URLs are signed and expire after a while.
    pub avatar_url: Option<String>,
}

/// An account without its tokens: what listings show.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AccountSummary {
    pub open_id: String,
    pub nickname: Option<String>,
    pub username: Option<String>,
    pub avatar_url: Option<String>,
    pub scopes: Vec<String>,
    pub needs_reconnect: bool,
    pub reconnect_reason: Option<String>,
    pub access_expires_at: UnixTime,
    pub refresh_expires_at: UnixTime,
    pub has_refresh_token: bool,
    pub connected_at: UnixTime,
    pub updated_at: UnixTime,
}

impl AccountSummary {
    /// Whether its owner must connect it again before it can post: flagged, or no refresh
    /// token left to renew an access token with.
    pub fn must_reconnect(&self, now: UnixTime) -> bool {
        self.needs_reconnect || !self.has_refresh_token || self.refresh_expires_at <= now
    }

    /// Required scopes the account did not grant.
    pub fn missing_scopes<'a>(&self, required: &[&'a str]) -> Vec<&'a str> {
        required
            .iter()
            .copied()
            .filter(|s| !self.scopes.iter().any(|g| g == s))
            .collect()
    }
}
