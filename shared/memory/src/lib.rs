//! The core's ports in memory (a dev-only crate: tests, the fuzz targets and the bench may
//! use it; no Lambda, nor the wiring, the adapters or the core, has it as a normal
//! dependency, and `scripts/check-layers` says so when one does).
//!
//! The core-level kit: the in-memory stand-ins keep the DynamoDB adapters' semantics
//! (conditions included), so the services can be tested without moto. The moto tests in
//! the core's integration tests (`shared/tests/stores`) pin the real ones. The stack-level
//! kit, moto and the strict fake TikTok together, is `tiktok-publish-testkit`.
//!
//! - [`MemoryTokenStore`]: `TokenStore` and `ReconnectWarnings` (the version check, the
//!   refresh lease, the reconnect mark, the day of each warning).
//! - [`MemoryOAuthStateStore`]: `OAuthStateStore` (single-use, expiring one-time tokens).
//! - [`MemoryPostStore`]: `PostStore` (moves only from the expected states).
//! - [`MemoryAllowanceStore`]: `AllowanceStore` (the sliding window, under one lock).
//! - [`MemoryIdempotencyStore`]: the posts API's `IdempotencyStore`.
//! - [`MemoryEvents`]: `OutcomeEvents`, every event sent kept in order.
//! - [`MemoryLines`]: `MetricLines`, every metric line written kept in order.
//! - [`MemoryPullCanceller`]: the posts API's `PullCanceller`, answering as the test says.
//! - [`MemoryIdentity`]: the console's `IdentityProvider` (users, challenges, TOTP, refresh
//!   tokens a global sign-out revokes), issuing JWTs signed with a [`TestSigningKey`];
//!   [`MemoryJwks`] publishes those keys; [`MemorySessionStore`]: the console's `SessionStore`.

use std::sync::{Mutex, MutexGuard};

mod allowance;
mod cancels;
mod console_identity;
mod console_sessions;
mod events;
mod idempotency;
mod metrics;
mod oauth;
mod posts;
mod test_keys;
mod tokens;

pub use allowance::MemoryAllowanceStore;
pub use cancels::MemoryPullCanceller;
pub use console_identity::{MEMORY_MIN_PASSWORD_LEN, MEMORY_TOTP_SECRET, MemoryIdentity};
pub use console_sessions::MemorySessionStore;
pub use events::MemoryEvents;
pub use idempotency::MemoryIdempotencyStore;
pub use metrics::MemoryLines;
pub use oauth::MemoryOAuthStateStore;
pub use posts::MemoryPostStore;
pub use test_keys::{MemoryJwks, TestSigningKey};
pub use tokens::MemoryTokenStore;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A test that panicked while holding the lock leaves consistent data behind: every
    // change is made in one step.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests;
