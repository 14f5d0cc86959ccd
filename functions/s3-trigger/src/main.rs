//! `s3-trigger`: a video or its options manifest landed under `uploads/{open_id}/`.
//!
//! Payload: S3's EventBridge "Object Created" event itself (see [`event`]; locally the SQS
//! message body carrying it). Creates or completes the post and starts its execution, named
//! after the post, so a repeated event starts nothing new (see
//! `tiktok_publish_core::trigger`). Answers the [`TriggerOutcome`] as JSON; fails with the
//! stable error name as `errorType` (`AwsUnavailable` is worth a redelivery).

use std::sync::Arc;

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;
use tiktok_publish_core::config::{ConfigError, optional, required};
use tiktok_publish_core::errors::{Classify, ErrorKind};
use tiktok_publish_core::intake::{Intake, IntakeError, SfnExecutions};
use tiktok_publish_core::media::s3::{S3VideoSource, s3_client};
use tiktok_publish_core::store::DynamoPostStore;
use tiktok_publish_core::trigger::{DEFAULT_UPLOAD_PREFIX, TriggerOutcome, handle_object_created};
use tiktok_publish_wiring as wiring;

mod event;

use event::{EventError, KeyEncoding};

/// Why an event was not handled.
#[derive(Debug, thiserror::Error)]
enum TriggerError {
    /// Not an S3 "Object Created" event: a misrouted or corrupted event no retry fixes.
    #[error("refused the event, nothing was changed: {0}")]
    MalformedEvent(#[from] EventError),
    #[error(transparent)]
    Intake(#[from] IntakeError),
}

impl Classify for TriggerError {
    fn kind(&self) -> ErrorKind {
        match self {
            TriggerError::MalformedEvent(_) => ErrorKind::Internal,
            TriggerError::Intake(err) => err.kind(),
        }
    }
}

impl From<TriggerError> for Diagnostic {
    fn from(error: TriggerError) -> Self {
        Diagnostic {
            error_type: error.kind().name().to_owned(),
            error_message: error.to_string(),
        }
    }
}

/// What the handler needs, built once per cold start.
struct Trigger {
    intake: Intake,
    /// `UPLOAD_PREFIX`.
    prefix: String,
    /// `VIDEO_BUCKET`: events of other buckets are ignored (the rule filters on it too).
    bucket: Option<String>,
    /// `S3_EVENT_KEY_ENCODING`: `url` as AWS sends keys (the default), `raw` as moto does.
    key_encoding: KeyEncoding,
}

impl Trigger {
    /// Only the posts table, the bucket, the state machine and the event bus (`EVENT_BUS_NAME`:
    /// a post refused on arrival sends PostFailed, its metric and its retention tag): `wiring::Parts` would also demand the
    /// OAuth and allowance tables, which this function is given no names for.
    fn from_env(sdk: &aws_config::SdkConfig) -> Result<Trigger, ConfigError> {
        let posts =
            DynamoPostStore::new(aws_sdk_dynamodb::Client::new(sdk), required("POSTS_TABLE")?);
        let executions = SfnExecutions::new(
            aws_sdk_sfn::Client::new(sdk),
            required("STATE_MACHINE_ARN")?,
        );
        Ok(Trigger {
            intake: Intake {
                // A post refused on arrival (a malformed manifest) is reported like any end.
                posts: wiring::outcome_posts(sdk, s3_client(sdk), Arc::new(posts)),
                source: Arc::new(S3VideoSource::new(s3_client(sdk))),
                executions: Arc::new(executions),
            },
            prefix: optional("UPLOAD_PREFIX").unwrap_or_else(|| DEFAULT_UPLOAD_PREFIX.to_owned()),
            bucket: optional("VIDEO_BUCKET"),
            key_encoding: KeyEncoding::from_env()?,
        })
    }
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tiktok_publish_wiring::telemetry::init_logging();
    let sdk = wiring::aws_config().await;
    let trigger = Trigger::from_env(&sdk)?;
    lambda_runtime::run(service_fn(|event| handler(&trigger, event))).await
}

async fn handler(
    trigger: &Trigger,
    event: LambdaEvent<Value>,
) -> Result<TriggerOutcome, TriggerError> {
    // Parsed here, not by the runtime: a refused payload must fail with a stable errorType.
    let object = event::parse(event.payload, trigger.key_encoding).inspect_err(|err| {
        tracing::error!(error = %err, "refused a malformed event");
    })?;
    if let Some(expected) = &trigger.bucket
        && object.bucket != *expected
    {
        tracing::warn!(bucket = %object.bucket, "event of another bucket ignored");
        return Ok(TriggerOutcome::Ignored {
            key: object.key,
            reason: format!("bucket {} is not {expected}", object.bucket),
        });
    }
    Ok(handle_object_created(
        &trigger.intake,
        &trigger.prefix,
        &object.bucket,
        &object.key,
        object.version_id.as_deref(),
    )
    .await?)
}

#[cfg(test)]
mod tests;
