use super::*;

#[tokio::test]
async fn a_video_pulled_by_tiktok_is_published_with_the_objects_exact_bytes() -> anyhow::Result<()>
{
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
        let (video, id) = drop_video(stack, &open_id, "fallback.mp4", TWO_CHUNKS, &options).await?;
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
