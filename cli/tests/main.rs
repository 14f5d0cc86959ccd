//! The real binary against a running local stack. The test command runs it as
//! `scripts/local-stack run -- cargo test -p tiktok-publish --features local-stack-tests
//! --test main`; without a stack (no LOCAL_STACK_ENV) every test fails and says so.

use std::process::{Command, Output, Stdio};

fn env_file() -> String {
    std::env::var("LOCAL_STACK_ENV")
        .ok()
        .filter(|p| !p.is_empty())
        .expect("no local stack: run these tests under `scripts/local-stack run -- ...`")
}

fn cli(env_file: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tiktok-publish"))
        .arg("--env-file")
        .arg(env_file)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn accounts_lists_or_says_how_to_connect() {
    let env = env_file();
    let out = cli(&env, &["accounts"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("OPEN_ID") || text.contains("tiktok-publish connect"),
        "{text}"
    );
}

#[test]
fn status_of_unknown_post_fails_with_advice() {
    let env = env_file();
    let out = cli(&env, &["status", "no-such-post"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("HTTP 404"), "{}", stderr(&out));
}

#[test]
fn connect_prints_a_link() {
    let env = env_file();
    let out = cli(&env, &["connect"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("/oauth/start?link="));
}

#[test]
fn post_without_terminal_or_yes_is_refused_before_upload() {
    let env = env_file();
    let video = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/local-stack/fixtures/smoke.mp4"
    );
    let out = cli(
        &env,
        &[
            "post",
            video,
            "--account",
            "nobody",
            "--privacy",
            "SELF_ONLY",
        ],
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--yes"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("uploading"), "{}", stderr(&out));
}

#[test]
fn missing_env_file_says_how_to_start_the_stack() {
    let out = cli("/nonexistent/env", &["accounts"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("scripts/local-stack up"),
        "{}",
        stderr(&out)
    );
}
