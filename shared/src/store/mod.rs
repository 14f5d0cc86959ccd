//! Ports (traits) for what the core keeps between calls. Their DynamoDB adapters are in the
//! adapters crate (`tiktok_publish_adapters::dynamo`); their in-memory stand-ins, for tests,
//! in the dev-only `tiktok-publish-memory`.
//!
//! - [`TokenStore`]: one item per connected TikTok account: tokens, expiries, the refresh lease.
//! - [`OAuthStateStore`]: single-use, expiring one-time tokens (OAuth `state`, connect links).
//! - [`PostStore`]: the record of one post, moved between states only by conditional writes.
//! - [`AllowanceStore`]: per-account budgets of TikTok calls over a sliding window.
//!
//! Every write that decides something (who refreshes, who moves a post, who consumes a state)
//! is a conditional write, so two Lambdas racing can never both win.

use std::fmt;

use async_trait::async_trait;
use secrecy::SecretString;

use crate::errors::{Classify, ErrorKind};
use crate::tiktok::{ChunkPlan, TokenGrant, UploadUrl};

pub mod account;
pub use tiktok_publish_domain::allowance;
pub mod codec;
pub mod ended;
pub use tiktok_publish_domain::one_time;
pub use tiktok_publish_domain::post;

pub use account::{AccountSummary, AccountTokens, LeaseOutcome, RefreshSaved};
pub use allowance::{
    AllowanceLimits, Spend, TikTokCall, UnixMillis, WindowOutcome, spend_in_window, unix_now_ms,
};
pub use codec::{OpenedCache, PlainCodec, SealedSecret, SecretCodec};
pub use ended::{EndedPost, Transitioned};
pub use one_time::{ConsumeOutcome, OneTimeKind, OneTimeRecord, OneTimeToken};
pub use post::{
    CreateOutcome, HistoryEntry, PhotoSet, PlanFields, PostCursor, PostFailure, PostId,
    PostIdError, PostOptions, PostOutcome, PostPage, PostRecord, PostSource, PostState, PostUpdate,
    StoredUploadUrl, UploadSession, WebhookFinal, WebhookFinalKind,
};

pub use tiktok_publish_domain::cause::Cause;
pub use tiktok_publish_domain::fact::Fact;
pub use tiktok_publish_domain::time::{UnixTime, unix_now};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a store call failed, saying what the caller must do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Throttling, a 5xx, a time-out or a broken connection: retry with backoff.
    #[error("the store is unavailable during {operation}: {detail}")]
    Unavailable {
        operation: &'static str,
        detail: String,
        #[source]
        source: Option<BoxError>,
    },

    /// The request itself was refused (missing table, validation, access denied): a bug or
    /// a misconfiguration that no retry fixes.
    #[error("the store refused {operation}: {detail}")]
    Refused {
        operation: &'static str,
        detail: String,
        #[source]
        source: Option<BoxError>,
    },

    /// A post is not in a state this step may move it from: another run owns it.
    #[error(
        "post {id} is {found}, not {}: another run has moved it",
        StateList(expected)
    )]
    StateConflict {
        id: String,
        expected: Vec<PostState>,
        found: PostState,
    },

    /// Another writer won a conditional write the caller depends on: it must stop.
    #[error("{entity} {id} was changed by someone else: {detail}")]
    Conflict {
        entity: &'static str,
        id: String,
        detail: String,
    },

    /// The item this write expects is not there.
    #[error("{entity} {id} does not exist")]
    NotFound { entity: &'static str, id: String },

    /// An item that cannot be read back (missing or malformed attribute).
    #[error("{entity} {id} is unreadable: {detail}")]
    Corrupt {
        entity: &'static str,
        id: String,
        detail: String,
    },
}

struct StateList<'a>(&'a [PostState]);

impl fmt::Display for StateList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, state) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" or ")?;
            }
            write!(f, "{state}")?;
        }
        Ok(())
    }
}

impl Classify for StoreError {
    fn kind(&self) -> ErrorKind {
        match self {
            StoreError::Unavailable { .. } => ErrorKind::AwsUnavailable,
            StoreError::StateConflict { .. } | StoreError::Conflict { .. } => {
                ErrorKind::PostConflict
            }
            StoreError::Refused { .. }
            | StoreError::NotFound { .. }
            | StoreError::Corrupt { .. } => ErrorKind::Internal,
        }
    }
}

/// Connected TikTok accounts and their tokens (the accounts table).
///
/// The refresh token rotates: whoever refreshes must first take the account's lease
/// ([`TokenStore::try_take_refresh_lease`]) so TikTok sees one refresh per rotation.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// The account, read strongly consistent (lease holders poll it).
    async fn get(&self, open_id: &str) -> Result<Option<AccountTokens>, StoreError>;

    /// Saves tokens from a code exchange: creates the account or updates it, clears
    /// `needs_reconnect` and any lease, bumps `version`. An empty refresh token in the grant
    /// never replaces a stored one.
    async fn save_connection(
        &self,
        grant: &TokenGrant,
        nickname: Option<&str>,
        now: UnixTime,
    ) -> Result<AccountTokens, StoreError>;

    /// Takes the refresh lease when the account is still at `expected_version`, is not
    /// marked for reconnection, and nobody holds a live lease.
    async fn try_take_refresh_lease(
        &self,
        open_id: &str,
        expected_version: u64,
        owner: &str,
        until: UnixTime,
        now: UnixTime,
    ) -> Result<LeaseOutcome, StoreError>;

    /// Saves a refresh's tokens when `owner` still holds the lease; bumps `version` and
    /// clears the lease.
    async fn save_refreshed(
        &self,
        open_id: &str,
        owner: &str,
        grant: &TokenGrant,
        now: UnixTime,
    ) -> Result<RefreshSaved, StoreError>;

    /// Gives the lease back when `owner` holds it (nothing happens otherwise).
    async fn release_lease(&self, open_id: &str, owner: &str) -> Result<(), StoreError>;

    /// Marks the account as needing its owner to connect it again, and drops any lease.
    /// With `expected_version`, only when no newer tokens were saved in between (a refresh
    /// refused with old tokens must not flag a connection made a moment ago). Returns
    /// whether the account was marked.
    async fn mark_needs_reconnect(
        &self,
        open_id: &str,
        reason: &str,
        expected_version: Option<u64>,
        now: UnixTime,
    ) -> Result<bool, StoreError>;

    /// Every account, without its tokens.
    async fn list(&self) -> Result<Vec<AccountSummary>, StoreError>;

    /// Forgets the account. Returns whether it existed.
    async fn delete(&self, open_id: &str) -> Result<bool, StoreError>;
}

/// Which accounts were warned on which day, so the reconnect check warns each account at
/// most once a day however often it runs (a retried or manual invocation, a second schedule).
#[async_trait]
pub trait ReconnectWarnings: Send + Sync {
    /// Claims the warning of `day` (days since the Unix epoch) for the account: `true` when
    /// none was claimed for that day or later, `false` otherwise or when the account is gone.
    async fn claim_warning(&self, open_id: &str, day: i64) -> Result<bool, StoreError>;

    /// Gives back a claim of `day` whose warning could not be sent, so the next run sends it.
    async fn release_warning(&self, open_id: &str, day: i64) -> Result<(), StoreError>;
}

/// Single-use, expiring one-time tokens: OAuth `state` values and connect links (the oauth
/// table). Only a hash of each token is stored.
#[async_trait]
pub trait OAuthStateStore: Send + Sync {
    /// Stores a new one-time token (refused with a conflict if it somehow exists).
    async fn put(&self, token: &OneTimeToken, record: &OneTimeRecord) -> Result<(), StoreError>;

    /// Generates a fresh token, stores it with `record`, and returns it (for the URL).
    async fn issue(&self, record: &OneTimeRecord) -> Result<OneTimeToken, StoreError> {
        let token = OneTimeToken::generate();
        self.put(&token, record).await?;
        Ok(token)
    }

    /// Uses the token: succeeds once, for the right kind, before it expires.
    async fn consume(
        &self,
        kind: OneTimeKind,
        token: &str,
        now: UnixTime,
    ) -> Result<ConsumeOutcome, StoreError>;
}

/// Post records (the posts table). Every state change is conditional on the state expected.
#[async_trait]
pub trait PostStore: Send + Sync {
    /// Writes a new record unless one with its id exists (then returns that one).
    async fn create(&self, record: &PostRecord) -> Result<CreateOutcome, StoreError>;

    /// The record, read strongly consistent.
    async fn get(&self, id: &PostId) -> Result<Option<PostRecord>, StoreError>;

    /// Moves the post from one of `from` to `to`, applying `update` in the same write and
    /// appending to its history. Fails with [`StoreError::StateConflict`] when the post is in
    /// another state, [`StoreError::NotFound`] when it does not exist. The answer says
    /// whether the write ended the post ([`Transitioned::new`]); the caller settles it
    /// with [`crate::ends::PostEnds::settle`].
    async fn transition(
        &self,
        id: &PostId,
        from: &[PostState],
        to: PostState,
        update: PostUpdate,
        now: UnixTime,
    ) -> Result<Transitioned, StoreError>;

    /// Opens the upload URL of post `id` as this store sealed it (see [`StoredUploadUrl`]).
    async fn open_upload_url(
        &self,
        id: &PostId,
        stored: &StoredUploadUrl,
    ) -> Result<UploadUrl, StoreError>;

    /// Saves what an init answered (publish id, upload URL, its issue time, the plan) and
    /// resets chunk progress: a new init is a new upload. Only while the post is not final.
    async fn record_init(
        &self,
        id: &PostId,
        publish_id: &str,
        upload_url: &UploadUrl,
        issued_at: UnixTime,
        plan: &ChunkPlan,
        now: UnixTime,
    ) -> Result<PostRecord, StoreError>;

    /// Saves a pull's publish id (TikTok downloads the video from the front door) and drops
    /// any earlier upload session: there is nothing to upload. Only while the post is not
    /// final.
    async fn record_pull(
        &self,
        id: &PostId,
        publish_id: &str,
        now: UnixTime,
    ) -> Result<PostRecord, StoreError>;

    /// Records that `chunks_done` chunks (`bytes_done` bytes) of the upload `publish_id`
    /// arrived. Progress only moves forward; repeating the last record is accepted.
    async fn record_chunk_done(
        &self,
        id: &PostId,
        publish_id: &str,
        chunks_done: u64,
        bytes_done: u64,
        now: UnixTime,
    ) -> Result<(), StoreError>;

    /// Records how much of the pull `publish_id` TikTok has downloaded (its status's
    /// `downloaded_bytes`), while the post is `PROCESSING` at that publish; otherwise
    /// [`StoreError::Conflict`] (the progress of a pull that is over says nothing).
    async fn record_download(
        &self,
        id: &PostId,
        publish_id: &str,
        downloaded_bytes: u64,
        now: UnixTime,
    ) -> Result<(), StoreError>;

    /// Records TikTok's outcome (public post ids may arrive after the post is final).
    async fn record_outcome(
        &self,
        id: &PostId,
        outcome: &PostOutcome,
        now: UnixTime,
    ) -> Result<(), StoreError>;

    /// Records a failure reason without changing state (for a state change, pass it in a
    /// [`PostUpdate`] to [`PostStore::transition`]).
    async fn record_failure(
        &self,
        id: &PostId,
        failure: &PostFailure,
        now: UnixTime,
    ) -> Result<(), StoreError>;

    /// Records a final webhook event on the post, with a history entry of `fact` (the state does not
    /// change: the status step makes the move). Written only while the post is still in
    /// `seen_state`, at the upload `event.publish_id`, holding `seen_event` (`None`: no
    /// event recorded yet), so two deliveries racing record once; otherwise
    /// [`StoreError::Conflict`] (read the post again and decide again).
    async fn record_webhook_event(
        &self,
        id: &PostId,
        seen_state: PostState,
        seen_event: Option<&WebhookFinal>,
        event: &WebhookFinal,
        fact: &Fact,
        now: UnixTime,
    ) -> Result<PostRecord, StoreError>;

    /// The account's posts, newest first, `limit` at a time.
    async fn list_by_account(
        &self,
        open_id: &str,
        limit: u32,
        after: Option<&PostCursor>,
    ) -> Result<PostPage, StoreError>;
}

/// Per-account budgets of TikTok calls (the allowances table), counted over a sliding
/// window so that concurrent Lambdas never make more calls than TikTok allows per token.
#[async_trait]
pub trait AllowanceStore: Send + Sync {
    /// Counts one `call` for the account at `now_ms` when its budget has room
    /// ([`Spend::Granted`]: make the call), or says how long until it has
    /// ([`Spend::WaitFor`]: nothing was counted). Of any number of racers, at most the
    /// limit are granted per window.
    async fn try_spend(
        &self,
        open_id: &str,
        call: TikTokCall,
        now_ms: UnixMillis,
    ) -> Result<Spend, StoreError>;
}

/// Secrets compare equal when their exposed values do (used to tell whether the stored
/// token is the one TikTok just refused).
pub(crate) fn same_secret(a: &SecretString, b: &SecretString) -> bool {
    use secrecy::ExposeSecret;
    a.expose_secret() == b.expose_secret()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_map_to_the_right_kinds() {
        let unavailable = StoreError::Unavailable {
            operation: "GetItem",
            detail: "throttled".into(),
            source: None,
        };
        assert_eq!(unavailable.kind(), ErrorKind::AwsUnavailable);
        let conflict = StoreError::StateConflict {
            id: "p".into(),
            expected: vec![PostState::Queued, PostState::Uploading],
            found: PostState::Published,
        };
        assert_eq!(conflict.kind(), ErrorKind::PostConflict);
        assert_eq!(
            conflict.to_string(),
            "post p is PUBLISHED, not QUEUED or UPLOADING: another run has moved it"
        );
        let corrupt = StoreError::Corrupt {
            entity: "post",
            id: "p".into(),
            detail: "no state".into(),
        };
        assert_eq!(corrupt.kind(), ErrorKind::Internal);
        let refused = StoreError::Refused {
            operation: "PutItem",
            detail: "no table".into(),
            source: None,
        };
        assert_eq!(refused.kind(), ErrorKind::Internal);
    }
}
