//! SigV4 for a deployed stack's API: its posts and accounts routes are IAM-authorised
//! (`AuthorizationType: AWS_IAM`, service `execute-api`), so every request is signed with the
//! user's own AWS credentials (the SDK's default chain).

use std::time::SystemTime;

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use reqwest::header::{HeaderName, HeaderValue};

/// The service name API Gateway checks signatures for.
pub const SERVICE: &str = "execute-api";

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error(
        "no AWS credentials to sign the request with ({0}): configure them (`aws configure`, AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"
    )]
    Credentials(String),
    #[error("cannot sign the request: {0}; this is a bug in the CLI, please report it")]
    Signing(String),
}

/// Signs requests for one region with the credentials of one provider.
#[derive(Clone)]
pub struct Signer {
    credentials: SharedCredentialsProvider,
    region: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl Signer {
    pub fn new(credentials: SharedCredentialsProvider, region: impl Into<String>) -> Signer {
        Signer {
            credentials,
            region: region.into(),
        }
    }

    /// Adds `Authorization`, `X-Amz-Date` (and `X-Amz-Security-Token` for temporary
    /// credentials) to `request`, signing its method, URL, headers and body.
    pub async fn sign(&self, request: &mut reqwest::Request) -> Result<(), SignError> {
        let credentials = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|e| SignError::Credentials(e.to_string()))?;
        sign_at(request, credentials, &self.region, SystemTime::now())
    }
}

/// [`Signer::sign`] at a given time with given credentials (deterministic, for tests).
pub fn sign_at(
    request: &mut reqwest::Request,
    credentials: aws_credential_types::Credentials,
    region: &str,
    at: SystemTime,
) -> Result<(), SignError> {
    let identity = credentials.into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(SERVICE)
        .time(at)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| SignError::Signing(e.to_string()))?
        .into();
    let body = request
        .body()
        .and_then(|b| b.as_bytes())
        .unwrap_or_default()
        .to_vec();
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_owned())))
        .collect();
    let url = request.url().to_string();
    let signable = SignableRequest::new(
        request.method().as_str(),
        &url,
        headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        SignableBody::Bytes(&body),
    )
    .map_err(|e| SignError::Signing(e.to_string()))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| SignError::Signing(e.to_string()))?
        .into_parts();
    let (new_headers, _params) = instructions.into_parts();
    for header in new_headers {
        let name = HeaderName::from_bytes(header.name().as_bytes())
            .map_err(|e| SignError::Signing(e.to_string()))?;
        let mut value =
            HeaderValue::from_str(header.value()).map_err(|e| SignError::Signing(e.to_string()))?;
        // Kept out of any debug output of the request.
        value.set_sensitive(
            header.sensitive()
                || name == reqwest::header::AUTHORIZATION
                || name == "x-amz-security-token",
        );
        request.headers_mut().insert(name, value);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn request(method: reqwest::Method, url: &str, body: Option<&str>) -> reqwest::Request {
        let client = reqwest::Client::new();
        let mut builder = client.request(method, url);
        if let Some(body) = body {
            builder = builder
                .header("content-type", "application/json")
                .body(body.to_owned());
        }
        builder.build().unwrap()
    }

    fn at() -> SystemTime {
        // 2026-11-25T12:00:00Z
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_608_000)
    }

    #[test]
    fn requests_carry_an_execute_api_signature_for_the_region() {
        let mut get = request(
            reqwest::Method::GET,
            "https://abc.execute-api.eu-west-1.amazonaws.com/posts/p1",
            None,
        );
        let credentials =
            aws_credential_types::Credentials::new("AKIDEXAMPLE", "secret", None, None, "test");
        sign_at(&mut get, credentials.clone(), "eu-west-1", at()).unwrap();
        let auth = get.headers()["authorization"].to_str().unwrap().to_owned();
        assert!(
            auth.starts_with(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/eu-west-1/execute-api/aws4_request, SignedHeaders="
            ),
            "{auth}"
        );
        let signed = auth
            .split("SignedHeaders=")
            .nth(1)
            .and_then(|s| s.split(',').next())
            .unwrap();
        assert!(signed.split(';').any(|h| h == "host"), "{auth}");
        assert!(signed.split(';').any(|h| h == "x-amz-date"), "{auth}");
        let signature = auth.rsplit("Signature=").next().unwrap();
        assert_eq!(signature.len(), 64);
        assert!(signature.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(get.headers()["x-amz-date"], "20261125T120000Z");
        assert!(get.headers()["authorization"].is_sensitive());

        // The body is signed: another body, another signature.
        let sign_body = |body: &str| {
            let mut post = request(
                reqwest::Method::POST,
                "https://abc.execute-api.eu-west-1.amazonaws.com/posts",
                Some(body),
            );
            sign_at(&mut post, credentials.clone(), "eu-west-1", at()).unwrap();
            post.headers()["authorization"].to_str().unwrap().to_owned()
        };
        assert_ne!(sign_body("{\"a\":1}"), sign_body("{\"a\":2}"));
        assert!(sign_body("{}").contains("content-type"));
    }

    #[test]
    fn temporary_credentials_send_their_session_token() {
        let mut get = request(reqwest::Method::GET, "https://x.example/accounts", None);
        let credentials = aws_credential_types::Credentials::new(
            "ASIAEXAMPLE",
            "secret",
            Some("session-token".into()),
            None,
            "test",
        );
        sign_at(&mut get, credentials, "us-east-1", at()).unwrap();
        assert_eq!(get.headers()["x-amz-security-token"], "session-token");
    }
}
