//! What a video object is, told from its container headers before anything is sent to TikTok.
//!
//! A video can be 4 GB, so the probe never reads it whole: it reads the first few KB, then
//! walks the top-level ISO-BMFF boxes by their headers alone (jumping over `mdat`, however
//! large), and reads `moov` whole only when it is under [`ProbeLimits::max_moov_bytes`].
//! A typical MP4 costs two small ranged reads, one whose `moov` comes last costs three.
//!
//! A WebM is read from its first bytes only (up to [`ProbeLimits::max_webm_header_bytes`]):
//! the EBML header, then `Segment`'s `Info` and `Tracks`, which writers put before the first
//! `Cluster`.
//!
//! What the probe cannot tell (a `moov` too large or damaged, a WebM whose tracks come late)
//! it leaves as `None` for TikTok to judge; what is plainly not a video TikTok takes (an
//! image, text, an audio-only file, an empty or cut-off object) is [`ProbeError::NotAVideo`]
//! with a typed [`MediaRefusal`] a person can act on. Whether a video breaks TikTok's rules
//! (codec, frame rate, size, duration) is judged after, by [`crate::media::check`].
//!
//! The parts, each reading what the one before fetched:
//! - `ranged`: ranged reads of one object, keeping the last window (the only I/O);
//! - `walker`: the async walk over the top-level boxes of an MP4/MOV, down to `moov`;
//! - `boxes`: ISO-BMFF box headers and what `moov` says (duration, tracks);
//! - `track`: what one `trak` says (kind, display size, codec, frame rate);
//! - `ebml`: the EBML header of a WebM, and its `Info` and `Tracks` (`webm`);
//! - `verdict`: whether what was read is a video TikTok takes, and why not in words.

use std::time::Duration;

pub use tiktok_publish_domain::media_rules::{FrameRate, MediaRefusal, VideoCodec};

use crate::errors::{Classify, ErrorKind};
use crate::media::{SourceError, VideoObject, VideoSource};

mod boxes;
mod ebml;
mod ranged;
mod track;
mod verdict;
mod walker;
mod webm;

use ranged::RangeReader;
use verdict::{describe_unknown, not_a_video, refused};

/// How much the probe may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeLimits {
    /// The largest `moov` (movie header) read whole; above it the duration is left to TikTok.
    /// Long videos have large sample tables in `moov`, rarely more than a few MB.
    pub max_moov_bytes: u64,
    /// Top-level boxes walked before giving up on finding `moov`: real files have a handful,
    /// and the cap bounds the reads a crafted file can cause.
    pub max_top_level_boxes: usize,
    /// Bytes fetched per header read. Larger than a box header so that the boxes that usually
    /// follow (`ftyp`, then a small `moov`) come in the same read.
    pub read_window_bytes: u64,
    /// The start of a WebM read for its `Info` and `Tracks`: a few KB in the files browsers
    /// and ffmpeg write; what lies beyond is left to TikTok.
    pub max_webm_header_bytes: u64,
}

impl Default for ProbeLimits {
    fn default() -> Self {
        ProbeLimits {
            max_moov_bytes: 16 * 1024 * 1024,
            max_top_level_boxes: 64,
            read_window_bytes: 4096,
            max_webm_header_bytes: 64 * 1024,
        }
    }
}

/// The container formats TikTok accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Container {
    Mp4,
    QuickTime,
    WebM,
}

impl Container {
    /// The `Content-Type` to upload this container with.
    pub const fn content_type(self) -> &'static str {
        match self {
            Container::Mp4 => "video/mp4",
            Container::QuickTime => "video/quicktime",
            Container::WebM => "video/webm",
        }
    }

    /// The name a person knows the container by, for refusals.
    pub const fn name(self) -> &'static str {
        match self {
            Container::Mp4 => "MP4",
            Container::QuickTime => "MOV",
            Container::WebM => "WebM",
        }
    }
}

/// What the headers say about a video.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoProbe {
    pub container: Container,
    /// `None` when the headers do not say it cheaply (large or damaged `moov`, a WebM
    /// without `Info/Duration`, as browser recordings are).
    pub duration: Option<Duration>,
    /// Display size of the first video track, rotation applied (a portrait phone video
    /// stored as 1920x1080 with a 90° matrix is 1080 wide); a WebM's `PixelWidth` and
    /// `PixelHeight`.
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// The first video track's codec: its sample entry's type (MP4/MOV) or CodecID (WebM).
    pub codec: Option<VideoCodec>,
    /// Its average frame rate: `stts` over `mdhd`'s timescale (MP4/MOV), `DefaultDuration`
    /// (WebM, when the writer gave one).
    pub frame_rate: Option<FrameRate>,
    /// Same as `container.content_type()`.
    pub content_type: &'static str,
}

impl VideoProbe {
    /// A video of `container` whose headers said nothing more: TikTok judges the rest.
    fn container_only(container: Container) -> VideoProbe {
        VideoProbe {
            container,
            duration: None,
            width: None,
            height: None,
            codec: None,
            frame_rate: None,
            content_type: container.content_type(),
        }
    }
}

/// Why a video could not be probed.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The object is not a video in a container TikTok accepts, and why.
    #[error("not a video TikTok accepts: {refusal}")]
    NotAVideo { refusal: MediaRefusal },

    /// Reading the object failed, or it changed since it was looked up.
    #[error(transparent)]
    Source(#[from] SourceError),
}

impl Classify for ProbeError {
    fn kind(&self) -> ErrorKind {
        match self {
            ProbeError::NotAVideo { .. } => ErrorKind::PostRefused,
            ProbeError::Source(e) => e.kind(),
        }
    }
}

/// Tells what `object` is from its headers; see the module documentation.
#[tracing::instrument(skip_all, fields(key = %object.location.key, size = object.size))]
pub async fn probe(
    source: &dyn VideoSource,
    object: &VideoObject,
    limits: &ProbeLimits,
) -> Result<VideoProbe, ProbeError> {
    if object.size == 0 {
        return Err(refused(MediaRefusal::Empty));
    }
    let mut reader = RangeReader::new(source, object, limits.read_window_bytes);
    let head = reader.bytes(0, limits.read_window_bytes).await?.to_vec();

    if ebml::starts_ebml(&head) {
        ebml::check_webm_doc_type(&head)?;
        let header_len = limits.max_webm_header_bytes.max(limits.read_window_bytes);
        let header = reader.bytes(0, header_len).await?;
        return webm::probe_webm(header);
    }
    if boxes::starts_iso_bmff(&head) {
        return walker::probe_iso_bmff(&mut reader, object.size, limits).await;
    }
    Err(not_a_video(describe_unknown(&head, object.size)))
}

#[cfg(test)]
mod tests;
