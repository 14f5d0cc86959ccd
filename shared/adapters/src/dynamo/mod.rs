//! DynamoDB adapters of the store ports, one file per table, and the tables' definitions.
//!
//! # Tables (the SAM template copies these)
//!
//! **accounts** (`ACCOUNTS_TABLE`), one item per connected TikTok account:
//! - key: `open_id` (S, HASH). No index, no TTL.
//! - `access_token` (S, sealed), `access_expires_at` (N), `refresh_token` (S, sealed, absent
//!   when TikTok never gave one), `refresh_expires_at` (N), `scopes` (L of S), `nickname`,
//!   `username`, `avatar_url` (S: TikTok's user info, each absent when it sent none) with
//!   `profile_fetched_at` (N, when user info last answered), `needs_reconnect` (BOOL), `reconnect_reason` (S), `version` (N, +1 on every token write),
//!   `lease_owner` (S) + `lease_until` (N) while someone refreshes, `connected_at`,
//!   `updated_at` (N), `reconnect_warned_day` (N, days since the epoch of the last reconnect
//!   warning).
//!
//! **posts** (`POSTS_TABLE`), one item per post:
//! - key: `id` (S, HASH): the post id.
//! - GSI `by_account`: `open_id` (S, HASH), `created_at` (N, RANGE), projection ALL.
//! - `state` (S), `bucket`, `key`, `version_id`, `size`, `content_type`, `etag` (source),
//!   `options` (S, JSON), `publish_id` (S), `upload_url` (S, sealed), `upload_issued_at`,
//!   `video_size`, `chunk_size`, `chunk_count`, `chunks_done`, `bytes_done` (N),
//!   `public_post_ids` (L of S), `failure_kind` (S), `failure_cause` (M: the typed cause,
//!   tagged by `type`), `failure_reason`, `failure_advice` (S), `created_at`, `updated_at` (N),
//!   `history` (L of M {state S, at N, note S, fact M: the typed fact, tagged by `type`};
//!   items written before `fact` and `failure_cause` existed are understood from their text),
//!   `webhook_kind`, `webhook_publish_id`, `webhook_reason`, `webhook_post_id` (S) and
//!   `webhook_at` (N): the final event TikTok's webhook reported, once one arrived. No TTL.
//!
//! **oauth** (`OAUTH_TABLE`), one item per one-time token (OAuth state, connect link):
//! - key: `id` (S, HASH): hex SHA-256 of the token (the token itself is never stored).
//! - `kind` (S), `created_at` (N), `expires_at` (N, **the TTL attribute**), `used_at` (N),
//!   `redirect_uri`, `return_to`, `binding`, `note` (S).
//!
//! **allowances** (`ALLOWANCES_TABLE`), one item per account and kind of TikTok call:
//! - key: `open_id` (S, HASH), `call` (S, RANGE): `init`, `status_fetch` or `creator_info`.
//! - `calls` (L of N): the times (ms since the epoch) of the calls counted in the current
//!   window, oldest first, at most the limit; `version` (N, a fresh random number on every
//!   write, the condition of the next); `updated_at` (N, ms); `expires_at` (N, seconds,
//!   **the TTL attribute**: a minute past the window of the newest call, so idle items go).
//!
//! **console sessions** (`CONSOLE_SESSIONS_TABLE`; the template's `ConsoleSessionsTable`),
//! one item per signed-in browser:
//! - key: `session_hash` (S, HASH): hex SHA-256 of the session id (the cookie's value is
//!   never stored).
//! - `user_sub`, `email` (S), `access_token`, `refresh_token`, `csrf_token` (S, sealed, each
//!   under the context `console-sessions/{session_hash}/{attribute}`), `access_expires_at`,
//!   `created_at` (N), `expires_at` (N, **the TTL attribute**; readers check it too, since
//!   TTL deletes late). Created by [`create_console_sessions_table`].
//!
//! All are PAY_PER_REQUEST.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;

use tiktok_publish_core::store::StoreError;

mod accounts;
mod allowances;
mod idempotency;
mod oauth;
mod post_item;
mod posts;
mod sessions;
mod tables;
mod typed;

pub use accounts::DynamoTokenStore;
pub use allowances::DynamoAllowanceStore;
pub use idempotency::DynamoIdempotencyStore;
pub use oauth::DynamoOAuthStateStore;
pub use posts::DynamoPostStore;
pub use sessions::DynamoSessionStore;
pub use tables::{create_console_sessions_table, create_tables};

/// The name of the posts table's index by account.
pub const POSTS_BY_ACCOUNT_INDEX: &str = "by_account";
/// The oauth table's TTL attribute.
pub const OAUTH_TTL_ATTRIBUTE: &str = "expires_at";
/// The allowances table's TTL attribute.
pub const ALLOWANCES_TTL_ATTRIBUTE: &str = "expires_at";
/// The console sessions table's key.
pub const CONSOLE_SESSIONS_KEY: &str = "session_hash";
/// The console sessions table's TTL attribute.
pub const CONSOLE_SESSIONS_TTL_ATTRIBUTE: &str = "expires_at";

/// The four tables' names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableNames {
    pub accounts: String,
    pub posts: String,
    pub oauth: String,
    pub allowances: String,
}

impl TableNames {
    /// `{prefix}-accounts`, `{prefix}-posts`, `{prefix}-oauth`, `{prefix}-allowances`
    /// (tests, the local stack).
    pub fn with_prefix(prefix: &str) -> TableNames {
        TableNames {
            accounts: format!("{prefix}-accounts"),
            posts: format!("{prefix}-posts"),
            oauth: format!("{prefix}-oauth"),
            allowances: format!("{prefix}-allowances"),
        }
    }
}

// ---- SDK errors ------------------------------------------------------------------------

/// The service's error code (`ConditionalCheckFailedException`, ...), if it answered one.
pub(crate) fn error_code<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> Option<&str> {
    err.as_service_error().and_then(|e| e.code())
}

pub(crate) fn is_condition_failed<E: ProvideErrorMetadata>(
    err: &SdkError<E, HttpResponse>,
) -> bool {
    error_code(err) == Some("ConditionalCheckFailedException")
}

/// Writes `item` only if no item has its key (`key_attr`): `Ok(true)` when written,
/// `Ok(false)` when one already existed (nothing written).
pub(crate) async fn put_new(
    client: &Client,
    table: &str,
    key_attr: &str,
    item: Item,
) -> Result<bool, StoreError> {
    let mut expr = Expr::new();
    let key = expr.name(key_attr);
    expr.condition(format!("attribute_not_exists({key})"));
    let condition = expr.condition_expression();
    let (names, _) = expr.into_maps();
    match client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .set_condition_expression(condition)
        .set_expression_attribute_names(names)
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if is_condition_failed(&e) => Ok(false),
        Err(e) => Err(sdk_error("PutItem", e)),
    }
}

/// Codes DynamoDB uses for "not now": throttling and its own trouble.
const TRANSIENT_CODES: &[&str] = &[
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionConflictException",
    "TransactionInProgressException",
];

/// Maps an SDK failure that the caller did not expect: transient ones to
/// [`StoreError::Unavailable`], the rest (validation, missing table, access) to
/// [`StoreError::Refused`]. Conditional-check failures are handled by each caller first.
pub(crate) fn sdk_error<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let detail = DisplayErrorContext(&err).to_string();
    let transient = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(service) => {
            service.raw().status().as_u16() >= 500
                || service
                    .err()
                    .code()
                    .is_some_and(|code| TRANSIENT_CODES.contains(&code))
        }
        // A request the SDK could not build is our bug.
        _ => false,
    };
    let source: Option<Box<dyn std::error::Error + Send + Sync>> = Some(Box::new(err));
    if transient {
        StoreError::Unavailable {
            operation,
            detail,
            source,
        }
    } else {
        StoreError::Refused {
            operation,
            detail,
            source,
        }
    }
}

// ---- Items -----------------------------------------------------------------------------
// By hand, not serde_dynamo: errors name the attribute, and string sets pass as lists.

pub(crate) type Item = HashMap<String, AttributeValue>;

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub(crate) fn string_list(values: &[String]) -> AttributeValue {
    AttributeValue::L(values.iter().map(|v| s(v.as_str())).collect())
}

/// Reads attributes of one item, naming the item in every error.
pub(crate) struct Reader<'a> {
    pub item: &'a Item,
    pub entity: &'static str,
    pub id: String,
}

impl<'a> Reader<'a> {
    pub fn new(item: &'a Item, entity: &'static str, key: &str) -> Reader<'a> {
        let id = match item.get(key) {
            Some(AttributeValue::S(id)) => id.clone(),
            _ => "(no key)".to_owned(),
        };
        Reader { item, entity, id }
    }

    pub fn corrupt(&self, detail: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            entity: self.entity,
            id: self.id.clone(),
            detail: detail.into(),
        }
    }

    pub fn opt_s(&self, name: &str) -> Result<Option<String>, StoreError> {
        match self.item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::S(v)) => Ok(Some(v.clone())),
            Some(_) => Err(self.corrupt(format!("{name} is not a string"))),
        }
    }

    pub fn s(&self, name: &str) -> Result<String, StoreError> {
        self.opt_s(name)?
            .ok_or_else(|| self.corrupt(format!("{name} is missing")))
    }

    pub fn opt_n<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, StoreError> {
        match self.item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::N(v)) => v
                .parse()
                .map(Some)
                .map_err(|_| self.corrupt(format!("{name} is not a valid number"))),
            Some(_) => Err(self.corrupt(format!("{name} is not a number"))),
        }
    }

    pub fn n<T: std::str::FromStr>(&self, name: &str) -> Result<T, StoreError> {
        self.opt_n(name)?
            .ok_or_else(|| self.corrupt(format!("{name} is missing")))
    }

    pub fn bool_or_false(&self, name: &str) -> Result<bool, StoreError> {
        match self.item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(false),
            Some(AttributeValue::Bool(v)) => Ok(*v),
            Some(_) => Err(self.corrupt(format!("{name} is not a boolean"))),
        }
    }

    pub fn string_list(&self, name: &str) -> Result<Vec<String>, StoreError> {
        match self.item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(Vec::new()),
            Some(AttributeValue::L(values)) => values
                .iter()
                .map(|v| match v {
                    AttributeValue::S(s) => Ok(s.clone()),
                    _ => Err(self.corrupt(format!("{name} holds a non-string"))),
                })
                .collect(),
            Some(AttributeValue::Ss(values)) => Ok(values.clone()),
            Some(_) => Err(self.corrupt(format!("{name} is not a list"))),
        }
    }
}

/// Builds an update (or condition) expression with every attribute name and value bound
/// as a placeholder, so reserved words (`state`, `key`, `version`, ...) never bite.
#[derive(Default)]
pub(crate) struct Expr {
    sets: Vec<String>,
    removes: Vec<String>,
    conditions: Vec<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Expr {
    pub fn new() -> Expr {
        Expr::default()
    }

    /// The placeholder of attribute `attr` (a plain identifier).
    pub fn name(&mut self, attr: &str) -> String {
        let placeholder = format!("#{attr}");
        self.names.insert(placeholder.clone(), attr.to_owned());
        placeholder
    }

    /// A fresh placeholder bound to `value`.
    pub fn value(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    pub fn set(&mut self, attr: &str, value: AttributeValue) -> &mut Expr {
        let name = self.name(attr);
        let value = self.value(value);
        self.sets.push(format!("{name} = {value}"));
        self
    }

    /// A raw `SET` clause written with placeholders from [`Expr::name`]/[`Expr::value`].
    pub fn set_raw(&mut self, clause: String) -> &mut Expr {
        self.sets.push(clause);
        self
    }

    pub fn remove(&mut self, attr: &str) -> &mut Expr {
        let name = self.name(attr);
        self.removes.push(name);
        self
    }

    /// Adds a condition; all conditions must hold.
    pub fn condition(&mut self, condition: String) -> &mut Expr {
        self.conditions.push(format!("({condition})"));
        self
    }

    pub fn update_expression(&self) -> Option<String> {
        let mut parts = Vec::new();
        if !self.sets.is_empty() {
            parts.push(format!("SET {}", self.sets.join(", ")));
        }
        if !self.removes.is_empty() {
            parts.push(format!("REMOVE {}", self.removes.join(", ")));
        }
        (!parts.is_empty()).then(|| parts.join(" "))
    }

    pub fn condition_expression(&self) -> Option<String> {
        (!self.conditions.is_empty()).then(|| self.conditions.join(" AND "))
    }

    /// The name and value maps; `None` when empty (DynamoDB refuses empty maps).
    pub fn into_maps(self) -> (Option<HashMap<String, String>>, Option<Item>) {
        (
            (!self.names.is_empty()).then_some(self.names),
            (!self.values.is_empty()).then_some(self.values),
        )
    }

    /// Sends it as an UpdateItem on `key`, returning the new item.
    pub fn update_item(
        self,
        client: &Client,
        table: &str,
        key: Item,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        let update = self.update_expression();
        let condition = self.condition_expression();
        let (names, values) = self.into_maps();
        client
            .update_item()
            .table_name(table)
            .set_key(Some(key))
            .set_update_expression(update)
            .set_condition_expression(condition)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::operation::get_item::GetItemError;
    use aws_smithy_types::body::SdkBody;

    use super::*;
    use tiktok_publish_core::errors::{Classify, ErrorKind};

    fn service_error(status: u16, code: &str) -> SdkError<GetItemError, HttpResponse> {
        let raw = HttpResponse::new(status.try_into().unwrap(), SdkBody::empty());
        let err = GetItemError::generic(ErrorMetadata::builder().code(code).build());
        SdkError::service_error(err, raw)
    }

    #[test]
    fn throttling_and_server_errors_are_retryable() {
        for (status, code) in [
            (400, "ThrottlingException"),
            (400, "ProvisionedThroughputExceededException"),
            (400, "RequestLimitExceeded"),
            (500, "InternalServerError"),
            (503, "SomethingNew"),
        ] {
            let error = sdk_error("GetItem", service_error(status, code));
            assert_eq!(error.kind(), ErrorKind::AwsUnavailable, "{status} {code}");
        }
        let timeout: SdkError<GetItemError, HttpResponse> = SdkError::timeout_error("too slow");
        assert_eq!(
            sdk_error("GetItem", timeout).kind(),
            ErrorKind::AwsUnavailable
        );
    }

    #[test]
    fn refusals_are_not_outages() {
        for code in [
            "ValidationException",
            "ResourceNotFoundException",
            "AccessDeniedException",
        ] {
            let error = sdk_error("GetItem", service_error(400, code));
            assert_eq!(error.kind(), ErrorKind::Internal, "{code}");
        }
    }

    #[test]
    fn a_failed_condition_is_recognised_and_never_unavailable() {
        let lost = service_error(400, "ConditionalCheckFailedException");
        assert!(is_condition_failed(&lost));
        assert_ne!(sdk_error("PutItem", lost).kind(), ErrorKind::AwsUnavailable);
        assert!(!is_condition_failed(&service_error(
            400,
            "ThrottlingException"
        )));
    }

    #[test]
    fn every_name_and_value_is_a_placeholder() {
        let mut expr = Expr::new();
        expr.set("state", s("QUEUED")).remove("upload_url");
        let state = expr.name("state");
        let from = expr.value(s("RECEIVED"));
        expr.condition(format!("{state} = {from}"));
        assert_eq!(
            expr.update_expression().as_deref(),
            Some("SET #state = :v0 REMOVE #upload_url")
        );
        assert_eq!(
            expr.condition_expression().as_deref(),
            Some("(#state = :v1)")
        );
        let (names, values) = expr.into_maps();
        assert_eq!(names.unwrap().len(), 2);
        assert_eq!(values.unwrap().len(), 2);
        assert_eq!(Expr::new().into_maps(), (None, None));
    }

    #[test]
    fn table_names_take_a_prefix() {
        let names = TableNames::with_prefix("dev");
        assert_eq!(names.accounts, "dev-accounts");
        assert_eq!(names.posts, "dev-posts");
        assert_eq!(names.oauth, "dev-oauth");
        assert_eq!(names.allowances, "dev-allowances");
    }
}
