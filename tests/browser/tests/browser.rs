//! Connecting an account in a real browser; run under `scripts/local-stack run`:
//!
//! ```sh
//! scripts/install-browser && scripts/local-stack run -- \
//!     cargo test -p browser-tests --features local-stack-tests --test browser
//! ```
//!
//! Each test is a person with a fresh headless Chromium: it opens a connect link from the
//! posts API, lands on the fake TikTok's consent page (logged in there, through the fake's
//! login cookie, as an account the test seeded), clicks a button, and reads the page the
//! callback answers. Then it checks what the stack stored and that the fake saw no
//! violation of TikTok's contract.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, ensure};
use browser_tests::chromium::{Chromium, Shown, Tab};
use browser_tests::stack::{FAKE_LOGIN_COOKIE, Stack};

/// The consent page's buttons (tests/fake-tiktok/src/api.rs, `consent_page`).
const AUTHORIZE_BUTTON: &str = "button[name=decision][value=authorize]";
const DENY_BUTTON: &str = "button[name=decision][value=deny]";

/// A fresh creator account at the fake, distinct per test and per run (the stack's
/// DynamoDB tables outlive a test when `scripts/local-stack up` keeps the stack running).
async fn seed_creator(stack: &Stack, role: &str) -> Result<(String, String)> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the system clock is before 1970")?
        .as_nanos();
    let wanted = format!("browser-{role}-{}-{nanos}", std::process::id());
    let nickname = format!("Browser {role} {nanos}");
    let open_id = stack.seed_fake_account(&wanted, &nickname).await?;
    ensure!(
        open_id == wanted,
        "the fake seeded {open_id:?}, not the asked-for {wanted:?}"
    );
    Ok((open_id, nickname))
}

/// Opens a fresh connect link in `browser`, logged in at the fake as `open_id`, and waits
/// for the fake's consent page.
async fn open_consent_page(stack: &Stack, browser: &Chromium, open_id: &str) -> Result<Tab> {
    browser
        .set_cookie(stack.fake_url(), FAKE_LOGIN_COOKIE, open_id)
        .await?;
    let link = stack.connect_link().await?;
    ensure!(
        link.expose().starts_with(stack.api_url()),
        "the connect link does not point at the local API {}",
        stack.api_url()
    );
    let tab = browser.open(link.expose()).await?;
    let authorize_page = format!("{}/v2/auth/authorize/", stack.fake_url());
    let consent = tab
        .wait_for("the fake TikTok's consent page", |shown| {
            shown.location == authorize_page
        })
        .await?;
    ensure!(
        consent
            .text
            .contains("would like to access your TikTok account"),
        "the authorize page is not the consent page: {consent:?}"
    );
    for scope in ["video.publish", "video.upload"] {
        ensure!(
            consent.text.contains(scope),
            "the consent page does not ask for {scope}: {consent:?}"
        );
    }
    Ok(tab)
}

/// Waits for the page `GET /oauth/callback` answered.
async fn callback_page(stack: &Stack, tab: &Tab) -> Result<Shown> {
    let callback = format!("{}/oauth/callback", stack.api_url());
    // The title is checked too: it is written only once the callback's page has loaded.
    Ok(tab
        .wait_for("the callback's page", |shown| {
            shown.location == callback && !shown.title.is_empty()
        })
        .await?)
}

async fn assert_no_violations(stack: &Stack) -> Result<()> {
    let violations = stack.fake_violations().await?;
    ensure!(
        violations.is_empty(),
        "the fake TikTok recorded violations of its contract: {}",
        serde_json::to_string_pretty(&violations)?
    );
    Ok(())
}

#[tokio::test]
async fn clicking_authorize_connects_the_account_and_names_it() -> Result<()> {
    let stack = Stack::from_env()?;
    let (open_id, nickname) = seed_creator(&stack, "authorize").await?;
    let browser = Chromium::launch().await?;

    let tab = open_consent_page(&stack, &browser, &open_id).await?;
    tab.click(AUTHORIZE_BUTTON).await?;
    let page = callback_page(&stack, &tab).await?;
    browser.close().await?;

    ensure!(
        page.title == "TikTok account connected",
        "the callback did not connect the account: {page:?}"
    );
    ensure!(
        page.text.contains(&open_id) && page.text.contains("is connected"),
        "the callback's page does not name the connected account {open_id}: {page:?}"
    );

    let accounts = stack.connected_accounts().await?;
    let account = accounts
        .iter()
        .find(|a| a.open_id == open_id)
        .with_context(|| format!("GET /accounts does not list {open_id}: {accounts:?}"))?;
    ensure!(
        !account.needs_reconnect,
        "the new account already needs reconnecting: {account:?}"
    );
    for scope in ["video.publish", "video.upload"] {
        ensure!(
            account.scopes.iter().any(|s| s == scope),
            "the stored account lacks {scope}: {account:?}"
        );
    }

    // The account the fake's login cookie picked is the one that was connected, and TikTok
    // (the fake) handed its tokens out: the code was exchanged.
    let at_fake = stack
        .fake_account(&open_id)
        .await?
        .with_context(|| format!("the fake no longer knows {open_id}"))?;
    ensure!(at_fake.nickname == nickname, "{at_fake:?}");
    ensure!(
        at_fake.has_tokens,
        "the fake never issued tokens for {open_id}"
    );

    assert_no_violations(&stack).await
}

#[tokio::test]
async fn clicking_deny_says_so_and_stores_nothing() -> Result<()> {
    let stack = Stack::from_env()?;
    let (open_id, _nickname) = seed_creator(&stack, "deny").await?;
    let browser = Chromium::launch().await?;

    let tab = open_consent_page(&stack, &browser, &open_id).await?;
    tab.click(DENY_BUTTON).await?;
    let page = callback_page(&stack, &tab).await?;
    browser.close().await?;

    ensure!(
        page.title == "Not connected",
        "the callback's page does not say the connection was refused: {page:?}"
    );
    ensure!(
        page.text
            .contains("You declined to authorize the app on TikTok")
            && page.text.contains("no account was connected"),
        "the callback's page does not say the person declined: {page:?}"
    );

    let accounts = stack.connected_accounts().await?;
    ensure!(
        accounts.iter().all(|a| a.open_id != open_id),
        "GET /accounts lists {open_id} although the person clicked Deny: {accounts:?}"
    );
    let at_fake = stack
        .fake_account(&open_id)
        .await?
        .with_context(|| format!("the fake no longer knows {open_id}"))?;
    ensure!(
        !at_fake.has_tokens,
        "the fake issued tokens for {open_id} although the person clicked Deny"
    );

    assert_no_violations(&stack).await
}
