//! Photo posts (carousels) from their S3 manifest through the pipeline to TikTok: the
//! trigger claims the images, init prepares them (a PNG becomes a JPEG under the account's
//! `.tiktok-prepared/` folder), signs their media URLs and asks TikTok to pull them, and the
//! post goes on as a pulled video does. The fake TikTok pulls each photo through the local
//! front door and checks it (JPEG or WebP by content, within 1080p).

use sha2::Digest;
use tiktok_publish_core::intake::Intake;
use tiktok_publish_core::store::{Cause, Fact};
use tiktok_publish_core::trigger::{DEFAULT_UPLOAD_PREFIX, TriggerOutcome, handle_object_created};
use tiktok_publish_domain::photo_rules::PhotoRefusal;
use tiktok_publish_testkit::PassMachine;

use super::pull_front_door::{front_door_rig, image_file};
use super::*;

/// The photos of a carousel under `uploads/{open_id}/trip/`: a JPEG, a WebP and a PNG
/// (which TikTok does not take), with the SHA-256 of each as written.
async fn put_carousel(rig: &Rig, open_id: &str) -> Vec<(String, String)> {
    let photos = [
        ("1.jpg", image_file(1080, 1350, image::ImageFormat::Jpeg)),
        ("2.webp", image_file(1080, 1080, image::ImageFormat::WebP)),
        ("3.png", image_file(800, 600, image::ImageFormat::Png)),
    ];
    let mut written = Vec::new();
    for (name, bytes) in photos {
        let key = format!("uploads/{open_id}/trip/{name}");
        let sha256 = hex::encode(sha2::Sha256::digest(&bytes));
        rig.stack.put(&key, bytes).await;
        written.push((key, sha256));
    }
    written
}

/// The manifest at `uploads/{open_id}/trip/{name}` naming the carousel's photos (relative
/// keys), with `options` (JSON members, without braces).
async fn put_manifest(rig: &Rig, open_id: &str, name: &str, options: &str) -> String {
    let key = format!("uploads/{open_id}/trip/{name}");
    let manifest = format!(r#"{{"images":["1.jpg","2.webp","3.png"],{options}}}"#);
    rig.stack.put(&key, manifest).await;
    key
}

/// What the S3 trigger does with the event of `key`.
async fn event(intake: &Intake, rig: &Rig, key: &str) -> TriggerOutcome {
    handle_object_created(intake, DEFAULT_UPLOAD_PREFIX, &rig.stack.bucket, key, None)
        .await
        .expect("the trigger handles the event")
}

fn claimed(outcome: &TriggerOutcome) -> PostId {
    match outcome {
        TriggerOutcome::Claimed { post_id, .. } => PostId::parse(post_id).unwrap(),
        other => panic!("expected a claim, got {other:?}"),
    }
}

async fn object_sha256(rig: &Rig, key: &str) -> String {
    let object = rig
        .stack
        .s3
        .get_object()
        .bucket(&rig.stack.bucket)
        .key(key)
        .send()
        .await
        .expect("the object exists");
    let bytes = object.body.collect().await.unwrap().into_bytes();
    hex::encode(sha2::Sha256::digest(&bytes))
}

const DIRECT: &str = r#""privacy_level":"SELF_ONLY","title":"three photos",
    "description":"a carousel from the stack #sea","allow_comment":true,"photo_cover_index":1"#;

#[tokio::test]
async fn a_manifests_carousel_with_a_png_is_converted_pulled_and_published() {
    let (rig, _origin) = front_door_rig(true).await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let machine = PassMachine::create().await;
    let intake = rig.stack.intake(&machine).await;
    let photos = put_carousel(&rig, &open_id).await;
    // Images on their own set nothing off, whatever the order of the events.
    for (key, _) in &photos {
        let outcome = event(&intake, &rig, key).await;
        assert!(
            matches!(outcome, TriggerOutcome::Ignored { .. }),
            "{outcome:?}"
        );
    }
    let manifest = put_manifest(&rig, &open_id, "day.photos.json", DIRECT).await;

    let id = claimed(&event(&intake, &rig, &manifest).await);
    assert_eq!(machine.execution_names().await, [id.to_string()]);
    let post = rig.record(&id).await;
    assert_eq!(post.state, PostState::Queued);
    let images = post.photos.as_ref().expect("a photo post").images();
    assert_eq!(
        images.iter().map(|i| i.key.as_str()).collect::<Vec<_>>(),
        photos.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>()
    );
    assert!(
        images.iter().all(|i| i.version_id.is_some()),
        "pinned: {images:?}"
    );

    let run = rig.drive(&id, vec![]).await;
    run.assert_published();
    assert_eq!(run.trace.first().map(String::as_str), Some("Init:pulled"));

    let post = rig.record(&id).await;
    assert_eq!(post.state, PostState::Published, "{:?}", post.history);
    assert!(post.upload.is_none(), "a pull has no upload session");
    let prepared = format!("uploads/{open_id}/.tiktok-prepared/{id}/3.jpg");
    let fake = &rig.stack.fake;
    let pulled: Vec<String> = fake
        .pulled(post.publish_id.as_deref().expect("a publish id"))
        .into_iter()
        .map(|p| p.sha256)
        .collect();
    assert_eq!(
        pulled,
        [
            photos[0].1.clone(),
            photos[1].1.clone(),
            object_sha256(&rig, &prepared).await
        ],
        "the JPEG and the WebP as they are, the PNG as the JPEG the stack wrote, in order"
    );
    assert_ne!(pulled[2], photos[2].1, "TikTok never gets the PNG");
    assert_eq!(fake.call_count(Endpoint::ContentInit), 1);
    assert_eq!(fake.call_count(Endpoint::UploadChunk), 0);
    assert_eq!(fake.violations(), vec![]);

    // The converted photo's own event starts nothing either.
    let outcome = event(&intake, &rig, &prepared).await;
    assert!(
        matches!(outcome, TriggerOutcome::Ignored { .. }),
        "{outcome:?}"
    );
    assert_eq!(machine.execution_names().await.len(), 1);
}

#[tokio::test]
async fn a_carousel_draft_goes_to_the_creators_inbox() {
    let (rig, _origin) = front_door_rig(true).await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let machine = PassMachine::create().await;
    let intake = rig.stack.intake(&machine).await;
    put_carousel(&rig, &open_id).await;
    let manifest = put_manifest(
        &rig,
        &open_id,
        "draft.photos.json",
        r#""mode":"draft","title":"for later""#,
    )
    .await;

    let id = claimed(&event(&intake, &rig, &manifest).await);
    rig.drive(&id, vec![]).await.assert_published();

    let post = rig.record(&id).await;
    assert_eq!(post.state, PostState::SentToInbox, "{:?}", post.history);
    let fake = &rig.stack.fake;
    assert_eq!(
        fake.pulled(post.publish_id.as_deref().unwrap()).len(),
        3,
        "TikTok pulled every photo"
    );
    assert_eq!(
        fake.call_count(Endpoint::CreatorInfo),
        0,
        "a draft needs none"
    );
    assert_eq!(fake.violations(), vec![]);
}

#[tokio::test]
async fn the_same_images_asked_for_twice_make_one_post() {
    let (rig, _origin) = front_door_rig(true).await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let machine = PassMachine::create().await;
    let intake = rig.stack.intake(&machine).await;
    let photos = put_carousel(&rig, &open_id).await;
    let manifest = put_manifest(&rig, &open_id, "a.photos.json", DIRECT).await;
    // Another manifest naming the same images by their full keys.
    let full_keys: Vec<&str> = photos.iter().map(|(k, _)| k.as_str()).collect();
    let other = format!("uploads/{open_id}/b.photos.json");
    let body = serde_json::json!({
        "images": full_keys,
        "privacy_level": "SELF_ONLY",
        "title": "three photos",
        "description": "a carousel from the stack #sea",
        "allow_comment": true,
        "photo_cover_index": 1,
    });
    rig.stack.put(&other, body.to_string()).await;

    let first = event(&intake, &rig, &manifest).await;
    let repeated = event(&intake, &rig, &manifest).await;
    let by_full_keys = event(&intake, &rig, &other).await;
    assert!(matches!(
        first,
        TriggerOutcome::Claimed { created: true, .. }
    ));
    for again in [&repeated, &by_full_keys] {
        assert!(
            matches!(again, TriggerOutcome::Claimed { created: false, .. }),
            "{again:?}"
        );
        assert_eq!(claimed(again), claimed(&first));
    }
    assert_eq!(machine.execution_names().await.len(), 1);

    // A new version of one image is another post.
    rig.stack
        .put(&photos[0].0, image_file(640, 640, image::ImageFormat::Jpeg))
        .await;
    let replaced = event(&intake, &rig, &manifest).await;
    assert!(matches!(
        replaced,
        TriggerOutcome::Claimed { created: true, .. }
    ));
    assert_ne!(claimed(&replaced), claimed(&first));
}

#[tokio::test]
async fn a_photo_post_without_a_front_door_is_refused_saying_what_to_configure() {
    let rig = rig().await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let machine = PassMachine::create().await;
    let intake = rig.stack.intake(&machine).await;
    put_carousel(&rig, &open_id).await;
    let manifest = put_manifest(&rig, &open_id, "day.photos.json", DIRECT).await;
    let id = claimed(&event(&intake, &rig, &manifest).await);

    let run = rig.drive(&id, vec![]).await;
    assert_eq!(run.error().kind, ErrorKind::PostRefused, "{:?}", run.trace);

    let post = rig.record(&id).await;
    assert_eq!(post.state, PostState::Refused);
    let failure = post.failure.expect("the refusal is recorded");
    assert_eq!(failure.cause, Cause::FrontDoorMissing);
    assert!(
        failure.reason.contains("DomainName and CertificateArn"),
        "{}",
        failure.reason
    );
    assert_eq!(rig.stack.fake.call_count(Endpoint::ContentInit), 0);
    assert_eq!(rig.stack.fake.call_count(Endpoint::CreatorInfo), 0);
}

#[tokio::test]
async fn an_image_tiktok_cannot_take_fails_the_post_naming_it() {
    let (rig, _origin) = front_door_rig(true).await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let machine = PassMachine::create().await;
    let intake = rig.stack.intake(&machine).await;
    put_carousel(&rig, &open_id).await;
    // A GIF under a WebP's name: the content decides.
    let gif = format!("uploads/{open_id}/trip/2.webp");
    rig.stack
        .put(&gif, b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec())
        .await;
    let manifest = put_manifest(&rig, &open_id, "day.photos.json", DIRECT).await;
    let id = claimed(&event(&intake, &rig, &manifest).await);

    let run = rig.drive(&id, vec![]).await;
    assert_eq!(run.error().kind, ErrorKind::PostRefused, "{:?}", run.trace);

    let post = rig.record(&id).await;
    assert_eq!(post.state, PostState::Refused);
    let failure = post.failure.expect("the refusal is recorded");
    assert_eq!(
        failure.cause,
        Cause::PhotoRefused {
            image: 2,
            key: gif.clone(),
            refusal: PhotoRefusal::Format {
                found: "GIF".into()
            },
        }
    );
    assert!(
        failure.reason.starts_with(&format!("photo 2 ({gif})")),
        "{}",
        failure.reason
    );
    let fake = &rig.stack.fake;
    assert_eq!(fake.call_count(Endpoint::ContentInit), 0);
    assert!(
        !post
            .history
            .iter()
            .any(|h| matches!(h.fact, Some(Fact::PullRequested { .. })))
    );
}

#[tokio::test]
async fn a_manifest_naming_a_missing_image_writes_nothing_and_says_which() {
    let (rig, _origin) = front_door_rig(true).await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let machine = PassMachine::create().await;
    let intake = rig.stack.intake(&machine).await;
    let manifest = put_manifest(&rig, &open_id, "early.photos.json", DIRECT).await;

    let outcome = event(&intake, &rig, &manifest).await;
    assert_eq!(
        outcome,
        TriggerOutcome::ImageMissing {
            key: manifest.clone(),
            image_key: format!("uploads/{open_id}/trip/1.jpg"),
        }
    );
    assert!(machine.execution_names().await.is_empty());

    // Bad entries are named with the rule.
    let bad = format!("uploads/{open_id}/bad.photos.json");
    rig.stack
        .put(
            &bad,
            r#"{"images":["ok.jpg","../x.jpg"],"privacy_level":"SELF_ONLY"}"#,
        )
        .await;
    match event(&intake, &rig, &bad).await {
        TriggerOutcome::Ignored { reason, .. } => {
            assert!(reason.contains("images[1]"), "{reason}")
        }
        other => panic!("expected the manifest ignored, got {other:?}"),
    }
}

#[tokio::test]
async fn a_front_door_tiktok_has_not_verified_fails_the_photo_post_with_tiktoks_code_and_advice() {
    let (rig, _origin) = front_door_rig(false).await;
    let open_id = rig.stack.connect_account(AccountSeed::default()).await;
    let machine = PassMachine::create().await;
    let intake = rig.stack.intake(&machine).await;
    put_carousel(&rig, &open_id).await;
    let manifest = put_manifest(&rig, &open_id, "day.photos.json", DIRECT).await;
    let id = claimed(&event(&intake, &rig, &manifest).await);

    let run = rig.drive(&id, vec![]).await;
    assert_eq!(
        run.error().kind,
        ErrorKind::TikTokRejected,
        "{:?}",
        run.trace
    );

    let post = rig.record(&id).await;
    assert_eq!(post.state, PostState::Failed);
    let failure = post.failure.expect("the failure is recorded");
    assert!(
        matches!(&failure.cause, Cause::TikTokRefused { code, .. } if code == "url_ownership_unverified"),
        "{:?}",
        failure.cause
    );
    let advice = failure.advice.unwrap_or_default();
    assert!(
        advice.contains("MediaUrlPrefix") && !advice.contains("FILE_UPLOAD"),
        "photos cannot be uploaded instead: {advice}"
    );
    // No fallback: a photo post has no other way to TikTok.
    assert_eq!(rig.stack.fake.call_count(Endpoint::ContentInit), 1);
    assert_eq!(rig.stack.fake.violations(), vec![]);
}
