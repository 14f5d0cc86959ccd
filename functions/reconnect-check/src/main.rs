//! `reconnect-check` (scheduled daily): an `AccountNeedsReconnect` event for every account
//! whose refresh token lapses within `RECONNECT_WARN_DAYS`, has lapsed, or was refused (see
//! `tiktok_publish_core::reconnect`). The output is the run's report.

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use tiktok_publish_core::reconnect::{ReconnectCheck, ReconnectCheckError, ReconnectReport};
use tiktok_publish_core::store::unix_now;
use tiktok_publish_wiring::{self as wiring, Parts};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tiktok_publish_wiring::telemetry::init_logging();
    let parts = Parts::from_env(wiring::aws_config().await)?;
    let check = parts.reconnect_check()?;
    lambda_runtime::run(service_fn(|event| handler(&check, event))).await
}

async fn handler(
    check: &ReconnectCheck,
    _event: LambdaEvent<Value>,
) -> Result<ReconnectReport, ReconnectCheckError> {
    check.run(unix_now()).await
}

#[cfg(test)]
mod tests;
