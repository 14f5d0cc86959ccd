//! One post through the three task Lambdas, each a real release binary started cold: Init
//! (upload-init), Upload (chunk-upload), then Status (publish-status) until TikTok's status is
//! final, the order the state machine runs them in. A post TikTok pulls from the front door
//! (upload-init answers `pulled: true`) skips Upload, as the state machine's InitReady does.
//! AWS calls go through a [`CountingProxy`] to moto; TikTok is the strict fake of `stack`;
//! the client secret is read from Secrets Manager (moto) as in AWS.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, bail};
use fake_tiktok::AccountSeed;
use serde_json::{Value, json};
use std::sync::Arc;

use tiktok_publish_adapters::{DynamoTokenStore, KmsCodec};
use tiktok_publish_core::store::PostRecord;
use tiktok_publish_core::tiktok::REQUIRED_SCOPES;
use tiktok_publish_core::tokens::{TokenService, TokenSettings};
use tiktok_publish_testkit::{REDIRECT_URI, TestStack};

use crate::lambda::{Running, function_env, set_env, stack_tables};
use crate::runtime_api::Outcome;
use crate::servers::CountingProxy;

/// The template's memory settings (infra/template.yaml).
pub fn memory_mb(function: &str) -> u32 {
    if function == "chunk-upload" { 256 } else { 128 }
}

/// One invocation of a task Lambda.
#[derive(Debug, Clone)]
pub struct Step {
    pub function: &'static str,
    /// Whether this was the process's first event (a cold start).
    pub cold: bool,
    /// From spawn to the first poll (cold steps only).
    pub ready: Option<Duration>,
    pub outcome: Outcome,
    /// AWS requests made during the invocation, by operation.
    pub aws: BTreeMap<String, u64>,
    /// TikTok endpoints called during the invocation.
    pub tiktok: Vec<String>,
}

/// The secret the Lambdas read at first use, created in moto through `proxy`.
pub async fn create_client_secret(
    proxy: &CountingProxy,
    name: &str,
    value: &str,
) -> anyhow::Result<String> {
    let answer = reqwest::Client::new()
        .post(proxy.url())
        .header("x-amz-target", "secretsmanager.CreateSecret")
        .header("content-type", "application/x-amz-json-1.1")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=0",
        )
        .body(json!({"Name": name, "SecretString": value}).to_string())
        .send()
        .await
        .context("CreateSecret on moto")?;
    let status = answer.status();
    let body: Value = answer.json().await.context("CreateSecret's answer")?;
    if !status.is_success() {
        bail!("CreateSecret on moto answered {status}: {body}");
    }
    proxy.take_counts();
    body["ARN"]
        .as_str()
        .map(str::to_owned)
        .context("CreateSecret gave no ARN")
}

/// Connects a fresh account and queues a `SELF_ONLY` direct post of the video at `key`.
pub async fn queue_post(stack: &TestStack, key: &str) -> PostRecord {
    let open_id = stack.connect_account(AccountSeed::default()).await;
    stack
        .queued_post(&open_id, key, r#"{"privacy_level":"SELF_ONLY"}"#)
        .await
}

/// A symmetric KMS key in moto (created through `proxy`, not counted): the deployed stack's
/// sealing key (`SEALING_KEY_ARN`), with which tokens and upload URLs are stored.
pub async fn create_sealing_key(proxy: &CountingProxy) -> anyhow::Result<String> {
    let answer = reqwest::Client::new()
        .post(proxy.url())
        .header("x-amz-target", "TrentService.CreateKey")
        .header("content-type", "application/x-amz-json-1.1")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=0",
        )
        .body(json!({"Description": "bench sealing key"}).to_string())
        .send()
        .await
        .context("CreateKey on moto")?;
    let status = answer.status();
    let body: Value = answer.json().await.context("CreateKey's answer")?;
    if !status.is_success() {
        bail!("CreateKey on moto answered {status}: {body}");
    }
    proxy.take_counts();
    body["KeyMetadata"]["Arn"]
        .as_str()
        .map(str::to_owned)
        .context("CreateKey gave no key ARN")
}

/// As [`queue_post`], but the account's tokens are sealed with `sealing_key`, as
/// oauth-callback stores them in the deployed stack (so every token read is a KMS Decrypt).
pub async fn queue_sealed_post(
    stack: &TestStack,
    key: &str,
    sealing_key: &str,
) -> anyhow::Result<PostRecord> {
    let kms = aws_sdk_kms::Client::new(&test_support::moto().sdk_config().await);
    let store = DynamoTokenStore::new(stack.dynamodb.clone(), stack.tables.accounts.clone())
        .with_codec(Arc::new(KmsCodec::new(kms, sealing_key)));
    let tokens = TokenService::new(
        Arc::new(store),
        Arc::new(stack.tiktok.clone()),
        TokenSettings::default(),
    );
    let open_id = stack.fake.seed_account(AccountSeed::default());
    let code = stack
        .fake
        .mint_code(&open_id, &REQUIRED_SCOPES, REDIRECT_URI);
    tokens
        .connect(&code, REDIRECT_URI)
        .await
        .map_err(|e| anyhow::anyhow!("connect a sealed account: {e}"))?;
    Ok(stack
        .queued_post(&open_id, key, r#"{"privacy_level":"SELF_ONLY"}"#)
        .await)
}

/// Runs Init, Upload and Status on `post_id`, each function started cold; Status is
/// invoked again in the same (warm) process until TikTok's status is final. Upload is not
/// run when Init answered that TikTok pulls the video.
pub async fn run_post(
    stack: &TestStack,
    proxy: &CountingProxy,
    secret_arn: &str,
    post_id: &str,
    extra_env: &[(&str, String)],
) -> anyhow::Result<Vec<Step>> {
    proxy.take_counts();
    let mut steps = Vec::new();
    let tables = stack_tables(stack);
    let env_for = |function: &str| {
        let mut env = function_env(
            function,
            memory_mb(function),
            &proxy.url(),
            &stack.fake.base_url(),
            &tables,
        );
        set_env(
            &mut env,
            "TIKTOK_CLIENT_KEY",
            &stack.fake.settings().client_key,
        );
        set_env(&mut env, "TIKTOK_CLIENT_SECRET_ARN", secret_arn);
        for (name, value) in extra_env {
            set_env(&mut env, name, value);
        }
        env
    };
    let task_event = json!({"post_id": post_id});
    let status_event = json!({"post_id": post_id, "action": "status"});
    let mut pulled = false;

    for (function, event) in [
        ("upload-init", &task_event),
        ("chunk-upload", &task_event),
        ("publish-status", &status_event),
    ] {
        if function == "chunk-upload" && pulled {
            continue;
        }
        let mut running = Running::start(function, &env_for(function)).await?;
        let before_start = proxy.take_counts();
        if !before_start.is_empty() {
            bail!("{function} called AWS before its first event: {before_start:?}");
        }
        let mut cold = true;
        loop {
            let calls_before = stack.fake.calls().len();
            let outcome = running
                .invoke(event.clone(), Duration::from_secs(900))
                .await
                .with_context(|| format!("invoke {function}"))?;
            let tiktok = stack.fake.calls()[calls_before..]
                .iter()
                .map(|c| format!("{:?} {}", c.endpoint, c.status))
                .collect();
            let body = outcome.body.clone();
            steps.push(Step {
                function,
                cold,
                ready: cold.then_some(running.ready),
                outcome: outcome.clone(),
                aws: proxy.take_counts(),
                tiktok,
            });
            if !outcome.ok {
                bail!("{function} failed: {body}");
            }
            cold = false;
            if function == "upload-init" {
                pulled = body["pulled"] == json!(true);
            }
            let again = match function {
                "upload-init" if body["ready"] != json!(true) => {
                    bail!("upload-init did not initialise the post: {body}")
                }
                "chunk-upload" => body["done"] != json!(true),
                "publish-status" => body["final"] != json!(true),
                _ => false,
            };
            if !again {
                break;
            }
            if function == "publish-status" {
                // The fake finishes processing on its own clock; poll it gently. A pull
                // polls through TikTok's download too, which can outlast its limit of 30
                // status fetches a minute at the upload's pace.
                let pause = if pulled { 2500 } else { 500 };
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
            if steps.len() > 200 {
                bail!("the post did not finish in 200 invocations: {body}");
            }
        }
        running.stop().await?;
    }
    Ok(steps)
}
