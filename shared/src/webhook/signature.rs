//! The `TikTok-Signature: t=..,s=..` header: `s` is the hex HMAC-SHA256, keyed with the
//! client secret, of `{t}.{raw body}`.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use crate::store::UnixTime;

use super::{WebhookError, WebhookSettings};

type HmacSha256 = Hmac<Sha256>;

/// The parts of a `TikTok-Signature` header.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Signature {
    timestamp: i64,
    mac: Vec<u8>,
}

fn parse_signature(header: &str) -> Result<Signature, WebhookError> {
    let mut timestamp = None;
    let mut mac = None;
    for part in header.split(',') {
        let Some((name, value)) = part.trim().split_once('=') else {
            return Err(WebhookError::MalformedSignature("a part is not name=value"));
        };
        match name.trim() {
            "t" => {
                let t = value
                    .trim()
                    .parse::<i64>()
                    .map_err(|_| WebhookError::MalformedSignature("t is not a number"))?;
                timestamp = Some(t);
            }
            "s" => {
                let bytes = hex::decode(value.trim())
                    .map_err(|_| WebhookError::MalformedSignature("s is not hex"))?;
                mac = Some(bytes);
            }
            // Parts TikTok might add later do not invalidate the ones we check.
            _ => {}
        }
    }
    match (timestamp, mac) {
        (Some(timestamp), Some(mac)) => Ok(Signature { timestamp, mac }),
        (None, _) => Err(WebhookError::MalformedSignature("t is missing")),
        (_, None) => Err(WebhookError::MalformedSignature("s is missing")),
    }
}

fn keyed_mac(secret: &SecretString, timestamp: i64, body: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length: this cannot fail.
    let mut mac = HmacSha256::new_from_slice(secret.expose_secret().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of every length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `TikTok-Signature` value for `body` signed at `timestamp` (tests and stand-ins).
pub fn sign(secret: &SecretString, timestamp: i64, body: &[u8]) -> String {
    let mac = keyed_mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},s={}", hex::encode(mac))
}

/// Checks `header` signs `body` with the client secret (constant-time compare), and that
/// it was signed at most `max_age` before `now` and at most `max_skew` after.
pub fn verify_signature(
    settings: &WebhookSettings,
    header: Option<&str>,
    body: &[u8],
    now: UnixTime,
) -> Result<(), WebhookError> {
    let header = header
        .filter(|h| !h.trim().is_empty())
        .ok_or(WebhookError::Unsigned)?;
    let signature = parse_signature(header)?;
    // hmac's verify_slice compares in constant time (it uses subtle itself): no other
    // comparison is needed.
    keyed_mac(&settings.client_secret, signature.timestamp, body)
        .verify_slice(&signature.mac)
        .map_err(|_| WebhookError::BadSignature)?;
    let age = now.saturating_sub(signature.timestamp);
    let max_age_secs = settings.max_age.as_secs();
    if age > i64::try_from(max_age_secs).unwrap_or(i64::MAX) {
        return Err(WebhookError::Stale {
            age_secs: age,
            max_secs: max_age_secs,
        });
    }
    let ahead = signature.timestamp.saturating_sub(now);
    let max_skew_secs = settings.max_skew.as_secs();
    if ahead > i64::try_from(max_skew_secs).unwrap_or(i64::MAX) {
        return Err(WebhookError::FromTheFuture {
            ahead_secs: ahead,
            max_secs: max_skew_secs,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::DEFAULT_MAX_AGE_SECS;

    fn settings() -> WebhookSettings {
        WebhookSettings::new("key", SecretString::from("secret".to_owned()))
    }

    #[test]
    fn signature_header_parts_are_checked() {
        assert!(matches!(
            parse_signature("t=1"),
            Err(WebhookError::MalformedSignature("s is missing"))
        ));
        assert!(matches!(
            parse_signature("s=00"),
            Err(WebhookError::MalformedSignature("t is missing"))
        ));
        assert!(matches!(
            parse_signature("t=x,s=00"),
            Err(WebhookError::MalformedSignature("t is not a number"))
        ));
        assert!(matches!(
            parse_signature("t=1,s=zz"),
            Err(WebhookError::MalformedSignature("s is not hex"))
        ));
        assert_eq!(
            parse_signature(" t=5 , s=0a0b, v=2").unwrap(),
            Signature {
                timestamp: 5,
                mac: vec![10, 11]
            }
        );
    }

    #[test]
    fn a_known_hmac_vector_verifies() {
        // HMAC-SHA256("secret", "100.{}"), computed independently with Python's hmac module.
        let expected = "t=100,s=8e1a45bf4cb0f06fc9070524ebc7719df42e3abca9ada83da0314a32a75bbc62";
        assert_eq!(sign(&settings().client_secret, 100, b"{}"), expected);
        assert!(verify_signature(&settings(), Some(expected), b"{}", 100).is_ok());
    }

    #[test]
    fn a_late_retry_is_taken_and_the_bounds_are_separate() {
        let signed_at = 1_800_000_000;
        let header = sign(&settings().client_secret, signed_at, b"{}");
        let check = |now| verify_signature(&settings(), Some(&header), b"{}", now);
        let max_age = i64::try_from(DEFAULT_MAX_AGE_SECS).unwrap();
        assert_eq!(max_age, 72 * 3600 + 600);
        assert!(check(signed_at + 71 * 3600).is_ok());
        assert!(check(signed_at + max_age).is_ok());
        assert!(matches!(
            check(signed_at + max_age + 1),
            Err(WebhookError::Stale { age_secs, max_secs })
                if age_secs == max_age + 1 && max_secs == DEFAULT_MAX_AGE_SECS
        ));
        // Ahead of now, only the clocks' drift is allowed.
        assert!(check(signed_at - 300).is_ok());
        assert!(matches!(
            check(signed_at - 301),
            Err(WebhookError::FromTheFuture {
                ahead_secs: 301,
                max_secs: 300
            })
        ));
    }
}
