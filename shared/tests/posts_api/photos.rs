//! `POST /posts` with `images`: a photo post, one per set of images (as pinned at intake)
//! however often it is asked; refusals name the field.

use super::*;

/// `count` small images under the account's folder (the API pins them; TikTok's checks come
/// at init).
async fn upload_images(r: &Rig, open_id: &str, count: usize) -> Vec<String> {
    let mut keys = Vec::new();
    for at in 0..count {
        keys.push(r.upload(open_id, &format!("photo-{at}.jpg")).await);
    }
    keys
}

fn photo_body(open_id: &str, images: &[String], title: &str) -> Value {
    json!({
        "account": open_id,
        "images": images,
        "options": {
            "title": title,
            "description": "under the photos",
            "privacy_level": "SELF_ONLY",
            "allow_comment": true,
            "auto_add_music": true,
        }
    })
}

#[tokio::test]
async fn the_same_images_twice_make_one_photo_post_shown_as_one() {
    let r = rig().await;
    let open_id = r.connect().await;
    let images = upload_images(&r, &open_id, 3).await;

    let first = r
        .create(&photo_body(&open_id, &images, "three"), None)
        .await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.body["media"], "photos");
    assert_eq!(first.body["state"], "QUEUED");
    assert_eq!(first.body["key"], images[0].as_str());
    let shown = first.body["images"]
        .as_array()
        .expect("the images are shown");
    assert_eq!(
        shown
            .iter()
            .map(|i| i["key"].as_str().unwrap())
            .collect::<Vec<_>>(),
        images.iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert!(
        shown.iter().all(|i| i["version_id"].is_string()),
        "{shown:?}"
    );
    assert_eq!(first.body["options"]["description"], "under the photos");

    let again = r
        .create(&photo_body(&open_id, &images, "three"), None)
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["id"], first.body["id"]);
    let id = first.body["id"].as_str().unwrap();
    let got = r.api.get_post(id).await;
    assert_eq!(got.body["media"], "photos");
    assert_eq!(r.executions().await.len(), 1);

    let other = r
        .create(&photo_body(&open_id, &images, "other"), None)
        .await;
    assert_eq!(error_of(&other), (409, "post_exists", Some("images")));

    // Another order is another carousel.
    let reversed: Vec<String> = images.iter().rev().cloned().collect();
    let second = r
        .create(&photo_body(&open_id, &reversed, "three"), None)
        .await;
    assert_eq!(second.status, 201, "{}", second.body);
    assert_ne!(second.body["id"], first.body["id"]);

    // A video post's view says so.
    let key = r.upload(&open_id, "clip.mp4").await;
    let video = r.create(&body(&open_id, &key, "video"), None).await;
    assert_eq!(video.body["media"], "video");
    assert!(video.body.get("images").is_none(), "{}", video.body);
}

#[tokio::test]
async fn an_idempotency_key_replays_a_photo_posts_answer() {
    let r = rig().await;
    let open_id = r.connect().await;
    let images = upload_images(&r, &open_id, 2).await;
    let request = photo_body(&open_id, &images, "two");

    let first = r.create(&request, Some("photos-1")).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let replayed = r.create(&request, Some("photos-1")).await;
    assert_eq!((replayed.status, &replayed.body), (201, &first.body));
    let reused = r
        .create(&photo_body(&open_id, &images, "changed"), Some("photos-1"))
        .await;
    assert_eq!(
        error_of(&reused),
        (409, "idempotency_key_reused", Some("Idempotency-Key"))
    );
    assert_eq!(r.executions().await.len(), 1);
}

#[tokio::test]
async fn bad_photo_bodies_are_refused_naming_the_field_and_start_nothing() {
    let r = rig().await;
    let open_id = r.connect().await;
    let images = upload_images(&r, &open_id, 2).await;
    let options = json!({"privacy_level": "SELF_ONLY"});
    let with = |extra: Value| {
        let mut body = json!({"account": open_id, "options": options});
        for (name, value) in extra.as_object().unwrap() {
            body[name] = value.clone();
        }
        body
    };
    let thirty_six: Vec<String> = (0..36)
        .map(|i| format!("uploads/{open_id}/{i}.jpg"))
        .collect();
    let cases = [
        (with(json!({"images": images, "key": images[0]})), "images"),
        (
            with(json!({"images": images, "version_id": "v1"})),
            "version_id",
        ),
        (with(json!({})), "key"),
        (with(json!({"images": []})), "images"),
        (with(json!({"images": thirty_six})), "images"),
        (with(json!({"images": "a.jpg"})), "images"),
        (with(json!({"images": [images[0], 7]})), "images[1]"),
        (with(json!({"images": [images[0], ""]})), "images[1]"),
        (with(json!({"images": ["/abs.jpg"]})), "images[0]"),
        (with(json!({"images": ["s3://b/a.jpg"]})), "images[0]"),
        (
            with(json!({"images": [images[0], "uploads/x/"]})),
            "images[1]",
        ),
        (
            json!({"account": open_id, "images": images,
                   "options": {"privacy_level": "SELF_ONLY", "allow_duet": true}}),
            "options.allow_duet",
        ),
        (
            json!({"account": open_id, "images": images,
                   "options": {"privacy_level": "SELF_ONLY", "photo_cover_index": 2}}),
            "options.photo_cover_index",
        ),
        (
            json!({"account": open_id, "images": images,
                   "options": {"privacy_level": "SELF_ONLY", "title": "x".repeat(91)}}),
            "options.title",
        ),
        (json!({"account": open_id, "images": images}), "options"),
    ];
    for (request, field) in cases {
        let answer = r.create(&request, None).await;
        assert_eq!(
            error_of(&answer),
            (400, "invalid_request", Some(field)),
            "{request}: {}",
            answer.body
        );
    }
    // An image not in the bucket is named too.
    let missing = with(json!({"images": [images[0], format!("uploads/{open_id}/nope.jpg")]}));
    let answer = r.create(&missing, None).await;
    assert_eq!(
        error_of(&answer),
        (404, "image_not_found", Some("images[1]")),
        "{}",
        answer.body
    );
    assert!(r.executions().await.is_empty());
}
