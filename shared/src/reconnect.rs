//! Reconnect warnings (the `reconnect-check` Lambda, once a day): so that no post fails on a
//! dead account by surprise, every account whose refresh token lapses within
//! `RECONNECT_WARN_DAYS` (default 14; TikTok's last 365 days), has lapsed, is missing, or was
//! refused (marked `needs_reconnect`) gets an `AccountNeedsReconnect` event.
//!
//! Each run warns again for every such account: with the daily schedule that is one warning
//! per account per day. A re-run of the same day (a retried invocation) warns again; the
//! store keeps no "last warned" time yet.

use std::sync::Arc;

use serde::Serialize;

use crate::config::{ConfigError, number_or};
use crate::errors::{Classify, ErrorKind};
use crate::events::{EventBridgeEvents, EventError, OutcomeEvent, OutcomeEvents};
use crate::store::{StoreError, TokenStore, UnixTime};
use crate::wiring::Parts;

/// The default warning window, in days.
pub const DEFAULT_WARN_DAYS: u64 = 14;

/// What one check found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReconnectReport {
    pub accounts_checked: usize,
    /// The open_ids warned about.
    pub warned: Vec<String>,
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
            events: Arc::new(EventBridgeEvents::from_env(&parts.sdk)?),
            warn_days: number_or("RECONNECT_WARN_DAYS", DEFAULT_WARN_DAYS)?,
        })
    }

    /// Warns about every account that needs its owner, as of `now`.
    #[tracing::instrument(skip(self))]
    pub async fn run(&self, now: UnixTime) -> Result<ReconnectReport, ReconnectCheckError> {
        let accounts = self.accounts.list().await?;
        let window = i64::try_from(self.warn_days.saturating_mul(86_400)).unwrap_or(i64::MAX);
        let warnings: Vec<OutcomeEvent> = accounts
            .iter()
            .filter_map(|account| OutcomeEvent::account_needs_reconnect(account, window, now))
            .collect();
        self.events.publish(&warnings).await?;
        let warned: Vec<String> = warnings.iter().map(|w| w.subject().to_owned()).collect();
        tracing::info!(
            accounts = accounts.len(),
            warned = warned.len(),
            "reconnect check done"
        );
        Ok(ReconnectReport {
            accounts_checked: accounts.len(),
            warned,
        })
    }
}
