//! `upload-init`: the publish state machine's `Init` task.
//!
//! Input `{"post_id"}`; output `{"post_id", "ready", "wait_seconds"}`. Refuses bad posts,
//! waits for `publish_at`, the options or the account's allowance, otherwise inits the
//! upload at TikTok and records the publish id (see `Pipeline::init_upload`).

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use tiktok_publish_core::pipeline::{InitOutput, StepError, StepInput};
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
) -> Result<InitOutput, StepError> {
    let input: StepInput = task_input(event.payload)?;
    let step = async { pipeline.get().await?.init_upload(&input.post_id).await };
    // Boxed: the step's future nests the SDK's, too deep for the compiler to lay out
    // inside the runtime's own futures.
    Box::pin(step.instrument(post_span(&input.post_id))).await
}

#[cfg(test)]
mod tests;
