//! Post options from outside (the posts API body, a manifest beside a video in S3) parsed
//! into [`PostOptions`], or refused with the field and the rule it broke.
//!
//! The field names are TikTok's own (`title`, `privacy_level`, `disable_comment`, ...) so
//! nobody has to learn a second vocabulary; `mode` and `publish_at` are ours.

use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::post::PostOptions;
use crate::tiktok::{MAX_TITLE_UTF16, PostMode, PrivacyLevel, VideoSource, utf16_len};
use crate::time::UnixTime;

/// The longest a post may be scheduled ahead: a Standard execution lives up to a year.
pub const MAX_SCHEDULE_AHEAD_SECS: i64 = 300 * 24 * 3600;

/// A refused option: which field, and the rule it broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {rule}")]
pub struct OptionsError {
    /// A JSON path such as `privacy_level` or `options.title`.
    pub field: String,
    pub rule: String,
    /// The document is not JSON at all (a syntax error, or it ends early): `field` is where
    /// the parser was, which a caller may prefer to replace by the whole document's name.
    pub not_json: bool,
}

impl OptionsError {
    pub fn new(field: impl Into<String>, rule: impl Into<String>) -> Self {
        OptionsError {
            field: field.into(),
            rule: rule.into(),
            not_json: false,
        }
    }
}

/// Options as a user writes them: every field optional, unknown fields refused (a typo
/// must not silently post with defaults).
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OptionsInput {
    pub title: Option<String>,
    pub privacy_level: Option<String>,
    pub disable_duet: Option<bool>,
    pub disable_comment: Option<bool>,
    pub disable_stitch: Option<bool>,
    /// `allow_*: true` turns an interaction on; each is off unless asked for (TikTok's
    /// Content Sharing Guidelines: "none should be checked by default"). The same as
    /// `disable_*: false`, for whoever finds that double negative hard to read.
    pub allow_duet: Option<bool>,
    pub allow_comment: Option<bool>,
    pub allow_stitch: Option<bool>,
    pub video_cover_timestamp_ms: Option<u64>,
    pub brand_content_toggle: Option<bool>,
    pub brand_organic_toggle: Option<bool>,
    pub is_aigc: Option<bool>,
    /// `direct_post` (default) or `draft`.
    pub mode: Option<String>,
    /// RFC 3339, e.g. `2026-12-01T18:00:00Z`.
    pub publish_at: Option<String>,
    /// `FILE_UPLOAD` or `PULL_FROM_URL` (TikTok downloads it from the front door). Left out:
    /// the stack's default, which is `PULL_FROM_URL` once a front door is configured.
    pub source: Option<String>,
    /// Photo posts only (see [`crate::photo_post`]): the text under the photos (TikTok's
    /// `description`, at most 4000 UTF-16 units).
    pub description: Option<String>,
    /// Photo posts only: TikTok adds music to the carousel.
    pub auto_add_music: Option<bool>,
    /// Photo posts only: which image (from 0) is the cover; the first when left out.
    pub photo_cover_index: Option<usize>,
}

/// Parses a JSON document of options (a manifest).
pub fn parse_options_json(json: &[u8], now: UnixTime) -> Result<PostOptions, OptionsError> {
    let input: OptionsInput = from_json(json)?;
    input.validate("", now)
}

/// Deserializes JSON, reporting the path of the field that failed.
pub fn from_json<T: for<'de> Deserialize<'de>>(json: &[u8]) -> Result<T, OptionsError> {
    let deserializer = &mut serde_json::Deserializer::from_slice(json);
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let path = err.path().to_string();
        // A key that is the empty string has an empty last segment ("" at the top, "options."
        // nested): name the object that holds it instead of an empty field.
        let (field, empty_key) = match path.as_str() {
            "." | "?" => ("body".to_owned(), false),
            "" => ("body".to_owned(), true),
            nested if nested.ends_with('.') => (nested.trim_end_matches('.').to_owned(), true),
            _ => (path.clone(), false),
        };
        let inner = err.into_inner();
        let not_json = inner.is_syntax() || inner.is_eof();
        let rule = if not_json {
            format!("is not valid JSON ({inner})")
        } else if empty_key {
            format!("has a field with an empty name ({inner})")
        } else {
            inner.to_string()
        };
        OptionsError {
            field,
            rule,
            not_json,
        }
    })
}

impl OptionsInput {
    /// Checks every rule that needs no TikTok call. `prefix` names the enclosing object in
    /// errors (`"options."` for the API body).
    pub fn validate(self, prefix: &str, now: UnixTime) -> Result<PostOptions, OptionsError> {
        let field = |name: &str| format!("{prefix}{name}");
        // A video has none of a photo post's fields: posting it without them silently would
        // surprise whoever set them.
        let photo_fields = [
            ("description", self.description.is_some()),
            ("auto_add_music", self.auto_add_music.is_some()),
            ("photo_cover_index", self.photo_cover_index.is_some()),
        ];
        if let Some((name, _)) = photo_fields.iter().find(|(_, set)| *set) {
            return Err(OptionsError::new(
                field(name),
                "is for photo posts only; a video post does not take it",
            ));
        }
        let mode = match self.mode.as_deref() {
            None | Some("direct_post") => PostMode::DirectPost,
            Some("draft") => PostMode::Draft,
            Some(other) => {
                return Err(OptionsError::new(
                    field("mode"),
                    format!("must be \"direct_post\" or \"draft\", not {other:?}"),
                ));
            }
        };
        let privacy_level = match self.privacy_level.as_deref() {
            None => None,
            Some(value) => Some(PrivacyLevel::parse(value).ok_or_else(|| {
                OptionsError::new(
                    field("privacy_level"),
                    format!(
                        "must be one of PUBLIC_TO_EVERYONE, MUTUAL_FOLLOW_FRIENDS, \
                         FOLLOWER_OF_CREATOR, SELF_ONLY, not {value:?}"
                    ),
                )
            })?),
        };
        let title = self.title.unwrap_or_default();
        let title_len = utf16_len(&title);
        if title_len > MAX_TITLE_UTF16 {
            return Err(OptionsError::new(
                field("title"),
                format!(
                    "is {title_len} UTF-16 code units long; TikTok takes at most {MAX_TITLE_UTF16} \
                     (an emoji counts as 2)"
                ),
            ));
        }
        let brand_content_toggle = self.brand_content_toggle.unwrap_or(false);
        let brand_organic_toggle = self.brand_organic_toggle.unwrap_or(false);
        match mode {
            PostMode::DirectPost => {
                if privacy_level.is_none() {
                    return Err(OptionsError::new(
                        field("privacy_level"),
                        "is required for a direct post (TikTok forbids choosing one for the \
                         creator); use one the creator offers, or mode \"draft\"",
                    ));
                }
                if brand_content_toggle && privacy_level == Some(PrivacyLevel::SelfOnly) {
                    return Err(OptionsError::new(
                        field("brand_content_toggle"),
                        "branded content cannot be posted SELF_ONLY; choose a wider privacy level",
                    ));
                }
            }
            PostMode::Draft => {
                // A draft's caption and settings are chosen by the creator in the app: TikTok's
                // inbox init takes none, and dropping them silently would surprise.
                let post_fields = [
                    ("title", !title.is_empty()),
                    ("privacy_level", privacy_level.is_some()),
                    ("disable_duet", self.disable_duet.is_some()),
                    ("disable_comment", self.disable_comment.is_some()),
                    ("disable_stitch", self.disable_stitch.is_some()),
                    ("allow_duet", self.allow_duet.is_some()),
                    ("allow_comment", self.allow_comment.is_some()),
                    ("allow_stitch", self.allow_stitch.is_some()),
                    (
                        "video_cover_timestamp_ms",
                        self.video_cover_timestamp_ms.is_some(),
                    ),
                    ("brand_content_toggle", self.brand_content_toggle.is_some()),
                    ("brand_organic_toggle", self.brand_organic_toggle.is_some()),
                    ("is_aigc", self.is_aigc.is_some()),
                ];
                if let Some((name, _)) = post_fields.iter().find(|(_, set)| *set) {
                    return Err(OptionsError::new(
                        field(name),
                        "a draft takes no post settings: the creator sets them in the TikTok app \
                         (remove it, or use mode \"direct_post\")",
                    ));
                }
            }
        }
        let publish_at = match self.publish_at.as_deref() {
            None => None,
            Some(text) => {
                let at = OffsetDateTime::parse(text, &Rfc3339)
                    .map_err(|e| {
                        OptionsError::new(
                            field("publish_at"),
                            format!("must be an RFC 3339 time such as 2026-12-01T18:00:00Z ({e})"),
                        )
                    })?
                    .unix_timestamp();
                if at - now > MAX_SCHEDULE_AHEAD_SECS {
                    return Err(OptionsError::new(
                        field("publish_at"),
                        "is more than 300 days ahead; schedule it later",
                    ));
                }
                // A time in the past means "now": nothing is lost by posting at once.
                Some(at)
            }
        };
        let source = match self.source.as_deref() {
            None => None,
            Some(value) => Some(VideoSource::parse(value).ok_or_else(|| {
                OptionsError::new(
                    field("source"),
                    format!("must be \"FILE_UPLOAD\" or \"PULL_FROM_URL\", not {value:?}"),
                )
            })?),
        };
        let disable_duet = interaction_switch(&field, "duet", self.allow_duet, self.disable_duet)?;
        let disable_comment =
            interaction_switch(&field, "comment", self.allow_comment, self.disable_comment)?;
        let disable_stitch =
            interaction_switch(&field, "stitch", self.allow_stitch, self.disable_stitch)?;
        Ok(PostOptions {
            title,
            privacy_level,
            disable_duet,
            disable_comment,
            disable_stitch,
            video_cover_timestamp_ms: self.video_cover_timestamp_ms,
            brand_content_toggle,
            brand_organic_toggle,
            is_aigc: self.is_aigc.unwrap_or(false),
            mode,
            publish_at,
            source,
            description: String::new(),
            auto_add_music: false,
            photo_cover_index: None,
        })
    }
}

/// One interaction's `disable_*` from `allow_*` and `disable_*`; `None` when neither was
/// given (the post then has it off). Both given and contradicting is refused: which one the
/// user meant cannot be told.
fn interaction_switch(
    field: &dyn Fn(&str) -> String,
    name: &str,
    allow: Option<bool>,
    disable: Option<bool>,
) -> Result<Option<bool>, OptionsError> {
    match (allow, disable) {
        (Some(allow), Some(disable)) if allow == disable => Err(OptionsError::new(
            field(&format!("allow_{name}")),
            format!("contradicts disable_{name}: {allow} and {disable}; give only one of the two"),
        )),
        (Some(allow), _) => Ok(Some(!allow)),
        (None, disable) => Ok(disable),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixTime = 1_790_000_000;

    fn parse(json: &str) -> Result<PostOptions, OptionsError> {
        parse_options_json(json.as_bytes(), NOW)
    }

    #[test]
    fn a_full_direct_post_parses() {
        let options = parse(
            r#"{"title":"hi #tag","privacy_level":"PUBLIC_TO_EVERYONE","disable_comment":true,
                "video_cover_timestamp_ms":1500,"brand_organic_toggle":true,"is_aigc":true,
                "publish_at":"2026-12-01T18:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(options.mode, PostMode::DirectPost);
        assert_eq!(options.privacy_level, Some(PrivacyLevel::PublicToEveryone));
        assert_eq!(options.disable_comment, Some(true));
        assert_eq!(options.disable_duet, None);
        assert_eq!(options.publish_at, Some(1_796_148_000));
        assert!(options.is_aigc && options.brand_organic_toggle);
    }

    #[test]
    fn each_bad_field_is_named_with_its_rule() {
        let cases = [
            (
                r#"{"privacy_level":"PUBLIC"}"#,
                "privacy_level",
                "must be one of",
            ),
            (
                r#"{"title":"x"}"#,
                "privacy_level",
                "is required for a direct post",
            ),
            (
                r#"{"privacy_level":"SELF_ONLY","titel":"x"}"#,
                "titel",
                "unknown field",
            ),
            (
                r#"{"privacy_level":"SELF_ONLY","disable_duet":"yes"}"#,
                "disable_duet",
                "invalid type",
            ),
            // Found by fuzzing: an empty key named no field at all.
            (r#"{"":1}"#, "body", "a field with an empty name"),
            (
                r#"{"privacy_level":"SELF_ONLY","mode":"story"}"#,
                "mode",
                "direct_post",
            ),
            (
                r#"{"privacy_level":"SELF_ONLY","publish_at":"tomorrow"}"#,
                "publish_at",
                "RFC 3339",
            ),
            (
                r#"{"privacy_level":"SELF_ONLY","brand_content_toggle":true}"#,
                "brand_content_toggle",
                "SELF_ONLY",
            ),
            (
                r#"{"mode":"draft","title":"x"}"#,
                "title",
                "a draft takes no post settings",
            ),
            (
                r#"{"privacy_level":"SELF_ONLY","video_cover_timestamp_ms":-1}"#,
                "video_cover_timestamp_ms",
                "invalid value",
            ),
            (r#"{"privacy_level":"SELF_ONLY""#, "body", "not valid JSON"),
            (r#""x""#, "body", "invalid type"),
        ];
        for (json, field, rule) in cases {
            let err = parse(json).unwrap_err();
            assert_eq!(err.field, field, "{json}: {err}");
            assert!(err.rule.contains(rule), "{json}: {err}");
        }
    }

    #[test]
    fn a_document_that_is_not_json_says_so_in_its_type() {
        for json in [r#"{"privacy_level":"SELF_ONLY""#, r#"{"title": x}"#, ""] {
            assert!(parse(json).unwrap_err().not_json, "{json}");
        }
        for json in [r#""x""#, r#"{"mode":"sideways"}"#, r#"{"nope":1}"#] {
            assert!(!parse(json).unwrap_err().not_json, "{json}");
        }
    }

    #[test]
    fn captions_are_measured_in_utf16_units() {
        let exactly = "😀".repeat(1100);
        let json = serde_json::json!({"privacy_level": "SELF_ONLY", "title": exactly});
        assert!(parse(&json.to_string()).is_ok());
        let over = format!("{exactly}a");
        let json = serde_json::json!({"privacy_level": "SELF_ONLY", "title": over});
        let err = parse(&json.to_string()).unwrap_err();
        assert_eq!(err.field, "title");
        assert!(err.rule.contains("2201"), "{err}");
    }

    #[test]
    fn a_bare_draft_parses_and_schedules_stay_within_reach() {
        let draft = parse(r#"{"mode":"draft"}"#).unwrap();
        assert_eq!(draft.mode, PostMode::Draft);
        assert_eq!(draft.privacy_level, None);
        let err = parse(r#"{"privacy_level":"SELF_ONLY","publish_at":"2030-01-01T00:00:00Z"}"#)
            .unwrap_err();
        assert_eq!(err.field, "publish_at");
    }

    #[test]
    fn interactions_are_off_unless_allowed_and_a_contradiction_is_refused() {
        let base = r#""privacy_level":"SELF_ONLY""#;
        let none = parse(&format!("{{{base}}}")).unwrap();
        // Unset here; the init turns an unset switch into "off" for TikTok.
        assert_eq!(
            (none.disable_comment, none.disable_duet, none.disable_stitch),
            (None, None, None)
        );
        let allowed = parse(&format!(
            r#"{{{base},"allow_comment":true,"allow_duet":false,"disable_stitch":false}}"#
        ))
        .unwrap();
        assert_eq!(allowed.disable_comment, Some(false));
        assert_eq!(allowed.disable_duet, Some(true));
        assert_eq!(allowed.disable_stitch, Some(false));
        let agreeing = parse(&format!(
            r#"{{{base},"allow_comment":true,"disable_comment":false}}"#
        ))
        .unwrap();
        assert_eq!(agreeing.disable_comment, Some(false));

        let err = parse(&format!(
            r#"{{{base},"allow_stitch":true,"disable_stitch":true}}"#
        ))
        .unwrap_err();
        assert_eq!(err.field, "allow_stitch");
        let err = parse(r#"{"mode":"draft","allow_comment":true}"#).unwrap_err();
        assert_eq!(err.field, "allow_comment");
    }
}
