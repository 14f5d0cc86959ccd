//! A connected account as listings show it, without its tokens.

use crate::time::UnixTime;

/// An account without its tokens: what listings show.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AccountSummary {
    pub open_id: String,
    pub nickname: Option<String>,
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
