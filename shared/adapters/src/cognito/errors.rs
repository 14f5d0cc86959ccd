//! Cognito's errors as [`IdentityError`]s, decided on the SDK's typed variants (never on
//! a message's words). Each operation's error enum is first reduced to the few [`Reason`]s
//! the console tells apart; what a reason means then depends on the [`Meaning`] of the call.

use aws_sdk_cognitoidentityprovider::config::http::HttpResponse;
use aws_sdk_cognitoidentityprovider::error::{DisplayErrorContext, SdkError};
use aws_sdk_cognitoidentityprovider::operation::associate_software_token::AssociateSoftwareTokenError;
use aws_sdk_cognitoidentityprovider::operation::confirm_forgot_password::ConfirmForgotPasswordError;
use aws_sdk_cognitoidentityprovider::operation::forgot_password::ForgotPasswordError;
use aws_sdk_cognitoidentityprovider::operation::get_user::GetUserError;
use aws_sdk_cognitoidentityprovider::operation::global_sign_out::GlobalSignOutError;
use aws_sdk_cognitoidentityprovider::operation::initiate_auth::InitiateAuthError;
use aws_sdk_cognitoidentityprovider::operation::respond_to_auth_challenge::RespondToAuthChallengeError;
use aws_sdk_cognitoidentityprovider::operation::set_user_mfa_preference::SetUserMFAPreferenceError;
use aws_sdk_cognitoidentityprovider::operation::verify_software_token::VerifySoftwareTokenError;

use tiktok_publish_core::console::IdentityError;

/// What the call was, which decides what `NotAuthorized` and `UserNotFound` mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Meaning {
    /// A password sign-in: a wrong password or an unknown user.
    SignIn,
    /// An answer to a challenge: its session has expired or was used.
    Challenge,
    /// A call with a refresh or access token: the token was revoked or has expired.
    Token,
    /// A forgotten password: an unknown user (the service hides it) or recovery disabled.
    Recovery,
}

/// The errors the console tells apart, whichever operation answered them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reason<'a> {
    NotAuthorized,
    UserNotFound,
    /// The password breaks the policy; Cognito's message lists the policy.
    InvalidPassword(Option<&'a str>),
    CodeMismatch,
    ExpiredCode,
    TooManyRequests,
    /// Cognito's own failure.
    Internal,
    /// Anything else: configuration, parameters, an error this SDK does not model.
    Other,
}

/// An operation's error reduced to a [`Reason`].
pub(crate) trait Classified {
    fn code(&self) -> Reason<'_>;
}

impl Classified for InitiateAuthError {
    fn code(&self) -> Reason<'_> {
        match self {
            InitiateAuthError::NotAuthorizedException(_) => Reason::NotAuthorized,
            // Console users are invited by an administrator (always confirmed); a reset
            // forced by one is fixed by "forgot password", which the sign-in page offers
            // beside a refused password.
            InitiateAuthError::UserNotFoundException(_)
            | InitiateAuthError::UserNotConfirmedException(_)
            | InitiateAuthError::PasswordResetRequiredException(_) => Reason::UserNotFound,
            InitiateAuthError::TooManyRequestsException(_) => Reason::TooManyRequests,
            InitiateAuthError::InternalErrorException(_) => Reason::Internal,
            _ => Reason::Other,
        }
    }
}

impl Classified for RespondToAuthChallengeError {
    fn code(&self) -> Reason<'_> {
        match self {
            RespondToAuthChallengeError::NotAuthorizedException(_) => Reason::NotAuthorized,
            RespondToAuthChallengeError::UserNotFoundException(_) => Reason::UserNotFound,
            RespondToAuthChallengeError::InvalidPasswordException(e) => {
                Reason::InvalidPassword(e.message())
            }
            RespondToAuthChallengeError::PasswordHistoryPolicyViolationException(e) => {
                Reason::InvalidPassword(e.message())
            }
            RespondToAuthChallengeError::CodeMismatchException(_) => Reason::CodeMismatch,
            RespondToAuthChallengeError::ExpiredCodeException(_) => Reason::ExpiredCode,
            RespondToAuthChallengeError::TooManyRequestsException(_) => Reason::TooManyRequests,
            RespondToAuthChallengeError::InternalErrorException(_) => Reason::Internal,
            _ => Reason::Other,
        }
    }
}

impl Classified for GlobalSignOutError {
    fn code(&self) -> Reason<'_> {
        match self {
            GlobalSignOutError::NotAuthorizedException(_) => Reason::NotAuthorized,
            GlobalSignOutError::TooManyRequestsException(_) => Reason::TooManyRequests,
            GlobalSignOutError::InternalErrorException(_) => Reason::Internal,
            _ => Reason::Other,
        }
    }
}

impl Classified for ForgotPasswordError {
    fn code(&self) -> Reason<'_> {
        match self {
            ForgotPasswordError::NotAuthorizedException(_) => Reason::NotAuthorized,
            ForgotPasswordError::UserNotFoundException(_) => Reason::UserNotFound,
            ForgotPasswordError::TooManyRequestsException(_)
            | ForgotPasswordError::LimitExceededException(_) => Reason::TooManyRequests,
            // The e-mail could not be sent: a later request may get through.
            ForgotPasswordError::InternalErrorException(_)
            | ForgotPasswordError::CodeDeliveryFailureException(_) => Reason::Internal,
            _ => Reason::Other,
        }
    }
}

impl Classified for ConfirmForgotPasswordError {
    fn code(&self) -> Reason<'_> {
        match self {
            ConfirmForgotPasswordError::NotAuthorizedException(_) => Reason::NotAuthorized,
            ConfirmForgotPasswordError::UserNotFoundException(_)
            | ConfirmForgotPasswordError::UserNotConfirmedException(_) => Reason::UserNotFound,
            ConfirmForgotPasswordError::InvalidPasswordException(e) => {
                Reason::InvalidPassword(e.message())
            }
            ConfirmForgotPasswordError::PasswordHistoryPolicyViolationException(e) => {
                Reason::InvalidPassword(e.message())
            }
            ConfirmForgotPasswordError::CodeMismatchException(_) => Reason::CodeMismatch,
            ConfirmForgotPasswordError::ExpiredCodeException(_) => Reason::ExpiredCode,
            ConfirmForgotPasswordError::TooManyRequestsException(_)
            | ConfirmForgotPasswordError::TooManyFailedAttemptsException(_)
            | ConfirmForgotPasswordError::LimitExceededException(_) => Reason::TooManyRequests,
            ConfirmForgotPasswordError::InternalErrorException(_) => Reason::Internal,
            _ => Reason::Other,
        }
    }
}

impl Classified for AssociateSoftwareTokenError {
    fn code(&self) -> Reason<'_> {
        match self {
            AssociateSoftwareTokenError::NotAuthorizedException(_) => Reason::NotAuthorized,
            AssociateSoftwareTokenError::InternalErrorException(_) => Reason::Internal,
            _ => Reason::Other,
        }
    }
}

impl Classified for VerifySoftwareTokenError {
    fn code(&self) -> Reason<'_> {
        match self {
            VerifySoftwareTokenError::NotAuthorizedException(_) => Reason::NotAuthorized,
            VerifySoftwareTokenError::UserNotFoundException(_) => Reason::UserNotFound,
            // AWS: "a code mismatch and the service fails to configure the software token".
            VerifySoftwareTokenError::CodeMismatchException(_)
            | VerifySoftwareTokenError::EnableSoftwareTokenMfaException(_) => Reason::CodeMismatch,
            VerifySoftwareTokenError::TooManyRequestsException(_) => Reason::TooManyRequests,
            VerifySoftwareTokenError::InternalErrorException(_) => Reason::Internal,
            _ => Reason::Other,
        }
    }
}

impl Classified for GetUserError {
    fn code(&self) -> Reason<'_> {
        match self {
            GetUserError::NotAuthorizedException(_) => Reason::NotAuthorized,
            GetUserError::UserNotFoundException(_) => Reason::UserNotFound,
            GetUserError::TooManyRequestsException(_) => Reason::TooManyRequests,
            GetUserError::InternalErrorException(_) => Reason::Internal,
            _ => Reason::Other,
        }
    }
}

impl Classified for SetUserMFAPreferenceError {
    fn code(&self) -> Reason<'_> {
        match self {
            SetUserMFAPreferenceError::NotAuthorizedException(_) => Reason::NotAuthorized,
            SetUserMFAPreferenceError::UserNotFoundException(_) => Reason::UserNotFound,
            SetUserMFAPreferenceError::InternalErrorException(_) => Reason::Internal,
            _ => Reason::Other,
        }
    }
}

/// The [`IdentityError`] of a failed call of this `meaning`.
pub(crate) fn cognito_error<E>(err: SdkError<E, HttpResponse>, meaning: Meaning) -> IdentityError
where
    E: Classified + std::error::Error + Send + Sync + 'static,
{
    let detail = || DisplayErrorContext(&err).to_string();
    let service = match &err {
        SdkError::ServiceError(service) => service,
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            return IdentityError::Unavailable { detail: detail() };
        }
        // A request the SDK could not build is our bug.
        _ => return IdentityError::Misconfigured { detail: detail() },
    };
    let status = service.raw().status().as_u16();
    match (service.err().code(), meaning) {
        (Reason::TooManyRequests, _) => IdentityError::TooManyRequests,
        (Reason::Internal, _) => IdentityError::Unavailable { detail: detail() },
        (Reason::InvalidPassword(reason), _) => IdentityError::PasswordRefused {
            reason: reason
                .unwrap_or("the password does not meet the pool's policy")
                .to_owned(),
        },
        (Reason::CodeMismatch, _) => IdentityError::CodeMismatch,
        (Reason::ExpiredCode, _) => IdentityError::CodeExpired,
        (Reason::NotAuthorized | Reason::UserNotFound, Meaning::SignIn) => {
            IdentityError::WrongCredentials
        }
        // The challenge's session expired (three minutes) or was used: start again.
        (Reason::NotAuthorized, Meaning::Challenge) => IdentityError::CodeExpired,
        (Reason::UserNotFound, Meaning::Challenge | Meaning::Recovery) => {
            IdentityError::WrongCredentials
        }
        (Reason::NotAuthorized | Reason::UserNotFound, Meaning::Token) => {
            IdentityError::TokenRevoked
        }
        // Self-service recovery is turned off (`admin_only`) or the user is disabled.
        (Reason::NotAuthorized, Meaning::Recovery) => {
            IdentityError::Misconfigured { detail: detail() }
        }
        (Reason::Other, _) if status >= 500 => IdentityError::Unavailable { detail: detail() },
        (Reason::Other, _) => IdentityError::Misconfigured { detail: detail() },
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_cognitoidentityprovider::error::ErrorMetadata;
    use aws_sdk_cognitoidentityprovider::types::error::{
        InvalidPasswordException, NotAuthorizedException, ResourceNotFoundException,
        TooManyRequestsException,
    };
    use aws_smithy_types::body::SdkBody;

    use super::*;

    fn service<E>(status: u16, err: E) -> SdkError<E, HttpResponse> {
        let raw = HttpResponse::new(status.try_into().unwrap(), SdkBody::empty());
        SdkError::service_error(err, raw)
    }

    fn not_authorized() -> NotAuthorizedException {
        NotAuthorizedException::builder()
            .message("any words")
            .build()
    }

    #[test]
    fn not_authorized_means_what_the_call_was() {
        let sign_in = cognito_error(
            service(
                400,
                InitiateAuthError::NotAuthorizedException(not_authorized()),
            ),
            Meaning::SignIn,
        );
        assert!(
            matches!(sign_in, IdentityError::WrongCredentials),
            "{sign_in:?}"
        );
        let refresh = cognito_error(
            service(
                400,
                InitiateAuthError::NotAuthorizedException(not_authorized()),
            ),
            Meaning::Token,
        );
        assert!(
            matches!(refresh, IdentityError::TokenRevoked),
            "{refresh:?}"
        );
        let challenge = cognito_error(
            service(
                400,
                RespondToAuthChallengeError::NotAuthorizedException(not_authorized()),
            ),
            Meaning::Challenge,
        );
        assert!(
            matches!(challenge, IdentityError::CodeExpired),
            "{challenge:?}"
        );
        let sign_out = cognito_error(
            service(
                400,
                GlobalSignOutError::NotAuthorizedException(not_authorized()),
            ),
            Meaning::Token,
        );
        assert!(
            matches!(sign_out, IdentityError::TokenRevoked),
            "{sign_out:?}"
        );
    }

    #[test]
    fn a_refused_password_keeps_cognitos_policy_text() {
        let policy = "Password did not conform with policy: Password must have numeric characters";
        let err = cognito_error(
            service(
                400,
                RespondToAuthChallengeError::InvalidPasswordException(
                    InvalidPasswordException::builder().message(policy).build(),
                ),
            ),
            Meaning::Challenge,
        );
        let IdentityError::PasswordRefused { reason } = err else {
            panic!("{err:?}");
        };
        assert_eq!(reason, policy);
    }

    #[test]
    fn throttling_and_outages_are_retryable_and_configuration_is_final() {
        let throttled = cognito_error(
            service(
                400,
                InitiateAuthError::TooManyRequestsException(
                    TooManyRequestsException::builder().build(),
                ),
            ),
            Meaning::SignIn,
        );
        assert!(throttled.is_retryable(), "{throttled:?}");
        let unmodelled = cognito_error(
            service(
                503,
                InitiateAuthError::generic(ErrorMetadata::builder().code("SomethingNew").build()),
            ),
            Meaning::SignIn,
        );
        assert!(
            matches!(unmodelled, IdentityError::Unavailable { .. }),
            "{unmodelled:?}"
        );
        let timeout: SdkError<InitiateAuthError, HttpResponse> = SdkError::timeout_error("slow");
        assert!(cognito_error(timeout, Meaning::SignIn).is_retryable());
        let no_pool = cognito_error(
            service(
                400,
                InitiateAuthError::ResourceNotFoundException(
                    ResourceNotFoundException::builder().build(),
                ),
            ),
            Meaning::SignIn,
        );
        assert!(
            matches!(no_pool, IdentityError::Misconfigured { .. }),
            "{no_pool:?}"
        );
        assert!(!no_pool.is_retryable());
    }
}
