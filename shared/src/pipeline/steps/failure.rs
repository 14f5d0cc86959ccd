//! The record-failure step: what a Catch hands over becomes the post's typed failure.

use serde::Deserialize;

use crate::errors::ErrorKind;
use crate::pipeline::{Pipeline, StatusOutput, StepError, StepInput};
use crate::store::{Cause, PostFailure, PostState, PostUpdate, StoreError, unix_now};

/// The error a Catch hands to `record_failure`: `{"Error": ..., "Cause": ...}`.
#[derive(Debug, Clone, Deserialize)]
pub struct StateMachineError {
    #[serde(rename = "Error", default)]
    pub error: String,
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

/// `record_failure`'s input.
#[derive(Debug, Clone, Deserialize)]
pub struct FailureInput {
    pub post_id: String,
    pub error: StateMachineError,
}

impl Pipeline {
    /// The state machine's last resort: records a failure a step could not record itself.
    /// A post already final keeps what it has.
    #[tracing::instrument(skip(self, input), fields(post_id = %input.post_id, error = %input.error.error))]
    pub async fn record_failure(&self, input: &FailureInput) -> Result<(), StepError> {
        let post = self.load(&input.post_id).await?;
        if post.state.is_final() {
            return Ok(());
        }
        let detail = (!input.error.cause.is_empty()).then(|| {
            let mut detail = input.error.cause.clone();
            detail.truncate(detail.floor_char_boundary(1000));
            detail
        });
        let cause = Cause::PipelineStopped {
            error: input.error.error.clone(),
            detail,
        };
        let advice = retry_advice(cause.kind());
        let failure = PostFailure::new(cause, advice);
        let from: Vec<PostState> = PostState::ALL
            .iter()
            .copied()
            .filter(|s| !s.is_final())
            .collect();
        match self
            .posts
            .transition(
                &post.id,
                &from,
                PostState::Failed,
                PostUpdate::failed(failure),
                unix_now(),
            )
            .await
        {
            Ok(moved) => {
                self.ends.settle(moved).await;
                Ok(())
            }
            Err(StoreError::StateConflict { .. }) => Ok(()),
            Err(err) => Err(StepError::from_error(err)),
        }
    }
}

pub(super) fn retry_advice(kind: ErrorKind) -> Option<String> {
    match kind.remedy() {
        crate::errors::Remedy::Retry => {
            Some("TikTok or AWS kept failing; post it again later".to_owned())
        }
        crate::errors::Remedy::Reconnect => {
            Some("Connect the TikTok account again, then post it again".to_owned())
        }
        _ => None,
    }
}

/// The two tasks the `publish-status` Lambda serves, told apart by the state machine's
/// `action`: `{"post_id", "action": "status"}` and `{"post_id", "action": "record_failure",
/// "error": {"Error", "Cause"}}`.
#[derive(Debug, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum StatusTask {
    Status(StepInput),
    RecordFailure(FailureInput),
}

/// What a [`StatusTask`] answers: TikTok's status, or that the failure was recorded.
#[derive(Debug, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum StatusAnswer {
    Status(StatusOutput),
    Recorded { post_id: String },
}

impl StatusTask {
    /// The post the task is about (for the invocation's span).
    pub fn post_id(&self) -> &str {
        match self {
            StatusTask::Status(input) => &input.post_id,
            StatusTask::RecordFailure(input) => &input.post_id,
        }
    }

    /// Runs the task on `pipeline`.
    pub async fn run(self, pipeline: &Pipeline) -> Result<StatusAnswer, StepError> {
        match self {
            StatusTask::Status(input) => pipeline
                .check_status(&input.post_id)
                .await
                .map(StatusAnswer::Status),
            StatusTask::RecordFailure(input) => {
                pipeline.record_failure(&input).await?;
                Ok(StatusAnswer::Recorded {
                    post_id: input.post_id,
                })
            }
        }
    }
}
