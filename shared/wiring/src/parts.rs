//! Building the core's parts from the environment, once per cold start.
//!
//! AWS clients are built when a Lambda starts (cheap, no network). The TikTok client secret
//! is fetched on first use and cached: a cold start makes no call it does not need.

use std::sync::Arc;

use secrecy::SecretString;
use tokio::sync::OnceCell;

use tiktok_publish_adapters::{
    DynamoAllowanceStore, DynamoOAuthStateStore, DynamoPostStore, DynamoTokenStore,
    EventBridgeEvents, KmsCodec, S3RetentionTags, S3VideoSource, TableNames, TikTokClient,
    s3_client,
};
use tiktok_publish_core::config::{ClientSecretSource, SecretUnavailable, TikTokConfig, optional};
use tiktok_publish_core::events::OutcomeEvents;
use tiktok_publish_core::metrics::Metrics;
use tiktok_publish_core::pipeline::outcomes::{
    EventingTokenStore, NoOutcomeEvents, OutcomePostStore,
};
use tiktok_publish_core::pipeline::{Pipeline, PipelineSettings};
use tiktok_publish_core::setup::WiringError;
use tiktok_publish_core::store::{
    AllowanceLimits, OpenedCache, PlainCodec, PostStore, SecretCodec, TokenStore,
};
use tiktok_publish_core::tokens::{TokenService, TokenSettings};
use tiktok_publish_core::trigger::DEFAULT_UPLOAD_PREFIX;

/// The AWS configuration from the environment (region, credentials, `AWS_ENDPOINT_URL`).
pub async fn aws_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// The TikTok client secret: `TIKTOK_CLIENT_SECRET` when set (local runs), otherwise the
/// Secrets Manager secret named by `TIKTOK_CLIENT_SECRET_ARN`. Fetched once, on first use.
#[derive(Debug)]
pub struct ClientSecret {
    secrets: aws_sdk_secretsmanager::Client,
    cached: OnceCell<SecretString>,
}

impl ClientSecret {
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        ClientSecret {
            secrets: aws_sdk_secretsmanager::Client::new(sdk),
            cached: OnceCell::new(),
        }
    }

    pub async fn get(&self) -> Result<SecretString, SecretUnavailable> {
        let refused = |detail: String| SecretUnavailable {
            detail,
            retryable: false,
        };
        self.cached
            .get_or_try_init(|| async {
                if let Some(secret) = optional("TIKTOK_CLIENT_SECRET") {
                    return Ok(SecretString::from(secret));
                }
                let arn = optional("TIKTOK_CLIENT_SECRET_ARN").ok_or_else(|| {
                    refused(
                        "neither TIKTOK_CLIENT_SECRET_ARN nor TIKTOK_CLIENT_SECRET is set".into(),
                    )
                })?;
                let answer = self
                    .secrets
                    .get_secret_value()
                    .secret_id(arn)
                    .send()
                    .await
                    .map_err(|e| SecretUnavailable {
                        detail: format!(
                            "Secrets Manager: {}",
                            aws_sdk_secretsmanager::error::DisplayErrorContext(e)
                        ),
                        // Throttled or unreachable; a missing secret or permission also
                        // lands here and shows in the detail after the retries.
                        retryable: true,
                    })?;
                match answer.secret_string() {
                    Some(value) if !value.trim().is_empty() => {
                        Ok(SecretString::from(value.trim().to_owned()))
                    }
                    _ => Err(refused(
                        "the secret is empty: set it to the app's client secret from TikTok's \
                         developer portal"
                            .into(),
                    )),
                }
            })
            .await
            .cloned()
    }
}

#[async_trait::async_trait]
impl ClientSecretSource for ClientSecret {
    async fn client_secret(&self) -> Result<SecretString, SecretUnavailable> {
        self.get().await
    }
}

/// How tokens and upload URLs are stored: sealed with the KMS key `SEALING_KEY_ARN` names
/// (always set by the template), or as they are when it is unset (a warning says so).
pub fn secret_codec(sdk: &aws_config::SdkConfig) -> Arc<dyn SecretCodec> {
    match optional("SEALING_KEY_ARN") {
        Some(key) => Arc::new(OpenedCache::new(KmsCodec::new(
            aws_sdk_kms::Client::new(sdk),
            key,
        ))),
        None => {
            tracing::warn!(
                "SEALING_KEY_ARN is not set: tokens and upload URLs are stored unsealed"
            );
            Arc::new(PlainCodec)
        }
    }
}

/// Where outcome events go: the EventBridge bus `EVENT_BUS_NAME` names (always set by the
/// template for the functions that end posts), or nowhere when it is unset (a warning says
/// so for each event dropped).
pub fn outcome_events(sdk: &aws_config::SdkConfig) -> Arc<dyn OutcomeEvents> {
    match optional("EVENT_BUS_NAME") {
        Some(bus) => Arc::new(EventBridgeEvents::new(
            aws_sdk_eventbridge::Client::new(sdk),
            bus,
        )),
        // It warns for each event it drops (not here: not every function ends posts).
        None => Arc::new(NoOutcomeEvents),
    }
}

/// `posts` reporting every post its writes end: the outcome event (`EVENT_BUS_NAME`, see
/// [`outcome_events`]), the metric lines on stdout (`STACK_NAME`) and the retention tags on
/// the video and its manifest (through `s3`, built with [`s3_client`]). For functions that
/// end posts without the whole [`Parts`] (the S3 trigger).
pub fn outcome_posts(
    sdk: &aws_config::SdkConfig,
    s3: aws_sdk_s3::Client,
    posts: Arc<dyn PostStore>,
) -> Arc<dyn PostStore> {
    reporting(posts, outcome_events(sdk), s3)
}

fn reporting(
    posts: Arc<dyn PostStore>,
    events: Arc<dyn OutcomeEvents>,
    s3: aws_sdk_s3::Client,
) -> Arc<dyn PostStore> {
    Arc::new(
        OutcomePostStore::new(posts, events)
            .with_metrics(Metrics::from_env())
            .with_tags(Arc::new(S3RetentionTags::new(s3).with_prefix(
                optional("UPLOAD_PREFIX").unwrap_or_else(|| DEFAULT_UPLOAD_PREFIX.to_owned()),
            ))),
    )
}

/// The AWS-side parts every Lambda may use, built at cold start.
#[derive(Clone)]
pub struct Parts {
    pub sdk: aws_config::SdkConfig,
    pub tables: TableNames,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub posts: Arc<DynamoPostStore>,
    pub accounts: Arc<DynamoTokenStore>,
    pub oauth: Arc<DynamoOAuthStateStore>,
    pub allowances: Arc<DynamoAllowanceStore>,
    pub secret: Arc<ClientSecret>,
    /// Where outcome events go (see [`outcome_events`]).
    pub events: Arc<dyn OutcomeEvents>,
}

impl Parts {
    /// Reads the table names and builds the clients; no network call.
    pub fn from_env(sdk: aws_config::SdkConfig) -> Result<Parts, WiringError> {
        let tables = TableNames::from_env()?;
        let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
        let s3 = s3_client(&sdk);
        let codec = secret_codec(&sdk);
        Ok(Parts {
            posts: Arc::new(
                DynamoPostStore::new(dynamodb.clone(), tables.posts.clone())
                    .with_codec(codec.clone()),
            ),
            accounts: Arc::new(
                DynamoTokenStore::new(dynamodb.clone(), tables.accounts.clone()).with_codec(codec),
            ),
            oauth: Arc::new(DynamoOAuthStateStore::new(
                dynamodb.clone(),
                tables.oauth.clone(),
            )),
            allowances: Arc::new(DynamoAllowanceStore::new(
                dynamodb.clone(),
                tables.allowances.clone(),
                AllowanceLimits::from_settings(optional)?,
            )),
            secret: Arc::new(ClientSecret::new(&sdk)),
            events: outcome_events(&sdk),
            tables,
            dynamodb,
            s3,
            sdk,
        })
    }

    /// The TikTok client; it reads the client secret (once) only when a request needs it.
    pub async fn tiktok(&self) -> Result<TikTokClient, WiringError> {
        Ok(TikTokClient::new(TikTokConfig::from_env(
            self.secret.clone(),
        )?)?)
    }

    /// The posts table, reporting every post its writes end: the outcome event, the metric
    /// lines, the retention tags. Whatever ends posts takes this one; `posts` (raw) is for
    /// code that only reads or reports its own.
    pub fn outcome_posts(&self) -> Arc<dyn PostStore> {
        reporting(self.posts.clone(), self.events.clone(), self.s3.clone())
    }

    /// The accounts table, sending `AccountNeedsReconnect` when it marks an account.
    pub fn eventing_accounts(&self) -> Arc<dyn TokenStore> {
        Arc::new(EventingTokenStore::new(
            self.accounts.clone(),
            self.events.clone(),
        ))
    }

    /// Token service over the accounts table and TikTok; an account it marks for
    /// reconnection (a refused refresh) sends `AccountNeedsReconnect`.
    pub fn token_service(&self, tiktok: &TikTokClient) -> Result<TokenService, WiringError> {
        Ok(TokenService::new(
            self.eventing_accounts(),
            Arc::new(tiktok.clone()),
            TokenSettings::from_env()?,
        ))
    }

    /// The state machine's steps.
    pub async fn pipeline(&self) -> Result<Pipeline, WiringError> {
        let tiktok = self.tiktok().await?;
        Ok(Pipeline {
            // Every end of a post (published, inbox, failed, refused) sends its event, emits
            // its metrics and tags its video.
            posts: self.outcome_posts(),
            tokens: self.token_service(&tiktok)?,
            tiktok: Arc::new(tiktok),
            source: Arc::new(S3VideoSource::new(self.s3.clone())),
            allowances: self.allowances.clone(),
            settings: PipelineSettings::from_env()?,
        })
    }
}
