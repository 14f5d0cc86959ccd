//! What every step shares: loading and moving the post, failing it with a cause, spending
//! the account's TikTok budget, a fresh access token, the exact video object.

use std::future::Future;
use std::time::Duration;

use secrecy::SecretString;

use super::failure::retry_advice;
use crate::errors::ErrorKind;
use crate::media::VideoObject;
use crate::pipeline::{InitOutput, Pipeline, StepError};
use crate::store::{
    Cause, Fact, PostFailure, PostId, PostRecord, PostState, PostUpdate, Spend, TikTokCall,
    UnixTime, unix_now, unix_now_ms,
};
use crate::tiktok::TikTokError;
use crate::tokens::{TokenCallError, TokenError};

/// Whole seconds for a Wait state, rounded up (a wait cut short only waits again).
pub(super) fn secs(duration: Duration) -> u64 {
    duration.as_millis().div_ceil(1000).max(1) as u64
}

pub(super) fn as_unix(duration: Duration) -> UnixTime {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

pub(super) fn wait(post_id: &PostId, for_: Duration) -> InitOutput {
    InitOutput {
        post_id: post_id.to_string(),
        ready: false,
        wait_seconds: secs(for_),
        pulled: false,
    }
}

impl Pipeline {
    pub(super) async fn load(&self, post_id: &str) -> Result<PostRecord, StepError> {
        let id = PostId::parse(post_id).map_err(|_| {
            StepError::new(ErrorKind::Internal, format!("{post_id:?} is not a post id"))
        })?;
        self.posts
            .get(&id)
            .await
            .map_err(StepError::from_error)?
            .ok_or_else(|| StepError::new(ErrorKind::Internal, format!("post {id} does not exist")))
    }

    /// Records a final failure on the post and returns it as the step's error.
    pub(super) async fn fail(
        &self,
        post: &PostRecord,
        cause: Cause,
        advice: Option<String>,
    ) -> StepError {
        let kind = cause.kind();
        let to = if post.publish_id.is_none() && kind == ErrorKind::PostRefused {
            PostState::Refused
        } else {
            PostState::Failed
        };
        let from: Vec<PostState> = PostState::ALL
            .iter()
            .copied()
            .filter(|s| !s.is_final())
            .collect();
        let error = StepError::caused(cause.clone());
        let failure = PostFailure::new(cause, advice);
        match self
            .posts
            .transition(&post.id, &from, to, PostUpdate::failed(failure), unix_now())
            .await
        {
            Ok(moved) => {
                self.ends.settle(moved).await;
            }
            // The state machine's record_failure task will try again.
            Err(err) => tracing::warn!(error = %err, "could not record the failure on the post"),
        }
        error
    }

    /// Fails the post when `error` is final; passes retryable errors through untouched.
    pub(super) async fn settle(
        &self,
        post: &PostRecord,
        error: impl Into<StepError>,
        advice: Option<String>,
    ) -> StepError {
        let error: StepError = error.into();
        let kind = error.kind;
        let is_final = match kind.remedy() {
            crate::errors::Remedy::GiveUp => kind != ErrorKind::PostConflict,
            crate::errors::Remedy::Reconnect => true,
            _ => false,
        };
        if is_final {
            // Without advice of its own, the post still says what to do (e.g. reconnect).
            let advice = advice.or_else(|| retry_advice(kind));
            return self.fail(post, *error.cause, advice).await;
        }
        error
    }

    /// Spends one call of the account's TikTok budget, or says how long to wait.
    pub(super) async fn spend(
        &self,
        open_id: &str,
        call: TikTokCall,
    ) -> Result<Option<Duration>, StepError> {
        match self
            .allowances
            .try_spend(open_id, call, unix_now_ms())
            .await
            .map_err(StepError::from_error)?
        {
            Spend::Granted => Ok(None),
            Spend::WaitFor(duration) => Ok(Some(duration)),
        }
    }

    /// Runs a TikTok call with a fresh token; when TikTok refuses a token we thought was
    /// good (revoked, or expired early), refreshes it once and tries again.
    pub(super) async fn with_token<T, F, Fut>(&self, open_id: &str, call: F) -> Result<T, StepError>
    where
        F: Fn(SecretString) -> Fut,
        Fut: Future<Output = Result<T, TikTokError>>,
    {
        self.tokens
            .call_with_token(open_id, call)
            .await
            .map_err(|e| match e {
                // Nothing can reach TikTok for an account we hold no tokens for: the post is
                // refused (bad input), not failed, and says how to fix it.
                TokenCallError::Token(TokenError::NotConnected { open_id }) => {
                    StepError::caused(Cause::NotConnected { open_id })
                }
                TokenCallError::Token(other) => StepError::from_error(other),
                TokenCallError::TikTok(other) => StepError::from_error(other),
                TokenCallError::RefusedAfterRefresh => StepError::caused(Cause::FreshTokenRefused),
            })
    }

    /// The video as it is now, which must be the one the post was made for.
    pub(super) async fn pinned_object(&self, post: &PostRecord) -> Result<VideoObject, StepError> {
        let object = match self.source.head(&post.source.location).await {
            Ok(object) => object,
            Err(err) => return Err(self.settle(post, err, None).await),
        };
        if let Some(etag) = &post.source.etag
            && etag != &object.etag
        {
            let cause = Cause::VideoChanged {
                bucket: object.location.bucket.clone(),
                key: object.location.key.clone(),
                recorded_etag: etag.clone(),
                found_etag: object.etag.clone(),
            };
            return Err(self.fail(post, cause, None).await);
        }
        Ok(object)
    }

    pub(super) async fn move_post(
        &self,
        post: &PostRecord,
        from: &[PostState],
        to: PostState,
        fact: Fact,
    ) -> Result<PostRecord, StepError> {
        let moved = self
            .posts
            .transition(&post.id, from, to, PostUpdate::fact(fact), unix_now())
            .await
            .map_err(StepError::from_error)?;
        Ok(self.ends.settle(moved).await)
    }
}
