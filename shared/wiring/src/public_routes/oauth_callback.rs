//! `GET /oauth/callback` (public; the redirect URI registered with TikTok): checks the state
//! and the browser binding, exchanges the code, stores the account's tokens, and answers a
//! small page saying which account was connected or what went wrong.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use lambda_http::http::header::COOKIE;
use lambda_http::{Body, Request, RequestExt, Response};
use tokio::sync::OnceCell;

use tiktok_publish_adapters::TikTokClient;
use tiktok_publish_core::config::ConfigError;
use tiktok_publish_core::connect::{
    CALLBACK_PARAMS, CallbackCheck, CallbackOutcome, CallbackRequest, ConnectError,
    ConnectSettings, callback_response, check_callback, complete_callback,
};
use tiktok_publish_core::setup::WiringError;
use tiktok_publish_core::store::{OAuthStateStore, UnixTime};
use tiktok_publish_core::tokens::TokenService;

use crate::Parts;

/// API Gateway gives up on the browser after 30 s: the code exchange must fail (with a page
/// saying so) well before that, rather than leave the person with a gateway time-out.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(10);

/// What `oauth-callback` uses on every request, built once per cold start.
pub struct OAuthCallback {
    pub oauth: Arc<dyn OAuthStateStore>,
    pub settings: ConnectSettings,
    /// Built on the first callback that gets as far as the exchange: the client secret is
    /// fetched only then, so forged or stale callbacks never touch Secrets Manager.
    tokens: OnceCell<TokenService>,
    parts: Option<Parts>,
}

impl Parts {
    /// The deployed `oauth-callback`: the oauth table, the connect settings
    /// (`PUBLIC_BASE_URL`, ...), and the token service built on first use.
    pub fn oauth_callback(&self) -> Result<OAuthCallback, WiringError> {
        Ok(OAuthCallback {
            oauth: self.oauth.clone(),
            settings: self.settings.connect()?,
            tokens: OnceCell::new(),
            parts: Some(self.clone()),
        })
    }
}

impl OAuthCallback {
    /// A callback whose token service is built already (tests, or a caller that wires it
    /// some other way).
    pub fn with_token_service(
        oauth: Arc<dyn OAuthStateStore>,
        settings: ConnectSettings,
        tokens: TokenService,
    ) -> Self {
        OAuthCallback {
            oauth,
            settings,
            tokens: OnceCell::new_with(Some(tokens)),
            parts: None,
        }
    }

    /// Never fails: every outcome, errors included, is an HTML page, and every answer
    /// deletes the binding cookie.
    pub async fn handle(
        &self,
        request: Request,
        now: UnixTime,
    ) -> Result<Response<Body>, Infallible> {
        let outcome = self.callback(&request, now).await;
        Ok(callback_response(outcome).map(Body::from))
    }

    async fn callback(
        &self,
        request: &Request,
        now: UnixTime,
    ) -> Result<CallbackOutcome, ConnectError> {
        let params = request.query_string_parameters();
        // lambda_http has decoded the query once; the values are used as they are (TikTok's
        // code contains `*` and `!`, and decoding it again would corrupt it).
        let pairs = CALLBACK_PARAMS.iter().flat_map(|name| {
            params
                .all(name)
                .unwrap_or_default()
                .into_iter()
                .map(move |value| (*name, value))
        });
        let cookie_headers = request
            .headers()
            .get_all(COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok());
        let callback = match CallbackRequest::read(pairs, cookie_headers) {
            Ok(callback) => callback,
            Err(refusal) => return Ok(CallbackOutcome::Refused(refusal)),
        };
        match check_callback(self.oauth.as_ref(), &self.settings, &callback, now).await? {
            CallbackCheck::Refused(refusal) => Ok(CallbackOutcome::Refused(refusal)),
            CallbackCheck::Exchange(exchange) => {
                let tokens = self.token_service().await?;
                Ok(complete_callback(tokens, exchange).await)
            }
        }
    }

    async fn token_service(&self) -> Result<&TokenService, WiringError> {
        self.tokens
            .get_or_try_init(|| async {
                let Some(parts) = &self.parts else {
                    return Err(WiringError::Config(ConfigError::Missing {
                        name: "TIKTOK_CLIENT_SECRET_ARN",
                    }));
                };
                let mut config = parts.settings.tiktok(parts.secret.clone())?;
                config.request_timeout = EXCHANGE_TIMEOUT;
                parts.token_service(&TikTokClient::new(config)?)
            })
            .await
    }
}
