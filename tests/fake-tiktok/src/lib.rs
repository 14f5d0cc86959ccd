//! A strict, in-process fake of TikTok's v2 OAuth and Content Posting API.
//!
//! Tests start it on port 0, point the client at [`FakeTikTok::base_url`], and assert
//! [`FakeTikTok::violations`] is empty: every breach of the contract in
//! `tests/fake-tiktok/CONTRACT.md` is answered as TikTok would and recorded. Faults
//! ([`Fault`]) make it misbehave the way the real service does; they are never violations.
//!
//! Choices where the contract leaves room (so a client test knows what to expect):
//! - `GET /v2/auth/authorize/` redirects at once unless `Accept` has `text/html` (then a
//!   consent page). The user is the account named by the `fake_tiktok_login` cookie, else a
//!   brand-new account. A request without `state` is served but recorded as `BadRequest`.
//! - Codes contain `*` and `!`. Redeeming a code that was never issued (typically one not
//!   URL-decoded once) is a `BadRequest` violation; a reused or expired code is only refused.
//! - One live token pair per account: a new grant or a refresh kills the previous pair. A
//!   replaced or revoked access token answers 401 without violation (a concurrent refresh is
//!   legitimate); an expired one is an `ExpiredAccessToken` violation.
//! - Checks on Content Posting calls run in this order: injected fault, token, Content-Type,
//!   scope, rate limit (per account, refused calls not counted), body.
//! - Upload PUTs answer with the Media Transfer Guide's bare HTTP statuses, never a JSON
//!   error code: Content-Type, then Content-Range syntax and total (400), then the range
//!   against the plan (416: misaligned is `BadContentRange`, ahead of turn is
//!   `ChunkOutOfOrder`), then Content-Length (400); 403 for an expired URL, 404 for an
//!   unknown one. Every 416 carries `Content-Range: bytes 0-{last held}/{total}`, or
//!   `bytes */{total}` (HTTP's form) while the fake holds nothing. A chunk already taken and
//!   sent again with the same bytes is acknowledged (206, or 201 for the last one) without
//!   violation; a chunk the fake answered and then lost ([`Fault::DropChunk`]) may be sent
//!   again, and the one after it, sent first, gets a 416 without violation.
//! - Status: a FILE_UPLOAD is `PROCESSING_UPLOAD` until its processing ends, after the last
//!   chunk too (with `uploaded_bytes` equal to the size); never `PROCESSING_DOWNLOAD`, and
//!   no `downloaded_bytes` (both belong to PULL_FROM_URL). [`Fault::OmitUploadedBytes`]
//!   leaves `uploaded_bytes` out of an account's answers.
//! - A creator who cannot post now ([`Fault::CreatorCannotPost`]): creator_info answers
//!   HTTP 200 with TikTok's code instead of `ok`, and both init calls 403 with it.
//! - Counted faults fire on anyone's requests unless wrapped in `ForAccount` (that
//!   account's only: tests sharing one fake stay apart) or `OnChunk` (that chunk's PUTs).
//! - `ResetMidBody`/`StallBody` apply to the next PUT that passes the header checks. If
//!   `after_bytes` is at least the chunk's length, the chunk is taken and only the answer is
//!   lost (the "retry after a lost answer" case). Such calls are recorded with status 0.
//!
//! PULL_FROM_URL (video inits with `video_url`, photo posts):
//! - A media URL must be https, on a domain name, and under a domain or URL prefix the app
//!   verified ([`FakeSettings::verified_domains`], [`FakeSettings::verified_url_prefixes`],
//!   [`FakeTikTok::verify_domain`], `POST /__fake/verified`); else init answers 403
//!   `url_ownership_unverified`. A URL that is not https, on an IP address, or no URL at all
//!   is also a `BadMediaUrl` violation; a well-formed URL that is merely unverified is not
//!   (the portal's verification is configuration the client cannot see). The checks run after
//!   the body's, the URL last.
//! - A pull's answer is `{"publish_id"}` alone (`v_pub_url~`, `v_inbox_url~`, `p_pub_url~`).
//!   The download starts once init has answered, with its own client: no redirects (a 3xx
//!   fails the pull), https only, [`FakeSettings::trusted_ca_pems`] trusted on top of the
//!   system's roots, [`FakeSettings::resolve`] for made-up hosts (the certificate must still
//!   name the host). Photos are pulled one after another, in order.
//! - Status: `PROCESSING_DOWNLOAD` with `downloaded_bytes` (over every file) while it
//!   downloads and, all bytes in, until processing ends (FILE_UPLOAD's mirror); then the
//!   outcome an upload gets (`PUBLISH_COMPLETE`, `SEND_TO_USER_INBOX`, a [`Fault::FailPost`]
//!   reason). Never `uploaded_bytes`.
//! - A failed pull ends `FAILED` at once, without processing: `video_pull_failed` /
//!   `photo_pull_failed` for a connection or TLS error, any status but 200, a video over
//!   `max_video_size`, a photo over [`FakeSettings::max_photo_size`] (TikTok names no reason
//!   for that), or [`FakeSettings::pull_timeout`] (one hour) passing; a photo that is not
//!   JPEG or WebP by its content is `file_format_check_failed`, one over 1080p (our reading:
//!   1080 px short side, 1920 px long side) `picture_size_check_failed`. The
//!   `post.publish.failed` webhook goes at once.
//! - What was pulled (URL, size, SHA-256) is [`FakeTikTok::pulled`] and
//!   `GET /__fake/publishes/{id}/pulled`; a pulled video's hash is also `video_sha256`.
//! - Photo posts: `DIRECT_POST` needs `video.publish`, `MEDIA_UPLOAD` `video.upload` (401
//!   `scope_not_authorized` otherwise); `privacy_level` and the creator's comment switch are
//!   checked for `DIRECT_POST` only (an upload ignores the switches, as TikTok says). Photo
//!   init has its own rate bucket (six a minute). `is_aigc` is taken at the top level of the
//!   body. Refusals say `invalid_params`, as the video inits do (TikTok's Photo page spells
//!   it `invalid_param`: clients match both).
//! - Cancel succeeds only while a pull is downloading (any pull not yet whole: the fake is
//!   never "nearing completion"); the post ends `FAILED` `publish_cancelled` with its webhook.
//!   A pull in processing or final, a FILE_UPLOAD, a second cancel: 400
//!   `publish_not_cancellable`. Its success answer has no `data`; it is not rate limited.

mod api;
mod conn;
mod control;
mod fault;
mod photo;
mod plan;
mod posting;
mod publish;
mod pull;
mod state;
mod upload;
mod user;
mod webhook;

pub use upload::parse_content_range;

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

pub use fault::Fault;
pub use plan::{ChunkPlan, MAX_CHUNK_COUNT, MAX_CHUNK_SIZE, MAX_LAST_CHUNK_SIZE, MIN_CHUNK_SIZE};
pub use publish::{
    MediaSource, MediaType, PublishKind, PublishSnapshot, PublishStatus, PulledMedia,
};
pub use webhook::{WebhookDelivery, signature as webhook_signature};

use state::State;

/// Rate limits per account per endpoint group, in a sliding 60 s window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimits {
    /// Direct Post init and inbox init together.
    pub init_per_minute: u32,
    pub status_per_minute: u32,
    pub creator_info_per_minute: u32,
    /// Photo init (`/v2/post/publish/content/init/`), counted apart from the video inits.
    pub content_init_per_minute: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            init_per_minute: 6,
            status_per_minute: 30,
            creator_info_per_minute: 20,
            content_init_per_minute: 6,
        }
    }
}

/// How the fake behaves. Build with `FakeSettings { field: .., ..Default::default() }`.
#[derive(Clone)]
pub struct FakeSettings {
    pub client_key: String,
    pub client_secret: String,
    /// Empty: any http(s) redirect URI is accepted.
    pub allowed_redirect_uris: Vec<String>,
    /// Time between the last chunk (201) and the final status.
    pub processing_time: Duration,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub upload_url_ttl: Duration,
    pub code_ttl: Duration,
    pub max_video_size: u64,
    pub rate_limits: RateLimits,
    /// Where signed webhook events are POSTed (see the `webhook` module); `None`: nowhere.
    /// Changeable at run time ([`FakeTikTok::set_webhook_url`], `POST /__fake/webhook`).
    pub webhook_url: Option<String>,
    /// Shown on the HTML consent page.
    pub app_name: String,
    /// Cap on the last chunk (chunk_size + remainder). Lower it to 64,000,000 to mimic
    /// TikTok refusing plans that lean on the "last chunk may be larger" clause.
    pub max_last_chunk_size: u64,
    /// PULL_FROM_URL: domains the app has verified in TikTok's portal. A URL on the domain or
    /// on any of its subdomains counts as owned. More at run time:
    /// [`FakeTikTok::verify_domain`], `POST /__fake/verified`, `--verify-domain`.
    pub verified_domains: Vec<String>,
    /// PULL_FROM_URL: URL prefixes the app has verified (`https://` + host + path + `/`).
    /// A URL that starts with one counts as owned. More at run time:
    /// [`FakeTikTok::verify_url_prefix`], `POST /__fake/verified`, `--verify-url-prefix`.
    pub verified_url_prefixes: Vec<String>,
    /// PEM text of CA certificates the fake trusts, on top of the system's, when it pulls
    /// media (a local https origin with a test CA). `--trust-ca FILE` reads one from a file.
    pub trusted_ca_pems: Vec<String>,
    /// Host names the fake resolves to these addresses when it pulls media, instead of asking
    /// DNS (`--resolve HOST=IP`). The URL's port is used; the certificate is still checked
    /// against the host name.
    pub resolve: Vec<(String, IpAddr)>,
    /// A pull not finished this long after init fails (`video_pull_failed`,
    /// `photo_pull_failed`). TikTok: one hour.
    pub pull_timeout: Duration,
    /// Largest photo the fake pulls (TikTok: "Maximum of 20MB for each image").
    pub max_photo_size: u64,
}

impl Default for FakeSettings {
    fn default() -> Self {
        Self {
            client_key: "fake-client-key".into(),
            client_secret: "fake-client-secret".into(),
            allowed_redirect_uris: Vec::new(),
            processing_time: Duration::from_secs(2),
            access_token_ttl: Duration::from_secs(86_400),
            refresh_token_ttl: Duration::from_secs(365 * 86_400),
            upload_url_ttl: Duration::from_secs(3_600),
            code_ttl: Duration::from_secs(600),
            max_video_size: 4_000_000_000,
            rate_limits: RateLimits::default(),
            webhook_url: None,
            app_name: "Fake TikTok App".into(),
            max_last_chunk_size: MAX_LAST_CHUNK_SIZE,
            verified_domains: Vec::new(),
            verified_url_prefixes: Vec::new(),
            trusted_ca_pems: Vec::new(),
            resolve: Vec::new(),
            pull_timeout: Duration::from_secs(3_600),
            max_photo_size: MAX_PHOTO_SIZE,
        }
    }
}

impl fmt::Debug for FakeSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeSettings")
            .field("client_key", &self.client_key)
            .field("client_secret", &"<redacted>")
            .field("allowed_redirect_uris", &self.allowed_redirect_uris)
            .field("processing_time", &self.processing_time)
            .field("access_token_ttl", &self.access_token_ttl)
            .field("refresh_token_ttl", &self.refresh_token_ttl)
            .field("upload_url_ttl", &self.upload_url_ttl)
            .field("code_ttl", &self.code_ttl)
            .field("max_video_size", &self.max_video_size)
            .field("rate_limits", &self.rate_limits)
            .field("webhook_url", &self.webhook_url)
            .field("app_name", &self.app_name)
            .field("max_last_chunk_size", &self.max_last_chunk_size)
            .field("verified_domains", &self.verified_domains)
            .field("verified_url_prefixes", &self.verified_url_prefixes)
            .field("trusted_ca_pems", &self.trusted_ca_pems.len())
            .field("resolve", &self.resolve)
            .field("pull_timeout", &self.pull_timeout)
            .field("max_photo_size", &self.max_photo_size)
            .finish()
    }
}

/// TikTok's "Maximum of 20MB for each image", read as 20,000,000 bytes (the smaller of the
/// two readings of "MB": the fake refuses nothing TikTok could take under either).
pub const MAX_PHOTO_SIZE: u64 = 20_000_000;
/// "Maximum 1080p", read as at most 1080 px on the short side and 1920 px on the long side
/// (our reading: TikTok gives no pixel counts).
pub const MAX_PHOTO_SHORT_SIDE: u32 = 1080;
pub const MAX_PHOTO_LONG_SIDE: u32 = 1920;
/// TikTok's "up to 35 photo content URLs".
pub const MAX_PHOTO_IMAGES: usize = 35;

pub const PRIVACY_LEVELS: [&str; 4] = [
    "PUBLIC_TO_EVERYONE",
    "MUTUAL_FOLLOW_FRIENDS",
    "FOLLOWER_OF_CREATOR",
    "SELF_ONLY",
];

/// A creator account to create. `open_id: None` draws a random one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountSeed {
    pub open_id: Option<String>,
    pub nickname: String,
    pub username: String,
    pub privacy_level_options: Vec<String>,
    pub comment_disabled: bool,
    pub duet_disabled: bool,
    pub stitch_disabled: bool,
    pub max_video_post_duration_sec: u32,
}

impl Default for AccountSeed {
    fn default() -> Self {
        Self {
            open_id: None,
            nickname: "Fake Creator".into(),
            username: "fake.creator".into(),
            privacy_level_options: PRIVACY_LEVELS.iter().map(|s| s.to_string()).collect(),
            comment_disabled: false,
            duet_disabled: false,
            stitch_disabled: false,
            max_video_post_duration_sec: 600,
        }
    }
}

/// Tokens handed out by [`FakeTikTok::issue_tokens`] (same shape as a token answer).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedTokens {
    pub open_id: String,
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
    pub refresh_expires_in: u64,
    /// Comma-separated, as TikTok returns it.
    pub scope: String,
}

impl fmt::Debug for IssuedTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedTokens")
            .field("open_id", &self.open_id)
            .field("access_token", &"<redacted>")
            .field("refresh_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .field("refresh_expires_in", &self.refresh_expires_in)
            .field("scope", &self.scope)
            .finish()
    }
}

/// An account as the fake sees it now.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSnapshot {
    pub open_id: String,
    pub nickname: String,
    pub username: String,
    pub privacy_level_options: Vec<String>,
    pub comment_disabled: bool,
    pub duet_disabled: bool,
    pub stitch_disabled: bool,
    pub max_video_post_duration_sec: u32,
    /// Scopes of the latest grant.
    pub scopes: Vec<String>,
    /// The newest access token, unless revoked (it may have expired: see `access_token_expired`).
    pub access_token: Option<String>,
    pub access_token_expired: bool,
    /// The newest refresh token, unless revoked. Any older one is dead.
    pub refresh_token: Option<String>,
    pub revoked: bool,
}

impl fmt::Debug for AccountSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountSnapshot")
            .field("open_id", &self.open_id)
            .field("nickname", &self.nickname)
            .field("username", &self.username)
            .field("privacy_level_options", &self.privacy_level_options)
            .field("comment_disabled", &self.comment_disabled)
            .field("duet_disabled", &self.duet_disabled)
            .field("stitch_disabled", &self.stitch_disabled)
            .field(
                "max_video_post_duration_sec",
                &self.max_video_post_duration_sec,
            )
            .field("scopes", &self.scopes)
            .field(
                "access_token",
                &self.access_token.as_ref().map(|_| "<redacted>"),
            )
            .field("access_token_expired", &self.access_token_expired)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .field("revoked", &self.revoked)
            .finish()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Endpoint {
    Authorize,
    Token,
    Revoke,
    CreatorInfo,
    DirectInit,
    InboxInit,
    UploadChunk,
    StatusFetch,
    UserInfo,
    /// `POST /v2/post/publish/content/init/` (photos).
    ContentInit,
    /// `POST /v2/post/publish/cancel/`.
    Cancel,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ViolationKind {
    WrongChunkPlan,
    ChunkOutOfOrder,
    BadContentRange,
    BadContentLength,
    BadContentType,
    ExpiredAccessToken,
    RotatedRefreshToken,
    RateLimitExceeded,
    PrivacyLevelNotOffered,
    TitleTooLong,
    /// A photo post's description over 4000 UTF-16 code units.
    DescriptionTooLong,
    /// A PULL_FROM_URL media URL that TikTok could never take: not a URL, not https, or on
    /// an IP address rather than a domain name. (A well-formed URL that is merely not
    /// verified is refused with `url_ownership_unverified` but is no violation: the
    /// portal's verification is configuration the client cannot see.)
    BadMediaUrl,
    UnknownField,
    CreatorSwitchOverridden,
    /// Anything else malformed: missing or mistyped params, wrong client credentials,
    /// a mangled authorization code, branded content posted SELF_ONLY, ...
    BadRequest,
}

/// A breach of the contract by the client. `detail` never holds a secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    pub kind: ViolationKind,
    pub detail: String,
    #[serde(with = "unix_ms")]
    pub at: SystemTime,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedCall {
    pub endpoint: Endpoint,
    pub open_id: Option<String>,
    pub status: u16,
    #[serde(with = "unix_ms")]
    pub at: SystemTime,
}

struct Shared {
    settings: FakeSettings,
    base_url: String,
    state: Mutex<State>,
    /// Downloads PULL_FROM_URL media: no redirects, the trusted CAs and host overrides.
    puller: reqwest::Client,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not hide every later violation behind a poison error.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Handle on a running fake. Clones share the server; it stops when the last handle drops
/// or on [`FakeTikTok::shutdown`].
#[derive(Clone)]
pub struct FakeTikTok {
    shared: Arc<Shared>,
    server: Arc<conn::ServerGuard>,
}

impl fmt::Debug for FakeTikTok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeTikTok")
            .field("base_url", &self.shared.base_url)
            .finish_non_exhaustive()
    }
}

impl FakeTikTok {
    /// Starts on 127.0.0.1 with an OS-chosen port. Needs a Tokio runtime.
    pub async fn start(settings: FakeSettings) -> std::io::Result<FakeTikTok> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), settings).await
    }

    pub async fn start_on(addr: SocketAddr, settings: FakeSettings) -> std::io::Result<FakeTikTok> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let mut local = listener.local_addr()?;
        if local.ip().is_unspecified() {
            local.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        let mut state = State::default();
        state.webhook_url = settings.webhook_url.clone();
        for domain in &settings.verified_domains {
            state.verify_domain(domain).map_err(std::io::Error::other)?;
        }
        for prefix in &settings.verified_url_prefixes {
            state
                .verify_url_prefix(prefix)
                .map_err(std::io::Error::other)?;
        }
        let puller = pull::client(&settings).map_err(std::io::Error::other)?;
        let shared = Arc::new(Shared {
            base_url: format!("http://{local}"),
            state: Mutex::new(state),
            settings,
            puller,
        });
        let router = api::router(shared.clone());
        let server = Arc::new(conn::ServerGuard::spawn(listener, router));
        Ok(FakeTikTok { shared, server })
    }

    /// `http://127.0.0.1:PORT`, no trailing slash: the auth host, the API host and the
    /// upload host at once.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    pub fn settings(&self) -> &FakeSettings {
        &self.shared.settings
    }

    /// Stops accepting connections and drops open ones. Idempotent.
    pub fn shutdown(&self) {
        self.server.shutdown();
    }

    /// Creates an account; returns its open_id.
    pub fn seed_account(&self, seed: AccountSeed) -> String {
        self.shared.lock().seed_account(seed)
    }

    /// A code as if the user clicked Authorize, bound to the configured client_key and this
    /// redirect_uri. An unknown `open_id` gets a default account.
    pub fn mint_code(&self, open_id: &str, scopes: &[&str], redirect_uri: &str) -> String {
        let scopes = scopes.iter().map(|s| s.to_string()).collect();
        self.shared
            .lock()
            .mint_code(&self.shared.settings, open_id, scopes, redirect_uri)
    }

    /// Tokens granted directly, replacing the account's current ones. An unknown `open_id`
    /// gets a default account.
    pub fn issue_tokens(&self, open_id: &str, scopes: &[&str]) -> IssuedTokens {
        let scopes = scopes.iter().map(|s| s.to_string()).collect();
        self.shared
            .lock()
            .grant(&self.shared.settings, open_id, scopes)
    }

    pub fn account(&self, open_id: &str) -> Option<AccountSnapshot> {
        self.shared.lock().account_snapshot(open_id)
    }

    pub fn violations(&self) -> Vec<Violation> {
        self.shared.lock().violations.clone()
    }

    /// Returns the violations so far and forgets them, for tests that provoke some on
    /// purpose and then check the rest of the run is clean.
    pub fn take_violations(&self) -> Vec<Violation> {
        std::mem::take(&mut self.shared.lock().violations)
    }

    pub fn calls(&self) -> Vec<RecordedCall> {
        self.shared.lock().calls.clone()
    }

    pub fn call_count(&self, endpoint: Endpoint) -> usize {
        self.shared
            .lock()
            .calls
            .iter()
            .filter(|c| c.endpoint == endpoint)
            .count()
    }

    pub fn inject(&self, fault: Fault) {
        self.shared.lock().inject(fault);
    }

    pub fn publish(&self, publish_id: &str) -> Option<PublishSnapshot> {
        let settings = &self.shared.settings;
        self.shared.lock().publish_snapshot(settings, publish_id)
    }

    pub fn publishes_for(&self, open_id: &str) -> Vec<PublishSnapshot> {
        let settings = &self.shared.settings;
        self.shared.lock().publishes_for(settings, open_id)
    }

    /// Sends webhook events to `url` from now on (`None`: stops sending).
    pub fn set_webhook_url(&self, url: Option<String>) {
        self.shared.lock().webhook_url = url;
    }

    /// The app verifies `domain` in TikTok's portal: PULL_FROM_URL URLs on it or on its
    /// subdomains count as owned from now on. Refused when it is not a domain name.
    pub fn verify_domain(&self, domain: &str) -> Result<(), String> {
        self.shared.lock().verify_domain(domain)
    }

    /// The app verifies the URL prefix `prefix` (`https://` + host + path + `/`): URLs
    /// starting with it count as owned from now on. Refused when it is not of that form.
    pub fn verify_url_prefix(&self, prefix: &str) -> Result<(), String> {
        self.shared.lock().verify_url_prefix(prefix)
    }

    /// The files the fake downloaded whole for a PULL_FROM_URL post, in order, with their
    /// sizes and SHA-256 (empty for an unknown publish or a FILE_UPLOAD).
    pub fn pulled(&self, publish_id: &str) -> Vec<PulledMedia> {
        self.publish(publish_id)
            .map(|p| p.pulled)
            .unwrap_or_default()
    }

    /// Every webhook delivery attempted so far, oldest first.
    pub fn webhook_deliveries(&self) -> Vec<WebhookDelivery> {
        self.shared.lock().webhook_deliveries.clone()
    }

    /// Every token, code, upload URL (and its upload token) and the client secret ever
    /// issued, so tests can check none of them reaches logs or storage in clear.
    pub fn secrets_issued(&self) -> Vec<String> {
        let mut secrets = vec![self.shared.settings.client_secret.clone()];
        secrets.extend(self.shared.lock().secrets.iter().cloned());
        secrets
    }
}

mod unix_ms {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    pub fn serialize<S: Serializer>(at: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        let ms = at
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        s.serialize_u64(u64::try_from(ms).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let ms = u64::deserialize(d)?;
        Ok(UNIX_EPOCH + Duration::from_millis(ms))
    }
}
