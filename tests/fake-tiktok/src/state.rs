//! Everything the fake remembers, behind one mutex (never held across an await).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant, SystemTime};

use rand::Rng;
use rand::distr::Alphanumeric;
use sha2::{Digest, Sha256};

use crate::{
    AccountSeed, AccountSnapshot, ChunkPlan, Endpoint, FakeSettings, Fault, IssuedTokens,
    PublishKind, PublishSnapshot, PublishStatus, RecordedCall, Violation, ViolationKind,
};

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

pub(crate) struct Publish {
    pub publish_id: String,
    pub open_id: String,
    pub kind: PublishKind,
    pub post_info: Option<serde_json::Value>,
    pub privacy_level: Option<String>,
    pub plan: ChunkPlan,
    pub upload_token: String,
    issued_at: Instant,
    url_force_expired: bool,
    /// SHA-256 over every chunk taken so far, in order.
    pub hasher: Sha256,
    /// Digest of each chunk taken, to check a re-sent chunk is the same bytes.
    pub chunk_digests: Vec<[u8; 32]>,
    pub chunks_taken: u64,
    pub uploaded_bytes: u64,
    completed_at: Option<Instant>,
    video_sha256: Option<String>,
    fail_reason: Option<String>,
    post_id: Option<i64>,
}

impl Publish {
    pub(crate) fn complete(&self) -> bool {
        self.completed_at.is_some()
    }

    pub(crate) fn url_expired(&self, settings: &FakeSettings) -> bool {
        self.url_force_expired || self.issued_at.elapsed() >= settings.upload_url_ttl
    }

    fn status(&self, settings: &FakeSettings) -> PublishStatus {
        let Some(done) = self.completed_at else {
            return PublishStatus::ProcessingUpload;
        };
        if done.elapsed() < settings.processing_time {
            return PublishStatus::ProcessingDownload;
        }
        match (&self.fail_reason, self.kind) {
            (Some(_), _) => PublishStatus::Failed,
            (None, PublishKind::Direct) => PublishStatus::PublishComplete,
            (None, PublishKind::Inbox) => PublishStatus::SendToUserInbox,
        }
    }

    fn snapshot(&self, settings: &FakeSettings) -> PublishSnapshot {
        let status = self.status(settings);
        PublishSnapshot {
            publish_id: self.publish_id.clone(),
            open_id: self.open_id.clone(),
            kind: self.kind,
            post_info: self.post_info.clone(),
            plan: self.plan,
            uploaded_bytes: self.uploaded_bytes,
            chunks_taken: self.chunks_taken,
            complete: self.complete(),
            status,
            fail_reason: (status == PublishStatus::Failed)
                .then(|| self.fail_reason.clone())
                .flatten(),
            video_sha256: self.video_sha256.clone(),
            post_id: (status == PublishStatus::PublishComplete)
                .then_some(self.post_id)
                .flatten(),
        }
    }
}

enum CountedFault {
    Http {
        endpoint: Endpoint,
        status: u16,
        code: String,
        left: u32,
        /// `Some`: fires only on this account's requests.
        open_id: Option<String>,
    },
    Body {
        fault: BodyFault,
        left: u32,
        open_id: Option<String>,
        /// `Some`: fires only on a PUT of this chunk.
        chunk: Option<u64>,
    },
}

/// Which requests an injected counted fault fires on.
#[derive(Clone, Default)]
struct FaultScope {
    open_id: Option<String>,
    chunk: Option<u64>,
}

/// Whether a fault scoped to `scope` applies to a request of `caller`.
fn in_scope(scope: &Option<String>, caller: Option<&str>) -> bool {
    scope.as_deref().is_none_or(|wanted| Some(wanted) == caller)
}

/// What to do to an upload body.
#[derive(Clone, Copy, Debug)]
pub(crate) enum BodyFault {
    Reset { after_bytes: u64 },
    Stall { after_bytes: u64, stall: Duration },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum RateBucket {
    Init,
    Status,
    CreatorInfo,
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
    pub secrets: Vec<String>,
    /// Where webhook events go (`None`: nowhere).
    pub webhook_url: Option<String>,
    /// Every webhook delivery attempted, oldest first.
    pub webhook_deliveries: Vec<crate::webhook::WebhookDelivery>,
    /// Publishes whose last chunk arrived since the upload route last looked (it schedules
    /// their webhook events).
    pub completed_uploads: Vec<String>,
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

    pub(crate) fn account_seed(&self, open_id: &str) -> Option<&AccountSeed> {
        self.accounts.get(open_id).map(|a| &a.seed)
    }

    // ---- rate limits and faults ----

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

    pub(crate) fn inject(&mut self, fault: Fault) {
        self.inject_scoped(fault, FaultScope::default());
    }

    fn inject_scoped(&mut self, fault: Fault, scope: FaultScope) {
        match fault {
            Fault::HttpError {
                endpoint,
                status,
                code,
                times,
            } => self.faults.push(CountedFault::Http {
                endpoint,
                status,
                code,
                left: times,
                open_id: scope.open_id,
            }),
            Fault::ResetMidBody { after_bytes, times } => self.faults.push(CountedFault::Body {
                fault: BodyFault::Reset { after_bytes },
                left: times,
                open_id: scope.open_id,
                chunk: scope.chunk,
            }),
            Fault::StallBody {
                after_bytes,
                stall,
                times,
            } => self.faults.push(CountedFault::Body {
                fault: BodyFault::Stall { after_bytes, stall },
                left: times,
                open_id: scope.open_id,
                chunk: scope.chunk,
            }),
            Fault::ForAccount { open_id, fault } => {
                let scope = FaultScope {
                    open_id: Some(open_id),
                    ..scope
                };
                self.inject_scoped(*fault, scope);
            }
            Fault::OnChunk { chunk, fault } => {
                let scope = FaultScope {
                    chunk: Some(chunk),
                    ..scope
                };
                self.inject_scoped(*fault, scope);
            }
            Fault::ExpireAccessTokenOnCall { open_id, endpoint } => self
                .expire_token_on
                .entry(open_id)
                .or_default()
                .push(endpoint),
            Fault::ExpireUploadUrlAfterChunks { open_id, chunks } => {
                self.expire_url_after.insert(open_id, chunks);
            }
            Fault::ExpireUploadUrl { publish_id } => {
                for publish in self.publishes.values_mut() {
                    if publish_id
                        .as_ref()
                        .is_none_or(|id| *id == publish.publish_id)
                    {
                        publish.url_force_expired = true;
                    }
                }
            }
            Fault::ExpireAccessTokenNow { open_id } => {
                let current = self
                    .accounts
                    .get(&open_id)
                    .and_then(|a| a.access_token.clone());
                if let Some(token) = current.and_then(|t| self.access_tokens.get_mut(&t)) {
                    token.force_expired = true;
                }
            }
            Fault::FailPost {
                open_id,
                fail_reason,
            } => self
                .fail_posts
                .entry(open_id)
                .or_default()
                .push_back(fail_reason),
        }
    }

    /// The next HTTP fault for `endpoint` that applies to a request of `caller` (the
    /// account behind it, when known).
    pub(crate) fn take_http_fault(
        &mut self,
        endpoint: Endpoint,
        caller: Option<&str>,
    ) -> Option<Reject> {
        let index = self.faults.iter().position(|f| {
            matches!(f, CountedFault::Http { endpoint: e, left, open_id, .. }
                if *e == endpoint && *left > 0 && in_scope(open_id, caller))
        })?;
        let CountedFault::Http {
            status, code, left, ..
        } = &mut self.faults[index]
        else {
            return None;
        };
        *left -= 1;
        let reject = Reject::new(*status, code, "Injected fault.");
        if *left == 0 {
            self.faults.remove(index);
        }
        Some(reject)
    }

    /// The next body fault that applies to a PUT of chunk `chunk` by `caller`.
    pub(crate) fn take_body_fault(
        &mut self,
        caller: Option<&str>,
        chunk: u64,
    ) -> Option<BodyFault> {
        let index = self.faults.iter().position(|f| {
            matches!(f, CountedFault::Body { left, open_id, chunk: only, .. }
                if *left > 0 && in_scope(open_id, caller) && only.is_none_or(|c| c == chunk))
        })?;
        let CountedFault::Body { fault, left, .. } = &mut self.faults[index] else {
            return None;
        };
        *left -= 1;
        let fault = *fault;
        if *left == 0 {
            self.faults.remove(index);
        }
        Some(fault)
    }

    // ---- publishes ----

    pub(crate) fn create_publish(
        &mut self,
        base_url: &str,
        open_id: &str,
        kind: PublishKind,
        post_info: Option<serde_json::Value>,
        plan: ChunkPlan,
    ) -> (String, String) {
        let publish_id = format!(
            "v_pub_file~v2-1.{}",
            rand::rng().random_range(10u64.pow(17)..10u64.pow(18))
        );
        let upload_id = random_string(24);
        let upload_token = random_string(40);
        let upload_url =
            format!("{base_url}/upload/?upload_id={upload_id}&upload_token={upload_token}");
        self.secret(&upload_url);
        self.secret(&upload_token);
        let privacy_level = post_info
            .as_ref()
            .and_then(|p| p.get("privacy_level"))
            .and_then(|v| v.as_str())
            .map(str::to_string);
        self.uploads.insert(upload_id, publish_id.clone());
        self.publishes.insert(
            publish_id.clone(),
            Publish {
                publish_id: publish_id.clone(),
                open_id: open_id.to_string(),
                kind,
                post_info,
                privacy_level,
                plan,
                upload_token,
                issued_at: Instant::now(),
                url_force_expired: false,
                hasher: Sha256::new(),
                chunk_digests: Vec::new(),
                chunks_taken: 0,
                uploaded_bytes: 0,
                completed_at: None,
                video_sha256: None,
                fail_reason: None,
                post_id: None,
            },
        );
        (publish_id, upload_url)
    }

    pub(crate) fn publish_by_upload_id(&mut self, upload_id: &str) -> Option<&mut Publish> {
        let publish_id = self.uploads.get(upload_id)?;
        self.publishes.get_mut(publish_id)
    }

    pub(crate) fn publish_mut(&mut self, publish_id: &str) -> Option<&mut Publish> {
        self.publishes.get_mut(publish_id)
    }

    /// Takes a fully arrived chunk: the caller's hasher already holds it.
    pub(crate) fn commit_chunk(
        &mut self,
        publish_id: &str,
        hasher: Sha256,
        chunk_digest: [u8; 32],
        len: u64,
    ) {
        let Some(publish) = self.publishes.get_mut(publish_id) else {
            return;
        };
        publish.hasher = hasher;
        publish.chunk_digests.push(chunk_digest);
        publish.chunks_taken += 1;
        publish.uploaded_bytes += len;
        if publish.chunks_taken < publish.plan.total_chunk_count {
            let expire_after = self.expire_url_after.get(&publish.open_id).copied();
            if expire_after.is_some_and(|chunks| publish.chunks_taken >= chunks) {
                publish.url_force_expired = true;
                let open_id = publish.open_id.clone();
                self.expire_url_after.remove(&open_id);
            }
            return;
        }
        publish.completed_at = Some(Instant::now());
        self.completed_uploads.push(publish_id.to_owned());
        publish.video_sha256 = Some(hex::encode(publish.hasher.clone().finalize()));
        let public = publish.privacy_level.as_deref() == Some("PUBLIC_TO_EVERYONE");
        if publish.kind == PublishKind::Direct && public {
            publish.post_id = Some(rand::rng().random_range(7_000_000_000_000_000_000..i64::MAX));
        }
        let open_id = publish.open_id.clone();
        let fail = self
            .fail_posts
            .get_mut(&open_id)
            .and_then(VecDeque::pop_front);
        if let (Some(reason), Some(publish)) = (fail, self.publishes.get_mut(publish_id)) {
            publish.fail_reason = Some(reason);
        }
    }

    /// `data` of a status fetch, or the refusal.
    pub(crate) fn status_data(
        &self,
        settings: &FakeSettings,
        open_id: &str,
        publish_id: &str,
    ) -> Result<serde_json::Value, Reject> {
        let Some(publish) = self.publishes.get(publish_id) else {
            return Err(Reject::new(
                400,
                "invalid_publish_id",
                "publish_id does not exist.",
            ));
        };
        if publish.open_id != open_id {
            return Err(Reject::new(
                400,
                "token_not_authorized_for_specified_publish_id",
                "The access token is not authorized for this publish_id.",
            ));
        }
        let snap = publish.snapshot(settings);
        let mut data = serde_json::json!({
            "status": snap.status.as_str(),
            "publicaly_available_post_id": snap.post_id.into_iter().collect::<Vec<i64>>(),
            "uploaded_bytes": snap.uploaded_bytes,
            "downloaded_bytes": if snap.complete { snap.plan.video_size } else { 0 },
        });
        if let Some(reason) = snap.fail_reason {
            data["fail_reason"] = reason.into();
        }
        Ok(data)
    }

    pub(crate) fn publish_snapshot(
        &self,
        settings: &FakeSettings,
        publish_id: &str,
    ) -> Option<PublishSnapshot> {
        self.publishes.get(publish_id).map(|p| p.snapshot(settings))
    }

    pub(crate) fn publishes_for(
        &self,
        settings: &FakeSettings,
        open_id: &str,
    ) -> Vec<PublishSnapshot> {
        let mut found: Vec<&Publish> = self
            .publishes
            .values()
            .filter(|p| p.open_id == open_id)
            .collect();
        found.sort_by_key(|p| p.issued_at);
        found.into_iter().map(|p| p.snapshot(settings)).collect()
    }
}
