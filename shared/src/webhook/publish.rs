//! The post events, each recorded on the post of its `publish_id` and each idempotent (TikTok
//! delivers at least once, and retries for 72 hours with the first attempt's signature):
//!
//! - an upload's final outcome (`complete`, `failed`, `inbox_delivered`,
//!   `publicly_available`) is recorded for the status step, which makes the move;
//! - `complete` for a draft already in the inbox means its creator posted it: the post moves
//!   on to `PUBLISHED` here ([`PostEnds::draft_posted`]), since no step is waiting for it;
//! - `no_longer_publicaly_available` adds a [`Fact::NoLongerPublic`] to a published post,
//!   which stays `PUBLISHED`.
//!
//! A repeated event finds what it would write already there and changes nothing; a final
//! state never moves back (the stores refuse it: `PostState::may_move_to`).

use crate::ends::PostEnds;
use crate::store::{
    Fact, PostId, PostOutcome, PostRecord, PostState, PostStore, PostUpdate, StoreError, UnixTime,
    WebhookFinal, WebhookFinalKind,
};

use super::event::PublicityLost;
use super::{WebhookError, WebhookEvent, WebhookOutcome, WebhookSettings, find_post_by_publish_id};

/// Rounds of read-decide-write when another writer moves the post in between.
const RECORD_ATTEMPTS: usize = 3;

/// Records an upload's final event on its post; a draft in the inbox that the event says
/// was posted moves to `PUBLISHED`.
pub(super) async fn record_final(
    settings: &WebhookSettings,
    posts: &dyn PostStore,
    ends: &PostEnds,
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
    let mut draft_posted = false;
    for _ in 0..RECORD_ATTEMPTS {
        if post.publish_id.as_deref() != Some(final_event.publish_id.as_str()) {
            // Initialised again since: the event is about an upload that is gone.
            return Ok(WebhookOutcome::NoMatchingPost);
        }
        if post.state == PostState::SentToInbox && final_event.kind == WebhookFinalKind::Complete {
            let public_ids: Vec<String> = final_event.public_post_id.iter().cloned().collect();
            match ends
                .draft_posted(posts, &post, &public_ids, true, now)
                .await
            {
                Ok(published) => {
                    post = published;
                    draft_posted = true;
                }
                // Moved by another delivery or step in between: decide again on what it wrote.
                Err(StoreError::StateConflict { .. }) => {
                    post = read_again(posts, &post.id).await?;
                    continue;
                }
                Err(other) => return Err(other.into()),
            }
        }
        let improves = post
            .webhook_for_current_upload()
            .is_none_or(|recorded| recorded.is_improved_by(final_event));
        if !improves {
            let learned = fill_public_post_id(posts, &post, final_event, now).await?;
            return Ok(match (draft_posted, learned) {
                (true, _) => WebhookOutcome::DraftPosted { post_id: post.id },
                (false, true) => WebhookOutcome::Recorded { post_id: post.id },
                (false, false) => WebhookOutcome::AlreadyRecorded { post_id: post.id },
            });
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
                let post_id = recorded.id;
                return Ok(if draft_posted {
                    WebhookOutcome::DraftPosted { post_id }
                } else {
                    WebhookOutcome::Recorded { post_id }
                });
            }
            Err(StoreError::Conflict { .. }) => post = read_again(posts, &post.id).await?,
            Err(other) => return Err(other.into()),
        }
    }
    Err(kept_changing(&post.id))
}

/// Notes on a published post that TikTok took it out of public view; it stays `PUBLISHED`.
pub(super) async fn record_no_longer_public(
    settings: &WebhookSettings,
    posts: &dyn PostStore,
    ends: &PostEnds,
    event: &WebhookEvent,
    lost: &PublicityLost,
    now: UnixTime,
) -> Result<WebhookOutcome, WebhookError> {
    let Some(mut post) = find_post_by_publish_id(
        posts,
        &event.open_id,
        &lost.publish_id,
        settings.post_search_limit,
    )
    .await?
    else {
        tracing::info!(event = %event.name, "no post has this publish id: nothing recorded");
        return Ok(WebhookOutcome::NoMatchingPost);
    };
    let fact = Fact::NoLongerPublic {
        post_id: lost.public_post_id.clone(),
        event_time: lost.event_time,
    };
    for _ in 0..RECORD_ATTEMPTS {
        if post.publish_id.as_deref() != Some(lost.publish_id.as_str()) {
            return Ok(WebhookOutcome::NoMatchingPost);
        }
        if post.state != PostState::Published {
            tracing::info!(post_id = %post.id, state = %post.state, "not published: nothing to take out of public view");
            return Ok(WebhookOutcome::NotPublished { post_id: post.id });
        }
        // The same event (its time and post id) delivered again.
        if post.history.iter().any(|h| h.fact.as_ref() == Some(&fact)) {
            return Ok(WebhookOutcome::AlreadyRecorded { post_id: post.id });
        }
        match posts
            .transition(
                &post.id,
                &[PostState::Published],
                PostState::Published,
                PostUpdate::fact(fact.clone()),
                now,
            )
            .await
        {
            Ok(moved) => {
                // From PUBLISHED to PUBLISHED: nothing ends, nothing is reported.
                let recorded = ends.settle(moved).await;
                tracing::info!(post_id = %recorded.id, "the post is no longer publicly viewable");
                return Ok(WebhookOutcome::Recorded {
                    post_id: recorded.id,
                });
            }
            Err(StoreError::StateConflict { .. }) => post = read_again(posts, &post.id).await?,
            Err(other) => return Err(other.into()),
        }
    }
    Err(kept_changing(&post.id))
}

/// Adds the event's public post id to a published post that does not know it yet (TikTok
/// gives the id late for slow moderation, and a draft may become several posts). Whether
/// anything was written.
async fn fill_public_post_id(
    posts: &dyn PostStore,
    post: &PostRecord,
    final_event: &WebhookFinal,
    now: UnixTime,
) -> Result<bool, StoreError> {
    let Some(public_id) = &final_event.public_post_id else {
        return Ok(false);
    };
    let mut public_post_ids = post
        .outcome
        .as_ref()
        .map(|o| o.public_post_ids.clone())
        .unwrap_or_default();
    if post.state != PostState::Published || public_post_ids.contains(public_id) {
        return Ok(false);
    }
    public_post_ids.push(public_id.clone());
    posts
        .record_outcome(&post.id, &PostOutcome { public_post_ids }, now)
        .await?;
    Ok(true)
}

async fn read_again(posts: &dyn PostStore, id: &PostId) -> Result<PostRecord, StoreError> {
    posts.get(id).await?.ok_or_else(|| StoreError::NotFound {
        entity: "post",
        id: id.to_string(),
    })
}

fn kept_changing(id: &PostId) -> WebhookError {
    WebhookError::Store(StoreError::Conflict {
        entity: "post",
        id: id.to_string(),
        detail: format!(
            "kept changing while the webhook event was recorded ({RECORD_ATTEMPTS} tries)"
        ),
    })
}
