//! TikTok's v2 OAuth and Content Posting API, as `tiktok-api.md` describes it.

pub mod chunk_plan;
pub mod client;
pub mod error;
pub mod types;

pub use chunk_plan::{ChunkPlan, ChunkPlanError, ChunkPolicy, ChunkRange};
pub use client::{ChunkAccepted, TikTokClient};
pub use error::{Endpoint, TikTokError};
pub use types::*;
