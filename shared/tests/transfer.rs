//! Chunks streamed from S3 (moto) to the strict fake TikTok: byte-exact arrival, a video
//! replaced mid-upload, and every upload-path fault with its error kind and a clean retry.

use std::time::{Duration, Instant};

use fake_tiktok::{AccountSeed, Endpoint, FakeSettings, FakeTikTok, Fault};
use secrecy::SecretString;
use tiktok_publish_adapters::S3VideoSource;
use tiktok_publish_adapters::TikTokClient;
use tiktok_publish_core::config::TikTokConfig;
use tiktok_publish_core::errors::{Classify, ErrorKind};
use tiktok_publish_core::media::{VideoObject, VideoSource};
use tiktok_publish_core::tiktok::TikTokPosting;
use tiktok_publish_core::tiktok::chunk_plan::{
    ChunkPlan, ChunkPolicy, DEFAULT_MAX_VIDEO_SIZE, MIN_CHUNK_SIZE,
};
use tiktok_publish_core::tiktok::{ChunkAccepted, InitResponse};
use tiktok_publish_core::transfer::{
    TransferError, UploadProgress, upload_chunk_from_source, upload_chunks, upload_chunks_recording,
};

use crate::source::{TestVideo, new_bucket, put_video, s3};

const SCOPES: [&str; 3] = ["user.info.basic", "video.publish", "video.upload"];
const NO_BUDGET_LIMIT: Duration = Duration::from_secs(3600);

struct Rig {
    fake: FakeTikTok,
    open_id: String,
    tiktok: TikTokClient,
    token: SecretString,
    s3: aws_sdk_s3::Client,
    source: S3VideoSource,
}

async fn rig(stall_timeout: Duration) -> Rig {
    let fake = FakeTikTok::start(FakeSettings::default()).await.unwrap();
    let open_id = fake.seed_account(AccountSeed::default());
    let tokens = fake.issue_tokens(&open_id, &SCOPES);
    let mut config = TikTokConfig::new(
        fake.settings().client_key.clone(),
        SecretString::from(fake.settings().client_secret.clone()),
    )
    .with_base_urls(fake.base_url(), fake.base_url());
    config.upload_stall_timeout = stall_timeout;
    config.request_timeout = stall_timeout.min(config.request_timeout);
    let s3 = s3().await;
    Rig {
        tiktok: TikTokClient::new(config).unwrap(),
        token: SecretString::from(tokens.access_token),
        source: S3VideoSource::new(s3.clone()),
        s3,
        fake,
        open_id,
    }
}

fn small_chunks() -> ChunkPolicy {
    ChunkPolicy::new(MIN_CHUNK_SIZE, DEFAULT_MAX_VIDEO_SIZE).unwrap()
}

impl Rig {
    async fn video(&self, size: u64, seed: u64) -> TestVideo {
        let bucket = new_bucket(&self.s3, true).await;
        put_video(
            &self.s3,
            &bucket,
            "uploads/clip.mp4",
            size,
            seed,
            "video/mp4",
        )
        .await
    }

    async fn start(
        &self,
        video: &TestVideo,
        policy: &ChunkPolicy,
    ) -> (VideoObject, ChunkPlan, InitResponse) {
        let object = self.source.head(&video.location).await.unwrap();
        let plan = ChunkPlan::new(object.size, policy).unwrap();
        let init = self.tiktok.init_inbox(&self.token, &plan).await.unwrap();
        (object, plan, init)
    }

    /// Every chunk accepted exactly once, the bytes exactly the video's, nothing illegal.
    fn assert_arrived_whole(&self, init: &InitResponse, plan: &ChunkPlan, video: &TestVideo) {
        let snapshot = self.fake.publish(&init.publish_id).unwrap();
        assert!(snapshot.complete, "upload not complete: {snapshot:?}");
        assert_eq!(snapshot.chunks_taken, plan.total_chunk_count());
        assert_eq!(snapshot.uploaded_bytes, video.size);
        assert_eq!(
            snapshot.video_sha256.as_deref(),
            Some(video.sha256.as_str())
        );
        let accepted = self
            .fake
            .calls()
            .iter()
            .filter(|c| c.endpoint == Endpoint::UploadChunk && matches!(c.status, 201 | 206))
            .count() as u64;
        assert_eq!(
            accepted,
            plan.total_chunk_count(),
            "a range was taken twice"
        );
        assert_eq!(self.fake.violations(), vec![]);
    }
}

async fn transfers_byte_exact(size: u64, policy: ChunkPolicy, expected_chunks: Option<u64>) {
    let rig = rig(Duration::from_secs(60)).await;
    let video = rig.video(size, size).await;
    let (object, plan, init) = rig.start(&video, &policy).await;
    if let Some(expected) = expected_chunks {
        assert_eq!(plan.total_chunk_count(), expected);
    }
    let progress = upload_chunks(
        &rig.tiktok,
        &rig.source,
        &object,
        &plan,
        0,
        &init.upload_url,
        NO_BUDGET_LIMIT,
    )
    .await
    .unwrap();
    assert_eq!(progress, UploadProgress::Complete);
    rig.assert_arrived_whole(&init, &plan, &video);
}

#[tokio::test]
async fn a_1_mb_video_arrives_whole_in_one_chunk() {
    transfers_byte_exact(1_000_000, ChunkPolicy::default(), Some(1)).await;
}

#[tokio::test]
async fn a_17_mb_video_with_a_5_mib_target_arrives_in_3_chunks() {
    transfers_byte_exact(17_000_000, small_chunks(), Some(3)).await;
}

#[tokio::test]
async fn a_100_mb_video_arrives_byte_exact() {
    transfers_byte_exact(100_000_000, ChunkPolicy::default(), Some(2)).await;
}

#[tokio::test]
async fn a_300_mb_video_arrives_byte_exact() {
    transfers_byte_exact(300_000_000, ChunkPolicy::default(), Some(5)).await;
}

#[tokio::test]
async fn a_video_replaced_between_chunks_stops_the_upload() {
    let rig = rig(Duration::from_secs(60)).await;
    let video = rig.video(17_000_000, 21).await;
    let (object, plan, init) = rig.start(&video, &small_chunks()).await;
    let first = upload_chunk_from_source(
        &rig.tiktok,
        &rig.source,
        &object,
        &plan,
        0,
        &init.upload_url,
    )
    .await
    .unwrap();
    assert_eq!(first, ChunkAccepted::MoreExpected);

    // The user uploads another video under the same key between two chunks.
    put_video(
        &rig.s3,
        &video.location.bucket,
        &video.location.key,
        17_000_000,
        22,
        "video/mp4",
    )
    .await;

    let failed = upload_chunks(
        &rig.tiktok,
        &rig.source,
        &object,
        &plan,
        1,
        &init.upload_url,
        NO_BUDGET_LIMIT,
    )
    .await
    .unwrap_err();
    assert_eq!(failed.next_index, 1);
    assert!(
        matches!(failed.error, TransferError::Source(_)),
        "{failed:?}"
    );
    assert_eq!(failed.kind(), ErrorKind::VideoChanged);
    // Nothing more reached TikTok after the first chunk.
    assert_eq!(rig.fake.call_count(Endpoint::UploadChunk), 1);
    let snapshot = rig.fake.publish(&init.publish_id).unwrap();
    assert_eq!((snapshot.chunks_taken, snapshot.complete), (1, false));
    assert_eq!(rig.fake.violations(), vec![]);
}

/// Chunk 0 goes through, `fault` hits chunk 1 with `expected`, then the same chunk is sent
/// again and the rest follows: TikTok ends with each range once and the exact video.
async fn fault_on_chunk_1_then_retry(fault: Fault, expected: ErrorKind, stall_timeout: Duration) {
    let rig = rig(stall_timeout).await;
    let video = rig.video(17_000_000, 31).await;
    let (object, plan, init) = rig.start(&video, &small_chunks()).await;
    let send = |index| {
        upload_chunk_from_source(
            &rig.tiktok,
            &rig.source,
            &object,
            &plan,
            index,
            &init.upload_url,
        )
    };
    assert_eq!(send(0).await.unwrap(), ChunkAccepted::MoreExpected);

    rig.fake.inject(fault.clone());
    let started = Instant::now();
    let err = send(1).await.unwrap_err();
    assert_eq!(err.kind(), expected, "{fault:?} gave {err:?}");
    assert!(matches!(err, TransferError::TikTok(_)), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );

    let progress = upload_chunks(
        &rig.tiktok,
        &rig.source,
        &object,
        &plan,
        1,
        &init.upload_url,
        NO_BUDGET_LIMIT,
    )
    .await
    .unwrap();
    assert_eq!(progress, UploadProgress::Complete);
    rig.assert_arrived_whole(&init, &plan, &video);
}

#[tokio::test]
async fn a_5xx_on_a_chunk_is_tiktok_unavailable_and_the_retry_succeeds() {
    let fault = Fault::HttpError {
        endpoint: Endpoint::UploadChunk,
        status: 500,
        code: "internal_error".into(),
        times: 1,
    };
    fault_on_chunk_1_then_retry(fault, ErrorKind::TikTokUnavailable, Duration::from_secs(60)).await;
}

#[tokio::test]
async fn a_429_on_a_chunk_is_rate_limited_and_the_retry_succeeds() {
    let fault = Fault::HttpError {
        endpoint: Endpoint::UploadChunk,
        status: 429,
        code: "rate_limit_exceeded".into(),
        times: 1,
    };
    fault_on_chunk_1_then_retry(fault, ErrorKind::TikTokRateLimited, Duration::from_secs(60)).await;
}

#[tokio::test]
async fn a_reset_mid_body_is_tiktok_unavailable_and_the_retry_succeeds() {
    let fault = Fault::ResetMidBody {
        after_bytes: 1_000_000,
        times: 1,
    };
    fault_on_chunk_1_then_retry(fault, ErrorKind::TikTokUnavailable, Duration::from_secs(60)).await;
}

#[tokio::test]
async fn a_stalled_body_times_out_as_tiktok_unavailable_and_the_retry_succeeds() {
    // The fake stalls far longer than the client's allowance (1 s + 1 s per MB): only the
    // client's own time-out can end the wait within the test's 20 s.
    let fault = Fault::StallBody {
        after_bytes: 1_000_000,
        stall: Duration::from_secs(60),
        times: 1,
    };
    fault_on_chunk_1_then_retry(fault, ErrorKind::TikTokUnavailable, Duration::from_secs(1)).await;
}

#[tokio::test]
async fn an_expired_upload_url_asks_for_a_new_init_which_then_succeeds() {
    let rig = rig(Duration::from_secs(60)).await;
    let video = rig.video(17_000_000, 41).await;
    let (object, plan, init) = rig.start(&video, &small_chunks()).await;
    let send =
        |index, url| upload_chunk_from_source(&rig.tiktok, &rig.source, &object, &plan, index, url);
    assert_eq!(
        send(0, &init.upload_url).await.unwrap(),
        ChunkAccepted::MoreExpected
    );

    rig.fake.inject(Fault::ExpireUploadUrl {
        publish_id: Some(init.publish_id.clone()),
    });
    let failed = upload_chunks(
        &rig.tiktok,
        &rig.source,
        &object,
        &plan,
        1,
        &init.upload_url,
        NO_BUDGET_LIMIT,
    )
    .await
    .unwrap_err();
    assert_eq!(
        (failed.next_index, failed.kind()),
        (1, ErrorKind::UploadUrlExpired)
    );

    let again = rig.tiktok.init_inbox(&rig.token, &plan).await.unwrap();
    let progress = upload_chunks(
        &rig.tiktok,
        &rig.source,
        &object,
        &plan,
        0,
        &again.upload_url,
        NO_BUDGET_LIMIT,
    )
    .await
    .unwrap();
    assert_eq!(progress, UploadProgress::Complete);
    let snapshot = rig.fake.publish(&again.publish_id).unwrap();
    assert_eq!(
        snapshot.video_sha256.as_deref(),
        Some(video.sha256.as_str())
    );
    assert_eq!(rig.fake.violations(), vec![]);
}

#[tokio::test]
async fn a_spent_budget_pauses_between_chunks_and_a_later_call_resumes() {
    let rig = rig(Duration::from_secs(60)).await;
    let video = rig.video(17_000_000, 51).await;
    let (object, plan, init) = rig.start(&video, &small_chunks()).await;

    // No budget at all: the first chunk is still sent (a caller only calls with time for
    // one), then the measured rate says the next one would not fit.
    let progress = upload_chunks(
        &rig.tiktok,
        &rig.source,
        &object,
        &plan,
        0,
        &init.upload_url,
        Duration::ZERO,
    )
    .await
    .unwrap();
    assert_eq!(progress, UploadProgress::Paused { next_index: 1 });

    let progress = upload_chunks(
        &rig.tiktok,
        &rig.source,
        &object,
        &plan,
        1,
        &init.upload_url,
        NO_BUDGET_LIMIT,
    )
    .await
    .unwrap();
    assert_eq!(progress, UploadProgress::Complete);
    rig.assert_arrived_whole(&init, &plan, &video);
}

#[tokio::test]
async fn a_plan_for_another_size_is_refused_before_anything_is_sent() {
    let rig = rig(Duration::from_secs(60)).await;
    let video = rig.video(1_000, 61).await;
    let object = rig.source.head(&video.location).await.unwrap();
    let plan = ChunkPlan::new(2_000, &ChunkPolicy::default()).unwrap();
    let init = rig.tiktok.init_inbox(&rig.token, &plan).await.unwrap();
    let err = upload_chunk_from_source(
        &rig.tiktok,
        &rig.source,
        &object,
        &plan,
        0,
        &init.upload_url,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, TransferError::PlanMismatch { .. }), "{err}");
    assert_eq!(err.kind(), ErrorKind::Internal);
    assert_eq!(rig.fake.call_count(Endpoint::UploadChunk), 0);
}

/// The chunks sent from `start` with progress recorded, as chunk-upload runs them.
async fn upload_recording(
    rig: &Rig,
    object: &VideoObject,
    plan: &ChunkPlan,
    init: &InitResponse,
) -> (
    Result<UploadProgress, tiktok_publish_core::transfer::UploadFailed>,
    Vec<(u64, u64)>,
) {
    let mut recorded = Vec::new();
    let progress = upload_chunks_recording(
        &rig.tiktok,
        &rig.source,
        object,
        plan,
        0,
        &init.upload_url,
        NO_BUDGET_LIMIT,
        async |chunks, bytes| {
            recorded.push((chunks, bytes));
            Ok(())
        },
    )
    .await;
    (progress, recorded)
}

#[tokio::test]
async fn a_chunk_tiktok_lost_is_sent_again_from_its_416_and_the_video_arrives_whole() {
    let rig = rig(Duration::from_secs(60)).await;
    let video = rig.video(17_000_000, 71).await;
    let (object, plan, init) = rig.start(&video, &small_chunks()).await;
    // TikTok answers 206 to chunk 1, then lacks it: chunk 2 gets a 416 saying it holds chunk 0.
    rig.fake.inject(Fault::DropChunk {
        open_id: rig.open_id.clone(),
        chunk: 1,
    });

    let (progress, recorded) = upload_recording(&rig, &object, &plan, &init).await;

    assert_eq!(progress.unwrap(), UploadProgress::Complete);
    let statuses: Vec<u16> = rig
        .fake
        .calls()
        .iter()
        .filter(|c| c.endpoint == Endpoint::UploadChunk)
        .map(|c| c.status)
        .collect();
    assert_eq!(statuses, [206, 206, 416, 206, 201]);
    let ends: Vec<(u64, u64)> = plan
        .chunks()
        .zip(1..)
        .map(|(c, n)| (n, c.last + 1))
        .collect();
    assert_eq!(recorded, ends, "each chunk recorded once, in order");
    let snapshot = rig.fake.publish(&init.publish_id).unwrap();
    assert_eq!(
        snapshot.video_sha256.as_deref(),
        Some(video.sha256.as_str())
    );
    assert_eq!(rig.fake.violations(), vec![]);
}

#[tokio::test]
async fn a_416_is_resynchronised_once_and_a_repeat_without_progress_is_resync_stalled() {
    let rig = rig(Duration::from_secs(60)).await;
    let video = rig.video(17_000_000, 81).await;
    let (object, plan, init) = rig.start(&video, &small_chunks()).await;
    let range_refused = |times| Fault::HttpError {
        endpoint: Endpoint::UploadChunk,
        status: 416,
        code: String::new(),
        times,
    };

    // Twice in a row on chunk 0: TikTok holds nothing both times; going on would loop.
    rig.fake.inject(range_refused(2));
    let (progress, recorded) = upload_recording(&rig, &object, &plan, &init).await;
    let failed = progress.unwrap_err();
    assert!(
        matches!(
            failed.error,
            TransferError::ResyncStalled {
                index: 0,
                previous: 0,
                received_bytes: 0
            }
        ),
        "{:?}",
        failed.error
    );
    assert_eq!((failed.next_index, failed.kind()), (0, ErrorKind::Internal));
    assert!(recorded.is_empty());

    // Once: chunk 0 is sent again and the upload completes.
    rig.fake.inject(range_refused(1));
    let (progress, recorded) = upload_recording(&rig, &object, &plan, &init).await;
    assert_eq!(progress.unwrap(), UploadProgress::Complete);
    assert_eq!(recorded.len() as u64, plan.total_chunk_count());
    rig.assert_arrived_whole(&init, &plan, &video);
}
