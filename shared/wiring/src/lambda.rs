//! What the three step Lambdas (`upload-init`, `chunk-upload`, `publish-status`) share:
//! the pipeline built on the first event and kept, task input parsed into a typed value
//! or refused as `Internal`, and the span that ties an invocation's logs to its post.

use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;

use tiktok_publish_core::errors::ErrorKind;
use tiktok_publish_core::pipeline::{Pipeline, StepError};
use tiktok_publish_core::setup::WiringError;

use crate::Parts;

/// The pipeline of one Lambda instance. Building it fetches the TikTok client secret, so it
/// happens on the first event rather than at cold start, and once per instance.
pub struct LazyPipeline {
    parts: Result<Parts, StepError>,
    pipeline: OnceCell<Pipeline>,
}

impl LazyPipeline {
    /// Keeps a cold-start wiring failure (a missing setting) to answer it to every event:
    /// a function that dies during init reaches the state machine as an opaque Lambda
    /// error, while a `StepError` carries a name it routes on and a message saying what to fix.
    pub fn new(parts: Result<Parts, WiringError>) -> Self {
        LazyPipeline {
            parts: parts.map_err(StepError::from_error),
            pipeline: OnceCell::new(),
        }
    }

    /// A pipeline built already (tests, or a caller that wires it some other way).
    pub fn ready(pipeline: Pipeline) -> Self {
        LazyPipeline {
            parts: Err(StepError::new(
                ErrorKind::Internal,
                "the pipeline was given ready-made; there are no parts to build it from",
            )),
            pipeline: OnceCell::new_with(Some(pipeline)),
        }
    }

    /// The pipeline, built on first use. A failed build is not kept: the next event tries
    /// again (Secrets Manager may have been briefly unavailable).
    pub async fn get(&self) -> Result<&Pipeline, StepError> {
        self.pipeline
            .get_or_try_init(|| async {
                let parts = self.parts.as_ref().map_err(Clone::clone)?;
                parts.pipeline().await.map_err(StepError::from_error)
            })
            .await
    }
}

/// The task input as `T`, or an `Internal` error naming the field at fault. The runtime's
/// own deserialization failure would carry an errorType the state machine does not know.
pub fn task_input<T: DeserializeOwned>(payload: serde_json::Value) -> Result<T, StepError> {
    serde_path_to_error::deserialize(payload).map_err(|err| {
        let at = match err.path().to_string() {
            root if root == "." => String::new(),
            path => format!(" at {path}"),
        };
        StepError::new(
            ErrorKind::Internal,
            format!(
                "malformed task input{at}: {}; the state machine must pass {{\"post_id\": ...}} \
                 (and \"action\" to publish-status)",
                err.into_inner()
            ),
        )
    })
}

/// The span every invocation runs in, so each log line names its post.
pub fn post_span(post_id: &str) -> tracing::Span {
    tracing::info_span!("post", post_id = %post_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tiktok_publish_core::pipeline::{FailureInput, StepInput};

    #[test]
    fn malformed_input_is_internal_and_names_the_field() {
        let err = task_input::<StepInput>(serde_json::json!({"post": "x"})).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Internal);
        assert!(err.message.contains("post_id"), "{err}");
        let err = task_input::<FailureInput>(serde_json::json!({"post_id": "x", "error": 3}))
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Internal);
        assert!(
            err.message.starts_with("malformed task input at error:"),
            "{err}"
        );
        let ok: StepInput = task_input(serde_json::json!({"post_id": "abc"})).unwrap();
        assert_eq!(ok.post_id, "abc");
    }
}
