//! [`ConsoleAuth`]: signing in to the console, resuming a session from its cookie, and
//! signing out, over the identity provider, the sessions table and the token verifier.
//!
//! The browser holds only a [`SessionId`]. Cognito's tokens stay in the session's row: the
//! access token is refreshed there when it nears its end, and the row is the session: when
//! it goes (sign-out, revoked refresh token, end of lifetime), so does the session, even
//! though Cognito's JWTs would still verify until their `exp`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use subtle::ConstantTimeEq;

use super::identity::{
    AuthErrorKind, Challenge, CognitoTokens, IdentityError, IdentityProvider, SignInStep,
};
use super::session::{SessionId, SessionRecord, SessionStore, random_token};
use super::verifier::{
    AccessTokenSettings, AccessTokenVerifier, InvalidToken, JwksSource, VerifyError,
};
use crate::store::{SealedSecret, StoreError, UnixTime};
use crate::tokens::{Clock, SystemClock};

/// An access token this close to its end is refreshed before it is used: a request that
/// starts with it must not see it expire half-way.
pub const ACCESS_REFRESH_MARGIN_SECS: i64 = 60;

/// How the console's sessions behave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleAuthSettings {
    /// How long a session lasts after sign-in, whatever its use. No longer than the app
    /// client's refresh token validity: past it, the session could not refresh anyway.
    pub session_lifetime: Duration,
}

impl ConsoleAuthSettings {
    /// Seven days: the app client's refresh token validity.
    pub const DEFAULT_SESSION_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);
}

impl Default for ConsoleAuthSettings {
    fn default() -> Self {
        ConsoleAuthSettings {
            session_lifetime: Self::DEFAULT_SESSION_LIFETIME,
        }
    }
}

/// A signed-in user, as a request sees them. `Debug` redacts the secrets.
#[derive(Clone)]
pub struct Session {
    pub user_sub: String,
    pub email: String,
    /// The value the console's forms carry; see [`ConsoleAuth::check_csrf`].
    pub csrf_token: SecretString,
    /// The end of the session.
    pub expires_at: UnixTime,
    /// A verified access token, valid for at least [`ACCESS_REFRESH_MARGIN_SECS`].
    pub access_token: SecretString,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("user_sub", &self.user_sub)
            .field("email", &self.email)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A session just opened: its id goes into the cookie, once.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: SessionId,
    pub session: Session,
}

/// Where a sign-in stands.
#[derive(Debug, Clone)]
pub enum SignInOutcome {
    SignedIn(NewSession),
    /// Ask for a new password, then [`ConsoleAuth::answer_new_password`].
    NewPasswordRequired(Challenge),
    /// Ask for the authenticator's code, then [`ConsoleAuth::answer_mfa`].
    MfaRequired(Challenge),
}

/// Why a console operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleAuthError {
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// A token Cognito just gave us did not verify: the pool, client or JWKS settings are
    /// wrong (or the keys could not be fetched).
    #[error(transparent)]
    Verify(#[from] VerifyError),
    #[error("the sessions table failed: {0}")]
    Store(#[from] StoreError),
}

impl ConsoleAuthError {
    pub fn kind(&self) -> AuthErrorKind {
        match self {
            ConsoleAuthError::Identity(e) => e.kind(),
            ConsoleAuthError::Verify(e) if e.is_retryable() => AuthErrorKind::Retry,
            // Fresh tokens from Cognito that fail our checks: no retry helps.
            ConsoleAuthError::Verify(_) => AuthErrorKind::GiveUp,
            ConsoleAuthError::Store(StoreError::Unavailable { .. }) => AuthErrorKind::Retry,
            ConsoleAuthError::Store(_) => AuthErrorKind::GiveUp,
        }
    }

    pub fn is_retryable(&self) -> bool {
        self.kind().is_retryable()
    }
}

/// Why a cookie does not resume a session.
#[derive(Debug, thiserror::Error)]
pub enum SessionRefused {
    /// No such session: never issued, signed out, or already removed.
    #[error("no such session")]
    Unknown,
    /// The session's lifetime is over.
    #[error("the session has expired")]
    Expired,
    /// Cognito revoked the session's refresh token (a global sign-out, a disabled user),
    /// or its tokens no longer verify: the row was deleted.
    #[error("the session was revoked")]
    Revoked,
    /// Cognito, the JWKS or the table failed in a way that may pass: retry.
    #[error("cannot check the session now: {0}")]
    Unavailable(#[source] ConsoleAuthError),
    /// A misconfiguration or a corrupt row: nothing a retry fixes.
    #[error("cannot check the session: {0}")]
    Failed(#[source] ConsoleAuthError),
}

impl SessionRefused {
    pub fn is_retryable(&self) -> bool {
        matches!(self, SessionRefused::Unavailable(_))
    }

    fn from_failure(error: impl Into<ConsoleAuthError>) -> SessionRefused {
        let error = error.into();
        if error.is_retryable() {
            SessionRefused::Unavailable(error)
        } else {
            SessionRefused::Failed(error)
        }
    }
}

/// What a sign-out did. The session's row is gone in every case.
#[derive(Debug)]
pub enum SignedOut {
    /// Cognito revoked the user's refresh tokens (or they already were).
    Everywhere,
    /// Cognito could not be reached: this session is gone, but other devices' refresh
    /// tokens still work until the user signs out again.
    HereOnly(IdentityError),
    /// There was no such session.
    NoSession,
}

/// The ports [`ConsoleAuth`] uses.
#[derive(Clone)]
pub struct ConsolePorts {
    pub identity: Arc<dyn IdentityProvider>,
    pub sessions: Arc<dyn SessionStore>,
    pub jwks: Arc<dyn JwksSource>,
}

/// Sign-in, sessions and sign-out for the console. Build it once per Lambda: it holds the
/// pool's keys between requests.
pub struct ConsoleAuth {
    ports: ConsolePorts,
    tokens: AccessTokenSettings,
    verifier: AccessTokenVerifier,
    clock: Arc<dyn Clock>,
    settings: ConsoleAuthSettings,
}

impl fmt::Debug for ConsoleAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsoleAuth")
            .field("tokens", &self.tokens)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl ConsoleAuth {
    pub fn new(
        ports: ConsolePorts,
        tokens: AccessTokenSettings,
        settings: ConsoleAuthSettings,
    ) -> Self {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        ConsoleAuth {
            verifier: AccessTokenVerifier::new(tokens.clone(), ports.jwks.clone(), clock.clone()),
            ports,
            tokens,
            clock,
            settings,
        }
    }

    /// Reads time from `clock` (sessions' ends, tokens' `exp`).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.verifier =
            AccessTokenVerifier::new(self.tokens.clone(), self.ports.jwks.clone(), clock.clone());
        self.clock = clock;
        self
    }

    pub async fn sign_in(
        &self,
        email: &str,
        password: &SecretString,
    ) -> Result<SignInOutcome, ConsoleAuthError> {
        let step = self.ports.identity.sign_in(email, password).await?;
        self.after(step).await
    }

    pub async fn answer_new_password(
        &self,
        challenge: &Challenge,
        new_password: &SecretString,
    ) -> Result<SignInOutcome, ConsoleAuthError> {
        let step = self
            .ports
            .identity
            .answer_new_password(challenge, new_password)
            .await?;
        self.after(step).await
    }

    pub async fn answer_mfa(
        &self,
        challenge: &Challenge,
        code: &str,
    ) -> Result<SignInOutcome, ConsoleAuthError> {
        let step = self.ports.identity.answer_mfa(challenge, code).await?;
        self.after(step).await
    }

    /// The session of a cookie, its access token refreshed when it nears its end.
    pub async fn resume(&self, id: &SessionId) -> Result<Session, SessionRefused> {
        let hash = id.storage_key();
        let Some(record) = self
            .ports
            .sessions
            .get(&hash)
            .await
            .map_err(SessionRefused::from_failure)?
        else {
            return Err(SessionRefused::Unknown);
        };
        let now = self.clock.now();
        if record.expires_at <= now {
            self.forget(&hash).await;
            return Err(SessionRefused::Expired);
        }
        let access_token = if needs_refresh(record.access_expires_at, now) {
            self.refresh(&record).await?
        } else {
            record.access_token.clone()
        };
        match self.verifier.verify(&access_token).await {
            Ok(access) if access.sub == record.user_sub => {}
            Ok(_) | Err(VerifyError::Expired | VerifyError::Invalid(_)) => {
                // A row whose token is not the user's or no longer verifies (a rotated pool,
                // a tampered row) is not a session.
                self.forget(&hash).await;
                return Err(SessionRefused::Revoked);
            }
            Err(e) => return Err(SessionRefused::from_failure(e)),
        }
        Ok(Session {
            user_sub: record.user_sub,
            email: record.email,
            csrf_token: record.csrf_token,
            expires_at: record.expires_at,
            access_token,
        })
    }

    /// Whether a form's CSRF token is the session's, compared in constant time.
    pub fn check_csrf(session: &Session, presented: &str) -> bool {
        use secrecy::ExposeSecret;
        let expected = session.csrf_token.expose_secret().as_bytes();
        // ct_eq of slices of different lengths is false at once; the length is not secret.
        !expected.is_empty() && bool::from(expected.ct_eq(presented.as_bytes()))
    }

    /// Signs the user out of Cognito everywhere and deletes the session's row; the row is
    /// deleted even when Cognito cannot be reached ([`SignedOut::HereOnly`]).
    pub async fn sign_out(&self, id: &SessionId) -> Result<SignedOut, ConsoleAuthError> {
        let hash = id.storage_key();
        let Some(record) = self.ports.sessions.get(&hash).await? else {
            return Ok(SignedOut::NoSession);
        };
        let outcome = self.sign_out_of_cognito(&record).await;
        self.ports.sessions.delete(&hash).await?;
        Ok(outcome)
    }

    /// Starts TOTP enrolment: the secret to show (as a QR code and as text).
    pub async fn start_totp(&self, session: &Session) -> Result<SecretString, ConsoleAuthError> {
        Ok(self
            .ports
            .identity
            .associate_totp(&session.access_token)
            .await?)
    }

    /// Finishes TOTP enrolment with a first code, and makes TOTP the user's second factor.
    pub async fn finish_totp(&self, session: &Session, code: &str) -> Result<(), ConsoleAuthError> {
        self.ports
            .identity
            .verify_totp(&session.access_token, code)
            .await?;
        self.ports
            .identity
            .prefer_totp(&session.access_token)
            .await?;
        Ok(())
    }

    /// Whether the user's sign-ins ask for an authenticator code.
    pub async fn totp_enabled(&self, session: &Session) -> Result<bool, ConsoleAuthError> {
        Ok(self
            .ports
            .identity
            .totp_enabled(&session.access_token)
            .await?)
    }

    /// Sends a reset code. An unknown e-mail answers exactly as a known one.
    pub async fn forgot_password(&self, email: &str) -> Result<(), ConsoleAuthError> {
        match self.ports.identity.forgot_password(email).await {
            Ok(()) | Err(IdentityError::WrongCredentials) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Sets a new password with a reset code. An unknown e-mail answers as a wrong code.
    pub async fn confirm_forgot_password(
        &self,
        email: &str,
        code: &str,
        new_password: &SecretString,
    ) -> Result<(), ConsoleAuthError> {
        match self
            .ports
            .identity
            .confirm_forgot_password(email, code, new_password)
            .await
        {
            Ok(()) => Ok(()),
            Err(IdentityError::WrongCredentials) => Err(IdentityError::CodeMismatch.into()),
            Err(e) => Err(e.into()),
        }
    }

    async fn after(&self, step: SignInStep) -> Result<SignInOutcome, ConsoleAuthError> {
        match step {
            SignInStep::Tokens(tokens) => Ok(SignInOutcome::SignedIn(self.open(tokens).await?)),
            SignInStep::NewPasswordRequired(c) => Ok(SignInOutcome::NewPasswordRequired(c)),
            SignInStep::SoftwareTokenMfa(c) => Ok(SignInOutcome::MfaRequired(c)),
        }
    }

    /// Opens a session for tokens Cognito just issued.
    async fn open(&self, tokens: CognitoTokens) -> Result<NewSession, ConsoleAuthError> {
        let access = self.verifier.verify(&tokens.access_token).await?;
        let id_claims = self.verifier.verify_id(&tokens.id_token).await?;
        if id_claims.sub != access.sub {
            return Err(VerifyError::Invalid(InvalidToken::SubjectMismatch).into());
        }
        let refresh_token = tokens
            .refresh_token
            .ok_or_else(|| IdentityError::Misconfigured {
                detail: "the sign-in answered no refresh token".into(),
            })?;
        let now = self.clock.now();
        let lifetime = i64::try_from(self.settings.session_lifetime.as_secs()).unwrap_or(i64::MAX);
        let id = SessionId::generate();
        let record = SessionRecord {
            session_hash: id.storage_key(),
            user_sub: access.sub,
            email: id_claims.email,
            access_token: tokens.access_token,
            access_expires_at: access.expires_at,
            refresh_token: SealedSecret::plain(&refresh_token),
            csrf_token: random_token(),
            created_at: now,
            expires_at: now.saturating_add(lifetime),
        };
        self.ports.sessions.put(&record).await?;
        Ok(NewSession {
            id,
            session: Session {
                user_sub: record.user_sub,
                email: record.email,
                csrf_token: record.csrf_token,
                expires_at: record.expires_at,
                access_token: record.access_token,
            },
        })
    }

    /// A new access token for the session, saved to its row. Two requests refreshing at
    /// once both succeed: Cognito does not rotate the refresh token, so neither spoils the
    /// other's, and the later write keeps a valid token.
    async fn refresh(&self, record: &SessionRecord) -> Result<SecretString, SessionRefused> {
        let refresh_token = record
            .refresh_token
            .open()
            .await
            .map_err(SessionRefused::from_failure)?;
        let tokens = match self.ports.identity.refresh(&refresh_token).await {
            Ok(tokens) => tokens,
            Err(IdentityError::TokenRevoked | IdentityError::WrongCredentials) => {
                self.forget(&record.session_hash).await;
                return Err(SessionRefused::Revoked);
            }
            Err(e) => return Err(SessionRefused::from_failure(e)),
        };
        let access = match self.verifier.verify(&tokens.access_token).await {
            Ok(access) => access,
            Err(e) => return Err(SessionRefused::from_failure(e)),
        };
        match self
            .ports
            .sessions
            .replace_access(
                &record.session_hash,
                &tokens.access_token,
                access.expires_at,
            )
            .await
        {
            Ok(()) => Ok(tokens.access_token),
            // Signed out while we refreshed: the refresh must not bring the session back.
            Err(StoreError::NotFound { .. }) => Err(SessionRefused::Unknown),
            Err(e) => Err(SessionRefused::from_failure(e)),
        }
    }

    async fn sign_out_of_cognito(&self, record: &SessionRecord) -> SignedOut {
        let now = self.clock.now();
        let access_token = if needs_refresh(record.access_expires_at, now) {
            let refresh_token = match record.refresh_token.open().await {
                Ok(token) => token,
                Err(e) => {
                    return SignedOut::HereOnly(IdentityError::Misconfigured {
                        detail: format!("cannot open the refresh token: {e}"),
                    });
                }
            };
            match self.ports.identity.refresh(&refresh_token).await {
                Ok(tokens) => tokens.access_token,
                // Already revoked: nothing left to sign out of.
                Err(IdentityError::TokenRevoked) => return SignedOut::Everywhere,
                Err(e) => return SignedOut::HereOnly(e),
            }
        } else {
            record.access_token.clone()
        };
        match self.ports.identity.global_sign_out(&access_token).await {
            Ok(()) | Err(IdentityError::TokenRevoked) => SignedOut::Everywhere,
            Err(e) => SignedOut::HereOnly(e),
        }
    }

    /// Deletes a session that is over. A failure only delays it (readers check
    /// `expires_at`, and TTL removes the row), so it is logged, not returned.
    async fn forget(&self, session_hash: &str) {
        if let Err(e) = self.ports.sessions.delete(session_hash).await {
            tracing::warn!(error = %e, "could not delete an ended console session");
        }
    }
}

fn needs_refresh(access_expires_at: UnixTime, now: UnixTime) -> bool {
    access_expires_at <= now.saturating_add(ACCESS_REFRESH_MARGIN_SECS)
}
