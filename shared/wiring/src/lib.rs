//! The Lambdas' wiring: the settings read from the environment ([`Settings`], the one place
//! that reads it) and the AWS clients built once per cold start ([`Parts`]), the deployed
//! adapter chosen for every port, and the services each Lambda runs. Nothing below this
//! crate reads `Parts` or the environment; each `functions/*/src/main.rs` builds its parts
//! here and runs one service.
//!
//! - [`settings`]: every environment variable, read into the core's typed settings.
//! - [`parts`]: [`Parts`] and the adapters' choice (sealing key, event bus, reporting store).
//! - [`services`]: the posts API, the sweep and the reconnect check, built from `Parts`.
//! - [`console`]: the web console's sign-in, uploads and site settings.
//! - [`lambda`]: what the three step Lambdas share (the pipeline built once, typed input).
//! - [`telemetry`]: the functions' logging (payload-logging library targets held below TRACE).
//! - [`trigger`]: the S3 trigger's service, from the few settings that function is given.
//! - [`public_routes`]: the routes the internet reaches without IAM (OAuth start and
//!   callback, TikTok's webhook), from `lambda_http`'s request to the core's answer.

pub mod console;
pub mod lambda;
pub mod parts;
pub mod public_routes;
pub mod services;
pub mod settings;
pub mod telemetry;
pub mod trigger;

pub use parts::{
    ClientSecret, Parts, aws_config, outcome_events, post_ends, s3_client, secret_codec,
};
pub use public_routes::{OAuthCallback, OAuthStart, TikTokWebhook};
pub use settings::{SecretSetting, Settings};
pub use tiktok_publish_core::setup::WiringError;
