//! [`UploadListing`] on S3: the upload prefix listed with ListObjectsV2 for the sweep.

use async_trait::async_trait;
use tiktok_publish_core::media::SourceError;
use tiktok_publish_core::sweep::{ListedObject, ListedPage, UploadListing};

/// [`UploadListing`] with S3's ListObjectsV2.
#[derive(Debug, Clone)]
pub struct S3UploadListing {
    client: aws_sdk_s3::Client,
}

impl S3UploadListing {
    pub fn new(client: aws_sdk_s3::Client) -> Self {
        S3UploadListing { client }
    }
}

#[async_trait]
impl UploadListing for S3UploadListing {
    async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        continuation: Option<String>,
    ) -> Result<ListedPage, SourceError> {
        use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
        let answer = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_continuation_token(continuation)
            .send()
            .await
            .map_err(|err| {
                let detail = format!(
                    "ListObjectsV2 s3://{bucket}/{prefix}: {}",
                    DisplayErrorContext(&err)
                );
                let passing = match &err {
                    SdkError::TimeoutError(_)
                    | SdkError::DispatchFailure(_)
                    | SdkError::ResponseError(_) => true,
                    SdkError::ServiceError(e) => {
                        e.raw().status().as_u16() >= 500
                            || matches!(e.err().code(), Some("SlowDown" | "InternalError"))
                    }
                    _ => false,
                };
                if passing {
                    SourceError::Unavailable {
                        detail,
                        source: Some(Box::new(err)),
                    }
                } else {
                    SourceError::Refused { detail }
                }
            })?;
        let objects = answer
            .contents()
            .iter()
            .filter_map(|object| {
                Some(ListedObject {
                    key: object.key()?.to_owned(),
                    last_modified: object.last_modified()?.secs(),
                })
            })
            .collect();
        Ok(ListedPage {
            objects,
            next: answer
                .is_truncated()
                .unwrap_or(false)
                .then(|| answer.next_continuation_token().map(str::to_owned))
                .flatten(),
        })
    }
}
