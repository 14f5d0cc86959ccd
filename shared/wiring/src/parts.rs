//! Building the core's parts from the [`Settings`], once per cold start.
//!
//! AWS clients are built when a Lambda starts (cheap, no network). The TikTok client secret
//! is fetched on first use and cached: a cold start makes no call it does not need.

use std::sync::Arc;

use secrecy::SecretString;
use tokio::sync::OnceCell;

use tiktok_publish_adapters::{
    DynamoAllowanceStore, DynamoOAuthStateStore, DynamoPostStore, DynamoTokenStore,
    EventBridgeEvents, KmsCodec, S3RetentionTags, S3VideoSource, TableNames, TikTokClient,
    s3_client as media_s3_client,
};
use tiktok_publish_core::config::{ClientSecretSource, ConfigError, SecretUnavailable};
use tiktok_publish_core::ends::{NoOutcomeEvents, PostEnds};
use tiktok_publish_core::events::OutcomeEvents;
use tiktok_publish_core::pipeline::{FrontDoor, Pipeline, PipelineSettings};
use tiktok_publish_core::setup::WiringError;
use tiktok_publish_core::store::{OpenedCache, PlainCodec, SecretCodec};
use tiktok_publish_core::tokens::TokenService;
use tiktok_publish_domain::media_url::MediaUrlSigner;

use crate::settings::{SecretSetting, Settings};

/// The AWS configuration from the environment (region, credentials, `AWS_ENDPOINT_URL`).
pub async fn aws_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// The TikTok client secret: `TIKTOK_CLIENT_SECRET` when set (local runs), otherwise the
/// Secrets Manager secret named by `TIKTOK_CLIENT_SECRET_ARN` (see
/// [`Settings::client_secret`]). Fetched once, on first use.
#[derive(Debug)]
pub struct ClientSecret {
    secrets: aws_sdk_secretsmanager::Client,
    setting: SecretSetting,
    cached: OnceCell<SecretString>,
    /// What to do about an empty secret.
    when_empty: &'static str,
}

impl ClientSecret {
    pub fn new(sdk: &aws_config::SdkConfig, setting: SecretSetting) -> Self {
        ClientSecret {
            secrets: aws_sdk_secretsmanager::Client::new(sdk),
            setting,
            cached: OnceCell::new(),
            when_empty: "set it to the app's client secret from TikTok's developer portal",
        }
    }

    /// The front door's media signing key (`MediaSigningKeyArn`), read the same way.
    pub fn media_signing_key(sdk: &aws_config::SdkConfig, setting: SecretSetting) -> Self {
        ClientSecret {
            when_empty: "put a new key in it and raise MediaSigningKeyGeneration (docs/front-door.md)",
            ..ClientSecret::new(sdk, setting)
        }
    }

    pub async fn get(&self) -> Result<SecretString, SecretUnavailable> {
        let refused = |detail: String| SecretUnavailable {
            detail,
            retryable: false,
        };
        self.cached
            .get_or_try_init(|| async {
                let arn = match &self.setting {
                    SecretSetting::Given(secret) => return Ok(secret.clone()),
                    SecretSetting::Arn(arn) => arn.clone(),
                    SecretSetting::Unset => {
                        return Err(refused(
                            "neither TIKTOK_CLIENT_SECRET_ARN nor TIKTOK_CLIENT_SECRET is set"
                                .into(),
                        ));
                    }
                };
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
                    _ => Err(refused(format!("the secret is empty: {}", self.when_empty))),
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
pub fn secret_codec(sdk: &aws_config::SdkConfig, settings: &Settings) -> Arc<dyn SecretCodec> {
    match settings.sealing_key() {
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
pub fn outcome_events(sdk: &aws_config::SdkConfig, settings: &Settings) -> Arc<dyn OutcomeEvents> {
    match settings.event_bus() {
        Some(bus) => Arc::new(EventBridgeEvents::new(
            aws_sdk_eventbridge::Client::new(sdk),
            bus,
        )),
        // It warns for each event it drops (not here: not every function ends posts).
        None => Arc::new(NoOutcomeEvents),
    }
}

/// What a post's end sets off: the outcome event (`EVENT_BUS_NAME`, see
/// [`outcome_events`]), the metric lines on stdout (`STACK_NAME`) and the retention tags on
/// the video and its manifest under `UPLOAD_PREFIX` (through `s3`, built with
/// [`s3_client`]). For functions that end posts without the whole [`Parts`] (the S3 trigger).
pub fn post_ends(
    sdk: &aws_config::SdkConfig,
    settings: &Settings,
    s3: aws_sdk_s3::Client,
) -> PostEnds {
    reporting(outcome_events(sdk, settings), s3, settings)
}

fn reporting(
    events: Arc<dyn OutcomeEvents>,
    s3: aws_sdk_s3::Client,
    settings: &Settings,
) -> PostEnds {
    PostEnds::new(events)
        .with_metrics(settings.metrics())
        .with_tags(Arc::new(
            S3RetentionTags::new(s3).with_prefix(settings.upload_prefix()),
        ))
}

/// An S3 client for `sdk`, path-style whenever the endpoint is overridden
/// (`AWS_ENDPOINT_URL`, or S3's own `AWS_ENDPOINT_URL_S3`, as for moto).
pub fn s3_client(sdk: &aws_config::SdkConfig, settings: &Settings) -> aws_sdk_s3::Client {
    if settings.s3_endpoint_overridden() {
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(sdk)
                .force_path_style(true)
                .build(),
        )
    } else {
        media_s3_client(sdk)
    }
}

/// The AWS-side parts every Lambda may use, built at cold start.
#[derive(Clone)]
pub struct Parts {
    pub sdk: aws_config::SdkConfig,
    /// Where each service reads its settings from when it is built.
    pub settings: Settings,
    pub tables: TableNames,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    /// How secrets are stored (the sealing key's codec, its opened-secret cache shared).
    pub codec: Arc<dyn SecretCodec>,
    pub posts: Arc<DynamoPostStore>,
    pub accounts: Arc<DynamoTokenStore>,
    pub oauth: Arc<DynamoOAuthStateStore>,
    pub allowances: Arc<DynamoAllowanceStore>,
    pub secret: Arc<ClientSecret>,
    /// Where outcome events go (see [`outcome_events`]).
    pub events: Arc<dyn OutcomeEvents>,
}

impl Parts {
    /// [`Parts::new`] with the process environment's settings.
    pub fn from_env(sdk: aws_config::SdkConfig) -> Result<Parts, WiringError> {
        Parts::new(sdk, Settings::from_env())
    }

    /// Reads the table names, the allowance limits, the sealing key, the event bus and the
    /// client secret's source, and builds the clients; no network call.
    pub fn new(sdk: aws_config::SdkConfig, settings: Settings) -> Result<Parts, WiringError> {
        let tables = settings.tables()?;
        let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
        let s3 = s3_client(&sdk, &settings);
        let codec = secret_codec(&sdk, &settings);
        Ok(Parts {
            posts: Arc::new(
                DynamoPostStore::new(dynamodb.clone(), tables.posts.clone())
                    .with_codec(codec.clone()),
            ),
            accounts: Arc::new(
                DynamoTokenStore::new(dynamodb.clone(), tables.accounts.clone())
                    .with_codec(codec.clone()),
            ),
            oauth: Arc::new(DynamoOAuthStateStore::new(
                dynamodb.clone(),
                tables.oauth.clone(),
            )),
            allowances: Arc::new(DynamoAllowanceStore::new(
                dynamodb.clone(),
                tables.allowances.clone(),
                settings.allowances()?,
            )),
            secret: Arc::new(ClientSecret::new(&sdk, settings.client_secret())),
            events: outcome_events(&sdk, &settings),
            codec,
            settings,
            tables,
            dynamodb,
            s3,
            sdk,
        })
    }

    /// The TikTok client; it reads the client secret (once) only when a request needs it.
    pub async fn tiktok(&self) -> Result<TikTokClient, WiringError> {
        Ok(TikTokClient::new(
            self.settings.tiktok(self.secret.clone())?,
        )?)
    }

    /// What a post's end sets off (the outcome event, the metric lines, the retention
    /// tags): every service that ends posts reports through it.
    pub fn post_ends(&self) -> PostEnds {
        reporting(self.events.clone(), self.s3.clone(), &self.settings)
    }

    /// Token service over the accounts table and TikTok; an account it marks for
    /// reconnection (a refused refresh) sends `AccountNeedsReconnect`. It keeps each
    /// account's profile (user info) in the accounts table too.
    pub fn token_service(&self, tiktok: &TikTokClient) -> Result<TokenService, WiringError> {
        Ok(TokenService::new(
            self.accounts.clone(),
            Arc::new(tiktok.clone()),
            self.settings.tokens()?,
        )
        .with_events(self.events.clone())
        .with_profiles(self.accounts.clone(), Arc::new(tiktok.clone())))
    }

    /// The front door's signer, its key read from Secrets Manager once, at cold start.
    pub async fn front_door(&self) -> Result<Option<FrontDoor>, WiringError> {
        let Some(setting) = self.settings.front_door()? else {
            return Ok(None);
        };
        let key = ClientSecret::media_signing_key(&self.sdk, setting.key)
            .get()
            .await?;
        let signer =
            MediaUrlSigner::new(&setting.host, key).map_err(|err| ConfigError::Invalid {
                name: "FRONT_DOOR_HOST",
                reason: err.to_string(),
            })?;
        Ok(Some(FrontDoor {
            signer,
            default_source: setting.default_source,
        }))
    }

    /// The state machine's steps.
    pub async fn pipeline(&self) -> Result<Pipeline, WiringError> {
        let tiktok = self.tiktok().await?;
        let settings = PipelineSettings {
            front_door: self.front_door().await?,
            ..self.settings.pipeline()?
        };
        Ok(Pipeline {
            posts: self.posts.clone(),
            // Every end of a post (published, inbox, failed, refused) sends its event, emits
            // its metrics and tags its video.
            ends: self.post_ends(),
            tokens: self.token_service(&tiktok)?,
            tiktok: Arc::new(tiktok),
            source: Arc::new(S3VideoSource::new(self.s3.clone())),
            photos: Arc::new(S3VideoSource::new(self.s3.clone())),
            allowances: self.allowances.clone(),
            settings,
        })
    }
}
