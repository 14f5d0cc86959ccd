//! Photo posts (`POST /v2/post/publish/content/init/`, TikTok's Photo reference) and cancel
//! (`POST /v2/post/publish/cancel/`, the Media Transfer Guide's "Cancel ongoing pull from
//! URL tasks"). The downloads themselves are `crate::pull`'s.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State as AxState;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};

use crate::posting::{
    JsonRoute, Object, bad, check_branded, check_fields, check_media_url, check_privacy,
    check_switches, json_call, parse_object,
};
use crate::state::{RateBucket, Reject, State};
use crate::{Endpoint, MAX_PHOTO_IMAGES, MediaType, PublishKind, Shared, ViolationKind};

const BODY_FIELDS: &[&str] = &[
    "media_type",
    "post_mode",
    "post_info",
    "source_info",
    // The live Photo page lists `is_aigc` at the top level of the body (not in post_info).
    "is_aigc",
];
const POST_INFO_FIELDS: &[&str] = &[
    "title",
    "description",
    "privacy_level",
    "disable_comment",
    "auto_add_music",
    "brand_content_toggle",
    "brand_organic_toggle",
];
const SOURCE_INFO_FIELDS: &[&str] = &["source", "photo_images", "photo_cover_index"];
/// "The maximum length for photo posts is 90 in UTF-16 runes."
const MAX_TITLE_UTF16: usize = 90;
/// "The maximum length for photo posts is 4000 in UTF-16 runes."
const MAX_DESCRIPTION_UTF16: usize = 4000;

pub(crate) async fn content_init(
    AxState(shared): AxState<Arc<Shared>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let route = JsonRoute {
        endpoint: Endpoint::ContentInit,
        scopes: &["video.publish", "video.upload"],
        bucket: Some(RateBucket::ContentInit),
    };
    json_call(shared, route, headers, body, |state, _, open_id, raw| {
        let body = parse_object(state, raw)?;
        check_fields(state, &body, BODY_FIELDS, "body")?;
        if body.get("media_type").and_then(Value::as_str) != Some("PHOTO") {
            return Err(bad(
                state,
                "media_type is not PHOTO (\"Currently only PHOTO is allowed\")",
            ));
        }
        let kind = match body.get("post_mode").and_then(Value::as_str) {
            Some("DIRECT_POST") => PublishKind::Direct,
            Some("MEDIA_UPLOAD") => PublishKind::Inbox,
            other => {
                return Err(bad(
                    state,
                    format!("post_mode {other:?} is neither DIRECT_POST nor MEDIA_UPLOAD"),
                ));
            }
        };
        // Photo's "Scope: video.publish or video.upload": the one of the mode asked for.
        let scope = match kind {
            PublishKind::Direct => "video.publish",
            PublishKind::Inbox => "video.upload",
        };
        if !state.has_scope(open_id, scope) {
            return Err(Reject::new(
                401,
                "scope_not_authorized",
                format!("The access_token does not bear user's grant on {scope}."),
            ));
        }
        if let Some(refusal) = state.cannot_post(open_id, 403) {
            return Err(refusal);
        }
        if body.get("is_aigc").is_some_and(|v| !v.is_boolean()) {
            return Err(bad(state, "is_aigc is not a boolean"));
        }
        let Some(post_info) = body.get("post_info").and_then(Value::as_object) else {
            return Err(bad(state, "photo init without a post_info object"));
        };
        check_post_info(state, open_id, kind, post_info)?;
        let urls = photo_source(state, &body)?;
        for url in &urls {
            check_media_url(state, url)?;
        }
        let post_info = Value::Object(post_info.clone());
        let publish_id =
            state.create_pull_publish(open_id, kind, Some(post_info), MediaType::Photo, urls);
        Ok(json!({ "publish_id": publish_id }))
    })
    .await
}

fn check_post_info(
    state: &mut State,
    open_id: &str,
    kind: PublishKind,
    post: &Object,
) -> Result<(), Reject> {
    check_fields(state, post, POST_INFO_FIELDS, "post_info")?;
    for name in [
        "disable_comment",
        "auto_add_music",
        "brand_content_toggle",
        "brand_organic_toggle",
    ] {
        if post.get(name).is_some_and(|v| !v.is_boolean()) {
            return Err(bad(state, format!("post_info.{name} is not a boolean")));
        }
    }
    for (name, max, too_long) in [
        ("title", MAX_TITLE_UTF16, ViolationKind::TitleTooLong),
        (
            "description",
            MAX_DESCRIPTION_UTF16,
            ViolationKind::DescriptionTooLong,
        ),
    ] {
        let text = match post.get(name) {
            None => "",
            Some(Value::String(text)) => text.as_str(),
            Some(_) => return Err(bad(state, format!("post_info.{name} is not a string"))),
        };
        let units = text.encode_utf16().count();
        if units > max {
            state.violate(
                too_long,
                format!("photo {name} of {units} UTF-16 code units, over {max}"),
            );
            return Err(Reject::invalid_params(format!("The {name} is too long.")));
        }
    }
    // privacy_level is "Required for DIRECT POST"; the switches "Only work for post_mode =
    // DIRECT POST" (an upload ignores them). Photos have no Duet or Stitch.
    if kind == PublishKind::Direct {
        let (privacy, seed) = check_privacy(state, open_id, post)?;
        check_switches(state, post, &[(seed.comment_disabled, "disable_comment")])?;
        check_branded(state, post, &privacy)?;
    }
    Ok(())
}

/// `source_info`: "Only PULL_FROM_URL is allowed", `photo_images` "up to 35 photo content
/// URLs", `photo_cover_index` "the index (starting from 0)" (required).
fn photo_source(state: &mut State, body: &Object) -> Result<Vec<String>, Reject> {
    let Some(source) = body.get("source_info").and_then(Value::as_object) else {
        return Err(bad(state, "photo init without a source_info object"));
    };
    check_fields(state, source, SOURCE_INFO_FIELDS, "source_info")?;
    if source.get("source").and_then(Value::as_str) != Some("PULL_FROM_URL") {
        return Err(bad(
            state,
            "photo source_info.source is not PULL_FROM_URL (\"Only PULL_FROM_URL is allowed\")",
        ));
    }
    let images = source.get("photo_images").and_then(Value::as_array);
    let urls: Option<Vec<String>> = images.map(|list| {
        list.iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    });
    let urls = match (images, urls) {
        (Some(list), Some(urls)) if urls.len() == list.len() => urls,
        _ => return Err(bad(state, "photo_images is not a list of URL strings")),
    };
    if urls.is_empty() || urls.len() > MAX_PHOTO_IMAGES {
        return Err(bad(
            state,
            format!(
                "photo_images holds {} URLs, not 1 to {MAX_PHOTO_IMAGES}",
                urls.len()
            ),
        ));
    }
    let Some(cover) = source.get("photo_cover_index").and_then(Value::as_u64) else {
        return Err(bad(
            state,
            "photo_cover_index is missing or not a non-negative integer",
        ));
    };
    if usize::try_from(cover).map_or(true, |c| c >= urls.len()) {
        return Err(bad(
            state,
            format!(
                "photo_cover_index {cover} is past the last of {} photos (it starts from 0)",
                urls.len()
            ),
        ));
    }
    Ok(urls)
}

/// Best effort, as TikTok's: only a pull still downloading can be cancelled; it then ends
/// FAILED with `publish_cancelled`. Anything else answers 400 `publish_not_cancellable`.
/// TikTok gives this endpoint no rate limit, so the fake counts none.
pub(crate) async fn cancel(
    AxState(shared): AxState<Arc<Shared>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let route = JsonRoute {
        endpoint: Endpoint::Cancel,
        scopes: &["video.publish", "video.upload"],
        bucket: None,
    };
    json_call(shared, route, headers, body, |state, _, open_id, raw| {
        let body = parse_object(state, raw)?;
        check_fields(state, &body, &["publish_id"], "body")?;
        let Some(publish_id) = body.get("publish_id").and_then(Value::as_str) else {
            return Err(bad(state, "cancel without a publish_id string"));
        };
        state.cancel(open_id, publish_id)?;
        // TikTok's answer is the `error` object alone.
        Ok(Value::Null)
    })
    .await
}
