//! Where uploads land in the bucket: `{prefix}{open_id}/{name}`, and a video's manifest.

use crate::photo_post::{PHOTO_MANIFEST_SUFFIX, is_image_key};

/// The prefix the S3 trigger watches, unless `UPLOAD_PREFIX` says otherwise.
pub const DEFAULT_UPLOAD_PREFIX: &str = "uploads/";

/// The folder (under an account's upload folder) the web console's browser uploads land in:
/// `{prefix}{open_id}/.console/{upload_id}/{name}`. The console starts their posts with the
/// options the page asked for, so the trigger and the orphan sweep leave them alone; under
/// the upload prefix, they are tagged for retention and served by the front door as any
/// upload is.
pub const CONSOLE_FOLDER: &str = ".console";

/// An object under the upload prefix: `{prefix}{open_id}/{name}`; a name ending in `.json`
/// is the options manifest of the video named without it (`clip.mp4.json` → `clip.mp4`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadKey {
    Video {
        open_id: String,
        key: String,
    },
    Manifest {
        open_id: String,
        video_key: String,
    },
    /// A photo post's manifest (`NAME.photos.json`, see [`crate::photo_post`]).
    PhotoManifest {
        open_id: String,
        key: String,
    },
    /// An image file (by its suffix): a part of a photo post, never a post of its own.
    Image {
        open_id: String,
        key: String,
    },
    /// A file the web console uploaded ([`CONSOLE_FOLDER`]): its post is the console's to
    /// start.
    ConsoleUpload {
        open_id: String,
        key: String,
    },
}

/// Reads an S3 key under `prefix` (for example `uploads/`); `None` for keys elsewhere or
/// without an account folder and a name.
pub fn parse_upload_key(prefix: &str, key: &str) -> Option<UploadKey> {
    let rest = key.strip_prefix(prefix)?;
    let (open_id, name) = rest.split_once('/')?;
    if open_id.is_empty() || name.is_empty() || name.ends_with('/') {
        return None;
    }
    let open_id = open_id.to_owned();
    if name
        .strip_prefix(CONSOLE_FOLDER)
        .is_some_and(|rest| rest.starts_with('/'))
    {
        return Some(UploadKey::ConsoleUpload {
            open_id,
            key: key.to_owned(),
        });
    }
    if name.ends_with(PHOTO_MANIFEST_SUFFIX) {
        return Some(UploadKey::PhotoManifest {
            open_id,
            key: key.to_owned(),
        });
    }
    if is_image_key(name) {
        return Some(UploadKey::Image {
            open_id,
            key: key.to_owned(),
        });
    }
    Some(match key.strip_suffix(".json") {
        Some(video_key) if !video_key.ends_with('/') => UploadKey::Manifest {
            open_id,
            video_key: video_key.to_owned(),
        },
        _ => UploadKey::Video {
            open_id,
            key: key.to_owned(),
        },
    })
}

/// The manifest key of a video key.
pub fn manifest_key(video_key: &str) -> String {
    format!("{video_key}.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_keys_name_the_account_and_the_manifest() {
        assert_eq!(
            parse_upload_key("uploads/", "uploads/abc/clip.mp4"),
            Some(UploadKey::Video {
                open_id: "abc".into(),
                key: "uploads/abc/clip.mp4".into()
            })
        );
        assert_eq!(
            parse_upload_key("uploads/", "uploads/abc/d/clip.mp4.json"),
            Some(UploadKey::Manifest {
                open_id: "abc".into(),
                video_key: "uploads/abc/d/clip.mp4".into()
            })
        );
        for outside in [
            "other/abc/clip.mp4",
            "uploads/clip.mp4",
            "uploads//x.mp4",
            "uploads/abc/",
            "uploads/abc/d/",
        ] {
            assert_eq!(parse_upload_key("uploads/", outside), None, "{outside}");
        }
        assert_eq!(manifest_key("uploads/a/b.mp4"), "uploads/a/b.mp4.json");
    }

    #[test]
    fn console_uploads_are_their_own_kind_whatever_their_name() {
        for name in [
            "u1/clip.mp4",
            "u1/clip.mp4.json",
            "u1/a.jpg",
            "u1/a.photos.json",
        ] {
            let key = format!("uploads/abc/.console/{name}");
            assert_eq!(
                parse_upload_key("uploads/", &key),
                Some(UploadKey::ConsoleUpload {
                    open_id: "abc".into(),
                    key: key.clone()
                }),
                "{key}"
            );
        }
        // Only the folder itself: a video named like it is a video.
        assert!(matches!(
            parse_upload_key("uploads/", "uploads/abc/.console.mp4"),
            Some(UploadKey::Video { .. })
        ));
    }

    #[test]
    fn photo_manifests_and_images_are_told_apart_from_videos() {
        assert_eq!(
            parse_upload_key("uploads/", "uploads/abc/trip.photos.json"),
            Some(UploadKey::PhotoManifest {
                open_id: "abc".into(),
                key: "uploads/abc/trip.photos.json".into()
            })
        );
        for image in [
            "uploads/abc/1.JPG",
            "uploads/abc/d/2.webp",
            "uploads/abc/.tiktok-prepared/p/0.jpg",
        ] {
            assert_eq!(
                parse_upload_key("uploads/", image),
                Some(UploadKey::Image {
                    open_id: "abc".into(),
                    key: image.into()
                }),
                "{image}"
            );
        }
    }
}
