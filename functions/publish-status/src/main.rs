//! `publish-status`: the publish state machine's `Status` and `RecordFailure` tasks.
//!
//! `{"post_id", "action": "status"}` fetches TikTok's status and records it: output
//! `{"post_id", "final", "uploaded", "wait_seconds"}` (see `Pipeline::check_status`).
//! `{"post_id", "action": "record_failure", "error": {"Error", "Cause"}}` records a failure
//! a step could not record itself; its output is discarded.

use lambda_runtime::{LambdaEvent, service_fn};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tiktok_publish_core::pipeline::{FailureInput, StatusOutput, StepError, StepInput};
use tiktok_publish_wiring::lambda::{LazyPipeline, post_span, task_input};
use tiktok_publish_wiring::{self as wiring, Parts};
use tracing::Instrument;

/// The two tasks this function serves, told apart by the state machine's `action`.
#[derive(Debug, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
enum Task {
    Status(StepInput),
    RecordFailure(FailureInput),
}

#[derive(Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
enum Answer {
    Status(StatusOutput),
    Recorded { post_id: String },
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tiktok_publish_wiring::telemetry::init_logging();
    let pipeline = LazyPipeline::new(Parts::from_env(wiring::aws_config().await));
    lambda_runtime::run(service_fn(|event| handler(&pipeline, event))).await
}

async fn handler(pipeline: &LazyPipeline, event: LambdaEvent<Value>) -> Result<Answer, StepError> {
    let task: Task = task_input(event.payload)?;
    let span = post_span(match &task {
        Task::Status(input) => &input.post_id,
        Task::RecordFailure(input) => &input.post_id,
    });
    let step = async {
        let pipeline = pipeline.get().await?;
        match task {
            Task::Status(input) => pipeline
                .check_status(&input.post_id)
                .await
                .map(Answer::Status),
            Task::RecordFailure(input) => {
                pipeline.record_failure(&input).await?;
                Ok(Answer::Recorded {
                    post_id: input.post_id,
                })
            }
        }
    };
    // Boxed: the step's future nests the SDK's, too deep for the compiler to lay out
    // inside the runtime's own futures.
    Box::pin(step.instrument(span)).await
}

#[cfg(test)]
mod tests;
