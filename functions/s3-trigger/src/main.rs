//! `s3-trigger`: a video or its options manifest landed under `uploads/{open_id}/`.
//!
//! Payload: S3's EventBridge "Object Created" event itself (see [`event`]; locally the SQS
//! message body carrying it). Creates or completes the post and starts its execution, named
//! after the post, so a repeated event starts nothing new (see
//! `tiktok_publish_core::trigger`). Answers the [`TriggerOutcome`] as JSON; fails with the
//! stable error name as `errorType` (`AwsUnavailable` is worth a redelivery).

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use tiktok_publish_core::trigger::{Trigger, TriggerError, TriggerOutcome};
use tiktok_publish_wiring as wiring;

mod event;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    wiring::telemetry::init_logging();
    // Built once per cold start: clients and settings, no network call.
    let trigger = wiring::trigger::s3_trigger(&wiring::aws_config().await)?;
    lambda_runtime::run(service_fn(|event| handler(&trigger, event))).await
}

async fn handler(
    trigger: &Trigger,
    event: LambdaEvent<Value>,
) -> Result<TriggerOutcome, TriggerError> {
    // Parsed here, not by the runtime: a refused payload must fail with a stable errorType.
    let object = event::parse(event.payload, trigger.settings.key_encoding).inspect_err(|err| {
        tracing::error!(error = %err, "refused a malformed event");
    })?;
    Ok(trigger.object_created(object).await?)
}

#[cfg(test)]
mod tests;
