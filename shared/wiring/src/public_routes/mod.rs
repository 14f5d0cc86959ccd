//! The three routes the internet reaches without IAM, as Lambdas serve them: what each
//! builds once per cold start from [`Parts`](crate::Parts), and the glue between
//! `lambda_http`'s request and the core's HTTP-free logic (`connect`, `webhook`).
//!
//! - [`OAuthStart`]: `GET /oauth/start?link=...` (`oauth-start`).
//! - [`OAuthCallback`]: `GET /oauth/callback` (`oauth-callback`).
//! - [`TikTokWebhook`]: `POST /webhooks/tiktok` (`tiktok-webhook`).

mod oauth_callback;
mod oauth_start;
mod tiktok_webhook;

pub use oauth_callback::OAuthCallback;
pub use oauth_start::OAuthStart;
pub use tiktok_webhook::TikTokWebhook;
