//! Where the connect flow lives and how long its one-time tokens last (read from the
//! environment once, by the wiring).

use crate::config::ConfigError;

use super::{CALLBACK_PATH, DEFAULT_LINK_TTL_SECS, DEFAULT_STATE_TTL_SECS};

/// Where the connect flow lives and how long its one-time tokens last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectSettings {
    /// The API's public base URL, no trailing slash (`PUBLIC_BASE_URL`): connect links
    /// point at it. Taken from configuration, never from the request (behind API Gateway
    /// or `cargo lambda watch` the request's own URL is not the public one).
    pub public_base_url: String,
    /// The redirect URI registered with TikTok (`TIKTOK_REDIRECT_URI`, default
    /// `{PUBLIC_BASE_URL}/oauth/callback`). Sent to the authorize page and repeated, byte
    /// for byte, in the code exchange.
    pub redirect_uri: String,
    /// Seconds a connect link stays usable (`CONNECT_LINK_TTL_SECS`, default 900).
    pub link_ttl_secs: i64,
    /// Seconds an OAuth state stays usable (`OAUTH_STATE_TTL_SECS`, default 600).
    pub state_ttl_secs: i64,
}

impl ConnectSettings {
    /// Settings for this base URL: redirect URI `{base}/oauth/callback`, default lifetimes.
    pub fn new(public_base_url: &str) -> Result<ConnectSettings, ConfigError> {
        let base = absolute_url("PUBLIC_BASE_URL", public_base_url.trim())?;
        let base = base.trim_end_matches('/').to_owned();
        let redirect_uri = format!("{base}{CALLBACK_PATH}");
        registrable_redirect("PUBLIC_BASE_URL", &redirect_uri)?;
        Ok(ConnectSettings {
            redirect_uri,
            public_base_url: base,
            link_ttl_secs: secs(DEFAULT_LINK_TTL_SECS),
            state_ttl_secs: secs(DEFAULT_STATE_TTL_SECS),
        })
    }

    /// The same settings with another registered redirect URI.
    pub fn with_redirect_uri(mut self, redirect_uri: &str) -> Result<ConnectSettings, ConfigError> {
        self.redirect_uri = absolute_url("TIKTOK_REDIRECT_URI", redirect_uri.trim())?;
        registrable_redirect("TIKTOK_REDIRECT_URI", &self.redirect_uri)?;
        Ok(self)
    }
}

/// Why a redirect URI cannot be registered with TikTok's Login Kit for Web.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RedirectRefusal {
    #[error("must use https (plain http only on a loopback host, as the local stack does)")]
    NotHttps,
    #[error("must carry no query or fragment: TikTok compares it exactly")]
    QueryOrFragment,
}

/// What TikTok's Login Kit for Web accepts as a redirect URI: https, without a query or a
/// fragment (the local stack's plain http stays allowed on a loopback host only).
fn registrable_redirect(name: &'static str, value: &str) -> Result<(), ConfigError> {
    let url = url::Url::parse(value).map_err(|e| ConfigError::Invalid {
        name,
        reason: format!("{value:?}: {e}"),
    })?;
    redirect_refusal(&url).map_or(Ok(()), |refusal| {
        Err(ConfigError::Invalid {
            name,
            reason: format!("the redirect URI {value:?} {refusal}"),
        })
    })
}

fn redirect_refusal(url: &url::Url) -> Option<RedirectRefusal> {
    let loopback = match url.host() {
        Some(url::Host::Domain(domain)) => domain == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    if url.scheme() != "https" && !loopback {
        Some(RedirectRefusal::NotHttps)
    } else if url.query().is_some() || url.fragment().is_some() {
        Some(RedirectRefusal::QueryOrFragment)
    } else {
        None
    }
}

fn absolute_url(name: &'static str, value: &str) -> Result<String, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid { name, reason };
    let url = url::Url::parse(value).map_err(|e| invalid(format!("{value:?}: {e}")))?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
        return Err(invalid(format!("{value:?} is not an absolute http(s) URL")));
    }
    Ok(value.to_owned())
}

fn secs(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_default_the_redirect_uri_from_the_base_url() {
        let s = ConnectSettings::new("https://api.example.com/").unwrap();
        assert_eq!(s.public_base_url, "https://api.example.com");
        assert_eq!(s.redirect_uri, "https://api.example.com/oauth/callback");
        assert_eq!(s.link_ttl_secs, 900);
        let s = s.with_redirect_uri("https://auth.example.com/cb").unwrap();
        assert_eq!(s.redirect_uri, "https://auth.example.com/cb");
        assert!(ConnectSettings::new("api.example.com").is_err());
        assert!(ConnectSettings::new("ftp://api.example.com").is_err());
    }

    #[test]
    fn a_redirect_uri_is_https_without_a_query_except_on_loopback() {
        let refusal = |uri: &str| redirect_refusal(&url::Url::parse(uri).unwrap());
        assert_eq!(
            refusal("http://api.example.com/oauth/callback"),
            Some(RedirectRefusal::NotHttps)
        );
        assert_eq!(
            refusal("https://auth.example.com/cb?a=1"),
            Some(RedirectRefusal::QueryOrFragment)
        );
        assert_eq!(
            refusal("https://auth.example.com/cb#x"),
            Some(RedirectRefusal::QueryOrFragment)
        );
        assert_eq!(refusal("https://auth.example.com/cb"), None);
        // The refusal names the variable the redirect came from.
        let name = |result: Result<ConnectSettings, ConfigError>| match result {
            Err(ConfigError::Invalid { name, .. }) => name,
            other => panic!("expected a refusal, got {other:?}"),
        };
        assert_eq!(
            name(ConnectSettings::new("http://api.example.com")),
            "PUBLIC_BASE_URL"
        );
        let base = ConnectSettings::new("https://api.example.com").unwrap();
        let redirect = base.with_redirect_uri("http://auth.example.com/cb");
        assert_eq!(name(redirect), "TIKTOK_REDIRECT_URI");
        // The local stack: plain http on loopback.
        for local in [
            "http://127.0.0.1:3000",
            "http://localhost:3000",
            "http://[::1]:3000",
        ] {
            let settings = ConnectSettings::new(local).unwrap();
            assert_eq!(settings.redirect_uri, format!("{local}/oauth/callback"));
        }
    }
}
