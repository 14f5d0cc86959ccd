//! Every account marked for reconnection goes out as an `AccountNeedsReconnect` outcome
//! event ([`crate::events`]); posts' ends are reported by [`crate::ends`].

use std::sync::Arc;

use async_trait::async_trait;

use crate::ends::send_best_effort;
use crate::events::{OutcomeEvent, OutcomeEvents};
use crate::store::{AccountTokens, LeaseOutcome, RefreshSaved, StoreError, TokenStore, UnixTime};
use crate::tiktok::TokenGrant;

/// A [`TokenStore`] that sends `AccountNeedsReconnect` when it marks an account (a refused
/// refresh, a lapsed refresh token, TikTok's `authorization.removed`).
#[derive(Clone)]
pub struct EventingTokenStore {
    inner: Arc<dyn TokenStore>,
    events: Arc<dyn OutcomeEvents>,
}

impl EventingTokenStore {
    pub fn new(inner: Arc<dyn TokenStore>, events: Arc<dyn OutcomeEvents>) -> Self {
        EventingTokenStore { inner, events }
    }

    async fn account_marked(&self, open_id: &str, now: UnixTime) {
        // The event carries the account's name and the reason just stored: read them back.
        let account = match self.inner.get(open_id).await {
            Ok(Some(account)) => account.summary(),
            Ok(None) => return,
            Err(err) => {
                tracing::warn!(open_id, error = %err, "could not read the account marked for reconnection; no event sent");
                return;
            }
        };
        // A marked account always warrants the warning, whatever its refresh token's age.
        if let Some(event) = OutcomeEvent::account_needs_reconnect(&account, 0, now) {
            send_best_effort(self.events.as_ref(), event).await;
        }
    }
}

#[async_trait]
impl TokenStore for EventingTokenStore {
    async fn get(&self, open_id: &str) -> Result<Option<AccountTokens>, StoreError> {
        self.inner.get(open_id).await
    }

    async fn save_connection(
        &self,
        grant: &TokenGrant,
        nickname: Option<&str>,
        now: UnixTime,
    ) -> Result<AccountTokens, StoreError> {
        self.inner.save_connection(grant, nickname, now).await
    }

    async fn try_take_refresh_lease(
        &self,
        open_id: &str,
        expected_version: u64,
        owner: &str,
        until: UnixTime,
        now: UnixTime,
    ) -> Result<LeaseOutcome, StoreError> {
        self.inner
            .try_take_refresh_lease(open_id, expected_version, owner, until, now)
            .await
    }

    async fn save_refreshed(
        &self,
        open_id: &str,
        owner: &str,
        grant: &TokenGrant,
        now: UnixTime,
    ) -> Result<RefreshSaved, StoreError> {
        self.inner.save_refreshed(open_id, owner, grant, now).await
    }

    async fn release_lease(&self, open_id: &str, owner: &str) -> Result<(), StoreError> {
        self.inner.release_lease(open_id, owner).await
    }

    async fn mark_needs_reconnect(
        &self,
        open_id: &str,
        reason: &str,
        expected_version: Option<u64>,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let marked = self
            .inner
            .mark_needs_reconnect(open_id, reason, expected_version, now)
            .await?;
        if marked {
            self.account_marked(open_id, now).await;
        }
        Ok(marked)
    }

    async fn list(&self) -> Result<Vec<crate::store::AccountSummary>, StoreError> {
        self.inner.list().await
    }

    async fn delete(&self, open_id: &str) -> Result<bool, StoreError> {
        self.inner.delete(open_id).await
    }
}
