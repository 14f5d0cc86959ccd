//! The console's state: the posts API it drives in-process (the same checks as
//! `POST /posts`), the sign-in, the browser uploads, and the site's settings.

use std::sync::Arc;

use tiktok_publish_core::api::PostsApi;
use tiktok_publish_core::browser_upload::BrowserUploads;
use tiktok_publish_core::console::ConsoleAuth;

use crate::site::SiteSettings;

#[derive(Clone)]
pub struct Console {
    pub api: PostsApi,
    pub auth: Arc<ConsoleAuth>,
    pub uploads: BrowserUploads,
    pub site: Arc<SiteSettings>,
    /// Origins forms may be sent to besides the console's own: the connect link's (the
    /// public base URL) and TikTok's authorize page, which the connect form redirects to.
    pub form_origins: Arc<[String]>,
}

impl Console {
    /// The pages' Content-Security-Policy: only the console's own scripts and styles, and
    /// only the bucket besides the console for the uploads.
    pub fn content_security_policy(&self) -> String {
        format!(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: \
             blob:; media-src blob:; connect-src 'self' {}; form-action 'self' {}; \
             frame-ancestors 'none'; base-uri 'none'",
            self.uploads.origin(),
            self.form_origins.join(" ")
        )
    }
}
