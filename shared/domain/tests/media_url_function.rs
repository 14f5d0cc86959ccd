//! The Rust signer against the front door's own check: URLs made by `MediaUrlSigner` go
//! through `infra/cloudfront/media-url.js`, run in Node by `infra/cloudfront/load.mjs` as
//! CloudFront runs it. Needs `node` on PATH (the test command installs the local stack's
//! Node tools; CI has Node).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use secrecy::SecretString;
use serde_json::{Value, json};
use tiktok_publish_domain::media_url::{MEDIA_URL_LIFETIME_SECS, MediaUrlSigner};

const KEY: &str = "sIgNiNgKeY0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ";
const NOW: i64 = 1_800_000_000;

fn run_function(key: &str, now_secs: i64, urls: &[String]) -> Vec<Value> {
    let loader = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../infra/cloudfront/load.mjs");
    let input = json!({
        "placeholders": {
            "SigningKey": key,
            "VerificationFileName": "",
            "VerificationFileContent": "",
        },
        "now_ms": now_secs * 1000,
        "urls": urls,
    });
    let mut child = Command::new("node")
        .arg(&loader)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node runs infra/cloudfront/load.mjs (is Node on PATH?)");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input.to_string().as_bytes())
        .expect("node reads the URLs");
    let output = child.wait_with_output().expect("node finishes");
    assert!(
        output.status.success(),
        "load.mjs failed: {:?}",
        output.status
    );
    serde_json::from_slice(&output.stdout).expect("load.mjs prints JSON")
}

fn signer(key: &str) -> MediaUrlSigner {
    MediaUrlSigner::new("media.example.com", SecretString::from(key.to_owned()))
        .expect("a domain name")
}

#[test]
fn urls_the_stack_signs_reach_the_bucket_as_their_key_and_version() {
    let keys = [
        "uploads/open-1/clip.mp4",
        "uploads/-000R73Nsn03o2K21fDFwkDXg5DSeNjE/smoke clip 20261207-092830-11363.mp4",
        "uploads/open-1/été #1 (final) + 50%.mp4",
        "uploads/open-1/photos/a~b_c.d-e.webp",
    ];
    let version = "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY";
    let urls: Vec<String> = keys
        .iter()
        .map(|key| {
            signer(KEY)
                .sign(key, version, NOW + MEDIA_URL_LIFETIME_SECS)
                .expect("signable")
        })
        .collect();
    let results = run_function(KEY, NOW, &urls);
    for ((key, url), result) in keys.iter().zip(&urls).zip(&results) {
        assert_eq!(
            result["forwarded"],
            json!(true),
            "{url} was refused: {result}"
        );
        let uri = result["uri"].as_str().expect("a forwarded uri");
        let decoded = percent_encoding::percent_decode_str(uri)
            .decode_utf8()
            .expect("UTF-8");
        assert_eq!(decoded, format!("/{key}"), "{url}");
        assert_eq!(
            result["querystring"],
            json!({"versionId": {"value": version}})
        );
    }
}

#[test]
fn the_function_refuses_what_the_signer_did_not_sign_for() {
    let good = signer(KEY)
        .sign("uploads/open-1/clip.mp4", "v1", NOW + 60)
        .expect("signable");
    let urls = vec![
        // Signed with another key (another stack, or a key rotated away).
        signer("another key")
            .sign("uploads/open-1/clip.mp4", "v1", NOW + 60)
            .expect("signable"),
        // Expired: TikTok started too late, or the URL was kept.
        signer(KEY)
            .sign("uploads/open-1/clip.mp4", "v1", NOW)
            .expect("signable"),
        // Pointed at another object, or another version of it.
        good.replace("clip.mp4", "other.mp4"),
        good.replace("v=v1", "v=v2"),
    ];
    let results = run_function(KEY, NOW, &urls);
    for (url, result) in urls.iter().zip(&results) {
        assert_eq!(result["status"], json!(403), "{url}: {result}");
    }
    // And the good one passes at the same moment, so the refusals above are not the clock's.
    assert_eq!(run_function(KEY, NOW, &[good])[0]["forwarded"], json!(true));
}
