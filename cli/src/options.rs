//! `post`'s flags as the options of `POST /posts`, checked with the core's parser (the same
//! rules and messages as the server).

use clap::Args;
use serde_json::{Map, Value, json};
use tiktok_publish_core::pipeline::options::{OptionsError, OptionsInput, from_json};
use tiktok_publish_domain::photo_post::validate_photo_options;

/// The options flags of `post`.
#[derive(Debug, Clone, Default, Args)]
pub struct PostFlags {
    /// The caption (TikTok's title: at most 2200 UTF-16 units, hashtags and @mentions included;
    /// a photo post's title: at most 90).
    #[arg(long)]
    pub caption: Option<String>,
    /// Photo posts: the text under the photos (at most 4000 UTF-16 units).
    #[arg(long)]
    pub description: Option<String>,
    /// Photo posts: let TikTok add music.
    #[arg(long)]
    pub auto_add_music: bool,
    /// Photo posts: which photo is the cover, counting from 0 (default: the first).
    #[arg(long, value_name = "N")]
    pub cover_index: Option<usize>,
    /// Who sees it: PUBLIC_TO_EVERYONE, MUTUAL_FOLLOW_FRIENDS, FOLLOWER_OF_CREATOR or SELF_ONLY
    /// (only the levels the account offers; there is no default).
    #[arg(long, value_name = "LEVEL")]
    pub privacy: Option<String>,
    /// Send it to the creator's TikTok inbox as a draft instead of posting it.
    #[arg(long)]
    pub draft: bool,
    /// Publish at this time (RFC 3339, e.g. 2026-12-01T18:00:00Z) instead of now.
    #[arg(long, value_name = "RFC3339")]
    pub at: Option<String>,
    /// Let viewers comment (off unless turned on; refused if the creator turned comments off).
    #[arg(long, conflicts_with = "disable_comment")]
    pub allow_comment: bool,
    /// Let viewers duet (off unless turned on; refused if the creator turned duets off).
    #[arg(long, conflicts_with = "disable_duet")]
    pub allow_duet: bool,
    /// Let viewers stitch (off unless turned on; refused if the creator turned stitches off).
    #[arg(long, conflicts_with = "disable_stitch")]
    pub allow_stitch: bool,
    /// Comments off (the default without --allow-comment).
    #[arg(long)]
    pub disable_comment: bool,
    /// Duets off (the default without --allow-duet).
    #[arg(long)]
    pub disable_duet: bool,
    /// Stitches off (the default without --allow-stitch).
    #[arg(long)]
    pub disable_stitch: bool,
    /// The cover frame, in milliseconds from the start.
    #[arg(long, value_name = "N")]
    pub cover_ms: Option<u64>,
    /// Promotes the creator's own brand ("Your brand").
    #[arg(long)]
    pub brand_organic: bool,
    /// Paid partnership promoting a third party ("Branded content").
    #[arg(long)]
    pub brand_content: bool,
    /// The video is AI-generated content.
    #[arg(long)]
    pub aigc: bool,
    /// How TikTok gets the video: FILE_UPLOAD (the stack sends it) or PULL_FROM_URL (TikTok
    /// downloads it from the stack's front door). Default: the stack's.
    #[arg(long, value_name = "SOURCE", value_parser = ["FILE_UPLOAD", "PULL_FROM_URL"])]
    pub source: Option<String>,
}

impl PostFlags {
    /// The `options` object of `POST /posts`: only the fields the user set.
    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        let mut set = |name: &str, value: Value| {
            map.insert(name.to_string(), value);
        };
        if let Some(caption) = &self.caption {
            set("title", json!(caption));
        }
        if let Some(privacy) = &self.privacy {
            set("privacy_level", json!(privacy));
        }
        if self.draft {
            set("mode", json!("draft"));
        }
        if let Some(at) = &self.at {
            set("publish_at", json!(at));
        }
        for (on, name) in [
            (self.disable_comment, "disable_comment"),
            (self.disable_duet, "disable_duet"),
            (self.disable_stitch, "disable_stitch"),
            (self.brand_organic, "brand_organic_toggle"),
            (self.brand_content, "brand_content_toggle"),
            (self.aigc, "is_aigc"),
        ] {
            if on {
                set(name, json!(true));
            }
        }
        if let Some(ms) = self.cover_ms {
            set("video_cover_timestamp_ms", json!(ms));
        }
        if let Some(source) = &self.source {
            set("source", json!(source));
        }
        if let Some(description) = &self.description {
            set("description", json!(description));
        }
        if self.auto_add_music {
            set("auto_add_music", json!(true));
        }
        if let Some(index) = self.cover_index {
            set("photo_cover_index", json!(index));
        }
        Value::Object(map)
    }

    /// Checks the flags as the server will check the options, before anything is asked or
    /// uploaded; the error names the field (`options.privacy_level: ...`). At a terminal
    /// the privacy level may still be asked for, so `privacy_asked` lets it be missing.
    pub fn validate(&self, now: i64, privacy_asked: bool) -> Result<Value, OptionsError> {
        let value = self.checkable(privacy_asked);
        check_options(&value, now)?;
        Ok(value)
    }

    /// As [`PostFlags::validate`], for a photo post of `count` photos.
    pub fn validate_photos(
        &self,
        now: i64,
        privacy_asked: bool,
        count: usize,
    ) -> Result<Value, OptionsError> {
        // The allow flags are decided later, with the creator's settings: a photo post has
        // no duets or stitches to allow.
        for (set, flag) in [
            (self.allow_duet, "--allow-duet"),
            (self.allow_stitch, "--allow-stitch"),
        ] {
            if set {
                return Err(OptionsError::new(
                    flag,
                    "is for videos; a photo post's only interaction switch is comments",
                ));
            }
        }
        let value = self.checkable(privacy_asked);
        check_photo_options(&value, now, count)?;
        Ok(value)
    }

    /// The options to check: with a privacy level standing in for the one still to be asked.
    fn checkable(&self, privacy_asked: bool) -> Value {
        let mut value = self.to_json();
        if privacy_asked
            && !self.draft
            && self.privacy.is_none()
            && let Value::Object(map) = &mut value
        {
            // Any offered level will do for checking the other flags.
            map.insert("privacy_level".into(), json!("PUBLIC_TO_EVERYONE"));
        }
        value
    }
}

/// Checks an `options` object with the core's parser (the server's rules and messages).
pub fn check_options(options: &Value, now: i64) -> Result<(), OptionsError> {
    let input: OptionsInput = from_json(options.to_string().as_bytes())?;
    input.validate("options.", now)?;
    Ok(())
}

/// Checks a photo post's `options` of `count` photos with the core's parser.
pub fn check_photo_options(options: &Value, now: i64, count: usize) -> Result<(), OptionsError> {
    let input: OptionsInput = from_json(options.to_string().as_bytes())?;
    validate_photo_options(input, "options.", now, count)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_000_000;

    #[test]
    fn flags_map_to_the_api_option_names() {
        let flags = PostFlags {
            caption: Some("hi #cats".into()),
            privacy: Some("SELF_ONLY".into()),
            draft: true,
            disable_comment: true,
            cover_ms: Some(1500),
            brand_content: true,
            aigc: true,
            ..PostFlags::default()
        };
        assert_eq!(
            flags.to_json(),
            json!({"title": "hi #cats", "privacy_level": "SELF_ONLY", "mode": "draft",
                   "disable_comment": true, "video_cover_timestamp_ms": 1500,
                   "brand_content_toggle": true, "is_aigc": true})
        );
    }

    #[test]
    fn unset_flags_send_nothing() {
        assert_eq!(PostFlags::default().to_json(), json!({}));
    }

    #[test]
    fn bad_privacy_is_refused_with_the_servers_message() {
        let flags = PostFlags {
            privacy: Some("FRIENDS".into()),
            ..PostFlags::default()
        };
        let err = flags.validate(NOW, true).unwrap_err();
        assert_eq!(err.field, "options.privacy_level");
        assert!(err.rule.contains("SELF_ONLY"), "{err}");
    }

    #[test]
    fn privacy_is_required_unless_it_will_be_asked() {
        let err = PostFlags::default().validate(NOW, false).unwrap_err();
        assert_eq!(err.field, "options.privacy_level");
        assert!(PostFlags::default().validate(NOW, true).is_ok());
        let draft_with_caption = PostFlags {
            draft: true,
            caption: Some("x".into()),
            ..PostFlags::default()
        };
        assert_eq!(
            draft_with_caption.validate(NOW, true).unwrap_err().field,
            "options.title"
        );
    }

    #[test]
    fn bad_time_is_refused() {
        let flags = PostFlags {
            privacy: Some("SELF_ONLY".into()),
            at: Some("tomorrow".into()),
            ..PostFlags::default()
        };
        assert_eq!(
            flags.validate(NOW, false).unwrap_err().field,
            "options.publish_at"
        );
    }

    #[test]
    fn photo_flags_are_checked_with_the_photo_rules() {
        let flags = PostFlags {
            privacy: Some("SELF_ONLY".into()),
            caption: Some("x".repeat(91)),
            ..PostFlags::default()
        };
        // 91 units: fine for a video caption, too long for a photo post's title.
        assert!(flags.validate(NOW, false).is_ok());
        let err = flags.validate_photos(NOW, false, 2).unwrap_err();
        assert_eq!(err.field, "options.title");

        let photo = PostFlags {
            privacy: Some("SELF_ONLY".into()),
            description: Some("under the photos".into()),
            auto_add_music: true,
            cover_index: Some(1),
            ..PostFlags::default()
        };
        assert_eq!(
            photo.validate_photos(NOW, false, 2).unwrap(),
            json!({"privacy_level": "SELF_ONLY", "description": "under the photos",
                   "auto_add_music": true, "photo_cover_index": 1})
        );
        assert_eq!(
            photo.validate_photos(NOW, false, 1).unwrap_err().field,
            "options.photo_cover_index"
        );
        assert_eq!(
            photo.validate(NOW, false).unwrap_err().field,
            "options.description",
            "a video takes no photo fields"
        );
        let duet = PostFlags {
            privacy: Some("SELF_ONLY".into()),
            disable_duet: true,
            ..PostFlags::default()
        };
        assert_eq!(
            duet.validate_photos(NOW, false, 1).unwrap_err().field,
            "options.disable_duet"
        );
        let allow_stitch = PostFlags {
            allow_stitch: true,
            ..duet
        };
        assert_eq!(
            allow_stitch
                .validate_photos(NOW, true, 1)
                .unwrap_err()
                .field,
            "--allow-stitch"
        );
    }
}
