//! `DELETE /posts/{id}` on a pull TikTok is still downloading: the origin holds its answer,
//! so the download stays in progress until the cancel is done.

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
async fn a_pull_cancelled_while_tiktok_downloads_ends_cancelled_at_both_ends() -> anyhow::Result<()>
{
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
