//! A WebM's `Segment` as far as its first bytes go: `Info` (the duration) and `Tracks` (each
//! track's type, CodecID, PixelWidth/PixelHeight and DefaultDuration). ffmpeg and browsers
//! write both before the first `Cluster`; a file that puts them later, or past the bytes
//! read, is left to TikTok. No recursion: the depth is the schema's (Segment, Tracks,
//! TrackEntry, Video), and every length is checked against the bytes there.

use std::time::Duration;

use tiktok_publish_domain::media_rules::{FrameRate, MediaRefusal, VideoCodec};

use super::ebml::read_vint;
use super::verdict::refused;
use super::{Container, ProbeError, VideoProbe};

const SEGMENT: u64 = 0x1853_8067;
const INFO: u64 = 0x1549_A966;
const TIMESTAMP_SCALE: u64 = 0x2A_D7B1;
const DURATION: u64 = 0x4489;
const TRACKS: u64 = 0x1654_AE6B;
const TRACK_ENTRY: u64 = 0xAE;
const TRACK_TYPE: u64 = 0x83;
const CODEC_ID: u64 = 0x86;
const DEFAULT_DURATION: u64 = 0x23_E383;
const VIDEO: u64 = 0xE0;
const PIXEL_WIDTH: u64 = 0xB0;
const PIXEL_HEIGHT: u64 = 0xBA;
const CLUSTER: u64 = 0x1F43_B675;

/// Matroska's TrackType of a video track.
const VIDEO_TRACK: u64 = 1;
/// The nanoseconds in one `Info` tick when `TimestampScale` is absent.
const DEFAULT_TIMESTAMP_SCALE: u64 = 1_000_000;
/// The track kinds named in a refusal, at most: a crafted file may declare thousands.
const MAX_TRACKS_NAMED: usize = 16;

/// One element: its ID, and its body as far as the bytes go.
struct Element<'a> {
    id: u64,
    body: &'a [u8],
    /// Whether the whole body is in `body` (not cut off by the end of the bytes read).
    whole: bool,
}

/// The elements one after another in `bytes`; stops at the first that runs past the end or
/// has an unknown size (its end cannot be known), after yielding it.
fn elements(bytes: &[u8]) -> impl Iterator<Item = Element<'_>> {
    let mut at = Some(0usize);
    std::iter::from_fn(move || {
        let start = at.take()?;
        let (id, id_len) = read_vint(bytes, start, true)?;
        let (size, size_len) = read_vint(bytes, start.checked_add(id_len)?, false)?;
        let body_start = start + id_len + size_len;
        let rest = bytes.get(body_start..)?;
        // All data bits set: "unknown size" (a live recording's Segment and Clusters).
        let unknown = size == (1u64 << (7 * size_len)) - 1;
        let declared = usize::try_from(size).ok().filter(|_| !unknown);
        match declared {
            Some(len) if len <= rest.len() => {
                at = Some(body_start + len);
                Some(Element {
                    id,
                    body: &rest[..len],
                    whole: true,
                })
            }
            _ => Some(Element {
                id,
                body: rest,
                whole: false,
            }),
        }
    })
}

/// What `Info` and `Tracks` say, with `header` the file's first bytes (EBML header checked).
pub(super) fn probe_webm(header: &[u8]) -> Result<VideoProbe, ProbeError> {
    let mut probe = VideoProbe::container_only(Container::WebM);
    // The EBML header, then the Segment.
    let Some(segment) = elements(header).nth(1).filter(|e| e.id == SEGMENT) else {
        return Ok(probe);
    };
    for child in elements(segment.body) {
        match child.id {
            INFO if child.whole => probe.duration = info_duration(child.body),
            TRACKS if child.whole => {
                let video = video_track(child.body)?;
                probe.codec = video.codec;
                probe.width = video.width.zip(video.height).map(|(w, _)| w);
                probe.height = video.width.zip(video.height).map(|(_, h)| h);
                probe.frame_rate = video.frame_rate;
                break;
            }
            CLUSTER => break,
            _ => {}
        }
    }
    Ok(probe)
}

/// `Duration` (a float, in ticks) times `TimestampScale` (nanoseconds a tick).
fn info_duration(info: &[u8]) -> Option<Duration> {
    let mut scale = DEFAULT_TIMESTAMP_SCALE;
    let mut ticks = None;
    for element in elements(info).filter(|e| e.whole) {
        match element.id {
            TIMESTAMP_SCALE => scale = read_uint(element.body).filter(|s| *s > 0)?,
            DURATION => ticks = read_float(element.body),
            _ => {}
        }
    }
    let seconds = ticks? * scale as f64 / 1e9;
    // Also refuses NaN, infinities and negatives, which `from_secs_f64` would panic on.
    Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|d| !d.is_zero())
}

#[derive(Default)]
struct VideoTrack {
    codec: Option<VideoCodec>,
    width: Option<u32>,
    height: Option<u32>,
    frame_rate: Option<FrameRate>,
}

/// The first video track of a whole `Tracks`, or the refusal of one with none.
fn video_track(tracks: &[u8]) -> Result<VideoTrack, ProbeError> {
    let mut kinds = Vec::new();
    for entry in elements(tracks).filter(|e| e.id == TRACK_ENTRY && e.whole) {
        let mut track_type = None;
        let mut track = VideoTrack::default();
        for field in elements(entry.body).filter(|e| e.whole) {
            match field.id {
                TRACK_TYPE => track_type = read_uint(field.body),
                CODEC_ID => track.codec = Some(codec_of(field.body)),
                // Nanoseconds a frame.
                DEFAULT_DURATION => {
                    track.frame_rate = read_uint(field.body)
                        .and_then(|ns| FrameRate::average(1, ns, 1_000_000_000));
                }
                VIDEO => {
                    for side in elements(field.body).filter(|e| e.whole) {
                        let pixels = read_uint(side.body)
                            .and_then(|v| u32::try_from(v).ok())
                            .filter(|v| *v > 0);
                        match side.id {
                            PIXEL_WIDTH => track.width = pixels,
                            PIXEL_HEIGHT => track.height = pixels,
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        match track_type {
            Some(VIDEO_TRACK) => return Ok(track),
            other if kinds.len() < MAX_TRACKS_NAMED => kinds.push(track_kind(other)),
            _ => {}
        }
    }
    let container = Container::WebM.name().to_owned();
    Err(refused(if kinds.is_empty() {
        MediaRefusal::NoTracks { container }
    } else {
        MediaRefusal::NoVideoTrack {
            container,
            tracks: kinds,
        }
    }))
}

/// Matroska's TrackType values, by name.
fn track_kind(track_type: Option<u64>) -> String {
    match track_type {
        Some(2) => "audio".into(),
        Some(3) => "complex".into(),
        Some(0x10) => "logo".into(),
        Some(0x11) => "subtitle".into(),
        Some(0x12) => "buttons".into(),
        Some(0x20) => "control".into(),
        Some(0x21) => "metadata".into(),
        Some(other) => format!("type {other}"),
        None => "untyped".into(),
    }
}

/// The codec a CodecID names (an ASCII string, maybe zero-padded).
fn codec_of(codec_id: &[u8]) -> VideoCodec {
    let end = codec_id
        .iter()
        .position(|b| *b == 0)
        .unwrap_or(codec_id.len());
    match &codec_id[..end] {
        b"V_VP8" => VideoCodec::Vp8,
        b"V_VP9" => VideoCodec::Vp9,
        b"V_AV1" => VideoCodec::Av1,
        b"V_MPEG4/ISO/AVC" => VideoCodec::H264,
        b"V_MPEGH/ISO/HEVC" => VideoCodec::H265,
        // Kept short: the name goes into the stored cause.
        other => VideoCodec::Other {
            name: String::from_utf8_lossy(&other[..other.len().min(32)]).into_owned(),
        },
    }
}

/// An unsigned integer of 0 to 8 bytes, big-endian.
fn read_uint(body: &[u8]) -> Option<u64> {
    if body.len() > 8 {
        return None;
    }
    Some(body.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b)))
}

/// A float of 4 or 8 bytes (0 bytes is 0.0, as the spec allows).
fn read_float(body: &[u8]) -> Option<f64> {
    match body.len() {
        0 => Some(0.0),
        4 => Some(f64::from(f32::from_be_bytes(body.try_into().ok()?))),
        8 => Some(f64::from_be_bytes(body.try_into().ok()?)),
        _ => None,
    }
}
