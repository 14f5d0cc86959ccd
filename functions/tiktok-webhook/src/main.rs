//! `POST /webhooks/tiktok` (public: TikTok calls it): verifies the `TikTok-Signature` of a
//! webhook event and records it (an upload's outcome on its post; `authorization.removed` on
//! the account and its waiting posts). Answers 200 for every valid event, 401 for a missing,
//! wrong or stale signature, 400 for a malformed event, 503 when it could not be recorded
//! (TikTok delivers it again).

use std::convert::Infallible;
use std::sync::Arc;

use lambda_http::http::header::CONTENT_TYPE;
use lambda_http::{Body, Request, Response, service_fn};
use tiktok_publish_core::config::ClientSecretSource;
use tiktok_publish_core::store::{PostStore, TokenStore, UnixTime, unix_now};
use tiktok_publish_core::webhook::{
    SIGNATURE_HEADER, WebhookError, WebhookSettings, answer, receive,
};
use tiktok_publish_wiring::{Parts, WiringError, aws_config};
use tokio::sync::OnceCell;

/// What every invocation uses, built once per cold start.
struct App {
    posts: Arc<dyn PostStore>,
    tokens: Arc<dyn TokenStore>,
    /// Built on the first signed request: the client secret is fetched only then, so
    /// unsigned requests never touch Secrets Manager.
    settings: OnceCell<WebhookSettings>,
    secret: Arc<dyn ClientSecretSource>,
}

impl App {
    async fn settings(&self) -> Result<&WebhookSettings, WiringError> {
        self.settings
            .get_or_try_init(|| async {
                let secret = self.secret.client_secret().await?;
                Ok(WebhookSettings::from_env(secret)?)
            })
            .await
    }
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tiktok_publish_wiring::telemetry::init_logging();
    let parts = Parts::from_env(aws_config().await)?;
    let app = App {
        // Posts the webhook ends and accounts it marks send their outcome events.
        posts: parts.outcome_posts(),
        tokens: parts.eventing_accounts(),
        settings: OnceCell::new(),
        secret: parts.secret.clone(),
    };
    let app = &app;
    lambda_http::run(service_fn(move |request: Request| async move {
        handle(app, request, unix_now()).await
    }))
    .await
}

/// Never fails: every outcome is a JSON answer with the status TikTok acts on.
async fn handle(app: &App, request: Request, now: UnixTime) -> Result<Response<Body>, Infallible> {
    let signature = request
        .headers()
        .get(SIGNATURE_HEADER)
        .and_then(|value| value.to_str().ok());
    let result = match signature {
        None => Err(WebhookError::Unsigned),
        Some(signature) => {
            let settings = match app.settings().await {
                Ok(settings) => settings,
                Err(error) => {
                    tracing::error!(error = ?error, "cannot verify webhook events without the client secret");
                    let body = serde_json::json!({
                        "error": "the webhook cannot verify events now; TikTok will deliver it again"
                    });
                    return Ok(json_response(503, body));
                }
            };
            let body: &[u8] = request.body().as_ref();
            receive(
                settings,
                app.posts.as_ref(),
                app.tokens.as_ref(),
                Some(signature),
                body,
                now,
            )
            .await
        }
    };
    if let Err(error) = &result {
        tracing::warn!(error = %error, status = error.http_status(), "webhook event not recorded");
    }
    let (status, body) = answer(&result);
    Ok(json_response(status, body))
}

fn json_response(status: u16, body: serde_json::Value) -> Response<Body> {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = lambda_http::http::StatusCode::from_u16(status)
        .unwrap_or(lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        CONTENT_TYPE,
        lambda_http::http::HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests;
