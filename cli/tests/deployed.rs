//! The binary against a "deployed" stack: a CloudFormation stack in moto whose outputs point
//! at a small HTTP server in this test, standing in for the IAM-authorised API. Checks that
//! `--stack NAME` finds the API and the bucket from the outputs and that every request
//! arrives SigV4-signed for `execute-api` (the signature is recomputed here), on the path the
//! posts API serves.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use test_support::{moto, unique_name};

mod common;
use common::{cli, text};

use common::{KEY_ID, REGION, SECRET};

/// One request as the stand-in API received it.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    path: String,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

/// Serves canned answers by path, recording every request.
fn api_server(answer: fn(&str, &str) -> (u16, String)) -> (String, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() || line.is_empty() {
                continue;
            }
            let mut parts = line.split_whitespace();
            let method = parts.next().unwrap_or_default().to_owned();
            let path = parts.next().unwrap_or_default().to_owned();
            let mut headers = BTreeMap::new();
            loop {
                let mut header = String::new();
                reader.read_line(&mut header).unwrap();
                let header = header.trim_end();
                if header.is_empty() {
                    break;
                }
                if let Some((name, value)) = header.split_once(':') {
                    headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
                }
            }
            let length = headers
                .get("content-length")
                .and_then(|l| l.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let (status, reply) = answer(&method, &path);
            log.lock().unwrap().push(Received {
                method,
                path,
                headers,
                body,
            });
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
                reply.len()
            );
        }
    });
    (url, seen)
}

fn answers(method: &str, path: &str) -> (u16, String) {
    let post = |state: &str| {
        serde_json::json!({"id": "p1", "account": "open-1", "key": "uploads/open-1/smoke.mp4",
            "state": state, "final": true, "public_post_ids": ["7300000000000000001"]})
        .to_string()
    };
    match (method, path) {
        ("GET", "/accounts") => (200, r#"{"accounts":[]}"#.into()),
        ("GET", "/posts/p1") => (200, post("PUBLISHED")),
        ("GET", "/accounts/open-1/creator-info") => (
            200,
            serde_json::json!({"open_id": "open-1", "nickname": "Deployed Creator",
                "username": "dc", "avatar_url": "", "privacy_level_options": ["SELF_ONLY"],
                "comment_disabled": false, "duet_disabled": false, "stitch_disabled": false,
                "max_video_post_duration_sec": 600})
            .to_string(),
        ),
        ("POST", "/posts") => (201, post("PUBLISHED")),
        _ => (
            404,
            r#"{"error":{"code":"post_not_found","message":"there is no post"}}"#.into(),
        ),
    }
}

/// [`answers`], with one connected account (`open-1`, "Deployed Creator").
fn answers_with_an_account(method: &str, path: &str) -> (u16, String) {
    match (method, path) {
        ("GET", "/accounts") => (
            200,
            serde_json::json!({"accounts": [{"open_id": "open-1", "nickname": "Deployed Creator",
                "username": "dc", "avatar_url": null, "needs_reconnect": false,
                "missing_scopes": [], "refresh_expires_at": "2027-01-01T00:00:00Z"}]})
            .to_string(),
        ),
        _ => answers(method, path),
    }
}

/// A stack in moto with the template's two outputs the CLI reads; its bucket's name.
async fn create_stack(name: &str, api_url: &str) -> String {
    let bucket = unique_name("videos");
    let template = serde_json::json!({
        "Resources": {"VideoBucket": {"Type": "AWS::S3::Bucket",
                                      "Properties": {"BucketName": bucket}}},
        "Outputs": {
            "ApiUrl": {"Value": api_url},
            "VideoBucketName": {"Value": {"Ref": "VideoBucket"}}
        }
    });
    let cloudformation = aws_sdk_cloudformation::Client::new(&moto().sdk_config().await);
    cloudformation
        .create_stack()
        .stack_name(name)
        .template_body(template.to_string())
        .send()
        .await
        .expect("CreateStack on moto");
    bucket
}

/// Asserts `request` carries a SigV4 signature for execute-api in us-east-1 with the test's
/// key, over its method, path, signed headers and body: recomputed here, it must match.
fn assert_signed(request: &Received, api_url: &str) {
    let auth = request
        .headers
        .get("authorization")
        .unwrap_or_else(|| panic!("no Authorization header on {request:?}"));
    let date = &request.headers["x-amz-date"];
    let prefix = format!(
        "AWS4-HMAC-SHA256 Credential={KEY_ID}/{}/{REGION}/execute-api/aws4_request, SignedHeaders=",
        &date[..8]
    );
    assert!(auth.starts_with(&prefix), "{auth}");
    let signed_headers = auth[prefix.len()..].split(',').next().unwrap();
    let signed: Vec<&str> = signed_headers.split(';').collect();
    assert!(
        signed.contains(&"host") && signed.contains(&"x-amz-date"),
        "{auth}"
    );
    let signature = auth.rsplit("Signature=").next().unwrap();

    // Recompute over what arrived; the signer adds x-amz-date itself.
    let at = SystemTime::from(amz_date(date));
    let headers: Vec<(&str, &str)> = signed
        .iter()
        .filter(|name| **name != "x-amz-date")
        .map(|name| (*name, request.headers[*name].as_str()))
        .collect();
    let identity = Credentials::new(KEY_ID, SECRET, None, None, "test").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(REGION)
        .name("execute-api")
        .time(at)
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let url = format!("{api_url}{}", request.path);
    let signable = SignableRequest::new(
        &request.method,
        &url,
        headers.into_iter(),
        SignableBody::Bytes(&request.body),
    )
    .unwrap();
    let (_, expected) = sign(signable, &params).unwrap().into_parts();
    assert_eq!(
        signature, expected,
        "the signature does not verify: {request:?}"
    );
}

/// `20261125T120000Z` as a time.
fn amz_date(text: &str) -> time::OffsetDateTime {
    let number = |range: std::ops::Range<usize>| -> u32 { text[range].parse().unwrap() };
    let month = time::Month::try_from(number(4..6) as u8).unwrap();
    let date =
        time::Date::from_calendar_date(number(0..4) as i32, month, number(6..8) as u8).unwrap();
    let clock = time::Time::from_hms(
        number(9..11) as u8,
        number(11..13) as u8,
        number(13..15) as u8,
    )
    .unwrap();
    time::PrimitiveDateTime::new(date, clock).assume_utc()
}

#[tokio::test]
async fn a_deployed_stack_is_found_by_name_and_every_request_is_signed() {
    let (api_url, seen) = api_server(answers);
    let name = unique_name("tiktok-publish-cli");
    create_stack(&name, &api_url).await;

    let out = cli(&["--stack", &name, "accounts"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("tiktok-publish connect"),
        "{}",
        text(&out)
    );

    let out = cli(&["status", "nope", "--stack", &name]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("no post with that id"),
        "{}",
        text(&out)
    );

    let requests = seen.lock().unwrap().clone();
    let paths: Vec<(&str, &str)> = requests
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str()))
        .collect();
    assert_eq!(paths, [("GET", "/accounts"), ("GET", "/posts/nope")]);
    for request in &requests {
        assert_signed(request, &api_url);
    }
}

#[tokio::test]
async fn a_post_to_a_deployed_stack_uploads_to_its_bucket_and_signs_its_body() {
    let (api_url, seen) = api_server(answers_with_an_account);
    let name = unique_name("tiktok-publish-cli");
    let bucket = create_stack(&name, &api_url).await;
    let video = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/local-stack/fixtures/smoke.mp4"
    );
    let out = cli(&[
        "--stack",
        &name,
        "post",
        video,
        // The account by its @username: the CLI finds its open_id in `GET /accounts`.
        "--account",
        "@dc",
        "--privacy",
        "SELF_ONLY",
        "--caption",
        "from the deployed test",
        "--yes",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("Posting to Deployed Creator (@dc)"),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains("7300000000000000001"), "{}", text(&out));

    let s3 = moto().s3().await;
    let uploaded = s3
        .head_object()
        .bucket(&bucket)
        .key("uploads/open-1/smoke.mp4")
        .send()
        .await
        .expect("the video is in the stack's bucket");
    assert_eq!(
        uploaded.content_length(),
        Some(std::fs::metadata(video).unwrap().len() as i64)
    );

    let requests = seen.lock().unwrap().clone();
    let paths: Vec<(&str, &str)> = requests
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str()))
        .collect();
    assert_eq!(
        paths,
        [
            ("GET", "/accounts"),
            ("GET", "/accounts/open-1/creator-info"),
            ("POST", "/posts")
        ]
    );
    for request in &requests {
        assert_signed(request, &api_url);
    }
    let body: serde_json::Value = serde_json::from_slice(&requests[2].body).unwrap();
    assert_eq!(body["account"], "open-1");
    assert_eq!(body["options"]["privacy_level"], "SELF_ONLY");
    assert_eq!(body["options"]["disable_comment"], true);
    assert_eq!(body["options"]["title"], "from the deployed test");
}

#[tokio::test]
async fn an_unknown_stack_name_says_what_to_check() {
    let out = cli(&["--stack", "no-such-stack-here", "accounts"]);
    assert!(!out.status.success());
    let text = text(&out);
    assert!(
        text.contains("no CloudFormation stack named no-such-stack-here")
            && text.contains("--stack"),
        "{text}"
    );
}
