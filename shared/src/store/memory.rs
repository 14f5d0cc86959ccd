//! In-memory stores with the DynamoDB adapters' semantics (conditions included), for unit
//! tests of code that uses the ports. The moto tests in `tests/stores.rs` pin the real ones.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use secrecy::ExposeSecret;

use super::account::{AccountSummary, AccountTokens, LeaseOutcome, RefreshSaved};
use super::codec::SealedSecret;
use super::one_time::{ConsumeOutcome, OneTimeKind, OneTimeRecord, OneTimeToken, presented_key};
use super::post::{
    CreateOutcome, HistoryEntry, PlanFields, PostCursor, PostFailure, PostId, PostOutcome,
    PostPage, PostRecord, PostState, PostUpdate, StoredUploadUrl, UploadSession, WebhookFinal,
};
use super::{
    Fact, OAuthStateStore, PostStore, ReconnectWarnings, StoreError, TokenStore, Transitioned,
    UnixTime,
};
use crate::tiktok::{ChunkPlan, TokenGrant, UploadUrl};

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A test that panicked while holding the lock leaves consistent data behind: every
    // change below is made in one step.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

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

/// [`OAuthStateStore`] in memory.
#[derive(Debug, Default)]
pub struct MemoryOAuthStateStore {
    /// By storage key: the record and when it was used.
    tokens: Mutex<HashMap<String, (OneTimeRecord, Option<UnixTime>)>>,
}

impl MemoryOAuthStateStore {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl OAuthStateStore for MemoryOAuthStateStore {
    async fn put(&self, token: &OneTimeToken, record: &OneTimeRecord) -> Result<(), StoreError> {
        let mut tokens = lock(&self.tokens);
        let key = token.storage_key();
        if tokens.contains_key(&key) {
            return Err(StoreError::Conflict {
                entity: "one-time token",
                id: "(redacted)".into(),
                detail: "a token with this value already exists".into(),
            });
        }
        tokens.insert(key, (record.clone(), None));
        Ok(())
    }

    async fn consume(
        &self,
        kind: OneTimeKind,
        token: &str,
        now: UnixTime,
    ) -> Result<ConsumeOutcome, StoreError> {
        let Some(key) = presented_key(token) else {
            return Ok(ConsumeOutcome::Unknown);
        };
        let mut tokens = lock(&self.tokens);
        let Some((record, used_at)) = tokens.get_mut(&key) else {
            return Ok(ConsumeOutcome::Unknown);
        };
        Ok(if record.kind != kind {
            ConsumeOutcome::Unknown
        } else if used_at.is_some() {
            ConsumeOutcome::AlreadyUsed
        } else if record.expires_at <= now {
            ConsumeOutcome::Expired
        } else {
            *used_at = Some(now);
            ConsumeOutcome::Consumed(record.clone())
        })
    }
}

/// [`PostStore`] in memory.
#[derive(Debug, Default)]
pub struct MemoryPostStore {
    posts: Mutex<HashMap<PostId, PostRecord>>,
}

impl MemoryPostStore {
    pub fn new() -> Self {
        Self::default()
    }
}

fn not_found(id: &PostId) -> StoreError {
    StoreError::NotFound {
        entity: "post",
        id: id.to_string(),
    }
}

fn non_final() -> Vec<PostState> {
    PostState::ALL
        .into_iter()
        .filter(|s| !s.is_final())
        .collect()
}

#[async_trait]
impl PostStore for MemoryPostStore {
    async fn create(&self, record: &PostRecord) -> Result<CreateOutcome, StoreError> {
        let mut posts = lock(&self.posts);
        if let Some(existing) = posts.get(&record.id) {
            return Ok(CreateOutcome::AlreadyExists(Box::new(existing.clone())));
        }
        posts.insert(record.id.clone(), record.clone());
        Ok(CreateOutcome::Created)
    }

    async fn get(&self, id: &PostId) -> Result<Option<PostRecord>, StoreError> {
        Ok(lock(&self.posts).get(id).cloned())
    }

    async fn transition(
        &self,
        id: &PostId,
        from: &[PostState],
        to: PostState,
        update: PostUpdate,
        now: UnixTime,
    ) -> Result<Transitioned, StoreError> {
        let mut posts = lock(&self.posts);
        let post = posts.get_mut(id).ok_or_else(|| not_found(id))?;
        if !from.contains(&post.state) {
            return Err(StoreError::StateConflict {
                id: id.to_string(),
                expected: from.to_vec(),
                found: post.state,
            });
        }
        post.state = to;
        post.updated_at = now;
        post.history.push(HistoryEntry::new(to, now, update.fact));
        if let Some(options) = update.options {
            post.options = Some(options);
        }
        if let Some(source) = update.source {
            let current = &mut post.source;
            if source.location.version_id.is_some() {
                current.location.version_id = source.location.version_id;
            }
            current.size = source.size.or(current.size);
            current.content_type = source.content_type.or(current.content_type.take());
            current.etag = source.etag.or(current.etag.take());
        }
        if let Some(outcome) = update.outcome {
            post.outcome = Some(outcome);
        }
        if let Some(failure) = update.failure {
            post.failure = Some(failure);
        } else if update.clear_failure {
            post.failure = None;
        }
        if let Some(upload) = post.upload.as_mut().filter(|_| to.is_final()) {
            upload.upload_url = None;
        }
        Ok(Transitioned::new(from, post.clone()))
    }

    async fn open_upload_url(
        &self,
        _id: &PostId,
        stored: &StoredUploadUrl,
    ) -> Result<UploadUrl, StoreError> {
        Ok(UploadUrl::new(stored.as_stored().to_owned()))
    }

    async fn record_init(
        &self,
        id: &PostId,
        publish_id: &str,
        upload_url: &UploadUrl,
        issued_at: UnixTime,
        plan: &ChunkPlan,
        now: UnixTime,
    ) -> Result<PostRecord, StoreError> {
        let mut posts = lock(&self.posts);
        let post = posts.get_mut(id).ok_or_else(|| not_found(id))?;
        if post.state.is_final() {
            return Err(StoreError::StateConflict {
                id: id.to_string(),
                expected: non_final(),
                found: post.state,
            });
        }
        post.publish_id = Some(publish_id.to_owned());
        post.upload = Some(UploadSession {
            upload_url: Some(StoredUploadUrl::new(upload_url.expose().to_owned())),
            issued_at,
            plan: PlanFields::from(plan),
            chunks_done: 0,
            bytes_done: 0,
        });
        post.updated_at = now;
        Ok(post.clone())
    }

    async fn record_chunk_done(
        &self,
        id: &PostId,
        publish_id: &str,
        chunks_done: u64,
        bytes_done: u64,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let mut posts = lock(&self.posts);
        let post = posts.get_mut(id).ok_or_else(|| not_found(id))?;
        let same_upload = post.publish_id.as_deref() == Some(publish_id);
        let state = post.state;
        let Some(upload) = post.upload.as_mut().filter(|_| same_upload) else {
            return Err(StoreError::Conflict {
                entity: "post",
                id: id.to_string(),
                detail: "chunk progress refused: the upload is another one".into(),
            });
        };
        if upload.chunks_done == chunks_done && upload.bytes_done == bytes_done {
            return Ok(());
        }
        if state.is_final() {
            return Err(StoreError::StateConflict {
                id: id.to_string(),
                expected: non_final(),
                found: state,
            });
        }
        if chunks_done <= upload.chunks_done || chunks_done > upload.plan.total_chunk_count {
            return Err(StoreError::Conflict {
                entity: "post",
                id: id.to_string(),
                detail: format!(
                    "chunk progress {chunks_done} refused: the upload is the same at {} of {} chunks",
                    upload.chunks_done, upload.plan.total_chunk_count
                ),
            });
        }
        upload.chunks_done = chunks_done;
        upload.bytes_done = bytes_done;
        post.updated_at = now;
        Ok(())
    }

    async fn record_outcome(
        &self,
        id: &PostId,
        outcome: &PostOutcome,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let mut posts = lock(&self.posts);
        let post = posts.get_mut(id).ok_or_else(|| not_found(id))?;
        post.outcome = Some(outcome.clone());
        post.updated_at = now;
        Ok(())
    }

    async fn record_failure(
        &self,
        id: &PostId,
        failure: &PostFailure,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let mut posts = lock(&self.posts);
        let post = posts.get_mut(id).ok_or_else(|| not_found(id))?;
        post.failure = Some(failure.clone());
        post.updated_at = now;
        Ok(())
    }

    async fn record_webhook_event(
        &self,
        id: &PostId,
        seen_state: PostState,
        seen_event: Option<&WebhookFinal>,
        event: &WebhookFinal,
        fact: &Fact,
        now: UnixTime,
    ) -> Result<PostRecord, StoreError> {
        let mut posts = lock(&self.posts);
        let post = posts.get_mut(id).ok_or_else(|| not_found(id))?;
        if post.state != seen_state
            || post.publish_id.as_deref() != Some(event.publish_id.as_str())
            || post.webhook.as_ref() != seen_event
        {
            return Err(StoreError::Conflict {
                entity: "post",
                id: id.to_string(),
                detail: "the post changed since it was read; read it again".into(),
            });
        }
        post.webhook = Some(event.clone());
        post.updated_at = now;
        post.history
            .push(HistoryEntry::new(post.state, now, Some(fact.clone())));
        Ok(post.clone())
    }

    async fn list_by_account(
        &self,
        open_id: &str,
        limit: u32,
        after: Option<&PostCursor>,
    ) -> Result<PostPage, StoreError> {
        let mut posts: Vec<PostRecord> = lock(&self.posts)
            .values()
            .filter(|p| p.open_id == open_id)
            .cloned()
            .collect();
        // Newest first, ties broken by id, as the index orders them.
        posts.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        if let Some(cursor) = after {
            posts.retain(|p| (p.created_at, &p.id) < (cursor.created_at, &cursor.id));
        }
        let limit = limit.clamp(1, 1000) as usize;
        let next = (posts.len() > limit).then(|| {
            let last = &posts[limit - 1];
            PostCursor {
                created_at: last.created_at,
                id: last.id.clone(),
            }
        });
        posts.truncate(limit);
        Ok(PostPage { posts, next })
    }
}

mod allowance;
pub use allowance::MemoryAllowanceStore;

#[cfg(test)]
mod tests;
