//! The OAuth callback (`GET /oauth/callback?...`): its query string and `Cookie` headers come
//! from whoever opens the URL. Parsed as the `oauth-callback` Lambda does: the query decoded
//! once into pairs (`CallbackQuery::from_pairs`), the binding cookie picked from the `Cookie`
//! headers (`binding_cookies`), then `check_callback` against a store holding one live state,
//! and the answer rendered (`page`).
//!
//! Input: `QUERY 0xFF COOKIE-HEADER 0xFF COOKIE-HEADER...`. The words `STATE` and `CODE` in
//! the query and `NONCE` in a cookie are replaced by the live state, a secret code and the
//! state's browser nonce, so the fuzzer can reach the checks behind the state and the
//! secrets can be looked for in what is shown.
//!
//! Beyond "no panic":
//! - only a callback that presents the live state, its binding cookie, a code and both
//!   posting scopes, each parameter once, gets to the code exchange;
//! - every refusal is an error page (a denial 200), and no page shows the state, the nonce or
//!   the code;
//! - what TikTok (or an attacker) put in `error` and `error_description` is shown escaped:
//!   the page has exactly the markup of the same page with harmless text.
#![no_main]

use std::sync::OnceLock;

use fuzz_support::{NOW, runtime, split_parts};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};
use tiktok_publish_core::connect::{
    BINDING_COOKIE, CONNECT_SCOPES, CallbackCheck, CallbackQuery, CallbackRefusal, CallbackRequest,
    ConnectSettings, Redacted, binding_cookies, check_callback, html_escape,
};
use tiktok_publish_core::store::{OAuthStateStore, OneTimeKind, OneTimeRecord, OneTimeToken};
use tiktok_publish_core::tiktok::split_scopes;
use tiktok_publish_memory::MemoryOAuthStateStore;

/// The query parameters the Lambda hands over (it asks for these names only).
const PARAMS: [&str; 5] = ["state", "code", "scopes", "error", "error_description"];
const REDIRECT_URI: &str = "https://publish.example/oauth/callback";

struct Flow {
    state: OneTimeToken,
    nonce: OneTimeToken,
    code: String,
    settings: ConnectSettings,
}

fn flow() -> &'static Flow {
    static FLOW: OnceLock<Flow> = OnceLock::new();
    FLOW.get_or_init(|| Flow {
        state: OneTimeToken::generate(),
        nonce: OneTimeToken::generate(),
        code: format!("c0de*{}!", OneTimeToken::generate().expose()),
        settings: ConnectSettings::new("https://publish.example").expect("a valid public base URL"),
    })
}

fuzz_target!(|data: &[u8]| {
    let flow = flow();
    let mut parts = split_parts(data, 4).into_iter();
    let raw_query = String::from_utf8_lossy(parts.next().unwrap_or_default())
        .replace("STATE", flow.state.expose())
        .replace("CODE", &flow.code);
    let cookie_headers: Vec<String> = parts
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).replace("NONCE", flow.nonce.expose()))
        .collect();

    // Decoded once, as lambda_http does; only the names the Lambda asks for.
    let decoded: Vec<(String, String)> = url::form_urlencoded::parse(raw_query.as_bytes())
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .filter(|(name, _)| PARAMS.contains(&name.as_str()))
        .collect();
    let query = match CallbackQuery::from_pairs(
        decoded
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str())),
    ) {
        Ok(query) => query,
        Err(refusal) => {
            let CallbackRefusal::Malformed { param } = refusal else {
                panic!("parsing the query refused with {refusal:?}");
            };
            let copies = decoded.iter().filter(|(name, _)| name == param).count();
            assert!(
                copies > 1,
                "{param} refused as repeated but given {copies} times"
            );
            check_page(&refusal, &decoded);
            return;
        }
    };
    let cookies = binding_cookies(cookie_headers.iter().map(String::as_str));
    for cookie in &cookies {
        assert!(!cookie.is_empty(), "an empty binding cookie was kept");
    }

    // A fresh store per input: the state is single-use.
    let store = MemoryOAuthStateStore::new();
    let mut record = OneTimeRecord::new(OneTimeKind::OAuthState, NOW - 5, 600);
    record.redirect_uri = Some(REDIRECT_URI.to_owned());
    record.binding = Some(hex::encode(Sha256::digest(flow.nonce.expose().as_bytes())));
    runtime()
        .block_on(store.put(&flow.state, &record))
        .expect("an empty store takes the state");
    let request = CallbackRequest {
        query: query.clone(),
        binding_cookies: Redacted(cookies.clone()),
    };
    let check = runtime()
        .block_on(check_callback(&store, &flow.settings, &request, NOW))
        .expect("the in-memory store never fails");

    match check {
        CallbackCheck::Exchange(exchange) => {
            assert_eq!(query.state.as_deref(), Some(flow.state.expose()));
            assert!(
                cookies.iter().any(|c| c == flow.nonce.expose()),
                "exchange without the binding cookie (cookies {cookie_headers:?})"
            );
            assert!(query.error.is_none(), "exchange despite TikTok's error");
            assert!(query.code.as_deref().is_some_and(|c| !c.is_empty()));
            let granted = split_scopes(query.scopes.as_deref().unwrap_or_default());
            for scope in CONNECT_SCOPES {
                assert!(
                    granted.iter().any(|g| g == scope),
                    "exchange without {scope}"
                );
            }
            let shown = format!("{exchange:?}");
            assert!(
                shown.contains(REDIRECT_URI),
                "the exchange must reuse the state's URI"
            );
            assert!(
                !shown.contains(&flow.code),
                "Debug of the exchange shows the code"
            );
        }
        CallbackCheck::Refused(refusal) => {
            if let CallbackRefusal::TikTokError { error, .. } = &refusal {
                assert_eq!(Some(error), query.error.as_ref());
                assert_ne!(
                    error, "access_denied",
                    "a denial is CallbackRefusal::Declined"
                );
            }
            check_page(&refusal, &decoded);
        }
    }
});

/// A refusal renders as a page that shows no secret and escapes what it echoes.
fn check_page(refusal: &CallbackRefusal, decoded: &[(String, String)]) {
    let flow = flow();
    let page = refusal.page();
    match refusal {
        CallbackRefusal::Declined => assert_eq!(page.status, 200),
        _ => assert!(page.status >= 400, "{refusal:?} answered {}", page.status),
    }
    assert!(!page.title.is_empty());
    let html = page.html();
    // Secrets show only where the query itself put them into TikTok's error text.
    let echoed = |secret: &str| {
        decoded
            .iter()
            .any(|(name, value)| name.starts_with("error") && value.contains(secret))
    };
    if !echoed(BINDING_COOKIE) {
        assert!(!html.contains(BINDING_COOKIE), "a page names the cookie");
    }
    for (what, secret) in [
        ("state", flow.state.expose()),
        ("nonce", flow.nonce.expose()),
        ("code", flow.code.as_str()),
    ] {
        if !echoed(secret) {
            assert!(!html.contains(secret), "a page shows the {what}");
        }
    }
    if let CallbackRefusal::TikTokError { error, description } = refusal {
        assert!(
            html.contains(&html_escape(error)),
            "TikTok's error is not shown"
        );
        let harmless = CallbackRefusal::TikTokError {
            error: "e".into(),
            description: description.as_ref().map(|_| "d".into()),
        }
        .page()
        .html();
        for markup in ['<', '>', '"', '\''] {
            assert_eq!(
                html.matches(markup).count(),
                harmless.matches(markup).count(),
                "TikTok's error text added {markup:?} to the page"
            );
        }
    }
}
