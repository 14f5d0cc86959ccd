//! A photo post's images: 1 to 35 object locations, in order. Apart from the rest of the
//! photo post (`photo_post`), which depends on the post record that holds a set.

use serde::{Deserialize, Serialize};

use crate::photo_rules::{MAX_PHOTOS, PhotoRefusal};
use crate::video::VideoLocation;

/// A photo post's images in order: 1 to 35 locations, each pinned to the version seen at
/// intake when the bucket is versioned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "PhotoSetRepr", into = "PhotoSetRepr")]
pub struct PhotoSet {
    images: Vec<VideoLocation>,
}

#[derive(Serialize, Deserialize)]
struct PhotoSetRepr {
    images: Vec<VideoLocation>,
}

impl TryFrom<PhotoSetRepr> for PhotoSet {
    type Error = PhotoRefusal;
    fn try_from(repr: PhotoSetRepr) -> Result<Self, Self::Error> {
        PhotoSet::new(repr.images)
    }
}

impl From<PhotoSet> for PhotoSetRepr {
    fn from(set: PhotoSet) -> Self {
        PhotoSetRepr { images: set.images }
    }
}

impl PhotoSet {
    /// The set of `images`, or the count refused (TikTok takes 1 to 35).
    pub fn new(images: Vec<VideoLocation>) -> Result<PhotoSet, PhotoRefusal> {
        if images.is_empty() || images.len() > MAX_PHOTOS {
            return Err(PhotoRefusal::Count {
                count: images.len(),
            });
        }
        Ok(PhotoSet { images })
    }

    pub fn images(&self) -> &[VideoLocation] {
        &self.images
    }

    /// The first image (a set is never empty).
    pub fn first(&self) -> &VideoLocation {
        // `new` and deserialization refuse an empty set.
        &self.images[0]
    }
}
