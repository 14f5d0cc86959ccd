//! ISO-BMFF (MP4, MOV) box reading over bytes already fetched: box headers checked against
//! their parent, and what `moov` says (duration, tracks and their kinds; the first video
//! track's size, codec and frame rate, read by `track`).
//!
//! Our own reading, not the `mp4` or `mp4parse` crates: neither reads every sample entry we
//! need (`hvc1`, `av01`), and both parse a whole file where we hold only fetched ranges.

use std::time::Duration;

use tiktok_publish_domain::media_rules::{FrameRate, MediaRefusal, VideoCodec};

use super::track::parse_trak;

/// Top-level atoms that open QuickTime files written before `ftyp` existed.
const LEGACY_QUICKTIME_FIRST: [&[u8; 4]; 6] =
    [b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"];

/// Whether `head` (the object's first bytes) opens with an ISO-BMFF box.
pub(super) fn starts_iso_bmff(head: &[u8]) -> bool {
    let Some(kind) = head.get(4..8) else {
        return false;
    };
    kind == b"ftyp" || LEGACY_QUICKTIME_FIRST.iter().any(|k| k.as_slice() == kind)
}

/// A box's header: its type and where it ends, checked against its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct BoxHeader {
    pub(super) kind: [u8; 4],
    pub(super) header_len: u64,
    /// Header included.
    pub(super) total_len: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum BoxError {
    /// Fewer than 8 bytes left (16 for a 64-bit size): no room for a header.
    TruncatedHeader {
        available: u64,
    },
    SmallerThanHeader {
        kind: [u8; 4],
        declared: u64,
    },
    BeyondEnd {
        kind: [u8; 4],
        declared: u64,
        available: u64,
    },
}

impl BoxError {
    /// What is wrong with the box at byte `at`, for the person who uploaded the file.
    pub(super) fn refusal(&self, at: u64) -> MediaRefusal {
        match self {
            BoxError::TruncatedHeader { available } => MediaRefusal::Truncated {
                box_type: None,
                at,
                declared: None,
                available: *available,
            },
            BoxError::SmallerThanHeader { kind, declared } => MediaRefusal::Unrecognised {
                what: format!(
                    "box '{}' at byte {at} declares a size of {declared} bytes, smaller than \
                     its own header: the file is corrupt",
                    fourcc(kind)
                ),
            },
            BoxError::BeyondEnd {
                kind,
                declared,
                available,
            } => MediaRefusal::Truncated {
                box_type: Some(fourcc(kind)),
                at,
                declared: Some(*declared),
                available: *available,
            },
        }
    }
}

/// Parses the header at the start of `bytes`, where `available` bytes remain in the parent
/// (the file, or the enclosing box) from the header on; `bytes` may hold less than that.
pub(super) fn parse_box_header(bytes: &[u8], available: u64) -> Result<BoxHeader, BoxError> {
    let truncated = BoxError::TruncatedHeader { available };
    let (Some(size), Some(kind)) = (read_u32(bytes, 0), read_fourcc(bytes, 4)) else {
        return Err(truncated);
    };
    if available < 8 {
        return Err(truncated);
    }
    let (header_len, total_len) = match size {
        // Size 0: the box runs to the end of its parent (a recording's last `mdat`).
        0 => (8, available),
        1 => {
            let Some(large) = read_u64(bytes, 8).filter(|_| available >= 16) else {
                return Err(truncated);
            };
            (16, large)
        }
        n => (8, u64::from(n)),
    };
    if total_len < header_len {
        return Err(BoxError::SmallerThanHeader {
            kind,
            declared: total_len,
        });
    }
    if total_len > available {
        return Err(BoxError::BeyondEnd {
            kind,
            declared: total_len,
            available,
        });
    }
    Ok(BoxHeader {
        kind,
        header_len,
        total_len,
    })
}

/// What `moov` says; `None`s where it is silent.
#[derive(Debug, Default)]
pub(super) struct Movie {
    pub(super) duration: Option<Duration>,
    pub(super) video_size: Option<(u32, u32)>,
    pub(super) video_codec: Option<VideoCodec>,
    pub(super) frame_rate: Option<FrameRate>,
    pub(super) tracks: usize,
    /// Handler types of the tracks that declare one (`vide`, `soun`, `text`, ...).
    pub(super) handlers: Vec<[u8; 4]>,
}

/// Why a `moov` could not be read; only logged, as the video may still be fine for TikTok.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(super) struct MoovProblem(pub(super) String);

impl From<BoxError> for MoovProblem {
    fn from(e: BoxError) -> Self {
        MoovProblem(e.refusal(0).to_string())
    }
}

pub(super) fn parse_moov(moov: &[u8]) -> Result<Movie, MoovProblem> {
    let mut movie = Movie::default();
    let mut timescale = None;
    let mut fragment_duration = None;
    let mut seen_video = false;
    for child in children(moov) {
        let (kind, body) = child?;
        match &kind {
            b"mvhd" if timescale.is_none() => {
                let header =
                    parse_mvhd(body).ok_or_else(|| MoovProblem("'mvhd' is too short".into()))?;
                timescale = Some(header.timescale);
                movie.duration = header
                    .duration
                    .and_then(|d| to_duration(d, header.timescale));
            }
            b"mvex" => fragment_duration = parse_mvex(body)?,
            b"trak" => {
                let track = parse_trak(body)?;
                movie.tracks += 1;
                if let Some(handler) = track.handler {
                    movie.handlers.push(handler);
                }
                // The first video track is the one players show and TikTok takes.
                if !seen_video && track.handler.as_ref() == Some(b"vide") {
                    seen_video = true;
                    movie.video_size = track.size;
                    movie.video_codec = track.codec;
                    movie.frame_rate = track.frame_rate;
                }
            }
            _ => {}
        }
    }
    if movie.duration.is_none() {
        // A fragmented MP4 may give 0 in `mvhd` and the whole length in `mvex/mehd`.
        if let (Some(ts), Some(d)) = (timescale, fragment_duration) {
            movie.duration = to_duration(d, ts);
        }
    }
    Ok(movie)
}

struct MovieHeader {
    timescale: u32,
    /// `None` when the file says "unknown" (all ones) or 0 (fragmented, see `mehd`).
    duration: Option<u64>,
}

fn parse_mvhd(body: &[u8]) -> Option<MovieHeader> {
    let (timescale, duration) = match *body.first()? {
        // version, flags(3), creation, modification, timescale, duration
        1 => (read_u32(body, 20)?, read_u64(body, 24)?),
        _ => (
            read_u32(body, 12)?,
            read_u32(body, 16).map(|d| match d {
                u32::MAX => u64::MAX,
                d => u64::from(d),
            })?,
        ),
    };
    Some(MovieHeader {
        timescale,
        duration: Some(duration).filter(|d| *d != 0 && *d != u64::MAX),
    })
}

fn parse_mvex(mvex: &[u8]) -> Result<Option<u64>, MoovProblem> {
    for child in children(mvex) {
        let (kind, body) = child?;
        if &kind == b"mehd" {
            let duration = match body.first() {
                Some(1) => read_u64(body, 4),
                Some(_) => read_u32(body, 4).map(u64::from),
                None => None,
            };
            return Ok(duration.filter(|d| *d != 0));
        }
    }
    Ok(None)
}

fn to_duration(units: u64, timescale: u32) -> Option<Duration> {
    if timescale == 0 {
        return None;
    }
    let timescale = u64::from(timescale);
    let secs = units / timescale;
    // Below 10^9 because the remainder is below the timescale: fits u32, no carry.
    let nanos = u128::from(units % timescale) * 1_000_000_000 / u128::from(timescale);
    Some(Duration::new(secs, u32::try_from(nanos).ok()?))
}

/// The child boxes of a box body, each as (type, body); stops at the first bad header.
pub(super) fn children(
    mut rest: &[u8],
) -> impl Iterator<Item = Result<([u8; 4], &[u8]), BoxError>> {
    let mut failed = false;
    std::iter::from_fn(move || {
        // QuickTime may end a container with a 4-byte zero terminator: not a box.
        if failed || rest.len() < 8 {
            return None;
        }
        let header = match parse_box_header(rest, rest.len() as u64) {
            Ok(header) => header,
            Err(e) => {
                failed = true;
                return Some(Err(e));
            }
        };
        // Both lengths are at most `rest.len()`, checked by `parse_box_header`.
        let total = usize::try_from(header.total_len).unwrap_or(rest.len());
        let header_len = usize::try_from(header.header_len).unwrap_or(total);
        let (this, next) = rest.split_at(total.min(rest.len()));
        rest = next;
        Some(Ok((
            header.kind,
            this.get(header_len..).unwrap_or_default(),
        )))
    })
}

pub(super) fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let raw = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(raw.try_into().ok()?))
}

fn read_u64(bytes: &[u8], at: usize) -> Option<u64> {
    let raw = bytes.get(at..at.checked_add(8)?)?;
    Some(u64::from_be_bytes(raw.try_into().ok()?))
}

pub(super) fn read_fourcc(bytes: &[u8], at: usize) -> Option<[u8; 4]> {
    bytes.get(at..at.checked_add(4)?)?.try_into().ok()
}

/// A box type as text when it is printable, in hex otherwise (damaged files print garbage).
pub(super) fn fourcc(kind: &[u8; 4]) -> String {
    if kind.iter().all(|b| (0x20..0x7F).contains(b)) {
        kind.iter().map(|&b| char::from(b)).collect()
    } else {
        format!("0x{}", hex::encode(kind))
    }
}
