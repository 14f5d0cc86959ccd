//! `IdentityProvider` in memory: a user pool as Cognito (and moto) answers it. Users with
//! passwords and a force-change flag, TOTP with a fixed secret and the code the test says
//! the authenticator shows, refresh tokens that a global sign-out revokes, and tokens
//! signed with [`TestSigningKey::First`] so the real verifier accepts them.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use tiktok_publish_core::console::{
    AccessTokenSettings, Challenge, CognitoTokens, IdentityError, IdentityProvider, SignInStep,
};
use tiktok_publish_core::tokens::Clock;

use crate::lock;
use crate::test_keys::TestSigningKey;

/// The TOTP secret every user gets (moto's, too, is fixed).
pub const MEMORY_TOTP_SECRET: &str = "JBSWY3DPEHPK3PXP";
/// Passwords shorter than this are refused, as the pool's policy would.
pub const MEMORY_MIN_PASSWORD_LEN: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Totp {
    None,
    Associated,
    Verified,
    Preferred,
}

#[derive(Debug)]
struct User {
    sub: String,
    password: String,
    force_change: bool,
    totp: Totp,
    reset_code: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChallengeKind {
    NewPassword,
    Mfa,
}

#[derive(Debug, Default)]
struct Pool {
    /// By e-mail.
    users: HashMap<String, User>,
    /// Open challenges by session: the user's e-mail and what is asked.
    challenges: HashMap<String, (String, ChallengeKind)>,
    /// Refresh tokens and their user's e-mail; `None` once revoked.
    refresh_tokens: HashMap<String, Option<String>>,
    /// Live access tokens and their user's e-mail (a global sign-out drops them).
    access_tokens: HashMap<String, String>,
    totp_code: Option<String>,
    down: bool,
    refreshes: usize,
    sign_outs: usize,
    issued: u64,
}

/// `IdentityProvider` in memory.
pub struct MemoryIdentity {
    tokens: AccessTokenSettings,
    clock: Arc<dyn Clock>,
    token_lifetime_secs: i64,
    pool: Mutex<Pool>,
}

impl std::fmt::Debug for MemoryIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryIdentity")
            .field("tokens", &self.tokens)
            .finish_non_exhaustive()
    }
}

impl MemoryIdentity {
    /// A pool issuing tokens for `tokens` (issuer and client), valid an hour by `clock`.
    pub fn new(tokens: AccessTokenSettings, clock: Arc<dyn Clock>) -> Self {
        MemoryIdentity {
            tokens,
            clock,
            token_lifetime_secs: 3600,
            pool: Mutex::new(Pool::default()),
        }
    }

    /// A confirmed user; returns their sub.
    pub fn add_user(&self, email: &str, password: &str) -> String {
        self.insert_user(email, password, false)
    }

    /// An invited user whose password is temporary; returns their sub.
    pub fn invite_user(&self, email: &str, temporary_password: &str) -> String {
        self.insert_user(email, temporary_password, true)
    }

    fn insert_user(&self, email: &str, password: &str, force_change: bool) -> String {
        let mut pool = lock(&self.pool);
        pool.issued += 1;
        let sub = format!("00000000-0000-4000-8000-{:012}", pool.issued);
        pool.users.insert(
            email.to_owned(),
            User {
                sub: sub.clone(),
                password: password.to_owned(),
                force_change,
                totp: Totp::None,
                reset_code: None,
            },
        );
        sub
    }

    /// Gives the user TOTP as their preferred second factor, as an enrolment would.
    pub fn enable_totp(&self, email: &str) {
        if let Some(user) = lock(&self.pool).users.get_mut(email) {
            user.totp = Totp::Preferred;
        }
    }

    /// The code the user's authenticator shows now.
    pub fn set_totp_code(&self, code: &str) {
        lock(&self.pool).totp_code = Some(code.to_owned());
    }

    /// While `down`, every call fails as [`IdentityError::Unavailable`].
    pub fn set_down(&self, down: bool) {
        lock(&self.pool).down = down;
    }

    /// Revokes every refresh token of the user (a sign-out on another device, an admin).
    pub fn revoke_refresh_tokens(&self, email: &str) {
        revoke(&mut lock(&self.pool), email);
    }

    /// The code the last forgotten-password request sent to the user.
    pub fn reset_code(&self, email: &str) -> Option<String> {
        lock(&self.pool)
            .users
            .get(email)
            .and_then(|u| u.reset_code.clone())
    }

    /// Whether `password` is the user's password now.
    pub fn has_password(&self, email: &str, password: &str) -> bool {
        lock(&self.pool)
            .users
            .get(email)
            .is_some_and(|u| u.password == password)
    }

    /// How many refreshes were answered (successfully or not).
    pub fn refreshes(&self) -> usize {
        lock(&self.pool).refreshes
    }

    /// How many global sign-outs succeeded.
    pub fn sign_outs(&self) -> usize {
        lock(&self.pool).sign_outs
    }

    fn pool(&self) -> Result<std::sync::MutexGuard<'_, Pool>, IdentityError> {
        let pool = lock(&self.pool);
        if pool.down {
            return Err(IdentityError::Unavailable {
                detail: "the test switched the identity provider off".into(),
            });
        }
        Ok(pool)
    }

    /// Tokens for the user `email`, with a refresh token when `with_refresh`.
    fn issue(&self, pool: &mut Pool, email: &str, with_refresh: bool) -> CognitoTokens {
        pool.issued += 1;
        let n = pool.issued;
        let sub = pool
            .users
            .get(email)
            .map(|u| u.sub.clone())
            .unwrap_or_default();
        let now = self.clock.now();
        let exp = now + self.token_lifetime_secs;
        let key = TestSigningKey::First;
        let access = key.sign(&json!({
            "sub": sub, "client_id": self.tokens.client_id, "token_use": "access",
            "iss": self.tokens.issuer, "iat": now, "auth_time": now, "exp": exp,
            "jti": format!("access-{n}"), "username": sub,
            "scope": "aws.cognito.signin.user.admin",
        }));
        let id = key.sign(&json!({
            "sub": sub, "aud": self.tokens.client_id, "token_use": "id",
            "iss": self.tokens.issuer, "iat": now, "auth_time": now, "exp": exp,
            "jti": format!("id-{n}"), "cognito:username": sub, "email": email,
        }));
        pool.access_tokens.insert(access.clone(), email.to_owned());
        let refresh_token = with_refresh.then(|| {
            let token = format!("refresh-{n}");
            pool.refresh_tokens
                .insert(token.clone(), Some(email.to_owned()));
            SecretString::from(token)
        });
        CognitoTokens {
            access_token: access.into(),
            id_token: id.into(),
            refresh_token,
            expires_in: self.token_lifetime_secs.unsigned_abs(),
        }
    }

    fn challenge(pool: &mut Pool, email: &str, kind: ChallengeKind) -> Challenge {
        pool.issued += 1;
        let session = format!("challenge-{}", pool.issued);
        pool.challenges
            .insert(session.clone(), (email.to_owned(), kind));
        Challenge {
            username: pool
                .users
                .get(email)
                .map(|u| u.sub.clone())
                .unwrap_or_default(),
            session: session.into(),
        }
    }

    /// The step after the password (or the new password) was accepted.
    fn after_password(&self, pool: &mut Pool, email: &str) -> SignInStep {
        if pool
            .users
            .get(email)
            .is_some_and(|u| u.totp == Totp::Preferred)
        {
            SignInStep::SoftwareTokenMfa(Self::challenge(pool, email, ChallengeKind::Mfa))
        } else {
            SignInStep::Tokens(self.issue(pool, email, true))
        }
    }

    /// The e-mail of an open challenge of `kind` (used up by this answer).
    fn take_challenge(
        pool: &mut Pool,
        challenge: &Challenge,
        kind: ChallengeKind,
    ) -> Result<String, IdentityError> {
        match pool.challenges.remove(challenge.session.expose_secret()) {
            Some((email, found)) if found == kind => Ok(email),
            _ => Err(IdentityError::CodeExpired),
        }
    }

    fn user_of_access(pool: &Pool, access_token: &SecretString) -> Result<String, IdentityError> {
        pool.access_tokens
            .get(access_token.expose_secret())
            .cloned()
            .ok_or(IdentityError::TokenRevoked)
    }
}

fn revoke(pool: &mut Pool, email: &str) {
    for owner in pool.refresh_tokens.values_mut() {
        if owner.as_deref() == Some(email) {
            *owner = None;
        }
    }
    pool.access_tokens.retain(|_, owner| owner != email);
}

fn check_policy(password: &SecretString) -> Result<(), IdentityError> {
    if password.expose_secret().chars().count() < MEMORY_MIN_PASSWORD_LEN {
        return Err(IdentityError::PasswordRefused {
            reason: "Password did not conform with policy: Password not long enough".into(),
        });
    }
    Ok(())
}

#[async_trait]
impl IdentityProvider for MemoryIdentity {
    async fn sign_in(
        &self,
        email: &str,
        password: &SecretString,
    ) -> Result<SignInStep, IdentityError> {
        let mut pool = self.pool()?;
        let Some(user) = pool.users.get(email) else {
            return Err(IdentityError::WrongCredentials);
        };
        if user.password != password.expose_secret() {
            return Err(IdentityError::WrongCredentials);
        }
        if user.force_change {
            return Ok(SignInStep::NewPasswordRequired(Self::challenge(
                &mut pool,
                email,
                ChallengeKind::NewPassword,
            )));
        }
        Ok(self.after_password(&mut pool, email))
    }

    async fn answer_new_password(
        &self,
        challenge: &Challenge,
        new_password: &SecretString,
    ) -> Result<SignInStep, IdentityError> {
        let mut pool = self.pool()?;
        check_policy(new_password)?;
        let email = Self::take_challenge(&mut pool, challenge, ChallengeKind::NewPassword)?;
        if let Some(user) = pool.users.get_mut(&email) {
            user.password = new_password.expose_secret().to_owned();
            user.force_change = false;
        }
        Ok(self.after_password(&mut pool, &email))
    }

    async fn answer_mfa(
        &self,
        challenge: &Challenge,
        code: &str,
    ) -> Result<SignInStep, IdentityError> {
        let mut pool = self.pool()?;
        if pool.totp_code.as_deref() != Some(code) {
            return Err(IdentityError::CodeMismatch);
        }
        let email = Self::take_challenge(&mut pool, challenge, ChallengeKind::Mfa)?;
        Ok(SignInStep::Tokens(self.issue(&mut pool, &email, true)))
    }

    async fn refresh(&self, refresh_token: &SecretString) -> Result<CognitoTokens, IdentityError> {
        let mut pool = self.pool()?;
        pool.refreshes += 1;
        let Some(Some(email)) = pool
            .refresh_tokens
            .get(refresh_token.expose_secret())
            .cloned()
        else {
            return Err(IdentityError::TokenRevoked);
        };
        Ok(self.issue(&mut pool, &email, false))
    }

    async fn global_sign_out(&self, access_token: &SecretString) -> Result<(), IdentityError> {
        let mut pool = self.pool()?;
        let email = Self::user_of_access(&pool, access_token)?;
        revoke(&mut pool, &email);
        pool.sign_outs += 1;
        Ok(())
    }

    async fn forgot_password(&self, email: &str) -> Result<(), IdentityError> {
        let mut pool = self.pool()?;
        pool.issued += 1;
        let code = format!("{:06}", 100_000 + pool.issued);
        // As Cognito without PreventUserExistenceErrors: the service must hide this.
        let user = pool
            .users
            .get_mut(email)
            .ok_or(IdentityError::WrongCredentials)?;
        user.reset_code = Some(code);
        Ok(())
    }

    async fn confirm_forgot_password(
        &self,
        email: &str,
        code: &str,
        new_password: &SecretString,
    ) -> Result<(), IdentityError> {
        let mut pool = self.pool()?;
        let user = pool
            .users
            .get_mut(email)
            .ok_or(IdentityError::WrongCredentials)?;
        if user.reset_code.as_deref() != Some(code) {
            return Err(IdentityError::CodeMismatch);
        }
        check_policy(new_password)?;
        user.password = new_password.expose_secret().to_owned();
        user.reset_code = None;
        Ok(())
    }

    async fn associate_totp(
        &self,
        access_token: &SecretString,
    ) -> Result<SecretString, IdentityError> {
        let mut pool = self.pool()?;
        let email = Self::user_of_access(&pool, access_token)?;
        if let Some(user) = pool.users.get_mut(&email) {
            user.totp = Totp::Associated;
        }
        Ok(MEMORY_TOTP_SECRET.into())
    }

    async fn verify_totp(
        &self,
        access_token: &SecretString,
        code: &str,
    ) -> Result<(), IdentityError> {
        let mut pool = self.pool()?;
        let email = Self::user_of_access(&pool, access_token)?;
        let shown = pool.totp_code.clone();
        let user = pool
            .users
            .get_mut(&email)
            .ok_or(IdentityError::TokenRevoked)?;
        if user.totp != Totp::Associated {
            return Err(IdentityError::Misconfigured {
                detail: "no software token was associated".into(),
            });
        }
        if shown.as_deref() != Some(code) {
            return Err(IdentityError::CodeMismatch);
        }
        user.totp = Totp::Verified;
        Ok(())
    }

    async fn prefer_totp(&self, access_token: &SecretString) -> Result<(), IdentityError> {
        let mut pool = self.pool()?;
        let email = Self::user_of_access(&pool, access_token)?;
        let user = pool
            .users
            .get_mut(&email)
            .ok_or(IdentityError::TokenRevoked)?;
        if !matches!(user.totp, Totp::Verified | Totp::Preferred) {
            return Err(IdentityError::Misconfigured {
                detail: "the software token is not verified".into(),
            });
        }
        user.totp = Totp::Preferred;
        Ok(())
    }

    async fn totp_enabled(&self, access_token: &SecretString) -> Result<bool, IdentityError> {
        let pool = self.pool()?;
        let email = Self::user_of_access(&pool, access_token)?;
        let user = pool.users.get(&email).ok_or(IdentityError::TokenRevoked)?;
        Ok(user.totp == Totp::Preferred)
    }
}
