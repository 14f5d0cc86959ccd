//! The console's sign-in core: `ConsoleAuth` over the in-memory ports (`logic`), the access
//! token verifier with the committed test keys (`verifier`), and the adapters against moto's
//! Cognito and DynamoDB (`moto`).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use tiktok_publish_core::store::UnixTime;
use tiktok_publish_core::tokens::Clock;

mod logic;
mod moto;
mod verifier;

const NOW: UnixTime = 1_800_000_000;
const REGION: &str = "us-east-1";
const POOL: &str = "us-east-1_TestPool1";
const CLIENT: &str = "console-client";

/// A clock the test moves.
struct ManualClock(AtomicI64);

impl ManualClock {
    fn at(now: UnixTime) -> Arc<ManualClock> {
        Arc::new(ManualClock(AtomicI64::new(now)))
    }

    fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        self.0.load(Ordering::SeqCst)
    }
}
