//! Every post's end, and every account marked for reconnection, goes out as an outcome
//! event ([`crate::events`]); a post's end also emits its metrics ([`crate::metrics`]) and
//! tags its video and manifest for retention ([`crate::retention`]).
//!
//! The events are sent by decorators of the stores rather than by each caller: a post
//! ends in a conditional write ([`PostStore::transition`], or [`PostStore::create`] of a
//! post refused at once), and only the caller whose write won gets `Ok` back. Sending right
//! after that `Ok` makes one event per end however many steps, retries, webhooks and API
//! calls race for the post, and no path that ends a post (pipeline step, `record_failure`,
//! intake refusal, cancel, disconnect, webhook) can forget to send it.
//!
//! Sending is best effort: an event that cannot be sent is logged as a warning and the
//! write it follows stands (the post record stays the truth; the event is a notification).
//! The same holds for the retention tags (an untagged video is kept, not lost) and the
//! metric lines (printed to stdout, they cannot fail).

use std::sync::Arc;

use async_trait::async_trait;

use crate::events::{EventError, OutcomeEvent, OutcomeEvents};
use crate::metrics::{Metrics, chunk_bytes};
use crate::retention::{
    NoRetentionTags, ObjectTagged, RetentionOutcome, RetentionTags, TaggedObjects,
};
use crate::store::{
    AccountTokens, CreateOutcome, Fact, LeaseOutcome, PostCursor, PostFailure, PostId, PostOutcome,
    PostPage, PostRecord, PostState, PostStore, PostUpdate, RefreshSaved, StoreError,
    StoredUploadUrl, TokenStore, UnixTime, WebhookFinal,
};
use crate::tiktok::{ChunkPlan, TokenGrant, UploadUrl};

/// [`OutcomeEvents`] that sends nothing: the wiring when `EVENT_BUS_NAME` is unset. It
/// warns for each event it drops, not at cold start: functions that never end a post
/// (the OAuth ones) are not given a bus and must not warn about it.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoOutcomeEvents;

#[async_trait]
impl OutcomeEvents for NoOutcomeEvents {
    async fn publish(&self, events: &[OutcomeEvent]) -> Result<(), EventError> {
        for event in events {
            tracing::warn!(
                detail_type = event.detail_type().as_str(),
                subject = event.subject(),
                "EVENT_BUS_NAME is not set: the outcome event is not sent; set it to the bus \
                 (the template's OutcomeEventBus)"
            );
        }
        Ok(())
    }
}

/// Sends `event`; a failure is only logged (the write it reports has happened).
pub async fn send_best_effort(events: &dyn OutcomeEvents, event: OutcomeEvent) {
    let detail_type = event.detail_type().as_str();
    let subject = event.subject().to_owned();
    if let Err(err) = events.publish(std::slice::from_ref(&event)).await {
        tracing::warn!(
            detail_type,
            subject = %subject,
            error = %err,
            "could not send the outcome event; the post record still holds the outcome"
        );
    }
}

/// Sends the event of a post that has just ended; nothing for a post that is not final.
pub async fn post_ended(events: &dyn OutcomeEvents, post: &PostRecord) {
    // Whether `POST /posts/{id}/retry` may help: only meaningful (and only kept) on PostFailed.
    let retryable = tiktok_publish_domain::retry::retry_verdict(post).is_ok();
    if let Some(event) = OutcomeEvent::post_ended(post, Some(retryable)) {
        send_best_effort(events, event).await;
    }
}

/// Tags the objects of a post that has just ended; a failure or a full tag set is logged
/// with the post's id, and the post's end stands.
pub async fn tag_ended_post(tags: &dyn RetentionTags, post: &PostRecord) {
    let Some(outcome) = RetentionOutcome::of(post.state) else {
        return;
    };
    let TaggedObjects { video, manifest } = tags.tag_ended(&post.source.location, outcome).await;
    for (object, result) in [("video", video), ("manifest", manifest)] {
        match result {
            Ok(
                ObjectTagged::Tagged
                | ObjectTagged::AlreadyTagged
                | ObjectTagged::Gone
                | ObjectTagged::OutsidePrefix,
            ) => {}
            Ok(ObjectTagged::TagSetFull) => tracing::warn!(
                post_id = %post.id,
                object,
                outcome = outcome.tag_value(),
                "the object already has 10 tags: no outcome tag was added, so no retention \
                 rule applies and it is kept; remove a tag and tag it by hand to let it expire"
            ),
            Err(err) => tracing::warn!(
                post_id = %post.id,
                object,
                outcome = outcome.tag_value(),
                error = %err,
                "could not tag the ended post's object for retention; the post's outcome stands"
            ),
        }
    }
}

/// A [`PostStore`] that reports every post its writes end: the outcome event, the metrics
/// and the retention tags. Every function that ends posts writes through one.
#[derive(Clone)]
pub struct OutcomePostStore {
    inner: Arc<dyn PostStore>,
    events: Arc<dyn OutcomeEvents>,
    metrics: Metrics,
    tags: Arc<dyn RetentionTags>,
}

impl OutcomePostStore {
    /// Sends events to `events`; emits no metric and tags nothing until
    /// [`OutcomePostStore::with_metrics`] and [`OutcomePostStore::with_tags`] (the deployed
    /// wiring, `tiktok_publish_wiring::outcome_posts`, sets both).
    pub fn new(inner: Arc<dyn PostStore>, events: Arc<dyn OutcomeEvents>) -> Self {
        OutcomePostStore {
            inner,
            events,
            metrics: Metrics::none(),
            tags: Arc::new(NoRetentionTags),
        }
    }

    /// Where the metric lines go.
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// What tags an ended post's video and manifest.
    pub fn with_tags(mut self, tags: Arc<dyn RetentionTags>) -> Self {
        self.tags = tags;
        self
    }

    /// Everything a post's end sets off, once, after the write that ended it won.
    async fn post_ended(&self, post: &PostRecord) {
        self.metrics.post_ended(post);
        // Independent calls to two services: neither waits for the other.
        futures::join!(
            post_ended(self.events.as_ref(), post),
            tag_ended_post(self.tags.as_ref(), post),
        );
    }
}

/// Whether a transition that succeeded from one of `from` to `to` ended the post. A move
/// between final states (a published post that only gains its TikTok id) ends nothing new.
fn ends_the_post(from: &[PostState], to: PostState) -> bool {
    to.is_final() && from.iter().all(|state| !state.is_final())
}

#[async_trait]
impl PostStore for OutcomePostStore {
    async fn create(&self, record: &PostRecord) -> Result<CreateOutcome, StoreError> {
        let outcome = self.inner.create(record).await?;
        // A post created final was refused at intake (invalid options). An existing post
        // was reported by whoever created or ended it.
        if matches!(outcome, CreateOutcome::Created) && record.state.is_final() {
            self.post_ended(record).await;
        }
        Ok(outcome)
    }

    async fn get(&self, id: &PostId) -> Result<Option<PostRecord>, StoreError> {
        self.inner.get(id).await
    }

    async fn transition(
        &self,
        id: &PostId,
        from: &[PostState],
        to: PostState,
        update: PostUpdate,
        now: UnixTime,
    ) -> Result<PostRecord, StoreError> {
        let post = self.inner.transition(id, from, to, update, now).await?;
        if ends_the_post(from, to) {
            self.post_ended(&post).await;
        }
        Ok(post)
    }

    async fn open_upload_url(
        &self,
        id: &PostId,
        stored: &StoredUploadUrl,
    ) -> Result<UploadUrl, StoreError> {
        self.inner.open_upload_url(id, stored).await
    }

    async fn record_init(
        &self,
        id: &PostId,
        publish_id: &str,
        upload_url: &UploadUrl,
        issued_at: UnixTime,
        plan: &ChunkPlan,
        now: UnixTime,
    ) -> Result<PostRecord, StoreError> {
        self.inner
            .record_init(id, publish_id, upload_url, issued_at, plan, now)
            .await
    }

    async fn record_chunk_done(
        &self,
        id: &PostId,
        publish_id: &str,
        chunks_done: u64,
        bytes_done: u64,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        self.inner
            .record_chunk_done(id, publish_id, chunks_done, bytes_done, now)
            .await?;
        // TikTok accepted the chunk (its progress is recorded after TikTok's answer). A
        // retried step repeating its last record is counted again: EMF counts at least
        // once anyway, and the store cannot tell a repeat from a write here.
        self.metrics
            .bytes_uploaded(chunk_bytes(chunks_done, bytes_done));
        Ok(())
    }

    async fn record_outcome(
        &self,
        id: &PostId,
        outcome: &PostOutcome,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        self.inner.record_outcome(id, outcome, now).await
    }

    async fn record_failure(
        &self,
        id: &PostId,
        failure: &PostFailure,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        self.inner.record_failure(id, failure, now).await
    }

    async fn record_webhook_event(
        &self,
        id: &PostId,
        seen_state: PostState,
        seen_event: Option<&WebhookFinal>,
        event: &WebhookFinal,
        fact: &Fact,
        now: UnixTime,
    ) -> Result<PostRecord, StoreError> {
        self.inner
            .record_webhook_event(id, seen_state, seen_event, event, fact, now)
            .await
    }

    async fn list_by_account(
        &self,
        open_id: &str,
        limit: u32,
        after: Option<&PostCursor>,
    ) -> Result<PostPage, StoreError> {
        self.inner.list_by_account(open_id, limit, after).await
    }
}

/// A [`TokenStore`] that sends `AccountNeedsReconnect` when it marks an account (a refused
/// refresh, a lapsed refresh token, TikTok's `authorization.removed`).
#[derive(Clone)]
pub struct EventingTokenStore {
    inner: Arc<dyn TokenStore>,
    events: Arc<dyn OutcomeEvents>,
}

impl EventingTokenStore {
    pub fn new(inner: Arc<dyn TokenStore>, events: Arc<dyn OutcomeEvents>) -> Self {
        EventingTokenStore { inner, events }
    }

    async fn account_marked(&self, open_id: &str, now: UnixTime) {
        // The event carries the account's name and the reason just stored: read them back.
        let account = match self.inner.get(open_id).await {
            Ok(Some(account)) => account.summary(),
            Ok(None) => return,
            Err(err) => {
                tracing::warn!(open_id, error = %err, "could not read the account marked for reconnection; no event sent");
                return;
            }
        };
        // A marked account always warrants the warning, whatever its refresh token's age.
        if let Some(event) = OutcomeEvent::account_needs_reconnect(&account, 0, now) {
            send_best_effort(self.events.as_ref(), event).await;
        }
    }
}

#[async_trait]
impl TokenStore for EventingTokenStore {
    async fn get(&self, open_id: &str) -> Result<Option<AccountTokens>, StoreError> {
        self.inner.get(open_id).await
    }

    async fn save_connection(
        &self,
        grant: &TokenGrant,
        nickname: Option<&str>,
        now: UnixTime,
    ) -> Result<AccountTokens, StoreError> {
        self.inner.save_connection(grant, nickname, now).await
    }

    async fn try_take_refresh_lease(
        &self,
        open_id: &str,
        expected_version: u64,
        owner: &str,
        until: UnixTime,
        now: UnixTime,
    ) -> Result<LeaseOutcome, StoreError> {
        self.inner
            .try_take_refresh_lease(open_id, expected_version, owner, until, now)
            .await
    }

    async fn save_refreshed(
        &self,
        open_id: &str,
        owner: &str,
        grant: &TokenGrant,
        now: UnixTime,
    ) -> Result<RefreshSaved, StoreError> {
        self.inner.save_refreshed(open_id, owner, grant, now).await
    }

    async fn release_lease(&self, open_id: &str, owner: &str) -> Result<(), StoreError> {
        self.inner.release_lease(open_id, owner).await
    }

    async fn mark_needs_reconnect(
        &self,
        open_id: &str,
        reason: &str,
        expected_version: Option<u64>,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let marked = self
            .inner
            .mark_needs_reconnect(open_id, reason, expected_version, now)
            .await?;
        if marked {
            self.account_marked(open_id, now).await;
        }
        Ok(marked)
    }

    async fn list(&self) -> Result<Vec<crate::store::AccountSummary>, StoreError> {
        self.inner.list().await
    }

    async fn delete(&self, open_id: &str) -> Result<bool, StoreError> {
        self.inner.delete(open_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_moves_from_a_live_state_to_a_final_one_end_a_post() {
        use PostState::*;
        assert!(ends_the_post(&[Processing], Published));
        assert!(ends_the_post(&[Received, AwaitingOptions], Refused));
        assert!(!ends_the_post(&[Published], Published));
        assert!(!ends_the_post(&[Failed, Refused], Queued));
        assert!(!ends_the_post(&[Queued], Uploading));
    }
}
