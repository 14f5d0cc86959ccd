//! [`UploadPresigner`] with SigV4 query-string signatures (`aws-sigv4`): aws-sdk-s3's
//! `presigned()` covers `UploadPart` but not `CreateMultipartUpload`, `ListParts`,
//! `CompleteMultipartUpload` or `AbortMultipartUpload`, which Uppy 6 sends from the browser.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{
    PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use tiktok_publish_core::browser_upload::{PresignError, PresignedUrl, S3Request, UploadPresigner};
use url::Url;

/// What SigV4 leaves unencoded in a path segment (RFC 3986's unreserved characters).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Where the browser reaches the bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum S3Endpoint {
    /// AWS: `https://{bucket}.s3.{region}.{url_suffix}` (virtual-hosted, as AWS prefers).
    Aws { url_suffix: String },
    /// An overridden endpoint (moto): `{base}/{bucket}/{key}`, as the SDK's path style.
    PathStyle(Url),
}

/// Presigns with the function's own credentials (a Lambda role's session credentials: the
/// URL carries their session token and dies with them at the latest).
#[derive(Clone)]
pub struct SigV4Presigner {
    credentials: SharedCredentialsProvider,
    region: String,
    endpoint: S3Endpoint,
}

impl std::fmt::Debug for SigV4Presigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigV4Presigner")
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl SigV4Presigner {
    pub fn new(
        credentials: SharedCredentialsProvider,
        region: impl Into<String>,
        endpoint: S3Endpoint,
    ) -> Self {
        SigV4Presigner {
            credentials,
            region: region.into(),
            endpoint,
        }
    }

    /// The object's URL, unsigned.
    fn object_url(&self, bucket: &str, key: &str) -> Result<Url, PresignError> {
        let path: Vec<String> = key
            .split('/')
            .map(|segment| utf8_percent_encode(segment, SEGMENT).to_string())
            .collect();
        let text = match &self.endpoint {
            S3Endpoint::Aws { url_suffix } => format!(
                "https://{bucket}.s3.{}.{url_suffix}/{}",
                self.region,
                path.join("/")
            ),
            S3Endpoint::PathStyle(base) => format!(
                "{}/{}/{}",
                base.as_str().trim_end_matches('/'),
                utf8_percent_encode(bucket, SEGMENT),
                path.join("/")
            ),
        };
        Url::parse(&text).map_err(|e| PresignError::Signing(format!("the object URL: {e}")))
    }

    /// [`UploadPresigner::presign`] at a given time with given credentials (deterministic,
    /// for tests).
    pub fn presign_at(
        &self,
        credentials: aws_credential_types::Credentials,
        bucket: &str,
        key: &str,
        request: &S3Request,
        expires_in: Duration,
        at: SystemTime,
    ) -> Result<PresignedUrl, PresignError> {
        let signing = |e: &dyn std::fmt::Display| PresignError::Signing(e.to_string());
        let mut url = self.object_url(bucket, key)?;
        {
            let mut query = url.query_pairs_mut();
            for (name, value) in request.query() {
                query.append_pair(name, &value);
            }
        }
        // `?uploads=` and `?uploads` are the same request to S3; the signature is computed
        // over the query as it is sent.
        let mut settings = SigningSettings::default();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(expires_in);
        // S3 signs the path as sent: no second encoding, no dot-segment removal.
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        let identity = credentials.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("s3")
            .time(at)
            .settings(settings)
            .build()
            .map_err(|e| signing(&e))?
            .into();
        let signable = SignableRequest::new(
            request.method(),
            url.as_str(),
            std::iter::empty(),
            SignableBody::UnsignedPayload,
        )
        .map_err(|e| signing(&e))?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|e| signing(&e))?
            .into_parts();
        let (_headers, query) = instructions.into_parts();
        {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in query {
                pairs.append_pair(name, &value);
            }
        }
        Ok(PresignedUrl {
            method: request.method(),
            url: url.into(),
        })
    }
}

#[async_trait]
impl UploadPresigner for SigV4Presigner {
    async fn presign(
        &self,
        bucket: &str,
        key: &str,
        request: &S3Request,
        expires_in: Duration,
    ) -> Result<PresignedUrl, PresignError> {
        let credentials = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|e| PresignError::Credentials(e.to_string()))?;
        self.presign_at(
            credentials,
            bucket,
            key,
            request,
            expires_in,
            SystemTime::now(),
        )
    }

    fn origin(&self, bucket: &str) -> String {
        match self.object_url(bucket, "x") {
            Ok(url) => url.origin().ascii_serialization(),
            Err(_) => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> SystemTime {
        // 2026-11-25T12:00:00Z
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_608_000)
    }

    fn presigner(endpoint: S3Endpoint) -> SigV4Presigner {
        let credentials = aws_credential_types::Credentials::new("AKID", "secret", None, None, "t");
        SigV4Presigner::new(
            SharedCredentialsProvider::new(credentials),
            "eu-west-1",
            endpoint,
        )
    }

    fn signed(presigner: &SigV4Presigner, key: &str, request: &S3Request) -> Url {
        let credentials = aws_credential_types::Credentials::new(
            "AKID",
            "secret",
            Some("session-token".into()),
            None,
            "t",
        );
        let url = presigner
            .presign_at(
                credentials,
                "videos",
                key,
                request,
                Duration::from_secs(900),
                at(),
            )
            .unwrap()
            .url;
        Url::parse(&url).unwrap()
    }

    #[test]
    fn aws_urls_are_virtual_hosted_and_carry_the_query_signature() {
        let presigner = presigner(S3Endpoint::Aws {
            url_suffix: "amazonaws.com".into(),
        });
        let url = signed(
            &presigner,
            "uploads/a/.console/f/My clip.mp4",
            &S3Request::UploadPart {
                upload_id: "u/1+2".into(),
                part_number: 7,
            },
        );
        assert_eq!(url.host_str(), Some("videos.s3.eu-west-1.amazonaws.com"));
        assert_eq!(url.path(), "/uploads/a/.console/f/My%20clip.mp4");
        let query: std::collections::HashMap<_, _> = url.query_pairs().collect();
        assert_eq!(query["partNumber"], "7");
        assert_eq!(query["uploadId"], "u/1+2");
        assert_eq!(query["X-Amz-Algorithm"], "AWS4-HMAC-SHA256");
        assert_eq!(query["X-Amz-Expires"], "900");
        assert_eq!(
            query["X-Amz-Credential"],
            "AKID/20261125/eu-west-1/s3/aws4_request"
        );
        assert_eq!(query["X-Amz-Security-Token"], "session-token");
        assert_eq!(query["X-Amz-SignedHeaders"], "host");
        assert_eq!(query["X-Amz-Signature"].len(), 64);
        assert_eq!(
            presigner.origin("videos"),
            "https://videos.s3.eu-west-1.amazonaws.com"
        );
    }

    #[test]
    fn overridden_endpoints_are_path_style_and_each_request_signs_differently() {
        let presigner = presigner(S3Endpoint::PathStyle(
            Url::parse("http://127.0.0.1:4566/").unwrap(),
        ));
        let create = signed(
            &presigner,
            "uploads/a/.console/f/c.mp4",
            &S3Request::CreateMultipartUpload,
        );
        assert_eq!(
            create.as_str().split('?').next().unwrap(),
            "http://127.0.0.1:4566/videos/uploads/a/.console/f/c.mp4"
        );
        assert!(
            create
                .query_pairs()
                .any(|(k, v)| k == "uploads" && v.is_empty())
        );
        let complete = signed(
            &presigner,
            "uploads/a/.console/f/c.mp4",
            &S3Request::CompleteMultipartUpload {
                upload_id: "u".into(),
            },
        );
        let abort = signed(
            &presigner,
            "uploads/a/.console/f/c.mp4",
            &S3Request::AbortMultipartUpload {
                upload_id: "u".into(),
            },
        );
        let signature = |url: &Url| {
            url.query_pairs()
                .find(|(k, _)| k == "X-Amz-Signature")
                .unwrap()
                .1
                .into_owned()
        };
        // Same URL, other method: the signature covers the method.
        assert_ne!(signature(&complete), signature(&abort));
        assert_eq!(presigner.origin("videos"), "http://127.0.0.1:4566");
    }
}
