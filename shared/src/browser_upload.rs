//! The web console's uploads: the browser sends the file straight to the bucket in parts
//! (a Lambda takes at most 6 MB a request), each S3 request presigned by the console.
//!
//! Uppy's `@uppy/aws-s3` asks for one signature per S3 request (its `signRequest`):
//! create the multipart upload, each part, list the parts (to resume), complete, abort.
//! [`BrowserUploads::sign`] checks the request names an upload the console may sign, then
//! asks the [`UploadPresigner`] port for a URL that works for a few minutes only. The key
//! is always the console's choice ([`console_upload_key`]): the account's `.console/`
//! folder, a fresh random folder, the file's name made safe. The S3 trigger ignores that
//! folder; the console starts the post itself once the page says the upload completed.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rand::Rng;
use rand::distr::Alphanumeric;
use serde::Deserialize;
use tiktok_publish_domain::errors::ErrorKind;
use tiktok_publish_domain::upload::CONSOLE_FOLDER;

/// How long a presigned request works: one part of a slow upload, with room to spare. The
/// Lambda's own credentials expire too, so every part is signed when it is about to go.
pub const SIGNATURE_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// The suffixes a console upload may have (lower case): TikTok's video containers and the
/// images a photo post takes (PNG is converted to JPEG before TikTok sees it).
pub const UPLOAD_SUFFIXES: [&str; 7] = [".mp4", ".mov", ".webm", ".jpg", ".jpeg", ".png", ".webp"];

/// S3's highest part number.
const MAX_PART_NUMBER: u32 = 10_000;
/// How much of a file's name the key keeps.
const MAX_NAME_CHARS: usize = 80;

/// One S3 request of a multipart upload, as the browser asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadStep {
    /// `CreateMultipartUpload`: the console picks the key.
    Create { filename: String },
    /// `UploadPart`.
    Part {
        key: String,
        upload_id: String,
        part_number: u32,
    },
    /// `ListParts` (a resumed upload).
    ListParts { key: String, upload_id: String },
    /// `CompleteMultipartUpload`.
    Complete { key: String, upload_id: String },
    /// `AbortMultipartUpload` (the user cancelled, or the upload failed).
    Abort { key: String, upload_id: String },
}

/// The request body Uppy's `signRequest` is given, as the console's page sends it on.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignRequestBody {
    pub method: String,
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub upload_id: Option<String>,
    #[serde(default)]
    pub part_number: Option<u32>,
    #[serde(default)]
    pub filename: Option<String>,
}

impl SignRequestBody {
    /// Which S3 request this is, by Uppy's method and what it carries.
    pub fn step(self) -> Result<UploadStep, UploadRefused> {
        let SignRequestBody {
            method,
            key,
            upload_id,
            part_number,
            filename,
        } = self;
        let with_upload = |upload_id: Option<String>,
                           key: Option<String>|
         -> Result<(String, String), UploadRefused> {
            let upload_id =
                upload_id
                    .filter(|id| !id.is_empty())
                    .ok_or(UploadRefused::Invalid {
                        field: "uploadId",
                        reason: "is missing: every request after the create names its upload",
                    })?;
            let key = key
                .filter(|k| !k.is_empty())
                .ok_or(UploadRefused::Invalid {
                    field: "key",
                    reason: "is missing: every request after the create names its key",
                })?;
            Ok((key, upload_id))
        };
        match (method.as_str(), &upload_id) {
            ("POST", None) => Ok(UploadStep::Create {
                filename: filename.or(key).unwrap_or_default(),
            }),
            ("PUT", Some(_)) => {
                let part_number = part_number.ok_or(UploadRefused::Invalid {
                    field: "partNumber",
                    reason: "is missing",
                })?;
                let (key, upload_id) = with_upload(upload_id, key)?;
                Ok(UploadStep::Part {
                    key,
                    upload_id,
                    part_number,
                })
            }
            ("GET", Some(_)) => {
                let (key, upload_id) = with_upload(upload_id, key)?;
                Ok(UploadStep::ListParts { key, upload_id })
            }
            ("POST", Some(_)) => {
                let (key, upload_id) = with_upload(upload_id, key)?;
                Ok(UploadStep::Complete { key, upload_id })
            }
            ("DELETE", Some(_)) => {
                let (key, upload_id) = with_upload(upload_id, key)?;
                Ok(UploadStep::Abort { key, upload_id })
            }
            ("PUT" | "DELETE", None) => Err(UploadRefused::Invalid {
                field: "method",
                reason: "the console uploads in parts only: a single PUT or DELETE of an \
                         object is never signed",
            }),
            _ => Err(UploadRefused::Invalid {
                field: "method",
                reason: "must be POST, PUT, GET or DELETE, as @uppy/aws-s3 sends them",
            }),
        }
    }
}

/// What S3 request to presign, with everything but the bucket and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum S3Request {
    CreateMultipartUpload,
    UploadPart { upload_id: String, part_number: u32 },
    ListParts { upload_id: String },
    CompleteMultipartUpload { upload_id: String },
    AbortMultipartUpload { upload_id: String },
}

impl S3Request {
    /// The HTTP method S3 takes it with.
    pub fn method(&self) -> &'static str {
        match self {
            S3Request::CreateMultipartUpload | S3Request::CompleteMultipartUpload { .. } => "POST",
            S3Request::UploadPart { .. } => "PUT",
            S3Request::ListParts { .. } => "GET",
            S3Request::AbortMultipartUpload { .. } => "DELETE",
        }
    }

    /// Its query parameters (before the signature's), as S3 names them.
    pub fn query(&self) -> Vec<(&'static str, String)> {
        match self {
            S3Request::CreateMultipartUpload => vec![("uploads", String::new())],
            S3Request::UploadPart {
                upload_id,
                part_number,
            } => vec![
                ("partNumber", part_number.to_string()),
                ("uploadId", upload_id.clone()),
            ],
            S3Request::ListParts { upload_id }
            | S3Request::CompleteMultipartUpload { upload_id }
            | S3Request::AbortMultipartUpload { upload_id } => {
                vec![("uploadId", upload_id.clone())]
            }
        }
    }
}

/// A presigned S3 request: the browser sends `method` to `url` as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedUrl {
    pub method: &'static str,
    /// Carries the signature: never logged.
    pub url: String,
}

/// Why a presigned URL could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PresignError {
    /// The function's own AWS credentials could not be read (retryable: the runtime
    /// refreshes them).
    #[error("the function's AWS credentials are unavailable: {0}")]
    Credentials(String),
    /// The request could not be signed (a bug: the key or query could not be encoded).
    #[error("the request cannot be signed: {0}")]
    Signing(String),
}

impl PresignError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            PresignError::Credentials(_) => ErrorKind::AwsUnavailable,
            PresignError::Signing(_) => ErrorKind::Internal,
        }
    }
}

/// Signs S3 requests for the browser with the function's own credentials.
#[async_trait]
pub trait UploadPresigner: Send + Sync {
    async fn presign(
        &self,
        bucket: &str,
        key: &str,
        request: &S3Request,
        expires_in: Duration,
    ) -> Result<PresignedUrl, PresignError>;

    /// The origin the browser sends its uploads to (for the page's `connect-src`).
    fn origin(&self, bucket: &str) -> String;
}

/// Why a sign request is refused.
#[derive(Debug, thiserror::Error)]
pub enum UploadRefused {
    #[error("{field} {reason}")]
    Invalid {
        field: &'static str,
        reason: &'static str,
    },
    /// A key outside the account's console folder: never signed, whoever asks.
    #[error("key {key:?} is not an upload of this console for the account; start a new upload")]
    ForeignKey { key: String },
    #[error(
        "{name:?} cannot be posted: the console uploads videos (.mp4, .mov, .webm) and \
         images (.jpg, .jpeg, .png, .webp)"
    )]
    Unsupported { name: String },
    #[error(transparent)]
    Presign(#[from] PresignError),
}

impl UploadRefused {
    /// The HTTP status the console answers with.
    pub fn status(&self) -> u16 {
        match self {
            UploadRefused::Invalid { .. } | UploadRefused::Unsupported { .. } => 400,
            UploadRefused::ForeignKey { .. } => 403,
            UploadRefused::Presign(err) => match err.kind() {
                ErrorKind::AwsUnavailable => 503,
                _ => 500,
            },
        }
    }

    /// The request field at fault, if one is.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            UploadRefused::Invalid { field, .. } => Some(field),
            UploadRefused::ForeignKey { .. } => Some("key"),
            UploadRefused::Unsupported { .. } => Some("filename"),
            UploadRefused::Presign(_) => None,
        }
    }
}

/// The answer the page hands back to Uppy: where to send the request, and the key (which
/// Uppy adopts from the create's answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedUpload {
    pub method: &'static str,
    pub url: String,
    pub key: String,
}

/// The console's browser uploads into one bucket.
#[derive(Clone)]
pub struct BrowserUploads {
    pub presigner: Arc<dyn UploadPresigner>,
    pub bucket: String,
    /// The upload prefix (`UPLOAD_PREFIX`, `uploads/`).
    pub prefix: String,
}

impl BrowserUploads {
    /// Signs one step of an upload for `open_id`'s console folder.
    pub async fn sign(
        &self,
        open_id: &str,
        step: UploadStep,
    ) -> Result<SignedUpload, UploadRefused> {
        let (key, request) = match step {
            UploadStep::Create { filename } => (
                console_upload_key(&self.prefix, open_id, &filename, &random_folder())?,
                S3Request::CreateMultipartUpload,
            ),
            UploadStep::Part {
                key,
                upload_id,
                part_number,
            } => {
                if !(1..=MAX_PART_NUMBER).contains(&part_number) {
                    return Err(UploadRefused::Invalid {
                        field: "partNumber",
                        reason: "must be from 1 to 10000, as S3 takes them",
                    });
                }
                (
                    key,
                    S3Request::UploadPart {
                        upload_id,
                        part_number,
                    },
                )
            }
            UploadStep::ListParts { key, upload_id } => (key, S3Request::ListParts { upload_id }),
            UploadStep::Complete { key, upload_id } => {
                (key, S3Request::CompleteMultipartUpload { upload_id })
            }
            UploadStep::Abort { key, upload_id } => {
                (key, S3Request::AbortMultipartUpload { upload_id })
            }
        };
        if !self.is_console_upload(open_id, &key) {
            return Err(UploadRefused::ForeignKey { key });
        }
        let signed = self
            .presigner
            .presign(&self.bucket, &key, &request, SIGNATURE_LIFETIME)
            .await?;
        Ok(SignedUpload {
            method: signed.method,
            url: signed.url,
            key,
        })
    }

    /// Whether `key` is in `open_id`'s console folder, as [`console_upload_key`] makes
    /// them (what the console signs, and what it posts).
    pub fn is_console_upload(&self, open_id: &str, key: &str) -> bool {
        let folder = format!("{}{open_id}/{CONSOLE_FOLDER}/", self.prefix);
        key.strip_prefix(&folder).is_some_and(|rest| {
            let mut parts = rest.split('/');
            matches!(
                (parts.next(), parts.next(), parts.next()),
                (Some(random), Some(name), None) if !random.is_empty() && !name.is_empty()
            ) && !rest.contains("..")
        })
    }

    /// The browser's upload origin (for the page's `connect-src`).
    pub fn origin(&self) -> String {
        self.presigner.origin(&self.bucket)
    }
}

/// `{prefix}{open_id}/.console/{folder}/{name}`: the file's name kept readable (the
/// post's history names it) but only of letters, digits, `.`, `-` and `_`.
pub fn console_upload_key(
    prefix: &str,
    open_id: &str,
    filename: &str,
    folder: &str,
) -> Result<String, UploadRefused> {
    let base = filename.rsplit(['/', '\\']).next().unwrap_or_default();
    let lower = base.to_ascii_lowercase();
    let Some(suffix) = UPLOAD_SUFFIXES.iter().find(|s| lower.ends_with(*s)) else {
        return Err(UploadRefused::Unsupported {
            name: base.chars().take(MAX_NAME_CHARS).collect(),
        });
    };
    let stem = &base[..base.len() - suffix.len()];
    let mut safe: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(MAX_NAME_CHARS)
        .collect();
    if safe.trim_matches('-').is_empty() {
        safe = "upload".to_owned();
    }
    Ok(format!(
        "{prefix}{open_id}/{CONSOLE_FOLDER}/{folder}/{safe}{suffix}"
    ))
}

/// A fresh folder name: 16 random letters and digits (95 bits), so two uploads of the same
/// file never share a key (and so never a post).
fn random_folder() -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(16)
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests;
