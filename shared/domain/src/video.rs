//! Where a video is, and the exact object a post reads.

/// Where a video is: bucket, key and (when known) the object version.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct VideoLocation {
    pub bucket: String,
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
}

/// A video as seen by HeadObject: the reads that follow are pinned to it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VideoObject {
    /// With `version_id` filled in when the bucket is versioned.
    pub location: VideoLocation,
    pub size: u64,
    #[serde(default)]
    pub content_type: Option<String>,
    pub etag: String,
}
