//! S3 keys from "Object Created" events (`parse_upload_key`): whoever can write to the upload
//! prefix chooses them.
//!
//! Input: `PREFIX 0xFF KEY` (both as UTF-8, lossily); without a separator the whole input is
//! the key under the documented prefix `uploads/`.
//!
//! Beyond "no panic": a key is only ever read as an upload under the prefix, the account is
//! the first folder (non-empty, no `/`), a video's (an image's, a photo manifest's) key is
//! the key itself, and a manifest names the video whose `manifest_key` it is.
#![no_main]

use fuzz_support::split_parts;
use libfuzzer_sys::fuzz_target;
use tiktok_publish_core::intake::{UploadKey, manifest_key, parse_upload_key};
use tiktok_publish_core::trigger::DEFAULT_UPLOAD_PREFIX;

fuzz_target!(|data: &[u8]| {
    let (prefix, key) = if data.contains(&0xFF) {
        let parts = split_parts(data, 2);
        (
            String::from_utf8_lossy(parts[0]).into_owned(),
            String::from_utf8_lossy(parts[1]).into_owned(),
        )
    } else {
        (
            DEFAULT_UPLOAD_PREFIX.to_owned(),
            String::from_utf8_lossy(data).into_owned(),
        )
    };
    let Some(parsed) = parse_upload_key(&prefix, &key) else {
        return;
    };
    let rest = key
        .strip_prefix(prefix.as_str())
        .unwrap_or_else(|| panic!("{key:?} accepted outside prefix {prefix:?}"));
    let (folder, name) = rest
        .split_once('/')
        .unwrap_or_else(|| panic!("{key:?} accepted without an account folder"));
    assert!(
        !name.is_empty() && !name.ends_with('/'),
        "{key:?} names no object"
    );
    match parsed {
        UploadKey::Video {
            open_id,
            key: video,
        }
        | UploadKey::Image {
            open_id,
            key: video,
        }
        | UploadKey::PhotoManifest {
            open_id,
            key: video,
        }
        | UploadKey::ConsoleUpload {
            open_id,
            key: video,
        } => {
            assert_eq!(open_id, folder);
            assert!(!open_id.is_empty() && !open_id.contains('/'));
            assert_eq!(video, key, "an object's key must be the event's key");
        }
        UploadKey::Manifest { open_id, video_key } => {
            assert_eq!(open_id, folder);
            assert!(!open_id.is_empty() && !open_id.contains('/'));
            assert_eq!(
                manifest_key(&video_key),
                key,
                "manifest and video key disagree"
            );
            // The video the manifest describes belongs to the same account.
            match parse_upload_key(&prefix, &video_key) {
                Some(UploadKey::Video { open_id: owner, .. })
                | Some(UploadKey::Manifest { open_id: owner, .. })
                | Some(UploadKey::Image { open_id: owner, .. })
                | Some(UploadKey::PhotoManifest { open_id: owner, .. })
                | Some(UploadKey::ConsoleUpload { open_id: owner, .. }) => {
                    assert_eq!(owner, open_id, "{video_key:?} moved to another account")
                }
                None => panic!("manifest {key:?} describes {video_key:?}, which is no upload"),
            }
        }
    }
});
