//! The services the Lambdas run, built from [`Parts`]: the deployed choice of adapter for
//! every port a service asks for, and the settings it reads (through [`crate::Settings`]).

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::OnceCell;

use tiktok_publish_adapters::{
    DynamoIdempotencyStore, S3UploadListing, S3VideoSource, SfnExecutions,
};
use tiktok_publish_core::api::{
    CancelPullError, CreatorInfoError, CreatorInfoSource, PostsApi, PullCancel, PullCanceller,
    RevokeError, Revoker, TikTokCreatorInfo, TikTokPullCanceller, TikTokRevoker,
};
use tiktok_publish_core::config::ConfigError;
use tiktok_publish_core::intake::Intake;
use tiktok_publish_core::reconnect::ReconnectCheck;
use tiktok_publish_core::setup::WiringError;
use tiktok_publish_core::sweep::Sweep;
use tiktok_publish_core::tiktok::CreatorInfo;

use crate::Parts;

/// TikTok's side of the API ([`Revoker`], [`CreatorInfoSource`], [`PullCanceller`]) built on
/// first use: the client secret is fetched only when a route needs TikTok, not on every cold
/// start.
pub struct LazyTikTok {
    parts: Parts,
    inner: OnceCell<ApiTikTok>,
}

/// The API's TikTok parts, once built.
struct ApiTikTok {
    revoker: TikTokRevoker,
    creator: TikTokCreatorInfo,
    canceller: TikTokPullCanceller,
}

impl LazyTikTok {
    pub fn new(parts: Parts) -> Self {
        LazyTikTok {
            parts,
            inner: OnceCell::new(),
        }
    }

    async fn get(&self) -> Result<&ApiTikTok, WiringError> {
        self.inner
            .get_or_try_init(|| async {
                let tiktok = Arc::new(self.parts.tiktok().await?);
                let tokens = self.parts.token_service(&tiktok)?;
                let creator = TikTokCreatorInfo {
                    tokens: tokens.clone(),
                    tiktok: tiktok.clone(),
                    allowances: self.parts.allowances.clone(),
                };
                let canceller = TikTokPullCanceller {
                    tokens: tokens.clone(),
                    tiktok: tiktok.clone(),
                };
                Ok::<_, WiringError>(ApiTikTok {
                    revoker: TikTokRevoker { tokens, tiktok },
                    creator,
                    canceller,
                })
            })
            .await
    }
}

#[async_trait]
impl Revoker for LazyTikTok {
    async fn revoke(&self, open_id: &str) -> Result<(), RevokeError> {
        self.get().await?.revoker.revoke(open_id).await
    }
}

#[async_trait]
impl CreatorInfoSource for LazyTikTok {
    async fn creator_info(&self, open_id: &str) -> Result<CreatorInfo, CreatorInfoError> {
        self.get().await?.creator.creator_info(open_id).await
    }
}

#[async_trait]
impl PullCanceller for LazyTikTok {
    async fn cancel_pull(
        &self,
        open_id: &str,
        publish_id: &str,
    ) -> Result<PullCancel, CancelPullError> {
        self.get()
            .await?
            .canceller
            .cancel_pull(open_id, publish_id)
            .await
    }
}

impl Parts {
    /// The deployed wiring: DynamoDB stores, S3, Step Functions (`STATE_MACHINE_ARN`), the
    /// video bucket (`VIDEO_BUCKET`), idempotency keys in the oauth table.
    pub fn posts_api(&self) -> Result<PostsApi, ConfigError> {
        let sfn = aws_sdk_sfn::Client::new(&self.sdk);
        let tiktok = Arc::new(LazyTikTok::new(self.clone()));
        Ok(PostsApi {
            intake: Intake {
                posts: self.posts.clone(),
                // A cancel, a disconnect's cancels and a refused POST /posts send their events.
                ends: self.post_ends(),
                source: Arc::new(S3VideoSource::new(self.s3.clone())),
                executions: Arc::new(SfnExecutions::new(sfn, self.settings.state_machine_arn()?)),
            },
            accounts: self.accounts.clone(),
            idempotency: Arc::new(DynamoIdempotencyStore::new(
                self.dynamodb.clone(),
                self.tables.oauth.clone(),
            )),
            revoker: tiktok.clone(),
            creator_info: tiktok.clone(),
            pull_canceller: tiktok,
            oauth: self.oauth.clone(),
            connect: match self.settings.connect() {
                Ok(settings) => Some(settings),
                Err(ConfigError::Missing { .. }) => None,
                Err(err) => return Err(err),
            },
            bucket: self.settings.video_bucket()?,
        })
    }

    /// The deployed wiring: the posts table, posts' ends reported (`EVENT_BUS_NAME`), the
    /// accounts table, S3, Step Functions (`STATE_MACHINE_ARN`).
    pub fn sweep(&self) -> Result<Sweep, ConfigError> {
        Ok(Sweep {
            intake: Intake {
                posts: self.posts.clone(),
                // Every post the sweep ends (stuck, or an orphan refused at intake) sends
                // its event, once.
                ends: self.post_ends(),
                source: Arc::new(S3VideoSource::new(self.s3.clone())),
                executions: Arc::new(SfnExecutions::new(
                    aws_sdk_sfn::Client::new(&self.sdk),
                    self.settings.state_machine_arn()?,
                )),
            },
            accounts: self.accounts.clone(),
            listing: Arc::new(S3UploadListing::new(self.s3.clone())),
            settings: self.settings.sweep()?,
        })
    }

    /// The deployed wiring: the accounts table, EventBridge (`EVENT_BUS_NAME`), the window
    /// `RECONNECT_WARN_DAYS`.
    pub fn reconnect_check(&self) -> Result<ReconnectCheck, ConfigError> {
        Ok(ReconnectCheck {
            accounts: self.accounts.clone(),
            warnings: self.accounts.clone(),
            // The bus Parts already reaches; a check that could not send would be pointless.
            events: {
                if self.settings.event_bus().is_none() {
                    return Err(ConfigError::Missing {
                        name: "EVENT_BUS_NAME",
                    });
                }
                self.events.clone()
            },
            warn_days: self.settings.reconnect_warn_days()?,
        })
    }
}
