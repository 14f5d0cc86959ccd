//! Cognito access tokens, checked as AWS says: the key named by the header's `kid` in the
//! pool's JWKS, an RS256 signature, the pool's issuer, `token_use` = `access`, our app
//! client, and `exp` against the service's clock (never the system time: tests move it).
//!
//! The JWKS comes through [`JwksSource`] (the adapters crate's `HttpJwks` fetches the pool's
//! `/.well-known/jwks.json`); the verifier keeps it for the life of the process and fetches
//! it again once when a token names a key it does not hold (Cognito rotated its keys).

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::RwLock;

use super::identity::AuthErrorKind;
use crate::store::UnixTime;
use crate::tokens::Clock;

/// Why the pool's keys could not be had.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    /// The request failed or Cognito answered 5xx/429: retry later.
    #[error("the JWKS is unavailable: {detail}")]
    Unavailable { detail: String },
    /// The answer is not a JWKS (a wrong URL, a 404): a misconfiguration.
    #[error("the JWKS answer is unusable: {detail}")]
    Unusable { detail: String },
}

/// Where the pool's public keys come from.
#[async_trait]
pub trait JwksSource: Send + Sync {
    async fn fetch(&self) -> Result<JwkSet, JwksError>;
}

/// Why a token is not valid, so a caller can tell a forgery from an old token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidToken {
    /// Not a JWT, or a claim is missing or of the wrong type.
    Malformed,
    /// Not RS256 (the header's or the key's algorithm).
    WrongAlgorithm,
    /// No key of the pool has the header's `kid`, even after fetching the keys again.
    UnknownKey,
    /// The key is not an RSA key.
    UnusableKey,
    /// The signature does not match.
    BadSignature,
    /// Issued by another pool or region.
    WrongIssuer,
    /// An ID or other token, not an access token.
    NotAnAccessToken,
    /// Issued to another app client.
    WrongClient,
    /// The ID token and the access token are not the same user's.
    SubjectMismatch,
}

impl fmt::Display for InvalidToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InvalidToken::Malformed => "malformed token",
            InvalidToken::WrongAlgorithm => "not signed with RS256",
            InvalidToken::UnknownKey => "signed with a key the pool does not publish",
            InvalidToken::UnusableKey => "the pool's key is not an RSA key",
            InvalidToken::BadSignature => "bad signature",
            InvalidToken::WrongIssuer => "issued by another user pool",
            InvalidToken::NotAnAccessToken => "not an access token",
            InvalidToken::WrongClient => "issued to another app client",
            InvalidToken::SubjectMismatch => "the ID and access tokens name different users",
        })
    }
}

/// Why an access token was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// Genuine, but `exp` has passed: refresh it.
    #[error("the access token has expired")]
    Expired,
    #[error("the access token is invalid: {0}")]
    Invalid(InvalidToken),
    /// The keys could not be fetched to check it.
    #[error("cannot check the access token: {0}")]
    JwksUnavailable(#[source] JwksError),
}

impl VerifyError {
    pub fn kind(&self) -> AuthErrorKind {
        match self {
            VerifyError::Expired | VerifyError::Invalid(_) => AuthErrorKind::SignInAgain,
            VerifyError::JwksUnavailable(JwksError::Unavailable { .. }) => AuthErrorKind::Retry,
            VerifyError::JwksUnavailable(JwksError::Unusable { .. }) => AuthErrorKind::GiveUp,
        }
    }

    pub fn is_retryable(&self) -> bool {
        self.kind().is_retryable()
    }
}

/// What a valid access token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAccess {
    /// The user's stable id.
    pub sub: String,
    /// Cognito's user name (the sub again in a pool that signs in by e-mail).
    pub username: String,
    /// The token's `exp`.
    pub expires_at: UnixTime,
}

/// What a valid ID token says that the access token does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedId {
    pub sub: String,
    pub email: String,
}

/// Which tokens are ours: the pool's issuer and the app client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTokenSettings {
    /// `https://cognito-idp.{region}.amazonaws.com/{user_pool_id}`.
    pub issuer: String,
    pub client_id: String,
}

impl AccessTokenSettings {
    /// The settings of a pool's app client, with the issuer in AWS's form (moto uses it too).
    pub fn for_pool(region: &str, user_pool_id: &str, client_id: &str) -> Self {
        AccessTokenSettings {
            issuer: format!("https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"),
            client_id: client_id.to_owned(),
        }
    }
}

/// The claims of a Cognito access token that are checked or used.
#[derive(Deserialize)]
struct AccessClaims {
    sub: String,
    username: String,
    client_id: String,
    token_use: String,
    exp: i64,
}

/// The claims of a Cognito ID token that are checked or used (`aud` is checked by
/// jsonwebtoken).
#[derive(Deserialize)]
struct IdClaims {
    sub: String,
    email: String,
    token_use: String,
    exp: i64,
}

/// Checks Cognito access tokens; holds the pool's keys between calls.
pub struct AccessTokenVerifier {
    settings: AccessTokenSettings,
    jwks: Arc<dyn JwksSource>,
    clock: Arc<dyn Clock>,
    keys: RwLock<Option<Arc<JwkSet>>>,
}

impl fmt::Debug for AccessTokenVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessTokenVerifier")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl AccessTokenVerifier {
    pub fn new(
        settings: AccessTokenSettings,
        jwks: Arc<dyn JwksSource>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        AccessTokenVerifier {
            settings,
            jwks,
            clock,
            keys: RwLock::new(None),
        }
    }

    /// Checks an access token and returns what it says. Expiry is strict: a token whose
    /// `exp` is now is expired.
    pub async fn verify(&self, token: &SecretString) -> Result<VerifiedAccess, VerifyError> {
        // Access tokens carry `client_id`, not `aud`: it is compared below.
        let claims: AccessClaims = self.decode(token, None).await?;
        if claims.token_use != "access" {
            return Err(VerifyError::Invalid(InvalidToken::NotAnAccessToken));
        }
        if claims.client_id != self.settings.client_id {
            return Err(VerifyError::Invalid(InvalidToken::WrongClient));
        }
        self.check_exp(claims.exp)?;
        Ok(VerifiedAccess {
            sub: claims.sub,
            username: claims.username,
            expires_at: claims.exp,
        })
    }

    /// Checks an ID token (its `aud` is the app client) and returns the user's e-mail.
    pub async fn verify_id(&self, token: &SecretString) -> Result<VerifiedId, VerifyError> {
        let claims: IdClaims = self.decode(token, Some(&self.settings.client_id)).await?;
        if claims.token_use != "id" {
            return Err(VerifyError::Invalid(InvalidToken::Malformed));
        }
        self.check_exp(claims.exp)?;
        Ok(VerifiedId {
            sub: claims.sub,
            email: claims.email,
        })
    }

    /// The claims of a token signed by one of the pool's keys and issued by the pool.
    async fn decode<T: serde::de::DeserializeOwned>(
        &self,
        token: &SecretString,
        audience: Option<&str>,
    ) -> Result<T, VerifyError> {
        let token = token.expose_secret();
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| VerifyError::Invalid(InvalidToken::Malformed))?;
        if header.alg != Algorithm::RS256 {
            return Err(VerifyError::Invalid(InvalidToken::WrongAlgorithm));
        }
        let kid = header
            .kid
            .ok_or(VerifyError::Invalid(InvalidToken::Malformed))?;
        let key = self.key(&kid).await?;

        let mut validation = Validation::new(Algorithm::RS256);
        // `exp` is compared with our clock by the caller (jsonwebtoken reads the system's).
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.leeway = 0;
        validation.set_issuer(&[&self.settings.issuer]);
        match audience {
            Some(audience) => {
                validation.set_audience(&[audience]);
                validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
            }
            None => {
                validation.validate_aud = false;
                validation.set_required_spec_claims(&["exp", "iss", "sub"]);
            }
        }
        jsonwebtoken::decode::<T>(token, &key, &validation)
            .map(|data| data.claims)
            .map_err(|e| VerifyError::Invalid(invalid_reason(&e)))
    }

    fn check_exp(&self, exp: UnixTime) -> Result<(), VerifyError> {
        if exp <= self.clock.now() {
            return Err(VerifyError::Expired);
        }
        Ok(())
    }

    /// The key `kid`, from the held set, else from a set fetched once more.
    async fn key(&self, kid: &str) -> Result<DecodingKey, VerifyError> {
        if let Some(keys) = self.keys.read().await.as_ref()
            && let Some(jwk) = keys.find(kid)
        {
            return decoding_key(jwk);
        }
        // A token comes from our own sessions table, never straight from a browser, so an
        // unknown kid is a key rotation (or a forged row), not a way to make us fetch at will.
        let fresh = Arc::new(
            self.jwks
                .fetch()
                .await
                .map_err(VerifyError::JwksUnavailable)?,
        );
        *self.keys.write().await = Some(fresh.clone());
        let jwk = fresh
            .find(kid)
            .ok_or(VerifyError::Invalid(InvalidToken::UnknownKey))?;
        decoding_key(jwk)
    }
}

fn decoding_key(jwk: &jsonwebtoken::jwk::Jwk) -> Result<DecodingKey, VerifyError> {
    if jwk
        .common
        .key_algorithm
        .is_some_and(|alg| alg != KeyAlgorithm::RS256)
    {
        return Err(VerifyError::Invalid(InvalidToken::WrongAlgorithm));
    }
    let AlgorithmParameters::RSA(rsa) = &jwk.algorithm else {
        return Err(VerifyError::Invalid(InvalidToken::UnusableKey));
    };
    DecodingKey::from_rsa_components(&rsa.n, &rsa.e)
        .map_err(|_| VerifyError::Invalid(InvalidToken::UnusableKey))
}

fn invalid_reason(error: &jsonwebtoken::errors::Error) -> InvalidToken {
    use jsonwebtoken::errors::ErrorKind;
    match error.kind() {
        ErrorKind::InvalidSignature => InvalidToken::BadSignature,
        ErrorKind::InvalidIssuer => InvalidToken::WrongIssuer,
        ErrorKind::InvalidAudience => InvalidToken::WrongClient,
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
            InvalidToken::WrongAlgorithm
        }
        ErrorKind::InvalidKeyFormat | ErrorKind::InvalidRsaKey(_) => InvalidToken::UnusableKey,
        _ => InvalidToken::Malformed,
    }
}
