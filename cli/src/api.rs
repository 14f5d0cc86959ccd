//! The posts API as the command line sees it (shared/src/api: `GET /accounts`,
//! `GET /posts/{id}`, `POST /accounts/connect-link`).

use serde::Deserialize;
use serde::de::DeserializeOwned;

#[derive(Debug, Clone, Deserialize)]
pub struct AccountView {
    pub open_id: String,
    pub nickname: Option<String>,
    #[serde(default)]
    pub needs_reconnect: bool,
    pub reconnect_reason: Option<String>,
    #[serde(default)]
    pub missing_scopes: Vec<String>,
    pub refresh_expires_at: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Accounts {
    accounts: Vec<AccountView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ProgressView {
    pub chunks_done: u64,
    pub chunks_total: u64,
    pub bytes_done: u64,
    pub bytes_total: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FailureView {
    pub kind: String,
    pub reason: String,
    pub advice: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PostView {
    pub id: String,
    pub account: String,
    pub key: String,
    /// The state's wire name (kept as text so a new state never breaks the CLI).
    pub state: String,
    #[serde(rename = "final", default)]
    pub is_final: bool,
    pub publish_at: Option<String>,
    pub progress: Option<ProgressView>,
    pub publish_id: Option<String>,
    #[serde(default)]
    pub public_post_ids: Vec<String>,
    pub failure: Option<FailureView>,
}

#[derive(Debug, Deserialize)]
struct ConnectLink {
    url: String,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Debug, Deserialize)]
struct ErrorDetail {
    code: String,
    message: String,
    field: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(
        "cannot reach the posts API at {url}: {source}; is the local stack running (`scripts/local-stack up`)?"
    )]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{}", refused_text(.status, .code, .message, .field))]
    Refused {
        status: u16,
        code: String,
        message: String,
        field: Option<String>,
    },
    #[error(
        "the posts API answered {status} with a body the CLI does not understand ({detail}); is the CLI as new as the stack?"
    )]
    Unexpected { status: u16, detail: String },
}

fn refused_text(status: &u16, code: &str, message: &str, field: &Option<String>) -> String {
    let advice = match (*status, code) {
        (404, _) => {
            "check the id (`tiktok-publish post` prints a post's id, `tiktok-publish accounts` lists the accounts)"
        }
        (409, _) => {
            "the post or account is in a state that does not allow this; see `tiktok-publish status ID`"
        }
        (400 | 422, _) => "correct the value and try again",
        (429, _) => "wait a moment and try again",
        (s, _) if s >= 500 => "try again shortly; if it persists, look at the stack's logs",
        _ => "see the message",
    };
    match field {
        Some(field) => format!("{message} ({field}; {code}, HTTP {status}): {advice}"),
        None => format!("{message} ({code}, HTTP {status}): {advice}"),
    }
}

pub struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    pub fn new(base: &str) -> Client {
        Client {
            http: reqwest::Client::new(),
            base: base.trim_end_matches('/').to_string(),
        }
    }

    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        url: &str,
    ) -> Result<T, ApiError> {
        let response = request
            .send()
            .await
            .map_err(|source| ApiError::Unreachable {
                url: url.to_string(),
                source,
            })?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|source| ApiError::Unreachable {
                url: url.to_string(),
                source,
            })?;
        decode(status, &body)
    }

    pub async fn accounts(&self) -> Result<Vec<AccountView>, ApiError> {
        let url = format!("{}/accounts", self.base);
        let answer: Accounts = self.send(self.http.get(&url), &url).await?;
        Ok(answer.accounts)
    }

    pub async fn post(&self, id: &str) -> Result<PostView, ApiError> {
        let url = format!("{}/posts/{}", self.base, encode_segment(id));
        self.send(self.http.get(&url), &url).await
    }

    /// `POST /posts` for a video already in the bucket: the post comes back at once (the S3
    /// trigger claims the same post idempotently).
    pub async fn create_post(
        &self,
        account: &str,
        key: &str,
        options: &serde_json::Value,
    ) -> Result<PostView, ApiError> {
        let url = format!("{}/posts", self.base);
        let body = serde_json::json!({ "account": account, "key": key, "options": options });
        self.send(self.http.post(&url).json(&body), &url).await
    }

    pub async fn connect_link(&self) -> Result<String, ApiError> {
        let url = format!("{}/accounts/connect-link", self.base);
        let answer: ConnectLink = self.send(self.http.post(&url), &url).await?;
        Ok(answer.url)
    }
}

/// Percent-encodes everything but unreserved characters, so an id cannot change the route.
fn encode_segment(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A success body as `T`, an error body as [`ApiError::Refused`].
pub fn decode<T: DeserializeOwned>(status: u16, body: &[u8]) -> Result<T, ApiError> {
    if (200..300).contains(&status) {
        return serde_json::from_slice(body).map_err(|err| ApiError::Unexpected {
            status,
            detail: err.to_string(),
        });
    }
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(ErrorBody { error }) => Err(ApiError::Refused {
            status,
            code: error.code,
            message: error.message,
            field: error.field,
        }),
        Err(_) => Err(ApiError::Unexpected {
            status,
            detail: String::from_utf8_lossy(body).chars().take(200).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_becomes_message_with_advice() {
        let body = br#"{"error":{"code":"not_found","message":"no post abc"}}"#;
        let err = decode::<PostView>(404, body).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("no post abc") && text.contains("check the id"),
            "{text}"
        );
    }

    #[test]
    fn post_view_decodes_progress_and_failure() {
        let body = br#"{"id":"p1","account":"u1","bucket":"b","key":"uploads/u1/a.mp4",
            "state":"FAILED","final":true,"progress":{"chunks_done":1,"chunks_total":3,
            "bytes_done":10,"bytes_total":30},"public_post_ids":[],
            "failure":{"kind":"terminal","reason":"spam","advice":"wait a day"}}"#;
        let post: PostView = decode(200, body).unwrap();
        assert!(post.is_final);
        assert_eq!(post.progress.unwrap().chunks_total, 3);
        assert_eq!(post.failure.unwrap().advice.as_deref(), Some("wait a day"));
    }

    #[test]
    fn id_cannot_escape_its_path_segment() {
        assert_eq!(encode_segment("../accounts"), "..%2Faccounts");
    }
}
