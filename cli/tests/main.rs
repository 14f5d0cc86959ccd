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
fn status_of_unknown_post_says_there_is_none() {
    let env = env_file();
    let out = cli(&env, &["status", "no-such-post"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no post with that id"),
        "{}",
        stderr(&out)
    );
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

/// A creator seeded at the stack's fake TikTok with `seed`, connected through the real flow
/// (`tiktok-publish connect`, the link, the fake's consent with its login cookie, the
/// callback); its open_id.
async fn connected_creator(env: &str, seed: serde_json::Value) -> String {
    let fake = std::env::var("FAKE_TIKTOK_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .expect("the local stack runs the fake TikTok (FAKE_TIKTOK_URL)");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let seeded: serde_json::Value = http
        .post(format!("{fake}/__fake/accounts"))
        .json(&seed)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let open_id = seeded["open_id"].as_str().unwrap().to_owned();

    let out = cli(env, &["connect"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut url = stdout
        .lines()
        .find(|l| l.starts_with("http"))
        .unwrap_or_else(|| panic!("a link in {stdout}"))
        .to_owned();
    // Every hop is on 127.0.0.1: one jar of cookies serves them all.
    let mut cookies = vec![format!("fake_tiktok_login={open_id}")];
    for _ in 0..10 {
        let response = http
            .get(&url)
            .header("cookie", cookies.join("; "))
            .send()
            .await
            .unwrap();
        for set in response.headers().get_all("set-cookie") {
            let pair = set.to_str().unwrap().split(';').next().unwrap().to_owned();
            cookies.push(pair);
        }
        match response.headers().get("location") {
            Some(next) if response.status().is_redirection() => {
                url = next.to_str().unwrap().to_owned();
            }
            _ => {
                assert!(
                    response.status().is_success(),
                    "the connect flow ended with {} at {url}",
                    response.status()
                );
                return open_id;
            }
        }
    }
    panic!("the connect flow did not end within 10 redirects");
}

#[tokio::test]
async fn post_checks_the_creators_settings_before_uploading() {
    let env = env_file();
    let open_id = connected_creator(
        &env,
        serde_json::json!({
            "nickname": "Private Creator",
            "privacy_level_options": ["FOLLOWER_OF_CREATOR", "SELF_ONLY"],
            "comment_disabled": true
        }),
    )
    .await;
    let video = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/local-stack/fixtures/smoke.mp4"
    );
    let base = ["post", video, "--account", open_id.as_str(), "--yes"];

    let out = cli(
        &env,
        &[&base[..], &["--privacy", "PUBLIC_TO_EVERYONE"]].concat(),
    );
    assert!(!out.status.success());
    let text = stderr(&out);
    assert!(
        text.contains("--privacy PUBLIC_TO_EVERYONE is not offered to Private Creator")
            && text.contains("FOLLOWER_OF_CREATOR, SELF_ONLY"),
        "{text}"
    );
    assert!(!text.contains("uploading"), "{text}");

    let out = cli(
        &env,
        &[&base[..], &["--privacy", "SELF_ONLY", "--allow-comment"]].concat(),
    );
    assert!(!out.status.success());
    let text = stderr(&out);
    assert!(text.contains("drop --allow-comment"), "{text}");
    assert!(!text.contains("uploading"), "{text}");

    let out = cli(
        &env,
        &[
            "post",
            video,
            "--account",
            "no-such-account",
            "--privacy",
            "SELF_ONLY",
            "--yes",
        ],
    );
    // Refused before anything is uploaded, listing the connected accounts to choose from.
    assert!(!out.status.success());
    let text = stderr(&out);
    assert!(text.contains(open_id.as_str()), "{text}");
    assert!(!text.contains("uploading"), "{text}");

    // By its nickname, the account is found (then refused for the privacy level, as above).
    let out = cli(
        &env,
        &[
            "post",
            video,
            "--account",
            "Private Creator",
            "--privacy",
            "PUBLIC_TO_EVERYONE",
            "--yes",
        ],
    );
    assert!(!out.status.success());
    let text = stderr(&out);
    assert!(text.contains("is not offered to Private Creator"), "{text}");
}
