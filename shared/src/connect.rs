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
//!    the tokens through [`TokenService::connect`].
//!
//! Every outcome is a typed value that renders as a small HTML [`Page`]; anything echoed back
//! is HTML-escaped. Codes, tokens, states, nonces and the client secret are never logged or
//! shown.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::config::{ConfigError, number_or, optional, required};
use crate::errors::{Classify, ErrorKind};
use crate::setup::WiringError;
use crate::store::{
    ConsumeOutcome, OAuthStateStore, OneTimeKind, OneTimeRecord, OneTimeToken, StoreError, UnixTime,
};
use crate::tiktok::{REQUIRED_SCOPES, TikTokClient, split_scopes};
use crate::tokens::{TokenError, TokenService};

/// Path of the public route that redeems a connect link.
pub const START_PATH: &str = "/oauth/start";
/// Path of the public route TikTok redirects back to (the default redirect URI).
pub const CALLBACK_PATH: &str = "/oauth/callback";
/// Query parameter of [`START_PATH`] carrying the connect link's token.
pub const LINK_PARAM: &str = "link";
/// The cookie binding a flow to the browser that started it. `__Host-` makes browsers refuse
/// it unless it is Secure, host-only and `Path=/`, so a sibling subdomain cannot plant one.
pub const BINDING_COOKIE: &str = "__Host-tiktok-publish-oauth";
/// What posting needs: Direct Post and upload to inbox. A grant without them is refused.
pub const POSTING_SCOPES: [&str; 2] = ["video.publish", "video.upload"];
/// Default life of a connect link: `CONNECT_LINK_TTL_SECS`.
pub const DEFAULT_LINK_TTL_SECS: u64 = 15 * 60;
/// Default life of an OAuth state (time to log in and consent at TikTok):
/// `OAUTH_STATE_TTL_SECS`.
pub const DEFAULT_STATE_TTL_SECS: u64 = 10 * 60;
/// The command people run to get a new link (quoted on every refusal page).
pub const NEW_LINK_COMMAND: &str = "tiktok-publish connect";

// ---------------------------------------------------------------- settings

/// Where the connect flow lives and how long its one-time tokens last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectSettings {
    /// The API's public base URL, no trailing slash (`PUBLIC_BASE_URL`): connect links
    /// point at it. Taken from configuration, never from the request (behind API Gateway
    /// or `cargo lambda watch` the request's own URL is not the public one).
    pub public_base_url: String,
    /// The redirect URI registered with TikTok (`TIKTOK_REDIRECT_URI`, default
    /// `{PUBLIC_BASE_URL}/oauth/callback`). Sent to the authorize page and repeated, byte
    /// for byte, in the code exchange.
    pub redirect_uri: String,
    /// Seconds a connect link stays usable (`CONNECT_LINK_TTL_SECS`, default 900).
    pub link_ttl_secs: i64,
    /// Seconds an OAuth state stays usable (`OAUTH_STATE_TTL_SECS`, default 600).
    pub state_ttl_secs: i64,
}

impl ConnectSettings {
    /// Settings for this base URL: redirect URI `{base}/oauth/callback`, default lifetimes.
    pub fn new(public_base_url: &str) -> Result<ConnectSettings, ConfigError> {
        let base = absolute_url("PUBLIC_BASE_URL", public_base_url.trim())?;
        let base = base.trim_end_matches('/').to_owned();
        Ok(ConnectSettings {
            redirect_uri: format!("{base}{CALLBACK_PATH}"),
            public_base_url: base,
            link_ttl_secs: secs(DEFAULT_LINK_TTL_SECS),
            state_ttl_secs: secs(DEFAULT_STATE_TTL_SECS),
        })
    }

    /// The same settings with another registered redirect URI.
    pub fn with_redirect_uri(mut self, redirect_uri: &str) -> Result<ConnectSettings, ConfigError> {
        self.redirect_uri = absolute_url("TIKTOK_REDIRECT_URI", redirect_uri.trim())?;
        Ok(self)
    }

    /// Reads `PUBLIC_BASE_URL` (required), `TIKTOK_REDIRECT_URI`, `CONNECT_LINK_TTL_SECS`
    /// and `OAUTH_STATE_TTL_SECS`.
    pub fn from_env() -> Result<ConnectSettings, ConfigError> {
        let mut settings = ConnectSettings::new(&required("PUBLIC_BASE_URL")?)?;
        if let Some(uri) = optional("TIKTOK_REDIRECT_URI") {
            settings = settings.with_redirect_uri(&uri)?;
        }
        settings.link_ttl_secs = positive_secs("CONNECT_LINK_TTL_SECS", DEFAULT_LINK_TTL_SECS)?;
        settings.state_ttl_secs = positive_secs("OAUTH_STATE_TTL_SECS", DEFAULT_STATE_TTL_SECS)?;
        Ok(settings)
    }
}

fn absolute_url(name: &'static str, value: &str) -> Result<String, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid { name, reason };
    let url = url::Url::parse(value).map_err(|e| invalid(format!("{value:?}: {e}")))?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
        return Err(invalid(format!("{value:?} is not an absolute http(s) URL")));
    }
    Ok(value.to_owned())
}

fn secs(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn positive_secs(name: &'static str, default: u64) -> Result<i64, ConfigError> {
    match number_or(name, default)? {
        // Zero would make every token dead on arrival: surely a mistake.
        0 => Err(ConfigError::Invalid {
            name,
            reason: "must be at least 1 second".into(),
        }),
        value => Ok(secs(value)),
    }
}

// ---------------------------------------------------------------- errors

/// Why the flow could not run at all (as opposed to a refusal, which is an outcome).
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The oauth table failed: retry later (with a new link, if this one was used up).
    #[error("the OAuth table failed: {0}")]
    Store(#[from] StoreError),
    /// The TikTok client could not be built (client secret unreadable, bad configuration).
    #[error("cannot set up the TikTok client: {0}")]
    Wiring(#[from] WiringError),
}

impl Classify for ConnectError {
    fn kind(&self) -> ErrorKind {
        match self {
            ConnectError::Store(e) => e.kind(),
            ConnectError::Wiring(e) => e.kind(),
        }
    }
}

impl ConnectError {
    /// The page a browser gets; details stay in the logs.
    pub fn page(&self) -> Page {
        if self.kind().remedy() == crate::errors::Remedy::Retry {
            Page::new(
                503,
                "Temporarily unavailable",
                format!(
                    "<p>Something this service depends on did not answer. Nothing was \
                     connected. Wait a minute, then {}</p>",
                    new_link_advice()
                ),
            )
        } else {
            Page::new(
                500,
                "Not set up correctly",
                "<p>This deployment is not configured correctly (for example, the TikTok \
                 client secret is not set), so no account can be connected yet. Its operator \
                 will find the reason in the logs.</p>"
                    .to_owned(),
            )
        }
    }
}

// ---------------------------------------------------------------- step 1: the connect link

/// A connect link: `{PUBLIC_BASE_URL}/oauth/start?link=TOKEN`. Whoever holds it may connect
/// one account until `expires_at`, so `Debug` redacts it.
#[derive(Clone)]
pub struct ConnectLink {
    url: SecretString,
    pub expires_at: UnixTime,
}

impl ConnectLink {
    /// The link to hand to the person connecting (a bearer credential until used).
    pub fn expose(&self) -> &str {
        self.url.expose_secret()
    }
}

impl fmt::Debug for ConnectLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectLink")
            .field("url", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Issues a single-use connect link valid for `settings.link_ttl_secs`. `requested_by`
/// (for example the IAM caller's ARN) is kept with the link and logged when an account
/// connects through it.
pub async fn issue_connect_link(
    store: &dyn OAuthStateStore,
    settings: &ConnectSettings,
    requested_by: Option<&str>,
    now: UnixTime,
) -> Result<ConnectLink, ConnectError> {
    let mut record = OneTimeRecord::new(OneTimeKind::ConnectLink, now, settings.link_ttl_secs);
    record.note = requested_by.map(str::to_owned);
    let token = store.issue(&record).await?;
    let mut url = match url::Url::parse(&format!("{}{START_PATH}", settings.public_base_url)) {
        Ok(url) => url,
        Err(e) => {
            // ConnectSettings::new validated the base URL; only a hand-built value gets here.
            return Err(ConnectError::Wiring(WiringError::Config(
                ConfigError::Invalid {
                    name: "PUBLIC_BASE_URL",
                    reason: e.to_string(),
                },
            )));
        }
    };
    url.query_pairs_mut()
        .append_pair(LINK_PARAM, token.expose());
    tracing::info!(expires_at = record.expires_at, "connect link issued");
    Ok(ConnectLink {
        url: SecretString::from(String::from(url)),
        expires_at: record.expires_at,
    })
}

// ---------------------------------------------------------------- step 2: start

/// Why a connect link was refused. Nothing is stored on any of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefusal {
    /// No `link` parameter (or an empty or repeated one).
    Missing,
    /// Never issued by this deployment (or deleted long after expiry).
    Unknown,
    /// Used once already.
    AlreadyUsed,
    /// Past its lifetime.
    Expired,
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
        Page::new(
            status,
            title,
            format!(
                "<p>{what} Nothing was connected.</p><p>{}</p>",
                new_link_advice()
            ),
        )
    }
}

/// Where to send the browser: TikTok's authorize page, with the binding cookie set.
/// `Debug` redacts both (they carry the state and the nonce).
#[derive(Clone)]
pub struct AuthorizeRedirect {
    /// The `Location` of the 302.
    pub location: String,
    /// The `Set-Cookie` value carrying the nonce whose hash the state holds.
    pub set_cookie: String,
}

impl fmt::Debug for AuthorizeRedirect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthorizeRedirect([redacted])")
    }
}

/// What `GET /oauth/start` answers.
#[derive(Debug, Clone)]
pub enum StartOutcome {
    /// 302 to TikTok.
    Redirect(AuthorizeRedirect),
    /// A small page saying why, and to ask for a new link.
    Refused(LinkRefusal),
}

/// Redeems a connect link (`link` as the query gave it, decoded once): on success stores a
/// fresh OAuth state bound to a new browser nonce and returns the redirect to TikTok.
/// `tiktok` only builds the authorize URL (no call is made, no secret is needed).
#[tracing::instrument(skip_all)]
pub async fn start_connect(
    store: &dyn OAuthStateStore,
    tiktok: &TikTokClient,
    settings: &ConnectSettings,
    link: Option<&str>,
    now: UnixTime,
) -> Result<StartOutcome, ConnectError> {
    let Some(link) = link.filter(|l| !l.is_empty()) else {
        return Ok(StartOutcome::Refused(LinkRefusal::Missing));
    };
    let link_record = match store.consume(OneTimeKind::ConnectLink, link, now).await? {
        ConsumeOutcome::Consumed(record) => record,
        ConsumeOutcome::Unknown => return Ok(refused_link(LinkRefusal::Unknown)),
        ConsumeOutcome::AlreadyUsed => return Ok(refused_link(LinkRefusal::AlreadyUsed)),
        ConsumeOutcome::Expired => return Ok(refused_link(LinkRefusal::Expired)),
    };
    let nonce = OneTimeToken::generate();
    let mut state = OneTimeRecord::new(OneTimeKind::OAuthState, now, settings.state_ttl_secs);
    state.redirect_uri = Some(settings.redirect_uri.clone());
    state.binding = Some(binding_of(nonce.expose()));
    state.note = link_record.note;
    let state_token = store.issue(&state).await?;
    let location = tiktok.authorize_url(
        &settings.redirect_uri,
        state_token.expose(),
        &REQUIRED_SCOPES,
    );
    tracing::info!(
        state_expires_at = state.expires_at,
        "connect link redeemed; browser sent to TikTok"
    );
    Ok(StartOutcome::Redirect(AuthorizeRedirect {
        location,
        set_cookie: binding_cookie(nonce.expose(), settings.state_ttl_secs),
    }))
}

fn refused_link(refusal: LinkRefusal) -> StartOutcome {
    tracing::info!(?refusal, "connect link refused");
    StartOutcome::Refused(refusal)
}

/// What the state record holds: the nonce itself stays in the browser only, so reading the
/// table does not let anyone finish the flow.
fn binding_of(nonce: &str) -> String {
    hex::encode(Sha256::digest(nonce.as_bytes()))
}

fn binding_cookie(nonce: &str, max_age_secs: i64) -> String {
    // Lax, not Strict: the callback is a cross-site top-level navigation from tiktok.com,
    // which Strict would send without the cookie.
    format!(
        "{BINDING_COOKIE}={nonce}; Path=/; Max-Age={max_age_secs}; Secure; HttpOnly; SameSite=Lax"
    )
}

/// The `Set-Cookie` value that deletes the binding cookie (every callback answer sends it:
/// the state it was bound to is used up either way).
pub fn clear_binding_cookie() -> String {
    format!("{BINDING_COOKIE}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax")
}

/// The binding cookie's values among `Cookie` header values (normally one; every copy is
/// kept, since only one needs to match).
pub fn binding_cookies<'a>(cookie_headers: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    cookie_headers
        .into_iter()
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == BINDING_COOKIE)
        // Quotes first: `""` is as empty as nothing.
        .map(|(_, value)| value.trim().trim_matches('"'))
        .filter(|value| !value.is_empty())
        .map(str::to_owned)
        .collect()
}

// ---------------------------------------------------------------- step 3: the callback

/// The callback's query, decoded once (as lambda_http hands it over). `Debug` redacts the
/// code and the state.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct CallbackQuery {
    pub state: Option<String>,
    pub code: Option<String>,
    pub scopes: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

impl fmt::Debug for CallbackQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackQuery")
            .field("state", &self.state.as_ref().map(|_| "[redacted]"))
            .field("code", &self.code.as_ref().map(|_| "[redacted]"))
            .field("scopes", &self.scopes)
            .field("error", &self.error)
            .field("error_description", &self.error_description)
            .finish()
    }
}

impl CallbackQuery {
    /// Reads the parameters TikTok sends from decoded `(name, value)` pairs. A parameter
    /// given twice is refused: which copy to believe would be the attacker's choice.
    /// Empty values count as absent; unknown parameters are ignored.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<CallbackQuery, CallbackRefusal> {
        let mut query = CallbackQuery::default();
        // Tracked apart from the values: an empty first copy must still count as given.
        let mut seen = [false; 5];
        for (name, value) in pairs {
            let (index, slot, param) = match name {
                "state" => (0, &mut query.state, "state"),
                "code" => (1, &mut query.code, "code"),
                "scopes" => (2, &mut query.scopes, "scopes"),
                "error" => (3, &mut query.error, "error"),
                "error_description" => (4, &mut query.error_description, "error_description"),
                _ => continue,
            };
            if std::mem::replace(&mut seen[index], true) {
                return Err(CallbackRefusal::Malformed { param });
            }
            if !value.is_empty() {
                *slot = Some(value.to_owned());
            }
        }
        Ok(query)
    }
}

/// Everything the callback looks at: the query and the binding cookie's values.
#[derive(Debug, Clone, Default)]
pub struct CallbackRequest {
    pub query: CallbackQuery,
    /// From [`binding_cookies`]; `Debug` redacts them.
    pub binding_cookies: Redacted<Vec<String>>,
}

/// A value whose `Debug` says only whether it is there.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Redacted<T>(pub T);

impl<T> fmt::Debug for Redacted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Why the callback connected nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackRefusal {
    /// A parameter given more than once.
    Malformed { param: &'static str },
    /// No `state`: not a redirect from an authorize request this deployment made.
    MissingState,
    /// A state this deployment never issued (or of another kind).
    UnknownState,
    /// The state was used already (a reload, or a replay).
    StateUsed,
    /// The person took longer than the state's lifetime.
    StateExpired,
    /// No binding cookie: another browser, or cookies blocked.
    BindingMissing,
    /// A binding cookie from another flow.
    BindingMismatch,
    /// The person clicked Deny (`error=access_denied`).
    Declined,
    /// TikTok sent another `error` (the description is TikTok's text, or an attacker's).
    TikTokError {
        error: String,
        description: Option<String>,
    },
    /// Neither a code nor an error.
    MissingCode,
    /// The grant lacks scopes posting needs; nothing was stored.
    MissingScopes { missing: Vec<&'static str> },
    /// TikTok refused the code (expired, used, or not for this redirect URI).
    CodeRefused,
    /// TikTok or the accounts table failed during the exchange.
    ExchangeUnavailable,
    /// TikTok refused the exchange for another reason (the app's credentials, ...).
    ExchangeRejected,
}

impl CallbackRefusal {
    pub fn page(&self) -> Page {
        let advice = new_link_advice();
        let (status, title, body) = match self {
            CallbackRefusal::Malformed { param } => (
                400,
                "Malformed request",
                format!(
                    "<p>The parameter <code>{}</code> was given more than once, so this \
                     request was not trusted. Nothing was connected.</p><p>{advice}</p>",
                    html_escape(param)
                ),
            ),
            CallbackRefusal::MissingState => (
                400,
                "Not a TikTok sign-in",
                format!(
                    "<p>This address is where TikTok sends you back after you authorize the \
                     app, but this request does not come from such a sign-in. Nothing was \
                     connected.</p><p>{advice}</p>"
                ),
            ),
            CallbackRefusal::UnknownState => (
                403,
                "Unknown sign-in",
                format!(
                    "<p>This sign-in was not started by this deployment. Nothing was \
                     connected.</p><p>{advice}</p>"
                ),
            ),
            CallbackRefusal::StateUsed => (
                410,
                "Sign-in already finished",
                format!(
                    "<p>This sign-in has already been used (perhaps the page was reloaded). \
                     If it succeeded the first time, the account is connected. Nothing more \
                     was done.</p><p>To connect again, {}</p>",
                    new_link_advice_lower()
                ),
            ),
            CallbackRefusal::StateExpired => (
                410,
                "Sign-in expired",
                format!(
                    "<p>This sign-in took too long and has expired. Nothing was connected.</p>\
                     <p>{advice}</p>"
                ),
            ),
            CallbackRefusal::BindingMissing | CallbackRefusal::BindingMismatch => (
                403,
                "Started in another browser",
                format!(
                    "<p>This sign-in was started in another browser or tab (or this browser \
                     blocked the cookie the start page set), so it was not trusted. Nothing \
                     was connected.</p><p>{advice} Open it in the browser you sign in to \
                     TikTok with, and finish there.</p>"
                ),
            ),
            CallbackRefusal::Declined => (
                200,
                "Not connected",
                format!(
                    "<p>You declined to authorize the app on TikTok, so no account was \
                     connected.</p><p>If you change your mind, {}</p>",
                    new_link_advice_lower()
                ),
            ),
            CallbackRefusal::TikTokError { error, description } => (
                502,
                "TikTok reported an error",
                format!(
                    "<p>TikTok did not authorize the app: <code>{}</code>{}</p>\
                     <p>Nothing was connected. {advice}</p>",
                    html_escape(error),
                    description
                        .as_deref()
                        .map(|d| format!(" ({})", html_escape(d)))
                        .unwrap_or_default()
                ),
            ),
            CallbackRefusal::MissingCode => (
                400,
                "No authorization code",
                format!(
                    "<p>TikTok sent you back without an authorization code. Nothing was \
                     connected.</p><p>{advice}</p>"
                ),
            ),
            CallbackRefusal::MissingScopes { missing } => (
                403,
                "Permissions missing",
                format!(
                    "<p>Posting needs the permissions {} and they were not granted, so the \
                     account was not connected and nothing was stored.</p><p>{advice} On \
                     TikTok's page, leave every requested permission on.</p>",
                    missing
                        .iter()
                        .map(|s| format!("<code>{}</code>", html_escape(s)))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            CallbackRefusal::CodeRefused => (
                502,
                "TikTok refused the sign-in",
                format!(
                    "<p>TikTok refused the authorization code (codes expire within minutes \
                     and work once). Nothing was connected.</p><p>{advice}</p>"
                ),
            ),
            CallbackRefusal::ExchangeUnavailable => (
                503,
                "Temporarily unavailable",
                format!(
                    "<p>TikTok or this deployment's storage did not answer while the account \
                     was being connected. Wait a minute, then {}</p>",
                    new_link_advice_lower()
                ),
            ),
            CallbackRefusal::ExchangeRejected => (
                502,
                "TikTok refused the connection",
                format!(
                    "<p>TikTok refused to hand over the account's tokens. Nothing was \
                     connected. If this persists, the deployment's TikTok app settings \
                     (client key, secret, redirect URI) need checking; the logs say \
                     more.</p><p>{advice}</p>"
                ),
            ),
        };
        Page::new(status, title, body)
    }
}

/// The code to exchange, once the callback's checks passed. `Debug` redacts the code.
#[derive(Clone)]
pub struct CodeExchange {
    code: String,
    redirect_uri: String,
    requested_by: Option<String>,
}

impl fmt::Debug for CodeExchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodeExchange")
            .field("code", &"[redacted]")
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

/// What the callback's checks decided.
#[derive(Debug, Clone)]
pub enum CallbackCheck {
    /// Everything checked: exchange this code ([`complete_callback`]).
    Exchange(CodeExchange),
    Refused(CallbackRefusal),
}

/// What `GET /oauth/callback` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackOutcome {
    /// The account's tokens are stored.
    Connected {
        open_id: String,
        /// Known when the account was connected before with one.
        nickname: Option<String>,
    },
    Refused(CallbackRefusal),
}

impl CallbackOutcome {
    pub fn page(&self) -> Page {
        match self {
            CallbackOutcome::Connected { open_id, nickname } => {
                let who = match nickname {
                    Some(nickname) => format!(
                        "<strong>{}</strong> (open_id <code>{}</code>)",
                        html_escape(nickname),
                        html_escape(open_id)
                    ),
                    None => format!("with open_id <code>{}</code>", html_escape(open_id)),
                };
                Page::new(
                    200,
                    "TikTok account connected",
                    format!(
                        "<p>The TikTok account {who} is connected. Videos can now be \
                         published to it.</p><p>You can close this page.</p>"
                    ),
                )
            }
            CallbackOutcome::Refused(refusal) => refusal.page(),
        }
    }
}

/// The callback's checks, before any call to TikTok: uses the state up (every callback that
/// presents one ends it, whatever else is wrong), then checks the binding cookie, TikTok's
/// `error`, the code and the granted scopes. Nothing is stored.
#[tracing::instrument(skip_all)]
pub async fn check_callback(
    store: &dyn OAuthStateStore,
    settings: &ConnectSettings,
    request: &CallbackRequest,
    now: UnixTime,
) -> Result<CallbackCheck, ConnectError> {
    let query = &request.query;
    let Some(state) = query.state.as_deref() else {
        return Ok(refused(CallbackRefusal::MissingState));
    };
    let record = match store.consume(OneTimeKind::OAuthState, state, now).await? {
        ConsumeOutcome::Consumed(record) => record,
        ConsumeOutcome::Unknown => return Ok(refused(CallbackRefusal::UnknownState)),
        ConsumeOutcome::AlreadyUsed => return Ok(refused(CallbackRefusal::StateUsed)),
        ConsumeOutcome::Expired => return Ok(refused(CallbackRefusal::StateExpired)),
    };
    // Checked before TikTok's own answer: a callback from another browser gets no say,
    // not even a "you declined" page.
    let Some(binding) = record.binding.as_deref() else {
        // Every state start_connect issues has one; a state without is not ours to finish.
        return Ok(refused(CallbackRefusal::BindingMismatch));
    };
    if request.binding_cookies.0.is_empty() {
        return Ok(refused(CallbackRefusal::BindingMissing));
    }
    let bound = request
        .binding_cookies
        .0
        .iter()
        .any(|nonce| constant_time_eq(binding_of(nonce).as_bytes(), binding.as_bytes()));
    if !bound {
        return Ok(refused(CallbackRefusal::BindingMismatch));
    }
    if let Some(error) = query.error.as_deref() {
        return Ok(refused(if error == "access_denied" {
            CallbackRefusal::Declined
        } else {
            CallbackRefusal::TikTokError {
                error: error.to_owned(),
                description: query.error_description.clone(),
            }
        }));
    }
    let Some(code) = query.code.as_deref() else {
        return Ok(refused(CallbackRefusal::MissingCode));
    };
    let granted = split_scopes(query.scopes.as_deref().unwrap_or_default());
    let missing: Vec<&'static str> = POSTING_SCOPES
        .into_iter()
        .filter(|needed| !granted.iter().any(|g| g == needed))
        .collect();
    if !missing.is_empty() {
        return Ok(refused(CallbackRefusal::MissingScopes { missing }));
    }
    Ok(CallbackCheck::Exchange(CodeExchange {
        code: code.to_owned(),
        // The exchange must repeat exactly what the authorize request sent.
        redirect_uri: record
            .redirect_uri
            .unwrap_or_else(|| settings.redirect_uri.clone()),
        requested_by: record.note,
    }))
}

fn refused(refusal: CallbackRefusal) -> CallbackCheck {
    // The refusal names no secret (TikTok's error description is not logged: it is
    // attacker-controlled text).
    let reason = match &refusal {
        CallbackRefusal::TikTokError { error, .. } => format!("TikTok error {error:?}"),
        other => format!("{other:?}"),
    };
    tracing::info!(%reason, "OAuth callback refused");
    CallbackCheck::Refused(refusal)
}

/// Exchanges the code and stores the tokens ([`TokenService::connect`]: a reconnect never
/// replaces a stored refresh token with an empty one).
#[tracing::instrument(skip_all)]
pub async fn complete_callback(tokens: &TokenService, exchange: CodeExchange) -> CallbackOutcome {
    match tokens.connect(&exchange.code, &exchange.redirect_uri).await {
        Ok(account) => {
            tracing::info!(
                open_id = %account.open_id,
                requested_by = exchange.requested_by.as_deref().unwrap_or("unknown"),
                "TikTok account connected through a connect link"
            );
            CallbackOutcome::Connected {
                open_id: account.open_id,
                nickname: account.nickname,
            }
        }
        Err(error) => {
            // TokenError's messages carry no secret (the client keeps them out of errors).
            tracing::warn!(error = %error, kind = error.kind().name(), "code exchange failed");
            CallbackOutcome::Refused(exchange_refusal(&error))
        }
    }
}

fn exchange_refusal(error: &TokenError) -> CallbackRefusal {
    match error.kind() {
        ErrorKind::AccountNeedsReconnect => CallbackRefusal::CodeRefused,
        kind if kind.remedy() == crate::errors::Remedy::Retry => {
            CallbackRefusal::ExchangeUnavailable
        }
        _ => CallbackRefusal::ExchangeRejected,
    }
}

/// [`check_callback`] then [`complete_callback`], for callers that have the token service
/// at hand.
pub async fn finish_callback(
    store: &dyn OAuthStateStore,
    tokens: &TokenService,
    settings: &ConnectSettings,
    request: &CallbackRequest,
    now: UnixTime,
) -> Result<CallbackOutcome, ConnectError> {
    Ok(match check_callback(store, settings, request, now).await? {
        CallbackCheck::Exchange(exchange) => complete_callback(tokens, exchange).await,
        CallbackCheck::Refused(refusal) => CallbackOutcome::Refused(refusal),
    })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    // Both sides are hex SHA-256 digests of equal length; the length is no secret.
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

// ---------------------------------------------------------------- pages

/// A small, self-contained HTML answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub status: u16,
    pub title: String,
    /// HTML, already escaped where it echoes anything.
    pub body: String,
}

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
    pub fn new(status: u16, title: &str, body: String) -> Page {
        Page {
            status,
            title: title.to_owned(),
            body,
        }
    }

    pub const CONTENT_TYPE: &'static str = "text/html; charset=utf-8";

    pub fn html(&self) -> String {
        let title = html_escape(&self.title);
        format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{title}</title>\
             <style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;\
             padding:0 1rem;line-height:1.5}}code{{background:#eee;padding:0 .2em}}</style>\
             </head>\n<body><h1>{title}</h1>\n{}\n</body></html>\n",
            self.body
        )
    }
}

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

fn new_link_advice() -> String {
    format!("Ask for a new link with <code>{NEW_LINK_COMMAND}</code>.")
}

fn new_link_advice_lower() -> String {
    format!("ask for a new link with <code>{NEW_LINK_COMMAND}</code>.")
}

/// Escapes text for HTML content and quoted attribute values.
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_default_the_redirect_uri_from_the_base_url() {
        let s = ConnectSettings::new("https://api.example.com/").unwrap();
        assert_eq!(s.public_base_url, "https://api.example.com");
        assert_eq!(s.redirect_uri, "https://api.example.com/oauth/callback");
        assert_eq!(s.link_ttl_secs, 900);
        let s = s.with_redirect_uri("https://auth.example.com/cb").unwrap();
        assert_eq!(s.redirect_uri, "https://auth.example.com/cb");
        assert!(ConnectSettings::new("api.example.com").is_err());
        assert!(ConnectSettings::new("ftp://api.example.com").is_err());
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            html_escape(r#"<script>alert("x&'y")</script>"#),
            "&lt;script&gt;alert(&quot;x&amp;&#39;y&quot;)&lt;/script&gt;"
        );
        let page = CallbackRefusal::TikTokError {
            error: "<b>".into(),
            description: Some("<script>alert(1)</script>".into()),
        }
        .page();
        assert!(!page.html().contains("<script>"));
        assert!(
            page.html()
                .contains("&lt;script&gt;alert(1)&lt;/script&gt;")
        );
    }

    #[test]
    fn repeated_callback_parameters_are_refused() {
        let query =
            CallbackQuery::from_pairs([("state", "s"), ("code", "c*3!"), ("other", "x")]).unwrap();
        assert_eq!(query.state.as_deref(), Some("s"));
        assert_eq!(query.code.as_deref(), Some("c*3!"));
        assert!(!format!("{query:?}").contains("c*3!"));
        assert_eq!(
            CallbackQuery::from_pairs([("state", "a"), ("state", "b")]),
            Err(CallbackRefusal::Malformed { param: "state" })
        );
        assert_eq!(
            CallbackQuery::from_pairs([("code", "")]).unwrap().code,
            None
        );
        assert_eq!(
            CallbackQuery::from_pairs([("state", ""), ("state", "b")]),
            Err(CallbackRefusal::Malformed { param: "state" })
        );
    }

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
        assert!(cookie.starts_with("__Host-tiktok-publish-oauth=nonce; Path=/;"));
        for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Max-Age=600"] {
            assert!(cookie.contains(attribute), "{attribute}");
        }
        assert!(!cookie.contains("Domain"));
        assert!(clear_binding_cookie().contains("Max-Age=0"));
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

    #[test]
    fn constant_time_eq_compares_whole_values() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
