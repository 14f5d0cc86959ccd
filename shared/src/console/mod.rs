//! The console's sign-in core: a user signs in with e-mail and password through Cognito, and
//! the browser gets only an opaque session id; Cognito's tokens stay in the sessions table.
//!
//! - [`identity`]: the [`IdentityProvider`] port (Cognito's user pool) and its errors.
//! - [`verifier`]: [`AccessTokenVerifier`], Cognito's JWTs checked against the pool's JWKS
//!   (through the [`JwksSource`] port).
//! - [`session`]: [`SessionId`] (the cookie) and the [`SessionStore`] port (the table).
//! - [`auth`]: [`ConsoleAuth`], the service: sign-in and its challenges, resume, sign-out,
//!   CSRF, TOTP enrolment, forgotten passwords.
//!
//! The adapters (`CognitoIdentity`, `DynamoSessionStore`, `HttpJwks`) are in the adapters
//! crate; in-memory stand-ins in `tiktok-publish-memory`.

pub mod auth;
pub mod identity;
pub mod session;
pub mod verifier;

pub use auth::{
    ACCESS_REFRESH_MARGIN_SECS, ConsoleAuth, ConsoleAuthError, ConsoleAuthSettings, ConsolePorts,
    NewSession, Session, SessionRefused, SignInOutcome, SignedOut,
};
pub use identity::{
    AuthErrorKind, Challenge, CognitoTokens, IdentityError, IdentityProvider, SignInStep,
};
/// The JWKS types of `jsonwebtoken`, for the [`JwksSource`] adapters and tests.
pub use jsonwebtoken::jwk::{Jwk, JwkSet};
pub use session::{NotASessionId, SessionId, SessionRecord, SessionStore};
pub use verifier::{
    AccessTokenSettings, AccessTokenVerifier, InvalidToken, JwksError, JwksSource, VerifiedAccess,
    VerifiedId, VerifyError,
};
