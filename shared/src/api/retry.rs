//! `POST /posts/{id}/retry`: a failed post starts again, through the same record and the
//! same steps, when the failure is one a new attempt can get past.
//!
//! [`retry_verdict`] (the domain's, a `match` on the recorded cause) decides from the
//! recorded failure alone; it also fills the `retryable` flag of `PostFailed` events.
//!
//! The post goes back to `QUEUED` (its history kept, its failure cleared; the history entry
//! says which attempt and after what) and a new execution starts, named
//! `{post_id}-retry{n}`: Step Functions keeps an execution's name for 90 days, so the
//! post's own name cannot start again. A repeated request for a post already queued by a
//! retry starts that same attempt again (harmless: same name, same input), which also
//! covers a crash between the write and the start.

use super::{ApiAnswer, ApiError, PostsApi, answer_of, view_json};
use crate::store::{Fact, PostId, PostState, PostUpdate, StoreError, unix_now};
pub use tiktok_publish_domain::retry::{
    MAX_RETRIES, NotRetryable, queued_by_retry, retries_so_far, retry_verdict,
};

/// The name of the execution of retry number `attempt` (1 for the first retry).
pub fn attempt_execution_name(post_id: &PostId, attempt: usize) -> Result<String, ApiError> {
    let name = format!("{post_id}-retry{attempt}");
    if name.len() > PostId::MAX_LEN {
        return Err(ApiError::internal(format!(
            "post id {post_id} is too long to name a retry's execution"
        )));
    }
    Ok(name)
}

impl PostsApi {
    /// `POST /posts/{id}/retry`: 202 with the post queued again (200 when it was queued by
    /// a retry already), 409 saying why not, 404 for an unknown post, 503 to try again.
    #[tracing::instrument(skip(self))]
    pub async fn retry_post(&self, id: &str) -> ApiAnswer {
        answer_of(self.retry(id).await.map_err(|err| err.or_field("id")))
    }

    async fn retry(&self, id: &str) -> Result<ApiAnswer, ApiError> {
        let post = self.find_post(id).await?;
        let retries = retries_so_far(&post);
        if queued_by_retry(&post) {
            let name = attempt_execution_name(&post.id, retries)?;
            self.intake.executions.start_named(&post.id, &name).await?;
            return Ok(ApiAnswer::json(200, view_json(&post)?));
        }
        if let Err(refusal) = retry_verdict(&post) {
            return Err(ApiError::conflict(refusal.code, refusal.message).with_state(post.state));
        }
        let Some(options) = &post.options else {
            return Err(ApiError::conflict(
                "post_not_retryable",
                format!(
                    "post {} has no options; upload the video again with its options manifest",
                    post.id
                ),
            )
            .with_state(post.state));
        };
        // Retrying for an account that cannot post would only fail again.
        let now = unix_now();
        self.check_account_can_post(&post.open_id, options.mode, now)
            .await
            .map_err(|err| err.with_state(post.state))?;

        let attempt = retries + 1;
        let name = attempt_execution_name(&post.id, attempt)?;
        let update = PostUpdate {
            fact: Some(Fact::Retried {
                attempt: u32::try_from(attempt).unwrap_or(u32::MAX),
                after: post.failure.as_ref().map(|f| f.kind),
            }),
            clear_failure: true,
            ..PostUpdate::default()
        };
        let queued = match self
            .posts()
            .transition(&post.id, &[post.state], PostState::Queued, update, now)
            .await
        {
            Ok(moved) => self.intake.ends.settle(moved).await,
            // Another retry (or anything else) moved it first.
            Err(StoreError::StateConflict { found, .. }) => {
                return Err(ApiError::conflict(
                    "post_not_retryable",
                    format!("post {} moved to {found} meanwhile; read it again", post.id),
                )
                .with_state(found));
            }
            Err(err) => return Err(err.into()),
        };
        // On failure the post stays QUEUED by this retry: the caller's next retry starts
        // this same attempt (see above).
        self.intake.executions.start_named(&post.id, &name).await?;
        tracing::info!(post_id = %post.id, attempt, execution = %name, "post retried");
        Ok(ApiAnswer::json(202, view_json(&queued)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempt_names_are_valid_execution_names() {
        let id = PostId::parse(&"a".repeat(64)).unwrap();
        let name = attempt_execution_name(&id, 3).unwrap();
        assert_eq!(name, format!("{}-retry3", "a".repeat(64)));
        assert!(PostId::parse(&name).is_ok());
        let long = PostId::parse(&"a".repeat(80)).unwrap();
        assert!(attempt_execution_name(&long, 1).is_err());
    }
}
