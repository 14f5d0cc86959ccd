//! The S3 trigger's service, built once per cold start from the settings it reads.

use std::sync::Arc;

use tiktok_publish_adapters::{DynamoPostStore, S3VideoSource, SfnExecutions, s3_client};
use tiktok_publish_core::config::{ConfigError, required};
use tiktok_publish_core::intake::Intake;
use tiktok_publish_core::trigger::{Trigger, TriggerSettings};

use crate::outcome_posts;

/// Only the posts table (`POSTS_TABLE`), the bucket, the state machine (`STATE_MACHINE_ARN`)
/// and the event bus (`EVENT_BUS_NAME`: a post refused on arrival sends PostFailed, its
/// metric and its retention tag), with [`TriggerSettings::from_env`]: [`Parts`](crate::Parts)
/// would also demand the OAuth and allowance tables, which this function is given no names for.
pub fn s3_trigger(sdk: &aws_config::SdkConfig) -> Result<Trigger, ConfigError> {
    let posts = DynamoPostStore::new(aws_sdk_dynamodb::Client::new(sdk), required("POSTS_TABLE")?);
    let executions = SfnExecutions::new(
        aws_sdk_sfn::Client::new(sdk),
        required("STATE_MACHINE_ARN")?,
    );
    Ok(Trigger {
        intake: Intake {
            // A post refused on arrival (a malformed manifest) is reported like any end.
            posts: outcome_posts(sdk, s3_client(sdk), Arc::new(posts)),
            source: Arc::new(S3VideoSource::new(s3_client(sdk))),
            executions: Arc::new(executions),
        },
        settings: TriggerSettings::from_env()?,
    })
}
