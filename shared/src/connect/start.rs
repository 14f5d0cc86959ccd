//! Step 2: `GET /oauth/start?link=...` redeems a connect link, stores a single-use OAuth
//! state bound to a new browser nonce, and sends the browser to TikTok's authorize page.

use std::fmt;

use crate::store::{
    ConsumeOutcome, OAuthStateStore, OneTimeKind, OneTimeRecord, OneTimeToken, UnixTime,
};
use crate::tiktok::{REQUIRED_SCOPES, TikTokAuthorize};

use super::binding::{binding_cookie, binding_of};
use super::{ConnectError, ConnectSettings};

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
    tiktok: &dyn TikTokAuthorize,
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

/// The link to redeem among the values the query gave `link`: a repeated one counts as
/// missing, since which copy to redeem would be a guess.
pub fn the_only_link<'a>(values: &[&'a str]) -> Option<&'a str> {
    match values {
        [link] => Some(link),
        _ => None,
    }
}
