//! Reconnect warnings (the `reconnect-check` Lambda, once a day): so that no post fails on a
//! dead account by surprise, every account whose refresh token lapses within
//! `RECONNECT_WARN_DAYS` (default 14; TikTok's last 365 days), has lapsed, is missing, or was
//! refused (marked `needs_reconnect`) gets an `AccountNeedsReconnect` event.
//!
//! An account is warned at most once per UTC day, however often the check runs (a retried
//! invocation, a manual one): the accounts table remembers the day of its last warning
//! ([`ReconnectWarnings`]). A day's claim is given back when the warnings cannot be sent, so
//! the next run sends them.

use std::sync::Arc;

use serde::Serialize;

use crate::config::ConfigError;
use crate::errors::{Classify, ErrorKind};
use crate::events::{OutcomeEvent, OutcomeEvents};
use crate::store::{ReconnectWarnings, StoreError, TokenStore, UnixTime};

/// The default warning window, in days.
pub const DEFAULT_WARN_DAYS: u64 = 14;

/// What one check found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReconnectReport {
    pub accounts_checked: usize,
    /// The open_ids warned about.
    pub warned: Vec<String>,
    /// Accounts that need their owner but were warned today already.
    pub warned_earlier_today: Vec<String>,
}

/// Why the check could not finish.
#[derive(Debug, thiserror::Error)]
pub enum ReconnectCheckError {
    #[error("cannot list the accounts: {0}")]
    Accounts(#[from] StoreError),
    #[error(
        "{} reconnect warning(s) could not be sent ({sent} sent); they go out at the next run: {}",
        unsent.len(),
        unsent.join("; ")
    )]
    Unsent { sent: usize, unsent: Vec<String> },
    #[error("the reconnect check is misconfigured: {0}")]
    Config(#[from] ConfigError),
}

impl Classify for ReconnectCheckError {
    fn kind(&self) -> ErrorKind {
        match self {
            ReconnectCheckError::Accounts(e) => e.kind(),
            // The accounts table or the event bus was unavailable.
            ReconnectCheckError::Unsent { .. } => ErrorKind::AwsUnavailable,
            ReconnectCheckError::Config(_) => ErrorKind::Internal,
        }
    }
}

impl From<ReconnectCheckError> for lambda_runtime::Diagnostic {
    fn from(error: ReconnectCheckError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: error.kind().name().to_owned(),
            error_message: error.to_string(),
        }
    }
}

/// The check's ports and its window.
#[derive(Clone)]
pub struct ReconnectCheck {
    pub accounts: Arc<dyn TokenStore>,
    /// Which accounts were warned today.
    pub warnings: Arc<dyn ReconnectWarnings>,
    pub events: Arc<dyn OutcomeEvents>,
    /// Warn this many days before the refresh token lapses.
    pub warn_days: u64,
}

impl ReconnectCheck {
    /// Warns about every account that needs its owner, as of `now`.
    #[tracing::instrument(skip(self))]
    pub async fn run(&self, now: UnixTime) -> Result<ReconnectReport, ReconnectCheckError> {
        let accounts = self.accounts.list().await?;
        let window = i64::try_from(self.warn_days.saturating_mul(86_400)).unwrap_or(i64::MAX);
        let due: Vec<OutcomeEvent> = accounts
            .iter()
            .filter_map(|account| OutcomeEvent::account_needs_reconnect(account, window, now))
            .collect();
        let day = now.div_euclid(86_400);
        let mut warned = Vec::new();
        let mut warned_earlier_today = Vec::new();
        let mut unsent = Vec::new();
        // One account at a time: a failure leaves the others' warnings sent and their claims
        // standing, and gives back only its own claim.
        for warning in due {
            let open_id = warning.subject().to_owned();
            match self.warnings.claim_warning(&open_id, day).await {
                Ok(true) => {}
                Ok(false) => {
                    warned_earlier_today.push(open_id);
                    continue;
                }
                Err(err) => {
                    unsent.push(format!("{open_id}: {err}"));
                    continue;
                }
            }
            if let Err(err) = self.events.publish(std::slice::from_ref(&warning)).await {
                if let Err(release) = self.warnings.release_warning(&open_id, day).await {
                    tracing::warn!(open_id, error = %release, "cannot give back a warning claim: that account is warned again tomorrow");
                }
                unsent.push(format!("{open_id}: {err}"));
                continue;
            }
            warned.push(open_id);
        }
        if !unsent.is_empty() {
            tracing::error!(warned = ?warned, unsent = ?unsent, "some reconnect warnings could not be sent");
            return Err(ReconnectCheckError::Unsent {
                sent: warned.len(),
                unsent,
            });
        }
        tracing::info!(
            accounts = accounts.len(),
            warned = warned.len(),
            warned_earlier_today = warned_earlier_today.len(),
            "reconnect check done"
        );
        Ok(ReconnectReport {
            accounts_checked: accounts.len(),
            warned,
            warned_earlier_today,
        })
    }
}
