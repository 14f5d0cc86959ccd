//! The adapters of the core's ports: AWS (DynamoDB, KMS, S3, EventBridge, Step Functions)
//! and TikTok's HTTP API. The services never name these types; the wiring builds them and
//! hands them over as the ports they implement.
//!
//! - [`dynamo`]: the stores (tokens, OAuth states, posts, allowances, idempotency keys,
//!   console sessions), one file per table, the tables' definitions and the item codecs.
//! - [`cognito`]: [`CognitoIdentity`], the console's sign-in on a Cognito user pool.
//! - [`jwks`]: [`HttpJwks`], the user pool's public keys over HTTP.
//! - [`kms`]: [`KmsCodec`], secrets sealed with a KMS key.
//! - [`s3`]: the video source, the retention tags, the upload listing.
//! - [`eventbridge`]: outcome events on a bus.
//! - [`sfn`]: one state machine execution per post.
//! - [`tiktok`]: [`TikTokClient`], the reqwest client of TikTok's v2 API.

pub mod cognito;
pub mod dynamo;
pub mod eventbridge;
pub mod jwks;
pub mod kms;
pub mod s3;
pub mod sfn;
pub mod tiktok;

pub use cognito::CognitoIdentity;
pub use dynamo::{
    DynamoAllowanceStore, DynamoIdempotencyStore, DynamoOAuthStateStore, DynamoPostStore,
    DynamoSessionStore, DynamoTokenStore, TableNames, create_console_sessions_table, create_tables,
};
pub use eventbridge::EventBridgeEvents;
pub use jwks::HttpJwks;
pub use kms::{KMS_CONTEXT_KEY, KmsCodec};
pub use s3::{
    S3Endpoint, S3RetentionTags, S3UploadListing, S3VideoSource, SigV4Presigner, s3_client,
};
pub use sfn::SfnExecutions;
pub use tiktok::TikTokClient;
