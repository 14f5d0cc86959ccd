//! A forgotten password: the e-mail, then Cognito's code and a new password, then back to
//! sign-in. Both forms are shown before there is a session and carry the sign-in forms'
//! login-CSRF token ([`signin::form_token`]). The first step answers the same whether or not
//! an account uses the e-mail.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use secrecy::SecretString;
use serde::Deserialize;
use tiktok_publish_core::console::{ConsoleAuthError, IdentityError};

use crate::app::Console;
use crate::pages::html;
use crate::signin::{self, forbidden_form};
use crate::site::Site;

/// The first step: which e-mail.
#[derive(Template)]
#[template(path = "forgot_password.html")]
pub struct ForgotPasswordPage<'a> {
    pub site: Site<'a>,
    pub form_csrf: String,
    pub email: String,
    pub error: Option<String>,
}

/// The second step: the code Cognito sent and the new password.
#[derive(Template)]
#[template(path = "reset_password.html")]
pub struct ResetPasswordPage<'a> {
    pub site: Site<'a>,
    pub form_csrf: String,
    pub email: String,
    pub error: Option<String>,
    /// Whether the code has expired: the page then offers a new one first.
    pub code_expired: bool,
}

pub async fn page(State(console): State<Console>, headers: HeaderMap) -> Response {
    let (token, cookie) = signin::form_token(&headers);
    let page = ForgotPasswordPage {
        site: Site::public(&console.site),
        form_csrf: token,
        email: String::new(),
        error: None,
    };
    signin::with_cookie(html(StatusCode::OK, &page), cookie)
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
}

/// Sends a code (when the e-mail is an account's) and asks for it.
pub async fn send_code(
    State(console): State<Console>,
    headers: HeaderMap,
    Form(form): Form<ForgotForm>,
) -> Response {
    if !signin::form_token_matches(&headers, &form.csrf) {
        return forbidden_form();
    }
    let email = form.email.trim().to_owned();
    let again = |status, error: String| {
        html(
            status,
            &ForgotPasswordPage {
                site: Site::public(&console.site),
                form_csrf: form.csrf.clone(),
                email: email.clone(),
                error: Some(error),
            },
        )
    };
    if email.is_empty() {
        return again(
            StatusCode::BAD_REQUEST,
            "E-mail: enter the e-mail you sign in with.".to_owned(),
        );
    }
    match console.auth.forgot_password(&email).await {
        Ok(()) => html(
            StatusCode::OK,
            &ResetPasswordPage {
                site: Site::public(&console.site),
                form_csrf: form.csrf.clone(),
                email,
                error: None,
                code_expired: false,
            },
        ),
        Err(err) => {
            let (status, message) = failure(&err);
            again(status, message)
        }
    }
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    new_password: String,
}

/// Sets the new password with the code; then sign-in says it changed.
pub async fn reset(
    State(console): State<Console>,
    headers: HeaderMap,
    Form(form): Form<ResetForm>,
) -> Response {
    if !signin::form_token_matches(&headers, &form.csrf) {
        return forbidden_form();
    }
    let email = form.email.trim().to_owned();
    let code = form.code.trim();
    let again = |status, error: String, code_expired: bool| {
        html(
            status,
            &ResetPasswordPage {
                site: Site::public(&console.site),
                form_csrf: form.csrf.clone(),
                email: email.clone(),
                error: Some(error),
                code_expired,
            },
        )
    };
    if email.is_empty() {
        return again(
            StatusCode::BAD_REQUEST,
            "E-mail: enter the e-mail the code was sent to.".to_owned(),
            false,
        );
    }
    if code.is_empty() {
        return again(
            StatusCode::BAD_REQUEST,
            "Code: enter the code from the e-mail.".to_owned(),
            false,
        );
    }
    let password = SecretString::from(form.new_password.clone());
    match console
        .auth
        .confirm_forgot_password(&email, code, &password)
        .await
    {
        Ok(()) => Redirect::to("/console/sign-in?reset=1").into_response(),
        Err(err) => {
            let expired = matches!(err, ConsoleAuthError::Identity(IdentityError::CodeExpired));
            let (status, message) = failure(&err);
            again(status, message, expired)
        }
    }
}

/// What the person is told, from the core's typed error; never whether the e-mail exists
/// (an unknown e-mail is answered as a wrong code).
fn failure(err: &ConsoleAuthError) -> (StatusCode, String) {
    match err {
        ConsoleAuthError::Identity(IdentityError::CodeMismatch) => (
            StatusCode::BAD_REQUEST,
            "Code: that code is wrong; check the e-mail and type its code again.".to_owned(),
        ),
        ConsoleAuthError::Identity(IdentityError::CodeExpired) => (
            StatusCode::BAD_REQUEST,
            "Code: that code has expired or was replaced by a newer one; ask for a new code."
                .to_owned(),
        ),
        ConsoleAuthError::Identity(IdentityError::PasswordRefused { reason }) => (
            StatusCode::BAD_REQUEST,
            format!("New password: it cannot be used: {reason}"),
        ),
        ConsoleAuthError::Identity(IdentityError::TooManyRequests) => (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts for now; wait a few minutes and try again.".to_owned(),
        ),
        err if err.is_retryable() => {
            tracing::warn!(error = %err, "password reset failed for now");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "Password reset is unavailable for a moment; try again shortly.".to_owned(),
            )
        }
        err => {
            tracing::error!(error = %err, "password reset failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Password reset failed because the console is not set up correctly; its \
                 operator will find the reason in the logs."
                    .to_owned(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_names_its_field() {
        let cases = [
            (IdentityError::CodeMismatch, "Code: that code is wrong"),
            (IdentityError::CodeExpired, "Code: that code has expired"),
            (
                IdentityError::PasswordRefused {
                    reason: "Password not long enough".into(),
                },
                "New password: it cannot be used: Password not long enough",
            ),
        ];
        for (error, shown) in cases {
            let (status, message) = failure(&error.into());
            assert_eq!(status, StatusCode::BAD_REQUEST);
            assert!(message.starts_with(shown), "{message}");
        }
    }

    #[test]
    fn outages_ask_to_retry_and_misconfiguration_does_not() {
        let (status, _) = failure(
            &IdentityError::Unavailable {
                detail: "503".into(),
            }
            .into(),
        );
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        let (status, message) = failure(
            &IdentityError::Misconfigured {
                detail: "no such client".into(),
            }
            .into(),
        );
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!message.contains("no such client"), "{message}");
    }
}
