//! The posts API (`api::PostsApi`) against moto (S3, DynamoDB, Step Functions' control plane)
//! and the strict fake TikTok (revoke): what each route answers and what it leaves behind.

use std::sync::Arc;

use aws_sdk_sfn::types::ExecutionStatus;
use fake_tiktok::{AccountSeed, Endpoint as FakeEndpoint, Fault};
use secrecy::SecretString;
use serde_json::{Value, json};
use tiktok_publish_adapters::DynamoAllowanceStore;
use tiktok_publish_core::api::{ApiAnswer, IdempotencyKey, PostsApi, TikTokCreatorInfo};
use tiktok_publish_core::connect::ConnectSettings;
use tiktok_publish_core::ends::PostEnds;
use tiktok_publish_core::store::{
    AllowanceLimits, Fact, PostId, PostState, PostStore, PostUpdate, TokenStore, unix_now,
};
use tiktok_publish_core::tiktok::{
    ChunkPlan, ChunkPolicy, REQUIRED_SCOPES, TikTokError, TokenGrant, UploadUrl,
};
use tiktok_publish_testkit::{PassMachine, StackSettings, TestStack};

mod accounts;
mod photos;
mod posts;

struct Rig {
    api: PostsApi,
    stack: TestStack,
    machine: PassMachine,
}

async fn rig() -> Rig {
    let settings = StackSettings {
        versioned: true,
        ..StackSettings::default()
    };
    let stack = TestStack::start_with("api", settings).await;
    let machine = PassMachine::create().await;
    let api = PostsApi {
        connect: Some(ConnectSettings::new("https://api.example.com").unwrap()),
        ..stack.posts_api(stack.intake(&machine).await)
    };
    Rig {
        api,
        stack,
        machine,
    }
}

/// Creator info over the stack's fake and allowances table, with these budgets.
fn creator_info(stack: &TestStack, limits: AllowanceLimits) -> TikTokCreatorInfo {
    TikTokCreatorInfo {
        tokens: stack.tokens(),
        tiktok: Arc::new(stack.tiktok.clone()),
        allowances: Arc::new(DynamoAllowanceStore::new(
            stack.dynamodb.clone(),
            &stack.tables.allowances,
            limits,
        )),
    }
}

impl Rig {
    /// An account connected with tokens the fake issued.
    async fn connect(&self) -> String {
        self.connect_seeded(AccountSeed::default()).await
    }

    /// An account created with `seed`, connected with tokens the fake issued.
    async fn connect_seeded(&self, seed: AccountSeed) -> String {
        let open_id = self.stack.fake.seed_account(seed);
        let issued = self.stack.fake.issue_tokens(&open_id, &REQUIRED_SCOPES);
        let grant = TokenGrant {
            open_id: issued.open_id.clone(),
            access_token: SecretString::from(issued.access_token),
            expires_in: issued.expires_in,
            refresh_token: SecretString::from(issued.refresh_token),
            refresh_expires_in: issued.refresh_expires_in,
            scope: issued.scope,
            token_type: "Bearer".into(),
        };
        self.stack
            .accounts
            .save_connection(&grant, Some("Creator"), unix_now())
            .await
            .unwrap();
        open_id
    }

    /// Uploads a small "video" under the account's folder.
    async fn upload(&self, open_id: &str, name: &str) -> String {
        let key = format!("uploads/{open_id}/{name}");
        self.stack.put(&key, vec![7u8; 4096]).await;
        key
    }

    async fn create(&self, body: &Value, key: Option<&str>) -> ApiAnswer {
        let key = key.map(|k| {
            IdempotencyKey::from_header_values([k], Some("arn:aws:iam::1:user/t"))
                .unwrap()
                .unwrap()
        });
        self.api
            .create_post(body.to_string().as_bytes(), key.as_ref())
            .await
    }

    /// Execution names and statuses of the state machine.
    async fn executions(&self) -> Vec<(String, ExecutionStatus)> {
        self.machine
            .executions()
            .await
            .iter()
            .map(|e| (e.name().to_owned(), e.status().clone()))
            .collect()
    }

    async fn execution_status(&self, post_id: &str) -> ExecutionStatus {
        let arn = format!(
            "{}:{post_id}",
            self.machine
                .arn
                .replacen(":stateMachine:", ":execution:", 1)
        );
        let described = self
            .machine
            .sfn
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await
            .unwrap();
        described.status().clone()
    }
}

fn body(open_id: &str, key: &str, title: &str) -> Value {
    json!({
        "account": open_id,
        "key": key,
        "options": {
            "title": title,
            "privacy_level": "SELF_ONLY",
            "disable_comment": true,
            "is_aigc": true,
            "publish_at": "2026-01-01T00:00:00Z"
        }
    })
}

fn error_of(answer: &ApiAnswer) -> (u16, &str, Option<&str>) {
    (
        answer.status,
        answer.body["error"]["code"].as_str().unwrap_or("(no code)"),
        answer.body["error"]["field"].as_str(),
    )
}
