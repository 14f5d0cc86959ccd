//! Outcome events through the local stack: every post's end goes out on the event bus
//! (`OutcomeEventBus`), read back from the stack's tap queue (`LOCAL_OUTCOME_TAP_QUEUE_URL`:
//! every event on the bus lands there). Run it as
//!
//! ```sh
//! scripts/local-stack run -- cargo test -p e2e --features local-stack-tests --test outcomes
//! ```

use std::time::Duration;

use anyhow::{Context, anyhow, ensure};
use e2e::{Case, Stack, Tap};
use serde_json::{Value, json};
use tiktok_publish_core::api::view::rfc3339;
use tiktok_publish_core::store::unix_now;

/// How long a small post may take to become final.
const POST_TIMEOUT: Duration = Duration::from_secs(300);
const SMALL: u64 = 1_500_000;

/// The fields of a post event's `detail` (shared/src/events.rs): nothing else may appear,
/// so no token, code, secret or upload URL can ride along.
const POST_DETAIL_FIELDS: [&str; 16] = [
    "schema_version",
    "post_id",
    "account",
    "state",
    "mode",
    "bucket",
    "key",
    "version_id",
    "error_kind",
    "reason",
    "advice",
    "retryable",
    "publish_id",
    "tiktok_post_ids",
    "created_at",
    "ended_at",
];

/// The event's detail has only the documented fields, no URL, and none of the account's
/// tokens as the fake issued them.
async fn check_no_secret(stack: &Stack, open_id: &str, event: &Value) -> anyhow::Result<()> {
    let detail = event["detail"]
        .as_object()
        .with_context(|| format!("no detail object: {event}"))?;
    for (field, value) in detail {
        ensure!(
            POST_DETAIL_FIELDS.contains(&field.as_str()),
            "an undocumented field {field:?} in {event}"
        );
        ensure!(
            !value.to_string().contains("http"),
            "{field} may carry a URL: {event}"
        );
    }
    let text = event.to_string();
    let account = stack
        .fake_get(&format!("/__fake/accounts/{open_id}"))
        .await?;
    let mut tokens_checked = 0;
    for name in ["access_token", "refresh_token"] {
        if let Some(secret) = account[name].as_str().filter(|s| !s.is_empty()) {
            ensure!(
                !text.contains(secret),
                "the event carries the {name}: {event}"
            );
            tokens_checked += 1;
        }
    }
    ensure!(
        tokens_checked == 2,
        "the fake showed no tokens of {open_id} to check against: {account}"
    );
    Ok(())
}

fn creator() -> Value {
    json!({"nickname": "Outcome Creator", "username": "outcome.creator"})
}

#[tokio::test]
async fn a_published_post_sends_post_published_with_its_post_id() -> anyhow::Result<()> {
    let case = Case::start("outcome_published").await?;
    let stack = &case.stack;
    let tap = Tap::of(stack).await?;
    let open_id = stack.connect_creator(creator()).await?;
    let key = stack.upload_key(&open_id, "live.mp4");
    stack
        .put_manifest(
            &key,
            &json!({"title": "live", "privacy_level": "SELF_ONLY"}),
        )
        .await?;
    stack.put_video(&key, SMALL, 10, 41).await?;
    let post = stack.wait_final_for(&open_id, &key, POST_TIMEOUT).await?;
    ensure!(post["state"] == "PUBLISHED", "{post}");
    let id = post["id"].as_str().context("no id in the post")?;

    let event = tap.only_event_of(id).await?;
    ensure!(event["detail-type"] == "PostPublished", "{event}");
    let detail = &event["detail"];
    ensure!(detail["schema_version"] == 1, "{event}");
    ensure!(detail["state"] == "PUBLISHED", "{event}");
    ensure!(detail["account"] == open_id.as_str(), "{event}");
    ensure!(detail["key"] == key.as_str(), "{event}");
    ensure!(
        detail["publish_id"].is_string() && detail["publish_id"] == post["publish_id"],
        "{event} / {post}"
    );
    ensure!(detail["error_kind"].is_null(), "{event}");
    check_no_secret(stack, &open_id, &event).await?;

    // Retention: the exact version posted, and its manifest, carry the outcome tag.
    let version = detail["version_id"].as_str().map(str::to_owned);
    ensure!(
        outcome_tag(stack, &key, version).await?.as_deref() == Some("published"),
        "the video is not tagged published"
    );
    let manifest = format!("{key}.json");
    ensure!(
        outcome_tag(stack, &manifest, None).await?.as_deref() == Some("published"),
        "the manifest is not tagged published"
    );
    case.finish().await
}

/// The retention tag of the object (`version`, or the current one).
async fn outcome_tag(
    stack: &Stack,
    key: &str,
    version: Option<String>,
) -> anyhow::Result<Option<String>> {
    let tagging = stack
        .s3
        .get_object_tagging()
        .bucket(&stack.bucket)
        .key(key)
        .set_version_id(version)
        .send()
        .await
        .map_err(|e| anyhow!("GetObjectTagging {key}: {e:?}"))?;
    Ok(tagging
        .tag_set()
        .iter()
        .find(|tag| tag.key() == "tiktok-publish-outcome")
        .map(|tag| tag.value().to_owned()))
}

#[tokio::test]
async fn a_refused_post_sends_post_failed_with_the_reason() -> anyhow::Result<()> {
    let case = Case::start("outcome_refused").await?;
    let stack = &case.stack;
    let tap = Tap::of(stack).await?;
    let open_id = stack.connect_creator(creator()).await?;
    let key = stack.upload_key(&open_id, "refused.mp4");
    stack
        .put_manifest(&key, &json!({"title": "no", "privacy_level": "NOBODY"}))
        .await?;
    stack.put_video(&key, SMALL, 10, 42).await?;
    let post = stack.wait_final_for(&open_id, &key, POST_TIMEOUT).await?;
    ensure!(post["state"] == "REFUSED", "{post}");
    let id = post["id"].as_str().context("no id in the post")?;

    let event = tap.only_event_of(id).await?;
    ensure!(event["detail-type"] == "PostFailed", "{event}");
    let detail = &event["detail"];
    ensure!(detail["state"] == "REFUSED", "{event}");
    ensure!(detail["error_kind"] == "PostRefused", "{event}");
    let reason = detail["reason"].as_str().unwrap_or_default();
    ensure!(
        reason.contains("privacy_level") && reason == post["failure"]["reason"],
        "the event's reason is not the post's: {event} / {post}"
    );
    ensure!(detail["advice"].is_string(), "no advice: {event}");
    ensure!(
        detail["retryable"].is_boolean(),
        "no retry verdict: {event}"
    );
    check_no_secret(stack, &open_id, &event).await?;
    let version = event["detail"]["version_id"].as_str().map(str::to_owned);
    ensure!(
        outcome_tag(stack, &key, version).await?.as_deref() == Some("refused"),
        "the refused video is not tagged refused"
    );
    case.finish().await
}

#[tokio::test]
async fn a_cancelled_post_sends_post_cancelled() -> anyhow::Result<()> {
    let case = Case::start("outcome_cancelled").await?;
    let stack = &case.stack;
    let tap = Tap::of(stack).await?;
    let open_id = stack.connect_creator(creator()).await?;
    let key = stack.api_key(&open_id, "later.mp4");
    stack.put_video(&key, SMALL, 10, 43).await?;
    // Scheduled for tomorrow: the run waits, so the post can still be cancelled.
    let body = json!({"account": open_id, "key": key,
                      "options": {"title": "later", "privacy_level": "SELF_ONLY",
                                  "publish_at": rfc3339(unix_now() + 86_400)}});
    let (status, created) = stack.create_post(&body, None).await?;
    ensure!(status == 201, "POST /posts answered {status}: {created}");
    let id = created["id"].as_str().context("no id in the post")?;

    let answer = stack
        .http
        .delete(format!("{}/posts/{id}", stack.api))
        .send()
        .await
        .context("DELETE /posts/{id}")?;
    let status = answer.status().as_u16();
    let text = answer.text().await.unwrap_or_default();
    ensure!(
        status == 200,
        "DELETE /posts/{id} answered {status}: {text}"
    );
    let post = stack.wait_final(id, POST_TIMEOUT).await?;
    ensure!(post["state"] == "CANCELLED", "{post}");

    let event = tap.only_event_of(id).await?;
    ensure!(event["detail-type"] == "PostCancelled", "{event}");
    let detail = &event["detail"];
    ensure!(detail["state"] == "CANCELLED", "{event}");
    ensure!(detail["reason"] == "cancelled by request", "{event}");
    ensure!(detail["retryable"].is_null(), "{event}");
    check_no_secret(stack, &open_id, &event).await?;
    case.finish().await
}
