//! The stack's tap queue: every event on the outcome event bus lands there
//! (`LOCAL_OUTCOME_TAP_QUEUE_URL`, made by tests/local-stack/setup.py).

use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, ensure};
use serde_json::Value;
use tokio::sync::Mutex;

use crate::Stack;

/// How long an event may take to reach the tap queue.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(60);
/// After the events awaited arrived, how long to watch for more (there must be none).
pub const REPEAT_WATCH: Duration = Duration::from_secs(4);

/// Every event read from the tap queue by any case of this test binary. Cases run side by
/// side and a message read is deleted: each keeps what it reads here for the others.
static SEEN: Mutex<Vec<Value>> = Mutex::const_new(Vec::new());

/// The tap queue of the stack.
pub struct Tap {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
}

impl Tap {
    pub async fn of(stack: &Stack) -> anyhow::Result<Tap> {
        let queue_url = stack
            .env("LOCAL_OUTCOME_TAP_QUEUE_URL")
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .context(
                "the stack's env file has no LOCAL_OUTCOME_TAP_QUEUE_URL: does the template \
                 still have OutcomeEventBus?",
            )?;
        Ok(Tap {
            sqs: aws_sdk_sqs::Client::new(&stack.sdk),
            queue_url,
        })
    }

    /// Reads (and deletes) what the queue holds now into the events seen.
    pub async fn drain(&self) -> anyhow::Result<()> {
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

    /// The events seen so far that `wanted` picks, in the order they arrived.
    pub async fn seen(&self, wanted: impl Fn(&Value) -> bool) -> anyhow::Result<Vec<Value>> {
        self.drain().await?;
        Ok(SEEN
            .lock()
            .await
            .iter()
            .filter(|e| wanted(e))
            .cloned()
            .collect())
    }

    /// Waits until `expected` events that `wanted` picks have arrived, watches a while for
    /// more, and returns all of them in the order they arrived (more than `expected` when
    /// some came twice: the caller's count check shows it).
    pub async fn wait_for(
        &self,
        what: &str,
        expected: usize,
        wanted: impl Fn(&Value) -> bool,
    ) -> anyhow::Result<Vec<Value>> {
        let deadline = Instant::now() + EVENT_TIMEOUT;
        loop {
            let found = self.seen(&wanted).await?;
            if found.len() >= expected {
                break;
            }
            ensure!(
                Instant::now() < deadline,
                "{} of {expected} events {what} reached the tap queue within \
                 {EVENT_TIMEOUT:?}: {found:?}",
                found.len()
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        tokio::time::sleep(REPEAT_WATCH).await;
        let events = self.seen(&wanted).await?;
        for event in &events {
            ensure!(event["source"] == "tiktok-publish", "{event}");
        }
        Ok(events)
    }

    /// The events about post `post_id`, once `expected` of them arrived.
    pub async fn events_of(&self, post_id: &str, expected: usize) -> anyhow::Result<Vec<Value>> {
        self.wait_for(&format!("about post {post_id}"), expected, |e| {
            e["detail"]["post_id"] == post_id
        })
        .await
    }

    /// The one event about post `post_id`: waits for it, then watches a while for a repeat.
    pub async fn only_event_of(&self, post_id: &str) -> anyhow::Result<Value> {
        let events = self.events_of(post_id, 1).await?;
        ensure!(
            events.len() == 1,
            "post {post_id} sent {} events: {events:?}",
            events.len()
        );
        events.into_iter().next().context("one event")
    }
}
