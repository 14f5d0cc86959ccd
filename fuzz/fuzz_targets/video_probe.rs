//! The container probe (`media::probe::probe`): it reads the headers of whatever object a
//! user uploaded, so every byte of it is outside input.
//!
//! Input: `[tail, window, rest...]`. `rest` is the start of the object; when `tail`'s top bit
//! is set the object goes on with `2^(tail & 0x3F)` zero bytes (capped at 2^40), as a video
//! whose `mdat` is gigabytes long; `window` picks the read window (16..=4111 bytes).
//!
//! Beyond "no panic":
//! - the probe reads only inside the object, and at most what its limits allow;
//! - a source that answers every read correctly never yields a storage error;
//! - a refusal says why; in an MP4/MOV a duration or size is claimed only from the headers
//!   that hold it (an `moov` with an `mvhd` and a `trak`: at least 44 bytes);
//! - what is claimed is consistent: a whole frame size, sides above 0, a frame rate above 0;
//! - probing is deterministic.
#![no_main]

use fuzz_support::{MemorySource, runtime};
use libfuzzer_sys::fuzz_target;
use tiktok_publish_core::media::probe::{Container, ProbeError, ProbeLimits, probe};

const KEY: &str = "uploads/acct/clip.mp4";
/// `moov` header (8) + `mvhd` v0 box up to its duration (8 + 20) + an empty `trak` (8).
const SMALLEST_TIMED_MOVIE: u64 = 44;

fuzz_target!(|data: &[u8]| {
    let (tail, window, head) = match data {
        [tail, window, rest @ ..] => (*tail, *window, rest),
        _ => return,
    };
    let tail_len = if tail & 0x80 != 0 {
        1u64 << (tail & 0x3F).min(40)
    } else {
        0
    };
    let size = head.len() as u64 + tail_len;
    let limits = ProbeLimits {
        // Small enough that the harness can serve any read it allows.
        max_moov_bytes: 256 * 1024,
        max_top_level_boxes: 32,
        read_window_bytes: 16 + u64::from(window) * 16,
        max_webm_header_bytes: 64 * 1024,
    };

    let source = MemorySource::new();
    source.put(KEY, head, size);
    let object = source.object(KEY).expect("just stored");
    let result = runtime().block_on(probe(&source, &object, &limits));

    assert!(
        source.bad_reads().is_empty(),
        "the probe read outside the object: {:?}",
        source.bad_reads()
    );
    let reads = source.reads();
    let read_bytes: u64 = reads.iter().map(|(first, last)| last - first + 1).sum();
    // One window per top-level header, one for `ftyp`'s brands, one for `moov`.
    let per_read = limits.read_window_bytes.max(256);
    let allowed = per_read * (limits.max_top_level_boxes as u64 + 2)
        + limits.max_moov_bytes
        + limits.max_webm_header_bytes;
    assert!(
        read_bytes <= allowed,
        "read {read_bytes} bytes in {} reads; the limits allow {allowed}",
        reads.len()
    );

    match &result {
        Err(ProbeError::NotAVideo { refusal }) => {
            assert!(
                !refusal.to_string().trim().is_empty(),
                "a refusal without a reason"
            );
        }
        Err(ProbeError::Source(err)) => {
            panic!("an honest source produced a storage error: {err}")
        }
        Ok(video) => {
            assert_eq!(video.content_type, video.container.content_type());
            assert_eq!(
                video.width.is_some(),
                video.height.is_some(),
                "half a frame size: {video:?}"
            );
            if video.width.is_some() {
                assert!(video.width > Some(0) && video.height > Some(0), "{video:?}");
            }
            if let Some(fps) = video.frame_rate {
                assert!(fps.millis_per_second > 0, "{video:?}");
            }
            if video.container != Container::WebM
                && (video.duration.is_some() || video.width.is_some())
            {
                assert!(
                    size >= SMALLEST_TIMED_MOVIE && read_bytes >= SMALLEST_TIMED_MOVIE,
                    "claimed {video:?} from a {size}-byte object after reading {read_bytes}"
                );
            }
        }
    }

    let again = runtime().block_on(probe(&source, &object, &limits));
    match (&result, &again) {
        (Ok(first), Ok(second)) => assert_eq!(first, second),
        (Err(first), Err(second)) => assert_eq!(first.to_string(), second.to_string()),
        _ => panic!("probing twice disagreed: {result:?} then {again:?}"),
    }
});
