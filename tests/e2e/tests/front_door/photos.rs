//! Photo carousels: images dropped first, then their manifest (`NAME.photos.json`); TikTok
//! pulls each photo from the front door. A PNG is converted to JPEG before TikTok sees it.

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
