//! A photo post (a carousel): its images, the options it takes, and its S3 manifest.
//!
//! Every entry point makes the same post: the S3 manifest `{prefix}{open_id}/NAME.photos.json`
//! (`{"images": [...], ...options}`: the options are a video manifest's, plus the photo
//! fields), `POST /posts` with `images`, and the CLI, which uploads the images and then one
//! of the two. The options follow TikTok's Photo Post page: a title of at most 90 UTF-16
//! units, a `description` (4000), `auto_add_music`, `photo_cover_index`, and Comment as the
//! only interaction switch.

use serde_json::{Map, Value};

use crate::options::{OptionsError, OptionsInput, from_json};
use crate::photo_rules::MAX_PHOTOS;
use crate::post::PostOptions;
use crate::tiktok::{MAX_PHOTO_DESCRIPTION_UTF16, MAX_PHOTO_TITLE_UTF16, utf16_len};
use crate::time::UnixTime;

/// The suffix of a photo post's manifest: `NAME.photos.json`.
pub const PHOTO_MANIFEST_SUFFIX: &str = ".photos.json";

/// The name suffixes of image files (lower case). Images dropped on their own are parts of
/// a photo post to come, never posts of their own.
pub const IMAGE_SUFFIXES: [&str; 4] = [".jpg", ".jpeg", ".png", ".webp"];

/// The folder (under an account's upload folder) where the pipeline writes the images it
/// converted for TikTok: `{prefix}{open_id}/.tiktok-prepared/{post_id}/{n}.jpg`. Under the
/// upload prefix, so the front door serves them; image names, so the trigger ignores them.
pub const PREPARED_FOLDER: &str = ".tiktok-prepared";

/// Whether `key` names an image file, by its suffix (any case).
pub fn is_image_key(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    IMAGE_SUFFIXES.iter().any(|suffix| lower.ends_with(suffix))
}

/// A photo post's manifest, parsed: the image entries as written, and the options or why
/// they are refused (the images alone still make the post, recorded as refused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoManifest {
    pub images: Vec<String>,
    pub options: Result<PostOptions, OptionsError>,
}

/// Parses a photo manifest: a JSON object with `images` (1 to 35 keys) and the post's
/// options beside it, as in a video's manifest. `Err`: no post can be made of it (not a
/// JSON object, or no usable `images`).
pub fn parse_photo_manifest(json: &[u8], now: UnixTime) -> Result<PhotoManifest, OptionsError> {
    let mut document: Map<String, Value> = from_json(json)?;
    let images = image_entries(document.remove("images"), "")?;
    let options = serde_json::to_vec(&Value::Object(document))
        .map_err(|e| OptionsError::new("body", e.to_string()))
        .and_then(|rest| from_json::<OptionsInput>(&rest))
        .and_then(|input| validate_photo_options(input, "", now, images.len()));
    Ok(PhotoManifest { images, options })
}

/// The `images` field: 1 to 35 strings. `prefix` names the enclosing object in errors.
pub fn image_entries(value: Option<Value>, prefix: &str) -> Result<Vec<String>, OptionsError> {
    let field = format!("{prefix}images");
    let Some(value) = value else {
        return Err(OptionsError::new(
            field,
            "is required: the keys of the photos, in order (1 to 35)",
        ));
    };
    let Value::Array(entries) = value else {
        return Err(OptionsError::new(field, "must be an array of object keys"));
    };
    if entries.is_empty() || entries.len() > MAX_PHOTOS {
        return Err(OptionsError::new(
            field,
            format!(
                "has {} entries; a TikTok photo post has 1 to {MAX_PHOTOS} photos",
                entries.len()
            ),
        ));
    }
    entries
        .into_iter()
        .enumerate()
        .map(|(at, entry)| match entry {
            Value::String(key) => Ok(key),
            _ => Err(OptionsError::new(
                format!("{field}[{at}]"),
                "must be a string: an object key",
            )),
        })
        .collect()
}

/// Checks a photo post's options. Comment is its only interaction switch; the title is
/// at most 90 UTF-16 units, the description 4000; the cover is one of the `count` images.
/// A draft (TikTok's `MEDIA_UPLOAD`) takes a title and a description, and no other setting.
pub fn validate_photo_options(
    mut input: OptionsInput,
    prefix: &str,
    now: UnixTime,
    count: usize,
) -> Result<PostOptions, OptionsError> {
    let field = |name: &str| format!("{prefix}{name}");
    let video_only = [
        ("disable_duet", input.disable_duet.is_some()),
        ("disable_stitch", input.disable_stitch.is_some()),
        ("allow_duet", input.allow_duet.is_some()),
        ("allow_stitch", input.allow_stitch.is_some()),
        (
            "video_cover_timestamp_ms",
            input.video_cover_timestamp_ms.is_some(),
        ),
        ("is_aigc", input.is_aigc.is_some()),
        ("source", input.source.is_some()),
    ];
    if let Some((name, _)) = video_only.iter().find(|(_, set)| *set) {
        return Err(OptionsError::new(
            field(name),
            "is for videos; a photo post does not take it (comment is a photo post's only \
             interaction switch, and TikTok always pulls its photos)",
        ));
    }
    let title = input.title.take().unwrap_or_default();
    let description = input.description.take().unwrap_or_default();
    for (name, text, max) in [
        ("title", &title, MAX_PHOTO_TITLE_UTF16),
        ("description", &description, MAX_PHOTO_DESCRIPTION_UTF16),
    ] {
        let units = utf16_len(text);
        if units > max {
            return Err(OptionsError::new(
                field(name),
                format!(
                    "is {units} UTF-16 code units long; TikTok takes at most {max} for a photo \
                     post (an emoji counts as 2)"
                ),
            ));
        }
    }
    let cover = input.photo_cover_index.take();
    if let Some(index) = cover
        && index >= count
    {
        return Err(OptionsError::new(
            field("photo_cover_index"),
            format!("is {index}, past the last of {count} photos (it counts from 0)"),
        ));
    }
    let auto_add_music = input.auto_add_music.take();
    let draft = input.mode.as_deref() == Some("draft");
    if draft && auto_add_music.is_some() {
        return Err(OptionsError::new(
            field("auto_add_music"),
            "a draft takes no post settings: the creator sets them in the TikTok app \
             (remove it, or use mode \"direct_post\")",
        ));
    }
    let mut options = input.validate(prefix, now)?;
    options.title = title;
    options.description = description;
    options.auto_add_music = auto_add_music.unwrap_or(false);
    options.photo_cover_index = cover;
    Ok(options)
}

/// The full key of an image a manifest at `manifest_key` names: an entry under the
/// account's folder (`{prefix}{open_id}/...`) is a full key; any other is relative to the
/// manifest's folder. `field` names the entry in errors (`images[2]`).
pub fn resolve_image_key(
    upload_prefix: &str,
    open_id: &str,
    manifest_key: &str,
    entry: &str,
    field: &str,
) -> Result<String, OptionsError> {
    let refuse = |rule: &str| OptionsError::new(field, format!("{entry:?} {rule}"));
    if entry.is_empty() {
        return Err(refuse("is empty; give an image's key"));
    }
    if entry.chars().any(char::is_control) {
        return Err(refuse("contains control characters"));
    }
    if entry.contains("://") {
        return Err(refuse(
            "is a URL; give the key of an image in the bucket (TikTok pulls it from the front door)",
        ));
    }
    if entry.starts_with('/') || entry.ends_with('/') {
        return Err(refuse(
            "starts or ends with '/'; give a key relative to the manifest's folder, or one under \
             the account's upload folder",
        ));
    }
    if entry
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return Err(refuse(
            "has an empty, '.' or '..' part; keys are not paths to walk",
        ));
    }
    if entry.ends_with(".json") {
        return Err(refuse("is a manifest, not an image"));
    }
    let account_folder = format!("{upload_prefix}{open_id}/");
    if entry.starts_with(&account_folder) {
        return Ok(entry.to_owned());
    }
    if entry.starts_with(upload_prefix) {
        return Err(refuse(&format!(
            "is outside this account's folder {account_folder}"
        )));
    }
    let folder = manifest_key
        .rsplit_once('/')
        .map_or("", |(folder, _)| folder);
    let key = if folder.is_empty() {
        entry.to_owned()
    } else {
        format!("{folder}/{entry}")
    };
    if key.len() > 1024 {
        return Err(refuse("makes a key longer than S3's 1024 bytes"));
    }
    Ok(key)
}

#[cfg(test)]
mod tests;
