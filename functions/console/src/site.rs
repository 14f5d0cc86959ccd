//! What every page shows around its content: the app's and operator's names (the template's
//! parameters, for TikTok's reviewers and the legal pages), the signed-in user, the CSRF
//! token the sign-out form carries, and the assets' fingerprinted paths.

use crate::assets;

/// Who runs this deployment (the template's `OperatorName`, `OperatorContactEmail` and
/// `OperatorJurisdiction`), named on the public pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    pub name: String,
    pub contact_email: String,
    pub jurisdiction: String,
}

/// How long media is kept (the retention parameters), for the privacy policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub published_days: u32,
    pub failed_days: u32,
}

/// The site's fixed settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteSettings {
    pub app_name: String,
    pub operator: Operator,
    pub retention: Retention,
    /// How long a console session lasts at most, in days.
    pub session_days: u64,
}

/// The render context of one page.
pub struct Site<'a> {
    pub app_name: &'a str,
    pub operator: &'a Operator,
    pub retention: Retention,
    pub session_days: u64,
    /// The signed-in user's e-mail; `None` on public pages seen signed out.
    pub user: Option<String>,
    /// The session's CSRF token (empty when signed out).
    pub csrf: String,
}

impl SiteSettings {
    pub fn page(&self, user: Option<String>, csrf: String) -> Site<'_> {
        Site {
            app_name: &self.app_name,
            operator: &self.operator,
            retention: self.retention,
            session_days: self.session_days,
            user,
            csrf,
        }
    }
}

impl Site<'_> {
    /// The fingerprinted path of a built asset.
    pub fn asset(&self, logical: &str) -> String {
        assets::path_of(logical)
    }
}

impl From<tiktok_publish_wiring::console::ConsoleSite> for SiteSettings {
    fn from(site: tiktok_publish_wiring::console::ConsoleSite) -> Self {
        SiteSettings {
            app_name: site.app_name,
            operator: Operator {
                name: site.operator_name,
                contact_email: site.operator_contact_email,
                jurisdiction: site.operator_jurisdiction,
            },
            retention: Retention {
                published_days: site.published_retention_days,
                failed_days: site.failed_retention_days,
            },
            session_days: site.session_days,
        }
    }
}
