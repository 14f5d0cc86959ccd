//! The local stack the browser tests run in: the env variables `scripts/local-stack run`
//! exports, the posts API (`POST /accounts/connect-link`, `GET /accounts`) and the fake
//! TikTok's control API (`/__fake/...`).

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::RUN_COMMAND;

/// The fake TikTok's login cookie (`LOGIN_COOKIE` in tests/fake-tiktok/src/api.rs): the
/// account it names is the one "logged in" at the fake's authorize page.
pub const FAKE_LOGIN_COOKIE: &str = "fake_tiktok_login";

/// Why the stack could not be used. Each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error(
        "no local stack: LOCAL_STACK_ENV is not set. These tests drive a real browser through \
         the whole local stack; run them inside one: {RUN_COMMAND}"
    )]
    NoStack,
    #[error(
        "{name} is not set although LOCAL_STACK_ENV is ({env_file}): the stack's env file is \
         incomplete or stale; start a fresh stack: {RUN_COMMAND}"
    )]
    MissingVariable {
        name: &'static str,
        env_file: String,
    },
    #[error(
        "FAKE_TIKTOK_URL is empty: this stack talks to an external TikTok, and the browser \
         tests need the project's fake (unset TIKTOK_API_BASE_URL and TIKTOK_AUTH_BASE_URL)"
    )]
    NoFake,
    #[error("{what} did not answer ({source}); is the local stack still running?")]
    Unreachable {
        what: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{what} answered HTTP {status}: {body}")]
    Refused {
        what: String,
        status: u16,
        body: String,
    },
    #[error("{what} answered something unexpected ({reason}); compare it with the API's docs")]
    Unexpected { what: String, reason: String },
}

/// A running local stack.
#[derive(Debug, Clone)]
pub struct Stack {
    /// `LOCAL_API_URL`: the HTTP API (posts-api, oauth-start, oauth-callback).
    api_url: String,
    /// `FAKE_TIKTOK_URL`: the fake's API, authorize page and control API.
    fake_url: String,
    http: reqwest::Client,
}

/// A single-use connect link (a bearer credential until used): `Debug` redacts it.
pub struct ConnectLink(String);

impl ConnectLink {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ConnectLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ConnectLink([redacted])")
    }
}

/// One entry of `GET /accounts` (the fields these tests look at).
#[derive(Debug, Clone, Deserialize)]
pub struct ConnectedAccount {
    pub open_id: String,
    pub needs_reconnect: bool,
    pub scopes: Vec<String>,
}

/// What the fake knows of one of its accounts (`GET /__fake/accounts/{open_id}`). Only
/// whether tokens were handed out matters here, never their values.
#[derive(Debug, Clone)]
pub struct FakeAccount {
    pub open_id: String,
    pub nickname: String,
    /// TikTok handed this account's tokens to the app (a code was exchanged).
    pub has_tokens: bool,
}

impl Stack {
    /// The stack `scripts/local-stack run` exported; fails, saying how to run the tests,
    /// outside one.
    pub fn from_env() -> Result<Stack, StackError> {
        let env_file = std::env::var("LOCAL_STACK_ENV")
            .ok()
            .filter(|v| !v.is_empty())
            .ok_or(StackError::NoStack)?;
        let variable = |name: &'static str| {
            std::env::var(name)
                .map_err(|_| StackError::MissingVariable {
                    name,
                    env_file: env_file.clone(),
                })
                .map(|v| v.trim_end_matches('/').to_owned())
        };
        let api_url = variable("LOCAL_API_URL")?;
        let fake_url = variable("FAKE_TIKTOK_URL")?;
        if fake_url.is_empty() {
            return Err(StackError::NoFake);
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            // Every call here is to loopback; a proxy from the environment would only break it.
            .no_proxy()
            .build()
            .map_err(|source| StackError::Unreachable {
                what: "the HTTP client".to_owned(),
                source,
            })?;
        Ok(Stack {
            api_url,
            fake_url,
            http,
        })
    }

    pub fn api_url(&self) -> &str {
        &self.api_url
    }

    pub fn fake_url(&self) -> &str {
        &self.fake_url
    }

    /// Creates a creator account at the fake (`POST /__fake/accounts`); returns its open_id.
    pub async fn seed_fake_account(
        &self,
        open_id: &str,
        nickname: &str,
    ) -> Result<String, StackError> {
        self.seed_fake_creator(json!({ "open_id": open_id, "nickname": nickname }))
            .await
    }

    /// Seeds a creator at the fake from a whole seed (tests/fake-tiktok's `AccountSeed`:
    /// its posting settings too); answers its open_id.
    pub async fn seed_fake_creator(&self, seed: Value) -> Result<String, StackError> {
        #[derive(Deserialize)]
        struct Seeded {
            open_id: String,
        }
        let what = "the fake's POST /__fake/accounts";
        let request = self
            .http
            .post(format!("{}/__fake/accounts", self.fake_url))
            .json(&seed);
        let seeded: Seeded = send(what, request).await?;
        Ok(seeded.open_id)
    }

    /// Makes the fake answer `open_id`'s requests as `fault` says (`POST /__fake/faults`
    /// with tests/fake-tiktok's `Fault`, wrapped to fire for that account only).
    pub async fn inject_fault_for(&self, open_id: &str, fault: Value) -> Result<(), StackError> {
        let what = "the fake's POST /__fake/faults";
        let fault = json!({"type": "ForAccount", "open_id": open_id, "fault": fault});
        let request = self
            .http
            .post(format!("{}/__fake/faults", self.fake_url))
            .json(&fault);
        let response = deliver(what, request).await?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        Err(StackError::Refused {
            what: what.to_owned(),
            status: status.as_u16(),
            body: shorten(&response.text().await.unwrap_or_default()),
        })
    }

    /// What the fake knows of an account, or `None` if it has no such account.
    pub async fn fake_account(&self, open_id: &str) -> Result<Option<FakeAccount>, StackError> {
        #[derive(Deserialize)]
        struct Snapshot {
            open_id: String,
            nickname: String,
            access_token: Option<String>,
            refresh_token: Option<String>,
        }
        let what = "the fake's GET /__fake/accounts/{open_id}";
        let mut url = url::Url::parse(&self.fake_url).map_err(|e| StackError::Unexpected {
            what: "FAKE_TIKTOK_URL".to_owned(),
            reason: e.to_string(),
        })?;
        url.path_segments_mut()
            .map_err(|()| StackError::Unexpected {
                what: "FAKE_TIKTOK_URL".to_owned(),
                reason: "not a base URL".to_owned(),
            })?
            .pop_if_empty()
            .extend(["__fake", "accounts", open_id]);
        let response = deliver(what, self.http.get(url)).await?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let snapshot: Snapshot = parse(what, response).await?;
        Ok(Some(FakeAccount {
            open_id: snapshot.open_id,
            nickname: snapshot.nickname,
            has_tokens: snapshot.access_token.is_some() || snapshot.refresh_token.is_some(),
        }))
    }

    /// Every protocol violation the fake recorded so far (`GET /__fake/violations`).
    pub async fn fake_violations(&self) -> Result<Vec<Value>, StackError> {
        let what = "the fake's GET /__fake/violations";
        send(
            what,
            self.http
                .get(format!("{}/__fake/violations", self.fake_url)),
        )
        .await
    }

    /// A fresh connect link from the posts API (`POST /accounts/connect-link`).
    pub async fn connect_link(&self) -> Result<ConnectLink, StackError> {
        #[derive(Deserialize)]
        struct Issued {
            url: String,
        }
        let what = "POST /accounts/connect-link";
        let request = self
            .http
            .post(format!("{}/accounts/connect-link", self.api_url))
            .json(&json!({}));
        let issued: Issued = send(what, request).await?;
        Ok(ConnectLink(issued.url))
    }

    /// The connected accounts (`GET /accounts`).
    pub async fn connected_accounts(&self) -> Result<Vec<ConnectedAccount>, StackError> {
        #[derive(Deserialize)]
        struct Listing {
            accounts: Vec<ConnectedAccount>,
        }
        let what = "GET /accounts";
        let listing: Listing =
            send(what, self.http.get(format!("{}/accounts", self.api_url))).await?;
        Ok(listing.accounts)
    }
}

async fn send<T: DeserializeOwned>(
    what: &str,
    request: reqwest::RequestBuilder,
) -> Result<T, StackError> {
    parse(what, deliver(what, request).await?).await
}

/// Sends `request`; any answer is the caller's to read.
async fn deliver(
    what: &str,
    request: reqwest::RequestBuilder,
) -> Result<reqwest::Response, StackError> {
    request
        .send()
        .await
        .map_err(|source| StackError::Unreachable {
            what: what.to_owned(),
            source,
        })
}

async fn parse<T: DeserializeOwned>(
    what: &str,
    response: reqwest::Response,
) -> Result<T, StackError> {
    let status = response.status();
    let body = response
        .text()
        .await
        .map_err(|source| StackError::Unreachable {
            what: what.to_owned(),
            source,
        })?;
    if !status.is_success() {
        return Err(StackError::Refused {
            what: what.to_owned(),
            status: status.as_u16(),
            body: shorten(&body),
        });
    }
    serde_json::from_str(&body).map_err(|e| StackError::Unexpected {
        what: what.to_owned(),
        reason: format!("{e}; body {}", shorten(&body)),
    })
}

fn shorten(text: &str) -> String {
    const LIMIT: usize = 500;
    match text.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_links_are_redacted_in_debug() {
        let link = ConnectLink("http://127.0.0.1:1/oauth/start?link=secret".to_owned());
        assert!(!format!("{link:?}").contains("secret"));
        assert!(link.expose().ends_with("link=secret"));
    }

    #[test]
    fn long_bodies_are_shortened_on_a_char_boundary() {
        let body = "é".repeat(600);
        let short = shorten(&body);
        assert_eq!(short.chars().count(), 503);
        assert_eq!(shorten("short"), "short");
    }
}
