//! TikTok's answers, as the real `TikTokClient` reads them: the JSON envelope and its error
//! codes (creator info, both inits, status fetch), the token endpoint's answers (code
//! exchange, refresh) and revoke's. The parsing is private to the client, so the client is
//! pointed at a loopback server that answers with the fuzzer's status and body.
//!
//! Input: `[call, status, body...]`: `call` picks the endpoint, `status` the HTTP status.
//!
//! Beyond "no panic":
//! - only a 2xx answer is a success, and every error says something (non-empty message);
//! - TikTok's rate limit (429) is always `RateLimited` on the token endpoint, and on the
//!   others unless the body names a more specific code; a 401 without such a code is
//!   `AccessTokenInvalid`; a 5xx is never `Rejected` (it must be retried);
//! - the secrets in a successful answer (tokens, upload URL) never show in `Debug`, and
//!   no error shows the client secret or the tokens sent.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use fuzz_support::{LoopbackTikTok, runtime};
use libfuzzer_sys::fuzz_target;
use secrecy::{ExposeSecret, SecretString};
use tiktok_publish_adapters::TikTokClient;
use tiktok_publish_core::config::TikTokConfig;
use tiktok_publish_core::tiktok::{
    ChunkPlan, ChunkPolicy, PostInfo, PrivacyLevel, TikTokCreators, TikTokError, TikTokPosting,
    TikTokRevoke,
};
use tiktok_publish_core::tokens::TokenRefresher;

const CLIENT_SECRET: &str = "client-secret-5e3c7a1f9b2d";
const ACCESS_TOKEN: &str = "act.access-token-8f1e2d3c4b5a";
const REFRESH_TOKEN: &str = "rft.refresh-token-0a9b8c7d6e5f";

struct Harness {
    server: LoopbackTikTok,
    client: TikTokClient,
    plan: ChunkPlan,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let server = LoopbackTikTok::start();
        let mut config = TikTokConfig::new("client-key", SecretString::from(CLIENT_SECRET));
        config.api_base_url = server.base_url.clone();
        config.auth_base_url = server.base_url.clone();
        config.request_timeout = Duration::from_secs(5);
        let client = TikTokClient::new(config).expect("a client for the loopback server");
        let plan = ChunkPlan::new(
            12 * 1024 * 1024,
            &ChunkPolicy::new(10 * 1024 * 1024, 4_000_000_000).expect("a valid chunk policy"),
        )
        .expect("a valid chunk plan");
        Harness {
            server,
            client,
            plan,
        }
    })
}

/// Statuses TikTok sends, then every other one from 200 to 599 (no 1xx: they are not final
/// answers; no 204/205/304: they cannot carry the body the fuzzer chose).
fn status_of(selector: u8) -> u16 {
    const COMMON: [u16; 12] = [200, 201, 400, 401, 403, 404, 408, 429, 500, 502, 503, 504];
    match COMMON.get(usize::from(selector)) {
        Some(status) => *status,
        // 200 + selector * 400 / 256 (at most 599), computed wide: 255 * 400 overflows u16.
        None => match 200 + (u32::from(selector) * 400 / 256) as u16 {
            204 | 205 | 304 => 200,
            status => status,
        },
    }
}

/// A code in the body that outranks the HTTP status in the client's classification.
fn names_specific_code(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(body);
    [
        "rate_limit_exceeded",
        "access_token_invalid",
        "scope_not_authorized",
    ]
    .iter()
    .any(|code| text.contains(code))
        || text.contains("\\u")
}

fn check_error(err: &TikTokError, status: u16, token_endpoint: bool, body: &[u8]) {
    let shown = format!("{err} {err:?}");
    assert!(
        !err.to_string().trim().is_empty(),
        "an error without a message"
    );
    for secret in [CLIENT_SECRET, ACCESS_TOKEN, REFRESH_TOKEN] {
        assert!(!shown.contains(secret), "an error shows a secret: {shown}");
    }
    let specific = !token_endpoint && names_specific_code(body);
    if status == 429 && !specific {
        assert!(
            matches!(err, TikTokError::RateLimited { .. }),
            "429 read as {err:?}"
        );
    }
    if status == 401 && !token_endpoint && !specific {
        assert!(
            matches!(err, TikTokError::AccessTokenInvalid { .. }),
            "401 read as {err:?}"
        );
    }
    if status >= 500 {
        assert!(
            !matches!(err, TikTokError::Rejected { .. }),
            "{status} read as {err:?}"
        );
    }
}

fn assert_redacted(debug: &str, secret: &str, others: &[&str]) {
    // Only a secret that cannot be mistaken for the rest of the value's text.
    if secret.len() >= 8 && !others.iter().any(|o| o.contains(secret)) {
        assert!(!debug.contains(secret), "Debug shows a secret: {debug}");
    }
}

fuzz_target!(|data: &[u8]| {
    let (call, status, body) = match data {
        [call, status, body @ ..] => (*call, status_of(*status), body),
        _ => return,
    };
    let harness = harness();
    harness.server.answer_with(status, body);
    let client = &harness.client;
    let access = SecretString::from(ACCESS_TOKEN);
    let ok = (200..300).contains(&status);
    let post_info = PostInfo {
        title: "fuzz".into(),
        privacy_level: PrivacyLevel::SelfOnly,
        disable_duet: false,
        disable_comment: false,
        disable_stitch: false,
        video_cover_timestamp_ms: None,
        brand_content_toggle: false,
        brand_organic_toggle: false,
        is_aigc: false,
    };

    runtime().block_on(async {
        match call % 7 {
            0 | 1 => {
                let grant = if call % 7 == 0 {
                    client
                        .exchange_code("code", "https://publish.example/cb")
                        .await
                } else {
                    client.refresh(&SecretString::from(REFRESH_TOKEN)).await
                };
                match grant {
                    Ok(grant) => {
                        assert!(ok, "a {status} answer accepted as tokens");
                        let debug = format!("{grant:?}");
                        let others = [
                            grant.open_id.as_str(),
                            grant.scope.as_str(),
                            grant.token_type.as_str(),
                            "TokenGrant open_id access_token refresh_token [REDACTED]",
                        ];
                        assert_redacted(&debug, grant.access_token.expose_secret(), &others);
                        assert_redacted(&debug, grant.refresh_token.expose_secret(), &others);
                    }
                    Err(err) => check_error(&err, status, true, body),
                }
            }
            2 => match client.revoke(&access).await {
                Ok(()) => assert!(ok, "a {status} answer accepted as revoked"),
                Err(err) => check_error(&err, status, true, body),
            },
            3 => match client.creator_info(&access).await {
                Ok(_) => assert!(ok, "a {status} answer accepted as creator info"),
                Err(err) => check_error(&err, status, false, body),
            },
            4 | 5 => {
                let init = if call % 7 == 4 {
                    client
                        .init_direct_post(&access, &post_info, &harness.plan)
                        .await
                } else {
                    client.init_inbox(&access, &harness.plan).await
                };
                match init {
                    Ok(init) => {
                        assert!(ok, "a {status} answer accepted as an init");
                        let debug = format!("{init:?}");
                        let others = [init.publish_id.as_str(), "InitResponse UploadUrl"];
                        assert_redacted(&debug, init.upload_url.expose(), &others);
                    }
                    Err(err) => check_error(&err, status, false, body),
                }
            }
            _ => match client.fetch_status(&access, "v_pub_file~v2.123").await {
                Ok(_) => assert!(ok, "a {status} answer accepted as a status"),
                Err(err) => check_error(&err, status, false, body),
            },
        }
    });
});
