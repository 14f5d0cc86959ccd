//! The browser binding: the nonce a flow's start sets in a `__Host-` cookie, whose SHA-256 the
//! OAuth state holds, so that only the browser that redeemed the link can finish the flow.
//! The `cookie` crate writes, clears and reads the cookie; `subtle` compares the digests.

use cookie::time::Duration;
use cookie::{Cookie, SameSite};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::BINDING_COOKIE;

/// What the state record holds: the nonce itself stays in the browser only, so reading the
/// table does not let anyone finish the flow.
pub(super) fn binding_of(nonce: &str) -> String {
    hex::encode(Sha256::digest(nonce.as_bytes()))
}

/// Whether one of the cookies' nonces hashes to the state's `binding`.
pub(super) fn is_bound(binding: &str, cookies: &[String]) -> bool {
    cookies
        .iter()
        .any(|nonce| constant_time_eq(binding_of(nonce).as_bytes(), binding.as_bytes()))
}

/// The binding cookie with every attribute but its lifetime: `__Host-` makes browsers refuse
/// it unless it is Secure, host-only (no `Domain`) and `Path=/`.
fn binding_cookie_base(nonce: &str) -> Cookie<'static> {
    Cookie::build((BINDING_COOKIE, nonce.to_owned()))
        .path("/")
        .secure(true)
        .http_only(true)
        // Lax, not Strict: the callback is a cross-site top-level navigation from tiktok.com,
        // which Strict would send without the cookie.
        .same_site(SameSite::Lax)
        .build()
}

/// The `Set-Cookie` value carrying the nonce, for as long as the state lives.
pub(super) fn binding_cookie(nonce: &str, max_age_secs: i64) -> String {
    let mut cookie = binding_cookie_base(nonce);
    cookie.set_max_age(Duration::seconds(max_age_secs));
    cookie.to_string()
}

/// The `Set-Cookie` value that deletes the binding cookie (every callback answer sends it:
/// the state it was bound to is used up either way).
pub fn clear_binding_cookie() -> String {
    let mut cookie = binding_cookie_base("");
    cookie.make_removal();
    cookie.to_string()
}

/// The binding cookie's values among `Cookie` header values (normally one; every copy is
/// kept, since only one needs to match). Pairs that do not parse are skipped, as browsers do.
pub fn binding_cookies<'a>(cookie_headers: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    cookie_headers
        .into_iter()
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .filter(|cookie| cookie.name() == BINDING_COOKIE)
        // Quotes first: `""` is as empty as nothing.
        .map(|cookie| cookie.value_trimmed().to_owned())
        .filter(|value| !value.is_empty())
        .collect()
}

/// Both sides are hex SHA-256 digests of equal length; the length is no secret.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_cookies_are_found_among_others() {
        let found = binding_cookies([
            "a=1; __Host-tiktok-publish-oauth=abc; b=2",
            "__Host-tiktok-publish-oauth=def",
            "__Host-tiktok-publish-oauth=",
            "__Host-tiktok-publish-oauth=\"\"",
        ]);
        assert_eq!(found, vec!["abc".to_owned(), "def".to_owned()]);
        assert!(binding_cookies(["tiktok-publish-oauth=abc"]).is_empty());
    }

    #[test]
    fn the_binding_cookie_is_host_only_secure_and_lax() {
        let cookie = binding_cookie("nonce", 600);
        // The cookie crate writes the attributes in an order of its own (which carries no
        // meaning to browsers): the name=value pair first, then `Path=/` among the rest.
        assert!(cookie.starts_with("__Host-tiktok-publish-oauth=nonce;"));
        assert!(cookie.contains("; Path=/"));
        for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Max-Age=600"] {
            assert!(cookie.contains(attribute), "{attribute}");
        }
        assert!(!cookie.contains("Domain"));
        assert!(clear_binding_cookie().contains("Max-Age=0"));
    }

    #[test]
    fn constant_time_eq_compares_whole_values() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
