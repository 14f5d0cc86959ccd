//! A photo made ready for TikTok (see `tiktok_publish_domain::photo_rules`): a JPEG or WebP
//! within the caps goes as it is; a PNG, or an image over the caps, is decoded and written
//! again as JPEG, scaled down to 1080p when it is larger. Anything else is refused with the
//! reason. Decoding runs under `image::Limits`, so a small file that claims a huge image
//! cannot take the Lambda's memory.

use std::io::Cursor;

use image::imageops::FilterType;
use image::{DynamicImage, ImageFormat, ImageReader, Limits};
use tiktok_publish_domain::photo_rules::{
    MAX_DECODE_BYTES, MAX_PHOTO_BYTES, MAX_SOURCE_BYTES, PhotoRefusal, PixelSize,
};

/// JPEG quality of a converted photo: no visible loss, and a 1080 x 1920 photo stays well
/// under TikTok's 20 MB.
const JPEG_QUALITY: u8 = 90;

/// The formats TikTok takes for photos.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoFormat {
    Jpeg,
    Webp,
}

impl PhotoFormat {
    pub const fn content_type(self) -> &'static str {
        match self {
            PhotoFormat::Jpeg => "image/jpeg",
            PhotoFormat::Webp => "image/webp",
        }
    }
}

/// What the stack did to an image so that TikTok takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conversion {
    /// Taken as it is.
    None,
    /// A PNG written again as JPEG, at the same size.
    PngToJpeg,
    /// Larger than 1080p (or than 20 MB): scaled down and written as JPEG.
    Downscaled { from: PixelSize },
}

/// A photo TikTok takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadyPhoto {
    pub bytes: Vec<u8>,
    pub format: PhotoFormat,
    pub size: PixelSize,
    pub conversion: Conversion,
}

/// Makes `bytes` (one image file, whatever its name says) a photo TikTok takes, or says why
/// it cannot be.
pub fn prepare_photo(bytes: &[u8]) -> Result<ReadyPhoto, PhotoRefusal> {
    let length = bytes.len() as u64;
    if length > MAX_SOURCE_BYTES {
        return Err(PhotoRefusal::TooLarge { bytes: length });
    }
    // The content decides, never the file's name.
    let format = image::guess_format(bytes).map_err(|_| PhotoRefusal::Format {
        found: "not an image".to_owned(),
    })?;
    let taken = match format {
        ImageFormat::Jpeg => Some(PhotoFormat::Jpeg),
        ImageFormat::WebP => Some(PhotoFormat::Webp),
        ImageFormat::Png => None,
        other => {
            return Err(PhotoRefusal::Format {
                found: format!("{other:?}").to_uppercase(),
            });
        }
    };
    let size = dimensions(bytes, format)?;
    if let Some(photo_format) = taken
        && size.fits_1080p()
        && length <= MAX_PHOTO_BYTES
    {
        return Ok(ReadyPhoto {
            bytes: bytes.to_vec(),
            format: photo_format,
            size,
            conversion: Conversion::None,
        });
    }
    let image = decode(bytes, format).map_err(|err| match err {
        image::ImageError::Limits(_) => PhotoRefusal::TooManyPixels { size },
        err => unreadable(err),
    })?;
    let target = size.scaled_to_1080p();
    let (image, conversion) = if target == size && taken.is_none() {
        (image, Conversion::PngToJpeg)
    } else {
        let scaled = image.resize_exact(target.width, target.height, FilterType::CatmullRom);
        (scaled, Conversion::Downscaled { from: size })
    };
    let bytes = encode_jpeg(&image)?;
    Ok(ReadyPhoto {
        bytes,
        format: PhotoFormat::Jpeg,
        size: target,
        conversion,
    })
}

fn reader(bytes: &[u8], format: ImageFormat) -> ImageReader<Cursor<&[u8]>> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    reader
}

fn unreadable(err: image::ImageError) -> PhotoRefusal {
    PhotoRefusal::Unreadable {
        detail: err.to_string(),
    }
}

/// The size from the headers alone: nothing is decoded for a photo taken as it is.
fn dimensions(bytes: &[u8], format: ImageFormat) -> Result<PixelSize, PhotoRefusal> {
    let (width, height) = reader(bytes, format)
        .into_dimensions()
        .map_err(unreadable)?;
    Ok(PixelSize { width, height })
}

fn decode(bytes: &[u8], format: ImageFormat) -> Result<DynamicImage, image::ImageError> {
    reader(bytes, format).decode()
}

fn encode_jpeg(image: &DynamicImage) -> Result<Vec<u8>, PhotoRefusal> {
    // JPEG has no alpha: a transparent PNG is flattened (its transparent pixels keep their
    // colour channels).
    let rgb = DynamicImage::ImageRgb8(image.to_rgb8());
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY);
    rgb.write_with_encoder(encoder).map_err(unreadable)?;
    Ok(out)
}

#[cfg(test)]
mod tests;
