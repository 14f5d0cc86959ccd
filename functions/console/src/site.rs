//! What every page shows around its content: the app's and operator's names and the
//! retention (the template's parameters, for TikTok's reviewers and the legal pages), the
//! signed-in user, the CSRF token the sign-out form carries, and the assets' paths.

use tiktok_publish_wiring::console::ConsoleSite;

use crate::assets;

/// The render context of one page.
pub struct Site<'a> {
    pub config: &'a ConsoleSite,
    /// The signed-in user's e-mail; `None` on public pages seen signed out.
    pub user: Option<String>,
    /// The session's CSRF token (empty when signed out).
    pub csrf: String,
}

impl<'a> Site<'a> {
    /// A page seen signed out.
    pub fn public(config: &'a ConsoleSite) -> Self {
        Site {
            config,
            user: None,
            csrf: String::new(),
        }
    }

    /// The fingerprinted path of a built asset.
    pub fn asset(&self, logical: &str) -> String {
        assets::path_of(logical)
    }
}
