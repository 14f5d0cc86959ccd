//! The S3 adapters: the video source (ranged, version-pinned reads), the retention tags of an
//! ended post, the upload listing the sweep reads, and the console's presigned uploads.

mod listing;
mod presign;
mod retention;
mod source;

pub use listing::S3UploadListing;
pub use presign::{S3Endpoint, SigV4Presigner};
pub use retention::S3RetentionTags;
pub use source::{S3VideoSource, s3_client};
