//! `check-domain` against a front door: the local media origin (tests/local-stack/
//! media-origin.mjs, the template's CloudFront Function in Node, https on a hostname with a
//! test authority) in front of a versioned bucket in moto, with the stack's outputs and its
//! signing key in moto's CloudFormation and Secrets Manager. Needs node and openssl.

use test_support::{MEDIA_HOST, MediaOrigin, moto, unique_name};

mod common;
use common::{cli, text};

fn start_origin(bucket: &str, key: &str) -> MediaOrigin {
    MediaOrigin::start(
        bucket,
        key,
        Some((
            "tiktokAbC123.txt",
            "tiktok-developers-site-verification=AbC123",
        )),
    )
    .expect("the media origin starts")
}

/// A stack in moto with a front door: a versioned bucket holding one video, the signing key
/// in Secrets Manager, and the template's outputs. Returns the stack's name.
async fn stack_with_front_door(bucket: &str, prefix: &str, key: &str) -> String {
    let sdk = moto().sdk_config().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let secret = secrets
        .create_secret()
        .name(unique_name("media-signing-key"))
        .secret_string(key)
        .send()
        .await
        .expect("CreateSecret on moto");
    let name = unique_name("tiktok-publish-front-door");
    let template = serde_json::json!({
        "Resources": {"Nothing": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {
            "ApiUrl": {"Value": "https://api.example.com"},
            "VideoBucketName": {"Value": bucket},
            "MediaUrlPrefix": {"Value": prefix},
            "MediaSigningKeyArn": {"Value": secret.arn().expect("an ARN")}
        }
    });
    aws_sdk_cloudformation::Client::new(&sdk)
        .create_stack()
        .stack_name(&name)
        .template_body(template.to_string())
        .send()
        .await
        .expect("CreateStack on moto");
    name
}

async fn versioned_bucket_with_a_video() -> String {
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&moto().sdk_config().await)
            .force_path_style(true)
            .build(),
    );
    let bucket = unique_name("videos");
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("CreateBucket");
    s3.put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .expect("PutBucketVersioning");
    for (key, body) in [
        ("uploads/open-1/my clip #1.mp4", vec![7u8; 40_000]),
        ("uploads/open-1/my clip #1.mp4.json", b"{}".to_vec()),
    ] {
        s3.put_object()
            .bucket(&bucket)
            .key(key)
            .body(body.into())
            .send()
            .await
            .expect("PutObject");
    }
    bucket
}

fn check_domain(stack: &str, origin: &MediaOrigin) -> std::process::Output {
    let ca = origin.ca_file().display().to_string();
    cli(&[
        "--stack",
        stack,
        "check-domain",
        "--ca-file",
        &ca,
        "--resolve",
        &format!("{MEDIA_HOST}=127.0.0.1"),
        "--verification-file",
        "tiktokAbC123.txt",
    ])
}

#[tokio::test]
async fn a_working_front_door_passes_every_check() {
    let key = "the-stack-signing-key-0123456789abcdefghijklmnopqrstuvwxyzABCDEF";
    let bucket = versioned_bucket_with_a_video().await;
    let origin = start_origin(&bucket, key);
    let prefix = origin.media_url_prefix();
    let stack = stack_with_front_door(&bucket, &prefix, key).await;

    let out = check_domain(&stack, &origin);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 6, "{}", text(&out));
    for line in &lines {
        assert!(line.starts_with("ok "), "{line}\n{}", text(&out));
    }
    assert!(
        stdout.contains("my clip #1.mp4 (version") && stdout.contains("40000 bytes"),
        "the signed URL names the video, not its manifest: {stdout}"
    );
}

#[tokio::test]
async fn a_key_that_differs_from_the_function_s_fails_the_signed_check_with_advice() {
    let bucket = versioned_bucket_with_a_video().await;
    let origin = start_origin(
        &bucket,
        "the-key-the-function-has-0123456789abcdefghijklmnopqrstuvwx",
    );
    let prefix = origin.media_url_prefix();
    let stack = stack_with_front_door(&bucket, &prefix, "a-rotated-key-0123456789abcdef").await;

    let out = check_domain(&stack, &origin);
    assert!(!out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let signed = stdout
        .lines()
        .find(|line| line.contains("signed media URL:") && !line.contains("unsigned"))
        .unwrap_or_default();
    assert!(signed.starts_with("FAIL"), "{}", text(&out));
    assert!(
        signed.contains("HTTP 403") && signed.contains("MediaSigningKeyGeneration"),
        "{signed}"
    );
    // What does not depend on the key still passes.
    for check in [
        "https and certificate",
        "unsigned media URL",
        "expired media URL",
        "TikTok verification file",
    ] {
        let line = stdout
            .lines()
            .find(|l| l.contains(check))
            .unwrap_or_default();
        assert!(line.starts_with("ok "), "{check}: {}", text(&out));
    }
}

#[tokio::test]
async fn a_stack_without_a_front_door_says_how_to_get_one() {
    let name = unique_name("tiktok-publish-no-front-door");
    let template = serde_json::json!({
        "Resources": {"Nothing": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"ApiUrl": {"Value": "https://api.example.com"}, "VideoBucketName": {"Value": "b"}}
    });
    aws_sdk_cloudformation::Client::new(&moto().sdk_config().await)
        .create_stack()
        .stack_name(&name)
        .template_body(template.to_string())
        .send()
        .await
        .expect("CreateStack on moto");
    let out = cli(&["--stack", &name, "check-domain"]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("DomainName and CertificateArn"),
        "{}",
        text(&out)
    );
}
