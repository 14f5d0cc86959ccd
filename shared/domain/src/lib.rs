//! The publisher's domain: what a post, an account and TikTok's terms are, and the rules
//! over them. Pure: no AWS SDK, no async runtime, no HTTP client; the services
//! (`tiktok-publish-core`) and the adapters build on it, never the other way round.
//!
//! - [`errors`]: the stable error names the state machine routes on, and what each asks for.
//! - [`post`]: a post's id, states and their transitions, and its record; [`webhook`]: what
//!   TikTok's webhook said about its upload.
//! - [`fact`], [`cause`]: what happened to a post and why it failed, as types that render
//!   the notes and reasons people read; [`retry`]: the retry verdict, a match on the cause;
//!   [`legacy`]: how items written before facts and causes were stored are understood.
//! - [`options`]: post options as users give them, parsed and checked.
//! - [`tiktok`]: TikTok's terms (privacy levels, creator info, statuses, tokens, limits).
//! - [`chunk_plan`]: how a video is cut into the chunks TikTok accepts.
//! - [`media_rules`]: what TikTok takes of a video (codec, frame rate, size, duration), and
//!   why a video breaks a rule.
//! - [`photo_rules`]: what TikTok takes of a photo, and why an image is refused;
//!   [`photo_post`]: a photo post's images, options and manifest.
//! - [`media_url`]: the front door's signed media URLs, which TikTok pulls.
//! - [`allowance`]: per-account budgets of TikTok calls over a sliding window.
//! - [`view`]: what the API and the CLI show of posts and accounts.
//! - [`upload`]: the bucket's upload keys (an account's folder, a video's manifest).
//! - [`account`], [`one_time`], [`video`], [`time`], [`setting`]: the smaller types.

pub mod account;
pub mod allowance;
pub mod cause;
pub mod chunk_plan;
pub mod errors;
pub mod fact;
pub mod legacy;
pub mod media_rules;
pub mod media_url;
pub mod one_time;
pub mod options;
pub mod photo_post;
pub mod photo_rules;
pub mod photo_set;
pub mod post;
pub mod retry;
pub mod setting;
pub mod state;
pub mod tiktok;
pub mod time;
pub mod upload;
pub mod video;
pub mod view;
pub mod webhook;
