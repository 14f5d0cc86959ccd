//! Cancelling a pull TikTok is still downloading (`DELETE /posts/{id}`): TikTok's cancel,
//! then `CANCELLED`; its `publish_cancelled` status and webhook agree with it. The front door
//! here is an origin that accepts connections and never answers, so the fake's download
//! stays in `PROCESSING_DOWNLOAD` for as long as the test needs.

use std::net::{IpAddr, Ipv4Addr};

use fake_tiktok::PublishStatus;
use secrecy::SecretString;
use test_support::{MEDIA_HOST, unique_name};
use tiktok_publish_core::pipeline::FrontDoor;
use tiktok_publish_core::store::{Fact, WebhookFinal, WebhookFinalKind};
use tiktok_publish_core::tiktok::VideoSource;
use tiktok_publish_domain::media_url::MediaUrlSigner;
use tiktok_publish_testkit::PassMachine;

use super::*;

const SIGNING_KEY: &str = "pipeline-cancel-signing-key-0123456789abcdefghijklmnopqrstuvwxyz";

/// A rig that pulls from a silent front door (the listener is returned: dropping it closes
/// the port).
async fn silent_front_door_rig() -> (Rig, std::net::TcpListener) {
    let silent = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("a free port");
    let host = format!("{MEDIA_HOST}:{}", silent.local_addr().unwrap().port());
    let fake = FakeSettings {
        processing_time: Duration::from_millis(300),
        resolve: vec![(MEDIA_HOST.to_owned(), IpAddr::V4(Ipv4Addr::LOCALHOST))],
        ..FakeSettings::default()
    };
    let stack = TestStack::start_with(
        "pull-cancel",
        StackSettings {
            fake,
            versioned: true,
            bucket: Some(unique_name("cancelled")),
        },
    )
    .await;
    stack
        .fake
        .verify_url_prefix(&format!("https://{host}/media/"))
        .expect("a URL prefix TikTok takes");
    let signer = MediaUrlSigner::new(&host, SecretString::from(SIGNING_KEY)).expect("a host");
    let pipeline = stack.pipeline(PipelineSettings {
        front_door: Some(FrontDoor {
            signer,
            default_source: VideoSource::PullFromUrl,
        }),
        ..PipelineSettings::default()
    });
    (Rig { stack, pipeline }, silent)
}

/// A pull TikTok has started downloading: its post is `PROCESSING`.
async fn downloading_post(rig: &Rig) -> PostId {
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let video = rig.put_mp4("uploads/cancelled.mp4", 1_000_000, 10).await;
    let id = rig
        .post(
            &open_id,
            video.location,
            options(r#"{"privacy_level":"SELF_ONLY"}"#),
        )
        .await;
    let init = rig.pipeline.init_upload(id.as_str()).await.expect("init");
    assert!(init.pulled, "the post is pulled");
    id
}

#[tokio::test]
async fn a_pull_still_downloading_is_cancelled_at_tiktok_and_stays_cancelled() {
    let (rig, _silent) = silent_front_door_rig().await;
    let id = downloading_post(&rig).await;

    // The status step sees the download going on, and keeps its progress for `status`.
    let status = rig
        .pipeline
        .check_status(id.as_str())
        .await
        .expect("status");
    assert!(!status.is_final);
    let post = rig.record(&id).await;
    assert_eq!(
        post.downloaded_bytes,
        Some(0),
        "nothing came from the silent origin"
    );
    let publish_id = post.publish_id.clone().expect("a publish id");
    let fake = &rig.stack.fake;
    assert_eq!(
        fake.publish(&publish_id).map(|p| p.status),
        Some(PublishStatus::ProcessingDownload)
    );

    let machine = PassMachine::create().await;
    let api = rig.stack.posts_api(rig.stack.intake(&machine).await);
    let answer = api.cancel_post(id.as_str()).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["state"], "CANCELLED");
    assert_eq!(fake.call_count(Endpoint::Cancel), 1);
    let post = rig.record(&id).await;
    assert_eq!(post.state, PostState::Cancelled);
    assert_eq!(
        post.history.last().and_then(|h| h.fact.clone()),
        Some(Fact::PullCancelled)
    );

    // TikTok's own record says so, and a status step still in flight agrees.
    let at_tiktok = fake.publish(&publish_id).expect("the publish");
    assert_eq!(at_tiktok.status, PublishStatus::Failed);
    assert_eq!(at_tiktok.fail_reason.as_deref(), Some("publish_cancelled"));
    assert!(rig.pipeline.check_status(id.as_str()).await.is_err());
    assert_eq!(rig.record(&id).await.state, PostState::Cancelled);

    // A second DELETE answers the cancelled post again, without asking TikTok.
    let again = api.cancel_post(id.as_str()).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(fake.call_count(Endpoint::Cancel), 1);
    assert_eq!(fake.violations(), vec![]);
}

#[tokio::test]
async fn tiktoks_publish_cancelled_status_ends_the_post_cancelled() {
    let (rig, _silent) = silent_front_door_rig().await;
    let id = downloading_post(&rig).await;
    let post = rig.record(&id).await;
    let publish_id = post.publish_id.clone().expect("a publish id");
    // TikTok cancelled it (our DELETE reached TikTok, but its own write was lost).
    let token = rig
        .stack
        .accounts
        .get(&post.open_id)
        .await
        .unwrap()
        .unwrap()
        .access_token;
    use tiktok_publish_core::tiktok::TikTokPosting;
    rig.stack
        .tiktok
        .cancel_publish(&token, &publish_id)
        .await
        .expect("TikTok cancels a pull still downloading");

    let status = rig
        .pipeline
        .check_status(id.as_str())
        .await
        .expect("status");
    assert!(status.is_final);
    let post = rig.record(&id).await;
    assert_eq!(post.state, PostState::Cancelled, "{:?}", post.history);
    assert!(post.failure.is_none(), "a cancel is not a failure");
    assert_eq!(rig.stack.fake.violations(), vec![]);
}

#[tokio::test]
async fn tiktoks_publish_cancelled_webhook_ends_the_post_cancelled_without_a_fetch() {
    let (rig, _silent) = silent_front_door_rig().await;
    let id = downloading_post(&rig).await;
    let post = rig.record(&id).await;
    let event = WebhookFinal {
        publish_id: post.publish_id.clone().expect("a publish id"),
        kind: WebhookFinalKind::Failed,
        reason: Some("publish_cancelled".into()),
        public_post_id: None,
        event_time: unix_now(),
    };
    let fact = Fact::WebhookEvent {
        event: "post.publish.failed".into(),
    };
    rig.stack
        .posts
        .record_webhook_event(&id, PostState::Processing, None, &event, &fact, unix_now())
        .await
        .unwrap();
    let fetches = rig.stack.fake.call_count(Endpoint::StatusFetch);

    let status = rig
        .pipeline
        .check_status(id.as_str())
        .await
        .expect("status");
    assert!(status.is_final);
    assert_eq!(rig.stack.fake.call_count(Endpoint::StatusFetch), fetches);
    let post = rig.record(&id).await;
    assert_eq!(post.state, PostState::Cancelled, "{:?}", post.history);
    assert!(post.failure.is_none(), "a cancel is not a failure");
}
