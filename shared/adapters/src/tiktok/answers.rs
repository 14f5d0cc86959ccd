//! TikTok's answers read: the JSON envelope, the OAuth error shape, and the mapping of codes
//! and statuses to what the caller must do.

use reqwest::{Response, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tiktok_publish_core::tiktok::{Endpoint, TikTokError};

/// TikTok's JSON envelope: `{ "data": ..., "error": { "code", "message", "log_id" } }`.
#[derive(Deserialize)]
struct Envelope<T> {
    data: Option<T>,
    error: Option<ApiError>,
}

#[derive(Deserialize, Default)]
struct ApiError {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    log_id: Option<String>,
}

/// The OAuth token endpoint's error answer (top level, not enveloped).
#[derive(Deserialize)]
struct OAuthError {
    error: String,
    #[serde(default)]
    error_description: String,
    #[serde(default)]
    log_id: Option<String>,
}

pub(super) async fn read_envelope<T: DeserializeOwned>(
    endpoint: Endpoint,
    response: Response,
) -> Result<T, TikTokError> {
    let status = response.status().as_u16();
    read_answer(endpoint, response)
        .await?
        .ok_or_else(|| TikTokError::Protocol {
            endpoint,
            status,
            detail: "the answer has no data".into(),
        })
}

/// TikTok's envelope whose `error.code` is `ok`, with its `data` when it has one (a cancel
/// answers without).
pub(super) async fn read_answer<T: DeserializeOwned>(
    endpoint: Endpoint,
    response: Response,
) -> Result<Option<T>, TikTokError> {
    let status = response.status();
    let body = response.bytes().await.map_err(|e| transport(endpoint, e))?;
    if status.is_success() {
        let envelope: Envelope<T> =
            serde_json::from_slice(&body).map_err(|e| TikTokError::Protocol {
                endpoint,
                status: status.as_u16(),
                detail: format!("the answer is not TikTok's envelope: {e}"),
            })?;
        let error = envelope.error.unwrap_or_default();
        if error.code.is_empty() || error.code == "ok" {
            return Ok(envelope.data);
        }
        return Err(classify(endpoint, status, error));
    }
    Err(api_failure(endpoint, status, &body))
}

/// A non-2xx answer of the Content Posting API (or the upload URL).
pub(super) fn api_failure(endpoint: Endpoint, status: StatusCode, body: &[u8]) -> TikTokError {
    let error = serde_json::from_slice::<Envelope<serde_json::Value>>(body)
        .ok()
        .and_then(|e| e.error)
        .unwrap_or_default();
    classify(endpoint, status, error)
}

/// Maps TikTok's code and HTTP status to what the caller must do.
fn classify(endpoint: Endpoint, status: StatusCode, error: ApiError) -> TikTokError {
    let ApiError {
        code,
        message,
        log_id,
    } = error;
    match code.as_str() {
        "rate_limit_exceeded" => return TikTokError::RateLimited { endpoint, log_id },
        "access_token_invalid" => return TikTokError::AccessTokenInvalid { endpoint, log_id },
        // TikTok's own trouble, even when it comes with HTTP 200 (creator_info's refusals
        // do): retried, never final.
        "internal_error" => {
            return TikTokError::Unavailable {
                endpoint,
                detail: format!("{code}: {message}"),
                status: Some(status.as_u16()),
                log_id,
                source: None,
            };
        }
        "scope_not_authorized" => {
            return TikTokError::NeedsReconnect {
                reason: "the account has not granted the scope this post needs \
                         (video.publish for direct posts, video.upload for drafts)"
                    .into(),
                log_id,
            };
        }
        _ => {}
    }
    if status == StatusCode::TOO_MANY_REQUESTS {
        return TikTokError::RateLimited { endpoint, log_id };
    }
    if status == StatusCode::UNAUTHORIZED {
        return TikTokError::AccessTokenInvalid { endpoint, log_id };
    }
    if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
        return TikTokError::Unavailable {
            endpoint,
            detail: if code.is_empty() {
                format!("HTTP {status}")
            } else {
                format!("{code}: {message}")
            },
            status: Some(status.as_u16()),
            log_id,
            source: None,
        };
    }
    if code.is_empty() {
        return TikTokError::Protocol {
            endpoint,
            status: status.as_u16(),
            detail: "an error answer without TikTok's error code".into(),
        };
    }
    TikTokError::Rejected {
        endpoint,
        status: status.as_u16(),
        code,
        message,
        log_id,
    }
}

/// A failed token or revoke call. `invalid_grant` on a refresh means the refresh token is
/// dead (expired, revoked or rotated out): only the owner reconnecting fixes it.
pub(super) fn oauth_failure(endpoint: Endpoint, status: StatusCode, body: &[u8]) -> TikTokError {
    if status == StatusCode::TOO_MANY_REQUESTS {
        return TikTokError::RateLimited {
            endpoint,
            log_id: None,
        };
    }
    if status.is_server_error() {
        return TikTokError::Unavailable {
            endpoint,
            detail: format!("HTTP {status}"),
            status: Some(status.as_u16()),
            log_id: None,
            source: None,
        };
    }
    match serde_json::from_slice::<OAuthError>(body) {
        Ok(OAuthError {
            error,
            error_description,
            log_id,
        }) => match error.as_str() {
            "invalid_grant" => TikTokError::NeedsReconnect {
                reason: format!(
                    "TikTok refused the grant ({error_description}); connect the account again"
                ),
                log_id,
            },
            "rate_limit_exceeded" => TikTokError::RateLimited { endpoint, log_id },
            // OAuth's passing troubles (RFC 6749 §4.1.2.1), whatever the HTTP status
            // TikTok sends them with (a 200 included): retried, never final.
            "server_error" | "temporarily_unavailable" => TikTokError::Unavailable {
                endpoint,
                detail: format!("OAuth {error}: {error_description}"),
                status: Some(status.as_u16()),
                log_id,
                source: None,
            },
            _ => TikTokError::Rejected {
                endpoint,
                status: status.as_u16(),
                code: error,
                message: error_description,
                log_id,
            },
        },
        // Some answers come enveloped like the posting API.
        Err(_) => api_failure(endpoint, status, body),
    }
}

/// A refused chunk PUT. The Media Transfer Guide answers with HTTP statuses alone: 400 (bad
/// headers or length), 403 (the URL expired), 404 (no such upload), 416 (not the range it
/// expects, its `Content-Range` saying what it holds), 5xx (retry).
pub(super) async fn upload_failure(response: Response) -> TikTokError {
    let endpoint = Endpoint::UploadChunk;
    let status = response.status();
    match status {
        StatusCode::FORBIDDEN | StatusCode::NOT_FOUND | StatusCode::GONE => {
            TikTokError::UploadUrlExpired {
                status: status.as_u16(),
            }
        }
        StatusCode::RANGE_NOT_SATISFIABLE => {
            let held = response
                .headers()
                .get(reqwest::header::CONTENT_RANGE)
                .and_then(|value| value.to_str().ok())
                .and_then(parse_held_range);
            match held {
                Some((received_bytes, video_size)) => TikTokError::UploadRangeMismatch {
                    received_bytes,
                    video_size,
                },
                None => TikTokError::Protocol {
                    endpoint,
                    status: status.as_u16(),
                    detail: "a 416 without a readable Content-Range".into(),
                },
            }
        }
        StatusCode::BAD_REQUEST => TikTokError::UploadChunkRefused {
            status: status.as_u16(),
        },
        _ => match response.bytes().await {
            Ok(body) => api_failure(endpoint, status, &body),
            Err(e) => transport(endpoint, e),
        },
    }
}

/// What a 416's `Content-Range` says TikTok holds, as `(received_bytes, video_size)`:
/// `bytes 0-{last}/{total}` holds `last + 1` bytes; `bytes */{total}` (HTTP's form for an
/// unsatisfied range) holds none. Anything else is not read.
pub(super) fn parse_held_range(value: &str) -> Option<(u64, u64)> {
    let digits = |text: &str| {
        (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| text.parse::<u64>().ok())
            .flatten()
    };
    let (range, total) = value.trim().strip_prefix("bytes ")?.split_once('/')?;
    let total = digits(total)?;
    if range == "*" {
        return Some((0, total));
    }
    let (first, last) = range.split_once('-')?;
    if digits(first)? != 0 {
        return None;
    }
    let received = digits(last)?.checked_add(1)?;
    (received <= total).then_some((received, total))
}

pub(super) fn transport(endpoint: Endpoint, source: reqwest::Error) -> TikTokError {
    let detail = if source.is_timeout() {
        "the request timed out"
    } else if source.is_connect() {
        "could not connect"
    } else if source.is_body() || source.is_request() {
        "the connection failed while sending"
    } else if source.is_decode() {
        "the answer could not be read"
    } else {
        "the connection failed"
    };
    // reqwest's Display includes the URL, which for uploads is a secret.
    TikTokError::Unavailable {
        endpoint,
        detail: detail.into(),
        status: None,
        log_id: None,
        source: Some(Box::new(source.without_url())),
    }
}
