//! What one `trak` of an MP4/MOV says: its kind (`hdlr`), display size (`tkhd`), codec
//! (the first sample entry in `stsd`) and average frame rate (`mdhd`'s timescale over
//! `stts`'s sample durations). All from bytes already fetched with `moov`.

use tiktok_publish_domain::media_rules::{FrameRate, VideoCodec};

use super::boxes::{MoovProblem, children, fourcc, read_fourcc, read_u32};

/// What one `trak` says; `None`s where it is silent.
#[derive(Debug, Default)]
pub(super) struct Track {
    /// From `mdia/hdlr`: `vide`, `soun`, `text`, ...
    pub(super) handler: Option<[u8; 4]>,
    /// From `tkhd`, rotation applied; else the sample entry's coded size.
    pub(super) size: Option<(u32, u32)>,
    /// From the first sample entry's type in `mdia/minf/stbl/stsd`.
    pub(super) codec: Option<VideoCodec>,
    pub(super) frame_rate: Option<FrameRate>,
}

/// What `mdia` and the tables under it say, gathered before they are combined.
#[derive(Default)]
struct Media {
    timescale: Option<u32>,
    /// (samples, total duration in timescale units) from `stts`.
    timing: Option<(u64, u64)>,
    sample_entry: Option<SampleEntry>,
}

struct SampleEntry {
    kind: [u8; 4],
    coded_size: Option<(u32, u32)>,
}

pub(super) fn parse_trak(trak: &[u8]) -> Result<Track, MoovProblem> {
    let mut track = Track::default();
    let mut media = Media::default();
    for child in children(trak) {
        let (kind, body) = child?;
        match &kind {
            b"tkhd" => track.size = parse_tkhd_size(body),
            b"mdia" => parse_mdia(body, &mut track, &mut media)?,
            _ => {}
        }
    }
    if let Some(entry) = media.sample_entry {
        track.codec = codec_of(entry.kind);
        track.size = track.size.or(entry.coded_size);
    }
    // Variable frame rate (phones record it: `stts` then lists many durations) is judged on
    // its average over the whole track, rounded to a whole frame per second by the rule: a
    // "60 fps" clip wandering between 58 and 62 passes, and a clip whose average is in range
    // passes even if some stretch runs faster. TikTok's rule names one rate per video.
    if let (Some(timescale), Some((samples, units))) = (media.timescale, media.timing) {
        track.frame_rate = FrameRate::average(samples, units, u64::from(timescale));
    }
    Ok(track)
}

fn parse_mdia(mdia: &[u8], track: &mut Track, media: &mut Media) -> Result<(), MoovProblem> {
    for child in children(mdia) {
        let (kind, body) = child?;
        match &kind {
            // version/flags, pre_defined (QuickTime's component type), type
            b"hdlr" => track.handler = read_fourcc(body, 8),
            b"mdhd" => media.timescale = parse_mdhd_timescale(body),
            b"minf" => {
                for child in children(body) {
                    let (kind, body) = child?;
                    if &kind == b"stbl" {
                        parse_stbl(body, media)?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn parse_stbl(stbl: &[u8], media: &mut Media) -> Result<(), MoovProblem> {
    for child in children(stbl) {
        let (kind, body) = child?;
        match &kind {
            b"stsd" => media.sample_entry = first_sample_entry(body)?,
            b"stts" => media.timing = parse_stts(body),
            _ => {}
        }
    }
    Ok(())
}

/// The timescale (units per second) of the track's own clock.
fn parse_mdhd_timescale(body: &[u8]) -> Option<u32> {
    // version, flags(3), creation, modification (4 bytes each in v0, 8 in v1), timescale
    let at = match *body.first()? {
        1 => 20,
        _ => 12,
    };
    read_u32(body, at).filter(|t| *t > 0)
}

/// Samples and their total duration: each `stts` entry is (sample count, sample duration).
/// The entry count is checked against the bytes there, so a crafted count reads no further.
fn parse_stts(body: &[u8]) -> Option<(u64, u64)> {
    let declared = read_u32(body, 4)?;
    let entries = body.get(8..)?.chunks_exact(8);
    let (mut samples, mut units) = (0u64, 0u64);
    for entry in entries.take(usize::try_from(declared).unwrap_or(usize::MAX)) {
        let count = u64::from(read_u32(entry, 0)?);
        let delta = u64::from(read_u32(entry, 4)?);
        samples = samples.checked_add(count)?;
        units = units.checked_add(count.checked_mul(delta)?)?;
    }
    Some((samples, units))
}

/// The first sample entry of `stsd` (version/flags, entry count, then entries as boxes):
/// its type names the codec. A visual entry's coded width and height come 24 bytes into its
/// body, after reserved fields, the data reference index and pre-defined ones (the same in
/// QuickTime's video sample description).
fn first_sample_entry(stsd: &[u8]) -> Result<Option<SampleEntry>, MoovProblem> {
    let Some(entries) = stsd.get(8..) else {
        return Ok(None);
    };
    let Some(first) = children(entries).next() else {
        return Ok(None);
    };
    let (kind, body) = first?;
    let side = |at: usize| -> Option<u32> {
        let raw: [u8; 2] = body.get(at..at + 2)?.try_into().ok()?;
        Some(u32::from(u16::from_be_bytes(raw))).filter(|v| *v > 0)
    };
    let coded_size = side(24).zip(side(26));
    Ok(Some(SampleEntry { kind, coded_size }))
}

/// The codec a sample entry's type names. An encrypted entry (`encv`) hides its codec in
/// `sinf`; it is left unknown for TikTok to judge, as is a type that is not text.
fn codec_of(kind: [u8; 4]) -> Option<VideoCodec> {
    Some(match &kind {
        // Dolby Vision's H.264 and H.265 entries carry the same bitstreams.
        b"avc1" | b"avc2" | b"avc3" | b"avc4" | b"dva1" | b"dvav" => VideoCodec::H264,
        b"hvc1" | b"hev1" | b"dvh1" | b"dvhe" => VideoCodec::H265,
        b"vp08" => VideoCodec::Vp8,
        b"vp09" => VideoCodec::Vp9,
        b"av01" => VideoCodec::Av1,
        b"encv" => return None,
        other if other.iter().all(|b| (0x20..0x7F).contains(b)) => VideoCodec::Other {
            name: fourcc(other),
        },
        _ => return None,
    })
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
