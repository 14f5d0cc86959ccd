//! `GET /v2/user/info/` (TikTok's Get User Info,
//! https://developers.tiktok.com/doc/tiktok-api-v2-get-user-info): the token owner's profile.
//!
//! As documented there: GET, `Authorization: Bearer <access token>`, a required `fields`
//! query parameter (comma-separated), the answer `{"data": {"user": {...}}, "error": {...}}`
//! holding only the fields asked for. Each field needs its scope: `open_id`, `union_id`,
//! the avatars and `display_name` need `user.info.basic`; `bio_description`,
//! `profile_deep_link`, `is_verified` and `username` need `user.info.profile` (TikTok's
//! scope migration notice, https://developers.tiktok.com/bulletin/user-info-scope-migration);
//! the counts need `user.info.stats`. Errors follow TikTok's error page
//! (https://developers.tiktok.com/doc/tiktok-api-v2-error-handling): `access_token_invalid`
//! 401, `scope_not_authorized` 401, `invalid_params` 400.
//!
//! Checks, in order: injected fault, token, `fields` present and known, scopes. A missing or
//! unknown field is the client's mistake (a violation); a field whose scope the user did not
//! grant is refused without one, as the other routes refuse a missing scope.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{RawQuery, State as AxState};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::api::{envelope_err, envelope_ok};
use crate::state::{Reject, State};
use crate::{Endpoint, Shared, ViolationKind};

/// Every field TikTok's page lists, with the scope it needs.
const FIELDS: &[(&str, &str)] = &[
    ("open_id", "user.info.basic"),
    ("union_id", "user.info.basic"),
    ("avatar_url", "user.info.basic"),
    ("avatar_url_100", "user.info.basic"),
    ("avatar_large_url", "user.info.basic"),
    ("display_name", "user.info.basic"),
    ("bio_description", "user.info.profile"),
    ("profile_deep_link", "user.info.profile"),
    ("is_verified", "user.info.profile"),
    ("username", "user.info.profile"),
    ("follower_count", "user.info.stats"),
    ("following_count", "user.info.stats"),
    ("likes_count", "user.info.stats"),
    ("video_count", "user.info.stats"),
];

pub(crate) async fn user_info(
    AxState(shared): AxState<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned());
    let mut state = shared.lock();
    let owner = token.as_deref().and_then(|t| state.token_owner(t));
    let result = answer(&mut state, owner.as_deref(), token.as_deref(), query);
    let response = match result {
        Ok(user) => envelope_ok(json!({ "user": user })),
        Err(reject) => envelope_err(&reject),
    };
    state.record_call(Endpoint::UserInfo, owner, response.status().as_u16());
    response
}

fn answer(
    state: &mut State,
    owner: Option<&str>,
    token: Option<&str>,
    query: Option<String>,
) -> Result<Value, Reject> {
    if let Some(reject) = state.take_http_fault(Endpoint::UserInfo, owner) {
        return Err(reject);
    }
    let open_id = state.authenticate(token)?;
    let fields = requested_fields(state, query.as_deref().unwrap_or_default())?;
    for field in &fields {
        let scope = scope_of(field).unwrap_or("user.info.basic");
        state.check_scope(token, &[scope])?;
    }
    let profile = profile_values(state, &open_id).ok_or_else(Reject::token_invalid)?;
    let user: Map<String, Value> = fields
        .iter()
        .filter_map(|field| Some((field.clone(), profile.get(field.as_str())?.clone())))
        .collect();
    Ok(Value::Object(user))
}

fn scope_of(field: &str) -> Option<&'static str> {
    FIELDS
        .iter()
        .find(|(name, _)| *name == field)
        .map(|(_, scope)| *scope)
}

/// The `fields` parameter, parsed: required, non-empty, every name one TikTok lists.
fn requested_fields(state: &mut State, query: &str) -> Result<Vec<String>, Reject> {
    let params: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let Some(raw) = params.get("fields").filter(|f| !f.trim().is_empty()) else {
        state.violate(
            ViolationKind::BadRequest,
            "user/info without the required fields parameter",
        );
        return Err(Reject::invalid_params("fields is required."));
    };
    let mut fields: Vec<String> = Vec::new();
    for name in raw.split(',').map(str::trim) {
        if scope_of(name).is_none() {
            state.violate(
                ViolationKind::UnknownField,
                format!("user/info asked for the unknown field {name:?}"),
            );
            return Err(Reject::invalid_params(format!("Unknown field: {name}.")));
        }
        if !fields.iter().any(|f| f == name) {
            fields.push(name.to_owned());
        }
    }
    Ok(fields)
}

/// Every field's value for the account.
fn profile_values(state: &State, open_id: &str) -> Option<HashMap<&'static str, Value>> {
    let seed = state.account_seed(open_id)?;
    // The account's avatar URL is the one creator_info shows.
    let avatar = state
        .creator_info(open_id)
        .and_then(|info| info.get("creator_avatar_url").cloned())
        .unwrap_or(Value::Null);
    Some(HashMap::from([
        ("open_id", json!(open_id)),
        ("union_id", json!(format!("union-{open_id}"))),
        ("avatar_url", avatar.clone()),
        ("avatar_url_100", avatar.clone()),
        ("avatar_large_url", avatar),
        ("display_name", json!(seed.nickname)),
        ("bio_description", json!("")),
        (
            "profile_deep_link",
            json!(format!("https://www.tiktok.com/@{}", seed.username)),
        ),
        ("is_verified", json!(false)),
        ("username", json!(seed.username)),
        ("follower_count", json!(0)),
        ("following_count", json!(0)),
        ("likes_count", json!(0)),
        ("video_count", json!(0)),
    ]))
}

#[cfg(test)]
mod tests {
    use reqwest::StatusCode;
    use serde_json::Value;

    use crate::{AccountSeed, Endpoint, FakeSettings, FakeTikTok, ViolationKind};

    async fn fake_with(scopes: &[&str]) -> (FakeTikTok, String, String) {
        let fake = FakeTikTok::start(FakeSettings::default())
            .await
            .expect("fake starts");
        let open_id = fake.seed_account(AccountSeed {
            nickname: "Ann Creator".into(),
            username: "ann.creator".into(),
            ..AccountSeed::default()
        });
        let tokens = fake.issue_tokens(&open_id, scopes);
        (fake, open_id, tokens.access_token)
    }

    async fn get(fake: &FakeTikTok, token: &str, fields: Option<&str>) -> (StatusCode, Value) {
        let mut request = reqwest::Client::new()
            .get(format!("{}/v2/user/info/", fake.base_url()))
            .bearer_auth(token);
        if let Some(fields) = fields {
            request = request.query(&[("fields", fields)]);
        }
        let response = request.send().await.expect("send");
        let status = response.status();
        (status, response.json().await.expect("json"))
    }

    // "Query Parameters: fields ... The set of user fields to request for" (required), and
    // the answer's `data` holds the user object.
    #[tokio::test]
    async fn answers_the_fields_asked_under_data_user() {
        let (fake, open_id, token) = fake_with(&["user.info.basic"]).await;
        let (status, body) = get(&fake, &token, Some("open_id,avatar_url,display_name")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["error"]["code"], "ok");
        let user = &body["data"]["user"];
        assert_eq!(user["open_id"], open_id.as_str());
        assert_eq!(user["display_name"], "Ann Creator");
        assert!(user["avatar_url"].is_string());
        assert!(user.get("username").is_none(), "only the fields asked");
        assert_eq!(fake.call_count(Endpoint::UserInfo), 1);
        assert!(fake.violations().is_empty());
    }

    // Scope migration notice: `username` moved from user.info.basic to user.info.profile.
    #[tokio::test]
    async fn username_needs_user_info_profile() {
        let (fake, _, token) = fake_with(&["user.info.basic"]).await;
        let (status, body) = get(&fake, &token, Some("open_id,username")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"]["code"], "scope_not_authorized");

        let (fake, _, token) = fake_with(&["user.info.basic", "user.info.profile"]).await;
        let (status, body) = get(&fake, &token, Some("open_id,username")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["data"]["user"]["username"], "ann.creator");
        assert!(fake.violations().is_empty());
    }

    // Error handling page: access_token_invalid, 401.
    #[tokio::test]
    async fn an_unknown_token_is_refused() {
        let (fake, _, _) = fake_with(&["user.info.basic"]).await;
        let (status, body) = get(&fake, "act.not-issued", Some("open_id")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"]["code"], "access_token_invalid");
    }

    // `fields` is marked required; invalid_params, 400.
    #[tokio::test]
    async fn missing_or_unknown_fields_are_violations() {
        let (fake, _, token) = fake_with(&["user.info.basic"]).await;
        let (status, body) = get(&fake, &token, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"]["code"], "invalid_params");
        let (status, _) = get(&fake, &token, Some("open_id,nickname")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let kinds: Vec<ViolationKind> = fake.violations().iter().map(|v| v.kind).collect();
        assert_eq!(
            kinds,
            [ViolationKind::BadRequest, ViolationKind::UnknownField]
        );
    }
}
