//! `POST /webhooks/tiktok` (public: TikTok calls it): verifies the `TikTok-Signature` of a
//! webhook event and records it. Answers 200 for every valid event, 401 for a missing, wrong
//! or stale signature, 400 for a malformed event, 503 when it could not be recorded (TikTok
//! delivers it again).

use std::convert::Infallible;
use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use tokio::sync::OnceCell;

use tiktok_publish_core::config::{ClientSecretSource, NoClientSecret};
use tiktok_publish_core::ends::PostEnds;
use tiktok_publish_core::setup::WiringError;
use tiktok_publish_core::store::{PostStore, TokenStore, UnixTime};
use tiktok_publish_core::webhook::{
    SIGNATURE_HEADER, WebhookError, WebhookSettings, receive, response, unavailable_response,
};

use crate::{Parts, Settings};

/// What `tiktok-webhook` uses on every request, built once per cold start.
pub struct TikTokWebhook {
    pub posts: Arc<dyn PostStore>,
    /// What the posts the webhook ends set off (events, metrics, retention tags).
    pub ends: PostEnds,
    pub tokens: Arc<dyn TokenStore>,
    /// Built on the first signed request: the client secret is fetched only then, so
    /// unsigned requests never touch Secrets Manager.
    settings: OnceCell<WebhookSettings>,
    secret: Arc<dyn ClientSecretSource>,
    /// Where the settings are read from (`TIKTOK_CLIENT_KEY`, ...).
    reader: Settings,
}

impl Parts {
    /// The deployed `tiktok-webhook`: posts the webhook ends and accounts it marks send
    /// their outcome events; the settings (`TIKTOK_CLIENT_KEY`, ...) are read on first use.
    pub fn tiktok_webhook(&self) -> TikTokWebhook {
        TikTokWebhook::new(
            self.posts.clone(),
            self.post_ends(),
            self.accounts.clone(),
            self.secret.clone(),
            self.settings.clone(),
        )
    }
}

impl TikTokWebhook {
    /// Reads its settings from `reader`, and `secret`, on the first signed request.
    pub fn new(
        posts: Arc<dyn PostStore>,
        ends: PostEnds,
        tokens: Arc<dyn TokenStore>,
        secret: Arc<dyn ClientSecretSource>,
        reader: Settings,
    ) -> Self {
        TikTokWebhook {
            posts,
            ends,
            tokens,
            settings: OnceCell::new(),
            secret,
            reader,
        }
    }

    /// With its settings ready (tests, or a caller that wires them some other way).
    pub fn with_settings(
        posts: Arc<dyn PostStore>,
        ends: PostEnds,
        tokens: Arc<dyn TokenStore>,
        settings: WebhookSettings,
    ) -> Self {
        TikTokWebhook {
            posts,
            ends,
            tokens,
            settings: OnceCell::new_with(Some(settings)),
            secret: Arc::new(NoClientSecret),
            reader: Settings::from_lookup(|_| None),
        }
    }

    /// Never fails: every outcome is a JSON answer with the status TikTok acts on.
    pub async fn handle(
        &self,
        request: Request,
        now: UnixTime,
    ) -> Result<Response<Body>, Infallible> {
        let signature = request
            .headers()
            .get(SIGNATURE_HEADER)
            .and_then(|value| value.to_str().ok());
        let result = match signature {
            None => Err(WebhookError::Unsigned),
            Some(signature) => {
                let settings = match self.settings().await {
                    Ok(settings) => settings,
                    Err(error) => {
                        tracing::error!(
                            error = ?error,
                            "cannot verify webhook events without the client secret"
                        );
                        return Ok(unavailable_response().map(Body::from));
                    }
                };
                let body: &[u8] = request.body().as_ref();
                receive(
                    settings,
                    self.posts.as_ref(),
                    &self.ends,
                    self.tokens.as_ref(),
                    Some(signature),
                    body,
                    now,
                )
                .await
            }
        };
        Ok(response(&result).map(Body::from))
    }

    async fn settings(&self) -> Result<&WebhookSettings, WiringError> {
        self.settings
            .get_or_try_init(|| async {
                let secret = self.secret.client_secret().await?;
                Ok(self.reader.webhook(secret)?)
            })
            .await
    }
}
