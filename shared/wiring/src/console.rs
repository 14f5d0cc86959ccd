//! The web console's wiring: Cognito sign-in with sessions in DynamoDB (tokens sealed like
//! TikTok's), the browser uploads presigned with the function's own credentials, and the
//! settings the public pages show.

use std::sync::Arc;
use std::time::Duration;

use tiktok_publish_adapters::{
    CognitoIdentity, DynamoSessionStore, HttpJwks, S3Endpoint, SigV4Presigner,
};
use tiktok_publish_core::browser_upload::BrowserUploads;
use tiktok_publish_core::config::ConfigError;
use tiktok_publish_core::console::{
    AccessTokenSettings, ConsoleAuth, ConsoleAuthSettings, ConsolePorts,
};
use tiktok_publish_core::tokens::{Clock, SystemClock};
use tiktok_publish_domain::time::UnixTime;

use crate::Parts;

/// What the public pages name (the template's operator and retention parameters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSite {
    pub app_name: String,
    pub operator_name: String,
    pub operator_contact_email: String,
    pub operator_jurisdiction: String,
    pub published_retention_days: u32,
    pub failed_retention_days: u32,
    pub session_days: u64,
}

/// The console's parts besides the posts API.
pub struct ConsoleWiring {
    pub auth: ConsoleAuth,
    pub uploads: BrowserUploads,
    pub site: ConsoleSite,
    /// Origins the connect form may lead to (the public base URL's, TikTok's authorize page's).
    pub form_origins: Vec<String>,
}

/// The system clock moved by the seconds written in a file: the local stack's browser tests
/// move the console past a session's end without waiting. Only `CONSOLE_CLOCK_OFFSET_FILE`
/// turns it on, and the template never sets it.
struct OffsetFileClock {
    path: String,
}

impl Clock for OffsetFileClock {
    fn now(&self) -> UnixTime {
        let offset = std::fs::read_to_string(&self.path)
            .ok()
            .and_then(|text| text.trim().parse::<i64>().ok())
            .unwrap_or(0);
        SystemClock.now() + offset
    }
}

fn origin_of(url: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()
        .map(|url| url.origin().ascii_serialization())
        .filter(|origin| origin != "null")
}

impl Parts {
    /// The console's sign-in, uploads and site settings (`CONSOLE_*`, `OPERATOR_*`).
    pub fn console(&self) -> Result<ConsoleWiring, ConfigError> {
        let settings = &self.settings;
        let region = self
            .sdk
            .region()
            .map(|r| r.to_string())
            .ok_or(ConfigError::Missing { name: "AWS_REGION" })?;
        let pool = settings.required("CONSOLE_USER_POOL_ID")?;
        let client_id = settings.required("CONSOLE_CLIENT_ID")?;
        let jwks_url = url::Url::parse(&settings.required("CONSOLE_JWKS_URL")?).map_err(|e| {
            ConfigError::Invalid {
                name: "CONSOLE_JWKS_URL",
                reason: e.to_string(),
            }
        })?;
        let session_days = settings.number_or("CONSOLE_SESSION_DAYS", 7)?;
        let ports = ConsolePorts {
            identity: Arc::new(CognitoIdentity::new(
                aws_sdk_cognitoidentityprovider::Client::new(&self.sdk),
                client_id.clone(),
            )),
            sessions: Arc::new(
                DynamoSessionStore::new(
                    self.dynamodb.clone(),
                    settings.required("CONSOLE_SESSIONS_TABLE")?,
                )
                .with_codec(self.codec.clone()),
            ),
            jwks: Arc::new(HttpJwks::new(jwks_url).map_err(|e| ConfigError::Invalid {
                name: "CONSOLE_JWKS_URL",
                reason: e.to_string(),
            })?),
        };
        let mut auth = ConsoleAuth::new(
            ports,
            AccessTokenSettings::for_pool(&region, &pool, &client_id),
            ConsoleAuthSettings {
                session_lifetime: Duration::from_secs(session_days * 24 * 3600),
            },
        );
        if let Some(path) = settings.optional("CONSOLE_CLOCK_OFFSET_FILE") {
            tracing::warn!("CONSOLE_CLOCK_OFFSET_FILE is set: the console's clock is a test's");
            auth = auth.with_clock(Arc::new(OffsetFileClock { path }));
        }
        let credentials = self
            .sdk
            .credentials_provider()
            .ok_or(ConfigError::Missing {
                name: "AWS credentials",
            })?;
        let endpoint = match self.sdk.endpoint_url() {
            Some(url) => {
                S3Endpoint::PathStyle(url::Url::parse(url).map_err(|e| ConfigError::Invalid {
                    name: "AWS_ENDPOINT_URL",
                    reason: e.to_string(),
                })?)
            }
            None => S3Endpoint::Aws {
                url_suffix: "amazonaws.com".to_owned(),
            },
        };
        let uploads = BrowserUploads {
            presigner: Arc::new(SigV4Presigner::new(credentials, region, endpoint)),
            bucket: settings.video_bucket()?,
            prefix: settings.upload_prefix(),
        };
        let form_origins = ["PUBLIC_BASE_URL", "TIKTOK_AUTH_BASE_URL"]
            .into_iter()
            .filter_map(|name| settings.optional(name))
            .filter_map(|url| origin_of(&url))
            .collect();
        let days = |name: &'static str, default: u64| -> Result<u32, ConfigError> {
            Ok(u32::try_from(settings.number_or(name, default)?).unwrap_or(u32::MAX))
        };
        let site = ConsoleSite {
            app_name: settings
                .optional("APP_NAME")
                .unwrap_or_else(|| "TikTok Publisher".to_owned()),
            operator_name: settings.required("OPERATOR_NAME")?,
            operator_contact_email: settings.required("OPERATOR_CONTACT_EMAIL")?,
            operator_jurisdiction: settings.required("OPERATOR_JURISDICTION")?,
            published_retention_days: days("PUBLISHED_VIDEO_RETENTION_DAYS", 30)?,
            failed_retention_days: days("FAILED_VIDEO_RETENTION_DAYS", 90)?,
            session_days,
        };
        Ok(ConsoleWiring {
            auth,
            uploads,
            site,
            form_origins,
        })
    }
}
