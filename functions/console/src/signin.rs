//! Signing in and out, and who is signed in.
//!
//! The browser holds one `__Host-` cookie with an opaque session id; the tokens stay in the
//! sessions table ([`ConsoleAuth`]). The sign-in forms, shown before there is a session,
//! carry a token that must match a second short-lived `__Host-` cookie (a login-CSRF
//! guard: another site cannot sign a browser in to an account of its choosing).

use axum::Form;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use cookie::{Cookie, SameSite};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tiktok_publish_core::console::{
    Challenge, ConsoleAuth, ConsoleAuthError, IdentityError, Session, SessionId, SessionRefused,
    SignInOutcome,
};

use crate::app::Console;
use crate::pages::{self, html};
use crate::site::Site;

/// The session cookie: the opaque id, nothing else.
pub const SESSION_COOKIE: &str = "__Host-console-session";
/// The sign-in forms' CSRF cookie.
pub const SIGN_IN_COOKIE: &str = "__Host-console-sign-in";
/// How long a sign-in form stays usable.
const SIGN_IN_FORM_SECONDS: i64 = 3600;

/// A request from a signed-in user.
pub struct SignedIn {
    pub id: SessionId,
    pub session: Session,
}

impl SignedIn {
    /// Whether a form's (or header's) CSRF token is this session's.
    pub fn check_csrf(&self, presented: &str) -> Result<(), CsrfRefused> {
        if ConsoleAuth::check_csrf(&self.session, presented) {
            Ok(())
        } else {
            Err(CsrfRefused)
        }
    }

    pub fn csrf(&self) -> String {
        self.session.csrf_token.expose_secret().to_owned()
    }
}

/// A state-changing request without this session's CSRF token.
#[derive(Debug)]
pub struct CsrfRefused;

impl IntoResponse for CsrfRefused {
    fn into_response(self) -> Response {
        forbidden_form()
    }
}

/// A state-changing request without this session's CSRF token.
pub fn forbidden_form() -> Response {
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "This form did not come from this console's page, or its page is too old: reload \
         the page and try again. Nothing was changed.",
    )
        .into_response()
}

/// The value of the request's cookie `name`.
pub(crate) fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == name)
        .map(|cookie| cookie.value().to_owned())
}

impl FromRequestParts<Console> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, console: &Console) -> Result<Self, Response> {
        let id = cookie_value(&parts.headers, SESSION_COOKIE)
            .and_then(|value| SessionId::parse(&value).ok());
        let refused = match id {
            None => SessionRefused::Unknown,
            Some(id) => match console.auth.resume(&id).await {
                Ok(session) => return Ok(SignedIn { id, session }),
                Err(refused) => refused,
            },
        };
        if refused.is_retryable() {
            tracing::warn!(error = %refused, "a session could not be checked");
            return Err((
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "5")],
                "The console cannot check your sign-in right now; try again in a few seconds.",
            )
                .into_response());
        }
        let why = match refused {
            SessionRefused::Unknown => None,
            SessionRefused::Expired | SessionRefused::Revoked => {
                Some("Your session has ended; sign in again.")
            }
            _ => Some("Your session could not be checked; sign in again."),
        };
        let is_script = parts.headers.contains_key("hx-request")
            || parts
                .headers
                .get(header::CONTENT_TYPE)
                .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
        if is_script {
            return Err((
                StatusCode::UNAUTHORIZED,
                axum::Json(serde_json::json!({"error": {
                    "code": "signed_out",
                    "message": why.unwrap_or("Sign in to the console first."),
                }})),
            )
                .into_response());
        }
        let target = match why {
            Some(_) => "/console/sign-in?ended=1",
            None => "/console/sign-in",
        };
        Err(Redirect::to(target).into_response())
    }
}

/// A `__Host-` cookie (Secure, path `/`, no domain) the page's scripts cannot read.
fn host_cookie(
    name: &'static str,
    value: &str,
    same_site: SameSite,
    max_age_seconds: i64,
) -> HeaderValue {
    let cookie = Cookie::build((name, value.to_owned()))
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(same_site)
        .max_age(cookie::time::Duration::seconds(max_age_seconds))
        .build();
    HeaderValue::from_str(&cookie.to_string()).expect("ids and tokens are valid cookie values")
}

fn cleared(name: &'static str) -> HeaderValue {
    host_cookie(name, "", SameSite::Lax, 0)
}

/// The sign-in forms' token: the cookie's if the browser has a valid one, else a new one
/// (set with the answer).
pub(crate) fn form_token(headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    match cookie_value(headers, SIGN_IN_COOKIE).filter(|v| SessionId::parse(v).is_ok()) {
        Some(token) => (token, None),
        None => {
            // As unguessable as a session id, and checked the same way.
            let token = SessionId::generate().expose().to_owned();
            let cookie = host_cookie(
                SIGN_IN_COOKIE,
                &token,
                SameSite::Strict,
                SIGN_IN_FORM_SECONDS,
            );
            (token, Some(cookie))
        }
    }
}

pub(crate) fn form_token_matches(headers: &HeaderMap, presented: &str) -> bool {
    use subtle::ConstantTimeEq;
    cookie_value(headers, SIGN_IN_COOKIE).is_some_and(|expected| {
        !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
    })
}

pub(crate) fn with_cookie(mut response: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

#[derive(Deserialize)]
pub struct SignInQuery {
    #[serde(default)]
    ended: Option<String>,
    #[serde(default)]
    reset: Option<String>,
}

pub async fn sign_in_page(
    State(console): State<Console>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<SignInQuery>,
) -> Response {
    let (token, cookie) = form_token(&headers);
    let notice = match (query.ended, query.reset) {
        (Some(_), _) => Some("Your session has ended; sign in again.".to_owned()),
        (_, Some(_)) => Some("Your password was changed; sign in with it.".to_owned()),
        _ => None,
    };
    let page = pages::SignIn {
        site: Site::public(&console.site),
        form_csrf: token,
        email: String::new(),
        notice,
        error: None,
    };
    with_cookie(html(StatusCode::OK, &page), cookie)
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub async fn sign_in(
    State(console): State<Console>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    if !form_token_matches(&headers, &form.csrf) {
        return forbidden_form();
    }
    let email = form.email.trim().to_owned();
    let password = SecretString::from(form.password);
    let outcome = console.auth.sign_in(&email, &password).await;
    signed_in_or_next_step(&console, &headers, outcome, |error| pages::SignIn {
        site: Site::public(&console.site),
        form_csrf: form.csrf.clone(),
        email: email.clone(),
        notice: None,
        error: Some(error),
    })
}

#[derive(Deserialize)]
pub struct ChallengeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    session: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    code: String,
}

impl ChallengeForm {
    fn challenge(&self) -> Challenge {
        Challenge {
            username: self.username.clone(),
            session: SecretString::from(self.session.clone()),
        }
    }
}

pub async fn new_password(
    State(console): State<Console>,
    headers: HeaderMap,
    Form(form): Form<ChallengeForm>,
) -> Response {
    answer_challenge(&console, &headers, &form, true).await
}

pub async fn mfa(
    State(console): State<Console>,
    headers: HeaderMap,
    Form(form): Form<ChallengeForm>,
) -> Response {
    answer_challenge(&console, &headers, &form, false).await
}

/// The answer to the new-password (`new_password`) or the authenticator-code step.
async fn answer_challenge(
    console: &Console,
    headers: &HeaderMap,
    form: &ChallengeForm,
    new_password: bool,
) -> Response {
    if !form_token_matches(headers, &form.csrf) {
        return forbidden_form();
    }
    let challenge = form.challenge();
    let outcome = if new_password {
        let password = SecretString::from(form.new_password.clone());
        console
            .auth
            .answer_new_password(&challenge, &password)
            .await
    } else {
        console.auth.answer_mfa(&challenge, form.code.trim()).await
    };
    signed_in_or_next_step(console, headers, outcome, |error| {
        challenge_page(console, &form.csrf, &challenge, new_password, Some(error))
    })
}

fn challenge_page<'a>(
    console: &'a Console,
    csrf: &str,
    challenge: &Challenge,
    new_password: bool,
    error: Option<String>,
) -> pages::Challenge<'a> {
    pages::Challenge {
        site: Site::public(&console.site),
        heading: if new_password {
            "Choose your password"
        } else {
            "Enter your authenticator code"
        },
        action: if new_password {
            "/console/new-password"
        } else {
            "/console/mfa"
        },
        new_password,
        form_csrf: csrf.to_owned(),
        username: challenge.username.clone(),
        session: challenge.session.expose_secret().to_owned(),
        error,
    }
}

/// A sign-in step's answer: the session cookie and the Post page, the next challenge's
/// form, or the same form again with what went wrong.
fn signed_in_or_next_step<T: askama::Template>(
    console: &Console,
    headers: &HeaderMap,
    outcome: Result<SignInOutcome, ConsoleAuthError>,
    again: impl FnOnce(String) -> T,
) -> Response {
    let csrf = cookie_value(headers, SIGN_IN_COOKIE).unwrap_or_default();
    let csrf = csrf.as_str();
    match outcome {
        Ok(SignInOutcome::SignedIn(new)) => {
            // The cookie lives as long as the session may (the table's row says when it ends).
            let lifetime = i64::try_from(console.site.session_days * 24 * 3600).unwrap_or(i64::MAX);
            let mut response = Redirect::to("/console/post").into_response();
            let headers = response.headers_mut();
            headers.append(
                header::SET_COOKIE,
                host_cookie(SESSION_COOKIE, new.id.expose(), SameSite::Lax, lifetime),
            );
            headers.append(header::SET_COOKIE, cleared(SIGN_IN_COOKIE));
            response
        }
        Ok(SignInOutcome::NewPasswordRequired(challenge)) => html(
            StatusCode::OK,
            &challenge_page(console, csrf, &challenge, true, None),
        ),
        Ok(SignInOutcome::MfaRequired(challenge)) => html(
            StatusCode::OK,
            &challenge_page(console, csrf, &challenge, false, None),
        ),
        Err(err) => {
            let (status, message) = sign_in_failure(&err);
            html(status, &again(message))
        }
    }
}

/// What the person signing in is told; never whether the e-mail exists.
fn sign_in_failure(err: &ConsoleAuthError) -> (StatusCode, String) {
    match err {
        ConsoleAuthError::Identity(IdentityError::WrongCredentials) => (
            StatusCode::UNAUTHORIZED,
            "Wrong e-mail or password.".to_owned(),
        ),
        ConsoleAuthError::Identity(IdentityError::PasswordRefused { reason }) => (
            StatusCode::BAD_REQUEST,
            format!("That password cannot be used: {reason}"),
        ),
        ConsoleAuthError::Identity(IdentityError::CodeMismatch) => (
            StatusCode::UNAUTHORIZED,
            "That code is wrong; enter the code your authenticator app shows now.".to_owned(),
        ),
        ConsoleAuthError::Identity(IdentityError::CodeExpired) => (
            StatusCode::UNAUTHORIZED,
            "This sign-in took too long; start again.".to_owned(),
        ),
        err if err.is_retryable() => {
            tracing::warn!(error = %err, "sign-in failed for now");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "Sign-in is unavailable for a moment; try again shortly.".to_owned(),
            )
        }
        err => {
            tracing::error!(error = %err, "sign-in failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Sign-in failed because the console is not set up correctly; its operator \
                 will find the reason in the logs."
                    .to_owned(),
            )
        }
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

pub async fn sign_out(
    State(console): State<Console>,
    signed_in: SignedIn,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(refused) = signed_in.check_csrf(&form.csrf) {
        return refused.into_response();
    }
    match console.auth.sign_out(&signed_in.id).await {
        Ok(outcome) => tracing::info!(?outcome, "signed out"),
        Err(err) => tracing::warn!(error = %err, "sign-out did not complete"),
    }
    let mut response = Redirect::to("/console/sign-in").into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, cleared(SESSION_COOKIE));
    response
}
