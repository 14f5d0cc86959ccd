//! The posts API as the command line sees it (shared/src/api: `GET /accounts`,
//! `GET /posts/{id}`, `POST /posts`, `POST /accounts/connect-link`,
//! `GET /accounts/{open_id}/creator-info`). Requests to a deployed stack are SigV4-signed.

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::signer::{SignError, Signer};

/// A creator's posting settings, fresh from TikTok (the posts API's own view).
pub use tiktok_publish_core::api::creator::CreatorInfoView;

#[derive(Debug, Clone, Deserialize)]
pub struct AccountView {
    pub open_id: String,
    /// TikTok's display name (from user info), when known.
    #[serde(default)]
    pub nickname: Option<String>,
    /// The handle without `@` (when the account granted `user.info.profile`).
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub needs_reconnect: bool,
    pub reconnect_reason: Option<String>,
    #[serde(default)]
    pub missing_scopes: Vec<String>,
    /// It granted `video.upload` without `video.publish`: drafts only.
    #[serde(default)]
    pub drafts_only: bool,
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
    /// How much of a pull TikTok has downloaded (absent from older stacks).
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub downloaded_bytes: Option<u64>,
    pub publish_id: Option<String>,
    #[serde(default)]
    pub public_post_ids: Vec<String>,
    pub failure: Option<FailureView>,
    /// A photo post's images, in order (absent for a video, and from older stacks).
    #[serde(default)]
    pub images: Option<Vec<ImageView>>,
}

/// One image of a photo post.
#[derive(Debug, Clone, Deserialize)]
pub struct ImageView {
    pub key: String,
}

#[derive(Debug, Deserialize)]
struct ConnectLink {
    url: String,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

/// What API Gateway itself answers (IAM refusals, unknown routes, throttling).
#[derive(Debug, Deserialize)]
struct GatewayBody {
    message: String,
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
    #[error("{}", gateway_text(.status, .message))]
    Gateway { status: u16, message: String },
    #[error(transparent)]
    Sign(#[from] SignError),
}

fn gateway_text(status: &u16, message: &str) -> String {
    let advice = match *status {
        401 | 403 => {
            "the API refused your AWS identity: it needs execute-api:Invoke on this API (and \
             its clock must be right); check `aws sts get-caller-identity` and --stack"
        }
        404 => "this route is not in the deployed API: deploy the stack again (`sam deploy`)",
        429 => "the API is throttling requests: wait a moment and try again",
        _ => "try again shortly; if it persists, look at the stack's logs",
    };
    format!("API Gateway answered {status} ({message}): {advice}")
}

fn refused_text(status: &u16, code: &str, message: &str, field: &Option<String>) -> String {
    let advice = match (*status, code) {
        (404, "post_not_found") => {
            "no post with that id; `tiktok-publish post` prints a post's id when it creates it"
        }
        (404, "account_not_found") => {
            "`tiktok-publish accounts` lists the connected accounts; `tiktok-publish connect` connects one"
        }
        (404, "video_not_found") => "upload the video again (`tiktok-publish post FILE ...`)",
        (409, "account_needs_reconnect") => {
            "run `tiktok-publish connect` and open the link as that TikTok user"
        }
        (409, "creator_cannot_post") => "the creator cannot post now; see TikTok's reason above",
        (409, "post_exists") => {
            "upload it again as a new object version, or follow the existing post with `tiktok-publish status ID`"
        }
        // Retry refusals: the message says why a retry would fail the same way.
        (
            409,
            "post_not_retryable"
            | "post_refused"
            | "video_changed"
            | "retry_limit_reached"
            | "tiktok_refused_the_video"
            | "tiktok_refused_the_post",
        ) => "a retry cannot fix this; upload the video again once the cause is fixed",
        // TikTok forgot an upload that had every byte: the message says to check the profile.
        (409, "publish_outcome_unknown") => {
            "a retry could post the video twice; check the account's TikTok profile first"
        }
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
    /// Signs every request (a deployed stack); `None` for the local stack, which is open.
    signer: Option<Signer>,
}

impl Client {
    pub fn new(base: &str, signer: Option<Signer>) -> Client {
        Client {
            http: reqwest::Client::new(),
            base: base.trim_end_matches('/').to_string(),
            signer,
        }
    }

    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        url: &str,
    ) -> Result<T, ApiError> {
        let unreachable = |source| ApiError::Unreachable {
            url: url.to_string(),
            source,
        };
        let mut request = request.build().map_err(unreachable)?;
        if let Some(signer) = &self.signer {
            signer.sign(&mut request).await?;
        }
        let response =
            self.http
                .execute(request)
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

    /// `POST /posts` with `images`: a photo post of the images at `keys`, in order.
    pub async fn create_photo_post(
        &self,
        account: &str,
        keys: &[String],
        options: &serde_json::Value,
    ) -> Result<PostView, ApiError> {
        let url = format!("{}/posts", self.base);
        let body = serde_json::json!({ "account": account, "images": keys, "options": options });
        self.send(self.http.post(&url).json(&body), &url).await
    }

    /// The creator's posting settings, fresh from TikTok (the API spends one of the account's
    /// 20 creator_info calls a minute).
    pub async fn creator_info(&self, open_id: &str) -> Result<CreatorInfoView, ApiError> {
        let url = format!(
            "{}/accounts/{}/creator-info",
            self.base,
            encode_segment(open_id)
        );
        self.send(self.http.get(&url), &url).await
    }

    /// `POST /posts/{id}/retry`: the post queued again (or the reason it cannot be).
    pub async fn retry(&self, id: &str) -> Result<PostView, ApiError> {
        let url = format!("{}/posts/{}/retry", self.base, encode_segment(id));
        self.send(self.http.post(&url), &url).await
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
        Err(_) => match serde_json::from_slice::<GatewayBody>(body) {
            Ok(GatewayBody { message }) => Err(ApiError::Gateway { status, message }),
            Err(_) => Err(ApiError::Unexpected {
                status,
                detail: String::from_utf8_lossy(body).chars().take(200).collect(),
            }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_post_says_there_is_none_and_where_ids_come_from() {
        let body = br#"{"error":{"code":"post_not_found","message":"there is no post abc"}}"#;
        let text = decode::<PostView>(404, body).unwrap_err().to_string();
        assert!(
            text.contains("no post with that id") && text.contains("tiktok-publish post"),
            "{text}"
        );
        let body = br#"{"error":{"code":"account_needs_reconnect","message":"must reconnect"}}"#;
        let text = decode::<PostView>(409, body).unwrap_err().to_string();
        assert!(text.contains("tiktok-publish connect"), "{text}");
    }

    #[test]
    fn iam_refusals_from_api_gateway_say_which_permission() {
        let body = br#"{"message":"Forbidden"}"#;
        let err = decode::<PostView>(403, body).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("execute-api:Invoke") && text.contains("Forbidden"),
            "{text}"
        );
        assert!(matches!(err, ApiError::Gateway { status: 403, .. }));
    }

    #[test]
    fn creator_info_decodes_and_names_the_account() {
        let body = br#"{"open_id":"o","nickname":"Ann","username":"ann","avatar_url":"",
            "privacy_level_options":["SELF_ONLY"],"comment_disabled":true,"duet_disabled":false,
            "stitch_disabled":false,"max_video_post_duration_sec":600}"#;
        let info: CreatorInfoView = decode(200, body).unwrap();
        assert_eq!(info.display_name(), "Ann (@ann)");
        assert!(info.comment_disabled);
    }

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
    fn a_refused_retry_says_a_retry_cannot_fix_it() {
        let body = br#"{"error":{"code":"video_changed","message":"the video was replaced","state":"FAILED"}}"#;
        let text = decode::<PostView>(409, body).unwrap_err().to_string();
        assert!(
            text.contains("the video was replaced") && text.contains("a retry cannot fix this"),
            "{text}"
        );
    }

    #[test]
    fn id_cannot_escape_its_path_segment() {
        assert_eq!(encode_segment("../accounts"), "..%2Faccounts");
    }
}
