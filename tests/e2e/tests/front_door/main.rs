//! The front door end to end (issue 15); run under `scripts/local-stack run`:
//!
//! ```sh
//! scripts/local-stack run -- cargo test -p e2e --features local-stack-tests --test front_door
//! ```
//!
//! The local stack deploys the template with a domain: its media origin stands in for the
//! distribution (`https://media.tiktok-publish.test:PORT`, a test CA the fake trusts, the
//! CloudFront Function's check in front of the bucket), and the fake has the `/media/` prefix
//! verified. The stack's default source stays `FILE_UPLOAD` (`VIDEO_SOURCE_DEFAULT`), so a post
//! here is pulled when its options say `PULL_FROM_URL`, or when TikTok refuses its chunked
//! upload. Every case checks what TikTok received (the bytes it pulled, each publish) and that
//! the fake saw no breach of TikTok's contract.
//!
//! Cases that change the whole front door (what the fake has verified, the origin's clock, a
//! hold on its answers) run alone and put it back whatever their outcome. Modules: `videos`,
//! `photos` (carousels, direct and as drafts), `cancel` (a pull cancelled while TikTok
//! downloads), `public_routes`.

use std::time::Duration;

use anyhow::{Context, ensure};
use e2e::{Case, FAKE_LOGIN_COOKIE, PutVideo, Stack, only};
use serde_json::{Value, json};

/// How long a post may take to become final (two chunks of 35 MB pulled or uploaded).
const POST_TIMEOUT: Duration = Duration::from_secs(300);
/// Under TikTok's "send whole" limit: one chunk when uploaded.
const SMALL: u64 = 3_000_000;
/// The smallest size the stack splits: two chunks of 35,000,000 bytes when uploaded.
const TWO_CHUNKS: u64 = 70_000_000;
/// Later than a media URL lives (75 minutes, `MEDIA_URL_LIFETIME_SECS`): the origin judges a
/// pull this far ahead as one that started after the URL expired.
const PAST_URL_EXPIRY_SECS: i64 = 2 * 60 * 60;

fn creator() -> Value {
    json!({"nickname": "Front Door Creator", "username": "front.door"})
}

/// A private direct post; `source` as given (`None`: the options leave it to the stack).
fn options(title: &str, source: Option<&str>) -> Value {
    let mut options = json!({"title": title, "privacy_level": "SELF_ONLY"});
    if let Some(source) = source {
        options["source"] = json!(source);
    }
    options
}

/// The stack's front door, as its env file names it.
struct FrontDoor {
    /// `https://media.tiktok-publish.test:PORT`.
    url: String,
    /// The media origin's test-only control (its function's clock).
    control: String,
    /// The test certificate authority the origin's certificate chains to (PEM file).
    ca: String,
}

impl FrontDoor {
    fn of(stack: &Stack) -> anyhow::Result<FrontDoor> {
        let value = |name: &str| {
            stack
                .env(name)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .with_context(|| {
                    format!(
                        "the stack has no front door ({name} is empty): run it without \
                         LOCAL_STACK_FRONT_DOOR=0"
                    )
                })
        };
        Ok(FrontDoor {
            url: value("FRONT_DOOR_URL")?,
            control: value("MEDIA_ORIGIN_CONTROL_URL")?,
            ca: value("FRONT_DOOR_CA")?,
        })
    }

    /// A client that reaches the front door as TikTok's stand-ins do: the test authority
    /// trusted, the name resolved to 127.0.0.1; no redirects followed.
    fn client(&self) -> anyhow::Result<reqwest::Client> {
        let pem = std::fs::read(&self.ca).with_context(|| format!("reading {}", self.ca))?;
        let ca = reqwest::Certificate::from_pem(&pem).context("the front door's CA")?;
        let host = reqwest::Url::parse(&self.url)?
            .host_str()
            .context("the front door's URL has no host")?
            .to_owned();
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .tls_certs_merge([ca])
            // Port 0: each URL's own port.
            .resolve(&host, std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
            .timeout(Duration::from_secs(60))
            .build()
            .context("building the front door's client")
    }

    /// `url` on the local API, moved to the front door (same path and query).
    fn moved(&self, stack: &Stack, url: &str) -> anyhow::Result<String> {
        let rest = url
            .strip_prefix(&stack.api)
            .with_context(|| format!("{url} is not on the local API {}", stack.api))?;
        Ok(format!("{}{rest}", self.url))
    }

    /// The URL prefix the local stack verifies at the fake (the `MediaUrlPrefix` output).
    fn media_prefix(&self) -> String {
        format!("{}/media/", self.url)
    }

    /// Makes the origin judge media URLs `seconds` from now (0: the real clock).
    async fn set_clock_offset(&self, stack: &Stack, seconds: i64) -> anyhow::Result<()> {
        self.control_put(stack, "/clock", json!({ "offset_seconds": seconds }))
            .await
    }

    /// Holds every media request the origin lets through before its first byte (`true`),
    /// or lets them all go on (`false`).
    async fn set_hold(&self, stack: &Stack, hold: bool) -> anyhow::Result<()> {
        self.control_put(stack, "/hold", json!({ "hold": hold }))
            .await
    }

    async fn control_put(&self, stack: &Stack, path: &str, body: Value) -> anyhow::Result<()> {
        let answer = stack
            .http
            .put(format!("{}{path}", self.control))
            .json(&body)
            .send()
            .await
            .with_context(|| format!("PUT the media origin's {path}"))?;
        ensure!(
            answer.status().as_u16() == 204,
            "the media origin's {path} answered {}",
            answer.status()
        );
        Ok(())
    }
}

/// Replaces what the fake TikTok has verified (`PUT /__fake/verified`): the URL prefixes
/// given, no domain.
async fn set_verified_prefixes(stack: &Stack, prefixes: &[String]) -> anyhow::Result<()> {
    let answer = stack
        .http
        .put(format!("{}/__fake/verified", stack.fake))
        .json(&json!({ "url_prefixes": prefixes }))
        .send()
        .await
        .context("PUT /__fake/verified")?;
    ensure!(
        answer.status().as_u16() == 204,
        "PUT /__fake/verified answered {}",
        answer.status()
    );
    Ok(())
}

/// Drops the video and its manifest under the upload prefix (only `uploads/` is served by
/// the front door); returns the video and its post's id.
async fn drop_video(
    stack: &Stack,
    open_id: &str,
    name: &str,
    size: u64,
    options: &Value,
) -> anyhow::Result<(PutVideo, String)> {
    let key = stack.upload_key(open_id, name);
    stack.put_manifest(&key, options).await?;
    let seed = name.bytes().fold(0x5eed_u64, |h, b| {
        h.wrapping_mul(31).wrapping_add(u64::from(b))
    });
    let video = stack.put_video(&key, size, 10, seed).await?;
    let id = stack
        .post_id_of(open_id, &key, Duration::from_secs(60))
        .await?;
    Ok((video, id))
}

/// What TikTok downloaded for the publish (`GET /__fake/publishes/{id}/pulled`).
async fn pulled_of(stack: &Stack, publish_id: &str) -> anyhow::Result<Vec<Value>> {
    let pulled = stack
        .fake_get(&format!("/__fake/publishes/{publish_id}/pulled"))
        .await?;
    pulled
        .as_array()
        .cloned()
        .with_context(|| format!("pulled is not a list: {pulled}"))
}

/// The account's one publish at the fake: pulled from the front door, complete, and the exact
/// bytes of the video (what the fake downloaded and what it hashed once every byte arrived);
/// no chunk was uploaded.
async fn check_single_pull(
    stack: &Stack,
    door: &FrontDoor,
    open_id: &str,
    video: &PutVideo,
    post: &Value,
) -> anyhow::Result<Value> {
    let publishes = stack.publishes_of(open_id).await?;
    let publish = only(&publishes, "publish at the fake")?.clone();
    ensure!(publish["source"] == "PULL_FROM_URL", "{publish}");
    ensure!(
        post["publish_id"] == publish["publish_id"],
        "the post records publish {} but TikTok has {}",
        post["publish_id"],
        publish["publish_id"]
    );
    let url = only(
        publish["media_urls"].as_array().context("media_urls")?,
        "media URL",
    )?
    .as_str()
    .context("the media URL is not text")?;
    ensure!(
        url.starts_with(&format!("{}{}", door.media_prefix(), stack.upload_prefix)),
        "TikTok was given a URL outside the front door's media prefix: {url}"
    );
    let publish_id = publish["publish_id"].as_str().context("publish_id")?;
    let pulled = pulled_of(stack, publish_id).await?;
    let file = only(&pulled, "file pulled")?;
    ensure!(
        file["sha256"].as_str() == Some(video.sha256.as_str()) && file["bytes"] == video.size,
        "TikTok pulled other bytes: {file}, the object is {} bytes {}",
        video.size,
        video.sha256
    );
    ensure!(
        publish["video_sha256"].as_str() == Some(video.sha256.as_str()),
        "{publish}"
    );
    let chunks = stack.statuses_of(open_id, "UploadChunk").await?;
    ensure!(
        chunks.is_empty(),
        "a pulled video was uploaded too: {chunks:?}"
    );
    Ok(publish)
}

mod cancel;
mod photos;
mod public_routes;
mod videos;
