//! The account's profile (TikTok's user info) as the token service keeps it: read at
//! connect, read again after a refresh once a day old, and never failing a connect or a
//! refresh. First over the in-memory store with a scripted user info, then against moto and
//! the strict fake TikTok, down to what `GET /accounts` shows.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use fake_tiktok::{AccountSeed, Endpoint as FakeEndpoint, FakeSettings, FakeTikTok, Fault};
use secrecy::SecretString;
use test_support::{moto, unique_name};
use tiktok_publish_adapters::{DynamoTokenStore, TableNames, TikTokClient, create_tables};
use tiktok_publish_core::config::TikTokConfig;
use tiktok_publish_core::store::account::{AccountProfile, AccountProfiles};
use tiktok_publish_core::store::{AccountTokens, SealedSecret, TokenStore, UnixTime, unix_now};
use tiktok_publish_core::tiktok::{
    Endpoint, REQUIRED_SCOPES, TikTokError, TikTokUserInfo, TokenGrant, UserInfo, UserInfoField,
};
use tiktok_publish_core::tokens::{Clock, TokenRefresher, TokenService, TokenSettings};
use tiktok_publish_domain::view::AccountView;
use tiktok_publish_memory::MemoryTokenStore;

const NOW: UnixTime = 1_800_000_000;
const DAY: i64 = 86_400;
const OPEN_ID: &str = "open-1";

struct ManualClock(AtomicI64);

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        self.0.load(Ordering::SeqCst)
    }
}

/// A token endpoint that always grants, with these scopes.
struct Granting {
    scope: &'static str,
}

impl Granting {
    fn grant(&self) -> TokenGrant {
        TokenGrant {
            open_id: OPEN_ID.into(),
            access_token: SecretString::from("act.new"),
            expires_in: 86_400,
            refresh_token: SecretString::from("rft.new"),
            refresh_expires_in: 31_536_000,
            scope: self.scope.into(),
            token_type: "Bearer".into(),
        }
    }
}

#[async_trait]
impl TokenRefresher for Granting {
    async fn refresh(&self, _: &SecretString) -> Result<TokenGrant, TikTokError> {
        Ok(self.grant())
    }

    async fn exchange_code(&self, _: &str, _: &str) -> Result<TokenGrant, TikTokError> {
        Ok(self.grant())
    }
}

/// User info that answers `nickname` (or fails), remembering the fields of each call.
struct ScriptedUserInfo {
    nickname: &'static str,
    failing: bool,
    calls: Mutex<Vec<Vec<UserInfoField>>>,
}

impl ScriptedUserInfo {
    fn answering(nickname: &'static str) -> Arc<Self> {
        Arc::new(ScriptedUserInfo {
            nickname,
            failing: false,
            calls: Mutex::new(Vec::new()),
        })
    }

    fn failing() -> Arc<Self> {
        Arc::new(ScriptedUserInfo {
            nickname: "",
            failing: true,
            calls: Mutex::new(Vec::new()),
        })
    }

    fn calls(&self) -> Vec<Vec<UserInfoField>> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait]
impl TikTokUserInfo for ScriptedUserInfo {
    async fn user_info(
        &self,
        _: &SecretString,
        fields: &[UserInfoField],
    ) -> Result<UserInfo, TikTokError> {
        self.calls.lock().unwrap().push(fields.to_vec());
        if self.failing {
            return Err(TikTokError::Unavailable {
                endpoint: Endpoint::UserInfo,
                detail: "HTTP 503".into(),
                status: Some(503),
                log_id: None,
                source: None,
            });
        }
        Ok(UserInfo {
            open_id: OPEN_ID.into(),
            profile: AccountProfile {
                nickname: Some(self.nickname.into()),
                username: fields
                    .contains(&UserInfoField::Username)
                    .then(|| "ann.creator".into()),
                avatar_url: Some("https://p16.example/ann.jpeg".into()),
            },
        })
    }
}

fn old_profile() -> AccountProfile {
    AccountProfile {
        nickname: Some("Old Name".into()),
        username: None,
        avatar_url: None,
    }
}

/// A stored account whose token is near expiry and whose profile was read `profile_age` ago.
fn stored_account(profile_age: i64) -> AccountTokens {
    let mut account = AccountTokens {
        open_id: OPEN_ID.into(),
        access_token: SecretString::from("act.old"),
        access_expires_at: NOW + 60,
        refresh_token: Some(SealedSecret::plain(&SecretString::from("rft.old"))),
        refresh_expires_at: NOW + 1_000_000,
        scopes: vec!["user.info.basic".into(), "video.publish".into()],
        nickname: None,
        username: None,
        avatar_url: None,
        profile_fetched_at: None,
        needs_reconnect: false,
        reconnect_reason: None,
        version: 1,
        lease_owner: None,
        lease_until: None,
        connected_at: NOW - 1000,
        updated_at: NOW - 1000,
    };
    account.set_profile(old_profile(), NOW - profile_age);
    account
}

fn service_over(
    store: &Arc<MemoryTokenStore>,
    scope: &'static str,
    user_info: &Arc<ScriptedUserInfo>,
) -> TokenService {
    let settings = TokenSettings {
        poll_interval: Duration::from_millis(10),
        ..TokenSettings::default()
    };
    TokenService::new(store.clone(), Arc::new(Granting { scope }), settings)
        .with_clock(Arc::new(ManualClock(AtomicI64::new(NOW))))
        .with_profiles(store.clone(), user_info.clone())
}

async fn stored(store: &MemoryTokenStore) -> AccountTokens {
    store.get(OPEN_ID).await.unwrap().unwrap()
}

#[tokio::test]
async fn connect_reads_the_profile_and_names_the_account() {
    let store = Arc::new(MemoryTokenStore::new());
    let user_info = ScriptedUserInfo::answering("Ann Creator");
    let service = service_over(&store, "user.info.basic,video.publish", &user_info);
    let summary = service.connect("code", "https://x/cb").await.unwrap();
    assert_eq!(summary.nickname.as_deref(), Some("Ann Creator"));
    assert_eq!(
        summary.avatar_url.as_deref(),
        Some("https://p16.example/ann.jpeg")
    );
    let account = stored(&store).await;
    assert_eq!(account.nickname.as_deref(), Some("Ann Creator"));
    assert_eq!(account.profile_fetched_at, Some(NOW));
    // Without user.info.profile, `username` is not asked (TikTok would refuse the call).
    assert_eq!(
        user_info.calls(),
        [vec![
            UserInfoField::OpenId,
            UserInfoField::AvatarUrl,
            UserInfoField::DisplayName
        ]]
    );
    assert_eq!(account.username, None);
}

#[tokio::test]
async fn the_username_is_asked_with_user_info_profile() {
    let store = Arc::new(MemoryTokenStore::new());
    let user_info = ScriptedUserInfo::answering("Ann Creator");
    let service = service_over(
        &store,
        "user.info.basic,user.info.profile,video.publish",
        &user_info,
    );
    let summary = service.connect("code", "https://x/cb").await.unwrap();
    assert_eq!(summary.username.as_deref(), Some("ann.creator"));
    assert!(user_info.calls()[0].contains(&UserInfoField::Username));
}

#[tokio::test]
async fn without_user_info_basic_no_profile_is_asked() {
    let store = Arc::new(MemoryTokenStore::new());
    let user_info = ScriptedUserInfo::answering("Ann Creator");
    let service = service_over(&store, "video.publish,video.upload", &user_info);
    let summary = service.connect("code", "https://x/cb").await.unwrap();
    assert_eq!(summary.nickname, None);
    assert!(user_info.calls().is_empty());
}

#[tokio::test]
async fn a_user_info_failure_leaves_the_connect_and_the_old_profile() {
    let store = Arc::new(MemoryTokenStore::new());
    store.insert(stored_account(DAY));
    let user_info = ScriptedUserInfo::failing();
    let service = service_over(&store, "user.info.basic,video.publish", &user_info);
    let summary = service.connect("code", "https://x/cb").await.unwrap();
    assert_eq!(summary.nickname.as_deref(), Some("Old Name"));
    let account = stored(&store).await;
    assert_eq!(account.profile_fetched_at, Some(NOW - DAY));
    assert!(!account.needs_reconnect);
    assert_eq!(user_info.calls().len(), 1);
}

#[tokio::test]
async fn a_refresh_reads_a_profile_older_than_a_day_again() {
    let store = Arc::new(MemoryTokenStore::new());
    store.insert(stored_account(DAY + 1));
    let user_info = ScriptedUserInfo::answering("New Name");
    let service = service_over(&store, "user.info.basic,video.publish", &user_info);
    service.fresh_access_token(OPEN_ID).await.unwrap();
    let account = stored(&store).await;
    assert_eq!(account.nickname.as_deref(), Some("New Name"));
    assert_eq!(account.profile_fetched_at, Some(NOW));
    assert_eq!(user_info.calls().len(), 1);
}

#[tokio::test]
async fn a_refresh_leaves_a_recent_profile_alone() {
    let store = Arc::new(MemoryTokenStore::new());
    store.insert(stored_account(DAY - 1));
    let user_info = ScriptedUserInfo::answering("New Name");
    let service = service_over(&store, "user.info.basic,video.publish", &user_info);
    service.fresh_access_token(OPEN_ID).await.unwrap();
    assert!(user_info.calls().is_empty());
    assert_eq!(stored(&store).await.nickname.as_deref(), Some("Old Name"));
}

#[tokio::test]
async fn a_user_info_failure_leaves_the_refresh_working() {
    let store = Arc::new(MemoryTokenStore::new());
    store.insert(stored_account(2 * DAY));
    let user_info = ScriptedUserInfo::failing();
    let service = service_over(&store, "user.info.basic,video.publish", &user_info);
    let token = service.fresh_access_token(OPEN_ID).await.unwrap();
    assert_eq!(token.expires_at(), NOW + 86_400);
    let account = stored(&store).await;
    assert_eq!(account.version, 2);
    assert_eq!(account.nickname.as_deref(), Some("Old Name"));
    assert_eq!(account.profile_fetched_at, Some(NOW - 2 * DAY));
}

// ---- against moto and the strict fake TikTok ----

const REDIRECT_URI: &str = "http://127.0.0.1:9/oauth/callback";
const SCOPES_WITH_PROFILE: [&str; 4] = [
    "user.info.basic",
    "user.info.profile",
    "video.publish",
    "video.upload",
];

struct Stack {
    fake: FakeTikTok,
    store: Arc<DynamoTokenStore>,
    clock: Arc<ManualClock>,
    service: TokenService,
}

async fn stack() -> Stack {
    let fake = FakeTikTok::start(FakeSettings::default())
        .await
        .expect("start the fake TikTok");
    let config = TikTokConfig::new(
        fake.settings().client_key.clone(),
        SecretString::from(fake.settings().client_secret.clone()),
    )
    .with_base_urls(fake.base_url(), fake.base_url());
    let client = Arc::new(TikTokClient::new(config).expect("client"));
    let dynamodb = moto().dynamodb().await;
    let names = TableNames::with_prefix(&unique_name("profile"));
    create_tables(&dynamodb, &names).await.unwrap();
    let store = Arc::new(DynamoTokenStore::new(dynamodb, &names.accounts));
    let clock = Arc::new(ManualClock(AtomicI64::new(unix_now())));
    let service = TokenService::new(store.clone(), client.clone(), TokenSettings::default())
        .with_clock(clock.clone())
        .with_profiles(store.clone(), client);
    Stack {
        fake,
        store,
        clock,
        service,
    }
}

fn ann() -> AccountSeed {
    AccountSeed {
        nickname: "Ann Creator".into(),
        username: "ann.creator".into(),
        ..AccountSeed::default()
    }
}

/// The account as `GET /accounts` shows it (the route lists the store through this view).
async fn listed(s: &Stack, open_id: &str) -> serde_json::Value {
    let accounts = s.store.list().await.unwrap();
    let account = accounts.iter().find(|a| a.open_id == open_id).unwrap();
    serde_json::to_value(AccountView::new(account, unix_now())).unwrap()
}

#[tokio::test]
async fn the_nickname_from_user_info_is_listed_after_connect() {
    let s = stack().await;
    let open_id = s.fake.seed_account(ann());
    let code = s
        .fake
        .mint_code(&open_id, &SCOPES_WITH_PROFILE, REDIRECT_URI);
    let summary = s.service.connect(&code, REDIRECT_URI).await.unwrap();
    assert_eq!(summary.nickname.as_deref(), Some("Ann Creator"));

    let view = listed(&s, &open_id).await;
    assert_eq!(view["nickname"], "Ann Creator");
    assert_eq!(view["username"], "ann.creator");
    assert!(
        view["avatar_url"]
            .as_str()
            .is_some_and(|u| u.contains(&open_id))
    );
    assert_eq!(s.fake.call_count(FakeEndpoint::UserInfo), 1);
    let violations = s.fake.violations();
    assert!(violations.is_empty(), "{violations:?}");
}

#[tokio::test]
async fn without_user_info_profile_the_username_stays_unknown() {
    let s = stack().await;
    let open_id = s.fake.seed_account(ann());
    let code = s.fake.mint_code(&open_id, &REQUIRED_SCOPES, REDIRECT_URI);
    s.service.connect(&code, REDIRECT_URI).await.unwrap();
    let view = listed(&s, &open_id).await;
    assert_eq!(view["nickname"], "Ann Creator");
    assert!(view["username"].is_null());
    let violations = s.fake.violations();
    assert!(violations.is_empty(), "{violations:?}");
}

#[tokio::test]
async fn a_refresh_a_day_later_replaces_the_stored_profile() {
    let s = stack().await;
    let open_id = s.fake.seed_account(ann());
    let code = s
        .fake
        .mint_code(&open_id, &SCOPES_WITH_PROFILE, REDIRECT_URI);
    s.service.connect(&code, REDIRECT_URI).await.unwrap();
    let connected_at = s.clock.now();
    // What an older answer left: another name, read at connect.
    s.store
        .save_profile(&open_id, &old_profile(), connected_at)
        .await
        .unwrap();

    // Two days on, the access token (24 h) needs a refresh, and the profile is stale.
    s.clock.0.store(connected_at + 2 * DAY, Ordering::SeqCst);
    s.service.fresh_access_token(&open_id).await.unwrap();
    let account = s.store.get(&open_id).await.unwrap().unwrap();
    assert_eq!(account.nickname.as_deref(), Some("Ann Creator"));
    assert_eq!(account.username.as_deref(), Some("ann.creator"));
    assert_eq!(account.profile_fetched_at, Some(connected_at + 2 * DAY));
    assert_eq!(s.fake.call_count(FakeEndpoint::Token), 2);
    assert_eq!(s.fake.call_count(FakeEndpoint::UserInfo), 2);
    let violations = s.fake.violations();
    assert!(violations.is_empty(), "{violations:?}");
}

#[tokio::test]
async fn a_failing_user_info_leaves_the_connect_working() {
    let s = stack().await;
    let open_id = s.fake.seed_account(ann());
    s.fake.inject(Fault::ForAccount {
        open_id: open_id.clone(),
        fault: Box::new(Fault::HttpError {
            endpoint: FakeEndpoint::UserInfo,
            status: 500,
            code: "internal_error".into(),
            times: 1,
        }),
    });
    let code = s
        .fake
        .mint_code(&open_id, &SCOPES_WITH_PROFILE, REDIRECT_URI);
    let summary = s.service.connect(&code, REDIRECT_URI).await.unwrap();
    assert_eq!(summary.open_id, open_id);
    assert_eq!(summary.nickname, None);
    let account = s.store.get(&open_id).await.unwrap().unwrap();
    assert!(!account.needs_reconnect);
    assert_eq!(account.profile_fetched_at, None);
    // The tokens work: a post could go on.
    let token = s.service.fresh_access_token(&open_id).await.unwrap();
    assert_eq!(token.open_id(), open_id);
    assert_eq!(s.fake.call_count(FakeEndpoint::UserInfo), 1);
    let violations = s.fake.violations();
    assert!(violations.is_empty(), "{violations:?}");
}
