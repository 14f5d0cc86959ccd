//! Headless Chromium (Debian's `/usr/bin/chromium`, installed by `scripts/install-browser`),
//! each instance with a fresh, empty profile, driven over the DevTools protocol.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::cdp::browser_protocol::network::CookieParam;
use chromiumoxide::error::CdpError;
use chromiumoxide::page::Page;
use futures::StreamExt;

use crate::without_query;

/// Where Debian's package puts the browser; `CHROMIUM_PATH` overrides it.
pub const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";

/// Flags that let Chromium run here: as root in a container (no sandbox, no GPU), and on a
/// closed network. Without the background-networking flags Chromium keeps dialling Google's
/// services (updates, sync, field trials), whose refused connections slow and clutter every
/// run; QUIC is off so that every request is plain HTTP over TCP to loopback.
const CHROMIUM_FLAGS: [&str; 13] = [
    "disable-gpu",
    "disable-quic",
    "no-first-run",
    "no-default-browser-check",
    "disable-background-networking",
    "disable-component-update",
    "disable-sync",
    "disable-default-apps",
    "disable-extensions",
    "disable-breakpad",
    "disable-client-side-phishing-detection",
    "metrics-recording-only",
    "password-store=basic",
];

/// How long a page may take to get where a test expects it (the whole OAuth redirect chain
/// through `cargo lambda watch` takes well under a second when the stack is warm).
pub const PAGE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long [`Tab::click`] waits for an element to become clickable (laid out, visible).
pub const CLICKABLE_WITHIN: Duration = Duration::from_secs(5);

/// What went wrong with the browser. Each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    #[error(
        "no Chromium at {path}: install it with scripts/install-browser (Debian's chromium), \
         or point CHROMIUM_PATH at a Chromium binary"
    )]
    NotInstalled { path: String },
    #[error("cannot create a profile directory for Chromium: {0}")]
    Profile(#[source] std::io::Error),
    #[error(
        "Chromium at {path} did not start ({source}); run it by hand with --headless to see why"
    )]
    Launch {
        path: String,
        #[source]
        source: CdpError,
    },
    #[error("Chromium refused to {action}: {source}")]
    DevTools {
        action: String,
        #[source]
        source: CdpError,
    },
    #[error(
        "timed out after {}s waiting for {what}; the browser was at {location} \
         (title {title:?}), showing: {text}", PAGE_TIMEOUT.as_secs()
    )]
    Timeout {
        what: String,
        /// Without its query (it may hold a one-time secret).
        location: String,
        title: String,
        text: String,
    },
}

pub(crate) fn devtools(action: impl Into<String>) -> impl FnOnce(CdpError) -> BrowserError {
    let action = action.into();
    move |source| BrowserError::DevTools { action, source }
}

/// A running headless Chromium with its own empty profile. Call [`Chromium::close`] when
/// done; dropping it kills the process too (the profile directory is then removed).
pub struct Chromium {
    browser: Browser,
    events: tokio::task::JoinHandle<()>,
    // Dropped after `browser` (fields drop in order), so the profile outlives the process.
    profile: tempfile::TempDir,
}

impl Chromium {
    /// Starts `CHROMIUM_PATH` (default [`DEFAULT_CHROMIUM`]) headless, with a new profile.
    pub async fn launch() -> Result<Chromium, BrowserError> {
        let path = std::env::var_os("CHROMIUM_PATH")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CHROMIUM));
        Chromium::launch_at(path).await
    }

    /// Starts the Chromium binary at `path` headless, with a new profile.
    pub async fn launch_at(path: PathBuf) -> Result<Chromium, BrowserError> {
        let shown = path.display().to_string();
        if !path.is_file() {
            return Err(BrowserError::NotInstalled { path: shown });
        }
        let profile = tempfile::Builder::new()
            .prefix("browser-tests-chromium-")
            .tempdir()
            .map_err(BrowserError::Profile)?;
        let config = BrowserConfig::builder()
            .chrome_executable(&path)
            // Only the flags above (plus headless, no-sandbox and the profile), not the
            // crate's defaults: what runs is what this file says.
            .disable_default_args()
            .args(CHROMIUM_FLAGS)
            .no_sandbox()
            // Plain http on loopback must stay http (no automatic https:// upgrade).
            .disable_https_first()
            .user_data_dir(profile.path())
            .launch_timeout(Duration::from_secs(30))
            .build()
            .map_err(|reason| BrowserError::Launch {
                path: shown.clone(),
                source: CdpError::msg(reason),
            })?;
        let (browser, mut handler) =
            Browser::launch(config)
                .await
                .map_err(|source| BrowserError::Launch {
                    path: shown.clone(),
                    source,
                })?;
        // The DevTools connection only makes progress while its handler is polled.
        let events = tokio::spawn(async move {
            while let Some(event) = handler.next().await {
                // Only a broken connection is reported here (invalid messages are skipped
                // inside the handler): the browser is gone, so stop.
                if let Err(error) = event {
                    tracing::debug!(%error, "DevTools connection closed");
                    break;
                }
            }
        });
        tracing::info!(chromium = %shown, "headless Chromium started");
        Ok(Chromium {
            browser,
            events,
            profile,
        })
    }

    /// Stores a cookie for `url`'s host, as if an earlier visit had set it.
    pub async fn set_cookie(&self, url: &str, name: &str, value: &str) -> Result<(), BrowserError> {
        let cookie = CookieParam::builder()
            .name(name)
            .value(value)
            .url(url)
            .build()
            .map_err(|reason| BrowserError::DevTools {
                action: format!("build the cookie {name}"),
                source: CdpError::msg(reason),
            })?;
        self.browser
            .set_cookies(vec![cookie])
            .await
            .map_err(devtools(format!("set the cookie {name}")))?;
        Ok(())
    }

    /// The value of the browser's cookie `name` (an `HttpOnly` one too: DevTools sees all
    /// cookies), if it has one.
    pub async fn cookie(&self, name: &str) -> Result<Option<String>, BrowserError> {
        let cookies = self
            .browser
            .get_cookies()
            .await
            .map_err(devtools(format!("read the cookie {name}")))?;
        Ok(cookies
            .into_iter()
            .find(|cookie| cookie.name == name)
            .map(|cookie| cookie.value))
    }

    /// Opens `url` in a new tab, as typing it into the address bar does.
    pub async fn open(&self, url: &str) -> Result<Tab, BrowserError> {
        let page = self
            .browser
            .new_page(url)
            .await
            .map_err(devtools(format!("open {}", without_query(url))))?;
        Ok(Tab { page })
    }

    /// Closes the browser, waits for its process to end and removes its profile.
    pub async fn close(mut self) -> Result<(), BrowserError> {
        let closed = self.browser.close().await.map_err(devtools("close"));
        // Wait in any case: the profile must not be removed under a live process.
        let _exit = self.browser.wait().await;
        self.events.abort();
        let profile = self.profile.path().display().to_string();
        closed?;
        tracing::debug!(%profile, "headless Chromium closed");
        Ok(())
    }
}

/// One tab.
pub struct Tab {
    page: Page,
}

impl Tab {
    /// The DevTools page, for the crate's other helpers ([`crate::network`]).
    pub(crate) fn page(&self) -> &Page {
        &self.page
    }
}

/// What a tab shows at one instant. Its location has no query: pages of the connect flow
/// carry one-time secrets there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// `scheme://host:port/path`.
    pub location: String,
    pub title: String,
    /// The body's rendered text (`innerText`).
    pub text: String,
}

impl Tab {
    /// What the tab shows now.
    pub async fn shown(&self) -> Result<Shown, BrowserError> {
        let url = self
            .page
            .url()
            .await
            .map_err(devtools("tell the page's URL"))?
            .unwrap_or_default();
        // Runtime.evaluate from DevTools is not subject to the page's CSP (the callback's
        // pages forbid scripts): this reads what a person would see.
        let evaluation = self
            .page
            .evaluate("[document.title, document.body ? document.body.innerText : '']")
            .await
            .map_err(devtools("read the page's text"))?;
        let (title, text): (String, String) =
            evaluation
                .into_value()
                .map_err(|e| BrowserError::DevTools {
                    action: "read the page's text".to_owned(),
                    source: CdpError::msg(e.to_string()),
                })?;
        Ok(Shown {
            location: without_query(&url),
            title,
            text,
        })
    }

    /// Waits until the tab shows what `arrived` accepts (a navigation may be under way
    /// meanwhile: a page being replaced cannot be read, which counts as "not yet").
    pub async fn wait_for(
        &self,
        what: &str,
        arrived: impl Fn(&Shown) -> bool,
    ) -> Result<Shown, BrowserError> {
        let started = Instant::now();
        let mut last_seen: Option<Shown> = None;
        loop {
            if let Ok(shown) = self.shown().await {
                if arrived(&shown) {
                    tracing::debug!(
                        what,
                        elapsed_ms = started.elapsed().as_millis(),
                        "page arrived"
                    );
                    return Ok(shown);
                }
                last_seen = Some(shown);
            }
            if started.elapsed() >= PAGE_TIMEOUT {
                let seen = last_seen.unwrap_or_else(|| Shown {
                    location: "<unreadable>".to_owned(),
                    title: String::new(),
                    text: String::new(),
                });
                return Err(BrowserError::Timeout {
                    what: what.to_owned(),
                    location: seen.location,
                    title: seen.title,
                    text: seen.text,
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Types `text` into the element `selector` finds, key by key, as a person does.
    pub async fn type_into(&self, selector: &str, text: &str) -> Result<(), BrowserError> {
        let element = self
            .page
            .find_element(selector)
            .await
            .map_err(devtools(format!("find {selector}")))?;
        element
            .click()
            .await
            .map_err(devtools(format!("focus {selector}")))?;
        element
            .type_str(text)
            .await
            .map_err(devtools(format!("type into {selector}")))?;
        Ok(())
    }

    /// The value of `expression` in the page (a promise is awaited), read as `T`. From
    /// DevTools, so the page's CSP does not apply (the tests read the DOM this way).
    pub async fn evaluate<T: serde::de::DeserializeOwned>(
        &self,
        expression: &str,
    ) -> Result<T, BrowserError> {
        let evaluation = self
            .page
            .evaluate(expression)
            .await
            .map_err(devtools(format!("evaluate {expression}")))?;
        evaluation.into_value().map_err(|e| BrowserError::DevTools {
            action: format!("read the value of {expression}"),
            source: CdpError::msg(e.to_string()),
        })
    }

    /// Picks `files` in the file input `selector`, as the file chooser would.
    pub async fn choose_files(&self, selector: &str, files: &[&str]) -> Result<(), BrowserError> {
        use chromiumoxide::cdp::browser_protocol::dom::SetFileInputFilesParams;
        let element = self
            .page
            .find_element(selector)
            .await
            .map_err(devtools(format!("find {selector}")))?;
        let params = SetFileInputFilesParams::builder()
            .files(files.iter().map(|f| (*f).to_owned()))
            .backend_node_id(element.backend_node_id)
            .build()
            .map_err(|e| BrowserError::DevTools {
                action: format!("choose files in {selector}"),
                source: CdpError::msg(e),
            })?;
        self.page
            .execute(params)
            .await
            .map_err(devtools(format!("choose files in {selector}")))?;
        Ok(())
    }

    /// The whole page as a PNG.
    pub async fn screenshot(&self) -> Result<Vec<u8>, BrowserError> {
        use chromiumoxide::page::ScreenshotParams;
        self.page
            .screenshot(ScreenshotParams::builder().full_page(true).build())
            .await
            .map_err(devtools("take a screenshot"))
    }

    /// Clicks the element `selector` finds, with the mouse (at its centre, scrolled into
    /// view), as a person does. An element the page's script is about to show (a control
    /// revealed by the previous click) is waited for, up to [`CLICKABLE_WITHIN`]: on a busy
    /// machine the page can take a moment to lay it out, as a person would wait to see it.
    pub async fn click(&self, selector: &str) -> Result<(), BrowserError> {
        let started = Instant::now();
        loop {
            let element = self
                .page
                .find_element(selector)
                .await
                .map_err(devtools(format!("find {selector}")))?;
            match element.click().await {
                Ok(_) => return Ok(()),
                Err(_) if started.elapsed() < CLICKABLE_WITHIN => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(error) => return Err(devtools(format!("click {selector}"))(error)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_missing_browser_says_how_to_install_one() {
        let missing = "/nonexistent/chromium";
        let error = match Chromium::launch_at(PathBuf::from(missing)).await {
            Err(error) => error,
            Ok(_) => panic!("a browser started from {missing}"),
        };
        assert!(
            matches!(error, BrowserError::NotInstalled { .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains("scripts/install-browser"));
    }
}
