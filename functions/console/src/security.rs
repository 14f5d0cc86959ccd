//! The Security page: a signed-in user sets up an authenticator app (TOTP), after which
//! each sign-in asks for its code (the `/console/mfa` step of [`crate::signin`]).
//!
//! Enrolment is two requests: "Set up" asks Cognito for a secret and shows it as text and
//! as a QR code of its `otpauth://` URI (an inline SVG drawn here: no image request, nothing
//! for the page's CSP to allow); the user then types the app's first code, which Cognito
//! checks before TOTP becomes the user's second factor.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use qrcode::QrCode;
use qrcode::render::svg;
use secrecy::ExposeSecret;
use serde::Deserialize;
use tiktok_publish_core::console::{ConsoleAuthError, IdentityError};

use crate::app::Console;
use crate::pages::html;
use crate::signin::SignedIn;
use crate::site::Site;

/// Where enrolment stands, as the page shows it.
pub enum Step {
    /// Nothing started: whether TOTP is on (`None`: Cognito could not say), and the "Set up"
    /// button.
    Start(Option<bool>),
    /// A secret to scan or type, and the form for the first code.
    Scan(Enrolment),
    /// Cognito accepted the code: sign-ins now ask for one.
    Done,
}

/// The secret being enrolled, as the page shows it.
pub struct Enrolment {
    /// Base32, as Cognito gave it (the form sends it back to show it again after a
    /// wrong code: the page is `no-store`, and the secret is the user's own).
    pub secret: String,
    /// The secret in groups of four, easier to type.
    pub grouped: String,
    /// The QR code of the `otpauth://` URI: an `<svg>` element, without XML prolog.
    pub qr_svg: String,
}

#[derive(Template)]
#[template(path = "security.html")]
pub struct SecurityPage<'a> {
    pub site: Site<'a>,
    pub step: Step,
    pub error: Option<String>,
}

pub async fn page(State(console): State<Console>, signed_in: SignedIn) -> Response {
    let totp_on = match console.auth.totp_enabled(&signed_in.session).await {
        Ok(on) => Some(on),
        Err(err) => {
            // The page still offers the setup; only the current state is not shown.
            tracing::warn!(error = %err, "could not tell whether TOTP is on");
            None
        }
    };
    render(
        &console,
        &signed_in,
        StatusCode::OK,
        Step::Start(totp_on),
        None,
    )
}

#[derive(Deserialize)]
pub struct StartForm {
    #[serde(default)]
    csrf: String,
}

/// "Set up an authenticator app": a new secret from Cognito.
pub async fn start(
    State(console): State<Console>,
    signed_in: SignedIn,
    Form(form): Form<StartForm>,
) -> Response {
    if let Err(refused) = signed_in.check_csrf(&form.csrf) {
        return refused.into_response();
    }
    match console.auth.start_totp(&signed_in.session).await {
        Ok(secret) => {
            let step = enrolment(&console, &signed_in, secret.expose_secret());
            render(&console, &signed_in, StatusCode::OK, step, None)
        }
        Err(err) => {
            let (status, message) = failure(&err);
            render(
                &console,
                &signed_in,
                status,
                Step::Start(None),
                Some(message),
            )
        }
    }
}

#[derive(Deserialize)]
pub struct VerifyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    code: String,
}

/// The app's first code: TOTP on, or the same secret again with what went wrong.
pub async fn verify(
    State(console): State<Console>,
    signed_in: SignedIn,
    Form(form): Form<VerifyForm>,
) -> Response {
    if let Err(refused) = signed_in.check_csrf(&form.csrf) {
        return refused.into_response();
    }
    let code: String = form.code.chars().filter(|c| !c.is_whitespace()).collect();
    let again = |status, message: String| {
        let step = if is_base32(&form.secret) {
            enrolment(&console, &signed_in, &form.secret)
        } else {
            Step::Start(None)
        };
        render(&console, &signed_in, status, step, Some(message))
    };
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return again(
            StatusCode::BAD_REQUEST,
            "Code: enter the 6 digits your authenticator app shows.".to_owned(),
        );
    }
    match console.auth.finish_totp(&signed_in.session, &code).await {
        Ok(()) => {
            tracing::info!("TOTP enrolled");
            render(&console, &signed_in, StatusCode::OK, Step::Done, None)
        }
        Err(err) => {
            let (status, message) = failure(&err);
            again(status, message)
        }
    }
}

fn render(
    console: &Console,
    signed_in: &SignedIn,
    status: StatusCode,
    step: Step,
    error: Option<String>,
) -> Response {
    html(
        status,
        &SecurityPage {
            site: console.page(&signed_in.session.email, signed_in.csrf()),
            step,
            error,
        },
    )
}

fn enrolment(console: &Console, signed_in: &SignedIn, secret: &str) -> Step {
    let uri = otpauth_uri(&console.site.app_name, &signed_in.session.email, secret);
    let qr_svg = match qr_svg(&uri) {
        Some(svg) => svg,
        None => {
            // The secret stays typeable: the page still works without the picture.
            tracing::warn!("the enrolment QR code could not be drawn");
            String::new()
        }
    };
    Step::Scan(Enrolment {
        secret: secret.to_owned(),
        grouped: grouped(secret),
        qr_svg,
    })
}

/// The key URI authenticator apps read: `otpauth://totp/ISSUER:ACCOUNT?secret=…&issuer=…`
/// (the label and the parameters percent-encoded).
pub fn otpauth_uri(issuer: &str, account: &str, secret: &str) -> String {
    let mut uri = url::Url::parse("otpauth://totp/").expect("a constant, valid URL");
    if let Ok(mut path) = uri.path_segments_mut() {
        path.clear().push(&format!("{issuer}:{account}"));
    }
    uri.query_pairs_mut()
        .append_pair("secret", &secret.to_ascii_uppercase())
        .append_pair("issuer", issuer)
        .append_pair("algorithm", "SHA1")
        .append_pair("digits", "6")
        .append_pair("period", "30");
    uri.to_string()
}

/// The QR code of `text` as an `<svg>` element to put inline in HTML, or `None` when the
/// text is too long for a QR code.
pub fn qr_svg(text: &str) -> Option<String> {
    let code = QrCode::new(text.as_bytes()).ok()?;
    let document = code
        .render::<svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    // The renderer writes a whole SVG document; inline SVG in HTML starts at `<svg`.
    let start = document.find("<svg")?;
    Some(document[start..].to_owned())
}

/// `JBSWY3DPEHPK3PXP` as `JBSW Y3DP EHPK 3PXP`.
pub fn grouped(secret: &str) -> String {
    let upper = secret.to_ascii_uppercase();
    upper
        .as_bytes()
        .chunks(4)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether a form's secret is base32 (RFC 4648 letters, any case, no padding).
fn is_base32(secret: &str) -> bool {
    !secret.is_empty()
        && secret.len() <= 128
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphabetic() || (b'2'..=b'7').contains(&b))
}

/// What the user is told, from the core's typed error.
fn failure(err: &ConsoleAuthError) -> (StatusCode, String) {
    match err {
        ConsoleAuthError::Identity(IdentityError::CodeMismatch) => (
            StatusCode::BAD_REQUEST,
            "Code: that code is wrong; enter the code your authenticator app shows now (it \
             changes every 30 seconds, and the phone's clock must be right)."
                .to_owned(),
        ),
        ConsoleAuthError::Identity(
            IdentityError::CodeExpired | IdentityError::WrongCredentials,
        ) => (
            StatusCode::BAD_REQUEST,
            "This setup has expired; press \"Set up an authenticator app\" to start again."
                .to_owned(),
        ),
        ConsoleAuthError::Identity(IdentityError::TokenRevoked) => (
            StatusCode::UNAUTHORIZED,
            "Your session has ended; sign out, sign in again and start the setup again.".to_owned(),
        ),
        err if err.is_retryable() => {
            tracing::warn!(error = %err, "TOTP enrolment failed for now");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "The authenticator setup is unavailable for a moment; try again shortly."
                    .to_owned(),
            )
        }
        err => {
            tracing::error!(error = %err, "TOTP enrolment failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The authenticator setup failed because the console is not set up correctly; \
                 its operator will find the reason in the logs."
                    .to_owned(),
            )
        }
    }
}

/// Keeps the secret out of logs should a page struct ever be printed.
impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrolment([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_uri_names_issuer_account_and_secret_encoded() {
        let uri = otpauth_uri("My App", "a+b@example.test", "jbswy3dpehpk3pxp");
        assert_eq!(
            uri,
            "otpauth://totp/My%20App:a+b@example.test?secret=JBSWY3DPEHPK3PXP&issuer=My+App\
             &algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn the_qr_code_is_an_inline_svg_element() {
        let svg = qr_svg("otpauth://totp/App:a@example.test?secret=JBSWY3DPEHPK3PXP").unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        assert!(svg.ends_with("</svg>"));
        assert!(!svg.contains("<?xml"));
        // Presentation attributes only: a `style` attribute would need the CSP's leave.
        assert!(!svg.contains("style="));
    }

    #[test]
    fn the_secret_is_grouped_by_four_in_upper_case() {
        assert_eq!(grouped("asdfasdfasdf"), "ASDF ASDF ASDF");
        assert_eq!(grouped("ABCDEF"), "ABCD EF");
    }

    #[test]
    fn only_base32_secrets_are_shown_again() {
        assert!(is_base32("asdfASDF2345"));
        assert!(!is_base32(""));
        assert!(!is_base32("<script>"));
        assert!(!is_base32("ABC1"));
    }

    #[test]
    fn a_wrong_code_names_the_field() {
        let (status, message) = failure(&IdentityError::CodeMismatch.into());
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(message.starts_with("Code: that code is wrong"), "{message}");
    }
}
