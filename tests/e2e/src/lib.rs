//! Harness of the end-to-end suite (tests/e2e.rs): talks to a running local stack.
//!
//! Everything goes through the stack's own doors: the HTTP API (`LOCAL_API_URL`), the video
//! bucket and tables in moto (`AWS_ENDPOINT_URL`), the Invoke API for a redelivered event,
//! and the fake TikTok's control API (`FAKE_TIKTOK_URL` + `/__fake/...`) to seed creators,
//! inject faults and read what TikTok received. Nothing here calls the core's code paths:
//! the core is only used for its test videos (`testing::video`). The event bus's tap queue
//! ([`Tap`]) shows the outcome events; [`UploadEventRule`] can make moto lose S3 events.
//!
//! The harness exists only with the `local-stack-tests` feature (see Cargo.toml).

#[cfg(feature = "local-stack-tests")]
mod harness;
#[cfg(feature = "local-stack-tests")]
mod rules;
#[cfg(feature = "local-stack-tests")]
mod tap;

#[cfg(feature = "local-stack-tests")]
pub use harness::*;
#[cfg(feature = "local-stack-tests")]
pub use rules::UploadEventRule;
#[cfg(feature = "local-stack-tests")]
pub use tap::{REPEAT_WATCH, Tap};
