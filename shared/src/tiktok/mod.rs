//! TikTok's v2 OAuth and Content Posting API, as `tests/fake-tiktok/CONTRACT.md` describes it.

pub use tiktok_publish_domain::chunk_plan;
pub use tiktok_publish_domain::tiktok as types;
pub mod client;
pub mod error;

pub use chunk_plan::{ChunkPlan, ChunkPlanError, ChunkPolicy, ChunkRange};
pub use client::{ChunkAccepted, TikTokClient};
pub use error::{Endpoint, TikTokError};
pub use types::*;
