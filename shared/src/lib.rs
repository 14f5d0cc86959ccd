//! The core of the TikTok publisher: the services and the ports (traits) they call. Every
//! Lambda is a thin handler over this crate; the adapters that implement the ports against
//! AWS and TikTok's HTTP API are in `tiktok-publish-adapters`, and this crate names none of them.
//!
//! - [`tiktok`]: TikTok's v2 OAuth and Content Posting API: the ports, the chunk plan, errors.
//! - [`errors`]: the stable error names the state machine routes on.
//! - [`store`]: ports (traits) for tokens, OAuth states and posts.
//! - [`media`]: the video source port (ranged, version-pinned reads) and the container probe.
//! - [`tokens`]: `fresh_access_token`, the refresh guarded by a lease.
//! - [`transfer`]: chunks streamed from the video source into TikTok's upload URL.
//! - [`intake`]: a video becomes a post (one conditional write, one named execution);
//!   [`photo_intake`]: a set of images becomes a photo post the same way.
//! - [`pipeline`]: the state machine's steps (init, chunk upload, status, record failure)
//!   and the parsing of post options.
//! - [`webhook`]: TikTok's signed webhook events, verified and recorded on posts/accounts.
//! - [`events`]: outcome events (PostPublished, PostFailed, ...) and the port they go through.
//! - [`metrics`]: metrics in CloudWatch's embedded metric format (a JSON line on stdout).
//! - [`retention`]: an ended post's video and manifest tagged with its outcome (lifecycle).
//! - [`sweep`]: the orphan sweep (videos whose event was lost, posts stuck past their deadline).
//! - [`reconnect`]: warnings for accounts that must be connected again.
//! - [`browser_upload`]: the web console's uploads, each S3 request presigned for the browser.
//! - [`console`]: the web console's sign-in (Cognito), sessions and CSRF.

pub mod api;
pub mod browser_upload;
pub mod config;
pub mod connect;
pub mod console;
pub mod ends;
pub use tiktok_publish_domain::errors;
pub mod events;
pub mod intake;
pub mod media;
pub mod metrics;
pub mod photo_intake;
pub mod pipeline;
pub mod reconnect;
pub mod retention;
pub mod setup;
pub mod store;
pub mod sweep;
pub mod tiktok;
pub mod tokens;
pub mod transfer;
pub mod trigger;
pub mod webhook;
