//! The console's state: the posts API it drives in-process (the same checks as
//! `POST /posts`), the sign-in, the browser uploads, and the site's settings.

use std::sync::Arc;

use axum::http::HeaderValue;
use tiktok_publish_core::api::PostsApi;
use tiktok_publish_core::browser_upload::BrowserUploads;
use tiktok_publish_core::console::ConsoleAuth;
use tiktok_publish_wiring::console::{ConsoleSite, ConsoleWiring};

use crate::site::Site;

#[derive(Clone)]
pub struct Console {
    pub api: PostsApi,
    pub auth: Arc<ConsoleAuth>,
    pub uploads: BrowserUploads,
    pub site: Arc<ConsoleSite>,
    /// Every answer's Content-Security-Policy, made once at cold start.
    pub content_security_policy: HeaderValue,
}

impl Console {
    pub fn new(api: PostsApi, wired: ConsoleWiring) -> Console {
        let policy = content_security_policy(&wired.uploads.origin(), &wired.form_origins);
        Console {
            api,
            auth: Arc::new(wired.auth),
            uploads: wired.uploads,
            site: Arc::new(wired.site),
            // The origins are URL origins (no quotes, no control characters); should one
            // ever not be a header value, the pages still get the strict default.
            content_security_policy: HeaderValue::from_str(&policy)
                .unwrap_or_else(|_| HeaderValue::from_static(STRICT_POLICY)),
        }
    }

    /// The render context of a page seen by `user` with the session's CSRF token.
    pub fn page(&self, user: &str, csrf: String) -> Site<'_> {
        Site {
            config: &self.site,
            user: Some(user.to_owned()),
            csrf,
        }
    }
}

/// Only the console's own scripts, styles and connections; no forms elsewhere.
const STRICT_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' https:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'";

/// The pages' policy: the console's own scripts and styles; uploads to the bucket only;
/// forms to the console and the connect flow's origins (the connect form redirects to the
/// public base URL's `/oauth/start`, then to TikTok's authorize page).
fn content_security_policy(upload_origin: &str, form_origins: &[String]) -> String {
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: \
         blob:; media-src blob:; connect-src 'self' {upload_origin}; form-action 'self' {}; \
         frame-ancestors 'none'; base-uri 'none'",
        form_origins.join(" ")
    )
}
