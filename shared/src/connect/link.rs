//! Step 1: the connect link, issued behind the IAM-authorised API.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use crate::config::ConfigError;
use crate::setup::WiringError;
use crate::store::{OAuthStateStore, OneTimeKind, OneTimeRecord, UnixTime};

use super::{ConnectError, ConnectSettings, LINK_PARAM, START_PATH};

/// A connect link: `{PUBLIC_BASE_URL}/oauth/start?link=TOKEN`. Whoever holds it may connect
/// one account until `expires_at`, so `Debug` redacts it.
#[derive(Clone)]
pub struct ConnectLink {
    url: SecretString,
    pub expires_at: UnixTime,
}

impl ConnectLink {
    /// The link to hand to the person connecting (a bearer credential until used).
    pub fn expose(&self) -> &str {
        self.url.expose_secret()
    }
}

impl fmt::Debug for ConnectLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectLink")
            .field("url", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Issues a single-use connect link valid for `settings.link_ttl_secs`. `requested_by`
/// (for example the IAM caller's ARN) is kept with the link and logged when an account
/// connects through it.
pub async fn issue_connect_link(
    store: &dyn OAuthStateStore,
    settings: &ConnectSettings,
    requested_by: Option<&str>,
    now: UnixTime,
) -> Result<ConnectLink, ConnectError> {
    let mut record = OneTimeRecord::new(OneTimeKind::ConnectLink, now, settings.link_ttl_secs);
    record.note = requested_by.map(str::to_owned);
    let token = store.issue(&record).await?;
    let mut url = match url::Url::parse(&format!("{}{START_PATH}", settings.public_base_url)) {
        Ok(url) => url,
        Err(e) => {
            // ConnectSettings::new validated the base URL; only a hand-built value gets here.
            return Err(ConnectError::Wiring(WiringError::Config(
                ConfigError::Invalid {
                    name: "PUBLIC_BASE_URL",
                    reason: e.to_string(),
                },
            )));
        }
    };
    url.query_pairs_mut()
        .append_pair(LINK_PARAM, token.expose());
    tracing::info!(expires_at = record.expires_at, "connect link issued");
    Ok(ConnectLink {
        url: SecretString::from(String::from(url)),
        expires_at: record.expires_at,
    })
}
