//! `GET /oauth/start?link=...` (public): redeems a connect link and sends the browser to
//! TikTok's authorize page, or answers a small page saying why not.

use std::convert::Infallible;
use std::sync::Arc;

use lambda_http::{Body, Request, RequestExt, Response};
use tiktok_publish_adapters::TikTokClient;
use tiktok_publish_core::config::NoClientSecret;
use tiktok_publish_core::connect::{
    ConnectSettings, LINK_PARAM, start_connect, start_response, the_only_link,
};
use tiktok_publish_core::setup::WiringError;
use tiktok_publish_core::store::{OAuthStateStore, UnixTime};

use crate::Parts;

/// What `oauth-start` uses on every request, built once per cold start.
pub struct OAuthStart {
    pub oauth: Arc<dyn OAuthStateStore>,
    /// Builds the authorize URL only: it holds no client secret.
    pub tiktok: TikTokClient,
    pub settings: ConnectSettings,
}

impl Parts {
    /// The deployed `oauth-start`: the oauth table, TikTok's client key
    /// (`TIKTOK_CLIENT_KEY`) and the connect settings (`PUBLIC_BASE_URL`, ...).
    pub fn oauth_start(&self) -> Result<OAuthStart, WiringError> {
        // This function only builds the authorize URL and never calls the token endpoint, so
        // it is given no client secret (its role cannot read it either).
        let tiktok = TikTokClient::new(self.settings.tiktok(Arc::new(NoClientSecret))?)?;
        Ok(OAuthStart {
            oauth: self.oauth.clone(),
            tiktok,
            settings: self.settings.connect()?,
        })
    }
}

impl OAuthStart {
    /// Never fails: every outcome, errors included, is an HTML page or the redirect.
    pub async fn handle(
        &self,
        request: Request,
        now: UnixTime,
    ) -> Result<Response<Body>, Infallible> {
        let params = request.query_string_parameters();
        let link = params
            .all(LINK_PARAM)
            .and_then(|values| the_only_link(&values));
        let outcome =
            start_connect(self.oauth.as_ref(), &self.tiktok, &self.settings, link, now).await;
        Ok(start_response(outcome).map(Body::from))
    }
}
