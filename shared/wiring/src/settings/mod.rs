//! Every environment variable the Lambdas read is read here, and nowhere else
//! (`docs/settings.md` lists them with their defaults).
//!
//! [`Settings`] reads through a lookup: the process environment in a Lambda
//! ([`Settings::from_env`]), a map in tests ([`Settings::from_pairs`]). Each section
//! ([`Settings::tables`], [`Settings::tiktok`], [`Settings::pipeline`], ...) is read when the
//! service that uses it is built, once per cold start, so a function needs only the
//! variables of the services it runs (the template sets only those). Strings become typed
//! values here (numbers, durations, URLs, enums); the core receives them checked. A blank
//! value counts as unset. Every error is a [`ConfigError`] naming the variable.
//!
//! - this file: the reader, its primitives and the single values (bucket, state machine,
//!   event bus, sealing key, client secret, logging, ...);
//! - [`sections`](self): the core's settings structs, one reader each.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use tiktok_publish_core::config::ConfigError;
use tiktok_publish_core::metrics::{LOCAL_STACK, Metrics, StdoutLines};
use tiktok_publish_core::reconnect::DEFAULT_WARN_DAYS;
use tiktok_publish_core::tiktok::VideoSource;
use tiktok_publish_core::trigger::DEFAULT_UPLOAD_PREFIX;

mod sections;
#[cfg(test)]
mod tests;

type Lookup = dyn Fn(&str) -> Option<String> + Send + Sync;

/// The Lambdas' settings, read through a lookup (see the module's documentation).
#[derive(Clone)]
pub struct Settings {
    lookup: Arc<Lookup>,
}

impl fmt::Debug for Settings {
    /// Values are never printed: some are secrets (`TIKTOK_CLIENT_SECRET`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Settings { .. }")
    }
}

/// Where the TikTok client secret comes from (`TIKTOK_CLIENT_SECRET`, else
/// `TIKTOK_CLIENT_SECRET_ARN`). `Debug` redacts the secret.
#[derive(Debug, Clone)]
pub enum SecretSetting {
    /// `TIKTOK_CLIENT_SECRET` (local runs): the secret itself.
    Given(SecretString),
    /// `TIKTOK_CLIENT_SECRET_ARN`: the Secrets Manager secret, read on first use.
    Arn(String),
    /// Neither is set: asking for the secret fails (oauth-start is given none).
    Unset,
}

/// The front door's settings ([`Settings::front_door`]); its key is read at cold start.
#[derive(Debug, Clone)]
pub struct FrontDoorSetting {
    pub host: String,
    pub key: SecretSetting,
    pub default_source: VideoSource,
}

/// How the functions log (read by [`crate::telemetry::init_logging`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG` (tracing's syntax); unset: `info`.
    pub filter: Option<String>,
    /// `AWS_LAMBDA_LOG_FORMAT` is `JSON` (any case).
    pub json: bool,
}

impl Settings {
    /// The process environment (a thin wrapper over [`std::env::var`]).
    pub fn from_env() -> Settings {
        Settings::from_lookup(|name| std::env::var(name).ok())
    }

    /// Settings read through `lookup` (a variable's value, or `None` when it is unset).
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Settings {
        Settings {
            lookup: Arc::new(lookup),
        }
    }

    /// Settings holding exactly these variables (tests).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Settings {
        let map: HashMap<String, String> = pairs
            .into_iter()
            .map(|(name, value)| (name.into(), value.into()))
            .collect();
        Settings::from_lookup(move |name| map.get(name).cloned())
    }

    // ---- primitives -------------------------------------------------------------------

    /// The variable's value; unset or blank is `None`.
    pub fn optional(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|value| !value.trim().is_empty())
    }

    /// The variable's value; unset or blank is [`ConfigError::Missing`].
    pub fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.optional(name).ok_or(ConfigError::Missing { name })
    }

    /// A whole number with a default.
    pub fn number_or(&self, name: &'static str, default: u64) -> Result<u64, ConfigError> {
        match self.optional(name) {
            None => Ok(default),
            Some(v) => v.trim().parse().map_err(|_| ConfigError::Invalid {
                name,
                reason: format!("{v:?} is not a whole number"),
            }),
        }
    }

    /// A number of seconds with a default.
    fn secs_or(&self, name: &'static str, default: Duration) -> Result<Duration, ConfigError> {
        self.number_or(name, default.as_secs())
            .map(Duration::from_secs)
    }

    /// An absolute URL (parsed to check it, kept as written).
    fn url(&self, name: &'static str, value: String) -> Result<String, ConfigError> {
        url::Url::parse(value.trim()).map_err(|e| ConfigError::Invalid {
            name,
            reason: format!("{value:?}: {e}"),
        })?;
        Ok(value)
    }

    // ---- single values ----------------------------------------------------------------

    /// `VIDEO_BUCKET` (required).
    pub fn video_bucket(&self) -> Result<String, ConfigError> {
        self.required("VIDEO_BUCKET")
    }

    /// `UPLOAD_PREFIX`, default `uploads/`.
    pub fn upload_prefix(&self) -> String {
        self.optional("UPLOAD_PREFIX")
            .unwrap_or_else(|| DEFAULT_UPLOAD_PREFIX.to_owned())
    }

    /// `STATE_MACHINE_ARN` (required).
    pub fn state_machine_arn(&self) -> Result<String, ConfigError> {
        self.required("STATE_MACHINE_ARN")
    }

    /// `EVENT_BUS_NAME`: unset, outcome events are dropped (with a warning each).
    pub fn event_bus(&self) -> Option<String> {
        self.optional("EVENT_BUS_NAME")
    }

    /// `SEALING_KEY_ARN`: unset, tokens and upload URLs are stored unsealed.
    pub fn sealing_key(&self) -> Option<String> {
        self.optional("SEALING_KEY_ARN")
    }

    /// `TIKTOK_CLIENT_SECRET` (local runs), else `TIKTOK_CLIENT_SECRET_ARN`.
    pub fn client_secret(&self) -> SecretSetting {
        if let Some(secret) = self.optional("TIKTOK_CLIENT_SECRET") {
            return SecretSetting::Given(SecretString::from(secret));
        }
        match self.optional("TIKTOK_CLIENT_SECRET_ARN") {
            Some(arn) => SecretSetting::Arn(arn),
            None => SecretSetting::Unset,
        }
    }

    /// The front door, when `FRONT_DOOR_HOST` is set (its domain name, and a port where it is
    /// not 443): the media URLs' key, `MEDIA_SIGNING_KEY` (local runs) or the Secrets Manager
    /// secret `MEDIA_SIGNING_KEY_ARN` names, and `VIDEO_SOURCE_DEFAULT` (`PULL_FROM_URL`
    /// unless set to `FILE_UPLOAD`).
    pub fn front_door(&self) -> Result<Option<FrontDoorSetting>, ConfigError> {
        let Some(host) = self.optional("FRONT_DOOR_HOST") else {
            return Ok(None);
        };
        let key = if let Some(key) = self.optional("MEDIA_SIGNING_KEY") {
            SecretSetting::Given(SecretString::from(key))
        } else {
            SecretSetting::Arn(self.required("MEDIA_SIGNING_KEY_ARN")?)
        };
        let default_source = match self.optional("VIDEO_SOURCE_DEFAULT") {
            None => VideoSource::PullFromUrl,
            Some(value) => VideoSource::parse(value.trim()).ok_or(ConfigError::Invalid {
                name: "VIDEO_SOURCE_DEFAULT",
                reason: format!("must be FILE_UPLOAD or PULL_FROM_URL, not {value:?}"),
            })?,
        };
        Ok(Some(FrontDoorSetting {
            host,
            key,
            default_source,
        }))
    }

    /// `STACK_NAME`, default `local`: the `Stack` dimension of the metrics.
    pub fn stack_name(&self) -> String {
        self.optional("STACK_NAME")
            .unwrap_or_else(|| LOCAL_STACK.to_owned())
    }

    /// The metric emitter: stdout, the stack [`Settings::stack_name`] names.
    pub fn metrics(&self) -> Metrics {
        Metrics::new(self.stack_name(), Arc::new(StdoutLines))
    }

    /// Whether S3's own endpoint is overridden (`AWS_ENDPOINT_URL_S3`, as for moto): S3 is
    /// then addressed path-style.
    pub fn s3_endpoint_overridden(&self) -> bool {
        self.optional("AWS_ENDPOINT_URL_S3").is_some()
    }

    /// `RECONNECT_WARN_DAYS`, default 14.
    pub fn reconnect_warn_days(&self) -> Result<u64, ConfigError> {
        self.number_or("RECONNECT_WARN_DAYS", DEFAULT_WARN_DAYS)
    }

    /// `AWS_LAMBDA_LOG_LEVEL` (else `RUST_LOG`) and `AWS_LAMBDA_LOG_FORMAT`.
    pub fn logging(&self) -> LogSettings {
        LogSettings {
            filter: self
                .optional("AWS_LAMBDA_LOG_LEVEL")
                .or_else(|| self.optional("RUST_LOG")),
            json: self
                .optional("AWS_LAMBDA_LOG_FORMAT")
                .is_some_and(|format| format.trim().eq_ignore_ascii_case("json")),
        }
    }
}
