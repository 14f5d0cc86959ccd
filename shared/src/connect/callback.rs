//! Step 3: `GET /oauth/callback` uses the state up, requires the binding cookie whose hash
//! the state holds, checks TikTok's answer and the granted scopes, then exchanges the code
//! and stores the account's tokens.

use std::fmt;

use crate::errors::{Classify, ErrorKind, Remedy};
use crate::store::{ConsumeOutcome, OAuthStateStore, OneTimeKind, UnixTime};
use crate::tiktok::{DIRECT_POST_SCOPE, split_scopes};
use crate::tokens::{TokenError, TokenService};

use super::binding::{binding_cookies, is_bound};
use super::{CONNECT_SCOPES, ConnectError, ConnectSettings};

/// The query parameters TikTok sends back (what [`CallbackQuery::from_pairs`] reads);
/// anything else is ignored.
pub const CALLBACK_PARAMS: [&str; 5] = ["state", "code", "scopes", "error", "error_description"];

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

impl CallbackRequest {
    /// The request from the query's `(name, value)` pairs, decoded once, and the `Cookie`
    /// header values. A repeated parameter refuses the whole request.
    pub fn read<'a>(
        query_pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
        cookie_headers: impl IntoIterator<Item = &'a str>,
    ) -> Result<CallbackRequest, CallbackRefusal> {
        Ok(CallbackRequest {
            query: CallbackQuery::from_pairs(query_pairs)?,
            binding_cookies: Redacted(binding_cookies(cookie_headers)),
        })
    }
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
        /// It granted `video.upload` without `video.publish`: drafts only.
        drafts_only: bool,
    },
    Refused(CallbackRefusal),
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
    if !is_bound(binding, &request.binding_cookies.0) {
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
    let missing: Vec<&'static str> = CONNECT_SCOPES
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
                drafts_only: !account.scopes.iter().any(|s| s == DIRECT_POST_SCOPE),
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
        kind if kind.remedy() == Remedy::Retry => CallbackRefusal::ExchangeUnavailable,
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
