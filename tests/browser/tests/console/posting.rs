//! The Post page's other modes, each a visit of a console user of its own with a creator of
//! its own: a video longer than the creator may post is refused on the page (nothing sent
//! to S3); a photo carousel reaches PUBLISHED through the front door; a draft reaches the
//! creator's inbox (SENT_TO_INBOX); a scheduled post is accepted, shows its time and is
//! cancelled from its page.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, ensure};
use browser_tests::audit::{assert_accessible, screenshot};
use browser_tests::chromium::{Chromium, Tab};
use browser_tests::connect::connect_at_fake;
use browser_tests::stack::Stack;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{ConsoleEnv, NEW_PASSWORD, choose_privacy, console_user, one_at_a_time, sign_in};

/// One visit: the browser, signed in as a new console user who connected `creator`.
struct Visit {
    stack: Stack,
    env: ConsoleEnv,
    browser: Chromium,
    open_id: String,
}

impl Visit {
    /// Signs a new console user in and connects a creator seeded with `settings` (the
    /// fake's `AccountSeed` fields beyond the names).
    async fn start(who: &str, settings: Value) -> Result<Visit> {
        let stack = Stack::from_env()?;
        let env = ConsoleEnv::from_env()?;
        let api = stack.api_url().to_owned();
        let email = console_user(who).await?;
        let browser = Chromium::launch().await?;
        let tab = browser.open(&format!("{api}/console/accounts")).await?;
        sign_in(&tab, &email, NEW_PASSWORD).await?;
        // Signed in: Accounts, or the Post page when one account is connected already.
        let sign_in_page = format!("{api}/console/sign-in");
        tab.wait_for("a signed-in page", |shown| {
            shown.location.starts_with(&format!("{api}/console/")) && shown.location != sign_in_page
        })
        .await
        .context("the new console user was not signed in")?;
        let accounts_page = format!("{api}/console/accounts");
        let tab = browser.open(&accounts_page).await?;
        tab.wait_for("the accounts page", |shown| {
            shown.location == accounts_page && shown.text.contains("Connect a TikTok account")
        })
        .await
        .context("the new console user did not reach the accounts page")?;

        let nanos = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos();
        let mut seed = json!({
            "open_id": format!("{who}-{nanos}"),
            "nickname": format!("Creator {who} {nanos}"),
            "username": format!("{who}.{nanos}"),
            "privacy_level_options": ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"],
        });
        if let (Some(seed), Some(settings)) = (seed.as_object_mut(), settings.as_object()) {
            seed.extend(settings.clone());
        }
        let open_id = stack.seed_fake_creator(seed).await?;
        connect_at_fake(&browser, &tab, &stack, &open_id).await?;
        Ok(Visit {
            stack,
            env,
            browser,
            open_id,
        })
    }

    /// The Post page for the creator, `media` `video` or `photos`.
    async fn post_page(&self, media: &str) -> Result<Tab> {
        let api = self.stack.api_url();
        let tab = self
            .browser
            .open(&format!(
                "{api}/console/post?account={}&media={media}",
                self.open_id
            ))
            .await?;
        tab.wait_for("the Post page", |shown| {
            shown.location.starts_with(&format!("{api}/console/post"))
                && shown.text.contains("Posting to")
        })
        .await?;
        Ok(tab)
    }

    /// Presses the page's button and waits for the post's page to say `status`.
    async fn send_and_wait(&self, tab: &Tab, status: &str) -> Result<String> {
        tab.click("#post-button").await?;
        let posts_page = format!("{}/console/posts/", self.stack.api_url());
        let shown = tab
            .wait_for(&format!("the post's page, {status}"), |shown| {
                shown.location.starts_with(&posts_page)
                    && shown.text.contains(&format!("Status: {status}"))
            })
            .await?;
        Ok(shown.text)
    }

    /// What the fake TikTok was asked to publish for the creator (`GET
    /// /__fake/accounts/{open_id}/publishes`).
    async fn fake_publishes(&self) -> Result<Vec<Value>> {
        let url = format!(
            "{}/__fake/accounts/{}/publishes",
            self.stack.fake_url(),
            self.open_id
        );
        let response = reqwest::get(&url).await?.error_for_status()?;
        Ok(response.json().await?)
    }

    /// Closes the browser; the fake must have seen no protocol violation.
    async fn finish(self) -> Result<()> {
        self.browser.close().await?;
        let violations = self.stack.fake_violations().await?;
        ensure!(
            violations.is_empty(),
            "the fake saw violations: {violations:?}"
        );
        Ok(())
    }
}

/// A fixture's absolute path without `..` (Chromium cannot read a file through one).
fn fixture(name: &str) -> Result<String> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../local-stack/fixtures/{name}"));
    let path = std::fs::canonicalize(&path).with_context(|| format!("{}", path.display()))?;
    path.to_str()
        .map(str::to_owned)
        .context("the fixture's path is not UTF-8")
}

/// Replaces a text field's value, as a paste does.
async fn set_text(tab: &Tab, id: &str, text: &str) -> Result<()> {
    let _: bool = tab
        .evaluate(&format!(
            "(() => {{ const t = document.getElementById('{id}'); t.value = {}; \
             t.dispatchEvent(new Event('input', {{bubbles: true}})); return true; }})()",
            serde_json::to_string(text)?
        ))
        .await?;
    Ok(())
}

async fn choose_mode(tab: &Tab, mode: &str) -> Result<()> {
    tab.click(&format!("input[name=mode][value={mode}]"))
        .await?;
    Ok(())
}

/// What the page shows of the current mode, read from the DOM.
#[derive(Debug, Deserialize)]
struct ModeState {
    title_shown: bool,
    description_shown: bool,
    privacy_shown: bool,
    privacy_value: String,
    interactions_shown: Vec<String>,
    interactions_checked: bool,
    disclosure_shown: bool,
    disclose_checked: bool,
    draft_note: Option<String>,
    declaration_before_button: bool,
    button: String,
    button_disabled: bool,
    button_reason: Option<String>,
    file_note: String,
    previews: Vec<String>,
    s3_requests: u32,
}

const READ_MODE: &str = r#"(() => {
  const $ = (id) => document.getElementById(id);
  const visible = (id) => !!$(id) && !$(id).hidden;
  const shownNote = (id) => visible(id) ? $(id).innerText : null;
  const boxes = [...document.querySelectorAll('#interactions input[type=checkbox]')];
  const button = $('post-button');
  return {
    title_shown: visible('title-field'),
    description_shown: visible('description-field'),
    privacy_shown: visible('privacy-field'),
    privacy_value: $('privacy').value,
    interactions_shown: visible('interactions')
      ? boxes.filter((b) => !b.closest('label').hidden).map((b) => b.id) : [],
    interactions_checked: boxes.some((b) => b.checked),
    disclosure_shown: visible('disclosure'),
    disclose_checked: $('disclose').checked,
    draft_note: shownNote('draft-note'),
    declaration_before_button:
      !!($('declaration').compareDocumentPosition(button) & Node.DOCUMENT_POSITION_FOLLOWING),
    button: button.innerText,
    button_disabled: button.disabled,
    button_reason: shownNote('post-button-reason'),
    file_note: $('file-note').innerText,
    previews: [...document.querySelectorAll('#preview figcaption')].map((c) => c.innerText),
    s3_requests: performance.getEntriesByType('resource')
      .filter((e) => e.name.startsWith('S3_ENDPOINT')).length,
  };
})()"#;

async fn read_mode(tab: &Tab, env: &ConsoleEnv) -> Result<ModeState> {
    Ok(tab
        .evaluate(&READ_MODE.replace("S3_ENDPOINT", &env.s3_endpoint))
        .await?)
}

#[tokio::test]
async fn a_video_longer_than_the_creator_may_post_is_refused_on_the_page() -> Result<()> {
    let _alone = one_at_a_time().await;
    // The fixture is 3 seconds long; this creator may post 2.
    let visit = Visit::start("too-long", json!({"max_video_post_duration_sec": 2})).await?;
    let tab = visit.post_page("video").await?;
    tab.choose_files("#file", &[&fixture("smoke.mp4")?]).await?;
    choose_privacy(&tab, "SELF_ONLY").await?;
    let refusal = "This video is 0:03 long; this account can post videos up to 0:02 (2 seconds).";
    tab.wait_for("the duration's refusal", |shown| {
        shown.text.contains(refusal)
    })
    .await?;
    let page = read_mode(&tab, &visit.env).await?;
    ensure!(
        page.file_note == refusal
            && page.button_disabled
            && page.button_reason.as_deref() == Some(refusal),
        "1c: a video over the creator's limit must disable the button with the reason: {page:?}"
    );
    // Sending the form anyway (Enter in a field) uploads nothing either.
    let _: bool = tab
        .evaluate(
            "(() => { document.getElementById('post-form').requestSubmit(); return true; })()",
        )
        .await?;
    let page = read_mode(&tab, &visit.env).await?;
    ensure!(
        page.s3_requests == 0,
        "{} request(s) reached S3 for a video the page refused",
        page.s3_requests
    );
    assert_accessible(&tab, "the Post page refusing a video too long").await?;
    screenshot(&tab, "11-post-video-too-long").await?;
    visit.finish().await
}

/// A photo of `width`×`height` with a gradient (so it is not one flat colour).
fn photo(dir: &std::path::Path, name: &str, width: u32, height: u32) -> Result<String> {
    let pixels = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    });
    let path = dir.join(name);
    pixels
        .save(&path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    path.to_str()
        .map(str::to_owned)
        .context("the photo's path is not UTF-8")
}

#[tokio::test]
async fn a_photo_carousel_is_published() -> Result<()> {
    let _alone = one_at_a_time().await;
    let visit = Visit::start("photos", json!({"stitch_disabled": true})).await?;
    let tab = visit.post_page("photos").await?;
    let page = read_mode(&tab, &visit.env).await?;
    ensure!(
        page.interactions_shown == ["allow-comment"] && !page.interactions_checked,
        "2c: a photo post offers Comment only, unchecked: {page:?}"
    );
    ensure!(
        page.title_shown && page.description_shown && page.privacy_value.is_empty(),
        "a photo post has a title, a description and no default privacy: {page:?}"
    );

    let temp = tempfile::tempdir()?;
    let dir = std::fs::canonicalize(temp.path())?;
    let first = photo(&dir, "first.jpg", 640, 480)?;
    let second = photo(&dir, "second.png", 480, 640)?;
    tab.choose_files("#file", &[&first, &second]).await?;
    // 45 emoji are 90 UTF-16 units: the whole title TikTok takes for photos.
    // (Set as a paste would: DevTools cannot type an emoji key.)
    set_text(&tab, "title", &"😀".repeat(45)).await?;
    let count: String = tab
        .evaluate("document.getElementById('title-count').innerText")
        .await?;
    ensure!(
        count == "90 / 90",
        "the title is counted as {count}, not in UTF-16 units"
    );
    tab.type_into("#title", "!").await?;
    let page = read_mode(&tab, &visit.env).await?;
    ensure!(
        page.button_disabled
            && page
                .button_reason
                .as_deref()
                .is_some_and(|r| r.starts_with("The title is 91 characters long")),
        "a photo title over 90 units must stop the post: {page:?}"
    );
    // Back to a title TikTok takes.
    set_text(&tab, "title", "Two photos").await?;
    tab.type_into("#description", "A carousel from the console #photos")
        .await?;
    choose_privacy(&tab, "SELF_ONLY").await?;
    tab.click("#allow-comment").await?;
    let page = read_mode(&tab, &visit.env).await?;
    ensure!(
        page.previews == ["1 (cover)", "2"] && !page.button_disabled && page.s3_requests == 0,
        "5a/5c: both photos previewed in order, nothing sent yet: {page:?}"
    );
    assert_accessible(&tab, "the Post page with two photos").await?;
    screenshot(&tab, "12-post-photos").await?;

    let shown = visit.send_and_wait(&tab, "Published").await?;
    ensure!(
        shown.contains("Title: Two photos"),
        "the carousel's title is not shown: {shown:?}"
    );
    // At the fake: one photo post, pulled through the front door, the photos in order
    // (the JPEG goes as it is; the PNG is written again as JPEG).
    let publishes = visit.fake_publishes().await?;
    let first_bytes = std::fs::metadata(&first)?.len();
    ensure!(
        matches!(publishes.as_slice(), [one]
            if one["media_type"] == "PHOTO"
                && one["kind"] == "Direct"
                && one["post_info"]["title"] == "Two photos"
                && one["post_info"]["description"] == "A carousel from the console #photos"
                && one["pulled"].as_array().is_some_and(|p| p.len() == 2)
                && one["pulled"][0]["bytes"] == first_bytes),
        "the fake did not get the carousel as posted ({first_bytes} bytes first): {publishes:?}"
    );
    assert_accessible(&tab, "the photo post's page").await?;
    visit.finish().await
}

#[tokio::test]
async fn a_draft_reaches_the_creators_inbox() -> Result<()> {
    let _alone = one_at_a_time().await;
    let visit = Visit::start("draft", json!({})).await?;
    let tab = visit.post_page("video").await?;
    choose_mode(&tab, "draft").await?;
    tab.choose_files("#file", &[&fixture("smoke.mp4")?]).await?;
    tab.wait_for("the video's length", |shown| {
        shown.text.contains("This video is 0:03 long")
    })
    .await?;
    let page = read_mode(&tab, &visit.env).await?;
    ensure!(
        !page.title_shown
            && !page.privacy_shown
            && page.interactions_shown.is_empty()
            && !page.disclosure_shown,
        "a video draft takes no caption or settings (TikTok's inbox upload): {page:?}"
    );
    ensure!(
        page.draft_note
            .as_deref()
            .is_some_and(|n| n.contains("open the notification there to edit and post it")),
        "the page must say the creator finishes the draft in the app: {page:?}"
    );
    ensure!(
        page.button == "Send to TikTok inbox"
            && !page.button_disabled
            && page.declaration_before_button
            && page.s3_requests == 0,
        "the draft's button, after the declaration, nothing sent yet: {page:?}"
    );
    assert_accessible(&tab, "the Post page, a draft").await?;
    screenshot(&tab, "13-post-draft").await?;

    let shown = visit
        .send_and_wait(&tab, "Sent to the TikTok inbox")
        .await?;
    let publishes = visit.fake_publishes().await?;
    ensure!(
        matches!(publishes.as_slice(), [one] if one["kind"] == "Inbox" && one["post_info"].is_null()),
        "the fake did not get one inbox upload without post info: {publishes:?}"
    );
    ensure!(
        shown.contains("open the notification in the TikTok app"),
        "the draft's page must say where it is: {shown:?}"
    );
    assert_accessible(&tab, "the draft's page").await?;
    screenshot(&tab, "14-post-sent-to-inbox").await?;
    visit.finish().await
}

#[tokio::test]
async fn a_scheduled_post_is_accepted_and_shows_its_time() -> Result<()> {
    let _alone = one_at_a_time().await;
    let visit = Visit::start("schedule", json!({})).await?;
    let tab = visit.post_page("video").await?;
    choose_mode(&tab, "schedule").await?;
    let page = read_mode(&tab, &visit.env).await?;
    ensure!(
        page.button == "Schedule post"
            && page.button_disabled
            && page.privacy_shown
            && page.privacy_value.is_empty()
            && !page.interactions_checked
            && !page.disclose_checked,
        "a scheduled post is a direct post: no default privacy, switches off: {page:?}"
    );
    let zone: String = tab
        .evaluate("document.getElementById('schedule-zone').innerText")
        .await?;
    ensure!(
        zone.starts_with("In your time zone, ")
            && zone.contains("(UTC")
            && zone.contains("300 days"),
        "the time zone and the limit must be said: {zone:?}"
    );
    tab.choose_files("#file", &[&fixture("smoke.mp4")?]).await?;
    choose_privacy(&tab, "SELF_ONLY").await?;
    // Two hours from now, whole minutes, typed as the picker would (local time).
    let publish_at: String = tab
        .evaluate(
            "(() => { const at = new Date(Date.now() + 2 * 3600e3); at.setSeconds(0, 0); \
             const local = new Date(at - at.getTimezoneOffset() * 60e3).toISOString().slice(0, 16); \
             const input = document.getElementById('publish-at-local'); input.value = local; \
             input.dispatchEvent(new Event('input', {bubbles: true})); \
             return at.toISOString().replace('.000Z', 'Z'); })()",
        )
        .await?;
    let note: String = tab
        .evaluate("document.getElementById('schedule-note').innerText")
        .await?;
    let utc = publish_at.replace('T', " ").replace('Z', " UTC");
    ensure!(
        note.starts_with("Posts on ") && note.contains(&utc),
        "the chosen time must be shown with its UTC form {utc}: {note:?}"
    );
    let page = read_mode(&tab, &visit.env).await?;
    ensure!(
        !page.button_disabled,
        "a complete scheduled post cannot be sent: {page:?}"
    );
    assert_accessible(&tab, "the Post page, a scheduled post").await?;
    screenshot(&tab, "15-post-schedule").await?;

    let shown = visit.send_and_wait(&tab, "Waiting to upload").await?;
    ensure!(
        shown.contains(&format!("Scheduled for {publish_at} (UTC)")),
        "the post's page must show its time {publish_at}: {shown:?}"
    );
    assert_accessible(&tab, "the scheduled post's page").await?;
    screenshot(&tab, "16-post-scheduled").await?;

    // Waiting for its time, it can still be cancelled from its page.
    tab.click("#post-status form[action$='/cancel'] button")
        .await?;
    let cancelled = tab
        .wait_for("the scheduled post, cancelled", |shown| {
            shown.text.contains("The post was cancelled")
                && shown.text.contains("Status: Cancelled")
        })
        .await?;
    ensure!(
        !cancelled.text.contains("Cancel this post") && !cancelled.text.contains("Retry"),
        "a cancelled post offers neither button: {cancelled:?}"
    );
    visit.finish().await
}
