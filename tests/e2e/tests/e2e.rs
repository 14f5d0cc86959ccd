//! The end-to-end suite; run under `scripts/local-stack run`:
//!
//! ```sh
//! scripts/local-stack run -- cargo test -p e2e --features local-stack-tests --test e2e
//! ```
//!
//! Every case uses a fresh creator at the fake TikTok, connected through the real OAuth
//! handlers, drops its videos into the real bucket (or posts them through the real API), and
//! follows the post record until it is final; then it checks what TikTok received and that
//! the fake saw no breach of TikTok's contract. Cases run side by side (cargo's test
//! threads); faults are injected for one account only. Without a stack every case fails and
//! says how to run the suite. Per-case times land in `<stack dir>/e2e-timings.txt`.

use std::time::Duration;

use anyhow::{Context, ensure};
use e2e::{Case, PutVideo, Stack, caption_of_utf16_units, only};
use serde_json::{Value, json};

/// How long a post may take to become final (the 300 MB one included).
const POST_TIMEOUT: Duration = Duration::from_secs(420);
/// Under TikTok's "send whole" limit: one chunk.
const SMALL: u64 = 3_000_000;
const MB_100: u64 = 100_000_000;
const MB_300: u64 = 300_000_000;
/// The smallest size that is split: two chunks of 35,000,000 bytes.
const TWO_CHUNKS: u64 = 70_000_000;
/// The chunk plan's limits, valid whether TikTok's "MB" is 10^6 or 2^20 bytes.
const MIN_CHUNK: u64 = 5 * 1024 * 1024;
const MAX_CHUNK: u64 = 64_000_000;

fn creator() -> Value {
    json!({"nickname": "E2E Creator", "username": "e2e.creator"})
}

fn public_post(title: &str) -> Value {
    json!({"title": title, "privacy_level": "PUBLIC_TO_EVERYONE"})
}

fn private_post(title: &str) -> Value {
    json!({"title": title, "privacy_level": "SELF_ONLY"})
}

/// How a post is started.
#[derive(Clone, Copy, Debug)]
enum Route {
    /// The video and its manifest dropped under the upload prefix (S3 events).
    S3,
    /// The video put outside the prefix, then `POST /posts`.
    Api,
}

/// Puts the video in the bucket and starts its post the `route` way; returns the video and
/// the post's id.
async fn start_post(
    stack: &Stack,
    route: Route,
    open_id: &str,
    name: &str,
    size: u64,
    options: &Value,
) -> anyhow::Result<(PutVideo, String)> {
    match route {
        Route::S3 => {
            let key = stack.upload_key(open_id, name);
            stack.put_manifest(&key, options).await?;
            let video = stack.put_video(&key, size, 10, seed_of(name)).await?;
            let id = stack
                .post_id_of(open_id, &key, Duration::from_secs(60))
                .await?;
            Ok((video, id))
        }
        Route::Api => {
            let key = stack.api_key(open_id, name);
            let video = stack.put_video(&key, size, 10, seed_of(name)).await?;
            let body = json!({"account": open_id, "key": key, "options": options});
            let (status, post) = stack.create_post(&body, None).await?;
            ensure!(status == 201, "POST /posts answered {status}: {post}");
            let id = post["id"].as_str().context("no id in the post")?.to_owned();
            Ok((video, id))
        }
    }
}

/// A seed for the video's bytes from its name: different videos, different bytes.
fn seed_of(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// What a correct publish looks like at the fake: one publish of the account, complete, the
/// same bytes, a valid plan whose every chunk was taken once, in order, on the first try.
async fn check_single_clean_publish(
    stack: &Stack,
    open_id: &str,
    video: &PutVideo,
    post: &Value,
) -> anyhow::Result<Value> {
    let publishes = stack.publishes_of(open_id).await?;
    let publish = only(&publishes, "publish at the fake")?.clone();
    ensure!(publish["complete"] == true, "upload incomplete: {publish}");
    ensure!(
        publish["video_sha256"].as_str() == Some(video.sha256.as_str()),
        "TikTok received other bytes: {} != {}",
        publish["video_sha256"],
        video.sha256
    );
    ensure!(
        post["publish_id"] == publish["publish_id"],
        "the post records publish {} but TikTok has {}",
        post["publish_id"],
        publish["publish_id"]
    );
    let plan = &publish["plan"];
    let (size, chunk, count) = (
        plan["video_size"].as_u64().context("video_size")?,
        plan["chunk_size"].as_u64().context("chunk_size")?,
        plan["total_chunk_count"]
            .as_u64()
            .context("total_chunk_count")?,
    );
    ensure!(
        size == video.size,
        "plan of {size} bytes for a {}-byte video",
        video.size
    );
    if size <= MAX_CHUNK {
        ensure!(
            (chunk, count) == (size, 1),
            "a small video goes whole: {plan}"
        );
    } else {
        ensure!(
            (MIN_CHUNK..=MAX_CHUNK).contains(&chunk) && count == size / chunk,
            "plan not valid under both readings of MB: {plan}"
        );
        ensure!(
            size - chunk * count < 1_000,
            "last chunk leans on the remainder: {plan}"
        );
    }
    let mut expected = vec![206u64; usize::try_from(count - 1).unwrap_or_default()];
    expected.push(201);
    let uploads = stack.statuses_of(open_id, "UploadChunk").await?;
    ensure!(
        uploads == expected,
        "chunk PUTs answered {uploads:?}, expected each of the {count} chunks once, in order"
    );
    Ok(publish)
}

/// A post that must be published (or sent to the inbox), checked from the post record to
/// the bytes TikTok received.
async fn published_case(
    name: &'static str,
    route: Route,
    size: u64,
    options: Value,
) -> anyhow::Result<()> {
    let case = Case::start(name).await?;
    let stack = &case.stack;
    let open_id = stack.connect_creator(creator()).await?;
    let file = format!("{name}.mp4");
    let (video, id) = start_post(stack, route, &open_id, &file, size, &options).await?;
    let post = stack.wait_final(&id, POST_TIMEOUT).await?;
    let draft = options["mode"] == "draft";
    let expected = if draft { "SENT_TO_INBOX" } else { "PUBLISHED" };
    ensure!(post["state"] == expected, "post is not {expected}: {post}");
    let publish = check_single_clean_publish(stack, &open_id, &video, &post).await?;
    if draft {
        ensure!(
            publish["kind"] == "Inbox",
            "a draft goes to the inbox: {publish}"
        );
        ensure!(
            publish["post_info"].is_null(),
            "a draft has no post_info: {publish}"
        );
    } else {
        ensure!(publish["kind"] == "Direct", "{publish}");
        let info = &publish["post_info"];
        ensure!(
            info["title"] == options["title"],
            "caption changed on the way: {info}"
        );
        ensure!(info["privacy_level"] == options["privacy_level"], "{info}");
    }
    if options["privacy_level"] == "PUBLIC_TO_EVERYONE" {
        let public = publish["post_id"]
            .as_i64()
            .context("no public post id at TikTok")?;
        ensure!(
            post["public_post_ids"] == json!([public.to_string()]),
            "the post does not show TikTok's public id {public}: {post}"
        );
    }
    ensure!(
        stack.object_size(&video.key).await? == Some(i64::try_from(size)?),
        "the video was not left in place"
    );
    case.finish().await
}

mod published {
    use super::*;

    #[tokio::test]
    async fn small_video_dropped_in_s3_is_published_in_one_chunk() -> anyhow::Result<()> {
        published_case("s3_small", Route::S3, SMALL, public_post("small #e2e")).await
    }

    #[tokio::test]
    async fn small_video_posted_through_the_api_is_published_in_one_chunk() -> anyhow::Result<()> {
        published_case("api_small", Route::Api, SMALL, public_post("small #e2e")).await
    }

    #[tokio::test]
    async fn video_of_100_mb_dropped_in_s3_arrives_byte_exact_in_chunks() -> anyhow::Result<()> {
        published_case("s3_100mb", Route::S3, MB_100, private_post("100 MB")).await
    }

    #[tokio::test]
    async fn video_of_100_mb_posted_through_the_api_arrives_byte_exact_in_chunks()
    -> anyhow::Result<()> {
        published_case("api_100mb", Route::Api, MB_100, private_post("100 MB")).await
    }

    #[tokio::test]
    async fn video_of_300_mb_dropped_in_s3_arrives_byte_exact_in_chunks() -> anyhow::Result<()> {
        published_case("s3_300mb", Route::S3, MB_300, private_post("300 MB")).await
    }

    #[tokio::test]
    async fn video_of_300_mb_posted_through_the_api_arrives_byte_exact_in_chunks()
    -> anyhow::Result<()> {
        published_case("api_300mb", Route::Api, MB_300, private_post("300 MB")).await
    }

    #[tokio::test]
    async fn draft_dropped_in_s3_is_sent_to_the_inbox() -> anyhow::Result<()> {
        published_case("s3_draft", Route::S3, SMALL, json!({"mode": "draft"})).await
    }

    #[tokio::test]
    async fn draft_posted_through_the_api_is_sent_to_the_inbox() -> anyhow::Result<()> {
        published_case("api_draft", Route::Api, SMALL, json!({"mode": "draft"})).await
    }

    #[tokio::test]
    async fn caption_of_exactly_2200_utf16_units_dropped_in_s3_arrives_intact() -> anyhow::Result<()>
    {
        let caption = caption_of_utf16_units(2200);
        published_case("s3_caption_2200", Route::S3, SMALL, public_post(&caption)).await
    }

    #[tokio::test]
    async fn caption_of_exactly_2200_utf16_units_posted_through_the_api_arrives_intact()
    -> anyhow::Result<()> {
        let caption = caption_of_utf16_units(2200);
        published_case("api_caption_2200", Route::Api, SMALL, public_post(&caption)).await
    }
}

/// What a refused post looks like: REFUSED with a reason a person can act on, nothing sent
/// to TikTok (at most the creator's settings were read, and user info at connect), the
/// object left in place.
async fn check_refused(
    stack: &Stack,
    open_id: &str,
    key: &str,
    post: &Value,
    reason_says: &[&str],
) -> anyhow::Result<()> {
    ensure!(
        post["state"] == "REFUSED",
        "the post is not REFUSED: {post}"
    );
    let failure = &post["failure"];
    ensure!(failure["kind"] == "PostRefused", "{failure}");
    let reason = failure["reason"].as_str().unwrap_or_default();
    for words in reason_says {
        ensure!(
            reason.contains(words),
            "the reason {reason:?} does not say {words:?}"
        );
    }
    let calls = stack.calls_of(open_id).await?;
    let reached = calls
        .iter()
        .filter(|c| {
            !matches!(
                c["endpoint"].as_str(),
                Some("CreatorInfo" | "Token" | "Authorize" | "UserInfo")
            )
        })
        .count();
    ensure!(reached == 0, "the refused post reached TikTok: {calls:?}");
    ensure!(
        stack.publishes_of(open_id).await?.is_empty(),
        "a publish was made"
    );
    ensure!(
        stack.object_size(key).await?.is_some(),
        "the object {key} was not left in place"
    );
    Ok(())
}

mod refused {
    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(120);

    #[tokio::test]
    async fn privacy_level_the_creator_does_not_offer() -> anyhow::Result<()> {
        let case = Case::start("refused_privacy_level").await?;
        let stack = &case.stack;
        let open_id = stack
            .connect_creator(json!({"privacy_level_options": ["FOLLOWER_OF_CREATOR", "SELF_ONLY"]}))
            .await?;
        let key = stack.upload_key(&open_id, "public.mp4");
        stack
            .put_manifest(&key, &public_post("for everyone"))
            .await?;
        stack.put_video(&key, SMALL, 10, 1).await?;
        let post = stack.wait_final_for(&open_id, &key, TIMEOUT).await?;
        check_refused(
            stack,
            &open_id,
            &key,
            &post,
            &["PUBLIC_TO_EVERYONE", "SELF_ONLY"],
        )
        .await?;
        case.finish().await
    }

    #[tokio::test]
    async fn caption_too_long() -> anyhow::Result<()> {
        let case = Case::start("refused_caption_2201").await?;
        let stack = &case.stack;
        let open_id = stack.connect_creator(creator()).await?;
        let key = stack.upload_key(&open_id, "long.mp4");
        stack
            .put_manifest(&key, &private_post(&caption_of_utf16_units(2201)))
            .await?;
        stack.put_video(&key, SMALL, 10, 2).await?;
        let post = stack.wait_final_for(&open_id, &key, TIMEOUT).await?;
        check_refused(stack, &open_id, &key, &post, &["title", "2201", "2200"]).await?;
        case.finish().await
    }

    #[tokio::test]
    async fn object_that_is_not_a_video() -> anyhow::Result<()> {
        let case = Case::start("refused_not_a_video").await?;
        let stack = &case.stack;
        let open_id = stack.connect_creator(creator()).await?;
        let key = stack.upload_key(&open_id, "notes.mp4");
        stack.put_manifest(&key, &private_post("notes")).await?;
        let text = b"Shopping list: eggs, milk, and a tripod.\n".repeat(200);
        stack.put_object(&key, text, "video/mp4").await?;
        let post = stack.wait_final_for(&open_id, &key, TIMEOUT).await?;
        check_refused(stack, &open_id, &key, &post, &["not a video"]).await?;
        case.finish().await
    }

    #[tokio::test]
    async fn empty_object() -> anyhow::Result<()> {
        let case = Case::start("refused_empty").await?;
        let stack = &case.stack;
        let open_id = stack.connect_creator(creator()).await?;
        let key = stack.upload_key(&open_id, "empty.mp4");
        stack.put_manifest(&key, &private_post("nothing")).await?;
        stack.put_object(&key, Vec::new(), "video/mp4").await?;
        let post = stack.wait_final_for(&open_id, &key, TIMEOUT).await?;
        check_refused(stack, &open_id, &key, &post, &["empty"]).await?;
        case.finish().await
    }

    #[tokio::test]
    async fn account_never_connected() -> anyhow::Result<()> {
        let case = Case::start("refused_never_connected").await?;
        let stack = &case.stack;
        // A real TikTok user, who never connected this app.
        let open_id = stack.seed_creator(&creator()).await?;
        let key = stack.upload_key(&open_id, "stranger.mp4");
        stack.put_manifest(&key, &private_post("who am I")).await?;
        stack.put_video(&key, SMALL, 10, 3).await?;
        let post = stack.wait_final_for(&open_id, &key, TIMEOUT).await?;
        ensure!(
            post["state"] == "REFUSED",
            "the post of an account never connected must end refused: {post}"
        );
        let failure = &post["failure"];
        ensure!(failure["kind"] == "PostRefused", "{failure}");
        let said = format!("{} {}", failure["reason"], failure["advice"]).to_lowercase();
        ensure!(
            said.contains("connect"),
            "the failure does not say to connect: {failure}"
        );
        let calls = stack.calls_of(&open_id).await?;
        ensure!(
            calls.is_empty(),
            "TikTok was called for an unconnected account: {calls:?}"
        );
        ensure!(
            stack.object_size(&key).await?.is_some(),
            "the video was not left in place"
        );
        // Through the API it is refused at once, without a post.
        let body = json!({"account": open_id, "key": key, "options": private_post("again")});
        let (status, answer) = stack.create_post(&body, None).await?;
        ensure!(
            status == 404,
            "POST /posts for an unknown account: {status} {answer}"
        );
        ensure!(answer["error"]["code"] == "account_not_found", "{answer}");
        case.finish().await
    }

    #[tokio::test]
    async fn malformed_options() -> anyhow::Result<()> {
        let case = Case::start("refused_malformed_options").await?;
        let stack = &case.stack;
        let open_id = stack.connect_creator(creator()).await?;
        let key = stack.upload_key(&open_id, "typo.mp4");
        // A typo must never post with defaults.
        stack
            .put_manifest_text(&key, r#"{"privacy_level": "SELF_ONLY", "titel": "typo"}"#)
            .await?;
        stack.put_video(&key, SMALL, 10, 4).await?;
        let post = stack.wait_final_for(&open_id, &key, TIMEOUT).await?;
        check_refused(stack, &open_id, &key, &post, &["titel"]).await?;
        // The API says which field, and records nothing.
        let other = stack.api_key(&open_id, "typo.mp4");
        stack.put_video(&other, SMALL, 10, 4).await?;
        let body = json!({"account": open_id, "key": other,
                          "options": {"privacy_level": "EVERYONE", "title": "x"}});
        let (status, answer) = stack.create_post(&body, None).await?;
        ensure!(
            status == 400,
            "POST /posts with a bad privacy level: {status} {answer}"
        );
        let field = answer["error"]["field"].as_str().unwrap_or_default();
        ensure!(field.contains("privacy_level"), "{answer}");
        let posts = stack.posts_of(&open_id).await?;
        ensure!(posts.len() == 1, "a refused request made a post: {posts:?}");
        case.finish().await
    }

    #[tokio::test]
    async fn options_that_never_arrive() -> anyhow::Result<()> {
        let case = Case::start("refused_options_never_arrive").await?;
        let stack = &case.stack;
        let open_id = stack.connect_creator(creator()).await?;
        let key = stack.upload_key(&open_id, "alone.mp4");
        stack.put_video(&key, SMALL, 10, 5).await?;
        let id = stack
            .post_id_of(&open_id, &key, Duration::from_secs(60))
            .await?;
        // It waits for its manifest...
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let post = stack.get_post(&id).await?;
            if post["state"] == "AWAITING_OPTIONS" {
                break;
            }
            ensure!(
                post["final"] == false,
                "the post ended without waiting: {post}"
            );
            ensure!(
                std::time::Instant::now() < deadline,
                "never AWAITING_OPTIONS: {post}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        // ...for 15 minutes: make it as old as that (the stack's waits are real time).
        stack
            .backdate_post(&id, Duration::from_secs(16 * 60))
            .await?;
        let post = stack.wait_final(&id, TIMEOUT).await?;
        check_refused(stack, &open_id, &key, &post, &["options never arrived"]).await?;
        ensure!(
            post["failure"]["advice"]
                .as_str()
                .unwrap_or_default()
                .contains(".json"),
            "the advice does not name the manifest: {post}"
        );
        case.finish().await
    }

    #[tokio::test]
    async fn video_longer_than_the_creator_may_post() -> anyhow::Result<()> {
        let case = Case::start("refused_too_long").await?;
        let stack = &case.stack;
        let open_id = stack
            .connect_creator(json!({"nickname": "Short Form", "max_video_post_duration_sec": 60}))
            .await?;
        let key = stack.upload_key(&open_id, "long-take.mp4");
        stack
            .put_manifest(&key, &private_post("two minutes"))
            .await?;
        stack.put_video(&key, SMALL, 120, 6).await?;
        let post = stack.wait_final_for(&open_id, &key, TIMEOUT).await?;
        check_refused(stack, &open_id, &key, &post, &["120 s", "60 s"]).await?;
        case.finish().await
    }
}

mod survived {
    use super::*;

    /// Drops a video with its manifest and waits for the post to be final.
    async fn drop_and_wait(
        stack: &Stack,
        open_id: &str,
        name: &str,
        size: u64,
    ) -> anyhow::Result<(PutVideo, Value)> {
        let (video, id) =
            start_post(stack, Route::S3, open_id, name, size, &private_post(name)).await?;
        let post = stack.wait_final(&id, POST_TIMEOUT).await?;
        Ok((video, post))
    }

    #[tokio::test]
    async fn rate_limited_init_is_retried_then_published() -> anyhow::Result<()> {
        let case = Case::start("survived_init_429").await?;
        let stack = &case.stack;
        let open_id = stack.connect_creator(creator()).await?;
        stack
            .inject_for(
                &open_id,
                json!({"type": "HttpError", "endpoint": "DirectInit", "status": 429,
                       "code": "rate_limit_exceeded", "times": 1}),
            )
            .await?;
        let (video, post) = drop_and_wait(stack, &open_id, "busy.mp4", SMALL).await?;
        ensure!(post["state"] == "PUBLISHED", "{post}");
        check_single_clean_publish(stack, &open_id, &video, &post).await?;
        let inits = stack.statuses_of(&open_id, "DirectInit").await?;
        ensure!(inits == [429, 200], "inits answered {inits:?}");
        case.finish().await
    }

    #[tokio::test]
    async fn server_errors_and_resets_during_chunk_puts_are_retried() -> anyhow::Result<()> {
        let case = Case::start("survived_chunk_5xx_and_reset").await?;
        let stack = &case.stack;
        let open_id = stack.connect_creator(creator()).await?;
        // The first PUT answers 500; the second chunk's connection is reset mid-body.
        stack
            .inject_for(
                &open_id,
                json!({"type": "HttpError", "endpoint": "UploadChunk", "status": 500,
                       "code": "internal_error", "times": 1}),
            )
            .await?;
        stack
            .inject_for(
                &open_id,
                json!({"type": "OnChunk", "chunk": 1,
                       "fault": {"type": "ResetMidBody", "after_bytes": 4_000_000, "times": 1}}),
            )
            .await?;
        let (video, post) = drop_and_wait(stack, &open_id, "flaky.mp4", TWO_CHUNKS).await?;
        ensure!(post["state"] == "PUBLISHED", "{post}");
        let publish = only(&stack.publishes_of(&open_id).await?, "publish")?.clone();
        ensure!(
            publish["video_sha256"].as_str() == Some(video.sha256.as_str()),
            "{publish}"
        );
        ensure!(publish["plan"]["total_chunk_count"] == 2, "{publish}");
        // Each range was taken once, in order: chunk 0 (after its 500), then chunk 1 (after
        // the reset); chunk 0 was not sent again.
        let puts = stack.statuses_of(&open_id, "UploadChunk").await?;
        ensure!(puts == [500, 206, 0, 201], "chunk PUTs answered {puts:?}");
        case.finish().await
    }

    #[tokio::test]
    async fn access_token_expired_mid_run_is_refreshed_once_and_the_new_one_kept()
    -> anyhow::Result<()> {
        let case = Case::start("survived_token_expired_mid_run").await?;
        let stack = &case.stack;
        let open_id = stack.connect_creator(creator()).await?;
        let sealed = |item: Option<std::collections::HashMap<_, _>>| {
            item.and_then(|i| i.get("refresh_token").cloned())
        };
        let refresh_before = sealed(stack.account_item(&open_id).await?);
        ensure!(
            refresh_before.is_some(),
            "the account has no refresh token stored"
        );
        // The token runs out between the upload and the first status fetch.
        stack
            .inject(
                &json!({"type": "ExpireAccessTokenOnCall", "open_id": open_id,
                            "endpoint": "StatusFetch"}),
            )
            .await?;
        let (video, post) = drop_and_wait(stack, &open_id, "expiring.mp4", SMALL).await?;
        ensure!(post["state"] == "PUBLISHED", "{post}");
        check_single_clean_publish(stack, &open_id, &video, &post).await?;
        let tokens = stack.statuses_of(&open_id, "Token").await?;
        ensure!(
            tokens == [200, 200],
            "expected the code exchange and one refresh: {tokens:?}"
        );
        let fetches = stack.statuses_of(&open_id, "StatusFetch").await?;
        ensure!(
            fetches.first() == Some(&401),
            "status fetches answered {fetches:?}"
        );
        ensure!(
            fetches.iter().filter(|s| **s == 401).count() == 1,
            "{fetches:?}"
        );
        let refresh_after = sealed(stack.account_item(&open_id).await?);
        ensure!(
            refresh_after.is_some() && refresh_after != refresh_before,
            "the rotated refresh token was not stored"
        );
        // The stored tokens are the rotated ones: the next post needs no refresh (an old
        // refresh token would be a RotatedRefreshToken violation, an old access token a 401).
        let (_, next) = drop_and_wait(stack, &open_id, "after.mp4", SMALL).await?;
        ensure!(next["state"] == "PUBLISHED", "{next}");
        let tokens = stack.statuses_of(&open_id, "Token").await?;
        ensure!(tokens.len() == 2, "another token call: {tokens:?}");
        let account = stack
            .fake_get(&format!("/__fake/accounts/{open_id}"))
            .await?;
        ensure!(
            account["access_token_expired"] == false,
            "{}",
            account["access_token_expired"]
        );
        case.finish().await
    }

    #[tokio::test]
    async fn expired_upload_url_restarts_the_upload_which_completes_once() -> anyhow::Result<()> {
        let case = Case::start("survived_upload_url_expired").await?;
        let stack = &case.stack;
        let open_id = stack.connect_creator(creator()).await?;
        stack
            .inject(
                &json!({"type": "ExpireUploadUrlAfterChunks", "open_id": open_id,
                            "chunks": 1}),
            )
            .await?;
        let (video, post) = drop_and_wait(stack, &open_id, "slow.mp4", TWO_CHUNKS).await?;
        ensure!(post["state"] == "PUBLISHED", "{post}");
        let publishes = stack.publishes_of(&open_id).await?;
        ensure!(
            publishes.len() == 2,
            "expected the expired upload and its restart: {publishes:?}"
        );
        let (expired, restarted) = (&publishes[0], &publishes[1]);
        ensure!(
            expired["complete"] == false && expired["chunks_taken"] == 1,
            "the first upload: {expired}"
        );
        ensure!(restarted["complete"] == true, "{restarted}");
        ensure!(
            restarted["video_sha256"].as_str() == Some(video.sha256.as_str()),
            "{restarted}"
        );
        ensure!(post["publish_id"] == restarted["publish_id"], "{post}");
        let puts = stack.statuses_of(&open_id, "UploadChunk").await?;
        ensure!(puts == [206, 403, 206, 201], "chunk PUTs answered {puts:?}");
        case.finish().await
    }

    #[tokio::test]
    async fn tiktok_failing_the_post_is_recorded_with_its_reason_and_not_retried()
    -> anyhow::Result<()> {
        let case = Case::start("survived_tiktok_failed").await?;
        let stack = &case.stack;
        let open_id = stack.connect_creator(creator()).await?;
        stack
            .inject(&json!({"type": "FailPost", "open_id": open_id,
                            "fail_reason": "frame_rate_check_failed"}))
            .await?;
        let (_, post) = drop_and_wait(stack, &open_id, "jerky.mp4", SMALL).await?;
        ensure!(post["state"] == "FAILED", "{post}");
        let failure = &post["failure"];
        ensure!(failure["kind"] == "TikTokPostFailed", "{failure}");
        ensure!(
            failure["reason"]
                .as_str()
                .unwrap_or_default()
                .contains("frame_rate_check_failed"),
            "{failure}"
        );
        let publishes = stack.publishes_of(&open_id).await?;
        ensure!(
            publishes.len() == 1,
            "the failed post was uploaded again: {publishes:?}"
        );
        let fetches = stack.statuses_of(&open_id, "StatusFetch").await?.len();
        tokio::time::sleep(Duration::from_secs(6)).await;
        let later = stack.statuses_of(&open_id, "StatusFetch").await?.len();
        ensure!(
            later == fetches,
            "status still polled after FAILED: {fetches} -> {later}"
        );
        case.finish().await
    }

    #[tokio::test]
    async fn same_s3_event_delivered_twice_makes_one_post() -> anyhow::Result<()> {
        let case = Case::start("survived_duplicate_s3_event").await?;
        let stack = &case.stack;
        let open_id = stack.connect_creator(creator()).await?;
        let key = stack.upload_key(&open_id, "twice.mp4");
        stack.put_manifest(&key, &private_post("twice")).await?;
        let video = stack.put_video(&key, SMALL, 10, 7).await?;
        // EventBridge delivers at least once: the same event (same id) comes again, twice.
        let event = stack.object_created_event(&key, SMALL, &format!("e2e-duplicate-{open_id}"));
        for _ in 0..2 {
            let (status, answer) = stack.invoke("s3-trigger", &event).await?;
            ensure!(status == 200, "s3-trigger answered {status}: {answer}");
        }
        let post = stack.wait_final_for(&open_id, &key, POST_TIMEOUT).await?;
        ensure!(post["state"] == "PUBLISHED", "{post}");
        check_single_clean_publish(stack, &open_id, &video, &post).await?;
        let posts = stack.posts_of(&open_id).await?;
        ensure!(posts.len() == 1, "{posts:?}");
        case.finish().await
    }

    #[tokio::test]
    async fn same_api_request_sent_twice_makes_one_post() -> anyhow::Result<()> {
        let case = Case::start("survived_duplicate_api_request").await?;
        let stack = &case.stack;
        let open_id = stack.connect_creator(creator()).await?;
        let key = stack.api_key(&open_id, "retried.mp4");
        let video = stack.put_video(&key, SMALL, 10, 8).await?;
        let body = json!({"account": open_id, "key": key, "options": private_post("retried")});
        let idempotency_key = format!("e2e-{open_id}");
        let (first, created) = stack.create_post(&body, Some(&idempotency_key)).await?;
        let (again, replayed) = stack.create_post(&body, Some(&idempotency_key)).await?;
        ensure!(first == 201, "{first} {created}");
        ensure!(
            again == 201 || again == 200,
            "the retry answered {again}: {replayed}"
        );
        ensure!(created["id"] == replayed["id"], "{created} / {replayed}");
        // Without the key, the same request still finds the same post.
        let (plain, found) = stack.create_post(&body, None).await?;
        ensure!(
            plain == 200 && found["id"] == created["id"],
            "{plain} {found}"
        );
        let id = created["id"].as_str().context("id")?;
        let post = stack.wait_final(id, POST_TIMEOUT).await?;
        ensure!(post["state"] == "PUBLISHED", "{post}");
        check_single_clean_publish(stack, &open_id, &video, &post).await?;
        ensure!(
            stack.posts_of(&open_id).await?.len() == 1,
            "more than one post"
        );
        case.finish().await
    }

    #[tokio::test]
    async fn same_video_through_s3_and_the_api_makes_one_post() -> anyhow::Result<()> {
        let case = Case::start("survived_s3_and_api").await?;
        let stack = &case.stack;
        let open_id = stack.connect_creator(creator()).await?;
        let key = stack.upload_key(&open_id, "both.mp4");
        let options = private_post("both ways");
        stack.put_manifest(&key, &options).await?;
        let video = stack.put_video(&key, SMALL, 10, 9).await?;
        let body = json!({"account": open_id, "key": key, "options": options});
        let (status, answer) = stack.create_post(&body, None).await?;
        ensure!(
            status == 200 || status == 201,
            "POST /posts answered {status}: {answer}"
        );
        let id = answer["id"].as_str().context("id")?.to_owned();
        let post = stack.wait_final(&id, POST_TIMEOUT).await?;
        ensure!(post["state"] == "PUBLISHED", "{post}");
        check_single_clean_publish(stack, &open_id, &video, &post).await?;
        let posts = stack.posts_of(&open_id).await?;
        ensure!(posts.len() == 1 && posts[0].0 == id, "{posts:?}");
        case.finish().await
    }

    #[tokio::test]
    async fn chunk_upload_killed_mid_chunk_resumes_without_resending() -> anyhow::Result<()> {
        // Killing the function fails whatever it serves: no other case runs meanwhile.
        let case = Case::start_alone("survived_chunk_upload_killed").await?;
        let stack = &case.stack;
        let open_id = stack.connect_creator(creator()).await?;
        stack
            .inject_for(
                &open_id,
                json!({"type": "OnChunk", "chunk": 1,
                       "fault": {"type": "StallBody", "after_bytes": 2_000_000,
                                 "stall_ms": 20_000, "times": 1}}),
            )
            .await?;
        let (video, id) = start_post(
            stack,
            Route::S3,
            &open_id,
            "killed.mp4",
            TWO_CHUNKS,
            &private_post("killed"),
        )
        .await?;
        // Chunk 0 is in; chunk 1's body is stalled at the fake.
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        loop {
            let post = stack.get_post(&id).await?;
            if post["progress"]["chunks_done"] == 1 {
                break;
            }
            ensure!(post["final"] == false, "{post}");
            ensure!(
                std::time::Instant::now() < deadline,
                "chunk 0 never done: {post}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        let pid = stack.kill_function("chunk-upload")?;
        eprintln!("e2e: killed chunk-upload (pid {pid}) while chunk 1 stalls");
        let post = stack.wait_final(&id, POST_TIMEOUT).await?;
        ensure!(post["state"] == "PUBLISHED", "{post}");
        let publish = only(&stack.publishes_of(&open_id).await?, "publish")?.clone();
        ensure!(
            publish["video_sha256"].as_str() == Some(video.sha256.as_str()),
            "{publish}"
        );
        // Chunk 0 once; chunk 1 cut, then once: nothing re-sent, nothing out of order. The
        // fake records the cut PUT (status 0) only when its stall ends.
        let deadline = std::time::Instant::now() + Duration::from_secs(40);
        let puts = loop {
            let puts = stack.statuses_of(&open_id, "UploadChunk").await?;
            if puts.contains(&0) || std::time::Instant::now() > deadline {
                break puts;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        let answered: Vec<u64> = puts.iter().copied().filter(|s| *s != 0).collect();
        ensure!(
            answered == [206, 201] && puts.len() == 3,
            "chunk PUTs answered {puts:?}: expected chunk 0 once, chunk 1 cut then once"
        );
        case.finish().await
    }
}

mod burst {
    use super::*;

    #[tokio::test]
    async fn ten_posts_for_one_account_are_all_published_without_a_429() -> anyhow::Result<()> {
        let case = Case::start("burst_of_10").await?;
        let stack = &case.stack;
        let open_id = stack.connect_creator(creator()).await?;
        let mut keys = Vec::new();
        for n in 0..10 {
            let key = stack.upload_key(&open_id, &format!("burst-{n}.mp4"));
            stack
                .put_manifest(&key, &private_post(&format!("burst {n}")))
                .await?;
            stack.put_video(&key, 1_000_000, 10, 100 + n).await?;
            keys.push(key);
        }
        for key in &keys {
            let post = stack.wait_final_for(&open_id, key, POST_TIMEOUT).await?;
            ensure!(post["state"] == "PUBLISHED", "{key}: {post}");
        }
        let publishes = stack.publishes_of(&open_id).await?;
        ensure!(publishes.len() == 10, "{} publishes", publishes.len());
        ensure!(
            publishes.iter().all(|p| p["complete"] == true),
            "{publishes:?}"
        );
        let calls = stack.calls_of(&open_id).await?;
        let limited: Vec<&Value> = calls.iter().filter(|c| c["status"] == 429).collect();
        ensure!(limited.is_empty(), "the fake answered 429: {limited:?}");
        case.finish().await
    }
}
