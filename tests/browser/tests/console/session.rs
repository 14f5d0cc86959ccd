//! One person's session, in order (the stack has one console user, whose first sign-in
//! changes the temporary password, so the steps cannot run apart): signed out, a console
//! page sends to sign-in; the first sign-in asks for a new password; a form without its
//! CSRF token is refused; an account is connected through the fake TikTok's authorize page;
//! the Post page follows TikTok's Content Sharing Guidelines (asserted in the DOM) and sends
//! nothing before Post is pressed; the post reaches PUBLISHED with its id; sign-out ends the
//! session; a session past its end (the console's clock moved) is refused.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, ensure};
use browser_tests::audit::{assert_accessible, screenshot};
use browser_tests::chromium::Chromium;
use browser_tests::connect::connect_at_fake;
use browser_tests::stack::Stack;

use crate::{ConsoleEnv, NEW_PASSWORD, choose_privacy, one_at_a_time, sign_in};
use serde::Deserialize;
use serde_json::json;

/// What the Post page shows of the guidelines, read from the DOM.
#[derive(Debug, Deserialize)]
struct PostPageState {
    nickname_shown: bool,
    privacy_value: String,
    privacy_placeholder_disabled: bool,
    privacy_options: Vec<String>,
    comment: (bool, bool),
    duet: (bool, bool),
    stitch: (bool, bool),
    disclose_checked: bool,
    disclosure_options_hidden: bool,
    label_hidden: bool,
    declaration: String,
    declaration_before_button: bool,
    post_disabled: bool,
    s3_requests: u32,
}

const READ_POST_PAGE: &str = r#"(() => {
  const box = (id) => { const e = document.getElementById(id); return [e.checked, e.disabled]; };
  const select = document.getElementById('privacy');
  const declaration = document.getElementById('declaration');
  const button = document.getElementById('post-button');
  return {
    nickname_shown: document.body.innerText.includes('Posting to NICKNAME'),
    privacy_value: select.value,
    privacy_placeholder_disabled: select.options[0].disabled && select.options[0].value === '',
    privacy_options: [...select.options].slice(1).map((o) => o.value),
    comment: box('allow-comment'), duet: box('allow-duet'), stitch: box('allow-stitch'),
    disclose_checked: document.getElementById('disclose').checked,
    disclosure_options_hidden: document.getElementById('disclosure-options').hidden,
    label_hidden: document.getElementById('disclosure-label').hidden,
    declaration: declaration.innerText,
    declaration_before_button:
      !!(declaration.compareDocumentPosition(button) & Node.DOCUMENT_POSITION_FOLLOWING),
    post_disabled: button.disabled,
    s3_requests: performance.getEntriesByType('resource')
      .filter((e) => e.name.startsWith('S3_ENDPOINT')).length,
  };
})()"#;

#[tokio::test]
async fn a_console_session_from_sign_in_to_a_published_post() -> Result<()> {
    let _alone = one_at_a_time().await;
    let stack = Stack::from_env()?;
    let env = ConsoleEnv::from_env()?;
    let api = stack.api_url().to_owned();
    let browser = Chromium::launch().await?;

    // Signed out, a console page sends to sign-in.
    let tab = browser.open(&format!("{api}/console/accounts")).await?;
    let sign_in_page = format!("{api}/console/sign-in");
    tab.wait_for("the sign-in page", |shown| shown.location == sign_in_page)
        .await?;
    assert_accessible(&tab, "the sign-in page").await?;
    screenshot(&tab, "01-sign-in").await?;

    // The first sign-in asks for a password of the user's own.
    sign_in(&tab, &env.admin, &env.temporary_password).await?;
    tab.wait_for("the new-password step", |shown| {
        shown.title.starts_with("Choose your password")
    })
    .await
    .context("the temporary password did not lead to the new-password step (a stack whose admin already signed in: start a fresh one)")?;
    assert_accessible(&tab, "the new-password step").await?;
    screenshot(&tab, "02-new-password").await?;
    tab.type_into("#new-password", NEW_PASSWORD).await?;
    tab.click("main form button[type=submit]").await?;
    // Signed in: the Post page (or Accounts, where the account to post to is chosen).
    let accounts_page = format!("{api}/console/accounts");
    tab.wait_for("a signed-in page", |shown| {
        shown.location.starts_with(&format!("{api}/console/")) && shown.location != sign_in_page
    })
    .await?;
    let tab = browser.open(&accounts_page).await?;
    let shown = tab
        .wait_for("the accounts page", |shown| {
            shown.location == accounts_page && shown.text.contains("Connect a TikTok account")
        })
        .await?;
    ensure!(
        shown.text.contains(&format!("Sign out {}", env.admin)),
        "the console does not say who is signed in: {shown:?}"
    );

    // A state-changing form without its CSRF token is refused.
    assert_accessible(&tab, "the accounts page").await?;
    screenshot(&tab, "03-accounts").await?;
    let status: u16 = tab
        .evaluate(
            "fetch('/console/accounts/connect', {method: 'POST', headers: \
             {'content-type': 'application/x-www-form-urlencoded'}, body: 'csrf=forged'}) \
             .then((r) => r.status)",
        )
        .await?;
    ensure!(
        status == 403,
        "a forged form was answered {status}, not 403"
    );

    // Connect a creator whose Duet is off, through the fake's authorize page.
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos();
    let nickname = format!("Console creator {nanos}");
    let open_id = stack
        .seed_fake_creator(json!({
            "open_id": format!("console-{nanos}"),
            "nickname": nickname,
            "username": format!("console.{nanos}"),
            "privacy_level_options": ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"],
            "duet_disabled": true,
            "max_video_post_duration_sec": 600,
        }))
        .await?;
    connect_at_fake(&browser, &tab, &stack, &open_id).await?;

    // The Post page: TikTok's guidelines, point by point.
    let post_page = format!("{api}/console/post");
    let tab = browser
        .open(&format!("{post_page}?account={open_id}"))
        .await?;
    tab.wait_for("the Post page", |shown| {
        shown.location == post_page && shown.text.contains("Posting to")
    })
    .await?;
    // The text is the server's; post.js (a module: it runs after parsing) sets the controls.
    // Read them once the page has loaded, scripts run: under load, the text comes first.
    let mut loaded = false;
    for _ in 0..100 {
        let state: String = tab.evaluate("document.readyState").await?;
        if state == "complete" {
            loaded = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    ensure!(loaded, "the Post page did not finish loading in 10 s");
    let read = READ_POST_PAGE
        .replace("NICKNAME", &nickname)
        .replace("S3_ENDPOINT", &env.s3_endpoint);
    let page: PostPageState = tab.evaluate(&read).await?;
    ensure!(
        page.nickname_shown,
        "1a: the creator's nickname is not shown: {page:?}"
    );
    ensure!(
        page.privacy_value.is_empty() && page.privacy_placeholder_disabled,
        "2b: the privacy has a default: {page:?}"
    );
    ensure!(
        page.privacy_options == ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"],
        "2b: the privacy options are not the creator's: {page:?}"
    );
    ensure!(
        page.comment == (false, false) && page.stitch == (false, false),
        "2c: Comment and Stitch must start unchecked and usable: {page:?}"
    );
    ensure!(
        page.duet == (false, true),
        "2c: Duet, off for this creator, must be unchecked and disabled: {page:?}"
    );
    ensure!(
        !page.disclose_checked && page.disclosure_options_hidden && page.label_hidden,
        "3a: the disclosure must start off, with no label: {page:?}"
    );
    ensure!(
        page.declaration
            .contains("By posting, you agree to TikTok's Music Usage Confirmation")
            && page.declaration_before_button,
        "the music declaration must be shown before the Post button: {page:?}"
    );
    ensure!(page.post_disabled, "Post is enabled with no file: {page:?}");
    assert_accessible(&tab, "the Post page").await?;
    screenshot(&tab, "04-post-page").await?;

    // Branded content makes "Only me" unavailable, and says why.
    tab.click("#disclose").await?;
    tab.click("#branded-content").await?;
    let (only_me_disabled, only_me_title, label): (bool, String, String) = tab
        .evaluate(
            "(() => { const o = document.querySelector('#privacy option[value=SELF_ONLY]'); \
             return [o.disabled, o.title, document.getElementById('disclosure-label').innerText]; })()",
        )
        .await?;
    ensure!(
        only_me_disabled && only_me_title == "Branded content visibility cannot be set to private.",
        "3b: Branded content must disable Only me with TikTok's text (disabled {only_me_disabled}, title {only_me_title:?})"
    );
    ensure!(
        label == "Your photo/video will be labeled as 'Paid partnership'",
        "3a: the label for branded content is {label:?}"
    );
    assert_accessible(&tab, "the Post page with branded content").await?;
    screenshot(&tab, "05-post-branded-content").await?;
    tab.click("#branded-content").await?;
    tab.click("#disclose").await?;

    // A video, then everything but the consent: nothing goes to S3 yet.
    // An absolute path without `..`: Chromium reads the file only when it is used, and
    // fails to read it (no preview, an aborted upload) through a path with `..`.
    let video = std::fs::canonicalize(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../local-stack/fixtures/smoke.mp4"
    ))?;
    let video = video.to_str().context("the fixture's path is not UTF-8")?;
    tab.choose_files("#file", &[video]).await?;
    tab.type_into("#title", "Posted from the console <b>in a browser</b>")
        .await?;
    choose_privacy(&tab, "SELF_ONLY").await?;
    tab.click("#allow-comment").await?;
    let page: PostPageState = tab.evaluate(&read).await?;
    ensure!(
        page.s3_requests == 0,
        "5c: {} request(s) reached S3 before Post was pressed",
        page.s3_requests
    );

    screenshot(&tab, "06-post-ready").await?;

    // The consent: the upload, the post, its page, live status to PUBLISHED.
    tab.click("#post-button").await?;
    let posts_page = format!("{api}/console/posts/");
    let shown = tab
        .wait_for("the post's page, published", |shown| {
            shown.location.starts_with(&posts_page) && shown.text.contains("Status: Published")
        })
        .await?;
    ensure!(
        shown.text.contains("it may take a few minutes"),
        "5d: the processing notice is missing: {shown:?}"
    );
    ensure!(
        shown
            .text
            .contains("Title: Posted from the console <b>in a browser</b>"),
        "the title is not shown as typed (escaped): {shown:?}"
    );
    assert_accessible(&tab, "the post's page").await?;
    screenshot(&tab, "07-post-published").await?;
    let bold: u32 = tab
        .evaluate("document.querySelectorAll('main b').length")
        .await?;
    ensure!(bold == 0, "the title's markup was rendered as HTML");
    ensure!(
        shown.text.contains("This post is private"),
        "a private post must say it has no public link: {shown:?}"
    );

    // A post TikTok refuses at first (the creator's daily cap, once): FAILED, and the Retry
    // on its page publishes it.
    stack
        .inject_fault_for(
            &open_id,
            json!({"type": "HttpError", "endpoint": "DirectInit", "status": 403,
                   "code": "spam_risk_too_many_posts", "times": 1}),
        )
        .await?;
    let tab = browser
        .open(&format!("{post_page}?account={open_id}"))
        .await?;
    tab.wait_for("the Post page again", |shown| {
        shown.location == post_page && shown.text.contains("Posting to")
    })
    .await?;
    tab.choose_files("#file", &[video]).await?;
    tab.type_into("#title", "Refused once, then retried")
        .await?;
    // Public this time: TikTok gives a public post an id, and the page links to it.
    choose_privacy(&tab, "PUBLIC_TO_EVERYONE").await?;
    tab.click("#post-button").await?;
    let failed = tab
        .wait_for("the second post's page, failed", |shown| {
            shown.location.starts_with(&posts_page) && shown.text.contains("Status: Failed")
        })
        .await?;
    ensure!(
        failed.text.contains("spam_risk_too_many_posts") && failed.text.contains("Retry"),
        "a failed post must say why and offer Retry: {failed:?}"
    );
    assert_accessible(&tab, "a failed post's page").await?;
    screenshot(&tab, "20-post-failed").await?;
    tab.click("#post-status form[action$='/retry'] button")
        .await?;
    let retried = tab
        .wait_for("the retried post, published", |shown| {
            // `location` leaves the query (`?done=retried`) out.
            shown.location == failed.location
                && shown.text.contains("queued again")
                && shown.text.contains("Status: Published")
        })
        .await?;
    ensure!(
        !retried.text.contains("Retry"),
        "a published post offers no Retry: {retried:?}"
    );
    // The id TikTok gave (the link to it needs the creator's handle, which this account,
    // connected without the profile scope, did not share).
    let post_id = retried
        .text
        .split("TikTok post id: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_default();
    ensure!(
        !post_id.is_empty() && post_id.bytes().all(|b| b.is_ascii_digit()),
        "a public post must show its TikTok post id: {retried:?}"
    );

    // The Posts page lists both, newest first, and filters by account and state.
    let posts_list = format!("{api}/console/posts");
    let tab = browser.open(&posts_list).await?;
    tab.wait_for("the Posts page", |shown| {
        shown.location == posts_list && shown.text.contains("Newest first")
    })
    .await?;
    let read_rows = "[...document.querySelectorAll('table.posts tbody tr')]\
        .map((tr) => [tr.cells[2].innerText, tr.cells[3].innerText])";
    let rows: Vec<(String, String)> = tab.evaluate(read_rows).await?;
    ensure!(
        rows.starts_with(&[
            (
                "Refused once, then retried".to_owned(),
                "Published".to_owned()
            ),
            (
                "Posted from the console <b>in a browser</b>".to_owned(),
                "Published".to_owned()
            ),
        ]),
        "the Posts page does not list the two posts newest first: {rows:?}"
    );
    assert_accessible(&tab, "the Posts page").await?;
    screenshot(&tab, "21-posts").await?;
    // The filters, as a person uses them: choose, then Show.
    let _: bool = tab
        .evaluate(&format!(
            "(() => {{ document.getElementById('filter-account').value = '{open_id}'; \
             document.getElementById('filter-state').value = 'failed'; return true; }})()"
        ))
        .await?;
    tab.click("form.filters button[type=submit]").await?;
    tab.wait_for("the Posts page, failed posts of the account", |shown| {
        shown.location == posts_list && shown.text.contains("No post matches.")
    })
    .await?;
    let tab = browser
        .open(&format!("{posts_list}?account={open_id}&state=published"))
        .await?;
    tab.wait_for("the Posts page, published posts", |shown| {
        shown.text.contains("Newest first")
    })
    .await?;
    let rows: Vec<(String, String)> = tab.evaluate(read_rows).await?;
    ensure!(rows.len() == 2, "two published posts, not {rows:?}");

    // Sign-out ends the session: its pages send to sign-in again.
    tab.click("header form[action='/console/sign-out'] button")
        .await?;
    tab.wait_for("the sign-in page after sign-out", |shown| {
        shown.location == sign_in_page
    })
    .await?;
    let tab = browser.open(&accounts_page).await?;
    tab.wait_for("sign-in, the session gone", |shown| {
        shown.location == sign_in_page
    })
    .await?;

    // A session past its end is refused (the console's clock, moved 8 days on).
    sign_in(&tab, &env.admin, NEW_PASSWORD).await?;
    tab.wait_for("the accounts or Post page", |shown| {
        shown.location.starts_with(&format!("{api}/console/")) && shown.location != sign_in_page
    })
    .await?;
    env.move_clock(8 * 24 * 3600)?;
    let expired = async {
        let tab = browser.open(&accounts_page).await?;
        tab.wait_for("sign-in, the session ended", |shown| {
            shown.location == sign_in_page && shown.text.contains("Your session has ended")
        })
        .await
    }
    .await;
    env.move_clock(0)?;
    expired?;

    // The public pages TikTok's review reads (each in a tab of its own, last: a tab left
    // behind no longer takes clicks).
    for (path, name) in [
        ("about", "08-about"),
        ("terms", "09-terms"),
        ("privacy", "10-privacy"),
    ] {
        let public = browser.open(&format!("{api}/{path}")).await?;
        public
            .wait_for(&format!("/{path}"), |shown| {
                shown.text.contains("Local stack operator")
            })
            .await?;
        assert_accessible(&public, &format!("/{path}")).await?;
        screenshot(&public, name).await?;
    }
    browser.close().await?;

    let violations = stack.fake_violations().await?;
    ensure!(
        violations.is_empty(),
        "the fake saw violations: {violations:?}"
    );
    Ok(())
}
