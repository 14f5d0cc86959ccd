//! The S3 adapters: the video source (ranged, version-pinned reads), the retention tags of an
//! ended post, and the upload listing the sweep reads.

mod listing;
mod retention;
mod source;

pub use listing::S3UploadListing;
pub use retention::S3RetentionTags;
pub use source::{S3VideoSource, s3_client};
