//! The identity provider port: Cognito's user pool as the console uses it (password sign-in
//! with its challenges, refresh, global sign-out, forgotten passwords, TOTP enrolment).
//! The adapter is `tiktok_publish_adapters::CognitoIdentity`; the in-memory stand-in is
//! `tiktok_publish_memory::MemoryIdentity`.

use std::fmt;

use async_trait::async_trait;
use secrecy::SecretString;

/// What a caller must do about a console failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthErrorKind {
    /// The person's input was refused (password, code, policy): show why and let them retry.
    Refused,
    /// The tokens or the session are no longer valid: the person signs in again.
    SignInAgain,
    /// Throttling, a 5xx or the network: the same request may pass later, with backoff.
    Retry,
    /// A bug or a misconfiguration (pool, app client, table): nothing a retry fixes.
    GiveUp,
}

impl AuthErrorKind {
    /// Whether the same request may succeed when sent again later.
    pub const fn is_retryable(self) -> bool {
        matches!(self, AuthErrorKind::Retry)
    }
}

/// The tokens Cognito answers a sign-in or a refresh with. `Debug` redacts them.
#[derive(Clone)]
pub struct CognitoTokens {
    pub access_token: SecretString,
    pub id_token: SecretString,
    /// Only a sign-in gives one: a refresh answers without (the old one stays valid).
    pub refresh_token: Option<SecretString>,
    /// Seconds the access token is valid for, as Cognito says.
    pub expires_in: u64,
}

impl fmt::Debug for CognitoTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CognitoTokens")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// A challenge Cognito set instead of answering tokens. `Debug` redacts the session.
#[derive(Clone)]
pub struct Challenge {
    /// The user the challenge names: Cognito's `USERNAME` challenge parameter, which may
    /// differ from the typed e-mail (moto gives the user's sub), so this value, not the
    /// e-mail, is sent back with the answer. When Cognito names nobody (an MFA challenge),
    /// the name the sign-in was sent with.
    pub username: String,
    /// Cognito's session of the challenge: it proves the password step passed.
    pub session: SecretString,
}

impl fmt::Debug for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Challenge")
            .field("username", &self.username)
            .field("session", &"[redacted]")
            .finish()
    }
}

/// Where a sign-in stands after one step.
#[derive(Debug, Clone)]
pub enum SignInStep {
    /// Signed in.
    Tokens(CognitoTokens),
    /// The password was temporary (an invited user): a new one must be chosen.
    NewPasswordRequired(Challenge),
    /// The user has TOTP: the current code from their authenticator app is needed.
    SoftwareTokenMfa(Challenge),
}

/// Why the identity provider refused or failed, typed from Cognito's error codes.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Wrong e-mail or password (or no such user: the two are not told apart).
    #[error("the e-mail or the password is wrong")]
    WrongCredentials,
    /// The new password breaks the pool's policy; `reason` is Cognito's text, which lists it.
    #[error("the password was refused: {reason}")]
    PasswordRefused { reason: String },
    /// The code (TOTP, forgotten password) is not the expected one.
    #[error("the code is wrong")]
    CodeMismatch,
    /// The code (or the challenge's session) has expired: ask for a new one.
    #[error("the code has expired")]
    CodeExpired,
    /// The refresh or access token was revoked or has expired: sign in again.
    #[error("the token was revoked or has expired")]
    TokenRevoked,
    /// Cognito throttled the request.
    #[error("too many requests to the identity provider")]
    TooManyRequests,
    /// A 5xx, a time-out or a broken connection.
    #[error("the identity provider is unavailable: {detail}")]
    Unavailable { detail: String },
    /// The pool or app client is missing or set up wrongly, or the request was malformed:
    /// a misconfiguration or a bug.
    #[error("the identity provider is misconfigured: {detail}")]
    Misconfigured { detail: String },
}

impl IdentityError {
    pub fn kind(&self) -> AuthErrorKind {
        match self {
            IdentityError::WrongCredentials
            | IdentityError::PasswordRefused { .. }
            | IdentityError::CodeMismatch
            | IdentityError::CodeExpired => AuthErrorKind::Refused,
            IdentityError::TokenRevoked => AuthErrorKind::SignInAgain,
            IdentityError::TooManyRequests | IdentityError::Unavailable { .. } => {
                AuthErrorKind::Retry
            }
            IdentityError::Misconfigured { .. } => AuthErrorKind::GiveUp,
        }
    }

    pub fn is_retryable(&self) -> bool {
        self.kind().is_retryable()
    }
}

/// The user pool, through one app client without a secret.
#[async_trait]
pub trait IdentityProvider: Send + Sync {
    /// `InitiateAuth` with `USER_PASSWORD_AUTH`.
    async fn sign_in(
        &self,
        email: &str,
        password: &SecretString,
    ) -> Result<SignInStep, IdentityError>;

    /// Answers `NEW_PASSWORD_REQUIRED` with the password the user chose.
    async fn answer_new_password(
        &self,
        challenge: &Challenge,
        new_password: &SecretString,
    ) -> Result<SignInStep, IdentityError>;

    /// Answers `SOFTWARE_TOKEN_MFA` with the authenticator's current code.
    async fn answer_mfa(
        &self,
        challenge: &Challenge,
        code: &str,
    ) -> Result<SignInStep, IdentityError>;

    /// `REFRESH_TOKEN_AUTH`: new access and ID tokens; the refresh token stays the same.
    async fn refresh(&self, refresh_token: &SecretString) -> Result<CognitoTokens, IdentityError>;

    /// Revokes every refresh token of the user (`GlobalSignOut`).
    async fn global_sign_out(&self, access_token: &SecretString) -> Result<(), IdentityError>;

    /// Sends a reset code to the user. With the pool's `PreventUserExistenceErrors`, an
    /// unknown e-mail answers as a known one.
    async fn forgot_password(&self, email: &str) -> Result<(), IdentityError>;

    async fn confirm_forgot_password(
        &self,
        email: &str,
        code: &str,
        new_password: &SecretString,
    ) -> Result<(), IdentityError>;

    /// Starts TOTP enrolment: the secret (base32) for the authenticator app.
    async fn associate_totp(
        &self,
        access_token: &SecretString,
    ) -> Result<SecretString, IdentityError>;

    /// Finishes TOTP enrolment with a first code from the app.
    async fn verify_totp(
        &self,
        access_token: &SecretString,
        code: &str,
    ) -> Result<(), IdentityError>;

    /// Makes TOTP the user's (enabled, preferred) second factor, so sign-ins ask for it.
    async fn prefer_totp(&self, access_token: &SecretString) -> Result<(), IdentityError>;

    /// Whether TOTP is one of the user's enabled second factors (`GetUser`'s
    /// `UserMFASettingList`).
    async fn totp_enabled(&self, access_token: &SecretString) -> Result<bool, IdentityError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_outages_and_throttling_are_retryable() {
        let retryable = [
            IdentityError::TooManyRequests,
            IdentityError::Unavailable {
                detail: "503".into(),
            },
        ];
        assert!(retryable.iter().all(IdentityError::is_retryable));
        let final_ones = [
            IdentityError::WrongCredentials,
            IdentityError::PasswordRefused {
                reason: "too short".into(),
            },
            IdentityError::CodeMismatch,
            IdentityError::CodeExpired,
            IdentityError::TokenRevoked,
            IdentityError::Misconfigured {
                detail: "no pool".into(),
            },
        ];
        assert!(final_ones.iter().all(|e| !e.is_retryable()));
        assert_eq!(
            IdentityError::TokenRevoked.kind(),
            AuthErrorKind::SignInAgain
        );
        assert_eq!(
            IdentityError::Misconfigured {
                detail: String::new()
            }
            .kind(),
            AuthErrorKind::GiveUp
        );
    }

    #[test]
    fn debug_shows_no_secret() {
        let tokens = CognitoTokens {
            access_token: "access-secret".into(),
            id_token: "id-secret".into(),
            refresh_token: Some("refresh-secret".into()),
            expires_in: 3600,
        };
        let challenge = Challenge {
            username: "sub-1".into(),
            session: "session-secret".into(),
        };
        let shown = format!("{tokens:?} {challenge:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("sub-1"));
    }
}
