//! Outcome events through the local stack: every post's end goes out on the event bus
//! (`OutcomeEventBus`), read back from the stack's tap queue (`LOCAL_OUTCOME_TAP_QUEUE_URL`:
//! every event on the bus lands there). Run it as
//!
//! ```sh
//! scripts/local-stack run -- cargo test -p e2e --features local-stack-tests --test outcomes
//! ```

use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, ensure};
use aws_sdk_sqs::config::Credentials;
use e2e::{Case, Stack};
use serde_json::{Value, json};
use tiktok_publish_core::api::view::rfc3339;
use tiktok_publish_core::store::unix_now;
use tokio::sync::Mutex;

/// How long a small post may take to become final.
const POST_TIMEOUT: Duration = Duration::from_secs(300);
/// How long an event may take to reach the tap queue once its post is final.
const EVENT_TIMEOUT: Duration = Duration::from_secs(60);
/// After the first event of a post, how long to watch for a second (there must be none).
const REPEAT_WATCH: Duration = Duration::from_secs(4);
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

/// Every event read from the tap queue by any case of this binary. Cases run side by side
/// and a message read is deleted: each keeps what it reads here for the others.
static SEEN: Mutex<Vec<Value>> = Mutex::const_new(Vec::new());

/// The tap queue of the stack.
struct Tap {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
}

impl Tap {
    async fn of(stack: &Stack) -> anyhow::Result<Tap> {
        let get = |name: &str| {
            stack
                .env(name)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .with_context(|| format!("the stack's env file has no {name}"))
        };
        let queue_url = get("LOCAL_OUTCOME_TAP_QUEUE_URL").context(
            "the stack made no tap queue: does the template still have OutcomeEventBus?",
        )?;
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(get("AWS_REGION")?))
            .endpoint_url(get("AWS_ENDPOINT_URL")?)
            .credentials_provider(Credentials::new(
                get("AWS_ACCESS_KEY_ID")?,
                get("AWS_SECRET_ACCESS_KEY")?,
                None,
                None,
                "local-stack-env-file",
            ))
            .load()
            .await;
        Ok(Tap {
            sqs: aws_sdk_sqs::Client::new(&sdk),
            queue_url,
        })
    }

    /// Reads (and deletes) what the queue holds now into [`SEEN`].
    async fn drain(&self) -> anyhow::Result<()> {
        loop {
            let answer = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .map_err(|e| anyhow!("ReceiveMessage on the tap queue: {e:?}"))?;
            let messages = answer.messages();
            if messages.is_empty() {
                return Ok(());
            }
            let mut seen = SEEN.lock().await;
            for message in messages {
                let body = message.body().unwrap_or_default();
                let mut event: Value = serde_json::from_str(body)
                    .with_context(|| format!("a tap message is not JSON: {body}"))?;
                // A target may pass `detail` on as a JSON string.
                if let Some(text) = event["detail"].as_str() {
                    event["detail"] = serde_json::from_str(text)
                        .with_context(|| format!("an event detail is not JSON: {text}"))?;
                }
                seen.push(event);
                if let Some(handle) = message.receipt_handle() {
                    self.sqs
                        .delete_message()
                        .queue_url(&self.queue_url)
                        .receipt_handle(handle)
                        .send()
                        .await
                        .map_err(|e| anyhow!("DeleteMessage on the tap queue: {e:?}"))?;
                }
            }
        }
    }

    /// The one event about post `post_id`: waits for it, then watches a while for a repeat.
    async fn only_event_of(&self, post_id: &str) -> anyhow::Result<Value> {
        let about = |seen: &[Value]| -> Vec<Value> {
            seen.iter()
                .filter(|e| e["detail"]["post_id"] == post_id)
                .cloned()
                .collect()
        };
        let deadline = Instant::now() + EVENT_TIMEOUT;
        loop {
            self.drain().await?;
            if !about(&SEEN.lock().await).is_empty() {
                break;
            }
            ensure!(
                Instant::now() < deadline,
                "no event about post {post_id} reached the tap queue within {EVENT_TIMEOUT:?}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        tokio::time::sleep(REPEAT_WATCH).await;
        self.drain().await?;
        let events = about(&SEEN.lock().await);
        ensure!(
            events.len() == 1,
            "post {post_id} sent {} events: {events:?}",
            events.len()
        );
        let event = events.into_iter().next().context("one event")?;
        ensure!(event["source"] == "tiktok-publish", "{event}");
        Ok(event)
    }
}

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
    case.finish().await
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
