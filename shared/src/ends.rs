//! A post's end and what it sets off: the outcome event ([`crate::events`]), the metrics
//! ([`crate::metrics`]) and the retention tags on its video and manifest
//! ([`crate::retention`]).
//!
//! A post ends in a conditional write ([`PostStore::transition`](crate::store::PostStore),
//! or the create of a post refused at once), and only the caller whose write won is handed
//! an [`EndedPost`]. Each service that ends posts reports it here as an explicit step, so a
//! post's end is reported once however many steps, retries, webhooks and API calls race
//! for it; the `#[must_use]` types make a forgotten report fail to compile.
//!
//! Reporting is best effort: an event that cannot be sent is logged as a warning and the
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
    EndedPost, Fact, PostOutcome, PostRecord, PostState, PostStore, PostUpdate, StoreError,
    TokenStore, Transitioned, UnixTime,
};

/// What a post's end sets off, built once per cold start and shared by every service that
/// ends posts.
#[derive(Clone)]
pub struct PostEnds {
    events: Arc<dyn OutcomeEvents>,
    metrics: Metrics,
    tags: Arc<dyn RetentionTags>,
}

impl std::fmt::Debug for PostEnds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostEnds").finish_non_exhaustive()
    }
}

impl PostEnds {
    /// Sends events to `events`; emits no metric and tags nothing until
    /// [`PostEnds::with_metrics`] and [`PostEnds::with_tags`] (the deployed wiring sets both).
    pub fn new(events: Arc<dyn OutcomeEvents>) -> Self {
        PostEnds {
            events,
            metrics: Metrics::none(),
            tags: Arc::new(NoRetentionTags),
        }
    }

    /// Reports nothing anywhere (tests of a store or a step that do not look at reports).
    pub fn silent() -> Self {
        PostEnds::new(Arc::new(SilentEvents))
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

    /// The record a state change wrote, after reporting the end when that write ended the
    /// post.
    pub async fn settle(&self, moved: Transitioned) -> PostRecord {
        match moved.into_parts() {
            (post, None) => post,
            (_, Some(ended)) => self.report(ended).await,
        }
    }

    /// Everything a post's end sets off, once: the metrics, then the event and the tags
    /// (independent calls to two services: neither waits for the other).
    pub async fn report(&self, ended: EndedPost) -> PostRecord {
        let post = ended.post();
        self.metrics.post_ended(post);
        futures::join!(
            post_ended(self.events.as_ref(), post),
            tag_ended_post(self.tags.as_ref(), post),
        );
        ended.reported()
    }

    /// Moves a draft from the creator's inbox to `PUBLISHED` (the creator posted it in the
    /// TikTok app; `via_webhook`: TikTok's webhook said so), recording `public_post_ids`
    /// beside any already known, and sends `PostPublished` for it. The move is one
    /// conditional write from `SENT_TO_INBOX` only, so of any number of deliveries and
    /// steps racing, the one whose write won reports it, once; the others get
    /// [`StoreError::StateConflict`]. The post's end was reported when it reached the inbox
    /// (its metrics and retention tags already count it published): only the event is
    /// sent again, now with state `PUBLISHED`.
    pub async fn draft_posted(
        &self,
        posts: &dyn PostStore,
        post: &PostRecord,
        public_post_ids: &[String],
        via_webhook: bool,
        now: UnixTime,
    ) -> Result<PostRecord, StoreError> {
        let mut known = post
            .outcome
            .as_ref()
            .map(|o| o.public_post_ids.clone())
            .unwrap_or_default();
        for id in public_post_ids {
            if !known.contains(id) {
                known.push(id.clone());
            }
        }
        let update = PostUpdate {
            fact: Some(Fact::DraftPosted { via_webhook }),
            outcome: Some(PostOutcome {
                public_post_ids: known,
            }),
            ..PostUpdate::default()
        };
        let moved = posts
            .transition(
                &post.id,
                &[PostState::SentToInbox],
                PostState::Published,
                update,
                now,
            )
            .await?;
        // From a final state: the write ended nothing, so there is no end to report.
        let published = self.settle(moved).await;
        post_ended(self.events.as_ref(), &published).await;
        tracing::info!(post_id = %published.id, "the creator posted the draft: published");
        Ok(published)
    }

    /// TikTok accepted a chunk: `chunks_done` chunks, `bytes_done` bytes of the upload are
    /// in. A retried step repeating its last record counts it again (EMF counts at least
    /// once anyway).
    pub fn chunk_accepted(&self, chunks_done: u64, bytes_done: u64) {
        self.metrics
            .bytes_uploaded(chunk_bytes(chunks_done, bytes_done));
    }

    /// Where outcome events go (the account events share the bus).
    pub fn events(&self) -> &Arc<dyn OutcomeEvents> {
        &self.events
    }
}

/// [`OutcomeEvents`] that sends nothing and says nothing.
#[derive(Debug, Default, Clone, Copy)]
struct SilentEvents;

#[async_trait]
impl OutcomeEvents for SilentEvents {
    async fn publish(&self, _events: &[OutcomeEvent]) -> Result<(), EventError> {
        Ok(())
    }
}

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
async fn post_ended(events: &dyn OutcomeEvents, post: &PostRecord) {
    // Whether `POST /posts/{id}/retry` may help: only meaningful (and only kept) on PostFailed.
    let retryable = tiktok_publish_domain::retry::retry_verdict(post).is_ok();
    if let Some(event) = OutcomeEvent::post_ended(post, Some(retryable)) {
        send_best_effort(events, event).await;
    }
}

/// Tags the objects of a post that has just ended; a failure or a full tag set is logged
/// with the post's id, and the post's end stands.
async fn tag_ended_post(tags: &dyn RetentionTags, post: &PostRecord) {
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

/// Sends `AccountNeedsReconnect` for an account a write of ours has just marked (a refused
/// refresh, a lapsed refresh token, TikTok's `authorization.removed`): the caller whose
/// mark won calls it, once. Best effort, like a post's end.
pub async fn account_marked(
    tokens: &dyn TokenStore,
    events: &dyn OutcomeEvents,
    open_id: &str,
    now: UnixTime,
) {
    // The event carries the account's name and the reason just stored: read them back.
    let account = match tokens.get(open_id).await {
        Ok(Some(account)) => account.summary(),
        Ok(None) => return,
        Err(err) => {
            tracing::warn!(open_id, error = %err, "could not read the account marked for reconnection; no event sent");
            return;
        }
    };
    // A marked account always warrants the warning, whatever its refresh token's age.
    if let Some(event) = OutcomeEvent::account_needs_reconnect(&account, 0, now) {
        send_best_effort(events, event).await;
    }
}
