//! What a video object is, told from its container headers before anything is sent to TikTok.
//!
//! A video can be 4 GB, so the probe never reads it whole: it reads the first few KB, then
//! walks the top-level ISO-BMFF boxes by their headers alone (jumping over `mdat`, however
//! large), and reads `moov` whole only when it is under [`ProbeLimits::max_moov_bytes`].
//! A typical MP4 costs two small ranged reads, one whose `moov` comes last costs three.
//!
//! What the probe cannot tell (a `moov` too large or damaged, a WebM's duration) it leaves as
//! `None` for TikTok to judge; what is plainly not a video TikTok takes (an image, text, an
//! audio-only file, an empty or cut-off object) is [`ProbeError::NotAVideo`] with a reason a
//! person can act on.

use std::time::Duration;

use futures::StreamExt;

use crate::errors::{Classify, ErrorKind};
use crate::media::{SourceError, VideoObject, VideoSource};

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
}

impl Default for ProbeLimits {
    fn default() -> Self {
        ProbeLimits {
            max_moov_bytes: 16 * 1024 * 1024,
            max_top_level_boxes: 64,
            read_window_bytes: 4096,
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
}

/// What the headers say about a video.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoProbe {
    pub container: Container,
    /// `None` when the headers do not say it cheaply (large or damaged `moov`, WebM).
    pub duration: Option<Duration>,
    /// Display size of the first video track, rotation applied (a portrait phone video
    /// stored as 1920x1080 with a 90° matrix is 1080 wide); MP4/MOV only.
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// Same as `container.content_type()`.
    pub content_type: &'static str,
}

/// Why a video could not be probed.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The object is not a video in a container TikTok accepts; `reason` is for the user.
    #[error("not a video TikTok accepts: {reason}")]
    NotAVideo { reason: String },

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

fn not_a_video(reason: impl Into<String>) -> ProbeError {
    ProbeError::NotAVideo {
        reason: reason.into(),
    }
}

const EBML_MAGIC: [u8; 4] = [0x1A, 0x45, 0xDF, 0xA3];

/// Tells what `object` is from its headers; see the module documentation.
#[tracing::instrument(skip_all, fields(key = %object.location.key, size = object.size))]
pub async fn probe(
    source: &dyn VideoSource,
    object: &VideoObject,
    limits: &ProbeLimits,
) -> Result<VideoProbe, ProbeError> {
    if object.size == 0 {
        return Err(not_a_video("the object is empty (0 bytes)"));
    }
    let mut reader = RangeReader::new(source, object, limits.read_window_bytes);
    let head = reader.bytes(0, limits.read_window_bytes).await?.to_vec();

    if head.starts_with(&EBML_MAGIC) {
        return probe_ebml(&head);
    }
    if head.len() >= 8 && starts_iso_bmff(&head[4..8]) {
        return probe_iso_bmff(&mut reader, object.size, limits).await;
    }
    Err(not_a_video(describe_unknown(&head, object.size)))
}

/// Reads ranges of one object, keeping the last read so that neighbouring headers cost no
/// new request.
struct RangeReader<'a> {
    source: &'a dyn VideoSource,
    object: &'a VideoObject,
    window_bytes: u64,
    window_start: u64,
    window: Vec<u8>,
}

impl<'a> RangeReader<'a> {
    fn new(source: &'a dyn VideoSource, object: &'a VideoObject, window_bytes: u64) -> Self {
        RangeReader {
            source,
            object,
            // A window smaller than the largest box header would make every header a miss.
            window_bytes: window_bytes.max(16),
            window_start: 0,
            window: Vec::new(),
        }
    }

    /// Up to `len` bytes from `at`, fewer only where the object ends. `at` must be inside it.
    async fn bytes(&mut self, at: u64, len: u64) -> Result<&[u8], SourceError> {
        let size = self.object.size;
        let end = at.saturating_add(len).min(size);
        let window_end = self.window_start + self.window.len() as u64;
        if !(at >= self.window_start && end <= window_end) {
            let read_end = at.saturating_add(len.max(self.window_bytes)).min(size);
            self.window = self.read_exact(at, read_end).await?;
            self.window_start = at;
        }
        // Both bounds are within the window (checked or just read), so they fit in usize.
        let from = usize::try_from(at - self.window_start).unwrap_or(usize::MAX);
        let to = usize::try_from(end - self.window_start).unwrap_or(usize::MAX);
        Ok(self.window.get(from..to).unwrap_or(&[]))
    }

    /// Bytes `from..to` exactly: a source that sends fewer or more is failing, and parsing a
    /// short buffer would report a damaged file that is not.
    async fn read_exact(&mut self, from: u64, to: u64) -> Result<Vec<u8>, SourceError> {
        let expected = to.saturating_sub(from);
        if expected == 0 {
            return Ok(Vec::new());
        }
        let capacity = usize::try_from(expected).map_err(|_| SourceError::Refused {
            detail: format!("a read of {expected} bytes does not fit in memory"),
        })?;
        tracing::debug!(first = from, last = to - 1, "reading video header range");
        let mut stream = self.source.read_range(self.object, from, to - 1).await?;
        let mut out = Vec::with_capacity(capacity);
        while let Some(item) = stream.next().await {
            let chunk = item.map_err(source_error_of)?;
            if out.len() + chunk.len() > capacity {
                return Err(SourceError::Unavailable {
                    detail: format!("storage sent more than the {expected} bytes asked for"),
                    source: None,
                });
            }
            out.extend_from_slice(&chunk);
        }
        if out.len() < capacity {
            return Err(SourceError::Unavailable {
                detail: format!(
                    "storage ended the read after {} of {expected} bytes",
                    out.len()
                ),
                source: None,
            });
        }
        Ok(out)
    }
}

/// The adapters put a [`SourceError`] inside the stream's `io::Error`; anything else is an
/// unexpected failure of the read itself.
fn source_error_of(err: std::io::Error) -> SourceError {
    match err
        .into_inner()
        .map(|inner| inner.downcast::<SourceError>())
    {
        Some(Ok(source_error)) => *source_error,
        Some(Err(other)) => SourceError::Unavailable {
            detail: "reading the video's headers failed".into(),
            source: Some(other),
        },
        None => SourceError::Unavailable {
            detail: "reading the video's headers failed".into(),
            source: None,
        },
    }
}

// ---------------------------------------------------------------------------------------------
// ISO-BMFF (MP4, MOV)
// ---------------------------------------------------------------------------------------------

/// Top-level atoms that open QuickTime files written before `ftyp` existed.
const LEGACY_QUICKTIME_FIRST: [&[u8; 4]; 6] =
    [b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"];

fn starts_iso_bmff(kind: &[u8]) -> bool {
    kind == b"ftyp" || LEGACY_QUICKTIME_FIRST.iter().any(|k| k.as_slice() == kind)
}

/// A box's header: its type and where it ends, checked against its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BoxHeader {
    kind: [u8; 4],
    header_len: u64,
    /// Header included.
    total_len: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum BoxError {
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
    fn describe(&self, at: u64) -> String {
        match self {
            BoxError::TruncatedHeader { available } => format!(
                "the file ends {available} bytes after byte {at}, inside a box header: \
                 it is truncated"
            ),
            BoxError::SmallerThanHeader { kind, declared } => format!(
                "box '{}' at byte {at} declares a size of {declared} bytes, smaller than its \
                 own header: the file is corrupt",
                fourcc(kind)
            ),
            BoxError::BeyondEnd {
                kind,
                declared,
                available,
            } => format!(
                "box '{}' at byte {at} declares {declared} bytes but only {available} remain: \
                 the file is truncated or corrupt",
                fourcc(kind)
            ),
        }
    }
}

/// Parses the header at the start of `bytes`, where `available` bytes remain in the parent
/// (the file, or the enclosing box) from the header on; `bytes` may hold less than that.
fn parse_box_header(bytes: &[u8], available: u64) -> Result<BoxHeader, BoxError> {
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

async fn probe_iso_bmff(
    reader: &mut RangeReader<'_>,
    size: u64,
    limits: &ProbeLimits,
) -> Result<VideoProbe, ProbeError> {
    let mut container = Container::QuickTime;
    let mut pos = 0u64;
    let mut moov = None;
    let mut walked = 0usize;
    while pos < size && moov.is_none() {
        if walked == limits.max_top_level_boxes {
            // Not proof of damage, just more than we look at: TikTok will judge the file.
            tracing::warn!(walked, "no moov among the first top-level boxes");
            return Ok(unknown_duration(container));
        }
        walked += 1;
        let available = size - pos;
        let header = parse_box_header(reader.bytes(pos, 16).await?, available)
            .map_err(|e| not_a_video(e.describe(pos)))?;
        let body_start = pos + header.header_len;
        let body_len = header.total_len - header.header_len;
        match &header.kind {
            b"ftyp" if pos == 0 => {
                // Brands come first in the body; a few dozen are plenty.
                let body = reader.bytes(body_start, body_len.min(256)).await?;
                container = classify_brands(body)?;
            }
            b"moov" => moov = Some((body_start, body_len)),
            _ => {}
        }
        pos += header.total_len;
    }

    let Some((body_start, body_len)) = moov else {
        return Err(not_a_video(format!(
            "the {} has no 'moov' box (the index players need): the file is incomplete, \
             e.g. a recording that was cut off or an upload that did not finish",
            container_name(container)
        )));
    };
    if body_len > limits.max_moov_bytes {
        tracing::info!(
            moov_bytes = body_len,
            cap = limits.max_moov_bytes,
            "moov over the cap: duration left to TikTok"
        );
        return Ok(unknown_duration(container));
    }
    let body = reader.bytes(body_start, body_len).await?;
    let movie = match parse_moov(body) {
        Ok(movie) => movie,
        Err(problem) => {
            tracing::warn!(%problem, "unreadable moov: duration left to TikTok");
            return Ok(unknown_duration(container));
        }
    };
    if let Some(reason) = movie.not_a_video_reason(container) {
        return Err(not_a_video(reason));
    }
    Ok(VideoProbe {
        container,
        duration: movie.duration,
        width: movie.video_size.map(|(w, _)| w),
        height: movie.video_size.map(|(_, h)| h),
        content_type: container.content_type(),
    })
}

fn unknown_duration(container: Container) -> VideoProbe {
    VideoProbe {
        container,
        duration: None,
        width: None,
        height: None,
        content_type: container.content_type(),
    }
}

fn container_name(container: Container) -> &'static str {
    match container {
        Container::Mp4 => "MP4",
        Container::QuickTime => "MOV",
        Container::WebM => "WebM",
    }
}

/// MP4 vs QuickTime from `ftyp`, refusing the ISO-BMFF files that are not videos.
fn classify_brands(body: &[u8]) -> Result<Container, ProbeError> {
    let Some(major) = read_fourcc(body, 0) else {
        return Err(not_a_video(
            "the 'ftyp' box is too short to name a brand: the file is corrupt",
        ));
    };
    // After major brand and minor version, the compatible brands, 4 bytes each.
    let compatible: Vec<[u8; 4]> = body
        .get(8..)
        .unwrap_or_default()
        .chunks_exact(4)
        .filter_map(|c| c.try_into().ok())
        .collect();

    const IMAGES: [&[u8; 4]; 8] = [
        b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis",
    ];
    const AUDIO: [&[u8; 4]; 4] = [b"M4A ", b"M4B ", b"M4P ", b"F4A "];
    if IMAGES.contains(&&major) {
        return Err(not_a_video(format!(
            "the file is a HEIF/AVIF image (brand '{}'), not a video",
            fourcc(&major)
        )));
    }
    if AUDIO.contains(&&major) {
        return Err(not_a_video(format!(
            "the file is MPEG-4 audio (brand '{}'), with no video",
            fourcc(&major)
        )));
    }
    let iso_compatible = compatible
        .iter()
        .any(|b| b.starts_with(b"iso") || b == b"mp41" || b == b"mp42");
    if &major == b"qt  " || (compatible.contains(b"qt  ") && !iso_compatible) {
        Ok(Container::QuickTime)
    } else {
        Ok(Container::Mp4)
    }
}

/// What `moov` says; `None`s where it is silent.
#[derive(Debug, Default)]
struct Movie {
    duration: Option<Duration>,
    video_size: Option<(u32, u32)>,
    tracks: usize,
    /// Handler types of the tracks that declare one (`vide`, `soun`, `text`, ...).
    handlers: Vec<[u8; 4]>,
}

impl Movie {
    /// A movie whose every track says it is something other than video cannot be posted.
    fn not_a_video_reason(&self, container: Container) -> Option<String> {
        let name = container_name(container);
        if self.tracks == 0 {
            return Some(format!("the {name} has no tracks"));
        }
        let all_declared = self.handlers.len() == self.tracks;
        if all_declared && !self.handlers.contains(b"vide") {
            let kinds: Vec<String> = self.handlers.iter().map(fourcc).collect();
            return Some(format!(
                "the {name} has no video track (its tracks are: {}); an audio-only file?",
                kinds.join(", ")
            ));
        }
        None
    }
}

/// Why a `moov` could not be read; only logged, as the video may still be fine for TikTok.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct MoovProblem(String);

impl From<BoxError> for MoovProblem {
    fn from(e: BoxError) -> Self {
        MoovProblem(e.describe(0))
    }
}

fn parse_moov(moov: &[u8]) -> Result<Movie, MoovProblem> {
    let mut movie = Movie::default();
    let mut timescale = None;
    let mut fragment_duration = None;
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
                if movie.video_size.is_none() && track.handler.as_ref() == Some(b"vide") {
                    movie.video_size = track.size;
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

struct Track {
    handler: Option<[u8; 4]>,
    size: Option<(u32, u32)>,
}

fn parse_trak(trak: &[u8]) -> Result<Track, MoovProblem> {
    let mut track = Track {
        handler: None,
        size: None,
    };
    for child in children(trak) {
        let (kind, body) = child?;
        match &kind {
            b"tkhd" => track.size = parse_tkhd_size(body),
            b"mdia" => {
                for grandchild in children(body) {
                    let (kind, body) = grandchild?;
                    if &kind == b"hdlr" {
                        // version/flags, pre_defined (QuickTime's component type), type
                        track.handler = read_fourcc(body, 8);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(track)
}

/// Display width and height: `tkhd` stores the unrotated size and a matrix; phones store
/// portrait video as landscape turned by 90° or 270°.
fn parse_tkhd_size(body: &[u8]) -> Option<(u32, u32)> {
    // After version/flags: times, track id, reserved, duration (20 bytes in v0, 32 in v1),
    // then reserved(8), layer, alternate group, volume, reserved (2 each).
    let matrix_at = match *body.first()? {
        1 => 4 + 32 + 16,
        _ => 4 + 20 + 16,
    };
    let a = read_u32(body, matrix_at)?;
    let b = read_u32(body, matrix_at + 4)?;
    let d = read_u32(body, matrix_at + 16)?;
    let width = read_u32(body, matrix_at + 36)? >> 16;
    let height = read_u32(body, matrix_at + 40)? >> 16;
    if width == 0 || height == 0 {
        return None;
    }
    let quarter_turn = a == 0 && d == 0 && b != 0;
    Some(if quarter_turn {
        (height, width)
    } else {
        (width, height)
    })
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
fn children(mut rest: &[u8]) -> impl Iterator<Item = Result<([u8; 4], &[u8]), BoxError>> {
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

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let raw = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(raw.try_into().ok()?))
}

fn read_u64(bytes: &[u8], at: usize) -> Option<u64> {
    let raw = bytes.get(at..at.checked_add(8)?)?;
    Some(u64::from_be_bytes(raw.try_into().ok()?))
}

fn read_fourcc(bytes: &[u8], at: usize) -> Option<[u8; 4]> {
    bytes.get(at..at.checked_add(4)?)?.try_into().ok()
}

/// A box type as text when it is printable, in hex otherwise (damaged files print garbage).
fn fourcc(kind: &[u8; 4]) -> String {
    if kind.iter().all(|b| (0x20..0x7F).contains(b)) {
        kind.iter().map(|&b| char::from(b)).collect()
    } else {
        format!("0x{}", hex::encode(kind))
    }
}

// ---------------------------------------------------------------------------------------------
// EBML (WebM, Matroska)
// ---------------------------------------------------------------------------------------------

const EBML_DOC_TYPE: u64 = 0x4282;

/// WebM from the EBML header's doc type. The duration lies deeper (Segment/Info) and is
/// absent from many browser recordings: TikTok judges it.
fn probe_ebml(head: &[u8]) -> Result<VideoProbe, ProbeError> {
    let corrupt = || {
        not_a_video("the file starts like WebM/Matroska but its EBML header is corrupt or cut off")
    };
    let (_, id_len) = read_vint(head, 0, true).ok_or_else(corrupt)?;
    let (header_size, size_len) = read_vint(head, id_len, false).ok_or_else(corrupt)?;
    let body_start = id_len + size_len;
    let body_end = usize::try_from(header_size)
        .ok()
        .and_then(|s| body_start.checked_add(s))
        .filter(|end| *end <= head.len())
        .ok_or_else(corrupt)?;
    let body = head.get(body_start..body_end).ok_or_else(corrupt)?;

    // Matroska's default doc type, when the header omits it.
    let mut doc_type: &[u8] = b"matroska";
    let mut at = 0;
    while at < body.len() {
        let (id, id_len) = read_vint(body, at, true).ok_or_else(corrupt)?;
        let (size, size_len) = read_vint(body, at + id_len, false).ok_or_else(corrupt)?;
        let value_start = at + id_len + size_len;
        let value_end = usize::try_from(size)
            .ok()
            .and_then(|s| value_start.checked_add(s))
            .filter(|end| *end <= body.len())
            .ok_or_else(corrupt)?;
        if id == EBML_DOC_TYPE {
            doc_type = body.get(value_start..value_end).ok_or_else(corrupt)?;
        }
        at = value_end;
    }
    // Strings may be zero-padded.
    let doc_type = doc_type
        .iter()
        .position(|b| *b == 0)
        .map_or(doc_type, |end| &doc_type[..end]);
    match doc_type {
        b"webm" => Ok(VideoProbe {
            container: Container::WebM,
            duration: None,
            width: None,
            height: None,
            content_type: Container::WebM.content_type(),
        }),
        b"matroska" => Err(not_a_video(
            "the file is Matroska (.mkv), which TikTok does not accept: convert it to MP4, \
             MOV or WebM",
        )),
        other => Err(not_a_video(format!(
            "the file is an EBML document of type '{}', not a WebM video",
            String::from_utf8_lossy(other)
        ))),
    }
}

/// An EBML variable-length integer at `at`: (value, length). IDs keep their length marker;
/// sizes drop it.
fn read_vint(bytes: &[u8], at: usize, keep_marker: bool) -> Option<(u64, usize)> {
    let first = *bytes.get(at)?;
    let len = first.leading_zeros() as usize + 1;
    if len > 8 {
        return None;
    }
    let raw = bytes.get(at..at.checked_add(len)?)?;
    let mut value = if keep_marker {
        u64::from(first)
    } else {
        u64::from(first) & (0xFF >> len)
    };
    for b in &raw[1..] {
        value = (value << 8) | u64::from(*b);
    }
    Some((value, len))
}

// ---------------------------------------------------------------------------------------------
// Everything else
// ---------------------------------------------------------------------------------------------

/// A reason for a file that is none of the accepted containers, naming what it is when the
/// signature is a common one (users upload the wrong file far more often than a broken one).
fn describe_unknown(head: &[u8], size: u64) -> String {
    const SIGNATURES: &[(&[u8], &str)] = &[
        (b"\x89PNG\r\n\x1a\n", "a PNG signature (an image)"),
        (b"\xFF\xD8\xFF", "a JPEG signature (an image)"),
        (b"GIF87a", "a GIF signature (an image)"),
        (b"GIF89a", "a GIF signature (an image)"),
        (b"%PDF-", "a PDF signature (a document)"),
        (
            b"PK\x03\x04",
            "a ZIP signature (an archive or office document)",
        ),
        (b"\x1F\x8B", "a gzip signature (a compressed archive)"),
        (b"ID3", "an ID3 tag (MP3 audio)"),
        (
            b"OggS",
            "an Ogg signature (Ogg audio or video, not accepted by TikTok)",
        ),
        (b"fLaC", "a FLAC signature (audio)"),
        (
            b"FLV\x01",
            "an FLV signature (Flash video, not accepted by TikTok)",
        ),
        (
            b"\x00\x00\x01\xBA",
            "an MPEG program stream header (not accepted by TikTok)",
        ),
        (b"II*\x00", "a TIFF signature (an image)"),
        (b"MM\x00*", "a TIFF signature (an image)"),
    ];
    if size < 8 && head.len() as u64 == size {
        return format!("the file is only {size} bytes long, too short for any video header");
    }
    if let Some((_, what)) = SIGNATURES.iter().find(|(magic, _)| head.starts_with(magic)) {
        return format!("the file starts with {what}, not a video container");
    }
    if head.starts_with(b"RIFF") {
        let what = match head.get(8..12) {
            Some(b"AVI ") => "an AVI video, which TikTok does not accept",
            Some(b"WEBP") => "a WebP image",
            Some(b"WAVE") => "WAV audio",
            _ => "a RIFF file",
        };
        return format!("the file is {what}, not an MP4, MOV or WebM video");
    }
    // MPEG-TS: a sync byte every 188 bytes.
    if head.first() == Some(&0x47) && head.get(188) == Some(&0x47) {
        return "the file is an MPEG transport stream (.ts), which TikTok does not accept".into();
    }
    if let Some(kind) = looks_like_text(head) {
        return format!("the file is {kind}, not a video");
    }
    let shown = &head[..head.len().min(8)];
    format!(
        "the file starts with bytes {}, which is no MP4, MOV or WebM header",
        shown
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" ")
    )
}

fn looks_like_text(head: &[u8]) -> Option<&'static str> {
    // A multi-byte character may be cut at the end of the read.
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).ok()?,
        Err(_) => return None,
    };
    if text.chars().any(|c| c.is_control() && !c.is_whitespace()) {
        return None;
    }
    let start = text.trim_start_matches('\u{FEFF}').trim_start();
    let lower: String = start
        .chars()
        .take(15)
        .collect::<String>()
        .to_ascii_lowercase();
    Some(
        if lower.starts_with("<!doctype html") || lower.starts_with("<html") {
            "an HTML page (an error page saved in place of the video?)"
        } else if lower.starts_with("<?xml") || lower.starts_with('<') {
            "an XML document"
        } else if lower.starts_with('{') || lower.starts_with('[') {
            "JSON text"
        } else {
            "text"
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::{ByteStream, VideoLocation};
    use bytes::Bytes;
    use std::sync::Mutex;

    // ----- a sparse in-memory source: a virtual file of `size` bytes, zeros except `parts` --

    #[derive(Clone, Copy)]
    enum Mode {
        Normal,
        /// Sends one byte less than asked.
        Short,
        /// Fails every read mid-stream with `SourceError::Changed`.
        ChangedMidStream,
        /// Fails `read_range` itself with `SourceError::NotFound`.
        NotFound,
    }

    struct SparseSource {
        size: u64,
        parts: Vec<(u64, Vec<u8>)>,
        mode: Mode,
        reads: Mutex<Vec<(u64, u64)>>,
    }

    impl SparseSource {
        fn new(size: u64, parts: Vec<(u64, Vec<u8>)>) -> Self {
            SparseSource {
                size,
                parts,
                mode: Mode::Normal,
                reads: Mutex::new(Vec::new()),
            }
        }

        fn whole(bytes: Vec<u8>) -> Self {
            Self::new(bytes.len() as u64, vec![(0, bytes)])
        }

        fn object(&self) -> VideoObject {
            VideoObject {
                location: VideoLocation {
                    bucket: "videos".into(),
                    key: "in/clip.mp4".into(),
                    version_id: None,
                },
                size: self.size,
                content_type: None,
                etag: "\"etag\"".into(),
            }
        }

        fn bytes_read(&self) -> u64 {
            let reads = self.reads.lock().unwrap();
            reads.iter().map(|(first, last)| last - first + 1).sum()
        }

        fn read_count(&self) -> usize {
            self.reads.lock().unwrap().len()
        }
    }

    #[async_trait::async_trait]
    impl VideoSource for SparseSource {
        async fn head(&self, _location: &VideoLocation) -> Result<VideoObject, SourceError> {
            Ok(self.object())
        }

        async fn read_range(
            &self,
            _object: &VideoObject,
            first: u64,
            last: u64,
        ) -> Result<ByteStream, SourceError> {
            // An out-of-range read is a bug in the probe: fail the test loudly.
            assert!(
                first <= last && last < self.size,
                "bad range {first}-{last}"
            );
            self.reads.lock().unwrap().push((first, last));
            if let Mode::NotFound = self.mode {
                return Err(SourceError::NotFound {
                    bucket: "videos".into(),
                    key: "in/clip.mp4".into(),
                });
            }
            let mut out = vec![0u8; usize::try_from(last - first + 1).unwrap()];
            for (at, bytes) in &self.parts {
                let part_end = at + bytes.len() as u64;
                let from = first.max(*at);
                let to = (last + 1).min(part_end);
                if from < to {
                    out[(from - first) as usize..(to - first) as usize]
                        .copy_from_slice(&bytes[(from - at) as usize..(to - at) as usize]);
                }
            }
            let items: Vec<Result<Bytes, std::io::Error>> = match self.mode {
                Mode::Short => {
                    out.pop();
                    vec![Ok(Bytes::from(out))]
                }
                Mode::ChangedMidStream => vec![
                    Ok(Bytes::from(out[..1].to_vec())),
                    Err(std::io::Error::other(SourceError::Changed {
                        bucket: "videos".into(),
                        key: "in/clip.mp4".into(),
                    })),
                ],
                // Several chunks, as a network body arrives.
                _ => out
                    .chunks(1000)
                    .map(|c| Ok(Bytes::copy_from_slice(c)))
                    .collect(),
            };
            Ok(Box::pin(futures::stream::iter(items)))
        }
    }

    // ----- ISO-BMFF builders ------------------------------------------------------------------

    fn bx(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut out = u32::try_from(body.len() + 8)
            .unwrap()
            .to_be_bytes()
            .to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        out
    }

    fn ftyp(major: &[u8; 4], compatible: &[&[u8; 4]]) -> Vec<u8> {
        let mut body = major.to_vec();
        body.extend_from_slice(&0x200u32.to_be_bytes());
        for brand in compatible {
            body.extend_from_slice(*brand);
        }
        bx(b"ftyp", &body)
    }

    const IDENTITY: [u32; 9] = [0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x4000_0000];
    const ROTATE_90: [u32; 9] = [0, 0x10000, 0, 0xFFFF_0000, 0, 0, 0, 0, 0x4000_0000];

    fn mvhd_v0(timescale: u32, duration: u32) -> Vec<u8> {
        let mut b = vec![0, 0, 0, 0];
        b.extend_from_slice(&[0; 8]); // creation, modification
        b.extend_from_slice(&timescale.to_be_bytes());
        b.extend_from_slice(&duration.to_be_bytes());
        mvhd_tail(&mut b);
        bx(b"mvhd", &b)
    }

    fn mvhd_v1(timescale: u32, duration: u64) -> Vec<u8> {
        let mut b = vec![1, 0, 0, 0];
        b.extend_from_slice(&[0; 16]);
        b.extend_from_slice(&timescale.to_be_bytes());
        b.extend_from_slice(&duration.to_be_bytes());
        mvhd_tail(&mut b);
        bx(b"mvhd", &b)
    }

    fn mvhd_tail(b: &mut Vec<u8>) {
        b.extend_from_slice(&0x10000u32.to_be_bytes()); // rate
        b.extend_from_slice(&0x100u16.to_be_bytes()); // volume
        b.extend_from_slice(&[0; 10]);
        for m in IDENTITY {
            b.extend_from_slice(&m.to_be_bytes());
        }
        b.extend_from_slice(&[0; 24]);
        b.extend_from_slice(&2u32.to_be_bytes()); // next track id
    }

    fn tkhd(version: u8, width: u32, height: u32, matrix: [u32; 9]) -> Vec<u8> {
        let mut b = vec![version, 0, 0, 7];
        b.extend_from_slice(&vec![0; if version == 1 { 32 } else { 20 }]);
        b.extend_from_slice(&[0; 16]); // reserved, layer, group, volume, reserved
        for m in matrix {
            b.extend_from_slice(&m.to_be_bytes());
        }
        b.extend_from_slice(&(width << 16).to_be_bytes());
        b.extend_from_slice(&(height << 16).to_be_bytes());
        bx(b"tkhd", &b)
    }

    fn trak(tkhd: Vec<u8>, handler: &[u8; 4]) -> Vec<u8> {
        let mut hdlr = vec![0; 8];
        hdlr.extend_from_slice(handler);
        hdlr.extend_from_slice(&[0; 13]);
        let mdia = bx(b"mdia", &bx(b"hdlr", &hdlr));
        bx(b"trak", &[tkhd, mdia].concat())
    }

    fn video_trak(width: u32, height: u32) -> Vec<u8> {
        trak(tkhd(0, width, height, IDENTITY), b"vide")
    }

    fn audio_trak() -> Vec<u8> {
        trak(tkhd(0, 0, 0, IDENTITY), b"soun")
    }

    fn moov(children: &[Vec<u8>]) -> Vec<u8> {
        bx(b"moov", &children.concat())
    }

    fn mp4_brands() -> Vec<u8> {
        ftyp(b"isom", &[b"isom", b"iso2", b"avc1", b"mp41"])
    }

    async fn run(source: &SparseSource) -> Result<VideoProbe, ProbeError> {
        probe(source, &source.object(), &ProbeLimits::default()).await
    }

    async fn refusal(bytes: Vec<u8>) -> String {
        match run(&SparseSource::whole(bytes)).await {
            Err(ProbeError::NotAVideo { reason }) => reason,
            other => panic!("expected NotAVideo, got {other:?}"),
        }
    }

    // ----- MP4 / MOV ------------------------------------------------------------------------

    #[tokio::test]
    async fn faststart_mp4_gives_duration_and_video_size() {
        let file = [
            mp4_brands(),
            moov(&[mvhd_v0(1000, 3_500), audio_trak(), video_trak(1080, 1920)]),
            bx(b"mdat", &[0xAB; 3000]),
        ]
        .concat();
        let source = SparseSource::whole(file);
        let probe = run(&source).await.unwrap();
        assert_eq!(
            probe,
            VideoProbe {
                container: Container::Mp4,
                duration: Some(Duration::from_millis(3_500)),
                width: Some(1080),
                height: Some(1920),
                content_type: "video/mp4",
            }
        );
        assert_eq!(
            source.read_count(),
            1,
            "ftyp and a small moov come in one read"
        );
    }

    #[tokio::test]
    async fn quicktime_brand_with_v1_headers_is_a_mov() {
        let file = [
            ftyp(b"qt  ", &[b"qt  "]),
            bx(b"wide", &[]),
            moov(&[
                mvhd_v1(600, 600 * 61 + 300),
                trak(tkhd(1, 1920, 1080, IDENTITY), b"vide"),
            ]),
            bx(b"mdat", &[1; 100]),
        ]
        .concat();
        let probe = run(&SparseSource::whole(file)).await.unwrap();
        assert_eq!(probe.container, Container::QuickTime);
        assert_eq!(probe.content_type, "video/quicktime");
        assert_eq!(probe.duration, Some(Duration::from_millis(61_500)));
        assert_eq!((probe.width, probe.height), (Some(1920), Some(1080)));
    }

    #[tokio::test]
    async fn legacy_quicktime_without_ftyp_is_a_mov() {
        let file = [
            moov(&[mvhd_v0(600, 1800), video_trak(640, 480)]),
            bx(b"mdat", &[]),
        ]
        .concat();
        let probe = run(&SparseSource::whole(file)).await.unwrap();
        assert_eq!(probe.container, Container::QuickTime);
        assert_eq!(probe.duration, Some(Duration::from_secs(3)));
    }

    #[tokio::test]
    async fn portrait_phone_video_reports_rotated_size() {
        let file = [
            ftyp(b"qt  ", &[b"qt  "]),
            moov(&[
                mvhd_v0(600, 1800),
                trak(tkhd(0, 1920, 1080, ROTATE_90), b"vide"),
            ]),
        ]
        .concat();
        let probe = run(&SparseSource::whole(file)).await.unwrap();
        assert_eq!((probe.width, probe.height), (Some(1080), Some(1920)));
    }

    #[tokio::test]
    async fn moov_after_a_4_gb_mdat_costs_a_few_kb() {
        let size: u64 = 4_000_000_000;
        let head = mp4_brands();
        let tail = moov(&[mvhd_v1(90_000, 90_000 * 600), video_trak(720, 1280)]);
        let mdat_at = head.len() as u64;
        let moov_at = size - tail.len() as u64;
        // A 64-bit `largesize` mdat filling everything between ftyp and moov.
        let mut mdat_header = 1u32.to_be_bytes().to_vec();
        mdat_header.extend_from_slice(b"mdat");
        mdat_header.extend_from_slice(&(moov_at - mdat_at).to_be_bytes());
        let source = SparseSource::new(
            size,
            vec![(0, head), (mdat_at, mdat_header), (moov_at, tail)],
        );
        let probe = run(&source).await.unwrap();
        assert_eq!(probe.duration, Some(Duration::from_secs(600)));
        assert_eq!((probe.width, probe.height), (Some(720), Some(1280)));
        assert!(source.read_count() <= 3, "{} reads", source.read_count());
        assert!(
            source.bytes_read() <= 8192,
            "{} bytes read",
            source.bytes_read()
        );
    }

    #[tokio::test]
    async fn moov_over_the_cap_leaves_duration_to_tiktok() {
        let size: u64 = 1_000_000_000;
        let head = mp4_brands();
        // A 20 MiB moov (declared) after a mdat running up to it.
        let moov_len: u64 = 20 * 1024 * 1024;
        let moov_at = size - moov_len;
        let mut mdat = u32::try_from(moov_at - head.len() as u64)
            .unwrap()
            .to_be_bytes()
            .to_vec();
        mdat.extend_from_slice(b"mdat");
        let mut moov_header = u32::try_from(moov_len).unwrap().to_be_bytes().to_vec();
        moov_header.extend_from_slice(b"moov");
        let mdat_at = head.len() as u64;
        let source = SparseSource::new(
            size,
            vec![(0, head), (mdat_at, mdat), (moov_at, moov_header)],
        );
        let probe = run(&source).await.unwrap();
        assert_eq!(probe.container, Container::Mp4);
        assert_eq!(probe.duration, None);
        assert!(
            source.bytes_read() <= 8192,
            "{} bytes read",
            source.bytes_read()
        );
    }

    #[tokio::test]
    async fn damaged_moov_leaves_duration_to_tiktok() {
        // mvhd cut short: its declared size fits moov but the fields do not.
        let file = [mp4_brands(), moov(&[bx(b"mvhd", &[0, 0, 0, 0, 0, 0])])].concat();
        assert_eq!(
            run(&SparseSource::whole(file)).await.unwrap().duration,
            None
        );

        // A child box declaring more than moov holds.
        let mut broken = moov(&[mvhd_v0(1000, 5000)]);
        broken.extend_from_slice(&[0, 0, 0x10, 0, b't', b'r', b'a', b'k']);
        let len = u32::try_from(broken.len()).unwrap();
        broken[..4].copy_from_slice(&len.to_be_bytes());
        let file = [mp4_brands(), broken].concat();
        assert_eq!(
            run(&SparseSource::whole(file)).await.unwrap().duration,
            None
        );
    }

    #[tokio::test]
    async fn unknown_or_zero_durations_are_none_and_mehd_fills_in() {
        for unknown in [
            mvhd_v0(1000, u32::MAX),
            mvhd_v0(0, 5000),
            mvhd_v1(1000, u64::MAX),
        ] {
            let file = [mp4_brands(), moov(&[unknown, video_trak(720, 1280)])].concat();
            assert_eq!(
                run(&SparseSource::whole(file)).await.unwrap().duration,
                None
            );
        }
        // Fragmented: 0 in mvhd, the length in mvex/mehd.
        let mehd = bx(
            b"mehd",
            &[[0u8, 0, 0, 0].as_slice(), &12_000u32.to_be_bytes()].concat(),
        );
        let file = [
            mp4_brands(),
            moov(&[mvhd_v0(1000, 0), bx(b"mvex", &mehd), video_trak(720, 1280)]),
        ]
        .concat();
        let probe = run(&SparseSource::whole(file)).await.unwrap();
        assert_eq!(probe.duration, Some(Duration::from_secs(12)));
    }

    #[tokio::test]
    async fn audio_only_and_image_iso_files_are_refused() {
        let m4a = [
            ftyp(b"M4A ", &[b"M4A ", b"mp42"]),
            moov(&[mvhd_v0(1000, 5000)]),
        ]
        .concat();
        assert!(refusal(m4a).await.contains("audio"));

        let audio_mp4 = [mp4_brands(), moov(&[mvhd_v0(1000, 5000), audio_trak()])].concat();
        let reason = refusal(audio_mp4).await;
        assert!(
            reason.contains("no video track") && reason.contains("soun"),
            "{reason}"
        );

        let heic = [ftyp(b"heic", &[b"mif1", b"heic"]), bx(b"meta", &[0; 20])].concat();
        assert!(refusal(heic).await.contains("image"));

        let no_tracks = [mp4_brands(), moov(&[mvhd_v0(1000, 5000)])].concat();
        assert!(refusal(no_tracks).await.contains("no tracks"));
    }

    #[tokio::test]
    async fn mp4_without_moov_is_refused_as_incomplete() {
        // An interrupted recording: mdat with size 0 (to the end) and no index.
        let file = [
            mp4_brands(),
            0u32.to_be_bytes().to_vec(),
            b"mdat".to_vec(),
            vec![7; 500],
        ]
        .concat();
        let reason = refusal(file).await;
        assert!(reason.contains("no 'moov'"), "{reason}");
    }

    #[tokio::test]
    async fn malformed_box_sizes_are_clear_refusals() {
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            (
                "size smaller than header",
                [mp4_brands(), vec![0, 0, 0, 4], b"mdat".to_vec(), vec![0; 8]].concat(),
                "smaller than its own header",
            ),
            (
                "size beyond the object",
                [
                    mp4_brands(),
                    vec![0, 0, 0x10, 0],
                    b"mdat".to_vec(),
                    vec![0; 8],
                ]
                .concat(),
                "only 16 remain",
            ),
            (
                "64-bit size that overflows",
                [
                    mp4_brands(),
                    vec![0, 0, 0, 1],
                    b"mdat".to_vec(),
                    vec![0xFF; 8],
                    vec![0; 8],
                ]
                .concat(),
                "18446744073709551615 bytes",
            ),
            (
                "64-bit size smaller than its 16-byte header",
                [
                    mp4_brands(),
                    vec![0, 0, 0, 1],
                    b"mdat".to_vec(),
                    8u64.to_be_bytes().to_vec(),
                ]
                .concat(),
                "smaller than its own header",
            ),
            (
                "file cut inside a box header",
                [mp4_brands(), vec![0, 0, 0, 1], b"md".to_vec()].concat(),
                "inside a box header",
            ),
            (
                "ftyp cut short",
                [vec![0, 0, 0, 0x20], b"ftyp".to_vec(), b"isom".to_vec()].concat(),
                "truncated",
            ),
            (
                "ftyp without a brand",
                bx(b"ftyp", &[]),
                "too short to name a brand",
            ),
        ];
        for (name, bytes, expected) in cases {
            let reason = refusal(bytes).await;
            assert!(reason.contains(expected), "{name}: {reason}");
        }
    }

    #[tokio::test]
    async fn endless_small_boxes_stop_at_the_cap() {
        let mut file = mp4_brands();
        for _ in 0..200 {
            file.extend(bx(b"free", &[]));
        }
        file.extend(moov(&[mvhd_v0(1000, 5000), video_trak(720, 1280)]));
        let source = SparseSource::whole(file);
        let probe = run(&source).await.unwrap();
        assert_eq!(probe.duration, None);
        assert!(source.read_count() <= 2);
    }

    // ----- WebM -----------------------------------------------------------------------------

    fn ebml(doc_type: &[u8]) -> Vec<u8> {
        let mut body = vec![0x42, 0x86, 0x81, 0x01]; // EBMLVersion 1
        body.extend_from_slice(&[0x42, 0x82, 0x80 | u8::try_from(doc_type.len()).unwrap()]);
        body.extend_from_slice(doc_type);
        let mut out = EBML_MAGIC.to_vec();
        out.push(0x80 | u8::try_from(body.len()).unwrap());
        out.extend(body);
        // Segment with an unknown size, as live recorders write it.
        out.extend_from_slice(&[
            0x18, 0x53, 0x80, 0x67, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        ]);
        out
    }

    #[tokio::test]
    async fn webm_is_recognised_by_its_doc_type() {
        let probe = run(&SparseSource::whole(ebml(b"webm"))).await.unwrap();
        assert_eq!(probe.container, Container::WebM);
        assert_eq!(probe.content_type, "video/webm");
        assert_eq!(probe.duration, None);
    }

    #[tokio::test]
    async fn matroska_and_broken_ebml_are_refused() {
        assert!(refusal(ebml(b"matroska")).await.contains("Matroska"));
        let mut cut = ebml(b"webm");
        cut.truncate(8);
        assert!(refusal(cut).await.contains("EBML header"));
    }

    // ----- everything else ------------------------------------------------------------------

    #[tokio::test]
    async fn non_videos_are_refused_with_what_they_are() {
        let png = [b"\x89PNG\r\n\x1a\n".as_slice(), &[0; 40]].concat();
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("png", png, "PNG signature"),
            (
                "jpeg",
                [&[0xFF, 0xD8, 0xFF, 0xE0][..], &[0; 40]].concat(),
                "JPEG",
            ),
            (
                "text",
                b"hello, this is not a video\n".to_vec(),
                "the file is text",
            ),
            (
                "html",
                b"<!DOCTYPE html><html>403</html>".to_vec(),
                "HTML page",
            ),
            ("json", b"{\"error\": \"nope\"}".to_vec(), "JSON"),
            (
                "avi",
                [b"RIFF\0\0\0\0AVI LIST".as_slice(), &[0; 20]].concat(),
                "AVI",
            ),
            ("tiny", vec![0, 0, 0], "only 3 bytes long"),
            (
                "binary",
                vec![0xDE, 0xAD, 0xBE, 0xEF, 0, 1, 2, 3, 4, 5, 0xFF],
                "de ad be ef",
            ),
        ];
        for (name, bytes, expected) in cases {
            let reason = refusal(bytes).await;
            assert!(reason.contains(expected), "{name}: {reason}");
        }
    }

    #[tokio::test]
    async fn an_empty_object_is_refused_without_reading() {
        let source = SparseSource::new(0, vec![]);
        let err = run(&source).await.unwrap_err();
        assert!(err.to_string().contains("the object is empty"), "{err}");
        assert_eq!(err.kind(), ErrorKind::PostRefused);
        assert_eq!(source.read_count(), 0);
    }

    // ----- storage failures -----------------------------------------------------------------

    #[tokio::test]
    async fn storage_errors_pass_through_with_their_kind() {
        let file = [
            mp4_brands(),
            moov(&[mvhd_v0(1000, 5000), video_trak(720, 1280)]),
        ]
        .concat();

        let mut missing = SparseSource::whole(file.clone());
        missing.mode = Mode::NotFound;
        let err = run(&missing).await.unwrap_err();
        assert!(
            matches!(err, ProbeError::Source(SourceError::NotFound { .. })),
            "{err:?}"
        );
        assert_eq!(err.kind(), ErrorKind::VideoChanged);

        let mut changed = SparseSource::whole(file.clone());
        changed.mode = Mode::ChangedMidStream;
        let err = run(&changed).await.unwrap_err();
        assert!(
            matches!(err, ProbeError::Source(SourceError::Changed { .. })),
            "{err:?}"
        );

        let mut short = SparseSource::whole(file);
        short.mode = Mode::Short;
        let err = run(&short).await.unwrap_err();
        assert!(
            matches!(err, ProbeError::Source(SourceError::Unavailable { .. })),
            "{err:?}"
        );
        assert_eq!(err.kind(), ErrorKind::AwsUnavailable);
    }

    // ----- no input makes it panic ----------------------------------------------------------

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(
            tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
            prefix in 0usize..4,
        ) {
            // Bias towards the interesting parsers: ISO boxes and EBML.
            let start: Vec<u8> = match prefix {
                0 => vec![],
                1 => mp4_brands(),
                2 => [mp4_brands(), vec![0, 0, 2, 0], b"moov".to_vec()].concat(),
                _ => EBML_MAGIC.to_vec(),
            };
            let source = SparseSource::whole([start, tail].concat());
            let _ = futures::executor::block_on(run(&source));
        }
    }
}
