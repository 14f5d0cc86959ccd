//! Videos TikTok pulls from the front door (PULL_FROM_URL): chosen by the options or the
//! stack's default, refused before TikTok when the stack has no front door.

use tiktok_publish_core::store::Cause;

use super::*;

#[tokio::test]
async fn a_pull_asked_for_without_a_front_door_is_refused_before_tiktok() {
    let rig = rig().await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let video = rig.put_mp4("uploads/pull-me.mp4", 2_000_000, 30).await;
    let id = rig
        .post(
            &open_id,
            video.location.clone(),
            options(r#"{"privacy_level":"SELF_ONLY","source":"PULL_FROM_URL"}"#),
        )
        .await;

    let run = rig.drive(&id, vec![]).await;
    assert_eq!(run.error().kind, ErrorKind::PostRefused);

    let post = rig.record(&id).await;
    assert_eq!(post.state, PostState::Refused);
    assert_eq!(
        post.failure.expect("the refusal is recorded").cause,
        Cause::FrontDoorMissing
    );
    let fake = &rig.stack.fake;
    for endpoint in [
        Endpoint::CreatorInfo,
        Endpoint::DirectInit,
        Endpoint::UploadChunk,
    ] {
        assert_eq!(fake.call_count(endpoint), 0, "{endpoint:?}");
    }
    assert_eq!(fake.violations(), vec![]);
}

#[tokio::test]
async fn without_a_front_door_the_default_is_still_an_upload() {
    let rig = rig().await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let video = rig.put_mp4("uploads/upload-me.mp4", 2_000_000, 30).await;
    let id = rig
        .post(
            &open_id,
            video.location,
            options(r#"{"privacy_level":"SELF_ONLY"}"#),
        )
        .await;

    rig.drive(&id, vec![]).await.assert_published();
    assert_eq!(rig.stack.fake.call_count(Endpoint::UploadChunk), 1);
    assert_eq!(rig.stack.fake.violations(), vec![]);
}
