//! The rules the fake takes from TikTok's own pages, each test quoting the sentence (or the
//! example) it comes from. Where the stored copy of a page did not reach the passage, the
//! test quotes our contract (`CONTRACT.md`, from `shared/tiktok-api.md`) and says so.
//!
//! Pages: Media Transfer Guide
//! <https://developers.tiktok.com/doc/content-posting-api-media-transfer-guide>, Get Post
//! Status <https://developers.tiktok.com/doc/content-posting-api-reference-get-video-status>,
//! Query Creator Info
//! <https://developers.tiktok.com/doc/content-posting-api-reference-query-creator-info>.

use super::*;

mod pull;

/// A PUT of `first..=last` of `video`, answered whole (status, headers, body).
async fn put_answer(h: &Harness, url: &str, video: &Bytes, first: u64, last: u64) -> Answer {
    let response = h
        .http
        .put(url)
        .header("content-type", "video/mp4")
        .header(
            "content-range",
            format!("bytes {first}-{last}/{}", video.len()),
        )
        .body(video.slice(first as usize..=last as usize))
        .send()
        .await
        .expect("an answer");
    Answer::read(response).await
}

struct Answer {
    status: StatusCode,
    content_range: Option<String>,
    body: Bytes,
}

impl Answer {
    async fn read(response: reqwest::Response) -> Answer {
        let status = response.status();
        let content_range = response
            .headers()
            .get("content-range")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.bytes().await.expect("a body");
        Answer {
            status,
            content_range,
            body,
        }
    }

    /// The Media Transfer Guide defines statuses for the upload URL, no JSON error codes:
    /// a refusal must not invent one.
    fn has_no_error_code(&self) -> bool {
        serde_json::from_slice::<Value>(&self.body)
            .map(|v| v.get("error").is_none())
            .unwrap_or(true)
    }
}

async fn init_17mb(h: &Harness, token: &str) -> (String, String) {
    let (status, init) = h.init_direct(token, "SELF_ONLY", PLAN_17MB).await;
    assert_eq!(status, StatusCode::OK, "{init}");
    (upload_url(&init), publish_id(&init))
}

/// Get Post Status lists `PROCESSING_DOWNLOAD` for PULL_FROM_URL, and TikTok's example
/// answer for a file upload carries `"uploaded_bytes": 10000` and no `downloaded_bytes`.
/// The stored page did not reach the status table; our contract (section 2) reads:
/// "`PROCESSING_UPLOAD` (FILE_UPLOAD: it stays here, with `uploaded_bytes` equal to the
/// size, after the last chunk until processing ends), `PROCESSING_DOWNLOAD` (**only** for
/// PULL_FROM_URL, with `downloaded_bytes`)".
#[tokio::test]
async fn a_file_upload_stays_processing_upload_with_every_byte_until_final() {
    let h = Harness::start(FakeSettings {
        processing_time: Duration::from_millis(400),
        ..settings()
    })
    .await;
    let tokens = h.tokens();
    let token = tokens.access_token.as_str();
    let (url, id) = init_17mb(&h, token).await;
    let video = payload(VIDEO_17MB, 5);
    for (first, last) in ranges_17mb() {
        h.put(&url, &video, first, last).await.expect("chunk");
    }

    let mut seen = Vec::new();
    loop {
        let data = h.status(token, &id).await;
        assert!(data.get("downloaded_bytes").is_none(), "{data}");
        let status = data["status"].as_str().unwrap_or_default().to_owned();
        if status == "PROCESSING_UPLOAD" {
            assert_eq!(data["uploaded_bytes"], VIDEO_17MB as u64, "{data}");
        }
        let done = !status.starts_with("PROCESSING");
        seen.push(status);
        if done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(seen.len() > 1, "processing was observed: {seen:?}");
    assert!(!seen.iter().any(|s| s == "PROCESSING_DOWNLOAD"), "{seen:?}");
    assert_eq!(seen.last().map(String::as_str), Some("PUBLISH_COMPLETE"));
    assert_eq!(h.fake.violations(), vec![]);
}

/// Get Post Status's example shows `uploaded_bytes`, but nothing on the page promises it in
/// every answer; our contract (section 2): "`uploaded_bytes` may be missing".
#[tokio::test]
async fn status_answers_may_leave_out_uploaded_bytes() {
    let h = Harness::start(settings()).await;
    let quiet = h.tokens();
    let other = h.tokens();
    h.fake.inject(Fault::OmitUploadedBytes {
        open_id: quiet.open_id.clone(),
    });
    let (_, quiet_id) = init_17mb(&h, &quiet.access_token).await;
    let (_, other_id) = init_17mb(&h, &other.access_token).await;

    let data = h.status(&quiet.access_token, &quiet_id).await;
    assert_eq!(data["status"], "PROCESSING_UPLOAD");
    assert!(data.get("uploaded_bytes").is_none(), "{data}");
    let data = h.status(&other.access_token, &other_id).await;
    assert_eq!(data["uploaded_bytes"], 0, "{data}");
    assert_eq!(h.fake.violations(), vec![]);
}

/// Media Transfer Guide: "File chunks must be uploaded sequentially." Its answers are HTTP
/// statuses; the stored page did not reach the list, so from our contract (section 3):
/// "Errors are HTTP statuses, not JSON codes: 400 (bad headers or length), 403 (the URL
/// expired), 404 (no such upload), 416 (not the range TikTok expects; its
/// `Content-Range: bytes 0-{last received}/{total}` says what it has: resend from there),
/// 5xx (retry)."
#[tokio::test]
async fn upload_refusals_are_bare_statuses_and_a_416_says_what_the_fake_holds() {
    let h = Harness::start(settings()).await;
    let tokens = h.tokens();
    let (url, id) = init_17mb(&h, &tokens.access_token).await;
    let video = payload(VIDEO_17MB, 6);
    let [c0, c1, c2] = ranges_17mb();

    // Ahead of its turn with nothing taken: HTTP's "nothing held" form.
    let ahead = put_answer(&h, &url, &video, c1.0, c1.1).await;
    assert_eq!(ahead.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        ahead.content_range.as_deref(),
        Some("bytes */17000000"),
        "nothing held yet"
    );
    assert!(ahead.has_no_error_code());
    assert_eq!(h.kinds(), vec![ViolationKind::ChunkOutOfOrder]);
    h.fake.take_violations();

    let first = put_answer(&h, &url, &video, c0.0, c0.1).await;
    assert_eq!(first.status, StatusCode::PARTIAL_CONTENT);
    let skipped = put_answer(&h, &url, &video, c2.0, c2.1).await;
    assert_eq!(skipped.status, StatusCode::RANGE_NOT_SATISFIABLE);
    let held = format!("bytes 0-{}/{VIDEO_17MB}", c0.1);
    assert_eq!(skipped.content_range.as_deref(), Some(held.as_str()));
    assert!(skipped.has_no_error_code());
    h.fake.take_violations();

    // 400: headers the guide's schema does not allow.
    let response = h
        .http
        .put(&url)
        .header("content-type", "application/octet-stream")
        .header(
            "content-range",
            format!("bytes {}-{}/{VIDEO_17MB}", c1.0, c1.1),
        )
        .body(video.slice(c1.0 as usize..=c1.1 as usize))
        .send()
        .await
        .expect("an answer");
    let bad = Answer::read(response).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.has_no_error_code());
    h.fake.take_violations();

    // 5xx from a fault: the status alone.
    h.fake.inject(Fault::HttpError {
        endpoint: Endpoint::UploadChunk,
        status: 503,
        code: "internal_error".into(),
        times: 1,
    });
    let unavailable = put_answer(&h, &url, &video, c1.0, c1.1).await;
    assert_eq!(unavailable.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(unavailable.has_no_error_code());

    // 404: an upload the fake never issued.
    let unknown = url.replace("upload_id=", "upload_id=x");
    let missing = put_answer(&h, &unknown, &video, c1.0, c1.1).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.has_no_error_code());

    // 403: the URL expired.
    h.fake.inject(Fault::ExpireUploadUrl {
        publish_id: Some(id),
    });
    let expired = put_answer(&h, &url, &video, c1.0, c1.1).await;
    assert_eq!(expired.status, StatusCode::FORBIDDEN);
    assert!(expired.has_no_error_code());
    assert_eq!(h.fake.violations(), vec![]);
}

/// Our contract (section 3), on a 416: "its `Content-Range: bytes 0-{last received}/{total}`
/// says what it has: resend from there". A chunk the fake answered and then lost
/// (`DropChunk`) is asked for again that way, and sending it is no violation.
#[tokio::test]
async fn a_chunk_the_fake_lost_is_asked_for_again_with_a_416() {
    let h = Harness::start(settings()).await;
    let tokens = h.tokens();
    h.fake.inject(Fault::DropChunk {
        open_id: tokens.open_id.clone(),
        chunk: 1,
    });
    let (url, id) = init_17mb(&h, &tokens.access_token).await;
    let video = payload(VIDEO_17MB, 7);
    let [c0, c1, c2] = ranges_17mb();

    assert_eq!(
        put_answer(&h, &url, &video, c0.0, c0.1).await.status,
        StatusCode::PARTIAL_CONTENT
    );
    assert_eq!(
        put_answer(&h, &url, &video, c1.0, c1.1).await.status,
        StatusCode::PARTIAL_CONTENT,
        "answered as taken"
    );
    let behind = put_answer(&h, &url, &video, c2.0, c2.1).await;
    assert_eq!(behind.status, StatusCode::RANGE_NOT_SATISFIABLE);
    let held = format!("bytes 0-{}/{VIDEO_17MB}", c0.1);
    assert_eq!(behind.content_range.as_deref(), Some(held.as_str()));
    assert_eq!(
        h.fake.violations(),
        vec![],
        "the fake's loss, not the client's"
    );

    assert_eq!(
        put_answer(&h, &url, &video, c1.0, c1.1).await.status,
        StatusCode::PARTIAL_CONTENT
    );
    assert_eq!(
        put_answer(&h, &url, &video, c2.0, c2.1).await.status,
        StatusCode::CREATED
    );
    let snapshot = h.fake.publish(&id).expect("publish");
    assert_eq!(snapshot.video_sha256, Some(sha256_hex(&video)));
    assert_eq!(h.fake.violations(), vec![]);
}

/// Query Creator Info: "This API returns profile and permission information of the current
/// user." The stored page did not reach its error table; our contract (section 2):
/// "creator_info answers HTTP **200** with a non-`ok` code when the creator cannot post now
/// (spam risk, banned from posting, `reached_active_user_cap`): show TikTok's reason and
/// stop", and "403 `spam_risk_too_many_posts` (daily cap),
/// `spam_risk_user_banned_from_posting`, `reached_active_user_cap`" on init.
#[tokio::test]
async fn a_creator_who_cannot_post_gets_http_200_with_the_code_and_init_refuses() {
    let h = Harness::start(settings()).await;
    for code in [
        "spam_risk_too_many_posts",
        "spam_risk_user_banned_from_posting",
        "reached_active_user_cap",
    ] {
        let tokens = h.tokens();
        let token = tokens.access_token.as_str();
        h.fake.inject(Fault::CreatorCannotPost {
            open_id: tokens.open_id.clone(),
            code: code.into(),
        });

        let (status, info) = h
            .post("/v2/post/publish/creator_info/query/", token, json!({}))
            .await;
        assert_eq!((status, error_code(&info)), (StatusCode::OK, code));
        assert!(
            info["data"].get("privacy_level_options").is_none(),
            "{info}"
        );

        let (status, init) = h.init_direct(token, "SELF_ONLY", (2_000, 2_000, 1)).await;
        assert_eq!((status, error_code(&init)), (StatusCode::FORBIDDEN, code));
        let body = json!({"source_info": source_info((2_000, 2_000, 1))});
        let (status, inbox) = h
            .post("/v2/post/publish/inbox/video/init/", token, body)
            .await;
        assert_eq!((status, error_code(&inbox)), (StatusCode::FORBIDDEN, code));
    }
    // A creator without the fault is unaffected.
    let free = h.tokens();
    let (status, info) = h
        .post(
            "/v2/post/publish/creator_info/query/",
            &free.access_token,
            json!({}),
        )
        .await;
    assert_eq!((status, error_code(&info)), (StatusCode::OK, "ok"));
    assert_eq!(h.fake.violations(), vec![]);
}
