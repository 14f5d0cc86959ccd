//! Why a service's TikTok side could not be set up (a setting, the client secret, the client).

use crate::config::{ConfigError, SecretUnavailable};
use crate::errors::{Classify, ErrorKind};
use crate::tiktok::TikTokError;

/// Why the parts could not be built.
#[derive(Debug, thiserror::Error)]
pub enum WiringError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Secret(#[from] SecretUnavailable),
    #[error(transparent)]
    TikTok(#[from] TikTokError),
}

impl Classify for WiringError {
    fn kind(&self) -> ErrorKind {
        match self {
            // Secrets Manager may be throttled or briefly unreachable.
            WiringError::Secret(e) if e.retryable => ErrorKind::AwsUnavailable,
            WiringError::Secret(_) | WiringError::Config(_) | WiringError::TikTok(_) => {
                ErrorKind::Internal
            }
        }
    }
}
