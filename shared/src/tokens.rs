//! Access tokens that work: [`TokenService::fresh_access_token`] and the refresh behind it.
//!
//! TikTok rotates refresh tokens, so two refreshes racing with the same refresh token leave
//! at most one trustworthy result. Every refresh therefore runs under the account's lease
//! (a conditional write on the account's `version`): one caller refreshes, the others poll
//! the account until its version moves, then use what the winner stored.
//!
//! The account's profile (TikTok's user info: nickname, username, avatar) is read at
//! connect and after a refresh when the stored one is older than [`PROFILE_MAX_AGE`]. It
//! only shows which account this is, so it never fails a connect or a refresh.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;
use tokio::time::Instant;

use crate::ends::{NoOutcomeEvents, account_marked};
use crate::errors::{Classify, ErrorKind};
use crate::events::OutcomeEvents;
use crate::store::account::{
    AccountProfiles, AccountSummary, AccountTokens, LeaseOutcome, RefreshSaved,
};
use crate::store::{StoreError, TokenStore, UnixTime, same_secret, unix_now};
use crate::tiktok::{TikTokError, TikTokUserInfo, TokenGrant};

mod profile;

pub use profile::PROFILE_MAX_AGE;
use profile::ProfileSource;

/// TikTok's token endpoint, as the token service needs it.
#[async_trait]
pub trait TokenRefresher: Send + Sync {
    /// Trades a refresh token for new tokens (the refresh token may rotate).
    async fn refresh(&self, refresh_token: &SecretString) -> Result<TokenGrant, TikTokError>;

    /// Trades an authorization code for the account's first tokens.
    async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
    ) -> Result<TokenGrant, TikTokError>;
}

/// Where "now" comes from (tests move it by hand).
pub trait Clock: Send + Sync {
    fn now(&self) -> UnixTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        unix_now()
    }
}

/// How the token service refreshes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSettings {
    /// A token is handed out only if it stays valid this long; closer to expiry it is
    /// refreshed first. `TOKEN_REFRESH_MARGIN_SECS`, default 300.
    pub refresh_margin: Duration,
    /// How long a refresh lease lasts. Longer than a token call's time-out, so a slow but
    /// successful refresh still owns the lease when it saves. `TOKEN_REFRESH_LEASE_SECS`,
    /// default 60.
    pub lease_duration: Duration,
    /// How often a caller waiting for someone else's refresh reads the account again.
    pub poll_interval: Duration,
    /// The longest a caller waits for someone else's refresh before giving up (retryable).
    pub max_wait: Duration,
}

impl Default for TokenSettings {
    fn default() -> Self {
        TokenSettings::new(Duration::from_secs(300), Duration::from_secs(60))
    }
}

impl TokenSettings {
    /// Settings with this margin and lease; callers wait a little over one lease.
    pub fn new(refresh_margin: Duration, lease_duration: Duration) -> Self {
        TokenSettings {
            refresh_margin,
            lease_duration,
            poll_interval: Duration::from_millis(250),
            max_wait: lease_duration + Duration::from_secs(5),
        }
    }

    fn margin_secs(&self) -> i64 {
        i64::try_from(self.refresh_margin.as_secs()).unwrap_or(i64::MAX)
    }

    fn lease_secs(&self) -> i64 {
        i64::try_from(self.lease_duration.as_secs().max(1)).unwrap_or(i64::MAX)
    }
}

/// An access token for one account, valid for at least the refresh margin when handed out.
/// `Debug` redacts it.
#[derive(Clone)]
pub struct AccessToken {
    open_id: String,
    token: SecretString,
    expires_at: UnixTime,
}

impl AccessToken {
    fn of(account: &AccountTokens) -> Self {
        AccessToken {
            open_id: account.open_id.clone(),
            token: account.access_token.clone(),
            expires_at: account.access_expires_at,
        }
    }

    pub fn open_id(&self) -> &str {
        &self.open_id
    }

    /// The token, for the `Authorization` header.
    pub fn secret(&self) -> &SecretString {
        &self.token
    }

    pub fn expires_at(&self) -> UnixTime {
        self.expires_at
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("open_id", &self.open_id)
            .field("token", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Why no working access token could be had.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The account was never connected (or was removed).
    #[error("the TikTok account {open_id} is not connected: connect it first")]
    NotConnected { open_id: String },

    /// TikTok refused the refresh token, or it expired: the owner must connect again.
    #[error("the TikTok account {open_id} must be connected again: {reason}")]
    NeedsReconnect { open_id: String, reason: String },

    /// Another run has held the refresh for longer than we wait; retry shortly.
    #[error(
        "the token refresh of TikTok account {open_id} is still running elsewhere; retry shortly"
    )]
    RefreshStalled { open_id: String },

    /// TikTok answered a refresh with another account's tokens.
    #[error("TikTok answered the refresh of {expected} with tokens for {got}")]
    WrongAccount { expected: String, got: String },

    #[error("TikTok's token endpoint failed: {0}")]
    TikTok(#[from] TikTokError),

    #[error("the token store failed: {0}")]
    Store(#[from] StoreError),
}

impl Classify for TokenError {
    fn kind(&self) -> ErrorKind {
        match self {
            TokenError::NotConnected { .. } | TokenError::NeedsReconnect { .. } => {
                ErrorKind::AccountNeedsReconnect
            }
            TokenError::RefreshStalled { .. } => ErrorKind::TikTokUnavailable,
            TokenError::WrongAccount { .. } => ErrorKind::Internal,
            TokenError::TikTok(e) => e.kind(),
            TokenError::Store(e) => e.kind(),
        }
    }

    fn tiktok_code(&self) -> Option<&str> {
        match self {
            TokenError::TikTok(e) => e.code(),
            _ => None,
        }
    }
}

/// Why a call made with an account's token ([`TokenService::call_with_token`]) failed.
#[derive(Debug)]
pub enum TokenCallError {
    /// No usable token: not connected, to be connected again, or the refresh failed.
    Token(TokenError),
    /// TikTok's answer to the call.
    TikTok(TikTokError),
    /// TikTok refused a token refreshed a moment ago: the access is gone.
    RefusedAfterRefresh,
}

/// Hands out working access tokens, refreshing them under the account's lease.
#[derive(Clone)]
pub struct TokenService {
    store: Arc<dyn TokenStore>,
    /// Where `AccountNeedsReconnect` goes when this service marks an account.
    events: Arc<dyn OutcomeEvents>,
    tiktok: Arc<dyn TokenRefresher>,
    /// `None`: profiles are left as they are (see [`TokenService::with_profiles`]).
    profiles: Option<ProfileSource>,
    settings: TokenSettings,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for TokenService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenService")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// What one attempt under the lease came to.
enum Attempt {
    Done(AccessToken),
    /// Someone else's tokens are newer now: read the account again.
    ReadAgain,
}

impl TokenService {
    pub fn new(
        store: Arc<dyn TokenStore>,
        tiktok: Arc<dyn TokenRefresher>,
        settings: TokenSettings,
    ) -> Self {
        TokenService {
            store,
            // The deployed wiring sets the bus ([`TokenService::with_events`]).
            events: Arc::new(NoOutcomeEvents),
            tiktok,
            profiles: None,
            settings,
            clock: Arc::new(SystemClock),
        }
    }

    /// Reads the account's profile from TikTok's user info at connect, and after a refresh
    /// when the stored one is older than [`PROFILE_MAX_AGE`], saving it to `store`.
    pub fn with_profiles(
        mut self,
        store: Arc<dyn AccountProfiles>,
        tiktok: Arc<dyn TikTokUserInfo>,
    ) -> Self {
        self.profiles = Some(ProfileSource { store, tiktok });
        self
    }

    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Sends `AccountNeedsReconnect` to `events` for each account this service marks.
    pub fn with_events(mut self, events: Arc<dyn OutcomeEvents>) -> Self {
        self.events = events;
        self
    }

    pub fn settings(&self) -> &TokenSettings {
        &self.settings
    }

    /// The scopes the account granted when it was last connected.
    pub async fn granted_scopes(&self, open_id: &str) -> Result<Vec<String>, TokenError> {
        let account = self
            .store
            .get(open_id)
            .await?
            .ok_or_else(|| TokenError::NotConnected {
                open_id: open_id.to_owned(),
            })?;
        Ok(account.scopes)
    }

    /// An access token valid for at least the refresh margin, refreshed first if needed.
    #[tracing::instrument(skip(self))]
    pub async fn fresh_access_token(&self, open_id: &str) -> Result<AccessToken, TokenError> {
        self.obtain(open_id, None).await
    }

    /// For when TikTok answered `access_token_invalid` to `rejected` although it had not
    /// expired: refreshes unless the stored token is already another one (someone else
    /// refreshed meanwhile), in which case that one is returned.
    #[tracing::instrument(skip(self, rejected))]
    pub async fn force_refresh(
        &self,
        open_id: &str,
        rejected: &SecretString,
    ) -> Result<AccessToken, TokenError> {
        self.obtain(open_id, Some(rejected)).await
    }

    /// Makes `call` with the account's fresh access token. When TikTok refuses a token we
    /// thought was good (revoked, or expired early), refreshes it once and calls again.
    pub async fn call_with_token<T, F, Fut>(
        &self,
        open_id: &str,
        call: F,
    ) -> Result<T, TokenCallError>
    where
        F: Fn(SecretString) -> Fut,
        Fut: std::future::Future<Output = Result<T, TikTokError>>,
    {
        let token = self
            .fresh_access_token(open_id)
            .await
            .map_err(TokenCallError::Token)?;
        match call(token.secret().clone()).await {
            Err(TikTokError::AccessTokenInvalid { .. }) => {
                let token = self
                    .force_refresh(open_id, token.secret())
                    .await
                    .map_err(TokenCallError::Token)?;
                call(token.secret().clone()).await.map_err(|e| match e {
                    TikTokError::AccessTokenInvalid { .. } => TokenCallError::RefusedAfterRefresh,
                    other => TokenCallError::TikTok(other),
                })
            }
            other => other.map_err(TokenCallError::TikTok),
        }
    }

    /// Exchanges an authorization code and saves the connection (a reconnect clears the
    /// account's reconnect flag), then reads the account's profile (a failure there is
    /// logged and the connection stands).
    #[tracing::instrument(skip(self, code))]
    pub async fn connect(
        &self,
        code: &str,
        redirect_uri: &str,
    ) -> Result<AccountSummary, TokenError> {
        let grant = self.tiktok.exchange_code(code, redirect_uri).await?;
        let account = self
            .store
            .save_connection(&grant, None, self.clock.now())
            .await?;
        tracing::info!(open_id = %account.open_id, "TikTok account connected");
        let account = self.update_profile(account).await;
        Ok(account.summary())
    }

    async fn obtain(
        &self,
        open_id: &str,
        rejected: Option<&SecretString>,
    ) -> Result<AccessToken, TokenError> {
        let owner = lease_owner_id();
        let deadline = Instant::now() + self.settings.max_wait;
        loop {
            if Instant::now() >= deadline {
                return Err(TokenError::RefreshStalled {
                    open_id: open_id.to_owned(),
                });
            }
            let now = self.clock.now();
            let account =
                self.store
                    .get(open_id)
                    .await?
                    .ok_or_else(|| TokenError::NotConnected {
                        open_id: open_id.to_owned(),
                    })?;
            if account.needs_reconnect {
                return Err(TokenError::NeedsReconnect {
                    open_id: open_id.to_owned(),
                    reason: account
                        .reconnect_reason
                        .clone()
                        .unwrap_or_else(|| "the account was marked for reconnection".into()),
                });
            }
            let refused = rejected.is_some_and(|r| same_secret(r, &account.access_token));
            if !refused && account.access_valid_for(self.settings.margin_secs(), now) {
                return Ok(AccessToken::of(&account));
            }
            if account.usable_refresh_token(now).is_none() {
                let reason = "the refresh token has expired or is missing";
                if self
                    .store
                    .mark_needs_reconnect(open_id, reason, Some(account.version), now)
                    .await?
                {
                    account_marked(self.store.as_ref(), self.events.as_ref(), open_id, now).await;
                    return Err(TokenError::NeedsReconnect {
                        open_id: open_id.to_owned(),
                        reason: reason.into(),
                    });
                }
                // New tokens arrived meanwhile (a reconnect): look at them.
                continue;
            }
            if !account.lease_is_live(now) {
                let until = now.saturating_add(self.settings.lease_secs());
                let outcome = self
                    .store
                    .try_take_refresh_lease(open_id, account.version, &owner, until, now)
                    .await?;
                if outcome == LeaseOutcome::Taken {
                    match self.refresh_under_lease(&account, &owner).await? {
                        Attempt::Done(token) => return Ok(token),
                        Attempt::ReadAgain => continue,
                    }
                }
            }
            tokio::time::sleep(self.jittered_poll()).await;
        }
    }

    /// Refreshes while holding the lease taken on `account.version`.
    async fn refresh_under_lease(
        &self,
        account: &AccountTokens,
        owner: &str,
    ) -> Result<Attempt, TokenError> {
        let open_id = account.open_id.as_str();
        let Some(sealed) = account.usable_refresh_token(self.clock.now()) else {
            self.store.release_lease(open_id, owner).await?;
            return Ok(Attempt::ReadAgain);
        };
        // Opened here only: the reads that never refresh cost no KMS Decrypt for it.
        let refresh_token = match sealed.open().await {
            Ok(token) => token,
            Err(err) => {
                self.store.release_lease(open_id, owner).await?;
                return Err(err.into());
            }
        };
        tracing::info!(open_id, "refreshing the TikTok access token");
        let mut grant = match self.tiktok.refresh(&refresh_token).await {
            Ok(grant) => grant,
            Err(TikTokError::NeedsReconnect { reason, .. }) => {
                let marked = self
                    .store
                    .mark_needs_reconnect(open_id, &reason, Some(account.version), self.clock.now())
                    .await?;
                if !marked {
                    // Our refresh token was old: a reconnect saved new tokens meanwhile.
                    return Ok(Attempt::ReadAgain);
                }
                let (store, events) = (self.store.as_ref(), self.events.as_ref());
                account_marked(store, events, open_id, self.clock.now()).await;
                tracing::warn!(
                    open_id,
                    "TikTok refused the refresh token; the account must reconnect"
                );
                return Err(TokenError::NeedsReconnect {
                    open_id: open_id.to_owned(),
                    reason,
                });
            }
            Err(e) => {
                // Let the next caller try at once rather than after the lease runs out.
                if let Err(release) = self.store.release_lease(open_id, owner).await {
                    tracing::warn!(open_id, error = %release, "could not release the refresh lease");
                }
                return Err(e.into());
            }
        };
        if grant.open_id.is_empty() {
            grant.open_id = open_id.to_owned();
        }
        if grant.open_id != open_id {
            self.store.release_lease(open_id, owner).await?;
            return Err(TokenError::WrongAccount {
                expected: open_id.to_owned(),
                got: grant.open_id,
            });
        }
        // TikTok has rotated the refresh token: losing this save loses the account, so a
        // transient store failure is worth a few quick retries.
        let mut attempt = 0;
        let saved = loop {
            attempt += 1;
            match self
                .store
                .save_refreshed(open_id, owner, &grant, self.clock.now())
                .await
            {
                Err(StoreError::Unavailable { .. }) if attempt < 4 => {
                    tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
                }
                other => break other?,
            }
        };
        match saved {
            RefreshSaved::Saved(account) => {
                // After the save: the lease is released and the tokens are safe whatever
                // user info answers.
                let account = self.update_stale_profile(*account).await;
                Ok(Attempt::Done(AccessToken::of(&account)))
            }
            RefreshSaved::LeaseLost => {
                tracing::warn!(
                    open_id,
                    "the refresh lease was lost before saving; using the stored tokens"
                );
                Ok(Attempt::ReadAgain)
            }
        }
    }

    fn jittered_poll(&self) -> Duration {
        let base = self.settings.poll_interval.as_millis().max(1) as u64;
        Duration::from_millis(rand::random_range(base / 2..=base + base / 2))
    }
}

/// A fresh id for one caller's lease.
fn lease_owner_id() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

// The service's behaviour over a token store is tested in the integration tests
// (`shared/tests/tokens_logic.rs`, in memory; `tokens.rs`, against moto).
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_default_to_five_minutes_and_a_minute_lease() {
        let settings = TokenSettings::default();
        assert_eq!(settings.refresh_margin, Duration::from_secs(300));
        assert_eq!(settings.lease_duration, Duration::from_secs(60));
        assert!(settings.max_wait > settings.lease_duration);
    }
}
