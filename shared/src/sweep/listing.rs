//! Listing the upload prefix: the port the sweep reads orphans from (its S3 adapter is in the
//! adapters crate).

use async_trait::async_trait;

use crate::media::SourceError;
use crate::store::UnixTime;

/// One object under the upload prefix, as a listing gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedObject {
    pub key: String,
    pub last_modified: UnixTime,
}

/// One page of a listing, and where the next starts.
#[derive(Debug, Clone, Default)]
pub struct ListedPage {
    pub objects: Vec<ListedObject>,
    pub next: Option<String>,
}

/// The port: the objects under a prefix, a page at a time.
#[async_trait]
pub trait UploadListing: Send + Sync {
    async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        continuation: Option<String>,
    ) -> Result<ListedPage, SourceError>;
}
