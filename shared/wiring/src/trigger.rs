//! The S3 trigger's service, built once per cold start from the settings it reads.

use std::sync::Arc;

use tiktok_publish_adapters::{DynamoPostStore, S3VideoSource, SfnExecutions};
use tiktok_publish_core::config::ConfigError;
use tiktok_publish_core::intake::Intake;
use tiktok_publish_core::trigger::Trigger;

use crate::parts::s3_client;
use crate::{Settings, post_ends};

/// Only the posts table (`POSTS_TABLE`), the bucket, the state machine (`STATE_MACHINE_ARN`)
/// and the event bus (`EVENT_BUS_NAME`: a post refused on arrival sends PostFailed, its
/// metric and its retention tag), with [`Settings::trigger`]: [`Parts`](crate::Parts) would
/// also demand the OAuth and allowance tables, which this function is given no names for.
pub fn s3_trigger(sdk: &aws_config::SdkConfig) -> Result<Trigger, ConfigError> {
    s3_trigger_with(sdk, &Settings::from_env())
}

/// [`s3_trigger`] with these settings.
pub fn s3_trigger_with(
    sdk: &aws_config::SdkConfig,
    settings: &Settings,
) -> Result<Trigger, ConfigError> {
    let posts = DynamoPostStore::new(
        aws_sdk_dynamodb::Client::new(sdk),
        settings.required("POSTS_TABLE")?,
    );
    let executions =
        SfnExecutions::new(aws_sdk_sfn::Client::new(sdk), settings.state_machine_arn()?);
    let s3 = s3_client(sdk, settings);
    Ok(Trigger {
        intake: Intake {
            posts: Arc::new(posts),
            // A post refused on arrival (a malformed manifest) is reported like any end.
            ends: post_ends(sdk, settings, s3.clone()),
            source: Arc::new(S3VideoSource::new(s3)),
            executions: Arc::new(executions),
        },
        settings: settings.trigger()?,
    })
}
