//! Operations through the local stack (issue 8): the orphan sweep after moto lost an
//! upload's S3 event, a stuck post failed by the sweep, the reconnect warning, a retry that
//! publishes once, and a retry refused for a hopeless post. The functions are invoked
//! through the stack's Invoke API, the posts API over HTTP, and the events are read back
//! from the tap queue on the event bus. Run it as
//!
//! ```sh
//! scripts/local-stack run -- cargo test -p e2e --features local-stack-tests --test operations
//! ```

use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use e2e::{Case, Stack, Tap, UploadEventRule, caption_of_utf16_units};
use serde_json::{Value, json};
use tiktok_publish_core::store::unix_now;

/// How long a small post may take to become final.
const POST_TIMEOUT: Duration = Duration::from_secs(300);
/// How long to watch for a post that must not appear (moto dropped its event).
const LOST_WATCH: Duration = Duration::from_secs(6);
const SMALL: u64 = 1_500_000;

fn creator() -> Value {
    json!({"nickname": "Operations Creator", "username": "ops.creator"})
}

fn private_post(title: &str) -> Value {
    json!({"title": title, "privacy_level": "SELF_ONLY"})
}

/// Invokes `function` with `payload`; its answer, which must be a success.
async fn invoke_ok(stack: &Stack, function: &str, payload: &Value) -> anyhow::Result<Value> {
    let started = Instant::now();
    let (status, answer) = stack.invoke(function, payload).await?;
    eprintln!(
        "e2e: {function} {payload} answered {status} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    ensure!(
        status == 200 && answer.get("errorType").is_none(),
        "{function} answered {status}: {answer}"
    );
    Ok(answer)
}

/// The sweep report's orphans for `key`.
fn orphans_of<'a>(report: &'a Value, key: &str) -> Vec<&'a Value> {
    report["orphans"]
        .as_array()
        .map(|orphans| orphans.iter().filter(|o| o["key"] == key).collect())
        .unwrap_or_default()
}

/// The kinds (`detail-type`) of the events, in order.
fn kinds(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["detail-type"].as_str().unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn a_video_whose_s3_event_was_lost_is_swept_and_published_once() -> anyhow::Result<()> {
    // Alone: the rule routes every case's uploads, and the sweep claims every orphan.
    let case = Case::start_alone("ops_lost_event").await?;
    let stack = &case.stack;
    let tap = Tap::of(stack).await?;
    let open_id = stack.connect_creator(creator()).await?;
    let key = stack.upload_key(&open_id, "lost.mp4");

    // moto loses the events of this upload: the rule has no target while it lands.
    let rule = UploadEventRule::find(stack).await?;
    rule.detach().await?;
    let uploaded = async {
        stack.put_manifest(&key, &private_post("lost")).await?;
        stack.put_video(&key, SMALL, 10, 81).await
    }
    .await;
    let reattached = rule.reattach().await;
    uploaded?;
    reattached?;
    tokio::time::sleep(LOST_WATCH).await;
    let posts = stack.posts_of(&open_id).await?;
    ensure!(
        posts.is_empty(),
        "moto delivered the event without the rule's targets: {posts:?}"
    );

    // The operator sweeps at once instead of waiting SWEEP_ORPHAN_AFTER_MINUTES.
    let report = invoke_ok(stack, "orphan-sweep", &json!({"orphan_after_minutes": 0})).await?;
    let found = orphans_of(&report, &key);
    ensure!(found.len() == 1, "the sweep did not list {key}: {report}");
    ensure!(
        found[0]["outcome"]["outcome"] == "claimed"
            && found[0]["outcome"]["state"] == "QUEUED"
            && found[0]["outcome"]["created"] == true,
        "{report}"
    );
    let post = stack.wait_final_for(&open_id, &key, POST_TIMEOUT).await?;
    ensure!(post["state"] == "PUBLISHED", "{post}");
    let id = post["id"].as_str().context("no id in the post")?;
    ensure!(found[0]["outcome"]["post_id"] == id, "{report} / {post}");
    let publishes = stack.publishes_of(&open_id).await?;
    ensure!(publishes.len() == 1, "{publishes:?}");
    let event = tap.only_event_of(id).await?;
    ensure!(event["detail-type"] == "PostPublished", "{event}");

    let again = invoke_ok(stack, "orphan-sweep", &json!({"orphan_after_minutes": 0})).await?;
    ensure!(orphans_of(&again, &key).is_empty(), "swept twice: {again}");
    ensure!(stack.posts_of(&open_id).await?.len() == 1, "a second post");
    ensure!(
        stack.publishes_of(&open_id).await?.len() == 1,
        "a second publish"
    );
    case.finish().await
}

#[tokio::test]
async fn a_bad_sweep_payload_is_refused_by_name() -> anyhow::Result<()> {
    let case = Case::start("ops_bad_sweep_payload").await?;
    let stack = &case.stack;
    let (status, answer) = stack
        .invoke("orphan-sweep", &json!({"orphan_after_minutes": "now"}))
        .await?;
    ensure!(
        answer["errorType"] == "InvalidSweepRequest",
        "{status}: {answer}"
    );
    let message = answer["errorMessage"].as_str().unwrap_or_default();
    ensure!(
        message.contains("orphan_after_minutes") && message.contains("nothing was swept"),
        "{answer}"
    );
    case.finish().await
}

#[tokio::test]
async fn a_post_stuck_past_its_deadline_is_failed_by_the_sweep_once() -> anyhow::Result<()> {
    let case = Case::start("ops_stuck_post").await?;
    let stack = &case.stack;
    let tap = Tap::of(stack).await?;
    let open_id = stack.connect_creator(creator()).await?;
    // No manifest: the post waits for its options, non-final.
    let key = stack.upload_key(&open_id, "stuck.mp4");
    stack.put_video(&key, SMALL, 10, 82).await?;
    let id = stack.post_id_of(&open_id, &key, POST_TIMEOUT).await?;
    // Backdate only once its execution has moved it to AWAITING_OPTIONS: that move writes
    // `updated_at` again, and would undo an earlier backdating (a flaky run showed it).
    let waiting_since = Instant::now();
    loop {
        let post = stack.get_post(&id).await?;
        ensure!(post["final"] == false, "{post}");
        if post["state"] == "AWAITING_OPTIONS" {
            break;
        }
        ensure!(
            waiting_since.elapsed() < POST_TIMEOUT,
            "the post never waited for its options: {post}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    let stuck_after: u64 = stack
        .env("STUCK_AFTER_MINUTES")
        .and_then(|v| v.parse().ok())
        .unwrap_or(360);
    stack
        .backdate_updated_at(&id, Duration::from_secs((stuck_after + 10) * 60))
        .await?;
    let report = invoke_ok(stack, "orphan-sweep", &json!({})).await?;
    let stuck: Vec<&Value> = report["stuck"]
        .as_array()
        .map(|s| s.iter().filter(|p| p["post_id"] == id.as_str()).collect())
        .unwrap_or_default();
    ensure!(stuck.len() == 1, "the sweep did not fail {id}: {report}");

    let post = stack.wait_final(&id, Duration::from_secs(10)).await?;
    ensure!(post["state"] == "FAILED", "{post}");
    let reason = post["failure"]["reason"].as_str().unwrap_or_default();
    ensure!(reason.starts_with("the post was stuck"), "{post}");
    let event = tap.only_event_of(&id).await?;
    ensure!(event["detail-type"] == "PostFailed", "{event}");
    ensure!(event["detail"]["retryable"] == true, "{event}");
    ensure!(event["detail"]["reason"] == reason, "{event} / {post}");

    // A second sweep finds nothing more to do with it.
    let again = invoke_ok(stack, "orphan-sweep", &json!({})).await?;
    ensure!(
        !again["stuck"].to_string().contains(&id),
        "failed twice: {again}"
    );
    let events = tap.events_of(&id, 1).await?;
    ensure!(events.len() == 1, "{events:?}");
    case.finish().await
}

#[tokio::test]
async fn an_account_near_its_refresh_expiry_is_warned_once_a_day() -> anyhow::Result<()> {
    let case = Case::start("ops_reconnect_warning").await?;
    let stack = &case.stack;
    let tap = Tap::of(stack).await?;
    let open_id = stack.connect_creator(creator()).await?;
    // The refresh token lapses in five days: inside the warning window (14 by default).
    stack
        .set_refresh_expiry(&open_id, unix_now() + 5 * 86_400)
        .await?;
    let about_account = |e: &Value| {
        e["detail-type"] == "AccountNeedsReconnect" && e["detail"]["account"] == open_id.as_str()
    };

    let report = invoke_ok(stack, "reconnect-check", &json!({})).await?;
    ensure!(
        report["warned"].to_string().contains(&open_id),
        "not warned: {report}"
    );
    let warnings = tap
        .wait_for(&format!("warning {open_id}"), 1, about_account)
        .await?;
    ensure!(warnings.len() == 1, "{warnings:?}");
    let days_left = warnings[0]["detail"]["days_left"].as_i64();
    ensure!(matches!(days_left, Some(4 | 5)), "{:?}", warnings[0]);

    // The same day again: no second warning.
    let again = invoke_ok(stack, "reconnect-check", &json!({})).await?;
    ensure!(
        !again["warned"].to_string().contains(&open_id),
        "warned twice in a day: {again}"
    );
    tokio::time::sleep(e2e::REPEAT_WATCH).await;
    let warnings = tap.seen(about_account).await?;
    ensure!(warnings.len() == 1, "a second warning: {warnings:?}");
    case.finish().await
}

#[tokio::test]
async fn a_retried_post_publishes_once_and_a_published_one_is_not_retried() -> anyhow::Result<()> {
    let case = Case::start("ops_retry_publishes_once").await?;
    let stack = &case.stack;
    let tap = Tap::of(stack).await?;
    let open_id = stack.connect_creator(creator()).await?;
    // TikTok refuses the init with its daily cap: the run fails at once (the state
    // machine does not retry a refusal), and the cap passes, so a retry may help.
    stack
        .inject_for(
            &open_id,
            json!({"type": "HttpError", "endpoint": "DirectInit", "status": 403,
                   "code": "spam_risk_too_many_posts", "times": 1}),
        )
        .await?;
    let key = stack.upload_key(&open_id, "capped.mp4");
    stack.put_manifest(&key, &private_post("capped")).await?;
    stack.put_video(&key, SMALL, 10, 83).await?;
    let failed = stack.wait_final_for(&open_id, &key, POST_TIMEOUT).await?;
    ensure!(failed["state"] == "FAILED", "{failed}");
    ensure!(
        failed["failure"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("spam_risk_too_many_posts")),
        "{failed}"
    );
    let id = failed["id"].as_str().context("no id in the post")?;
    ensure!(
        stack.publishes_of(&open_id).await?.is_empty(),
        "a publish before the retry"
    );

    let (status, queued) = stack.retry_post(id).await?;
    ensure!(status == 202, "the retry answered {status}: {queued}");
    ensure!(queued["state"] == "QUEUED", "{queued}");
    let post = stack.wait_final(id, POST_TIMEOUT).await?;
    ensure!(post["state"] == "PUBLISHED", "{post}");
    let publishes = stack.publishes_of(&open_id).await?;
    ensure!(publishes.len() == 1, "{publishes:?}");
    ensure!(
        publishes[0]["publish_id"] == post["publish_id"],
        "{publishes:?} / {post}"
    );

    let events = tap.events_of(id, 2).await?;
    ensure!(
        kinds(&events) == ["PostFailed", "PostPublished"],
        "{events:?}"
    );
    ensure!(events[0]["detail"]["retryable"] == true, "{events:?}");

    let (status, refused) = stack.retry_post(id).await?;
    ensure!(
        status == 409,
        "a published post retried: {status} {refused}"
    );
    ensure!(refused["error"]["state"] == "PUBLISHED", "{refused}");
    ensure!(
        refused["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("reached TikTok already")),
        "{refused}"
    );
    ensure!(
        stack.publishes_of(&open_id).await?.len() == 1,
        "published twice"
    );
    case.finish().await
}

#[tokio::test]
async fn a_refused_post_is_not_retried_and_says_why() -> anyhow::Result<()> {
    let case = Case::start("ops_refused_not_retried").await?;
    let stack = &case.stack;
    let open_id = stack.connect_creator(creator()).await?;
    let key = stack.upload_key(&open_id, "wordy.mp4");
    stack
        .put_manifest(&key, &private_post(&caption_of_utf16_units(2201)))
        .await?;
    stack.put_video(&key, SMALL, 10, 84).await?;
    let refused = stack.wait_final_for(&open_id, &key, POST_TIMEOUT).await?;
    ensure!(refused["state"] == "REFUSED", "{refused}");
    let id = refused["id"].as_str().context("no id in the post")?;

    let (status, answer) = stack.retry_post(id).await?;
    ensure!(
        (400..500).contains(&status),
        "the retry answered {status}: {answer}"
    );
    ensure!(answer["error"]["code"] == "post_refused", "{answer}");
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    ensure!(
        message.contains("title") && message.contains("a retry would fail the same way"),
        "the refusal does not say why: {answer}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let post = stack.get_post(id).await?;
    ensure!(post["state"] == "REFUSED", "the post moved: {post}");
    let inits: Vec<Value> = stack
        .calls_of(&open_id)
        .await?
        .into_iter()
        .filter(|c| c["endpoint"] == "DirectInit" || c["endpoint"] == "InboxInit")
        .collect();
    ensure!(inits.is_empty(), "an init after the refusal: {inits:?}");
    ensure!(stack.publishes_of(&open_id).await?.is_empty(), "a publish");
    case.finish().await
}
