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

use crate::config::{ConfigError, number_or};
use crate::errors::{Classify, ErrorKind};
use crate::events::{EventBridgeEvents, EventError, OutcomeEvent, OutcomeEvents};
use crate::store::{ReconnectWarnings, StoreError, TokenStore, UnixTime};
use crate::wiring::Parts;

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
    #[error("cannot send the warnings: {0}")]
    Events(#[from] EventError),
    #[error("the reconnect check is misconfigured: {0}")]
    Config(#[from] ConfigError),
}

impl Classify for ReconnectCheckError {
    fn kind(&self) -> ErrorKind {
        match self {
            ReconnectCheckError::Accounts(e) => e.kind(),
            ReconnectCheckError::Events(e) => e.kind(),
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
    /// The deployed wiring: the accounts table, EventBridge (`EVENT_BUS_NAME`), the window
    /// `RECONNECT_WARN_DAYS`.
    pub fn from_parts(parts: &Parts) -> Result<ReconnectCheck, ConfigError> {
        Ok(ReconnectCheck {
            accounts: parts.accounts.clone(),
            warnings: parts.accounts.clone(),
            events: Arc::new(EventBridgeEvents::from_env(&parts.sdk)?),
            warn_days: number_or("RECONNECT_WARN_DAYS", DEFAULT_WARN_DAYS)?,
        })
    }

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
        let mut claimed = Vec::new();
        let mut warned_earlier_today = Vec::new();
        for warning in due {
            if self.warnings.claim_warning(warning.subject(), day).await? {
                claimed.push(warning);
            } else {
                warned_earlier_today.push(warning.subject().to_owned());
            }
        }
        if let Err(err) = self.events.publish(&claimed).await {
            for warning in &claimed {
                if let Err(release) = self.warnings.release_warning(warning.subject(), day).await {
                    tracing::warn!(open_id = warning.subject(), error = %release, "cannot give back a warning claim: that account is warned again tomorrow");
                }
            }
            return Err(err.into());
        }
        let warned: Vec<String> = claimed.iter().map(|w| w.subject().to_owned()).collect();
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
