//! PULL_FROM_URL choices of the fake that no TikTok sentence dictates: the certificate is
//! checked against the host name the fake was told to resolve, the verified URLs are set
//! through the control API too, and what was pulled can be read back there.

use super::*;
use crate::origin::{Origin, Served};

#[tokio::test]
async fn the_origin_certificate_must_name_the_host() {
    let origin = Origin::start().await;
    let h = Harness::start(origin.settings(settings())).await;
    // Resolved to the origin and verified, but the origin's certificate does not name it.
    h.fake.verify_domain("example.test").expect("a domain");
    origin.serve("/a.mp4", Served::Bytes(payload(1_000, 9)));
    let tokens = h.tokens();
    let body = json!({"source_info": {"source": "PULL_FROM_URL",
                                      "video_url": origin.url_on("example.test", "/a.mp4")}});
    let (status, init) = h
        .post(
            "/v2/post/publish/inbox/video/init/",
            &tokens.access_token,
            body,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{init}");
    let done = h.wait_final(&tokens.access_token, &publish_id(&init)).await;
    assert_eq!(done["fail_reason"], "video_pull_failed", "{done}");
    assert!(origin.hits().is_empty(), "no request past the handshake");
}

#[tokio::test]
async fn only_domains_tiktok_style_url_prefixes_and_certificates_are_taken() {
    let h = Harness::start(settings()).await;
    assert!(h.fake.verify_domain("media.example.test").is_ok());
    assert!(h.fake.verify_domain("10.0.0.1").is_err());
    assert!(h.fake.verify_domain("not a domain").is_err());
    assert!(
        h.fake
            .verify_url_prefix("https://media.example.test/videos/")
            .is_ok()
    );
    for refused in [
        "https://media.example.test/videos",
        "http://media.example.test/videos/",
        "https://10.0.0.1/videos/",
        "https://media.example.test/videos/?x=1",
    ] {
        assert!(h.fake.verify_url_prefix(refused).is_err(), "{refused}");
    }
    let bad_settings = FakeSettings {
        verified_url_prefixes: vec!["https://media.example.test/no-slash".into()],
        ..settings()
    };
    assert!(FakeTikTok::start(bad_settings).await.is_err());
    let no_certificate = FakeSettings {
        trusted_ca_pems: vec!["not a certificate".into()],
        ..settings()
    };
    assert!(FakeTikTok::start(no_certificate).await.is_err());
}

/// `POST` and `PUT /__fake/verified` and `GET /__fake/publishes/{id}/pulled`, for the local stack.
#[tokio::test]
async fn the_control_api_verifies_urls_and_shows_what_was_pulled() {
    let origin = Origin::start().await;
    let h = Harness::start(FakeSettings {
        verified_domains: Vec::new(),
        ..origin.settings(settings())
    })
    .await;
    let tokens = h.tokens();
    let video = payload(5_000, 10);
    origin.serve("/v/a.mp4", Served::Bytes(video.clone()));
    let url = origin.url("/v/a.mp4");
    let init = |url: String| {
        let body = json!({"source_info": {"source": "PULL_FROM_URL", "video_url": url}});
        h.post(
            "/v2/post/publish/inbox/video/init/",
            &tokens.access_token,
            body,
        )
    };
    let (status, _) = init(url.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let refused = h
        .http
        .post(h.url("/__fake/verified"))
        .json(&json!({"url_prefixes": ["https://media.example.test/v"]}))
        .send()
        .await
        .expect("control call");
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let prefix = origin.url("/v/");
    let verified = h
        .http
        .post(h.url("/__fake/verified"))
        .json(&json!({ "url_prefixes": [prefix] }))
        .send()
        .await
        .expect("control call");
    assert_eq!(verified.status(), StatusCode::NO_CONTENT);
    let listed: Value = h
        .http
        .get(h.url("/__fake/verified"))
        .send()
        .await
        .expect("control call")
        .json()
        .await
        .expect("JSON");
    assert_eq!(listed, json!({"domains": [], "url_prefixes": [prefix]}));

    let (status, answer) = init(url.clone()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let id = publish_id(&answer);
    h.wait_final(&tokens.access_token, &id).await;
    let pulled: Value = h
        .http
        .get(h.url(&format!("/__fake/publishes/{id}/pulled")))
        .send()
        .await
        .expect("control call")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        pulled,
        json!([{"url": url, "bytes": 5_000, "sha256": sha256_hex(&video)}])
    );
    let missing = h
        .http
        .get(h.url("/__fake/publishes/nope/pulled"))
        .send()
        .await
        .expect("control call");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    // PUT replaces what is verified: a bad entry changes nothing, an empty list un-verifies.
    let replace = |body: Value| h.http.put(h.url("/__fake/verified")).json(&body).send();
    let bad = replace(json!({"domains": ["not a domain"]})).await;
    assert_eq!(bad.expect("control call").status(), StatusCode::BAD_REQUEST);
    let (status, _) = init(url.clone()).await;
    assert_eq!(status, StatusCode::OK, "a refused PUT keeps the prefix");
    let emptied = replace(json!({})).await.expect("control call");
    assert_eq!(emptied.status(), StatusCode::NO_CONTENT);
    let (status, answer) = init(url.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(answer["error"]["code"], "url_ownership_unverified");
    assert_eq!(h.fake.violations(), vec![]);
}

/// A pull to an origin that is not there fails like any other download failure.
#[tokio::test]
async fn an_origin_that_refuses_the_connection_fails_the_pull() {
    let origin = Origin::start().await;
    let h = Harness::start(origin.settings(settings())).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("address").port();
    drop(closed);
    let tokens = h.tokens();
    let body = json!({"source_info": {"source": "PULL_FROM_URL",
                                      "video_url": format!("https://{}:{port}/a.mp4", crate::origin::MEDIA_HOST)}});
    let (status, init) = h
        .post(
            "/v2/post/publish/inbox/video/init/",
            &tokens.access_token,
            body,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{init}");
    let done = h.wait_final(&tokens.access_token, &publish_id(&init)).await;
    assert_eq!(done["fail_reason"], "video_pull_failed", "{done}");
}

/// A pulled video goes through the same processing as an uploaded one: a `FailPost` fault
/// fails it after processing, and its webhook events are an upload's.
#[tokio::test]
async fn a_pulled_video_is_processed_as_an_uploaded_one() {
    let origin = Origin::start().await;
    let h = Harness::start(origin.settings(FakeSettings {
        webhook_url: Some("http://127.0.0.1:9/webhooks".into()),
        ..settings()
    }))
    .await;
    origin.serve("/ok.mp4", Served::Bytes(payload(2_000, 14)));
    let tokens = h.tokens();
    let token = tokens.access_token.as_str();
    let init = |privacy: &'static str| {
        let body = json!({
            "post_info": {"title": "t", "privacy_level": privacy},
            "source_info": {"source": "PULL_FROM_URL", "video_url": origin.url("/ok.mp4")},
        });
        h.post("/v2/post/publish/video/init/", token, body)
    };

    let (status, answer) = init("PUBLIC_TO_EVERYONE").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let public = publish_id(&answer);
    let done = h.wait_final(token, &public).await;
    assert_eq!(done["status"], "PUBLISH_COMPLETE", "{done}");
    assert_eq!(
        done["publicaly_available_post_id"].as_array().map(Vec::len),
        Some(1)
    );

    h.fake.inject(Fault::FailPost {
        open_id: tokens.open_id.clone(),
        fail_reason: "frame_rate_check_failed".into(),
    });
    let (_, answer) = init("SELF_ONLY").await;
    let failed = publish_id(&answer);
    let done = h.wait_final(token, &failed).await;
    assert_eq!(done["fail_reason"], "frame_rate_check_failed", "{done}");

    let mut events = Vec::new();
    for _ in 0..50 {
        events = h
            .fake
            .webhook_deliveries()
            .into_iter()
            .map(|d| (d.event, d.publish_id.unwrap_or_default()))
            .collect();
        if events.len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    events.sort();
    let mut expected = vec![
        ("post.publish.complete".to_owned(), public.clone()),
        ("post.publish.publicly_available".to_owned(), public),
        ("post.publish.failed".to_owned(), failed),
    ];
    expected.sort();
    assert_eq!(events, expected);
    assert_eq!(h.fake.violations(), vec![]);
}
