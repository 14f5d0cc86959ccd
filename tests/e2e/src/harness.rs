use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail, ensure};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};
use tiktok_publish_testkit::video::{mp4_header, pseudo_random_bytes, write_video};
use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// How to run the suite, said by every test that finds no stack.
pub const HOW_TO_RUN: &str = "the end-to-end suite needs a running local stack: run it as \
     `scripts/local-stack run -- cargo test -p e2e --features local-stack-tests --test e2e` \
     (add LOCAL_STACK_SKIP_BUILD=1 after a `cargo build --workspace --bins`)";

/// The login cookie of the fake's authorize page (tests/fake-tiktok/src/api.rs): it picks
/// which seeded creator "is logged in" at TikTok.
pub const FAKE_LOGIN_COOKIE: &str = "fake_tiktok_login";

/// Post states after which nothing moves any more.
pub const FINAL_STATES: [&str; 5] = [
    "PUBLISHED",
    "SENT_TO_INBOX",
    "REFUSED",
    "FAILED",
    "CANCELLED",
];

/// Tests hold this shared while they run; a test that disturbs the whole stack (killing a
/// function process fails every invocation that function is serving or has queued) holds it
/// alone.
static STACK_USE: RwLock<()> = RwLock::const_new(());

/// The running local stack, as its env file describes it. Build one per test: its clients
/// belong to the test's Tokio runtime.
pub struct Stack {
    env: BTreeMap<String, String>,
    pub run_id: String,
    pub api: String,
    pub fake: String,
    pub bucket: String,
    pub upload_prefix: String,
    pub posts_table: String,
    pub accounts_table: String,
    pub s3: aws_sdk_s3::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// The AWS configuration of the stack (moto's endpoint, region, dummy credentials), for
    /// the clients a test needs beyond these.
    pub sdk: aws_config::SdkConfig,
    /// Follows no redirects: the OAuth hops are checked one by one.
    pub http: reqwest::Client,
}

/// Parses the env file `scripts/local-stack` writes: `KEY=VALUE` lines, `#` comments,
/// values possibly single- or double-quoted.
pub fn parse_env_file(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| {
            let value = value.trim();
            let unquoted = ['\'', '"']
                .iter()
                .find_map(|q| value.strip_prefix(*q).and_then(|v| v.strip_suffix(*q)))
                .unwrap_or(value);
            (key.trim().to_owned(), unquoted.to_owned())
        })
        .collect()
}

impl Stack {
    /// Reads the env file named by `LOCAL_STACK_ENV` (set by `scripts/local-stack run`) and
    /// builds the clients. Fails, saying how to run the suite, without a stack.
    pub async fn connect() -> anyhow::Result<Stack> {
        let path = std::env::var("LOCAL_STACK_ENV").map_err(|_| anyhow!("{HOW_TO_RUN}"))?;
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading the env file {path} ({HOW_TO_RUN})"))?;
        let env = parse_env_file(&text);
        let get = |name: &str| -> anyhow::Result<String> {
            env.get(name)
                .filter(|v| !v.is_empty())
                .cloned()
                .with_context(|| format!("{path} has no {name}: is it a local stack's env file?"))
        };
        let fake = get("FAKE_TIKTOK_URL").context(
            "the suite needs the fake TikTok's control API: run the stack without \
             TIKTOK_API_BASE_URL/TIKTOK_AUTH_BASE_URL",
        )?;
        let endpoint = get("AWS_ENDPOINT_URL")?;
        let region = get("AWS_REGION")?;
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(region))
            .endpoint_url(&endpoint)
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                get("AWS_ACCESS_KEY_ID")?,
                get("AWS_SECRET_ACCESS_KEY")?,
                None,
                None,
                "local-stack-env-file",
            ))
            .load()
            .await;
        // Path-style: `bucket.127.0.0.1` does not resolve.
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&sdk)
                .force_path_style(true)
                .build(),
        );
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(120))
            .build()
            .context("building the HTTP client")?;
        Ok(Stack {
            run_id: get("LOCAL_STACK_RUN")?,
            api: get("LOCAL_API_URL")?,
            bucket: get("VIDEO_BUCKET")?,
            upload_prefix: get("UPLOAD_PREFIX")?,
            posts_table: get("POSTS_TABLE")?,
            accounts_table: get("ACCOUNTS_TABLE")?,
            dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
            sdk,
            s3,
            http,
            fake,
            env,
        })
    }

    /// A value of the env file.
    pub fn env(&self, name: &str) -> Option<&str> {
        self.env.get(name).map(String::as_str)
    }

    // ------------------------------------------------------------ the fake's control API

    async fn json_of(response: reqwest::Response, what: &str) -> anyhow::Result<Value> {
        let status = response.status();
        let body = response
            .text()
            .await
            .with_context(|| format!("{what}: reading the answer"))?;
        ensure!(status.is_success(), "{what} answered {status}: {body}");
        if body.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&body).with_context(|| format!("{what} answered non-JSON: {body}"))
    }

    pub async fn fake_get(&self, path: &str) -> anyhow::Result<Value> {
        let response = self
            .http
            .get(format!("{}{path}", self.fake))
            .send()
            .await
            .with_context(|| format!("GET fake {path}"))?;
        Self::json_of(response, &format!("GET fake {path}")).await
    }

    pub async fn fake_post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let response = self
            .http
            .post(format!("{}{path}", self.fake))
            .json(body)
            .send()
            .await
            .with_context(|| format!("POST fake {path}"))?;
        Self::json_of(response, &format!("POST fake {path}")).await
    }

    /// Creates a creator at the fake (an `AccountSeed`: privacy_level_options,
    /// comment_disabled, max_video_post_duration_sec, ...); returns its open_id.
    pub async fn seed_creator(&self, seed: &Value) -> anyhow::Result<String> {
        let answer = self.fake_post("/__fake/accounts", seed).await?;
        answer["open_id"]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("the fake seeded no open_id: {answer}"))
    }

    /// A fault as the fake's control API takes it (`{"type": "HttpError", ...}`).
    pub async fn inject(&self, fault: &Value) -> anyhow::Result<()> {
        self.fake_post("/__fake/faults", fault).await.map(drop)
    }

    /// `fault`, firing only on `open_id`'s requests.
    pub async fn inject_for(&self, open_id: &str, fault: Value) -> anyhow::Result<()> {
        self.inject(&json!({"type": "ForAccount", "open_id": open_id, "fault": fault}))
            .await
    }

    pub async fn violations(&self) -> anyhow::Result<Vec<Value>> {
        let all = self.fake_get("/__fake/violations").await?;
        all.as_array()
            .cloned()
            .with_context(|| format!("violations are not a list: {all}"))
    }

    /// Every TikTok publish of the account, oldest first.
    pub async fn publishes_of(&self, open_id: &str) -> anyhow::Result<Vec<Value>> {
        let all = self
            .fake_get(&format!("/__fake/accounts/{open_id}/publishes"))
            .await?;
        all.as_array()
            .cloned()
            .with_context(|| format!("publishes are not a list: {all}"))
    }

    /// The calls the fake recorded for the account, in order.
    pub async fn calls_of(&self, open_id: &str) -> anyhow::Result<Vec<Value>> {
        let all = self.fake_get("/__fake/calls").await?;
        let all = all
            .as_array()
            .with_context(|| format!("calls are not a list: {all}"))?;
        Ok(all
            .iter()
            .filter(|c| c["open_id"].as_str() == Some(open_id))
            .cloned()
            .collect())
    }

    /// The statuses the fake answered the account's calls to `endpoint` with, in order
    /// (0: the fake dropped the connection unanswered).
    pub async fn statuses_of(&self, open_id: &str, endpoint: &str) -> anyhow::Result<Vec<u64>> {
        Ok(self
            .calls_of(open_id)
            .await?
            .iter()
            .filter(|c| c["endpoint"] == endpoint)
            .filter_map(|c| c["status"].as_u64())
            .collect())
    }

    // ------------------------------------------------------------ accounts

    /// A fresh creator seeded at the fake (`seed` on top of the defaults), connected through
    /// the real handlers the way a browser does it: POST /accounts/connect-link, GET the
    /// link (oauth-start: 302 + binding cookie), the fake's authorize URL as that creator
    /// (the login cookie; no `Accept: text/html`, so it approves at once), then the callback
    /// with the binding cookie. Returns the open_id once the account is stored.
    pub async fn connect_creator(&self, seed: Value) -> anyhow::Result<String> {
        let open_id = self.seed_creator(&seed).await?;
        self.connect_through_api(&open_id).await?;
        Ok(open_id)
    }

    pub async fn connect_through_api(&self, open_id: &str) -> anyhow::Result<()> {
        let answer = self
            .http
            .post(format!("{}/accounts/connect-link", self.api))
            .json(&json!({}))
            .send()
            .await
            .context("POST /accounts/connect-link")?;
        ensure!(
            answer.status().as_u16() == 201,
            "POST /accounts/connect-link answered {}",
            answer.status()
        );
        let link = Self::json_of(answer, "POST /accounts/connect-link").await?;
        let link = link["url"]
            .as_str()
            .with_context(|| format!("no url in the connect link answer {link}"))?
            .to_owned();

        let start = self.http.get(&link).send().await.context("GET the link")?;
        ensure!(
            start.status().is_redirection(),
            "oauth-start answered {} instead of a redirect",
            start.status()
        );
        let authorize = location(&start)?;
        let binding: Vec<String> = start
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .map(str::to_owned)
            .collect();
        ensure!(!binding.is_empty(), "oauth-start set no binding cookie");
        ensure!(
            authorize.starts_with(&self.fake),
            "oauth-start sent the browser to {authorize}, not to the fake TikTok"
        );

        let consent = self
            .http
            .get(&authorize)
            .header(
                reqwest::header::COOKIE,
                format!("{FAKE_LOGIN_COOKIE}={open_id}"),
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .context("GET the authorize URL")?;
        ensure!(
            consent.status().is_redirection(),
            "the fake's authorize answered {}",
            consent.status()
        );
        let callback = location(&consent)?;

        let done = self
            .http
            .get(&callback)
            .header(reqwest::header::COOKIE, binding.join("; "))
            .send()
            .await
            .context("GET the callback")?;
        let status = done.status();
        let page = done.text().await.unwrap_or_default();
        ensure!(
            status.as_u16() == 200,
            "oauth-callback answered {status}: {page}"
        );
        let stored = self.account_item(open_id).await?;
        ensure!(
            stored.is_some(),
            "oauth-callback answered 200 but the account {open_id} is not stored"
        );
        Ok(())
    }

    /// The account's item in the accounts table (tokens sealed), read consistently.
    pub async fn account_item(
        &self,
        open_id: &str,
    ) -> anyhow::Result<Option<std::collections::HashMap<String, AttributeValue>>> {
        let item = self
            .dynamodb
            .get_item()
            .table_name(&self.accounts_table)
            .key("open_id", AttributeValue::S(open_id.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .context("GetItem on the accounts table")?;
        Ok(item.item)
    }

    // ------------------------------------------------------------ videos

    /// The key of a video dropped for the account (under the upload prefix: S3 events
    /// start its post).
    pub fn upload_key(&self, open_id: &str, name: &str) -> String {
        format!("{}{open_id}/{name}", self.upload_prefix)
    }

    /// A key outside the upload prefix (no S3 event), for posts started through the API.
    pub fn api_key(&self, open_id: &str, name: &str) -> String {
        format!("api/{open_id}/{name}")
    }

    /// The "Object Created" event S3 sends through EventBridge for the object at `key`, with
    /// the event id `id` (EventBridge redelivers an event with its id), for s3-trigger.
    pub fn object_created_event(&self, key: &str, size: u64, id: &str) -> Value {
        json!({
            "version": "0", "id": id,
            "detail-type": "Object Created", "source": "aws.s3",
            "account": "123456789012", "time": "2026-11-25T12:00:00Z", "region": "us-east-1",
            "resources": [format!("arn:aws:s3:::{}", self.bucket)],
            "detail": {"version": "0", "bucket": {"name": self.bucket},
                       "object": {"key": key, "size": size}, "reason": "PutObject"}
        })
    }

    /// Writes a valid MP4 of `size` bytes and `seconds` into the bucket, streamed part by
    /// part (never whole in memory). Its bytes after the header are pseudo-random from
    /// `seed`, so a corrupted upload shows in the hash.
    pub async fn put_video(
        &self,
        key: &str,
        size: u64,
        seconds: u32,
        seed: u64,
    ) -> anyhow::Result<PutVideo> {
        let header = mp4_header(size, seconds);
        let started = Instant::now();
        let written = write_video(
            &self.s3,
            &self.bucket,
            key,
            "video/mp4",
            size,
            |offset, len| {
                let mut bytes = pseudo_random_bytes(seed, offset, len);
                // The MP4 header over the first bytes.
                let header_len = header.len() as u64;
                if offset < header_len {
                    let from = usize::try_from(offset).unwrap_or(usize::MAX);
                    let take = (header.len() - from).min(len);
                    bytes[..take].copy_from_slice(&header[from..from + take]);
                }
                bytes
            },
        )
        .await
        .map_err(|e| anyhow!("writing s3://{}/{key}: {e}", self.bucket))?;
        eprintln!(
            "e2e: wrote {size} bytes to {key} in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        Ok(PutVideo {
            key: key.to_owned(),
            size,
            sha256: written.sha256,
        })
    }

    pub async fn put_object(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> anyhow::Result<()> {
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(bytes.into())
            .send()
            .await
            .with_context(|| format!("PutObject s3://{}/{key}", self.bucket))?;
        Ok(())
    }

    /// The options manifest of the video at `video_key` (`{video_key}.json`), as raw text
    /// (so a test can send malformed JSON).
    pub async fn put_manifest_text(&self, video_key: &str, text: &str) -> anyhow::Result<()> {
        self.put_object(
            &format!("{video_key}.json"),
            text.as_bytes().to_vec(),
            "application/json",
        )
        .await
    }

    pub async fn put_manifest(&self, video_key: &str, options: &Value) -> anyhow::Result<()> {
        self.put_manifest_text(video_key, &options.to_string())
            .await
    }

    /// Whether the object is still in the bucket (videos are never moved or deleted).
    pub async fn object_size(&self, key: &str) -> anyhow::Result<Option<i64>> {
        match self
            .s3
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(head) => Ok(head.content_length()),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(None),
            Err(e) => Err(anyhow!("HeadObject s3://{}/{key}: {e:?}", self.bucket)),
        }
    }

    // ------------------------------------------------------------ posts

    /// `POST /posts`; returns the status and the JSON answer.
    pub async fn create_post(
        &self,
        body: &Value,
        idempotency_key: Option<&str>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut request = self.http.post(format!("{}/posts", self.api)).json(body);
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        let answer = request.send().await.context("POST /posts")?;
        let status = answer.status().as_u16();
        let text = answer.text().await.context("reading POST /posts")?;
        let json = serde_json::from_str(&text)
            .with_context(|| format!("POST /posts answered {status} non-JSON: {text}"))?;
        Ok((status, json))
    }

    /// `GET /posts/{id}`: the post's view.
    pub async fn get_post(&self, id: &str) -> anyhow::Result<Value> {
        let answer = self
            .http
            .get(format!("{}/posts/{id}", self.api))
            .send()
            .await
            .with_context(|| format!("GET /posts/{id}"))?;
        Self::json_of(answer, &format!("GET /posts/{id}")).await
    }

    /// `POST /posts/{id}/retry`; returns the status and the JSON answer.
    pub async fn retry_post(&self, id: &str) -> anyhow::Result<(u16, Value)> {
        let request = self.http.post(format!("{}/posts/{id}/retry", self.api));
        Self::status_and_json(request, &format!("POST /posts/{id}/retry")).await
    }

    /// `DELETE /posts/{id}`; returns the status and the JSON answer.
    pub async fn cancel_post(&self, id: &str) -> anyhow::Result<(u16, Value)> {
        let request = self.http.delete(format!("{}/posts/{id}", self.api));
        Self::status_and_json(request, &format!("DELETE /posts/{id}")).await
    }

    /// Sends `request` (`what`, for errors); its status and JSON answer, whatever the status.
    async fn status_and_json(
        request: reqwest::RequestBuilder,
        what: &str,
    ) -> anyhow::Result<(u16, Value)> {
        let answer = request.send().await.with_context(|| what.to_owned())?;
        let status = answer.status().as_u16();
        let text = answer
            .text()
            .await
            .with_context(|| format!("reading the answer to {what}"))?;
        let json = serde_json::from_str(&text)
            .with_context(|| format!("{what} answered {status} non-JSON: {text}"))?;
        Ok((status, json))
    }

    /// `(post id, key)` of every post of the account (posts table, index by_account).
    pub async fn posts_of(&self, open_id: &str) -> anyhow::Result<Vec<(String, String)>> {
        let text = |item: &std::collections::HashMap<String, AttributeValue>, name: &str| {
            item.get(name)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default()
        };
        Ok(self
            .post_items_of(open_id)
            .await?
            .iter()
            .map(|item| (text(item, "id"), text(item, "key")))
            .collect())
    }

    /// Every post item of the account as stored (posts table, index by_account, which
    /// projects every attribute), all pages.
    pub async fn post_items_of(
        &self,
        open_id: &str,
    ) -> anyhow::Result<Vec<std::collections::HashMap<String, AttributeValue>>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .dynamodb
                .query()
                .table_name(&self.posts_table)
                .index_name("by_account")
                .key_condition_expression("open_id = :o")
                .expression_attribute_values(":o", AttributeValue::S(open_id.to_owned()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .context("Query posts by_account")?;
            items.extend(page.items().iter().cloned());
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    /// The AWS fault proxy's counts (`GET $AWS_FAULT_PROXY_URL/__faults`): calls and faults
    /// per service and kind, calls per operation. Fails on a stack without the proxy.
    pub async fn aws_fault_counts(&self) -> anyhow::Result<Value> {
        let url = self
            .env("AWS_FAULT_PROXY_URL")
            .filter(|url| !url.is_empty())
            .context("no AWS fault proxy: start the stack with LOCAL_STACK_AWS_FAULTS")?;
        let answer = self
            .http
            .get(format!("{url}/__faults"))
            .send()
            .await
            .context("GET /__faults")?;
        Self::json_of(answer, "GET /__faults").await
    }

    /// Waits for the post of the video at `key` to be recorded; returns its id.
    pub async fn post_id_of(
        &self,
        open_id: &str,
        key: &str,
        timeout: Duration,
    ) -> anyhow::Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let found: Vec<String> = self
                .posts_of(open_id)
                .await?
                .into_iter()
                .filter(|(_, k)| k == key)
                .map(|(id, _)| id)
                .collect();
            match found.as_slice() {
                [id] => return Ok(id.clone()),
                [] if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(300)).await
                }
                [] => bail!("no post was recorded for {key} within {timeout:?}"),
                many => bail!("{} posts for one video {key}: {many:?}", many.len()),
            }
        }
    }

    /// Polls `GET /posts/{id}` until the post is final; returns its view.
    pub async fn wait_final(&self, id: &str, timeout: Duration) -> anyhow::Result<Value> {
        let deadline = Instant::now() + timeout;
        let mut seen = String::new();
        loop {
            let post = self.get_post(id).await?;
            let state = post["state"].as_str().unwrap_or_default().to_owned();
            if state != seen {
                eprintln!("e2e: post {}: {state}", &id[..12.min(id.len())]);
                seen = state.clone();
            }
            if post["final"] == true {
                return Ok(post);
            }
            ensure!(
                Instant::now() < deadline,
                "post {id} is still {state} after {timeout:?}: {post}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// The post of the video at `key`, once final.
    pub async fn wait_final_for(
        &self,
        open_id: &str,
        key: &str,
        timeout: Duration,
    ) -> anyhow::Result<Value> {
        let started = Instant::now();
        let id = self.post_id_of(open_id, key, timeout).await?;
        self.wait_final(&id, timeout.saturating_sub(started.elapsed()))
            .await
    }

    /// Sets the post's `created_at` back by `by`, as if it had been made that long ago
    /// (the stack's functions judge waits by it).
    pub async fn backdate_post(&self, id: &str, by: Duration) -> anyhow::Result<()> {
        let item = self
            .dynamodb
            .get_item()
            .table_name(&self.posts_table)
            .key("id", AttributeValue::S(id.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .context("GetItem on the posts table")?
            .item
            .with_context(|| format!("post {id} is not in the posts table"))?;
        let created: i64 = item
            .get("created_at")
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .with_context(|| format!("post {id} has no numeric created_at"))?;
        let earlier = created - i64::try_from(by.as_secs()).unwrap_or(i64::MAX);
        self.dynamodb
            .update_item()
            .table_name(&self.posts_table)
            .key("id", AttributeValue::S(id.to_owned()))
            .update_expression("SET created_at = :t")
            .expression_attribute_values(":t", AttributeValue::N(earlier.to_string()))
            .send()
            .await
            .context("UpdateItem created_at")?;
        Ok(())
    }

    /// Sets the post's `updated_at` back by `by`, as if it had not changed for that long
    /// (the sweep judges stuck posts by it).
    pub async fn backdate_updated_at(&self, id: &str, by: Duration) -> anyhow::Result<()> {
        let by = i64::try_from(by.as_secs()).unwrap_or(i64::MAX);
        self.dynamodb
            .update_item()
            .table_name(&self.posts_table)
            .key("id", AttributeValue::S(id.to_owned()))
            .condition_expression("attribute_exists(id)")
            .update_expression("SET updated_at = updated_at - :by")
            .expression_attribute_values(":by", AttributeValue::N(by.to_string()))
            .send()
            .await
            .map_err(|e| anyhow!("UpdateItem updated_at of post {id}: {e:?}"))?;
        Ok(())
    }

    /// Sets when the account's refresh token lapses (`refresh_expires_at`, unix seconds),
    /// as if it had been connected long ago.
    pub async fn set_refresh_expiry(&self, open_id: &str, at: i64) -> anyhow::Result<()> {
        self.dynamodb
            .update_item()
            .table_name(&self.accounts_table)
            .key("open_id", AttributeValue::S(open_id.to_owned()))
            .condition_expression("attribute_exists(open_id)")
            .update_expression("SET refresh_expires_at = :at")
            .expression_attribute_values(":at", AttributeValue::N(at.to_string()))
            .send()
            .await
            .map_err(|e| anyhow!("UpdateItem refresh_expires_at of {open_id}: {e:?}"))?;
        Ok(())
    }

    // ------------------------------------------------------------ functions

    /// Invokes a function through the stack's Invoke API; returns the status and answer.
    pub async fn invoke(&self, function: &str, payload: &Value) -> anyhow::Result<(u16, Value)> {
        let base = self
            .env("LOCAL_LAMBDA_URL")
            .context("no LOCAL_LAMBDA_URL")?;
        let answer = self
            .http
            .post(format!(
                "{base}/2015-03-31/functions/{function}/invocations"
            ))
            .json(payload)
            .send()
            .await
            .with_context(|| format!("invoking {function}"))?;
        let status = answer.status().as_u16();
        let text = answer.text().await.unwrap_or_default();
        Ok((
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        ))
    }

    /// Kills (SIGKILL) the process serving `function` in this stack: the binary
    /// `target/debug/<function>` that carries `LOCAL_STACK_RUN=<run>` and
    /// `AWS_LAMBDA_FUNCTION_NAME=<function>` (its restart loop starts a new one). Returns
    /// the pid killed.
    pub fn kill_function(&self, function: &str) -> anyhow::Result<i32> {
        let run = format!("LOCAL_STACK_RUN={}", self.run_id);
        let name = format!("AWS_LAMBDA_FUNCTION_NAME={function}");
        let suffix = format!("/{function}");
        for entry in std::fs::read_dir("/proc").context("listing /proc")? {
            let Ok(entry) = entry else { continue };
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|p| p.parse::<i32>().ok())
            else {
                continue;
            };
            let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
                continue;
            };
            let vars: Vec<&[u8]> = environ.split(|b| *b == 0).collect();
            if !vars.contains(&run.as_bytes()) || !vars.contains(&name.as_bytes()) {
                continue;
            }
            // The binary itself, not its restart loop (bash, same environment).
            let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
                continue;
            };
            let program = cmdline.split(|b| *b == 0).next().unwrap_or_default();
            if !program.ends_with(suffix.as_bytes()) {
                continue;
            }
            // SAFETY: kill(2) with a pid read from /proc; no memory is involved.
            let result = unsafe { libc::kill(pid, libc::SIGKILL) };
            ensure!(
                result == 0,
                "kill -KILL {pid}: {}",
                std::io::Error::last_os_error()
            );
            return Ok(pid);
        }
        bail!(
            "no process of {function} in local stack {} (is it running?)",
            self.run_id
        )
    }
}

fn location(response: &reqwest::Response) -> anyhow::Result<String> {
    response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .with_context(|| format!("a {} without Location", response.status()))
}

/// A video written to the bucket.
#[derive(Debug, Clone)]
pub struct PutVideo {
    pub key: String,
    pub size: u64,
    /// Lowercase hex SHA-256 of its bytes.
    pub sha256: String,
}

/// One test case: the stack, its share of it, and its clock. End it with [`Case::finish`].
pub struct Case {
    pub name: &'static str,
    pub stack: Stack,
    started: Instant,
    _shared: Option<RwLockReadGuard<'static, ()>>,
    _alone: Option<RwLockWriteGuard<'static, ()>>,
}

impl Case {
    /// A case that shares the stack with the others running.
    pub async fn start(name: &'static str) -> anyhow::Result<Case> {
        let stack = Stack::connect().await?;
        let guard = STACK_USE.read().await;
        eprintln!("e2e: {name}: started");
        Ok(Case {
            name,
            stack,
            started: Instant::now(),
            _shared: Some(guard),
            _alone: None,
        })
    }

    /// A case that runs with no other case at once (it kills a function process).
    pub async fn start_alone(name: &'static str) -> anyhow::Result<Case> {
        let stack = Stack::connect().await?;
        let guard = STACK_USE.write().await;
        eprintln!("e2e: {name}: started (alone)");
        Ok(Case {
            name,
            stack,
            started: Instant::now(),
            _shared: None,
            _alone: Some(guard),
        })
    }

    /// Checks the fake saw no breach of TikTok's contract, and records the case's time in
    /// `<stack dir>/e2e-timings.txt` (and on stderr).
    pub async fn finish(self) -> anyhow::Result<()> {
        let violations = self.stack.violations().await?;
        let seconds = self.started.elapsed().as_secs_f64();
        let line = format!("{:7.1} s  {}", seconds, self.name);
        eprintln!("e2e: {line}");
        if let Some(dir) = self.stack.env("LOCAL_STACK_DIR") {
            let written = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(format!("{dir}/e2e-timings.txt"))
                .and_then(|mut f| writeln!(f, "{line}"));
            if let Err(e) = written {
                eprintln!("e2e: could not record the timing: {e}");
            }
        }
        ensure!(
            violations.is_empty(),
            "the fake TikTok recorded {} contract violation(s): {}",
            violations.len(),
            Value::Array(violations)
        );
        Ok(())
    }
}

/// A caption of exactly `units` UTF-16 code units, with emoji (two units each) and hashtags.
pub fn caption_of_utf16_units(units: usize) -> String {
    let pieces = [
        "Launch day 🚀 ",
        "#rust ",
        "#tiktok ",
        "with friends 🎉🎬 ",
        "#e2e ",
    ];
    let mut caption = String::new();
    let mut length = 0;
    for piece in pieces.iter().cycle() {
        let piece_units = piece.encode_utf16().count();
        if length + piece_units > units {
            break;
        }
        caption.push_str(piece);
        length += piece_units;
    }
    // Fill the rest with one-unit characters (ASCII), never splitting an emoji.
    caption.extend(std::iter::repeat_n('x', units - length));
    caption
}

/// The one item of a list, or an error naming what was there.
pub fn only<'a>(items: &'a [Value], what: &str) -> anyhow::Result<&'a Value> {
    match items {
        [one] => Ok(one),
        other => bail!(
            "expected exactly one {what}, found {}: {other:?}",
            other.len()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_file_values_are_unquoted_and_comments_skipped() {
        let env = parse_env_file("# a comment\nA=1\nB='two words'\nC=\"x=y\"\n\nD=\n");
        assert_eq!(env.get("A").map(String::as_str), Some("1"));
        assert_eq!(env.get("B").map(String::as_str), Some("two words"));
        assert_eq!(env.get("C").map(String::as_str), Some("x=y"));
        assert_eq!(env.get("D").map(String::as_str), Some(""));
        assert_eq!(env.len(), 4);
    }

    #[test]
    fn captions_have_the_exact_utf16_length_with_emoji() {
        for units in [1, 13, 2199, 2200, 2201] {
            let caption = caption_of_utf16_units(units);
            assert_eq!(caption.encode_utf16().count(), units, "{units}");
        }
        let long = caption_of_utf16_units(2200);
        assert!(long.contains('🚀') && long.contains("#rust"), "{long}");
        assert!(long.chars().count() < 2200, "emoji count two units each");
    }
}
