//! `GET /oauth/callback` (public; the redirect URI registered with TikTok): checks the state
//! and the browser binding, exchanges the code, stores the account's tokens, and answers a
//! small page saying which account was connected or what went wrong. The logic is
//! `tiktok_publish_core::connect`; the glue is `tiktok_publish_wiring::OAuthCallback`.

use lambda_http::{Error, service_fn};
use tiktok_publish_core::store::unix_now;
use tiktok_publish_wiring::{Parts, aws_config};

#[tokio::main]
async fn main() -> Result<(), Error> {
    tiktok_publish_wiring::telemetry::init_logging();
    // Built once per cold start: the oauth table, the settings; the client secret is
    // fetched only by the first callback that gets as far as the code exchange.
    let callback = Parts::from_env(aws_config().await)?.oauth_callback()?;
    let callback = &callback;
    lambda_http::run(service_fn(move |request| {
        callback.handle(request, unix_now())
    }))
    .await
}

#[cfg(test)]
mod tests;
