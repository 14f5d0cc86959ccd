//! [`TokenStore`] (and [`ReconnectWarnings`], [`AccountProfiles`]) in memory, with the
//! DynamoDB adapter's semantics: the version check, the refresh lease, the reconnect mark,
//! a profile saved without touching the version.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use secrecy::ExposeSecret;

use tiktok_publish_core::store::account::{AccountProfile, AccountProfiles};
use tiktok_publish_core::store::{
    AccountSummary, AccountTokens, LeaseOutcome, ReconnectWarnings, RefreshSaved, SealedSecret,
    StoreError, TokenStore, UnixTime,
};
use tiktok_publish_core::tiktok::TokenGrant;

use crate::lock;

fn expires_at(now: UnixTime, expires_in: u64) -> UnixTime {
    now.saturating_add(i64::try_from(expires_in).unwrap_or(i64::MAX))
}

/// [`TokenStore`] in memory.
#[derive(Debug, Default)]
pub struct MemoryTokenStore {
    accounts: Mutex<HashMap<String, AccountTokens>>,
    /// The day of each account's last reconnect warning.
    warned_days: Mutex<HashMap<String, i64>>,
}

impl MemoryTokenStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Puts an account as it is (test setup).
    pub fn insert(&self, account: AccountTokens) {
        lock(&self.accounts).insert(account.open_id.clone(), account);
    }
}

fn apply_grant(account: &mut AccountTokens, grant: &TokenGrant, now: UnixTime) {
    account.access_token = grant.access_token.clone();
    account.access_expires_at = expires_at(now, grant.expires_in);
    if !grant.refresh_token.expose_secret().is_empty() {
        account.refresh_token = Some(SealedSecret::plain(&grant.refresh_token));
        account.refresh_expires_at = expires_at(now, grant.refresh_expires_in);
    }
    let scopes = grant.scopes();
    if !scopes.is_empty() {
        account.scopes = scopes;
    }
    account.updated_at = now;
}

fn check_grant(open_id: &str, grant: &TokenGrant) -> Result<(), StoreError> {
    if open_id.is_empty() || grant.open_id != open_id {
        return Err(StoreError::Refused {
            operation: "save tokens",
            detail: "the grant is for another open_id".into(),
            source: None,
        });
    }
    if grant.access_token.expose_secret().is_empty() {
        return Err(StoreError::Refused {
            operation: "save tokens",
            detail: "the grant holds no access token".into(),
            source: None,
        });
    }
    Ok(())
}

#[async_trait]
impl ReconnectWarnings for MemoryTokenStore {
    async fn claim_warning(&self, open_id: &str, day: i64) -> Result<bool, StoreError> {
        if !lock(&self.accounts).contains_key(open_id) {
            return Ok(false);
        }
        let mut warned = lock(&self.warned_days);
        if warned.get(open_id).is_some_and(|last| *last >= day) {
            return Ok(false);
        }
        warned.insert(open_id.to_owned(), day);
        Ok(true)
    }

    async fn release_warning(&self, open_id: &str, day: i64) -> Result<(), StoreError> {
        let mut warned = lock(&self.warned_days);
        if warned.get(open_id) == Some(&day) {
            warned.remove(open_id);
        }
        Ok(())
    }
}

#[async_trait]
impl AccountProfiles for MemoryTokenStore {
    async fn save_profile(
        &self,
        open_id: &str,
        profile: &AccountProfile,
        fetched_at: UnixTime,
    ) -> Result<bool, StoreError> {
        let mut accounts = lock(&self.accounts);
        let Some(account) = accounts.get_mut(open_id) else {
            return Ok(false);
        };
        account.set_profile(profile.clone(), fetched_at);
        Ok(true)
    }
}

#[async_trait]
impl TokenStore for MemoryTokenStore {
    async fn get(&self, open_id: &str) -> Result<Option<AccountTokens>, StoreError> {
        Ok(lock(&self.accounts).get(open_id).cloned())
    }

    async fn save_connection(
        &self,
        grant: &TokenGrant,
        nickname: Option<&str>,
        now: UnixTime,
    ) -> Result<AccountTokens, StoreError> {
        check_grant(&grant.open_id, grant)?;
        let mut accounts = lock(&self.accounts);
        let account = accounts
            .entry(grant.open_id.clone())
            .or_insert_with(|| AccountTokens {
                open_id: grant.open_id.clone(),
                access_token: grant.access_token.clone(),
                access_expires_at: 0,
                refresh_token: None,
                refresh_expires_at: 0,
                scopes: Vec::new(),
                nickname: None,
                username: None,
                avatar_url: None,
                profile_fetched_at: None,
                needs_reconnect: false,
                reconnect_reason: None,
                version: 0,
                lease_owner: None,
                lease_until: None,
                connected_at: now,
                updated_at: now,
            });
        apply_grant(account, grant, now);
        if let Some(nickname) = nickname {
            account.nickname = Some(nickname.to_owned());
        }
        account.needs_reconnect = false;
        account.reconnect_reason = None;
        account.lease_owner = None;
        account.lease_until = None;
        account.connected_at = now;
        account.version += 1;
        Ok(account.clone())
    }

    async fn try_take_refresh_lease(
        &self,
        open_id: &str,
        expected_version: u64,
        owner: &str,
        until: UnixTime,
        now: UnixTime,
    ) -> Result<LeaseOutcome, StoreError> {
        let mut accounts = lock(&self.accounts);
        let Some(account) = accounts.get_mut(open_id) else {
            return Ok(LeaseOutcome::Busy);
        };
        let free = account.lease_until.is_none_or(|u| u <= now);
        if account.version != expected_version || account.needs_reconnect || !free {
            return Ok(LeaseOutcome::Busy);
        }
        account.lease_owner = Some(owner.to_owned());
        account.lease_until = Some(until);
        Ok(LeaseOutcome::Taken)
    }

    async fn save_refreshed(
        &self,
        open_id: &str,
        owner: &str,
        grant: &TokenGrant,
        now: UnixTime,
    ) -> Result<RefreshSaved, StoreError> {
        check_grant(open_id, grant)?;
        let mut accounts = lock(&self.accounts);
        let Some(account) = accounts.get_mut(open_id) else {
            return Ok(RefreshSaved::LeaseLost);
        };
        if account.lease_owner.as_deref() != Some(owner) {
            return Ok(RefreshSaved::LeaseLost);
        }
        apply_grant(account, grant, now);
        account.version += 1;
        account.lease_owner = None;
        account.lease_until = None;
        Ok(RefreshSaved::Saved(Box::new(account.clone())))
    }

    async fn release_lease(&self, open_id: &str, owner: &str) -> Result<(), StoreError> {
        let mut accounts = lock(&self.accounts);
        if let Some(account) = accounts
            .get_mut(open_id)
            .filter(|a| a.lease_owner.as_deref() == Some(owner))
        {
            account.lease_owner = None;
            account.lease_until = None;
        }
        Ok(())
    }

    async fn mark_needs_reconnect(
        &self,
        open_id: &str,
        reason: &str,
        expected_version: Option<u64>,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let mut accounts = lock(&self.accounts);
        let Some(account) = accounts.get_mut(open_id) else {
            return Ok(false);
        };
        if expected_version.is_some_and(|v| v != account.version) {
            return Ok(false);
        }
        account.needs_reconnect = true;
        account.reconnect_reason = Some(reason.to_owned());
        account.lease_owner = None;
        account.lease_until = None;
        account.updated_at = now;
        Ok(true)
    }

    async fn list(&self) -> Result<Vec<AccountSummary>, StoreError> {
        let mut list: Vec<_> = lock(&self.accounts)
            .values()
            .map(AccountTokens::summary)
            .collect();
        list.sort_by(|a, b| a.open_id.cmp(&b.open_id));
        Ok(list)
    }

    async fn delete(&self, open_id: &str) -> Result<bool, StoreError> {
        Ok(lock(&self.accounts).remove(open_id).is_some())
    }
}
