//! A minimal Lambda Runtime API (the `2018-06-01` interface a `provided.al2023` runtime
//! polls), enough to run one real handler binary: `GET .../invocation/next` hands out the
//! events queued with [`RuntimeApi::invoke`], `POST .../invocation/{id}/response|error`
//! collects the answers, and every poll is timed, so a cold start can be measured to the
//! moment the function asks for its first event.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::{Notify, mpsc, watch};

/// What the function answered to one event.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub request_id: String,
    /// `true` for `/response`, `false` for `/error` (the body then holds errorType).
    pub ok: bool,
    pub body: Value,
    /// When the event left the emulator (the function's `next` poll was answered).
    pub delivered: Instant,
    /// When the answer arrived.
    pub answered: Instant,
}

impl Outcome {
    /// How long the function took over the event, as Lambda would bill it (roughly).
    pub fn duration(&self) -> Duration {
        self.answered.saturating_duration_since(self.delivered)
    }
}

struct Shared {
    polls: Mutex<Vec<Instant>>,
    polled: Notify,
    events: tokio::sync::Mutex<mpsc::UnboundedReceiver<Value>>,
    delivered: Mutex<HashMap<String, Instant>>,
    outcomes: mpsc::UnboundedSender<Outcome>,
    init_error: Mutex<Option<String>>,
    shutdown: watch::Receiver<bool>,
    next_id: std::sync::atomic::AtomicU64,
    /// How long each invocation may run (the deadline header).
    timeout: Duration,
}

/// One emulator, for one function process at a time.
pub struct RuntimeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    events: mpsc::UnboundedSender<Value>,
    outcomes: tokio::sync::Mutex<mpsc::UnboundedReceiver<Outcome>>,
    shutdown: watch::Sender<bool>,
    server: tokio::task::JoinHandle<()>,
}

const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:bench";

impl RuntimeApi {
    /// Starts an emulator on a free loopback port; `timeout` is each invocation's deadline.
    pub async fn start(timeout: Duration) -> anyhow::Result<RuntimeApi> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("bind the runtime API emulator")?;
        let addr = listener.local_addr()?;
        let (events, events_rx) = mpsc::unbounded_channel();
        let (outcomes_tx, outcomes_rx) = mpsc::unbounded_channel();
        let (shutdown, shutdown_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            polls: Mutex::new(Vec::new()),
            polled: Notify::new(),
            events: tokio::sync::Mutex::new(events_rx),
            delivered: Mutex::new(HashMap::new()),
            outcomes: outcomes_tx,
            init_error: Mutex::new(None),
            shutdown: shutdown_rx,
            next_id: std::sync::atomic::AtomicU64::new(1),
            timeout,
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(Arc::clone(&shared));
        let mut stop = shutdown.subscribe();
        let server = tokio::spawn(async move {
            let serving = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = stop.wait_for(|stopped| *stopped).await;
            });
            if let Err(err) = serving.await {
                eprintln!("runtime API emulator stopped: {err}");
            }
        });
        Ok(RuntimeApi {
            addr,
            shared,
            events,
            outcomes: tokio::sync::Mutex::new(outcomes_rx),
            shutdown,
            server,
        })
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// When the function made its `n`th poll (1-based), waiting up to `timeout` for it.
    pub async fn wait_for_poll(&self, n: usize, timeout: Duration) -> anyhow::Result<Instant> {
        let until = Instant::now() + timeout;
        loop {
            let notified = self.shared.polled.notified();
            if let Some(at) = self.polls().get(n - 1) {
                return Ok(*at);
            }
            if let Some(reason) = self.init_error() {
                bail!("the function reported an init error: {reason}");
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                bail!("the function made no poll number {n} within {timeout:?}");
            }
            let _ = tokio::time::timeout(left, notified).await;
        }
    }

    /// Every poll so far.
    pub fn polls(&self) -> Vec<Instant> {
        self.shared
            .polls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// What the function sent to `/init/error`, if it did.
    pub fn init_error(&self) -> Option<String> {
        self.shared
            .init_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Queues `event` for the function's next poll and waits up to `timeout` for its answer.
    pub async fn invoke(&self, event: Value, timeout: Duration) -> anyhow::Result<Outcome> {
        self.events
            .send(event)
            .context("the emulator's event queue is closed")?;
        let mut outcomes = self.outcomes.lock().await;
        match tokio::time::timeout(timeout, outcomes.recv()).await {
            Ok(Some(outcome)) => Ok(outcome),
            Ok(None) => bail!("the emulator stopped before the function answered"),
            Err(_) => bail!("the function did not answer within {timeout:?}"),
        }
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        self.server.abort();
    }
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    shared
        .polls
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Instant::now());
    shared.polled.notify_waiters();
    let mut shutdown = shared.shutdown.clone();
    let event = {
        let mut events = shared.events.lock().await;
        tokio::select! {
            event = events.recv() => event,
            _ = shutdown.wait_for(|stopped| *stopped) => None,
        }
    };
    let Some(event) = event else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let id = format!(
        "bench-{}",
        shared
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let deadline_ms = (SystemTime::now() + shared.timeout)
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    shared
        .delivered
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(id.clone(), Instant::now());
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    set("lambda-runtime-aws-request-id", id.clone());
    set("lambda-runtime-deadline-ms", deadline_ms.to_string());
    set("lambda-runtime-invoked-function-arn", FUNCTION_ARN.into());
    set(
        "lambda-runtime-trace-id",
        format!("Root=1-00000000-{id:0>24};Sampled=0"),
    );
    set("content-type", "application/json".into());
    (StatusCode::OK, headers, event.to_string()).into_response()
}

fn record(shared: &Shared, id: String, ok: bool, body: &Bytes) -> StatusCode {
    let answered = Instant::now();
    let delivered = shared
        .delivered
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(&id);
    let Some(delivered) = delivered else {
        return StatusCode::NOT_FOUND;
    };
    let body = serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()));
    let _ = shared.outcomes.send(Outcome {
        request_id: id,
        ok,
        body,
        delivered,
        answered,
    });
    StatusCode::ACCEPTED
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    record(&shared, id, true, &body)
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    record(&shared, id, false, &body)
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    *shared
        .init_error
        .lock()
        .unwrap_or_else(PoisonError::into_inner) =
        Some(String::from_utf8_lossy(&body).into_owned());
    shared.polled.notify_waiters();
    StatusCode::ACCEPTED
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_event_goes_to_the_next_poll_and_its_answer_comes_back() {
        let api = RuntimeApi::start(Duration::from_secs(60)).await.unwrap();
        let base = format!("http://{}/2018-06-01/runtime", api.address());
        let http = reqwest::Client::new();
        let function = {
            let (http, base) = (http.clone(), base.clone());
            tokio::spawn(async move {
                let next = http
                    .get(format!("{base}/invocation/next"))
                    .send()
                    .await
                    .unwrap();
                let id = next.headers()["lambda-runtime-aws-request-id"]
                    .to_str()
                    .unwrap()
                    .to_owned();
                let deadline: u128 = next.headers()["lambda-runtime-deadline-ms"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                let event: Value = next.json().await.unwrap();
                let answer = http
                    .post(format!("{base}/invocation/{id}/response"))
                    .body(serde_json::json!({"echo": event["n"]}).to_string())
                    .send()
                    .await
                    .unwrap();
                (answer.status(), deadline)
            })
        };
        let first_poll = api.wait_for_poll(1, Duration::from_secs(5)).await.unwrap();
        let outcome = api
            .invoke(serde_json::json!({"n": 7}), Duration::from_secs(5))
            .await
            .unwrap();
        let (status, deadline) = function.await.unwrap();
        assert_eq!(status, StatusCode::ACCEPTED);
        assert!(outcome.ok);
        assert_eq!(outcome.body, serde_json::json!({"echo": 7}));
        assert!(outcome.delivered >= first_poll);
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis();
        assert!(deadline > now_ms + 50_000 && deadline <= now_ms + 60_000);
        assert_eq!(api.polls().len(), 1);
    }
}
