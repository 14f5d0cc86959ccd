//! WebM (and Matroska, which TikTok refuses) from the EBML header in the first read, and
//! the EBML variable-length integers every element starts with.
//!
//! Not `matroska-demuxer` (0.8): its `open` also reads the Cues, Chapters and Tags its
//! SeekHead names, usually at the end of the file, past the prefix we fetch (so it fails on
//! a header window); and a crafted SeekHead makes it loop or panic.

use super::ProbeError;
use super::verdict::not_a_video;

/// The EBML header's ID, the first four bytes of every WebM and Matroska file.
pub(super) const EBML_MAGIC: [u8; 4] = [0x1A, 0x45, 0xDF, 0xA3];

const EBML_DOC_TYPE: u64 = 0x4282;

pub(super) fn starts_ebml(head: &[u8]) -> bool {
    head.starts_with(&EBML_MAGIC)
}

/// Whether the EBML header's doc type is WebM; what follows (Segment/Info, Tracks) is read
/// by `webm`.
pub(super) fn check_webm_doc_type(head: &[u8]) -> Result<(), ProbeError> {
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
        b"webm" => Ok(()),
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
pub(super) fn read_vint(bytes: &[u8], at: usize, keep_marker: bool) -> Option<(u64, usize)> {
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
