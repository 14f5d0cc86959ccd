use image::{ImageBuffer, Rgb, Rgba};

use super::*;

/// An image of the given size with a gradient (so that encoders have something to encode),
/// written in `format`.
fn image_file(width: u32, height: u32, format: ImageFormat) -> Vec<u8> {
    let pixels = ImageBuffer::from_fn(width, height, |x, y| {
        Rgba([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8, 200])
    });
    let image = match format {
        ImageFormat::Jpeg => DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(pixels).to_rgb8()),
        _ => DynamicImage::ImageRgba8(pixels),
    };
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).expect("encodes");
    out.into_inner()
}

fn read_back(photo: &ReadyPhoto) -> (ImageFormat, u32, u32) {
    let format = image::guess_format(&photo.bytes).expect("an image");
    let decoded = image::load_from_memory(&photo.bytes).expect("decodes");
    (format, decoded.width(), decoded.height())
}

#[test]
fn a_jpeg_or_webp_within_1080p_goes_as_it_is() {
    for format in [ImageFormat::Jpeg, ImageFormat::WebP] {
        let file = image_file(1080, 1350, format);
        let photo = prepare_photo(&file).expect("taken");
        assert_eq!(photo.conversion, Conversion::None, "{format:?}");
        assert_eq!(photo.bytes, file, "{format:?}: the very bytes");
        assert_eq!(
            photo.size,
            PixelSize {
                width: 1080,
                height: 1350
            }
        );
    }
}

#[test]
fn a_png_becomes_a_jpeg_of_the_same_size() {
    let photo = prepare_photo(&image_file(800, 600, ImageFormat::Png)).expect("converted");
    assert_eq!(photo.conversion, Conversion::PngToJpeg);
    assert_eq!(photo.format, PhotoFormat::Jpeg);
    assert_eq!(read_back(&photo), (ImageFormat::Jpeg, 800, 600));
}

#[test]
fn an_image_over_1080p_is_scaled_down_to_fit_keeping_its_shape() {
    for format in [ImageFormat::Jpeg, ImageFormat::Png, ImageFormat::WebP] {
        let photo = prepare_photo(&image_file(2400, 1800, format)).expect("converted");
        assert_eq!(
            photo.conversion,
            Conversion::Downscaled {
                from: PixelSize {
                    width: 2400,
                    height: 1800
                }
            },
            "{format:?}"
        );
        assert_eq!(
            read_back(&photo),
            (ImageFormat::Jpeg, 1440, 1080),
            "{format:?}"
        );
        assert!(photo.bytes.len() as u64 <= MAX_PHOTO_BYTES);
    }
}

#[test]
fn other_formats_and_non_images_are_refused_by_what_they_are() {
    // A 1 x 1 GIF (the smallest valid one), whatever its name would say.
    let gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";
    assert_eq!(
        prepare_photo(gif),
        Err(PhotoRefusal::Format {
            found: "GIF".into()
        })
    );
    assert_eq!(
        prepare_photo(b"hello, not an image"),
        Err(PhotoRefusal::Format {
            found: "not an image".into()
        })
    );
}

#[test]
fn a_damaged_image_is_refused_as_unreadable() {
    let mut file = image_file(2000, 2000, ImageFormat::Png);
    file.truncate(200);
    assert!(matches!(
        prepare_photo(&file),
        Err(PhotoRefusal::Unreadable { .. })
    ));
}

#[test]
fn a_small_file_claiming_a_huge_image_is_refused_before_it_takes_the_memory() {
    // A PNG header that claims 60000 x 60000 pixels (14 GB decoded), and little else.
    // The IHDR chunk's data is bytes 16..29 and its CRC (over type and data) 29..33.
    let mut png = image_file(1, 1, ImageFormat::Png);
    png[16..20].copy_from_slice(&60_000u32.to_be_bytes());
    png[20..24].copy_from_slice(&60_000u32.to_be_bytes());
    let crc = crc32fast::hash(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    let refusal = prepare_photo(&png).expect_err("refused");
    let size = PixelSize {
        width: 60_000,
        height: 60_000,
    };
    assert_eq!(refusal, PhotoRefusal::TooManyPixels { size });
}

#[test]
fn a_file_over_what_the_stack_converts_is_refused_unread() {
    let big = vec![0u8; (MAX_SOURCE_BYTES + 1) as usize];
    assert_eq!(
        prepare_photo(&big),
        Err(PhotoRefusal::TooLarge {
            bytes: MAX_SOURCE_BYTES + 1
        })
    );
}

#[test]
fn a_rgba_png_is_flattened_into_a_jpeg() {
    let pixels: ImageBuffer<Rgba<u8>, _> = ImageBuffer::from_pixel(64, 64, Rgba([10, 20, 30, 0]));
    let mut file = Cursor::new(Vec::new());
    DynamicImage::ImageRgba8(pixels)
        .write_to(&mut file, ImageFormat::Png)
        .unwrap();
    let photo = prepare_photo(file.get_ref()).expect("converted");
    let decoded = image::load_from_memory(&photo.bytes).unwrap().to_rgb8();
    let Rgb([r, g, b]) = *decoded.get_pixel(32, 32);
    // JPEG is lossy: the colour survives within a few levels.
    assert!(
        r.abs_diff(10) < 6 && g.abs_diff(20) < 6 && b.abs_diff(30) < 6,
        "{r} {g} {b}"
    );
}
