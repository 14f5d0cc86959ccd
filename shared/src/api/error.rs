//! The API's answers and its one error shape: `{"error": {"code", "message", "field"?,
//! "state"?}}` with a status that says what the caller can do.

use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::errors::{Classify, ErrorKind};
use crate::intake::IntakeError;
use crate::store::{PostState, StoreError};
use crate::tokens::TokenError;
use tiktok_publish_domain::options::OptionsError;

/// How long a caller should wait before retrying a 503.
pub const RETRY_AFTER_SECS: u64 = 5;

/// An answer ready to be sent: status, extra headers, JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiAnswer {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Value,
}

impl ApiAnswer {
    pub fn json(status: u16, body: Value) -> ApiAnswer {
        ApiAnswer {
            status,
            headers: Vec::new(),
            body,
        }
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> ApiAnswer {
        self.headers.push((name, value.into()));
        self
    }
}

/// A refused or failed request. Serialized, it is the `error` of the answer's body
/// ([`ErrorBody`]); the status and `Retry-After` travel beside it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, ToSchema)]
#[error("{status} {code}: {message}")]
pub struct ApiError {
    #[serde(skip)]
    pub status: u16,
    /// Stable, machine-readable (`invalid_request`, `post_not_found`, ...).
    pub code: &'static str,
    /// What went wrong and what to do, for people.
    pub message: String,
    /// The request's part at fault: a JSON path of the body (`options.title`, `images[2]`),
    /// a path parameter (`id`, `open_id`), a header (`Idempotency-Key`), or the request's
    /// `path` or `method` (no route). Every 4xx has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The post's state, for conflicts about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<PostState>,
    /// Seconds, for 503s.
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

/// The body of every failure: `{"error": {"code", "message", "field"?, "state"?}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ApiError,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            state: None,
            retry_after: None,
        }
    }

    /// 400 naming the field and the rule it broke.
    pub fn invalid(field: impl Into<String>, rule: impl Into<String>) -> ApiError {
        let field = field.into();
        let rule = rule.into();
        ApiError {
            field: Some(field.clone()),
            ..ApiError::new(400, "invalid_request", format!("{field}: {rule}"))
        }
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(404, code, message)
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(409, code, message)
    }

    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError {
            retry_after: Some(RETRY_AFTER_SECS),
            ..ApiError::new(503, "unavailable", message)
        }
    }

    /// A bug or misconfiguration. The detail goes to the log only: it may name tables,
    /// ARNs or SDK internals that callers have no use for.
    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %detail, "internal error");
        ApiError::new(
            500,
            "internal",
            "internal error; the details are in the function's log",
        )
    }

    pub fn with_field(mut self, field: impl Into<String>) -> ApiError {
        self.field = Some(field.into());
        self
    }

    /// A refusal (4xx) about what `field` names, unless it names a more precise field
    /// already: the answer of an operation on one post or account names its path parameter.
    pub fn or_field(self, field: &str) -> ApiError {
        match (&self.field, self.status) {
            (None, 400..=499) => self.with_field(field),
            _ => self,
        }
    }

    pub fn with_state(mut self, state: PostState) -> ApiError {
        self.state = Some(state);
        self
    }

    /// Maps a core failure by its kind: transient → 503, conflict → 409, the rest → 500.
    pub fn from_kind(kind: ErrorKind, detail: impl std::fmt::Display) -> ApiError {
        match kind {
            ErrorKind::AwsUnavailable
            | ErrorKind::TikTokUnavailable
            | ErrorKind::TikTokRateLimited => {
                tracing::warn!(error = %detail, "dependency unavailable");
                ApiError::unavailable(format!("{detail}; retry shortly"))
            }
            ErrorKind::PostConflict => ApiError::conflict("conflict", detail.to_string()),
            _ => ApiError::internal(detail),
        }
    }

    pub fn answer(&self) -> ApiAnswer {
        let body = ErrorBody {
            error: self.clone(),
        };
        // Strings and a unit enum: serializing cannot fail; were it to, code and message stay.
        let body = serde_json::to_value(body)
            .unwrap_or_else(|_| json!({ "error": { "code": self.code, "message": self.message } }));
        let answer = ApiAnswer::json(self.status, body);
        match self.retry_after {
            Some(secs) => answer.with_header("retry-after", secs.to_string()),
            None => answer,
        }
    }
}

impl From<OptionsError> for ApiError {
    fn from(err: OptionsError) -> Self {
        ApiError::invalid(err.field, err.rule)
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match &err {
            StoreError::StateConflict { found, .. } => {
                ApiError::conflict("state_conflict", err.to_string()).with_state(*found)
            }
            _ => ApiError::from_kind(err.kind(), &err),
        }
    }
}

impl From<IntakeError> for ApiError {
    fn from(err: IntakeError) -> Self {
        match err {
            IntakeError::Source(crate::media::SourceError::NotFound { bucket, key }) => {
                ApiError::not_found(
                    "video_not_found",
                    format!(
                        "s3://{bucket}/{key} does not exist (or that version is gone): upload \
                         the video first"
                    ),
                )
                .with_field("key")
            }
            IntakeError::Store(err) => err.into(),
            err => ApiError::from_kind(err.kind(), &err),
        }
    }
}

impl From<TokenError> for ApiError {
    fn from(err: TokenError) -> Self {
        ApiError::from_kind(err.kind(), &err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_render_code_message_field_and_retry_after() {
        let answer = ApiError::invalid("options.title", "is too long").answer();
        assert_eq!(answer.status, 400);
        assert_eq!(answer.body["error"]["field"], "options.title");
        assert_eq!(
            answer.body["error"]["message"],
            "options.title: is too long"
        );

        let answer = ApiError::from_kind(ErrorKind::AwsUnavailable, "throttled").answer();
        assert_eq!(answer.status, 503);
        assert_eq!(answer.headers, vec![("retry-after", "5".to_owned())]);

        let answer = ApiError::from_kind(ErrorKind::Internal, "table x missing").answer();
        assert_eq!(answer.status, 500);
        assert!(!answer.body.to_string().contains("table x"));

        // A refusal about a post names the path's id unless it names a finer field.
        assert_eq!(
            ApiError::conflict("c", "m").or_field("id").field.as_deref(),
            Some("id")
        );
        let precise = ApiError::invalid("options.title", "is too long").or_field("id");
        assert_eq!(precise.field.as_deref(), Some("options.title"));
        assert_eq!(ApiError::unavailable("m").or_field("id").field, None);

        let conflict = StoreError::StateConflict {
            id: "p".into(),
            expected: vec![PostState::Queued],
            found: PostState::Uploading,
        };
        let answer = ApiError::from(conflict).answer();
        assert_eq!(answer.status, 409);
        assert_eq!(answer.body["error"]["state"], "UPLOADING");
    }
}
