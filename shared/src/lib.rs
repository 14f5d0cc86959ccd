//! The core of the TikTok publisher. Every Lambda is a thin handler over this crate.
//!
//! - [`tiktok`]: TikTok's v2 OAuth and Content Posting client, the chunk plan, and its errors.
//! - [`errors`]: the stable error names the state machine routes on.
//! - [`store`]: ports (traits) for tokens, OAuth states and posts, with DynamoDB adapters.
//! - [`media`]: the video source port and its S3 adapter (ranged, version-pinned reads).
//! - [`tokens`]: `fresh_access_token`, the refresh guarded by a lease.
//! - [`transfer`]: chunks streamed from the video source into TikTok's upload URL.
//! - [`intake`]: a video becomes a post (one conditional write, one named execution).
//! - [`pipeline`]: the state machine's steps (init, chunk upload, status, record failure)
//!   and the parsing of post options.
//! - [`config`]: settings read from the environment.

pub mod api;
pub mod config;
pub mod connect;
pub mod errors;
pub mod intake;
pub mod media;
pub mod pipeline;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tiktok;
pub mod tokens;
pub mod transfer;
pub mod trigger;
pub mod wiring;
