//! Whether what the headers said is a video TikTok takes, and, when not, why in words a
//! person can act on. Each refusal names what the file is when that can be told (users
//! upload the wrong file far more often than a broken one).

use tiktok_publish_domain::media_rules::MediaRefusal;

use super::boxes::{Movie, fourcc, read_fourcc};
use super::{Container, ProbeError};

pub(super) fn refused(refusal: MediaRefusal) -> ProbeError {
    ProbeError::NotAVideo { refusal }
}

/// A file that is no video TikTok takes, for a reason only words tell (what kind of file
/// it is); the typed refusals cover the cases a person can measure.
pub(super) fn not_a_video(what: impl Into<String>) -> ProbeError {
    refused(MediaRefusal::Unrecognised { what: what.into() })
}

/// MP4 vs QuickTime from `ftyp`'s body, refusing the ISO-BMFF files that are not videos.
pub(super) fn classify_brands(body: &[u8]) -> Result<Container, ProbeError> {
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

/// The refusal of an MP4/MOV whose top-level boxes hold no `moov`.
pub(super) fn no_moov(container: Container) -> ProbeError {
    refused(MediaRefusal::NoMovieIndex {
        container: container.name().to_owned(),
    })
}

/// A movie whose every track says it is something other than video cannot be posted.
pub(super) fn movie_not_a_video(movie: &Movie, container: Container) -> Option<MediaRefusal> {
    let container = container.name().to_owned();
    if movie.tracks == 0 {
        return Some(MediaRefusal::NoTracks { container });
    }
    let all_declared = movie.handlers.len() == movie.tracks;
    if all_declared && !movie.handlers.contains(b"vide") {
        let tracks = movie.handlers.iter().map(fourcc).collect();
        return Some(MediaRefusal::NoVideoTrack { container, tracks });
    }
    None
}

/// A reason for a file that is none of the accepted containers, naming what it is when the
/// signature is a common one.
pub(super) fn describe_unknown(head: &[u8], size: u64) -> String {
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
