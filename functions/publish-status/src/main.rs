//! `publish-status`: the publish state machine's `Status` and `RecordFailure` tasks.
//!
//! `{"post_id", "action": "status"}` fetches TikTok's status and records it: output
//! `{"post_id", "final", "uploaded", "wait_seconds"}` (see `Pipeline::check_status`).
//! `{"post_id", "action": "record_failure", "error": {"Error", "Cause"}}` records a failure
//! a step could not record itself; its output is discarded.

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use tiktok_publish_core::pipeline::{StatusAnswer, StatusTask, StepError};
use tiktok_publish_wiring::lambda::{LazyPipeline, post_span, task_input};
use tiktok_publish_wiring::{self as wiring, Parts};
use tracing::Instrument;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tiktok_publish_wiring::telemetry::init_logging();
    let pipeline = LazyPipeline::new(Parts::from_env(wiring::aws_config().await));
    lambda_runtime::run(service_fn(|event| handler(&pipeline, event))).await
}

async fn handler(
    pipeline: &LazyPipeline,
    event: LambdaEvent<Value>,
) -> Result<StatusAnswer, StepError> {
    let task: StatusTask = task_input(event.payload)?;
    let span = post_span(task.post_id());
    let step = async { task.run(pipeline.get().await?).await };
    // Boxed: the step's future nests the SDK's, too deep for the compiler to lay out
    // inside the runtime's own futures.
    Box::pin(step.instrument(span)).await
}

#[cfg(test)]
mod tests;
