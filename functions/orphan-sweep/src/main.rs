//! `orphan-sweep` (scheduled every 15 minutes): videos under the upload prefix whose S3
//! event was lost are claimed through the intake, and posts stuck in a non-final state past
//! their deadline are failed with a reason (see `tiktok_publish_core::sweep`). The output is
//! the run's report.
//!
//! The schedule's events carry nothing the sweep reads. An operator may invoke it at once
//! with `{"orphan_after_minutes": 0}` (and/or `"stuck_after_minutes"`) to use other
//! thresholds for that run; a bad value fails the invocation (`InvalidSweepRequest`).

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use tiktok_publish_core::store::unix_now;
use tiktok_publish_core::sweep::{Sweep, SweepError, SweepOverrides, SweepReport};
use tiktok_publish_wiring::{self as wiring, Parts};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tiktok_publish_wiring::telemetry::init_logging();
    // Built once per cold start: clients and settings, no network call.
    let parts = Parts::from_env(wiring::aws_config().await)?;
    let sweep = parts.sweep()?;
    lambda_runtime::run(service_fn(|event| handler(&sweep, event))).await
}

/// Every run looks at everything, with the thresholds the payload may override.
async fn handler(sweep: &Sweep, event: LambdaEvent<Value>) -> Result<SweepReport, SweepError> {
    let sweep = sweep.overridden(SweepOverrides::from_payload(&event.payload)?)?;
    // Boxed: the sweep's future nests the SDK's, too deep to lay out inline.
    Box::pin(sweep.run(unix_now())).await
}

#[cfg(test)]
mod tests;
