//! Unit tests of the TikTok client: the mapping of answers, the authorize URL.

use super::*;
use answers::{api_failure, parse_held_range};
use tiktok_publish_core::errors::{Classify, ErrorKind, Remedy};

fn failure(status: u16, body: &str) -> TikTokError {
    api_failure(
        Endpoint::DirectPostInit,
        StatusCode::from_u16(status).unwrap(),
        body.as_bytes(),
    )
}

fn envelope(code: &str) -> String {
    format!(r#"{{"data":{{}},"error":{{"code":"{code}","message":"m","log_id":"L1"}}}}"#)
}

#[test]
fn tiktok_codes_map_to_what_the_caller_must_do() {
    let cases = [
        (429, "rate_limit_exceeded", ErrorKind::TikTokRateLimited),
        (401, "access_token_invalid", ErrorKind::AccessTokenInvalid),
        (
            401,
            "scope_not_authorized",
            ErrorKind::AccountNeedsReconnect,
        ),
        (
            400,
            "privacy_level_option_mismatch",
            ErrorKind::TikTokRejected,
        ),
        (400, "invalid_params", ErrorKind::TikTokRejected),
        (400, "invalid_param", ErrorKind::TikTokRejected),
        (403, "spam_risk_too_many_posts", ErrorKind::TikTokRejected),
        (
            403,
            "unaudited_client_can_only_post_to_private_accounts",
            ErrorKind::TikTokRejected,
        ),
        (500, "internal_error", ErrorKind::TikTokUnavailable),
        (503, "", ErrorKind::TikTokUnavailable),
    ];
    for (status, code, kind) in cases {
        let err = failure(status, &envelope(code));
        assert_eq!(err.kind(), kind, "{status} {code}: {err}");
    }
    let err = failure(
        403,
        &envelope("unaudited_client_can_only_post_to_private_accounts"),
    );
    assert_eq!(err.log_id(), Some("L1"));
    assert!(
        err.to_string().contains("account itself must be private"),
        "{err}"
    );
}

#[test]
fn a_garbled_error_answer_is_retried_not_trusted() {
    assert_eq!(failure(400, "<html>").kind(), ErrorKind::TikTokUnavailable);
    assert_eq!(failure(502, "<html>").kind(), ErrorKind::TikTokUnavailable);
}

#[test]
fn a_refused_refresh_needs_reconnect() {
    let body =
        br#"{"error":"invalid_grant","error_description":"Refresh token is invalid","log_id":"x"}"#;
    let err = oauth_failure(Endpoint::Token, StatusCode::BAD_REQUEST, body);
    assert_eq!(err.kind(), ErrorKind::AccountNeedsReconnect);
    let body = br#"{"error":"invalid_client","error_description":"bad secret","log_id":"x"}"#;
    let err = oauth_failure(Endpoint::Token, StatusCode::UNAUTHORIZED, body);
    assert_eq!(err.kind(), ErrorKind::TikTokRejected);
}

#[test]
fn oauth_server_trouble_is_retried_whatever_the_status() {
    for error in ["server_error", "temporarily_unavailable"] {
        let body = format!(r#"{{"error":"{error}","error_description":"try later","log_id":"x"}}"#);
        for status in [
            StatusCode::OK,
            StatusCode::BAD_REQUEST,
            StatusCode::UNAUTHORIZED,
        ] {
            let err = oauth_failure(Endpoint::Token, status, body.as_bytes());
            assert_eq!(
                err.kind(),
                ErrorKind::TikTokUnavailable,
                "{error} with {status}"
            );
            assert_eq!(err.kind().remedy(), Remedy::Retry, "{error} with {status}");
        }
    }
}

#[test]
fn authorize_url_carries_every_parameter_encoded() {
    let config = TikTokConfig::new("key 1", SecretString::from("s"))
        .with_base_urls("https://api.example", "https://auth.example/");
    let client = TikTokClient::new(config).unwrap();
    let url = client.authorize_url(
        "https://cb.example/oauth/callback?x=1",
        "st&ate",
        &["video.publish", "video.upload"],
    );
    let parsed = url::Url::parse(&url).unwrap();
    assert_eq!(parsed.path(), "/v2/auth/authorize/");
    let query: std::collections::HashMap<_, _> = parsed.query_pairs().into_owned().collect();
    assert_eq!(query["client_key"], "key 1");
    assert_eq!(query["scope"], "video.publish,video.upload");
    assert_eq!(query["response_type"], "code");
    assert_eq!(
        query["redirect_uri"],
        "https://cb.example/oauth/callback?x=1"
    );
    assert_eq!(query["state"], "st&ate");
}

#[test]
fn creator_info_refusals_with_http_200_are_tiktoks_refusal_with_its_code() {
    for code in [
        "spam_risk_too_many_posts",
        "spam_risk_user_banned_from_posting",
        "reached_active_user_cap",
    ] {
        let body = envelope(code);
        let err = api_failure(Endpoint::CreatorInfo, StatusCode::OK, body.as_bytes());
        assert!(
            matches!(&err, TikTokError::Rejected { endpoint: Endpoint::CreatorInfo, status: 200, code: c, .. } if c == code),
            "{err:?}"
        );
        assert_eq!(err.kind(), ErrorKind::TikTokRejected, "{code}");
        assert_eq!(err.code(), Some(code));
        assert!(
            tiktok_publish_core::tiktok::error::advice(code).is_some(),
            "{code} has advice"
        );
    }
    // TikTok's own trouble stays retryable whatever the status it comes with.
    let body = envelope("internal_error");
    let err = api_failure(Endpoint::CreatorInfo, StatusCode::OK, body.as_bytes());
    assert_eq!(err.kind(), ErrorKind::TikTokUnavailable, "{err:?}");
}

#[test]
fn a_416_content_range_reads_as_the_bytes_tiktok_holds() {
    assert_eq!(
        parse_held_range("bytes 0-5666665/17000000"),
        Some((5_666_666, 17_000_000))
    );
    assert_eq!(parse_held_range("bytes */17000000"), Some((0, 17_000_000)));
    assert_eq!(parse_held_range("bytes 0-999/1000"), Some((1_000, 1_000)));
    for unreadable in [
        "",
        "bytes 0-1000/1000",
        "bytes 5-10/1000",
        "bytes 0--1/1000",
        "bytes 0-9",
        "items 0-9/10",
        "bytes 0-x/10",
        "bytes */",
    ] {
        assert_eq!(parse_held_range(unreadable), None, "{unreadable:?}");
    }
}
