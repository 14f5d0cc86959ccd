//! Running one real handler binary (`target/release/<function>`) as Lambda runs it: a fresh
//! process with a Lambda-like environment, polling its own [`RuntimeApi`].

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;
use tiktok_publish_testkit::TestStack;

use crate::release_binary;
use crate::runtime_api::{Outcome, RuntimeApi};

/// Lambda's own variables, the template's Globals (tables) and every function's settings,
/// so that any of the seven binaries starts. `aws_endpoint` receives every AWS call,
/// `tiktok` every TikTok call.
pub fn function_env(
    function: &str,
    memory_mb: u32,
    aws_endpoint: &str,
    tiktok: &str,
    tables: &[(&str, String)],
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("AWS_LAMBDA_FUNCTION_NAME", function.to_owned()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory_mb.to_string()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{function}"),
        ),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "bench".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_DEFAULT_REGION", "us-east-1".to_owned()),
        // As in Lambda: the execution role's credentials come in the environment.
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("AWS_SESSION_TOKEN", "testing".to_owned()),
        ("AWS_ENDPOINT_URL", aws_endpoint.to_owned()),
        ("RUST_LOG", "info".to_owned()),
        ("TIKTOK_CLIENT_KEY", "bench-client-key".to_owned()),
        ("TIKTOK_API_BASE_URL", tiktok.to_owned()),
        ("TIKTOK_AUTH_BASE_URL", tiktok.to_owned()),
        ("PUBLIC_BASE_URL", "http://127.0.0.1:9".to_owned()),
        (
            "TIKTOK_REDIRECT_URI",
            "http://127.0.0.1:9/oauth/callback".to_owned(),
        ),
        ("VIDEO_BUCKET", "bench-videos".to_owned()),
        ("UPLOAD_PREFIX", "uploads/".to_owned()),
        (
            "STATE_MACHINE_ARN",
            "arn:aws:states:us-east-1:123456789012:stateMachine:bench".to_owned(),
        ),
        (
            "TIKTOK_CLIENT_SECRET_ARN",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:bench".to_owned(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for (name, value) in tables {
        env.push(((*name).to_owned(), value.clone()));
    }
    env
}

/// The four table variables, named `bench-*` (for runs that never reach DynamoDB).
pub fn placeholder_tables() -> Vec<(&'static str, String)> {
    vec![
        ("ACCOUNTS_TABLE", "bench-accounts".into()),
        ("POSTS_TABLE", "bench-posts".into()),
        ("OAUTH_TABLE", "bench-oauth".into()),
        ("ALLOWANCES_TABLE", "bench-allowances".into()),
    ]
}

/// The table variables of `stack`.
pub fn stack_tables(stack: &TestStack) -> Vec<(&'static str, String)> {
    vec![
        ("ACCOUNTS_TABLE", stack.tables.accounts.clone()),
        ("POSTS_TABLE", stack.tables.posts.clone()),
        ("OAUTH_TABLE", stack.tables.oauth.clone()),
        ("ALLOWANCES_TABLE", stack.tables.allowances.clone()),
    ]
}

/// Sets `name` to `value` in `env`, replacing an earlier value.
pub fn set_env(env: &mut Vec<(String, String)>, name: &str, value: &str) {
    env.retain(|(k, _)| k != name);
    env.push((name.to_owned(), value.to_owned()));
}

/// One function process, started cold and ready for its first event.
pub struct Running {
    child: tokio::process::Child,
    pub api: RuntimeApi,
    pub spawned: Instant,
    /// From just before `spawn` to the function's first `next` poll.
    pub ready: Duration,
}

impl Running {
    /// Starts `target/release/<function>` with exactly `env` (nothing inherited) and waits
    /// for its first poll.
    pub async fn start(function: &str, env: &[(String, String)]) -> anyhow::Result<Running> {
        let binary = release_binary(function)?;
        let api = RuntimeApi::start(Duration::from_secs(900)).await?;
        let mut command = tokio::process::Command::new(&binary);
        command
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("AWS_LAMBDA_RUNTIME_API", api.address())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let spawned = Instant::now();
        let mut child = command
            .spawn()
            .with_context(|| format!("start {}", binary.display()))?;
        let first_poll = tokio::select! {
            poll = api.wait_for_poll(1, Duration::from_secs(10)) => poll,
            status = child.wait() => bail!("{function} exited before its first poll: {status:?}"),
        }?;
        Ok(Running {
            child,
            api,
            spawned,
            ready: first_poll.saturating_duration_since(spawned),
        })
    }

    pub fn pid(&self) -> anyhow::Result<u32> {
        self.child.id().context("the function process has ended")
    }

    /// Hands `event` to the function and waits for its answer; after it, waits for the
    /// function's next poll, so the process is idle between events.
    pub async fn invoke(&mut self, event: Value, timeout: Duration) -> anyhow::Result<Outcome> {
        let polls = self.api.polls().len();
        let outcome = tokio::select! {
            outcome = self.api.invoke(event, timeout) => outcome?,
            status = self.child.wait() => bail!("the function exited during the invocation: {status:?}"),
        };
        self.api
            .wait_for_poll(polls + 1, Duration::from_secs(10))
            .await?;
        Ok(outcome)
    }

    /// Ends the process.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.child.kill().await.context("stop the function")?;
        Ok(())
    }
}
