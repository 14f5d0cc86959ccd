//! [`CognitoIdentity`]: the console's `IdentityProvider` on a Cognito user pool, through one
//! app client without a secret. Every operation it calls is one Cognito accepts unsigned
//! (`USER_PASSWORD_AUTH`, challenges, refresh, the access-token operations): the Lambda's
//! role needs no Cognito permission.
//!
//! Errors are typed from the SDK's error variants ([`errors`]): what each means depends on
//! the operation (a `NotAuthorizedException` is a wrong password at sign-in and a revoked
//! token at refresh).

use std::collections::HashMap;
use std::fmt;

use async_trait::async_trait;
use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::operation::initiate_auth::InitiateAuthOutput;
use aws_sdk_cognitoidentityprovider::operation::respond_to_auth_challenge::RespondToAuthChallengeOutput;
use aws_sdk_cognitoidentityprovider::types::{
    AuthFlowType, AuthenticationResultType, ChallengeNameType, SoftwareTokenMfaSettingsType,
    VerifySoftwareTokenResponseType,
};
use secrecy::{ExposeSecret, SecretString};

use tiktok_publish_core::console::{
    Challenge, CognitoTokens, IdentityError, IdentityProvider, SignInStep,
};

mod errors;

use errors::{Meaning, cognito_error};

/// `IdentityProvider` on a Cognito user pool's app client (no client secret).
#[derive(Clone)]
pub struct CognitoIdentity {
    client: Client,
    client_id: String,
}

impl fmt::Debug for CognitoIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CognitoIdentity")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl CognitoIdentity {
    /// `client_id` is the app client's id (a setting).
    pub fn new(client: Client, client_id: impl Into<String>) -> Self {
        CognitoIdentity {
            client,
            client_id: client_id.into(),
        }
    }
}

/// Where an answer with tokens or a challenge leads.
struct Answer<'a> {
    result: Option<&'a AuthenticationResultType>,
    challenge: Option<&'a ChallengeNameType>,
    session: Option<&'a str>,
    username: Option<&'a String>,
}

impl<'a> From<&'a InitiateAuthOutput> for Answer<'a> {
    fn from(out: &'a InitiateAuthOutput) -> Self {
        Answer {
            result: out.authentication_result(),
            challenge: out.challenge_name(),
            session: out.session(),
            username: out.challenge_parameters().and_then(challenge_username),
        }
    }
}

impl<'a> From<&'a RespondToAuthChallengeOutput> for Answer<'a> {
    fn from(out: &'a RespondToAuthChallengeOutput) -> Self {
        Answer {
            result: out.authentication_result(),
            challenge: out.challenge_name(),
            session: out.session(),
            username: out.challenge_parameters().and_then(challenge_username),
        }
    }
}

/// The user a challenge names. `USERNAME` when Cognito sets it (moto: the sub, for
/// NEW_PASSWORD_REQUIRED); AWS names the user of an MFA challenge `USER_ID_FOR_SRP`, and moto
/// names none there, so the caller falls back to the name it sent (Cognito takes an alias).
fn challenge_username(parameters: &HashMap<String, String>) -> Option<&String> {
    parameters
        .get("USERNAME")
        .or_else(|| parameters.get("USER_ID_FOR_SRP"))
}

fn misconfigured(detail: impl Into<String>) -> IdentityError {
    IdentityError::Misconfigured {
        detail: detail.into(),
    }
}

/// Tokens or a challenge; `sent_username` is the user name the request named.
fn step(answer: Answer<'_>, sent_username: &str) -> Result<SignInStep, IdentityError> {
    if let Some(result) = answer.result {
        return tokens(result).map(SignInStep::Tokens);
    }
    let Some(name) = answer.challenge else {
        return Err(misconfigured(
            "Cognito answered neither tokens nor a challenge",
        ));
    };
    let challenge = || -> Result<Challenge, IdentityError> {
        Ok(Challenge {
            username: answer
                .username
                .cloned()
                .unwrap_or_else(|| sent_username.to_owned()),
            session: answer
                .session
                .map(|s| SecretString::from(s.to_owned()))
                .ok_or_else(|| misconfigured("the challenge has no session"))?,
        })
    };
    match name {
        ChallengeNameType::NewPasswordRequired => Ok(SignInStep::NewPasswordRequired(challenge()?)),
        ChallengeNameType::SoftwareTokenMfa => Ok(SignInStep::SoftwareTokenMfa(challenge()?)),
        // MFA_SETUP (a pool whose MFA is required), SMS or e-mail codes: the console's pool
        // is set up for none of them.
        other => Err(misconfigured(format!(
            "Cognito set the challenge {}, which the console does not answer",
            other.as_str()
        ))),
    }
}

fn tokens(result: &AuthenticationResultType) -> Result<CognitoTokens, IdentityError> {
    let secret = |value: Option<&str>, name: &str| {
        value
            .map(|v| SecretString::from(v.to_owned()))
            .ok_or_else(|| misconfigured(format!("Cognito's answer has no {name}")))
    };
    Ok(CognitoTokens {
        access_token: secret(result.access_token(), "access token")?,
        id_token: secret(result.id_token(), "ID token")?,
        refresh_token: result
            .refresh_token()
            .map(|v| SecretString::from(v.to_owned())),
        expires_in: u64::try_from(result.expires_in()).unwrap_or(0),
    })
}

#[async_trait]
impl IdentityProvider for CognitoIdentity {
    async fn sign_in(
        &self,
        email: &str,
        password: &SecretString,
    ) -> Result<SignInStep, IdentityError> {
        let out = self
            .client
            .initiate_auth()
            .client_id(&self.client_id)
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .auth_parameters("USERNAME", email)
            .auth_parameters("PASSWORD", password.expose_secret())
            .send()
            .await
            .map_err(|e| cognito_error(e, Meaning::SignIn))?;
        step(Answer::from(&out), email)
    }

    async fn answer_new_password(
        &self,
        challenge: &Challenge,
        new_password: &SecretString,
    ) -> Result<SignInStep, IdentityError> {
        let out = self
            .client
            .respond_to_auth_challenge()
            .client_id(&self.client_id)
            .challenge_name(ChallengeNameType::NewPasswordRequired)
            .session(challenge.session.expose_secret())
            .challenge_responses("USERNAME", &challenge.username)
            .challenge_responses("NEW_PASSWORD", new_password.expose_secret())
            .send()
            .await
            .map_err(|e| cognito_error(e, Meaning::Challenge))?;
        step(Answer::from(&out), &challenge.username)
    }

    async fn answer_mfa(
        &self,
        challenge: &Challenge,
        code: &str,
    ) -> Result<SignInStep, IdentityError> {
        let out = self
            .client
            .respond_to_auth_challenge()
            .client_id(&self.client_id)
            .challenge_name(ChallengeNameType::SoftwareTokenMfa)
            .session(challenge.session.expose_secret())
            .challenge_responses("USERNAME", &challenge.username)
            .challenge_responses("SOFTWARE_TOKEN_MFA_CODE", code)
            .send()
            .await
            .map_err(|e| cognito_error(e, Meaning::Challenge))?;
        step(Answer::from(&out), &challenge.username)
    }

    async fn refresh(&self, refresh_token: &SecretString) -> Result<CognitoTokens, IdentityError> {
        let out = self
            .client
            .initiate_auth()
            .client_id(&self.client_id)
            .auth_flow(AuthFlowType::RefreshTokenAuth)
            .auth_parameters("REFRESH_TOKEN", refresh_token.expose_secret())
            .send()
            .await
            .map_err(|e| cognito_error(e, Meaning::Token))?;
        let result = out
            .authentication_result()
            .ok_or_else(|| misconfigured("the refresh answered no tokens"))?;
        tokens(result)
    }

    async fn global_sign_out(&self, access_token: &SecretString) -> Result<(), IdentityError> {
        self.client
            .global_sign_out()
            .access_token(access_token.expose_secret())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| cognito_error(e, Meaning::Token))
    }

    async fn forgot_password(&self, email: &str) -> Result<(), IdentityError> {
        self.client
            .forgot_password()
            .client_id(&self.client_id)
            .username(email)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| cognito_error(e, Meaning::Recovery))
    }

    async fn confirm_forgot_password(
        &self,
        email: &str,
        code: &str,
        new_password: &SecretString,
    ) -> Result<(), IdentityError> {
        self.client
            .confirm_forgot_password()
            .client_id(&self.client_id)
            .username(email)
            .confirmation_code(code)
            .password(new_password.expose_secret())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| cognito_error(e, Meaning::Recovery))
    }

    async fn associate_totp(
        &self,
        access_token: &SecretString,
    ) -> Result<SecretString, IdentityError> {
        let out = self
            .client
            .associate_software_token()
            .access_token(access_token.expose_secret())
            .send()
            .await
            .map_err(|e| cognito_error(e, Meaning::Token))?;
        out.secret_code()
            .map(|s| SecretString::from(s.to_owned()))
            .ok_or_else(|| misconfigured("AssociateSoftwareToken answered no secret"))
    }

    async fn verify_totp(
        &self,
        access_token: &SecretString,
        code: &str,
    ) -> Result<(), IdentityError> {
        let out = self
            .client
            .verify_software_token()
            .access_token(access_token.expose_secret())
            .user_code(code)
            .send()
            .await
            .map_err(|e| cognito_error(e, Meaning::Token))?;
        match out.status() {
            Some(VerifySoftwareTokenResponseType::Success) => Ok(()),
            _ => Err(IdentityError::CodeMismatch),
        }
    }

    async fn prefer_totp(&self, access_token: &SecretString) -> Result<(), IdentityError> {
        let totp = SoftwareTokenMfaSettingsType::builder()
            .enabled(true)
            .preferred_mfa(true)
            .build();
        self.client
            .set_user_mfa_preference()
            .access_token(access_token.expose_secret())
            .software_token_mfa_settings(totp)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| cognito_error(e, Meaning::Token))
    }

    async fn totp_enabled(&self, access_token: &SecretString) -> Result<bool, IdentityError> {
        let out = self
            .client
            .get_user()
            .access_token(access_token.expose_secret())
            .send()
            .await
            .map_err(|e| cognito_error(e, Meaning::Token))?;
        Ok(out
            .user_mfa_setting_list()
            .iter()
            .any(|factor| factor == "SOFTWARE_TOKEN_MFA"))
    }
}
