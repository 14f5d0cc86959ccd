//! `ConsoleAuth` over `MemoryIdentity`, `MemorySessionStore` and `MemoryJwks`, on a clock
//! the test moves.

use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use tiktok_publish_core::console::{
    AccessTokenSettings, AuthErrorKind, ConsoleAuth, ConsoleAuthError, ConsoleAuthSettings,
    ConsolePorts, IdentityError, InvalidToken, NewSession, SessionId, SessionRefused, SessionStore,
    SignInOutcome, SignedOut, VerifyError,
};
use tiktok_publish_memory::{
    MEMORY_TOTP_SECRET, MemoryIdentity, MemoryJwks, MemorySessionStore, TestSigningKey,
};

use super::{CLIENT, ManualClock, NOW, POOL, REGION};

const EMAIL: &str = "owner@example.com";
const PASSWORD: &str = "correct horse battery";

struct Console {
    auth: ConsoleAuth,
    identity: Arc<MemoryIdentity>,
    sessions: Arc<MemorySessionStore>,
    jwks: Arc<MemoryJwks>,
    clock: Arc<ManualClock>,
}

fn console_with(settings: ConsoleAuthSettings, published: &[TestSigningKey]) -> Console {
    let clock = ManualClock::at(NOW);
    let tokens = AccessTokenSettings::for_pool(REGION, POOL, CLIENT);
    let identity = Arc::new(MemoryIdentity::new(tokens.clone(), clock.clone()));
    let sessions = Arc::new(MemorySessionStore::new());
    let jwks = Arc::new(MemoryJwks::new(published));
    let ports = ConsolePorts {
        identity: identity.clone(),
        sessions: sessions.clone(),
        jwks: jwks.clone(),
    };
    Console {
        auth: ConsoleAuth::new(ports, tokens, settings).with_clock(clock.clone()),
        identity,
        sessions,
        jwks,
        clock,
    }
}

fn console() -> Console {
    console_with(ConsoleAuthSettings::default(), &[TestSigningKey::First])
}

fn secret(value: &str) -> SecretString {
    SecretString::from(value.to_owned())
}

impl Console {
    /// A confirmed user, signed in.
    async fn signed_in(&self) -> NewSession {
        self.identity.add_user(EMAIL, PASSWORD);
        self.sign_in().await
    }

    async fn sign_in(&self) -> NewSession {
        match self.auth.sign_in(EMAIL, &secret(PASSWORD)).await.unwrap() {
            SignInOutcome::SignedIn(new) => new,
            other => panic!("not signed in: {other:?}"),
        }
    }

    /// The session of the cookie value the browser sends back.
    async fn resume(
        &self,
        new: &NewSession,
    ) -> Result<tiktok_publish_core::console::Session, SessionRefused> {
        let cookie = SessionId::parse(new.id.expose()).unwrap();
        self.auth.resume(&cookie).await
    }
}

#[tokio::test]
async fn a_sign_in_opens_a_session_the_cookie_resumes() {
    let console = console();
    let new = console.signed_in().await;
    assert_eq!(new.session.email, EMAIL);
    assert_eq!(new.session.expires_at, NOW + 7 * 24 * 3600);

    // The table holds the hash of the id, never the id.
    assert!(console.sessions.contains(&new.id.storage_key()));
    assert!(!console.sessions.contains(new.id.expose()));
    let row = console
        .sessions
        .get(&new.id.storage_key())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.email, EMAIL);
    assert!(!format!("{row:?} {new:?}").contains(new.id.expose()));

    console.clock.advance(600);
    let session = console.resume(&new).await.unwrap();
    assert_eq!(session.user_sub, new.session.user_sub);
    assert_eq!(session.email, EMAIL);
    assert_eq!(
        session.csrf_token.expose_secret(),
        new.session.csrf_token.expose_secret()
    );
    assert_eq!(console.identity.refreshes(), 0);
}

#[tokio::test]
async fn a_wrong_password_is_refused_and_opens_nothing() {
    let console = console();
    console.identity.add_user(EMAIL, PASSWORD);
    for (email, password) in [(EMAIL, "wrong password"), ("nobody@example.com", PASSWORD)] {
        let err = console
            .auth
            .sign_in(email, &secret(password))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                ConsoleAuthError::Identity(IdentityError::WrongCredentials)
            ),
            "{err:?}"
        );
        assert_eq!(err.kind(), AuthErrorKind::Refused);
    }
    assert!(console.sessions.is_empty());
}

#[tokio::test]
async fn an_invited_user_chooses_a_password_then_is_signed_in() {
    let console = console();
    let sub = console.identity.invite_user(EMAIL, "Temporary-1");
    let SignInOutcome::NewPasswordRequired(challenge) = console
        .auth
        .sign_in(EMAIL, &secret("Temporary-1"))
        .await
        .unwrap()
    else {
        panic!("no new-password challenge");
    };
    // Cognito's USERNAME (moto: the sub) is what goes back, not the e-mail.
    assert_eq!(challenge.username, sub);
    assert!(console.sessions.is_empty());

    let err = console
        .auth
        .answer_new_password(&challenge, &secret("short"))
        .await
        .unwrap_err();
    let ConsoleAuthError::Identity(IdentityError::PasswordRefused { reason }) = &err else {
        panic!("{err:?}");
    };
    assert!(!reason.is_empty());

    let SignInOutcome::SignedIn(new) = console
        .auth
        .answer_new_password(&challenge, &secret(PASSWORD))
        .await
        .unwrap()
    else {
        panic!("not signed in");
    };
    assert_eq!(new.session.user_sub, sub);
    assert_eq!(new.session.email, EMAIL);
    console.resume(&new).await.unwrap();
    // The new password is the password now.
    console.sign_in().await;
}

#[tokio::test]
async fn a_totp_user_is_asked_for_the_code() {
    let console = console();
    console.identity.add_user(EMAIL, PASSWORD);
    console.identity.enable_totp(EMAIL);
    console.identity.set_totp_code("123456");
    let SignInOutcome::MfaRequired(challenge) = console
        .auth
        .sign_in(EMAIL, &secret(PASSWORD))
        .await
        .unwrap()
    else {
        panic!("no MFA challenge");
    };
    let err = console
        .auth
        .answer_mfa(&challenge, "654321")
        .await
        .unwrap_err();
    assert!(
        matches!(err, ConsoleAuthError::Identity(IdentityError::CodeMismatch)),
        "{err:?}"
    );
    assert!(console.sessions.is_empty());

    let SignInOutcome::SignedIn(new) = console.auth.answer_mfa(&challenge, "123456").await.unwrap()
    else {
        panic!("not signed in");
    };
    console.resume(&new).await.unwrap();
}

#[tokio::test]
async fn resuming_near_the_access_tokens_end_refreshes_it_once() {
    let console = console();
    let new = console.signed_in().await;
    // 30 s before the hour's end: inside the refresh margin.
    console.clock.advance(3600 - 30);
    let session = console.resume(&new).await.unwrap();
    assert_eq!(console.identity.refreshes(), 1);
    assert_ne!(
        session.access_token.expose_secret(),
        new.session.access_token.expose_secret()
    );
    let row = console
        .sessions
        .get(&new.id.storage_key())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.access_expires_at, console_now(&console) + 3600);
    assert_eq!(
        row.access_token.expose_secret(),
        session.access_token.expose_secret()
    );

    // The refreshed token is used from then on.
    console.clock.advance(600);
    console.resume(&new).await.unwrap();
    assert_eq!(console.identity.refreshes(), 1);
}

fn console_now(console: &Console) -> i64 {
    use tiktok_publish_core::tokens::Clock;
    console.clock.now()
}

#[tokio::test]
async fn a_session_past_its_lifetime_is_refused_and_deleted() {
    let console = console_with(
        ConsoleAuthSettings {
            session_lifetime: Duration::from_secs(2 * 3600),
        },
        &[TestSigningKey::First],
    );
    let new = console.signed_in().await;
    console.clock.advance(2 * 3600 - 1);
    console.resume(&new).await.unwrap();
    console.clock.advance(1);
    let refused = console.resume(&new).await.unwrap_err();
    assert!(matches!(refused, SessionRefused::Expired), "{refused:?}");
    assert!(!console.sessions.contains(&new.id.storage_key()));
    let again = console.resume(&new).await.unwrap_err();
    assert!(matches!(again, SessionRefused::Unknown), "{again:?}");
}

#[tokio::test]
async fn a_revoked_refresh_token_ends_the_session() {
    let console = console();
    let new = console.signed_in().await;
    console.identity.revoke_refresh_tokens(EMAIL);
    console.clock.advance(3600);
    let refused = console.resume(&new).await.unwrap_err();
    assert!(matches!(refused, SessionRefused::Revoked), "{refused:?}");
    assert!(!refused.is_retryable());
    assert!(!console.sessions.contains(&new.id.storage_key()));
}

#[tokio::test]
async fn an_outage_during_a_refresh_keeps_the_session_for_a_retry() {
    let console = console();
    let new = console.signed_in().await;
    console.clock.advance(3600);
    console.identity.set_down(true);
    let refused = console.resume(&new).await.unwrap_err();
    assert!(refused.is_retryable(), "{refused:?}");
    assert!(console.sessions.contains(&new.id.storage_key()));
    console.identity.set_down(false);
    console.resume(&new).await.unwrap();
}

#[tokio::test]
async fn an_unknown_or_malformed_cookie_is_refused() {
    let console = console();
    console.signed_in().await;
    let refused = console
        .auth
        .resume(&SessionId::generate())
        .await
        .unwrap_err();
    assert!(matches!(refused, SessionRefused::Unknown), "{refused:?}");
    assert!(SessionId::parse("not-a-session").is_err());
}

#[tokio::test]
async fn the_csrf_token_must_match_exactly() {
    let console = console();
    let new = console.signed_in().await;
    let session = console.resume(&new).await.unwrap();
    let token = session.csrf_token.expose_secret().to_owned();
    assert_eq!(token.len(), 43);
    assert!(ConsoleAuth::check_csrf(&session, &token));
    assert!(!ConsoleAuth::check_csrf(&session, ""));
    assert!(!ConsoleAuth::check_csrf(&session, &token[..42]));
    assert!(!ConsoleAuth::check_csrf(&session, &format!("{token}A")));
    let other = console.sign_in().await;
    assert!(!ConsoleAuth::check_csrf(
        &session,
        other.session.csrf_token.expose_secret()
    ));
}

#[tokio::test]
async fn signing_out_revokes_every_device_and_deletes_the_row() {
    let console = console();
    let here = console.signed_in().await;
    let elsewhere = console.sign_in().await;
    let outcome = console
        .auth
        .sign_out(&SessionId::parse(here.id.expose()).unwrap())
        .await
        .unwrap();
    assert!(matches!(outcome, SignedOut::Everywhere), "{outcome:?}");
    assert_eq!(console.identity.sign_outs(), 1);
    assert!(!console.sessions.contains(&here.id.storage_key()));
    assert!(matches!(
        console.resume(&here).await,
        Err(SessionRefused::Unknown)
    ));

    // The other device's session ends at its next refresh.
    console.clock.advance(3600);
    assert!(matches!(
        console.resume(&elsewhere).await,
        Err(SessionRefused::Revoked)
    ));

    let again = console.auth.sign_out(&here.id).await.unwrap();
    assert!(matches!(again, SignedOut::NoSession), "{again:?}");
}

#[tokio::test]
async fn signing_out_deletes_the_row_even_when_cognito_is_down() {
    let console = console();
    let new = console.signed_in().await;
    console.identity.set_down(true);
    let outcome = console.auth.sign_out(&new.id).await.unwrap();
    let SignedOut::HereOnly(cause) = &outcome else {
        panic!("{outcome:?}");
    };
    assert!(cause.is_retryable());
    assert!(console.sessions.is_empty());
    assert!(matches!(
        console.resume(&new).await,
        Err(SessionRefused::Unknown)
    ));
}

#[tokio::test]
async fn signing_out_with_an_expired_access_token_refreshes_it_first() {
    let console = console();
    let new = console.signed_in().await;
    console.clock.advance(3600);
    let outcome = console.auth.sign_out(&new.id).await.unwrap();
    assert!(matches!(outcome, SignedOut::Everywhere), "{outcome:?}");
    assert_eq!(console.identity.refreshes(), 1);
    assert_eq!(console.identity.sign_outs(), 1);
    assert!(console.sessions.is_empty());
}

#[tokio::test]
async fn an_unknown_key_is_fetched_again_once_then_refused() {
    // The pool publishes only the second key; tokens are signed with the first.
    let console = console_with(ConsoleAuthSettings::default(), &[TestSigningKey::Second]);
    console.identity.add_user(EMAIL, PASSWORD);
    let err = console
        .auth
        .sign_in(EMAIL, &secret(PASSWORD))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ConsoleAuthError::Verify(VerifyError::Invalid(InvalidToken::UnknownKey))
        ),
        "{err:?}"
    );
    assert_eq!(err.kind(), AuthErrorKind::GiveUp);
    assert_eq!(console.jwks.fetches(), 1);
    assert!(console.sessions.is_empty());

    // Cognito rotates to the first key: the held set lacks it, so it is fetched once more.
    console.jwks.publish(vec![
        TestSigningKey::Second.jwk(),
        TestSigningKey::First.jwk(),
    ]);
    let new = console.sign_in().await;
    assert_eq!(console.jwks.fetches(), 2);
    console.resume(&new).await.unwrap();
    console.sign_in().await;
    assert_eq!(console.jwks.fetches(), 2);
}

#[tokio::test]
async fn totp_enrolment_makes_the_next_sign_in_ask_for_a_code() {
    let console = console();
    let new = console.signed_in().await;
    let session = console.resume(&new).await.unwrap();
    assert!(!console.auth.totp_enabled(&session).await.unwrap());
    let secret_shown = console.auth.start_totp(&session).await.unwrap();
    assert_eq!(secret_shown.expose_secret(), MEMORY_TOTP_SECRET);
    console.identity.set_totp_code("246810");
    let err = console
        .auth
        .finish_totp(&session, "111111")
        .await
        .unwrap_err();
    assert!(
        matches!(err, ConsoleAuthError::Identity(IdentityError::CodeMismatch)),
        "{err:?}"
    );
    assert!(
        !console.auth.totp_enabled(&session).await.unwrap(),
        "a refused code turned TOTP on"
    );
    console.auth.finish_totp(&session, "246810").await.unwrap();
    assert!(console.auth.totp_enabled(&session).await.unwrap());

    let next = console
        .auth
        .sign_in(EMAIL, &secret(PASSWORD))
        .await
        .unwrap();
    assert!(matches!(next, SignInOutcome::MfaRequired(_)), "{next:?}");
}

#[tokio::test]
async fn a_forgotten_password_never_tells_whether_the_user_exists() {
    let console = console();
    console.identity.add_user(EMAIL, PASSWORD);
    console
        .auth
        .forgot_password("nobody@example.com")
        .await
        .unwrap();
    console.auth.forgot_password(EMAIL).await.unwrap();
    let code = console.identity.reset_code(EMAIL).unwrap();

    let unknown = console
        .auth
        .confirm_forgot_password("nobody@example.com", &code, &secret("a new password"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            unknown,
            ConsoleAuthError::Identity(IdentityError::CodeMismatch)
        ),
        "{unknown:?}"
    );
    let wrong = console
        .auth
        .confirm_forgot_password(EMAIL, "000000", &secret("a new password"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            wrong,
            ConsoleAuthError::Identity(IdentityError::CodeMismatch)
        ),
        "{wrong:?}"
    );

    console
        .auth
        .confirm_forgot_password(EMAIL, &code, &secret("a new password"))
        .await
        .unwrap();
    assert!(console.identity.has_password(EMAIL, "a new password"));
}

#[tokio::test]
async fn a_table_outage_is_retryable() {
    let console = console();
    let new = console.signed_in().await;
    console.sessions.set_down(true);
    let refused = console.resume(&new).await.unwrap_err();
    assert!(refused.is_retryable(), "{refused:?}");
    let err = console.auth.sign_out(&new.id).await.unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
}
