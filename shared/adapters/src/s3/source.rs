//! The S3 adapter of [`VideoSource`]: HeadObject once, then ranged GetObjects pinned to what
//! HeadObject saw.
//!
//! Pinning: every read carries `If-Match: <etag>`, and on a versioned bucket the answer's
//! version id must be the one HeadObject saw. The read deliberately asks for the key's
//! *current* object rather than `versionId=...`: an old version stays readable forever in a
//! versioned bucket, so a version-pinned GET would never notice that the user replaced the
//! video. Reading the current object and refusing it unless both ETag and version match
//! detects a replacement in versioned and unversioned buckets alike, and still never splices
//! bytes of two objects. A consequence: a location naming a version that is no longer the
//! key's latest reads as [`SourceError::Changed`] (a newer upload supersedes it).

use std::io;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use bytes::Bytes;

use tiktok_publish_core::media::{
    ByteStream, PreparedPhotos, SourceError, VideoLocation, VideoObject, VideoSource,
};

/// An S3 client for `sdk_config`, with path-style addressing whenever the endpoint is
/// overridden (`AWS_ENDPOINT_URL`, as for moto): a virtual-hosted `bucket.127.0.0.1` or
/// `bucket.localhost` does not resolve. Real S3 keeps its default. (S3's own
/// `AWS_ENDPOINT_URL_S3` is the wiring's to read: its `s3_client` forces path style then.)
pub fn s3_client(sdk_config: &aws_config::SdkConfig) -> Client {
    let endpoint_overridden = sdk_config.endpoint_url().is_some();
    let config = aws_sdk_s3::config::Builder::from(sdk_config)
        .force_path_style(endpoint_overridden)
        .build();
    Client::from_conf(config)
}

/// [`VideoSource`] over S3.
#[derive(Debug, Clone)]
pub struct S3VideoSource {
    client: Client,
}

impl S3VideoSource {
    pub fn new(client: Client) -> Self {
        S3VideoSource { client }
    }
}

/// S3 says `null` for the version of an object written while versioning was off.
fn real_version(version: Option<&str>) -> Option<String> {
    version
        .filter(|v| !v.is_empty() && *v != "null")
        .map(str::to_owned)
}

#[async_trait::async_trait]
impl PreparedPhotos for S3VideoSource {
    async fn put_photo(
        &self,
        bucket: &str,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<VideoLocation, SourceError> {
        let written = self
            .client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .body(bytes.into())
            .send()
            .await
            .map_err(|e| map_sdk_error("PutObject", bucket, key, false, e))?;
        Ok(VideoLocation {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            version_id: real_version(written.version_id()),
        })
    }
}

/// What an S3 failure means for a read of `bucket/key`.
fn map_sdk_error<E>(
    operation: &'static str,
    bucket: &str,
    key: &str,
    after_head: bool,
    err: SdkError<E, HttpResponse>,
) -> SourceError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let not_found = || SourceError::NotFound {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
    };
    let changed = || SourceError::Changed {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
    };
    let status = err.raw_response().map(|r| r.status().as_u16());
    let code = err.code().map(str::to_owned);
    match (&err, status, code.as_deref()) {
        (SdkError::ServiceError(_), Some(412), _) | (_, _, Some("PreconditionFailed")) => changed(),
        // A range past the end: the object shrank since HeadObject.
        (SdkError::ServiceError(_), Some(416), _) | (_, _, Some("InvalidRange")) if after_head => {
            changed()
        }
        (SdkError::ServiceError(_), Some(404), _)
        | (_, _, Some("NoSuchKey" | "NoSuchVersion" | "NotFound")) => not_found(),
        (SdkError::ServiceError(_), Some(s), c)
            if s >= 500
                || s == 429
                || matches!(
                    c,
                    Some(
                        "SlowDown"
                            | "Throttling"
                            | "ThrottlingException"
                            | "RequestTimeout"
                            | "InternalError"
                            | "ServiceUnavailable"
                    )
                ) =>
        {
            unavailable(operation, status, code.as_deref(), err)
        }
        (SdkError::ServiceError(_), _, _) => SourceError::Refused {
            detail: format!(
                "{operation} s3://{bucket}/{key}: HTTP {} {}",
                status.map_or_else(|| "?".to_owned(), |s| s.to_string()),
                code.as_deref().unwrap_or("(no code)")
            ),
        },
        // A request the SDK could not even build is our bug, not an outage.
        (SdkError::ConstructionFailure(_), _, _) => SourceError::Refused {
            detail: format!(
                "{operation} s3://{bucket}/{key}: {}",
                aws_smithy_types::error::display::DisplayErrorContext(&err)
            ),
        },
        // Timeouts, connection failures, unreadable answers.
        _ => unavailable(operation, status, code.as_deref(), err),
    }
}

fn unavailable<E>(
    operation: &'static str,
    status: Option<u16>,
    code: Option<&str>,
    err: SdkError<E, HttpResponse>,
) -> SourceError
where
    E: std::error::Error + Send + Sync + 'static,
{
    let detail = match (status, code) {
        (Some(s), Some(c)) => format!("{operation}: HTTP {s} {c}"),
        (Some(s), None) => format!("{operation}: HTTP {s}"),
        _ => format!("{operation}: no answer from S3"),
    };
    SourceError::Unavailable {
        detail,
        source: Some(Box::new(err)),
    }
}

#[async_trait::async_trait]
impl VideoSource for S3VideoSource {
    #[tracing::instrument(skip(self), fields(bucket = %location.bucket, key = %location.key))]
    async fn head(&self, location: &VideoLocation) -> Result<VideoObject, SourceError> {
        let (bucket, key) = (&location.bucket, &location.key);
        let head = self
            .client
            .head_object()
            .bucket(bucket)
            .key(key)
            .set_version_id(location.version_id.clone())
            .send()
            .await
            .map_err(|e| map_sdk_error("HeadObject", bucket, key, false, e))?;
        let size = head
            .content_length()
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| SourceError::Refused {
                detail: format!("HeadObject s3://{bucket}/{key} gave no size"),
            })?;
        let etag = head
            .e_tag()
            .filter(|e| !e.is_empty())
            .ok_or_else(|| SourceError::Refused {
                detail: format!("HeadObject s3://{bucket}/{key} gave no ETag"),
            })?
            .to_owned();
        let version_id = real_version(head.version_id())
            .or_else(|| real_version(location.version_id.as_deref()));
        Ok(VideoObject {
            location: VideoLocation {
                bucket: bucket.clone(),
                key: key.clone(),
                version_id,
            },
            size,
            content_type: head.content_type().map(str::to_owned),
            etag,
        })
    }

    #[tracing::instrument(skip(self, object), fields(bucket = %object.location.bucket, key = %object.location.key))]
    async fn read_range(
        &self,
        object: &VideoObject,
        first: u64,
        last: u64,
    ) -> Result<ByteStream, SourceError> {
        let (bucket, key) = (&object.location.bucket, &object.location.key);
        if first > last || last >= object.size {
            return Err(SourceError::Refused {
                detail: format!(
                    "bytes {first}-{last} are not within s3://{bucket}/{key} ({} bytes)",
                    object.size
                ),
            });
        }
        let got = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .if_match(&object.etag)
            .range(format!("bytes={first}-{last}"))
            .send()
            .await
            .map_err(|e| map_sdk_error("GetObject", bucket, key, true, e))?;

        let changed = || SourceError::Changed {
            bucket: bucket.clone(),
            key: key.clone(),
        };
        // The ETag matched, but a re-upload of the same bytes still makes a new version:
        // on a versioned bucket only the version HeadObject saw is the video we planned.
        if let Some(pinned) = &object.location.version_id
            && real_version(got.version_id()).as_ref() != Some(pinned)
        {
            return Err(changed());
        }
        let expected_len = last - first + 1;
        check_range(&got, object.size, first, last, expected_len).map_err(
            |mismatch| match mismatch {
                RangeMismatch::OtherTotal => changed(),
                RangeMismatch::OtherBytes(detail) => SourceError::Refused {
                    detail: format!("GetObject s3://{bucket}/{key}: {detail}"),
                },
            },
        )?;
        Ok(exact_length_stream(got.body, expected_len))
    }
}

enum RangeMismatch {
    /// The answer describes an object of another size: not the one HeadObject saw.
    OtherTotal,
    /// The answer is not the bytes asked for (a proxy ignoring `Range`, ...).
    OtherBytes(String),
}

fn check_range(
    got: &aws_sdk_s3::operation::get_object::GetObjectOutput,
    size: u64,
    first: u64,
    last: u64,
    expected_len: u64,
) -> Result<(), RangeMismatch> {
    match got.content_range() {
        Some(range) => {
            let (span, total) = range
                .strip_prefix("bytes ")
                .and_then(|r| r.split_once('/'))
                .ok_or_else(|| {
                    RangeMismatch::OtherBytes(format!("unreadable Content-Range {range:?}"))
                })?;
            if total.parse::<u64>().ok() != Some(size) {
                return Err(RangeMismatch::OtherTotal);
            }
            if span != format!("{first}-{last}") {
                return Err(RangeMismatch::OtherBytes(format!(
                    "asked for bytes {first}-{last}, got Content-Range {range:?}"
                )));
            }
        }
        // Without Content-Range the answer is the whole object: fine only if that was asked.
        None if first == 0 && last + 1 == size => {}
        None => {
            return Err(RangeMismatch::OtherBytes(format!(
                "asked for bytes {first}-{last}, got no Content-Range"
            )));
        }
    }
    match got.content_length() {
        Some(len) if u64::try_from(len).ok() != Some(expected_len) => Err(
            RangeMismatch::OtherBytes(format!("Content-Length {len} for {expected_len} bytes")),
        ),
        _ => Ok(()),
    }
}

/// Streams `body` as it arrives, failing (rather than ending quietly) when it is shorter or
/// longer than `expected`: a truncated chunk sent on to TikTok would corrupt the video.
/// Errors are [`SourceError`]s inside the `io::Error`, so the uploader can tell a failed
/// read from a failed send.
fn exact_length_stream(body: aws_sdk_s3::primitives::ByteStream, expected: u64) -> ByteStream {
    struct State {
        body: aws_sdk_s3::primitives::ByteStream,
        received: u64,
        expected: u64,
        finished: bool,
    }
    let fail = |detail: String, source: Option<Box<dyn std::error::Error + Send + Sync>>| {
        io::Error::other(SourceError::Unavailable { detail, source })
    };
    let state = State {
        body,
        received: 0,
        expected,
        finished: false,
    };
    Box::pin(futures::stream::unfold(state, move |mut s| async move {
        if s.finished {
            return None;
        }
        let item: Result<Bytes, io::Error> = match s.body.next().await {
            Some(Ok(bytes)) => {
                s.received += bytes.len() as u64;
                if s.received > s.expected {
                    Err(fail(
                        format!("S3 sent more than the {} bytes asked for", s.expected),
                        None,
                    ))
                } else {
                    Ok(bytes)
                }
            }
            Some(Err(e)) => Err(fail(
                format!(
                    "reading from S3 failed after {} of {} bytes",
                    s.received, s.expected
                ),
                Some(Box::new(e)),
            )),
            None if s.received < s.expected => Err(fail(
                format!(
                    "S3 ended the body after {} of {} bytes",
                    s.received, s.expected
                ),
                None,
            )),
            None => return None,
        };
        s.finished = item.is_err();
        Some((item, s))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_and_empty_versions_are_no_version() {
        assert_eq!(real_version(Some("null")), None);
        assert_eq!(real_version(Some("")), None);
        assert_eq!(real_version(None), None);
        assert_eq!(real_version(Some("3/L4kqtJl")), Some("3/L4kqtJl".into()));
    }

    #[tokio::test]
    async fn a_short_body_is_an_error_not_an_early_end() {
        use futures::StreamExt;
        let body = aws_sdk_s3::primitives::ByteStream::from_static(b"abc");
        let mut stream = exact_length_stream(body, 5);
        assert_eq!(
            stream.next().await.unwrap().unwrap(),
            Bytes::from_static(b"abc")
        );
        let err = stream.next().await.unwrap().unwrap_err();
        let source = err.into_inner().unwrap().downcast::<SourceError>().unwrap();
        assert!(
            matches!(*source, SourceError::Unavailable { .. }),
            "{source}"
        );
        assert!(stream.next().await.is_none());
    }

    #[tokio::test]
    async fn a_long_body_is_an_error() {
        use futures::StreamExt;
        let body = aws_sdk_s3::primitives::ByteStream::from_static(b"abcdef");
        let mut stream = exact_length_stream(body, 5);
        assert!(stream.next().await.unwrap().is_err());
        assert!(stream.next().await.is_none());
    }

    #[tokio::test]
    async fn an_exact_body_streams_through() {
        use futures::TryStreamExt;
        let body = aws_sdk_s3::primitives::ByteStream::from_static(b"abcde");
        let all: Vec<Bytes> = exact_length_stream(body, 5).try_collect().await.unwrap();
        assert_eq!(all.concat(), b"abcde");
    }
}
