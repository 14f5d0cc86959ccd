//! The posts API (`api::PostsApi`) against moto (S3, DynamoDB, Step Functions' control plane)
//! and the strict fake TikTok (revoke): what each route answers and what it leaves behind.

use std::sync::Arc;

use aws_sdk_sfn::types::ExecutionStatus;
use fake_tiktok::{AccountSeed, Endpoint as FakeEndpoint, Fault};
use secrecy::SecretString;
use serde_json::{Value, json};
use tiktok_publish_core::api::{
    ApiAnswer, DynamoIdempotencyStore, IdempotencyKey, PostsApi, TikTokCreatorInfo, TikTokRevoker,
};
use tiktok_publish_core::connect::ConnectSettings;
use tiktok_publish_core::store::{
    AllowanceLimits, DynamoAllowanceStore, DynamoOAuthStateStore, Fact, PostId, PostState,
    PostStore, PostUpdate, TokenStore, unix_now,
};
use tiktok_publish_core::tiktok::{
    ChunkPlan, ChunkPolicy, REQUIRED_SCOPES, TikTokError, TokenGrant, UploadUrl,
};
use tiktok_publish_testkit::{PassMachine, StackSettings, TestStack};

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
        intake: stack.intake(&machine).await,
        accounts: stack.accounts.clone(),
        idempotency: Arc::new(DynamoIdempotencyStore::new(
            stack.dynamodb.clone(),
            stack.tables.oauth.clone(),
        )),
        revoker: Arc::new(TikTokRevoker {
            tokens: stack.tokens(),
            tiktok: stack.tiktok.clone(),
        }),
        creator_info: Arc::new(creator_info(&stack, AllowanceLimits::default())),
        oauth: Arc::new(DynamoOAuthStateStore::new(
            stack.dynamodb.clone(),
            stack.tables.oauth.clone(),
        )),
        connect: Some(ConnectSettings::new("https://api.example.com").unwrap()),
        bucket: stack.bucket.clone(),
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
        tiktok: stack.tiktok.clone(),
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

#[tokio::test]
async fn the_same_post_twice_makes_one_post_and_one_execution() {
    let r = rig().await;
    let open_id = r.connect().await;
    let key = r.upload(&open_id, "clip.mp4").await;

    let first = r.create(&body(&open_id, &key, "hello"), None).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.body["state"], "QUEUED");
    assert_eq!(first.body["account"], open_id.as_str());
    assert_eq!(first.body["bucket"], r.stack.bucket.as_str());
    assert!(first.body["version_id"].is_string(), "{}", first.body);
    assert_eq!(first.body["options"]["title"], "hello");
    assert_eq!(first.body["publish_at"], "2026-01-01T00:00:00Z");

    let again = r.create(&body(&open_id, &key, "hello"), None).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["id"], first.body["id"]);

    let id = first.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        r.executions().await,
        vec![(id.clone(), ExecutionStatus::Running)]
    );
    // The same video with other options is not silently taken for the first post.
    let other = r.create(&body(&open_id, &key, "changed"), None).await;
    assert_eq!(error_of(&other), (409, "post_exists", None));
    assert_eq!(other.body["error"]["state"], "QUEUED");
    assert_eq!(r.executions().await.len(), 1);
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_answer_and_refuses_another_body() {
    let r = rig().await;
    let open_id = r.connect().await;
    let key = r.upload(&open_id, "clip.mp4").await;
    let original = body(&open_id, &key, "hello");

    let first = r.create(&original, Some("key-1")).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let replayed = r.create(&original, Some("key-1")).await;
    assert_eq!(
        (replayed.status, &replayed.body),
        (first.status, &first.body)
    );
    assert!(
        replayed
            .headers
            .contains(&("idempotent-replayed", "true".to_owned()))
    );

    let other = r
        .create(&body(&open_id, &key, "other"), Some("key-1"))
        .await;
    assert_eq!(
        error_of(&other),
        (409, "idempotency_key_reused", Some("Idempotency-Key"))
    );
    // The refused request did nothing.
    let post = r
        .stack
        .posts
        .get(&PostId::parse(first.body["id"].as_str().unwrap()).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(post.options.unwrap().title, "hello");
    assert_eq!(r.executions().await.len(), 1);

    // Stored in the oauth table under a hash, never the key itself, with a TTL.
    let scanned = r
        .stack
        .dynamodb
        .scan()
        .table_name(&r.stack.tables.oauth)
        .send()
        .await
        .unwrap();
    let items = scanned.items();
    assert_eq!(items.len(), 1);
    let item = &items[0];
    let id = item["id"].as_s().unwrap();
    assert!(
        id.starts_with("idempotency#") && !id.contains("key-1"),
        "{id}"
    );
    assert_eq!(item["kind"].as_s().unwrap(), "idempotency");
    let expires: i64 = item["expires_at"].as_n().unwrap().parse().unwrap();
    assert!(expires > unix_now() + 23 * 3600);

    // A refusal is an answer too: the same bad body under a new key is refused again,
    // identically.
    let bad = json!({"account": open_id, "key": key, "options": {"privacy_level": "NOPE"}});
    let refused = r.create(&bad, Some("key-2")).await;
    assert_eq!(refused.status, 400);
    assert_eq!(r.create(&bad, Some("key-2")).await.body, refused.body);
}

#[tokio::test]
async fn bad_bodies_are_refused_naming_the_field_and_start_nothing() {
    let r = rig().await;
    let open_id = r.connect().await;
    let key = r.upload(&open_id, "clip.mp4").await;
    let with_options = |options: Value| json!({"account": open_id, "key": key, "options": options});

    let long_caption = format!("{}a", "😀".repeat(1100));
    let cases = [
        (
            with_options(json!({"privacy_level": "EVERYONE"})),
            400,
            "options.privacy_level",
            "must be one of",
        ),
        (
            with_options(json!({"privacy_level": "SELF_ONLY", "title": long_caption})),
            400,
            "options.title",
            "2201 UTF-16 code units",
        ),
        (
            with_options(json!({"privacy_level": "SELF_ONLY", "disable_dut": true})),
            400,
            "options.disable_dut",
            "unknown field",
        ),
        (
            json!({"acount": open_id, "key": key, "options": {}}),
            400,
            "acount",
            "unknown field",
        ),
        (
            json!({"key": key, "options": {"privacy_level": "SELF_ONLY"}}),
            400,
            "account",
            "is required",
        ),
        (
            json!({"account": open_id, "options": {"privacy_level": "SELF_ONLY"}}),
            400,
            "key",
            "is required",
        ),
        (
            json!({"account": open_id, "key": key}),
            400,
            "options",
            "is required",
        ),
        (
            json!({"account": open_id, "key": "s3://elsewhere/uploads/x.mp4",
                   "options": {"privacy_level": "SELF_ONLY"}}),
            400,
            "key",
            "is a URL",
        ),
        (
            json!({"account": open_id, "key": "/uploads/x.mp4",
                   "options": {"privacy_level": "SELF_ONLY"}}),
            400,
            "key",
            "starts with '/'",
        ),
        (
            json!({"account": open_id, "key": format!("uploads/{open_id}/missing.mp4"),
                   "options": {"privacy_level": "SELF_ONLY"}}),
            404,
            "key",
            "does not exist",
        ),
        (
            json!({"account": "nobody", "key": key, "options": {"privacy_level": "SELF_ONLY"}}),
            404,
            "account",
            "no connected TikTok account",
        ),
    ];
    for (request, status, field, rule) in cases {
        let answer = r.create(&request, None).await;
        assert_eq!(answer.status, status, "{request}: {}", answer.body);
        assert_eq!(
            answer.body["error"]["field"], field,
            "{request}: {}",
            answer.body
        );
        let message = answer.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(rule), "{request}: {message}");
    }
    let not_json = r.api.create_post(b"{\"account\": ", None).await;
    assert_eq!(error_of(&not_json), (400, "invalid_request", Some("body")));
    assert!(r.executions().await.is_empty());
}

#[tokio::test]
async fn get_shows_the_post_and_never_its_upload_url() {
    let r = rig().await;
    let open_id = r.connect().await;
    let key = r.upload(&open_id, "clip.mp4").await;
    let created = r.create(&body(&open_id, &key, "hello"), None).await;
    let id = PostId::parse(created.body["id"].as_str().unwrap()).unwrap();

    // What init would have saved: the publish id, the (secret) upload URL, the plan.
    let now = unix_now();
    r.stack
        .posts
        .transition(
            &id,
            &[PostState::Queued],
            PostState::Uploading,
            PostUpdate::fact(Fact::Initialised),
            now,
        )
        .await
        .unwrap();
    let plan = ChunkPlan::new(4096, &ChunkPolicy::default()).unwrap();
    let secret_url = "https://upload.fake/v1/SECRET-UPLOAD-TOKEN";
    r.stack
        .posts
        .record_init(
            &id,
            "v_pub_file~v2-1.123",
            &UploadUrl::new(secret_url.to_owned()),
            now,
            &plan,
            now,
        )
        .await
        .unwrap();
    r.stack
        .posts
        .record_chunk_done(&id, "v_pub_file~v2-1.123", 1, 4096, now)
        .await
        .unwrap();

    let answer = r.api.get_post(id.as_str()).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let text = answer.body.to_string();
    assert!(!text.contains("SECRET-UPLOAD-TOKEN"), "{text}");
    assert!(!text.contains("upload.fake"), "{text}");
    assert!(!text.contains("upload_url"), "{text}");
    assert_eq!(answer.body["state"], "UPLOADING");
    assert_eq!(answer.body["publish_id"], "v_pub_file~v2-1.123");
    assert_eq!(
        answer.body["progress"],
        json!({"chunks_done": 1, "chunks_total": 1, "bytes_done": 4096, "bytes_total": 4096})
    );
    let states: Vec<&str> = answer.body["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["QUEUED", "UPLOADING"]);

    let missing = r.api.get_post(&"0".repeat(64)).await;
    assert_eq!(error_of(&missing), (404, "post_not_found", None));
    let invalid = r.api.get_post("not/an id").await;
    assert_eq!(error_of(&invalid), (400, "invalid_request", Some("id")));
}

#[tokio::test]
async fn delete_cancels_a_queued_post_and_refuses_an_uploading_one() {
    let r = rig().await;
    let open_id = r.connect().await;
    let queued_key = r.upload(&open_id, "queued.mp4").await;
    let uploading_key = r.upload(&open_id, "uploading.mp4").await;
    let queued = r.create(&body(&open_id, &queued_key, "q"), None).await;
    let uploading = r.create(&body(&open_id, &uploading_key, "u"), None).await;
    let queued_id = queued.body["id"].as_str().unwrap().to_owned();
    let uploading_id = uploading.body["id"].as_str().unwrap().to_owned();

    let cancelled = r.api.cancel_post(&queued_id).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_eq!(cancelled.body["state"], "CANCELLED");
    assert_eq!(cancelled.body["final"], true);
    let last = cancelled.body["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap();
    assert_eq!(last["note"], "cancelled by request");
    assert_eq!(
        r.execution_status(&queued_id).await,
        ExecutionStatus::Aborted
    );
    // Cancelling again answers the cancelled post.
    assert_eq!(r.api.cancel_post(&queued_id).await.status, 200);

    r.stack
        .posts
        .transition(
            &PostId::parse(&uploading_id).unwrap(),
            &[PostState::Queued],
            PostState::Uploading,
            PostUpdate::fact(Fact::Initialised),
            unix_now(),
        )
        .await
        .unwrap();
    let refused = r.api.cancel_post(&uploading_id).await;
    assert_eq!(error_of(&refused), (409, "post_not_cancellable", None));
    assert_eq!(refused.body["error"]["state"], "UPLOADING");
    assert_eq!(
        r.execution_status(&uploading_id).await,
        ExecutionStatus::Running
    );
    assert_eq!(r.api.cancel_post(&"1".repeat(64)).await.status, 404);
}

#[tokio::test]
async fn accounts_are_listed_with_whether_they_need_reconnecting() {
    let r = rig().await;
    let fine = r.connect().await;
    let flagged = r.connect().await;
    r.stack
        .accounts
        .mark_needs_reconnect(
            &flagged,
            "TikTok refused the refresh token",
            None,
            unix_now(),
        )
        .await
        .unwrap();

    let answer = r.api.list_accounts().await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let accounts = answer.body["accounts"].as_array().unwrap();
    let find = |open_id: &str| {
        accounts
            .iter()
            .find(|a| a["open_id"] == open_id)
            .unwrap_or_else(|| panic!("{open_id} listed"))
            .clone()
    };
    assert_eq!(find(&fine)["needs_reconnect"], false);
    assert_eq!(find(&flagged)["needs_reconnect"], true);
    assert_eq!(
        find(&flagged)["reconnect_reason"],
        "TikTok refused the refresh token"
    );
    let text = answer.body.to_string();
    for account in [&fine, &flagged] {
        let tokens = r.stack.fake.account(account).unwrap();
        assert!(!text.contains(&tokens.access_token.unwrap()), "{text}");
        assert!(!text.contains(&tokens.refresh_token.unwrap()), "{text}");
    }
}

#[tokio::test]
async fn disconnecting_revokes_at_tiktok_cancels_queued_posts_and_forgets_the_account() {
    let r = rig().await;
    let open_id = r.connect().await;
    let token = r
        .stack
        .accounts
        .get(&open_id)
        .await
        .unwrap()
        .unwrap()
        .access_token;
    let queued_key = r.upload(&open_id, "queued.mp4").await;
    let uploading_key = r.upload(&open_id, "uploading.mp4").await;
    let queued = r.create(&body(&open_id, &queued_key, "q"), None).await;
    let uploading = r.create(&body(&open_id, &uploading_key, "u"), None).await;
    let queued_id = queued.body["id"].as_str().unwrap().to_owned();
    let uploading_id = uploading.body["id"].as_str().unwrap().to_owned();
    r.stack
        .posts
        .transition(
            &PostId::parse(&uploading_id).unwrap(),
            &[PostState::Queued],
            PostState::Uploading,
            PostUpdate::fact(Fact::Initialised),
            unix_now(),
        )
        .await
        .unwrap();

    let answer = r.api.disconnect_account(&open_id).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["revoked"], true);
    assert_eq!(answer.body["cancelled_posts"], json!([queued_id]));
    assert_eq!(answer.body["posts_in_flight"], json!([uploading_id]));

    // TikTok no longer takes the token.
    assert!(r.stack.fake.account(&open_id).unwrap().revoked);
    let refused = r.stack.tiktok.creator_info(&token).await.unwrap_err();
    assert!(
        matches!(refused, TikTokError::AccessTokenInvalid { .. }),
        "{refused:?}"
    );
    // The queued post is cancelled with the reason, its run stopped; the account is gone.
    let post = r.api.get_post(&queued_id).await;
    assert_eq!(post.body["state"], "CANCELLED");
    let last = post.body["history"].as_array().unwrap().last().unwrap();
    assert_eq!(last["note"], "account disconnected");
    assert_eq!(
        r.execution_status(&queued_id).await,
        ExecutionStatus::Aborted
    );
    assert!(r.stack.accounts.get(&open_id).await.unwrap().is_none());
    let again = r.api.disconnect_account(&open_id).await;
    assert_eq!(error_of(&again), (404, "account_not_found", None));
    assert!(r.stack.fake.take_violations().is_empty());
}

#[tokio::test]
async fn an_account_that_cannot_be_revoked_is_disconnected_anyway_and_says_so() {
    let r = rig().await;
    let open_id = r.connect().await;
    r.stack
        .accounts
        .mark_needs_reconnect(
            &open_id,
            "TikTok refused the refresh token",
            None,
            unix_now(),
        )
        .await
        .unwrap();

    let answer = r.api.disconnect_account(&open_id).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["revoked"], false);
    let note = answer.body["revoke_note"].as_str().unwrap();
    assert!(note.contains("forgotten here anyway"), "{note}");
    assert!(r.stack.accounts.get(&open_id).await.unwrap().is_none());
}

#[tokio::test]
async fn creator_info_is_fresh_from_tiktok_and_shows_what_the_creator_allows() {
    let r = rig().await;
    let open_id = r
        .connect_seeded(AccountSeed {
            nickname: "Ann Creator".into(),
            username: "ann.creates".into(),
            privacy_level_options: vec!["FOLLOWER_OF_CREATOR".into(), "SELF_ONLY".into()],
            comment_disabled: true,
            stitch_disabled: true,
            max_video_post_duration_sec: 180,
            ..AccountSeed::default()
        })
        .await;
    let answer = r.api.creator_info(&open_id).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer.body,
        json!({
            "open_id": open_id,
            "nickname": "Ann Creator",
            "username": "ann.creates",
            "avatar_url": answer.body["avatar_url"],
            "privacy_level_options": ["FOLLOWER_OF_CREATOR", "SELF_ONLY"],
            "comment_disabled": true,
            "duet_disabled": false,
            "stitch_disabled": true,
            "max_video_post_duration_sec": 180,
        })
    );
    // Fresh: every call asks TikTok again.
    r.api.creator_info(&open_id).await;
    assert_eq!(r.stack.fake.call_count(FakeEndpoint::CreatorInfo), 2);
    let text = answer.body.to_string();
    let tokens = r.stack.fake.account(&open_id).unwrap();
    assert!(!text.contains(&tokens.access_token.unwrap()), "{text}");
    assert!(
        r.stack.fake.violations().is_empty(),
        "{:?}",
        r.stack.fake.violations()
    );
}

#[tokio::test]
async fn creator_info_of_unknown_or_disconnected_accounts_says_to_connect() {
    let r = rig().await;
    let answer = r.api.creator_info("nobody-here").await;
    assert_eq!(
        error_of(&answer),
        (404, "account_not_found", Some("open_id"))
    );
    assert!(
        answer.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("connect it first")
    );

    let open_id = r.connect().await;
    r.stack
        .accounts
        .mark_needs_reconnect(
            &open_id,
            "TikTok refused the refresh token",
            None,
            unix_now(),
        )
        .await
        .unwrap();
    let answer = r.api.creator_info(&open_id).await;
    assert_eq!(
        error_of(&answer),
        (409, "account_needs_reconnect", Some("open_id"))
    );
    assert_eq!(r.stack.fake.call_count(FakeEndpoint::CreatorInfo), 0);
}

#[tokio::test]
async fn creator_info_refreshes_a_revoked_token_once() {
    let r = rig().await;
    let open_id = r.connect().await;
    r.stack.fake.inject(Fault::ExpireAccessTokenNow {
        open_id: open_id.clone(),
    });
    let answer = r.api.creator_info(&open_id).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(r.stack.fake.call_count(FakeEndpoint::CreatorInfo), 2);
    assert_eq!(r.stack.fake.call_count(FakeEndpoint::Token), 1);
}

#[tokio::test]
async fn creator_info_rate_limits_say_when_to_retry() {
    let r = rig().await;
    let open_id = r.connect().await;
    r.stack.fake.inject(Fault::HttpError {
        endpoint: FakeEndpoint::CreatorInfo,
        status: 429,
        code: "rate_limit_exceeded".into(),
        times: 1,
    });
    let answer = r.api.creator_info(&open_id).await;
    assert_eq!(error_of(&answer), (429, "rate_limited", None));
    assert!(answer.headers.contains(&("retry-after", "60".to_owned())));

    // Our own budget (shared with the pipeline) refuses before TikTok is asked.
    let mut api = r.api.clone();
    api.creator_info = Arc::new(creator_info(
        &r.stack,
        AllowanceLimits {
            creator_info_per_minute: 1,
            ..AllowanceLimits::default()
        },
    ));
    let other = r.connect().await;
    assert_eq!(api.creator_info(&other).await.status, 200);
    let calls = r.stack.fake.call_count(FakeEndpoint::CreatorInfo);
    let answer = api.creator_info(&other).await;
    assert_eq!(error_of(&answer), (429, "rate_limited", None));
    assert!(
        answer
            .headers
            .iter()
            .any(|(name, _)| *name == "retry-after")
    );
    assert_eq!(r.stack.fake.call_count(FakeEndpoint::CreatorInfo), calls);
}

#[tokio::test]
async fn creator_info_of_a_creator_tiktok_stops_says_why() {
    let r = rig().await;
    let open_id = r.connect().await;
    r.stack.fake.inject(Fault::HttpError {
        endpoint: FakeEndpoint::CreatorInfo,
        status: 403,
        code: "spam_risk_user_banned_from_posting".into(),
        times: 1,
    });
    let answer = r.api.creator_info(&open_id).await;
    assert_eq!(error_of(&answer), (409, "creator_cannot_post", None));
    assert!(
        answer.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("banned")
    );
}
