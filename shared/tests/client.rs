//! The TikTok client against the strict fake: every call, and every fault mapped to the
//! kind the state machine routes on.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use fake_tiktok::{
    AccountSeed, Endpoint as FakeEndpoint, FakeSettings, FakeTikTok, Fault, ViolationKind,
};
use secrecy::{ExposeSecret, SecretString};
use tiktok_publish_adapters::TikTokClient;
use tiktok_publish_core::config::{ClientSecretSource, SecretUnavailable, TikTokConfig};
use tiktok_publish_core::errors::{Classify, ErrorKind};
use tiktok_publish_core::media::ByteStream;
use tiktok_publish_core::tiktok::{
    ChunkAccepted, ChunkPlan, ChunkPolicy, PostInfo, PrivacyLevel, PublishStatus,
    PublishStatusKind, REQUIRED_SCOPES, TikTokError,
};
use tiktok_publish_core::tiktok::{TikTokCreators, TikTokPosting, TikTokRevoke, TikTokUpload};
use tiktok_publish_core::tokens::TokenRefresher;

const REDIRECT_URI: &str = "http://127.0.0.1:9/oauth/callback";

pub async fn start_fake() -> FakeTikTok {
    FakeTikTok::start(FakeSettings {
        processing_time: Duration::from_millis(200),
        ..FakeSettings::default()
    })
    .await
    .expect("start the fake TikTok")
}

pub fn client_for(fake: &FakeTikTok) -> TikTokClient {
    let settings = fake.settings();
    let config = TikTokConfig::new(
        settings.client_key.clone(),
        SecretString::from(settings.client_secret.clone()),
    )
    .with_base_urls(fake.base_url(), fake.base_url());
    TikTokClient::new(config).expect("client")
}

/// A seeded account and a valid access token for it.
async fn account(fake: &FakeTikTok, seed: AccountSeed) -> (String, SecretString) {
    let open_id = fake.seed_account(seed);
    let tokens = fake.issue_tokens(&open_id, &REQUIRED_SCOPES);
    (open_id, SecretString::from(tokens.access_token))
}

fn post_info(privacy_level: PrivacyLevel) -> PostInfo {
    PostInfo {
        title: "A test post #rust @someone 🎬".into(),
        privacy_level,
        disable_duet: false,
        disable_comment: true,
        disable_stitch: false,
        video_cover_timestamp_ms: Some(1000),
        brand_content_toggle: false,
        brand_organic_toggle: true,
        is_aigc: false,
    }
}

fn body_of(bytes: Bytes) -> ByteStream {
    Box::pin(futures::stream::iter([Ok::<_, std::io::Error>(bytes)]))
}

fn video(len: usize) -> Bytes {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect::<Vec<_>>()
        .into()
}

async fn wait_until_final(
    client: &TikTokClient,
    token: &SecretString,
    publish_id: &str,
) -> PublishStatus {
    for _ in 0..50 {
        let status = client
            .fetch_status(token, publish_id)
            .await
            .expect("status");
        if status.status.is_final() {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{publish_id} never reached a final status");
}

#[tokio::test]
async fn code_exchange_returns_the_accounts_tokens() {
    let fake = start_fake().await;
    let client = client_for(&fake);
    let open_id = fake.seed_account(AccountSeed::default());
    let code = fake.mint_code(&open_id, &REQUIRED_SCOPES, REDIRECT_URI);

    let grant = client
        .exchange_code(&code, REDIRECT_URI)
        .await
        .expect("exchange");

    assert_eq!(grant.open_id, open_id);
    assert_eq!(grant.scopes(), REQUIRED_SCOPES);
    let account = fake.account(&open_id).unwrap();
    assert_eq!(
        account.access_token.as_deref(),
        Some(grant.access_token.expose_secret())
    );
    assert!(grant.expires_in > 0 && grant.refresh_expires_in > grant.expires_in);
    // The code is single use.
    let again = client.exchange_code(&code, REDIRECT_URI).await.unwrap_err();
    assert_ne!(again.kind(), ErrorKind::TikTokUnavailable, "{again}");
    let violations: Vec<_> = fake.violations();
    assert!(
        violations
            .iter()
            .all(|v| v.kind == ViolationKind::BadRequest),
        "{violations:?}"
    );
}

#[tokio::test]
async fn refresh_rotates_the_refresh_token_and_the_old_one_is_dead() {
    let fake = start_fake().await;
    let client = client_for(&fake);
    let open_id = fake.seed_account(AccountSeed::default());
    let first = fake.issue_tokens(&open_id, &REQUIRED_SCOPES);
    let old_refresh = SecretString::from(first.refresh_token.clone());

    let grant = client.refresh(&old_refresh).await.expect("refresh");
    assert_ne!(grant.refresh_token.expose_secret(), first.refresh_token);
    assert_eq!(
        fake.account(&open_id).unwrap().refresh_token.as_deref(),
        Some(grant.refresh_token.expose_secret())
    );
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());

    // Reusing the rotated-out token is what a racing refresher does: it must read as
    // "reconnect", and the fake records the breach.
    let err = client.refresh(&old_refresh).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AccountNeedsReconnect, "{err}");
    assert_eq!(
        fake.violations()[0].kind,
        ViolationKind::RotatedRefreshToken
    );
}

/// Counts how often the client asks for its secret, and can fail like Secrets Manager.
#[derive(Debug, Default)]
struct CountingSecret {
    secret: String,
    asked: AtomicUsize,
    unavailable: bool,
}

#[async_trait::async_trait]
impl ClientSecretSource for CountingSecret {
    async fn client_secret(&self) -> Result<SecretString, SecretUnavailable> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        if self.unavailable {
            return Err(SecretUnavailable {
                detail: "Secrets Manager: throttled".into(),
                retryable: true,
            });
        }
        Ok(SecretString::from(self.secret.clone()))
    }
}

#[tokio::test]
async fn the_client_secret_is_read_only_by_the_calls_that_send_it() {
    let fake = start_fake().await;
    let source = Arc::new(CountingSecret {
        secret: fake.settings().client_secret.clone(),
        ..CountingSecret::default()
    });
    let config =
        TikTokConfig::with_secret_source(fake.settings().client_key.clone(), source.clone())
            .with_base_urls(fake.base_url(), fake.base_url());
    let client = TikTokClient::new(config).expect("client");
    let open_id = fake.seed_account(AccountSeed::default());
    let tokens = fake.issue_tokens(&open_id, &REQUIRED_SCOPES);
    let access = SecretString::from(tokens.access_token.clone());

    client.creator_info(&access).await.expect("creator info");
    assert_eq!(
        source.asked.load(Ordering::SeqCst),
        0,
        "creator info needs no secret"
    );
    client
        .refresh(&SecretString::from(tokens.refresh_token.clone()))
        .await
        .expect("refresh");
    assert_eq!(source.asked.load(Ordering::SeqCst), 1);
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());

    // Secrets Manager unavailable: nothing is sent, and the step retries later.
    let failing = Arc::new(CountingSecret {
        unavailable: true,
        ..CountingSecret::default()
    });
    let config = TikTokConfig::with_secret_source(fake.settings().client_key.clone(), failing)
        .with_base_urls(fake.base_url(), fake.base_url());
    let calls_before = fake.calls().len();
    let err = TikTokClient::new(config)
        .expect("client")
        .refresh(&SecretString::from("rft.any"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AwsUnavailable, "{err}");
    assert_eq!(
        fake.calls().len(),
        calls_before,
        "a request went out without the secret"
    );
}

#[tokio::test]
async fn creator_info_reads_the_creators_settings() {
    let fake = start_fake().await;
    let client = client_for(&fake);
    let (_, token) = account(
        &fake,
        AccountSeed {
            nickname: "Nick".into(),
            privacy_level_options: vec!["SELF_ONLY".into(), "FOLLOWER_OF_CREATOR".into()],
            duet_disabled: true,
            max_video_post_duration_sec: 300,
            ..AccountSeed::default()
        },
    )
    .await;

    let info = client.creator_info(&token).await.expect("creator info");

    assert_eq!(info.creator_nickname, "Nick");
    assert_eq!(
        info.privacy_levels(),
        [PrivacyLevel::SelfOnly, PrivacyLevel::FollowerOfCreator]
    );
    assert!(info.duet_disabled && !info.comment_disabled);
    assert_eq!(info.max_video_post_duration_sec, 300);
    assert!(fake.violations().is_empty());
}

#[tokio::test]
async fn a_direct_post_goes_live_with_a_public_id() {
    let fake = start_fake().await;
    let client = client_for(&fake);
    let (_, token) = account(&fake, AccountSeed::default()).await;
    let bytes = video(1_000_000);
    let plan = ChunkPlan::new(bytes.len() as u64, &ChunkPolicy::default()).unwrap();

    let init = client
        .init_direct_post(&token, &post_info(PrivacyLevel::PublicToEveryone), &plan)
        .await
        .expect("init");
    let before = client.fetch_status(&token, &init.publish_id).await.unwrap();
    assert_eq!(before.status, PublishStatusKind::ProcessingUpload);
    let chunk = plan.chunk(0).unwrap();
    let accepted = client
        .upload_chunk(
            &init.upload_url,
            chunk,
            plan.video_size(),
            "video/mp4",
            body_of(bytes.clone()),
        )
        .await
        .expect("upload");
    assert_eq!(accepted, ChunkAccepted::UploadComplete);

    let status = wait_until_final(&client, &token, &init.publish_id).await;
    assert_eq!(status.status, PublishStatusKind::PublishComplete);
    assert_eq!(status.public_post_ids.len(), 1);
    assert_eq!(status.uploaded_bytes, Some(1_000_000));
    let published = fake.publish(&init.publish_id).unwrap();
    assert_eq!(published.post_info.unwrap()["brand_organic_toggle"], true);
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}

#[tokio::test]
async fn a_draft_ends_in_the_inbox() {
    let fake = start_fake().await;
    let client = client_for(&fake);
    let (_, token) = account(&fake, AccountSeed::default()).await;
    let bytes = video(2_000_000);
    let plan = ChunkPlan::new(bytes.len() as u64, &ChunkPolicy::default()).unwrap();

    let init = client.init_inbox(&token, &plan).await.expect("init");
    client
        .upload_chunk(
            &init.upload_url,
            plan.chunk(0).unwrap(),
            plan.video_size(),
            "video/mp4",
            body_of(bytes),
        )
        .await
        .expect("upload");

    let status = wait_until_final(&client, &token, &init.publish_id).await;
    assert_eq!(status.status, PublishStatusKind::SendToUserInbox);
    assert!(status.public_post_ids.is_empty());
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}

#[tokio::test]
async fn injected_faults_map_to_the_kind_the_state_machine_routes_on() {
    let fake = start_fake().await;
    let client = client_for(&fake);
    let (open_id, token) = account(&fake, AccountSeed::default()).await;
    let plan = ChunkPlan::new(1_000, &ChunkPolicy::default()).unwrap();
    let info = post_info(PrivacyLevel::SelfOnly);

    let cases: [(FakeEndpoint, u16, &str, ErrorKind); 4] = [
        (
            FakeEndpoint::CreatorInfo,
            500,
            "internal_error",
            ErrorKind::TikTokUnavailable,
        ),
        (
            FakeEndpoint::DirectInit,
            429,
            "rate_limit_exceeded",
            ErrorKind::TikTokRateLimited,
        ),
        (
            FakeEndpoint::StatusFetch,
            503,
            "internal_error",
            ErrorKind::TikTokUnavailable,
        ),
        (
            FakeEndpoint::DirectInit,
            403,
            "spam_risk_too_many_posts",
            ErrorKind::TikTokRejected,
        ),
    ];
    for (endpoint, status, code, kind) in cases {
        fake.inject(Fault::HttpError {
            endpoint,
            status,
            code: code.into(),
            times: 1,
        });
        let err: TikTokError = match endpoint {
            FakeEndpoint::CreatorInfo => client.creator_info(&token).await.unwrap_err(),
            FakeEndpoint::DirectInit => client
                .init_direct_post(&token, &info, &plan)
                .await
                .unwrap_err(),
            _ => client.fetch_status(&token, "p").await.unwrap_err(),
        };
        assert_eq!(err.kind(), kind, "{endpoint:?} {status} {code}: {err}");
    }
    // Each fault fired once: the same call now succeeds.
    client.creator_info(&token).await.expect("after the 5xx");

    fake.inject(Fault::ExpireAccessTokenNow {
        open_id: open_id.clone(),
    });
    let err = client.creator_info(&token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AccessTokenInvalid, "{err}");
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}

#[tokio::test]
async fn a_post_tiktok_fails_reports_its_reason() {
    let fake = start_fake().await;
    let client = client_for(&fake);
    let (open_id, token) = account(&fake, AccountSeed::default()).await;
    fake.inject(Fault::FailPost {
        open_id,
        fail_reason: "duration_check_failed".into(),
    });
    let bytes = video(100_000);
    let plan = ChunkPlan::new(bytes.len() as u64, &ChunkPolicy::default()).unwrap();
    let init = client.init_inbox(&token, &plan).await.unwrap();
    client
        .upload_chunk(
            &init.upload_url,
            plan.chunk(0).unwrap(),
            plan.video_size(),
            "video/mp4",
            body_of(bytes),
        )
        .await
        .unwrap();

    let status = wait_until_final(&client, &token, &init.publish_id).await;

    assert_eq!(status.status, PublishStatusKind::Failed);
    assert_eq!(status.fail_reason.as_deref(), Some("duration_check_failed"));
}

#[tokio::test]
async fn refusals_carry_tiktoks_code_and_advice() {
    let fake = start_fake().await;
    let client = client_for(&fake);
    let (_, token) = account(
        &fake,
        AccountSeed {
            privacy_level_options: vec!["SELF_ONLY".into()],
            ..AccountSeed::default()
        },
    )
    .await;
    let plan = ChunkPlan::new(1_000, &ChunkPolicy::default()).unwrap();

    let err = client
        .init_direct_post(&token, &post_info(PrivacyLevel::PublicToEveryone), &plan)
        .await
        .unwrap_err();

    assert_eq!(err.kind(), ErrorKind::TikTokRejected);
    assert_eq!(err.code(), Some("privacy_level_option_mismatch"));
    assert!(err.log_id().is_some());
    assert!(
        err.to_string().contains("Choose one of the privacy levels"),
        "{err}"
    );
}

#[tokio::test]
async fn a_revoked_token_is_refused_afterwards() {
    let fake = start_fake().await;
    let client = client_for(&fake);
    let (_, token) = account(&fake, AccountSeed::default()).await;

    client.revoke(&token).await.expect("revoke");

    let err = client.creator_info(&token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AccessTokenInvalid, "{err}");
}

#[tokio::test]
async fn an_unreachable_tiktok_is_retryable_and_names_no_secret() {
    let config = TikTokConfig::new("k", SecretString::from("s"))
        .with_base_urls("http://127.0.0.1:9", "http://127.0.0.1:9");
    let client = TikTokClient::new(config).unwrap();

    let err = client
        .refresh(&SecretString::from("refresh-secret".to_owned()))
        .await
        .unwrap_err();

    assert_eq!(err.kind(), ErrorKind::TikTokUnavailable);
    assert!(!format!("{err:?}").contains("refresh-secret"));
}

#[tokio::test]
async fn a_creator_who_cannot_post_is_refused_with_tiktoks_code() {
    let fake = start_fake().await;
    let client = client_for(&fake);
    for code in [
        "spam_risk_too_many_posts",
        "spam_risk_user_banned_from_posting",
        "reached_active_user_cap",
    ] {
        let (open_id, token) = account(&fake, AccountSeed::default()).await;
        fake.inject(Fault::CreatorCannotPost {
            open_id,
            code: code.into(),
        });

        // TikTok answers HTTP 200 with a non-`ok` code: a refusal, not creator info.
        let err = client.creator_info(&token).await.unwrap_err();

        assert!(
            matches!(&err, TikTokError::Rejected { status: 200, code: c, .. } if c == code),
            "{err:?}"
        );
        assert_eq!(err.kind(), ErrorKind::TikTokRejected);
        assert!(err.log_id().is_some());
    }
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}

#[tokio::test]
async fn upload_answers_are_read_from_their_status_and_a_416_from_its_content_range() {
    let fake = start_fake().await;
    let client = client_for(&fake);
    let (_, token) = account(&fake, AccountSeed::default()).await;
    let bytes = video(1_000);
    let plan = ChunkPlan::new(bytes.len() as u64, &ChunkPolicy::default()).unwrap();
    let init = client.init_inbox(&token, &plan).await.unwrap();
    let send = || {
        client.upload_chunk(
            &init.upload_url,
            plan.chunk(0).unwrap(),
            plan.video_size(),
            "video/mp4",
            body_of(bytes.clone()),
        )
    };
    let refuse = |status| Fault::HttpError {
        endpoint: FakeEndpoint::UploadChunk,
        status,
        code: String::new(),
        times: 1,
    };

    fake.inject(refuse(416));
    let err = send().await.unwrap_err();
    assert!(
        matches!(
            err,
            TikTokError::UploadRangeMismatch {
                received_bytes: 0,
                video_size: 1_000
            }
        ),
        "{err:?}"
    );
    fake.inject(refuse(400));
    let err = send().await.unwrap_err();
    assert!(
        matches!(err, TikTokError::UploadChunkRefused { status: 400 }),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::Internal);
    fake.inject(refuse(404));
    assert_eq!(
        send().await.unwrap_err().kind(),
        ErrorKind::UploadUrlExpired
    );
    fake.inject(refuse(502));
    assert_eq!(
        send().await.unwrap_err().kind(),
        ErrorKind::TikTokUnavailable
    );

    assert_eq!(send().await.unwrap(), ChunkAccepted::UploadComplete);
    let snapshot = fake.publish(&init.publish_id).unwrap();
    assert_eq!(snapshot.uploaded_bytes, 1_000);
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}
