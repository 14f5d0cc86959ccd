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

mod videos {
    use super::*;

    #[tokio::test]
    async fn a_video_pulled_by_tiktok_is_published_with_the_objects_exact_bytes()
    -> anyhow::Result<()> {
        let case = Case::start("front_door_pulled").await?;
        let stack = &case.stack;
        let door = FrontDoor::of(stack)?;
        let open_id = stack.connect_creator(creator()).await?;
        let options = options("Pulled by TikTok", Some("PULL_FROM_URL"));
        let (video, id) = drop_video(stack, &open_id, "pulled.mp4", SMALL, &options).await?;
        let post = stack.wait_final(&id, POST_TIMEOUT).await?;
        ensure!(post["state"] == "PUBLISHED", "{post}");
        let publish = check_single_pull(stack, &door, &open_id, &video, &post).await?;
        ensure!(
            publish["post_info"]["title"] == options["title"],
            "the caption changed on the way: {publish}"
        );
        ensure!(
            stack.statuses_of(&open_id, "DirectInit").await? == [200],
            "one init, answered"
        );
        case.finish().await
    }

    /// TikTok refuses inits of several chunks (`invalid_params`, since 2026-08): with a front
    /// door and options that leave the source open, the post is pulled instead, once.
    #[tokio::test]
    async fn a_refused_chunked_upload_is_pulled_instead_once_and_published() -> anyhow::Result<()> {
        let case = Case::start("front_door_chunked_init_refused").await?;
        let stack = &case.stack;
        let door = FrontDoor::of(stack)?;
        let open_id = stack.connect_creator(creator()).await?;
        stack
            .inject_for(
                &open_id,
                json!({"type": "HttpError", "endpoint": "DirectInit", "status": 400,
                       "code": "invalid_params", "times": 1}),
            )
            .await?;
        let options = options("Two chunks, refused", None);
        let (video, id) = drop_video(stack, &open_id, "chunked.mp4", TWO_CHUNKS, &options).await?;
        let post = stack.wait_final(&id, POST_TIMEOUT).await?;
        ensure!(post["state"] == "PUBLISHED", "{post}");
        check_single_pull(stack, &door, &open_id, &video, &post).await?;
        let inits = stack.statuses_of(&open_id, "DirectInit").await?;
        ensure!(
            inits == [400, 200],
            "expected the refused chunked init, then one pull: {inits:?}"
        );
        case.finish().await
    }

    /// Whatever `body` does, the fake has the front door's prefix verified again afterwards.
    async fn with_front_door_unverified(
        stack: &Stack,
        door: &FrontDoor,
        body: impl std::future::Future<Output = anyhow::Result<()>>,
    ) -> anyhow::Result<()> {
        set_verified_prefixes(stack, &[]).await?;
        let outcome = body.await;
        set_verified_prefixes(stack, &[door.media_prefix()]).await?;
        outcome
    }

    #[tokio::test]
    async fn an_unverified_front_door_fails_a_post_that_insists_on_a_pull_with_advice()
    -> anyhow::Result<()> {
        let case = Case::start_alone("front_door_unverified_insisting").await?;
        let stack = &case.stack;
        let door = FrontDoor::of(stack)?;
        let open_id = stack.connect_creator(creator()).await?;
        with_front_door_unverified(stack, &door, async {
            let options = options("Pull or nothing", Some("PULL_FROM_URL"));
            let (_, id) = drop_video(stack, &open_id, "insisting.mp4", SMALL, &options).await?;
            let post = stack.wait_final(&id, POST_TIMEOUT).await?;
            ensure!(post["state"] == "FAILED", "{post}");
            let failure = &post["failure"];
            let said = format!("{} {}", failure["reason"], failure["advice"]);
            ensure!(
                said.contains("url_ownership_unverified") && said.contains("MediaUrlPrefix"),
                "the failure does not say how to verify the front door: {failure}"
            );
            let inits = stack.statuses_of(&open_id, "DirectInit").await?;
            ensure!(inits == [403], "one refused pull, no upload: {inits:?}");
            ensure!(
                stack.publishes_of(&open_id).await?.is_empty(),
                "a refused pull made a publish"
            );
            Ok(())
        })
        .await?;
        case.finish().await
    }

    /// With `VIDEO_SOURCE_DEFAULT=FILE_UPLOAD` (the local stack's), a post whose options leave
    /// the source open reaches a pull through a refused chunked init; an unverified front door
    /// then sends it back to an upload, which TikTok takes this time.
    #[tokio::test]
    async fn an_unverified_front_door_falls_back_to_upload_when_the_options_leave_it_open()
    -> anyhow::Result<()> {
        let case = Case::start_alone("front_door_unverified_fallback").await?;
        let stack = &case.stack;
        let door = FrontDoor::of(stack)?;
        let open_id = stack.connect_creator(creator()).await?;
        stack
            .inject_for(
                &open_id,
                json!({"type": "HttpError", "endpoint": "DirectInit", "status": 400,
                       "code": "invalid_params", "times": 1}),
            )
            .await?;
        with_front_door_unverified(stack, &door, async {
            let options = options("Either way", None);
            let (video, id) =
                drop_video(stack, &open_id, "fallback.mp4", TWO_CHUNKS, &options).await?;
            let post = stack.wait_final(&id, POST_TIMEOUT).await?;
            ensure!(post["state"] == "PUBLISHED", "{post}");
            let inits = stack.statuses_of(&open_id, "DirectInit").await?;
            ensure!(
                inits == [400, 403, 200],
                "expected a refused chunked init, a refused pull, then the upload: {inits:?}"
            );
            let publishes = stack.publishes_of(&open_id).await?;
            let publish = only(&publishes, "publish at the fake")?;
            ensure!(publish["source"] == "FILE_UPLOAD", "{publish}");
            ensure!(
                publish["complete"] == true
                    && publish["video_sha256"].as_str() == Some(video.sha256.as_str()),
                "TikTok did not receive the video's bytes: {publish}"
            );
            let chunks = stack.statuses_of(&open_id, "UploadChunk").await?;
            ensure!(chunks == [206, 201], "each chunk once: {chunks:?}");
            Ok(())
        })
        .await?;
        case.finish().await
    }

    #[tokio::test]
    async fn an_expired_media_url_is_refused_and_the_post_fails_without_a_second_publish()
    -> anyhow::Result<()> {
        let case = Case::start_alone("front_door_expired_url").await?;
        let stack = &case.stack;
        let door = FrontDoor::of(stack)?;
        let open_id = stack.connect_creator(creator()).await?;
        door.set_clock_offset(stack, PAST_URL_EXPIRY_SECS).await?;
        let outcome = async {
            let options = options("Too late", Some("PULL_FROM_URL"));
            let (_, id) = drop_video(stack, &open_id, "expired.mp4", SMALL, &options).await?;
            stack.wait_final(&id, POST_TIMEOUT).await
        }
        .await;
        door.set_clock_offset(stack, 0).await?;
        let post = outcome?;
        ensure!(post["state"] == "FAILED", "{post}");
        let failure = &post["failure"];
        ensure!(failure["kind"] == "TikTokPostFailed", "{failure}");
        ensure!(
            failure["reason"]
                .as_str()
                .is_some_and(|r| r.contains("video_pull_failed")),
            "{failure}"
        );
        ensure!(
            failure["advice"]
                .as_str()
                .is_some_and(|a| a.contains("check-domain")),
            "{failure}"
        );
        let origin_log = std::fs::read_to_string(format!(
            "{}/logs/media-origin.log",
            stack.env("LOCAL_STACK_DIR").context("LOCAL_STACK_DIR")?
        ))
        .context("reading the media origin's log")?;
        let account_media = format!("/media/{}{open_id}/", stack.upload_prefix);
        let refused = |line: &&str| line.contains(&account_media) && line.ends_with("-> 403");
        ensure!(
            origin_log.lines().any(|line| refused(&line)),
            "the media origin did not refuse the expired URL"
        );
        // Given time to go wrong: the failed pull is neither asked again nor uploaded.
        tokio::time::sleep(Duration::from_secs(6)).await;
        let publishes = stack.publishes_of(&open_id).await?;
        let publish = only(&publishes, "publish at the fake")?;
        ensure!(
            publish["status"] == "FAILED" && publish["fail_reason"] == "video_pull_failed",
            "{publish}"
        );
        ensure!(
            stack.statuses_of(&open_id, "DirectInit").await? == [200],
            "the pull was asked for again"
        );
        ensure!(
            stack.statuses_of(&open_id, "UploadChunk").await?.is_empty(),
            "the video was uploaded after the failed pull"
        );
        case.finish().await
    }
}

/// Photo carousels: images dropped first, then their manifest (`NAME.photos.json`); TikTok
/// pulls each photo from the front door. A PNG is converted to JPEG before TikTok sees it.
mod photos {
    use std::io::Cursor;

    use super::*;

    /// An image of `width` x `height` in `format`, a gradient (so a conversion changes bytes).
    fn image_file(width: u32, height: u32, format: image::ImageFormat) -> anyhow::Result<Vec<u8>> {
        let pixels = image::RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
        });
        let mut bytes = Cursor::new(Vec::new());
        pixels
            .write_to(&mut bytes, format)
            .context("encoding a test image")?;
        Ok(bytes.into_inner())
    }

    /// Two JPEGs and a PNG in `{name}/` under the account's folder, then the manifest naming
    /// them (relative to its folder) with `options`. Returns each image's key and bytes, in
    /// order, and the post's id.
    async fn drop_carousel(
        stack: &Stack,
        open_id: &str,
        name: &str,
        options: &Value,
    ) -> anyhow::Result<(Vec<(String, Vec<u8>)>, String)> {
        use image::ImageFormat::{Jpeg, Png};
        let files = [
            ("1.jpg", image_file(640, 480, Jpeg)?, "image/jpeg"),
            ("2.png", image_file(800, 600, Png)?, "image/png"),
            ("3.jpg", image_file(1080, 1920, Jpeg)?, "image/jpeg"),
        ];
        let mut images = Vec::new();
        for (file, bytes, content_type) in files {
            let key = stack.upload_key(open_id, &format!("{name}/{file}"));
            stack.put_object(&key, bytes.clone(), content_type).await?;
            images.push((key, bytes));
        }
        let mut manifest = options.clone();
        manifest["images"] = json!([
            format!("{name}/1.jpg"),
            format!("{name}/2.png"),
            format!("{name}/3.jpg")
        ]);
        let manifest_key = stack.upload_key(open_id, &format!("{name}.photos.json"));
        stack
            .put_object(
                &manifest_key,
                manifest.to_string().into_bytes(),
                "application/json",
            )
            .await?;
        let id = stack
            .post_id_of(open_id, &images[0].0, Duration::from_secs(60))
            .await?;
        Ok((images, id))
    }

    fn sha256_hex(bytes: &[u8]) -> String {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(bytes))
    }

    /// The account's one publish: a photo post of three photos pulled from the front door,
    /// the JPEGs byte for byte, the PNG as a JPEG TikTok takes.
    async fn check_carousel(
        stack: &Stack,
        door: &FrontDoor,
        open_id: &str,
        images: &[(String, Vec<u8>)],
        post: &Value,
    ) -> anyhow::Result<Value> {
        let publishes = stack.publishes_of(open_id).await?;
        let publish = only(&publishes, "publish at the fake")?.clone();
        ensure!(
            publish["media_type"] == "PHOTO" && publish["source"] == "PULL_FROM_URL",
            "{publish}"
        );
        ensure!(
            post["publish_id"] == publish["publish_id"],
            "{post} / {publish}"
        );
        let urls = publish["media_urls"].as_array().context("media_urls")?;
        ensure!(urls.len() == 3, "three photos asked for: {publish}");
        for url in urls {
            let url = url.as_str().context("a media URL is not text")?;
            ensure!(
                url.starts_with(&door.media_prefix()),
                "a photo URL outside the front door: {url}"
            );
        }
        let publish_id = publish["publish_id"].as_str().context("publish_id")?;
        let pulled = pulled_of(stack, publish_id).await?;
        ensure!(pulled.len() == 3, "three photos pulled: {pulled:?}");
        for (index, (key, bytes)) in images.iter().enumerate() {
            let same = pulled[index]["sha256"].as_str() == Some(sha256_hex(bytes).as_str());
            let is_png = key.ends_with(".png");
            ensure!(
                same != is_png,
                "photo {index} ({key}): pulled {} (a PNG is converted, a JPEG goes as it is)",
                pulled[index]
            );
        }
        ensure!(
            stack.statuses_of(open_id, "UploadChunk").await?.is_empty(),
            "photos are never uploaded in chunks"
        );
        Ok(publish)
    }

    #[tokio::test]
    async fn a_carousel_with_a_png_is_pulled_converted_and_published() -> anyhow::Result<()> {
        let case = Case::start("front_door_carousel").await?;
        let stack = &case.stack;
        let door = FrontDoor::of(stack)?;
        let open_id = stack.connect_creator(creator()).await?;
        let options = json!({"title": "Three photos", "description": "A carousel #e2e",
                             "privacy_level": "SELF_ONLY", "photo_cover_index": 1,
                             "auto_add_music": true});
        let (images, id) = drop_carousel(stack, &open_id, "carousel", &options).await?;
        let post = stack.wait_final(&id, POST_TIMEOUT).await?;
        ensure!(post["state"] == "PUBLISHED", "{post}");
        ensure!(post["media"] == "photos", "{post}");
        let publish = check_carousel(stack, &door, &open_id, &images, &post).await?;
        let info = &publish["post_info"];
        ensure!(
            info["title"] == "Three photos" && info["description"] == "A carousel #e2e",
            "{publish}"
        );
        ensure!(publish["kind"] != "Inbox", "a direct post: {publish}");
        case.finish().await
    }

    #[tokio::test]
    async fn a_carousel_as_a_draft_goes_to_the_creators_inbox() -> anyhow::Result<()> {
        let case = Case::start("front_door_carousel_draft").await?;
        let stack = &case.stack;
        let door = FrontDoor::of(stack)?;
        let open_id = stack.connect_creator(creator()).await?;
        let options = json!({"title": "For later", "mode": "draft"});
        let (images, id) = drop_carousel(stack, &open_id, "draft", &options).await?;
        let post = stack.wait_final(&id, POST_TIMEOUT).await?;
        ensure!(post["state"] == "SENT_TO_INBOX", "{post}");
        let publish = check_carousel(stack, &door, &open_id, &images, &post).await?;
        ensure!(publish["kind"] == "Inbox", "MEDIA_UPLOAD: {publish}");
        case.finish().await
    }
}

/// `DELETE /posts/{id}` on a pull TikTok is still downloading: the origin holds its answer,
/// so the download stays in progress until the cancel is done.
mod cancel {
    use super::*;

    /// Polls the post until TikTok has it (`PROCESSING` with a publish id).
    async fn wait_processing(stack: &Stack, id: &str) -> anyhow::Result<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let post = stack.get_post(id).await?;
            if post["state"] == "PROCESSING" && post["publish_id"].is_string() {
                return Ok(post);
            }
            ensure!(
                tokio::time::Instant::now() < deadline && post["final"] != true,
                "the post never reached PROCESSING: {post}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    #[tokio::test]
    async fn a_pull_cancelled_while_tiktok_downloads_ends_cancelled_at_both_ends()
    -> anyhow::Result<()> {
        let case = Case::start_alone("front_door_cancel").await?;
        let stack = &case.stack;
        let door = FrontDoor::of(stack)?;
        let open_id = stack.connect_creator(creator()).await?;
        door.set_hold(stack, true).await?;
        let outcome = async {
            let options = options("Cancelled while pulled", Some("PULL_FROM_URL"));
            let (_, id) = drop_video(stack, &open_id, "cancelled.mp4", SMALL, &options).await?;
            wait_processing(stack, &id).await?;
            // The first status poll (5 s after init) sees the download going on.
            tokio::time::sleep(Duration::from_secs(7)).await;
            let downloading = stack.get_post(&id).await?;
            ensure!(
                downloading["state"] == "PROCESSING" && downloading["downloaded_bytes"] == 0,
                "TikTok's progress is not shown: {downloading}"
            );
            let (status, answer) = stack.cancel_post(&id).await?;
            ensure!(
                status == 200 && answer["state"] == "CANCELLED",
                "DELETE answered {status}: {answer}"
            );
            Ok::<_, anyhow::Error>(id)
        }
        .await;
        door.set_hold(stack, false).await?;
        let id = outcome?;
        ensure!(
            stack.statuses_of(&open_id, "Cancel").await? == [200],
            "TikTok's cancel was called once"
        );
        // Given time to go wrong: the run is stopped, nothing moves the post again.
        tokio::time::sleep(Duration::from_secs(6)).await;
        let post = stack.get_post(&id).await?;
        ensure!(post["state"] == "CANCELLED", "{post}");
        ensure!(
            post["failure"].is_null(),
            "a cancel is not a failure: {post}"
        );
        let publishes = stack.publishes_of(&open_id).await?;
        let publish = only(&publishes, "publish at the fake")?;
        ensure!(
            publish["status"] == "FAILED" && publish["fail_reason"] == "publish_cancelled",
            "{publish}"
        );
        ensure!(
            stack.statuses_of(&open_id, "DirectInit").await? == [200],
            "the post was asked for again"
        );
        // Asked again, the cancelled post is answered as it is, without TikTok.
        let (status, again) = stack.cancel_post(&id).await?;
        ensure!(
            status == 200 && again["state"] == "CANCELLED",
            "{status}: {again}"
        );
        ensure!(stack.statuses_of(&open_id, "Cancel").await? == [200]);
        case.finish().await
    }
}

/// The distribution's other behaviours: the API's public routes through the front door.
mod public_routes {
    use super::*;

    fn location(answer: &reqwest::Response) -> anyhow::Result<String> {
        answer
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .with_context(|| format!("a {} without Location", answer.status()))
    }

    /// The whole OAuth connect with its two hops on our side (oauth-start, oauth-callback)
    /// taken through the front door: query strings and cookies pass both ways.
    #[tokio::test]
    async fn an_account_connects_through_the_front_door() -> anyhow::Result<()> {
        let case = Case::start("front_door_oauth").await?;
        let stack = &case.stack;
        let door = FrontDoor::of(stack)?;
        let client = door.client()?;
        let open_id = stack.seed_creator(&creator()).await?;
        let link = stack
            .http
            .post(format!("{}/accounts/connect-link", stack.api))
            .json(&json!({}))
            .send()
            .await?
            .json::<Value>()
            .await?;
        let link = link["url"].as_str().context("no connect link")?;
        let start = client.get(door.moved(stack, link)?).send().await?;
        ensure!(
            start.status().is_redirection(),
            "oauth-start: {}",
            start.status()
        );
        let authorize = location(&start)?;
        ensure!(authorize.starts_with(&stack.fake), "{authorize}");
        let binding: Vec<String> = start
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
            .collect();
        ensure!(!binding.is_empty(), "oauth-start set no binding cookie");
        let consent = stack
            .http
            .get(&authorize)
            .header(
                reqwest::header::COOKIE,
                format!("{FAKE_LOGIN_COOKIE}={open_id}"),
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await?;
        let callback = door.moved(stack, &location(&consent)?)?;
        let done = client
            .get(&callback)
            .header(reqwest::header::COOKIE, binding.join("; "))
            .send()
            .await?;
        ensure!(
            done.status().as_u16() == 200,
            "oauth-callback: {}",
            done.status()
        );
        ensure!(
            stack.account_item(&open_id).await?.is_some(),
            "the callback through the front door stored no account"
        );
        // The /oauth/* behaviour takes GET and HEAD only: CloudFront refuses the rest.
        let posted = client.post(&callback).send().await?;
        ensure!(posted.status().as_u16() == 403, "{}", posted.status());
        case.finish().await
    }

    /// A webhook event reaches tiktok-webhook through the front door with its body and
    /// signature header: an unsigned one is refused there exactly as on the API.
    #[tokio::test]
    async fn a_webhook_reaches_the_function_through_the_front_door() -> anyhow::Result<()> {
        let case = Case::start("front_door_webhook").await?;
        let stack = &case.stack;
        let door = FrontDoor::of(stack)?;
        let send = |client: &reqwest::Client, base: &str| {
            client
                .post(format!("{base}/webhooks/tiktok"))
                .header("TikTok-Signature", "t=1,s=00")
                .body(r#"{"event":"post.publish.complete","content":"{}"}"#)
                .send()
        };
        let direct = send(&stack.http, &stack.api).await?;
        let through = send(&door.client()?, &door.url).await?;
        ensure!(
            direct.status().as_u16() == 401 && through.status() == direct.status(),
            "the API answered {}, the front door {}",
            direct.status(),
            through.status()
        );
        let (direct, through) = (direct.text().await?, through.text().await?);
        ensure!(through == direct, "{through} != {direct}");
        case.finish().await
    }
}
