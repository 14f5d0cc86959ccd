//! TikTok's webhook: signed events about uploads and authorisations, verified and recorded.
//!
//! TikTok POSTs JSON events to the app's callback URL with a `TikTok-Signature: t=..,s=..`
//! header: `s` is the hex HMAC-SHA256, keyed with the client secret, of `{t}.{raw body}`.
//! [`receive`] checks that signature in constant time (hmac's `verify_slice`), refuses a `t`
//! older than [`WebhookSettings::max_age`] (72 hours and 10 minutes: TikTok retries a
//! failed delivery for up to 72 hours and does not say that a retry is signed afresh, so a
//! late retry may carry the first attempt's `t`) or ahead of now by more than
//! [`WebhookSettings::max_skew`], parses the event, and acts on it. Every action is
//! idempotent, so a replay of a verified event (a retry, or someone resending a captured
//! one within the window) changes nothing, and a final state never moves back:
//!
//! - `post.publish.complete`, `.failed`, `.inbox_delivered`, `.publicly_available`: the
//!   outcome is recorded on the post of that `publish_id`
//!   ([`WebhookFinal`](crate::store::WebhookFinal)), once, so the status step can use it
//!   instead of spending a status fetch.
//! - `post.publish.complete` (or `.publicly_available`) for a draft already `SENT_TO_INBOX`:
//!   its creator posted it in the TikTok app; the post moves on to `PUBLISHED`, with the
//!   public post id when given, and `PostPublished` is sent then, once.
//! - `post.publish.no_longer_publicaly_available` (TikTok's spelling; the correct spelling
//!   is accepted too): a published post gets a
//!   [`Fact::NoLongerPublic`](crate::store::Fact::NoLongerPublic) in its history and stays
//!   `PUBLISHED`.
//! - `authorization.removed`: the account is marked as needing reconnection, and its posts
//!   that have not started uploading are stopped (`FAILED`, `AccountNeedsReconnect`).
//! - anything else (events TikTok adds later) is acknowledged and ignored: refusing it
//!   would only make TikTok deliver it again.
//!
//! Finding the post: there is no index by `publish_id`. The event names the account
//! (`user_openid`), and a post that TikTok reports on was initialised recently, so the
//! account's newest posts (the `by_account` index, newest first) are searched, at most
//! [`WebhookSettings::post_search_limit`] of them. A post beyond that is simply not found:
//! the event is acknowledged, nothing is recorded, and the status step fetches the status as
//! it always did. An index would cost a table change and a write on every init for a lookup
//! that only saves status fetches.
//!
//! - `settings` and `error`: [`WebhookSettings`], [`WebhookError`] and its HTTP statuses.
//! - `signature`: the `TikTok-Signature` header, checked in constant time.
//! - `event`: a verified body parsed into a [`WebhookEvent`].
//! - `delivery`: [`receive`], `authorization.removed`, and the answer TikTok gets.
//! - `publish`: what each post event does to its post.

mod delivery;
mod error;
mod event;
mod publish;
mod settings;
mod signature;

pub use delivery::{
    WebhookOutcome, answer, find_post_by_publish_id, receive, response, unavailable_response,
};
pub use error::WebhookError;
pub use event::{
    EventKind, NO_LONGER_PUBLIC_EVENT, NO_LONGER_PUBLIC_EVENT_CORRECTED, PublicityLost,
    WebhookEvent, parse_event,
};
pub use settings::WebhookSettings;
pub use signature::{sign, verify_signature};

use tiktok_publish_domain::cause::AUTHORIZATION_REMOVED_TEXT;

use crate::store::PostState;

/// The route TikTok is told to call (the stack's `WebhookUrl` output).
pub const WEBHOOK_PATH: &str = "/webhooks/tiktok";
/// The signature header, lower-cased as HTTP APIs hand headers over.
pub const SIGNATURE_HEADER: &str = "tiktok-signature";
/// Default bound on the signature's age (`WEBHOOK_MAX_AGE_SECS`): 72 hours and 10 minutes.
/// TikTok retries a failed delivery for up to 72 hours (its Webhooks overview) and does not
/// say that a retry is signed afresh: a retry may carry the first attempt's `t`, and the 10
/// minutes cover the last backoff step and the clocks.
pub const DEFAULT_MAX_AGE_SECS: u64 = 72 * 3600 + 10 * 60;
/// Default bound on how far ahead of now the signature's `t` may be
/// (`WEBHOOK_MAX_SKEW_SECS`): clock drift only.
pub const DEFAULT_MAX_SKEW_SECS: u64 = 300;
/// Default number of the account's newest posts searched for a `publish_id`
/// (`WEBHOOK_POST_SEARCH_LIMIT`).
pub const DEFAULT_POST_SEARCH_LIMIT: u32 = 200;

/// Why the creator's posts were stopped on `authorization.removed` (the text of
/// [`Cause::AuthorizationRemoved`](crate::store::Cause::AuthorizationRemoved)), also the
/// account's reconnect reason.
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
