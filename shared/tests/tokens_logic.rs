//! The token service (`tokens::TokenService`) over the in-memory token store and a
//! refresher that rotates tokens like TikTok: one refresh under the lease however many
//! callers, a refused refresh marks the account, a crashed lease is taken over.

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

use tiktok_publish_core::errors::{Classify, ErrorKind};
use tiktok_publish_core::store::{AccountTokens, SealedSecret, TokenStore, UnixTime};
use tiktok_publish_core::tiktok::{Endpoint, TikTokError, TokenGrant};
use tiktok_publish_core::tokens::{Clock, TokenError, TokenRefresher, TokenService, TokenSettings};
use tiktok_publish_memory::MemoryTokenStore;

const NOW: UnixTime = 1_800_000_000;

struct ManualClock(AtomicI64);

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        self.0.load(Ordering::SeqCst)
    }
}

/// A token endpoint that rotates tokens and counts refreshes, like TikTok.
struct FakeRefresher {
    calls: AtomicUsize,
    /// The refresh token TikTok currently accepts.
    current_refresh: Mutex<String>,
    answer: Mutex<Option<fn() -> TikTokError>>,
    delay: Duration,
}

impl FakeRefresher {
    fn new(current_refresh: &str) -> Self {
        FakeRefresher {
            calls: AtomicUsize::new(0),
            current_refresh: Mutex::new(current_refresh.into()),
            answer: Mutex::new(None),
            delay: Duration::from_millis(50),
        }
    }

    fn fail_with(&self, error: fn() -> TikTokError) {
        *self.answer.lock().unwrap() = Some(error);
    }
}

fn grant(n: usize) -> TokenGrant {
    TokenGrant {
        open_id: "open-1".into(),
        access_token: SecretString::from(format!("act.{n}")),
        expires_in: 86_400,
        refresh_token: SecretString::from(format!("rft.{n}")),
        refresh_expires_in: 31_536_000,
        scope: "user.info.basic,video.publish".into(),
        token_type: "Bearer".into(),
    }
}

#[async_trait]
impl TokenRefresher for FakeRefresher {
    async fn refresh(&self, refresh_token: &SecretString) -> Result<TokenGrant, TikTokError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        tokio::time::sleep(self.delay).await;
        if let Some(error) = *self.answer.lock().unwrap() {
            return Err(error());
        }
        let mut current = self.current_refresh.lock().unwrap();
        if refresh_token.expose_secret() != current.as_str() {
            return Err(TikTokError::NeedsReconnect {
                reason: "invalid_grant".into(),
                log_id: None,
            });
        }
        *current = format!("rft.{n}");
        Ok(grant(n))
    }

    async fn exchange_code(
        &self,
        code: &str,
        _redirect_uri: &str,
    ) -> Result<TokenGrant, TikTokError> {
        if code != "good-code" {
            return Err(TikTokError::NeedsReconnect {
                reason: "invalid_grant".into(),
                log_id: None,
            });
        }
        *self.current_refresh.lock().unwrap() = "rft.code".into();
        let mut grant = grant(0);
        grant.refresh_token = SecretString::from("rft.code");
        Ok(grant)
    }
}

fn account(access_expires_at: UnixTime) -> AccountTokens {
    AccountTokens {
        open_id: "open-1".into(),
        access_token: SecretString::from("act.old"),
        access_expires_at,
        refresh_token: Some(SealedSecret::plain(&SecretString::from("rft.old"))),
        refresh_expires_at: NOW + 1_000_000,
        scopes: vec!["video.publish".into()],
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
    }
}

fn service(
    store: Arc<MemoryTokenStore>,
    tiktok: Arc<FakeRefresher>,
) -> (TokenService, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock(AtomicI64::new(NOW)));
    let settings = TokenSettings {
        poll_interval: Duration::from_millis(10),
        ..TokenSettings::default()
    };
    let service = TokenService::new(store, tiktok, settings).with_clock(clock.clone());
    (service, clock)
}

#[tokio::test]
async fn a_token_far_from_expiry_is_used_as_it_is() {
    let store = Arc::new(MemoryTokenStore::new());
    store.insert(account(NOW + 3600));
    let tiktok = Arc::new(FakeRefresher::new("rft.old"));
    let (service, _) = service(store, tiktok.clone());
    let token = service.fresh_access_token("open-1").await.unwrap();
    assert_eq!(token.secret().expose_secret(), "act.old");
    assert_eq!(tiktok.calls.load(Ordering::SeqCst), 0);
    assert!(!format!("{token:?}").contains("act.old"));
}

#[tokio::test]
async fn twenty_callers_near_expiry_cause_one_refresh() {
    let store = Arc::new(MemoryTokenStore::new());
    store.insert(account(NOW + 60));
    let tiktok = Arc::new(FakeRefresher::new("rft.old"));
    let (service, _) = service(store.clone(), tiktok.clone());
    let calls = (0..20).map(|_| {
        let service = service.clone();
        tokio::spawn(async move { service.fresh_access_token("open-1").await })
    });
    for result in futures::future::join_all(calls).await {
        let token = result.unwrap().unwrap();
        assert_eq!(token.secret().expose_secret(), "act.1");
    }
    assert_eq!(tiktok.calls.load(Ordering::SeqCst), 1);
    let stored = store.get("open-1").await.unwrap().unwrap();
    assert_eq!(
        stored
            .refresh_token
            .unwrap()
            .open()
            .await
            .unwrap()
            .expose_secret(),
        "rft.1"
    );
    assert_eq!(stored.version, 2);
    assert!(stored.lease_owner.is_none());
}

#[tokio::test]
async fn a_refused_refresh_marks_the_account_for_reconnection() {
    let store = Arc::new(MemoryTokenStore::new());
    store.insert(account(NOW + 60));
    let tiktok = Arc::new(FakeRefresher::new("rft.someone-else"));
    let (service, _) = service(store.clone(), tiktok.clone());
    let error = service.fresh_access_token("open-1").await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::AccountNeedsReconnect);
    let stored = store.get("open-1").await.unwrap().unwrap();
    assert!(stored.needs_reconnect);
    // Flagged accounts are not refreshed again.
    let error = service.fresh_access_token("open-1").await.unwrap_err();
    assert!(matches!(error, TokenError::NeedsReconnect { .. }));
    assert_eq!(tiktok.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_transient_failure_releases_the_lease_and_is_retryable() {
    let store = Arc::new(MemoryTokenStore::new());
    store.insert(account(NOW + 60));
    let tiktok = Arc::new(FakeRefresher::new("rft.old"));
    tiktok.fail_with(|| TikTokError::Unavailable {
        endpoint: Endpoint::Token,
        detail: "HTTP 503".into(),
        status: Some(503),
        log_id: None,
        source: None,
    });
    let (service, _) = service(store.clone(), tiktok.clone());
    let error = service.fresh_access_token("open-1").await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::TikTokUnavailable);
    let stored = store.get("open-1").await.unwrap().unwrap();
    assert!(stored.lease_owner.is_none());
    assert!(!stored.needs_reconnect);
    *tiktok.answer.lock().unwrap() = None;
    let token = service.fresh_access_token("open-1").await.unwrap();
    assert_eq!(token.secret().expose_secret(), "act.2");
}

#[tokio::test]
async fn unknown_and_expired_accounts_need_reconnecting() {
    let store = Arc::new(MemoryTokenStore::new());
    let mut expired = account(NOW - 10);
    expired.refresh_expires_at = NOW - 1;
    store.insert(expired);
    let tiktok = Arc::new(FakeRefresher::new("rft.old"));
    let (service, _) = service(store.clone(), tiktok.clone());
    let error = service.fresh_access_token("nobody").await.unwrap_err();
    assert!(matches!(error, TokenError::NotConnected { .. }));
    assert_eq!(error.kind(), ErrorKind::AccountNeedsReconnect);
    let error = service.fresh_access_token("open-1").await.unwrap_err();
    assert!(matches!(error, TokenError::NeedsReconnect { .. }));
    assert!(store.get("open-1").await.unwrap().unwrap().needs_reconnect);
    assert_eq!(tiktok.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn force_refresh_refreshes_only_the_rejected_token() {
    let store = Arc::new(MemoryTokenStore::new());
    store.insert(account(NOW + 3600));
    let tiktok = Arc::new(FakeRefresher::new("rft.old"));
    let (service, _) = service(store.clone(), tiktok.clone());
    let rejected = SecretString::from("act.old");
    let token = service.force_refresh("open-1", &rejected).await.unwrap();
    assert_eq!(token.secret().expose_secret(), "act.1");
    // A second caller holding the same rejected token gets the new one, no refresh.
    let token = service.force_refresh("open-1", &rejected).await.unwrap();
    assert_eq!(token.secret().expose_secret(), "act.1");
    assert_eq!(tiktok.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_live_lease_is_waited_for_then_taken_over_when_it_expires() {
    let store = Arc::new(MemoryTokenStore::new());
    let mut held = account(NOW + 60);
    held.lease_owner = Some("crashed".into());
    held.lease_until = Some(NOW + 30);
    store.insert(held);
    let tiktok = Arc::new(FakeRefresher::new("rft.old"));
    let (service, clock) = service(store.clone(), tiktok.clone());
    let waiting = tokio::spawn({
        let service = service.clone();
        async move { service.fresh_access_token("open-1").await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(tiktok.calls.load(Ordering::SeqCst), 0);
    clock.0.store(NOW + 31, Ordering::SeqCst);
    let token = waiting.await.unwrap().unwrap();
    assert_eq!(token.secret().expose_secret(), "act.1");
    assert_eq!(tiktok.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn connect_saves_the_tokens_and_clears_the_flag() {
    let store = Arc::new(MemoryTokenStore::new());
    let mut flagged = account(NOW - 10);
    flagged.needs_reconnect = true;
    store.insert(flagged);
    let tiktok = Arc::new(FakeRefresher::new("rft.old"));
    let (service, _) = service(store.clone(), tiktok.clone());
    let summary = service.connect("good-code", "https://x/cb").await.unwrap();
    assert!(!summary.needs_reconnect);
    let token = service.fresh_access_token("open-1").await.unwrap();
    assert_eq!(token.secret().expose_secret(), "act.0");
    let error = service
        .connect("bad-code", "https://x/cb")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::AccountNeedsReconnect);
}
