//! `AccessTokenVerifier` on tokens signed with the committed test keys: each check of
//! AWS's list refuses what it should, expiry follows the injected clock, and the JWKS is
//! fetched once and again only for an unknown key.

use std::sync::Arc;

use secrecy::SecretString;
use serde_json::{Value, json};

use tiktok_publish_core::console::{
    AccessTokenSettings, AccessTokenVerifier, AuthErrorKind, InvalidToken, VerifyError,
};
use tiktok_publish_memory::{MemoryJwks, TestSigningKey};

use super::{CLIENT, ManualClock, NOW, POOL, REGION};

fn issuer() -> String {
    format!("https://cognito-idp.{REGION}.amazonaws.com/{POOL}")
}

fn access_claims() -> Value {
    json!({
        "sub": "user-sub", "username": "user-sub", "client_id": CLIENT, "token_use": "access",
        "iss": issuer(), "iat": NOW, "exp": NOW + 3600, "jti": "j",
        "scope": "aws.cognito.signin.user.admin",
    })
}

fn with(mut claims: Value, field: &str, value: Value) -> Value {
    claims[field] = value;
    claims
}

fn verifier(jwks: &Arc<MemoryJwks>) -> (AccessTokenVerifier, Arc<ManualClock>) {
    let clock = ManualClock::at(NOW);
    let verifier = AccessTokenVerifier::new(
        AccessTokenSettings::for_pool(REGION, POOL, CLIENT),
        jwks.clone(),
        clock.clone(),
    );
    (verifier, clock)
}

fn token(value: String) -> SecretString {
    SecretString::from(value)
}

async fn refusal(verifier: &AccessTokenVerifier, value: String) -> InvalidToken {
    match verifier.verify(&token(value)).await {
        Err(VerifyError::Invalid(reason)) => reason,
        other => panic!("not refused as invalid: {other:?}"),
    }
}

#[tokio::test]
async fn a_genuine_access_token_says_who_and_until_when() {
    let jwks = Arc::new(MemoryJwks::new(&[TestSigningKey::First]));
    let (verifier, _) = verifier(&jwks);
    let access = verifier
        .verify(&token(TestSigningKey::First.sign(&access_claims())))
        .await
        .unwrap();
    assert_eq!(access.sub, "user-sub");
    assert_eq!(access.username, "user-sub");
    assert_eq!(access.expires_at, NOW + 3600);
}

#[tokio::test]
async fn expiry_is_strict_and_follows_the_injected_clock() {
    let jwks = Arc::new(MemoryJwks::new(&[TestSigningKey::First]));
    let (verifier, clock) = verifier(&jwks);
    let value = TestSigningKey::First.sign(&access_claims());
    clock.advance(3599);
    verifier.verify(&token(value.clone())).await.unwrap();
    clock.advance(1);
    let err = verifier.verify(&token(value)).await.unwrap_err();
    assert!(matches!(err, VerifyError::Expired), "{err:?}");
    assert_eq!(err.kind(), AuthErrorKind::SignInAgain);
}

#[tokio::test]
async fn every_check_refuses_what_it_should() {
    let jwks = Arc::new(MemoryJwks::new(&[TestSigningKey::First]));
    let (verifier, _) = verifier(&jwks);
    let first = TestSigningKey::First;
    let cases = [
        (
            first.sign(&with(
                access_claims(),
                "iss",
                json!("https://cognito-idp.eu-west-1.amazonaws.com/other"),
            )),
            InvalidToken::WrongIssuer,
        ),
        (
            first.sign(&with(access_claims(), "client_id", json!("another-client"))),
            InvalidToken::WrongClient,
        ),
        (
            first.sign(&with(access_claims(), "token_use", json!("id"))),
            InvalidToken::NotAnAccessToken,
        ),
        // The second key's signature under the first key's name.
        (
            TestSigningKey::Second.sign_as(first.kid(), &access_claims()),
            InvalidToken::BadSignature,
        ),
        (
            first.sign(&json!({"sub": "x", "iss": issuer()})),
            InvalidToken::Malformed,
        ),
        ("not.a.jwt".to_owned(), InvalidToken::Malformed),
        (String::new(), InvalidToken::Malformed),
    ];
    for (value, expected) in cases {
        assert_eq!(refusal(&verifier, value).await, expected);
    }

    // A token whose signature part was swapped for another's.
    let genuine = first.sign(&access_claims());
    let other = first.sign(&with(access_claims(), "sub", json!("someone-else")));
    let (head, _) = other.rsplit_once('.').unwrap();
    let (_, signature) = genuine.rsplit_once('.').unwrap();
    assert_eq!(
        refusal(&verifier, format!("{head}.{signature}")).await,
        InvalidToken::BadSignature
    );
}

#[tokio::test]
async fn a_token_not_signed_with_rs256_is_refused() {
    let jwks = Arc::new(MemoryJwks::new(&[TestSigningKey::First]));
    let (verifier, _) = verifier(&jwks);
    // HS256 keyed with the public modulus: the classic confusion attack.
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some(TestSigningKey::First.kid().to_owned());
    let hs = jsonwebtoken::encode(
        &header,
        &access_claims(),
        &jsonwebtoken::EncodingKey::from_secret(b"public modulus").unwrap(),
    )
    .unwrap();
    assert_eq!(refusal(&verifier, hs).await, InvalidToken::WrongAlgorithm);
    // `alg: none` is not even a header jsonwebtoken reads.
    let none = format!(
        "{}.{}.",
        base64_url(r#"{"alg":"none","kid":"test-key-1"}"#),
        base64_url(&access_claims().to_string())
    );
    assert_eq!(refusal(&verifier, none).await, InvalidToken::Malformed);
    assert_eq!(jwks.fetches(), 0);
}

fn base64_url(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

#[tokio::test]
async fn the_keys_are_fetched_once_and_again_only_for_an_unknown_kid() {
    let jwks = Arc::new(MemoryJwks::new(&[TestSigningKey::First]));
    let (verifier, _) = verifier(&jwks);
    let first = token(TestSigningKey::First.sign(&access_claims()));
    for _ in 0..3 {
        verifier.verify(&first).await.unwrap();
    }
    assert_eq!(jwks.fetches(), 1);

    // An unknown kid: one fetch more, then refused.
    let stranger = TestSigningKey::Second.sign_as("not-published", &access_claims());
    assert_eq!(refusal(&verifier, stranger).await, InvalidToken::UnknownKey);
    assert_eq!(jwks.fetches(), 2);

    // A rotation: the second key appears, and the refetch finds it.
    jwks.publish(vec![
        TestSigningKey::First.jwk(),
        TestSigningKey::Second.jwk(),
    ]);
    verifier
        .verify(&token(TestSigningKey::Second.sign(&access_claims())))
        .await
        .unwrap();
    assert_eq!(jwks.fetches(), 3);
    verifier.verify(&first).await.unwrap();
    assert_eq!(jwks.fetches(), 3);
}

#[tokio::test]
async fn an_unreachable_jwks_is_retryable() {
    let jwks = Arc::new(MemoryJwks::new(&[TestSigningKey::First]));
    jwks.set_down(true);
    let (verifier, _) = verifier(&jwks);
    let err = verifier
        .verify(&token(TestSigningKey::First.sign(&access_claims())))
        .await
        .unwrap_err();
    assert!(matches!(err, VerifyError::JwksUnavailable(_)), "{err:?}");
    assert!(err.is_retryable());
    jwks.set_down(false);
    verifier
        .verify(&token(TestSigningKey::First.sign(&access_claims())))
        .await
        .unwrap();
}

#[tokio::test]
async fn an_id_token_must_name_our_client_as_audience() {
    let jwks = Arc::new(MemoryJwks::new(&[TestSigningKey::First]));
    let (verifier, _) = verifier(&jwks);
    let id_claims = json!({
        "sub": "user-sub", "aud": CLIENT, "token_use": "id", "iss": issuer(),
        "exp": NOW + 3600, "email": "owner@example.com",
    });
    let id = verifier
        .verify_id(&token(TestSigningKey::First.sign(&id_claims)))
        .await
        .unwrap();
    assert_eq!(id.email, "owner@example.com");
    let err = verifier
        .verify_id(&token(TestSigningKey::First.sign(&with(
            id_claims,
            "aud",
            json!("another-client"),
        ))))
        .await
        .unwrap_err();
    assert!(
        matches!(err, VerifyError::Invalid(InvalidToken::WrongClient)),
        "{err:?}"
    );
    // An access token is no ID token.
    let err = verifier
        .verify_id(&token(TestSigningKey::First.sign(&access_claims())))
        .await
        .unwrap_err();
    assert!(matches!(err, VerifyError::Invalid(_)), "{err:?}");
}
