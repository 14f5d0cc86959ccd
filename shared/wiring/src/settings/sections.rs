//! The core's settings structs, each read from its variables (defaults from the core).

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use tiktok_publish_adapters::TableNames;
use tiktok_publish_core::config::{
    ClientSecretSource, ConfigError, DEFAULT_API_BASE_URL, DEFAULT_AUTH_BASE_URL, TikTokConfig,
};
use tiktok_publish_core::connect::{
    ConnectSettings, DEFAULT_LINK_TTL_SECS, DEFAULT_STATE_TTL_SECS,
};
use tiktok_publish_core::pipeline::PipelineSettings;
use tiktok_publish_core::store::AllowanceLimits;
use tiktok_publish_core::sweep::{MIN_STUCK_AFTER_MINUTES, SweepSettings};
use tiktok_publish_core::tiktok::ChunkPolicy;
use tiktok_publish_core::tokens::TokenSettings;
use tiktok_publish_core::trigger::{KeyEncoding, TriggerSettings};
use tiktok_publish_core::webhook::{
    DEFAULT_MAX_AGE_SECS, DEFAULT_MAX_SKEW_SECS, DEFAULT_POST_SEARCH_LIMIT, WebhookSettings,
};
use tiktok_publish_domain::allowance::MAX_PER_WINDOW;

use super::Settings;

impl Settings {
    /// `ACCOUNTS_TABLE`, `POSTS_TABLE`, `OAUTH_TABLE` and `ALLOWANCES_TABLE` (all required).
    pub fn tables(&self) -> Result<TableNames, ConfigError> {
        Ok(TableNames {
            accounts: self.required("ACCOUNTS_TABLE")?,
            posts: self.required("POSTS_TABLE")?,
            oauth: self.required("OAUTH_TABLE")?,
            allowances: self.required("ALLOWANCES_TABLE")?,
        })
    }

    /// `TIKTOK_INIT_PER_MINUTE`, `TIKTOK_STATUS_PER_MINUTE`, `TIKTOK_CREATOR_INFO_PER_MINUTE`
    /// (1 to 1000 each) and `TIKTOK_ALLOWANCE_MARGIN_MS` (0 to 60000); unset, TikTok's limits.
    pub fn allowances(&self) -> Result<AllowanceLimits, ConfigError> {
        let per_window = |name, default| parse_per_window(name, self.optional(name), default);
        let defaults = AllowanceLimits::default();
        Ok(AllowanceLimits {
            init_per_minute: per_window("TIKTOK_INIT_PER_MINUTE", defaults.init_per_minute)?,
            status_fetch_per_minute: per_window(
                "TIKTOK_STATUS_PER_MINUTE",
                defaults.status_fetch_per_minute,
            )?,
            creator_info_per_minute: per_window(
                "TIKTOK_CREATOR_INFO_PER_MINUTE",
                defaults.creator_info_per_minute,
            )?,
            margin: parse_margin(
                "TIKTOK_ALLOWANCE_MARGIN_MS",
                self.optional("TIKTOK_ALLOWANCE_MARGIN_MS"),
                defaults.margin,
            )?,
        })
    }

    /// `TIKTOK_CLIENT_KEY` (required), `TIKTOK_API_BASE_URL` and `TIKTOK_AUTH_BASE_URL`
    /// (URLs); the secret's source is passed in because where it lives differs (Secrets
    /// Manager in AWS, none for oauth-start).
    pub fn tiktok(
        &self,
        client_secret: Arc<dyn ClientSecretSource>,
    ) -> Result<TikTokConfig, ConfigError> {
        let client_key = self.required("TIKTOK_CLIENT_KEY")?;
        let host = |name, default: &str| {
            let value = self.optional(name).unwrap_or_else(|| default.to_owned());
            self.url(name, value)
        };
        let api = host("TIKTOK_API_BASE_URL", DEFAULT_API_BASE_URL)?;
        let auth = host("TIKTOK_AUTH_BASE_URL", DEFAULT_AUTH_BASE_URL)?;
        Ok(TikTokConfig::with_secret_source(client_key, client_secret).with_base_urls(api, auth))
    }

    /// `TOKEN_REFRESH_MARGIN_SECS` (300) and `TOKEN_REFRESH_LEASE_SECS` (60, at least 1).
    pub fn tokens(&self) -> Result<TokenSettings, ConfigError> {
        let margin = self.number_or("TOKEN_REFRESH_MARGIN_SECS", 300)?;
        let lease = self.number_or("TOKEN_REFRESH_LEASE_SECS", 60)?;
        if lease == 0 {
            return Err(ConfigError::Invalid {
                name: "TOKEN_REFRESH_LEASE_SECS",
                reason: "must be at least 1".into(),
            });
        }
        Ok(TokenSettings::new(
            Duration::from_secs(margin),
            Duration::from_secs(lease),
        ))
    }

    /// Overrides of the steps' defaults: `CHUNK_TARGET_SIZE`, `CHUNK_MAX_VIDEO_SIZE`,
    /// `UPLOAD_BUDGET_SECS`, `OPTIONS_WAIT_SECS`, `PROCESSING_DEADLINE_SECS`.
    pub fn pipeline(&self) -> Result<PipelineSettings, ConfigError> {
        let defaults = PipelineSettings::default();
        let chunk_policy = ChunkPolicy::new(
            self.number_or(
                "CHUNK_TARGET_SIZE",
                defaults.chunk_policy.target_chunk_size(),
            )?,
            self.number_or(
                "CHUNK_MAX_VIDEO_SIZE",
                defaults.chunk_policy.max_video_size(),
            )?,
        )
        .map_err(|e| ConfigError::Invalid {
            name: "CHUNK_TARGET_SIZE",
            reason: e.to_string(),
        })?;
        Ok(PipelineSettings {
            chunk_policy,
            upload_budget: self.secs_or("UPLOAD_BUDGET_SECS", defaults.upload_budget)?,
            options_wait: self.secs_or("OPTIONS_WAIT_SECS", defaults.options_wait)?,
            processing_deadline: self
                .secs_or("PROCESSING_DEADLINE_SECS", defaults.processing_deadline)?,
            ..defaults
        })
    }

    /// `PUBLIC_BASE_URL` (required), `TIKTOK_REDIRECT_URI` (default
    /// `{PUBLIC_BASE_URL}/oauth/callback`), `CONNECT_LINK_TTL_SECS` (900) and
    /// `OAUTH_STATE_TTL_SECS` (600), each at least 1 second.
    pub fn connect(&self) -> Result<ConnectSettings, ConfigError> {
        let base = self.url("PUBLIC_BASE_URL", self.required("PUBLIC_BASE_URL")?)?;
        let mut settings = ConnectSettings::new(&base)?;
        if let Some(uri) = self.optional("TIKTOK_REDIRECT_URI") {
            settings = settings.with_redirect_uri(&self.url("TIKTOK_REDIRECT_URI", uri)?)?;
        }
        settings.link_ttl_secs =
            self.positive_secs("CONNECT_LINK_TTL_SECS", DEFAULT_LINK_TTL_SECS)?;
        settings.state_ttl_secs =
            self.positive_secs("OAUTH_STATE_TTL_SECS", DEFAULT_STATE_TTL_SECS)?;
        Ok(settings)
    }

    /// The orphan sweep: `VIDEO_BUCKET` (required), `UPLOAD_PREFIX`,
    /// `SWEEP_ORPHAN_AFTER_MINUTES` (30), `SWEEP_LOOKBACK_HOURS` (72), `STUCK_AFTER_MINUTES`
    /// (360, at least [`MIN_STUCK_AFTER_MINUTES`]), `SWEEP_MAX_OBJECTS` (200),
    /// `SWEEP_MAX_POSTS` (1000).
    pub fn sweep(&self) -> Result<SweepSettings, ConfigError> {
        let defaults = SweepSettings::new(self.video_bucket()?);
        let secs = |name: &'static str, unit: i64, default: i64| -> Result<i64, ConfigError> {
            let value = self.number_or(name, u64::try_from(default / unit).unwrap_or(0))?;
            i64::try_from(value)
                .ok()
                .and_then(|v| v.checked_mul(unit))
                .ok_or(ConfigError::Invalid {
                    name,
                    reason: format!("{value} is too large"),
                })
        };
        let count = |name: &'static str, default: usize| -> Result<usize, ConfigError> {
            let value = self.number_or(name, default as u64)?;
            usize::try_from(value).map_err(|_| ConfigError::Invalid {
                name,
                reason: format!("{value} is too large"),
            })
        };
        let stuck = secs("STUCK_AFTER_MINUTES", 60, defaults.stuck_after_secs)?;
        // Below the pipeline's own processing deadline, healthy posts would be failed.
        let floor = i64::try_from(MIN_STUCK_AFTER_MINUTES).unwrap_or(i64::MAX) * 60;
        if stuck < floor {
            return Err(ConfigError::Invalid {
                name: "STUCK_AFTER_MINUTES",
                reason: format!(
                    "{} is below {MIN_STUCK_AFTER_MINUTES}: a post may process for 2 hours \
                     without a change",
                    stuck / 60
                ),
            });
        }
        Ok(SweepSettings {
            prefix: self.upload_prefix(),
            orphan_after_secs: secs("SWEEP_ORPHAN_AFTER_MINUTES", 60, defaults.orphan_after_secs)?,
            lookback_secs: secs("SWEEP_LOOKBACK_HOURS", 3600, defaults.lookback_secs)?,
            stuck_after_secs: stuck,
            max_objects: count("SWEEP_MAX_OBJECTS", defaults.max_objects)?,
            max_posts: count("SWEEP_MAX_POSTS", defaults.max_posts)?,
            bucket: defaults.bucket,
        })
    }

    /// The S3 trigger: `UPLOAD_PREFIX`, `VIDEO_BUCKET` (unset: any bucket) and
    /// `S3_EVENT_KEY_ENCODING` (`url`, the default, or `raw`).
    pub fn trigger(&self) -> Result<TriggerSettings, ConfigError> {
        Ok(TriggerSettings {
            prefix: self.upload_prefix(),
            bucket: self.optional("VIDEO_BUCKET"),
            key_encoding: self.key_encoding()?,
        })
    }

    /// `S3_EVENT_KEY_ENCODING`: `url` (AWS, the default) or `raw` (moto).
    pub fn key_encoding(&self) -> Result<KeyEncoding, ConfigError> {
        match self
            .optional("S3_EVENT_KEY_ENCODING")
            .as_deref()
            .map(str::trim)
        {
            None | Some("url") => Ok(KeyEncoding::Url),
            Some("raw") => Ok(KeyEncoding::Raw),
            Some(other) => Err(ConfigError::Invalid {
                name: "S3_EVENT_KEY_ENCODING",
                reason: format!("{other:?} is neither \"url\" (AWS) nor \"raw\" (moto)"),
            }),
        }
    }

    /// `TIKTOK_CLIENT_KEY` (required), `WEBHOOK_MAX_AGE_SECS` (260400: 72 h 10 min, at
    /// least 1), `WEBHOOK_MAX_SKEW_SECS` (300, how far ahead) and `WEBHOOK_POST_SEARCH_LIMIT`
    /// (200, at least 1); the secret is passed in (it lives in Secrets Manager in AWS).
    pub fn webhook(&self, client_secret: SecretString) -> Result<WebhookSettings, ConfigError> {
        let mut settings = WebhookSettings::new(self.required("TIKTOK_CLIENT_KEY")?, client_secret);
        settings.max_age = self.secs_or(
            "WEBHOOK_MAX_AGE_SECS",
            Duration::from_secs(DEFAULT_MAX_AGE_SECS),
        )?;
        if settings.max_age.is_zero() {
            // Every delivery would be refused, and TikTok's retries with it.
            return Err(ConfigError::Invalid {
                name: "WEBHOOK_MAX_AGE_SECS",
                reason: "0 would refuse every event; TikTok retries for 72 hours (260400 s \
                         with a margin)"
                    .to_owned(),
            });
        }
        settings.max_skew = self.secs_or(
            "WEBHOOK_MAX_SKEW_SECS",
            Duration::from_secs(DEFAULT_MAX_SKEW_SECS),
        )?;
        let limit = self.number_or(
            "WEBHOOK_POST_SEARCH_LIMIT",
            u64::from(DEFAULT_POST_SEARCH_LIMIT),
        )?;
        settings.post_search_limit =
            u32::try_from(limit)
                .ok()
                .filter(|l| *l > 0)
                .ok_or(ConfigError::Invalid {
                    name: "WEBHOOK_POST_SEARCH_LIMIT",
                    reason: format!("{limit} is not between 1 and {}", u32::MAX),
                })?;
        Ok(settings)
    }

    fn positive_secs(&self, name: &'static str, default: u64) -> Result<i64, ConfigError> {
        match self.number_or(name, default)? {
            // Zero would make every token dead on arrival: surely a mistake.
            0 => Err(ConfigError::Invalid {
                name,
                reason: "must be at least 1 second".into(),
            }),
            value => Ok(i64::try_from(value).unwrap_or(i64::MAX)),
        }
    }
}

pub(super) fn parse_per_window(
    name: &'static str,
    raw: Option<String>,
    default: u32,
) -> Result<u32, ConfigError> {
    let Some(raw) = raw else {
        return Ok(default);
    };
    match raw.trim().parse::<u32>() {
        // Zero would block the call kind forever: no post could ever be published.
        Ok(value) if (1..=MAX_PER_WINDOW).contains(&value) => Ok(value),
        _ => Err(ConfigError::Invalid {
            name,
            reason: format!("{raw:?} is not a whole number from 1 to {MAX_PER_WINDOW}"),
        }),
    }
}

pub(super) fn parse_margin(
    name: &'static str,
    raw: Option<String>,
    default: Duration,
) -> Result<Duration, ConfigError> {
    let Some(raw) = raw else {
        return Ok(default);
    };
    match raw.trim().parse::<u64>() {
        // A margin beyond a minute says the setting was meant in seconds, not milliseconds.
        Ok(ms) if ms <= 60_000 => Ok(Duration::from_millis(ms)),
        _ => Err(ConfigError::Invalid {
            name,
            reason: format!("{raw:?} is not a number of milliseconds from 0 to 60000"),
        }),
    }
}
