//! Connecting a TikTok account: connect links, the redirect to TikTok's authorize page, and
//! the callback that stores the account's tokens.
//!
//! The flow, and what guards each step:
//! 1. [`issue_connect_link`] (behind the IAM-authorised API) stores a single-use, short-lived
//!    connect link. Only its holder can start a connection, so strangers can neither attach
//!    their TikTok account to this deployment nor spend the app's daily user cap.
//! 2. [`start_connect`] (`GET /oauth/start?link=...`, public) uses the link up, stores a
//!    single-use OAuth `state` whose record holds the SHA-256 of a random nonce, sets the nonce
//!    in a `__Host-` cookie, and redirects to TikTok.
//! 3. [`check_callback`] then [`complete_callback`] (`GET /oauth/callback`, public) use the
//!    state up, require the cookie whose hash the state holds (so only the browser that
//!    redeemed the link can finish), check the granted scopes, exchange the code and store
//!    the tokens through [`crate::tokens::TokenService::connect`].
//!
//! Every outcome is a typed value that renders as a small HTML [`Page`] from askama
//! templates, which escape anything echoed back. Codes, tokens, states, nonces and the client
//! secret are never logged or shown.
//!
//! - `settings`: [`ConnectSettings`], read from the environment.
//! - `link`, `start`, `callback`: the three steps above.
//! - `binding`: the `__Host-` cookie binding a flow to its browser.
//! - `pages` and `responses`: what a browser gets back (HTML, headers, cookie).

mod binding;
mod callback;
mod error;
mod link;
mod pages;
mod responses;
mod settings;
mod start;

pub use binding::{binding_cookies, clear_binding_cookie};
pub use callback::{
    CALLBACK_PARAMS, CallbackCheck, CallbackOutcome, CallbackQuery, CallbackRefusal,
    CallbackRequest, CodeExchange, Redacted, check_callback, complete_callback, finish_callback,
};
pub use error::ConnectError;
pub use link::{ConnectLink, issue_connect_link};
pub use pages::{Page, html_escape};
pub use responses::{PAGE_HEADERS, callback_response, start_response};
pub use settings::ConnectSettings;
pub use start::{AuthorizeRedirect, LinkRefusal, StartOutcome, start_connect, the_only_link};

/// Path of the public route that redeems a connect link.
pub const START_PATH: &str = "/oauth/start";
/// Path of the public route TikTok redirects back to (the default redirect URI).
pub const CALLBACK_PATH: &str = "/oauth/callback";
/// Query parameter of [`START_PATH`] carrying the connect link's token.
pub const LINK_PARAM: &str = "link";
/// The cookie binding a flow to the browser that started it. `__Host-` makes browsers refuse
/// it unless it is Secure, host-only and `Path=/`, so a sibling subdomain cannot plant one.
pub const BINDING_COOKIE: &str = "__Host-tiktok-publish-oauth";
/// What connecting needs: upload to the inbox. A grant without it is refused; one without
/// `video.publish` connects, and the account posts drafts only (TikTok lets the person untick
/// a scope on its consent page).
pub const CONNECT_SCOPES: [&str; 1] = [crate::tiktok::DRAFT_SCOPE];
/// Default life of a connect link: `CONNECT_LINK_TTL_SECS`.
pub const DEFAULT_LINK_TTL_SECS: u64 = 15 * 60;
/// Default life of an OAuth state (time to log in and consent at TikTok):
/// `OAUTH_STATE_TTL_SECS`.
pub const DEFAULT_STATE_TTL_SECS: u64 = 10 * 60;
/// The command people run to get a new link (quoted on every refusal page).
pub const NEW_LINK_COMMAND: &str = "tiktok-publish connect";
