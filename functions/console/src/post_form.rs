//! The Post page's form as the posts API's `POST /posts` body: every mode (post now,
//! schedule, draft to the creator's inbox) for a video or a photo carousel. Each check the
//! page's script makes is made again here (the server never trusts the script), each
//! refusal naming the form's field; the posts API then makes its own (`publish_at`'s range,
//! the creator's settings, the images in the bucket).

use serde_json::{Value, json};
use tiktok_publish_domain::photo_rules::MAX_PHOTOS;
use tiktok_publish_domain::tiktok::{
    MAX_PHOTO_DESCRIPTION_UTF16, MAX_PHOTO_TITLE_UTF16, MAX_TITLE_UTF16, utf16_len,
};

/// The Post page's form, sent by its script once the upload completed.
#[derive(Debug, Default)]
pub struct PostForm {
    pub account: String,
    media: String,
    /// `now` (left out too), `schedule` or `draft`.
    mode: String,
    /// RFC 3339 (the page turns the creator's local time into UTC); `schedule` only.
    publish_at: String,
    key: String,
    images: Vec<String>,
    title: String,
    description: String,
    privacy_level: String,
    allow_comment: Option<String>,
    allow_duet: Option<String>,
    allow_stitch: Option<String>,
    disclose: Option<String>,
    brand_organic_toggle: Option<String>,
    brand_content_toggle: Option<String>,
}

/// A form the console refuses before the posts API sees it: the field and why.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FormRefusal {
    pub field: &'static str,
    pub message: String,
}

fn refuse(field: &'static str, message: impl Into<String>) -> FormRefusal {
    FormRefusal {
        field,
        message: message.into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Now,
    Schedule,
    Draft,
}

const DRAFT_TAKES_NO_SETTINGS: &str = "a draft takes no post settings: the creator chooses them \
     in the TikTok app (choose Post now or Schedule to set them here)";

impl PostForm {
    /// The form from its `application/x-www-form-urlencoded` body: `images` repeats, in the
    /// photos' order (which serde_urlencoded, behind axum's `Form`, cannot read into a list);
    /// other fields the page sends (`csrf`) are not the post's.
    pub fn from_urlencoded(body: &[u8]) -> PostForm {
        let mut form = PostForm::default();
        for (name, value) in url::form_urlencoded::parse(body) {
            let value = value.into_owned();
            match name.as_ref() {
                "account" => form.account = value,
                "media" => form.media = value,
                "mode" => form.mode = value,
                "publish_at" => form.publish_at = value,
                "key" => form.key = value,
                "images" => form.images.push(value),
                "title" => form.title = value,
                "description" => form.description = value,
                "privacy_level" => form.privacy_level = value,
                "allow_comment" => form.allow_comment = Some(value),
                "allow_duet" => form.allow_duet = Some(value),
                "allow_stitch" => form.allow_stitch = Some(value),
                "disclose" => form.disclose = Some(value),
                "brand_organic_toggle" => form.brand_organic_toggle = Some(value),
                "brand_content_toggle" => form.brand_content_toggle = Some(value),
                _ => {}
            }
        }
        form
    }

    /// `POST /posts`'s body. `is_console_upload(account, key)` says whether a key is an
    /// upload this console signed for the account.
    pub fn create_request(
        &self,
        is_console_upload: impl Fn(&str, &str) -> bool,
    ) -> Result<Value, FormRefusal> {
        let photos = match self.media.as_str() {
            "" | "video" => false,
            "photos" => true,
            other => {
                return Err(refuse(
                    "media",
                    format!("must be \"video\" or \"photos\", not {other:?}"),
                ));
            }
        };
        let mode = match self.mode.as_str() {
            "" | "now" => Mode::Now,
            "schedule" => Mode::Schedule,
            "draft" => Mode::Draft,
            other => {
                return Err(refuse(
                    "mode",
                    format!("must be \"now\", \"schedule\" or \"draft\", not {other:?}"),
                ));
            }
        };
        let keys: Vec<&String> = if photos {
            self.images.iter().collect()
        } else {
            vec![&self.key]
        };
        let keys_field = if photos { "images" } else { "key" };
        if keys.is_empty() || keys.iter().any(|k| k.is_empty()) {
            return Err(refuse(
                keys_field,
                "choose a file and press the button again: the upload did not complete",
            ));
        }
        if keys.len() > MAX_PHOTOS {
            return Err(refuse(
                "images",
                format!(
                    "{} photos: a TikTok photo post has 1 to {MAX_PHOTOS}",
                    keys.len()
                ),
            ));
        }
        if let Some(foreign) = keys
            .iter()
            .find(|key| !is_console_upload(&self.account, key))
        {
            return Err(refuse(
                keys_field,
                format!("{foreign} is not an upload of this console for the account"),
            ));
        }
        self.check_texts(photos, mode)?;

        let mut options = if mode == Mode::Draft {
            self.draft_options(photos)?
        } else {
            self.direct_options(photos, mode)?
        };
        if photos {
            options["description"] = json!(self.description);
        }
        let mut request = json!({"account": self.account, "options": options});
        if photos {
            request["images"] = json!(keys);
        } else {
            request["key"] = json!(self.key);
        }
        Ok(request)
    }

    /// TikTok's limits, in UTF-16 units as TikTok counts: a video's title 2200, a photo
    /// post's 90 and its description 4000; a video draft takes no title.
    fn check_texts(&self, photos: bool, mode: Mode) -> Result<(), FormRefusal> {
        if !photos && !self.description.is_empty() {
            return Err(refuse(
                "description",
                "is for photo posts only; a video post does not take it",
            ));
        }
        if !photos && mode == Mode::Draft && !self.title.is_empty() {
            return Err(refuse(
                "title",
                "a video draft takes no title: the creator writes the caption in the TikTok app",
            ));
        }
        let title_limit = if photos {
            MAX_PHOTO_TITLE_UTF16
        } else {
            MAX_TITLE_UTF16
        };
        let limits = [
            ("title", &self.title, title_limit),
            (
                "description",
                &self.description,
                MAX_PHOTO_DESCRIPTION_UTF16,
            ),
        ];
        for (field, text, limit) in limits {
            let length = utf16_len(text);
            if length > limit {
                return Err(refuse(
                    field,
                    format!(
                        "is {length} UTF-16 units long; TikTok takes at most {limit} here \
                         (an emoji counts as 2)"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// A draft (TikTok's `MEDIA_UPLOAD`): no privacy, interactions or disclosure; a photo
    /// draft keeps its title.
    fn draft_options(&self, photos: bool) -> Result<Value, FormRefusal> {
        let settings = [
            ("privacy_level", !self.privacy_level.is_empty()),
            ("allow_comment", self.allow_comment.is_some()),
            ("allow_duet", self.allow_duet.is_some()),
            ("allow_stitch", self.allow_stitch.is_some()),
            ("disclose", self.disclose.is_some()),
            ("brand_organic_toggle", self.brand_organic_toggle.is_some()),
            ("brand_content_toggle", self.brand_content_toggle.is_some()),
            ("publish_at", !self.publish_at.is_empty()),
        ];
        if let Some((field, _)) = settings.iter().find(|(_, set)| *set) {
            return Err(refuse(field, DRAFT_TAKES_NO_SETTINGS));
        }
        let mut options = json!({"mode": "draft"});
        if photos {
            options["title"] = json!(self.title);
        }
        Ok(options)
    }

    /// A direct post, now or at `publish_at`: TikTok's Content Sharing Guidelines (a privacy
    /// level chosen, the disclosure answered).
    fn direct_options(&self, photos: bool, mode: Mode) -> Result<Value, FormRefusal> {
        let on = |value: &Option<String>| value.as_deref() == Some("true");
        if self.privacy_level.is_empty() {
            return Err(refuse("privacy_level", "choose who can see this post"));
        }
        let (organic, branded) = if on(&self.disclose) {
            let organic = on(&self.brand_organic_toggle);
            let branded = on(&self.brand_content_toggle);
            if !organic && !branded {
                return Err(refuse(
                    "disclose",
                    "You need to indicate if your content promotes yourself, a third party, or both.",
                ));
            }
            (organic, branded)
        } else {
            (false, false)
        };
        let mut options = json!({
            "title": self.title,
            "privacy_level": self.privacy_level,
            "allow_comment": on(&self.allow_comment),
            "brand_organic_toggle": organic,
            "brand_content_toggle": branded,
        });
        if photos {
            if let Some(field) = [
                ("allow_duet", &self.allow_duet),
                ("allow_stitch", &self.allow_stitch),
            ]
            .iter()
            .find_map(|(field, value)| value.is_some().then_some(*field))
            {
                return Err(refuse(
                    field,
                    "Duet and Stitch are not applicable to photo posts",
                ));
            }
        } else {
            options["allow_duet"] = json!(on(&self.allow_duet));
            options["allow_stitch"] = json!(on(&self.allow_stitch));
        }
        match mode {
            Mode::Schedule if self.publish_at.is_empty() => {
                return Err(refuse("publish_at", "choose when to post"));
            }
            // Its format and range are the posts API's to check (`options.publish_at`).
            Mode::Schedule => options["publish_at"] = json!(self.publish_at),
            _ if !self.publish_at.is_empty() => {
                return Err(refuse(
                    "publish_at",
                    "is for a scheduled post only; choose Schedule to post later",
                ));
            }
            _ => {}
        }
        Ok(options)
    }
}

/// The posts API names an option by its place in its body (`options.publish_at`); the
/// page's form names it as the option (`publish_at`), so its script can point at the field.
pub fn name_fields_as_the_form(body: &mut Value) {
    let form_field = body["error"]["field"]
        .as_str()
        .and_then(|field| field.strip_prefix("options."))
        .map(str::to_owned);
    if let Some(field) = form_field {
        body["error"]["field"] = json!(field);
    }
}

#[cfg(test)]
#[path = "post_form_tests.rs"]
mod tests;
