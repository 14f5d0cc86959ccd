//! The small HTML pages the flow answers with, one per outcome. Their markup is askama
//! templates, checked at compile time, and askama HTML-escapes every value put into them
//! (TikTok's error text, a nickname, a parameter's name): nothing here escapes by hand.

use askama::Template;
use askama::filters::{Html, escape};

use crate::errors::{Classify, Remedy};

use super::{CallbackOutcome, CallbackRefusal, ConnectError, LinkRefusal, NEW_LINK_COMMAND};

/// A small, self-contained HTML answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub status: u16,
    pub title: String,
    /// HTML rendered by the pages' templates, so escaped wherever it echoes anything.
    pub body: String,
}

impl Page {
    pub const CONTENT_TYPE: &'static str = "text/html; charset=utf-8";

    fn new(status: u16, title: &str, body: &Body<'_>) -> Page {
        Page {
            status,
            title: title.to_owned(),
            body: render(body),
        }
    }

    pub fn html(&self) -> String {
        render(&Layout {
            title: &self.title,
            body: &self.body,
        })
    }
}

/// What every page around its body looks like.
#[derive(Template)]
#[template(
    ext = "html",
    source = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
              <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
              <title>{{ title }}</title>\
              <style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;\
              padding:0 1rem;line-height:1.5}code{background:#eee;padding:0 .2em}</style>\
              </head>\n<body><h1>{{ title }}</h1>\n{{ body|safe }}\n</body></html>\n"
)]
struct Layout<'a> {
    title: &'a str,
    /// Already rendered by [`Body`]'s templates (escaped there), so taken as it is.
    body: &'a str,
}

/// The pages' bodies. The advice that ends most of them names [`NEW_LINK_COMMAND`].
#[derive(Template)]
#[template(ext = "html")]
enum Body<'a> {
    #[template(source = "<p>{{ what }} Nothing was connected.</p>\
                  <p>Ask for a new link with <code>{{ NEW_LINK_COMMAND }}</code>.</p>")]
    LinkRefused { what: &'a str },
    #[template(
        source = "<p>Something this service depends on did not answer. Nothing was \
                  connected. Wait a minute, then Ask for a new link with \
                  <code>{{ NEW_LINK_COMMAND }}</code>.</p>"
    )]
    Unavailable,
    #[template(
        source = "<p>This deployment is not configured correctly (for example, the TikTok \
                  client secret is not set), so no account can be connected yet. Its operator \
                  will find the reason in the logs.</p>"
    )]
    NotSetUp,
    #[template(
        source = "<p>The parameter <code>{{ param }}</code> was given more than once, so this \
                  request was not trusted. Nothing was connected.</p>\
                  <p>Ask for a new link with <code>{{ NEW_LINK_COMMAND }}</code>.</p>"
    )]
    Malformed { param: &'a str },
    #[template(
        source = "<p>This address is where TikTok sends you back after you authorize the \
                  app, but this request does not come from such a sign-in. Nothing was \
                  connected.</p><p>Ask for a new link with <code>{{ NEW_LINK_COMMAND }}</code>.</p>"
    )]
    MissingState,
    #[template(
        source = "<p>This sign-in was not started by this deployment. Nothing was \
                  connected.</p><p>Ask for a new link with \
                  <code>{{ NEW_LINK_COMMAND }}</code>.</p>"
    )]
    UnknownState,
    #[template(
        source = "<p>This sign-in has already been used (perhaps the page was reloaded). \
                  If it succeeded the first time, the account is connected. Nothing more \
                  was done.</p><p>To connect again, ask for a new link with \
                  <code>{{ NEW_LINK_COMMAND }}</code>.</p>"
    )]
    StateUsed,
    #[template(
        source = "<p>This sign-in took too long and has expired. Nothing was connected.</p>\
                  <p>Ask for a new link with <code>{{ NEW_LINK_COMMAND }}</code>.</p>"
    )]
    StateExpired,
    #[template(
        source = "<p>This sign-in was started in another browser or tab (or this browser \
                  blocked the cookie the start page set), so it was not trusted. Nothing \
                  was connected.</p><p>Ask for a new link with \
                  <code>{{ NEW_LINK_COMMAND }}</code>. Open it in the browser you sign in to \
                  TikTok with, and finish there.</p>"
    )]
    OtherBrowser,
    #[template(
        source = "<p>You declined to authorize the app on TikTok, so no account was \
                  connected.</p><p>If you change your mind, ask for a new link with \
                  <code>{{ NEW_LINK_COMMAND }}</code>.</p>"
    )]
    Declined,
    #[template(
        source = "<p>TikTok did not authorize the app: <code>{{ error }}</code>\
                  {% if let Some(description) = description %} ({{ description }}){% endif %}\
                  </p><p>Nothing was connected. Ask for a new link with \
                  <code>{{ NEW_LINK_COMMAND }}</code>.</p>"
    )]
    TikTokError {
        error: &'a str,
        description: Option<&'a str>,
    },
    #[template(
        source = "<p>TikTok sent you back without an authorization code. Nothing was \
                  connected.</p><p>Ask for a new link with \
                  <code>{{ NEW_LINK_COMMAND }}</code>.</p>"
    )]
    MissingCode,
    #[template(source = "<p>Posting needs the permissions \
                  {% for scope in missing %}{% if !loop.first %}, {% endif %}\
                  <code>{{ scope }}</code>{% endfor %} and they were not granted, so the \
                  account was not connected and nothing was stored.</p><p>Ask for a new link \
                  with <code>{{ NEW_LINK_COMMAND }}</code>. On TikTok's page, leave every \
                  requested permission on.</p>")]
    MissingScopes { missing: &'a [&'static str] },
    #[template(
        source = "<p>TikTok refused the authorization code (codes expire within minutes \
                  and work once). Nothing was connected.</p><p>Ask for a new link with \
                  <code>{{ NEW_LINK_COMMAND }}</code>.</p>"
    )]
    CodeRefused,
    #[template(
        source = "<p>TikTok or this deployment's storage did not answer while the account \
                  was being connected. Wait a minute, then ask for a new link with \
                  <code>{{ NEW_LINK_COMMAND }}</code>.</p>"
    )]
    ExchangeUnavailable,
    #[template(
        source = "<p>TikTok refused to hand over the account's tokens. Nothing was \
                  connected. If this persists, the deployment's TikTok app settings \
                  (client key, secret, redirect URI) need checking; the logs say \
                  more.</p><p>Ask for a new link with <code>{{ NEW_LINK_COMMAND }}</code>.</p>"
    )]
    ExchangeRejected,
    #[template(source = "<p>The TikTok account \
                  {% if let Some(nickname) = nickname %}<strong>{{ nickname }}</strong> \
                  (open_id <code>{{ open_id }}</code>)\
                  {% else %}with open_id <code>{{ open_id }}</code>{% endif %} \
                  is connected. \
                  {% if drafts_only %}It did not grant <code>video.publish</code>, so videos \
                  go to its TikTok inbox as drafts, to be finished in the app; to post \
                  directly, connect it again with a new link and leave every permission \
                  on.{% else %}Videos can now be published to it.{% endif %}</p>\
                  <p>You can close this page.</p>")]
    Connected {
        open_id: &'a str,
        nickname: Option<&'a str>,
        drafts_only: bool,
    },
}

/// The template as a string. Writing into a `String` cannot fail and the templates call
/// nothing fallible; were that ever to change, the person still gets a page, not a panic.
fn render(template: &impl Template) -> String {
    template.render().unwrap_or_else(|error| {
        tracing::error!(%error, "a connect page could not be rendered");
        "<p>This page could not be shown. Nothing was connected.</p>".to_owned()
    })
}

/// Escapes text exactly as the pages' templates do (askama's HTML escaper), for callers that
/// check a page shows a value; the pages themselves never call it.
pub fn html_escape(text: &str) -> String {
    match escape(text, Html) {
        Ok(escaped) => escaped.to_string(),
        Err(never) => match never {},
    }
}

impl ConnectError {
    /// The page a browser gets; details stay in the logs.
    pub fn page(&self) -> Page {
        if self.kind().remedy() == Remedy::Retry {
            Page::new(503, "Temporarily unavailable", &Body::Unavailable)
        } else {
            Page::new(500, "Not set up correctly", &Body::NotSetUp)
        }
    }
}

impl LinkRefusal {
    pub fn page(self) -> Page {
        let (status, title, what) = match self {
            LinkRefusal::Missing => (
                400,
                "Connect link missing",
                "This address only works through a connect link, and none was given.",
            ),
            LinkRefusal::Unknown => (
                403,
                "Connect link not valid",
                "This connect link was not issued by this deployment (it may have been \
                 copied incompletely).",
            ),
            LinkRefusal::AlreadyUsed => (
                410,
                "Connect link already used",
                "This connect link has already been used: each link works once.",
            ),
            LinkRefusal::Expired => (
                410,
                "Connect link expired",
                "This connect link has expired: links work for a few minutes only.",
            ),
        };
        Page::new(status, title, &Body::LinkRefused { what })
    }
}

impl CallbackRefusal {
    pub fn page(&self) -> Page {
        let (status, title, body) = match self {
            CallbackRefusal::Malformed { param } => {
                (400, "Malformed request", Body::Malformed { param })
            }
            CallbackRefusal::MissingState => (400, "Not a TikTok sign-in", Body::MissingState),
            CallbackRefusal::UnknownState => (403, "Unknown sign-in", Body::UnknownState),
            CallbackRefusal::StateUsed => (410, "Sign-in already finished", Body::StateUsed),
            CallbackRefusal::StateExpired => (410, "Sign-in expired", Body::StateExpired),
            CallbackRefusal::BindingMissing | CallbackRefusal::BindingMismatch => {
                (403, "Started in another browser", Body::OtherBrowser)
            }
            CallbackRefusal::Declined => (200, "Not connected", Body::Declined),
            CallbackRefusal::TikTokError { error, description } => (
                502,
                "TikTok reported an error",
                Body::TikTokError {
                    error,
                    description: description.as_deref(),
                },
            ),
            CallbackRefusal::MissingCode => (400, "No authorization code", Body::MissingCode),
            CallbackRefusal::MissingScopes { missing } => {
                (403, "Permissions missing", Body::MissingScopes { missing })
            }
            CallbackRefusal::CodeRefused => (502, "TikTok refused the sign-in", Body::CodeRefused),
            CallbackRefusal::ExchangeUnavailable => {
                (503, "Temporarily unavailable", Body::ExchangeUnavailable)
            }
            CallbackRefusal::ExchangeRejected => {
                (502, "TikTok refused the connection", Body::ExchangeRejected)
            }
        };
        Page::new(status, title, &body)
    }
}

impl CallbackOutcome {
    pub fn page(&self) -> Page {
        match self {
            CallbackOutcome::Connected {
                open_id,
                nickname,
                drafts_only,
            } => Page::new(
                200,
                "TikTok account connected",
                &Body::Connected {
                    open_id,
                    nickname: nickname.as_deref(),
                    drafts_only: *drafts_only,
                },
            ),
            CallbackOutcome::Refused(refusal) => refusal.page(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped() {
        // askama writes numeric character references (`&#60;`, not `&lt;`): the same
        // characters, escaped.
        assert_eq!(
            html_escape(r#"<script>alert("x&'y")</script>"#),
            "&#60;script&#62;alert(&#34;x&#38;&#39;y&#34;)&#60;/script&#62;"
        );
        let page = CallbackRefusal::TikTokError {
            error: "<b>".into(),
            description: Some("<script>alert(1)</script>".into()),
        }
        .page();
        assert!(!page.html().contains("<script>"));
        assert!(
            page.html()
                .contains("&#60;script&#62;alert(1)&#60;/script&#62;")
        );
    }

    #[test]
    fn every_refusal_page_says_how_to_get_a_new_link() {
        for refusal in [
            LinkRefusal::Missing,
            LinkRefusal::Unknown,
            LinkRefusal::AlreadyUsed,
            LinkRefusal::Expired,
        ] {
            let page = refusal.page();
            assert!(page.html().contains(NEW_LINK_COMMAND), "{refusal:?}");
            assert!(page.status >= 400);
        }
        assert_eq!(LinkRefusal::Unknown.page().status, 403);
        assert_eq!(LinkRefusal::Expired.page().status, 410);
    }
}
