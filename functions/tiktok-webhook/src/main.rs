//! `POST /webhooks/tiktok` (public: TikTok calls it): verifies the `TikTok-Signature` of a
//! webhook event and records it (an upload's outcome on its post; `authorization.removed` on
//! the account and its waiting posts). Answers 200 for every valid event, 401 for a missing,
//! wrong or stale signature, 400 for a malformed event, 503 when it could not be recorded
//! (TikTok delivers it again). The logic is `tiktok_publish_core::webhook`; the glue is
//! `tiktok_publish_wiring::TikTokWebhook`.

use lambda_http::{Error, service_fn};
use tiktok_publish_core::store::unix_now;
use tiktok_publish_wiring::{Parts, aws_config};

#[tokio::main]
async fn main() -> Result<(), Error> {
    tiktok_publish_wiring::telemetry::init_logging();
    // Built once per cold start: the posts and accounts tables; the client secret is
    // fetched only by the first signed request.
    let webhook = Parts::from_env(aws_config().await)?.tiktok_webhook();
    let webhook = &webhook;
    lambda_http::run(service_fn(move |request| {
        webhook.handle(request, unix_now())
    }))
    .await
}

#[cfg(test)]
mod tests;
