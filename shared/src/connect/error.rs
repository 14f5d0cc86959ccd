//! Why the flow could not run at all (as opposed to a refusal, which is an outcome).

use crate::errors::{Classify, ErrorKind};
use crate::setup::WiringError;
use crate::store::StoreError;

/// Why the flow could not run at all (as opposed to a refusal, which is an outcome).
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The oauth table failed: retry later (with a new link, if this one was used up).
    #[error("the OAuth table failed: {0}")]
    Store(#[from] StoreError),
    /// The TikTok client could not be built (client secret unreadable, bad configuration).
    #[error("cannot set up the TikTok client: {0}")]
    Wiring(#[from] WiringError),
}

impl Classify for ConnectError {
    fn kind(&self) -> ErrorKind {
        match self {
            ConnectError::Store(e) => e.kind(),
            ConnectError::Wiring(e) => e.kind(),
        }
    }
}
