//! `check-domain`: the front door tested from outside, the way TikTok will use it (see
//! docs/front-door.md). Each check says what it tried and what it saw; none changes anything.

use std::fmt;
use std::time::Duration;

use reqwest::{Method, StatusCode, redirect};
use secrecy::SecretString;
use tiktok_publish_domain::media_url::{MEDIA_PATH, MediaUrlSigner, SERVED_PREFIX};

/// One object of the bucket to ask for through the front door: one version of it, and its
/// size in bytes as S3 knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    pub key: String,
    pub version: String,
    pub size: u64,
}

/// What one check concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Passed(String),
    Failed(String),
    /// Not tried, and why: what to do so that it can be.
    Skipped(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub check: &'static str,
    pub verdict: Verdict,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (mark, text) = match &self.verdict {
            Verdict::Passed(text) => ("ok  ", text),
            Verdict::Failed(text) => ("FAIL", text),
            Verdict::Skipped(text) => ("skip", text),
        };
        write!(f, "{mark} {}: {text}", self.check)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FrontDoorError {
    #[error(
        "the media URL prefix {prefix:?} is not https://DOMAIN/media/: is MediaUrlPrefix the stack's output?"
    )]
    BadPrefix { prefix: String },
    #[error("{0}")]
    Signer(#[from] tiktok_publish_domain::media_url::MediaUrlError),
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}

/// The front door as the checks see it: its media prefix, the stack's signing key, and an
/// HTTP client that follows no redirect (TikTok follows none).
pub struct Probe {
    signer: MediaUrlSigner,
    client: reqwest::Client,
}

impl Probe {
    /// `prefix` is the `MediaUrlPrefix` output (`https://DOMAIN/media/`). `client` carries
    /// whatever the caller trusts and resolves; redirects are turned off here.
    pub fn new(
        prefix: &str,
        key: SecretString,
        client: reqwest::ClientBuilder,
    ) -> Result<Self, FrontDoorError> {
        let authority = prefix
            .strip_prefix("https://")
            .and_then(|rest| rest.strip_suffix(MEDIA_PATH))
            .filter(|authority| !authority.contains('/'))
            .ok_or_else(|| FrontDoorError::BadPrefix {
                prefix: prefix.to_owned(),
            })?;
        let client = client
            .redirect(redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .build()
            .map_err(FrontDoorError::Client)?;
        Ok(Probe {
            signer: MediaUrlSigner::new(authority, key)?,
            client,
        })
    }

    /// Every check, in order. `now` is the time in unix seconds (for expiries).
    pub async fn run(
        &self,
        sample: Option<&Sample>,
        verification_file: Option<&str>,
        now: i64,
    ) -> Vec<Finding> {
        let mut findings = vec![self.certificate().await, self.plain_http().await];
        match sample {
            Some(sample) => {
                findings.push(self.signed(sample, now).await);
                findings.push(self.unsigned(sample).await);
                findings.push(self.expired(sample, now).await);
            }
            None => {
                let why = format!(
                    "no object under {SERVED_PREFIX} in the bucket to ask for: post a video once, then check again"
                );
                for check in [SIGNED, UNSIGNED, EXPIRED] {
                    findings.push(Finding {
                        check,
                        verdict: Verdict::Skipped(why.clone()),
                    });
                }
            }
        }
        findings.push(self.verification(verification_file).await);
        findings
    }

    async fn certificate(&self) -> Finding {
        let url = self.signer.url_prefix();
        let verdict = match self.client.get(&url).send().await {
            Ok(answer) => Verdict::Passed(format!(
                "{url} answered over TLS with a certificate valid for {} (HTTP {})",
                self.signer.host(),
                answer.status().as_u16()
            )),
            Err(err) => Verdict::Failed(format!(
                "{url}: {}; check the DNS record (FrontDoorTarget output) and the certificate (CertificateArn)",
                chain(&err)
            )),
        };
        Finding {
            check: CERTIFICATE,
            verdict,
        }
    }

    async fn plain_http(&self) -> Finding {
        let url = format!("http://{}{MEDIA_PATH}", self.signer.host());
        let verdict = match self.client.get(&url).send().await {
            Ok(answer) if answer.status().is_redirection() => Verdict::Failed(format!(
                "{url} redirects (HTTP {}); TikTok follows no redirect, and media URLs are https only",
                answer.status().as_u16()
            )),
            Ok(answer) => Verdict::Passed(format!(
                "{url} answers HTTP {} without a redirect",
                answer.status().as_u16()
            )),
            Err(_) => Verdict::Passed(format!("{url} is not served")),
        };
        Finding {
            check: PLAIN_HTTP,
            verdict,
        }
    }

    async fn signed(&self, sample: &Sample, now: i64) -> Finding {
        let verdict = match self.signer.sign(&sample.key, &sample.version, now + 300) {
            Err(err) => Verdict::Skipped(format!("{} cannot be signed: {err}", sample.key)),
            Ok(url) => match self.client.request(Method::HEAD, &url).send().await {
                Err(err) => Verdict::Failed(format!("{}: {}", sample.key, chain(&err))),
                Ok(answer) if answer.status() != StatusCode::OK => Verdict::Failed(format!(
                    "{} answered HTTP {} to a signed URL; {}",
                    sample.key,
                    answer.status().as_u16(),
                    signed_advice(answer.status())
                )),
                // The header itself: a HEAD answer's body is empty whatever its length.
                Ok(answer) => match answer
                    .headers()
                    .get(reqwest::header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                {
                    Some(length) if length == sample.size => Verdict::Passed(format!(
                        "{} (version {}) answered 200 with its {length} bytes, no redirect",
                        sample.key, sample.version
                    )),
                    length => Verdict::Failed(format!(
                        "{} answered 200 but with {} bytes where S3 has {}: is the front door serving another bucket or version?",
                        sample.key,
                        length.map_or("an unknown number of".to_owned(), |l| l.to_string()),
                        sample.size
                    )),
                },
            },
        };
        Finding {
            check: SIGNED,
            verdict,
        }
    }

    async fn unsigned(&self, sample: &Sample) -> Finding {
        let url = self
            .signer
            .sign(&sample.key, &sample.version, 0)
            .map(|url| url.split('?').next().unwrap_or_default().to_owned());
        let verdict = match url {
            Err(err) => Verdict::Skipped(err.to_string()),
            Ok(url) => refused(&self.client, &url, "an unsigned URL").await,
        };
        Finding {
            check: UNSIGNED,
            verdict,
        }
    }

    async fn expired(&self, sample: &Sample, now: i64) -> Finding {
        let verdict = match self.signer.sign(&sample.key, &sample.version, now - 60) {
            Err(err) => Verdict::Skipped(err.to_string()),
            Ok(url) => refused(&self.client, &url, "a URL that expired a minute ago").await,
        };
        Finding {
            check: EXPIRED,
            verdict,
        }
    }

    async fn verification(&self, file: Option<&str>) -> Finding {
        let Some(file) = file else {
            return Finding {
                check: VERIFICATION,
                verdict: Verdict::Skipped(
                    "no --verification-file given (not needed when the domain is verified by DNS)"
                        .to_owned(),
                ),
            };
        };
        let url = format!("{}{file}", self.signer.url_prefix());
        let answer = match self.client.get(&url).send().await {
            Ok(answer) => answer,
            Err(err) => {
                return Finding {
                    check: VERIFICATION,
                    verdict: Verdict::Failed(format!("{url}: {}", chain(&err))),
                };
            }
        };
        let status = answer.status();
        let body = answer.text().await.unwrap_or_default();
        let verdict = if status == StatusCode::OK && !body.trim().is_empty() {
            Verdict::Passed(format!("{url} serves {} bytes of text", body.len()))
        } else {
            Verdict::Failed(format!(
                "{url} answered HTTP {}: deploy with TikTokVerificationFileName={file} and TikTokVerificationFileContent set to the file's text",
                status.as_u16()
            ))
        };
        Finding {
            check: VERIFICATION,
            verdict,
        }
    }
}

const CERTIFICATE: &str = "https and certificate";
const PLAIN_HTTP: &str = "plain http";
const SIGNED: &str = "signed media URL";
const UNSIGNED: &str = "unsigned media URL";
const EXPIRED: &str = "expired media URL";
const VERIFICATION: &str = "TikTok verification file";

/// A URL that must not be served: refused (403 or another 4xx), never the object.
async fn refused(client: &reqwest::Client, url: &str, what: &str) -> Verdict {
    match client.get(url).send().await {
        Ok(answer) if answer.status().is_client_error() => Verdict::Passed(format!(
            "{what} is refused (HTTP {})",
            answer.status().as_u16()
        )),
        Ok(answer) => Verdict::Failed(format!(
            "{what} answered HTTP {}: media must be served to signed URLs only; is MediaUrlFunction attached to the distribution?",
            answer.status().as_u16()
        )),
        Err(err) => Verdict::Failed(format!("{what}: {}", chain(&err))),
    }
}

fn signed_advice(status: StatusCode) -> &'static str {
    match status.as_u16() {
        403 => {
            "the function refused the signature (a key rotated without raising MediaSigningKeyGeneration?) or S3 refused the front door (the bucket policy's FrontDoorReadsMedia)"
        }
        404 => "the path did not reach the media function: check the distribution's behaviours",
        300..=399 => "TikTok follows no redirect",
        _ => "see the distribution's and the bucket's configuration (docs/front-door.md)",
    }
}

/// An error and its sources on one line (a TLS failure is several layers down).
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// How `check-domain` reaches the front door: what it trusts beyond the usual authorities,
/// and names it resolves itself (as curl's `--cacert` and `--resolve`), for a front door
/// whose DNS or certificate is not public yet.
#[derive(Debug, Default)]
pub struct Reach {
    pub ca_file: Option<std::path::PathBuf>,
    /// `HOST=IP`: connect to IP for HOST (the certificate is still checked against HOST).
    pub resolve: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckDomainError {
    #[error(
        "stack has no front door (outputs MediaUrlPrefix and MediaSigningKeyArn): deploy it with DomainName and CertificateArn (docs/front-door.md)"
    )]
    NoFrontDoor,
    #[error(
        "cannot read the media signing key {arn}: {detail}; your AWS credentials need secretsmanager:GetSecretValue on it"
    )]
    Key { arn: String, detail: String },
    #[error("cannot list the bucket {bucket} for an object to try: {detail}")]
    List { bucket: String, detail: String },
    #[error("cannot read the CA file {path}: {detail}")]
    CaFile { path: String, detail: String },
    #[error("--resolve {0:?} is not HOST=IP (an IPv4 or IPv6 address)")]
    Resolve(String),
    #[error(transparent)]
    Probe(#[from] FrontDoorError),
}

/// Runs the checks against the stack's front door; the findings, in order.
pub async fn check_domain(
    stack: &crate::stack::Stack,
    reach: &Reach,
    verification_file: Option<&str>,
    now: i64,
) -> Result<Vec<Finding>, CheckDomainError> {
    use aws_sdk_secretsmanager::error::DisplayErrorContext;
    let front_door = stack
        .front_door
        .as_ref()
        .ok_or(CheckDomainError::NoFrontDoor)?;
    let secrets = aws_sdk_secretsmanager::Client::new(&stack.sdk_config().await);
    let key = secrets
        .get_secret_value()
        .secret_id(&front_door.signing_key_arn)
        .send()
        .await
        .map_err(|err| CheckDomainError::Key {
            arn: front_door.signing_key_arn.clone(),
            detail: DisplayErrorContext(err).to_string(),
        })?
        .secret_string()
        .map(|text| SecretString::from(text.to_owned()))
        .ok_or_else(|| CheckDomainError::Key {
            arn: front_door.signing_key_arn.clone(),
            detail: "the secret has no string value".to_owned(),
        })?;
    let mut client = reqwest::Client::builder();
    if let Some(path) = &reach.ca_file {
        let failed = |detail: String| CheckDomainError::CaFile {
            path: path.display().to_string(),
            detail,
        };
        let pem = std::fs::read(path).map_err(|e| failed(e.to_string()))?;
        let ca = reqwest::Certificate::from_pem(&pem).map_err(|e| failed(e.to_string()))?;
        client = client.add_root_certificate(ca);
    }
    for entry in &reach.resolve {
        let (host, ip) = entry
            .split_once('=')
            .and_then(|(host, ip)| Some((host, ip.parse::<std::net::IpAddr>().ok()?)))
            .ok_or_else(|| CheckDomainError::Resolve(entry.clone()))?;
        // The port comes from the URL; reqwest ignores this one.
        client = client.resolve(host, std::net::SocketAddr::new(ip, 443));
    }
    let probe = Probe::new(&front_door.media_url_prefix, key, client)?;
    let sample = newest_upload(stack).await?;
    Ok(probe.run(sample.as_ref(), verification_file, now).await)
}

/// The newest current object under `uploads/` that is not an options manifest: something
/// the front door must serve.
async fn newest_upload(stack: &crate::stack::Stack) -> Result<Option<Sample>, CheckDomainError> {
    use aws_sdk_s3::error::DisplayErrorContext;
    let s3 = crate::post::s3_client(stack).await;
    let listed = s3
        .list_object_versions()
        .bucket(&stack.bucket)
        .prefix(SERVED_PREFIX)
        .max_keys(200)
        .send()
        .await
        .map_err(|err| CheckDomainError::List {
            bucket: stack.bucket.clone(),
            detail: DisplayErrorContext(err).to_string(),
        })?;
    Ok(listed
        .versions()
        .iter()
        .filter(|v| v.is_latest() == Some(true) && v.size().unwrap_or(0) > 0)
        .filter(|v| v.key().is_some_and(|k| !k.ends_with(".json")))
        .max_by_key(|v| v.last_modified().map(|t| (t.secs(), t.subsec_nanos())))
        .and_then(|v| {
            Some(Sample {
                key: v.key()?.to_owned(),
                version: v.version_id()?.to_owned(),
                size: u64::try_from(v.size()?).ok()?,
            })
        }))
}
