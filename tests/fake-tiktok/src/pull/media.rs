//! The checks on a pulled photo, with the `image` crate (formats told by content, never by
//! name or Content-Type). Media Transfer Guide, Image restrictions: "Supported media
//! formats: WebP JPEG", "Picture size restrictions: Maximum 1080p".

use std::io::Cursor;

use image::{ImageFormat, ImageReader};

use crate::state::PullEnd;
use crate::{MAX_PHOTO_LONG_SIDE, MAX_PHOTO_SHORT_SIDE};

/// `Err` with TikTok's reason (`file_format_check_failed`, `picture_size_check_failed`)
/// and what was found.
pub(super) fn check_photo(bytes: &[u8]) -> Result<(), (PullEnd, String)> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| (PullEnd::FileFormat, format!("unreadable: {e}")))?;
    let format = reader.format();
    if !matches!(format, Some(ImageFormat::Jpeg | ImageFormat::WebP)) {
        return Err((PullEnd::FileFormat, format!("{format:?}, not JPEG or WebP")));
    }
    let (width, height) = reader
        .into_dimensions()
        .map_err(|e| (PullEnd::FileFormat, format!("unreadable {format:?}: {e}")))?;
    let (short, long) = (width.min(height), width.max(height));
    if short > MAX_PHOTO_SHORT_SIDE || long > MAX_PHOTO_LONG_SIDE {
        return Err((
            PullEnd::PictureSize,
            format!("{width}x{height}, over {MAX_PHOTO_SHORT_SIDE}x{MAX_PHOTO_LONG_SIDE} (1080p)"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageEncoder, RgbImage};

    fn jpeg(width: u32, height: u32) -> Vec<u8> {
        let mut out = Vec::new();
        let image = RgbImage::new(width, height);
        image::codecs::jpeg::JpegEncoder::new(&mut out)
            .write_image(
                image.as_raw(),
                width,
                height,
                image::ExtendedColorType::Rgb8,
            )
            .expect("encodes");
        out
    }

    #[test]
    fn a_1080p_jpeg_passes_either_way_round() {
        assert_eq!(check_photo(&jpeg(1080, 1920)), Ok(()));
        assert_eq!(check_photo(&jpeg(1920, 1080)), Ok(()));
    }

    #[test]
    fn a_picture_over_1080p_fails_the_size_check() {
        let (end, _) = check_photo(&jpeg(1081, 1920)).expect_err("too wide");
        assert_eq!(end, PullEnd::PictureSize);
        let (end, _) = check_photo(&jpeg(1080, 1921)).expect_err("too tall");
        assert_eq!(end, PullEnd::PictureSize);
    }

    #[test]
    fn bytes_that_are_no_picture_fail_the_format_check() {
        let (end, _) = check_photo(b"GIF89a not really").expect_err("not JPEG/WebP");
        assert_eq!(end, PullEnd::FileFormat);
        let (end, _) = check_photo(b"").expect_err("empty");
        assert_eq!(end, PullEnd::FileFormat);
    }
}
