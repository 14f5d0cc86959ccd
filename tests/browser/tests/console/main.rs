//! The web console in a real browser; run under `scripts/local-stack run`:
//!
//! ```sh
//! scripts/install-browser && scripts/local-stack run -- \
//!     cargo test -p browser-tests --features local-stack-tests --test console
//! ```
//!
//! Each module is one person's visit. They run one at a time ([`one_at_a_time`]): one of
//! them moves the console's clock, which every session would see.

use anyhow::{Context, Result};
use browser_tests::chromium::Tab;
use tokio::sync::{Mutex, MutexGuard};

mod posting;
mod security;
mod session;

/// The password the first sign-in sets (the template's policy: 12+, upper, lower, digit).
pub const NEW_PASSWORD: &str = "Console-test-Passw0rd";

pub struct ConsoleEnv {
    pub admin: String,
    pub temporary_password: String,
    pub clock_file: String,
    /// Where the browser's uploads go (moto's S3).
    pub s3_endpoint: String,
}

pub fn variable(name: &str) -> Result<String> {
    std::env::var(name).with_context(|| {
        format!(
            "{name} is not set: run inside a fresh `scripts/local-stack run` with the console on"
        )
    })
}

impl ConsoleEnv {
    pub fn from_env() -> Result<ConsoleEnv> {
        Ok(ConsoleEnv {
            admin: variable("LOCAL_CONSOLE_ADMIN_EMAIL")?,
            temporary_password: variable("LOCAL_CONSOLE_ADMIN_TEMPORARY_PASSWORD")?,
            clock_file: variable("LOCAL_CONSOLE_CLOCK_OFFSET_FILE")?,
            s3_endpoint: variable("AWS_ENDPOINT_URL")?,
        })
    }

    /// Moves the console's clock `seconds` ahead (0: back to the real time).
    pub fn move_clock(&self, seconds: i64) -> Result<()> {
        std::fs::write(&self.clock_file, format!("{seconds}\n"))
            .with_context(|| format!("cannot write {}", self.clock_file))
    }
}

pub async fn sign_in(tab: &Tab, email: &str, password: &str) -> Result<()> {
    tab.wait_for("the sign-in form", |shown| {
        shown.title.starts_with("Sign in")
    })
    .await?;
    tab.type_into("#email", email).await?;
    tab.type_into("#password", password).await?;
    tab.click("main form button[type=submit]").await?;
    Ok(())
}

/// A console user of the caller's own on the stack's Cognito (moto), with a permanent
/// password: tests other than `session` sign in as one (the admin's first sign-in is
/// `session`'s to make). Answers the user's e-mail.
pub async fn console_user(name: &str) -> Result<String> {
    use aws_sdk_cognitoidentityprovider::types::{AttributeType, MessageActionType};
    let pool = variable("CONSOLE_USER_POOL_ID")?;
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&config);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos();
    let email = format!("{name}-{nanos}@example.com");
    let attribute = |name: &str, value: &str| {
        AttributeType::builder()
            .name(name)
            .value(value)
            .build()
            .context("a Cognito attribute")
    };
    cognito
        .admin_create_user()
        .user_pool_id(&pool)
        .username(&email)
        .user_attributes(attribute("email", &email)?)
        .user_attributes(attribute("email_verified", "true")?)
        .message_action(MessageActionType::Suppress)
        .send()
        .await
        .with_context(|| format!("AdminCreateUser {email} in {pool}"))?;
    cognito
        .admin_set_user_password()
        .user_pool_id(&pool)
        .username(&email)
        .password(NEW_PASSWORD)
        .permanent(true)
        .send()
        .await
        .with_context(|| format!("AdminSetUserPassword {email}"))?;
    Ok(email)
}

/// Picks a privacy level as a person does from the dropdown.
pub async fn choose_privacy(tab: &Tab, level: &str) -> Result<()> {
    let _: bool = tab
        .evaluate(&format!(
            "(() => {{ const s = document.getElementById('privacy'); s.value = '{level}'; \
             s.dispatchEvent(new Event('change', {{bubbles: true}})); return true; }})()"
        ))
        .await?;
    Ok(())
}

/// Held for a whole test: the tests share the stack's one console (and its clock).
pub async fn one_at_a_time() -> MutexGuard<'static, ()> {
    static CONSOLE: Mutex<()> = Mutex::const_new(());
    CONSOLE.lock().await
}
