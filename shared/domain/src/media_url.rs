//! The front door's media URLs: what TikTok downloads when it pulls a video or a photo
//! (PULL_FROM_URL). `infra/cloudfront/media-url.js`, a CloudFront Function, lets a URL
//! through only if it was signed here with the same key and has not expired. Both sides
//! follow this format:
//!
//! `https://{host}/media/{key}?v={version}&exp={unix seconds}&sig={signature}`, where the
//! signature is base64url (no padding) of HMAC-SHA256(key, `GET\n{path}\n{version}\n{exp}`),
//! and `{path}` is `/media/{key}` exactly as sent, with each segment percent-encoded.
//!
//! docs/front-door.md says why this is an HMAC checked at the edge rather than CloudFront
//! signed URLs.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// TikTok gives up on a download one hour after it starts it (Media Transfer Guide). A URL
/// lives that long after init, plus a quarter of an hour for a late start and clock skew.
pub const MEDIA_URL_LIFETIME_SECS: i64 = 3600 + 900;

/// The path under which the front door serves media, and the only objects it serves.
pub const MEDIA_PATH: &str = "/media/";
pub const SERVED_PREFIX: &str = "uploads/";

/// What a path segment keeps as is: RFC 3986's unreserved characters. Everything else is
/// percent-encoded, so the signed path is the one CloudFront hands to the function.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Why a media URL was not made. Each is a fault of the caller, never of TikTok or AWS.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaUrlError {
    #[error("the object {key} is not under {SERVED_PREFIX}: the front door serves nothing else")]
    NotServed { key: String },
    #[error(
        "the version id {version:?} has characters S3 does not put in one; the front door would refuse it"
    )]
    UnusualVersion { version: String },
    #[error("the front door host {host:?} is not a domain name")]
    BadHost { host: String },
}

/// Signs the front door's media URLs. Built once per Lambda from its settings.
#[derive(Clone)]
pub struct MediaUrlSigner {
    host: String,
    key: SecretString,
}

impl std::fmt::Debug for MediaUrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaUrlSigner")
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

impl MediaUrlSigner {
    /// `host` is the user's domain name (`DomainName` in the template), without a scheme. A
    /// port may follow it (`name:8443`) where the front door is not on 443, as locally.
    pub fn new(host: &str, key: SecretString) -> Result<Self, MediaUrlError> {
        let (name, port) = match host.rsplit_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (host, None),
        };
        let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
        let valid = port_ok
            && !name.is_empty()
            && name.len() <= 253
            && name.contains('.')
            && name.split('.').all(|label| {
                !label.is_empty()
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !valid {
            return Err(MediaUrlError::BadHost {
                host: host.to_owned(),
            });
        }
        Ok(Self {
            host: host.to_ascii_lowercase(),
            key,
        })
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// The URL prefix to verify in TikTok's portal (it must end with a slash).
    pub fn url_prefix(&self) -> String {
        format!("https://{}{MEDIA_PATH}", self.host)
    }

    /// A URL for one version of one object, valid until `expires_at` (unix seconds).
    pub fn sign(&self, key: &str, version: &str, expires_at: i64) -> Result<String, MediaUrlError> {
        if !key.starts_with(SERVED_PREFIX)
            || key
                .split('/')
                .any(|s| s.is_empty() || s == "." || s == "..")
        {
            return Err(MediaUrlError::NotServed {
                key: key.to_owned(),
            });
        }
        let plain_version = !version.is_empty()
            && version.len() <= 1024
            && version
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if !plain_version {
            return Err(MediaUrlError::UnusualVersion {
                version: version.to_owned(),
            });
        }
        let encoded: Vec<String> = key
            .split('/')
            .map(|segment| utf8_percent_encode(segment, SEGMENT).to_string())
            .collect();
        let path = format!("{MEDIA_PATH}{}", encoded.join("/"));
        let signature = self.signature(&path, version, expires_at);
        Ok(format!(
            "https://{}{path}?v={version}&exp={expires_at}&sig={signature}",
            self.host
        ))
    }

    fn signature(&self, path: &str, version: &str, expires_at: i64) -> String {
        // HMAC takes a key of any length; new_from_slice cannot fail for it.
        let mut mac = <Hmac<Sha256>>::new_from_slice(self.key.expose_secret().as_bytes())
            .expect("HMAC accepts keys of any length");
        mac.update(format!("GET\n{path}\n{version}\n{expires_at}").as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> MediaUrlSigner {
        MediaUrlSigner::new("Media.Example.com", SecretString::from("k".repeat(64))).unwrap()
    }

    #[test]
    fn a_url_names_the_host_the_encoded_key_the_version_and_the_expiry() {
        let url = signer()
            .sign("uploads/open-1/my clip é.mp4", "v1.a_b-c", 1_800_000_000)
            .unwrap();
        let (base, query) = url.split_once('?').unwrap();
        assert_eq!(
            base,
            "https://media.example.com/media/uploads/open-1/my%20clip%20%C3%A9.mp4"
        );
        let parts: Vec<&str> = query.split('&').collect();
        assert_eq!(parts[0], "v=v1.a_b-c");
        assert_eq!(parts[1], "exp=1800000000");
        let signature = parts[2].strip_prefix("sig=").unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(signature).unwrap().len(), 32);
    }

    #[test]
    fn the_signature_covers_path_version_expiry_and_key() {
        let one = signer();
        let sig = |s: &MediaUrlSigner, key: &str, version: &str, exp: i64| {
            s.sign(key, version, exp)
                .unwrap()
                .rsplit_once("sig=")
                .unwrap()
                .1
                .to_owned()
        };
        let base = sig(&one, "uploads/a.mp4", "v1", 10);
        assert_ne!(base, sig(&one, "uploads/b.mp4", "v1", 10));
        assert_ne!(base, sig(&one, "uploads/a.mp4", "v2", 10));
        assert_ne!(base, sig(&one, "uploads/a.mp4", "v1", 11));
        let other =
            MediaUrlSigner::new("media.example.com", SecretString::from("x".repeat(64))).unwrap();
        assert_ne!(base, sig(&other, "uploads/a.mp4", "v1", 10));
        assert_eq!(base, sig(&one, "uploads/a.mp4", "v1", 10));
    }

    #[test]
    fn only_plain_uploads_and_plain_versions_are_signed() {
        let s = signer();
        for key in [
            "config/a.json",
            "uploads/../config/a.json",
            "uploads//a.mp4",
            "uploads/a/./b",
            "/uploads/a",
        ] {
            assert_eq!(
                s.sign(key, "v1", 1),
                Err(MediaUrlError::NotServed { key: key.into() }),
                "{key}"
            );
        }
        for version in ["", "v/1", "v 1", "v%201", "null&x=1"] {
            assert!(
                matches!(
                    s.sign("uploads/a.mp4", version, 1),
                    Err(MediaUrlError::UnusualVersion { .. })
                ),
                "{version}"
            );
        }
    }

    #[test]
    fn a_host_must_be_a_bare_domain_name() {
        for host in [
            "",
            "localhost",
            "https://a.example.com",
            "a.example.com/x",
            "a..example.com",
            "a.example.com:0",
            "a.example.com:x",
            ":443",
        ] {
            assert!(
                MediaUrlSigner::new(host, SecretString::from("k")).is_err(),
                "{host}"
            );
        }
        assert_eq!(signer().url_prefix(), "https://media.example.com/media/");
        let local = MediaUrlSigner::new("media.tiktok-publish.test:8443", SecretString::from("k"));
        assert_eq!(
            local.unwrap().url_prefix(),
            "https://media.tiktok-publish.test:8443/media/"
        );
    }

    #[test]
    fn the_key_never_shows_in_debug_output() {
        assert!(!format!("{:?}", signer()).contains("kkkk"));
    }
}
