//! The Content Posting JSON calls: the checks every call goes through ([`json_call`]),
//! creator_info, the two video inits (FILE_UPLOAD and PULL_FROM_URL), status, and the body
//! checks they share with photo posts (`photo.rs`).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, header};
use axum::response::Response;
use serde_json::{Value, json};

use crate::api::{
    MAX_JSON_BODY, bearer, envelope_err, envelope_ok, header_str, media_type_is, read_body,
};
use crate::state::{RateBucket, Reject, State, https_on_domain};
use crate::{
    AccountSeed, ChunkPlan, Endpoint, FakeSettings, MediaType, PRIVACY_LEVELS, PublishKind, Shared,
    ViolationKind,
};

const MAX_TITLE_UTF16: usize = 2200;
const POST_INFO_FIELDS: &[&str] = &[
    "title",
    "privacy_level",
    "disable_duet",
    "disable_comment",
    "disable_stitch",
    "video_cover_timestamp_ms",
    "brand_content_toggle",
    "brand_organic_toggle",
    "is_aigc",
];
const SOURCE_INFO_FIELDS: &[&str] = &["source", "video_size", "chunk_size", "total_chunk_count"];
const PULL_SOURCE_INFO_FIELDS: &[&str] = &["source", "video_url"];

pub(crate) struct JsonRoute {
    pub endpoint: Endpoint,
    pub scopes: &'static [&'static str],
    /// `None`: not rate limited (cancel: TikTok gives no limit).
    pub bucket: Option<RateBucket>,
}

pub(crate) type JsonHandler = fn(&mut State, &Shared, &str, &[u8]) -> Result<Value, Reject>;

/// The checks every Content Posting call goes through, in TikTok's order: token, headers,
/// scope, rate limit; then the endpoint's own handler, all under one lock. Downloads the
/// handler queued (PULL_FROM_URL) start once the lock is released.
pub(crate) async fn json_call(
    shared: Arc<Shared>,
    route: JsonRoute,
    headers: HeaderMap,
    body: Body,
    handler: JsonHandler,
) -> Response {
    let raw = read_body(body, MAX_JSON_BODY).await;
    let token = bearer(&headers);
    let mut state = shared.lock();
    // Even a refused call is logged against the token's owner when the token is known.
    let owner = token.as_deref().and_then(|t| state.token_owner(t));
    let result = checked_call(
        &mut state,
        &shared,
        &route,
        token.as_deref(),
        &headers,
        raw.as_deref(),
    )
    .and_then(|open_id| {
        handler(
            &mut state,
            &shared,
            &open_id,
            raw.as_deref().unwrap_or_default(),
        )
    });
    let response = match result {
        Ok(data) => envelope_ok(data),
        Err(reject) => envelope_err(&reject),
    };
    state.record_call(route.endpoint, owner, response.status().as_u16());
    drop(state);
    crate::pull::start_pending(&shared);
    response
}

/// Returns the caller's open_id once the request may reach the endpoint's handler.
fn checked_call(
    state: &mut State,
    shared: &Shared,
    route: &JsonRoute,
    token: Option<&str>,
    headers: &HeaderMap,
    raw: Option<&[u8]>,
) -> Result<String, Reject> {
    let endpoint = route.endpoint;
    let caller = token.and_then(|t| state.token_owner(t));
    if let Some(reject) = state.take_http_fault(endpoint, caller.as_deref()) {
        return Err(reject);
    }
    state.expire_token_on_call(endpoint, token);
    let open_id = state.authenticate(token)?;
    let content_type = header_str(headers, header::CONTENT_TYPE);
    if !media_type_is(content_type, "application/json") {
        state.violate(
            ViolationKind::BadContentType,
            format!("{endpoint:?} with Content-Type {content_type:?}"),
        );
        return Err(Reject::invalid_params(
            "Content-Type must be application/json; charset=UTF-8.",
        ));
    }
    state.check_scope(token, route.scopes)?;
    let limits = &shared.settings.rate_limits;
    if let Some(bucket) = route.bucket {
        let limit = match bucket {
            RateBucket::Init => limits.init_per_minute,
            RateBucket::Status => limits.status_per_minute,
            RateBucket::CreatorInfo => limits.creator_info_per_minute,
            RateBucket::ContentInit => limits.content_init_per_minute,
        };
        state.rate_check(&open_id, bucket, limit)?;
    }
    if raw.is_none() {
        state.violate(
            ViolationKind::BadRequest,
            format!("{endpoint:?}: body too large or unreadable"),
        );
        return Err(Reject::invalid_params("The request body is invalid."));
    }
    Ok(open_id)
}

pub(crate) async fn creator_info(
    AxState(shared): AxState<Arc<Shared>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let route = JsonRoute {
        endpoint: Endpoint::CreatorInfo,
        scopes: &["video.publish"],
        bucket: Some(RateBucket::CreatorInfo),
    };
    json_call(shared, route, headers, body, |state, _, open_id, raw| {
        if !raw.iter().all(u8::is_ascii_whitespace) {
            let body = parse_object(state, raw)?;
            check_fields(state, &body, &[], "creator_info body")?;
        }
        // A creator who cannot post now is told so with HTTP 200 and a non-`ok` code.
        if let Some(refusal) = state.cannot_post(open_id, 200) {
            return Err(refusal);
        }
        state
            .creator_info(open_id)
            .ok_or_else(Reject::token_invalid)
    })
    .await
}

pub(crate) async fn direct_init(
    AxState(shared): AxState<Arc<Shared>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let route = JsonRoute {
        endpoint: Endpoint::DirectInit,
        scopes: &["video.publish"],
        bucket: Some(RateBucket::Init),
    };
    json_call(
        shared,
        route,
        headers,
        body,
        |state, shared, open_id, raw| {
            let body = parse_object(state, raw)?;
            check_fields(state, &body, &["post_info", "source_info"], "body")?;
            if let Some(refusal) = state.cannot_post(open_id, 403) {
                return Err(refusal);
            }
            let Some(post_info) = body.get("post_info").and_then(Value::as_object) else {
                return Err(bad(state, "Direct Post init without a post_info object"));
            };
            check_fields(state, post_info, POST_INFO_FIELDS, "post_info")?;
            let source = source_info(state, &shared.settings, &body)?;
            check_post_info(state, open_id, post_info)?;
            let post_info = Value::Object(post_info.clone());
            create_video(
                state,
                shared,
                open_id,
                PublishKind::Direct,
                Some(post_info),
                source,
            )
        },
    )
    .await
}

pub(crate) async fn inbox_init(
    AxState(shared): AxState<Arc<Shared>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let route = JsonRoute {
        endpoint: Endpoint::InboxInit,
        scopes: &["video.upload"],
        bucket: Some(RateBucket::Init),
    };
    json_call(
        shared,
        route,
        headers,
        body,
        |state, shared, open_id, raw| {
            let body = parse_object(state, raw)?;
            check_fields(state, &body, &["source_info"], "body")?;
            if let Some(refusal) = state.cannot_post(open_id, 403) {
                return Err(refusal);
            }
            let source = source_info(state, &shared.settings, &body)?;
            create_video(state, shared, open_id, PublishKind::Inbox, None, source)
        },
    )
    .await
}

pub(crate) async fn status_fetch(
    AxState(shared): AxState<Arc<Shared>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let route = JsonRoute {
        endpoint: Endpoint::StatusFetch,
        scopes: &["video.publish", "video.upload"],
        bucket: Some(RateBucket::Status),
    };
    json_call(
        shared,
        route,
        headers,
        body,
        |state, shared, open_id, raw| {
            let body = parse_object(state, raw)?;
            check_fields(state, &body, &["publish_id"], "body")?;
            let Some(publish_id) = body.get("publish_id").and_then(Value::as_str) else {
                return Err(bad(state, "status fetch without a publish_id string"));
            };
            state.status_data(&shared.settings, open_id, publish_id)
        },
    )
    .await
}

/// Creates the post of a video init: an upload session (`upload_url` in the answer), or a
/// pull from a verified URL (no `upload_url`: "This field is only for
/// `source=FILE_UPLOAD`").
fn create_video(
    state: &mut State,
    shared: &Shared,
    open_id: &str,
    kind: PublishKind,
    post_info: Option<Value>,
    source: Source,
) -> Result<Value, Reject> {
    match source {
        Source::File(plan) => {
            let (publish_id, upload_url) =
                state.create_publish(&shared.base_url, open_id, kind, post_info, plan);
            Ok(json!({"publish_id": publish_id, "upload_url": upload_url}))
        }
        Source::Pull(url) => {
            check_media_url(state, &url)?;
            let publish_id =
                state.create_pull_publish(open_id, kind, post_info, MediaType::Video, vec![url]);
            Ok(json!({ "publish_id": publish_id }))
        }
    }
}

/// A PULL_FROM_URL URL must be https, on a domain name, and under a domain or URL prefix
/// the app verified; else 403 `url_ownership_unverified`. Only a URL TikTok could never
/// take (not https, an IP address) is the client's violation: which domains the app
/// verified is configuration the client cannot see.
pub(crate) fn check_media_url(state: &mut State, raw: &str) -> Result<(), Reject> {
    let unverified = || {
        Reject::new(
            403,
            "url_ownership_unverified",
            "To use PULL_FROM_URL as the media transfer method, developer must verify the ownership of the URL prefix or domain.",
        )
    };
    match https_on_domain(raw) {
        Ok(url) if state.url_owned(&url) => Ok(()),
        Ok(_) => Err(unverified()),
        Err(why) => {
            state.violate(ViolationKind::BadMediaUrl, why);
            Err(unverified())
        }
    }
}

// ---- body validation ----

pub(crate) type Object = serde_json::Map<String, Value>;

/// How a video init's media arrives.
enum Source {
    File(ChunkPlan),
    Pull(String),
}

pub(crate) fn bad(state: &mut State, detail: impl Into<String>) -> Reject {
    let detail = detail.into();
    state.violate(ViolationKind::BadRequest, detail.clone());
    Reject::invalid_params(detail)
}

pub(crate) fn parse_object(state: &mut State, raw: &[u8]) -> Result<Object, Reject> {
    match serde_json::from_slice::<Value>(raw) {
        Ok(Value::Object(object)) => Ok(object),
        _ => Err(bad(state, "the body is not a JSON object")),
    }
}

/// TikTok refuses parameters it does not know.
pub(crate) fn check_fields(
    state: &mut State,
    object: &Object,
    known: &[&str],
    place: &str,
) -> Result<(), Reject> {
    match object.keys().find(|k| !known.contains(&k.as_str())) {
        None => Ok(()),
        Some(unknown) => {
            state.violate(
                ViolationKind::UnknownField,
                format!("unknown field {unknown:?} in {place}"),
            );
            Err(Reject::invalid_params(format!(
                "Invalid parameter: {unknown}"
            )))
        }
    }
}

fn source_info(
    state: &mut State,
    settings: &FakeSettings,
    body: &Object,
) -> Result<Source, Reject> {
    let Some(source) = body.get("source_info").and_then(Value::as_object) else {
        return Err(bad(state, "init without a source_info object"));
    };
    match source.get("source").and_then(Value::as_str) {
        Some("FILE_UPLOAD") => chunk_plan(state, settings, source).map(Source::File),
        Some("PULL_FROM_URL") => {
            check_fields(state, source, PULL_SOURCE_INFO_FIELDS, "source_info")?;
            match source.get("video_url").and_then(Value::as_str) {
                Some(url) => Ok(Source::Pull(url.to_owned())),
                None => Err(bad(state, "PULL_FROM_URL without a video_url string")),
            }
        }
        _ => Err(bad(
            state,
            "source_info.source is neither FILE_UPLOAD nor PULL_FROM_URL",
        )),
    }
}

fn chunk_plan(
    state: &mut State,
    settings: &FakeSettings,
    source: &Object,
) -> Result<ChunkPlan, Reject> {
    check_fields(state, source, SOURCE_INFO_FIELDS, "source_info")?;
    let number = |name: &str| source.get(name).and_then(Value::as_u64);
    let (Some(video_size), Some(chunk_size), Some(total_chunk_count)) = (
        number("video_size"),
        number("chunk_size"),
        number("total_chunk_count"),
    ) else {
        return Err(bad(
            state,
            "source_info needs non-negative integers video_size, chunk_size, total_chunk_count",
        ));
    };
    let plan = ChunkPlan {
        video_size,
        chunk_size,
        total_chunk_count,
    };
    if let Err(why) = plan.validate(settings.max_video_size, settings.max_last_chunk_size) {
        state.violate(ViolationKind::WrongChunkPlan, why);
        return Err(Reject::invalid_params("The chunk size is invalid"));
    }
    Ok(plan)
}

fn check_post_info(state: &mut State, open_id: &str, post: &Object) -> Result<(), Reject> {
    for name in [
        "disable_duet",
        "disable_comment",
        "disable_stitch",
        "brand_content_toggle",
        "brand_organic_toggle",
        "is_aigc",
    ] {
        if post.get(name).is_some_and(|v| !v.is_boolean()) {
            return Err(bad(state, format!("post_info.{name} is not a boolean")));
        }
    }
    if post
        .get("video_cover_timestamp_ms")
        .is_some_and(|v| v.as_u64().is_none())
    {
        return Err(bad(
            state,
            "post_info.video_cover_timestamp_ms is not a non-negative integer",
        ));
    }
    let title = match post.get("title") {
        None => "",
        Some(Value::String(title)) => title.as_str(),
        Some(_) => return Err(bad(state, "post_info.title is not a string")),
    };
    let units = title.encode_utf16().count();
    if units > MAX_TITLE_UTF16 {
        state.violate(
            ViolationKind::TitleTooLong,
            format!("title of {units} UTF-16 code units, over {MAX_TITLE_UTF16}"),
        );
        return Err(Reject::invalid_params("The title is too long."));
    }
    let (privacy, seed) = check_privacy(state, open_id, post)?;
    check_switches(
        state,
        post,
        &[
            (seed.comment_disabled, "disable_comment"),
            (seed.duet_disabled, "disable_duet"),
            (seed.stitch_disabled, "disable_stitch"),
        ],
    )?;
    check_branded(state, post, &privacy)
}

/// `privacy_level` must be one of the creator's `privacy_level_options`. Returns it with
/// the creator's settings.
pub(crate) fn check_privacy(
    state: &mut State,
    open_id: &str,
    post: &Object,
) -> Result<(String, AccountSeed), Reject> {
    let Some(privacy) = post.get("privacy_level").and_then(Value::as_str) else {
        return Err(bad(
            state,
            "post_info.privacy_level is missing or not a string",
        ));
    };
    if !PRIVACY_LEVELS.contains(&privacy) {
        return Err(bad(
            state,
            format!("privacy_level {privacy:?} does not exist"),
        ));
    }
    let Some(seed) = state.account_seed(open_id).cloned() else {
        return Err(Reject::token_invalid());
    };
    if !seed.privacy_level_options.iter().any(|o| o == privacy) {
        state.violate(
            ViolationKind::PrivacyLevelNotOffered,
            format!("privacy_level {privacy} is not in the creator's privacy_level_options"),
        );
        return Err(Reject::new(
            400,
            "privacy_level_option_mismatch",
            "privacy_level is not one of the creator's privacy_level_options.",
        ));
    }
    Ok((privacy.to_owned(), seed))
}

fn flag(post: &Object, name: &str) -> bool {
    post.get(name).and_then(Value::as_bool).unwrap_or(false)
}

/// An interaction the creator turned off must be turned off on the post too.
pub(crate) fn check_switches(
    state: &mut State,
    post: &Object,
    switches: &[(bool, &str)],
) -> Result<(), Reject> {
    for &(disabled, field) in switches {
        if disabled && !flag(post, field) {
            state.violate(
                ViolationKind::CreatorSwitchOverridden,
                format!("the creator turned this off but the post does not set {field}=true"),
            );
            return Err(Reject::invalid_params(format!(
                "{field} must be true: the creator has disabled it."
            )));
        }
    }
    Ok(())
}

/// Branded content cannot be private.
pub(crate) fn check_branded(state: &mut State, post: &Object, privacy: &str) -> Result<(), Reject> {
    if flag(post, "brand_content_toggle") && privacy == "SELF_ONLY" {
        return Err(bad(state, "branded content cannot be SELF_ONLY"));
    }
    Ok(())
}
