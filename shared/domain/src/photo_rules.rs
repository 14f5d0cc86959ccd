//! What TikTok takes of a photo in a carousel, and why an image is refused:
//! [`PhotoRefusal`], with the value measured. The reason people read is rendered from it.
//!
//! TikTok's Photo Post page: "JPEG and WebP" only, each at most 20 MB and "maximum 1080p",
//! 1 to 35 images per post. Our reading of "maximum 1080p" is at most 1080 px on the short
//! side and 1920 px on the long side, the size of a 1080p frame in either orientation (the
//! fake TikTok enforces the same). "20 MB" is read as 20,000,000 bytes, the smaller of its
//! two readings. A PNG, or an image over the caps, is converted before it is posted
//! (`media::photo` in the core); anything else is refused.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The most bytes one photo may have: "20 MB", read as 10^6-byte megabytes (the stricter).
pub const MAX_PHOTO_BYTES: u64 = 20_000_000;
/// The short side of a 1080p frame.
pub const MAX_SHORT_SIDE_PX: u32 = 1080;
/// The long side of a 1080p frame.
pub const MAX_LONG_SIDE_PX: u32 = 1920;
/// Photos per post (TikTok: 1 to 35 `photo_images`).
pub const MAX_PHOTOS: usize = 35;
/// The largest file the stack reads to convert: a camera's PNG is rarely past 100 MB, and
/// decoding stays within [`MAX_DECODE_BYTES`] whatever the file says.
pub const MAX_SOURCE_BYTES: u64 = 100_000_000;
/// The most memory one decode may allocate (an 8000 x 6000 RGBA image is 192 MB).
pub const MAX_DECODE_BYTES: u64 = 256 * 1024 * 1024;

/// A photo's pixel size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PixelSize {
    pub width: u32,
    pub height: u32,
}

impl PixelSize {
    /// Whether TikTok takes it as it is (our reading of "maximum 1080p").
    pub fn fits_1080p(self) -> bool {
        let (short, long) = (self.width.min(self.height), self.width.max(self.height));
        short <= MAX_SHORT_SIDE_PX && long <= MAX_LONG_SIDE_PX
    }

    /// The largest size with the same shape that fits 1080p (itself when it already does).
    pub fn scaled_to_1080p(self) -> PixelSize {
        if self.fits_1080p() || self.width == 0 || self.height == 0 {
            return self;
        }
        let (short, long) = (self.width.min(self.height), self.width.max(self.height));
        // The scale that brings both sides within their caps, rounded down so neither
        // overshoots; never below one pixel.
        let scale = f64::min(
            f64::from(MAX_SHORT_SIDE_PX) / f64::from(short),
            f64::from(MAX_LONG_SIDE_PX) / f64::from(long),
        );
        let side = |px: u32| ((f64::from(px) * scale).floor() as u32).max(1);
        PixelSize {
            width: side(self.width),
            height: side(self.height),
        }
    }
}

impl fmt::Display for PixelSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}", self.width, self.height)
    }
}

/// Why an image cannot be posted, even after conversion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "refusal", rename_all = "snake_case")]
pub enum PhotoRefusal {
    /// Not an image format the stack can read or convert (GIF, HEIC, a video, text).
    #[error(
        "{found}: TikTok takes JPEG and WebP photos (a PNG is converted); save it as JPEG and post again"
    )]
    Format { found: String },
    /// Larger than the stack reads to convert.
    #[error(
        "{bytes} bytes: the stack converts images of at most {MAX_SOURCE_BYTES} bytes; export a smaller JPEG"
    )]
    TooLarge { bytes: u64 },
    /// So many pixels that decoding it would take more memory than the stack allows.
    #[error(
        "{size} pixels: too large to convert within {MAX_DECODE_BYTES} bytes of memory; export it at 1080p or smaller"
    )]
    TooManyPixels { size: PixelSize },
    /// The decoder refused it: damaged, or not what its first bytes say.
    #[error("the image cannot be read ({detail}); export it again as JPEG")]
    Unreadable { detail: String },
    /// More photos than TikTok takes in one post, or none.
    #[error("{count} photos: a TikTok photo post has 1 to {MAX_PHOTOS}")]
    Count { count: usize },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(width: u32, height: u32) -> PixelSize {
        PixelSize { width, height }
    }

    #[test]
    fn full_hd_means_1080_on_the_short_side_and_1920_on_the_long_one_either_way() {
        assert!(size(1080, 1920).fits_1080p());
        assert!(size(1920, 1080).fits_1080p());
        assert!(size(1080, 1080).fits_1080p());
        assert!(!size(1081, 1920).fits_1080p());
        assert!(!size(1080, 1921).fits_1080p());
        assert!(!size(1200, 1200).fits_1080p());
    }

    #[test]
    fn scaling_keeps_the_shape_and_lands_within_both_caps() {
        assert_eq!(size(4000, 3000).scaled_to_1080p(), size(1440, 1080));
        assert_eq!(size(3000, 4000).scaled_to_1080p(), size(1080, 1440));
        assert_eq!(size(4000, 1000).scaled_to_1080p(), size(1920, 480));
        assert_eq!(size(2160, 3840).scaled_to_1080p(), size(1080, 1920));
        assert_eq!(size(800, 600).scaled_to_1080p(), size(800, 600));
        for (w, h) in [(1081, 1081), (9999, 7), (7, 9999), (5000, 5001)] {
            let scaled = size(w, h).scaled_to_1080p();
            assert!(scaled.fits_1080p(), "{w}x{h} -> {scaled}");
        }
    }

    #[test]
    fn a_refusal_names_what_was_found_and_what_to_do() {
        let refusal = PhotoRefusal::Format {
            found: "GIF".into(),
        };
        assert_eq!(
            refusal.to_string(),
            "GIF: TikTok takes JPEG and WebP photos (a PNG is converted); save it as JPEG and post again"
        );
    }
}
