//! `GET /oauth/start?link=...` (public): redeems a connect link and sends the browser to
//! TikTok's authorize page, or answers a small page saying why not. The logic is
//! `tiktok_publish_core::connect`; the glue is `tiktok_publish_wiring::OAuthStart`.

use lambda_http::{Error, service_fn};
use tiktok_publish_core::store::unix_now;
use tiktok_publish_wiring::{Parts, aws_config};

#[tokio::main]
async fn main() -> Result<(), Error> {
    tiktok_publish_wiring::telemetry::init_logging();
    // Built once per cold start: the oauth table, the settings; no network call.
    let start = Parts::from_env(aws_config().await)?.oauth_start()?;
    let start = &start;
    lambda_http::run(service_fn(move |request| start.handle(request, unix_now()))).await
}

#[cfg(test)]
mod tests;
