//! The DynamoDB stores against moto: every decision is a conditional write that holds.

use std::sync::Arc;

use aws_sdk_dynamodb::Client;
use secrecy::{ExposeSecret, SecretString};
use test_support::{moto, unique_name};
use tiktok_publish_adapters::{
    DynamoOAuthStateStore, DynamoPostStore, DynamoTokenStore, TableNames, create_tables,
};
use tiktok_publish_core::ends::PostEnds;
use tiktok_publish_core::errors::{Classify, ErrorKind};
use tiktok_publish_core::media::VideoLocation;
use tiktok_publish_core::store::{
    Cause, ConsumeOutcome, CreateOutcome, Fact, LeaseOutcome, OAuthStateStore, OneTimeKind,
    OneTimeRecord, OneTimeToken, PostFailure, PostId, PostOptions, PostOutcome, PostRecord,
    PostSource, PostState, PostStore, PostUpdate, RefreshSaved, StoreError, TokenStore,
};
use tiktok_publish_core::tiktok::{ChunkPlan, ChunkPolicy, PostMode, TokenGrant, UploadUrl};

mod tables_and_posts;
mod tokens_and_accounts;

const NOW: i64 = 1_800_000_000;

async fn tables() -> (Client, TableNames) {
    let client = moto().dynamodb().await;
    let names = TableNames::with_prefix(&unique_name("stores"));
    create_tables(&client, &names).await.unwrap();
    (client, names)
}

fn grant(open_id: &str, access: &str, refresh: &str) -> TokenGrant {
    TokenGrant {
        open_id: open_id.into(),
        access_token: SecretString::from(access.to_owned()),
        expires_in: 86_400,
        refresh_token: SecretString::from(refresh.to_owned()),
        refresh_expires_in: 31_536_000,
        scope: "user.info.basic,video.publish,video.upload".into(),
        token_type: "Bearer".into(),
    }
}

fn video(key: &str) -> VideoLocation {
    VideoLocation {
        bucket: "videos".into(),
        key: key.into(),
        version_id: Some("v1".into()),
    }
}

fn options() -> PostOptions {
    PostOptions {
        title: "hello #world".into(),
        privacy_level: Some(tiktok_publish_core::tiktok::PrivacyLevel::SelfOnly),
        disable_duet: None,
        disable_comment: Some(true),
        disable_stitch: Some(false),
        video_cover_timestamp_ms: Some(1500),
        brand_content_toggle: false,
        brand_organic_toggle: true,
        is_aigc: false,
        mode: PostMode::DirectPost,
        publish_at: Some(NOW + 60),
        source: Some(tiktok_publish_core::tiktok::VideoSource::PullFromUrl),
        description: String::new(),
        auto_add_music: false,
        photo_cover_index: None,
    }
}

fn new_post(open_id: &str, key: &str, created_at: i64) -> PostRecord {
    PostRecord::new(
        open_id,
        PostSource::at(video(key)),
        Some(options()),
        PostState::Received,
        created_at,
    )
}
