//! What the tests of the binary against a "deployed" stack in moto share: the binary run
//! with credentials and a region for moto, and its output as text for assertion messages.

use std::process::{Command, Output, Stdio};

use test_support::moto;

pub const KEY_ID: &str = "AKIDCLITEST";
pub const SECRET: &str = "cli-test-secret";
pub const REGION: &str = "us-east-1";

/// The binary with AWS pointed at moto (no profile, no config files of the machine).
pub fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tiktok-publish"))
        .args(args)
        .env("AWS_ENDPOINT_URL", moto().endpoint())
        .env("AWS_ACCESS_KEY_ID", KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_REGION", REGION)
        .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        )
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("TIKTOK_PUBLISH_ENV")
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

pub fn text(output: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
