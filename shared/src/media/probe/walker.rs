//! The async walk over an MP4/MOV's top-level boxes: header by header through ranged reads,
//! jumping over `mdat` however large, until `moov`, which is read whole when under the cap.

use super::boxes::{parse_box_header, parse_moov};
use super::ranged::RangeReader;
use super::verdict::{classify_brands, movie_not_a_video, no_moov, refused};
use super::{Container, ProbeError, ProbeLimits, VideoProbe};

/// Where the walk over the top-level boxes ended.
enum Walk {
    /// The `moov` box's body: where it starts and how long it is.
    Moov { body_start: u64, body_len: u64 },
    /// The whole file walked, and no `moov` in it.
    NoMoov,
    /// More top-level boxes than the limit walked without a `moov`.
    TooManyBoxes,
}

pub(super) async fn probe_iso_bmff(
    reader: &mut RangeReader<'_>,
    size: u64,
    limits: &ProbeLimits,
) -> Result<VideoProbe, ProbeError> {
    let (container, walk) = walk_top_level(reader, size, limits).await?;
    let (body_start, body_len) = match walk {
        Walk::Moov {
            body_start,
            body_len,
        } => (body_start, body_len),
        Walk::NoMoov => return Err(no_moov(container)),
        // Not proof of damage, just more than we look at: TikTok will judge the file.
        Walk::TooManyBoxes => return Ok(VideoProbe::container_only(container)),
    };
    if body_len > limits.max_moov_bytes {
        tracing::info!(
            moov_bytes = body_len,
            cap = limits.max_moov_bytes,
            "moov over the cap: duration left to TikTok"
        );
        return Ok(VideoProbe::container_only(container));
    }
    let body = reader.bytes(body_start, body_len).await?;
    let movie = match parse_moov(body) {
        Ok(movie) => movie,
        Err(problem) => {
            tracing::warn!(%problem, "unreadable moov: duration left to TikTok");
            return Ok(VideoProbe::container_only(container));
        }
    };
    if let Some(refusal) = movie_not_a_video(&movie, container) {
        return Err(refused(refusal));
    }
    Ok(VideoProbe {
        container,
        duration: movie.duration,
        width: movie.video_size.map(|(w, _)| w),
        height: movie.video_size.map(|(_, h)| h),
        codec: movie.video_codec,
        frame_rate: movie.frame_rate,
        content_type: container.content_type(),
    })
}

/// Walks the top-level boxes by their headers alone, reading `ftyp`'s brands on the way
/// (a file without `ftyp` is an old QuickTime movie).
async fn walk_top_level(
    reader: &mut RangeReader<'_>,
    size: u64,
    limits: &ProbeLimits,
) -> Result<(Container, Walk), ProbeError> {
    let mut container = Container::QuickTime;
    let mut pos = 0u64;
    let mut walked = 0usize;
    while pos < size {
        if walked == limits.max_top_level_boxes {
            tracing::warn!(walked, "no moov among the first top-level boxes");
            return Ok((container, Walk::TooManyBoxes));
        }
        walked += 1;
        let available = size - pos;
        let header = parse_box_header(reader.bytes(pos, 16).await?, available)
            .map_err(|e| refused(e.refusal(pos)))?;
        let body_start = pos + header.header_len;
        let body_len = header.total_len - header.header_len;
        match &header.kind {
            b"ftyp" if pos == 0 => {
                // Brands come first in the body; a few dozen are plenty.
                let body = reader.bytes(body_start, body_len.min(256)).await?;
                container = classify_brands(body)?;
            }
            b"moov" => {
                return Ok((
                    container,
                    Walk::Moov {
                        body_start,
                        body_len,
                    },
                ));
            }
            _ => {}
        }
        pos += header.total_len;
    }
    Ok((container, Walk::NoMoov))
}
