//! The orphan sweep (the `orphan-sweep` Lambda, every 15 minutes): nothing dropped may stay
//! unaccounted for when an event is lost.
//!
//! - **Orphan videos**: a video under the upload prefix, older than
//!   `SWEEP_ORPHAN_AFTER_MINUTES` (and younger than `SWEEP_LOOKBACK_HOURS`), whose post
//!   record does not exist (the id derives from account, bucket, key and version, as the
//!   intake's does) lost its S3 event (dead-lettered, dropped). It is handed to the S3
//!   trigger's own code ([`handle_object_created`]), so it goes through
//!   [`crate::intake::Intake::claim`] like any upload: its manifest is read, the post is
//!   queued, refused (a bad manifest) or left waiting for options, and the outcome is
//!   recorded in the report.
//! - **Stuck posts**: a post in a non-final state past its deadline (`STUCK_AFTER_MINUTES`
//!   after its last change or its `publish_at`) lost its execution (a crash, a time-out
//!   before `record_failure`, a start that never happened). It is failed with a reason by a
//!   conditional transition (a post that moves meanwhile is left alone). Such posts can be
//!   retried.
//!
//! A post the sweep ends (a stuck post failed here, an orphan refused by its manifest) is
//! reported through its intake's [`crate::ends::PostEnds`] by the writer whose write won,
//! so `PostFailed` goes out once however many writers race.
//!
//! Each run does bounded work (`SWEEP_MAX_OBJECTS` videos checked, `SWEEP_MAX_POSTS` posts
//! read) and reports what it left for the next run. One item's trouble is recorded and the
//! sweep goes on. An operator may run it at once with shorter thresholds for that run
//! ([`SweepOverrides`], read from the invocation's payload).

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::config::ConfigError;
use crate::errors::{Classify, ErrorKind};
use crate::intake::Intake;
use crate::media::{SourceError, VideoLocation};
use crate::store::{
    Cause, PostFailure, PostId, PostRecord, PostState, PostUpdate, StoreError, TokenStore, UnixTime,
};
use crate::trigger::{TriggerOutcome, handle_object_created};
use tiktok_publish_domain::upload::{DEFAULT_UPLOAD_PREFIX, UploadKey, parse_upload_key};

/// The reason of a post failed as stuck starts with this (for people: a retry knows the
/// post by its cause, [`Cause::Stuck`]).
pub use tiktok_publish_domain::cause::STUCK_PREFIX as STUCK_REASON_PREFIX;

mod listing;
pub use listing::{ListedObject, ListedPage, UploadListing};

/// The sweep's settings.
#[derive(Debug, Clone)]
pub struct SweepSettings {
    /// `VIDEO_BUCKET`.
    pub bucket: String,
    /// `UPLOAD_PREFIX` (default `uploads/`).
    pub prefix: String,
    /// A video this old without a post lost its event (`SWEEP_ORPHAN_AFTER_MINUTES`, 30).
    pub orphan_after_secs: i64,
    /// Videos older than this are not looked at (`SWEEP_LOOKBACK_HOURS`, 72): published
    /// videos stay under the prefix until retention removes them.
    pub lookback_secs: i64,
    /// A non-final post unchanged this long is stuck (`STUCK_AFTER_MINUTES`, 360: longer
    /// than the pipeline's own processing deadline of 2 hours).
    pub stuck_after_secs: i64,
    /// Videos checked per run (`SWEEP_MAX_OBJECTS`, 200).
    pub max_objects: usize,
    /// Posts read per run (`SWEEP_MAX_POSTS`, 1000).
    pub max_posts: usize,
}

impl SweepSettings {
    pub fn new(bucket: impl Into<String>) -> SweepSettings {
        SweepSettings {
            bucket: bucket.into(),
            prefix: DEFAULT_UPLOAD_PREFIX.to_owned(),
            orphan_after_secs: 30 * 60,
            lookback_secs: 72 * 3600,
            stuck_after_secs: 360 * 60,
            max_objects: 200,
            max_posts: 1000,
        }
    }
}

/// An orphan video and what the intake made of it.
#[derive(Debug, Clone, Serialize)]
pub struct OrphanFound {
    pub key: String,
    pub outcome: TriggerOutcome,
}

/// A stuck post the sweep failed.
#[derive(Debug, Clone, Serialize)]
pub struct StuckFailed {
    pub post_id: String,
    pub was: PostState,
    pub reason: String,
}

/// What one run did, and what it left for the next.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SweepReport {
    pub objects_listed: usize,
    pub videos_checked: usize,
    pub orphans: Vec<OrphanFound>,
    pub posts_checked: usize,
    pub stuck: Vec<StuckFailed>,
    /// Items that could not be handled this run (tried again next run).
    pub errors: Vec<String>,
    /// The bounds stopped the run before it saw everything.
    pub truncated: bool,
}

/// The `errorType` of a run refused for its payload (bad overrides): nothing was swept.
pub const INVALID_SWEEP_REQUEST: &str = "InvalidSweepRequest";

/// Why the sweep could not run at all (one item's failure is only reported).
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("cannot list the uploads: {0}")]
    Listing(#[from] SourceError),
    #[error("cannot list the accounts: {0}")]
    Accounts(#[from] StoreError),
    #[error("the sweep is misconfigured: {0}")]
    Config(#[from] ConfigError),
    /// The invocation's payload asked for something the sweep will not do; nothing ran.
    #[error(
        "the sweep's payload is refused, nothing was swept: {0} (send {{}} for the configured \
         thresholds, or {{\"orphan_after_minutes\": N, \"stuck_after_minutes\": M}})"
    )]
    InvalidRequest(String),
}

impl Classify for SweepError {
    fn kind(&self) -> ErrorKind {
        match self {
            SweepError::Listing(e) => e.kind(),
            SweepError::Accounts(e) => e.kind(),
            SweepError::Config(_) => ErrorKind::Internal,
            SweepError::InvalidRequest(_) => ErrorKind::PostRefused,
        }
    }
}

impl From<SweepError> for lambda_runtime::Diagnostic {
    fn from(error: SweepError) -> Self {
        let error_type = match &error {
            SweepError::InvalidRequest(_) => INVALID_SWEEP_REQUEST,
            other => other.kind().name(),
        };
        lambda_runtime::Diagnostic {
            error_type: error_type.to_owned(),
            error_message: error.to_string(),
        }
    }
}

/// The least `stuck_after_minutes` a run may ask for: a healthy post waits in PROCESSING
/// without a change for up to the pipeline's processing deadline (2 hours by default), and
/// a shorter threshold would fail it while TikTok still works on it (the template's
/// `StuckAfterMinutes` has the same floor).
pub const MIN_STUCK_AFTER_MINUTES: u64 = 150;
/// The most either override may ask for (a year): beyond that nothing is ever swept.
pub const MAX_OVERRIDE_MINUTES: u64 = 365 * 24 * 60;

/// Thresholds one run uses instead of the configured ones, read from the invocation's
/// payload: `{"orphan_after_minutes": 0}` sweeps every orphan at once (an operator who saw
/// the dead-letter alarm), `{"stuck_after_minutes": N}` likewise for stuck posts. The
/// schedule's events carry neither field: they run with the settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepOverrides {
    pub orphan_after_minutes: Option<u64>,
    pub stuck_after_minutes: Option<u64>,
}

impl SweepOverrides {
    /// The overrides in an invocation's payload: absent (or `null`) fields keep the
    /// settings; anything else must be a whole number of minutes in range.
    pub fn from_payload(payload: &Value) -> Result<SweepOverrides, SweepError> {
        let fields = match payload {
            Value::Null => return Ok(SweepOverrides::default()),
            Value::Object(fields) => fields,
            other => {
                return Err(SweepError::InvalidRequest(format!(
                    "the payload must be a JSON object, got {}",
                    json_type(other)
                )));
            }
        };
        let minutes = |name: &str, min: u64| -> Result<Option<u64>, SweepError> {
            let value = match fields.get(name) {
                None | Some(Value::Null) => return Ok(None),
                Some(value) => value,
            };
            match value.as_u64() {
                Some(n) if (min..=MAX_OVERRIDE_MINUTES).contains(&n) => Ok(Some(n)),
                _ => Err(SweepError::InvalidRequest(format!(
                    "{name} must be a whole number of minutes from {min} to \
                     {MAX_OVERRIDE_MINUTES}, got {value}"
                ))),
            }
        };
        Ok(SweepOverrides {
            orphan_after_minutes: minutes("orphan_after_minutes", 0)?,
            stuck_after_minutes: minutes("stuck_after_minutes", MIN_STUCK_AFTER_MINUTES)?,
        })
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl SweepSettings {
    /// These settings with a run's overrides applied. An orphan threshold must stay below
    /// the lookback, or the run would look at no video at all.
    pub fn overridden(&self, overrides: SweepOverrides) -> Result<SweepSettings, SweepError> {
        let mut settings = self.clone();
        if let Some(minutes) = overrides.orphan_after_minutes {
            // In range by `from_payload`: at most a year of seconds fits an i64.
            let secs = i64::try_from(minutes * 60).unwrap_or(i64::MAX);
            if secs >= settings.lookback_secs {
                return Err(SweepError::InvalidRequest(format!(
                    "orphan_after_minutes {minutes} must be below the lookback of {} minutes \
                     (SWEEP_LOOKBACK_HOURS): older videos are not looked at",
                    settings.lookback_secs / 60
                )));
            }
            settings.orphan_after_secs = secs;
        }
        if let Some(minutes) = overrides.stuck_after_minutes {
            settings.stuck_after_secs = i64::try_from(minutes * 60).unwrap_or(i64::MAX);
        }
        Ok(settings)
    }
}

/// The sweep's ports and settings.
#[derive(Clone)]
pub struct Sweep {
    pub intake: Intake,
    pub accounts: Arc<dyn TokenStore>,
    pub listing: Arc<dyn UploadListing>,
    pub settings: SweepSettings,
}

impl Sweep {
    /// This sweep with a run's overrides applied to its settings (see [`SweepOverrides`]).
    pub fn overridden(&self, overrides: SweepOverrides) -> Result<Sweep, SweepError> {
        if overrides != SweepOverrides::default() {
            tracing::info!(?overrides, "thresholds overridden for this run");
        }
        Ok(Sweep {
            settings: self.settings.overridden(overrides)?,
            ..self.clone()
        })
    }

    /// One run at `now`: orphan videos first, then stuck posts.
    #[tracing::instrument(skip(self))]
    pub async fn run(&self, now: UnixTime) -> Result<SweepReport, SweepError> {
        let mut report = SweepReport::default();
        self.sweep_orphans(now, &mut report).await?;
        self.sweep_stuck(now, &mut report).await?;
        tracing::info!(
            orphans = report.orphans.len(),
            stuck = report.stuck.len(),
            errors = report.errors.len(),
            truncated = report.truncated,
            "sweep done"
        );
        Ok(report)
    }

    async fn sweep_orphans(
        &self,
        now: UnixTime,
        report: &mut SweepReport,
    ) -> Result<(), SweepError> {
        let settings = &self.settings;
        let newest = now - settings.orphan_after_secs;
        let oldest = now - settings.lookback_secs;
        let mut continuation = None;
        loop {
            let page = self
                .listing
                .list(&settings.bucket, &settings.prefix, continuation)
                .await?;
            report.objects_listed += page.objects.len();
            for object in page.objects {
                if object.last_modified > newest || object.last_modified < oldest {
                    continue;
                }
                // Manifests are read by their video's claim; other keys the trigger ignores.
                let Some(UploadKey::Video { open_id, key }) =
                    parse_upload_key(&settings.prefix, &object.key)
                else {
                    continue;
                };
                if report.videos_checked >= settings.max_objects {
                    report.truncated = true;
                    return Ok(());
                }
                report.videos_checked += 1;
                match self.claim_if_orphan(&open_id, &key).await {
                    Ok(Some(found)) => {
                        tracing::warn!(key = %found.key, outcome = ?found.outcome, "orphan video found: its event was lost");
                        report.orphans.push(found);
                    }
                    Ok(None) => {}
                    Err(err) => report.errors.push(format!("{key}: {err}")),
                }
            }
            match page.next {
                Some(next) => continuation = Some(next),
                None => return Ok(()),
            }
        }
    }

    /// `None` when the video has its post (or is gone); otherwise what the intake made of it.
    async fn claim_if_orphan(
        &self,
        open_id: &str,
        key: &str,
    ) -> Result<Option<OrphanFound>, crate::intake::IntakeError> {
        let location = VideoLocation {
            bucket: self.settings.bucket.clone(),
            key: key.to_owned(),
            version_id: None,
        };
        let object = match self.intake.source.head(&location).await {
            Ok(object) => object,
            // Deleted since the listing.
            Err(SourceError::NotFound { .. }) => return Ok(None),
            Err(err) => return Err(err.into()),
        };
        let id = PostId::derive(open_id, &object.location);
        if self.intake.posts.get(&id).await?.is_some() {
            return Ok(None);
        }
        let outcome = handle_object_created(
            &self.intake,
            &self.settings.prefix,
            &self.settings.bucket,
            key,
            object.location.version_id.as_deref(),
        )
        .await?;
        Ok(Some(OrphanFound {
            key: key.to_owned(),
            outcome,
        }))
    }

    async fn sweep_stuck(&self, now: UnixTime, report: &mut SweepReport) -> Result<(), SweepError> {
        let accounts = self.accounts.list().await?;
        for account in accounts {
            let mut after = None;
            loop {
                if report.posts_checked >= self.settings.max_posts {
                    report.truncated = true;
                    return Ok(());
                }
                let page = match self
                    .intake
                    .posts
                    .list_by_account(&account.open_id, 100, after.as_ref())
                    .await
                {
                    Ok(page) => page,
                    Err(err) => {
                        report
                            .errors
                            .push(format!("posts of {}: {err}", account.open_id));
                        break;
                    }
                };
                report.posts_checked += page.posts.len();
                for post in &page.posts {
                    if let Some(deadline) = self.stuck_deadline(post)
                        && now > deadline
                    {
                        self.fail_stuck(post, now, report).await;
                    }
                }
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
        }
        Ok(())
    }

    /// When a non-final post counts as stuck; `None` for a final one.
    pub fn stuck_deadline(&self, post: &PostRecord) -> Option<UnixTime> {
        if post.state.is_final() {
            return None;
        }
        // A post waiting for its publish time is not stuck before it.
        let publish_at = post
            .options
            .as_ref()
            .and_then(|o| o.publish_at)
            .unwrap_or(0);
        Some(post.updated_at.max(publish_at) + self.settings.stuck_after_secs)
    }

    async fn fail_stuck(&self, post: &PostRecord, now: UnixTime, report: &mut SweepReport) {
        let since = post.updated_at;
        let cause = Cause::Stuck {
            state: post.state,
            minutes: (now - since) / 60,
        };
        let advice = format!(
            "Retry it (POST /posts/{}/retry, or `tiktok-publish retry {}`)",
            post.id, post.id
        );
        let failure = PostFailure::new(cause, Some(advice));
        let reason = failure.reason.clone();
        // PostFailed (retryable) goes out when this write wins.
        match self
            .intake
            .posts
            .transition(
                &post.id,
                &[post.state],
                PostState::Failed,
                PostUpdate::failed(failure),
                now,
            )
            .await
        {
            Ok(moved) => {
                self.intake.ends.settle(moved).await;
            }
            // It moved meanwhile: not stuck after all.
            Err(StoreError::StateConflict { .. }) => return,
            Err(err) => {
                report.errors.push(format!("post {}: {err}", post.id));
                return;
            }
        }
        tracing::warn!(post_id = %post.id, was = %post.state, "stuck post failed");
        report.stuck.push(StuckFailed {
            post_id: post.id.to_string(),
            was: post.state,
            reason,
        });
    }
}

#[cfg(test)]
mod tests;
