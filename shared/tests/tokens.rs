//! The token service against moto and the strict fake TikTok: connecting, refreshing under
//! the lease, and what a refused refresh does.

use std::sync::Arc;
use std::time::Duration;

use fake_tiktok::{AccountSeed, Endpoint as FakeEndpoint, FakeSettings, FakeTikTok, Fault};
use secrecy::{ExposeSecret, SecretString};
use test_support::{moto, unique_name};
use tiktok_publish_adapters::{DynamoTokenStore, TableNames, TikTokClient, create_tables};
use tiktok_publish_core::config::TikTokConfig;
use tiktok_publish_core::errors::{Classify, ErrorKind};
use tiktok_publish_core::store::{TokenStore, unix_now};
use tiktok_publish_core::tiktok::TikTokCreators;
use tiktok_publish_core::tiktok::{REQUIRED_SCOPES, TikTokError, TokenGrant};
use tiktok_publish_core::tokens::{TokenError, TokenService, TokenSettings};

const REDIRECT_URI: &str = "http://127.0.0.1:9/oauth/callback";

struct Setup {
    fake: FakeTikTok,
    client: Arc<TikTokClient>,
    store: Arc<DynamoTokenStore>,
    service: TokenService,
}

async fn setup() -> Setup {
    let fake = FakeTikTok::start(FakeSettings::default())
        .await
        .expect("start the fake TikTok");
    let settings = fake.settings();
    let config = TikTokConfig::new(
        settings.client_key.clone(),
        SecretString::from(settings.client_secret.clone()),
    )
    .with_base_urls(fake.base_url(), fake.base_url());
    let client = Arc::new(TikTokClient::new(config).expect("client"));
    let dynamodb = moto().dynamodb().await;
    let names = TableNames::with_prefix(&unique_name("tokens"));
    create_tables(&dynamodb, &names).await.unwrap();
    let store = Arc::new(DynamoTokenStore::new(dynamodb, &names.accounts));
    let token_settings = TokenSettings {
        poll_interval: Duration::from_millis(50),
        ..TokenSettings::default()
    };
    let service = TokenService::new(store.clone(), client.clone(), token_settings);
    Setup {
        fake,
        client,
        store,
        service,
    }
}

/// An account connected with tokens the fake issued, stored as if the access token had
/// only `expires_in` seconds left (the fake's own tokens last a day).
async fn connected(s: &Setup, expires_in: u64) -> String {
    let open_id = s.fake.seed_account(AccountSeed::default());
    let issued = s.fake.issue_tokens(&open_id, &REQUIRED_SCOPES);
    let grant = TokenGrant {
        open_id: issued.open_id.clone(),
        access_token: SecretString::from(issued.access_token),
        expires_in,
        refresh_token: SecretString::from(issued.refresh_token),
        refresh_expires_in: issued.refresh_expires_in,
        scope: issued.scope,
        token_type: "Bearer".into(),
    };
    s.store
        .save_connection(&grant, None, unix_now())
        .await
        .unwrap();
    open_id
}

fn fake_tokens(fake: &FakeTikTok, open_id: &str) -> (String, String) {
    let account = fake.account(open_id).expect("the fake knows the account");
    (
        account.access_token.expect("an access token"),
        account.refresh_token.expect("a refresh token"),
    )
}

#[tokio::test]
async fn a_code_exchange_stores_the_tokens() {
    let s = setup().await;
    let open_id = s.fake.seed_account(AccountSeed::default());
    let code = s.fake.mint_code(&open_id, &REQUIRED_SCOPES, REDIRECT_URI);
    let summary = s.service.connect(&code, REDIRECT_URI).await.unwrap();
    assert_eq!(summary.open_id, open_id);
    assert!(summary.missing_scopes(&REQUIRED_SCOPES).is_empty());
    assert!(!summary.must_reconnect(unix_now()));

    let stored = s.store.get(&open_id).await.unwrap().unwrap();
    let (access, refresh) = fake_tokens(&s.fake, &open_id);
    assert_eq!(stored.access_token.expose_secret(), access);
    assert_eq!(
        stored
            .refresh_token
            .unwrap()
            .open()
            .await
            .unwrap()
            .expose_secret(),
        refresh
    );

    // A fresh token is used as it is: no refresh.
    let token = s.service.fresh_access_token(&open_id).await.unwrap();
    assert_eq!(token.secret().expose_secret(), access);
    assert_eq!(s.fake.call_count(FakeEndpoint::Token), 1);

    // The code was single use: a second exchange is refused and changes nothing.
    let error = s.service.connect(&code, REDIRECT_URI).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::AccountNeedsReconnect);
    s.fake.take_violations();
}

#[tokio::test]
async fn a_refresh_stores_the_rotated_refresh_token() {
    let s = setup().await;
    let open_id = connected(&s, 60).await;
    let (_, old_refresh) = fake_tokens(&s.fake, &open_id);

    let token = s.service.fresh_access_token(&open_id).await.unwrap();
    assert_eq!(s.fake.call_count(FakeEndpoint::Token), 1);
    let (access, refresh) = fake_tokens(&s.fake, &open_id);
    assert_eq!(token.secret().expose_secret(), access);
    assert!(token.expires_at() > unix_now() + 3600);
    let stored = s.store.get(&open_id).await.unwrap().unwrap();
    assert_eq!(
        stored
            .refresh_token
            .unwrap()
            .open()
            .await
            .unwrap()
            .expose_secret(),
        refresh
    );
    assert_ne!(refresh, old_refresh, "the fake rotates refresh tokens");
    assert_eq!(stored.version, 2);

    s.client.creator_info(token.secret()).await.unwrap();
    assert!(s.fake.violations().is_empty(), "{:?}", s.fake.violations());
}

#[tokio::test]
async fn twenty_callers_at_expiry_cause_exactly_one_refresh() {
    let s = setup().await;
    let open_id = connected(&s, 30).await;
    let callers = (0..20).map(|_| {
        let service = s.service.clone();
        let open_id = open_id.clone();
        tokio::spawn(async move { service.fresh_access_token(&open_id).await })
    });
    let tokens: Vec<_> = futures::future::join_all(callers)
        .await
        .into_iter()
        .map(|joined| joined.unwrap().unwrap())
        .collect();

    assert_eq!(s.fake.call_count(FakeEndpoint::Token), 1);
    let (access, refresh) = fake_tokens(&s.fake, &open_id);
    for token in &tokens {
        assert_eq!(token.secret().expose_secret(), access);
    }
    let stored = s.store.get(&open_id).await.unwrap().unwrap();
    assert_eq!(
        stored
            .refresh_token
            .unwrap()
            .open()
            .await
            .unwrap()
            .expose_secret(),
        refresh
    );
    assert!(stored.lease_owner.is_none());
    // The token the callers got works at TikTok.
    s.client.creator_info(tokens[0].secret()).await.unwrap();
    assert!(s.fake.violations().is_empty(), "{:?}", s.fake.violations());
}

#[tokio::test]
async fn a_refused_refresh_marks_the_account_for_reconnection() {
    let s = setup().await;
    let open_id = connected(&s, 30).await;
    s.fake.inject(Fault::HttpError {
        endpoint: FakeEndpoint::Token,
        status: 400,
        code: "invalid_grant".into(),
        times: 1,
    });
    let error = s.service.fresh_access_token(&open_id).await.unwrap_err();
    assert!(
        matches!(error, TokenError::NeedsReconnect { .. }),
        "{error:?}"
    );
    assert_eq!(error.kind(), ErrorKind::AccountNeedsReconnect);
    assert!(error.to_string().contains("connected again"));
    let stored = s.store.get(&open_id).await.unwrap().unwrap();
    assert!(stored.needs_reconnect);
    assert!(stored.lease_owner.is_none());

    // No more refreshes until the owner reconnects.
    let again = s.service.fresh_access_token(&open_id).await.unwrap_err();
    assert_eq!(again.kind(), ErrorKind::AccountNeedsReconnect);
    assert_eq!(s.fake.call_count(FakeEndpoint::Token), 1);

    // Reconnecting clears the flag.
    let code = s.fake.mint_code(&open_id, &REQUIRED_SCOPES, REDIRECT_URI);
    s.service.connect(&code, REDIRECT_URI).await.unwrap();
    let token = s.service.fresh_access_token(&open_id).await.unwrap();
    s.client.creator_info(token.secret()).await.unwrap();
    assert!(s.fake.violations().is_empty(), "{:?}", s.fake.violations());
}

#[tokio::test]
async fn a_transient_refresh_failure_is_retryable_and_keeps_the_account() {
    let s = setup().await;
    let open_id = connected(&s, 30).await;
    s.fake.inject(Fault::HttpError {
        endpoint: FakeEndpoint::Token,
        status: 503,
        code: "internal_error".into(),
        times: 1,
    });
    let error = s.service.fresh_access_token(&open_id).await.unwrap_err();
    assert!(
        matches!(error, TokenError::TikTok(TikTokError::Unavailable { .. })),
        "{error:?}"
    );
    assert_eq!(error.kind(), ErrorKind::TikTokUnavailable);
    let stored = s.store.get(&open_id).await.unwrap().unwrap();
    assert!(!stored.needs_reconnect);
    assert!(
        stored.lease_owner.is_none(),
        "the lease is released at once"
    );

    let token = s.service.fresh_access_token(&open_id).await.unwrap();
    assert_eq!(
        token.secret().expose_secret(),
        fake_tokens(&s.fake, &open_id).0
    );
    assert!(s.fake.violations().is_empty(), "{:?}", s.fake.violations());
}

#[tokio::test]
async fn a_token_tiktok_rejects_early_is_refreshed_once() {
    let s = setup().await;
    let open_id = connected(&s, 86_400).await;
    let token = s.service.fresh_access_token(&open_id).await.unwrap();
    s.fake.inject(Fault::ExpireAccessTokenNow {
        open_id: open_id.clone(),
    });
    let error = s.client.creator_info(token.secret()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::AccessTokenInvalid);

    let renewed = s
        .service
        .force_refresh(&open_id, token.secret())
        .await
        .unwrap();
    assert_ne!(
        renewed.secret().expose_secret(),
        token.secret().expose_secret()
    );
    s.client.creator_info(renewed.secret()).await.unwrap();
    // A second caller reporting the same rejected token gets the new one, no refresh.
    let again = s
        .service
        .force_refresh(&open_id, token.secret())
        .await
        .unwrap();
    assert_eq!(
        again.secret().expose_secret(),
        renewed.secret().expose_secret()
    );
    assert_eq!(s.fake.call_count(FakeEndpoint::Token), 1);
    assert!(s.fake.violations().is_empty(), "{:?}", s.fake.violations());
}

#[tokio::test]
async fn an_account_never_connected_needs_connecting() {
    let s = setup().await;
    let error = s
        .service
        .fresh_access_token("never-connected")
        .await
        .unwrap_err();
    assert!(
        matches!(error, TokenError::NotConnected { .. }),
        "{error:?}"
    );
    assert_eq!(error.kind(), ErrorKind::AccountNeedsReconnect);
}
