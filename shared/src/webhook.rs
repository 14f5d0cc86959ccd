//! TikTok's webhook: signed events about uploads and authorisations, verified and recorded.
//!
//! TikTok POSTs JSON events to the app's callback URL with a `TikTok-Signature: t=..,s=..`
//! header: `s` is the hex HMAC-SHA256, keyed with the client secret, of `{t}.{raw body}`.
//! [`receive`] checks that signature in constant time, refuses a `t` too far from now (a
//! replay of an old delivery, or a clock gone wrong), parses the event, and acts on it:
//!
//! - `post.publish.complete`, `.failed`, `.inbox_delivered`, `.publicly_available`: the
//!   outcome is recorded on the post of that `publish_id` ([`WebhookFinal`]), once, so the
//!   status step can use it instead of spending a status fetch.
//! - `authorization.removed`: the account is marked as needing reconnection, and its posts
//!   that have not started uploading are stopped (`FAILED`, `AccountNeedsReconnect`).
//! - anything else (`post.publish.no_longer_publicly_available`, events TikTok adds later) is
//!   acknowledged and ignored: refusing it would only make TikTok deliver it again.
//!
//! Finding the post: there is no index by `publish_id`. The event names the account
//! (`user_openid`), and a post that TikTok reports on was initialised recently, so the
//! account's newest posts (the `by_account` index, newest first) are searched, at most
//! [`WebhookSettings::post_search_limit`] of them. A post beyond that is simply not found:
//! the event is acknowledged, nothing is recorded, and the status step fetches the status as
//! it always did. An index would cost a table change and a write on every init for a lookup
//! that only saves status fetches.

use std::fmt;
use std::time::Duration;

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::Sha256;
use tiktok_publish_domain::cause::AUTHORIZATION_REMOVED_TEXT;

use crate::config::{ConfigError, number_or, required};
use crate::store::{
    Cause, Fact, PostCursor, PostFailure, PostId, PostOutcome, PostRecord, PostState, PostStore,
    PostUpdate, StoreError, TokenStore, UnixTime, WebhookFinal, WebhookFinalKind,
};

/// The route TikTok is told to call (the stack's `WebhookUrl` output).
pub const WEBHOOK_PATH: &str = "/webhooks/tiktok";
/// The signature header, lower-cased as HTTP APIs hand headers over.
pub const SIGNATURE_HEADER: &str = "tiktok-signature";
/// Default bound on the signature's age, both ways (`WEBHOOK_MAX_SKEW_SECS`).
pub const DEFAULT_MAX_SKEW_SECS: u64 = 300;
/// Default number of the account's newest posts searched for a `publish_id`
/// (`WEBHOOK_POST_SEARCH_LIMIT`).
pub const DEFAULT_POST_SEARCH_LIMIT: u32 = 200;

/// Why the creator's posts were stopped on `authorization.removed` (the text of
/// [`Cause::AuthorizationRemoved`]), also the account's reconnect reason.
pub const AUTHORIZATION_REMOVED_REASON: &str = AUTHORIZATION_REMOVED_TEXT;
/// What they can do about it.
pub const AUTHORIZATION_REMOVED_ADVICE: &str =
    "Connect the TikTok account again (tiktok-publish connect), then post the video again";

/// Posts stopped on `authorization.removed`: nothing of theirs has reached TikTok yet.
/// Uploading and processing posts are left to fail on their own (TikTok answers their next
/// call, and sends `post.publish.failed`), so no run is cut off mid-upload.
pub const STOPPED_ON_REMOVAL: [PostState; 3] = [
    PostState::Received,
    PostState::AwaitingOptions,
    PostState::Queued,
];

const PAGE_SIZE: u32 = 50;
/// Rounds of read-decide-write when another writer moves the post in between.
const RECORD_ATTEMPTS: usize = 3;

type HmacSha256 = Hmac<Sha256>;

/// Who we are to TikTok and how strict the checks are.
#[derive(Clone)]
pub struct WebhookSettings {
    /// Events for another client key are refused.
    pub client_key: String,
    /// The HMAC key of the signature.
    pub client_secret: SecretString,
    /// How far the signature's `t` may be from now, either way.
    pub max_skew: Duration,
    /// How many of the account's newest posts are searched for a `publish_id`.
    pub post_search_limit: u32,
}

impl fmt::Debug for WebhookSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSettings")
            .field("client_key", &self.client_key)
            .field("client_secret", &"[redacted]")
            .field("max_skew", &self.max_skew)
            .field("post_search_limit", &self.post_search_limit)
            .finish()
    }
}

impl WebhookSettings {
    /// Default bounds for this app.
    pub fn new(client_key: impl Into<String>, client_secret: SecretString) -> Self {
        WebhookSettings {
            client_key: client_key.into(),
            client_secret,
            max_skew: Duration::from_secs(DEFAULT_MAX_SKEW_SECS),
            post_search_limit: DEFAULT_POST_SEARCH_LIMIT,
        }
    }

    /// Reads `TIKTOK_CLIENT_KEY`, `WEBHOOK_MAX_SKEW_SECS` and `WEBHOOK_POST_SEARCH_LIMIT`;
    /// the secret is passed in (it lives in Secrets Manager in AWS).
    pub fn from_env(client_secret: SecretString) -> Result<Self, ConfigError> {
        let mut settings = WebhookSettings::new(required("TIKTOK_CLIENT_KEY")?, client_secret);
        settings.max_skew =
            Duration::from_secs(number_or("WEBHOOK_MAX_SKEW_SECS", DEFAULT_MAX_SKEW_SECS)?);
        let limit = number_or(
            "WEBHOOK_POST_SEARCH_LIMIT",
            u64::from(DEFAULT_POST_SEARCH_LIMIT),
        )?;
        settings.post_search_limit =
            u32::try_from(limit)
                .ok()
                .filter(|l| *l > 0)
                .ok_or(ConfigError::Invalid {
                    name: "WEBHOOK_POST_SEARCH_LIMIT",
                    reason: format!("{limit} is not between 1 and {}", u32::MAX),
                })?;
        Ok(settings)
    }
}

/// Why an event was refused (nothing was recorded), or could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error(
        "the request has no TikTok-Signature header: only events signed by TikTok are accepted"
    )]
    Unsigned,
    #[error(
        "the TikTok-Signature header is malformed ({0}): expected t=<unix seconds>,s=<hex HMAC-SHA256>"
    )]
    MalformedSignature(&'static str),
    #[error(
        "the signature does not match the body: the event was not signed with this app's client secret"
    )]
    BadSignature,
    #[error(
        "the signature is {age_secs} s old; events signed more than {max_secs} s ago are refused as replays"
    )]
    Stale { age_secs: i64, max_secs: u64 },
    #[error(
        "the signature is dated {ahead_secs} s ahead; more than {max_secs} s ahead is refused (check the clocks)"
    )]
    FromTheFuture { ahead_secs: i64, max_secs: u64 },
    #[error("the event is malformed: {0}")]
    Malformed(String),
    #[error("the event is for client_key {found:?}, not this app's")]
    WrongClientKey { found: String },
    #[error("the event could not be recorded ({0}); TikTok will deliver it again")]
    Store(#[from] StoreError),
}

impl WebhookError {
    /// The HTTP status TikTok gets: 401 for anything about the signature, 400 for a
    /// malformed event, 503 when recording failed (TikTok retries it).
    pub fn http_status(&self) -> u16 {
        match self {
            WebhookError::Unsigned
            | WebhookError::MalformedSignature(_)
            | WebhookError::BadSignature
            | WebhookError::Stale { .. }
            | WebhookError::FromTheFuture { .. } => 401,
            WebhookError::Malformed(_) | WebhookError::WrongClientKey { .. } => 400,
            WebhookError::Store(_) => 503,
        }
    }
}

/// The parts of a `TikTok-Signature` header.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Signature {
    timestamp: i64,
    mac: Vec<u8>,
}

fn parse_signature(header: &str) -> Result<Signature, WebhookError> {
    let mut timestamp = None;
    let mut mac = None;
    for part in header.split(',') {
        let Some((name, value)) = part.trim().split_once('=') else {
            return Err(WebhookError::MalformedSignature("a part is not name=value"));
        };
        match name.trim() {
            "t" => {
                let t = value
                    .trim()
                    .parse::<i64>()
                    .map_err(|_| WebhookError::MalformedSignature("t is not a number"))?;
                timestamp = Some(t);
            }
            "s" => {
                let bytes = hex::decode(value.trim())
                    .map_err(|_| WebhookError::MalformedSignature("s is not hex"))?;
                mac = Some(bytes);
            }
            // Parts TikTok might add later do not invalidate the ones we check.
            _ => {}
        }
    }
    match (timestamp, mac) {
        (Some(timestamp), Some(mac)) => Ok(Signature { timestamp, mac }),
        (None, _) => Err(WebhookError::MalformedSignature("t is missing")),
        (_, None) => Err(WebhookError::MalformedSignature("s is missing")),
    }
}

fn keyed_mac(secret: &SecretString, timestamp: i64, body: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length: this cannot fail.
    let mut mac = HmacSha256::new_from_slice(secret.expose_secret().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of every length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `TikTok-Signature` value for `body` signed at `timestamp` (tests and stand-ins).
pub fn sign(secret: &SecretString, timestamp: i64, body: &[u8]) -> String {
    let mac = keyed_mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},s={}", hex::encode(mac))
}

/// Checks `header` signs `body` with the client secret (constant-time compare), and that
/// it was signed within `max_skew` of `now`.
pub fn verify_signature(
    settings: &WebhookSettings,
    header: Option<&str>,
    body: &[u8],
    now: UnixTime,
) -> Result<(), WebhookError> {
    let header = header
        .filter(|h| !h.trim().is_empty())
        .ok_or(WebhookError::Unsigned)?;
    let signature = parse_signature(header)?;
    keyed_mac(&settings.client_secret, signature.timestamp, body)
        .verify_slice(&signature.mac)
        .map_err(|_| WebhookError::BadSignature)?;
    let max_secs = settings.max_skew.as_secs();
    let max = i64::try_from(max_secs).unwrap_or(i64::MAX);
    let age = now.saturating_sub(signature.timestamp);
    if age > max {
        return Err(WebhookError::Stale {
            age_secs: age,
            max_secs,
        });
    }
    if -age > max {
        return Err(WebhookError::FromTheFuture {
            ahead_secs: -age,
            max_secs,
        });
    }
    Ok(())
}

/// A verified event, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    pub client_key: String,
    /// The event's name as TikTok sent it (`post.publish.complete`, ...).
    pub name: String,
    pub create_time: UnixTime,
    /// `user_openid`: the account.
    pub open_id: String,
    pub kind: EventKind,
}

/// What an event means to us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// A final outcome of an upload.
    PublishFinal(WebhookFinal),
    /// The creator disconnected the app.
    AuthorizationRemoved,
    /// Acknowledged, not acted on.
    Ignored,
}

#[derive(Deserialize)]
struct RawEvent {
    client_key: String,
    event: String,
    create_time: i64,
    #[serde(default)]
    user_openid: String,
    /// A JSON object serialised into a string (TikTok's shape).
    #[serde(default)]
    content: Option<String>,
}

#[derive(Deserialize, Default)]
struct RawContent {
    #[serde(default)]
    publish_id: Option<String>,
    /// Why a post failed (`post.publish.failed`); `fail_reason` accepted too.
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    fail_reason: Option<String>,
    /// The public post id: TikTok sends an int64, sometimes as a string.
    #[serde(default)]
    post_id: Option<serde_json::Value>,
}

fn malformed(detail: impl Into<String>) -> WebhookError {
    WebhookError::Malformed(detail.into())
}

/// Parses a verified body.
pub fn parse_event(body: &[u8]) -> Result<WebhookEvent, WebhookError> {
    let raw: RawEvent = serde_json::from_slice(body)
        .map_err(|e| malformed(format!("not the JSON of a TikTok event: {e}")))?;
    let final_kind = match raw.event.as_str() {
        "post.publish.complete" | "post.publish.publicly_available" => {
            Some(WebhookFinalKind::Complete)
        }
        "post.publish.failed" => Some(WebhookFinalKind::Failed),
        "post.publish.inbox_delivered" => Some(WebhookFinalKind::InboxDelivered),
        _ => None,
    };
    let needs_account = final_kind.is_some() || raw.event == "authorization.removed";
    if needs_account && raw.user_openid.trim().is_empty() {
        return Err(malformed(format!("{} without user_openid", raw.event)));
    }
    let kind = match final_kind {
        Some(kind) => {
            let content: RawContent = match raw.content.as_deref().map(str::trim) {
                None | Some("") => {
                    return Err(malformed(format!("{} without content", raw.event)));
                }
                Some(text) => serde_json::from_str(text)
                    .map_err(|e| malformed(format!("content is not a JSON object: {e}")))?,
            };
            let publish_id = content
                .publish_id
                .filter(|p| !p.trim().is_empty())
                .ok_or_else(|| malformed(format!("{} without content.publish_id", raw.event)))?;
            let public_post_id = match content.post_id {
                None | Some(serde_json::Value::Null) => None,
                Some(serde_json::Value::Number(n)) => Some(n.to_string()),
                Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Some(s),
                Some(other) => {
                    return Err(malformed(format!(
                        "content.post_id is neither a number nor a string: {other}"
                    )));
                }
            };
            if raw.event == "post.publish.publicly_available" && public_post_id.is_none() {
                return Err(malformed(
                    "post.publish.publicly_available without content.post_id",
                ));
            }
            EventKind::PublishFinal(WebhookFinal {
                publish_id,
                kind,
                reason: (kind == WebhookFinalKind::Failed)
                    .then(|| content.reason.or(content.fail_reason))
                    .flatten(),
                public_post_id,
                event_time: raw.create_time,
            })
        }
        None if raw.event == "authorization.removed" => EventKind::AuthorizationRemoved,
        None => EventKind::Ignored,
    };
    Ok(WebhookEvent {
        client_key: raw.client_key,
        name: raw.event,
        create_time: raw.create_time,
        open_id: raw.user_openid,
        kind,
    })
}

/// What was done with a valid event. Every one is answered 200.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// The outcome is now on the post.
    Recorded { post_id: PostId },
    /// The post had it already (a repeated delivery): nothing changed.
    AlreadyRecorded { post_id: PostId },
    /// No post of the account (among the newest searched) has that publish id.
    NoMatchingPost,
    /// `authorization.removed`: whether the account was found and marked, and how many
    /// posts were stopped.
    AccountDisconnected {
        account_marked: bool,
        posts_stopped: usize,
    },
    /// An event we do not act on.
    Ignored,
}

impl WebhookOutcome {
    /// A short word for the answer body and the logs.
    pub fn label(&self) -> &'static str {
        match self {
            WebhookOutcome::Recorded { .. } => "recorded",
            WebhookOutcome::AlreadyRecorded { .. } => "already_recorded",
            WebhookOutcome::NoMatchingPost => "no_matching_post",
            WebhookOutcome::AccountDisconnected { .. } => "account_disconnected",
            WebhookOutcome::Ignored => "ignored",
        }
    }
}

/// The HTTP answer for a result of [`receive`]: status and a small JSON body (no secret,
/// no detail of our records beyond what was done).
pub fn answer(result: &Result<WebhookOutcome, WebhookError>) -> (u16, serde_json::Value) {
    match result {
        Ok(outcome) => (200, serde_json::json!({ "outcome": outcome.label() })),
        Err(error) => (
            error.http_status(),
            serde_json::json!({ "error": error.to_string() }),
        ),
    }
}

/// Verifies, parses and acts on one delivery. Refused events record nothing.
#[tracing::instrument(skip_all)]
pub async fn receive(
    settings: &WebhookSettings,
    posts: &dyn PostStore,
    tokens: &dyn TokenStore,
    signature: Option<&str>,
    body: &[u8],
    now: UnixTime,
) -> Result<WebhookOutcome, WebhookError> {
    verify_signature(settings, signature, body, now)?;
    let event = parse_event(body)?;
    if event.client_key != settings.client_key {
        return Err(WebhookError::WrongClientKey {
            found: event.client_key,
        });
    }
    tracing::info!(event = %event.name, open_id = %event.open_id, "webhook event verified");
    let outcome = match &event.kind {
        EventKind::PublishFinal(final_event) => {
            record_final(settings, posts, &event, final_event, now).await?
        }
        EventKind::AuthorizationRemoved => {
            authorization_removed(posts, tokens, &event.open_id, now).await?
        }
        EventKind::Ignored => WebhookOutcome::Ignored,
    };
    tracing::info!(event = %event.name, outcome = outcome.label(), "webhook event handled");
    Ok(outcome)
}

/// The account's post whose current upload is `publish_id`, among its newest `limit`.
pub async fn find_post_by_publish_id(
    posts: &dyn PostStore,
    open_id: &str,
    publish_id: &str,
    limit: u32,
) -> Result<Option<PostRecord>, StoreError> {
    let mut searched = 0u32;
    let mut after: Option<PostCursor> = None;
    while searched < limit {
        let page = posts
            .list_by_account(open_id, PAGE_SIZE.min(limit - searched), after.as_ref())
            .await?;
        searched = searched.saturating_add(u32::try_from(page.posts.len()).unwrap_or(u32::MAX));
        if let Some(post) = page
            .posts
            .into_iter()
            .find(|p| p.publish_id.as_deref() == Some(publish_id))
        {
            return Ok(Some(post));
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    Ok(None)
}

async fn record_final(
    settings: &WebhookSettings,
    posts: &dyn PostStore,
    event: &WebhookEvent,
    final_event: &WebhookFinal,
    now: UnixTime,
) -> Result<WebhookOutcome, WebhookError> {
    let Some(mut post) = find_post_by_publish_id(
        posts,
        &event.open_id,
        &final_event.publish_id,
        settings.post_search_limit,
    )
    .await?
    else {
        tracing::info!(event = %event.name, "no post has this publish id: nothing recorded");
        return Ok(WebhookOutcome::NoMatchingPost);
    };
    let fact = Fact::WebhookEvent {
        event: event.name.clone(),
    };
    for _ in 0..RECORD_ATTEMPTS {
        if post.publish_id.as_deref() != Some(final_event.publish_id.as_str()) {
            // Initialised again since: the event is about an upload that is gone.
            return Ok(WebhookOutcome::NoMatchingPost);
        }
        if let Some(recorded) = post.webhook_for_current_upload()
            && !recorded.is_improved_by(final_event)
        {
            return Ok(WebhookOutcome::AlreadyRecorded { post_id: post.id });
        }
        match posts
            .record_webhook_event(
                &post.id,
                post.state,
                post.webhook.as_ref(),
                final_event,
                &fact,
                now,
            )
            .await
        {
            Ok(recorded) => {
                fill_public_post_id(posts, &recorded, final_event, now).await?;
                tracing::info!(post_id = %recorded.id, state = %recorded.state, "webhook event recorded");
                return Ok(WebhookOutcome::Recorded {
                    post_id: recorded.id,
                });
            }
            Err(StoreError::Conflict { .. }) => {
                post = posts
                    .get(&post.id)
                    .await?
                    .ok_or_else(|| StoreError::NotFound {
                        entity: "post",
                        id: post.id.to_string(),
                    })?;
            }
            Err(other) => return Err(other.into()),
        }
    }
    Err(WebhookError::Store(StoreError::Conflict {
        entity: "post",
        id: post.id.to_string(),
        detail: format!(
            "kept changing while the webhook event was recorded ({RECORD_ATTEMPTS} tries)"
        ),
    }))
}

/// A post already published without its public id learns it from
/// `post.publish.publicly_available` (TikTok gives the id late for slow moderation).
async fn fill_public_post_id(
    posts: &dyn PostStore,
    post: &PostRecord,
    final_event: &WebhookFinal,
    now: UnixTime,
) -> Result<(), StoreError> {
    let Some(public_id) = &final_event.public_post_id else {
        return Ok(());
    };
    let known = post
        .outcome
        .as_ref()
        .is_some_and(|o| o.public_post_ids.contains(public_id));
    if post.state != PostState::Published || known {
        return Ok(());
    }
    let mut public_post_ids = post
        .outcome
        .as_ref()
        .map(|o| o.public_post_ids.clone())
        .unwrap_or_default();
    public_post_ids.push(public_id.clone());
    posts
        .record_outcome(&post.id, &PostOutcome { public_post_ids }, now)
        .await
}

async fn authorization_removed(
    posts: &dyn PostStore,
    tokens: &dyn TokenStore,
    open_id: &str,
    now: UnixTime,
) -> Result<WebhookOutcome, WebhookError> {
    let account_marked = tokens
        .mark_needs_reconnect(open_id, AUTHORIZATION_REMOVED_REASON, None, now)
        .await?;
    let mut posts_stopped = 0;
    let mut after: Option<PostCursor> = None;
    loop {
        let page = posts
            .list_by_account(open_id, PAGE_SIZE, after.as_ref())
            .await?;
        for post in page
            .posts
            .iter()
            .filter(|p| STOPPED_ON_REMOVAL.contains(&p.state))
        {
            let failure = PostFailure::new(
                Cause::AuthorizationRemoved,
                Some(AUTHORIZATION_REMOVED_ADVICE.to_owned()),
            );
            match posts
                .transition(
                    &post.id,
                    &STOPPED_ON_REMOVAL,
                    PostState::Failed,
                    PostUpdate::failed(failure),
                    now,
                )
                .await
            {
                Ok(_) => posts_stopped += 1,
                // It started uploading (or ended) in between: its run meets the refusal.
                Err(StoreError::StateConflict { .. }) => {}
                Err(other) => return Err(other.into()),
            }
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    tracing::info!(
        open_id,
        account_marked,
        posts_stopped,
        "account disconnected at TikTok"
    );
    Ok(WebhookOutcome::AccountDisconnected {
        account_marked,
        posts_stopped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> WebhookSettings {
        WebhookSettings::new("key", SecretString::from("secret".to_owned()))
    }

    #[test]
    fn signature_header_parts_are_checked() {
        assert!(matches!(
            parse_signature("t=1"),
            Err(WebhookError::MalformedSignature("s is missing"))
        ));
        assert!(matches!(
            parse_signature("s=00"),
            Err(WebhookError::MalformedSignature("t is missing"))
        ));
        assert!(matches!(
            parse_signature("t=x,s=00"),
            Err(WebhookError::MalformedSignature("t is not a number"))
        ));
        assert!(matches!(
            parse_signature("t=1,s=zz"),
            Err(WebhookError::MalformedSignature("s is not hex"))
        ));
        assert_eq!(
            parse_signature(" t=5 , s=0a0b, v=2").unwrap(),
            Signature {
                timestamp: 5,
                mac: vec![10, 11]
            }
        );
    }

    #[test]
    fn a_known_hmac_vector_verifies() {
        // HMAC-SHA256("secret", "100.{}"), computed independently with Python's hmac module.
        let expected = "t=100,s=8e1a45bf4cb0f06fc9070524ebc7719df42e3abca9ada83da0314a32a75bbc62";
        assert_eq!(sign(&settings().client_secret, 100, b"{}"), expected);
        assert!(verify_signature(&settings(), Some(expected), b"{}", 100).is_ok());
    }

    #[test]
    fn errors_map_to_http_statuses() {
        assert_eq!(WebhookError::Unsigned.http_status(), 401);
        assert_eq!(WebhookError::BadSignature.http_status(), 401);
        assert_eq!(WebhookError::Malformed("x".into()).http_status(), 400);
        let (status, body) = answer(&Ok(WebhookOutcome::Ignored));
        assert_eq!((status, body["outcome"].as_str()), (200, Some("ignored")));
    }
}
