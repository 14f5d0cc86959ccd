//! A console user's own security, each test with a user of its own (created on moto's
//! Cognito, with a permanent password; the stack's admin belongs to `session`):
//! - TOTP: enrolled on the Security page with codes computed from the key the page shows;
//!   the next sign-in asks for a code, refuses a wrong one and accepts the right one;
//! - a forgotten password: the e-mail, then the code and a new password, then sign-in;
//! - sign-out revokes the session's refresh token at Cognito.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail, ensure};
use aws_sdk_cognitoidentityprovider::Client as Cognito;
use aws_sdk_cognitoidentityprovider::types::AuthFlowType;
use browser_tests::audit::{assert_accessible, screenshot};
use browser_tests::chromium::{Chromium, Tab};
use browser_tests::stack::Stack;
use secrecy::ExposeSecret;
use tiktok_publish_adapters::DynamoSessionStore;
use tiktok_publish_core::console::{SessionId, SessionStore};
use totp_rs::{Builder, Secret, Totp};

use crate::{NEW_PASSWORD, console_user, one_at_a_time, sign_in, variable};

/// The console's session cookie (`SESSION_COOKIE` in functions/console/src/signin.rs).
const SESSION_COOKIE: &str = "__Host-console-session";

async fn cognito() -> Cognito {
    Cognito::new(&tiktok_publish_wiring::aws_config().await)
}

/// Signs in on the sign-in page `tab` shows and waits for a signed-in page.
async fn sign_in_fully(tab: &Tab, api: &str, email: &str, password: &str) -> Result<()> {
    sign_in(tab, email, password).await?;
    wait_signed_in(tab, api).await
}

async fn wait_signed_in(tab: &Tab, api: &str) -> Result<()> {
    let sign_in_page = format!("{api}/console/sign-in");
    tab.wait_for("a signed-in page", |shown| {
        shown.location.starts_with(&format!("{api}/console/"))
            && shown.location != sign_in_page
            && shown.text.contains("Sign out")
    })
    .await?;
    Ok(())
}

async fn sign_out(tab: &Tab, api: &str) -> Result<()> {
    tab.click("header form[action='/console/sign-out'] button")
        .await?;
    let sign_in_page = format!("{api}/console/sign-in");
    tab.wait_for("the sign-in page after sign-out", |shown| {
        shown.location == sign_in_page && shown.title.starts_with("Sign in")
    })
    .await?;
    Ok(())
}

/// An authenticator app for the key the Security page shows (spaces removed).
fn authenticator(key: &str) -> Result<Totp> {
    let key: String = key.split_whitespace().collect();
    let secret = Secret::try_from_base32(key.to_ascii_uppercase())
        .map_err(|e| anyhow::anyhow!("the page's key {key:?} is not base32: {e}"))?;
    // Cognito's keys are long enough for RFC 4226; moto's fixed one (12 letters) is not.
    Ok(Builder::new().with_secret(secret).build_noncompliant())
}

/// The code the app shows now, after waiting out the end of a 30-second step so that the
/// code is still current when Cognito (which accepts the current step only) checks it.
async fn current_code(app: &Totp) -> Result<String> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    if app.next_step(now) - now < 8 {
        tokio::time::sleep(Duration::from_secs(app.next_step(now) - now + 1)).await;
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    Ok(app.generate(now).to_string())
}

/// A code that is not the current one.
fn wrong(code: &str) -> Result<String> {
    let value: u32 = code.parse()?;
    Ok(format!("{:06}", (value + 500_000) % 1_000_000))
}

#[tokio::test]
async fn totp_is_enrolled_on_the_security_page_and_asked_at_sign_in() -> Result<()> {
    let _alone = one_at_a_time().await;
    let stack = Stack::from_env()?;
    let api = stack.api_url().to_owned();
    let email = console_user("totp").await?;
    let browser = Chromium::launch().await?;
    let tab = browser.open(&format!("{api}/console/sign-in")).await?;
    sign_in_fully(&tab, &api, &email, NEW_PASSWORD).await?;

    // The header's Security link, then "Set up an authenticator app".
    tab.click("header a[href='/console/security']").await?;
    tab.wait_for("the Security page, TOTP off", |shown| {
        shown.title.starts_with("Security") && shown.text.contains("Two-step sign-in is off")
    })
    .await?;
    assert_accessible(&tab, "the Security page").await?;
    screenshot(&tab, "30-security").await?;
    tab.click("form[action='/console/security/totp'] button")
        .await?;
    tab.wait_for("the key and its QR code", |shown| {
        shown.text.contains("scan this QR code")
    })
    .await?;
    let (key, qr_modules): (String, u32) = tab
        .evaluate(
            "[document.getElementById('totp-secret').innerText, \
             document.querySelectorAll('.qr svg path').length]",
        )
        .await?;
    ensure!(
        qr_modules == 1,
        "the QR code is not an inline SVG ({qr_modules} paths)"
    );
    assert_accessible(&tab, "the Security page's enrolment").await?;
    screenshot(&tab, "31-security-enrol").await?;
    let app = authenticator(&key)?;

    // A wrong first code is refused, the key still shown; the right one turns TOTP on.
    let code = current_code(&app).await?;
    tab.type_into("#code", &wrong(&code)?).await?;
    tab.click("form[action='/console/security/totp/verify'] button")
        .await?;
    let shown = tab
        .wait_for("the wrong code refused", |shown| {
            shown.text.contains("that code is wrong")
        })
        .await?;
    ensure!(
        shown.text.contains(key.trim()),
        "after a wrong code the key is no longer shown: {shown:?}"
    );
    tab.type_into("#code", &current_code(&app).await?).await?;
    tab.click("form[action='/console/security/totp/verify'] button")
        .await?;
    tab.wait_for("two-step sign-in on", |shown| {
        shown.text.contains("Two-step sign-in is on")
    })
    .await?;
    assert_accessible(&tab, "the Security page, TOTP on").await?;
    // Cognito's own record says so too (the page asks GetUser).
    let tab = browser.open(&format!("{api}/console/security")).await?;
    tab.wait_for("the Security page, TOTP on", |shown| {
        shown.title.starts_with("Security") && shown.text.contains("Two-step sign-in is on")
    })
    .await?;

    // The next sign-in asks for the code; a wrong one is refused, the right one signs in.
    sign_out(&tab, &api).await?;
    sign_in(&tab, &email, NEW_PASSWORD).await?;
    tab.wait_for("the code step", |shown| {
        shown.title.starts_with("Enter your authenticator code")
    })
    .await?;
    assert_accessible(&tab, "the sign-in's code step").await?;
    screenshot(&tab, "32-sign-in-code").await?;
    tab.type_into("#code", &wrong(&current_code(&app).await?)?)
        .await?;
    tab.click("main form button[type=submit]").await?;
    let shown = tab
        .wait_for("the wrong code refused at sign-in", |shown| {
            shown.text.contains("That code is wrong")
        })
        .await?;
    ensure!(
        shown.title.starts_with("Enter your authenticator code"),
        "after a wrong code the code step is not offered again: {shown:?}"
    );
    assert_accessible(&tab, "the code step with a wrong code").await?;
    tab.type_into("#code", &current_code(&app).await?).await?;
    tab.click("main form button[type=submit]").await?;
    wait_signed_in(&tab, &api).await?;
    browser.close().await?;
    Ok(())
}

/// Asks moto for a reset code as the console does, and reads the code moto puts in its
/// answer's `x-moto-forgot-password-confirmation-code` header (moto sends no e-mail). The
/// newest code is the one that counts, so the browser's request's code is replaced.
async fn moto_reset_code(email: &str) -> Result<String> {
    let endpoint = variable("AWS_ENDPOINT_URL")?;
    let client_id = variable("CONSOLE_CLIENT_ID")?;
    let answer = reqwest::Client::new()
        .post(format!("{}/", endpoint.trim_end_matches('/')))
        .header(
            "x-amz-target",
            "AWSCognitoIdentityProviderService.ForgotPassword",
        )
        .header("content-type", "application/x-amz-json-1.1")
        .body(serde_json::json!({"ClientId": client_id, "Username": email}).to_string())
        .send()
        .await
        .context("ForgotPassword on moto")?;
    let status = answer.status();
    let code = answer
        .headers()
        .get("x-moto-forgot-password-confirmation-code")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    match code {
        Some(code) if status.is_success() => Ok(code),
        _ => bail!("moto's ForgotPassword answered {status} without a code"),
    }
}

#[tokio::test]
async fn a_forgotten_password_is_reset_with_the_code() -> Result<()> {
    let _alone = one_at_a_time().await;
    let stack = Stack::from_env()?;
    let api = stack.api_url().to_owned();
    let email = console_user("forgot").await?;
    let browser = Chromium::launch().await?;
    let tab = browser.open(&format!("{api}/console/sign-in")).await?;
    tab.wait_for("the sign-in page", |shown| {
        shown.title.starts_with("Sign in")
    })
    .await?;
    tab.click("a[href='/console/forgot-password']").await?;
    tab.wait_for("the forgotten-password page", |shown| {
        shown.title.starts_with("Reset your password")
    })
    .await?;
    assert_accessible(&tab, "the forgotten-password page").await?;
    screenshot(&tab, "33-forgot-password").await?;
    tab.type_into("#email", &email).await?;
    tab.click("main form button[type=submit]").await?;
    tab.wait_for("the code and new-password page", |shown| {
        shown.title.starts_with("Choose a new password")
            && shown.text.contains("a code was sent to it")
    })
    .await?;
    assert_accessible(&tab, "the code and new-password page").await?;
    screenshot(&tab, "34-reset-password").await?;

    // moto refuses a code of its form that is not the user's (as expired; Cognito says
    // CodeMismatch): the page says so and offers a new code.
    let new_password = "Reset-test-Passw0rd2";
    tab.type_into("#code", "moto-confirmation-code:000000")
        .await?;
    tab.type_into("#new-password", new_password).await?;
    tab.click("form[action='/console/reset-password'] button")
        .await?;
    tab.wait_for("the wrong code refused", |shown| {
        shown.title.starts_with("Choose a new password") && shown.text.contains("Code: that code")
    })
    .await?;
    assert_accessible(&tab, "the reset page with a refused code").await?;

    let code = moto_reset_code(&email).await?;
    tab.type_into("#code", &code).await?;
    tab.type_into("#new-password", new_password).await?;
    tab.click("form[action='/console/reset-password'] button")
        .await?;
    tab.wait_for("sign-in, the password changed", |shown| {
        shown.title.starts_with("Sign in") && shown.text.contains("Your password was changed")
    })
    .await?;
    sign_in(&tab, &email, NEW_PASSWORD).await?;
    tab.wait_for("the old password refused", |shown| {
        shown.text.contains("Wrong e-mail or password")
    })
    .await?;
    // A fresh page: the refused form keeps the e-mail typed, and typing appends.
    let tab = browser.open(&format!("{api}/console/sign-in")).await?;
    sign_in_fully(&tab, &api, &email, new_password).await?;
    browser.close().await?;
    Ok(())
}

#[tokio::test]
async fn sign_out_revokes_the_sessions_refresh_token() -> Result<()> {
    let _alone = one_at_a_time().await;
    let stack = Stack::from_env()?;
    let api = stack.api_url().to_owned();
    let cognito = cognito().await;
    let email = console_user("sign-out").await?;
    let browser = Chromium::launch().await?;
    let tab = browser.open(&format!("{api}/console/sign-in")).await?;
    sign_in_fully(&tab, &api, &email, NEW_PASSWORD).await?;

    // The session's refresh token, read from its row as the console reads it (sealed with
    // the stack's KMS key, bound to the row).
    let cookie = browser
        .cookie(SESSION_COOKIE)
        .await?
        .context("no session cookie after sign-in")?;
    let id = SessionId::parse(&cookie).context("the session cookie is not a session id")?;
    let parts = tiktok_publish_wiring::Parts::from_env(tiktok_publish_wiring::aws_config().await)?;
    let sessions =
        DynamoSessionStore::new(parts.dynamodb.clone(), variable("CONSOLE_SESSIONS_TABLE")?)
            .with_codec(parts.codec.clone());
    let record = sessions
        .get(&id.storage_key())
        .await?
        .context("the session's row is missing")?;
    let refresh_token = record.refresh_token.open().await?;
    let client_id = variable("CONSOLE_CLIENT_ID")?;
    let refresh = || {
        cognito
            .initiate_auth()
            .client_id(&client_id)
            .auth_flow(AuthFlowType::RefreshTokenAuth)
            .auth_parameters("REFRESH_TOKEN", refresh_token.expose_secret())
            .send()
    };
    refresh()
        .await
        .context("the session's refresh token does not work before sign-out")?;

    sign_out(&tab, &api).await?;
    ensure!(
        sessions.get(&id.storage_key()).await?.is_none(),
        "the session's row outlived the sign-out"
    );
    match refresh().await {
        Ok(_) => bail!("Cognito still refreshes with the signed-out session's refresh token"),
        Err(e) => {
            let e = e.into_service_error();
            ensure!(
                e.is_not_authorized_exception(),
                "the refresh after sign-out failed otherwise than NotAuthorized: {e:?}"
            );
        }
    }
    browser.close().await?;
    Ok(())
}
