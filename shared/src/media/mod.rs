//! Where videos come from: a port ([`VideoSource`]); its S3 adapter is in the adapters crate.
//!
//! Reads are ranged and pinned to the object version (or ETag) seen at the start, so a video
//! replaced mid-upload is detected ([`SourceError::Changed`]), never spliced.

use std::pin::Pin;

use bytes::Bytes;
use futures::Stream;

use crate::errors::{Classify, ErrorKind};

pub mod check;
pub mod photo;
pub mod probe;

/// A stream of a video's bytes; never buffered whole.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>;

pub use tiktok_publish_domain::video::{VideoLocation, VideoObject};

/// Why a video could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("s3://{bucket}/{key} does not exist (or that version is gone)")]
    NotFound { bucket: String, key: String },
    #[error("s3://{bucket}/{key} was replaced or changed after the upload started")]
    Changed { bucket: String, key: String },
    #[error("storage is unavailable: {detail}")]
    Unavailable {
        detail: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    #[error("storage refused the read: {detail}")]
    Refused { detail: String },
}

impl Classify for SourceError {
    fn kind(&self) -> ErrorKind {
        match self {
            SourceError::NotFound { .. } | SourceError::Changed { .. } => ErrorKind::VideoChanged,
            SourceError::Unavailable { .. } => ErrorKind::AwsUnavailable,
            SourceError::Refused { .. } => ErrorKind::Internal,
        }
    }
}

/// The port: look a video up, then stream byte ranges of exactly that version.
#[async_trait::async_trait]
pub trait VideoSource: Send + Sync {
    /// Size, type, ETag and version of the object at `location`.
    async fn head(&self, location: &VideoLocation) -> Result<VideoObject, SourceError>;

    /// Streams bytes `first..=last` of `object`, failing with [`SourceError::Changed`] when
    /// the object is no longer the one `head` saw.
    async fn read_range(
        &self,
        object: &VideoObject,
        first: u64,
        last: u64,
    ) -> Result<ByteStream, SourceError>;
}

/// Where the pipeline writes the photos it converted for TikTok (a PNG, or an image over
/// TikTok's caps, written again as JPEG), for the front door to serve.
#[async_trait::async_trait]
pub trait PreparedPhotos: Send + Sync {
    /// Writes `bytes` at `bucket`/`key`; the location written, with its version id when the
    /// bucket is versioned.
    async fn put_photo(
        &self,
        bucket: &str,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<VideoLocation, SourceError>;
}
