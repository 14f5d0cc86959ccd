//! `chunk-upload`: the publish state machine's `Upload` task.
//!
//! Input `{"post_id"}`; output `{"post_id", "done", "wait_seconds"}`. Streams the next chunks
//! from S3 to TikTok's upload URL, in order, until the upload completes or the invocation's
//! time runs short (see `Pipeline::upload_chunks`).

use std::time::{Instant, SystemTime};

use lambda_runtime::{Context, LambdaEvent, service_fn};
use serde_json::Value;
use tiktok_publish_core::pipeline::{StepError, StepInput, UploadOutput};
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
) -> Result<UploadOutput, StepError> {
    let deadline = deadline(&event.context);
    let input: StepInput = task_input(event.payload)?;
    let step = async {
        pipeline
            .get()
            .await?
            .upload_chunks(&input.post_id, deadline)
            .await
    };
    // Boxed: the step's future nests the SDK's, too deep for the compiler to lay out
    // inside the runtime's own futures.
    Box::pin(step.instrument(post_span(&input.post_id))).await
}

/// The invocation's deadline as an `Instant`, when it lies ahead. `cargo lambda watch`
/// sends one in 1970: then `None`, and the configured upload budget applies.
fn deadline(context: &Context) -> Option<Instant> {
    let left = context
        .deadline()
        .duration_since(SystemTime::now())
        .ok()
        .filter(|left| !left.is_zero())?;
    Some(Instant::now() + left)
}

#[cfg(test)]
mod tests;
