//! Drives headless Chromium for the browser tests (tests/browser.rs): connecting a TikTok
//! account the way a person does it, through the local stack (`scripts/local-stack run`).
//!
//! - [`stack`]: the running local stack as the tests see it (its env variables, the posts
//!   API, the fake TikTok's control API).
//! - [`chromium`]: Debian's `/usr/bin/chromium`, started headless with a fresh profile and
//!   driven over the DevTools protocol. Nothing is downloaded: no browser fetcher.

pub mod audit;
pub mod chromium;
pub mod connect;
pub mod network;
pub mod stack;

/// The one command that runs the browser tests (quoted by every "how to run me" error).
pub const RUN_COMMAND: &str = "scripts/install-browser && scripts/local-stack run -- \
     cargo test -p browser-tests --features local-stack-tests --test browser";

/// `scheme://host:port/path` of a URL, without its query or fragment: the pages of the
/// connect flow carry one-time secrets there (connect link, OAuth state, code), which must
/// never reach a log or an error message.
pub fn without_query(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            parsed.set_query(None);
            parsed.set_fragment(None);
            parsed.into()
        }
        // Not a URL at all (about:blank is one; this is for anything stranger): say nothing
        // of it rather than risk echoing a secret.
        Err(_) => "<not a URL>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_query_and_fragment() {
        assert_eq!(
            without_query("http://127.0.0.1:9000/oauth/callback?code=secret&state=s#x"),
            "http://127.0.0.1:9000/oauth/callback"
        );
        assert_eq!(without_query("about:blank"), "about:blank");
        assert_eq!(without_query("no url?code=secret"), "<not a URL>");
    }
}
