//! What the account granted and what the options ask decide what TikTok receives: an
//! upload-only account posts drafts, and comments, duets and stitches are off unless asked.

use tiktok_publish_core::store::Cause;

use super::*;

/// What a creator grants who unticks `video.publish` on TikTok's consent page.
const UPLOAD_ONLY: [&str; 2] = ["user.info.basic", "video.upload"];

#[tokio::test]
async fn an_upload_only_account_posts_a_draft_without_asking_creator_info() {
    let rig = rig().await;
    let open_id = rig
        .stack
        .connect_account_granting(AccountSeed::default(), &UPLOAD_ONLY)
        .await;
    let video = rig.put_mp4("uploads/draft-only.mp4", 2_000_000, 30).await;
    let id = rig
        .post(&open_id, video.location, options(r#"{"mode":"draft"}"#))
        .await;

    rig.drive(&id, vec![]).await.assert_published();

    assert_eq!(rig.record(&id).await.state, PostState::SentToInbox);
    let fake = &rig.stack.fake;
    // TikTok's creator_info needs video.publish, which this account did not grant.
    assert_eq!(fake.call_count(Endpoint::CreatorInfo), 0);
    assert_eq!(fake.call_count(Endpoint::InboxInit), 1);
    assert_eq!(fake.violations(), vec![]);
}

#[tokio::test]
async fn a_direct_post_for_an_upload_only_account_is_refused_before_tiktok() {
    let rig = rig().await;
    let open_id = rig
        .stack
        .connect_account_granting(AccountSeed::default(), &UPLOAD_ONLY)
        .await;
    let video = rig.put_mp4("uploads/direct.mp4", 2_000_000, 30).await;
    let id = rig
        .post(
            &open_id,
            video.location.clone(),
            options(r#"{"privacy_level":"SELF_ONLY"}"#),
        )
        .await;

    let run = rig.drive(&id, vec![]).await;
    assert_eq!(run.error().kind, ErrorKind::PostRefused);

    let post = rig.record(&id).await;
    assert_eq!(post.state, PostState::Refused);
    let failure = post.failure.expect("the refusal is recorded");
    assert_eq!(
        failure.cause,
        Cause::ScopeNotGranted {
            scope: "video.publish".into()
        }
    );
    let fake = &rig.stack.fake;
    for endpoint in [
        Endpoint::CreatorInfo,
        Endpoint::DirectInit,
        Endpoint::InboxInit,
        Endpoint::UploadChunk,
    ] {
        assert_eq!(fake.call_count(endpoint), 0, "{endpoint:?}");
    }
    // The video stays where it was.
    assert!(rig.pipeline.source.head(&video.location).await.is_ok());
    assert_eq!(fake.violations(), vec![]);
}

#[tokio::test]
async fn comments_duets_and_stitches_are_off_unless_the_options_turn_them_on() {
    let rig = rig().await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let cases = [
        (r#"{"privacy_level":"SELF_ONLY"}"#, [true, true, true]),
        (
            r#"{"privacy_level":"SELF_ONLY","allow_comment":true,"disable_stitch":false}"#,
            [true, false, false],
        ),
    ];
    for (n, (json, [duet, comment, stitch])) in cases.into_iter().enumerate() {
        let video = rig
            .put_mp4(&format!("uploads/switches-{n}.mp4"), 2_000_000, 30)
            .await;
        let id = rig.post(&open_id, video.location, options(json)).await;
        rig.drive(&id, vec![]).await.assert_published();

        let publish_id = rig.record(&id).await.publish_id.unwrap();
        let publish = rig.stack.fake.publish(&publish_id).unwrap();
        // What TikTok received, as the fake recorded it.
        let sent = publish.post_info.expect("a direct post sends post_info");
        assert_eq!(sent["disable_duet"], duet, "{json}");
        assert_eq!(sent["disable_comment"], comment, "{json}");
        assert_eq!(sent["disable_stitch"], stitch, "{json}");
    }
    assert_eq!(rig.stack.fake.violations(), vec![]);
}
