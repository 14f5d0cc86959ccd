//! Moving a video's chunks from the [`VideoSource`] to TikTok's upload URL.
//!
//! Each chunk's S3 range is streamed straight into the PUT body: memory stays flat whatever
//! the chunk size (a few hyper buffers), and a 300 MB video never sits in a Lambda's memory.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::StreamExt;

use crate::errors::{Classify, ErrorKind};
use crate::media::{ByteStream, SourceError, VideoObject, VideoSource};
use crate::store::StoreError;
use crate::tiktok::{ChunkAccepted, ChunkPlan, TikTokError, TikTokUpload, UploadUrl};

/// Why a chunk did not reach TikTok.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// Reading the video failed, or it changed since the plan was made.
    #[error(transparent)]
    Source(#[from] SourceError),

    /// TikTok (or the road to it) refused or dropped the chunk.
    #[error(transparent)]
    TikTok(#[from] TikTokError),

    /// The plan was made for another size than the object has now: a bug upstream, or the
    /// object was looked up again and differs.
    #[error("the chunk plan is for {plan_size} bytes but the video is {object_size} bytes")]
    PlanMismatch { plan_size: u64, object_size: u64 },

    /// TikTok took the chunk but its progress could not be recorded.
    #[error("recording upload progress failed: {0}")]
    Record(#[source] StoreError),

    /// Asked for a chunk the plan does not have.
    #[error("chunk {index} is not in the plan ({total} chunks)")]
    NoSuchChunk { index: u64, total: u64 },

    /// A 416 said TikTok holds `received_bytes` of `video_size`, which is not where a chunk
    /// of the plan starts (or is another video's size): no chunk can be sent from there.
    #[error(
        "TikTok holds {received_bytes} of {video_size} bytes, not the end of a chunk of the \
         plan ({plan_size} bytes in chunks of {chunk_size}); the upload cannot resume there"
    )]
    ResyncOffPlan {
        received_bytes: u64,
        video_size: u64,
        plan_size: u64,
        chunk_size: u64,
    },

    /// A 416 sent the upload back to chunk `index` when an earlier one had sent it there or
    /// later already: TikTok keeps losing what it acknowledged, and going on would loop.
    #[error(
        "TikTok asked again for chunk {index} (it holds {received_bytes} bytes) after an \
         earlier resynchronisation to chunk {previous}; the upload makes no progress"
    )]
    ResyncStalled {
        index: u64,
        previous: u64,
        received_bytes: u64,
    },

    /// TikTok's answer does not fit where we are: 201 before the last chunk (the video it
    /// keeps is truncated) or 206 after it (it still waits for bytes we do not have).
    #[error("TikTok answered {answer:?} to chunk {index} of {total}; the upload is out of step")]
    OutOfStep {
        index: u64,
        total: u64,
        answer: ChunkAccepted,
    },
}

impl Classify for TransferError {
    fn kind(&self) -> ErrorKind {
        match self {
            TransferError::Source(e) => e.kind(),
            TransferError::TikTok(e) => e.kind(),
            TransferError::Record(e) => e.kind(),
            // Retrying the same request cannot fix any of these.
            TransferError::PlanMismatch { .. }
            | TransferError::NoSuchChunk { .. }
            | TransferError::ResyncOffPlan { .. }
            | TransferError::ResyncStalled { .. }
            | TransferError::OutOfStep { .. } => ErrorKind::Internal,
        }
    }

    fn tiktok_code(&self) -> Option<&str> {
        match self {
            TransferError::TikTok(e) => e.code(),
            _ => None,
        }
    }
}

/// The `Content-Type` of the chunk PUTs: the object's own type when TikTok takes it, else
/// from the key's extension, else `video/mp4` (S3 often stores `binary/octet-stream`).
pub fn upload_content_type(object: &VideoObject) -> &'static str {
    const ACCEPTED: [&str; 3] = ["video/mp4", "video/quicktime", "video/webm"];
    if let Some(declared) = &object.content_type {
        let essence = declared.split(';').next().unwrap_or("").trim();
        if let Some(accepted) = ACCEPTED.iter().find(|t| t.eq_ignore_ascii_case(essence)) {
            return accepted;
        }
    }
    let extension = object
        .location
        .key
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase());
    match extension.as_deref() {
        Some("mov") => "video/quicktime",
        Some("webm") => "video/webm",
        _ => "video/mp4",
    }
}

/// Uploads chunk `index` of `plan`, streaming its bytes from `source` into the PUT.
///
/// Checks TikTok's answer against the plan: 206 for every chunk but the last, 201 for the
/// last. A read failing mid-body is reported as the [`SourceError`] it is, not as TikTok's.
#[tracing::instrument(skip(tiktok, source, object, plan, upload_url), fields(chunk = index))]
pub async fn upload_chunk_from_source(
    tiktok: &dyn TikTokUpload,
    source: &dyn VideoSource,
    object: &VideoObject,
    plan: &ChunkPlan,
    index: u64,
    upload_url: &UploadUrl,
) -> Result<ChunkAccepted, TransferError> {
    if plan.video_size() != object.size {
        return Err(TransferError::PlanMismatch {
            plan_size: plan.video_size(),
            object_size: object.size,
        });
    }
    let total = plan.total_chunk_count();
    let chunk = plan
        .chunk(index)
        .ok_or(TransferError::NoSuchChunk { index, total })?;
    let body = source.read_range(object, chunk.first, chunk.last).await?;
    let (body, read_failure) = tap_source_errors(body);
    let sent = tiktok
        .upload_chunk(
            upload_url,
            chunk,
            plan.video_size(),
            upload_content_type(object),
            body,
        )
        .await;
    // When the body broke, TikTok's side only saw a dropped request: the cause is the read.
    if let Some(failure) = read_failure
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
    {
        return Err(TransferError::Source(failure));
    }
    let answer = sent?;
    let is_last = index + 1 == total;
    match (answer, is_last) {
        (ChunkAccepted::MoreExpected, false) | (ChunkAccepted::UploadComplete, true) => {
            tracing::debug!(bytes = chunk.len(), "chunk accepted");
            Ok(answer)
        }
        _ => Err(TransferError::OutOfStep {
            index,
            total,
            answer,
        }),
    }
}

/// Keeps the first read error of `body` aside (the HTTP client only sees an opaque body
/// error) so the caller can report it as what it is.
fn tap_source_errors(body: ByteStream) -> (ByteStream, Arc<Mutex<Option<SourceError>>>) {
    let slot = Arc::new(Mutex::new(None));
    let writer = Arc::clone(&slot);
    let tapped = body.map(move |item| {
        item.map_err(|err| {
            let failure = match err
                .into_inner()
                .map(|inner| inner.downcast::<SourceError>())
            {
                Some(Ok(source_error)) => *source_error,
                Some(Err(other)) => SourceError::Unavailable {
                    detail: "reading the video failed mid-chunk".into(),
                    source: Some(other),
                },
                None => SourceError::Unavailable {
                    detail: "reading the video failed mid-chunk".into(),
                    source: None,
                },
            };
            let message = failure.to_string();
            let mut stored = writer.lock().unwrap_or_else(PoisonError::into_inner);
            stored.get_or_insert(failure);
            std::io::Error::other(message)
        })
    });
    (Box::pin(tapped), slot)
}

/// Where [`upload_chunks`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadProgress {
    /// TikTok has the whole video (it answered 201 to the last chunk).
    Complete,
    /// The time budget ran out: chunks from `next_index` on remain, to be sent by a later
    /// invocation on the same upload URL.
    Paused { next_index: u64 },
}

/// A chunk failed: chunks before `next_index` were accepted, `next_index` itself was not.
#[derive(Debug, thiserror::Error)]
#[error("chunk {next_index} was not uploaded: {error}")]
pub struct UploadFailed {
    pub next_index: u64,
    #[source]
    pub error: TransferError,
}

impl Classify for UploadFailed {
    fn kind(&self) -> ErrorKind {
        self.error.kind()
    }

    fn tiktok_code(&self) -> Option<&str> {
        self.error.tiktok_code()
    }
}

/// Uploads chunks `start..` in order until TikTok has them all or `budget` would run out.
///
/// The first chunk is always attempted (a caller with no time for one should not call);
/// after that, a chunk starts only if, at the slowest rate seen so far plus a quarter for
/// safety, it ends within the budget. A Lambda thus stops between chunks rather than being
/// killed in the middle of one.
pub async fn upload_chunks(
    tiktok: &dyn TikTokUpload,
    source: &dyn VideoSource,
    object: &VideoObject,
    plan: &ChunkPlan,
    start: u64,
    upload_url: &UploadUrl,
    budget: Duration,
) -> Result<UploadProgress, UploadFailed> {
    upload_chunks_recording(
        tiktok,
        source,
        object,
        plan,
        start,
        upload_url,
        budget,
        async |_, _| Ok(()),
    )
    .await
}

/// [`upload_chunks`], calling `on_accepted(chunks_done, bytes_done)` after each chunk TikTok
/// took, so the caller can record progress before the next chunk starts. Progress only
/// moves forward: a chunk sent again after a resynchronisation is not recorded twice.
///
/// A 416 names what TikTok holds (`Content-Range: bytes 0-{last}/{total}`): the upload goes
/// on from the chunk starting at `last + 1` (recording the chunks TikTok says it has, when
/// that is more than sent). A range that is not a chunk boundary of the plan, or a second
/// resynchronisation that does not get past the first, ends the upload with a typed error.
#[allow(clippy::too_many_arguments)]
#[tracing::instrument(skip_all, fields(start, total = plan.total_chunk_count()))]
pub async fn upload_chunks_recording(
    tiktok: &dyn TikTokUpload,
    source: &dyn VideoSource,
    object: &VideoObject,
    plan: &ChunkPlan,
    start: u64,
    upload_url: &UploadUrl,
    budget: Duration,
    mut on_accepted: impl AsyncFnMut(u64, u64) -> Result<(), StoreError>,
) -> Result<UploadProgress, UploadFailed> {
    let started = Instant::now();
    let mut slowest_secs_per_byte: Option<f64> = None;
    let total = plan.total_chunk_count();
    if start >= total {
        return Err(UploadFailed {
            next_index: start,
            error: TransferError::NoSuchChunk {
                index: start,
                total,
            },
        });
    }
    let mut recorded_chunks = start;
    let mut last_resync: Option<u64> = None;
    let mut index = start;
    while index < total {
        if let (Some(rate), Some(chunk)) = (slowest_secs_per_byte, plan.chunk(index)) {
            let needed = Duration::from_secs_f64(rate * chunk.len() as f64 * 1.25);
            if started.elapsed() + needed > budget {
                tracing::info!(
                    next_index = index,
                    "time budget spent; pausing between chunks"
                );
                return Ok(UploadProgress::Paused { next_index: index });
            }
        }
        let chunk_started = Instant::now();
        let fail = |error| UploadFailed {
            next_index: index,
            error,
        };
        let answer =
            match upload_chunk_from_source(tiktok, source, object, plan, index, upload_url).await {
                Ok(answer) => answer,
                Err(TransferError::TikTok(TikTokError::UploadRangeMismatch {
                    received_bytes,
                    video_size,
                })) => {
                    let resume = resync_point(plan, received_bytes, video_size, last_resync)
                        .map_err(fail)?;
                    tracing::info!(
                        sent = index,
                        resume,
                        received_bytes,
                        "TikTok expects another range; resynchronised"
                    );
                    last_resync = Some(resume);
                    if resume > recorded_chunks {
                        on_accepted(resume, received_bytes)
                            .await
                            .map_err(|error| fail(TransferError::Record(error)))?;
                        recorded_chunks = resume;
                    }
                    if resume == total {
                        // TikTok holds every byte: nothing is left to send.
                        return Ok(UploadProgress::Complete);
                    }
                    index = resume;
                    continue;
                }
                Err(error) => return Err(fail(error)),
            };
        if let Some(chunk) = plan.chunk(index)
            && index + 1 > recorded_chunks
        {
            on_accepted(index + 1, chunk.last + 1)
                .await
                .map_err(|error| UploadFailed {
                    next_index: index + 1,
                    error: TransferError::Record(error),
                })?;
            recorded_chunks = index + 1;
        }
        if answer == ChunkAccepted::UploadComplete {
            return Ok(UploadProgress::Complete);
        }
        if let Some(chunk) = plan.chunk(index) {
            let rate = chunk_started.elapsed().as_secs_f64() / chunk.len() as f64;
            slowest_secs_per_byte = Some(slowest_secs_per_byte.map_or(rate, |r| r.max(rate)));
        }
        index += 1;
    }
    // upload_chunk_from_source refuses a 206 on the last chunk, so the loop never ends here.
    Err(UploadFailed {
        next_index: total,
        error: TransferError::NoSuchChunk {
            index: total,
            total,
        },
    })
}

/// The chunk to go on from after a 416 saying TikTok holds `received_bytes` of `video_size`
/// (the chunk count when it holds everything). `previous`: where the last resynchronisation
/// of this run went; a new one must get past it, or the upload is going round in circles.
pub fn resync_point(
    plan: &ChunkPlan,
    received_bytes: u64,
    video_size: u64,
    previous: Option<u64>,
) -> Result<u64, TransferError> {
    let off_plan = || TransferError::ResyncOffPlan {
        received_bytes,
        video_size,
        plan_size: plan.video_size(),
        chunk_size: plan.chunk_size(),
    };
    if video_size != plan.video_size() {
        return Err(off_plan());
    }
    let resume = plan
        .chunk_starting_at(received_bytes)
        .ok_or_else(off_plan)?;
    match previous {
        Some(previous) if resume <= previous => Err(TransferError::ResyncStalled {
            index: resume,
            previous,
            received_bytes,
        }),
        _ => Ok(resume),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::VideoLocation;

    fn object(key: &str, content_type: Option<&str>) -> VideoObject {
        VideoObject {
            location: VideoLocation {
                bucket: "b".into(),
                key: key.into(),
                version_id: None,
            },
            size: 1,
            content_type: content_type.map(str::to_owned),
            etag: "\"e\"".into(),
        }
    }

    #[test]
    fn content_type_prefers_an_accepted_declared_type() {
        assert_eq!(
            upload_content_type(&object("a.mp4", Some("video/webm"))),
            "video/webm"
        );
        assert_eq!(
            upload_content_type(&object("a.mp4", Some("Video/QuickTime; foo=bar"))),
            "video/quicktime"
        );
    }

    #[test]
    fn content_type_falls_back_to_the_extension_then_mp4() {
        for (key, declared, expected) in [
            ("clip.MOV", Some("binary/octet-stream"), "video/quicktime"),
            ("dir.x/clip.webm", None, "video/webm"),
            ("clip.mp4", Some("application/octet-stream"), "video/mp4"),
            ("clip", None, "video/mp4"),
            ("clip.avi", Some("video/x-msvideo"), "video/mp4"),
        ] {
            assert_eq!(
                upload_content_type(&object(key, declared)),
                expected,
                "{key}"
            );
        }
    }

    #[test]
    fn kinds_follow_the_cause() {
        let changed = TransferError::Source(SourceError::Changed {
            bucket: "b".into(),
            key: "k".into(),
        });
        assert_eq!(changed.kind(), ErrorKind::VideoChanged);
        let expired = TransferError::TikTok(TikTokError::UploadUrlExpired { status: 404 });
        assert_eq!(expired.kind(), ErrorKind::UploadUrlExpired);
        let failed = UploadFailed {
            next_index: 2,
            error: expired,
        };
        assert_eq!(failed.kind(), ErrorKind::UploadUrlExpired);
        assert_eq!(
            TransferError::NoSuchChunk { index: 3, total: 3 }.kind(),
            ErrorKind::Internal
        );
    }

    #[test]
    fn a_416_resumes_at_the_chunk_after_what_tiktok_holds() {
        let plan = ChunkPlan::from_parts(17_000_000, 5_666_666, 3).unwrap();
        assert_eq!(resync_point(&plan, 0, 17_000_000, None).unwrap(), 0);
        assert_eq!(resync_point(&plan, 5_666_666, 17_000_000, None).unwrap(), 1);
        assert_eq!(
            resync_point(&plan, 5_666_666, 17_000_000, Some(0)).unwrap(),
            1
        );
        // Every byte held: nothing left to send.
        assert_eq!(
            resync_point(&plan, 17_000_000, 17_000_000, None).unwrap(),
            3
        );
    }

    #[test]
    fn a_416_off_the_plan_or_without_progress_is_a_typed_error() {
        let plan = ChunkPlan::from_parts(17_000_000, 5_666_666, 3).unwrap();
        for (received, size) in [(5_666_665, 17_000_000), (100, 17_000_000), (0, 16_999_999)] {
            let err = resync_point(&plan, received, size, None).unwrap_err();
            assert!(
                matches!(err, TransferError::ResyncOffPlan { received_bytes, video_size, .. }
                    if received_bytes == received && video_size == size),
                "{err:?}"
            );
            assert_eq!(err.kind(), ErrorKind::Internal);
        }
        let err = resync_point(&plan, 5_666_666, 17_000_000, Some(1)).unwrap_err();
        assert!(
            matches!(
                err,
                TransferError::ResyncStalled {
                    index: 1,
                    previous: 1,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(err.kind(), ErrorKind::Internal);
    }

    #[tokio::test]
    async fn a_read_failure_mid_body_is_kept_as_the_source_error() {
        let items: Vec<Result<bytes::Bytes, std::io::Error>> = vec![
            Ok(bytes::Bytes::from_static(b"ab")),
            Err(std::io::Error::other(SourceError::Changed {
                bucket: "b".into(),
                key: "k".into(),
            })),
        ];
        let (mut tapped, slot) = tap_source_errors(Box::pin(futures::stream::iter(items)));
        assert!(tapped.next().await.unwrap().is_ok());
        assert!(tapped.next().await.unwrap().is_err());
        let kept = slot.lock().unwrap().take().unwrap();
        assert!(matches!(kept, SourceError::Changed { .. }));
    }
}
