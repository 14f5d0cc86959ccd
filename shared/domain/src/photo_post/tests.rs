use super::*;
use crate::photo_rules::PhotoRefusal;
use crate::photo_set::PhotoSet;
use crate::tiktok::{PostMode, PrivacyLevel};
use crate::video::VideoLocation;

const NOW: UnixTime = 1_790_000_000;

/// The images and options, or the first refusal.
fn manifest(json: &str) -> Result<(Vec<String>, PostOptions), OptionsError> {
    let parsed = parse_photo_manifest(json.as_bytes(), NOW)?;
    Ok((parsed.images, parsed.options?))
}

#[test]
fn a_manifest_names_its_images_beside_a_video_manifests_options() {
    let parsed = manifest(
        r#"{"images":["1.jpg","2.png","uploads/abc/x/3.webp"],"title":"trip",
            "description":"three days #sea","privacy_level":"SELF_ONLY","allow_comment":true,
            "auto_add_music":true,"photo_cover_index":2,"brand_organic_toggle":true}"#,
    )
    .unwrap();
    let (images, options) = parsed;
    assert_eq!(images, ["1.jpg", "2.png", "uploads/abc/x/3.webp"]);
    assert_eq!(options.mode, PostMode::DirectPost);
    assert_eq!(options.privacy_level, Some(PrivacyLevel::SelfOnly));
    assert_eq!(options.title, "trip");
    assert_eq!(options.description, "three days #sea");
    assert_eq!(options.disable_comment, Some(false));
    assert!(options.auto_add_music && options.brand_organic_toggle);
    assert_eq!(options.photo_cover_index, Some(2));
}

#[test]
fn a_photo_draft_keeps_its_title_and_description() {
    let (_, options) =
        manifest(r#"{"images":["a.jpg"],"mode":"draft","title":"t","description":"d"}"#).unwrap();
    assert_eq!(options.mode, PostMode::Draft);
    assert_eq!(
        (options.title.as_str(), options.description.as_str()),
        ("t", "d")
    );
    // Bad options still leave the images to record the refused post with.
    let parsed = parse_photo_manifest(br#"{"images":["a.jpg"],"mode":"x"}"#, NOW).unwrap();
    assert_eq!(parsed.images, ["a.jpg"]);
    assert_eq!(parsed.options.unwrap_err().field, "mode");
}

#[test]
fn each_bad_photo_field_is_named_with_its_rule() {
    let thirty_six = serde_json::to_string(&vec!["a.jpg"; 36]).unwrap();
    let long_title = "é".repeat(91);
    let cases = [
        (
            r#"{"privacy_level":"SELF_ONLY"}"#.to_owned(),
            "images",
            "is required",
        ),
        (
            r#"{"images":[],"privacy_level":"SELF_ONLY"}"#.to_owned(),
            "images",
            "0 entries",
        ),
        (
            format!(r#"{{"images":{thirty_six},"privacy_level":"SELF_ONLY"}}"#),
            "images",
            "36 entries",
        ),
        (r#"{"images":"a.jpg"}"#.to_owned(), "images", "array"),
        (
            r#"{"images":["a.jpg",3]}"#.to_owned(),
            "images[1]",
            "must be a string",
        ),
        (
            r#"{"images":["a.jpg"],"privacy_level":"SELF_ONLY","allow_duet":true}"#.to_owned(),
            "allow_duet",
            "is for videos",
        ),
        (
            r#"{"images":["a.jpg"],"privacy_level":"SELF_ONLY","source":"FILE_UPLOAD"}"#.to_owned(),
            "source",
            "is for videos",
        ),
        (
            format!(r#"{{"images":["a.jpg"],"privacy_level":"SELF_ONLY","title":"{long_title}"}}"#),
            "title",
            "at most 90",
        ),
        (
            r#"{"images":["a.jpg","b.jpg"],"privacy_level":"SELF_ONLY","photo_cover_index":2}"#
                .to_owned(),
            "photo_cover_index",
            "past the last of 2",
        ),
        (
            r#"{"images":["a.jpg"]}"#.to_owned(),
            "privacy_level",
            "is required",
        ),
        (
            r#"{"images":["a.jpg"],"mode":"draft","auto_add_music":true}"#.to_owned(),
            "auto_add_music",
            "a draft takes no post settings",
        ),
        (
            r#"{"images":["a.jpg"],"privacy_level":"SELF_ONLY","captoin":"x"}"#.to_owned(),
            "captoin",
            "unknown field",
        ),
        (r#"["a.jpg"]"#.to_owned(), "body", "invalid type"),
    ];
    for (json, field, rule) in cases {
        let err = manifest(&json).unwrap_err();
        assert_eq!(err.field, field, "{json}: {err}");
        assert!(err.rule.contains(rule), "{json}: {err}");
    }
}

#[test]
fn a_video_refuses_the_photo_fields() {
    let err = crate::options::parse_options_json(
        br#"{"privacy_level":"SELF_ONLY","description":"x"}"#,
        NOW,
    )
    .unwrap_err();
    assert_eq!(err.field, "description");
    assert!(err.rule.contains("photo posts only"), "{err}");
}

#[test]
fn image_keys_are_relative_to_the_manifest_or_full_under_the_account() {
    let resolve = |entry: &str| {
        resolve_image_key(
            "uploads/",
            "abc",
            "uploads/abc/trip/day.photos.json",
            entry,
            "images[0]",
        )
    };
    assert_eq!(resolve("1.jpg").unwrap(), "uploads/abc/trip/1.jpg");
    assert_eq!(resolve("raw/2.png").unwrap(), "uploads/abc/trip/raw/2.png");
    assert_eq!(
        resolve("uploads/abc/other/3.webp").unwrap(),
        "uploads/abc/other/3.webp"
    );
    for bad in [
        "",
        "/abs.jpg",
        "../other/x.jpg",
        "a//b.jpg",
        "./a.jpg",
        "https://example.com/a.jpg",
        "uploads/xyz/a.jpg",
        "day.photos.json",
        "a\nb.jpg",
    ] {
        let err = resolve(bad).unwrap_err();
        assert_eq!(err.field, "images[0]", "{bad:?}");
    }
}

#[test]
fn image_suffixes_are_read_in_any_case() {
    for key in ["a.jpg", "a.JPEG", "a.Png", "a.webp"] {
        assert!(is_image_key(key), "{key}");
    }
    for key in ["a.mp4", "a.gif", "a.jpg.json", "jpg"] {
        assert!(!is_image_key(key), "{key}");
    }
}

#[test]
fn a_photo_set_holds_1_to_35_images_and_says_so_when_read_back() {
    let at = |key: &str| VideoLocation {
        bucket: "b".into(),
        key: key.into(),
        version_id: Some("v".into()),
    };
    assert_eq!(
        PhotoSet::new(vec![]).unwrap_err(),
        PhotoRefusal::Count { count: 0 }
    );
    assert!(PhotoSet::new(vec![at("a"); 36]).is_err());
    let set = PhotoSet::new(vec![at("a"), at("b")]).unwrap();
    assert_eq!(set.first().key, "a");
    let json = serde_json::to_string(&set).unwrap();
    assert_eq!(serde_json::from_str::<PhotoSet>(&json).unwrap(), set);
    assert!(serde_json::from_str::<PhotoSet>(r#"{"images":[]}"#).is_err());
}
