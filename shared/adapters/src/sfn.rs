//! [`Executions`] on Step Functions: one execution per post, named after it.

use async_trait::async_trait;
use tiktok_publish_core::intake::{Executions, IntakeError};
use tiktok_publish_core::store::PostId;

/// [`Executions`] on Step Functions.
#[derive(Debug, Clone)]
pub struct SfnExecutions {
    client: aws_sdk_sfn::Client,
    state_machine_arn: String,
}

impl SfnExecutions {
    pub fn new(client: aws_sdk_sfn::Client, state_machine_arn: impl Into<String>) -> Self {
        SfnExecutions {
            client,
            state_machine_arn: state_machine_arn.into(),
        }
    }

    /// `arn:...:stateMachine:NAME` → `arn:...:execution:NAME:POST_ID`.
    fn execution_arn(&self, post_id: &PostId) -> String {
        format!(
            "{}:{}",
            self.state_machine_arn
                .replacen(":stateMachine:", ":execution:", 1),
            post_id
        )
    }
}

fn sfn_error<E, R>(err: aws_sdk_sfn::error::SdkError<E, R>) -> IntakeError
where
    E: aws_sdk_sfn::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_sfn::error::SdkError;
    let retryable = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(e) => matches!(
            e.err().code(),
            Some("ThrottlingException" | "ServiceUnavailable" | "InternalFailure")
        ),
        _ => false,
    };
    IntakeError::Executions {
        detail: aws_sdk_sfn::error::DisplayErrorContext(&err).to_string(),
        retryable,
    }
}

/// Starts the execution `name` of post `post_id` (input `{"post_id"}`). An execution of that
/// name that exists already is this post's (same name, same input): nothing more to do.
async fn start_named_execution(
    client: &aws_sdk_sfn::Client,
    state_machine_arn: &str,
    post_id: &PostId,
    name: &str,
) -> Result<(), IntakeError> {
    let input = serde_json::json!({ "post_id": post_id.as_str() }).to_string();
    match client
        .start_execution()
        .state_machine_arn(state_machine_arn)
        .name(name)
        .input(input)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_execution_already_exists()) =>
        {
            Ok(())
        }
        Err(err) => Err(sfn_error(err)),
    }
}

#[async_trait]
impl Executions for SfnExecutions {
    async fn start_named(&self, post_id: &PostId, name: &str) -> Result<(), IntakeError> {
        start_named_execution(&self.client, &self.state_machine_arn, post_id, name).await
    }

    async fn stop(&self, post_id: &PostId, cause: &str) -> Result<(), IntakeError> {
        match self
            .client
            .stop_execution()
            .execution_arn(self.execution_arn(post_id))
            .cause(cause)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_execution_does_not_exist()) =>
            {
                Ok(())
            }
            Err(err) => Err(sfn_error(err)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn execution_arns_derive_from_the_state_machine() {
        let sdk = aws_sdk_sfn::Config::builder()
            .behavior_version(aws_sdk_sfn::config::BehaviorVersion::latest())
            .build();
        let executions = SfnExecutions::new(
            aws_sdk_sfn::Client::from_conf(sdk),
            "arn:aws:states:us-east-1:123456789012:stateMachine:publish",
        );
        let id = PostId::parse("abc").unwrap();
        assert_eq!(
            executions.execution_arn(&id),
            "arn:aws:states:us-east-1:123456789012:execution:publish:abc"
        );
    }
}
