//! TikTok's v2 OAuth and Content Posting API, as `tests/fake-tiktok/CONTRACT.md` describes it:
//! its terms, its errors, and the ports the services call it through (the HTTP client is in
//! the adapters crate).

pub use tiktok_publish_domain::chunk_plan;
pub use tiktok_publish_domain::tiktok as types;
pub mod error;
pub mod ports;

pub use chunk_plan::{ChunkPlan, ChunkPlanError, ChunkPolicy, ChunkRange};
pub use error::{Endpoint, TikTokError};
pub use ports::{
    ChunkAccepted, TikTokAuthorize, TikTokCreators, TikTokPosting, TikTokRevoke, TikTokUpload,
    TikTokUserInfo, UserInfo, UserInfoField,
};
pub use types::*;
