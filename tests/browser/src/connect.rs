//! Connecting a TikTok account from the console's Accounts page, as a person does: the
//! Connect button, the fake TikTok's consent page (logged in as the creator through its
//! login cookie), then the callback's page.

use crate::chromium::{BrowserError, Chromium, Tab};
use crate::stack::{FAKE_LOGIN_COOKIE, Stack};

/// From the Accounts page `tab` shows, connects the fake's creator `open_id` (seeded
/// already) and waits for the callback's "connected" page.
pub async fn connect_at_fake(
    browser: &Chromium,
    tab: &Tab,
    stack: &Stack,
    open_id: &str,
) -> Result<(), BrowserError> {
    browser
        .set_cookie(stack.fake_url(), FAKE_LOGIN_COOKIE, open_id)
        .await?;
    tab.click("form[action='/console/accounts/connect'] button")
        .await?;
    let authorize_page = format!("{}/v2/auth/authorize/", stack.fake_url());
    tab.wait_for("the fake TikTok's consent page", |shown| {
        shown.location == authorize_page
    })
    .await?;
    tab.click("button[name=decision][value=authorize]").await?;
    tab.wait_for("the callback's page", |shown| {
        shown.title == "TikTok account connected"
    })
    .await?;
    Ok(())
}
