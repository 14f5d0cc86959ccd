//! The test kit (a dev-only crate: no Lambda depends on it but for its tests): the set-up
//! the core's integration tests, the Lambdas' tests and the bench share, against moto (`test-support`) and the strict fake TikTok (`fake-tiktok`).
//!
//! - [`TestStack`]: a fake TikTok, its own tables and bucket in moto, the stores over them,
//!   and the steps a test takes on them (connect an account, put a video, queue a post,
//!   build a [`Pipeline`] or an [`Intake`]).
//! - [`TaskRig`]: a stack with one queued post and the pipeline, as the task Lambdas'
//!   tests start.
//! - [`PassMachine`]: a state machine on moto whose executions are started and listed.
//! - [`video`]: deterministic video bytes, MP4 headers the probe accepts, and a writer of
//!   videos of any size.
//!
//! Like `test-support`, it panics (failing the test) where a step cannot be done.

pub mod video;

use std::sync::Arc;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use aws_sdk_sfn::types::ExecutionListItem;
use fake_tiktok::{AccountSeed, FakeSettings, FakeTikTok};
use secrecy::SecretString;
use test_support::{moto, unique_name};

use tiktok_publish_adapters::{
    DynamoAllowanceStore, DynamoIdempotencyStore, DynamoOAuthStateStore, DynamoPostStore,
    DynamoTokenStore, S3VideoSource, SfnExecutions, TableNames, TikTokClient, create_tables,
    s3_client,
};
use tiktok_publish_core::api::{PostsApi, TikTokCreatorInfo, TikTokPullCanceller, TikTokRevoker};
use tiktok_publish_core::config::TikTokConfig;
use tiktok_publish_core::ends::PostEnds;
use tiktok_publish_core::intake::Intake;
use tiktok_publish_core::media::VideoLocation;
use tiktok_publish_core::pipeline::options::parse_options_json;
use tiktok_publish_core::pipeline::{Pipeline, PipelineSettings};
use tiktok_publish_core::store::{
    AllowanceLimits, PostRecord, PostSource, PostState, PostStore, unix_now,
};
use tiktok_publish_core::tiktok::REQUIRED_SCOPES;
use tiktok_publish_core::tokens::{TokenService, TokenSettings};
use tiktok_publish_wiring::lambda::LazyPipeline;

/// The redirect URI [`TestStack::connect_account`] mints its codes for.
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/oauth/callback";

/// How [`TestStack::start_with`] sets the stack up.
#[derive(Clone, Default)]
pub struct StackSettings {
    pub fake: FakeSettings,
    /// Whether the bucket keeps versions.
    pub versioned: bool,
    /// The bucket's name, when something started before the stack must know it (a media
    /// origin); otherwise a fresh one.
    pub bucket: Option<String>,
}

/// A fake TikTok with a client for it, and fresh tables and a fresh bucket in moto with the
/// stores over them: nothing in it is shared with another test.
pub struct TestStack {
    pub fake: FakeTikTok,
    /// A client of the fake, as the Lambdas build theirs.
    pub tiktok: TikTokClient,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub tables: TableNames,
    pub posts: Arc<DynamoPostStore>,
    pub accounts: Arc<DynamoTokenStore>,
    /// A client of moto's S3 with path-style addressing.
    pub s3: aws_sdk_s3::Client,
    pub bucket: String,
}

impl TestStack {
    /// A stack whose tables are named after `name`, with the fake's default settings and an
    /// unversioned bucket.
    pub async fn start(name: &str) -> TestStack {
        TestStack::start_with(name, StackSettings::default()).await
    }

    pub async fn start_with(name: &str, settings: StackSettings) -> TestStack {
        let fake = FakeTikTok::start(settings.fake)
            .await
            .expect("start the fake TikTok");
        let config = TikTokConfig::new(
            fake.settings().client_key.clone(),
            SecretString::from(fake.settings().client_secret.clone()),
        )
        .with_base_urls(fake.base_url(), fake.base_url());
        let tiktok = TikTokClient::new(config).expect("a client of the fake TikTok");
        let dynamodb = moto().dynamodb().await;
        let tables = TableNames::with_prefix(&unique_name(name));
        create_tables(&dynamodb, &tables)
            .await
            .expect("create the tables in moto");
        let s3 = moto().s3().await;
        let bucket = match settings.bucket {
            Some(name) => new_bucket_named(&s3, name, settings.versioned).await,
            None => new_bucket(&s3, settings.versioned).await,
        };
        TestStack {
            posts: Arc::new(DynamoPostStore::new(dynamodb.clone(), &tables.posts)),
            accounts: Arc::new(DynamoTokenStore::new(dynamodb.clone(), &tables.accounts)),
            fake,
            tiktok,
            dynamodb,
            tables,
            s3,
            bucket,
        }
    }

    /// A token service over the accounts table and the fake, with default settings.
    pub fn tokens(&self) -> TokenService {
        TokenService::new(
            self.accounts.clone(),
            Arc::new(self.tiktok.clone()),
            TokenSettings::default(),
        )
    }

    /// The posts API over this stack and `intake`, its TikTok calls to the fake, its
    /// budgets the defaults, without connect links.
    pub fn posts_api(&self, intake: Intake) -> PostsApi {
        let tiktok = Arc::new(self.tiktok.clone());
        PostsApi {
            intake,
            accounts: self.accounts.clone(),
            idempotency: Arc::new(DynamoIdempotencyStore::new(
                self.dynamodb.clone(),
                self.tables.oauth.clone(),
            )),
            revoker: Arc::new(TikTokRevoker {
                tokens: self.tokens(),
                tiktok: tiktok.clone(),
            }),
            creator_info: Arc::new(TikTokCreatorInfo {
                tokens: self.tokens(),
                tiktok: tiktok.clone(),
                allowances: Arc::new(DynamoAllowanceStore::new(
                    self.dynamodb.clone(),
                    &self.tables.allowances,
                    AllowanceLimits::default(),
                )),
            }),
            pull_canceller: Arc::new(TikTokPullCanceller {
                tokens: self.tokens(),
                tiktok,
            }),
            oauth: Arc::new(DynamoOAuthStateStore::new(
                self.dynamodb.clone(),
                self.tables.oauth.clone(),
            )),
            connect: None,
            bucket: self.bucket.clone(),
        }
    }

    /// A creator connected the way the OAuth callback does it (one code exchange with the
    /// fake); their open_id.
    pub async fn connect_account(&self, seed: AccountSeed) -> String {
        self.connect_account_granting(seed, &REQUIRED_SCOPES).await
    }

    /// As [`TestStack::connect_account`], the creator granting only `scopes`.
    pub async fn connect_account_granting(&self, seed: AccountSeed, scopes: &[&str]) -> String {
        let open_id = self.fake.seed_account(seed);
        let code = self.fake.mint_code(&open_id, scopes, REDIRECT_URI);
        self.tokens()
            .connect(&code, REDIRECT_URI)
            .await
            .expect("connect the account");
        open_id
    }

    /// Puts `bytes` at `key` in the bucket, declared `video/mp4`; the version id S3 gave
    /// (none in an unversioned bucket).
    pub async fn put(&self, key: &str, bytes: impl Into<Vec<u8>>) -> Option<String> {
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("video/mp4")
            .body(ByteStream::from(bytes.into()))
            .send()
            .await
            .expect("PutObject on moto")
            .version_id()
            .map(str::to_owned)
    }

    /// `key` in the bucket, not pinned to a version.
    pub fn location(&self, key: &str) -> VideoLocation {
        VideoLocation {
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            version_id: None,
        }
    }

    /// The post the intake writes for the video at `key` with `options_json`, queued.
    pub async fn queued_post(&self, open_id: &str, key: &str, options_json: &str) -> PostRecord {
        let options =
            parse_options_json(options_json.as_bytes(), unix_now()).expect("valid test options");
        let post = PostRecord::new(
            open_id,
            PostSource::at(self.location(key)),
            Some(options),
            PostState::Queued,
            unix_now(),
        );
        self.posts.create(&post).await.expect("create the post");
        post
    }

    /// What the Init, Upload and Status tasks run on: this stack's stores, S3 and fake.
    pub fn pipeline(&self, settings: PipelineSettings) -> Pipeline {
        Pipeline {
            posts: self.posts.clone(),
            // Reports nothing: a test that looks at reports sets its own.
            ends: PostEnds::silent(),
            tokens: self.tokens(),
            tiktok: Arc::new(self.tiktok.clone()),
            source: Arc::new(S3VideoSource::new(self.s3.clone())),
            photos: Arc::new(S3VideoSource::new(self.s3.clone())),
            allowances: Arc::new(DynamoAllowanceStore::new(
                self.dynamodb.clone(),
                &self.tables.allowances,
                AllowanceLimits::default(),
            )),
            settings,
        }
    }

    /// What the S3 trigger and the posts API claim videos with: this stack's posts table,
    /// S3 through the production client builder, and `machine`'s executions.
    pub async fn intake(&self, machine: &PassMachine) -> Intake {
        Intake {
            posts: self.posts.clone(),
            ends: PostEnds::silent(),
            source: Arc::new(S3VideoSource::new(s3_client(&moto().sdk_config().await))),
            executions: Arc::new(SfnExecutions::new(machine.sfn.clone(), machine.arn.clone())),
        }
    }
}

/// Where the task Lambdas' tests (`upload-init`, `chunk-upload`, `publish-status`) start: a
/// creator connected with the default seed, whose small MP4 ([`video::tiny_mp4`]) at
/// `uploads/clip.mp4` is a queued `SELF_ONLY` post, and the pipeline as the Lambda holds it.
pub struct TaskRig {
    pub stack: TestStack,
    pub pipeline: LazyPipeline,
    pub post: PostRecord,
}

impl TaskRig {
    /// A rig on a [`TestStack`] named after `name`, with the pipeline's default settings.
    pub async fn start(name: &str) -> TaskRig {
        let stack = TestStack::start(name).await;
        let key = "uploads/clip.mp4";
        stack.put(key, video::tiny_mp4()).await;
        let open_id = stack.connect_account(AccountSeed::default()).await;
        let post = stack
            .queued_post(&open_id, key, r#"{"privacy_level":"SELF_ONLY"}"#)
            .await;
        TaskRig {
            pipeline: LazyPipeline::ready(stack.pipeline(PipelineSettings::default())),
            stack,
            post,
        }
    }

    /// Runs the Init step on the post, as the state machine does before Upload.
    pub async fn init_upload(&self) {
        let pipeline = self.pipeline.get().await.expect("a ready pipeline");
        pipeline
            .init_upload(self.post.id.as_str())
            .await
            .expect("initialise the post at the fake TikTok");
    }
}

/// A state machine of one Pass state on moto, which starts executions but never runs them.
pub struct PassMachine {
    pub sfn: aws_sdk_sfn::Client,
    pub arn: String,
}

impl PassMachine {
    pub async fn create() -> PassMachine {
        let arn = moto()
            .pass_state_machine(&unique_name("publish"))
            .await
            .expect("create a state machine in moto");
        PassMachine {
            sfn: moto().sfn().await,
            arn,
        }
    }

    /// Its executions, as ListExecutions gives them.
    pub async fn executions(&self) -> Vec<ExecutionListItem> {
        self.sfn
            .list_executions()
            .state_machine_arn(&self.arn)
            .send()
            .await
            .expect("ListExecutions on moto")
            .executions()
            .to_vec()
    }

    /// The names of its executions, sorted.
    pub async fn execution_names(&self) -> Vec<String> {
        let mut names: Vec<_> = self
            .executions()
            .await
            .iter()
            .map(|e| e.name().to_owned())
            .collect();
        names.sort();
        names
    }
}

/// A fresh bucket in moto, versioned or not.
pub async fn new_bucket(s3: &aws_sdk_s3::Client, versioned: bool) -> String {
    new_bucket_named(s3, unique_name("videos"), versioned).await
}

/// [`new_bucket`] under a name chosen beforehand.
pub async fn new_bucket_named(s3: &aws_sdk_s3::Client, bucket: String, versioned: bool) -> String {
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("CreateBucket on moto");
    if versioned {
        s3.put_bucket_versioning()
            .bucket(&bucket)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .expect("PutBucketVersioning on moto");
    }
    bucket
}
