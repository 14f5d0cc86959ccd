//! The HTTP answers of the two public routes, free of any HTTP framework: a Lambda (or
//! anything else) hands the outcome over and sends back what it gets.

use super::{
    AuthorizeRedirect, CallbackOutcome, ConnectError, Page, StartOutcome, clear_binding_cookie,
};

/// Headers every page and redirect carries: never cached (they answer one-time tokens), no
/// `Referer` leaking the query (codes, links) to anything, no script, no framing.
pub const PAGE_HEADERS: [(&str, &str); 5] = [
    ("cache-control", "no-store"),
    ("referrer-policy", "no-referrer"),
    ("x-content-type-options", "nosniff"),
    (
        "content-security-policy",
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    ),
    ("x-frame-options", "DENY"),
];

impl Page {
    /// The HTTP answer: this page, with `set_cookie` when given.
    pub fn response(&self, set_cookie: Option<&str>) -> http::Response<String> {
        let mut builder = http::Response::builder()
            .status(self.status)
            .header(http::header::CONTENT_TYPE, Page::CONTENT_TYPE);
        for (name, value) in PAGE_HEADERS {
            builder = builder.header(name, value);
        }
        if let Some(cookie) = set_cookie {
            builder = builder.header(http::header::SET_COOKIE, cookie);
        }
        builder.body(self.html()).unwrap_or_else(|_| bare_error())
    }
}

impl AuthorizeRedirect {
    /// The 302 to TikTok, setting the binding cookie.
    pub fn response(&self) -> http::Response<String> {
        let mut builder = http::Response::builder()
            .status(http::StatusCode::FOUND)
            .header(http::header::LOCATION, &self.location)
            .header(http::header::SET_COOKIE, &self.set_cookie);
        for (name, value) in PAGE_HEADERS {
            builder = builder.header(name, value);
        }
        builder.body(String::new()).unwrap_or_else(|_| bare_error())
    }
}

/// A header value we built was refused (cannot happen with the values above: URLs and
/// cookies are ASCII); answer without one rather than panic.
fn bare_error() -> http::Response<String> {
    let mut response = http::Response::new("Internal error\n".to_owned());
    *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
    response
}

/// What `GET /oauth/start` answers: the redirect to TikTok, or a page saying why not.
pub fn start_response(outcome: Result<StartOutcome, ConnectError>) -> http::Response<String> {
    match outcome {
        Ok(StartOutcome::Redirect(redirect)) => redirect.response(),
        Ok(StartOutcome::Refused(refusal)) => refusal.page().response(None),
        Err(error) => {
            tracing::error!(error = ?error, "connect link could not be redeemed");
            error.page().response(None)
        }
    }
}

/// What `GET /oauth/callback` answers: a page saying which account was connected or what
/// went wrong. Every answer deletes the binding cookie, since the state it belonged to is
/// used up either way.
pub fn callback_response(outcome: Result<CallbackOutcome, ConnectError>) -> http::Response<String> {
    let page = match outcome {
        Ok(outcome) => outcome.page(),
        Err(error) => {
            tracing::error!(error = ?error, "OAuth callback failed");
            error.page()
        }
    };
    page.response(Some(&clear_binding_cookie()))
}
