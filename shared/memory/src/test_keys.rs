//! Two fixed RSA keys for signing test JWTs as Cognito would, and [`MemoryJwks`], the
//! `JwksSource` that publishes them.
//!
//! The keys were made once with `openssl genrsa 2048` and are committed under `keys/`
//! (PKCS#1 DER in base64, and the modulus as base64url): they sign nothing but tests.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse,
    RSAKeyParameters, RSAKeyType,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};

use tiktok_publish_core::console::{JwksError, JwksSource};

use crate::lock;

/// One of the two committed test keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestSigningKey {
    First,
    Second,
}

impl TestSigningKey {
    /// The `kid` it is published under.
    pub fn kid(self) -> &'static str {
        match self {
            TestSigningKey::First => "test-key-1",
            TestSigningKey::Second => "test-key-2",
        }
    }

    fn private_der_base64(self) -> &'static str {
        match self {
            TestSigningKey::First => include_str!("keys/first.pkcs1.der.b64"),
            TestSigningKey::Second => include_str!("keys/second.pkcs1.der.b64"),
        }
    }

    fn modulus(self) -> &'static str {
        match self {
            TestSigningKey::First => include_str!("keys/first.n.b64url"),
            TestSigningKey::Second => include_str!("keys/second.n.b64url"),
        }
    }

    /// The public key as the pool's JWKS lists it (RS256, `use` sig).
    pub fn jwk(self) -> Jwk {
        self.jwk_as(self.kid())
    }

    /// The public key listed under another `kid` (a key published under a wrong name).
    pub fn jwk_as(self, kid: &str) -> Jwk {
        Jwk {
            common: CommonParameters {
                public_key_use: Some(PublicKeyUse::Signature),
                key_algorithm: Some(KeyAlgorithm::RS256),
                key_id: Some(kid.to_owned()),
                ..CommonParameters::default()
            },
            algorithm: AlgorithmParameters::RSA(RSAKeyParameters {
                key_type: RSAKeyType::RSA,
                n: self.modulus().trim().to_owned(),
                e: "AQAB".to_owned(),
            }),
        }
    }

    /// `claims` signed with RS256, the header naming this key's `kid`.
    pub fn sign(self, claims: &serde_json::Value) -> String {
        self.sign_as(self.kid(), claims)
    }

    /// `claims` signed with this key, the header naming `kid` (which may be another's).
    pub fn sign_as(self, kid: &str, claims: &serde_json::Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.to_owned());
        // The committed keys are fixed test data: a failure here is a broken checkout.
        let der = STANDARD
            .decode(self.private_der_base64().trim())
            .expect("the committed test key is base64");
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_rsa_der(&der))
            .expect("the committed test key signs")
    }
}

/// A `JwksSource` in memory: the keys the test publishes, a count of fetches, and an
/// outage the test can switch on.
#[derive(Debug)]
pub struct MemoryJwks {
    keys: Mutex<JwkSet>,
    fetches: AtomicUsize,
    down: AtomicBool,
}

impl MemoryJwks {
    /// Publishes `keys`.
    pub fn new(keys: &[TestSigningKey]) -> Self {
        MemoryJwks {
            keys: Mutex::new(JwkSet {
                keys: keys.iter().map(|k| k.jwk()).collect(),
            }),
            fetches: AtomicUsize::new(0),
            down: AtomicBool::new(false),
        }
    }

    /// Publishes these keys from now on (a rotation).
    pub fn publish(&self, keys: Vec<Jwk>) {
        lock(&self.keys).keys = keys;
    }

    /// How many times the keys were fetched.
    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    /// While `down`, every fetch fails as unavailable.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }
}

#[async_trait]
impl JwksSource for MemoryJwks {
    async fn fetch(&self) -> Result<JwkSet, JwksError> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) {
            return Err(JwksError::Unavailable {
                detail: "the test switched the JWKS off".into(),
            });
        }
        Ok(lock(&self.keys).clone())
    }
}
