//! PULL_FROM_URL, photo posts and cancel, each rule with the sentence it comes from.
//! Pages: Media Transfer Guide (its "Pull from URL", "Cancel ongoing pull from URL tasks" and
//! "Image restrictions"), Direct Post, Upload, Photo
//! <https://developers.tiktok.com/doc/content-posting-api-reference-photo-post>, Get Post
//! Status (its status table and fail reasons).

use super::*;
use crate::origin::{MEDIA_HOST, Origin, Served, jpeg, png, webp};

/// A fake that reaches `origin`, with quick processing.
async fn start(origin: &Origin) -> Harness {
    Harness::start(origin.settings(settings())).await
}

async fn start_with(origin: &Origin, settings: FakeSettings) -> Harness {
    Harness::start(origin.settings(settings)).await
}

fn pull_source(url: &str) -> Value {
    json!({"source": "PULL_FROM_URL", "video_url": url})
}

async fn pull_direct(h: &Harness, token: &str, url: &str) -> (StatusCode, Value) {
    let body = json!({
        "post_info": {"title": "pulled #fake", "privacy_level": "PUBLIC_TO_EVERYONE",
                      "disable_duet": false, "disable_comment": false, "disable_stitch": false},
        "source_info": pull_source(url),
    });
    h.post("/v2/post/publish/video/init/", token, body).await
}

async fn pull_inbox(h: &Harness, token: &str, url: &str) -> (StatusCode, Value) {
    let body = json!({ "source_info": pull_source(url) });
    h.post("/v2/post/publish/inbox/video/init/", token, body)
        .await
}

/// A direct photo post of `urls`, cover `cover`.
fn photo_body(mode: &str, urls: &[String], cover: usize) -> Value {
    let mut post_info = json!({"title": "three photos", "description": "a #carousel"});
    if mode == "DIRECT_POST" {
        post_info["privacy_level"] = "SELF_ONLY".into();
        post_info["disable_comment"] = false.into();
        post_info["auto_add_music"] = true.into();
    }
    json!({
        "media_type": "PHOTO",
        "post_mode": mode,
        "post_info": post_info,
        "source_info": {"source": "PULL_FROM_URL", "photo_images": urls, "photo_cover_index": cover},
    })
}

async fn photo_init(h: &Harness, token: &str, body: Value) -> (StatusCode, Value) {
    h.post("/v2/post/publish/content/init/", token, body).await
}

async fn cancel(h: &Harness, token: &str, publish_id: &str) -> (StatusCode, Value) {
    h.post(
        "/v2/post/publish/cancel/",
        token,
        json!({ "publish_id": publish_id }),
    )
    .await
}

fn accepted(status: StatusCode, init: &Value) -> String {
    assert_eq!(status, StatusCode::OK, "{init}");
    assert!(init["data"].get("upload_url").is_none(), "{init}");
    publish_id(init)
}

/// Media Transfer Guide: "By initializing your content post using /init endpoints with
/// `source=PULL_FROM_URL`, the TikTok server starts to download the media resource using
/// the URL you provide." Direct Post, on `upload_url`: "This field is only for
/// `source=FILE_UPLOAD`." The fake keeps the size and SHA-256 of what it pulled.
#[tokio::test]
async fn a_pulled_video_is_published_byte_exact() {
    let origin = Origin::start().await;
    let h = start(&origin).await;
    let tokens = h.tokens();
    let token = tokens.access_token.as_str();
    let video = payload(3_000_000, 11);
    origin.serve("/videos/a.mp4", Served::Bytes(video.clone()));
    let url = origin.url("/videos/a.mp4?Expires=1&Signature=abc");

    let (status, init) = pull_direct(&h, token, &url).await;
    let id = accepted(status, &init);
    assert!(id.starts_with("v_pub_url~"), "{id}");
    let done = h.wait_final(token, &id).await;
    assert_eq!(done["status"], "PUBLISH_COMPLETE", "{done}");
    assert_eq!(done["downloaded_bytes"], 3_000_000, "{done}");
    assert!(done.get("uploaded_bytes").is_none(), "{done}");

    let pulled = h.fake.pulled(&id);
    assert_eq!(pulled.len(), 1);
    assert_eq!(pulled[0].url, url);
    assert_eq!(pulled[0].bytes, 3_000_000);
    assert_eq!(pulled[0].sha256, sha256_hex(&video));
    let snapshot = h.fake.publish(&id).expect("publish");
    assert_eq!(snapshot.source, fake_tiktok::MediaSource::PullFromUrl);
    assert_eq!(snapshot.video_sha256, Some(sha256_hex(&video)));
    assert_eq!(origin.hits(), vec!["/videos/a.mp4"]);
    assert_eq!(h.fake.violations(), vec![]);
}

/// Upload: `video_url`, "The URL of the video to be uploaded. The domain or URL prefix of
/// the video_url should already be verified." A pulled draft reaches the inbox as an
/// uploaded one does.
#[tokio::test]
async fn a_pulled_video_sent_to_the_inbox_reaches_it() {
    let origin = Origin::start().await;
    let h = start(&origin).await;
    let tokens = h.tokens();
    let video = payload(200_000, 12);
    origin.serve("/b.mp4", Served::Bytes(video.clone()));

    let (status, init) = pull_inbox(&h, &tokens.access_token, &origin.url("/b.mp4")).await;
    let id = accepted(status, &init);
    assert!(id.starts_with("v_inbox_url~"), "{id}");
    let done = h.wait_final(&tokens.access_token, &id).await;
    assert_eq!(done["status"], "SEND_TO_USER_INBOX", "{done}");
    assert_eq!(h.fake.pulled(&id)[0].sha256, sha256_hex(&video));
    assert_eq!(h.fake.violations(), vec![]);
}

/// Get Post Status: "`PROCESSING_DOWNLOAD`: Only available for `PULL_FROM_URL`. Indicates
/// that the download from the URL is in process." and `downloaded_bytes`, "The number of
/// bytes downloaded (1-indexed) for `PULL_FROM_URL`".
#[tokio::test]
async fn a_pull_is_processing_download_with_downloaded_bytes() {
    let origin = Origin::start().await;
    let h = start(&origin).await;
    let tokens = h.tokens();
    let token = tokens.access_token.as_str();
    let video = payload(400_000, 13);
    origin.serve(
        "/slow.mp4",
        Served::Slow {
            bytes: video.clone(),
            chunk: 100_000,
            pause: Duration::from_millis(150),
        },
    );

    let (status, init) = pull_direct(&h, token, &origin.url("/slow.mp4")).await;
    let id = accepted(status, &init);
    let mut partial = Vec::new();
    loop {
        let data = h.status(token, &id).await;
        assert!(data.get("uploaded_bytes").is_none(), "{data}");
        let status = data["status"].as_str().unwrap_or_default().to_owned();
        if status != "PROCESSING_DOWNLOAD" {
            assert_eq!(status, "PUBLISH_COMPLETE", "{data}");
            break;
        }
        let bytes = data["downloaded_bytes"].as_u64().expect("downloaded_bytes");
        if bytes > 0 && bytes < 400_000 {
            partial.push(bytes);
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    assert!(!partial.is_empty(), "a partial download was seen");
    assert!(partial.windows(2).all(|w| w[0] <= w[1]), "{partial:?}");
    assert_eq!(h.fake.pulled(&id)[0].sha256, sha256_hex(&video));
    assert_eq!(h.fake.violations(), vec![]);
}

/// Media Transfer Guide: "The media URL must use "https" and should not redirect to another
/// URL." and, on URL prefixes, "The host must be a domain and should not be an IP
/// address." The Direct Post page's 403 `url_ownership_unverified`: "To use `PULL_FROM_URL`
/// as the video transfer method, the developer must verify the ownership of the URL prefix
/// or domain." Such a URL could never be verified: the client's mistake.
#[tokio::test]
async fn a_media_url_must_be_https_on_a_domain_name() {
    let origin = Origin::start().await;
    let h = start(&origin).await;
    let tokens = h.tokens();
    let token = tokens.access_token.as_str();
    for url in [
        format!("http://{MEDIA_HOST}:{}/a.mp4", origin.port),
        format!("https://127.0.0.1:{}/a.mp4", origin.port),
        "not a URL".to_owned(),
    ] {
        let (status, init) = pull_direct(&h, token, &url).await;
        assert_eq!(
            (status, error_code(&init)),
            (StatusCode::FORBIDDEN, "url_ownership_unverified"),
            "{url}"
        );
        assert_eq!(h.kinds(), vec![ViolationKind::BadMediaUrl], "{url}");
        h.fake.take_violations();
    }
    assert!(origin.hits().is_empty());
    assert!(h.fake.publishes_for(&tokens.open_id).is_empty());
}

/// Media Transfer Guide: "Once the ownership of a domain is verified, all paths under that
/// domain or its subdomains are considered owned ... if you have verified the domain
/// `static.example.com`, then URLs like `https://video.static.example.com/tiktok/example.mp4`
/// are considered verified, while URLs like `https://example.com/videos/example.mp4` are
/// still considered unverified." and "Once a URL prefix's ownership is verified, all URLs
/// with the exact prefix are considered owned". Which domains the app verified is not the
/// client's to know: an unverified URL is refused without a violation.
#[tokio::test]
async fn a_media_url_must_be_under_a_verified_domain_or_url_prefix() {
    let origin = Origin::start().await;
    let h = start(&origin).await;
    h.fake
        .verify_domain("static.example.test")
        .expect("a domain");
    let prefix = origin.url_on("prefix.example.test", "/videos/user/");
    h.fake.verify_url_prefix(&prefix).expect("a prefix");
    let tokens = h.tokens();
    let token = tokens.access_token.as_str();

    let owned = [
        origin.url_on("video.static.example.test", "/tiktok/example.mp4"),
        origin.url_on("static.example.test", "/a.mp4"),
        origin.url_on("prefix.example.test", "/videos/user/123/example.mp4"),
    ];
    for url in &owned {
        let (status, init) = pull_inbox(&h, token, url).await;
        assert_eq!(status, StatusCode::OK, "{url}: {init}");
    }
    let unverified = [
        origin.url_on("example.test", "/videos/example.mp4"),
        origin.url_on("prefix.example.test", "/videos/2023/user/123/example.mp4"),
        origin.url_on("notstatic.example.test", "/a.mp4"),
    ];
    for url in &unverified {
        let (status, init) = pull_inbox(&h, token, url).await;
        assert_eq!(
            (status, error_code(&init)),
            (StatusCode::FORBIDDEN, "url_ownership_unverified"),
            "{url}"
        );
    }
    assert_eq!(h.fake.violations(), vec![]);
}

/// Media Transfer Guide: "Redirections are not followed. URLs that return HTTP 3xx are
/// considered invalid." Get Post Status, `video_pull_failed`: "The TikTok server
/// encountered a connection error while downloading the specified video resource".
#[tokio::test]
async fn a_redirect_is_never_followed_and_fails_the_pull() {
    let origin = Origin::start().await;
    let h = start(&origin).await;
    let tokens = h.tokens();
    origin.serve("/moved.mp4", Served::Redirect(origin.url("/real.mp4")));
    origin.serve("/real.mp4", Served::Bytes(payload(1_000, 1)));

    let (status, init) = pull_direct(&h, &tokens.access_token, &origin.url("/moved.mp4")).await;
    let id = accepted(status, &init);
    let done = h.wait_final(&tokens.access_token, &id).await;
    assert_eq!(done["status"], "FAILED", "{done}");
    assert_eq!(done["fail_reason"], "video_pull_failed");
    assert_eq!(
        origin.hits(),
        vec!["/moved.mp4"],
        "the redirect was not followed"
    );
    assert!(h.fake.pulled(&id).is_empty());
    assert_eq!(h.fake.violations(), vec![]);
}

/// Media Transfer Guide: "The URL must remain accessible for the entire duration of the
/// download process". An origin answering 404, or 403 for a signature that expired, fails
/// the pull: `video_pull_failed` ("Check if the supplied URL is publicly accessible").
#[tokio::test]
async fn an_origin_answering_404_or_403_fails_the_pull() {
    let origin = Origin::start().await;
    let h = start(&origin).await;
    let tokens = h.tokens();
    let token = tokens.access_token.as_str();
    origin.serve("/expired.mp4", Served::Status(403));
    for url in [
        origin.url("/missing.mp4"),
        origin.url("/expired.mp4?Expires=1&Signature=old"),
    ] {
        let (status, init) = pull_direct(&h, token, &url).await;
        let id = accepted(status, &init);
        let done = h.wait_final(token, &id).await;
        assert_eq!(done["status"], "FAILED", "{url}: {done}");
        assert_eq!(done["fail_reason"], "video_pull_failed", "{url}");
    }
    assert_eq!(h.fake.violations(), vec![]);
}

/// Media Transfer Guide: the download "times out one hour after the download task is
/// initiated"; `video_pull_failed`: "or the download is terminated since it can not be
/// completed within the one-hour timeout". (The fake's hour is a setting.)
#[tokio::test]
async fn a_pull_not_done_in_time_fails() {
    let origin = Origin::start().await;
    let h = start_with(
        &origin,
        FakeSettings {
            pull_timeout: Duration::from_millis(300),
            ..settings()
        },
    )
    .await;
    let tokens = h.tokens();
    origin.serve(
        "/crawl.mp4",
        Served::Slow {
            bytes: payload(100_000, 2),
            chunk: 10_000,
            pause: Duration::from_millis(200),
        },
    );
    let (status, init) = pull_direct(&h, &tokens.access_token, &origin.url("/crawl.mp4")).await;
    let id = accepted(status, &init);
    let done = h.wait_final(&tokens.access_token, &id).await;
    assert_eq!(done["fail_reason"], "video_pull_failed", "{done}");
    assert_eq!(h.fake.violations(), vec![]);
}

/// Media Transfer Guide, Video restrictions: "Size restrictions: Maximum of 4GB" (the
/// fake's cap is `max_video_size`). A bigger video fails the pull (`video_pull_failed`:
/// TikTok names no reason for it).
#[tokio::test]
async fn a_video_over_the_size_cap_fails_the_pull() {
    let origin = Origin::start().await;
    let h = start_with(
        &origin,
        FakeSettings {
            max_video_size: 50_000,
            ..settings()
        },
    )
    .await;
    let tokens = h.tokens();
    origin.serve("/big.mp4", Served::Bytes(payload(50_001, 3)));
    origin.serve("/fits.mp4", Served::Bytes(payload(50_000, 3)));
    let (_, init) = pull_direct(&h, &tokens.access_token, &origin.url("/big.mp4")).await;
    let done = h.wait_final(&tokens.access_token, &publish_id(&init)).await;
    assert_eq!(done["fail_reason"], "video_pull_failed", "{done}");
    let (_, init) = pull_direct(&h, &tokens.access_token, &origin.url("/fits.mp4")).await;
    let done = h.wait_final(&tokens.access_token, &publish_id(&init)).await;
    assert_eq!(done["status"], "PUBLISH_COMPLETE", "{done}");
}

/// Photo: `/v2/post/publish/content/init/` "allows you to post directly or upload photos to
/// TikTok"; `photo_images`, "An array containing up to 35 photo content URLs. The URLs must
/// be publicly accessible and verified by your app"; `photo_cover_index`, "the index
/// (starting from 0) of the photo to be used as the cover". Media Transfer Guide, Image
/// restrictions: "Supported media formats: WebP JPEG".
#[tokio::test]
async fn a_carousel_of_three_jpeg_and_webp_photos_is_published() {
    let origin = Origin::start().await;
    let h = start(&origin).await;
    let tokens = h.tokens();
    let token = tokens.access_token.as_str();
    let photos = [jpeg(1080, 1920), webp(640, 480), jpeg(1920, 1080)];
    let mut urls = Vec::new();
    for (i, photo) in photos.iter().enumerate() {
        let path = format!("/photos/{i}");
        origin.serve(&path, Served::Bytes(photo.clone()));
        urls.push(origin.url(&path));
    }

    let (status, init) = photo_init(&h, token, photo_body("DIRECT_POST", &urls, 2)).await;
    let id = accepted(status, &init);
    assert!(id.starts_with("p_pub_url~"), "{id}");
    let done = h.wait_final(token, &id).await;
    assert_eq!(done["status"], "PUBLISH_COMPLETE", "{done}");
    let total: usize = photos.iter().map(Bytes::len).sum();
    assert_eq!(done["downloaded_bytes"], total as u64);

    let pulled = h.fake.pulled(&id);
    assert_eq!(pulled.len(), 3);
    for ((file, url), photo) in pulled.iter().zip(&urls).zip(&photos) {
        assert_eq!(&file.url, url);
        assert_eq!(file.bytes, photo.len() as u64);
        assert_eq!(file.sha256, sha256_hex(photo));
    }
    let snapshot = h.fake.publish(&id).expect("publish");
    assert_eq!(snapshot.media_type, fake_tiktok::MediaType::Photo);
    assert_eq!(snapshot.media_urls, urls);
    assert_eq!(h.fake.violations(), vec![]);
}

/// Photo, `post_mode`: "MEDIA_UPLOAD: Upload content to TikTok for users to complete the
/// post using TikTok's editing flow", and "To use upload method, the target TikTok user
/// must have authorized your app for the `video.upload` scope" ("To use Direct Post ...
/// for the `video.publish` scope").
#[tokio::test]
async fn a_photo_upload_needs_video_upload_and_reaches_the_inbox() {
    let origin = Origin::start().await;
    let h = start(&origin).await;
    let open_id = h.fake.seed_account(AccountSeed::default());
    let tokens = h.fake.issue_tokens(&open_id, &["video.upload"]);
    let token = tokens.access_token.as_str();
    origin.serve("/p.webp", Served::Bytes(webp(300, 300)));
    let urls = [origin.url("/p.webp")];

    let (status, init) = photo_init(&h, token, photo_body("DIRECT_POST", &urls, 0)).await;
    assert_eq!(
        (status, error_code(&init)),
        (StatusCode::UNAUTHORIZED, "scope_not_authorized")
    );
    let (status, init) = photo_init(&h, token, photo_body("MEDIA_UPLOAD", &urls, 0)).await;
    let id = accepted(status, &init);
    let done = h.wait_final(token, &id).await;
    assert_eq!(done["status"], "SEND_TO_USER_INBOX", "{done}");
    assert_eq!(h.fake.violations(), vec![]);
}

/// Media Transfer Guide, Image restrictions: "Supported media formats: WebP JPEG"; Get Post
/// Status, `file_format_check_failed`: "Unsupported media format. See Video Restrictions
/// and Photo Restrictions." The format is read from the bytes, not the name.
#[tokio::test]
async fn a_png_photo_fails_the_format_check() {
    let origin = Origin::start().await;
    let h = start(&origin).await;
    let tokens = h.tokens();
    origin.serve("/ok.jpg", Served::Bytes(jpeg(100, 100)));
    origin.serve("/disguised.jpg", Served::Bytes(png()));
    let urls = [origin.url("/ok.jpg"), origin.url("/disguised.jpg")];
    let body = photo_body("DIRECT_POST", &urls, 0);
    let (status, init) = photo_init(&h, &tokens.access_token, body).await;
    let id = accepted(status, &init);
    let done = h.wait_final(&tokens.access_token, &id).await;
    assert_eq!(done["status"], "FAILED", "{done}");
    assert_eq!(done["fail_reason"], "file_format_check_failed");
    assert_eq!(h.fake.violations(), vec![]);
}

/// Media Transfer Guide, Image restrictions: "Picture size restrictions: Maximum 1080p"
/// (our reading: at most 1080 px on the short side, 1920 on the long one); Get Post Status,
/// `picture_size_check_failed`: "Upsupported picture size. See Video Restrictions and
/// Photo Restrictions."
#[tokio::test]
async fn a_photo_over_1080p_fails_the_picture_size_check() {
    let origin = Origin::start().await;
    let h = start(&origin).await;
    let tokens = h.tokens();
    origin.serve("/wide.jpg", Served::Bytes(jpeg(1921, 1080)));
    let body = photo_body("DIRECT_POST", &[origin.url("/wide.jpg")], 0);
    let (status, init) = photo_init(&h, &tokens.access_token, body).await;
    let id = accepted(status, &init);
    let done = h.wait_final(&tokens.access_token, &id).await;
    assert_eq!(done["fail_reason"], "picture_size_check_failed", "{done}");
    assert_eq!(h.fake.violations(), vec![]);
}

/// Media Transfer Guide, Image restrictions: "Size restrictions: Maximum of 20MB for each
/// image" (the fake's cap is `max_photo_size`, 20,000,000 by default). TikTok names no
/// reason for it: the fake fails the pull, `photo_pull_failed`.
#[tokio::test]
async fn a_photo_over_the_size_cap_fails_the_pull() {
    let origin = Origin::start().await;
    let h = start_with(
        &origin,
        FakeSettings {
            max_photo_size: 20_000,
            ..settings()
        },
    )
    .await;
    let tokens = h.tokens();
    let big = jpeg(400, 400);
    assert!(big.len() > 20_000, "{}", big.len());
    origin.serve("/big.jpg", Served::Bytes(big));
    let body = photo_body("DIRECT_POST", &[origin.url("/big.jpg")], 0);
    let (status, init) = photo_init(&h, &tokens.access_token, body).await;
    let id = accepted(status, &init);
    let done = h.wait_final(&tokens.access_token, &id).await;
    assert_eq!(done["fail_reason"], "photo_pull_failed", "{done}");
}

/// Photo's request table: `media_type` "Currently only `PHOTO` is allowed"; `title` "The
/// maximum length for photo posts is 90 in UTF-16 runes"; `description` "... is 4000 in
/// UTF-16 runes"; `privacy_level` "Required for `DIRECT POST`"; `source` "Only
/// `PULL_FROM_URL` is allowed"; "up to 35 photo content URLs"; `photo_cover_index` "the
/// index (starting from 0)". A breach is answered 400 and recorded.
#[tokio::test]
async fn photo_init_breaches_are_refused_and_recorded() {
    let origin = Origin::start().await;
    let h = start_with(
        &origin,
        FakeSettings {
            rate_limits: fake_tiktok::RateLimits {
                content_init_per_minute: 100,
                ..Default::default()
            },
            ..settings()
        },
    )
    .await;
    let tokens = h.tokens();
    let urls: Vec<String> = (0..3).map(|i| origin.url(&format!("/{i}.jpg"))).collect();
    let good = photo_body("DIRECT_POST", &urls, 0);
    let with = |path: &[&str], value: Value| {
        let mut body = good.clone();
        let mut at = &mut body;
        for key in &path[..path.len() - 1] {
            at = &mut at[*key];
        }
        at[path[path.len() - 1]] = value;
        body
    };
    let cases = [
        (
            with(&["media_type"], "VIDEO".into()),
            ViolationKind::BadRequest,
        ),
        (
            with(&["post_mode"], "DIRECT POST".into()),
            ViolationKind::BadRequest,
        ),
        (
            with(&["post_info", "title"], "é".repeat(91).into()),
            ViolationKind::TitleTooLong,
        ),
        (
            with(&["post_info", "description"], "x".repeat(4001).into()),
            ViolationKind::DescriptionTooLong,
        ),
        (
            with(&["post_info", "privacy_level"], Value::Null),
            ViolationKind::BadRequest,
        ),
        (
            with(&["source_info", "source"], "FILE_UPLOAD".into()),
            ViolationKind::BadRequest,
        ),
        (
            with(&["source_info", "photo_images"], json!([])),
            ViolationKind::BadRequest,
        ),
        (
            with(
                &["source_info", "photo_images"],
                json!(vec![urls[0].clone(); 36]),
            ),
            ViolationKind::BadRequest,
        ),
        (
            with(&["source_info", "photo_cover_index"], 3.into()),
            ViolationKind::BadRequest,
        ),
        (
            with(&["post_info", "disable_duet"], false.into()),
            ViolationKind::UnknownField,
        ),
    ];
    for (body, kind) in cases {
        let (status, answer) = photo_init(&h, &tokens.access_token, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert_eq!(h.kinds(), vec![kind], "{body}");
        h.fake.take_violations();
    }
    // 90 UTF-16 units, 4000 in the description, 35 photos, the last as cover: all fine.
    let mut edge = with(&["post_info", "title"], "é".repeat(90).into());
    edge["post_info"]["description"] = "x".repeat(4000).into();
    edge["source_info"]["photo_images"] = json!(vec![urls[0].clone(); 35]);
    edge["source_info"]["photo_cover_index"] = 34.into();
    let (status, answer) = photo_init(&h, &tokens.access_token, edge).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(h.fake.violations(), vec![]);
}

/// Photo: "Each user access_token is limited to six requests per minute."
#[tokio::test]
async fn photo_init_is_limited_to_six_a_minute() {
    let origin = Origin::start().await;
    let h = start(&origin).await;
    let tokens = h.tokens();
    let body = photo_body("DIRECT_POST", &[origin.url("/r.jpg")], 0);
    for _ in 0..6 {
        let (status, answer) = photo_init(&h, &tokens.access_token, body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let (status, answer) = photo_init(&h, &tokens.access_token, body).await;
    assert_eq!(
        (status, error_code(&answer)),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limit_exceeded")
    );
    assert_eq!(h.kinds(), vec![ViolationKind::RateLimitExceeded]);
}

/// Media Transfer Guide: "The API can cancel downloads for both Direct Post and Content
/// Upload endpoints on a best-effort basis." Its answer is `{"error": {"code": "ok", ...}}`.
/// Get Post Status, `publish_cancelled`: "Developers can cancel an ongoing download. After
/// a successful cancellation, developers will receive a webhook containing this error
/// reason." A second cancel: `publish_not_cancellable`, "already in a final state".
#[tokio::test]
async fn a_pull_still_downloading_can_be_cancelled_once() {
    let origin = Origin::start().await;
    let h = start_with(
        &origin,
        FakeSettings {
            // Nobody listens there: the attempt is recorded all the same.
            webhook_url: Some("http://127.0.0.1:9/webhooks".into()),
            ..settings()
        },
    )
    .await;
    let tokens = h.tokens();
    let token = tokens.access_token.as_str();
    origin.serve(
        "/long.mp4",
        Served::Slow {
            bytes: payload(1_000_000, 4),
            chunk: 50_000,
            pause: Duration::from_millis(200),
        },
    );
    let (status, init) = pull_inbox(&h, token, &origin.url("/long.mp4")).await;
    let id = accepted(status, &init);
    loop {
        let data = h.status(token, &id).await;
        assert_eq!(data["status"], "PROCESSING_DOWNLOAD", "{data}");
        if data["downloaded_bytes"].as_u64().unwrap_or_default() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let (status, answer) = cancel(&h, token, &id).await;
    assert_eq!((status, error_code(&answer)), (StatusCode::OK, "ok"));
    assert!(answer.get("data").is_none(), "{answer}");
    let data = h.status(token, &id).await;
    assert_eq!(data["status"], "FAILED", "{data}");
    assert_eq!(data["fail_reason"], "publish_cancelled");

    let (status, again) = cancel(&h, token, &id).await;
    assert_eq!(
        (status, error_code(&again)),
        (StatusCode::BAD_REQUEST, "publish_not_cancellable")
    );
    let mut delivered = Vec::new();
    for _ in 0..50 {
        delivered = h.fake.webhook_deliveries();
        if !delivered.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    assert_eq!(delivered[0].event, "post.publish.failed");
    let body: Value = serde_json::from_str(&delivered[0].body).expect("JSON");
    let content: Value =
        serde_json::from_str(body["content"].as_str().expect("content")).expect("JSON");
    assert_eq!(content["reason"], "publish_cancelled");
    assert_eq!(content["publish_type"], "INBOX_SHARE");
    // The download stopped: the status stays as the cancel left it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        h.status(token, &id).await["fail_reason"],
        "publish_cancelled"
    );
    assert_eq!(h.fake.violations(), vec![]);
}

/// Media Transfer Guide: "it is not feasible to cancel downloads that are nearing
/// completion or already in the file processing state"; its errors: 400
/// `publish_not_cancellable`, `invalid_publish_id` ("The `publish_id` does not exist"),
/// `token_not_authorized_for_specified_publish_id` ("does not have authorization to cancel
/// the publish"). A FILE_UPLOAD is no download: not cancellable either.
#[tokio::test]
async fn only_a_download_in_progress_is_cancellable() {
    let origin = Origin::start().await;
    let h = Harness::start(origin.settings(FakeSettings {
        // Long enough to cancel in, short enough for `wait_final`.
        processing_time: Duration::from_millis(1_000),
        ..settings()
    }))
    .await;
    let tokens = h.tokens();
    let token = tokens.access_token.as_str();
    origin.serve("/quick.mp4", Served::Bytes(payload(10_000, 5)));

    let (status, init) = pull_direct(&h, token, &origin.url("/quick.mp4")).await;
    let id = accepted(status, &init);
    loop {
        let snapshot = h.fake.publish(&id).expect("publish");
        if snapshot.video_sha256.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Downloaded, in processing: still PROCESSING_DOWNLOAD, but past cancelling.
    let data = h.status(token, &id).await;
    assert_eq!(data["status"], "PROCESSING_DOWNLOAD", "{data}");
    assert_eq!(data["downloaded_bytes"], 10_000);
    let not_cancellable = (StatusCode::BAD_REQUEST, "publish_not_cancellable");
    let (status, answer) = cancel(&h, token, &id).await;
    assert_eq!((status, error_code(&answer)), not_cancellable);
    assert_eq!(h.wait_final(token, &id).await["status"], "PUBLISH_COMPLETE");
    let (status, answer) = cancel(&h, token, &id).await;
    assert_eq!((status, error_code(&answer)), not_cancellable);

    let (status, upload) = h.init_direct(token, "SELF_ONLY", (2_000, 2_000, 1)).await;
    assert_eq!(status, StatusCode::OK, "{upload}");
    let (status, answer) = cancel(&h, token, &publish_id(&upload)).await;
    assert_eq!((status, error_code(&answer)), not_cancellable);

    let (status, answer) = cancel(&h, token, "v_pub_url~v2-1.0").await;
    assert_eq!(
        (status, error_code(&answer)),
        (StatusCode::BAD_REQUEST, "invalid_publish_id")
    );
    let other = h.tokens();
    let (status, answer) = cancel(&h, &other.access_token, &id).await;
    assert_eq!(
        (status, error_code(&answer)),
        (
            StatusCode::BAD_REQUEST,
            "token_not_authorized_for_specified_publish_id"
        )
    );
    assert_eq!(h.fake.violations(), vec![]);
}
