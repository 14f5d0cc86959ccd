//! Everything the fake remembers, behind one mutex (never held across an await).

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant, SystemTime};

use rand::Rng;
use rand::distr::Alphanumeric;

use crate::{
    AccountSeed, AccountSnapshot, Endpoint, FakeSettings, IssuedTokens, RecordedCall, Violation,
    ViolationKind,
};

mod faults;
mod publishes;
mod pulls;

pub(crate) use faults::BodyFault;
use faults::CountedFault;
pub(crate) use publishes::Publish;
pub(crate) use pulls::{PullEnd, https_on_domain};

const RATE_WINDOW: Duration = Duration::from_secs(60);

/// A refusal, answered in TikTok's error envelope. Any violation was recorded already.
#[derive(Debug)]
pub(crate) struct Reject {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl Reject {
    pub(crate) fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    pub(crate) fn invalid_params(message: impl Into<String>) -> Self {
        Self::new(400, "invalid_params", message)
    }

    pub(crate) fn token_invalid() -> Self {
        Self::new(
            401,
            "access_token_invalid",
            "The access token is invalid or not found in the request.",
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TokenStatus {
    Active,
    /// Superseded by a refresh or a new grant (refresh tokens: rotated out).
    Replaced,
    Revoked,
}

struct Account {
    seed: AccountSeed,
    avatar_url: String,
    scopes: Vec<String>,
    access_token: Option<String>,
    refresh_token: Option<String>,
    revoked: bool,
}

struct AccessToken {
    open_id: String,
    scopes: Vec<String>,
    expires_at: Instant,
    status: TokenStatus,
    force_expired: bool,
}

struct RefreshToken {
    open_id: String,
    expires_at: Instant,
    status: TokenStatus,
}

struct Code {
    open_id: String,
    scopes: Vec<String>,
    client_key: String,
    redirect_uri: String,
    expires_at: Instant,
    used: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum RateBucket {
    Init,
    Status,
    CreatorInfo,
    ContentInit,
}

#[derive(Default)]
pub(crate) struct State {
    accounts: HashMap<String, Account>,
    access_tokens: HashMap<String, AccessToken>,
    refresh_tokens: HashMap<String, RefreshToken>,
    codes: HashMap<String, Code>,
    publishes: HashMap<String, Publish>,
    /// upload_id → publish_id
    uploads: HashMap<String, String>,
    pub violations: Vec<Violation>,
    pub calls: Vec<RecordedCall>,
    faults: Vec<CountedFault>,
    fail_posts: HashMap<String, VecDeque<String>>,
    /// open_id → endpoints whose next call by that account finds its access token expired.
    expire_token_on: HashMap<String, Vec<Endpoint>>,
    /// open_id → chunks after which that account's next upload URL expires.
    expire_url_after: HashMap<String, u64>,
    rate: HashMap<(String, RateBucket), VecDeque<Instant>>,
    /// open_id → the chunk of that account's next upload that is answered 206 and then lost.
    drop_chunk: HashMap<String, u64>,
    /// Accounts whose status answers leave `uploaded_bytes` out.
    omit_uploaded_bytes: HashSet<String>,
    /// open_id → the error code creator_info answers (with HTTP 200) and init refuses with.
    cannot_post: HashMap<String, String>,
    pub secrets: Vec<String>,
    /// Where webhook events go (`None`: nowhere).
    pub webhook_url: Option<String>,
    /// Every webhook delivery attempted, oldest first.
    pub webhook_deliveries: Vec<crate::webhook::WebhookDelivery>,
    /// Publishes whose last chunk arrived since the upload route last looked (it schedules
    /// their webhook events).
    pub completed_uploads: Vec<String>,
    /// PULL_FROM_URL posts created since the init route last looked (it starts their
    /// downloads once the lock is released).
    pub pending_pulls: Vec<String>,
    /// Posts that ended FAILED at once under the lock (a cancel): their webhook event is
    /// sent once the lock is released.
    pub ended_now: Vec<String>,
    /// Domains the app verified (lower case), and URL prefixes.
    verified_domains: Vec<String>,
    verified_prefixes: Vec<String>,
}

pub(crate) fn random_string(len: usize) -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

pub(crate) fn log_id() -> String {
    let now = time_stamp();
    format!("{now}{}", random_string(16).to_ascii_uppercase())
}

fn time_stamp() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

impl State {
    pub(crate) fn violate(&mut self, kind: ViolationKind, detail: impl Into<String>) {
        let detail = detail.into();
        tracing::warn!(?kind, %detail, "contract violation");
        self.violations.push(Violation {
            kind,
            detail,
            at: SystemTime::now(),
        });
    }

    pub(crate) fn record_call(&mut self, endpoint: Endpoint, open_id: Option<String>, status: u16) {
        self.calls.push(RecordedCall {
            endpoint,
            open_id,
            status,
            at: SystemTime::now(),
        });
    }

    fn secret(&mut self, value: &str) {
        self.secrets.push(value.to_string());
    }

    // ---- accounts and tokens ----

    pub(crate) fn seed_account(&mut self, mut seed: AccountSeed) -> String {
        let open_id = seed
            .open_id
            .clone()
            .unwrap_or_else(|| format!("-000{}", random_string(28)));
        seed.open_id = Some(open_id.clone());
        self.accounts.insert(
            open_id.clone(),
            Account {
                avatar_url: format!("https://p16.tiktokcdn.example/avatar/{open_id}.jpeg"),
                seed,
                scopes: Vec::new(),
                access_token: None,
                refresh_token: None,
                revoked: false,
            },
        );
        open_id
    }

    pub(crate) fn has_account(&self, open_id: &str) -> bool {
        self.accounts.contains_key(open_id)
    }

    fn ensure_account(&mut self, open_id: &str) {
        if !self.has_account(open_id) {
            self.seed_account(AccountSeed {
                open_id: Some(open_id.to_string()),
                ..AccountSeed::default()
            });
        }
    }

    pub(crate) fn mint_code(
        &mut self,
        settings: &FakeSettings,
        open_id: &str,
        scopes: Vec<String>,
        redirect_uri: &str,
    ) -> String {
        self.ensure_account(open_id);
        // TikTok's codes carry `*` and `!`: a client that does not decode the callback
        // query once, or re-encodes the code wrongly, sends a code that does not exist.
        let code = format!("{}*3!{}.va", random_string(40), random_string(6));
        self.secret(&code);
        self.codes.insert(
            code.clone(),
            Code {
                open_id: open_id.to_string(),
                scopes,
                client_key: settings.client_key.clone(),
                redirect_uri: redirect_uri.to_string(),
                expires_at: Instant::now() + settings.code_ttl,
                used: false,
            },
        );
        code
    }

    /// Issues a fresh token pair, killing the account's previous ones.
    pub(crate) fn grant(
        &mut self,
        settings: &FakeSettings,
        open_id: &str,
        scopes: Vec<String>,
    ) -> IssuedTokens {
        self.ensure_account(open_id);
        let access_token = format!("act.{}!{}", random_string(48), random_string(6));
        let refresh_token = format!("rft.{}!{}", random_string(48), random_string(6));
        self.secret(&access_token);
        self.secret(&refresh_token);
        let now = Instant::now();
        let (old_access, old_refresh) = match self.accounts.get_mut(open_id) {
            Some(account) => {
                account.scopes = scopes.clone();
                account.revoked = false;
                (
                    account.access_token.replace(access_token.clone()),
                    account.refresh_token.replace(refresh_token.clone()),
                )
            }
            None => (None, None),
        };
        if let Some(old) = old_access.and_then(|t| self.access_tokens.get_mut(&t)) {
            old.status = TokenStatus::Replaced;
        }
        if let Some(old) = old_refresh.and_then(|t| self.refresh_tokens.get_mut(&t)) {
            old.status = TokenStatus::Replaced;
        }
        self.access_tokens.insert(
            access_token.clone(),
            AccessToken {
                open_id: open_id.to_string(),
                scopes: scopes.clone(),
                expires_at: now + settings.access_token_ttl,
                status: TokenStatus::Active,
                force_expired: false,
            },
        );
        self.refresh_tokens.insert(
            refresh_token.clone(),
            RefreshToken {
                open_id: open_id.to_string(),
                expires_at: now + settings.refresh_token_ttl,
                status: TokenStatus::Active,
            },
        );
        IssuedTokens {
            open_id: open_id.to_string(),
            access_token,
            refresh_token,
            expires_in: settings.access_token_ttl.as_secs(),
            refresh_expires_in: settings.refresh_token_ttl.as_secs(),
            scope: scopes.join(","),
        }
    }

    /// Redeems an authorization code (token endpoint, grant_type=authorization_code).
    pub(crate) fn redeem_code(
        &mut self,
        settings: &FakeSettings,
        code: &str,
        client_key: &str,
        redirect_uri: &str,
    ) -> Result<IssuedTokens, Reject> {
        let invalid = |msg: &str| Reject::new(400, "invalid_grant", msg);
        let Some(entry) = self.codes.get_mut(code) else {
            self.violate(
                ViolationKind::BadRequest,
                "authorization code never issued (decoded twice, or not at all?)",
            );
            return Err(invalid("Authorization code is invalid."));
        };
        if entry.used {
            return Err(invalid("Authorization code has been used."));
        }
        if entry.expires_at <= Instant::now() {
            return Err(invalid("Authorization code is expired."));
        }
        if entry.client_key != client_key {
            self.violate(
                ViolationKind::BadRequest,
                "code redeemed with another client_key",
            );
            return Err(invalid("Authorization code is invalid."));
        }
        if entry.redirect_uri != redirect_uri {
            let detail = format!(
                "redirect_uri {redirect_uri:?} differs from the authorize one {:?}",
                entry.redirect_uri
            );
            self.violate(ViolationKind::BadRequest, detail);
            return Err(Reject::new(
                400,
                "invalid_grant",
                "Redirect URI does not match the authorization request.",
            ));
        }
        entry.used = true;
        let open_id = entry.open_id.clone();
        let scopes = entry.scopes.clone();
        Ok(self.grant(settings, &open_id, scopes))
    }

    /// grant_type=refresh_token: rotates both tokens.
    pub(crate) fn refresh(
        &mut self,
        settings: &FakeSettings,
        refresh_token: &str,
    ) -> Result<IssuedTokens, Reject> {
        let invalid = || Reject::new(400, "invalid_grant", "Refresh token is invalid or expired.");
        let Some(entry) = self.refresh_tokens.get(refresh_token) else {
            self.violate(ViolationKind::BadRequest, "refresh token never issued");
            return Err(invalid());
        };
        match entry.status {
            TokenStatus::Active => {}
            TokenStatus::Replaced => {
                self.violate(
                    ViolationKind::RotatedRefreshToken,
                    "a refresh token already rotated out was used: the newest one was lost",
                );
                return Err(invalid());
            }
            TokenStatus::Revoked => return Err(invalid()),
        }
        if entry.expires_at <= Instant::now() {
            return Err(invalid());
        }
        let open_id = entry.open_id.clone();
        let scopes = self
            .accounts
            .get(&open_id)
            .map(|a| a.scopes.clone())
            .unwrap_or_default();
        Ok(self.grant(settings, &open_id, scopes))
    }

    /// Revokes the account behind an access (or refresh) token.
    pub(crate) fn revoke(&mut self, token: &str) -> Option<String> {
        let open_id = self
            .access_tokens
            .get(token)
            .map(|t| t.open_id.clone())
            .or_else(|| self.refresh_tokens.get(token).map(|t| t.open_id.clone()))?;
        for t in self.access_tokens.values_mut() {
            if t.open_id == open_id {
                t.status = TokenStatus::Revoked;
            }
        }
        for t in self.refresh_tokens.values_mut() {
            if t.open_id == open_id {
                t.status = TokenStatus::Revoked;
            }
        }
        if let Some(account) = self.accounts.get_mut(&open_id) {
            account.revoked = true;
            account.access_token = None;
            account.refresh_token = None;
        }
        Some(open_id)
    }

    /// Owner of an access token without judging it, for the call log.
    pub(crate) fn token_owner(&self, token: &str) -> Option<String> {
        self.access_tokens.get(token).map(|t| t.open_id.clone())
    }

    /// Expires `token` now if its owner asked for that on a call to `endpoint`
    /// ([`Fault::ExpireAccessTokenOnCall`]).
    pub(crate) fn expire_token_on_call(&mut self, endpoint: Endpoint, token: Option<&str>) {
        let Some(token) = token else { return };
        let Some(owner) = self.token_owner(token) else {
            return;
        };
        let Some(pending) = self.expire_token_on.get_mut(&owner) else {
            return;
        };
        let Some(index) = pending.iter().position(|e| *e == endpoint) else {
            return;
        };
        pending.remove(index);
        if let Some(entry) = self.access_tokens.get_mut(token) {
            entry.force_expired = true;
        }
    }

    /// Checks a bearer token; returns its account.
    pub(crate) fn authenticate(&mut self, token: Option<&str>) -> Result<String, Reject> {
        let Some(entry) = token.and_then(|t| self.access_tokens.get(t)) else {
            return Err(Reject::token_invalid());
        };
        if entry.status != TokenStatus::Active || entry.force_expired {
            return Err(Reject::token_invalid());
        }
        let open_id = entry.open_id.clone();
        if entry.expires_at <= Instant::now() {
            self.violate(
                ViolationKind::ExpiredAccessToken,
                format!("access token of {open_id} used after expires_in had run out"),
            );
            return Err(Reject::token_invalid());
        }
        Ok(open_id)
    }

    /// At least one of `any_of` must have been granted to the token.
    pub(crate) fn check_scope(&self, token: Option<&str>, any_of: &[&str]) -> Result<(), Reject> {
        let granted = token
            .and_then(|t| self.access_tokens.get(t))
            .is_some_and(|entry| any_of.iter().any(|s| entry.scopes.iter().any(|g| g == s)));
        if granted {
            Ok(())
        } else {
            Err(Reject::new(
                401,
                "scope_not_authorized",
                "The user did not authorize the scope required for completing this request.",
            ))
        }
    }

    pub(crate) fn account_snapshot(&self, open_id: &str) -> Option<AccountSnapshot> {
        let account = self.accounts.get(open_id)?;
        let seed = &account.seed;
        let access_token_expired = account
            .access_token
            .as_ref()
            .and_then(|t| self.access_tokens.get(t))
            .is_some_and(|t| t.force_expired || t.expires_at <= Instant::now());
        Some(AccountSnapshot {
            open_id: open_id.to_string(),
            nickname: seed.nickname.clone(),
            username: seed.username.clone(),
            privacy_level_options: seed.privacy_level_options.clone(),
            comment_disabled: seed.comment_disabled,
            duet_disabled: seed.duet_disabled,
            stitch_disabled: seed.stitch_disabled,
            max_video_post_duration_sec: seed.max_video_post_duration_sec,
            scopes: account.scopes.clone(),
            access_token: account.access_token.clone(),
            access_token_expired,
            refresh_token: account.refresh_token.clone(),
            revoked: account.revoked,
        })
    }

    pub(crate) fn creator_info(&self, open_id: &str) -> Option<serde_json::Value> {
        let account = self.accounts.get(open_id)?;
        let seed = &account.seed;
        Some(serde_json::json!({
            "creator_avatar_url": account.avatar_url,
            "creator_username": seed.username,
            "creator_nickname": seed.nickname,
            "privacy_level_options": seed.privacy_level_options,
            "comment_disabled": seed.comment_disabled,
            "duet_disabled": seed.duet_disabled,
            "stitch_disabled": seed.stitch_disabled,
            "max_video_post_duration_sec": seed.max_video_post_duration_sec,
        }))
    }

    /// Whether the account's latest grant holds `scope` (one live token pair per account:
    /// the caller's token has the same scopes).
    pub(crate) fn has_scope(&self, open_id: &str, scope: &str) -> bool {
        self.accounts
            .get(open_id)
            .is_some_and(|a| a.scopes.iter().any(|s| s == scope))
    }

    pub(crate) fn account_seed(&self, open_id: &str) -> Option<&AccountSeed> {
        self.accounts.get(open_id).map(|a| &a.seed)
    }

    // ---- rate limits ----

    pub(crate) fn rate_check(
        &mut self,
        open_id: &str,
        bucket: RateBucket,
        limit: u32,
    ) -> Result<(), Reject> {
        let now = Instant::now();
        let window = self.rate.entry((open_id.to_string(), bucket)).or_default();
        while window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= RATE_WINDOW)
        {
            window.pop_front();
        }
        if window.len() >= limit as usize {
            self.violate(
                ViolationKind::RateLimitExceeded,
                format!("{bucket:?} calls of {open_id} over {limit} per minute"),
            );
            return Err(Reject::new(
                429,
                "rate_limit_exceeded",
                format!(
                    "API rate limit was exceeded, only {limit} requests per minute are allowed."
                ),
            ));
        }
        window.push_back(now);
        Ok(())
    }
}
