//! One delivery: verified, parsed, acted on (an upload's outcome recorded on its post, or an
//! account's removal), and answered.

use crate::ends::PostEnds;
use crate::store::{
    Cause, PostCursor, PostFailure, PostId, PostRecord, PostState, PostStore, PostUpdate,
    StoreError, TokenStore, UnixTime,
};

use super::publish::{record_final, record_no_longer_public};
use super::{
    AUTHORIZATION_REMOVED_ADVICE, AUTHORIZATION_REMOVED_REASON, EventKind, STOPPED_ON_REMOVAL,
    WebhookError, WebhookSettings, parse_event, verify_signature,
};

const PAGE_SIZE: u32 = 50;

/// What was done with a valid event. Every one is answered 200.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// The outcome is now on the post.
    Recorded { post_id: PostId },
    /// The post had it already (a repeated delivery): nothing changed.
    AlreadyRecorded { post_id: PostId },
    /// The draft in the creator's inbox was posted: the post is now `PUBLISHED`, and
    /// `PostPublished` was sent.
    DraftPosted { post_id: PostId },
    /// `post.publish.no_longer_publicaly_available` for a post that is not `PUBLISHED`
    /// (here): nothing to take out of public view, nothing recorded.
    NotPublished { post_id: PostId },
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
            WebhookOutcome::DraftPosted { .. } => "draft_posted",
            WebhookOutcome::NotPublished { .. } => "not_published",
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

/// The HTTP answer for a result of [`receive`], free of any HTTP framework: [`answer`]'s
/// status and JSON body. A refusal is logged (its message names no secret).
pub fn response(result: &Result<WebhookOutcome, WebhookError>) -> http::Response<String> {
    if let Err(error) = result {
        tracing::warn!(error = %error, status = error.http_status(), "webhook event not recorded");
    }
    let (status, body) = answer(result);
    json_response(status, &body)
}

/// The HTTP answer when events cannot be verified now (the client secret is unreadable):
/// 503, so that TikTok delivers the event again.
pub fn unavailable_response() -> http::Response<String> {
    let body = serde_json::json!({
        "error": "the webhook cannot verify events now; TikTok will deliver it again"
    });
    json_response(503, &body)
}

fn json_response(status: u16, body: &serde_json::Value) -> http::Response<String> {
    let mut response = http::Response::new(body.to_string());
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

/// Verifies, parses and acts on one delivery. Refused events record nothing.
#[tracing::instrument(skip_all)]
pub async fn receive(
    settings: &WebhookSettings,
    posts: &dyn PostStore,
    ends: &PostEnds,
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
            record_final(settings, posts, ends, &event, final_event, now).await?
        }
        EventKind::NoLongerPublic(lost) => {
            record_no_longer_public(settings, posts, ends, &event, lost, now).await?
        }
        EventKind::AuthorizationRemoved => {
            authorization_removed(posts, ends, tokens, &event.open_id, now).await?
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

async fn authorization_removed(
    posts: &dyn PostStore,
    ends: &PostEnds,
    tokens: &dyn TokenStore,
    open_id: &str,
    now: UnixTime,
) -> Result<WebhookOutcome, WebhookError> {
    let account_marked = tokens
        .mark_needs_reconnect(open_id, AUTHORIZATION_REMOVED_REASON, None, now)
        .await?;
    if account_marked {
        crate::ends::account_marked(tokens, ends.events().as_ref(), open_id, now).await;
    }
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
                Ok(moved) => {
                    ends.settle(moved).await;
                    posts_stopped += 1;
                }
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

    #[test]
    fn errors_map_to_http_statuses() {
        assert_eq!(WebhookError::Unsigned.http_status(), 401);
        assert_eq!(WebhookError::BadSignature.http_status(), 401);
        assert_eq!(WebhookError::Malformed("x".into()).http_status(), 400);
        let (status, body) = answer(&Ok(WebhookOutcome::Ignored));
        assert_eq!((status, body["outcome"].as_str()), (200, Some("ignored")));
    }
}
