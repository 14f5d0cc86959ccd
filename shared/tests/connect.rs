//! Connecting an account end to end against moto and the strict fake TikTok: connect link,
//! start (the redirect to the fake's authorize page), the fake's redirect back, the callback.

use std::sync::Arc;

use aws_sdk_dynamodb::types::Select;
use fake_tiktok::{AccountSeed, FakeSettings, FakeTikTok};
use secrecy::{ExposeSecret, SecretString};
use test_support::{moto, unique_name};
use tiktok_publish_adapters::{
    DynamoOAuthStateStore, DynamoTokenStore, TableNames, TikTokClient, create_tables,
};
use tiktok_publish_core::config::TikTokConfig;
use tiktok_publish_core::connect::{
    BINDING_COOKIE, CallbackOutcome, CallbackQuery, CallbackRefusal, CallbackRequest,
    ConnectSettings, LinkRefusal, Redacted, StartOutcome, binding_cookies, finish_callback,
    issue_connect_link, start_connect,
};
use tiktok_publish_core::store::{TokenStore, UnixTime, unix_now};
use tiktok_publish_core::tiktok::REQUIRED_SCOPES;
use tiktok_publish_core::tokens::{TokenService, TokenSettings};

const BASE_URL: &str = "https://api.example.test";
const REDIRECT_URI: &str = "https://api.example.test/oauth/callback";

struct Setup {
    fake: FakeTikTok,
    tiktok: TikTokClient,
    dynamodb: aws_sdk_dynamodb::Client,
    names: TableNames,
    oauth: Arc<DynamoOAuthStateStore>,
    accounts: Arc<DynamoTokenStore>,
    tokens: TokenService,
    settings: ConnectSettings,
    /// Follows nothing: each redirect is looked at.
    browser: reqwest::Client,
}

async fn setup() -> Setup {
    let fake = FakeTikTok::start(FakeSettings {
        allowed_redirect_uris: vec![REDIRECT_URI.to_owned()],
        ..FakeSettings::default()
    })
    .await
    .expect("start the fake TikTok");
    let config = TikTokConfig::new(
        fake.settings().client_key.clone(),
        SecretString::from(fake.settings().client_secret.clone()),
    )
    .with_base_urls(fake.base_url(), fake.base_url());
    let tiktok = TikTokClient::new(config).unwrap();
    let dynamodb = moto().dynamodb().await;
    let names = TableNames::with_prefix(&unique_name("connect"));
    create_tables(&dynamodb, &names).await.unwrap();
    let oauth = Arc::new(DynamoOAuthStateStore::new(dynamodb.clone(), &names.oauth));
    let accounts = Arc::new(DynamoTokenStore::new(dynamodb.clone(), &names.accounts));
    let tokens = TokenService::new(
        accounts.clone(),
        Arc::new(tiktok.clone()),
        TokenSettings::default(),
    )
    .with_profiles(accounts.clone(), Arc::new(tiktok.clone()));
    Setup {
        fake,
        tiktok,
        dynamodb,
        names,
        oauth,
        accounts,
        tokens,
        settings: ConnectSettings::new(BASE_URL).unwrap(),
        browser: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    }
}

/// One decoded query parameter of `url`.
fn param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
}

/// A started flow: where the browser goes, the state in it, and the binding cookie's nonce.
struct Started {
    authorize_url: String,
    state: String,
    nonce: String,
}

impl Setup {
    async fn link(&self, now: UnixTime) -> String {
        let link = issue_connect_link(self.oauth.as_ref(), &self.settings, Some("alice"), now)
            .await
            .unwrap();
        assert!(
            link.expose()
                .starts_with("https://api.example.test/oauth/start?link=")
        );
        assert!(!format!("{link:?}").contains(link.expose()));
        assert_eq!(link.expires_at, now + 900);
        param(link.expose(), "link").unwrap()
    }

    async fn start(&self, link: Option<&str>, now: UnixTime) -> StartOutcome {
        start_connect(self.oauth.as_ref(), &self.tiktok, &self.settings, link, now)
            .await
            .unwrap()
    }

    async fn started(&self, now: UnixTime) -> Started {
        let link = self.link(now).await;
        let StartOutcome::Redirect(redirect) = self.start(Some(&link), now).await else {
            panic!("a fresh link must redirect");
        };
        let cookie = redirect.set_cookie.clone();
        let nonce = binding_cookies([cookie.split(';').next().unwrap()])
            .pop()
            .expect("the binding cookie");
        Started {
            state: param(&redirect.location, "state").unwrap(),
            authorize_url: redirect.location,
            nonce,
        }
    }

    /// The browser at TikTok: the fake approves (or denies) and redirects to the callback.
    async fn at_tiktok(&self, authorize_url: &str, login: Option<&str>) -> String {
        let mut request = self.browser.get(authorize_url);
        if let Some(open_id) = login {
            request = request.header("cookie", format!("fake_tiktok_login={open_id}"));
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::FOUND);
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        assert!(location.starts_with(REDIRECT_URI), "{location}");
        location
    }

    /// The callback as lambda_http hands it over: the query decoded once.
    async fn callback(
        &self,
        callback_url: &str,
        nonce: Option<&str>,
        now: UnixTime,
    ) -> CallbackOutcome {
        let url = url::Url::parse(callback_url).unwrap();
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let query =
            CallbackQuery::from_pairs(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str()))).unwrap();
        let cookies = nonce
            .map(|nonce| binding_cookies([format!("a=b; {BINDING_COOKIE}={nonce}").as_str()]))
            .unwrap_or_default();
        let request = CallbackRequest {
            query,
            binding_cookies: Redacted(cookies),
        };
        finish_callback(
            self.oauth.as_ref(),
            &self.tokens,
            &self.settings,
            &request,
            now,
        )
        .await
        .unwrap()
    }

    async fn oauth_items(&self) -> i32 {
        self.dynamodb
            .scan()
            .table_name(&self.names.oauth)
            .select(Select::Count)
            .send()
            .await
            .unwrap()
            .count()
    }

    async fn account_count(&self) -> usize {
        self.accounts.list().await.unwrap().len()
    }

    fn assert_no_violations(&self) {
        let violations = self.fake.violations();
        assert!(violations.is_empty(), "{violations:?}");
    }
}

fn callback_url(pairs: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(REDIRECT_URI).unwrap();
    url.query_pairs_mut().extend_pairs(pairs);
    url.into()
}

#[tokio::test]
async fn a_full_connect_stores_the_tokens_and_names_the_account() {
    let s = setup().await;
    let now = unix_now();
    let started = s.started(now).await;

    // Every parameter TikTok's authorize page needs.
    let authorize = url::Url::parse(&started.authorize_url).unwrap();
    assert_eq!(
        authorize.as_str().split('?').next().unwrap(),
        format!("{}/v2/auth/authorize/", s.fake.base_url())
    );
    let client_key = s.fake.settings().client_key.clone();
    let scope = REQUIRED_SCOPES.join(",");
    for (name, value) in [
        ("client_key", client_key.as_str()),
        ("scope", scope.as_str()),
        ("response_type", "code"),
        ("redirect_uri", REDIRECT_URI),
    ] {
        assert_eq!(param(&started.authorize_url, name).as_deref(), Some(value));
    }
    assert_eq!(started.state.len(), 64);
    assert_ne!(started.state, started.nonce);
    // The link and the state are stored (as hashes), nothing else.
    assert_eq!(s.oauth_items().await, 2);

    let callback = s.at_tiktok(&started.authorize_url, None).await;
    assert!(param(&callback, "code").unwrap().contains('*'));
    let outcome = s.callback(&callback, Some(&started.nonce), now).await;
    let CallbackOutcome::Connected {
        open_id,
        nickname,
        drafts_only,
    } = &outcome
    else {
        panic!("not connected: {outcome:?}");
    };
    // Every scope was granted: it posts directly too.
    assert!(!drafts_only);
    // The page names the account with its nickname from user info.
    let at_tiktok = s.fake.account(open_id).unwrap().nickname;
    assert_eq!(nickname.as_deref(), Some(at_tiktok.as_str()));
    let page = outcome.page();
    assert_eq!(page.status, 200);
    assert!(page.html().contains(open_id.as_str()));
    assert!(page.html().contains(at_tiktok.as_str()));
    for secret in s.fake.secrets_issued() {
        assert!(!page.html().contains(&secret));
    }
    assert!(!page.html().contains(&started.state) && !page.html().contains(&started.nonce));

    let stored = s.accounts.get(open_id).await.unwrap().unwrap();
    let fake_account = s.fake.account(open_id).unwrap();
    assert_eq!(
        Some(stored.access_token.expose_secret().to_owned()),
        fake_account.access_token
    );
    assert_eq!(
        match &stored.refresh_token {
            Some(sealed) => Some(sealed.open().await.unwrap().expose_secret().to_owned()),
            None => None,
        },
        fake_account.refresh_token
    );
    s.assert_no_violations();
}

#[tokio::test]
async fn a_reconnect_updates_the_same_account() {
    let s = setup().await;
    let now = unix_now();
    let open_id = s.fake.seed_account(AccountSeed::default());
    let first = s.started(now).await;
    let callback = s.at_tiktok(&first.authorize_url, Some(&open_id)).await;
    let outcome = s.callback(&callback, Some(&first.nonce), now).await;
    assert!(matches!(&outcome, CallbackOutcome::Connected { open_id: id, .. } if *id == open_id));

    let second = s.started(now + 5).await;
    let callback = s.at_tiktok(&second.authorize_url, Some(&open_id)).await;
    let outcome = s.callback(&callback, Some(&second.nonce), now + 5).await;
    assert!(matches!(&outcome, CallbackOutcome::Connected { open_id: id, .. } if *id == open_id));
    assert_eq!(s.account_count().await, 1);
    let stored = s.accounts.get(&open_id).await.unwrap().unwrap();
    assert_eq!(
        match &stored.refresh_token {
            Some(sealed) => Some(sealed.open().await.unwrap().expose_secret().to_owned()),
            None => None,
        },
        s.fake.account(&open_id).unwrap().refresh_token
    );
    s.assert_no_violations();
}

#[tokio::test]
async fn a_replayed_link_is_refused_and_stores_nothing() {
    let s = setup().await;
    let now = unix_now();
    let link = s.link(now).await;
    assert!(matches!(
        s.start(Some(&link), now).await,
        StartOutcome::Redirect(_)
    ));
    let items = s.oauth_items().await;
    let again = s.start(Some(&link), now + 1).await;
    assert!(matches!(
        again,
        StartOutcome::Refused(LinkRefusal::AlreadyUsed)
    ));
    assert_eq!(LinkRefusal::AlreadyUsed.page().status, 410);
    assert_eq!(s.oauth_items().await, items);
}

#[tokio::test]
async fn forged_and_missing_links_are_refused() {
    let s = setup().await;
    let now = unix_now();
    for (link, refusal) in [
        (Some("0".repeat(64)), LinkRefusal::Unknown),
        (Some("x".repeat(1000)), LinkRefusal::Unknown),
        (Some(String::new()), LinkRefusal::Missing),
        (None, LinkRefusal::Missing),
    ] {
        let outcome = s.start(link.as_deref(), now).await;
        assert!(
            matches!(outcome, StartOutcome::Refused(r) if r == refusal),
            "{link:?}"
        );
    }
    assert_eq!(s.oauth_items().await, 0);
}

#[tokio::test]
async fn an_expired_link_is_refused() {
    let s = setup().await;
    let now = unix_now();
    let link = s.link(now).await;
    let later = now + s.settings.link_ttl_secs;
    assert!(matches!(
        s.start(Some(&link), later).await,
        StartOutcome::Refused(LinkRefusal::Expired)
    ));

    // A zero lifetime (set by hand: the wiring's settings reader refuses it) is dead on arrival.
    let mut s = s;
    s.settings.link_ttl_secs = 0;
    let link = issue_connect_link(s.oauth.as_ref(), &s.settings, None, now)
        .await
        .unwrap();
    let token = param(link.expose(), "link").unwrap();
    assert!(matches!(
        s.start(Some(&token), now).await,
        StartOutcome::Refused(LinkRefusal::Expired)
    ));
    // Only the two links are stored: no state was created.
    assert_eq!(s.oauth_items().await, 2);
}

#[tokio::test]
async fn a_replayed_state_is_refused() {
    let s = setup().await;
    let now = unix_now();
    let started = s.started(now).await;
    let callback = s.at_tiktok(&started.authorize_url, None).await;
    let first = s.callback(&callback, Some(&started.nonce), now).await;
    assert!(matches!(first, CallbackOutcome::Connected { .. }));
    let again = s.callback(&callback, Some(&started.nonce), now + 1).await;
    assert_eq!(again, CallbackOutcome::Refused(CallbackRefusal::StateUsed));
    assert_eq!(again.page().status, 410);
    assert_eq!(s.account_count().await, 1);
    s.assert_no_violations();
}

#[tokio::test]
async fn a_forged_state_is_refused() {
    let s = setup().await;
    let now = unix_now();
    let started = s.started(now).await;
    let open_id = s.fake.seed_account(AccountSeed::default());
    let code = s.fake.mint_code(&open_id, &REQUIRED_SCOPES, REDIRECT_URI);
    let scope = REQUIRED_SCOPES.join(",");
    let forged = "f".repeat(64);
    let url = callback_url(&[("code", &code), ("scopes", &scope), ("state", &forged)]);
    let outcome = s.callback(&url, Some(&started.nonce), now).await;
    assert_eq!(
        outcome,
        CallbackOutcome::Refused(CallbackRefusal::UnknownState)
    );
    assert_eq!(outcome.page().status, 403);
    // A connect link is not a state either.
    let link = s.link(now).await;
    let url = callback_url(&[("code", &code), ("scopes", &scope), ("state", &link)]);
    let outcome = s.callback(&url, Some(&started.nonce), now).await;
    assert_eq!(
        outcome,
        CallbackOutcome::Refused(CallbackRefusal::UnknownState)
    );
    assert_eq!(s.account_count().await, 0);
    s.assert_no_violations();
}

#[tokio::test]
async fn an_expired_state_is_refused() {
    let s = setup().await;
    let now = unix_now();
    let started = s.started(now).await;
    let callback = s.at_tiktok(&started.authorize_url, None).await;
    let later = now + s.settings.state_ttl_secs;
    let outcome = s.callback(&callback, Some(&started.nonce), later).await;
    assert_eq!(
        outcome,
        CallbackOutcome::Refused(CallbackRefusal::StateExpired)
    );
    assert_eq!(outcome.page().status, 410);
    assert_eq!(s.account_count().await, 0);
}

#[tokio::test]
async fn a_callback_in_another_browser_is_refused() {
    let s = setup().await;
    let now = unix_now();
    let victim = s.started(now).await;
    let other = s.started(now).await;

    // No cookie at all: refused, and the state is used up.
    let callback = s.at_tiktok(&victim.authorize_url, None).await;
    let outcome = s.callback(&callback, None, now).await;
    assert_eq!(
        outcome,
        CallbackOutcome::Refused(CallbackRefusal::BindingMissing)
    );
    assert_eq!(outcome.page().status, 403);
    assert!(outcome.page().html().contains("another browser"));
    let retry = s.callback(&callback, Some(&victim.nonce), now).await;
    assert_eq!(retry, CallbackOutcome::Refused(CallbackRefusal::StateUsed));

    // The cookie of another flow.
    let callback = s.at_tiktok(&other.authorize_url, None).await;
    let outcome = s.callback(&callback, Some(&victim.nonce), now).await;
    assert_eq!(
        outcome,
        CallbackOutcome::Refused(CallbackRefusal::BindingMismatch)
    );
    assert_eq!(s.account_count().await, 0);
    assert_eq!(s.fake.call_count(fake_tiktok::Endpoint::Token), 0);
}

#[tokio::test]
async fn declining_at_tiktok_connects_nothing() {
    let s = setup().await;
    let now = unix_now();
    let started = s.started(now).await;
    // The consent page's Deny button.
    let mut decision = url::Url::parse(&started.authorize_url).unwrap();
    decision.set_path("/v2/auth/authorize/decision");
    decision.query_pairs_mut().append_pair("decision", "deny");
    let response = s.browser.get(decision).send().await.unwrap();
    let callback = response.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(param(&callback, "error").as_deref(), Some("access_denied"));

    let outcome = s.callback(&callback, Some(&started.nonce), now).await;
    assert_eq!(outcome, CallbackOutcome::Refused(CallbackRefusal::Declined));
    assert!(outcome.page().html().contains("You declined"));
    // The state is used up: the same answer cannot be replayed into a connection.
    let again = s.callback(&callback, Some(&started.nonce), now).await;
    assert_eq!(again, CallbackOutcome::Refused(CallbackRefusal::StateUsed));
    assert_eq!(s.account_count().await, 0);
    assert_eq!(s.fake.call_count(fake_tiktok::Endpoint::Token), 0);
    s.assert_no_violations();
}

#[tokio::test]
async fn other_tiktok_errors_are_shown_escaped() {
    let s = setup().await;
    let now = unix_now();
    let started = s.started(now).await;
    let url = callback_url(&[
        ("error", "invalid_scope"),
        ("error_description", "<script>alert('x')</script> & more"),
        ("state", &started.state),
    ]);
    let outcome = s.callback(&url, Some(&started.nonce), now).await;
    let CallbackOutcome::Refused(CallbackRefusal::TikTokError { error, .. }) = &outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(error, "invalid_scope");
    let html = outcome.page().html();
    assert!(!html.contains("<script>"), "{html}");
    // askama's numeric references: `&#60;` is `&lt;`, `&#38;` is `&amp;`.
    assert!(html.contains("&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62; &#38; more"));
    assert!(html.contains("tiktok-publish connect"));
    assert_eq!(outcome.page().status, 502);
    let again = s.callback(&url, Some(&started.nonce), now).await;
    assert_eq!(again, CallbackOutcome::Refused(CallbackRefusal::StateUsed));
    assert_eq!(s.account_count().await, 0);
}

#[tokio::test]
async fn a_callback_without_a_code_is_refused() {
    let s = setup().await;
    let now = unix_now();
    let started = s.started(now).await;
    let scope = REQUIRED_SCOPES.join(",");
    let url = callback_url(&[("scopes", &scope), ("state", &started.state)]);
    let outcome = s.callback(&url, Some(&started.nonce), now).await;
    assert_eq!(
        outcome,
        CallbackOutcome::Refused(CallbackRefusal::MissingCode)
    );
    assert_eq!(outcome.page().status, 400);
    assert_eq!(s.account_count().await, 0);
}

#[tokio::test]
async fn a_grant_without_video_upload_is_refused_and_not_stored() {
    let s = setup().await;
    let now = unix_now();
    let started = s.started(now).await;
    let open_id = s.fake.seed_account(AccountSeed::default());
    let granted = ["user.info.basic", "video.publish"];
    let code = s.fake.mint_code(&open_id, &granted, REDIRECT_URI);
    let url = callback_url(&[
        ("code", &code),
        ("scopes", &granted.join(",")),
        ("state", &started.state),
    ]);
    let outcome = s.callback(&url, Some(&started.nonce), now).await;
    assert_eq!(
        outcome,
        CallbackOutcome::Refused(CallbackRefusal::MissingScopes {
            missing: vec!["video.upload"]
        })
    );
    let page = outcome.page();
    assert_eq!(page.status, 403);
    assert!(page.html().contains("<code>video.upload</code>"));
    assert!(!page.html().contains(&code));
    assert_eq!(s.account_count().await, 0);
    assert_eq!(s.fake.call_count(fake_tiktok::Endpoint::Token), 0);
    s.assert_no_violations();
}

#[tokio::test]
async fn an_upload_only_grant_connects_an_account_that_posts_drafts() {
    let s = setup().await;
    let now = unix_now();
    let started = s.started(now).await;
    let open_id = s.fake.seed_account(AccountSeed::default());
    let granted = ["user.info.basic", "video.upload"];
    let code = s.fake.mint_code(&open_id, &granted, REDIRECT_URI);
    let url = callback_url(&[
        ("code", &code),
        ("scopes", &granted.join(",")),
        ("state", &started.state),
    ]);
    let outcome = s.callback(&url, Some(&started.nonce), now).await;
    assert!(
        matches!(&outcome, CallbackOutcome::Connected { open_id: id, drafts_only: true, .. } if *id == open_id),
        "{outcome:?}"
    );
    assert_eq!(outcome.page().status, 200);
    assert_eq!(s.account_count().await, 1);
    s.assert_no_violations();
}

#[tokio::test]
async fn a_code_tiktok_refuses_connects_nothing() {
    let s = setup().await;
    let now = unix_now();
    let started = s.started(now).await;
    let callback = s.at_tiktok(&started.authorize_url, None).await;
    let code = param(&callback, "code").unwrap();
    // The code spent by someone else first (TikTok codes work once).
    s.tokens.connect(&code, REDIRECT_URI).await.unwrap();
    let before = s.accounts.list().await.unwrap();
    let outcome = s.callback(&callback, Some(&started.nonce), now).await;
    assert_eq!(
        outcome,
        CallbackOutcome::Refused(CallbackRefusal::CodeRefused)
    );
    assert_eq!(outcome.page().status, 502);
    assert_eq!(s.accounts.list().await.unwrap(), before);
    s.assert_no_violations();
}
